//! Every change a person makes to a group's records, as one typed value: what the engine receives from a front
//! end instead of a closure, so it knows a write from a read and which records an edit touches.
//!
//! ```
//! use chrono::NaiveDate;
//! use sunspace_model::{edit::{Applied, Edit}, Founder, GroupDoc, NewMeeting, RecordKind};
//!
//! let founder = Founder { device_id: "aa".repeat(32), agreement_key: "bb".repeat(32), display_name: "Ana".into() };
//! let today = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
//! let (mut doc, _) = GroupDoc::create(&"cd".repeat(16), "Tenants United", &founder, today).unwrap();
//! let edit = Edit::AddMeeting(NewMeeting::new(today, "First meeting"));
//! assert_eq!(edit.record(), RecordKind::Meeting);
//! let Applied::Created(meeting) = doc.apply(edit).unwrap() else { panic!() };
//! assert_eq!(doc.view().meetings[0].id, meeting);
//! ```

use chrono::NaiveDate;

use crate::{
    ActionPatch, Attendee, ChangeHash, CharterPatch, DecisionPatch, GroupDoc, MeetingPatch, MemberStatus, ModelError,
    NewAction, NewDecision, NewMeeting, NewOneOnOne, NewPattern, NewPerson, NewStory, OneOnOnePatch, PatternPatch,
    PersonPatch, RecordData, RecordId, RecordKind, StoryPatch,
};

/// One change to a group's records. Ids are record ids already resolved (see `sunspace_api`'s resolution of
/// names and id prefixes); every value is validated by the [`GroupDoc`] method it maps to.
// The fields are named for what they hold; each variant's line says what it does.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Renames the group.
    RenameGroup { name: String },
    /// Changes the charter.
    EditCharter(CharterPatch),
    /// Adds a member who does not use the app.
    AddLocalMember { name: String, joined: NaiveDate, sponsor: Option<RecordId> },
    /// Renames a member and/or changes their standing.
    UpdateMember { member: RecordId, name: Option<String>, status: Option<MemberStatus> },
    /// Grants a role for a term.
    GrantRole { member: RecordId, role: String, from: NaiveDate, until: Option<NaiveDate> },
    /// Ends a role's term.
    EndRole { grant: RecordId, on: NaiveDate },
    /// Adds a meeting.
    AddMeeting(NewMeeting),
    /// Changes a meeting's details.
    UpdateMeeting { meeting: RecordId, patch: MeetingPatch },
    /// Replaces the minutes with `text`, typed on the version `base` (empty: the current one); merged by
    /// [`GroupDoc::merge_minutes`] with whatever changed since.
    SetMinutes { meeting: RecordId, text: String, base: Vec<ChangeHash> },
    /// Adds text at the end of the minutes.
    AppendMinutes { meeting: RecordId, text: String },
    /// Adds an agenda item.
    AddAgendaItem { meeting: RecordId, title: String, owner: Option<RecordId> },
    /// Marks an agenda item covered or not.
    SetAgendaItemDone { item: RecordId, done: bool },
    /// Records that someone came.
    AddAttendance { meeting: RecordId, who: Attendee, new_face: bool },
    /// Takes someone off a meeting's attendance.
    RemoveAttendance { meeting: RecordId, who: Attendee },
    /// Records a decision.
    AddDecision(NewDecision),
    /// Changes a decision.
    UpdateDecision { decision: RecordId, patch: DecisionPatch },
    /// Adds an action item.
    AddAction(NewAction),
    /// Marks an action item done on a day, or open again.
    SetActionDone { action: RecordId, on: Option<NaiveDate> },
    /// Changes an action item.
    UpdateAction { action: RecordId, patch: ActionPatch },
    /// Keeps one of a field's concurrent values (`record` is `-` for the group and the charter).
    Resolve { kind: RecordKind, record: RecordId, field: String, value: String },
    /// Lists a relay the group's devices use.
    SetRelay { relay: String, owner: String, addresses: Vec<String> },
    /// Stops listing a relay.
    RemoveRelay { relay: String },
    /// Adds someone to the base.
    AddPerson(NewPerson),
    /// Changes a person in the base (their details, stance, the member they became).
    UpdatePerson { person: RecordId, patch: PersonPatch },
    /// Records a one-on-one's notes.
    AddOneOnOne(NewOneOnOne),
    /// Changes a one-on-one's notes.
    UpdateOneOnOne { one_on_one: RecordId, patch: OneOnOnePatch },
    /// Records that a one-on-one happened, with no content: what the group counts.
    AddConversation { by: RecordId, on: NaiveDate, with_base: bool },
    /// Shares a story from a one-on-one.
    AddStory(NewStory),
    /// Changes a story.
    UpdateStory { story: RecordId, patch: StoryPatch },
    /// Records a pattern the group named.
    AddPattern(NewPattern),
    /// Changes a pattern.
    UpdatePattern { pattern: RecordId, patch: PatternPatch },
    /// Links a story (in this document or another) to a pattern.
    LinkPatternStory { pattern: RecordId, story: RecordId },
    /// Unlinks a story from a pattern.
    UnlinkPatternStory { pattern: RecordId, story: RecordId },
    /// Records that a meeting discussed a pattern.
    LinkPatternMeeting { pattern: RecordId, meeting: RecordId },
    /// Takes a meeting off a pattern's meetings.
    UnlinkPatternMeeting { pattern: RecordId, meeting: RecordId },
    /// Writes a record copied out of another document (a move into or out of a compartment).
    PutRecord { kind: RecordKind, data: RecordData },
    /// Deletes a record (the last step of a move).
    DeleteRecord { kind: RecordKind, id: RecordId },
}

