//! What a member's device sends as change bytes is vetted without panicking, whatever the bytes, and whatever
//! passes applies and leaves a document that still reads as a Sunspace group.
#![allow(clippy::unwrap_used)]

use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc, ScalarValue, ROOT};
use chrono::NaiveDate;
use proptest::prelude::*;
use sunspace_model::{ChangeRefusal, Founder, GroupDoc, NewMeeting, NewPattern, NewPerson, NewStory, RecordKind};

const ANA: [u8; 32] = [0xaa; 32];
const BEA: [u8; 32] = [0xbb; 32];

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

/// Ana's group, and a bundle of Bea's edits made on a copy of it.
fn group_and_edits() -> (GroupDoc, Vec<u8>) {
    let founder = Founder { device_id: hex::encode(ANA), agreement_key: "cc".repeat(32), display_name: "Ana".into() };
    let (mut doc, _) = GroupDoc::create(&"cd".repeat(16), "Tenants", &founder, day()).unwrap();
    doc.commit(0);
    let saved = doc.save();
    let mut bea = GroupDoc::load(&saved).unwrap();
    bea.set_author(&hex::encode(BEA)).unwrap();
    let before = bea.heads();
    for i in 0..20 {
        bea.add_meeting(NewMeeting::new(day(), &format!("Meeting {i}"))).unwrap();
        bea.commit(i);
    }
    let (bundle, _) = bea.changes_after(&before);
    (GroupDoc::load(&saved).unwrap(), bundle)
}

/// Tries the bytes on a copy, as a receiver does: either a refusal, or a copy that is still a Sunspace group
/// document and views; the document itself never changes.
fn vet_and_apply(doc: &mut GroupDoc, bytes: &[u8]) -> Result<(), ChangeRefusal> {
    let before = doc.heads();
    let mut copy = doc.trial_copy();
    let tried = copy.try_changes(bytes, &BEA, Some(&ANA));
    assert_eq!(doc.heads(), before);
    tried?;
    copy.check_schema().unwrap();
    let _ = copy.view();
    *doc = copy;
    Ok(())
}

#[test]
fn an_honest_members_bundle_passes_and_applies() {
    let (mut doc, bundle) = group_and_edits();
    vet_and_apply(&mut doc, &bundle).unwrap();
    assert_eq!(doc.view().meetings.len(), 20);
    // The same bundle again is already held: nothing to apply, nothing refused.
    vet_and_apply(&mut doc, &bundle).unwrap();
}

#[test]
fn an_honest_bundle_claimed_by_another_device_is_refused() {
    let (mut doc, bundle) = group_and_edits();
    let refused = doc.vet_changes(&bundle, &ANA, Some(&ANA)).unwrap_err();
    assert!(matches!(refused, ChangeRefusal::WrongActor { .. }), "{refused}");
}

/// A group document as versions before the listening step made it (no such tables), founded by Ana, with Ana as a
/// member; and Bea's copy of it.
fn old_group_and_copy() -> (GroupDoc, GroupDoc, String) {
    let mut raw = automerge::AutoCommit::new();
    raw.set_actor(automerge::ActorId::from(ANA.to_vec()));
    raw.put(ROOT, "sunspace_schema", 1).unwrap();
    let group = raw.put_object(ROOT, "group", ObjType::Map).unwrap();
    raw.put(&group, "id", "cd".repeat(16)).unwrap();
    raw.put(&group, "name", "Tenants").unwrap();
    let charter = raw.put_object(ROOT, "charter", ObjType::Map).unwrap();
    raw.put_object(&charter, "purpose", ObjType::Text).unwrap();
    for table in ["members", "devices", "roles", "meetings", "decisions", "actions"] {
        raw.put_object(ROOT, table, ObjType::Map).unwrap();
    }
    let mut doc = GroupDoc::load(&raw.save()).unwrap();
    let ana = doc.add_local_member("Ana", day(), None).unwrap();
    doc.commit(1);
    let mut bea = GroupDoc::load(&doc.save()).unwrap();
    bea.set_author(&hex::encode(BEA)).unwrap();
    (doc, bea, ana)
}

/// What Bea's copy holds beyond `before`, as she would send it.
fn sent(bea: &mut GroupDoc, before: &[automerge::ChangeHash]) -> Vec<u8> {
    bea.commit(2);
    bea.changes_after(before).0
}

#[test]
fn a_member_may_make_the_listening_tables_an_older_document_lacks() {
    let (mut doc, mut bea, ana) = old_group_and_copy();
    let before = bea.heads();
    bea.add_person(NewPerson::new("Lee", day())).unwrap();
    bea.add_conversation(&ana, day(), true).unwrap();
    let story =
        NewStory { text: "No heat.".into(), told_by: None, from_one_on_one: None, shared_by: ana, shared_on: day() };
    bea.add_story(story).unwrap();
    bea.add_pattern(NewPattern::new("Heat", day())).unwrap();
    vet_and_apply(&mut doc, &sent(&mut bea, &before)).unwrap();
    let view = doc.view();
    assert_eq!((view.people.len(), view.conversations.len(), view.stories.len(), view.patterns.len()), (1, 1, 1, 1));
}

