//! The composed libp2p behaviour.

use std::time::Duration;

use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{autonat, dcutr, identify, identity::Keypair, mdns, ping, relay};

use crate::codec::{
    SyncCodec, JOIN_PROTOCOL, MAX_JOIN_MESSAGE_LEN, MAX_MESSAGE_LEN, MAX_RELAY_ADMIN_MESSAGE_LEN, RELAY_ADMIN_PROTOCOL,
    SYNC_PROTOCOL,
};
use crate::gate::Gate;
use crate::restricted::{Needs, Restricted};

/// How long one sync exchange (request and acknowledgement) may take: room for the largest message over a slow
/// link (8 MiB at 2 Mbit/s is about 35 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a join request may wait for its answer: the inviter answers the last step only once a person has
/// compared the words and confirmed, which takes a human moment, not a network one.
const JOIN_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Concurrent sync streams per connection: a few in flight keep a link busy; more would only queue memory.
const MAX_CONCURRENT_STREAMS: usize = 16;

/// Limits of a member-run relay. libp2p's defaults (a circuit lasts 2 minutes and carries 128 KiB) suit relays
/// that only help start hole punching; a member's relay also carries sync when hole punching fails, and one sync
/// message may be 8 MiB, so a circuit may last an hour and carry 64 MiB before it is re-opened. Reservations and
/// circuits stay bounded, per peer and in total; the rate limits are libp2p's.
fn relay_config() -> relay::Config {
    relay::Config {
        max_reservations: 128,
        max_reservations_per_peer: 4,
        max_circuits: 64,
        max_circuits_per_peer: 16,
        max_circuit_duration: Duration::from_secs(60 * 60),
        max_circuit_bytes: 64 * 1024 * 1024,
        ..relay::Config::default()
    }
}

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// First, so that a denied connection never reaches the other behaviours (they are asked in field order).
    pub(crate) gate: Gate,
    /// Answered only for members, relays and relay clients: a stranger at the open door does not learn this
    /// device's addresses.
    pub(crate) identify: Restricted<identify::Behaviour>,
    pub(crate) ping: ping::Behaviour,
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
    /// Listening and dialing through relays.
    pub(crate) relay_client: relay::client::Behaviour,
    /// Being a relay, when this device runs as one.
    pub(crate) relay_server: Toggle<relay::Behaviour>,
    /// Upgrading a relayed connection to a direct one (hole punching).
    pub(crate) dcutr: dcutr::Behaviour,
    /// Asking a relay whether this device's addresses are reachable from outside.
    pub(crate) autonat: autonat::v2::client::Behaviour,
    /// Answering that question, when this device runs as a relay.
    pub(crate) autonat_server: Toggle<autonat::v2::server::Behaviour>,
    /// Opened only by members: a stranger at the open door cannot send a sync frame (up to 8 MiB) at all.
    pub(crate) sync: Restricted<request_response::Behaviour<SyncCodec>>,
    pub(crate) join: request_response::Behaviour<SyncCodec>,
    pub(crate) relay_admin: request_response::Behaviour<SyncCodec>,
}

impl Behaviour {
    pub(crate) fn new(
        key: &Keypair,
        relay_client: relay::client::Behaviour,
        mdns_on: bool,
        serve_relay: bool,
    ) -> std::io::Result<Self> {
        let me = key.public().to_peer_id();
        let gate = Gate::default();
        let standing = gate.standing();
        let mdns = if mdns_on { Some(mdns::tokio::Behaviour::new(mdns::Config::default(), me)?) } else { None };
        Ok(Self {
            gate,
            relay_client,
            relay_server: Toggle::from(serve_relay.then(|| relay::Behaviour::new(me, relay_config()))),
            dcutr: dcutr::Behaviour::new(me),
            autonat: autonat::v2::client::Behaviour::default(),
            autonat_server: Toggle::from(serve_relay.then(autonat::v2::server::Behaviour::default)),
            identify: Restricted::new(
                identify::Behaviour::new(identify::Config::new("/sunspace/1".into(), key.public())),
                standing.clone(),
                Needs::Known,
            ),
            ping: ping::Behaviour::default(),
            mdns: Toggle::from(mdns),
            sync: Restricted::new(
                request_response::Behaviour::with_codec(
                    SyncCodec::new(MAX_MESSAGE_LEN),
                    [(SYNC_PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(REQUEST_TIMEOUT)
                        .with_max_concurrent_streams(MAX_CONCURRENT_STREAMS),
                ),
                standing,
                Needs::Member,
            ),
            join: request_response::Behaviour::with_codec(
                SyncCodec::new(MAX_JOIN_MESSAGE_LEN),
                [(JOIN_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(JOIN_TIMEOUT).with_max_concurrent_streams(4),
            ),
            relay_admin: request_response::Behaviour::with_codec(
                SyncCodec::new(MAX_RELAY_ADMIN_MESSAGE_LEN),
                [(RELAY_ADMIN_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(30))
                    .with_max_concurrent_streams(2),
            ),
        })
    }
}
