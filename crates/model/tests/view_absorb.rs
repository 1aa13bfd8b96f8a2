//! Merging a compartment's records into the group's view, and the portable view without them.
#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;

use sunspace_model::view::Conflict;
use sunspace_model::{Founder, GroupDoc, NewMeeting, NewOneOnOne, NewPattern, NewPerson, RecordKind};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

#[test]
fn absorbing_a_compartment_takes_its_records_with_their_placement_and_not_its_membership() {
    let founder = Founder { device_id: "a1".repeat(32), agreement_key: "b2".repeat(32), display_name: "Ana".into() };
    let (mut group, ana) = GroupDoc::create(&"c3".repeat(16), "Warehouse Core Group", &founder, day(1)).unwrap();
    let general = group.add_meeting(NewMeeting::new(day(20), "General meeting")).unwrap();
    let lee = group.add_person(NewPerson::new("Lee", day(2))).unwrap();

    let only_me = "0c".repeat(16);
    let mut mine = GroupDoc::create_compartment(&only_me, "Only me", &"a1".repeat(32), day(1)).unwrap();
    let research = mine.add_meeting(NewMeeting::new(day(5), "Research")).unwrap();
    let notes = mine.add_one_on_one(NewOneOnOne::new(&ana, day(3), "Lee")).unwrap();
    let pattern = mine.add_pattern(NewPattern::new("Invisible", day(6))).unwrap();
    // A move caught half-way: Lee was written into the compartment and is still in the group's document.
    let copy = group.copy_record_out(RecordKind::Person, &lee).unwrap();
    mine.put_record(RecordKind::Person, &copy).unwrap();
    // A compartment's document may hold members (a hostile or confused client): they are not the group's.
    mine.add_local_member("Mallory", day(1), None).unwrap();
    let mut theirs = mine.view();
    theirs.unreadable.push("stories/junk".into());
    theirs.meetings[0].conflicts.push(Conflict { field: "title".into(), values: Vec::new() });

    let mut merged = group.view();
    let before = merged.clone();
    merged.absorb(&only_me, theirs);

    assert_eq!(merged.name, "Warehouse Core Group");
    assert_eq!(merged.members, before.members);
    assert_eq!(merged.devices, before.devices);
    assert_eq!(merged.roles, before.roles);
    assert_eq!(merged.charter, before.charter);
    let meetings: Vec<&str> = merged.meetings.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(meetings, [research.as_str(), general.as_str()], "in date order, across documents");
    assert_eq!(merged.meeting(&research).unwrap().conflicts.len(), 1, "conflicts come along");
    assert_eq!(merged.people.len(), 1, "a record in both documents shows once");
    assert_eq!(merged.compartment_of(&lee), Some(only_me.as_str()), "from the compartment, where it is edited");
    assert!(merged.unreadable.iter().any(|u| u.contains(&lee)), "and the doubling is said");
    assert_eq!(merged.one_on_ones[0].id, notes);
    let placed: Vec<(&str, &str)> = merged.placement.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut expected = vec![
        (research.as_str(), only_me.as_str()),
        (notes.as_str(), only_me.as_str()),
        (pattern.as_str(), only_me.as_str()),
        (lee.as_str(), only_me.as_str()),
    ];
    expected.sort();
    assert_eq!(placed, expected);
    assert!(merged.unreadable.contains(&format!("compartment {only_me}: stories/junk")));

    // A second compartment's records are placed in it; a view that had itself absorbed one keeps that placement.
    let team = "0d".repeat(16);
    let mut other = GroupDoc::create_compartment(&team, "Team", &"a1".repeat(32), day(1)).unwrap();
    let theirs_story = other.add_person(NewPerson::new("Kim", day(4))).unwrap();
    let mut nested = other.view();
    let deep = "0e".repeat(16);
    let mut inner = GroupDoc::create_compartment(&deep, "Inner", &"a1".repeat(32), day(1)).unwrap();
    let inner_person = inner.add_person(NewPerson::new("Jo", day(4))).unwrap();
    nested.absorb(&deep, inner.view());
    merged.absorb(&team, nested);
    assert_eq!(merged.compartment_of(&theirs_story), Some(team.as_str()));
    assert_eq!(merged.compartment_of(&inner_person), Some(deep.as_str()));
    let names: Vec<&str> = merged.people.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Jo", "Kim", "Lee"]);
}

#[test]
fn the_portable_view_leaves_out_every_record_placed_in_a_compartment() {
    let founder = Founder { device_id: "a1".repeat(32), agreement_key: "b2".repeat(32), display_name: "Ana".into() };
    let (mut group, _) = GroupDoc::create(&"c3".repeat(16), "Warehouse Core Group", &founder, day(1)).unwrap();
    let general = group.add_meeting(NewMeeting::new(day(20), "General meeting")).unwrap();
    let team = "0d".repeat(16);
    let mut other = GroupDoc::create_compartment(&team, "Team", &"a1".repeat(32), day(1)).unwrap();
    other.add_meeting(NewMeeting::new(day(5), "Offer review")).unwrap();
    other.add_person(NewPerson::new("Kim", day(4))).unwrap();
    let mut merged = group.view();
    merged.absorb(&team, other.view());
    assert_eq!(merged.meetings.len(), 2);
    let portable = merged.without_compartments();
    let meetings: Vec<&str> = portable.meetings.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(meetings, [general.as_str()]);
    assert!(portable.people.is_empty() && portable.placement.is_empty());
    assert!(!serde_json::to_string(&portable).unwrap().contains("Offer review"));
}
