//! The task that owns the swarm, and the handle that talks to it.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{autonat, dcutr, mdns, noise, relay, tcp, yamux, Multiaddr, PeerId, Swarm, SwarmBuilder};
use sunspace_crypto::{DeviceId, Secret32};
use tokio::sync::{mpsc, oneshot};

use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::identity::{device_of_peer, keypair, peer_of_device};
use crate::relay_admin::RelayClients;

/// Commands queued to the swarm task at most; callers wait (asynchronously) when it is full.
pub const COMMAND_CAPACITY: usize = 64;
/// Events queued to the engine at most. When it is full, an incoming sync message is answered "busy" and dropped:
/// the sender keeps it and the next heads exchange repairs the gap, so a slow engine slows peers down instead of
/// growing memory.
pub const EVENT_CAPACITY: usize = 256;
/// An idle connection is kept this long, so pushes between members who are both online need no new handshake.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

const ACK: &[u8] = &[];
const BUSY: &[u8] = &[1];
const REFUSED: &[u8] = &[2];

/// How the network starts.
#[derive(Debug)]
pub struct NetConfig {
    /// The device's signing seed: its libp2p identity.
    pub signing_seed: Secret32,
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Whether to discover peers on the local network with mDNS (on for users; off in tests outside namespaces,
    /// because mDNS ignores loopback and would multicast on the real interface).
    pub mdns: bool,
    /// Serve as a relay for the devices this owner device lists (see [`crate::RelayClients`]); `None` for a
    /// device that is not a relay.
    pub relay_owner: Option<DeviceId>,
}

impl NetConfig {
    /// TCP and QUIC on 127.0.0.1 with ports chosen by the system, mDNS off: for tests and local use.
    pub fn loopback(signing_seed: Secret32) -> Self {
        Self { signing_seed, listen: listen_addresses("127.0.0.1"), mdns: false, relay_owner: None }
    }

    /// TCP and QUIC on every interface, mDNS on: for a device on a LAN.
    pub fn lan(signing_seed: Secret32) -> Self {
        Self { signing_seed, listen: listen_addresses("0.0.0.0"), mdns: true, relay_owner: None }
    }
}

fn listen_addresses(ip: &str) -> Vec<Multiaddr> {
    [format!("/ip4/{ip}/tcp/0"), format!("/ip4/{ip}/udp/0/quic-v1")]
        .into_iter()
        .filter_map(|text| text.parse().ok())
        .collect()
}

/// Something the network tells the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// Listening on an address (with this device's `/p2p/` suffix, ready to give to peers). Addresses through a
    /// relay contain `/p2p-circuit`.
    Listening(Multiaddr),
    /// No longer listening on an address (a relay reservation ended, an interface went away).
    Unlistened(Multiaddr),
    /// A relayed connection to a device became a direct one (hole punching succeeded).
    HolePunched(DeviceId),
    /// A relay answered whether one of this device's addresses is reachable from outside.
    Reachability {
        /// The address tested.
        address: Multiaddr,
        /// Whether the relay could dial it.
        reachable: bool,
    },
    /// This device is a relay, and its owner changed the devices it serves.
    RelayClients(Vec<DeviceId>),
    /// A connection to an allowed device is up.
    Connected(DeviceId),
    /// The open connections to a device changed (a member's, or one at the open door): these are how it is
    /// reached now (empty: not at all).
    Links {
        /// The device.
        device: DeviceId,
        /// One per open connection.
        links: Vec<Link>,
    },
    /// The last connection to a device closed.
    Disconnected(DeviceId),
    /// An allowed device sent a sync message (already acknowledged; not yet decoded).
    Received {
        /// The sender.
        from: DeviceId,
        /// The message bytes.
        message: Vec<u8>,
    },
    /// mDNS found a device on the local network (it may or may not be a member).
    Discovered {
        /// The device.
        device: DeviceId,
        /// Where.
        address: Multiaddr,
    },
    /// A connection from a device that is not allowed was closed after the handshake.
    Refused(PeerId),
    /// A device (a member or, while the door is open, anyone) sent a join-protocol request. Answer it with
    /// [`NetHandle::answer_join`] and the same `ticket`, or drop it.
    JoinRequest {
        /// The sender, authenticated by the transport.
        from: DeviceId,
        /// The request bytes (at most [`MAX_JOIN_MESSAGE_LEN`]).
        request: Vec<u8>,
        /// Names the open request when answering.
        ticket: u64,
    },
}