#[test]
fn tables_two_members_made_at_once_both_pass_and_both_show() {
    let (mut doc, mut bea, _) = old_group_and_copy();
    let mut cy = GroupDoc::load(&doc.save()).unwrap();
    cy.set_author(&hex::encode([0xcc; 32])).unwrap();
    let before = bea.heads();
    bea.add_person(NewPerson::new("Lee", day())).unwrap();
    cy.add_person(NewPerson::new("Kim", day())).unwrap();
    let (from_bea, from_cy) = (sent(&mut bea, &before), sent(&mut cy, &before));
    vet_and_apply(&mut doc, &from_bea).unwrap();
    let mut copy = doc.trial_copy();
    copy.try_changes(&from_cy, &[0xcc; 32], Some(&ANA)).unwrap();
    let names: Vec<String> = copy.view().people.into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["Kim", "Lee"]);
}

/// Bea's copy after `hostile` wrote to it directly, as a modified client would, vetted by Ana's document.
fn hostile(
    doc: &mut GroupDoc,
    bea: &mut GroupDoc,
    write: impl FnOnce(&mut automerge::AutoCommit),
) -> Result<(), ChangeRefusal> {
    let before = bea.heads();
    write(bea.automerge());
    let bytes = sent(bea, &before);
    assert!(!bytes.is_empty());
    vet_and_apply(doc, &bytes)
}

#[test]
fn a_change_that_replaces_deletes_or_overwrites_a_listening_table_is_refused() {
    let (mut doc, _) = group_and_edits();
    let mut bea = GroupDoc::load(&doc.save()).unwrap();
    bea.set_author(&hex::encode(BEA)).unwrap();
    // A new group has the tables: a table made over one supersedes it (the records would vanish everywhere).
    let replace = hostile(&mut doc.trial_copy(), &mut bea.trial_copy(), |raw| {
        raw.put_object(ROOT, "people", ObjType::Map).unwrap();
    });
    assert_eq!(replace, Err(ChangeRefusal::TouchesRoot));
    let delete = hostile(&mut doc.trial_copy(), &mut bea.trial_copy(), |raw| raw.delete(ROOT, "stories").unwrap());
    assert_eq!(delete, Err(ChangeRefusal::TouchesRoot));
    let overwrite = hostile(&mut doc.trial_copy(), &mut bea.trial_copy(), |raw| raw.put(ROOT, "patterns", 1).unwrap());
    assert_eq!(overwrite, Err(ChangeRefusal::TouchesRoot));
}

#[test]
fn only_the_listening_tables_may_be_made_and_only_as_maps() {
    let (mut doc, mut bea, _) = old_group_and_copy();
    let other_key = hostile(&mut doc.trial_copy(), &mut bea.trial_copy(), |raw| {
        raw.put_object(ROOT, "secrets", ObjType::Map).unwrap();
    });
    assert_eq!(other_key, Err(ChangeRefusal::TouchesRoot));
    let text = hostile(&mut doc.trial_copy(), &mut bea.trial_copy(), |raw| {
        raw.put_object(ROOT, "stories", ObjType::Text).unwrap();
    });
    assert_eq!(text, Err(ChangeRefusal::TouchesRoot));
    let scalar = hostile(&mut doc.trial_copy(), &mut bea.trial_copy(), |raw| raw.put(ROOT, "people", "x").unwrap());
    assert_eq!(scalar, Err(ChangeRefusal::TouchesRoot));
    // A table made alongside a change to the layout version is refused whole.
    let both = hostile(&mut doc.trial_copy(), &mut bea.trial_copy(), |raw| {
        raw.put_object(ROOT, "people", ObjType::Map).unwrap();
        raw.put(ROOT, "sunspace_schema", 2).unwrap();
    });
    assert_eq!(both, Err(ChangeRefusal::TouchesRoot));
    assert!(doc.view().people.is_empty());
}

#[test]
fn lists_and_counters_in_the_listening_tables_are_refused_like_anywhere_else() {
    let (mut doc, mut bea, _) = group_and_copy_with_person();
    let person = doc.view().people[0].id.clone();
    let in_record = |raw: &mut automerge::AutoCommit| {
        let people = raw.get(ROOT, "people").unwrap().unwrap().1;
        raw.get(&people, person.as_str()).unwrap().unwrap().1
    };
    let list = hostile(&mut doc.trial_copy(), &mut bea.trial_copy(), |raw| {
        let record = in_record(raw);
        raw.put_object(&record, "tags", ObjType::List).unwrap();
    });
    assert_eq!(list, Err(ChangeRefusal::Operation));
    let counter = hostile(&mut doc.trial_copy(), &mut bea.trial_copy(), |raw| {
        let record = in_record(raw);
        raw.put(&record, "score", ScalarValue::counter(3)).unwrap();
    });
    assert_eq!(counter, Err(ChangeRefusal::Operation));
}

