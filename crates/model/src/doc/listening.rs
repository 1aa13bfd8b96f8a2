//! The edits and readers of the listening step's records: the base, one-on-ones, conversation markers, stories and
//! patterns (inputs in [`crate::listening`]).
//!
//! References are checked where the document can check them ([`GroupDoc::require_ref`]): members and persons and
//! meetings in a group's document. Two never are, because by design they usually name a record in another
//! document: the one-on-one a story comes from (the notes stay in their author's own compartment), and a story
//! linked into a pattern (stories may be shared into the group's document or into a compartment, and a pattern
//! collects them wherever they are). Those are only checked to have the shape of a record id.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc};
use chrono::NaiveDate;

use super::{date_text, GroupDoc};
use crate::ids::new_record_id;
use crate::input::{check_len, optional_line, required_line};
use crate::read::{child, Fields};
use crate::view::{ConversationView, OneOnOneView, PatternView, PersonView, StoryView};
use crate::{
    ModelError, NewOneOnOne, NewPattern, NewPerson, NewStory, OneOnOnePatch, PatternPatch, PersonPatch, RecordId,
    RecordKind, StoryPatch, MAX_NAME_LEN, MAX_NOTE_LEN, MAX_TITLE_LEN,
};

impl GroupDoc {
    // ---- writing helpers ----

    /// Writes collaborative text `value` at `key` of `obj` as the smallest character edit.
    fn put_prose(&mut self, obj: &ObjId, key: &str, value: &str) -> Result<(), ModelError> {
        let text = self.text_field(obj, key)?;
        self.doc.update_text(&text, value)?;
        Ok(())
    }

    /// The nested map at `key` of `obj`, made if missing.
    fn map_field(&mut self, obj: &ObjId, key: &str) -> Result<ObjId, ModelError> {
        match child(&self.doc, obj, key, ObjType::Map) {
            Some(map) => Ok(map),
            None => Ok(self.doc.put_object(obj, key, ObjType::Map)?),
        }
    }

    fn check_ref(&self, kind: RecordKind, id: Option<&String>) -> Result<(), ModelError> {
        id.map_or(Ok(()), |id| self.require_ref(kind, id))
    }

    // ---- the base ----

    /// Adds someone to the base: a person the group talks to who is not (yet) a member.
    pub fn add_person(&mut self, person: NewPerson) -> Result<RecordId, ModelError> {
        let name = required_line("person's name", &person.name, MAX_NAME_LEN)?;
        let place = optional_line("place", person.place.as_deref(), MAX_NAME_LEN)?;
        self.check_ref(RecordKind::Member, person.holder.as_ref())?;
        let people = self.table_for_write("people")?;
        let id = new_record_id();
        let obj = self.doc.put_object(&people, id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "name", name)?;
        self.put_optional(&obj, "place", place)?;
        self.put_optional(&obj, "holder", person.holder)?;
        self.doc.put(&obj, "stance", person.stance.as_str())?;
        self.doc.put(&obj, "added", date_text(person.added))?;
        Ok(id)
    }

    /// Changes a person in the base: their details, who holds the relationship, where they stand, and the member
    /// record they became when they joined.
    pub fn update_person(&mut self, person: &str, patch: PersonPatch) -> Result<(), ModelError> {
        let name = patch.name.as_deref().map(|n| required_line("person's name", n, MAX_NAME_LEN)).transpose()?;
        let place = patch.place.as_ref().map(|p| optional_line("place", p.as_deref(), MAX_NAME_LEN)).transpose()?;
        if let Some(holder) = &patch.holder {
            self.check_ref(RecordKind::Member, holder.as_ref())?;
        }
        if let Some(member) = &patch.became_member {
            self.check_ref(RecordKind::Member, member.as_ref())?;
        }
        let obj = self.record(RecordKind::Person, person)?;
        if let Some(name) = name {
            self.doc.put(&obj, "name", name)?;
        }
        if let Some(place) = place {
            self.put_optional(&obj, "place", place)?;
        }
        if let Some(holder) = patch.holder {
            self.put_optional(&obj, "holder", holder)?;
        }
        if let Some(stance) = patch.stance {
            self.doc.put(&obj, "stance", stance.as_str())?;
        }
        if let Some(member) = patch.became_member {
            self.put_optional(&obj, "became_member", member)?;
        }
        if let Some(added) = patch.added {
            self.doc.put(&obj, "added", date_text(added))?;
        }
        Ok(())
    }

