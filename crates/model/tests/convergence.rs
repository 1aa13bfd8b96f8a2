//! Random domain edits on two or three replicas, merged in random orders, always converge to the same view, and
//! concurrent edits of one single-value field always surface as a conflict.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use proptest::prelude::*;
use sunspace_model::{
    Attendee, DecisionMethod, DecisionPatch, Founder, GroupDoc, MeetingPatch, NewAction, NewDecision, NewMeeting,
};

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(i64::from(n))
}

/// One domain operation; indices pick among records that exist on the replica at that point (modulo their count).
#[derive(Debug, Clone)]
enum Op {
    AddMember(String),
    AddMeeting(u32, String),
    RetitleMeeting(usize, String),
    AppendMinutes(usize, String),
    EditMinutes(usize, usize, String),
    Attend(usize, usize, bool),
    Guest(usize, String),
    AddDecision(usize, String),
    SetOutcome(usize, String),
    AddAction(usize, String),
    CompleteAction(usize, u32),
}

fn text() -> impl Strategy<Value = String> {
    "[a-z ]{1,12}"
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        text().prop_map(Op::AddMember),
        (0u32..60, text()).prop_map(|(d, t)| Op::AddMeeting(d, t)),
        (any::<usize>(), text()).prop_map(|(m, t)| Op::RetitleMeeting(m, t)),
        (any::<usize>(), text()).prop_map(|(m, t)| Op::AppendMinutes(m, t)),
        (any::<usize>(), any::<usize>(), text()).prop_map(|(m, at, t)| Op::EditMinutes(m, at, t)),
        (any::<usize>(), any::<usize>(), any::<bool>()).prop_map(|(m, p, n)| Op::Attend(m, p, n)),
        (any::<usize>(), text()).prop_map(|(m, t)| Op::Guest(m, t)),
        (any::<usize>(), text()).prop_map(|(m, t)| Op::AddDecision(m, t)),
        (any::<usize>(), text()).prop_map(|(d, t)| Op::SetOutcome(d, t)),
        (any::<usize>(), text()).prop_map(|(p, t)| Op::AddAction(p, t)),
        (any::<usize>(), 0u32..60).prop_map(|(a, d)| Op::CompleteAction(a, d)),
    ]
}

fn pick<T: Clone>(items: &[T], index: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[index % items.len()].clone())
}

fn apply(doc: &mut GroupDoc, op: &Op) {
    let view = doc.view();
    let meetings: Vec<String> = view.meetings.iter().map(|m| m.id.clone()).collect();
    let members: Vec<String> = view.members.iter().map(|m| m.id.clone()).collect();
    let decisions: Vec<String> = view.decisions.iter().map(|d| d.id.clone()).collect();
    let actions: Vec<String> = view.actions.iter().map(|a| a.id.clone()).collect();
    let result = match op {
        Op::AddMember(name) => doc.add_local_member(name, day(0), None).map(drop),
        Op::AddMeeting(d, title) => doc.add_meeting(NewMeeting::new(day(*d), title)).map(drop),
        Op::RetitleMeeting(m, title) => match pick(&meetings, *m) {
            Some(m) => doc.update_meeting(&m, MeetingPatch { title: Some(title.clone()), ..Default::default() }),
            None => Ok(()),
        },
        Op::AppendMinutes(m, text) => match pick(&meetings, *m) {
            Some(m) => doc.append_minutes(&m, text),
            None => Ok(()),
        },
        Op::EditMinutes(m, at, text) => match pick(&meetings, *m) {
            Some(m) => {
                let current = view.meeting(&m).map(|m| m.minutes.clone()).unwrap_or_default();
                let chars: Vec<char> = current.chars().collect();
                let at = at % (chars.len() + 1);
                let edited: String = chars[..at]
                    .iter()
                    .chain(text.chars().collect::<Vec<_>>().iter())
                    .chain(chars[at..].iter())
                    .collect();
                doc.set_minutes(&m, &edited)
            }
            None => Ok(()),
        },
        Op::Attend(m, p, new_face) => match (pick(&meetings, *m), pick(&members, *p)) {
            (Some(m), Some(p)) => doc.add_attendance(&m, Attendee::Member(p), *new_face).map(drop),
            _ => Ok(()),
        },
        Op::Guest(m, name) => match pick(&meetings, *m) {
            Some(m) => doc.add_attendance(&m, Attendee::Guest(name.clone()), true).map(drop),
            None => Ok(()),
        },
        Op::AddDecision(m, title) => doc
            .add_decision(NewDecision {
                title: title.clone(),
                method: DecisionMethod::Consent,
                outcome: String::new(),
                date: day(1),
                review_by: None,
                meeting: pick(&meetings, *m),
            })
            .map(drop),
        Op::SetOutcome(d, outcome) => match pick(&decisions, *d) {
            Some(d) => doc.update_decision(&d, DecisionPatch { outcome: Some(outcome.clone()), ..Default::default() }),
            None => Ok(()),
        },
        Op::AddAction(p, title) => doc
            .add_action(NewAction {
                title: title.clone(),
                owners: pick(&members, *p).into_iter().collect(),
                due: Some(day(5)),
                decision: None,
                meeting: None,
            })
            .map(drop),
        Op::CompleteAction(a, d) => match pick(&actions, *a) {
            Some(a) => doc.set_action_done(&a, Some(day(*d))),
            None => Ok(()),
        },
    };
    // Whitespace-only titles are refused by validation; that is fine, the op simply does nothing.
    if let Err(error) = result {
        assert!(matches!(error, sunspace_model::ModelError::Empty { .. }), "unexpected error {error}");
    }
    doc.commit(0);
}

