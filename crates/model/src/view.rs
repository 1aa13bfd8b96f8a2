//! The group document materialized into plain values, for display, export and vitality.
//!
//! Every record carries `conflicts`: the single-value fields that were edited concurrently, with every value that
//! is still standing and the device that wrote it. The field itself shows automerge's deterministic pick, so that
//! all members see the same thing, and the conflict stays visible until someone settles it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{DecisionMethod, PatternState, RecordId, Stance, Warmth};

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
    /// The base: people the group talks to who are not (yet) members, by name.
    #[serde(default)]
    pub people: Vec<PersonView>,
    /// One-on-one conversations' notes this device can read, by date.
    #[serde(default)]
    pub one_on_ones: Vec<OneOnOneView>,
    /// Markers of one-on-ones held, without their content, by date.
    #[serde(default)]
    pub conversations: Vec<ConversationView>,
    /// Stories shared from one-on-ones, by date shared.
    #[serde(default)]
    pub stories: Vec<StoryView>,
    /// Patterns the group named, by date named.
    #[serde(default)]
    pub patterns: Vec<PatternView>,
    /// Where records taken in by [`GroupView::absorb`] live: record id → hex id of the compartment whose document
    /// holds it. A record not listed is in the group's document, readable by the whole group.
    #[serde(default)]
    pub placement: BTreeMap<RecordId, String>,
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

    /// A person in the base by id.
    pub fn person(&self, id: &str) -> Option<&PersonView> {
        self.people.iter().find(|person| person.id == id)
    }

    /// A person's name, or a placeholder naming the missing id.
    pub fn person_name(&self, id: &str) -> String {
        self.person(id).map_or_else(|| format!("(unknown person {})", short(id)), |person| person.name.clone())
    }

    /// A story by id.
    pub fn story(&self, id: &str) -> Option<&StoryView> {
        self.stories.iter().find(|story| story.id == id)
    }

    /// The compartment whose document holds a record (its hex id), or `None` when the group's document does.
    pub fn compartment_of(&self, id: &str) -> Option<&str> {
        self.placement.get(id).map(String::as_str)
    }

    /// Takes in the records of a compartment's document (`other`, the view of compartment `compartment_id`), so
    /// that one view shows everything this device can read, each record's [`GroupView::placement`] saying where
    /// it lives. Pure: neither document changes.
    ///
    /// Taken in: meetings, decisions, action items, the base, one-on-ones, conversation markers, stories and
    /// patterns, each with its own conflicts, and what could not be read (prefixed with the compartment's id).
    /// Kept from the group only: its name, charter, members, devices and roles. Who belongs to the group is the
    /// group's to say; a compartment's document has no say in it, whatever it holds.
    ///
    /// A record that is already in this view (a move caught half-way, or a record a member outside the
    /// compartment wrote into the group's document under an id they saw) is shown once, from the compartment,
    /// where it is edited, and the doubling is said in `unreadable`: edits must not go where more members read
    /// them. Records that `other` had itself taken in keep their own placement.
    pub fn absorb(&mut self, compartment_id: &str, other: GroupView) {
        // A record the compartment holds is shown from the compartment, even if a record with its id is in the
        // group's document (or an earlier compartment's): a member outside the compartment may write a record
        // under an id they saw, and what members read and edit must stay the compartment's.
        let mut theirs: BTreeSet<RecordId> = BTreeSet::new();
        theirs.extend(other.meetings.iter().map(|r| r.id.clone()));
        theirs.extend(other.decisions.iter().map(|r| r.id.clone()));
        theirs.extend(other.actions.iter().map(|r| r.id.clone()));
        theirs.extend(other.people.iter().map(|r| r.id.clone()));
        theirs.extend(other.one_on_ones.iter().map(|r| r.id.clone()));
        theirs.extend(other.conversations.iter().map(|r| r.id.clone()));
        theirs.extend(other.stories.iter().map(|r| r.id.clone()));
        theirs.extend(other.patterns.iter().map(|r| r.id.clone()));
        let shadowed = |id: &RecordId| theirs.contains(id);
        let mut doubled: Vec<RecordId> = Vec::new();
        doubled.extend(self.meetings.iter().map(|r| &r.id).filter(|id| theirs.contains(*id)).cloned());
        doubled.extend(self.decisions.iter().map(|r| &r.id).filter(|id| theirs.contains(*id)).cloned());
        doubled.extend(self.actions.iter().map(|r| &r.id).filter(|id| theirs.contains(*id)).cloned());
        doubled.extend(self.people.iter().map(|r| &r.id).filter(|id| theirs.contains(*id)).cloned());
        doubled.extend(self.one_on_ones.iter().map(|r| &r.id).filter(|id| theirs.contains(*id)).cloned());
        doubled.extend(self.conversations.iter().map(|r| &r.id).filter(|id| theirs.contains(*id)).cloned());
        doubled.extend(self.stories.iter().map(|r| &r.id).filter(|id| theirs.contains(*id)).cloned());
        doubled.extend(self.patterns.iter().map(|r| &r.id).filter(|id| theirs.contains(*id)).cloned());
        for id in doubled {
            self.unreadable.push(format!(
                "record {id} is in compartment {compartment_id} and also in a document more members read: shown \
                 and edited in the compartment"
            ));
        }
        self.meetings.retain(|r| !shadowed(&r.id));
        self.decisions.retain(|r| !shadowed(&r.id));
        self.actions.retain(|r| !shadowed(&r.id));
        self.people.retain(|r| !shadowed(&r.id));
        self.one_on_ones.retain(|r| !shadowed(&r.id));
        self.conversations.retain(|r| !shadowed(&r.id));
        self.stories.retain(|r| !shadowed(&r.id));
        self.patterns.retain(|r| !shadowed(&r.id));
        let nested = other.placement;
        for id in &theirs {
            let place = nested.get(id).cloned().unwrap_or_else(|| compartment_id.to_owned());
            self.placement.insert(id.clone(), place);
        }
        self.meetings.extend(other.meetings);
        self.decisions.extend(other.decisions);
        self.actions.extend(other.actions);
        self.people.extend(other.people);
        self.one_on_ones.extend(other.one_on_ones);
        self.conversations.extend(other.conversations);
        self.stories.extend(other.stories);
        self.patterns.extend(other.patterns);
        self.unreadable
            .extend(other.unreadable.into_iter().map(|what| format!("compartment {compartment_id}: {what}")));
        self.sort();
    }

    /// This view without the records placed in compartments (and without their placement): what a file that may
    /// travel holds, so that a compartment's records stay sealed in it (the portable archive).
    pub fn without_compartments(&self) -> GroupView {
        let mut view = self.clone();
        let placed = std::mem::take(&mut view.placement);
        let kept = |id: &RecordId| !placed.contains_key(id);
        view.meetings.retain(|r| kept(&r.id));
        view.decisions.retain(|r| kept(&r.id));
        view.actions.retain(|r| kept(&r.id));
        view.people.retain(|r| kept(&r.id));
        view.one_on_ones.retain(|r| kept(&r.id));
        view.conversations.retain(|r| kept(&r.id));
        view.stories.retain(|r| kept(&r.id));
        view.patterns.retain(|r| kept(&r.id));
        view
    }

    /// Puts every list of records in the order [`crate::GroupDoc::view`] gives it.
    pub(crate) fn sort(&mut self) {
        self.members.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
        self.roles.sort_by(|a, b| a.from.cmp(&b.from).then(a.role.cmp(&b.role)).then(a.id.cmp(&b.id)));
        self.meetings.sort_by(|a, b| a.date.cmp(&b.date).then(a.title.cmp(&b.title)).then(a.id.cmp(&b.id)));
        self.decisions.sort_by(|a, b| a.date.cmp(&b.date).then(a.title.cmp(&b.title)).then(a.id.cmp(&b.id)));
        self.actions
            .sort_by(|a, b| (a.due.is_none(), a.due, &a.title, &a.id).cmp(&(b.due.is_none(), b.due, &b.title, &b.id)));
        self.people.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
        self.one_on_ones.sort_by(|a, b| a.on.cmp(&b.on).then(a.id.cmp(&b.id)));
        self.conversations.sort_by(|a, b| a.on.cmp(&b.on).then(a.id.cmp(&b.id)));
        self.stories.sort_by(|a, b| a.shared_on.cmp(&b.shared_on).then(a.id.cmp(&b.id)));
        self.patterns.sort_by(|a, b| a.named_on.cmp(&b.named_on).then(a.name.cmp(&b.name)).then(a.id.cmp(&b.id)));
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

/// Someone in the base: a person the group talks to who is not (yet) a member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PersonView {
    /// Record id.
    pub id: RecordId,
    /// Name.
    pub name: String,
    /// Where they work or live in the institution.
    pub place: Option<String>,
    /// The member who holds the relationship.
    pub holder: Option<RecordId>,
    /// Where they stand.
    pub stance: Stance,
    /// The member record they became, once they joined.
    pub became_member: Option<RecordId>,
    /// When they were added to the base.
    pub added: NaiveDate,
    /// Conflicting fields.
    pub conflicts: Vec<Conflict>,
}