    // ---- one-on-ones ----

    /// Checks who a one-on-one was with: a member, a person in the base, or someone named in words; not both a
    /// member and a person. Returns the name in words, trimmed ("" for none).
    fn check_counterpart(
        &self,
        with_member: Option<&String>,
        with_person: Option<&String>,
        with_name: &str,
    ) -> Result<String, ModelError> {
        let name = optional_line("name of who it was with", Some(with_name), MAX_NAME_LEN)?.unwrap_or_default();
        if with_member.is_some() && with_person.is_some() {
            return Err(ModelError::Invalid(
                "a one-on-one is with a member or with a person in the base, not both".into(),
            ));
        }
        if with_member.is_none() && with_person.is_none() && name.is_empty() {
            return Err(ModelError::Empty { field: "name of who it was with" });
        }
        self.check_ref(RecordKind::Member, with_member)?;
        self.check_ref(RecordKind::Person, with_person)?;
        Ok(name)
    }

    fn check_next_step_date(on: NaiveDate, next_step_on: Option<NaiveDate>) -> Result<(), ModelError> {
        if next_step_on.is_some_and(|next| next < on) {
            return Err(ModelError::Invalid("the next step cannot be due before the conversation".into()));
        }
        Ok(())
    }

    /// Records a one-on-one conversation's notes. Keep them in the author's own compartment unless the person
    /// agreed otherwise; the group counts conversations by their markers ([`GroupDoc::add_conversation`]).
    pub fn add_one_on_one(&mut self, one: NewOneOnOne) -> Result<RecordId, ModelError> {
        self.require_ref(RecordKind::Member, &one.by)?;
        let with_name = self.check_counterpart(one.with_member.as_ref(), one.with_person.as_ref(), &one.with_name)?;
        let place = optional_line("place", one.place.as_deref(), MAX_NAME_LEN)?;
        let prose = [
            ("keeps_up_at_night", one.keeps_up_at_night.as_str()),
            ("wish_different", one.wish_different.as_str()),
            ("others_who_share", one.others_who_share.as_str()),
        ];
        for (field, text) in prose {
            check_len(field, text, MAX_NOTE_LEN)?;
        }
        let next_step = optional_line("next step", one.next_step.as_deref(), MAX_TITLE_LEN)?;
        Self::check_next_step_date(one.on, one.next_step_on)?;
        let table = self.table_for_write("one_on_ones")?;
        let id = new_record_id();
        let obj = self.doc.put_object(&table, id.as_str(), ObjType::Map)?;
        self.put_optional(&obj, "with_member", one.with_member.clone())?;
        self.put_optional(&obj, "with_person", one.with_person.clone())?;
        self.doc.put(&obj, "with_name", with_name)?;
        self.doc.put(&obj, "on", date_text(one.on))?;
        self.put_optional(&obj, "place", place)?;
        for (field, text) in prose {
            self.put_prose(&obj, field, text)?;
        }
        self.doc.put(&obj, "warmth", one.warmth.as_str())?;
        self.put_optional(&obj, "next_step", next_step)?;
        self.put_optional(&obj, "next_step_on", one.next_step_on.map(date_text))?;
        self.doc.put(&obj, "by", one.by.as_str())?;
        Ok(id)
    }