fn replicas(n: usize) -> Vec<GroupDoc> {
    let founder = Founder { device_id: "00".repeat(32), agreement_key: "11".repeat(32), display_name: "Ana".into() };
    let (mut base, _) = GroupDoc::create(&"22".repeat(16), "Group", &founder, day(0)).unwrap();
    base.commit(0);
    let saved = base.save();
    (0..n)
        .map(|i| {
            let mut doc = GroupDoc::load(&saved).unwrap();
            doc.set_author(&format!("{:02x}", i + 1).repeat(32)).unwrap();
            doc
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn replicas_converge_whatever_the_merge_order(
        n in 2usize..=3,
        edits in proptest::collection::vec((0usize..3, op()), 1..30),
        merge_order in proptest::collection::vec((0usize..3, 0usize..3), 0..12),
    ) {
        let mut docs = replicas(n);
        for (replica, op) in &edits {
            apply(&mut docs[replica % n], op);
        }
        // Some partial merges in a random order, then a full exchange.
        for (a, b) in merge_order {
            let (a, b) = (a % n, b % n);
            if a != b {
                let mut source = GroupDoc::load(&docs[b].save()).unwrap();
                docs[a].automerge().merge(source.automerge()).unwrap();
            }
        }
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    let mut source = GroupDoc::load(&docs[b].save()).unwrap();
                    docs[a].automerge().merge(source.automerge()).unwrap();
                }
            }
        }
        let first = docs[0].view();
        for doc in &docs[1..] {
            prop_assert_eq!(&doc.view(), &first);
        }
    }

    #[test]
    fn concurrent_single_value_edits_always_surface_as_conflicts(
        titles in proptest::collection::vec("[a-z]{1,8}", 2..=3),
    ) {
        let n = titles.len();
        let mut docs = replicas(n);
        let meeting = docs[0].add_meeting(NewMeeting::new(day(3), "Monthly")).unwrap();
        docs[0].commit(0);
        let saved = docs[0].save();
        for (i, doc) in docs.iter_mut().enumerate().skip(1) {
            let mut source = GroupDoc::load(&saved).unwrap();
            doc.automerge().merge(source.automerge()).unwrap();
            let _ = i;
        }
        for (doc, title) in docs.iter_mut().zip(&titles) {
            doc.update_meeting(&meeting, MeetingPatch { title: Some(title.clone()), ..Default::default() }).unwrap();
            doc.commit(0);
        }
        for b in 1..n {
            let mut source = GroupDoc::load(&docs[b].save()).unwrap();
            docs[0].automerge().merge(source.automerge()).unwrap();
        }
        let view = docs[0].view();
        let conflict = view.meetings[0].conflicts.iter().find(|c| c.field == "title");
        prop_assert!(conflict.is_some(), "no conflict for {:?}", titles);
        let mut stored: Vec<String> = conflict.unwrap().values.iter().map(|v| v.value.clone()).collect();
        let mut expected = titles.clone();
        stored.sort();
        expected.sort();
        prop_assert_eq!(stored, expected);
    }
}
