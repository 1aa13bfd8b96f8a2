//! The engine: one task that owns the unlocked device, its open groups and store, and one sync session per peer
//! and group; it talks to the network task (`sunspace-net`) over bounded channels. Everything else (the CLI's
//! `serve`, the control socket, later the app) reaches it through a [`NodeHandle`] and its [`NodeEvent`]s.
//!
//! The flow, for one edit made through the handle while a peer is connected:
//!
//! ```text
//! handle.execute(NodeCommand::Edit { .. })      the edit becomes a sealed entry, stored and flushed
//!   → engine sees the group's heads grew        → Session::on_local_heads → entries read from the store
//!   → per-peer send queue → net task            → peer's engine: OpenGroup::receive → pushes to its own peers
//! ```
//!
//! A peer only ever gets a group's messages if it is a member device of that group (by the signed membership);
//! a connection from anyone else is closed by the network's gate before any protocol runs.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sunspace_crypto::{random_array, DeviceId};
use sunspace_log::GroupId;
use sunspace_membership::invite::{Invitation, InviteKind, JoinAnswer, JoinRequest};
use sunspace_net::{device_of_address, Link, Multiaddr, NetConfig, NetEvent, NetHandle};
use sunspace_replicate::{batches, Message, SyncAction, SyncPolicy};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::command::{GroupSnapshot, Node, NodeCommand, NodeOutcome};
use crate::group::Admission;
use crate::handshake::{Decision, Inviting, Stage, Step, NOT_OPEN};
use crate::reach::{Path, PeerBook, Reach};
use crate::relays::{is_through, RelayPlan, RelayPushes};
pub use crate::status::{
    GroupStatus, IntegrityKind, IntegrityNote, PeerStatus, RelayLink, RelayService, Status, Traffic, UnopenedGroup,
};
use crate::vault::Vault;
use crate::NodeError;

/// Commands queued to the engine at most.
const COMMAND_CAPACITY: usize = 64;
/// Messages queued to one peer at most; when full, pushes are dropped and the next heads exchange repairs it.
const PEER_QUEUE: usize = 64;
/// Every connected peer is sent our heads this often, which repairs anything a dropped message missed.
const ANTI_ENTROPY: Duration = Duration::from_secs(15);
/// How often the engine keeps the views of its open groups for the next start, when they changed.
const KEEP_VIEWS_EVERY: Duration = Duration::from_secs(5 * 60);
/// How long an invitation stays open unless given otherwise.
pub const DEFAULT_INVITATION_TTL: Duration = Duration::from_secs(10 * 60);
/// The longest an invitation may stay open: while one is open, strangers may connect to the join protocol.
pub const MAX_INVITATION_MINUTES: u64 = 60;

/// How long an invitation asked to last `minutes` stays open: [`DEFAULT_INVITATION_TTL`] unless asked
/// otherwise, never under a minute or over [`MAX_INVITATION_MINUTES`]. The one rule every front end uses.
pub fn invitation_lifetime(minutes: Option<u64>) -> Duration {
    match minutes {
        Some(minutes) => Duration::from_secs(minutes.clamp(1, MAX_INVITATION_MINUTES) * 60),
        None => DEFAULT_INVITATION_TTL,
    }
}
/// How long an ended invitation is remembered, to tell a joining device why.
const ENDED_KEPT: Duration = Duration::from_secs(30);
/// How often the engine publishes its own addresses in the roster, redials member devices it is not connected
/// to, and checks its relays.
const RECONNECT_TICK: Duration = crate::relays::RELAY_TICK;

/// The addresses this device tells its group it listens at, sorted: loopback ones only when there are no others.
/// Circuit addresses are included: they are how members on other networks reach this device.
pub(crate) fn publishable(listening: &[String]) -> Vec<String> {
    let is_loopback = |a: &String| a.starts_with("/ip4/127.") || a.starts_with("/ip6/::1");
    let mut mine: Vec<String> = listening.to_vec();
    if mine.iter().any(|a| !is_loopback(a)) {
        mine.retain(|a| !is_loopback(a));
    }
    mine.sort();
    mine.dedup();
    mine
}

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Made on this device.
    Local,
    /// Received from a peer.
    Remote,
}

/// Something the engine reports, for `serve`'s log lines and, later, the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum NodeEvent {
    /// Listening at an address.
    Listening {
        /// The address, with this device's `/p2p/` part.
        address: String,
    },
    /// A member device connected.
    PeerConnected {
        /// Its id (hex).
        device: String,
    },
    /// A member device disconnected.
    PeerDisconnected {
        /// Its id (hex).
        device: String,
    },
    /// A connection from a device that is not a member was refused.
    StrangerRefused {
        /// Its libp2p peer id.
        peer: String,
    },
    /// Entries were received from a peer.
    Received {
        /// The group (hex).
        group: String,
        /// The peer (hex).
        peer: String,
        /// Entries stored and applied.
        accepted: usize,
        /// Entries refused (never stored).
        rejected: usize,
        /// Entries waiting for earlier ones.
        waiting: usize,
    },
    /// Entries were queued to a peer.
    Sent {
        /// The group (hex).
        group: String,
        /// The peer (hex).
        peer: String,
        /// How many.
        entries: usize,
    },
    /// This device is a relay, and its owner changed the devices it serves.
    RelayClients {
        /// How many devices it now serves (besides its owner).
        devices: usize,
    },
    /// A group's document changed.
    Changed {
        /// The group (hex).
        group: String,
        /// Local or remote.
        origin: Origin,
        /// The kinds of record a local edit touched; empty when any may have (entries from a peer).
        records: Vec<sunspace_model::RecordKind>,
        /// The document's heads after the change (hex change hashes): a window showing exactly these has
        /// nothing to reload (its own edit's echo).
        heads: Vec<String>,
    },
}

/// How the engine's network starts.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// Serve as a member-run relay for the devices this owner device lists; `None` for an ordinary device.
    pub relay_owner: Option<DeviceId>,
}

impl EngineOptions {
    /// 127.0.0.1 only, mDNS off: tests and a device that should not be reachable from the LAN.
    pub fn loopback() -> Self {
        let listen = ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"];
        Self { listen: listen.iter().filter_map(|a| a.parse().ok()).collect(), mdns: false, relay_owner: None }
    }

    /// Every interface, mDNS on: a device on a LAN.
    pub fn lan() -> Self {
        let listen = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"];
        Self { listen: listen.iter().filter_map(|a| a.parse().ok()).collect(), mdns: true, relay_owner: None }
    }
}

/// What to admit with an invitation.
#[derive(Debug, Clone)]
pub struct InviteRequest {
    /// The group.
    pub group: GroupId,
    /// A new member, or another device of this device's member.
    pub kind: InviteKind,
    /// An existing member record (id prefix) the newcomer takes over.
    pub existing_member: Option<String>,
    /// How long the invitation stays open.
    pub ttl: Duration,
}

/// Progress of an invitation, on the inviting device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum InviteEvent {
    /// A device used the code; compare these words with the newcomer, then confirm.
    Words {
        /// The words.
        words: String,
        /// The newcomer's name.
        name: String,
        /// The newcomer's device (hex).
        device: String,
    },
    /// The device was admitted.
    Admitted {
        /// Its member record id.
        member: String,
    },
    /// The invitation ended without admitting anyone.
    Failed {
        /// Why, for the person.
        reason: String,
    },
}

