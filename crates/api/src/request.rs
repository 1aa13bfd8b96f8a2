//! The application's one interface: a [`Request`] in, a [`Response`] out, the same JSON from every front end.
//!
//! The CLI parses its arguments into a `Request` and hands it to a [`crate::Service`] in its own process, or sends
//! it as one line of JSON to a running `serve` (which hands it to its own `Service`); the app's window sends it
//! through the Tauri command `request`. Records are named the way a person names them — a member by name or the
//! start of an id, a meeting by id prefix or `last` — and the service resolves them ([`crate::resolve`]). Dates are
//! `YYYY-MM-DD`, `today` or `tomorrow`. Each `Response` carries the structured outcome and, where a person is
//! told something, the sentence ([`crate::words`]).
//!
//! ```
//! use sunspace_api::Request;
//! let request: Request = serde_json::from_str(
//!     r#"{"request":"remove-member","group":null,"member":"Cal","reason":"shared the minutes with the manager"}"#,
//! ).unwrap();
//! assert!(matches!(request, Request::RemoveMember { .. }));
//! ```

use serde::{Deserialize, Serialize};
use sunspace_model::vitality::Vitality;
use sunspace_model::{DecisionMethod, FieldChange, MemberStatus, PatternState, RecordKind, Stance, Warmth};
use ts_rs::TS;

use crate::types::{CharterInput, GroupItem, SyncView};
use sunspace_node::GroupSnapshot;

/// Which group a request is about: its name, the start of its id, or `None` for the one chosen with `group use`
/// (or the only one).
pub type GroupRef = Option<String>;

