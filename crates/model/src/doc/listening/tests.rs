use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc, ROOT};
use chrono::NaiveDate;

use crate::doc::LISTENING_TABLES;
use crate::edit::{Applied, Edit};
use crate::{
    Founder, GroupDoc, ModelError, NewMeeting, NewOneOnOne, NewPattern, NewPerson, NewStory, OneOnOnePatch,
    PatternPatch, PatternState, PersonPatch, RecordId, RecordKind, Stance, StoryPatch, Warmth, MAX_NOTE_LEN,
};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn new_group() -> (GroupDoc, RecordId) {
    let founder = Founder { device_id: "a1".repeat(32), agreement_key: "b2".repeat(32), display_name: "Ana".into() };
    GroupDoc::create(&"c3".repeat(16), "Warehouse Core Group", &founder, day(1)).unwrap()
}

/// A group document as this version's predecessors made it: the first layout, without the listening step's
/// tables, with one member, Ana.
fn old_group() -> (GroupDoc, RecordId) {
    let mut raw = automerge::AutoCommit::new();
    raw.set_actor(automerge::ActorId::from(hex::decode("a1".repeat(32)).unwrap()));
    raw.put(ROOT, "sunspace_schema", 1).unwrap();
    let group = raw.put_object(ROOT, "group", ObjType::Map).unwrap();
    raw.put(&group, "id", "c3".repeat(16)).unwrap();
    raw.put(&group, "name", "Warehouse Core Group").unwrap();
    raw.put(&group, "created", "2026-11-01").unwrap();
    let charter = raw.put_object(ROOT, "charter", ObjType::Map).unwrap();
    for field in ["purpose", "decision_rules", "confidentiality"] {
        raw.put_object(&charter, field, ObjType::Text).unwrap();
    }
    for table in ["members", "devices", "roles", "meetings", "decisions", "actions"] {
        raw.put_object(ROOT, table, ObjType::Map).unwrap();
    }
    let mut doc = GroupDoc::load(&raw.save()).unwrap();
    let ana = doc.add_local_member("Ana", day(1), None).unwrap();
    doc.commit(0);
    (doc, ana)
}

fn replica(doc: &mut GroupDoc, device: &str) -> GroupDoc {
    let mut copy = GroupDoc::load(&doc.save()).unwrap();
    copy.set_author(&device.repeat(32)).unwrap();
    copy
}

fn merge(into: &mut GroupDoc, from: &mut GroupDoc) {
    into.automerge().merge(from.automerge()).unwrap();
}

fn one_on_one(by: &str) -> NewOneOnOne {
    NewOneOnOne {
        keeps_up_at_night: "Schedules posted two days ahead.".into(),
        wish_different: "Two weeks' notice.".into(),
        others_who_share: "Most of the night shift.".into(),
        warmth: Warmth::Warming,
        next_step: Some("Invite her to the November meeting".into()),
        next_step_on: Some(day(15)),
        place: Some("Parking lot".into()),
        ..NewOneOnOne::new(by, day(10), "Lee on nights")
    }
}

#[test]
fn people_in_the_base_are_added_updated_and_their_joining_recorded() {
    let (mut doc, ana) = new_group();
    let person = doc
        .add_person(NewPerson {
            place: Some("night shift, building 2".into()),
            holder: Some(ana.clone()),
            ..NewPerson::new("Lee Chen", day(3))
        })
        .unwrap();
    let lee = doc.add_local_member("Lee Chen", day(20), Some(&ana)).unwrap();
    doc.update_person(
        &person,
        PersonPatch { stance: Some(Stance::Supportive), became_member: Some(Some(lee.clone())), ..Default::default() },
    )
    .unwrap();
    let view = doc.view();
    let person = &view.people[0];
    assert_eq!(person.name, "Lee Chen");
    assert_eq!(person.place.as_deref(), Some("night shift, building 2"));
    assert_eq!(person.holder.as_deref(), Some(ana.as_str()));
    assert_eq!(person.stance, Stance::Supportive);
    assert_eq!(person.became_member.as_deref(), Some(lee.as_str()));
    assert_eq!(person.added, day(3));
    assert!(view.unreadable.is_empty());
}