/// An open invitation, as returned to the caller.
#[derive(Debug)]
pub struct Invite {
    /// The typed code.
    pub code: String,
    /// The QR code's text (the code and this device's addresses).
    pub qr_text: String,
    /// Names the invitation when confirming.
    pub tag: [u8; 16],
    /// Progress.
    pub events: mpsc::Receiver<InviteEvent>,
}

/// Progress of a join, on the joining device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum JoinEvent {
    /// Found the inviting device; compare these words with the inviter, then confirm.
    Words {
        /// The words.
        words: String,
        /// The group's name.
        group_name: String,
        /// The inviter's name.
        inviter_name: String,
    },
    /// Admitted; the history is arriving.
    Joined {
        /// The group id (hex).
        group: String,
        /// Its name.
        group_name: String,
    },
    /// The join ended without admission.
    Failed {
        /// Why, for the person.
        reason: String,
    },
}

/// A join under way, as returned to the caller.
#[derive(Debug)]
pub struct Joining {
    /// Progress.
    pub events: mpsc::Receiver<JoinEvent>,
    /// Send `true` once the person confirmed that the words match, `false` if they do not.
    pub confirm: oneshot::Sender<bool>,
}

/// A closure on the node, for the hostile-member harness only: it does what no typed command allows.
#[cfg(feature = "test-utils")]
type ForgeJob = Box<dyn FnOnce(&mut Node) + Send>;

pub(crate) enum Command {
    Node(NodeCommand, oneshot::Sender<Result<NodeOutcome, NodeError>>),
    #[cfg(feature = "test-utils")]
    Forge(ForgeJob),
    AddPeer(Multiaddr, oneshot::Sender<Result<(), NodeError>>),
    Status(oneshot::Sender<Status>),
    Invite(InviteRequest, oneshot::Sender<Result<Invite, NodeError>>),
    ConfirmInvite([u8; 16], bool),
    Door(bool),
    Candidates(oneshot::Sender<Vec<DeviceId>>),
    Welcomed {
        group: GroupId,
        keys: Vec<(u32, String)>,
        name: String,
        inviter: DeviceId,
        reply: oneshot::Sender<Result<(), NodeError>>,
    },
}

/// A cheap, cloneable handle to the engine. The engine stops when every handle is dropped.
#[derive(Clone)]
pub struct NodeHandle {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<NodeEvent>,
    pub(crate) net: NetHandle,
    pub(crate) identity: JoinIdentity,
    /// Groups not opened yet, as they were last shown (`view_cache`): read from here while they open behind.
    kept: Arc<std::sync::Mutex<HashMap<GroupId, GroupSnapshot>>>,
}

impl NodeHandle {
    #[cfg(feature = "test-utils")]
    pub(crate) fn net_for_forging(&self) -> &NetHandle {
        &self.net
    }

    /// Lets unknown devices connect for the join protocol (as a joining device does), or stops it.
    #[cfg(feature = "test-utils")]
    pub(crate) async fn door_for_forging(&self, open: bool) -> Result<(), NodeError> {
        self.command(Command::Door(open)).await
    }
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle").field("device", &self.identity.device.short()).finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub(crate) struct JoinIdentity {
    pub(crate) device: DeviceId,
    pub(crate) agreement: [u8; 32],
    pub(crate) name: String,
}

impl NodeHandle {
    pub(crate) async fn command(&self, command: Command) -> Result<(), NodeError> {
        self.commands.send(command).await.map_err(|_| NodeError::Stopped)
    }

    /// Carries out one command on the engine's node ([`Node::execute`]). A write's entry is pushed to connected
    /// member devices as soon as it is made, and announced as [`NodeEvent::Changed`].
    pub async fn execute(&self, command: NodeCommand) -> Result<NodeOutcome, NodeError> {
        if let NodeCommand::Read(group) = &command {
            let kept = self.kept.lock().ok().and_then(|kept| kept.get(group).cloned());
            if let Some(snapshot) = kept {
                return Ok(NodeOutcome::Snapshot(Box::new(snapshot)));
            }
        }
        let (reply, done) = oneshot::channel();
        self.command(Command::Node(command, reply)).await?;
        done.await.map_err(|_| NodeError::Stopped)?
    }

    /// A group as front ends show it.
    pub async fn read(&self, group: GroupId) -> Result<GroupSnapshot, NodeError> {
        match self.execute(NodeCommand::Read(group)).await? {
            NodeOutcome::Snapshot(snapshot) => Ok(*snapshot),
            other => Err(NodeError::Refused(format!("the engine answered a read with {other:?}"))),
        }
    }

    /// The last entry held of each device's log, and whether edits wait to be sealed.
    pub async fn log_heads(&self, group: GroupId) -> Result<(BTreeMap<DeviceId, u64>, bool), NodeError> {
        match self.execute(NodeCommand::LogHeads(group)).await? {
            NodeOutcome::LogHeads { heads, pending } => Ok((heads, pending)),
            other => Err(NodeError::Refused(format!("the engine answered a heads query with {other:?}"))),
        }
    }

    /// Runs `job` on the engine's node: the hostile-member harness's way to do what no typed command allows.
    #[cfg(feature = "test-utils")]
    pub async fn forge<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Node) -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let (reply, done) = oneshot::channel();
        self.command(Command::Forge(Box::new(move |node| {
            let _ = reply.send(job(node));
        })))
        .await?;
        done.await.map_err(|_| NodeError::Stopped)
    }

    /// Waits (a minute at most) until a just-joined group's records have arrived: its membership and its name.
    /// Returns whether they did. Woken by the group's changes, not by polling.
    pub async fn wait_for_history(&self, group: GroupId) -> bool {
        let mut events = self.subscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let ready = match self.read(group).await {
                Ok(snapshot) => !snapshot.devices.is_empty() && !snapshot.view.name.is_empty(),
                Err(NodeError::Stopped) => return false,
                Err(_) => false,
            };
            if ready {
                return true;
            }
            let hex = group.to_hex();
            // A change to this group, or a second at most (in case events were missed while reading).
            let wait = async {
                loop {
                    match events.recv().await {
                        Ok(NodeEvent::Changed { group, .. }) if group == hex => break,
                        Err(broadcast::error::RecvError::Closed) => break,
                        _ => {}
                    }
                }
            };
            let until = deadline.min(tokio::time::Instant::now() + Duration::from_secs(1));
            if tokio::time::timeout_at(until, wait).await.is_err() && tokio::time::Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// The engine's events.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// This device's id.
    pub fn device(&self) -> DeviceId {
        self.identity.device
    }

    /// Connects to a peer at `address` (with its `/p2p/` part). It must be a member device of a shared group.
    pub async fn add_peer(&self, address: &str) -> Result<(), NodeError> {
        let address: Multiaddr =
            address.trim().parse().map_err(|_| NodeError::Refused(format!("\"{address}\" is not a peer address")))?;
        let (reply, done) = oneshot::channel();
        self.command(Command::AddPeer(address, reply)).await?;
        done.await.map_err(|_| NodeError::Stopped)?
    }

    /// Peers and sync state per group.
    pub async fn status(&self) -> Result<Status, NodeError> {
        let (reply, done) = oneshot::channel();
        self.command(Command::Status(reply)).await?;
        done.await.map_err(|_| NodeError::Stopped)
    }

    /// Opens an invitation. Follow [`Invite::events`]; confirm with [`NodeHandle::confirm_invite`].
    pub async fn invite(&self, request: InviteRequest) -> Result<Invite, NodeError> {
        let (reply, done) = oneshot::channel();
        self.command(Command::Invite(request, reply)).await?;
        done.await.map_err(|_| NodeError::Stopped)?
    }

    /// The person at the inviting device says whether the words match.
    pub async fn confirm_invite(&self, tag: [u8; 16], matched: bool) -> Result<(), NodeError> {
        self.command(Command::ConfirmInvite(tag, matched)).await
    }
}

