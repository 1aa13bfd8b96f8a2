//! What callers give to the edit methods, and the checks every input passes before anything is written.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{ModelError, RecordId};

/// Longest title (meeting, agenda item, decision, action), in characters.
pub const MAX_TITLE_LEN: usize = 200;
/// Longest name (group, member, place, role, meeting type), in characters.
pub const MAX_NAME_LEN: usize = 120;
/// Longest collaborative text (minutes, a charter paragraph, a decision outcome), in characters. Large enough for
/// a long meeting's verbatim notes, small enough that one paste cannot make the group's document unwieldy.
pub const MAX_TEXT_LEN: usize = 1_000_000;
/// Longest note of the listening step (an answer in a one-on-one's notes, a story, a pattern's description), in
/// characters: about eight printed pages. These are a conversation's notes, not a transcript, and they are the
/// most sensitive text the group keeps; a bound this size keeps one of them from swallowing a device's budget.
pub const MAX_NOTE_LEN: usize = 20_000;

/// How a decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum DecisionMethod {
    /// No one has a principled objection.
    Consent,
    /// Everyone agrees.
    Consensus,
    /// More than half.
    Majority,
    /// A larger share than half, set by the charter.
    Supermajority,
    /// One person decides after seeking advice.
    Advice,
}

impl DecisionMethod {
    /// Every method, in the order they are offered.
    pub const ALL: [DecisionMethod; 5] = [
        DecisionMethod::Consent,
        DecisionMethod::Consensus,
        DecisionMethod::Majority,
        DecisionMethod::Supermajority,
        DecisionMethod::Advice,
    ];

    /// The stored and displayed name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DecisionMethod::Consent => "consent",
            DecisionMethod::Consensus => "consensus",
            DecisionMethod::Majority => "majority",
            DecisionMethod::Supermajority => "supermajority",
            DecisionMethod::Advice => "advice",
        }
    }
}

impl fmt::Display for DecisionMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DecisionMethod {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_lowercase();
        Self::ALL.into_iter().find(|method| method.as_str() == lower).ok_or_else(|| {
            format!("\"{text}\" is not a decision method (consent, consensus, majority, supermajority or advice)")
        })
    }
}

/// The kinds of record, for messages and for [`crate::GroupDoc::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// The group itself (its name).
    Group,
    /// The charter.
    Charter,
    /// A member.
    Member,
    /// A role grant.
    Role,
    /// A meeting.
    Meeting,
    /// An agenda item.
    Agenda,
    /// A decision.
    Decision,
    /// An action item.
    Action,
    /// Someone in the base: a person the group talks to who is not (yet) a member.
    Person,
    /// A one-on-one conversation's notes.
    #[serde(rename = "one_on_one")]
    OneOnOne,
    /// A content-free marker that a one-on-one happened, for the group's counts.
    Conversation,
    /// A passage shared from a one-on-one.
    Story,
    /// A pattern the group named.
    Pattern,
}

impl RecordKind {
    /// The word used in messages.
    pub fn noun(&self) -> &'static str {
        match self {
            RecordKind::Group => "group",
            RecordKind::Charter => "charter",
            RecordKind::Member => "member",
            RecordKind::Role => "role grant",
            RecordKind::Meeting => "meeting",
            RecordKind::Agenda => "agenda item",
            RecordKind::Decision => "decision",
            RecordKind::Action => "action item",
            RecordKind::Person => "person",
            RecordKind::OneOnOne => "one-on-one",
            RecordKind::Conversation => "conversation",
            RecordKind::Story => "story",
            RecordKind::Pattern => "pattern",
        }
    }

    /// The root table that holds records of this kind (`None` for the group, the charter and agenda items, which
    /// live in the group record, the charter record and their meeting).
    pub(crate) fn table(&self) -> Option<&'static str> {
        Some(match self {
            RecordKind::Group | RecordKind::Charter | RecordKind::Agenda => return None,
            RecordKind::Member => "members",
            RecordKind::Role => "roles",
            RecordKind::Meeting => "meetings",
            RecordKind::Decision => "decisions",
            RecordKind::Action => "actions",
            RecordKind::Person => "people",
            RecordKind::OneOnOne => "one_on_ones",
            RecordKind::Conversation => "conversations",
            RecordKind::Story => "stories",
            RecordKind::Pattern => "patterns",
        })
    }

    /// Whether records of this kind may be moved between the group's document and a compartment's
    /// ([`crate::GroupDoc::copy_record_out`], [`crate::GroupDoc::put_record`], [`crate::GroupDoc::delete_record`]).
    ///
    /// Members and role grants are not: who belongs to the group, and who holds which role, is the group's, and a
    /// merged view takes them from the group's document only ([`crate::GroupView::absorb`]). The group record, the
    /// charter and agenda items are parts of other records, not records of their own.
    pub fn movable(&self) -> bool {
        self.table().is_some() && !matches!(self, RecordKind::Member | RecordKind::Role)
    }
}