#[test]
fn a_person_held_by_an_unknown_member_or_with_no_name_is_refused_and_changes_nothing() {
    let (mut doc, _) = new_group();
    let before = doc.view();
    let held = NewPerson { holder: Some("f".repeat(32)), ..NewPerson::new("Lee", day(3)) };
    assert!(matches!(doc.add_person(held), Err(ModelError::NotFound { kind: "member", .. })));
    assert!(matches!(doc.add_person(NewPerson::new("  ", day(3))), Err(ModelError::Empty { .. })));
    let long = NewPerson { place: Some("x".repeat(crate::MAX_NAME_LEN + 1)), ..NewPerson::new("Lee", day(3)) };
    assert!(matches!(doc.add_person(long), Err(ModelError::TooLong { .. })));
    assert_eq!(doc.view(), before);
}

#[test]
fn a_one_on_ones_notes_are_kept_with_who_held_it() {
    let (mut doc, ana) = new_group();
    let id = doc.add_one_on_one(one_on_one(&ana)).unwrap();
    let view = doc.view();
    let notes = &view.one_on_ones[0];
    assert_eq!(notes.id, id);
    assert_eq!(notes.by, ana);
    assert_eq!(notes.with_name, "Lee on nights");
    assert_eq!(notes.keeps_up_at_night, "Schedules posted two days ahead.");
    assert_eq!(notes.others_who_share, "Most of the night shift.");
    assert_eq!(notes.warmth, Warmth::Warming);
    assert_eq!(notes.next_step_on, Some(day(15)));
    assert_eq!(notes.place.as_deref(), Some("Parking lot"));
}

#[test]
fn a_one_on_one_is_with_a_member_a_person_or_someone_named_never_both_a_member_and_a_person() {
    let (mut doc, ana) = new_group();
    let person = doc.add_person(NewPerson::new("Lee", day(3))).unwrap();
    let sam = doc.add_local_member("Sam", day(2), None).unwrap();
    let nobody = NewOneOnOne { with_name: " ".into(), ..one_on_one(&ana) };
    assert!(matches!(doc.add_one_on_one(nobody), Err(ModelError::Empty { .. })));
    let both = NewOneOnOne { with_member: Some(sam.clone()), with_person: Some(person.clone()), ..one_on_one(&ana) };
    assert!(matches!(doc.add_one_on_one(both), Err(ModelError::Invalid(_))));
    let unknown = NewOneOnOne { with_person: Some("e".repeat(32)), with_name: String::new(), ..one_on_one(&ana) };
    assert!(matches!(doc.add_one_on_one(unknown), Err(ModelError::NotFound { kind: "person", .. })));
    let stranger = NewOneOnOne { by: "d".repeat(32), ..one_on_one(&ana) };
    assert!(matches!(doc.add_one_on_one(stranger), Err(ModelError::NotFound { kind: "member", .. })));
    assert!(doc.view().one_on_ones.is_empty());

    let with_person = NewOneOnOne { with_person: Some(person.clone()), with_name: String::new(), ..one_on_one(&ana) };
    let id = doc.add_one_on_one(with_person).unwrap();
    // Naming a member as well, by a patch, is refused as it would stand after the change.
    let patch = OneOnOnePatch { with_member: Some(Some(sam.clone())), ..Default::default() };
    assert!(matches!(doc.update_one_on_one(&id, patch), Err(ModelError::Invalid(_))));
    let patch = OneOnOnePatch { with_person: Some(None), with_member: Some(Some(sam.clone())), ..Default::default() };
    doc.update_one_on_one(&id, patch).unwrap();
    let view = doc.view();
    assert_eq!(
        (view.one_on_ones[0].with_member.as_deref(), view.one_on_ones[0].with_person.as_deref()),
        (Some(sam.as_str()), None)
    );
}