    /// Changes a one-on-one's notes. Who it was with and the dates are checked as they will stand after the
    /// change; the prose answers are updated as text diffs, so concurrent edits merge.
    pub fn update_one_on_one(&mut self, one_on_one: &str, patch: OneOnOnePatch) -> Result<(), ModelError> {
        let obj = self.record(RecordKind::OneOnOne, one_on_one)?;
        let mut current = Fields::new(&self.doc, obj.clone());
        let with_member = patch.with_member.clone().unwrap_or_else(|| current.string("with_member"));
        let with_person = patch.with_person.clone().unwrap_or_else(|| current.string("with_person"));
        let with_name = patch.with_name.clone().unwrap_or_else(|| current.string("with_name").unwrap_or_default());
        let on = patch.on.or_else(|| current.date("on"));
        let next_step_on = patch.next_step_on.unwrap_or_else(|| current.date("next_step_on"));
        let with_name = self.check_counterpart(with_member.as_ref(), with_person.as_ref(), &with_name)?;
        if let Some(on) = on {
            Self::check_next_step_date(on, next_step_on)?;
        }
        let place = patch.place.as_ref().map(|p| optional_line("place", p.as_deref(), MAX_NAME_LEN)).transpose()?;
        let prose = [
            ("keeps_up_at_night", &patch.keeps_up_at_night),
            ("wish_different", &patch.wish_different),
            ("others_who_share", &patch.others_who_share),
        ];
        for (field, text) in prose {
            if let Some(text) = text {
                check_len(field, text, MAX_NOTE_LEN)?;
            }
        }
        let next_step =
            patch.next_step.as_ref().map(|n| optional_line("next step", n.as_deref(), MAX_TITLE_LEN)).transpose()?;
        if let Some(with_member) = patch.with_member {
            self.put_optional(&obj, "with_member", with_member)?;
        }
        if let Some(with_person) = patch.with_person {
            self.put_optional(&obj, "with_person", with_person)?;
        }
        if patch.with_name.is_some() {
            self.doc.put(&obj, "with_name", with_name)?;
        }
        if let Some(on) = patch.on {
            self.doc.put(&obj, "on", date_text(on))?;
        }
        if let Some(place) = place {
            self.put_optional(&obj, "place", place)?;
        }
        for (field, text) in prose {
            if let Some(text) = text {
                self.put_prose(&obj, field, text)?;
            }
        }
        if let Some(warmth) = patch.warmth {
            self.doc.put(&obj, "warmth", warmth.as_str())?;
        }
        if let Some(next_step) = next_step {
            self.put_optional(&obj, "next_step", next_step)?;
        }
        if let Some(next_step_on) = patch.next_step_on {
            self.put_optional(&obj, "next_step_on", next_step_on.map(date_text))?;
        }
        Ok(())
    }

    /// Records that member `by` held a one-on-one on `on`, with someone in the base (`with_base`) or a member: a
    /// marker with no content and no name of the other person, so the whole group can count conversations (per
    /// month, per member) while the notes stay with their author.
    pub fn add_conversation(&mut self, by: &str, on: NaiveDate, with_base: bool) -> Result<RecordId, ModelError> {
        self.require_ref(RecordKind::Member, by)?;
        let table = self.table_for_write("conversations")?;
        let id = new_record_id();
        let obj = self.doc.put_object(&table, id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "by", by)?;
        self.doc.put(&obj, "on", date_text(on))?;
        self.doc.put(&obj, "with_base", with_base)?;
        Ok(id)
    }

    // ---- stories ----

    /// Shares a passage from a one-on-one. The one-on-one it comes from is not looked for (its notes are usually
    /// in the author's own compartment); the member who shares it is.
    pub fn add_story(&mut self, story: NewStory) -> Result<RecordId, ModelError> {
        if story.text.trim().is_empty() {
            return Err(ModelError::Empty { field: "story" });
        }
        check_len("story", &story.text, MAX_NOTE_LEN)?;
        let told_by = optional_line("teller", story.told_by.as_deref(), MAX_NAME_LEN)?;
        if let Some(one_on_one) = &story.from_one_on_one {
            Self::require_id_shape(RecordKind::OneOnOne, one_on_one)?;
        }
        self.require_ref(RecordKind::Member, &story.shared_by)?;
        let table = self.table_for_write("stories")?;
        let id = new_record_id();
        let obj = self.doc.put_object(&table, id.as_str(), ObjType::Map)?;
        self.put_prose(&obj, "text", story.text.trim())?;
        self.put_optional(&obj, "told_by", told_by)?;
        self.put_optional(&obj, "from_one_on_one", story.from_one_on_one)?;
        self.doc.put(&obj, "shared_by", story.shared_by.as_str())?;
        self.doc.put(&obj, "shared_on", date_text(story.shared_on))?;
        Ok(id)
    }

