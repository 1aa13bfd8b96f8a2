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
    NewAction, NewDecision, NewMeeting, RecordId, RecordKind,
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
    /// How many records were taken away (attendance).
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
            Resolve { kind, .. } => *kind,
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
        }
    }
}
