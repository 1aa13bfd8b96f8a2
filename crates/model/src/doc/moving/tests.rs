use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{RecordData, RecordValue};
use crate::edit::{Applied, Edit};
use crate::{
    Attendee, Founder, GroupDoc, ModelError, NewAction, NewMeeting, NewOneOnOne, NewPattern, NewPerson, NewStory,
    RecordId, RecordKind, Warmth,
};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn new_group() -> (GroupDoc, RecordId) {
    let founder = Founder { device_id: "a1".repeat(32), agreement_key: "b2".repeat(32), display_name: "Ana".into() };
    GroupDoc::create(&"c3".repeat(16), "Warehouse Core Group", &founder, day(1)).unwrap()
}

fn compartment() -> GroupDoc {
    GroupDoc::create_compartment(&"0c".repeat(16), "Research team", &"a1".repeat(32), day(1)).unwrap()
}

#[test]
fn a_meeting_moves_into_a_compartment_with_its_agenda_attendance_and_minutes() {
    let (mut group, ana) = new_group();
    let mut meeting = NewMeeting::new(day(5), "Research: who decides the schedule");
    meeting.facilitator = Some(ana.clone());
    meeting.place = Some("Rosa's kitchen".into());
    let id = group.add_meeting(meeting).unwrap();
    group.add_agenda_item(&id, "The scheduling software vendor", Some(&ana)).unwrap();
    group.add_attendance(&id, Attendee::Member(ana.clone()), false).unwrap();
    group.add_attendance(&id, Attendee::Guest("Lee".into()), true).unwrap();
    group.set_minutes(&id, "The regional manager signs off.\nThe vendor's contract renews in March.").unwrap();
    let before = group.view().meeting(&id).unwrap().clone();

    let mut team = compartment();
    let data = group.copy_record_out(RecordKind::Meeting, &id).unwrap();
    assert!(matches!(data.fields.get("minutes"), Some(RecordValue::Text(_))), "minutes stay collaborative text");
    team.put_record(RecordKind::Meeting, &data).unwrap();
    group.delete_record(RecordKind::Meeting, &id).unwrap();

    assert!(group.view().meetings.is_empty());
    let moved = team.view();
    assert_eq!(moved.meetings, vec![before.clone()], "the same record, agenda item ids and all");
    // Still collaborative text where it now lives.
    team.append_minutes(&id, "Next: the contract's terms.").unwrap();
    assert!(team.view().meetings[0].minutes.ends_with("\nNext: the contract's terms."));
    // And through the merged view, shown in its compartment.
    let mut merged = group.view();
    merged.absorb(&"0c".repeat(16), team.view());
    assert_eq!(merged.meeting(&id).map(|m| m.title.as_str()), Some(before.title.as_str()));
    assert_eq!(merged.compartment_of(&id), Some("0c".repeat(16).as_str()));
}

#[test]
fn every_kind_of_the_listening_step_moves_and_comes_back_unchanged() {
    let (mut group, ana) = new_group();
    let person = group.add_person(NewPerson::new("Lee", day(2))).unwrap();
    let one = group
        .add_one_on_one(NewOneOnOne {
            with_person: Some(person.clone()),
            warmth: Warmth::Close,
            keeps_up_at_night: "Rent.".into(),
            ..NewOneOnOne::new(&ana, day(3), "")
        })
        .unwrap();
    let marker = group.add_conversation(&ana, day(3), true).unwrap();
    let story = group
        .add_story(NewStory {
            text: "The heat went off in January.".into(),
            told_by: Some("a neighbour on the 4th floor".into()),
            from_one_on_one: Some(one.clone()),
            shared_by: ana.clone(),
            shared_on: day(4),
        })
        .unwrap();
    let pattern = group.add_pattern(NewPattern::new("No heat, no answer", day(6))).unwrap();
    group.link_pattern_story(&pattern, &story).unwrap();
    let action = group
        .add_action(NewAction {
            title: "Call the city".into(),
            owners: vec![ana.clone()],
            due: None,
            decision: None,
            meeting: None,
        })
        .unwrap();
    let original = group.view();

    let mut team = compartment();
    let records = [
        (RecordKind::Person, &person),
        (RecordKind::OneOnOne, &one),
        (RecordKind::Conversation, &marker),
        (RecordKind::Story, &story),
        (RecordKind::Pattern, &pattern),
        (RecordKind::Action, &action),
    ];
    for (kind, id) in records {
        let data = group.copy_record_out(kind, id).unwrap();
        team.put_record(kind, &data).unwrap();
        group.delete_record(kind, id).unwrap();
    }
    let emptied = group.view();
    assert!(emptied.people.is_empty() && emptied.one_on_ones.is_empty() && emptied.conversations.is_empty());
    assert!(emptied.stories.is_empty() && emptied.patterns.is_empty() && emptied.actions.is_empty());
    assert!(team.view().unreadable.is_empty());

    for (kind, id) in records {
        let data = team.copy_record_out(kind, id).unwrap();
        group.put_record(kind, &data).unwrap();
    }
    let back = group.view();
    assert_eq!(
        (back.people, back.one_on_ones, back.conversations, back.stories, back.patterns, back.actions),
        (
            original.people,
            original.one_on_ones,
            original.conversations,
            original.stories,
            original.patterns,
            original.actions
        )
    );
}

