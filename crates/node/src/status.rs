//! What `status` shows: per group and per peer, the sync state, the integrity notes and the relays. Plain types,
//! filled by the engine ([`crate::engine`]) and by [`crate::OpenGroup::integrity`]; every front end words them.

use std::collections::BTreeMap;

use serde::Serialize;

/// The sync state of one peer in one group, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PeerStatus {
    /// The peer device (hex).
    pub device: String,
    /// Its member's record id in the group.
    pub member: String,
    /// The member's name.
    pub name: String,
    /// Connected now.
    pub connected: bool,
    /// When entries were last exchanged with it (RFC 3339), if ever since the engine started.
    pub last_synced: Option<String>,
    /// Entries we hold that it is not known to hold (unknown until it has told us its heads).
    pub to_send: Option<u64>,
    /// Entries it holds that we do not yet (unknown until it has told us its heads).
    #[serde(default)]
    pub to_receive: Option<u64>,
    /// How it is reached now, if connected: on this network, directly, or through a relay.
    #[serde(default)]
    pub path: Option<crate::reach::Path>,
    /// When this device last dialed it and got through (RFC 3339), remembered across restarts.
    #[serde(default)]
    pub last_reached: Option<String>,
    /// When records it wrote last came here in a file (RFC 3339).
    #[serde(default)]
    pub last_carried: Option<String>,
}

/// One group's sync state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GroupStatus {
    /// The group id (hex).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Entries held, across every device's log.
    pub entries: u64,
    /// Received entries waiting for earlier ones.
    pub waiting: usize,
    /// The other member devices.
    pub peers: Vec<PeerStatus>,
    /// What a steward should know about the group's integrity: devices that signed two histories, entries
    /// refused, stored entries left out at opening, membership operations waiting or refused.
    #[serde(default)]
    pub integrity: Vec<IntegrityNote>,
}

/// What kind of integrity problem a note is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntegrityKind {
    /// A device signed two different histories (proof held and shared with the group).
    Equivocation,
    /// Entries from a member device were refused (never stored).
    Refused,
    /// Stored entries were left out when the group was opened.
    Damaged,
    /// Membership operations wait for operations never received.
    MembershipPending,
    /// Membership operations the rules refused.
    MembershipRefused,
}

/// One integrity problem, in a sentence a steward can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IntegrityNote {
    /// What kind.
    pub kind: IntegrityKind,
    /// The device it is about (hex), if one.
    pub device: Option<String>,
    /// The sentence.
    pub sentence: String,
}

/// A group that could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UnopenedGroup {
    /// The group id (hex).
    pub id: String,
    /// Why, in words.
    pub reason: String,
}

/// Sync messages this engine has sent and received since it started (message bytes, without the transport's
/// framing and encryption).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Traffic {
    /// Messages queued to peers.
    pub messages_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Messages received from member devices.
    pub messages_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
}

/// A relay the groups list, as this device uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RelayLink {
    /// The relay's device id (hex).
    pub device: String,
    /// Whether this device holds a reservation there (others can reach it through the relay).
    pub listening_through: bool,
    /// Whether this device runs it (and keeps its list of allowed devices).
    pub owned: bool,
}

/// When this device is a relay: whom it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RelayService {
    /// The owner device (hex), the only one it takes lists from.
    pub owner: String,
    /// The devices it may serve, as the owner last listed them (hex); the owner is always served.
    pub clients: Vec<String>,
}

/// What `status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Status {
    /// This device (hex).
    pub device: String,
    /// Where it listens (addresses through a relay contain `/p2p-circuit`).
    pub listening: Vec<String>,
    /// Which of this device's addresses a relay found reachable from outside (`true`) or not.
    #[serde(default)]
    pub reachability: BTreeMap<String, bool>,
    /// Sync traffic since start.
    pub traffic: Traffic,
    /// Its groups.
    pub groups: Vec<GroupStatus>,
    /// The relays its groups list.
    #[serde(default)]
    pub relays: Vec<RelayLink>,
    /// When this device runs as a relay.
    #[serde(default)]
    pub relay_service: Option<RelayService>,
    /// Groups that could not be opened (the others work as usual).
    #[serde(default)]
    pub unopened: Vec<UnopenedGroup>,
}

/// A compartment this device's member is in, for "who can read this" and its safety number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CompartmentView {
    /// Its id (hex).
    pub id: String,
    /// What the group calls it.
    pub name: String,
    /// Its members' record ids.
    pub members: Vec<String>,
    /// Their names, in the same order.
    pub member_names: Vec<String>,
    /// Whether it is this device's member's own "only me" (where their one-on-one notes go).
    pub only_me: bool,
    /// Whether this device holds its keys and reads its records.
    pub readable_here: bool,
    /// Its safety number: the same on every member's device exactly when they agree who is in it.
    pub safety_number: String,
}
