//! The listening step on the command line: one-on-ones, the base, stories, patterns, compartments, and moving
//! a record between them. Arguments become a [`Request`]; the service decides and words the outcome.

use anyhow::bail;
use sunspace_api::{
    GroupPage, OneOnOneInput, PatternChanges, PatternInput, PersonChanges, PersonInput, Request, StoryInput,
};
use sunspace_model::view::short;

use crate::args::{BaseCommand, CompartmentCommand, OneOnOneCommand, PatternCommand, StoryCommand};
use crate::dates::day;
use crate::device::Device;
use crate::output::{emit, emit_json, say};
use crate::render::table;

/// Records a one-on-one, shares a story, or works on the base.
pub(crate) fn one_on_one(
    device: &mut Device,
    group: Option<String>,
    command: OneOnOneCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        OneOnOneCommand::Add { with, on, place, worries, wish, shared_with, warmth, next_step, next_step_on } => {
            let one_on_one = OneOnOneInput {
                with,
                on: day(on),
                place,
                keeps_up_at_night: worries,
                wish_different: wish,
                others_who_share: shared_with,
                warmth,
                next_step,
                next_step_on: day(next_step_on),
            };
            say(&device.ask(Request::RecordOneOnOne { group, one_on_one })?, None)
        }
        OneOnOneCommand::List => {
            let page = device.page(&group)?;
            let view = &page.snapshot.view;
            if json {
                return emit_json(&view.one_on_ones);
            }
            if view.one_on_ones.is_empty() {
                return emit("No one-on-ones recorded on your devices yet.");
            }
            let rows = view
                .one_on_ones
                .iter()
                .map(|o| {
                    let with = o
                        .with_member
                        .as_ref()
                        .map(|m| view.member_name(m))
                        .or_else(|| o.with_person.as_ref().map(|p| view.person_name(p)))
                        .unwrap_or_else(|| o.with_name.clone());
                    vec![
                        short(&o.id).to_owned(),
                        o.on.to_string(),
                        with,
                        o.keeps_up_at_night.clone(),
                        o.next_step.clone().unwrap_or_default(),
                        page.readable_by(&o.id).to_owned(),
                    ]
                })
                .collect();
            emit(&table(&["id", "on", "with", "keeps them up at night", "next step", "readable by"], rows))
        }
    }
}

pub(crate) fn story(
    device: &mut Device,
    group: Option<String>,
    command: StoryCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        StoryCommand::Share { text, told_by, from, readers } => {
            let story = StoryInput { text, told_by, from_one_on_one: from, readers };
            say(&device.ask(Request::ShareStory { group, story })?, None)
        }
        StoryCommand::List => {
            let page = device.page(&group)?;
            let view = &page.snapshot.view;
            if json {
                return emit_json(&view.stories);
            }
            if view.stories.is_empty() {
                return emit("No stories shared yet.");
            }
            let rows = view
                .stories
                .iter()
                .map(|s| {
                    vec![
                        short(&s.id).to_owned(),
                        s.shared_on.to_string(),
                        s.text.clone(),
                        s.told_by.clone().unwrap_or_else(|| "(not named)".to_owned()),
                        page.readable_by(&s.id).to_owned(),
                    ]
                })
                .collect();
            emit(&table(&["id", "shared", "story", "told by", "readable by"], rows))
        }
    }
}