    /// Changes a story's text (as a text diff) or how its teller is described.
    pub fn update_story(&mut self, story: &str, patch: StoryPatch) -> Result<(), ModelError> {
        if let Some(text) = &patch.text {
            if text.trim().is_empty() {
                return Err(ModelError::Empty { field: "story" });
            }
            check_len("story", text, MAX_NOTE_LEN)?;
        }
        let told_by =
            patch.told_by.as_ref().map(|t| optional_line("teller", t.as_deref(), MAX_NAME_LEN)).transpose()?;
        let obj = self.record(RecordKind::Story, story)?;
        if let Some(text) = patch.text {
            self.put_prose(&obj, "text", text.trim())?;
        }
        if let Some(told_by) = told_by {
            self.put_optional(&obj, "told_by", told_by)?;
        }
        Ok(())
    }

    // ---- patterns ----

    /// Records a pattern the group named. The meeting where it was named, if given, is also the first of the
    /// meetings that discussed it.
    pub fn add_pattern(&mut self, pattern: NewPattern) -> Result<RecordId, ModelError> {
        let name = required_line("pattern", &pattern.name, MAX_TITLE_LEN)?;
        check_len("description", &pattern.description, MAX_NOTE_LEN)?;
        self.check_ref(RecordKind::Meeting, pattern.named_at.as_ref())?;
        let table = self.table_for_write("patterns")?;
        let id = new_record_id();
        let obj = self.doc.put_object(&table, id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "name", name)?;
        self.doc.put(&obj, "named_on", date_text(pattern.named_on))?;
        self.put_optional(&obj, "named_at", pattern.named_at.clone())?;
        self.doc.put(&obj, "state", pattern.state.as_str())?;
        self.doc.put_object(&obj, "stories", ObjType::Map)?;
        let meetings = self.doc.put_object(&obj, "meetings", ObjType::Map)?;
        if let Some(meeting) = &pattern.named_at {
            self.doc.put(&meetings, meeting.as_str(), true)?;
        }
        self.doc.put(&obj, "conversations", i64::from(pattern.conversations))?;
        self.put_prose(&obj, "description", &pattern.description)?;
        Ok(id)
    }

    /// Changes a pattern's name, state, description (as a text diff) or count of conversations.
    pub fn update_pattern(&mut self, pattern: &str, patch: PatternPatch) -> Result<(), ModelError> {
        let name = patch.name.as_deref().map(|n| required_line("pattern", n, MAX_TITLE_LEN)).transpose()?;
        if let Some(description) = &patch.description {
            check_len("description", description, MAX_NOTE_LEN)?;
        }
        let obj = self.record(RecordKind::Pattern, pattern)?;
        if let Some(name) = name {
            self.doc.put(&obj, "name", name)?;
        }
        if let Some(state) = patch.state {
            self.doc.put(&obj, "state", state.as_str())?;
        }
        if let Some(description) = patch.description {
            self.put_prose(&obj, "description", &description)?;
        }
        if let Some(conversations) = patch.conversations {
            self.doc.put(&obj, "conversations", i64::from(conversations))?;
        }
        Ok(())
    }

    /// Links a story to a pattern. The story need not be in this document: it may have been shared into a
    /// compartment, and the pattern names it by id wherever it is. Links are a set, so links made on two devices
    /// at once are both kept; linking a story twice changes nothing.
    pub fn link_pattern_story(&mut self, pattern: &str, story: &str) -> Result<(), ModelError> {
        Self::require_id_shape(RecordKind::Story, story)?;
        self.set_link(pattern, "stories", story, true)
    }

    /// Unlinks a story from a pattern (a story not linked is left as it is).
    pub fn unlink_pattern_story(&mut self, pattern: &str, story: &str) -> Result<(), ModelError> {
        Self::require_id_shape(RecordKind::Story, story)?;
        self.set_link(pattern, "stories", story, false)
    }