/// A one-on-one conversation's notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OneOnOneView {
    /// Record id.
    pub id: RecordId,
    /// The member it was with.
    pub with_member: Option<RecordId>,
    /// The person in the base it was with.
    pub with_person: Option<RecordId>,
    /// Who it was with, in words ("" when a member or person is named instead).
    pub with_name: String,
    /// When.
    pub on: NaiveDate,
    /// Where.
    pub place: Option<String>,
    /// "What keeps you up at night?"
    pub keeps_up_at_night: String,
    /// "What do you wish was different?"
    pub wish_different: String,
    /// "Who else shares this experience?"
    pub others_who_share: String,
    /// How warm the relationship is.
    pub warmth: Warmth,
    /// What comes next.
    pub next_step: Option<String>,
    /// By when.
    pub next_step_on: Option<NaiveDate>,
    /// The member who held it.
    pub by: RecordId,
    /// Conflicting fields.
    pub conflicts: Vec<Conflict>,
}

/// That a one-on-one happened, and nothing of what was said or with whom: what the whole group sees, to count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConversationView {
    /// Record id.
    pub id: RecordId,
    /// The member who held it.
    pub by: RecordId,
    /// When.
    pub on: NaiveDate,
    /// Whether it was with someone in the base rather than a member.
    pub with_base: bool,
    /// Conflicting fields.
    pub conflicts: Vec<Conflict>,
}

