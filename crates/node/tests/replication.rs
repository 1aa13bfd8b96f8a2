//! Two devices replicate a group through `OpenGroup::receive`, with no network: admission, history, edits both
//! ways, and the entries that must be refused.
#![allow(clippy::unwrap_used)]

mod common;

use common::{admit, day, device, sync};
use sunspace_crypto::{DeviceKeys, Secret32};
use sunspace_log::{Entry, EntryKind, LogPosition};
use sunspace_model::{NewDecision, NewMeeting};
use sunspace_node::Admission;

#[test]
fn an_admitted_device_receives_the_history_and_edits_flow_both_ways() {
    let ana = device("Ana");
    let bea = device("Bea");
    let mut a = ana.create_group("Tenants", day()).unwrap();
    let meeting = a.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "First meeting"))).unwrap();
    let mut b = admit(&mut a, &bea, "Bea");
    assert_eq!(b.view().meetings[0].title, "First meeting");
    assert!(b.members().is_active_device(&bea.device_id()));
    assert_eq!(bea.groups().unwrap()[0].name, "Tenants");

    // Offline edits on both sides, then both directions.
    a.edit(|doc| doc.append_minutes(&meeting, "Ana's note.")).unwrap();
    b.edit(|doc| {
        doc.add_decision(NewDecision {
            title: "Meet monthly".into(),
            method: sunspace_model::DecisionMethod::Consensus,
            outcome: "agreed".into(),
            date: day(),
            review_by: None,
            meeting: None,
        })
    })
    .unwrap();
    sync(&mut a, &mut b);
    let receipt = sync(&mut b, &mut a);
    assert_eq!(receipt.accepted.len(), 1);
    assert_eq!(a.view().decisions.len(), 1);
    assert_eq!(serde_json::to_value(a.view()).unwrap(), serde_json::to_value(b.view()).unwrap());

    // Everything again: all duplicates, nothing changes.
    let again = a.read_entries(bea.device_id(), 1, 10).unwrap();
    let receipt = a.receive(again).unwrap();
    assert_eq!(receipt.duplicates, 1, "Bea's one entry, carrying her edit");
    assert!(receipt.accepted.is_empty());

    // Reopening rebuilds the same membership and document from the stored entries.
    let reopened = bea.open_group(b.id()).unwrap();
    assert_eq!(serde_json::to_value(reopened.view()).unwrap(), serde_json::to_value(b.view()).unwrap());
    assert!(reopened.members().is_active_device(&ana.device_id()));
}

#[test]
fn entries_out_of_order_wait_and_are_applied_when_the_gap_is_filled() {
    let ana = device("Ana");
    let bea = device("Bea");
    let mut a = ana.create_group("Tenants", day()).unwrap();
    let mut b = admit(&mut a, &bea, "Bea");
    for n in 0..3 {
        a.edit(|doc| doc.add_meeting(NewMeeting::new(day(), &format!("Meeting {n}")))).unwrap();
        a.persist_pending().unwrap();
    }
    let start = b.heads()[&ana.device_id()] + 1;
    let mut entries = a.read_entries(ana.device_id(), start, start + 2).unwrap();
    entries.reverse();
    let first = entries.pop().unwrap();
    let receipt = b.receive(entries).unwrap();
    assert!(receipt.accepted.is_empty());
    assert_eq!(receipt.waiting, 2);
    let receipt = b.receive(vec![first]).unwrap();
    assert_eq!(receipt.accepted.len(), 3);
    assert_eq!(b.view().meetings.len(), 3);
}

#[test]
fn entries_from_a_device_that_is_not_a_member_are_never_stored() {
    let ana = device("Ana");
    let bea = device("Bea");
    let mut a = ana.create_group("Tenants", day()).unwrap();
    let b = admit(&mut a, &bea, "Bea");
    // A stranger who somehow holds the group key (a leaked key) still cannot write: it is not a member device.
    let stranger = DeviceKeys::generate();
    let key = Secret32::random();
    let forged =
        Entry::seal(&stranger, EntryKind::Change, a.id(), LogPosition::start().next_header_fields(), 0, &key, b"x");
    let receipt = a.receive(vec![forged.encode()]).unwrap();
    assert!(receipt.accepted.is_empty());
    assert_eq!(receipt.waiting, 1, "kept aside in case its admission arrives, never stored");
    assert!(a.read_entries(stranger.device_id(), 1, 1).unwrap().is_empty());
    // A stranger's founding entry for this group id cannot bind: the group id is derived from the founder's key.
    let mut membership = sunspace_membership::Log::new(a.id());
    let op = sunspace_membership::Op {
        group: a.id(),
        deps: Vec::new(),
        action: sunspace_membership::Action::Create {
            member: "x".into(),
            device: sunspace_membership::DeviceKey::of(&stranger),
            nonce: [0; 16],
        },
    };
    let signed = sunspace_membership::SignedOp::sign(&stranger, &op);
    let _ = membership.insert(signed.clone());
    drop(b);
    let fresh = device("Cal");
    let mut c = fresh.accept_group(a.id(), &[(0, "00".repeat(72))], "Tenants").err();
    assert!(c.take().is_some(), "a key that does not unwrap is refused");
}