/// One open connection to a member device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The device's end: the address dialed, or the one its connection came from (through a relay, a circuit
    /// address).
    pub address: Multiaddr,
    /// Whether this device dialed it (then `address` is where the device listens, worth remembering).
    pub dialed: bool,
}

/// Largest join-protocol message accepted: the handshake's messages are small; a welcome carries a few wrapped
/// keys. Anything larger is dropped before it reaches the engine.
pub const MAX_JOIN_MESSAGE_LEN: usize = 64 * 1024;

/// A network operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The swarm could not be built or could not listen.
    #[error("the network could not start: {0}")]
    Start(String),
    /// The network task has stopped.
    #[error("the network has stopped")]
    Stopped,
    /// The device id is not a valid ed25519 key.
    #[error("not a valid device id")]
    InvalidDevice,
    /// The device is not on the allow-list.
    #[error("that device is not a member device of a shared group")]
    NotAllowed,
    /// The message is larger than [`crate::MAX_MESSAGE_LEN`].
    #[error("the message is too large to send")]
    TooLarge,
    /// The peer is busy and dropped the message; try again later.
    #[error("the peer is busy")]
    Busy,
    /// Sending failed: unreachable, timed out, or the connection closed.
    #[error("could not deliver to the peer: {0}")]
    Delivery(String),
    /// Dialing failed to start.
    #[error("could not dial: {0}")]
    Dial(String),
    /// The relay refused the relay-admin message (this device is not its owner, or the message was stale).
    #[error("the relay refused the list of devices")]
    RelayRefused,
}

#[derive(Debug)]
enum Command {
    Allow(PeerId),
    Disallow(PeerId),
    AddAddress(PeerId, Multiaddr),
    Dial(Multiaddr, oneshot::Sender<Result<(), NetError>>),
    Send(PeerId, Vec<u8>, oneshot::Sender<Result<(), NetError>>),
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    SetDoor(bool),
    Join(PeerId, Vec<u8>, oneshot::Sender<Result<Vec<u8>, NetError>>),
    AnswerJoin(u64, Vec<u8>),
    UseRelay(PeerId, Vec<Multiaddr>),
    ForgetRelay(PeerId),
    SendRelayClients(PeerId, Vec<u8>, oneshot::Sender<Result<(), NetError>>),
}

/// A cheap, cloneable handle to the network task. The task stops when every handle is dropped.
#[derive(Debug, Clone)]
pub struct NetHandle {
    commands: mpsc::Sender<Command>,
    local: DeviceId,
}

impl NetHandle {
    /// This device's id (its peer id's key).
    pub fn local_device(&self) -> DeviceId {
        self.local
    }

    async fn command(&self, command: Command) -> Result<(), NetError> {
        self.commands.send(command).await.map_err(|_| NetError::Stopped)
    }

    /// Lets `device` connect and exchange sync messages.
    pub async fn allow(&self, device: DeviceId) -> Result<(), NetError> {
        self.command(Command::Allow(peer_of_device(&device).ok_or(NetError::InvalidDevice)?)).await
    }

    /// Stops accepting `device`, closing any connection to it.
    pub async fn disallow(&self, device: DeviceId) -> Result<(), NetError> {
        self.command(Command::Disallow(peer_of_device(&device).ok_or(NetError::InvalidDevice)?)).await
    }

