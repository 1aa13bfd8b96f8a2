//! The group document materialized into plain values, for display, export and vitality.
//!
//! Every record carries `conflicts`: the single-value fields that were edited concurrently, with every value that
//! is still standing and the device that wrote it. The field itself shows automerge's deterministic pick, so that
//! all members see the same thing, and the conflict stays visible until someone settles it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{DecisionMethod, RecordId};

/// A single-value field with more than one concurrent value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conflict {
    /// The field's name, as used by `resolve`.
    pub field: String,
    /// Every standing value, in a deterministic order.
    pub values: Vec<ConflictValue>,
}

/// One of a conflict's values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictValue {
    /// The value as stored ("" for a cleared field).
    pub value: String,
    /// Hex id of the device that wrote it (its automerge actor id).
    pub author: String,
}

/// Someone who attended: a member, or a guest known only by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Attendee {
    /// A member's id.
    Member(RecordId),
    /// A guest's name as written.
    Guest(String),
}

impl Attendee {
    /// The stored form: `member:<id>` or `guest:<name>`.
    pub(crate) fn encode(&self) -> String {
        match self {
            Attendee::Member(id) => format!("member:{id}"),
            Attendee::Guest(name) => format!("guest:{name}"),
        }
    }

    pub(crate) fn decode(text: &str) -> Option<Self> {
        if let Some(id) = text.strip_prefix("member:") {
            Some(Attendee::Member(id.to_owned()))
        } else {
            text.strip_prefix("guest:").map(|name| Attendee::Guest(name.to_owned()))
        }
    }

    /// A key under which the same person is counted once: member id, or the guest's name ignoring case and spaces.
    pub fn identity(&self) -> String {
        match self {
            Attendee::Member(id) => format!("member:{id}"),
            Attendee::Guest(name) => {
                format!("guest:{}", name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase())
            }
        }
    }
}

/// A member's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// Taking part.
    Active,
    /// Still a member, not currently taking part.
    Inactive,
    /// Has left the group.
    Left,
}

impl MemberStatus {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            "left" => Some(Self::Left),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Left => "left",
        }
    }
}

/// Where an action item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ActionStatus {
    /// Not done yet.
    Open,
    /// Done.
    Done,
}

/// The whole group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupView {
    /// The group's id (hex).
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created: Option<NaiveDate>,
    /// The charter.
    pub charter: CharterView,
    /// Members, by name.
    pub members: Vec<MemberView>,
    /// Devices that hold the group.
    pub devices: Vec<DeviceView>,
    /// Role grants, by start date.
    pub roles: Vec<RoleGrantView>,
    /// Meetings, by date.
    pub meetings: Vec<MeetingView>,
    /// Decisions, by date.
    pub decisions: Vec<DecisionView>,
    /// Action items, by due date.
    pub actions: Vec<ActionView>,
    /// Conflicts on the group's own fields (its name).
    pub conflicts: Vec<Conflict>,
    /// Records that could not be read (written by a newer or broken client); kept in the document, listed here.
    pub unreadable: Vec<String>,
    /// The document heads this view shows (hex change hashes), when it was taken for editing
    /// ([`crate::GroupDoc::view_now`]); empty otherwise.
    pub heads: Vec<String>,
}

impl GroupView {
    /// A member by id.
    pub fn member(&self, id: &str) -> Option<&MemberView> {
        self.members.iter().find(|member| member.id == id)
    }

    /// A member's display name, or a placeholder naming the missing id.
    pub fn member_name(&self, id: &str) -> String {
        self.member(id).map_or_else(|| format!("(unknown member {})", short(id)), |member| member.name.clone())
    }

    /// How to show an attendee.
    pub fn attendee_name(&self, attendee: &Attendee) -> String {
        match attendee {
            Attendee::Member(id) => self.member_name(id),
            Attendee::Guest(name) => format!("{name} (guest)"),
        }
    }

    /// A meeting by id.
    pub fn meeting(&self, id: &str) -> Option<&MeetingView> {
        self.meetings.iter().find(|meeting| meeting.id == id)
    }

    /// The member a device belongs to, by the device's hex id.
    pub fn device_member_name(&self, device: &str) -> Option<String> {
        let device = self.devices.iter().find(|d| d.id == device)?;
        Some(self.member_name(&device.member))
    }

    /// Roles that are current on `date`.
    pub fn current_roles(&self, date: NaiveDate) -> impl Iterator<Item = &RoleGrantView> {
        self.roles.iter().filter(move |grant| grant.from <= date && grant.until.is_none_or(|until| until >= date))
    }
}