/// The root tables a device may make in a document that lacks them (the only writes to the root vetting accepts
/// from a device other than in the founder's first change): the records of the listening step.
pub(crate) const LISTENING_TABLES: [&str; 5] = ["people", "one_on_ones", "conversations", "stories", "patterns"];

/// A new meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMeeting {
    /// When it is (or was) held.
    pub date: NaiveDate,
    /// What it is called.
    pub title: String,
    /// Its type: "regular" unless said otherwise.
    pub kind: String,
    /// Where.
    pub place: Option<String>,
    /// Member id of the facilitator.
    pub facilitator: Option<RecordId>,
    /// Member id of the note-taker.
    pub note_taker: Option<RecordId>,
}

impl NewMeeting {
    /// A regular meeting with just a date and a title.
    pub fn new(date: NaiveDate, title: &str) -> Self {
        Self { date, title: title.into(), kind: "regular".into(), place: None, facilitator: None, note_taker: None }
    }
}

/// Changes to a meeting's single-value fields; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeetingPatch {
    /// New date.
    pub date: Option<NaiveDate>,
    /// New title.
    pub title: Option<String>,
    /// New type.
    pub kind: Option<String>,
    /// New place.
    pub place: Option<Option<String>>,
    /// New facilitator.
    pub facilitator: Option<Option<RecordId>>,
    /// New note-taker.
    pub note_taker: Option<Option<RecordId>>,
}

/// A new decision.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDecision {
    /// What was decided, in a line.
    pub title: String,
    /// How.
    pub method: DecisionMethod,
    /// The outcome: what was agreed, the count, the objections.
    pub outcome: String,
    /// When.
    pub date: NaiveDate,
    /// When the group should look at it again.
    pub review_by: Option<NaiveDate>,
    /// The meeting where it was made.
    pub meeting: Option<RecordId>,
}

/// Changes to a decision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionPatch {
    /// New title.
    pub title: Option<String>,
    /// New method.
    pub method: Option<DecisionMethod>,
    /// New outcome.
    pub outcome: Option<String>,
    /// New date.
    pub date: Option<NaiveDate>,
    /// New review date.
    pub review_by: Option<Option<NaiveDate>>,
}

/// A new action item.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAction {
    /// What is to be done.
    pub title: String,
    /// Member ids of who does it.
    pub owners: Vec<RecordId>,
    /// By when.
    pub due: Option<NaiveDate>,
    /// The decision it follows from.
    pub decision: Option<RecordId>,
    /// The meeting where it was agreed.
    pub meeting: Option<RecordId>,
}

/// Changes to an action item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionPatch {
    /// New title.
    pub title: Option<String>,
    /// New due date.
    pub due: Option<Option<NaiveDate>>,
    /// Owners to add.
    pub add_owners: Vec<RecordId>,
    /// Owners to remove.
    pub remove_owners: Vec<RecordId>,
}

/// Changes to the charter. Prose fields are collaborative text; the cadence is a single value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CharterPatch {
    /// Why the group exists.
    pub purpose: Option<String>,
    /// How decisions are made.
    pub decision_rules: Option<String>,
    /// How often the group meets.
    pub cadence: Option<crate::Cadence>,
    /// What members promise about what is said in the group.
    pub confidentiality: Option<String>,
}

/// Trims a required one-line text and checks its length.
pub(crate) fn required_line(field: &'static str, text: &str, max: usize) -> Result<String, ModelError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ModelError::Empty { field });
    }
    if trimmed.contains(['\n', '\r']) {
        return Err(ModelError::Invalid(format!("the {field} must be a single line")));
    }
    check_len(field, trimmed, max)?;
    Ok(trimmed.to_owned())
}

/// Like [`required_line`], but empty means "none".
pub(crate) fn optional_line(field: &'static str, text: Option<&str>, max: usize) -> Result<Option<String>, ModelError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => required_line(field, text, max).map(Some),
    }
}

/// Checks a multi-line text's length.
pub(crate) fn check_len(field: &'static str, text: &str, max: usize) -> Result<(), ModelError> {
    let len = text.chars().count();
    if len > max {
        return Err(ModelError::TooLong { field, len, max });
    }
    Ok(())
}
