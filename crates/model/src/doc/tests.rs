use chrono::NaiveDate;

use super::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn founder() -> Founder {
    Founder { device_id: "a1".repeat(32), agreement_key: "b2".repeat(32), display_name: "Ana".into() }
}

fn new_group() -> (GroupDoc, RecordId) {
    GroupDoc::create(&"c3".repeat(16), "Warehouse Core Group", &founder(), day(1)).unwrap()
}

/// A second device's copy of the document.
fn replica(doc: &mut GroupDoc, device: &str) -> GroupDoc {
    let mut copy = GroupDoc::load(&doc.save()).unwrap();
    copy.set_author(&device.repeat(32)).unwrap();
    copy
}

fn merge(into: &mut GroupDoc, from: &mut GroupDoc) {
    into.automerge().merge(from.automerge()).unwrap();
}

#[test]
fn creating_a_group_makes_the_founder_a_member_and_steward() {
    let (doc, ana) = new_group();
    let view = doc.view();
    assert_eq!(view.name, "Warehouse Core Group");
    assert_eq!(view.members.len(), 1);
    assert_eq!(view.members[0].id, ana);
    assert_eq!(view.members[0].kind, "app");
    assert_eq!(view.devices[0].id, "a1".repeat(32));
    assert_eq!(view.devices[0].method, "founder");
    assert_eq!(view.roles.len(), 1);
    assert_eq!(view.roles[0].role, "steward");
    assert_eq!(view.roles[0].member, ana);
    assert!(view.unreadable.is_empty());
}

#[test]
fn record_ids_are_random_not_derived_from_names() {
    let (mut doc, _) = new_group();
    let a = doc.add_local_member("Sam", day(2), None).unwrap();
    let b = doc.add_local_member("Sam", day(2), None).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.len(), 32);
}

#[test]
fn empty_and_overlong_titles_are_refused_and_change_nothing() {
    let (mut doc, _) = new_group();
    let before = doc.view();
    assert!(matches!(doc.add_meeting(NewMeeting::new(day(3), "   ")), Err(ModelError::Empty { .. })));
    assert!(matches!(
        doc.add_meeting(NewMeeting::new(day(3), &"x".repeat(MAX_TITLE_LEN + 1))),
        Err(ModelError::TooLong { .. })
    ));
    assert!(matches!(doc.add_local_member("", day(3), None), Err(ModelError::Empty { .. })));
    assert_eq!(doc.view(), before);
}

#[test]
fn references_to_unknown_records_are_refused() {
    let (mut doc, _) = new_group();
    let mut meeting = NewMeeting::new(day(3), "Monthly");
    meeting.facilitator = Some("f".repeat(32));
    assert!(matches!(doc.add_meeting(meeting), Err(ModelError::NotFound { kind: "member", .. })));
    assert!(matches!(doc.append_minutes(&"e".repeat(32), "x"), Err(ModelError::NotFound { kind: "meeting", .. })));
    let action =
        NewAction { title: "Call".into(), owners: vec!["0".repeat(32)], due: None, decision: None, meeting: None };
    assert!(matches!(doc.add_action(action), Err(ModelError::NotFound { kind: "member", .. })));
}

#[test]
fn a_review_date_before_the_decision_is_refused() {
    let (mut doc, _) = new_group();
    let decision = NewDecision {
        title: "Ask for schedules 14 days ahead".into(),
        method: DecisionMethod::Consent,
        outcome: "Agreed".into(),
        date: day(10),
        review_by: Some(day(9)),
        meeting: None,
    };
    assert!(matches!(doc.add_decision(decision), Err(ModelError::Invalid(_))));
}