#[test]
fn a_next_step_due_before_the_conversation_is_refused_also_after_a_patch() {
    let (mut doc, ana) = new_group();
    let early = NewOneOnOne { next_step_on: Some(day(9)), ..one_on_one(&ana) };
    assert!(matches!(doc.add_one_on_one(early), Err(ModelError::Invalid(_))));
    let id = doc.add_one_on_one(one_on_one(&ana)).unwrap();
    // Moving the conversation after its next step's date is refused too.
    let later = OneOnOnePatch { on: Some(day(16)), ..Default::default() };
    assert!(matches!(doc.update_one_on_one(&id, later), Err(ModelError::Invalid(_))));
    let both = OneOnOnePatch { on: Some(day(16)), next_step_on: Some(Some(day(20))), ..Default::default() };
    doc.update_one_on_one(&id, both).unwrap();
    assert_eq!(doc.view().one_on_ones[0].next_step_on, Some(day(20)));
}

#[test]
fn notes_longer_than_the_limit_are_refused() {
    let (mut doc, ana) = new_group();
    let long = NewOneOnOne { wish_different: "x".repeat(MAX_NOTE_LEN + 1), ..one_on_one(&ana) };
    assert!(matches!(doc.add_one_on_one(long), Err(ModelError::TooLong { field: "wish_different", .. })));
    let story = NewStory {
        text: "y".repeat(MAX_NOTE_LEN + 1),
        told_by: None,
        from_one_on_one: None,
        shared_by: ana.clone(),
        shared_on: day(4),
    };
    assert!(matches!(doc.add_story(story), Err(ModelError::TooLong { .. })));
    let pattern = NewPattern { description: "z".repeat(MAX_NOTE_LEN + 1), ..NewPattern::new("Invisible", day(4)) };
    assert!(matches!(doc.add_pattern(pattern), Err(ModelError::TooLong { .. })));
}

#[test]
fn concurrent_edits_of_a_one_on_ones_answers_merge_character_by_character() {
    let (mut laptop, ana) = new_group();
    let id = laptop.add_one_on_one(one_on_one(&ana)).unwrap();
    laptop.commit(0);
    let mut phone = replica(&mut laptop, "d4");
    let edit = |text: &str| OneOnOnePatch { keeps_up_at_night: Some(text.into()), ..Default::default() };
    laptop.update_one_on_one(&id, edit("Schedules posted two days ahead, always on Fridays.")).unwrap();
    laptop.commit(0);
    phone.update_one_on_one(&id, edit("Night schedules posted two days ahead.")).unwrap();
    phone.commit(0);
    merge(&mut laptop, &mut phone);
    assert_eq!(
        laptop.view().one_on_ones[0].keeps_up_at_night,
        "Night schedules posted two days ahead, always on Fridays."
    );
}

#[test]
fn a_conversation_marker_holds_who_when_and_whether_with_the_base_and_nothing_else() {
    let (mut doc, ana) = new_group();
    let id = doc.add_conversation(&ana, day(10), true).unwrap();
    assert!(matches!(doc.add_conversation(&"f".repeat(32), day(10), true), Err(ModelError::NotFound { .. })));
    let view = doc.view();
    assert_eq!(view.conversations.len(), 1);
    let marker = &view.conversations[0];
    assert_eq!((marker.by.as_str(), marker.on, marker.with_base), (ana.as_str(), day(10), true));
    let obj = doc.record(RecordKind::Conversation, &id).unwrap();
    let mut keys: Vec<String> = doc.doc.keys(&obj).collect();
    keys.sort();
    assert_eq!(keys, ["by", "on", "with_base"]);
}

#[test]
fn a_story_needs_its_text_and_its_sharer_but_its_one_on_one_is_not_looked_for() {
    let (mut doc, ana) = new_group();
    let story = |text: &str, from: Option<String>| NewStory {
        text: text.into(),
        told_by: Some("someone on the night shift".into()),
        from_one_on_one: from,
        shared_by: ana.clone(),
        shared_on: day(12),
    };
    assert!(matches!(doc.add_story(story("  ", None)), Err(ModelError::Empty { .. })));
    assert!(matches!(doc.add_story(story("x", Some("not an id".into()))), Err(ModelError::NotFound { .. })));
    // The notes live in the author's own compartment: an id this document does not hold is fine.
    let id = doc.add_story(story("They post the schedule on Friday night.", Some("0a".repeat(16)))).unwrap();
    doc.update_story(&id, StoryPatch { told_by: Some(None), ..Default::default() }).unwrap();
    let view = doc.view();
    assert_eq!(view.stories[0].text, "They post the schedule on Friday night.");
    assert_eq!(view.stories[0].told_by, None, "told anonymously");
    assert_eq!(view.stories[0].from_one_on_one.as_deref(), Some("0a".repeat(16).as_str()));
}