/// The first 8 characters of an id, as shown to people.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The charter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CharterView {
    /// Why the group exists.
    pub purpose: String,
    /// How decisions are made.
    pub decision_rules: String,
    /// How often the group meets, as written ("monthly").
    pub cadence: Option<String>,
    /// The promise about what is said in the group.
    pub confidentiality: String,
    /// Conflicts on the cadence.
    pub conflicts: Vec<Conflict>,
}

/// A member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MemberView {
    /// Record id.
    pub id: RecordId,
    /// Display name.
    pub name: String,
    /// Standing.
    pub status: MemberStatus,
    /// When they joined.
    pub joined: Option<NaiveDate>,
    /// Whether they use the app ("app") or are recorded by others ("local").
    pub kind: String,
    /// Who brought them in.
    pub sponsor: Option<RecordId>,
    /// Conflicting fields.
    pub conflicts: Vec<Conflict>,
}

/// A device that holds the group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeviceView {
    /// The device's public signing key (hex).
    pub id: String,
    /// The member it belongs to.
    pub member: RecordId,
    /// Its public X25519 key (hex).
    pub agreement_key: String,
    /// How it was verified ("founder" for the device that created the group).
    pub method: String,
    /// When it was added.
    pub added: Option<NaiveDate>,
    /// When it was revoked (or its member removed), if it was: it reads nothing written since.
    #[serde(default)]
    pub revoked: Option<NaiveDate>,
    /// Where it was last reachable, as it recorded itself (libp2p addresses).
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// A member-run relay the group's devices listen through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RelayView {
    /// The relay's device id (hex).
    pub device: String,
    /// The member device that runs it and tells it which devices it may serve (hex).
    pub owner: String,
    /// Where it is reachable (libp2p addresses).
    pub addresses: Vec<String>,
}

/// A role held by a member for a term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoleGrantView {
    /// Record id.
    pub id: RecordId,
    /// Who holds it.
    pub member: RecordId,
    /// Which role ("steward", "facilitator", "note-taker", …).
    pub role: String,
    /// Start of the term.
    pub from: NaiveDate,
    /// End of the term, if set.
    pub until: Option<NaiveDate>,
    /// Conflicting fields.
    pub conflicts: Vec<Conflict>,
}

/// A meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MeetingView {
    /// Record id.
    pub id: RecordId,
    /// Date.
    pub date: NaiveDate,
    /// Title.
    pub title: String,
    /// Type.
    pub kind: String,
    /// Place.
    pub place: Option<String>,
    /// Facilitator's member id.
    pub facilitator: Option<RecordId>,
    /// Note-taker's member id.
    pub note_taker: Option<RecordId>,
    /// The minutes.
    pub minutes: String,
    /// Agenda items, in order.
    pub agenda: Vec<AgendaItemView>,
    /// Who attended, each person once.
    pub attendance: Vec<AttendanceView>,
    /// Conflicting fields.
    pub conflicts: Vec<Conflict>,
}

/// An agenda item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgendaItemView {
    /// Record id.
    pub id: RecordId,
    /// Title.
    pub title: String,
    /// Who brings it.
    pub owner: Option<RecordId>,
    /// Whether it was covered.
    pub done: bool,
    /// Conflicting fields.
    pub conflicts: Vec<Conflict>,
}

/// One person's attendance at a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AttendanceView {
    /// Who.
    pub who: Attendee,
    /// Whether anyone recorded them as a new face at this meeting.
    pub new_face: bool,
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DecisionView {
    /// Record id.
    pub id: RecordId,
    /// The meeting where it was made.
    pub meeting: Option<RecordId>,
    /// What was decided, in a line.
    pub title: String,
    /// How.
    pub method: DecisionMethod,
    /// The outcome.
    pub outcome: String,
    /// When.
    pub date: NaiveDate,
    /// When to look at it again.
    pub review_by: Option<NaiveDate>,
    /// Conflicting fields.
    pub conflicts: Vec<Conflict>,
}

/// An action item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ActionView {
    /// Record id.
    pub id: RecordId,
    /// What is to be done.
    pub title: String,
    /// Member ids of the owners.
    pub owners: Vec<RecordId>,
    /// Due date.
    pub due: Option<NaiveDate>,
    /// Open or done.
    pub status: ActionStatus,
    /// When it was done.
    pub done_on: Option<NaiveDate>,
    /// The decision it follows from.
    pub decision: Option<RecordId>,
    /// The meeting where it was agreed.
    pub meeting: Option<RecordId>,
    /// Conflicting fields.
    pub conflicts: Vec<Conflict>,
}

impl ActionView {
    /// Open and past its due date on `today`.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status == ActionStatus::Open && self.due.is_some_and(|due| due < today)
    }
}
