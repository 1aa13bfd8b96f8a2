//! Three honest devices and one hostile one, driven at random: honest edits, hostile entries of every kind the
//! harness makes, deliveries between any two devices in any order, some of them dropped. Whatever happens, once
//! the honest devices have synced with each other they hold the same records and the same membership, every one
//! of them still opens from its store, the hostile device's removal takes effect, and what it sent that was
//! refused is reported.
//!
//! Equivocation (two entries for one place sent to different devices) is left out here: it is found and shown
//! (`hostile.rs`, `hostile_network.rs`), but edits built on one branch cannot be applied where the other is held,
//! so the honest devices do not converge after it (see `docs/threat-model.md`).
#![allow(clippy::unwrap_used)]

mod common;

use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};
use common::{admit, day, device, missing, sync};
use proptest::prelude::*;
use sunspace_log::EntryKind;
use sunspace_membership::{Action, OpId, Role};
use sunspace_model::NewMeeting;
use sunspace_node::{IntegrityKind, OpenGroup, Vault};

#[derive(Debug, Clone)]
enum Step {
    /// An honest device adds a meeting.
    Edit(usize),
    /// The hostile device signs something no honest client makes.
    Hostile(u8),
    /// Everything `from` holds that `to` lacks, with every `drop`-th entry lost on the way (0: none).
    Deliver { from: usize, to: usize, drop: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..3usize).prop_map(Step::Edit),
        (0..6u8).prop_map(Step::Hostile),
        (0..4usize, 0..3usize, 0..4usize).prop_map(|(from, to, drop)| Step::Deliver { from, to, drop }),
    ]
}

/// What the hostile device makes for `kind`.
fn hostile_entry(mal: &mut OpenGroup, kind: u8, victim: [u8; 32]) -> Vec<u8> {
    match kind {
        0 => {
            let bytes = mal.forge_changes(|doc| {
                let _ = doc.delete(ROOT, "sunspace_schema");
            });
            mal.forge_entry(EntryKind::Change, &bytes).unwrap()
        }
        1 => {
            let bytes = mal.forge_changes_as(&victim, |doc| {
                let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
                let _ = doc.put(&meetings, "forged", "in someone else's name");
            });
            mal.forge_entry(EntryKind::Change, &bytes).unwrap()
        }
        2 => mal.forge_entry(EntryKind::Change, b"\x85\x6f\x4a\x83 not automerge").unwrap(),
        3 => mal
            .forge_op(vec![OpId([0x42; 32])], Action::GrantRole { member: "anyone".into(), role: Role::Steward })
            .unwrap(),
        4 => {
            let bytes = mal.forge_changes(|doc| {
                let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
                let _ = doc.put(&meetings, "tally", automerge::ScalarValue::counter(3));
            });
            mal.forge_entry(EntryKind::Change, &bytes).unwrap()
        }
        // A plain, valid edit: what a member may do.
        _ => {
            let bytes = mal.forge_changes(|doc| {
                let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
                let _ = doc.put(&meetings, "note", "Mal was here");
            });
            mal.forge_entry(EntryKind::Change, &bytes).unwrap()
        }
    }
}

/// `from`'s entries that `to` lacks, every `drop`-th one lost.
fn deliver(from: &mut OpenGroup, to: &mut OpenGroup, drop: usize) {
    let entries = missing(from, to);
    let kept: Vec<Vec<u8>> =
        entries.into_iter().enumerate().filter(|(i, _)| drop == 0 || i % (drop + 1) != drop).map(|(_, e)| e).collect();
    to.receive(kept).unwrap();
}

fn two<T>(items: &mut [T], a: usize, b: usize) -> (&mut T, &mut T) {
    assert_ne!(a, b);
    if a < b {
        let (left, right) = items.split_at_mut(b);
        (&mut left[a], &mut right[0])
    } else {
        let (left, right) = items.split_at_mut(a);
        (&mut right[0], &mut left[b])
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn honest_devices_converge_and_open_whatever_a_hostile_member_sends(steps in proptest::collection::vec(step(), 1..30)) {
        let vaults: Vec<Vault> = ["Ana", "Bea", "Cy", "Mal"].into_iter().map(device).collect();
        let mut ana = vaults[0].create_group("Night shift", day()).unwrap();
        let bea = admit(&mut ana, &vaults[1], "Bea");
        let cy = admit(&mut ana, &vaults[2], "Cy");
        let mal = admit(&mut ana, &vaults[3], "Mal");
        // Devices 0..3 are honest; 3 is Mal.
        let mut devices = vec![ana, bea, cy, mal];
        for i in 1..3 {
            let (a, b) = two(&mut devices, 0, i);
            sync(a, b);
        }
        let victim = vaults[0].device_id().0;
        let mut hostile_sent = false;
        for step in steps {
            match step {
                Step::Edit(i) => {
                    devices[i].edit(|doc| doc.add_meeting(NewMeeting::new(day(), "A meeting"))).unwrap();
                }
                Step::Hostile(kind) => {
                    hostile_entry(&mut devices[3], kind, victim);
                    hostile_sent |= kind < 5;
                }
                Step::Deliver { from, to, drop } if from != to => {
                    let (a, b) = two(&mut devices, from, to);
                    deliver(a, b, drop);
                }
                Step::Deliver { .. } => {}
            }
        }
        // Mal's whole log reaches everyone, then Ana removes Mal.
        for to in 0..3 {
            let (mal, honest) = two(&mut devices, 3, to);
            deliver(mal, honest, 0);
        }
        let mal_member = devices[0].members().member_of(&vaults[3].device_id()).unwrap().to_owned();
        devices[0].remove_member(&mal_member, "infiltrator").unwrap();
        // The honest devices sync with each other until nothing moves.
        for _ in 0..3 {
            for from in 0..3 {
                for to in 0..3 {
                    if from != to {
                        let (a, b) = two(&mut devices, from, to);
                        deliver(a, b, 0);
                    }
                }
            }
        }
        let first = devices[0].view();
        for device in &devices[1..3] {
            prop_assert_eq!(&device.view().meetings, &first.meetings);
            prop_assert_eq!(device.safety_number(), devices[0].safety_number());
            prop_assert!(!device.members().is_active_device(&vaults[3].device_id()));
        }
        for (vault, device) in vaults.iter().zip(&devices).take(3) {
            let reopened = vault.open_group(device.id()).unwrap();
            prop_assert_eq!(reopened.view().meetings, first.meetings.clone());
            prop_assert!(reopened.damage().is_empty(), "{:?}", reopened.damage());
        }
        if hostile_sent {
            // Mal's first hostile entry reached every honest device; whichever it was, it was refused or (a
            // made-up dependency) waits, and at least one device says so.
            let noted = devices[..3].iter().any(|d| d.integrity().iter().any(|n| matches!(n.kind, IntegrityKind::Refused | IntegrityKind::MembershipPending)));
            prop_assert!(noted);
        }
    }
}
