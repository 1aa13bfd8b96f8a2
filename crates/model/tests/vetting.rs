//! What a member's device sends as change bytes is vetted without panicking, whatever the bytes, and whatever
//! passes applies and leaves a document that still reads as a Sunspace group.
#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use proptest::prelude::*;
use sunspace_model::{ChangeRefusal, Founder, GroupDoc, NewMeeting};

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
