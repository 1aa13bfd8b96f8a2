//! Listening: one-on-ones, the base, stories and patterns, and the compartments that keep them.
//!
//! The rules a front end must not decide live here: a one-on-one's notes go to the author's "only me" (made the
//! first time) and the group's records get only a content-free marker; a story goes where the author says (the
//! whole group by default); a compartment always holds the member who makes it.
//!
//! ```
//! use sunspace_api::Request;
//! let request: Request = serde_json::from_str(
//!     r#"{"request":"record-one-on-one","group":null,"one_on_one":{"with":"Dee","keeps_up_at_night":"the rota"}}"#,
//! ).unwrap();
//! assert!(matches!(request, Request::RecordOneOnOne { .. }));
//! ```

use sunspace_model::edit::{Applied, Edit};
use sunspace_model::{
    NewOneOnOne, NewPattern, NewPerson, NewStory, PatternPatch, PatternState, PersonPatch, RecordKind, Stance, Warmth,
};
use sunspace_node::{GroupId, GroupSnapshot, NodeCommand, NodeOutcome};

use crate::error::{ApiError, ErrorKind};
use crate::request::{
    GroupRef, OneOnOneInput, PatternChanges, PatternInput, PersonChanges, PersonInput, Response, StoryInput,
};
use crate::resolve::{self, Place};
use crate::service::{optional_date, outcome_mismatch, Service};
use crate::words;

fn my_member(snapshot: &GroupSnapshot) -> Result<String, ApiError> {
    snapshot.my_member.clone().ok_or_else(|| ApiError::new(ErrorKind::Refused, words::NOT_A_MEMBER_HERE))
}

fn compartment_id(hex: &str) -> Result<GroupId, ApiError> {
    GroupId::from_hex(hex).ok_or_else(|| ApiError::new(ErrorKind::NotFound, words::no_compartment_called(hex)))
}

impl Service {
    /// The compartment for `place`: `None` is the whole group; "only me" is made the first time it is needed.
    pub(crate) async fn place(
        &self,
        group: GroupId,
        snapshot: &GroupSnapshot,
        place: Option<Place>,
    ) -> Result<Option<GroupId>, ApiError> {
        match place {
            None => Ok(None),
            Some(Place::Compartment(hex)) => Ok(Some(compartment_id(&hex)?)),
            Some(Place::OnlyMe) => {
                if let Some(only_me) = snapshot.compartments.iter().find(|c| c.only_me && c.readable_here) {
                    return Ok(Some(compartment_id(&only_me.id)?));
                }
                let me = my_member(snapshot)?;
                let command =
                    NodeCommand::CreateCompartment { group, name: words::ONLY_ME.to_owned(), members: vec![me] };
                match self.run(command).await? {
                    NodeOutcome::CompartmentCreated { compartment } => Ok(Some(compartment)),
                    other => Err(outcome_mismatch(&other)),
                }
            }
        }
    }

    /// Makes a record with `edit` in `place` (the group's document or a compartment's).
    pub(crate) async fn create_in(
        &self,
        group: GroupId,
        place: Option<GroupId>,
        kind: RecordKind,
        edit: Edit,
        message: impl FnOnce(&str) -> String,
    ) -> Result<Response, ApiError> {
        let command = match place {
            Some(compartment) => NodeCommand::EditIn { group, compartment, edit },
            None => NodeCommand::Edit { group, edit },
        };
        match self.run(command).await? {
            NodeOutcome::Edited { applied: Applied::Created(id), heads } => {
                Ok(Response::Created { kind, message: message(&id), id, heads })
            }
            NodeOutcome::Edited { .. } => Err(ApiError::new(ErrorKind::Storage, words::NOT_MADE)),
            other => Err(outcome_mismatch(&other)),
        }
    }

    /// Records a one-on-one: the notes in "only me", then the group's content-free marker.
    pub(crate) async fn record_one_on_one(&self, group: GroupRef, input: OneOnOneInput) -> Result<Response, ApiError> {
        let (id, snapshot) = self.open(&group).await?;
        let view = &snapshot.view;
        let by = my_member(&snapshot)?;
        let with_member = resolve::try_member(view, &input.with).ok().flatten();
        let with_person =
            if with_member.is_none() { resolve::named(view, RecordKind::Person, &input.with).ok() } else { None };
        let on = optional_date(input.on.as_deref(), "date")?.unwrap_or_else(sunspace_node::today);
        let with_base = with_person.is_some();
        let new = NewOneOnOne {
            with_name: if with_member.is_none() && with_person.is_none() {
                input.with.trim().to_owned()
            } else {
                String::new()
            },
            with_member,
            with_person,
            on,
            place: input.place.filter(|p| !p.trim().is_empty()),
            keeps_up_at_night: input.keeps_up_at_night,
            wish_different: input.wish_different,
            others_who_share: input.others_who_share,
            warmth: input.warmth.unwrap_or(Warmth::Warming),
            next_step: input.next_step.filter(|s| !s.trim().is_empty()),
            next_step_on: optional_date(input.next_step_on.as_deref(), "next step's date")?,
            by: by.clone(),
        };
        // The notes are validated by the model before the marker is written: nothing is counted that was not kept.
        let only_me = self.place(id, &snapshot, Some(Place::OnlyMe)).await?;
        let notes = self
            .create_in(id, only_me, RecordKind::OneOnOne, Edit::AddOneOnOne(new), words::one_on_one_recorded)
            .await?;
        let marker = Edit::AddConversation { by, on, with_base };
        self.create_in(id, None, RecordKind::Conversation, marker, |_| String::new()).await?;
        Ok(notes)
    }