/// Everything a front end can ask of the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "request", rename_all = "kebab-case")]
pub enum Request {
    /// This device's id and owner.
    Device,
    /// The groups on this device.
    Groups,
    /// Creates a group; this device's owner is its first member and steward.
    CreateGroup {
        /// The group's name.
        name: String,
        /// The founder's name in this group, if not the owner's.
        #[serde(default)]
        #[ts(optional)]
        display_name: Option<String>,
    },
    /// Makes a group the one requests are about by default.
    UseGroup {
        /// Its name or the start of its id.
        group: String,
    },
    /// Everything the group holds, as front ends show it.
    Group {
        /// The group.
        group: GroupRef,
    },
    /// Renames the group.
    RenameGroup {
        /// The group.
        group: GroupRef,
        /// The new name.
        name: String,
    },
    /// Changes the charter.
    EditCharter {
        /// The group.
        group: GroupRef,
        /// The fields to change.
        charter: CharterInput,
    },
    /// Adds someone who does not use the app.
    AddLocalMember {
        /// The group.
        group: GroupRef,
        /// Their name.
        name: String,
        /// The member who brought them in.
        #[serde(default)]
        #[ts(optional)]
        sponsor: Option<String>,
        /// When they joined (default today).
        #[serde(default)]
        #[ts(optional)]
        joined: Option<String>,
    },
    /// Renames a member or changes their standing.
    UpdateMember {
        /// The group.
        group: GroupRef,
        /// The member.
        member: String,
        /// A new name.
        #[serde(default)]
        #[ts(optional)]
        name: Option<String>,
        /// A new standing.
        #[serde(default)]
        #[ts(optional)]
        status: Option<MemberStatus>,
    },
    /// Removes a member (stewards only).
    RemoveMember {
        /// The group.
        group: GroupRef,
        /// The member.
        member: String,
        /// Why, kept in the signed record.
        reason: String,
    },
    /// Makes a member a steward, or ends it.
    SetSteward {
        /// The group.
        group: GroupRef,
        /// The member.
        member: String,
        /// Steward from now on, or not.
        steward: bool,
    },
    /// Revokes one device (the start of its id).
    RevokeDevice {
        /// The group.
        group: GroupRef,
        /// The device.
        device: String,
    },
    /// Grants a role for a term.
    GrantRole {
        /// The group.
        group: GroupRef,
        /// The grant.
        role: RoleInput,
    },
    /// Ends a role's term.
    EndRole {
        /// The group.
        group: GroupRef,
        /// The grant (the start of its id).
        grant: String,
        /// The last day (default today).
        #[serde(default)]
        #[ts(optional)]
        on: Option<String>,
    },
    /// Adds a meeting.
    AddMeeting {
        /// The group.
        group: GroupRef,
        /// The meeting.
        meeting: MeetingInput,
    },
    /// Changes a meeting's details.
    EditMeeting {
        /// The group.
        group: GroupRef,
        /// The meeting (`last` for the most recent).
        meeting: String,
        /// What changes.
        changes: MeetingChanges,
    },
    /// Adds an agenda item.
    AddAgendaItem {
        /// The group.
        group: GroupRef,
        /// The meeting.
        meeting: String,
        /// The item.
        title: String,
        /// Who brings it.
        #[serde(default)]
        #[ts(optional)]
        owner: Option<String>,
    },
    /// Marks an agenda item covered, or not.
    SetAgendaItemDone {
        /// The group.
        group: GroupRef,
        /// The item.
        item: String,
        /// Covered.
        done: bool,
    },
    /// Saves the minutes as `text`, typed on the version `base` names (empty: the current one); the model
    /// merges it with whatever changed since.
    SetMinutes {
        /// The group.
        group: GroupRef,
        /// The meeting.
        meeting: String,
        /// The whole text.
        text: String,
        /// The heads of the version it was typed on.
        #[serde(default)]
        base: Vec<String>,
    },
    /// Adds text at the end of the minutes.
    AppendMinutes {
        /// The group.
        group: GroupRef,
        /// The meeting.
        meeting: String,
        /// The text.
        text: String,
    },
    /// Records that someone came: a member (by name or id) or, if none matches or `guest`, a guest.
    AddAttendance {
        /// The group.
        group: GroupRef,
        /// The meeting.
        meeting: String,
        /// Who.
        who: String,
        /// Their first time.
        new_face: bool,
        /// A guest even if a member has this name.
        guest: bool,
    },
    /// Marks a member present at a meeting, or not (the window's tap-to-mark): the member must be one.
    SetPresent {
        /// The group.
        group: GroupRef,
        /// The meeting.
        meeting: String,
        /// The member.
        member: String,
        /// Present, or not.
        present: bool,
    },
    /// Takes someone off a meeting's attendance.
    RemoveAttendance {
        /// The group.
        group: GroupRef,
        /// The meeting.
        meeting: String,
        /// Who.
        who: String,
    },
    /// Records a decision.
    AddDecision {
        /// The group.
        group: GroupRef,
        /// The decision.
        decision: DecisionInput,
    },
    /// Changes a decision.
    EditDecision {
        /// The group.
        group: GroupRef,
        /// The decision.
        decision: String,
        /// What changes.
        changes: DecisionChanges,
    },
    /// Who changed a decision, when and from what.
    DecisionHistory {
        /// The group.
        group: GroupRef,
        /// The decision.
        decision: String,
    },
    /// Adds an action item.
    AddAction {
        /// The group.
        group: GroupRef,
        /// The action item.
        action: ActionInput,
    },
    /// Marks an action item done (on a day, default today), or open again.
    SetActionDone {
        /// The group.
        group: GroupRef,
        /// The action item.
        action: String,
        /// Done, or open again.
        done: bool,
        /// The day it was done.
        #[serde(default)]
        #[ts(optional)]
        on: Option<String>,
    },
    /// Changes an action item.
    EditAction {
        /// The group.
        group: GroupRef,
        /// The action item.
        action: String,
        /// What changes.
        changes: ActionChanges,
    },
    /// Keeps one of the values two devices wrote to the same field.
    Resolve {
        /// The group.
        group: GroupRef,
        /// The kind of record, if known (otherwise found from the id).
        #[serde(default)]
        #[ts(optional)]
        kind: Option<RecordKind>,
        /// The record (`group` or `charter` for those).
        record: String,
        /// The field.
        field: String,
        /// Which value.
        keep: Keep,
    },
    /// The group's signs of life and decay.
    Vitality {
        /// The group.
        group: GroupRef,
        /// As of this date (default today).
        #[serde(default)]
        #[ts(optional)]
        as_of: Option<String>,
    },
    /// The group's records, exported.
    Export {
        /// The group.
        group: GroupRef,
        /// In which form.
        format: ExportFormat,
    },
    /// Writes the sealed entries another device may lack into a records file (see `docs/protocol.md`, carry
    /// files): for one device of the group, or for any of them.
    CarryExport {
        /// The group.
        group: GroupRef,
        /// The device it is for (the start of its id); absent: any current device of the group.
        #[serde(default)]
        #[ts(optional)]
        for_device: Option<String>,
    },
    /// Reads a records file and applies its entries like entries from the network.
    CarryImport {
        /// The file's bytes.
        bytes: Vec<u8>,
    },
    /// Lists a relay for the group's devices.
    AddRelay {
        /// The group.
        group: GroupRef,
        /// The relay's addresses, each ending in `/p2p/<relay>`.
        addresses: Vec<String>,
    },
    /// Stops listing a relay (the start of its id).
    RemoveRelay {
        /// The group.
        group: GroupRef,
        /// The relay.
        relay: String,
    },
    /// The engine's status: addresses, peers, sync state, integrity (needs a running engine).
    Status,
    /// A group's sync state in words (needs a running engine).
    Sync {
        /// The group.
        group: GroupRef,
    },
    /// Connects to a member device at an address (needs a running engine).
    AddPeer {
        /// The address, ending in `/p2p/<device>`.
        address: String,
    },
    /// Records a one-on-one conversation: its notes go to this member's "only me" (made on first use), and the
    /// group's records get only that a conversation happened, for the counts.
    RecordOneOnOne {
        /// The group.
        group: GroupRef,
        /// The conversation.
        one_on_one: OneOnOneInput,
    },
    /// Shares a passage from a one-on-one as a story, for the whole group or a compartment.
    ShareStory {
        /// The group.
        group: GroupRef,
        /// The story.
        story: StoryInput,
    },
    /// Adds someone to the base: a person the group talks to who is not a member.
    AddPerson {
        /// The group.
        group: GroupRef,
        /// The person.
        person: PersonInput,
    },
    /// Changes what the base records about someone (their stance, who holds the relationship, that they joined).
    EditPerson {
        /// The group.
        group: GroupRef,
        /// The person (name or the start of the id).
        person: String,
        /// What changes.
        changes: PersonChanges,
    },
    /// Names a pattern the group hears in the stories.
    NamePattern {
        /// The group.
        group: GroupRef,
        /// The pattern.
        pattern: PatternInput,
    },
    /// Moves a pattern along (named → researching → demand → won or retired), links stories and meetings.
    EditPattern {
        /// The group.
        group: GroupRef,
        /// The pattern (name or the start of the id).
        pattern: String,
        /// What changes.
        changes: PatternChanges,
    },
    /// Creates a compartment: records only its members' devices read (stewards; any member for "only me").
    CreateCompartment {
        /// The group.
        group: GroupRef,
        /// What the group calls it.
        name: String,
        /// Its members (names or ids); this device's member is always in it.
        #[serde(default)]
        members: Vec<String>,
    },
    /// Adds a member to a compartment.
    AddToCompartment {
        /// The group.
        group: GroupRef,
        /// The compartment (name or the start of its id).
        compartment: String,
        /// The member.
        member: String,
    },
    /// Takes a member out of a compartment: its key changes, and they read nothing written there afterwards.
    RemoveFromCompartment {
        /// The group.
        group: GroupRef,
        /// The compartment.
        compartment: String,
        /// The member.
        member: String,
    },
    /// Moves a record to a compartment, or to the whole group.
    MoveRecord {
        /// The group.
        group: GroupRef,
        /// The kind of record, if known (otherwise found from the id).
        #[serde(default)]
        #[ts(optional)]
        kind: Option<RecordKind>,
        /// The record (the start of its id).
        record: String,
        /// Where: a compartment's name or id, `only me`, or `group` for everyone.
        to: String,
    },
}