    /// Remembers an address at which `device` can be reached.
    pub async fn add_address(&self, device: DeviceId, address: Multiaddr) -> Result<(), NetError> {
        self.command(Command::AddAddress(peer_of_device(&device).ok_or(NetError::InvalidDevice)?, address)).await
    }

    /// Dials an address (which should end in `/p2p/<peer id>` so the peer is checked against the allow-list).
    pub async fn dial(&self, address: Multiaddr) -> Result<(), NetError> {
        let (reply, done) = oneshot::channel();
        self.command(Command::Dial(address, reply)).await?;
        done.await.map_err(|_| NetError::Stopped)?
    }

    /// Sends a sync message to an allowed device, dialing it if needed; returns once the device acknowledged it.
    pub async fn send(&self, to: DeviceId, message: Vec<u8>) -> Result<(), NetError> {
        if message.len() > crate::MAX_MESSAGE_LEN {
            return Err(NetError::TooLarge);
        }
        let (reply, done) = oneshot::channel();
        self.command(Command::Send(peer_of_device(&to).ok_or(NetError::InvalidDevice)?, message, reply)).await?;
        done.await.map_err(|_| NetError::Stopped)?
    }

    /// Opens or closes the door: while open, unknown devices may connect, to speak the join protocol only.
    /// Closing it disconnects every connected device that is not a member.
    pub async fn set_door(&self, open: bool) -> Result<(), NetError> {
        self.command(Command::SetDoor(open)).await
    }

    /// Sends a join-protocol request to `to` (dialing it if needed; the door must be open or `to` allowed) and
    /// returns its answer.
    pub async fn join_request(&self, to: DeviceId, request: Vec<u8>) -> Result<Vec<u8>, NetError> {
        if request.len() > MAX_JOIN_MESSAGE_LEN {
            return Err(NetError::TooLarge);
        }
        let (reply, done) = oneshot::channel();
        self.command(Command::Join(peer_of_device(&to).ok_or(NetError::InvalidDevice)?, request, reply)).await?;
        done.await.map_err(|_| NetError::Stopped)?
    }

    /// Answers the join request named by `ticket`.
    pub async fn answer_join(&self, ticket: u64, answer: Vec<u8>) -> Result<(), NetError> {
        if answer.len() > MAX_JOIN_MESSAGE_LEN {
            return Err(NetError::TooLarge);
        }
        self.command(Command::AnswerJoin(ticket, answer)).await
    }

    /// Uses `relay` (reachable at `addresses`): lets it connect, and listens through it, so devices that cannot
    /// reach this one directly can reach it at `<relay address>/p2p-circuit/p2p/<this device>`. Idempotent: while
    /// a reservation is held (or being made) nothing changes; after it ended, the next call tries the next address.
    pub async fn use_relay(&self, relay: DeviceId, addresses: Vec<Multiaddr>) -> Result<(), NetError> {
        self.command(Command::UseRelay(peer_of_device(&relay).ok_or(NetError::InvalidDevice)?, addresses)).await
    }

    /// Stops using `relay`: closes the reservation and any connection to it.
    pub async fn forget_relay(&self, relay: DeviceId) -> Result<(), NetError> {
        self.command(Command::ForgetRelay(peer_of_device(&relay).ok_or(NetError::InvalidDevice)?)).await
    }

    /// Tells a relay this device owns which devices it may serve; returns once the relay applied the list.
    pub async fn send_relay_clients(&self, relay: DeviceId, clients: &RelayClients) -> Result<(), NetError> {
        let (reply, done) = oneshot::channel();
        let peer = peer_of_device(&relay).ok_or(NetError::InvalidDevice)?;
        self.command(Command::SendRelayClients(peer, clients.encode(), reply)).await?;
        done.await.map_err(|_| NetError::Stopped)?
    }

    /// The addresses the swarm listens on, with this device's `/p2p/` suffix.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NetError> {
        let (reply, done) = oneshot::channel();
        self.command(Command::ListenAddrs(reply)).await?;
        done.await.map_err(|_| NetError::Stopped)
    }
}