    pub(crate) async fn share_story(&self, group: GroupRef, input: StoryInput) -> Result<Response, ApiError> {
        let (id, snapshot) = self.open(&group).await?;
        let view = &snapshot.view;
        let from_one_on_one = input
            .from_one_on_one
            .filter(|o| !o.trim().is_empty())
            .map(|o| resolve::record(view, RecordKind::OneOnOne, &o))
            .transpose()?;
        let place = resolve::compartment(&snapshot.compartments, input.readers.as_deref().unwrap_or(""))?;
        let place = self.place(id, &snapshot, place).await?;
        let new = NewStory {
            text: input.text,
            told_by: input.told_by.filter(|t| !t.trim().is_empty()),
            from_one_on_one,
            shared_by: my_member(&snapshot)?,
            shared_on: sunspace_node::today(),
        };
        self.create_in(id, place, RecordKind::Story, Edit::AddStory(new), words::story_shared).await
    }

    pub(crate) async fn add_person(&self, group: GroupRef, input: PersonInput) -> Result<Response, ApiError> {
        let (id, snapshot) = self.open(&group).await?;
        let view = &snapshot.view;
        let holder = match input.holder.filter(|h| !h.trim().is_empty()) {
            Some(holder) => Some(resolve::member(view, &holder)?),
            None => snapshot.my_member.clone(),
        };
        let place = resolve::compartment(&snapshot.compartments, input.readers.as_deref().unwrap_or(""))?;
        let place = self.place(id, &snapshot, place).await?;
        let new = NewPerson {
            name: input.name,
            place: input.place.filter(|p| !p.trim().is_empty()),
            holder,
            stance: input.stance.unwrap_or(Stance::Unknown),
            added: sunspace_node::today(),
        };
        self.create_in(id, place, RecordKind::Person, Edit::AddPerson(new), words::person_added).await
    }

    pub(crate) async fn edit_person(
        &self,
        group: GroupRef,
        person: String,
        changes: PersonChanges,
    ) -> Result<Response, ApiError> {
        let (id, snapshot) = self.open(&group).await?;
        let view = &snapshot.view;
        let person = resolve::named(view, RecordKind::Person, &person)?;
        let patch = PersonPatch {
            stance: changes.stance,
            place: changes.place.map(|p| Some(p).filter(|p| !p.trim().is_empty())),
            holder: changes.holder.map(|h| resolve::member(view, &h).map(Some)).transpose()?,
            became_member: changes.became_member.map(|m| resolve::member(view, &m).map(Some)).transpose()?,
            ..PersonPatch::default()
        };
        if patch == PersonPatch::default() {
            return Err(ApiError::input(words::nothing_to_change("person")));
        }
        self.change(id, Edit::UpdatePerson { person, patch }, words::PERSON_UPDATED).await
    }

    pub(crate) async fn name_pattern(&self, group: GroupRef, input: PatternInput) -> Result<Response, ApiError> {
        let (id, snapshot) = self.open(&group).await?;
        let view = &snapshot.view;
        let named_at =
            input.meeting.filter(|m| !m.trim().is_empty()).map(|m| resolve::meeting(view, &m)).transpose()?;
        let named_on = named_at.as_ref().and_then(|m| view.meeting(m)).map_or_else(sunspace_node::today, |m| m.date);
        let stories =
            input.stories.iter().map(|s| resolve::record(view, RecordKind::Story, s)).collect::<Result<Vec<_>, _>>()?;
        let new = NewPattern {
            name: input.name,
            named_on,
            named_at: named_at.clone(),
            state: PatternState::Named,
            conversations: input.conversations,
            description: input.description,
        };
        let created =
            self.create_in(id, None, RecordKind::Pattern, Edit::AddPattern(new), words::pattern_named).await?;
        let Response::Created { id: pattern, .. } = &created else { return Ok(created) };
        for story in stories {
            self.edit(id, Edit::LinkPatternStory { pattern: pattern.clone(), story }).await?;
        }
        if let Some(meeting) = named_at {
            self.edit(id, Edit::LinkPatternMeeting { pattern: pattern.clone(), meeting }).await?;
        }
        Ok(created)
    }