/// Which of a conflict's values to keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "by", content = "keep", rename_all = "kebab-case")]
pub enum Keep {
    /// Its number as listed, from 1.
    Number(u32),
    /// The value itself.
    Value(String),
}

/// A meeting to add.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MeetingInput {
    /// When (default today).
    #[serde(default)]
    #[ts(optional)]
    pub date: Option<String>,
    /// What it is called.
    pub title: String,
    /// Its type (default "regular").
    #[serde(default)]
    #[ts(optional)]
    pub kind: Option<String>,
    /// Where.
    #[serde(default)]
    #[ts(optional)]
    pub place: Option<String>,
    /// Who facilitates.
    #[serde(default)]
    #[ts(optional)]
    pub facilitator: Option<String>,
    /// Who takes notes.
    #[serde(default)]
    #[ts(optional)]
    pub note_taker: Option<String>,
    /// Who may read it: `group` (default), or a compartment this member is in (its decisions, action items and
    /// minutes follow it there).
    #[serde(default)]
    #[ts(optional)]
    pub readers: Option<String>,
}

/// Changes to a meeting; a missing field stays, an empty place or person clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MeetingChanges {
    /// New date.
    #[serde(default)]
    #[ts(optional)]
    pub date: Option<String>,
    /// New title.
    #[serde(default)]
    #[ts(optional)]
    pub title: Option<String>,
    /// New type.
    #[serde(default)]
    #[ts(optional)]
    pub kind: Option<String>,
    /// New place.
    #[serde(default)]
    #[ts(optional)]
    pub place: Option<String>,
    /// New facilitator.
    #[serde(default)]
    #[ts(optional)]
    pub facilitator: Option<String>,
    /// New note-taker.
    #[serde(default)]
    #[ts(optional)]
    pub note_taker: Option<String>,
}