/// Builds the swarm, starts listening and spawns the task that owns it. Must run inside a tokio runtime.
pub fn start(config: NetConfig) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    let key = keypair(&config.signing_seed);
    let local = device_of_peer(&key.public().to_peer_id()).ok_or(NetError::InvalidDevice)?;
    let mdns = config.mdns;
    let relay_owner = match config.relay_owner {
        Some(owner) => Some(peer_of_device(&owner).ok_or(NetError::InvalidDevice)?),
        None => None,
    };
    let mut swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .map_err(|e| NetError::Start(e.to_string()))?
        .with_quic()
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| NetError::Start(e.to_string()))?
        .with_behaviour(|key, relay_client| {
            Behaviour::new(key, relay_client, mdns, relay_owner.is_some())
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
        .map_err(|e| NetError::Start(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    for address in config.listen {
        swarm.listen_on(address).map_err(|e| NetError::Start(e.to_string()))?;
    }
    if let Some(owner) = relay_owner {
        // Until the owner sends its list, the owner alone may use the relay.
        swarm.behaviour_mut().gate.set_relay_clients(HashSet::from([owner]));
    }
    let (commands, command_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (events, event_rx) = mpsc::channel(EVENT_CAPACITY);
    let task = SwarmTask {
        swarm,
        commands: command_rx,
        events,
        pending: HashMap::new(),
        pending_joins: HashMap::new(),
        join_channels: HashMap::new(),
        next_ticket: 0,
        listening: Vec::new(),
        waiting_events: std::collections::VecDeque::new(),
        relay_owner,
        relay_sequence: 0,
        circuit_listeners: HashMap::new(),
        relay_attempts: HashMap::new(),
        pending_admin: HashMap::new(),
        links: HashMap::new(),
    };
    tokio::spawn(task.run());
    Ok((NetHandle { commands, local }, event_rx))
}

/// Control events (connections, discoveries, join requests) waiting for room in the engine's queue, at most.
/// The swarm task never waits for the engine: the engine awaits the swarm task's command queue, so waiting the
/// other way could deadlock, and a waiting swarm task would stall every connection.
const MAX_WAITING_EVENTS: usize = 4_096;

struct SwarmTask {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    pending: HashMap<OutboundRequestId, oneshot::Sender<Result<(), NetError>>>,
    pending_joins: HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, NetError>>>,
    join_channels: HashMap<u64, request_response::ResponseChannel<Vec<u8>>>,
    next_ticket: u64,
    listening: Vec<Multiaddr>,
    waiting_events: std::collections::VecDeque<NetEvent>,
    /// When this device is a relay: the device whose lists it accepts, and the newest list's sequence number.
    relay_owner: Option<PeerId>,
    relay_sequence: u64,
    /// The listener through each relay this device uses (reservation held or being made).
    circuit_listeners: HashMap<PeerId, ListenerId>,
    /// How many times each relay was tried, to rotate through its addresses.
    relay_attempts: HashMap<PeerId, usize>,
    pending_admin: HashMap<OutboundRequestId, oneshot::Sender<Result<(), NetError>>>,
    /// The open connections to each device: how it is reached right now.
    links: HashMap<PeerId, Vec<(libp2p::swarm::ConnectionId, Link)>>,
}

impl SwarmTask {
    /// Queues a control event for the engine; an error means the engine has gone.
    fn emit(&mut self, event: NetEvent) -> Result<(), ()> {
        if self.waiting_events.is_empty() {
            match self.events.try_send(event) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(()),
                Err(mpsc::error::TrySendError::Full(event)) => self.waiting_events.push_back(event),
            }
        } else {
            self.waiting_events.push_back(event);
        }
        if self.waiting_events.len() > MAX_WAITING_EVENTS {
            tracing::warn!("the engine is far behind; dropping the oldest network event");
            self.waiting_events.pop_front();
        }
        Ok(())
    }

    async fn run(mut self) {
        loop {
            let events = self.events.clone();
            let has_waiting = !self.waiting_events.is_empty();
            tokio::select! {
                permit = events.reserve(), if has_waiting => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.waiting_events.pop_front() {
                            permit.send(event);
                        }
                    }
                    Err(_) => break, // the engine stopped listening
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break, // every handle dropped
                },
                event = self.swarm.select_next_some() => {
                    if self.on_swarm_event(event).await.is_err() {
                        break; // the engine stopped listening
                    }
                }
            }
        }
        tracing::debug!("network task stopped");
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Allow(peer) => {
                let newly = !self.swarm.behaviour().gate.is_member(&peer);
                self.swarm.behaviour_mut().gate.allow(peer);
                // A device already connected when it becomes a member (it came through the open door to join)
                // is reported now: its connection was not announced while it was a stranger.
                if newly && self.swarm.is_connected(&peer) {
                    if let Some(device) = device_of_peer(&peer) {
                        let _ = self.emit(NetEvent::Connected(device));
                    }
                }
            }
            Command::Disallow(peer) => {
                self.swarm.behaviour_mut().gate.disallow(&peer);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Command::SetDoor(open) => {
                self.swarm.behaviour_mut().gate.set_door(open);
                if !open {
                    let strangers: Vec<PeerId> = self
                        .swarm
                        .connected_peers()
                        .filter(|peer| !self.swarm.behaviour().gate.is_member(peer))
                        .copied()
                        .collect();
                    for peer in strangers {
                        let _ = self.swarm.disconnect_peer_id(peer);
                    }
                }
            }
            Command::Join(peer, request, reply) => {
                let id = self.swarm.behaviour_mut().join.send_request(&peer, request);
                self.pending_joins.insert(id, reply);
            }
            Command::AnswerJoin(ticket, answer) => {
                if let Some(channel) = self.join_channels.remove(&ticket) {
                    let _ = self.swarm.behaviour_mut().join.send_response(channel, answer);
                }
            }
            Command::AddAddress(peer, address) => {
                self.swarm.add_peer_address(peer, address);
            }
            Command::Dial(address, reply) => {
                let _ = reply.send(self.swarm.dial(address).map_err(|e| NetError::Dial(e.to_string())));
            }
            Command::Send(peer, message, reply) => {
                if !self.swarm.behaviour().gate.is_member(&peer) {
                    let _ = reply.send(Err(NetError::NotAllowed));
                    return;
                }
                let id = self.swarm.behaviour_mut().sync.inner_mut().send_request(&peer, message);
                self.pending.insert(id, reply);
            }
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.listening.clone());
            }
            Command::UseRelay(relay, addresses) => self.use_relay(relay, addresses),
            Command::ForgetRelay(relay) => {
                self.swarm.behaviour_mut().gate.disallow_relay(&relay);
                if let Some(listener) = self.circuit_listeners.remove(&relay) {
                    self.swarm.remove_listener(listener);
                }
                self.relay_attempts.remove(&relay);
                if !self.swarm.behaviour().gate.admits(&relay) {
                    let _ = self.swarm.disconnect_peer_id(relay);
                }
            }
            Command::SendRelayClients(relay, message, reply) => {
                let id = self.swarm.behaviour_mut().relay_admin.send_request(&relay, message);
                self.pending_admin.insert(id, reply);
            }
        }
    }

    fn use_relay(&mut self, relay: PeerId, addresses: Vec<Multiaddr>) {
        self.swarm.behaviour_mut().gate.allow_relay(relay);
        // Only transport addresses: a relay is reached directly, and its own /p2p/ part is added below.
        let addresses: Vec<Multiaddr> = addresses
            .into_iter()
            .map(|address| address.into_iter().filter(|p| !matches!(p, Protocol::P2p(_))).collect())
            .filter(|address: &Multiaddr| !address.iter().any(|p| p == Protocol::P2pCircuit))
            .collect();
        for address in &addresses {
            self.swarm.add_peer_address(relay, address.clone());
        }
        if self.circuit_listeners.contains_key(&relay) || addresses.is_empty() {
            return;
        }
        let attempt = self.relay_attempts.entry(relay).or_default();
        let address = addresses[*attempt % addresses.len()].clone();
        *attempt += 1;
        let circuit = address.with(Protocol::P2p(relay)).with(Protocol::P2pCircuit);
        match self.swarm.listen_on(circuit.clone()) {
            Ok(listener) => {
                tracing::debug!(%circuit, "asking the relay for a reservation");
                self.circuit_listeners.insert(relay, listener);
            }
            Err(error) => tracing::info!(%circuit, %error, "cannot listen through the relay"),
        }
    }

    fn forget_listen_address(&mut self, address: &Multiaddr) -> Result<(), ()> {
        let me = *self.swarm.local_peer_id();
        let full = if address.iter().any(|p| p == Protocol::P2p(me)) {
            address.clone()
        } else {
            address.clone().with(Protocol::P2p(me))
        };
        let before = self.listening.len();
        self.listening.retain(|known| *known != full);
        if self.listening.len() != before {
            tracing::info!(address = %full, "no longer listening");
            self.emit(NetEvent::Unlistened(full))?;
        }
        Ok(())
    }

    async fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) -> Result<(), ()> {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let me = *self.swarm.local_peer_id();
                let relayed = address.iter().any(|p| p == Protocol::P2pCircuit);
                if self.relay_owner.is_some() && !relayed {
                    // A relay must know its own reachable addresses before it grants reservations: its listen
                    // addresses are what its owner gives to members.
                    self.swarm.add_external_address(address.clone());
                }
                // A relayed address already ends in this device's /p2p/ part.
                let full = if relayed { address } else { address.with(Protocol::P2p(me)) };
                if !self.listening.contains(&full) {
                    tracing::info!(address = %full, "listening");
                    self.listening.push(full.clone());
                    self.emit(NetEvent::Listening(full))?;
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => self.forget_listen_address(&address)?,
            SwarmEvent::ListenerClosed { listener_id, addresses, reason } => {
                let relay = self.circuit_listeners.iter().find(|(_, id)| **id == listener_id).map(|(relay, _)| *relay);
                if let Some(relay) = relay {
                    self.circuit_listeners.remove(&relay);
                    match reason {
                        Ok(()) => tracing::info!(%relay, "the reservation at the relay ended"),
                        Err(error) => tracing::info!(%relay, %error, "the relay refused or lost the reservation"),
                    }
                }
                for address in addresses {
                    self.forget_listen_address(&address)?;
                }
            }
            SwarmEvent::ConnectionEstablished { peer_id, num_established, connection_id, endpoint, .. } => {
                let Some(device) = device_of_peer(&peer_id) else { return Ok(()) };
                if num_established.get() == 1 {
                    self.emit(NetEvent::Connected(device))?;
                }
                // Every device's links are told (not only members'): a device at the door may be admitted while
                // its connection stays up. Connection limits bound how many there are.
                let link = Link { address: endpoint.get_remote_address().clone(), dialed: endpoint.is_dialer() };
                let links = self.links.entry(peer_id).or_default();
                links.push((connection_id, link));
                let links = links.iter().map(|(_, link)| link.clone()).collect();
                self.emit(NetEvent::Links { device, links })?;
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established, connection_id, .. } => {
                let Some(device) = device_of_peer(&peer_id) else { return Ok(()) };
                if let Some(links) = self.links.get_mut(&peer_id) {
                    links.retain(|(id, _)| *id != connection_id);
                    let now: Vec<Link> = links.iter().map(|(_, link)| link.clone()).collect();
                    if now.is_empty() {
                        self.links.remove(&peer_id);
                    }
                    self.emit(NetEvent::Links { device, links: now })?;
                }
                if num_established == 0 && self.swarm.behaviour().gate.is_member(&peer_id) {
                    self.emit(NetEvent::Disconnected(device))?;
                }
            }
            SwarmEvent::IncomingConnectionError { peer_id: Some(peer), error, .. } => {
                tracing::info!(%peer, %error, "refused a connection");
                self.emit(NetEvent::Refused(peer))?;
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync_event(event).await?,
            SwarmEvent::Behaviour(BehaviourEvent::Join(event)) => self.on_join_event(event).await?,
            SwarmEvent::Behaviour(BehaviourEvent::RelayAdmin(event)) => self.on_relay_admin_event(event)?,
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(dcutr::Event { remote_peer_id, result })) => match result {
                Ok(_) => {
                    tracing::info!(peer = %remote_peer_id, "a relayed connection became direct");
                    if let Some(device) = device_of_peer(&remote_peer_id) {
                        self.emit(NetEvent::HolePunched(device))?;
                    }
                }
                Err(error) => tracing::debug!(peer = %remote_peer_id, %error, "hole punching failed; staying relayed"),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(autonat::v2::client::Event {
                tested_addr, result, ..
            })) => {
                let reachable = result.is_ok();
                tracing::info!(address = %tested_addr, reachable, "reachability tested by a relay");
                self.emit(NetEvent::Reachability { address: tested_addr, reachable })?;
            }
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(event)) => match event {
                relay::client::Event::ReservationReqAccepted { relay_peer_id, renewal: false, .. } => {
                    tracing::info!(relay = %relay_peer_id, "the relay granted a reservation");
                    self.relay_attempts.remove(&relay_peer_id);
                }
                other => tracing::debug!(?other, "relay client"),
            },
            SwarmEvent::Behaviour(BehaviourEvent::RelayServer(event)) => match event {
                relay::Event::ReservationReqAccepted { src_peer_id, renewed: false } => {
                    tracing::info!(peer = %src_peer_id, "granted a relay reservation");
                }
                relay::Event::ReservationReqDenied { src_peer_id, .. } => {
                    tracing::info!(peer = %src_peer_id, "denied a relay reservation");
                }
                relay::Event::CircuitReqAccepted { src_peer_id, dst_peer_id } => {
                    tracing::info!(from = %src_peer_id, to = %dst_peer_id, "relaying a circuit");
                }
                relay::Event::CircuitReqDenied { src_peer_id, dst_peer_id, .. } => {
                    tracing::info!(from = %src_peer_id, to = %dst_peer_id, "denied a relay circuit");
                }
                other => tracing::debug!(?other, "relay server"),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, address) in found {
                    if let Some(device) = device_of_peer(&peer) {
                        self.emit(NetEvent::Discovered { device, address })?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn on_sync_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) -> Result<(), ()> {
        use request_response::{Event, Message};
        match event {
            Event::Message { peer, message: Message::Request { request, channel, .. }, .. } => {
                // The gate already closed connections from strangers; check again before anything is handed on,
                // in case the allow-list changed while the connection was up.
                let allowed = self.swarm.behaviour().gate.is_member(&peer);
                let Some(from) = device_of_peer(&peer).filter(|_| allowed) else {
                    tracing::warn!(%peer, "sync request from a device that is not allowed; dropped");
                    // Answered "busy" so the sender does not wait for a timeout; the message is not looked at.
                    let _ = self.swarm.behaviour_mut().sync.inner_mut().send_response(channel, BUSY.to_vec());
                    return Ok(());
                };
                let answer = match self.events.try_send(NetEvent::Received { from, message: request }) {
                    Ok(()) => ACK,
                    Err(mpsc::error::TrySendError::Full(_)) => BUSY,
                    Err(mpsc::error::TrySendError::Closed(_)) => return Err(()),
                };
                let _ = self.swarm.behaviour_mut().sync.inner_mut().send_response(channel, answer.to_vec());
            }
            Event::Message { message: Message::Response { request_id, response }, .. } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(if response.is_empty() { Ok(()) } else { Err(NetError::Busy) });
                }
            }
            Event::OutboundFailure { request_id, error, .. } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(NetError::Delivery(error.to_string())));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The owner's list of devices this relay serves, and the relay's answer (an empty answer means applied).
    fn on_relay_admin_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) -> Result<(), ()> {
        use request_response::{Event, Message};
        match event {
            Event::Message { peer, message: Message::Request { request, channel, .. }, .. } => {
                let applied = self.apply_relay_clients(peer, &request);
                let answer = if applied.is_some() { ACK } else { REFUSED };
                let _ = self.swarm.behaviour_mut().relay_admin.send_response(channel, answer.to_vec());
                if let Some(devices) = applied {
                    self.emit(NetEvent::RelayClients(devices))?;
                }
            }
            Event::Message { message: Message::Response { request_id, response }, .. } => {
                if let Some(reply) = self.pending_admin.remove(&request_id) {
                    let _ = reply.send(if response.is_empty() { Ok(()) } else { Err(NetError::RelayRefused) });
                }
            }
            Event::OutboundFailure { request_id, error, .. } => {
                if let Some(reply) = self.pending_admin.remove(&request_id) {
                    let _ = reply.send(Err(NetError::Delivery(error.to_string())));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Applies a relay-admin list if this device is a relay, `peer` is its owner and the list is newer than the
    /// last; disconnects the devices it no longer serves. Returns the devices now served.
    fn apply_relay_clients(&mut self, peer: PeerId, request: &[u8]) -> Option<Vec<DeviceId>> {
        let owner = self.relay_owner.filter(|owner| *owner == peer);
        let Some(owner) = owner else {
            tracing::warn!(%peer, "relay-admin message from a device that is not this relay's owner; refused");
            return None;
        };
        let list = match RelayClients::decode(request) {
            Ok(list) if list.sequence > self.relay_sequence => list,
            Ok(list) => {
                tracing::info!(sequence = list.sequence, "a stale relay-admin list; ignored");
                return None;
            }
            Err(error) => {
                tracing::warn!(%error, "malformed relay-admin message; refused");
                return None;
            }
        };
        self.relay_sequence = list.sequence;
        let mut clients: HashSet<PeerId> = list.devices.iter().filter_map(peer_of_device).collect();
        clients.insert(owner);
        let dropped = self.swarm.behaviour_mut().gate.set_relay_clients(clients);
        for peer in dropped {
            if !self.swarm.behaviour().gate.admits(&peer) {
                // Closing its connections ends its reservation and every circuit through it.
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        }
        tracing::info!(devices = list.devices.len(), "the owner updated who may use this relay");
        let mut devices = list.devices;
        devices.sort();
        devices.dedup();
        Some(devices)
    }

    async fn on_join_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) -> Result<(), ()> {
        use request_response::{Event, Message};
        match event {
            Event::Message { peer, message: Message::Request { request, channel, .. }, .. } => {
                let Some(from) = device_of_peer(&peer).filter(|_| request.len() <= MAX_JOIN_MESSAGE_LEN) else {
                    tracing::warn!(%peer, "malformed join request; dropped");
                    return Ok(());
                };
                // Open join requests are few (one per invitation); a flood of them is capped, not queued.
                self.join_channels.retain(|_, channel| channel.is_open());
                if self.join_channels.len() >= 64 {
                    tracing::warn!(%peer, "too many open join requests; dropped");
                    return Ok(());
                }
                let ticket = self.next_ticket;
                self.next_ticket += 1;
                self.join_channels.insert(ticket, channel);
                self.emit(NetEvent::JoinRequest { from, request, ticket })?;
            }
            Event::Message { message: Message::Response { request_id, response }, .. } => {
                if let Some(reply) = self.pending_joins.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            Event::OutboundFailure { request_id, error, .. } => {
                if let Some(reply) = self.pending_joins.remove(&request_id) {
                    let _ = reply.send(Err(NetError::Delivery(error.to_string())));
                }
            }
            _ => {}
        }
        Ok(())
    }
}