    /// Records that a meeting discussed a pattern (checked to exist in a group's document).
    pub fn link_pattern_meeting(&mut self, pattern: &str, meeting: &str) -> Result<(), ModelError> {
        self.require_ref(RecordKind::Meeting, meeting)?;
        self.set_link(pattern, "meetings", meeting, true)
    }

    /// Takes a meeting off a pattern's meetings (a meeting not linked is left as it is).
    pub fn unlink_pattern_meeting(&mut self, pattern: &str, meeting: &str) -> Result<(), ModelError> {
        Self::require_id_shape(RecordKind::Meeting, meeting)?;
        self.set_link(pattern, "meetings", meeting, false)
    }

    fn set_link(&mut self, pattern: &str, set: &str, id: &str, linked: bool) -> Result<(), ModelError> {
        let obj = self.record(RecordKind::Pattern, pattern)?;
        let links = self.map_field(&obj, set)?;
        if linked {
            self.doc.put(&links, id, true)?;
        } else if self.doc.get(&links, id)?.is_some() {
            self.doc.delete(&links, id)?;
        }
        Ok(())
    }

    // ---- reading ----

    pub(super) fn read_person(id: &str, mut fields: Fields<'_>) -> Option<PersonView> {
        Some(PersonView {
            id: id.to_owned(),
            name: fields.string("name")?,
            place: fields.string("place"),
            holder: fields.string("holder"),
            stance: match fields.string("stance") {
                None => Default::default(),
                Some(stance) => stance.parse().ok()?,
            },
            became_member: fields.string("became_member"),
            added: fields.date("added")?,
            conflicts: fields.finish(),
        })
    }

    pub(super) fn read_one_on_one(id: &str, mut fields: Fields<'_>) -> Option<OneOnOneView> {
        Some(OneOnOneView {
            id: id.to_owned(),
            with_member: fields.string("with_member"),
            with_person: fields.string("with_person"),
            with_name: fields.string("with_name").unwrap_or_default(),
            on: fields.date("on")?,
            place: fields.string("place"),
            keeps_up_at_night: fields.text("keeps_up_at_night"),
            wish_different: fields.text("wish_different"),
            others_who_share: fields.text("others_who_share"),
            warmth: fields.string("warmth")?.parse().ok()?,
            next_step: fields.string("next_step"),
            next_step_on: fields.date("next_step_on"),
            by: fields.string("by")?,
            conflicts: fields.finish(),
        })
    }

    pub(super) fn read_conversation(id: &str, mut fields: Fields<'_>) -> Option<ConversationView> {
        Some(ConversationView {
            id: id.to_owned(),
            by: fields.string("by")?,
            on: fields.date("on")?,
            with_base: fields.boolean("with_base"),
            conflicts: fields.finish(),
        })
    }

    pub(super) fn read_story(id: &str, mut fields: Fields<'_>) -> Option<StoryView> {
        Some(StoryView {
            id: id.to_owned(),
            text: fields.text("text"),
            told_by: fields.string("told_by"),
            from_one_on_one: fields.string("from_one_on_one"),
            shared_by: fields.string("shared_by")?,
            shared_on: fields.date("shared_on")?,
            conflicts: fields.finish(),
        })
    }

    pub(super) fn read_pattern(id: &str, mut fields: Fields<'_>) -> Option<PatternView> {
        let mut stories = fields.map_keys("stories");
        stories.sort();
        let mut meetings = fields.map_keys("meetings");
        meetings.sort();
        Some(PatternView {
            id: id.to_owned(),
            name: fields.string("name")?,
            named_on: fields.date("named_on")?,
            named_at: fields.string("named_at"),
            state: match fields.string("state") {
                None => Default::default(),
                Some(state) => state.parse().ok()?,
            },
            stories,
            meetings,
            conversations: fields.int("conversations").and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
            description: fields.text("description"),
            conflicts: fields.finish(),
        })
    }
}

#[cfg(test)]
mod tests;
