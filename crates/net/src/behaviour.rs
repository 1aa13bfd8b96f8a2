//! The composed libp2p behaviour.

use std::time::Duration;

use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{identify, identity::Keypair, mdns, ping};

use crate::codec::{SyncCodec, JOIN_PROTOCOL, SYNC_PROTOCOL};
use crate::gate::Gate;

/// How long one sync exchange (request and acknowledgement) may take: room for the largest message over a slow
/// link (8 MiB at 2 Mbit/s is about 35 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a join request may wait for its answer: the inviter answers the last step only once a person has
/// compared the words and confirmed, which takes a human moment, not a network one.
const JOIN_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Concurrent sync streams per connection: a few in flight keep a link busy; more would only queue memory.
const MAX_CONCURRENT_STREAMS: usize = 16;

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// First, so that a denied connection never reaches the other behaviours (they are asked in field order).
    pub(crate) gate: Gate,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
    pub(crate) sync: request_response::Behaviour<SyncCodec>,
    pub(crate) join: request_response::Behaviour<SyncCodec>,
}

impl Behaviour {
    pub(crate) fn new(key: &Keypair, mdns_on: bool) -> std::io::Result<Self> {
        let me = key.public().to_peer_id();
        let mdns = if mdns_on { Some(mdns::tokio::Behaviour::new(mdns::Config::default(), me)?) } else { None };
        Ok(Self {
            gate: Gate::default(),
            identify: identify::Behaviour::new(identify::Config::new("/sunspace/1".into(), key.public())),
            ping: ping::Behaviour::default(),
            mdns: Toggle::from(mdns),
            sync: request_response::Behaviour::new(
                [(SYNC_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(REQUEST_TIMEOUT)
                    .with_max_concurrent_streams(MAX_CONCURRENT_STREAMS),
            ),
            join: request_response::Behaviour::new(
                [(JOIN_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(JOIN_TIMEOUT).with_max_concurrent_streams(4),
            ),
        })
    }
}