#[test]
fn concurrent_edits_of_one_field_keep_both_values_as_a_conflict() {
    let (mut laptop, _) = new_group();
    let meeting = laptop.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    let decision = laptop
        .add_decision(NewDecision {
            title: "Demand".into(),
            method: DecisionMethod::Consent,
            outcome: "pending".into(),
            date: day(5),
            review_by: None,
            meeting: Some(meeting),
        })
        .unwrap();
    laptop.commit(0);
    let mut phone = replica(&mut laptop, "d4");

    laptop
        .update_decision(&decision, DecisionPatch { outcome: Some("Agreed by all".into()), ..Default::default() })
        .unwrap();
    laptop.commit(0);
    phone
        .update_decision(
            &decision,
            DecisionPatch { outcome: Some("Agreed, one abstention".into()), ..Default::default() },
        )
        .unwrap();
    phone.commit(0);
    merge(&mut laptop, &mut phone);
    merge(&mut phone, &mut laptop);

    let view = laptop.view();
    let conflicts = &view.decisions[0].conflicts;
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].field, "outcome");
    let mut values: Vec<&str> = conflicts[0].values.iter().map(|v| v.value.as_str()).collect();
    values.sort();
    assert_eq!(values, ["Agreed by all", "Agreed, one abstention"]);
    let authors: Vec<&str> = conflicts[0].values.iter().map(|v| v.author.as_str()).collect();
    assert!(authors.contains(&"a1".repeat(32).as_str()) && authors.contains(&"d4".repeat(32).as_str()));
    assert_eq!(view, phone.view(), "both devices show the same conflict and the same pick");

    // Keeping one value settles it everywhere.
    laptop.resolve(RecordKind::Decision, &decision, "outcome", "Agreed, one abstention").unwrap();
    laptop.commit(0);
    merge(&mut phone, &mut laptop);
    let settled = phone.view();
    assert!(settled.decisions[0].conflicts.is_empty());
    assert_eq!(settled.decisions[0].outcome, "Agreed, one abstention");
}

#[test]
fn resolving_a_field_without_a_conflict_or_with_a_foreign_value_is_refused() {
    let (mut doc, _) = new_group();
    let meeting = doc.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    assert!(matches!(doc.resolve(RecordKind::Meeting, &meeting, "title", "Monthly"), Err(ModelError::Invalid(_))));
}

#[test]
fn concurrent_minutes_merge_character_by_character() {
    let (mut laptop, _) = new_group();
    let meeting = laptop.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    laptop.set_minutes(&meeting, "Opening round.\nScheduling.\n").unwrap();
    laptop.commit(0);
    let mut phone = replica(&mut laptop, "d4");

    laptop.set_minutes(&meeting, "Opening round: 9 people.\nScheduling.\n").unwrap();
    laptop.commit(0);
    phone.set_minutes(&meeting, "Opening round.\nScheduling: 14 days notice.\n").unwrap();
    phone.commit(0);
    merge(&mut laptop, &mut phone);
    assert_eq!(laptop.view().meetings[0].minutes, "Opening round: 9 people.\nScheduling: 14 days notice.\n");
}

#[test]
fn concurrent_attendance_is_a_union_counting_each_person_once() {
    let (mut laptop, ana) = new_group();
    let sam = laptop.add_local_member("Sam", day(2), None).unwrap();
    let meeting = laptop.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    laptop.commit(0);
    let mut phone = replica(&mut laptop, "d4");

    laptop.add_attendance(&meeting, Attendee::Member(ana.clone()), false).unwrap();
    laptop.add_attendance(&meeting, Attendee::Member(sam.clone()), false).unwrap();
    laptop.commit(0);
    phone.add_attendance(&meeting, Attendee::Member(sam.clone()), false).unwrap();
    phone.add_attendance(&meeting, Attendee::Guest("Rosa  Diaz".into()), true).unwrap();
    phone.commit(0);
    merge(&mut laptop, &mut phone);

    let attendance = &laptop.view().meetings[0].attendance;
    assert_eq!(attendance.len(), 3, "{attendance:?}");
    let rosa = attendance.iter().find(|a| a.who == Attendee::Guest("Rosa  Diaz".into())).unwrap();
    assert!(rosa.new_face);
}

