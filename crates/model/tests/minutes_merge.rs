//! Minutes typed on an older version of the document are merged by the model with what changed since, so no
//! front end merges text itself and no one's words are lost: the cases the window's own merge used to cover, the
//! same typing on two devices, and a property over random edits.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use proptest::prelude::*;
use sunspace_model::{Founder, GroupDoc, NewMeeting};

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

/// A document with one meeting whose minutes are `text`, and the meeting's id.
fn with_minutes(text: &str) -> (GroupDoc, String) {
    let founder = Founder { device_id: "aa".repeat(32), agreement_key: "bb".repeat(32), display_name: "Ana".into() };
    let (mut doc, _) = GroupDoc::create(&"cc".repeat(16), "Tenants", &founder, day()).unwrap();
    let meeting = doc.add_meeting(NewMeeting::new(day(), "General meeting")).unwrap();
    doc.set_minutes(&meeting, text).unwrap();
    doc.commit(0);
    (doc, meeting)
}

/// The writer saw `base`; meanwhile the minutes became `theirs`; the writer saves `ours`.
fn merge(base: &str, theirs: &str, ours: &str) -> String {
    let (mut doc, meeting) = with_minutes(base);
    let seen = doc.heads();
    doc.set_minutes(&meeting, theirs).unwrap();
    doc.commit(1);
    let merged = doc.merge_minutes(&meeting, ours, &seen).unwrap();
    doc.commit(2);
    assert_eq!(doc.view().meetings[0].minutes, merged);
    merged
}

#[test]
fn typing_on_an_older_version_keeps_the_words_others_wrote_meanwhile() {
    assert_eq!(merge("Agenda.", "Intro. Agenda.", "Agenda. Rent."), "Intro. Agenda. Rent.");
    assert_eq!(merge("a b", "a b c", "a X b"), "a X b c");
    assert_eq!(merge("same", "changed", "same"), "changed");
    assert_eq!(merge("same", "same", "ours"), "ours");
}

#[test]
fn words_the_writer_deleted_go_and_words_added_meanwhile_stay() {
    assert_eq!(merge("one two three", "one two three four", "one three"), "one three four");
    // Both deleted the same word: it is gone once, nothing else is.
    assert_eq!(merge("keep drop keep", "keep keep", "keep keep"), "keep keep");
}

#[test]
fn an_edit_on_the_current_version_is_a_plain_replacement() {
    let (mut doc, meeting) = with_minutes("Agenda.");
    let now = doc.heads();
    assert_eq!(doc.merge_minutes(&meeting, "Agenda. Rent.", &now).unwrap(), "Agenda. Rent.");
    assert_eq!(doc.merge_minutes(&meeting, "Only this.", &[]).unwrap(), "Only this.");
}

#[test]
fn a_version_this_device_never_held_is_refused_with_a_sentence() {
    let (mut doc, meeting) = with_minutes("Agenda.");
    let (mut other, _) = with_minutes("Elsewhere.");
    let unknown = other.heads();
    let error = doc.merge_minutes(&meeting, "x", &unknown).unwrap_err();
    assert!(error.to_string().contains("reload"), "{error}");
    assert_eq!(doc.view().meetings[0].minutes, "Agenda.");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Another writer inserts at one place and this writer at another, on the same version: both insertions are
    /// in the result, and taking them out gives the text they both started from.
    #[test]
    fn two_insertions_on_one_version_both_survive(
        base in "[a-z ]{0,40}",
        theirs_at in 0usize..41,
        ours_at in 0usize..41,
        theirs in "[A-M]{1,6}",
        ours in "[N-Z0-9]{1,6}",
    ) {
        let chars: Vec<char> = base.chars().collect();
        let (t, o) = (theirs_at.min(chars.len()), ours_at.min(chars.len()));
        let insert = |at: usize, what: &str| -> String {
            chars[..at].iter().collect::<String>() + what + &chars[at..].iter().collect::<String>()
        };
        let merged = merge(&base, &insert(t, &theirs), &insert(o, &ours));
        prop_assert!(merged.contains(&theirs) && merged.contains(&ours), "{merged}");
        prop_assert_eq!(merged.replace(&theirs, "").replace(&ours, ""), base);
    }

    /// This writer deletes a stretch; another inserts outside it: the stretch is gone and the insertion stays.
    #[test]
    fn a_deletion_and_an_insertion_elsewhere_both_take_effect(
        base in "[a-z]{2,40}",
        from in 0usize..40,
        len in 1usize..10,
        theirs in "[A-Z]{1,6}",
    ) {
        let chars: Vec<char> = base.chars().collect();
        let from = from.min(chars.len() - 1);
        let to = (from + len).min(chars.len());
        let ours: String = chars[..from].iter().chain(&chars[to..]).collect();
        // Theirs goes at the very end, outside the deleted stretch.
        let merged = merge(&base, &format!("{base}{theirs}"), &ours);
        prop_assert_eq!(merged, format!("{ours}{theirs}"));
    }
}

#[test]
fn minutes_merged_at_an_older_version_reach_another_device() {
    // The merged change is this device's next change in sequence: a peer vets and applies it like any other.
    let (mut doc, meeting) = with_minutes("Agenda.");
    let founding = doc.save();
    let before = doc.heads();
    let seen = doc.heads();
    doc.set_minutes(&meeting, "Intro. Agenda.").unwrap();
    doc.commit(1);
    doc.merge_minutes(&meeting, "Agenda. Rent.", &seen).unwrap();
    doc.commit(2);
    let (bytes, _) = doc.changes_after(&before);
    let mut peer = GroupDoc::load(&founding).unwrap();
    peer.set_author(&"dd".repeat(32)).unwrap();
    peer.try_changes(&bytes, &[0xaa; 32], Some(&[0xaa; 32])).unwrap();
    assert_eq!(peer.view().meetings[0].minutes, "Intro. Agenda. Rent.");
}