    pub(crate) async fn edit_pattern(
        &self,
        group: GroupRef,
        pattern: String,
        changes: PatternChanges,
    ) -> Result<Response, ApiError> {
        let (id, snapshot) = self.open(&group).await?;
        let view = &snapshot.view;
        let pattern = resolve::named(view, RecordKind::Pattern, &pattern)?;
        let stories = changes
            .add_stories
            .iter()
            .map(|s| resolve::record(view, RecordKind::Story, s))
            .collect::<Result<Vec<_>, _>>()?;
        let meetings = changes.add_meetings.iter().map(|m| resolve::meeting(view, m)).collect::<Result<Vec<_>, _>>()?;
        let patch = PatternPatch {
            name: changes.name,
            state: changes.state,
            description: changes.description,
            conversations: changes.conversations,
        };
        if patch == PatternPatch::default() && stories.is_empty() && meetings.is_empty() {
            return Err(ApiError::input(words::nothing_to_change("pattern")));
        }
        let mut heads = Vec::new();
        if patch != PatternPatch::default() {
            heads = self.edit(id, Edit::UpdatePattern { pattern: pattern.clone(), patch }).await?.1;
        }
        for story in stories {
            heads = self.edit(id, Edit::LinkPatternStory { pattern: pattern.clone(), story }).await?.1;
        }
        for meeting in meetings {
            heads = self.edit(id, Edit::LinkPatternMeeting { pattern: pattern.clone(), meeting }).await?.1;
        }
        Ok(Response::Changed { heads, message: words::PATTERN_UPDATED.to_owned() })
    }

    pub(crate) async fn create_compartment(
        &self,
        group: GroupRef,
        name: String,
        members: Vec<String>,
    ) -> Result<Response, ApiError> {
        let (id, snapshot) = self.open(&group).await?;
        let me = my_member(&snapshot)?;
        let signed: Vec<&str> = snapshot.devices.values().map(String::as_str).collect();
        let mut ids = vec![me];
        for wanted in &members {
            let member = resolve::signed_member(&snapshot.view, signed.iter().copied(), wanted)?;
            if !ids.contains(&member) {
                ids.push(member);
            }
        }
        let names: Vec<String> = ids.iter().map(|m| snapshot.view.member_name(m)).collect();
        match self.run(NodeCommand::CreateCompartment { group: id, name: name.clone(), members: ids }).await? {
            NodeOutcome::CompartmentCreated { compartment } => Ok(Response::CompartmentCreated {
                message: words::compartment_created(&name, &names),
                id: compartment.to_hex(),
                name,
            }),
            other => Err(outcome_mismatch(&other)),
        }
    }

    pub(crate) async fn compartment_member(
        &self,
        group: GroupRef,
        compartment: String,
        member: String,
        add: bool,
    ) -> Result<Response, ApiError> {
        let (id, snapshot) = self.open(&group).await?;
        let Some(Place::Compartment(hex)) = resolve::compartment(&snapshot.compartments, &compartment)? else {
            return Err(ApiError::input(words::NAME_A_COMPARTMENT));
        };
        let name = snapshot.compartments.iter().find(|c| c.id == hex).map(|c| c.name.clone()).unwrap_or_default();
        let signed: Vec<&str> = snapshot.devices.values().map(String::as_str).collect();
        let member = resolve::signed_member(&snapshot.view, signed.iter().copied(), &member)?;
        let person = snapshot.view.member_name(&member);
        let compartment = compartment_id(&hex)?;
        let command = if add {
            NodeCommand::AddToCompartment { group: id, compartment, member }
        } else {
            NodeCommand::RemoveFromCompartment { group: id, compartment, member }
        };
        self.run(command).await?;
        let message = if add {
            words::added_to_compartment(&person, &name)
        } else {
            words::taken_out_of_compartment(&person, &name)
        };
        Ok(Response::Changed { heads: Vec::new(), message })
    }

    pub(crate) async fn move_record(
        &self,
        group: GroupRef,
        kind: Option<RecordKind>,
        record: String,
        to: String,
    ) -> Result<Response, ApiError> {
        let (id, snapshot) = self.open(&group).await?;
        let view = &snapshot.view;
        let (kind, record) = match kind {
            Some(kind) => (kind, resolve::record(view, kind, &record)?),
            None => resolve::any(view, &record)?,
        };
        // The conversation markers are the group's counts: they stay in its document.
        if !kind.movable() || kind == RecordKind::Conversation {
            return Err(ApiError::input(words::cannot_move(kind)));
        }
        let place = resolve::compartment(&snapshot.compartments, &to)?;
        let readers = match &place {
            None => words::WHOLE_GROUP.to_owned(),
            Some(Place::OnlyMe) => words::ONLY_ME.to_owned(),
            Some(Place::Compartment(hex)) => {
                snapshot.compartments.iter().find(|c| c.id == *hex).map(|c| c.name.clone()).unwrap_or_default()
            }
        };
        let to = self.place(id, &snapshot, place).await?;
        self.run(NodeCommand::MoveRecord { group: id, kind, record, to }).await?;
        Ok(Response::Changed { heads: Vec::new(), message: words::record_moved(kind, &readers) })
    }
}