/// A passage shared from a one-on-one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StoryView {
    /// Record id.
    pub id: RecordId,
    /// The passage.
    pub text: String,
    /// How the teller is described (`None`: no one in particular).
    pub told_by: Option<String>,
    /// The one-on-one it comes from (its notes may be in a compartment this device cannot read).
    pub from_one_on_one: Option<RecordId>,
    /// The member who shared it.
    pub shared_by: RecordId,
    /// When.
    pub shared_on: NaiveDate,
    /// Conflicting fields.
    pub conflicts: Vec<Conflict>,
}

/// A pattern the group named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PatternView {
    /// Record id.
    pub id: RecordId,
    /// What the group calls it.
    pub name: String,
    /// When it was named.
    pub named_on: NaiveDate,
    /// The meeting where it was named.
    pub named_at: Option<RecordId>,
    /// Where it is in the cycle.
    pub state: PatternState,
    /// Stories linked to it, by id (some may be in documents this device cannot read).
    pub stories: Vec<RecordId>,
    /// Meetings that discussed it, by id.
    pub meetings: Vec<RecordId>,
    /// How many conversations surfaced it.
    pub conversations: u32,
    /// What it is, in the group's words.
    pub description: String,
    /// Conflicting fields.
    pub conflicts: Vec<Conflict>,
}