#[test]
fn removing_attendance_removes_every_record_of_that_person() {
    let (mut doc, ana) = new_group();
    let meeting = doc.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    let mut phone = replica(&mut doc, "d4");
    doc.add_attendance(&meeting, Attendee::Member(ana.clone()), false).unwrap();
    phone.add_attendance(&meeting, Attendee::Member(ana.clone()), false).unwrap();
    merge(&mut doc, &mut phone);
    doc.add_attendance(&meeting, Attendee::Guest("Lee".into()), true).unwrap();
    assert_eq!(doc.remove_attendance(&meeting, &Attendee::Member(ana)).unwrap(), 2, "both devices' records");
    assert_eq!(doc.view().meetings[0].attendance.len(), 1);
}

#[test]
fn recording_the_same_person_twice_keeps_one_record_and_can_mark_a_new_face() {
    let (mut doc, _) = new_group();
    let meeting = doc.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    let first = doc.add_attendance(&meeting, Attendee::Guest("Lee Chen".into()), false).unwrap();
    let again = doc.add_attendance(&meeting, Attendee::Guest("lee  chen".into()), true).unwrap();
    assert_eq!(first, again);
    let attendance = &doc.view().meetings[0].attendance;
    assert_eq!(attendance.len(), 1);
    assert!(attendance[0].new_face);
}

#[test]
fn appending_minutes_starts_a_new_line() {
    let (mut doc, _) = new_group();
    let meeting = doc.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    doc.append_minutes(&meeting, "First.").unwrap();
    doc.append_minutes(&meeting, "Second.").unwrap();
    assert_eq!(doc.view().meetings[0].minutes, "First.\nSecond.");
}

#[test]
fn charter_prose_and_cadence_are_stored() {
    let (mut doc, _) = new_group();
    doc.edit_charter(&CharterPatch {
        purpose: Some("Predictable schedules.".into()),
        decision_rules: Some("Consent; majority if stuck.".into()),
        cadence: Some(crate::Cadence::Months(1)),
        confidentiality: Some("What is said here stays here.".into()),
    })
    .unwrap();
    let charter = doc.view().charter;
    assert_eq!(charter.purpose, "Predictable schedules.");
    assert_eq!(charter.cadence.as_deref(), Some("monthly"));
    assert_eq!(charter.confidentiality, "What is said here stays here.");
}

#[test]
fn actions_are_completed_and_reopened() {
    let (mut doc, ana) = new_group();
    let action = doc
        .add_action(NewAction {
            title: "Call the steward".into(),
            owners: vec![ana.clone()],
            due: Some(day(10)),
            decision: None,
            meeting: None,
        })
        .unwrap();
    assert!(doc.view().actions[0].is_overdue(day(11)));
    doc.set_action_done(&action, Some(day(9))).unwrap();
    let view = doc.view();
    assert_eq!(view.actions[0].status, ActionStatus::Done);
    assert_eq!(view.actions[0].done_on, Some(day(9)));
    assert_eq!(view.actions[0].owners, vec![ana]);
    doc.set_action_done(&action, None).unwrap();
    assert_eq!(doc.view().actions[0].status, ActionStatus::Open);
}

#[test]
fn role_terms_cannot_end_before_they_start() {
    let (mut doc, ana) = new_group();
    assert!(doc.grant_role(&ana, "facilitator", day(5), Some(day(4))).is_err());
    let grant = doc.grant_role(&ana, "Facilitator", day(5), None).unwrap();
    assert!(doc.end_role(&grant, day(4)).is_err());
    doc.end_role(&grant, day(20)).unwrap();
    let view = doc.view();
    let grant = view.roles.iter().find(|r| r.id == grant).unwrap();
    assert_eq!(grant.role, "facilitator");
    assert_eq!(grant.until, Some(day(20)));
    assert_eq!(view.current_roles(day(21)).count(), 1, "only the steward grant is current");
}

