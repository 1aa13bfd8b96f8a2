//! What callers give to the edits of the listening step of the organizing cycle: the base (people the group talks
//! to), one-on-one conversations and their content-free markers, stories shared from them, and the patterns the
//! group names (see the pattern card, "Implementation", steps 1 and 2).
//!
//! Where these records live decides who reads them: a one-on-one's notes are usually kept in the author's own
//! compartment, the group's document holding only a [`crate::RecordKind::Conversation`] marker (who held one, when,
//! and whether it was with someone in the base) so the group can count conversations without reading them.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::RecordId;

/// An enum stored as one lowercase word: `ALL`, `as_str`, `Display` and `FromStr` (any case, surrounding space
/// ignored), with the refusal naming the words.
macro_rules! stored_words {
    ($name:ident, $what:literal, $($variant:ident => $word:literal),+ $(,)?) => {
        impl $name {
            /// Every value, in the order they are offered.
            pub const ALL: [$name; [$($word),+].len()] = [$($name::$variant),+];

            /// The stored and displayed word.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let lower = text.trim().to_lowercase();
                Self::ALL.into_iter().find(|value| value.as_str() == lower).ok_or_else(|| {
                    let words: Vec<&str> = Self::ALL.iter().map(|value| value.as_str()).collect();
                    format!("\"{text}\" is not {} ({})", $what, words.join(", "))
                })
            }
        }
    };
}

/// Where someone in the base stands on what the group is working on, as the member who holds the relationship
/// judges it.
///
/// A rough word, not a score: organizers' own guidance (`research/organizing-cycle.md`) warns against keeping
/// per-person support ratings where they can leak. The group decides where the base lives (the group's document or
/// a compartment); vitality only ever counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Stance {
    /// Not known yet.
    #[default]
    Unknown,
    /// Supports it.
    Supportive,
    /// Has not made up their mind.
    Undecided,
    /// Against it.
    Opposed,
}

stored_words!(Stance, "a stance", Unknown => "unknown", Supportive => "supportive", Undecided => "undecided",
    Opposed => "opposed");

/// How warm a relationship is after a one-on-one: a temperature, not a verdict on the person.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Warmth {
    /// Guarded; little trust yet.
    #[default]
    Cold,
    /// Opening up.
    Warming,
    /// Trusting.
    Warm,
    /// Close: would bring others in.
    Close,
}

stored_words!(Warmth, "a warmth", Cold => "cold", Warming => "warming", Warm => "warm", Close => "close");

/// Where a named pattern is in the organizing cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum PatternState {
    /// Named by the group.
    #[default]
    Named,
    /// The group is researching the institution about it.
    Researching,
    /// A demand addresses it.
    Demand,
    /// The demand was won.
    Won,
    /// Set aside.
    Retired,
}

stored_words!(PatternState, "a pattern state", Named => "named", Researching => "researching", Demand => "demand",
    Won => "won", Retired => "retired");

/// Someone new in the base.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPerson {
    /// Their name, as the group knows them.
    pub name: String,
    /// Where they work or live in the institution ("night shift, building 2").
    pub place: Option<String>,
    /// The member who holds the relationship.
    pub holder: Option<RecordId>,
    /// Where they stand.
    pub stance: Stance,
    /// When they were added to the base.
    pub added: NaiveDate,
}

impl NewPerson {
    /// A person known only by name, stance unknown.
    pub fn new(name: &str, added: NaiveDate) -> Self {
        Self { name: name.into(), place: None, holder: None, stance: Stance::Unknown, added }
    }
}

/// Changes to a person in the base; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonPatch {
    /// New name.
    pub name: Option<String>,
    /// New place.
    pub place: Option<Option<String>>,
    /// New holder of the relationship.
    pub holder: Option<Option<RecordId>>,
    /// New stance.
    pub stance: Option<Stance>,
    /// The member record they became when they joined (or `Some(None)`: they did not, after all).
    pub became_member: Option<Option<RecordId>>,
    /// Corrected date they were added.
    pub added: Option<NaiveDate>,
}