#[test]
fn tampered_and_truncated_entries_are_refused_and_nothing_is_stored() {
    let ana = device("Ana");
    let bea = device("Bea");
    let mut a = ana.create_group("Tenants", day()).unwrap();
    let mut b = admit(&mut a, &bea, "Bea");
    b.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "Bea's meeting"))).unwrap();
    b.persist_pending().unwrap();
    let last = b.heads()[&bea.device_id()];
    let good = b.read_entries(bea.device_id(), last, last).unwrap().remove(0);

    let mut tampered = good.clone();
    let n = tampered.len();
    tampered[n - 80] ^= 1; // inside the ciphertext, under the signature
    let receipt = a.receive(vec![tampered, good[..good.len() / 2].to_vec()]).unwrap();
    assert_eq!(receipt.rejected.len(), 2, "{receipt:?}");
    assert!(receipt.accepted.is_empty());
    assert!(a.read_entries(bea.device_id(), 1, 10).unwrap().is_empty());

    // The genuine entry still goes in afterwards.
    let receipt = a.receive(vec![good]).unwrap();
    assert_eq!(receipt.accepted.len(), 1);
    assert_eq!(a.view().meetings.len(), 1);
}

#[test]
fn only_a_steward_admits_members_but_anyone_links_their_own_device() {
    let ana = device("Ana");
    let bea = device("Bea");
    let mut a = ana.create_group("Tenants", day()).unwrap();
    let mut b = admit(&mut a, &bea, "Bea");
    let cal = device("Cal");
    let admission = Admission {
        device: cal.device_id(),
        agreement: cal.agreement_public(),
        name: "Cal".into(),
        own_device: false,
        existing_member: None,
        via_qr: false,
    };
    let error = b.admit(&admission).unwrap_err();
    assert!(error.to_string().contains("steward"), "{error}");
    let phone = device("Bea");
    let link = Admission { own_device: true, name: String::new(), ..admission.clone() };
    let link = Admission { device: phone.device_id(), agreement: phone.agreement_public(), ..link };
    let (member, wrapped) = b.admit(&link).unwrap();
    assert_eq!(b.members().devices[&phone.device_id()].member, member);
    let mut p = phone.accept_group(b.id(), &wrapped, "Tenants").unwrap();
    sync(&mut b, &mut p);
    sync(&mut a, &mut p);
    assert!(p.members().is_active_device(&phone.device_id()));
    assert_eq!(p.my_member_id(), Some(member));
}

#[test]
fn a_removed_member_can_read_nothing_written_after_the_removal_and_their_later_entries_are_refused() {
    let ana = device("Ana");
    let bea = device("Bea");
    let cal = device("Cal");
    let mut a = ana.create_group("Tenants", day()).unwrap();
    let mut b = admit(&mut a, &bea, "Bea");
    let mut c = admit(&mut a, &cal, "Cal");
    sync(&mut a, &mut b);
    sync(&mut c, &mut a);
    sync(&mut a, &mut b);
    let before = a.safety_number();
    assert_eq!(before, b.safety_number());

    // Ana removes Cal; the key rotates; Ana writes.
    let cal_member = c.my_member_id().unwrap();
    let cutoffs = a.remove_member(&cal_member, "passed the minutes to management").unwrap();
    assert_eq!(cutoffs.len(), 1);
    let cal_record = a.view().members.into_iter().find(|m| m.id == cal_member).unwrap();
    assert_eq!(cal_record.status, sunspace_model::MemberStatus::Left, "the records say Cal has left");
    let cal_devices: Vec<_> = a.view().devices.into_iter().filter(|d| d.member == cal_member).collect();
    assert!(!cal_devices.is_empty() && cal_devices.iter().all(|d| d.revoked.is_some()), "{cal_devices:?}");
    a.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "After the removal"))).unwrap();
    a.persist_pending().unwrap();
    assert_ne!(a.safety_number(), before);

    // Bea receives it all and can read the new meeting; so will everything Bea writes next.
    let receipt = sync(&mut a, &mut b);
    assert!(receipt.rejected.is_empty() && receipt.waiting == 0, "{receipt:?}");
    assert_eq!(b.view().meetings.len(), 1);
    assert_eq!(b.safety_number(), a.safety_number());
    let meeting = b.view().meetings[0].id.clone();
    b.edit(|doc| doc.append_minutes(&meeting, "Bea's note after the removal")).unwrap();
    sync(&mut b, &mut a);
    assert!(a.view().meetings[0].minutes.contains("Bea's note"));

    // Cal, not yet aware, writes with the old key: everyone refuses entries after his cut-off.
    c.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "Cal's fake meeting"))).unwrap();
    let receipt = sync(&mut c, &mut a);
    assert!(receipt.rejected.iter().any(|r| r.contains("removed device")), "{receipt:?}");
    assert_eq!(a.view().meetings.len(), 1);

    // Cal receives everything: he learns he was removed, and can read nothing written after it.
    let receipt = sync(&mut a, &mut c);
    assert!(!c.members().is_active_device(&cal.device_id()));
    assert!(!c.view().meetings.iter().any(|m| m.title == "After the removal"), "the removed member read it");
    assert!(receipt.waiting > 0, "entries under the new key wait unread: {receipt:?}");
    let error = c.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "Another"))).and_then(|_| c.persist_pending());
    assert!(matches!(error, Err(sunspace_node::NodeError::NotAMember)), "{error:?}");
    assert_eq!(a.view().meetings.len(), 1);
}