#[test]
fn short_id_prefixes_find_records() {
    let (mut doc, _) = new_group();
    let meeting = doc.add_meeting(NewMeeting::new(day(5), "Monthly")).unwrap();
    assert_eq!(doc.find_id(RecordKind::Meeting, &meeting[..8]).unwrap(), meeting);
    assert_eq!(doc.find_id(RecordKind::Meeting, &meeting.to_uppercase()).unwrap(), meeting);
    assert!(matches!(doc.find_id(RecordKind::Meeting, "zz"), Err(ModelError::NotFound { .. })));
}

#[test]
fn saved_documents_load_and_foreign_bytes_are_refused() {
    let (mut doc, _) = new_group();
    let bytes = doc.save();
    assert_eq!(GroupDoc::load(&bytes).unwrap().view(), doc.view());
    assert!(matches!(GroupDoc::load(b"not automerge"), Err(ModelError::Unreadable(_))));
    let mut other = automerge::AutoCommit::new();
    other.put(automerge::ROOT, "hello", "world").unwrap();
    assert!(matches!(GroupDoc::load(&other.save()), Err(ModelError::Unreadable(_))));
}

#[test]
fn malformed_bytes_that_make_automerge_panic_are_an_error_not_a_crash() {
    // Found by `cargo fuzz run group_document_load`; automerge 0.12 panics on it instead of returning an error.
    let crash = include_bytes!(
        "../../../../fuzz/regressions/group_document_load/crash-7645e36bd36cbcf71ced0817f6eb488704df64c2"
    );
    assert!(matches!(GroupDoc::load(crash), Err(ModelError::Unreadable(_))));
    assert!(matches!(GroupDoc::load_trusted(crash), Err(ModelError::Unreadable(_))));
    let mut doc = GroupDoc::empty();
    assert!(doc.load_incremental(crash).is_err());
}

#[test]
fn relays_are_recorded_replaced_and_removed_and_two_added_at_once_both_stay() {
    let (mut doc, _) = new_group();
    let (relay_a, relay_b, owner) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
    let addresses = vec!["/ip4/10.0.0.1/tcp/4001".to_owned()];
    doc.set_relay(&relay_a, &owner, &addresses).unwrap();
    let mut other = replica(&mut doc, "0b");
    // Two devices add different relays at the same time: both survive the merge.
    doc.set_relay(&relay_a, &owner, &["/ip4/10.0.0.2/tcp/4001".to_owned()]).unwrap();
    other.set_relay(&relay_b, &owner, &addresses).unwrap();
    merge(&mut doc, &mut other);
    let relays = doc.relays();
    assert_eq!(relays.len(), 2);
    assert_eq!((relays[0].device.as_str(), relays[0].owner.as_str()), (relay_a.as_str(), owner.as_str()));
    assert_eq!(relays[0].addresses, vec!["/ip4/10.0.0.2/tcp/4001".to_owned()]);
    doc.remove_relay(&relay_a).unwrap();
    assert_eq!(doc.relays().len(), 1);
    assert!(matches!(doc.remove_relay(&relay_a), Err(ModelError::NotFound { .. })));
}

#[test]
fn a_relay_without_a_device_id_or_addresses_is_refused_and_changes_nothing() {
    let (mut doc, _) = new_group();
    let owner = "c".repeat(64);
    let addresses = vec!["/ip4/10.0.0.1/tcp/4001".to_owned()];
    assert!(matches!(doc.set_relay("not hex", &owner, &addresses), Err(ModelError::Invalid(_))));
    assert!(matches!(doc.set_relay(&"a".repeat(64), &owner, &[]), Err(ModelError::Invalid(_))));
    let injected = vec!["/ip4/10.0.0.1/tcp/1\nforged".to_owned()];
    assert!(matches!(doc.set_relay(&"a".repeat(64), &owner, &injected), Err(ModelError::Invalid(_))));
    assert!(doc.relays().is_empty());
}