#[test]
fn record_data_crosses_as_json() {
    let (mut group, _) = new_group();
    let id = group.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    group.set_minutes(&id, "Notes.").unwrap();
    let data = group.copy_record_out(RecordKind::Meeting, &id).unwrap();
    let json = serde_json::to_string(&data).unwrap();
    assert_eq!(serde_json::from_str::<RecordData>(&json).unwrap(), data);
}

#[test]
fn members_role_grants_and_parts_of_records_are_not_moved() {
    let (mut group, ana) = new_group();
    for kind in [RecordKind::Member, RecordKind::Role, RecordKind::Group, RecordKind::Charter, RecordKind::Agenda] {
        assert!(!kind.movable());
        assert!(matches!(group.copy_record_out(kind, &ana), Err(ModelError::Invalid(_))), "{kind:?}");
        assert!(matches!(group.delete_record(kind, &ana), Err(ModelError::Invalid(_))), "{kind:?}");
    }
    let data = RecordData { id: ana.clone(), fields: BTreeMap::new() };
    assert!(matches!(group.put_record(RecordKind::Member, &data), Err(ModelError::Invalid(_))));
    assert_eq!(group.view().members.len(), 1);
}

#[test]
fn a_record_that_would_not_read_or_that_receivers_would_refuse_is_not_written() {
    let (mut group, _) = new_group();
    let before = group.view();
    let text = |s: &str| RecordValue::Str(s.into());
    let refused = [
        // No date: the view could not show it.
        RecordData { id: "1a".repeat(16), fields: BTreeMap::from([("title".to_owned(), text("Monthly"))]) },
        // A list: every receiver refuses a change that makes one.
        RecordData {
            id: "1a".repeat(16),
            fields: BTreeMap::from([
                ("title".to_owned(), text("Monthly")),
                ("date".to_owned(), text("2026-11-05")),
                ("tags".to_owned(), RecordValue::List(vec![text("x")])),
            ]),
        },
        // Not a record id.
        RecordData {
            id: "monthly".into(),
            fields: BTreeMap::from([("title".to_owned(), text("Monthly")), ("date".to_owned(), text("2026-11-05"))]),
        },
    ];
    for data in refused {
        assert!(matches!(group.put_record(RecordKind::Meeting, &data), Err(ModelError::Invalid(_))), "{data:?}");
    }
    let mut deep = RecordValue::Null;
    for _ in 0..12 {
        deep = RecordValue::Map(BTreeMap::from([("x".to_owned(), deep)]));
    }
    let nested = RecordData {
        id: "1a".repeat(16),
        fields: BTreeMap::from([
            ("title".to_owned(), text("Monthly")),
            ("date".to_owned(), text("2026-11-05")),
            ("deep".to_owned(), deep),
        ]),
    };
    assert!(matches!(group.put_record(RecordKind::Meeting, &nested), Err(ModelError::Invalid(_))));
    assert_eq!(group.view(), before);
}

#[test]
fn putting_a_record_again_replaces_it_and_deleting_a_missing_one_is_not_found() {
    let (mut group, _) = new_group();
    let id = group.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    let mut data = group.copy_record_out(RecordKind::Meeting, &id).unwrap();
    data.fields.insert("title".into(), RecordValue::Str("Monthly, moved".into()));
    assert_eq!(group.apply(Edit::PutRecord { kind: RecordKind::Meeting, data }).unwrap(), Applied::Changed);
    let view = group.view();
    assert_eq!(view.meetings.len(), 1);
    assert_eq!(view.meetings[0].title, "Monthly, moved");
    group.delete_record(RecordKind::Meeting, &id).unwrap();
    assert!(matches!(group.delete_record(RecordKind::Meeting, &id), Err(ModelError::NotFound { .. })));
    assert!(matches!(group.copy_record_out(RecordKind::Meeting, &id), Err(ModelError::NotFound { .. })));
}