pub(crate) fn base(device: &mut Device, group: Option<String>, command: BaseCommand, json: bool) -> anyhow::Result<()> {
    match command {
        BaseCommand::Add { name, place, holder, stance, readers } => {
            let person = PersonInput { name, place, holder, stance, readers };
            say(&device.ask(Request::AddPerson { group, person })?, None)
        }
        BaseCommand::Edit { person, stance, place, holder, became_member } => {
            let changes = PersonChanges { stance, place, holder, became_member };
            if changes == PersonChanges::default() {
                bail!("nothing to change: give --stance, --place, --holder or --became-member");
            }
            say(&device.ask(Request::EditPerson { group, person, changes })?, None)
        }
        BaseCommand::List => {
            let page = device.page(&group)?;
            let view = &page.snapshot.view;
            if json {
                return emit_json(&view.people);
            }
            if view.people.is_empty() {
                return emit("Nobody in the base yet: add the people you talk to with `sunspace base add NAME`.");
            }
            let rows = view
                .people
                .iter()
                .map(|p| {
                    vec![
                        short(&p.id).to_owned(),
                        p.name.clone(),
                        p.place.clone().unwrap_or_default(),
                        p.holder.as_ref().map(|h| view.member_name(h)).unwrap_or_default(),
                        p.stance.to_string(),
                        p.became_member.as_ref().map(|m| view.member_name(m)).unwrap_or_default(),
                        page.readable_by(&p.id).to_owned(),
                    ]
                })
                .collect();
            emit(&table(&["id", "name", "where", "relationship", "stance", "became member", "readable by"], rows))
        }
    }
}

pub(crate) fn pattern(
    device: &mut Device,
    group: Option<String>,
    command: PatternCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        PatternCommand::Name { name, description, meeting, stories, conversations } => {
            let pattern = PatternInput { name, description, meeting, stories, conversations };
            say(&device.ask(Request::NamePattern { group, pattern })?, None)
        }
        PatternCommand::Edit { pattern, state, name, description, conversations, stories, meetings } => {
            let changes = PatternChanges {
                state,
                name,
                description,
                conversations,
                add_stories: stories,
                add_meetings: meetings,
            };
            if changes == PatternChanges::default() {
                bail!("nothing to change: give --state, --name, --description, --conversations, --story or --meeting");
            }
            say(&device.ask(Request::EditPattern { group, pattern, changes })?, None)
        }
        PatternCommand::List => {
            let page = device.page(&group)?;
            let view = &page.snapshot.view;
            if json {
                return emit_json(&view.patterns);
            }
            if view.patterns.is_empty() {
                return emit("No patterns named yet.");
            }
            let rows = view
                .patterns
                .iter()
                .map(|p| {
                    let readable = p.stories.iter().filter(|s| view.story(s).is_some()).count();
                    let stories = match p.stories.len() - readable {
                        0 => p.stories.len().to_string(),
                        hidden => format!("{} ({hidden} you cannot read here)", p.stories.len()),
                    };
                    vec![
                        short(&p.id).to_owned(),
                        p.name.clone(),
                        p.state.to_string(),
                        p.named_on.to_string(),
                        stories,
                        p.conversations.to_string(),
                        p.meetings.len().to_string(),
                        page.readable_by(&p.id).to_owned(),
                    ]
                })
                .collect();
            emit(&table(
                &["id", "pattern", "state", "named", "stories", "conversations", "meetings", "readable by"],
                rows,
            ))
        }
    }
}

pub(crate) fn compartment(
    device: &mut Device,
    group: Option<String>,
    command: CompartmentCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        CompartmentCommand::Create { name, members } => {
            say(&device.ask(Request::CreateCompartment { group, name, members })?, None)
        }
        CompartmentCommand::Add { compartment, member } => {
            say(&device.ask(Request::AddToCompartment { group, compartment, member })?, None)
        }
        CompartmentCommand::Remove { compartment, member } => {
            say(&device.ask(Request::RemoveFromCompartment { group, compartment, member })?, None)
        }
        CompartmentCommand::List => {
            let page: GroupPage = device.page(&group)?;
            if json {
                return emit_json(&page.snapshot.compartments);
            }
            if page.snapshot.compartments.is_empty() {
                return emit("You are in no compartment: everything you read, the whole group reads.");
            }
            let rows = page
                .snapshot
                .compartments
                .iter()
                .map(|c| {
                    vec![
                        short(&c.id).to_owned(),
                        c.name.clone(),
                        page.readers.get(&c.id).cloned().unwrap_or_default(),
                        c.safety_number.clone(),
                    ]
                })
                .collect();
            emit(&table(&["id", "compartment", "who can read it", "safety number"], rows))
        }
    }
}
