//! Protocols a stranger let in through the open door cannot open.
//!
//! While this device invites or joins, [`crate::gate::Gate`] lets unknown peers connect so they can speak the join
//! protocol. Everything else on such a connection stays shut to them: [`Restricted`] wraps a behaviour so that, on
//! each inbound stream, its protocols are offered only if the remote peer has the standing the behaviour needs at
//! that moment. A stranger's attempt to open a sync stream (whose frames may be 8 MiB) or to ask identify for this
//! device's addresses fails at protocol negotiation, before a byte of it is read; once the same peer is admitted,
//! its next stream on the same connection is offered the protocol, so a newcomer syncs at once.
//!
//! ```text
//! stranger ──/sunspace/sync/1──▶ listen_protocol(): peer not a member → offers no protocol → stream refused
//! member   ──/sunspace/sync/1──▶ listen_protocol(): peer a member     → offers sync        → request read
//! ```
//!
//! Outbound streams are not restricted: this device opens sync streams only to members anyway.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::{InboundUpgrade, UpgradeInfo};
use libp2p::core::Endpoint;
use libp2p::swarm::handler::{
    ConnectionEvent, FullyNegotiatedInbound, InboundUpgradeSend, ListenUpgradeError, UpgradeInfoSend,
};
use libp2p::swarm::{
    ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm, NetworkBehaviour,
    SubstreamProtocol, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId, Stream};

/// Who this device knows, shared between the gate (which keeps it) and the restricted protocols (which read it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Standing(Arc<RwLock<Known>>);

#[derive(Debug, Default)]
pub(crate) struct Known {
    pub(crate) members: HashSet<PeerId>,
    /// Relays this device listens or dials through.
    pub(crate) relays: HashSet<PeerId>,
    /// Devices that may use this device as a relay.
    pub(crate) relay_clients: HashSet<PeerId>,
}

impl Known {
    fn has(&self, peer: &PeerId, needs: Needs) -> bool {
        match needs {
            Needs::Member => self.members.contains(peer),
            Needs::Known => {
                self.members.contains(peer) || self.relays.contains(peer) || self.relay_clients.contains(peer)
            }
        }
    }
}

impl Standing {
    pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        // Every write is a single set operation, so a panic while holding the lock leaves the sets consistent.
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> std::sync::RwLockWriteGuard<'_, Known> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn has(&self, peer: &PeerId, needs: Needs) -> bool {
        self.read().has(peer, needs)
    }
}

/// The standing a peer needs before a restricted behaviour's protocols are offered to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// A member device of a shared group (sync).
    Member,
    /// A member, a relay this device uses, or a device allowed to use this device as a relay (identify, which
    /// relaying and hole punching need, but which would tell a stranger this device's addresses).
    Known,
}

/// A behaviour whose inbound streams only peers with the given standing may open.
pub(crate) struct Restricted<B> {
    inner: B,
    standing: Standing,
    needs: Needs,
}

impl<B> Restricted<B> {
    pub(crate) fn new(inner: B, standing: Standing, needs: Needs) -> Self {
        Self { inner, standing, needs }
    }

    pub(crate) fn inner_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    fn wrap<H>(&self, inner: H, peer: PeerId) -> RestrictedHandler<H> {
        RestrictedHandler { inner, peer, standing: self.standing.clone(), needs: self.needs }
    }
}

impl<B: NetworkBehaviour> NetworkBehaviour for Restricted<B> {
    type ConnectionHandler = RestrictedHandler<THandler<B>>;
    type ToSwarm = B::ToSwarm;

    fn handle_pending_inbound_connection(
        &mut self,
        connection: ConnectionId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.inner.handle_pending_inbound_connection(connection, local, remote)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection: ConnectionId,
        peer: PeerId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let inner = self.inner.handle_established_inbound_connection(connection, peer, local, remote)?;
        Ok(self.wrap(inner, peer))
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection: ConnectionId,
        peer: Option<PeerId>,
        addresses: &[Multiaddr],
        role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.inner.handle_pending_outbound_connection(connection, peer, addresses, role)
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection: ConnectionId,
        peer: PeerId,
        address: &Multiaddr,
        role: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let inner = self.inner.handle_established_outbound_connection(connection, peer, address, role, port_use)?;
        Ok(self.wrap(inner, peer))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        self.inner.on_swarm_event(event);
    }

    fn on_connection_handler_event(&mut self, peer: PeerId, connection: ConnectionId, event: THandlerOutEvent<Self>) {
        self.inner.on_connection_handler_event(peer, connection, event);
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        self.inner.poll(cx)
    }
}

/// The wrapped behaviour's handler on one connection, offering its inbound protocols only while the peer has the
/// standing they need.
pub(crate) struct RestrictedHandler<H> {
    inner: H,
    peer: PeerId,
    standing: Standing,
    needs: Needs,
}

impl<H: ConnectionHandler> ConnectionHandler for RestrictedHandler<H> {
    type FromBehaviour = H::FromBehaviour;
    type ToBehaviour = H::ToBehaviour;
    type InboundProtocol = Gated<H::InboundProtocol>;
    type OutboundProtocol = H::OutboundProtocol;
    type InboundOpenInfo = H::InboundOpenInfo;
    type OutboundOpenInfo = H::OutboundOpenInfo;

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol, Self::InboundOpenInfo> {
        // Asked once for every inbound stream, so a peer admitted a moment ago is offered the protocol at once.
        let open = self.standing.has(&self.peer, self.needs);
        self.inner.listen_protocol().map_upgrade(|inner| Gated { inner, open })
    }

