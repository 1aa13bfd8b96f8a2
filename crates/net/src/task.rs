//! The task that owns the swarm, and the handle that talks to it.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::SwarmEvent;
use libp2p::{mdns, noise, tcp, yamux, Multiaddr, PeerId, Swarm, SwarmBuilder};
use sunspace_crypto::{DeviceId, Secret32};
use tokio::sync::{mpsc, oneshot};

use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::identity::{device_of_peer, keypair, peer_of_device};

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
}

impl NetConfig {
    /// TCP and QUIC on 127.0.0.1 with ports chosen by the system, mDNS off: for tests and local use.
    pub fn loopback(signing_seed: Secret32) -> Self {
        Self { signing_seed, listen: listen_addresses("127.0.0.1"), mdns: false }
    }

    /// TCP and QUIC on every interface, mDNS on: for a device on a LAN.
    pub fn lan(signing_seed: Secret32) -> Self {
        Self { signing_seed, listen: listen_addresses("0.0.0.0"), mdns: true }
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
    /// Listening on an address (with this device's `/p2p/` suffix, ready to give to peers).
    Listening(Multiaddr),
    /// A connection to an allowed device is up.
    Connected(DeviceId),
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
    let mut swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .map_err(|e| NetError::Start(e.to_string()))?
        .with_quic()
        .with_behaviour(|key| {
            Behaviour::new(key, mdns).map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
        .map_err(|e| NetError::Start(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    for address in config.listen {
        swarm.listen_on(address).map_err(|e| NetError::Start(e.to_string()))?;
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
                self.swarm.behaviour_mut().gate.allow(peer);
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
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, message);
                self.pending.insert(id, reply);
            }
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.listening.clone());
            }
        }
    }

    async fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) -> Result<(), ()> {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let me = *self.swarm.local_peer_id();
                let full = address.with(Protocol::P2p(me));
                tracing::info!(address = %full, "listening");
                self.listening.push(full.clone());
                self.emit(NetEvent::Listening(full))?;
            }
            SwarmEvent::ConnectionEstablished { peer_id, num_established, .. } if num_established.get() == 1 => {
                if let Some(device) = device_of_peer(&peer_id) {
                    self.emit(NetEvent::Connected(device))?;
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                if let Some(device) = device_of_peer(&peer_id) {
                    if self.swarm.behaviour().gate.is_member(&peer_id) {
                        self.emit(NetEvent::Disconnected(device))?;
                    }
                }
            }
            SwarmEvent::IncomingConnectionError { peer_id: Some(peer), error, .. } => {
                tracing::info!(%peer, %error, "refused a connection");
                self.emit(NetEvent::Refused(peer))?;
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync_event(event).await?,
            SwarmEvent::Behaviour(BehaviourEvent::Join(event)) => self.on_join_event(event).await?,
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
                    let _ = self.swarm.behaviour_mut().sync.send_response(channel, BUSY.to_vec());
                    return Ok(());
                };
                let answer = match self.events.try_send(NetEvent::Received { from, message: request }) {
                    Ok(()) => ACK,
                    Err(mpsc::error::TrySendError::Full(_)) => BUSY,
                    Err(mpsc::error::TrySendError::Closed(_)) => return Err(()),
                };
                let _ = self.swarm.behaviour_mut().sync.send_response(channel, answer.to_vec());
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
