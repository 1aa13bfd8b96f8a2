//! Sunspace's network layer: one task owns the libp2p swarm; the engine talks to it through a [`NetHandle`]
//! (bounded commands) and a bounded stream of [`NetEvent`]s.
//!
//! Transports are TCP and QUIC, both authenticated with the device's own ed25519 key (Noise for TCP, TLS inside
//! QUIC), so a connection's peer id *is* a member device's key. Connections from any peer that is not on the
//! allow-list (the member devices of the groups this device shares, as the engine sets it) are closed right after
//! the handshake, before identify, ping or the sync protocol see them: a stranger learns this device's public key
//! and nothing about any group. Sync messages travel over a request-response protocol, `/sunspace/sync/1`, as
//! length-prefixed frames of at most [`MAX_MESSAGE_LEN`] bytes, each answered with an acknowledgement.
//!
//! Members on different networks reach each other through a **member-run relay** (libp2p circuit relay v2): a
//! device started with [`NetConfig::relay_owner`] relays for the devices its owner lists ([`RelayClients`], on
//! `/sunspace/relay-admin/1`) and for no one else; member devices listen through it ([`NetHandle::use_relay`]),
//! DCUtR turns a relayed connection into a direct one where the networks allow, and AutoNAT v2 (served by the
//! relay) tells a device whether its own addresses are reachable. Inside a circuit the two members run their own
//! Noise handshake, so the relay carries only ciphertext.
//!
//! ```no_run
//! # async fn example(seed: sunspace_crypto::Secret32, peer: sunspace_crypto::DeviceId) -> Result<(), sunspace_net::NetError> {
//! use sunspace_net::{NetConfig, NetEvent};
//! let (net, mut events) = sunspace_net::start(NetConfig::loopback(seed))?;
//! net.allow(peer).await?;
//! while let Some(event) = events.recv().await {
//!     if let NetEvent::Received { from, message } = event {
//!         net.send(from, message).await?; // echo it back
//!     }
//! }
//! # Ok(()) }
//! ```

mod behaviour;
mod codec;
mod gate;
mod identity;
mod relay_admin;
mod restricted;
mod task;

pub use codec::MAX_MESSAGE_LEN;
pub use identity::{device_of_address, device_of_peer, peer_of_device};
pub use libp2p::multiaddr::Protocol;
pub use libp2p::{Multiaddr, PeerId};
pub use relay_admin::{RelayClients, RelayClientsError, MAX_RELAY_CLIENTS};
pub use task::{
    start, Link, NetConfig, NetError, NetEvent, NetHandle, COMMAND_CAPACITY, EVENT_CAPACITY, MAX_JOIN_MESSAGE_LEN,
};
