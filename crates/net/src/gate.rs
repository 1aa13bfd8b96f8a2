//! Which peers may hold a connection: member devices always, the relays this device uses, the devices allowed to
//! use this device as a relay, and anyone while a door is open for joining.
//!
//! The gate is the first behaviour of the swarm, so a connection it denies never reaches identify, ping, the
//! relay or the protocols: a stranger can neither reserve a slot on a member-run relay nor open a circuit through
//! it. While this device is inviting or joining (an open "door", a few minutes at most), unknown peers may
//! connect, but they can speak only the join protocol: sync messages are checked against the member set again
//! before anything is answered or handed on, and relays and relay clients are not members.

use std::collections::{HashMap, HashSet};

use crate::restricted::{Needs, Standing};
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent, THandlerOutEvent,
    ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

/// Connections from devices that are neither members nor relays, at most, while a door is open: a join needs one
/// (two while a connection is replaced); a room of newcomers joining one after another needs a few. The bound keeps
/// a stranger on the network from opening connections (and the streams and buffers each brings) without limit.
pub(crate) const MAX_STRANGER_CONNECTIONS: usize = 8;

/// The peer is not a member device and no door is open.
#[derive(Debug, thiserror::Error)]
#[error("peer {0} is not a member device of a shared group")]
pub(crate) struct NotMember(PeerId);

/// The member set, the relay sets and the door.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    /// Members, relays this device listens or dials through (they carry sealed traffic; they may not sync), and
    /// devices that may use this device as a relay (its owner and the owner's list). Shared with the protocols
    /// that only some of them may open ([`crate::restricted`]).
    standing: Standing,
    door_open: bool,
    /// Open connections of peers let in only through the door, per peer.
    strangers: HashMap<PeerId, usize>,
}

impl Gate {
    /// The standing the gate keeps, for the protocols restricted by it.
    pub(crate) fn standing(&self) -> Standing {
        self.standing.clone()
    }

    pub(crate) fn allow(&mut self, peer: PeerId) {
        self.standing.write().members.insert(peer);
    }

    pub(crate) fn disallow(&mut self, peer: &PeerId) {
        self.standing.write().members.remove(peer);
    }

    pub(crate) fn is_member(&self, peer: &PeerId) -> bool {
        self.standing.has(peer, Needs::Member)
    }

    pub(crate) fn set_door(&mut self, open: bool) {
        self.door_open = open;
    }

    pub(crate) fn allow_relay(&mut self, peer: PeerId) {
        self.standing.write().relays.insert(peer);
    }

    pub(crate) fn disallow_relay(&mut self, peer: &PeerId) {
        self.standing.write().relays.remove(peer);
    }

    /// Replaces the devices that may use this device as a relay; returns those no longer allowed.
    pub(crate) fn set_relay_clients(&mut self, clients: HashSet<PeerId>) -> Vec<PeerId> {
        let mut known = self.standing.write();
        let dropped = known.relay_clients.difference(&clients).copied().collect();
        known.relay_clients = clients;
        dropped
    }

    /// Whether a connection to `peer` may stay open.
    pub(crate) fn admits(&self, peer: &PeerId) -> bool {
        self.door_open || self.is_known(peer)
    }

    fn is_known(&self, peer: &PeerId) -> bool {
        self.standing.has(peer, Needs::Known)
    }

    fn check(&mut self, peer: PeerId) -> Result<(), ConnectionDenied> {
        if self.is_known(&peer) {
            return Ok(());
        }
        let open: usize = self.strangers.values().sum();
        if self.door_open && open < MAX_STRANGER_CONNECTIONS {
            *self.strangers.entry(peer).or_insert(0) += 1;
            Ok(())
        } else {
            Err(ConnectionDenied::new(NotMember(peer)))
        }
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = std::convert::Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(peer)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(peer)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        if let FromSwarm::ConnectionClosed(closed) = event {
            if let Some(count) = self.strangers.get_mut(&closed.peer_id) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.strangers.remove(&closed.peer_id);
                }
            }
        }
    }

    fn on_connection_handler_event(&mut self, _: PeerId, _: ConnectionId, event: THandlerOutEvent<Self>) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_door_lets_in_only_so_many_stranger_connections_and_members_always() {
        let mut gate = Gate::default();
        assert!(gate.check(PeerId::random()).is_err(), "a closed door lets no stranger in");
        gate.set_door(true);
        for _ in 0..MAX_STRANGER_CONNECTIONS {
            assert!(gate.check(PeerId::random()).is_ok());
        }
        assert!(gate.check(PeerId::random()).is_err(), "one stranger too many");
        let member = PeerId::random();
        gate.allow(member);
        assert!(gate.check(member).is_ok(), "members are never counted against the door");
    }
}