#[test]
fn a_pattern_links_stories_kept_anywhere_and_meetings_this_group_holds() {
    let (mut doc, _) = new_group();
    let meeting = doc.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    let pattern = doc
        .add_pattern(NewPattern {
            named_at: Some(meeting.clone()),
            ..NewPattern::new("Invisible to scheduling", day(5))
        })
        .unwrap();
    let elsewhere = "5e".repeat(16);
    doc.link_pattern_story(&pattern, &elsewhere).unwrap();
    doc.link_pattern_story(&pattern, &elsewhere).unwrap();
    assert!(matches!(doc.link_pattern_story(&pattern, "nope"), Err(ModelError::NotFound { kind: "story", .. })));
    assert!(matches!(
        doc.link_pattern_meeting(&pattern, &"9".repeat(32)),
        Err(ModelError::NotFound { kind: "meeting", .. })
    ));
    assert!(matches!(
        doc.link_pattern_story(&"7".repeat(32), &elsewhere),
        Err(ModelError::NotFound { kind: "pattern", .. })
    ));
    doc.update_pattern(
        &pattern,
        PatternPatch {
            state: Some(PatternState::Researching),
            conversations: Some(14),
            description: Some("Nobody asks us before the schedule is posted.".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let view = doc.view();
    let named = &view.patterns[0];
    assert_eq!(named.stories, vec![elsewhere.clone()]);
    assert_eq!(named.meetings, vec![meeting.clone()], "the meeting where it was named discussed it");
    assert_eq!(named.state, PatternState::Researching);
    assert_eq!(named.conversations, 14);
    assert_eq!(named.description, "Nobody asks us before the schedule is posted.");
    doc.unlink_pattern_story(&pattern, &elsewhere).unwrap();
    doc.unlink_pattern_meeting(&pattern, &meeting).unwrap();
    let view = doc.view();
    assert!(view.patterns[0].stories.is_empty() && view.patterns[0].meetings.is_empty());
}

#[test]
fn stories_linked_on_two_devices_at_once_are_both_kept_and_a_concurrent_state_is_a_conflict() {
    let (mut laptop, _) = new_group();
    let pattern = laptop.add_pattern(NewPattern::new("Invisible to scheduling", day(5))).unwrap();
    laptop.commit(0);
    let mut phone = replica(&mut laptop, "d4");
    let (first, second) = ("1a".repeat(16), "2b".repeat(16));
    laptop.link_pattern_story(&pattern, &first).unwrap();
    laptop.update_pattern(&pattern, PatternPatch { state: Some(PatternState::Demand), ..Default::default() }).unwrap();
    laptop.commit(0);
    phone.link_pattern_story(&pattern, &second).unwrap();
    phone
        .update_pattern(&pattern, PatternPatch { state: Some(PatternState::Researching), ..Default::default() })
        .unwrap();
    phone.commit(0);
    merge(&mut laptop, &mut phone);
    merge(&mut phone, &mut laptop);
    let view = laptop.view();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(view.patterns[0].stories, expected);
    assert_eq!(view.patterns[0].conflicts.len(), 1);
    assert_eq!(view.patterns[0].conflicts[0].field, "state");
    assert_eq!(view, phone.view());
    laptop.resolve(RecordKind::Pattern, &pattern, "state", "demand").unwrap();
    assert!(laptop.view().patterns[0].conflicts.is_empty());
    assert_eq!(laptop.view().patterns[0].state, PatternState::Demand);
}

#[test]
fn a_new_group_has_every_listening_table_and_an_old_one_gets_each_on_its_first_write() {
    let (doc, _) = new_group();
    for table in LISTENING_TABLES {
        assert_eq!(doc.tables(table).len(), 1, "{table}");
    }
    let (mut old, ana) = old_group();
    assert!(old.tables("people").is_empty());
    let view = old.view();
    assert!(view.people.is_empty() && view.unreadable.is_empty());
    assert!(matches!(old.update_person(&"1".repeat(32), PersonPatch::default()), Err(ModelError::NotFound { .. })));
    assert!(matches!(old.find_id(RecordKind::Story, "abcd"), Err(ModelError::NotFound { .. })));
    old.add_person(NewPerson::new("Lee", day(3))).unwrap();
    old.add_conversation(&ana, day(4), false).unwrap();
    assert_eq!(old.tables("people").len(), 1);
    assert!(old.tables("stories").is_empty(), "only the tables written to are made");
    let view = old.view();
    assert_eq!((view.people.len(), view.conversations.len()), (1, 1));
}

#[test]
fn tables_made_by_two_devices_at_once_in_an_old_document_both_keep_their_records() {
    let (mut laptop, ana) = old_group();
    let mut phone = replica(&mut laptop, "d4");
    let lee = laptop.add_person(NewPerson::new("Lee", day(3))).unwrap();
    laptop.commit(0);
    let kim = phone.add_person(NewPerson::new("Kim", day(3))).unwrap();
    phone.add_conversation(&ana, day(4), true).unwrap();
    phone.commit(0);
    merge(&mut laptop, &mut phone);
    merge(&mut phone, &mut laptop);
    assert_eq!(laptop.tables("people").len(), 2, "two concurrent tables under one root key");

    for doc in [&laptop, &phone] {
        let view = doc.view();
        let names: Vec<&str> = view.people.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Kim", "Lee"], "neither device's record vanishes");
        assert_eq!(view.conversations.len(), 1);
        assert!(view.unreadable.is_empty());
        assert_eq!(doc.find_id(RecordKind::Person, &lee[..8]).unwrap(), lee);
        assert_eq!(doc.find_id(RecordKind::Person, &kim[..8]).unwrap(), kim);
    }
    assert_eq!(laptop.view(), phone.view());

    // Records of both tables can be edited, and their history read, whichever table automerge shows.
    for (person, stance) in [(&lee, Stance::Supportive), (&kim, Stance::Opposed)] {
        laptop.update_person(person, PersonPatch { stance: Some(stance), ..Default::default() }).unwrap();
    }
    laptop.commit(1);
    let view = laptop.view();
    assert_eq!(view.person(&lee).unwrap().stance, Stance::Supportive);
    assert_eq!(view.person(&kim).unwrap().stance, Stance::Opposed);
    for person in [&lee, &kim] {
        let history = laptop.history(RecordKind::Person, person).unwrap();
        assert!(history.iter().any(|c| c.field == "name"), "{history:?}");
    }
    // New records go to one table, and show, on both devices.
    let sam = laptop.add_person(NewPerson::new("Sam", day(5))).unwrap();
    laptop.commit(2);
    merge(&mut phone, &mut laptop);
    assert!(phone.view().person(&sam).is_some());
    phone.delete_record(RecordKind::Person, &kim).unwrap();
    assert_eq!(phone.view().people.len(), 2);
}

#[test]
fn a_compartment_has_the_group_layout_no_members_and_does_not_look_for_the_groups_records() {
    let (mut group, ana) = new_group();
    let mut compartment = GroupDoc::create_compartment(&"0c".repeat(16), "Only me", &"a1".repeat(32), day(2)).unwrap();
    assert!(compartment.is_compartment() && !group.is_compartment());
    compartment.commit(0);
    let mut loaded = GroupDoc::load(&compartment.save()).unwrap();
    loaded.check_schema().unwrap();
    let view = loaded.view();
    assert_eq!((view.id.as_str(), view.name.as_str()), ("0c".repeat(16).as_str(), "Only me"));
    assert!(view.members.is_empty() && view.devices.is_empty() && view.roles.is_empty());
    for table in LISTENING_TABLES {
        assert_eq!(loaded.tables(table).len(), 1, "{table}");
    }
    // Ana is a member of the group, not of this document: it names her all the same.
    let notes = loaded.add_one_on_one(one_on_one(&ana)).unwrap();
    let mut meeting = NewMeeting::new(day(5), "Research team");
    meeting.facilitator = Some(ana.clone());
    loaded.add_meeting(meeting.clone()).unwrap();
    assert!(matches!(
        loaded.add_one_on_one(NewOneOnOne { by: "not an id".into(), ..one_on_one(&ana) }),
        Err(ModelError::NotFound { .. })
    ));
    assert_eq!(loaded.view().one_on_ones[0].id, notes);
    // The group's document does look: a facilitator it does not hold is refused there.
    meeting.facilitator = Some("e".repeat(32));
    assert!(matches!(group.add_meeting(meeting), Err(ModelError::NotFound { kind: "member", .. })));
    assert!(matches!(
        GroupDoc::create_compartment("not hex", "Only me", &"a1".repeat(32), day(2)),
        Err(ModelError::Invalid(_))
    ));
}

#[test]
fn the_listening_steps_edits_apply_and_say_which_kind_they_change() {
    let (mut doc, ana) = new_group();
    let created = |doc: &mut GroupDoc, edit: Edit, kind: RecordKind| {
        assert_eq!(edit.record(), kind);
        let Applied::Created(id) = doc.apply(edit).unwrap() else { panic!("not created") };
        id
    };
    let person = created(&mut doc, Edit::AddPerson(NewPerson::new("Lee", day(3))), RecordKind::Person);
    let one = created(&mut doc, Edit::AddOneOnOne(one_on_one(&ana)), RecordKind::OneOnOne);
    created(
        &mut doc,
        Edit::AddConversation { by: ana.clone(), on: day(10), with_base: true },
        RecordKind::Conversation,
    );
    let story = NewStory {
        text: "Friday night postings.".into(),
        told_by: None,
        from_one_on_one: Some(one.clone()),
        shared_by: ana.clone(),
        shared_on: day(11),
    };
    let story = created(&mut doc, Edit::AddStory(story), RecordKind::Story);
    let pattern = created(&mut doc, Edit::AddPattern(NewPattern::new("Invisible", day(12))), RecordKind::Pattern);
    let changes = [
        (
            Edit::UpdatePerson {
                person: person.clone(),
                patch: PersonPatch { stance: Some(Stance::Undecided), ..Default::default() },
            },
            RecordKind::Person,
        ),
        (
            Edit::UpdateOneOnOne {
                one_on_one: one.clone(),
                patch: OneOnOnePatch { warmth: Some(Warmth::Warm), ..Default::default() },
            },
            RecordKind::OneOnOne,
        ),
        (
            Edit::UpdateStory {
                story: story.clone(),
                patch: StoryPatch { text: Some("Friday night postings, again.".into()), ..Default::default() },
            },
            RecordKind::Story,
        ),
        (
            Edit::UpdatePattern {
                pattern: pattern.clone(),
                patch: PatternPatch { name: Some("Invisible to scheduling".into()), ..Default::default() },
            },
            RecordKind::Pattern,
        ),
        (Edit::LinkPatternStory { pattern: pattern.clone(), story: story.clone() }, RecordKind::Pattern),
    ];
    for (edit, kind) in changes {
        assert_eq!(edit.record(), kind);
        assert_eq!(doc.apply(edit).unwrap(), Applied::Changed);
    }
    let view = doc.view();
    assert_eq!(view.people[0].stance, Stance::Undecided);
    assert_eq!(view.one_on_ones[0].warmth, Warmth::Warm);
    assert_eq!(view.stories[0].text, "Friday night postings, again.");
    assert_eq!(view.patterns[0].name, "Invisible to scheduling");
    assert_eq!(view.patterns[0].stories, vec![story.clone()]);
    let delete = Edit::DeleteRecord { kind: RecordKind::Story, id: story };
    assert_eq!(delete.record(), RecordKind::Story);
    assert_eq!(doc.apply(delete).unwrap(), Applied::Removed(1));
    assert!(doc.view().stories.is_empty());
}

#[test]
fn malformed_listening_records_are_listed_as_unreadable_not_shown() {
    let (mut doc, ana) = new_group();
    let person = doc.add_person(NewPerson::new("Lee", day(3))).unwrap();
    let pattern = doc.add_pattern(NewPattern::new("Invisible", day(3))).unwrap();
    doc.add_conversation(&ana, day(4), false).unwrap();
    let person_obj = doc.record(RecordKind::Person, &person).unwrap();
    let pattern_obj = doc.record(RecordKind::Pattern, &pattern).unwrap();
    let raw = doc.automerge();
    raw.put(&person_obj, "stance", "furious").unwrap();
    raw.put(&pattern_obj, "named_on", 20261103).unwrap();
    raw.put(&pattern_obj, "conversations", -4).unwrap();
    let stories = raw.get(ROOT, "stories").unwrap().unwrap().1;
    raw.put(&stories, "junk", "not a record").unwrap();
    let view = doc.view();
    assert!(view.people.is_empty() && view.patterns.is_empty() && view.stories.is_empty());
    assert_eq!(view.conversations.len(), 1);
    let mut unreadable = view.unreadable.clone();
    unreadable.sort();
    assert_eq!(unreadable, [format!("patterns/{pattern}"), format!("people/{person}"), "stories/junk".to_owned()]);
}

#[test]
fn an_edit_names_the_record_it_writes_into_and_records_made_at_a_meeting_follow_it() {
    let (meeting, item, pattern, story) = ("1".repeat(32), "2".repeat(32), "3".repeat(32), "4".repeat(32));
    let at = |kind: RecordKind, id: &str| Some((kind, id.to_owned()));
    let target = |edit: Edit| edit.target().map(|(kind, id)| (kind, id.to_owned()));
    assert_eq!(
        target(Edit::AppendMinutes { meeting: meeting.clone(), text: "x".into() }),
        at(RecordKind::Meeting, &meeting)
    );
    assert_eq!(target(Edit::SetAgendaItemDone { item: item.clone(), done: true }), at(RecordKind::Agenda, &item));
    let decision = crate::NewDecision {
        title: "Ask".into(),
        method: crate::DecisionMethod::Consent,
        outcome: String::new(),
        date: day(5),
        review_by: None,
        meeting: Some(meeting.clone()),
    };
    assert_eq!(target(Edit::AddDecision(decision)), at(RecordKind::Meeting, &meeting), "decided where it was met");
    let named = NewPattern { named_at: Some(meeting.clone()), ..NewPattern::new("Invisible", day(5)) };
    assert_eq!(target(Edit::AddPattern(named)), at(RecordKind::Meeting, &meeting));
    assert_eq!(target(Edit::LinkPatternStory { pattern: pattern.clone(), story }), at(RecordKind::Pattern, &pattern));
    assert_eq!(target(Edit::DeleteRecord { kind: RecordKind::Story, id: item.clone() }), at(RecordKind::Story, &item));
    // New records of their own, and the group's own records, go where the caller puts them.
    assert_eq!(target(Edit::AddMeeting(NewMeeting::new(day(5), "Monthly"))), None);
    assert_eq!(target(Edit::AddConversation { by: meeting.clone(), on: day(5), with_base: false }), None);
    assert_eq!(target(Edit::RenameGroup { name: "x".into() }), None);
    let resolve =
        Edit::Resolve { kind: RecordKind::Charter, record: "-".into(), field: "cadence".into(), value: "x".into() };
    assert_eq!(target(resolve), None);
}

#[test]
fn known_heads_keeps_only_the_changes_this_document_holds() {
    let (mut group, _) = new_group();
    group.commit(0);
    let mut compartment = GroupDoc::create_compartment(&"0c".repeat(16), "Only me", &"a1".repeat(32), day(2)).unwrap();
    compartment.commit(0);
    let spanning: Vec<_> = group.heads().into_iter().chain(compartment.heads()).collect();
    assert_eq!(group.known_heads(&spanning), group.heads());
    assert_eq!(compartment.known_heads(&spanning), compartment.heads());
    assert!(group.known_heads(&compartment.heads()).is_empty());
}