/// A decision to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DecisionInput {
    /// What was decided, in a line.
    pub title: String,
    /// How.
    pub method: DecisionMethod,
    /// The outcome: what was agreed, the count, the objections.
    pub outcome: String,
    /// When (default: the meeting's date, or today).
    #[serde(default)]
    #[ts(optional)]
    pub date: Option<String>,
    /// When to look at it again.
    #[serde(default)]
    #[ts(optional)]
    pub review_by: Option<String>,
    /// The meeting where it was made.
    #[serde(default)]
    #[ts(optional)]
    pub meeting: Option<String>,
}

/// Changes to a decision; a missing field stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DecisionChanges {
    /// New title.
    #[serde(default)]
    #[ts(optional)]
    pub title: Option<String>,
    /// New method.
    #[serde(default)]
    #[ts(optional)]
    pub method: Option<DecisionMethod>,
    /// New outcome.
    #[serde(default)]
    #[ts(optional)]
    pub outcome: Option<String>,
    /// New date.
    #[serde(default)]
    #[ts(optional)]
    pub date: Option<String>,
    /// New review date.
    #[serde(default)]
    #[ts(optional)]
    pub review_by: Option<String>,
}

/// An action item to add.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ActionInput {
    /// What is to be done.
    pub title: String,
    /// Who does it (names or ids).
    #[serde(default)]
    pub owners: Vec<String>,
    /// By when.
    #[serde(default)]
    #[ts(optional)]
    pub due: Option<String>,
    /// The decision it follows from.
    #[serde(default)]
    #[ts(optional)]
    pub decision: Option<String>,
    /// The meeting where it was agreed.
    #[serde(default)]
    #[ts(optional)]
    pub meeting: Option<String>,
}

/// Changes to an action item; a missing field stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ActionChanges {
    /// New title.
    #[serde(default)]
    #[ts(optional)]
    pub title: Option<String>,
    /// New due date.
    #[serde(default)]
    #[ts(optional)]
    pub due: Option<String>,
    /// Owners to add.
    #[serde(default)]
    pub add_owners: Vec<String>,
    /// Owners to take off.
    #[serde(default)]
    pub remove_owners: Vec<String>,
}

/// A role to grant for a term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RoleInput {
    /// The member (name or id).
    pub member: String,
    /// The role ("facilitator", "note-taker", …).
    pub role: String,
    /// Start of the term (default today).
    #[serde(default)]
    #[ts(optional)]
    pub from: Option<String>,
    /// End of the term.
    #[serde(default)]
    #[ts(optional)]
    pub until: Option<String>,
}

/// The forms of export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum ExportFormat {
    /// Readable minutes and decisions.
    Markdown,
    /// Every record, as JSON.
    Json,
    /// The raw automerge document.
    Automerge,
}

/// A group as front ends show it: the records and what only the signed membership knows (the device's
/// [`GroupSnapshot`], its fields at the top level), and what this device may do to whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GroupPage {
    /// The records and the signed membership's view of them.
    #[serde(flatten)]
    #[ts(flatten)]
    pub snapshot: GroupSnapshot,
    /// The members this device may remove, each with what the person reads before confirming.
    pub removable: Vec<Choice>,
    /// The devices this device may revoke (its own person's other devices; anyone's, as a steward).
    pub revocable: Vec<Choice>,
    /// The members whose stewardship this device may give or end.
    pub stewardable: Vec<String>,
    /// "Who can read this" for each compartment a record may be placed in (hex id, as in the view's
    /// `placement`), in words; a record not placed in one is read by [`GroupPage::whole_group`].
    pub readers: std::collections::BTreeMap<String, String>,
    /// "Who can read this" for the group's own records.
    pub whole_group: String,
    /// "Who can read this" for a record in this member's "only me" (made on first use).
    pub only_me: String,
}