/// A one-on-one conversation's notes. It is with a member, with a person in the base, or with someone named only
/// in `with_name` (required when neither is given).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOneOnOne {
    /// The member it was with.
    pub with_member: Option<RecordId>,
    /// The person in the base it was with.
    pub with_person: Option<RecordId>,
    /// Who it was with, in words, when they are neither a member nor in the base (or as the author calls them).
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
    /// How warm the relationship is now.
    pub warmth: Warmth,
    /// What comes next.
    pub next_step: Option<String>,
    /// By when.
    pub next_step_on: Option<NaiveDate>,
    /// The member who held it.
    pub by: RecordId,
}

impl NewOneOnOne {
    /// Notes of a conversation held by member `by` on `on` with someone named `with_name`, the rest empty.
    pub fn new(by: &str, on: NaiveDate, with_name: &str) -> Self {
        Self {
            with_member: None,
            with_person: None,
            with_name: with_name.into(),
            on,
            place: None,
            keeps_up_at_night: String::new(),
            wish_different: String::new(),
            others_who_share: String::new(),
            warmth: Warmth::Cold,
            next_step: None,
            next_step_on: None,
            by: by.into(),
        }
    }
}

/// Changes to a one-on-one's notes (who held it stays). Prose answers are collaborative text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OneOnOnePatch {
    /// New member it was with.
    pub with_member: Option<Option<RecordId>>,
    /// New person in the base it was with.
    pub with_person: Option<Option<RecordId>>,
    /// New name in words ("" for none).
    pub with_name: Option<String>,
    /// New date.
    pub on: Option<NaiveDate>,
    /// New place.
    pub place: Option<Option<String>>,
    /// "What keeps you up at night?"
    pub keeps_up_at_night: Option<String>,
    /// "What do you wish was different?"
    pub wish_different: Option<String>,
    /// "Who else shares this experience?"
    pub others_who_share: Option<String>,
    /// New warmth.
    pub warmth: Option<Warmth>,
    /// New next step.
    pub next_step: Option<Option<String>>,
    /// New date for the next step.
    pub next_step_on: Option<Option<NaiveDate>>,
}

/// A passage shared from a one-on-one.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStory {
    /// The passage.
    pub text: String,
    /// How the teller is described: a name, "someone on the night shift", or `None` for no one in particular.
    pub told_by: Option<String>,
    /// The one-on-one it comes from. Not checked against this document: the notes usually live in the author's
    /// own compartment, which this document cannot see.
    pub from_one_on_one: Option<RecordId>,
    /// The member who shared it.
    pub shared_by: RecordId,
    /// When.
    pub shared_on: NaiveDate,
}

/// Changes to a story.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoryPatch {
    /// New text (collaborative text).
    pub text: Option<String>,
    /// New description of the teller.
    pub told_by: Option<Option<String>>,
}

/// A pattern the group named.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPattern {
    /// What the group calls it ("invisible to scheduling").
    pub name: String,
    /// When it was named.
    pub named_on: NaiveDate,
    /// The meeting where it was named.
    pub named_at: Option<RecordId>,
    /// Where it is in the cycle.
    pub state: PatternState,
    /// How many conversations surfaced it.
    pub conversations: u32,
    /// What it is, in the group's words.
    pub description: String,
}

impl NewPattern {
    /// A pattern just named, with no description yet.
    pub fn new(name: &str, named_on: NaiveDate) -> Self {
        Self {
            name: name.into(),
            named_on,
            named_at: None,
            state: PatternState::Named,
            conversations: 0,
            description: String::new(),
        }
    }
}

/// Changes to a pattern. Its stories and meetings are linked one at a time (`link_pattern_story`,
/// `link_pattern_meeting`), so that links made on two devices at once are both kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatternPatch {
    /// New name.
    pub name: Option<String>,
    /// New state.
    pub state: Option<PatternState>,
    /// New description (collaborative text).
    pub description: Option<String>,
    /// New count of the conversations that surfaced it.
    pub conversations: Option<u32>,
}