struct OpenInvite {
    /// The handshake's state and rules (crate::handshake): no I/O.
    core: Inviting,
    request: InviteRequest,
    expires: Instant,
    events: mpsc::Sender<InviteEvent>,
}

struct PeerInfo {
    connected: bool,
    last_synced: Option<chrono::DateTime<chrono::Utc>>,
}

/// Starts the network and the engine on an unlocked device. Must run inside a tokio runtime.
pub async fn start(vault: Vault, options: EngineOptions) -> Result<NodeHandle, NodeError> {
    let mut node = Node::new(vault);
    node.keep_views_on_read = false;
    // Groups open behind, one at a time, once the engine runs; until one has, its kept view answers reads, so the
    // window shows the group at once. A group with no kept view (or a stale one) is opened first.
    let (stored, unreadable) = node.vault.stored_groups()?;
    for (id, reason) in unreadable {
        tracing::error!(group = %id, %reason, "a group's records cannot be read");
        node.unopened.insert(id, reason);
    }
    let mut kept = HashMap::new();
    let mut to_open = VecDeque::new();
    for id in stored {
        match crate::view_cache::fresh::<GroupSnapshot>(&node.vault.shelf, &id) {
            Some(snapshot) => {
                kept.insert(id, snapshot);
                to_open.push_back(id);
            }
            None => to_open.push_front(id),
        }
    }
    let kept = Arc::new(std::sync::Mutex::new(kept));
    let (store, storage_key) = (node.vault.store.clone(), node.vault.storage_key.clone());
    let config = NetConfig {
        signing_seed: node.vault.keys.signing_seed(),
        listen: options.listen,
        mdns: options.mdns,
        relay_owner: options.relay_owner,
    };
    let (net, net_events) = sunspace_net::start(config).map_err(|e| NodeError::Net(e.to_string()))?;
    let (commands, command_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (events, _) = broadcast::channel(256);
    let identity = JoinIdentity {
        device: node.vault.device_id(),
        agreement: node.vault.agreement_public(),
        name: node.vault.owner_name().to_owned(),
    };
    let handle = NodeHandle { commands, events: events.clone(), net: net.clone(), identity, kept: kept.clone() };
    let mut engine = Engine {
        node,
        net,
        events,
        sync: SyncPolicy::default(),
        senders: HashMap::new(),
        peers: BTreeMap::new(),
        last_heads: HashMap::new(),
        allowed: BTreeSet::new(),
        connected_strangers: BTreeSet::new(),
        bootstrap: HashMap::new(),
        invites: HashMap::new(),
        ended: HashMap::new(),
        doors: 0,
        reach: Reach::default(),
        listening: Vec::new(),
        traffic: Traffic::default(),
        relay_plan: RelayPlan::default(),
        relay_pushes: RelayPushes::default(),
        relay_service: options.relay_owner.map(|owner| RelayService { owner: owner.to_hex(), clients: Vec::new() }),
        reachability: BTreeMap::new(),
        book: crate::records::load_peer_book(store.as_ref(), &storage_key),
        links: HashMap::new(),
        last_tick_wall: std::time::SystemTime::now(),
        to_open,
        kept,
        send_failures: Arc::new(std::sync::Mutex::new(BTreeSet::new())),
    };
    for device in engine.book.devices() {
        for address in engine.book.addresses(&device) {
            engine.reach.learn(device, address);
        }
    }
    // Groups without a kept view open now, before the first read needs them.
    while engine.to_open.front().is_some_and(|id| !engine.is_kept(id)) {
        engine.open_next();
    }
    engine.note_opened().await;
    tokio::spawn(engine.run(command_rx, net_events));
    Ok(handle)
}

struct Engine {
    node: Node,
    net: NetHandle,
    events: broadcast::Sender<NodeEvent>,
    /// What to send whom, and when to answer with heads: the pure policy of `sunspace-replicate`, which the
    /// simulated-network tests drive too. The engine carries out its [`SyncAction`]s.
    sync: SyncPolicy,
    senders: HashMap<DeviceId, mpsc::Sender<Vec<u8>>>,
    peers: BTreeMap<DeviceId, PeerInfo>,
    last_heads: HashMap<GroupId, BTreeMap<DeviceId, u64>>,
    allowed: BTreeSet<DeviceId>,
    /// Devices connected while not (yet) allowed: a member device that dialed this one before the group that
    /// lists it had opened (a restart opens groups behind their kept views). Once allowed, each is taken as just
    /// connected, so the heads exchange starts at once rather than at the next timed round.
    connected_strangers: BTreeSet<DeviceId>,
    /// Groups joined but not yet holding their membership: the device that welcomed us may send their history.
    bootstrap: HashMap<GroupId, DeviceId>,
    invites: HashMap<[u8; 16], OpenInvite>,
    /// Invitations that ended recently, with the reason, so the joining device hears why rather than finding the
    /// door shut.
    ended: HashMap<[u8; 16], (String, Instant)>,
    doors: usize,
    /// Where each member device can be reached, and when to try again (crate::reach).
    reach: Reach,
    listening: Vec<String>,
    traffic: Traffic,
    /// The relays the groups list, as of the last tick.
    relay_plan: RelayPlan,
    /// On a relay's owner: the lists sent to it.
    relay_pushes: RelayPushes,
    /// When this device is a relay: whom it serves.
    relay_service: Option<RelayService>,
    reachability: BTreeMap<String, bool>,
    /// Where member devices were last reached, kept across restarts (sealed in the store).
    book: PeerBook,
    /// How each connected device is reached right now (one per open connection).
    links: HashMap<DeviceId, Vec<Link>>,
    /// The wall clock at the last reconnect tick: a jump far past the tick means the machine slept.
    last_tick_wall: std::time::SystemTime,
    /// Groups still to open, behind whatever else the engine has to do.
    to_open: VecDeque<GroupId>,
    /// What the handle answers reads of unopened groups with (shared with it).
    kept: Arc<std::sync::Mutex<HashMap<GroupId, GroupSnapshot>>>,
    /// Peers a message to failed since their last heads (set by the send tasks).
    send_failures: Arc<std::sync::Mutex<BTreeSet<DeviceId>>>,
}

impl Engine {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, mut net_events: mpsc::Receiver<NetEvent>) {
        let mut anti_entropy = tokio::time::interval(ANTI_ENTROPY);
        let mut expiry = tokio::time::interval(Duration::from_secs(1));
        let mut reconnect = tokio::time::interval(RECONNECT_TICK);
        // Views are kept now and then (and when the engine stops), not after every change: ten years of a
        // group's view are megabytes.
        let mut keep_views = tokio::time::interval(KEEP_VIEWS_EVERY);
        keep_views.tick().await;
        loop {
            tokio::select! {
                // Commands and the network first; the groups still to open fill the time in between.
                biased;
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command).await,
                    None => break,
                },
                event = net_events.recv() => match event {
                    Some(event) => self.on_net_event(event).await,
                    None => break,
                },
                _ = anti_entropy.tick() => self.send_all_heads(),
                _ = expiry.tick() => self.expire_invites().await,
                _ = reconnect.tick() => self.keep_in_touch().await,
                _ = keep_views.tick() => self.node.keep_views(),
                _ = std::future::ready(()), if !self.to_open.is_empty() => {
                    self.open_next();
                    self.note_opened().await;
                }
            }
        }
        // What the window and the commands show first at the next start.
        self.node.keep_views();
        tracing::debug!("engine stopped");
    }

    fn emit(&self, event: NodeEvent) {
        let _ = self.events.send(event);
    }

    fn is_kept(&self, group: &GroupId) -> bool {
        self.kept.lock().is_ok_and(|kept| kept.contains_key(group))
    }

    /// Opens the next group still to open (one that does not open is reported in `status`, never a reason for the
    /// others not to).
    fn open_next(&mut self) {
        let Some(id) = self.to_open.pop_front() else { return };
        if self.node.groups.contains_key(&id) {
            return;
        }
        match self.node.group(id) {
            Ok(_) => {
                self.node.unopened.remove(&id);
            }
            Err(error) => {
                tracing::error!(group = %id, %error, "a group could not be opened");
                self.node.unopened.insert(id, error.to_string());
                if let Ok(mut kept) = self.kept.lock() {
                    kept.remove(&id);
                }
            }
        }
    }

    /// After groups opened (behind, or because a command needed one): reads go to them, their devices are allowed,
    /// and connected member devices hear their heads.
    async fn note_opened(&mut self) {
        let opened: Vec<GroupId> =
            self.node.groups.keys().filter(|id| !self.last_heads.contains_key(id)).copied().collect();
        if opened.is_empty() {
            return;
        }
        for id in &opened {
            if let Some(group) = self.node.groups.get(id) {
                self.last_heads.insert(*id, group.heads());
            }
            if let Ok(mut kept) = self.kept.lock() {
                kept.remove(id);
            }
            self.to_open.retain(|waiting| waiting != id);
        }
        self.update_allowed().await;
        for peer in self.connected_peers() {
            for group in &opened {
                if self.shares(&peer, group) {
                    self.send_heads(peer, *group);
                }
            }
        }
    }

    async fn on_command(&mut self, command: Command) {
        // Only reads are answered before every group has opened (from the kept views, or by opening the one
        // read): anything else may depend on every group's membership (which devices are allowed, for one).
        if !matches!(command, Command::Node(NodeCommand::Read(_), _)) && !self.to_open.is_empty() {
            while !self.to_open.is_empty() {
                self.open_next();
            }
            self.note_opened().await;
        }
        match command {
            Command::Node(command, reply) => {
                let writes = command.writes();
                let records = command.records();
                if let Some(group) = command.group().filter(|_| writes) {
                    // While a member device sharing the group is connected, the edit leaves at once: seal it into
                    // its entry directly, one flush, rather than pending first and sealed right after.
                    let shared = self.connected_peers().iter().any(|peer| self.shares(peer, &group));
                    if let Some(open) = self.node.groups.get_mut(&group) {
                        open.seal_at_once = shared;
                    }
                }
                let group = command.group();
                let outcome = self.node.execute(command);
                // A command may have opened a group that was still to open.
                self.note_opened().await;
                // Only this command's edit: the engine's own (its addresses in the roster) keep pending first.
                if let Some(open) = group.and_then(|g| self.node.groups.get_mut(&g)) {
                    open.seal_at_once = false;
                }
                if writes {
                    self.after_change(Origin::Local, None, records).await;
                }
                let _ = reply.send(outcome);
            }
            #[cfg(feature = "test-utils")]
            Command::Forge(job) => {
                job(&mut self.node);
                self.after_change(Origin::Local, None, Vec::new()).await;
            }
            Command::AddPeer(address, reply) => {
                let result = match device_of_address(&address) {
                    None => Err(NodeError::Refused("the address needs a /p2p/ part naming the device".into())),
                    Some(device) if !self.allowed.contains(&device) => {
                        Err(NodeError::Refused("that device is not a member device of any group on this device".into()))
                    }
                    Some(device) => {
                        self.reach.learn(device, address.clone());
                        self.reach.reached(device);
                        let _ = self.net.add_address(device, address.clone()).await;
                        self.net.dial(address).await.map_err(|e| NodeError::Net(e.to_string()))
                    }
                };
                let _ = reply.send(result);
            }
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::Invite(request, reply) => {
                let _ = reply.send(self.open_invite(request).await);
            }
            Command::ConfirmInvite(tag, matched) => {
                if let Some(invite) = self.invites.get_mut(&tag) {
                    invite.core.inviter_confirmed = Some(matched);
                }
                self.conclude(tag).await;
            }
            Command::Door(open) => {
                self.doors = if open { self.doors + 1 } else { self.doors.saturating_sub(1) };
                self.set_door().await;
            }
            Command::Candidates(reply) => {
                let _ = reply.send(self.reach.recently_seen(Instant::now()));
            }
            Command::Welcomed { group, keys, name, inviter, reply } => {
                let result = self.node.vault.accept_group(group, &keys, &name);
                let result = match result {
                    Ok(open) => {
                        self.node.insert_group(open);
                        self.bootstrap.insert(group, inviter);
                        self.last_heads.insert(group, BTreeMap::new());
                        self.update_allowed().await;
                        self.send_heads(inviter, group);
                        Ok(())
                    }
                    Err(error) => Err(error),
                };
                let _ = reply.send(result);
            }
        }
    }

    /// The connections to `device` changed: remember where this device dialed it and got through.
    fn on_links(&mut self, device: DeviceId, links: Vec<Link>) {
        if links.is_empty() {
            self.links.remove(&device);
            return;
        }
        self.links.insert(device, links);
        if self.remember_links(device) {
            self.save_book();
        }
    }

    /// Notes in the peer book where this device dialed `device` over its open connections, if it is a member
    /// device (a device at the door is remembered once admitted); returns whether the book changed.
    fn remember_links(&mut self, device: DeviceId) -> bool {
        if !self.allowed.contains(&device) {
            return false;
        }
        let Some(links) = self.links.get(&device) else { return false };
        let now = chrono::Utc::now().timestamp();
        let mut changed = false;
        for link in links.iter().filter(|link| link.dialed) {
            let address = match device_of_address(&link.address) {
                Some(_) => link.address.clone(),
                None => match sunspace_net::peer_of_device(&device) {
                    Some(peer) => link.address.clone().with(sunspace_net::Protocol::P2p(peer)),
                    None => continue,
                },
            };
            changed |= self.book.reached(device, &address, now);
            self.reach.learn(device, address);
        }
        changed
    }

    fn save_book(&mut self) {
        let vault = &self.node.vault;
        if let Err(error) = crate::records::store_peer_book(vault.store.as_ref(), &vault.storage_key, &self.book) {
            tracing::warn!(%error, "could not write where member devices were last reached");
        }
    }

    /// Publishes this device's addresses in the roster of each group (when they changed), learns the other
    /// member devices' addresses from it, and redials those out of reach, with backoff.
    async fn keep_in_touch(&mut self) {
        // Monotonic time stops while a laptop sleeps; the wall clock does not. A jump far past the tick means
        // it just woke, on what may be another network: try everyone at once.
        let wall = std::time::SystemTime::now();
        if wall.duration_since(self.last_tick_wall).is_ok_and(|gap| gap > RECONNECT_TICK * 5) {
            tracing::info!("woke from sleep; trying every member device again");
            self.reach.retry_all_now();
        }
        self.last_tick_wall = wall;
        let me = self.node.vault.device_id();
        let mine = publishable(&self.listening);
        let ids: Vec<GroupId> = self.node.groups.keys().copied().collect();
        let mut wrote = false;
        for id in ids {
            let Some(group) = self.node.groups.get_mut(&id) else { continue };
            if !group.members().is_active_device(&me) || group.doc().name().is_empty() {
                continue;
            }
            let mut recorded = group.doc().device_addresses(&me.to_hex());
            recorded.sort();
            if !mine.is_empty() && recorded != mine {
                let addresses = mine.clone();
                let hex = me.to_hex();
                match group.edit(|doc| doc.set_device_addresses(&hex, &addresses)) {
                    Ok(()) => wrote = true,
                    Err(error) => tracing::debug!(%error, "could not record this device's addresses"),
                }
            }
            for device in group.members().devices.keys().filter(|d| **d != me).copied().collect::<Vec<_>>() {
                for address in addresses_of(device, &group.doc().device_addresses(&device.to_hex())) {
                    self.reach.learn(device, address);
                }
            }
        }
        if wrote {
            self.after_change(Origin::Local, None, Vec::new()).await;
        }
        self.use_relays().await;
        let now = Instant::now();
        let out_of_reach: Vec<DeviceId> = self
            .allowed
            .iter()
            .filter(|d| !self.peers.get(d).is_some_and(|p| p.connected) && self.reach.knows(d))
            .copied()
            .collect();
        for device in out_of_reach {
            if !self.reach.due_for_retry(device, now) {
                continue;
            }
            for address in self.reach.addresses(&device) {
                let _ = self.net.add_address(device, address.clone()).await;
                let _ = self.net.dial(address).await;
            }
        }
    }

    /// Listens through every relay the groups list (with backoff while a relay is out of reach or refuses),
    /// stops using relays no longer listed, learns each member device's circuit addresses, and, for relays this
    /// device owns, sends each its list of member devices when that changed.
    async fn use_relays(&mut self) {
        let me = self.node.vault.device_id();
        let plan = RelayPlan::of(&self.node.groups, me);
        for gone in self.relay_plan.relays.keys().filter(|r| !plan.relays.contains_key(r)) {
            tracing::info!(relay = %gone.to_hex(), "the groups no longer list this relay");
            let _ = self.net.forget_relay(*gone).await;
        }
        let now = Instant::now();
        for (relay, addresses) in &plan.relays {
            if self.listening.iter().any(|address| is_through(address, relay)) {
                self.reach.reached(*relay);
                continue;
            }
            if self.reach.due_for_retry(*relay, now) {
                let _ = self.net.use_relay(*relay, addresses.clone()).await;
            }
        }
        for device in &self.allowed {
            let circuits = plan.circuit_addresses(device);
            for circuit in circuits {
                self.reach.learn(*device, circuit);
            }
        }
        self.relay_pushes.push(&self.net, &plan.owned);
        self.relay_plan = plan;
    }

    async fn set_door(&mut self) {
        let open = self.doors > 0 || !self.invites.is_empty() || !self.ended.is_empty();
        let _ = self.net.set_door(open).await;
    }

    /// Member devices of every group, and the devices that welcomed us into groups still bootstrapping.
    async fn update_allowed(&mut self) {
        let me = self.node.vault.device_id();
        let mut wanted: BTreeSet<DeviceId> = self
            .node
            .groups
            .values()
            .flat_map(|group| group.members().devices.keys().copied().collect::<Vec<_>>())
            .collect();
        wanted.extend(self.bootstrap.values().copied());
        wanted.remove(&me);
        for device in wanted.difference(&self.allowed) {
            let _ = self.net.allow(*device).await;
            if let Some(address) = self.reach.seen_at(device).cloned() {
                let _ = self.net.add_address(*device, address.clone()).await;
                let _ = self.net.dial(address).await;
            }
        }
        for device in self.allowed.difference(&wanted) {
            let _ = self.net.disallow(*device).await;
        }
        let admitted: Vec<DeviceId> = wanted.difference(&self.allowed).copied().collect();
        // Devices that connected before they were allowed are taken as connected now (see `connected_strangers`).
        let already_connected: Vec<DeviceId> =
            admitted.iter().filter(|device| self.connected_strangers.remove(device)).copied().collect();
        // A device removed from every group: where it was is forgotten too (once every group is open, so that
        // the devices of one still opening, or that failed to, are not forgotten with it).
        let mut changed = self.to_open.is_empty() && self.node.unopened.is_empty() && self.book.keep_only(&wanted);
        self.allowed = wanted;
        for device in admitted {
            changed |= self.remember_links(device);
        }
        for device in already_connected {
            self.member_connected(device);
        }
        if changed {
            self.save_book();
        }
    }

    /// Whether `peer` may exchange `group`'s messages: a member device, or the device that welcomed us while we
    /// do not yet hold the group's membership.
    fn shares(&self, peer: &DeviceId, group: &GroupId) -> bool {
        self.node.groups.get(group).is_some_and(|g| {
            g.members().is_active_device(peer)
                || (g.members().devices.is_empty() && self.bootstrap.get(group) == Some(peer))
        })
    }

    fn shared_groups(&self, peer: &DeviceId) -> Vec<GroupId> {
        self.node.groups.keys().filter(|group| self.shares(peer, group)).copied().collect()
    }

    /// Queues a message to a peer; a full queue drops it (the next heads exchange repairs that).
    fn send(&mut self, peer: DeviceId, message: Vec<u8>) {
        let net = self.net.clone();
        let failed = self.send_failures.clone();
        let sender = self.senders.entry(peer).or_insert_with(|| {
            let (tx, mut rx) = mpsc::channel::<Vec<u8>>(PEER_QUEUE);
            tokio::spawn(async move {
                while let Some(message) = rx.recv().await {
                    if let Err(error) = net.send(peer, message).await {
                        tracing::debug!(peer = %peer.short(), %error, "send failed");
                        // Said to the sync policy at the peer's next heads (see `on_message`).
                        if let Ok(mut failed) = failed.lock() {
                            failed.insert(peer);
                        }
                    }
                }
            });
            tx
        });
        let bytes = message.len() as u64;
        if sender.try_send(message).is_err() {
            tracing::debug!(peer = %peer.short(), "send queue full; dropped until the next heads exchange");
            self.sync.on_send_failed(&peer);
        } else {
            self.traffic.messages_sent += 1;
            self.traffic.bytes_sent += bytes;
        }
    }

    fn send_heads(&mut self, peer: DeviceId, group: GroupId) {
        self.seal_pending(&group);
        let Some(open) = self.node.groups.get(&group) else { return };
        let message = Message::Heads { group, heads: open.heads(), hashes: open.head_hashes() };
        self.sync.note_heads_sent(peer, group, Instant::now());
        self.send(peer, message.encode());
    }

    /// Carries out what the sync policy decided.
    fn carry_out(&mut self, actions: Vec<SyncAction>) {
        for action in actions {
            match action {
                SyncAction::SendRanges { peer, group, ranges } => self.send_ranges(peer, group, ranges),
                SyncAction::SendHeads { peer, group } => self.send_heads(peer, group),
            }
        }
    }

    fn connected_peers(&self) -> Vec<DeviceId> {
        self.peers.iter().filter(|(_, info)| info.connected).map(|(device, _)| *device).collect()
    }

    /// Seals the group's waiting edits into an entry: there is someone to send them to.
    fn seal_pending(&mut self, group: &GroupId) {
        if let Some(open) = self.node.groups.get_mut(group) {
            if let Err(error) = open.persist_pending() {
                tracing::warn!(%error, "could not seal this device's edits");
            }
        }
    }

    fn send_all_heads(&mut self) {
        for peer in self.connected_peers() {
            for group in self.shared_groups(&peer) {
                self.send_heads(peer, group);
            }
        }
    }

    /// Reads `ranges` from the store and queues them to `peer` in bounded batches.
    fn send_ranges(&mut self, peer: DeviceId, group: GroupId, ranges: Vec<sunspace_replicate::Range>) {
        let Some(open) = self.node.groups.get_mut(&group) else { return };
        let (checkpoint, entries) = match open.entries_for(&ranges) {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(%error, "could not read entries to send");
                return;
            }
        };
        if let Some(checkpoint) = checkpoint {
            // The peer lacks entries this device keeps only in its checkpoint: the checkpoint goes first.
            self.send(peer, Message::Checkpoint { group, checkpoint }.encode());
        }
        if entries.is_empty() {
            return;
        }
        let count = entries.len();
        for batch in batches(entries) {
            self.send(peer, Message::Entries { group, entries: batch }.encode());
        }
        self.emit(NodeEvent::Sent { group: group.to_hex(), peer: peer.to_hex(), entries: count });
        self.mark_synced(peer);
    }

    fn mark_synced(&mut self, peer: DeviceId) {
        let info = self.peers.entry(peer).or_insert(PeerInfo { connected: true, last_synced: None });
        info.last_synced = Some(chrono::Utc::now());
    }

    /// After anything that may have changed groups: push what grew to established sessions, and follow
    /// membership changes in the allow-list.
    async fn after_change(&mut self, origin: Origin, from: Option<DeviceId>, records: Vec<sunspace_model::RecordKind>) {
        // Edits in a group some connected peer shares are sealed into an entry at once, to be pushed below.
        let connected = self.connected_peers();
        let shared: Vec<GroupId> =
            self.node.groups.keys().filter(|g| connected.iter().any(|p| self.shares(p, g))).copied().collect();
        for group in shared {
            self.seal_pending(&group);
        }
        let mut grown = Vec::new();
        for (id, group) in &self.node.groups {
            let heads = group.heads();
            if self.last_heads.get(id) != Some(&heads) {
                grown.push((*id, heads.clone()));
                self.last_heads.insert(*id, heads);
            }
        }
        if grown.is_empty() {
            return;
        }
        self.update_allowed().await;
        for (group, heads) in grown {
            let document = self.node.groups.get_mut(&group).map(|g| g.document_heads()).unwrap_or_default();
            self.emit(NodeEvent::Changed { group: group.to_hex(), origin, records: records.clone(), heads: document });
            let actions = self.sync.on_local_heads(Instant::now(), group, &heads, from);
            self.carry_out(actions);
        }
    }

    async fn on_net_event(&mut self, event: NetEvent) {
        match event {
            NetEvent::Listening(address) => {
                if !address.iter().any(|p| p == sunspace_net::Protocol::P2pCircuit) && !self.listening.is_empty() {
                    // A new address on this machine (a network came up, or changed): try every device again now
                    // rather than when its wait runs out.
                    self.reach.retry_all_now();
                }
                self.listening.push(address.to_string());
                self.emit(NodeEvent::Listening { address: address.to_string() });
            }
            NetEvent::Links { device, links } => self.on_links(device, links),
            NetEvent::Unlistened(address) => {
                let text = address.to_string();
                self.listening.retain(|known| *known != text);
                self.reachability.remove(&text);
            }
            NetEvent::HolePunched(device) => {
                tracing::info!(device = %device.to_hex(), "connected directly (hole punching)");
            }
            NetEvent::Reachability { address, reachable } => {
                self.reachability.insert(address.to_string(), reachable);
            }
            NetEvent::RelayClients(devices) => {
                if let Some(service) = &mut self.relay_service {
                    service.clients = devices.iter().map(DeviceId::to_hex).collect();
                    let _ = self.events.send(NodeEvent::RelayClients { devices: devices.len() });
                }
            }
            NetEvent::Connected(device) => {
                if self.relay_plan.owned.contains_key(&device) {
                    // The relay may have restarted and forgotten its list: send it again.
                    self.relay_pushes.reconnected(&device);
                }
                if !self.allowed.contains(&device) {
                    // A stranger through the open door (only the join protocol), or a member device whose group
                    // has not opened yet: `update_allowed` takes it up then.
                    self.connected_strangers.insert(device);
                    return;
                }
                self.member_connected(device);
            }
            NetEvent::Disconnected(device) => {
                self.connected_strangers.remove(&device);
                if let Some(info) = self.peers.get_mut(&device) {
                    info.connected = false;
                }
                self.sync.forget_peer(&device);
                self.emit(NodeEvent::PeerDisconnected { device: device.to_hex() });
            }
            NetEvent::Received { from, message } => self.on_message(from, &message).await,
            NetEvent::Discovered { device, address } => {
                let full = sunspace_net::peer_of_device(&device).map(|peer| match device_of_address(&address) {
                    Some(_) => address.clone(),
                    None => address.clone().with(sunspace_net::Protocol::P2p(peer)),
                });
                self.reach.discovered(device, address.clone(), full, Instant::now());
                if self.allowed.contains(&device) && !self.peers.get(&device).is_some_and(|p| p.connected) {
                    let _ = self.net.add_address(device, address.clone()).await;
                    let _ = self.net.dial(address).await;
                }
            }
            NetEvent::Refused(peer) => self.emit(NodeEvent::StrangerRefused { peer: peer.to_string() }),
            NetEvent::JoinRequest { from, request, ticket } => self.on_join_request(from, &request, ticket).await,
        }
    }

    /// A member device is connected: it is in reach, and the heads exchange of every group it shares starts.
    fn member_connected(&mut self, device: DeviceId) {
        self.peers.entry(device).or_insert(PeerInfo { connected: true, last_synced: None }).connected = true;
        self.reach.reached(device);
        self.emit(NodeEvent::PeerConnected { device: device.to_hex() });
        for group in self.shared_groups(&device) {
            self.send_heads(device, group);
        }
    }

    async fn on_message(&mut self, from: DeviceId, bytes: &[u8]) {
        self.traffic.messages_received += 1;
        self.traffic.bytes_received += bytes.len() as u64;
        let message = match Message::decode(bytes) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(peer = %from.short(), %error, "malformed sync message; dropped");
                return;
            }
        };
        let group = message.group();
        if !self.shares(&from, &group) {
            tracing::warn!(peer = %from.short(), "sync message about a group the peer does not share; dropped");
            return;
        }
        match message {
            Message::Heads { heads, hashes, .. } => {
                // A message to this peer was lost since its last heads: what was on its way goes again.
                if self.send_failures.lock().is_ok_and(|mut failed| failed.remove(&from)) {
                    self.sync.on_send_failed(&from);
                }
                self.seal_pending(&group);
                let Some(open) = self.node.groups.get(&group) else { return };
                let proven: BTreeSet<DeviceId> = open.equivocations().map(|(device, _)| *device).collect();
                let actions = self.sync.on_heads(
                    Instant::now(),
                    from,
                    group,
                    &heads,
                    &hashes,
                    &open.heads(),
                    &open.head_hashes(),
                    &proven,
                );
                self.carry_out(actions);
            }
            Message::Checkpoint { checkpoint, .. } => {
                let Some(open) = self.node.groups.get_mut(&group) else { return };
                let receipt = match open.receive_checkpoint(&checkpoint) {
                    Ok(receipt) => receipt,
                    Err(error) => {
                        tracing::error!(%error, "could not take a checkpoint");
                        return;
                    }
                };
                if let Some(reason) = &receipt.refused {
                    tracing::warn!(peer = %from.short(), %reason, "refused a checkpoint from a peer");
                }
                let waiting = open.waiting_len();
                let then = self.sync.on_received(Instant::now(), from, group, &receipt.accepted, waiting);
                if receipt.membership_changed && !open.members().devices.is_empty() {
                    self.bootstrap.remove(&group);
                }
                self.emit(NodeEvent::Received {
                    group: group.to_hex(),
                    peer: from.to_hex(),
                    accepted: receipt.accepted.len(),
                    rejected: usize::from(receipt.refused.is_some()),
                    waiting,
                });
                if !receipt.accepted.is_empty() {
                    self.mark_synced(from);
                    self.after_change(Origin::Remote, Some(from), Vec::new()).await;
                }
                self.carry_out(then);
            }
            Message::Entries { entries, .. } => {
                let Some(open) = self.node.groups.get_mut(&group) else { return };
                let receipt = match open.receive(entries) {
                    Ok(receipt) => receipt,
                    Err(error) => {
                        tracing::error!(%error, "could not store received entries");
                        return;
                    }
                };
                if !receipt.rejected.is_empty() {
                    tracing::warn!(peer = %from.short(), rejected = receipt.rejected.len(), first = %receipt.rejected[0], "refused entries from a peer");
                }
                let then = self.sync.on_received(Instant::now(), from, group, &receipt.accepted, receipt.waiting);
                if receipt.membership_changed && !open.members().devices.is_empty() {
                    self.bootstrap.remove(&group);
                }
                self.emit(NodeEvent::Received {
                    group: group.to_hex(),
                    peer: from.to_hex(),
                    accepted: receipt.accepted.len(),
                    rejected: receipt.rejected.len(),
                    waiting: receipt.waiting,
                });
                if !receipt.accepted.is_empty() {
                    self.mark_synced(from);
                    self.after_change(Origin::Remote, Some(from), Vec::new()).await;
                }
                self.carry_out(then);
            }
        }
    }

    fn status(&self) -> Status {
        let me = self.node.vault.device_id();
        let groups = self
            .node
            .groups
            .values()
            .map(|group| {
                let heads = group.heads();
                // Status is asked often: names are read directly, not by materializing the whole view.
                let doc = group.doc();
                let carried = group.last_carried();
                let peers = group
                    .members()
                    .devices
                    .iter()
                    .filter(|(device, _)| **device != me)
                    .map(|(device, state)| {
                        let info = self.peers.get(device);
                        let session = self.sync.session(device, &group.id());
                        PeerStatus {
                            device: device.to_hex(),
                            member: state.member.clone(),
                            name: doc.member_name(&state.member).unwrap_or_default(),
                            connected: info.is_some_and(|i| i.connected),
                            last_synced: info.and_then(|i| i.last_synced).map(|t| t.to_rfc3339()),
                            to_send: session.and_then(|s| s.pending_for_peer(&heads)),
                            to_receive: session.and_then(|s| s.pending_from_peer(&heads)),
                            path: self.links.get(device).and_then(|links| Path::best(links)),
                            last_reached: self
                                .book
                                .last(device)
                                .and_then(|s| chrono::DateTime::from_timestamp(s.at, 0))
                                .map(|t| t.to_rfc3339()),
                            last_carried: carried
                                .get(device)
                                .and_then(|at| chrono::DateTime::from_timestamp(*at, 0))
                                .map(|t| t.to_rfc3339()),
                        }
                    })
                    .collect();
                GroupStatus {
                    id: group.id().to_hex(),
                    name: doc.name(),
                    entries: heads.values().sum(),
                    waiting: group.waiting_len(),
                    peers,
                    integrity: group.integrity(),
                }
            })
            .collect();
        let relays = self
            .relay_plan
            .relays
            .keys()
            .map(|relay| RelayLink {
                device: relay.to_hex(),
                listening_through: self.listening.iter().any(|address| is_through(address, relay)),
                owned: self.relay_plan.owned.contains_key(relay),
            })
            .collect();
        Status {
            device: me.to_hex(),
            listening: self.listening.clone(),
            reachability: self.reachability.clone(),
            traffic: self.traffic,
            groups,
            relays,
            relay_service: self.relay_service.clone(),
            unopened: self
                .node
                .unopened
                .iter()
                .map(|(id, reason)| UnopenedGroup { id: id.to_hex(), reason: reason.clone() })
                .collect(),
        }
    }

    async fn open_invite(&mut self, request: InviteRequest) -> Result<Invite, NodeError> {
        let me = self.node.vault.device_id();
        let group = self.node.group(request.group)?;
        let my_member = group.members().devices.get(&me).map(|d| d.member.clone()).ok_or(NodeError::NotAMember)?;
        if request.kind == InviteKind::Member
            && !group.members().has_role(&my_member, sunspace_membership::Role::Steward)
        {
            return Err(NodeError::Refused("only a steward can invite new members".into()));
        }
        let addresses: Vec<String> = self.listening.iter().filter(|a| !a.contains("/ip6/")).cloned().collect();
        let invitation = Invitation::random(addresses);
        let (events_tx, events) = mpsc::channel(8);
        let tag = invitation.tag();
        let invite = Invite { code: invitation.code(), qr_text: invitation.qr_text(), tag, events };
        self.invites.insert(
            tag,
            OpenInvite {
                core: Inviting::new(invitation),
                expires: Instant::now() + request.ttl,
                request,
                events: events_tx,
            },
        );
        self.set_door().await;
        Ok(invite)
    }

    async fn expire_invites(&mut self) {
        let now = Instant::now();
        let expired: Vec<[u8; 16]> =
            self.invites.iter().filter(|(_, invite)| invite.expires <= now).map(|(tag, _)| *tag).collect();
        for tag in &expired {
            self.fail_invite(*tag, "the invitation expired before anyone joined; nothing was added").await;
        }
        let before = self.ended.len();
        self.ended.retain(|_, (_, at)| at.elapsed() < ENDED_KEPT);
        if self.ended.len() != before {
            self.set_door().await;
        }
    }

    async fn fail_invite(&mut self, tag: [u8; 16], reason: &str) {
        if let Some(invite) = self.invites.remove(&tag) {
            if !matches!(invite.core.stage, Stage::Open) {
                let told = format!("the other device ended the invitation ({reason})");
                self.ended.insert(tag, (told, Instant::now()));
            }
            if let Some(ticket) = invite.core.joiner_confirmed {
                self.answer(ticket, JoinAnswer::Refused { reason: reason.to_owned() }).await;
            }
            let _ = invite.events.send(InviteEvent::Failed { reason: reason.to_owned() }).await;
        }
        self.set_door().await;
    }

    async fn answer(&self, ticket: u64, answer: JoinAnswer) {
        let _ = self.net.answer_join(ticket, answer.encode()).await;
    }

    async fn on_join_request(&mut self, from: DeviceId, bytes: &[u8], ticket: u64) {
        let refuse = |reason: &str| JoinAnswer::Refused { reason: reason.to_owned() };
        let Ok(request) = JoinRequest::decode(bytes) else {
            self.answer(ticket, refuse("the request was malformed")).await;
            return;
        };
        let tag = request.tag();
        let me = self.node.vault.device_id();
        let owner = self.node.vault.owner_name().to_owned();
        if let Some((reason, _)) = self.ended.get(&tag) {
            self.answer(ticket, refuse(reason)).await;
            return;
        }
        let Some(group) = self.invites.get(&tag).map(|invite| invite.request.group) else {
            self.answer(ticket, refuse(NOT_OPEN)).await;
            return;
        };
        let group_name = self.node.groups.get(&group).map(|g| g.doc().name()).unwrap_or_default();
        let Some(invite) = self.invites.get_mut(&tag) else { return };
        if invite.expires <= Instant::now() {
            self.fail_invite(tag, "the invitation expired before anyone joined; nothing was added").await;
            self.answer(ticket, refuse("this invitation has expired; ask for a new one")).await;
            return;
        }
        let kind = invite.request.kind;
        let step = invite.core.on_request(me, from, request, ticket, random_array(), &group_name, &owner, kind);
        match step {
            Step::Answer(answer) => self.answer(ticket, answer).await,
            Step::Words { words, name, device, answer } => {
                let _ = invite.events.send(InviteEvent::Words { words, name, device: device.to_hex() }).await;
                self.answer(ticket, answer).await;
            }
            Step::Fail { told, reason } => {
                self.answer(ticket, refuse(&told)).await;
                self.fail_invite(tag, &reason).await;
            }
            Step::JoinerConfirmed => self.conclude(tag).await,
        }
    }

    /// Admits the joiner once both people confirmed the words.
    async fn conclude(&mut self, tag: [u8; 16]) {
        let Some(invite) = self.invites.get(&tag) else { return };
        let (joiner, agreement, name, ticket) = match invite.core.decision() {
            Decision::Wait => return,
            Decision::Refuse(reason) => {
                self.fail_invite(tag, &reason).await;
                return;
            }
            Decision::Admit { joiner, agreement, name, ticket } => (joiner, agreement, name, ticket),
        };
        let Some(invite) = self.invites.remove(&tag) else { return };
        let admission = Admission {
            device: joiner,
            agreement,
            name,
            own_device: invite.request.kind == InviteKind::Device,
            existing_member: invite.request.existing_member.clone(),
            via_qr: invite.core.via_qr,
        };
        let group = invite.request.group;
        let addresses = addresses_of(joiner, &invite.core.joiner_addresses);
        let result = self.node.group(group).and_then(|open| {
            let admitted = open.admit(&admission)?;
            // Where the newcomer listens is in the records from the moment of admission: should this device
            // restart before the newcomer says more, it (and every member it syncs with) can still reach it.
            if !addresses.is_empty() {
                let (hex, text): (String, Vec<String>) =
                    (joiner.to_hex(), addresses.iter().map(ToString::to_string).collect());
                if let Err(error) = open.edit(|doc| doc.set_device_addresses(&hex, &text)) {
                    tracing::debug!(%error, "could not record the newcomer's addresses");
                }
            }
            Ok(admitted)
        });
        for address in addresses {
            self.reach.learn(joiner, address);
        }
        match result {
            Ok((member, keys)) => {
                // Allow the new device before it hears it is welcome: its first heads message follows at once.
                self.after_change(Origin::Local, None, Vec::new()).await;
                self.answer(ticket, JoinAnswer::Welcome { group: group.to_hex(), member: member.clone(), keys }).await;
                let _ = invite.events.send(InviteEvent::Admitted { member }).await;
            }
            Err(error) => {
                let reason = format!("the device could not be admitted: {error}; nothing was added");
                // Keep the door open a moment so the refusal reaches the joining device before it is disconnected.
                self.ended.insert(tag, (reason.clone(), Instant::now()));
                self.answer(ticket, JoinAnswer::Refused { reason: reason.clone() }).await;
                let _ = invite.events.send(InviteEvent::Failed { reason }).await;
            }
        }
        self.set_door().await;
    }
}

/// The addresses among `texts` that are `device`'s (they end in its `/p2p/` part): what a device says about where
/// it or another device listens is used only for that device.
fn addresses_of(device: DeviceId, texts: &[String]) -> Vec<Multiaddr> {
    texts
        .iter()
        .filter_map(|text| text.parse::<Multiaddr>().ok())
        .filter(|address| device_of_address(address) == Some(device))
        .collect()
}

#[cfg(test)]
mod invitation_lifetime_tests {
    use super::*;

    #[test]
    fn an_invitation_lasts_ten_minutes_unless_asked_and_between_one_and_sixty() {
        assert_eq!(invitation_lifetime(None), Duration::from_secs(600));
        assert_eq!(invitation_lifetime(Some(0)), Duration::from_secs(60));
        assert_eq!(invitation_lifetime(Some(25)), Duration::from_secs(25 * 60));
        assert_eq!(invitation_lifetime(Some(600)), Duration::from_secs(60 * 60));
    }
}
