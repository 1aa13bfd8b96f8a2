//! The group document: a core group's records as one automerge document, behind a typed API.
//!
//! [`GroupDoc`] owns the automerge document. Every edit is a method that validates its input first and only then
//! writes, so a rejected edit changes nothing. [`GroupDoc::view`] materializes the document into plain
//! [`view`] types for display, export and [`vitality`]. How values merge:
//!
//! - long prose (minutes, the charter's paragraphs) is collaborative text: concurrent edits merge character by
//!   character;
//! - attendance is a set of append-only records: concurrent additions are a union;
//! - a single-value field (a title, an outcome, a due date) edited concurrently keeps every concurrent value, and the
//!   view lists them in the record's `conflicts` until someone settles it ([`GroupDoc::resolve`] or a new edit).
//!
//! Record ids are random (UUID v4, 32 hex characters), never derived from names.
//!
//! ```
//! use chrono::NaiveDate;
//! use sunspace_model::{Founder, GroupDoc, NewMeeting};
//!
//! let founder = Founder { device_id: "aa".repeat(32), agreement_key: "bb".repeat(32), display_name: "Ana".into() };
//! let today = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
//! let (mut doc, ana) = GroupDoc::create(&"cd".repeat(16), "Warehouse Core Group", &founder, today).unwrap();
//! let meeting = doc.add_meeting(NewMeeting::new(today, "First meeting")).unwrap();
//! doc.append_minutes(&meeting, "We named the scheduling pattern.").unwrap();
//! doc.add_attendance(&meeting, sunspace_model::Attendee::Member(ana), false).unwrap();
//! let view = doc.view();
//! assert_eq!(view.meetings[0].minutes, "We named the scheduling pattern.");
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod cadence;
mod chunks;
mod doc;
pub mod edit;
mod error;
pub mod export;
pub mod history;
mod ids;
pub mod incoming;
mod input;
mod listening;
mod read;
pub mod view;
pub mod vitality;

pub use automerge::ChangeHash;
pub use cadence::Cadence;
pub use doc::{DeviceRecord, Founder, GroupDoc, RecordData, RecordValue, SCHEMA_VERSION};
pub use error::ModelError;
pub use history::FieldChange;
pub use ids::{is_record_id, new_record_id, RecordId};
pub use incoming::{chunk_checksum, ChangeRefusal, Vetted, MAX_INFLATED_BYTES, MAX_OPS_PER_ENTRY};
pub use input::{
    ActionPatch, CharterPatch, DecisionMethod, DecisionPatch, MeetingPatch, NewAction, NewDecision, NewMeeting,
    RecordKind, MAX_NAME_LEN, MAX_NOTE_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN,
};
pub use listening::{
    NewOneOnOne, NewPattern, NewPerson, NewStory, OneOnOnePatch, PatternPatch, PatternState, PersonPatch, Stance,
    StoryPatch, Warmth,
};
pub use view::{ActionStatus, Attendee, Conflict, ConflictValue, GroupView, MemberStatus, RelayView};