impl GroupPage {
    /// Who can read record `id`, in words.
    pub fn readable_by(&self, id: &str) -> &str {
        match self.snapshot.view.placement.get(id) {
            Some(hex) => self.readers.get(hex).map_or("a compartment", String::as_str),
            None => &self.whole_group,
        }
    }
}

/// Something this device may do to a record, and what the person reads before they confirm it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Choice {
    /// The member's record id, or the device's id (hex).
    pub id: String,
    /// What it means, in sentences: what they keep, what changes.
    pub warning: String,
}

/// What a request did or found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Response {
    /// This device.
    Device {
        /// Its id (hex).
        device: String,
        /// Its owner's name.
        owner: String,
    },
    /// The groups on this device.
    Groups {
        /// Each group.
        groups: Vec<GroupItem>,
        /// The default one (hex), if chosen.
        current: Option<String>,
    },
    /// A group was made, or chosen as the default.
    GroupChosen {
        /// The group.
        group: GroupItem,
        /// What happened.
        message: String,
    },
    /// A group's records.
    Group(Box<GroupPage>),
    /// A record was made.
    Created {
        /// Its kind.
        kind: RecordKind,
        /// Its id.
        id: String,
        /// The document's heads after it.
        heads: Vec<String>,
        /// What happened.
        message: String,
    },
    /// A compartment was created.
    CompartmentCreated {
        /// Its id (hex).
        id: String,
        /// Its name.
        name: String,
        /// What happened, and who can read it.
        message: String,
    },
    /// A change was made.
    Changed {
        /// The document's heads after it.
        heads: Vec<String>,
        /// What happened.
        message: String,
    },
    /// Minutes saved: the text after the model merged the edit with what changed since its version.
    MinutesSaved {
        /// The minutes as the group now holds them.
        text: String,
        /// The version `text` is.
        heads: Vec<String>,
        /// What happened.
        message: String,
    },
    /// Someone's attendance was recorded.
    Attended {
        /// The name recorded.
        name: String,
        /// Recorded as a guest because no member has that name.
        as_guest: bool,
        /// The document's heads after it.
        heads: Vec<String>,
        /// What happened.
        message: String,
    },
    /// A member was removed.
    Removed {
        /// The member's record id.
        member: String,
        /// Their name.
        name: String,
        /// How many of their devices were cut off.
        devices: u32,
        /// What they could already read, in a sentence.
        could_already_read: String,
        /// Everything the person should know, in sentences.
        message: String,
    },
    /// A device was revoked.
    Revoked {
        /// The device (hex).
        device: String,
        /// Its entries up to this one are kept.
        cutoff: u64,
        /// What it could already read, in a sentence.
        could_already_read: String,
        /// Everything the person should know, in sentences.
        message: String,
    },
    /// A member's stewardship changed.
    Steward {
        /// The member's record id.
        member: String,
        /// Their name.
        name: String,
        /// Steward from now on.
        steward: bool,
        /// What happened.
        message: String,
    },
    /// A record's history.
    History {
        /// The changes, oldest first.
        changes: Vec<FieldChange>,
        /// The same, a sentence each.
        sentences: Vec<String>,
    },
    /// The group's signs of life and decay.
    Vitality(Box<Vitality>),
    /// An export's bytes (UTF-8 text for Markdown and JSON). The caller writes them where the person asked.
    Exported {
        /// The form.
        format: ExportFormat,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A records file was made; the caller writes it where the person asked.
    CarryFile {
        /// Its bytes.
        bytes: Vec<u8>,
        /// How many entries it holds.
        entries: usize,
        /// What it is and who can open it, in a sentence.
        message: String,
    },
    /// A records file was read.
    Carried {
        /// What it brought, in a sentence.
        message: String,
        /// Entries new to this device.
        applied: usize,
        /// Entries refused (none of them kept), each with why.
        refused: Vec<String>,
    },
    /// The engine's status.
    Status {
        /// Addresses, peers, sync state and integrity.
        #[ts(type = "unknown")]
        status: Box<sunspace_node::engine::Status>,
    },
    /// A group's sync state in words.
    Sync(Box<SyncView>),
    /// Done.
    Done {
        /// What happened.
        message: String,
    },
}