#[test]
fn malformed_values_in_the_listening_tables_pass_vetting_and_are_listed_as_unreadable() {
    // As in the first tables: vetting refuses what automerge and Sunspace's readers cannot handle alike, and the
    // view refuses to show what does not read as a record (a modified client may write anything a member may).
    let (mut doc, mut bea, _) = group_and_copy_with_person();
    let person = doc.view().people[0].id.clone();
    hostile(&mut doc, &mut bea, |raw| {
        let people = raw.get(ROOT, "people").unwrap().unwrap().1;
        let record = raw.get(&people, person.as_str()).unwrap().unwrap().1;
        raw.put(&record, "name", 42).unwrap();
        raw.put(&people, "not-a-record", true).unwrap();
        let patterns = raw.get(ROOT, "patterns").unwrap().unwrap().1;
        let pattern = raw.put_object(&patterns, "ab".repeat(16), ObjType::Map).unwrap();
        raw.put(&pattern, "name", "Heat").unwrap();
        raw.put(&pattern, "named_on", "soon").unwrap();
    })
    .unwrap();
    let view = doc.view();
    assert!(view.people.is_empty() && view.patterns.is_empty());
    let mut unreadable = view.unreadable.clone();
    unreadable.sort();
    let mut expected =
        vec![format!("patterns/{}", "ab".repeat(16)), "people/not-a-record".to_owned(), format!("people/{person}")];
    expected.sort();
    assert_eq!(unreadable, expected);
    let _ = sunspace_model::export::markdown(&view);
    let _ = sunspace_model::vitality::compute(&view, day());
    assert!(
        doc.history(RecordKind::Person, &person).is_ok_and(|h| !h.is_empty()),
        "the record is still there, for its history"
    );
}

#[test]
fn a_compartments_document_is_vetted_like_a_groups() {
    // Ana's device made the compartment: its first change lays the document out, as a founder's does.
    let mut made = GroupDoc::create_compartment(&"0c".repeat(16), "Research", &hex::encode(ANA), day()).unwrap();
    made.commit(0);
    let genesis = made.save_after(&[]);
    let mut doc = GroupDoc::empty();
    assert!(matches!(doc.vet_changes(&genesis, &BEA, Some(&ANA)), Err(ChangeRefusal::WrongActor { .. })));
    let vetted = doc.vet_changes(&genesis, &ANA, Some(&ANA)).unwrap();
    doc.apply_vetted(vec![vetted]).unwrap();
    assert!(doc.is_compartment());
    let mut bea = GroupDoc::load(&made.save()).unwrap();
    bea.set_author(&hex::encode(BEA)).unwrap();
    let before = bea.heads();
    let member = "ef".repeat(16);
    bea.add_conversation(&member, day(), false).unwrap();
    bea.add_meeting(NewMeeting::new(day(), "Research huddle")).unwrap();
    vet_and_apply(&mut doc, &sent(&mut bea, &before)).unwrap();
    let view = doc.view();
    assert_eq!((view.conversations.len(), view.meetings.len()), (1, 1));
    assert_eq!(
        hostile(&mut doc.trial_copy(), &mut bea, |raw| raw.put(ROOT, "sunspace_schema", 2).unwrap()),
        Err(ChangeRefusal::TouchesRoot)
    );
}

/// A new group (all tables) with one person in the base, and Bea's copy of it.
fn group_and_copy_with_person() -> (GroupDoc, GroupDoc, String) {
    let founder = Founder { device_id: hex::encode(ANA), agreement_key: "cc".repeat(32), display_name: "Ana".into() };
    let (mut doc, ana) = GroupDoc::create(&"cd".repeat(16), "Tenants", &founder, day()).unwrap();
    doc.add_person(NewPerson::new("Lee", day())).unwrap();
    doc.commit(0);
    let mut bea = GroupDoc::load(&doc.save()).unwrap();
    bea.set_author(&hex::encode(BEA)).unwrap();
    (doc, bea, ana)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_are_refused_or_apply_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (mut doc, _) = group_and_edits();
        let _ = vet_and_apply(&mut doc, &bytes);
    }

    #[test]
    fn a_mutated_bundle_is_refused_or_applies_cleanly(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let (mut doc, mut bundle) = group_and_edits();
        for (at, byte) in flips {
            let len = bundle.len();
            bundle[at % len] ^= byte | 1;
        }
        let _ = vet_and_apply(&mut doc, &bundle);
    }

    #[test]
    fn a_truncated_bundle_is_refused_or_applies_cleanly(cut in any::<usize>()) {
        let (mut doc, bundle) = group_and_edits();
        let _ = vet_and_apply(&mut doc, &bundle[..cut % bundle.len()]);
    }
}