    fn connection_keep_alive(&self) -> bool {
        self.inner.connection_keep_alive()
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Self::OutboundProtocol, Self::OutboundOpenInfo, Self::ToBehaviour>> {
        self.inner.poll(cx)
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::ToBehaviour>> {
        self.inner.poll_close(cx)
    }

    fn on_behaviour_event(&mut self, event: Self::FromBehaviour) {
        self.inner.on_behaviour_event(event);
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<
            Self::InboundProtocol,
            Self::OutboundProtocol,
            Self::InboundOpenInfo,
            Self::OutboundOpenInfo,
        >,
    ) {
        let event = match event {
            ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound { protocol, info }) => {
                ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound { protocol, info })
            }
            ConnectionEvent::ListenUpgradeError(ListenUpgradeError { info, error }) => {
                ConnectionEvent::ListenUpgradeError(ListenUpgradeError { info, error })
            }
            ConnectionEvent::FullyNegotiatedOutbound(outbound) => ConnectionEvent::FullyNegotiatedOutbound(outbound),
            ConnectionEvent::DialUpgradeError(error) => ConnectionEvent::DialUpgradeError(error),
            ConnectionEvent::AddressChange(change) => ConnectionEvent::AddressChange(change),
            ConnectionEvent::LocalProtocolsChange(change) => ConnectionEvent::LocalProtocolsChange(change),
            ConnectionEvent::RemoteProtocolsChange(change) => ConnectionEvent::RemoteProtocolsChange(change),
            // A kind of event a later libp2p adds: it cannot be passed on without knowing its shape. Said aloud, so
            // an upgrade that adds one is noticed.
            _ => {
                tracing::warn!("a connection event of a kind this version does not know was not passed on");
                return;
            }
        };
        self.inner.on_connection_event(event);
    }
}

/// An inbound upgrade that offers its protocols only when `open`.
pub(crate) struct Gated<U> {
    inner: U,
    open: bool,
}

impl<U: UpgradeInfoSend> UpgradeInfo for Gated<U> {
    type Info = U::Info;
    type InfoIter = Vec<U::Info>;

    fn protocol_info(&self) -> Self::InfoIter {
        if self.open {
            self.inner.protocol_info().collect()
        } else {
            Vec::new()
        }
    }
}

impl<U: InboundUpgradeSend> InboundUpgrade<Stream> for Gated<U> {
    type Output = U::Output;
    type Error = U::Error;
    type Future = U::Future;

    fn upgrade_inbound(self, stream: Stream, info: Self::Info) -> Self::Future {
        // Reached only for a protocol offered above, so only when open.
        self.inner.upgrade_inbound(stream, info)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use libp2p::identity::Keypair;
    use libp2p::{identify, request_response, StreamProtocol};

    use super::*;

    fn offered<H: ConnectionHandler>(handler: &H) -> Vec<String> {
        UpgradeInfoSend::protocol_info(handler.listen_protocol().upgrade()).map(|p| p.as_ref().to_owned()).collect()
    }

    #[test]
    fn identify_is_offered_to_members_and_relays_and_never_to_a_stranger_at_the_door() {
        let key = Keypair::generate_ed25519();
        let standing = Standing::default();
        let identify = identify::Behaviour::new(identify::Config::new("/sunspace/1".into(), key.public()));
        let mut restricted = Restricted::new(identify, standing.clone(), Needs::Known);
        let peer = PeerId::random();
        let address: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let handler =
            restricted.handle_established_inbound_connection(ConnectionId::new_unchecked(1), peer, &address, &address);
        let handler = handler.unwrap();
        assert_eq!(offered(&handler), Vec::<String>::new(), "a stranger is offered nothing");
        standing.write().relays.insert(peer);
        assert!(offered(&handler).iter().any(|p| p.starts_with("/ipfs/id/")), "{:?}", offered(&handler));
        standing.write().relays.remove(&peer);
        standing.write().members.insert(peer);
        assert!(!offered(&handler).is_empty(), "members are offered identify");
    }

    #[test]
    fn sync_is_offered_on_an_open_connection_from_the_moment_its_peer_becomes_a_member() {
        let standing = Standing::default();
        let sync = request_response::Behaviour::with_codec(
            crate::codec::SyncCodec::new(1024),
            [(StreamProtocol::new("/sunspace/sync/1"), request_response::ProtocolSupport::Full)],
            request_response::Config::default(),
        );
        let mut restricted = Restricted::new(sync, standing.clone(), Needs::Member);
        let peer = PeerId::random();
        let address: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let handler = restricted
            .handle_established_outbound_connection(
                ConnectionId::new_unchecked(2),
                peer,
                &address,
                Endpoint::Dialer,
                PortUse::New,
            )
            .unwrap();
        assert!(offered(&handler).is_empty());
        standing.write().relay_clients.insert(peer);
        assert!(offered(&handler).is_empty(), "a relay client may not sync");
        standing.write().members.insert(peer);
        assert_eq!(offered(&handler), ["/sunspace/sync/1"]);
    }
}