impl Response {
    /// What to tell the person, if the outcome has a sentence.
    pub fn message(&self) -> Option<&str> {
        match self {
            Response::GroupChosen { message, .. }
            | Response::Created { message, .. }
            | Response::Changed { message, .. }
            | Response::MinutesSaved { message, .. }
            | Response::Attended { message, .. }
            | Response::Removed { message, .. }
            | Response::Revoked { message, .. }
            | Response::Steward { message, .. }
            | Response::CompartmentCreated { message, .. }
            | Response::Done { message } => Some(message),
            _ => None,
        }
    }
}

/// A one-on-one to record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OneOnOneInput {
    /// With whom: a member or someone in the base (by name), or anyone else (their name as written).
    pub with: String,
    /// When (default today).
    #[serde(default)]
    #[ts(optional)]
    pub on: Option<String>,
    /// Where.
    #[serde(default)]
    #[ts(optional)]
    pub place: Option<String>,
    /// What keeps them up at night.
    #[serde(default)]
    pub keeps_up_at_night: String,
    /// What they wish were different.
    #[serde(default)]
    pub wish_different: String,
    /// Who else shares it.
    #[serde(default)]
    pub others_who_share: String,
    /// How warm the relationship is (default warming).
    #[serde(default)]
    #[ts(optional)]
    pub warmth: Option<Warmth>,
    /// The next step agreed.
    #[serde(default)]
    #[ts(optional)]
    pub next_step: Option<String>,
    /// When.
    #[serde(default)]
    #[ts(optional)]
    pub next_step_on: Option<String>,
}

/// A story to share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StoryInput {
    /// The passage.
    pub text: String,
    /// How the teller is named: a name, or a description such as "someone on the night shift"; none: nobody.
    #[serde(default)]
    #[ts(optional)]
    pub told_by: Option<String>,
    /// The one-on-one it comes from (the start of its id).
    #[serde(default)]
    #[ts(optional)]
    pub from_one_on_one: Option<String>,
    /// Who may read it: `group` (default), or a compartment's name.
    #[serde(default)]
    #[ts(optional)]
    pub readers: Option<String>,
}

/// Someone to add to the base.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PersonInput {
    /// Their name.
    pub name: String,
    /// Where they work or live in the institution.
    #[serde(default)]
    #[ts(optional)]
    pub place: Option<String>,
    /// The member who holds the relationship (default: this device's member).
    #[serde(default)]
    #[ts(optional)]
    pub holder: Option<String>,
    /// Their stance (default unknown).
    #[serde(default)]
    #[ts(optional)]
    pub stance: Option<Stance>,
    /// Who may read it: `group` (default), or a compartment's name.
    #[serde(default)]
    #[ts(optional)]
    pub readers: Option<String>,
}

/// Changes to someone in the base; a missing field stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PersonChanges {
    /// New stance.
    #[serde(default)]
    #[ts(optional)]
    pub stance: Option<Stance>,
    /// New place ("" clears it).
    #[serde(default)]
    #[ts(optional)]
    pub place: Option<String>,
    /// Who holds the relationship now.
    #[serde(default)]
    #[ts(optional)]
    pub holder: Option<String>,
    /// The member record they became (they joined).
    #[serde(default)]
    #[ts(optional)]
    pub became_member: Option<String>,
}

/// A pattern to name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PatternInput {
    /// Its name: "scheduling makes us invisible".
    pub name: String,
    /// What the group means by it.
    #[serde(default)]
    pub description: String,
    /// The meeting where it was named.
    #[serde(default)]
    #[ts(optional)]
    pub meeting: Option<String>,
    /// The stories it comes from (the start of their ids).
    #[serde(default)]
    pub stories: Vec<String>,
    /// How many conversations surfaced it.
    #[serde(default)]
    pub conversations: u32,
}

/// Changes to a pattern; a missing field stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PatternChanges {
    /// Where it stands now.
    #[serde(default)]
    #[ts(optional)]
    pub state: Option<PatternState>,
    /// New name.
    #[serde(default)]
    #[ts(optional)]
    pub name: Option<String>,
    /// New description.
    #[serde(default)]
    #[ts(optional)]
    pub description: Option<String>,
    /// How many conversations surfaced it.
    #[serde(default)]
    #[ts(optional)]
    pub conversations: Option<u32>,
    /// Stories to link.
    #[serde(default)]
    pub add_stories: Vec<String>,
    /// Meetings that discussed it.
    #[serde(default)]
    pub add_meetings: Vec<String>,
}