/// What an [`Edit`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A new record, by id.
    Created(RecordId),
    /// The change is made.
    Changed,
    /// The minutes as the group holds them after the merge.
    Minutes(String),
    /// How many records were taken away (attendance; a deleted record).
    Removed(usize),
}

impl Edit {
    /// The kind of record it changes: what a window showing the group reloads.
    pub fn record(&self) -> RecordKind {
        use Edit::*;
        match self {
            RenameGroup { .. } | SetRelay { .. } | RemoveRelay { .. } => RecordKind::Group,
            EditCharter(_) => RecordKind::Charter,
            AddLocalMember { .. } | UpdateMember { .. } => RecordKind::Member,
            GrantRole { .. } | EndRole { .. } => RecordKind::Role,
            AddMeeting(_)
            | UpdateMeeting { .. }
            | SetMinutes { .. }
            | AppendMinutes { .. }
            | AddAttendance { .. }
            | RemoveAttendance { .. } => RecordKind::Meeting,
            AddAgendaItem { .. } | SetAgendaItemDone { .. } => RecordKind::Agenda,
            AddDecision(_) | UpdateDecision { .. } => RecordKind::Decision,
            AddAction(_) | SetActionDone { .. } | UpdateAction { .. } => RecordKind::Action,
            AddPerson(_) | UpdatePerson { .. } => RecordKind::Person,
            AddOneOnOne(_) | UpdateOneOnOne { .. } => RecordKind::OneOnOne,
            AddConversation { .. } => RecordKind::Conversation,
            AddStory(_) | UpdateStory { .. } => RecordKind::Story,
            AddPattern(_)
            | UpdatePattern { .. }
            | LinkPatternStory { .. }
            | UnlinkPatternStory { .. }
            | LinkPatternMeeting { .. }
            | UnlinkPatternMeeting { .. } => RecordKind::Pattern,
            Resolve { kind, .. } | PutRecord { kind, .. } | DeleteRecord { kind, .. } => *kind,
        }
    }
}

impl Edit {
    /// The existing record the edit writes into, as its kind and id: where the edit must be made when the group's
    /// records are spread over the group's document and its compartments' (the document holding that record).
    /// `None` for an edit that changes the group itself (its name, charter, relays) or makes a record of its own,
    /// which goes in the group's document unless the caller chooses a compartment.
    ///
    /// A decision or action item made at a meeting, or a pattern named at one, follows its meeting (an action item
    /// its decision first): written where the meeting is, so a compartment's meeting does not tell the whole group
    /// what was decided there. A story and a conversation marker never follow anything: sharing a story, and
    /// counting conversations, are what they are for.
    pub fn target(&self) -> Option<(RecordKind, &str)> {
        use Edit::*;
        fn meeting(id: &Option<RecordId>) -> Option<(RecordKind, &str)> {
            id.as_deref().map(|id| (RecordKind::Meeting, id))
        }
        match self {
            RenameGroup { .. }
            | EditCharter(_)
            | SetRelay { .. }
            | RemoveRelay { .. }
            | AddLocalMember { .. }
            | GrantRole { .. }
            | AddMeeting(_)
            | AddPerson(_)
            | AddOneOnOne(_)
            | AddConversation { .. }
            | AddStory(_) => None,
            UpdateMember { member, .. } => Some((RecordKind::Member, member)),
            EndRole { grant, .. } => Some((RecordKind::Role, grant)),
            UpdateMeeting { meeting, .. }
            | SetMinutes { meeting, .. }
            | AppendMinutes { meeting, .. }
            | AddAgendaItem { meeting, .. }
            | AddAttendance { meeting, .. }
            | RemoveAttendance { meeting, .. } => Some((RecordKind::Meeting, meeting)),
            SetAgendaItemDone { item, .. } => Some((RecordKind::Agenda, item)),
            AddDecision(decision) => meeting(&decision.meeting),
            UpdateDecision { decision, .. } => Some((RecordKind::Decision, decision)),
            AddAction(action) => match &action.decision {
                Some(decision) => Some((RecordKind::Decision, decision)),
                None => meeting(&action.meeting),
            },
            SetActionDone { action, .. } | UpdateAction { action, .. } => Some((RecordKind::Action, action)),
            UpdatePerson { person, .. } => Some((RecordKind::Person, person)),
            UpdateOneOnOne { one_on_one, .. } => Some((RecordKind::OneOnOne, one_on_one)),
            UpdateStory { story, .. } => Some((RecordKind::Story, story)),
            AddPattern(pattern) => meeting(&pattern.named_at),
            UpdatePattern { pattern, .. }
            | LinkPatternStory { pattern, .. }
            | UnlinkPatternStory { pattern, .. }
            | LinkPatternMeeting { pattern, .. }
            | UnlinkPatternMeeting { pattern, .. } => Some((RecordKind::Pattern, pattern)),
            Resolve { kind: RecordKind::Group | RecordKind::Charter, .. } => None,
            Resolve { kind, record, .. } => Some((*kind, record)),
            PutRecord { kind, data } => Some((*kind, &data.id)),
            DeleteRecord { kind, id } => Some((*kind, id)),
        }
    }
}

impl GroupDoc {
    /// Makes one [`Edit`], validated first: a refused edit changes nothing.
    pub fn apply(&mut self, edit: Edit) -> Result<Applied, ModelError> {
        use Edit::*;
        let changed = |result: Result<(), ModelError>| result.map(|()| Applied::Changed);
        match edit {
            RenameGroup { name } => changed(self.rename_group(&name)),
            EditCharter(patch) => changed(self.edit_charter(&patch)),
            AddLocalMember { name, joined, sponsor } => {
                self.add_local_member(&name, joined, sponsor.as_deref()).map(Applied::Created)
            }
            UpdateMember { member, name, status } => changed(self.update_member(&member, name.as_deref(), status)),
            GrantRole { member, role, from, until } => {
                self.grant_role(&member, &role, from, until).map(Applied::Created)
            }
            EndRole { grant, on } => changed(self.end_role(&grant, on)),
            AddMeeting(meeting) => self.add_meeting(meeting).map(Applied::Created),
            UpdateMeeting { meeting, patch } => changed(self.update_meeting(&meeting, patch)),
            SetMinutes { meeting, text, base } => self.merge_minutes(&meeting, &text, &base).map(Applied::Minutes),
            AppendMinutes { meeting, text } => changed(self.append_minutes(&meeting, &text)),
            AddAgendaItem { meeting, title, owner } => {
                self.add_agenda_item(&meeting, &title, owner.as_deref()).map(Applied::Created)
            }
            SetAgendaItemDone { item, done } => changed(self.set_agenda_item_done(&item, done)),
            AddAttendance { meeting, who, new_face } => {
                self.add_attendance(&meeting, who, new_face).map(Applied::Created)
            }
            RemoveAttendance { meeting, who } => self.remove_attendance(&meeting, &who).map(Applied::Removed),
            AddDecision(decision) => self.add_decision(decision).map(Applied::Created),
            UpdateDecision { decision, patch } => changed(self.update_decision(&decision, patch)),
            AddAction(action) => self.add_action(action).map(Applied::Created),
            SetActionDone { action, on } => changed(self.set_action_done(&action, on)),
            UpdateAction { action, patch } => changed(self.update_action(&action, patch)),
            Resolve { kind, record, field, value } => changed(self.resolve(kind, &record, &field, &value)),
            SetRelay { relay, owner, addresses } => changed(self.set_relay(&relay, &owner, &addresses)),
            RemoveRelay { relay } => changed(self.remove_relay(&relay)),
            AddPerson(person) => self.add_person(person).map(Applied::Created),
            UpdatePerson { person, patch } => changed(self.update_person(&person, patch)),
            AddOneOnOne(one) => self.add_one_on_one(one).map(Applied::Created),
            UpdateOneOnOne { one_on_one, patch } => changed(self.update_one_on_one(&one_on_one, patch)),
            AddConversation { by, on, with_base } => self.add_conversation(&by, on, with_base).map(Applied::Created),
            AddStory(story) => self.add_story(story).map(Applied::Created),
            UpdateStory { story, patch } => changed(self.update_story(&story, patch)),
            AddPattern(pattern) => self.add_pattern(pattern).map(Applied::Created),
            UpdatePattern { pattern, patch } => changed(self.update_pattern(&pattern, patch)),
            LinkPatternStory { pattern, story } => changed(self.link_pattern_story(&pattern, &story)),
            UnlinkPatternStory { pattern, story } => changed(self.unlink_pattern_story(&pattern, &story)),
            LinkPatternMeeting { pattern, meeting } => changed(self.link_pattern_meeting(&pattern, &meeting)),
            UnlinkPatternMeeting { pattern, meeting } => changed(self.unlink_pattern_meeting(&pattern, &meeting)),
            PutRecord { kind, data } => changed(self.put_record(kind, &data)),
            DeleteRecord { kind, id } => self.delete_record(kind, &id).map(|()| Applied::Removed(1)),
        }
    }
}
