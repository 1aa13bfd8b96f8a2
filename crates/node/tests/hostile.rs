//! A member device run in bad faith: real admitted members, the hostile one crafting what no honest client
//! makes (`sunspace_node::forge`), delivered through `OpenGroup::receive` as a peer would send it. Each test is
//! one attack from issue 12, named after it: the attack fails, the honest devices keep working and say what
//! happened.
#![allow(clippy::unwrap_used)]

mod common;

use automerge::transaction::Transactable;
use automerge::ReadDoc;
use automerge::ROOT;
use common::{admit, day, device, sync};
use sunspace_log::{ChainLink, EntryKind};
use sunspace_membership::{Action, OpId};
use sunspace_model::NewMeeting;
use sunspace_node::{IntegrityKind, OpenGroup, Vault};

/// Ana (founder, steward) with a meeting on record, and Mal, a member whose device is run in bad faith.
struct Group {
    ana_vault: Vault,
    ana: OpenGroup,
    mal: OpenGroup,
}

fn group() -> Group {
    let ana_vault = device("Ana");
    let mut ana = ana_vault.create_group("Night shift", day()).unwrap();
    ana.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "First meeting"))).unwrap();
    let mal_vault = device("Mal");
    let mal = admit(&mut ana, &mal_vault, "Mal");
    Group { ana_vault, ana, mal }
}

/// Asserts that `entry` from the hostile device is refused by `victim`, stored nowhere, and reported.
fn assert_refused(victim: &mut OpenGroup, entry: Vec<u8>, reason: &str) {
    let before = victim.heads();
    let receipt = victim.receive(vec![entry]).unwrap();
    assert!(receipt.accepted.is_empty(), "{receipt:?}");
    assert!(receipt.rejected.iter().any(|r| r.contains(reason)), "{receipt:?}");
    assert_eq!(victim.heads(), before, "a refused entry must not be stored");
    assert!(
        victim.integrity().iter().any(|n| n.kind == IntegrityKind::Refused && n.sentence.contains("Mal's device")),
        "{:?}",
        victim.integrity()
    );
}

#[test]
fn a_change_deleting_the_layout_version_is_refused_and_every_device_still_opens() {
    let Group { ana_vault, mut ana, mut mal } = group();
    let bytes = mal.forge_changes(|doc| {
        doc.delete(ROOT, "sunspace_schema").unwrap();
    });
    let entry = mal.forge_entry(EntryKind::Change, &bytes).unwrap();
    assert_refused(&mut ana, entry, "layout");
    // Ana's device opens the group as before, with its records.
    let again = ana_vault.open_group(ana.id()).unwrap();
    assert_eq!(again.view().meetings[0].title, "First meeting");
    assert!(again.damage().is_empty());
}

#[test]
fn a_change_deleting_every_meeting_table_is_refused() {
    let Group { mut ana, mut mal, .. } = group();
    let bytes = mal.forge_changes(|doc| {
        doc.delete(ROOT, "meetings").unwrap();
        doc.put(ROOT, "members", "nobody").unwrap();
    });
    let entry = mal.forge_entry(EntryKind::Change, &bytes).unwrap();
    assert_refused(&mut ana, entry, "layout");
    assert_eq!(ana.view().meetings.len(), 1);
}

#[test]
fn a_change_made_in_another_members_name_is_refused() {
    let Group { mut ana, mut mal, .. } = group();
    let ana_device = ana.members().founder.unwrap().0;
    let meeting = ana.view().meetings[0].id.clone();
    let bytes = mal.forge_changes_as(&ana_device, |doc| {
        let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
        let record = doc.get(&meetings, meeting.as_str()).unwrap().unwrap().1;
        doc.put(&record, "title", "Cancelled").unwrap();
    });
    let entry = mal.forge_entry(EntryKind::Change, &bytes).unwrap();
    assert_refused(&mut ana, entry, "another device's name");
    assert_eq!(ana.view().meetings[0].title, "First meeting");
}

#[test]
fn a_change_reusing_a_sequence_number_is_refused() {
    let Group { mut ana, mut mal, .. } = group();
    let meeting = ana.view().meetings[0].id.clone();
    // A change made aside, then Mal's real edit, which takes the same automerge sequence number.
    let aside = mal.forge_changes(|doc| {
        let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
        let record = doc.get(&meetings, meeting.as_str()).unwrap().unwrap().1;
        doc.put(&record, "title", "Rewritten").unwrap();
    });
    mal.edit(|doc| doc.append_minutes(&meeting, "Mal was here.")).unwrap();
    assert!(sync(&mut mal, &mut ana).rejected.is_empty());
    let entry = mal.forge_entry(EntryKind::Change, &aside).unwrap();
    assert_refused(&mut ana, entry, "two histories for one device");
    assert_eq!(ana.view().meetings[0].title, "First meeting");
}

#[test]
fn automerge_panic_inputs_and_other_chunk_kinds_are_refused() {
    let Group { mut ana, mut mal, .. } = group();
    let crasher =
        include_bytes!("../../../fuzz/regressions/group_document_load/crash-7645e36bd36cbcf71ced0817f6eb488704df64c2");
    let entry = mal.forge_entry(EntryKind::Change, crasher).unwrap();
    let receipt = ana.receive(vec![entry]).unwrap();
    assert!(receipt.accepted.is_empty() && receipt.rejected.len() == 1, "{receipt:?}");
    // A whole document inside an entry is never sent by Sunspace.
    let Group { mut ana, mut mal, .. } = group();
    let document = mal.export_automerge();
    let entry = mal.forge_entry(EntryKind::Change, &document).unwrap();
    assert_refused(&mut ana, entry, "chunk type 0");
}

#[test]
fn a_deflate_bomb_is_refused_without_being_inflated() {
    use std::io::Write;
    let Group { mut ana, mut mal, .. } = group();
    // A bundle chunk whose one column claims to be deflated: 256 MiB of zeros in a few hundred KiB.
    let mut deflated = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        deflated.write_all(&zeros).unwrap();
    }
    let column = deflated.finish().unwrap();
    let mut body = vec![0u8, 0u8]; // no deps, no actors
    leb(&mut body, 1); // one change-metadata column
    leb(&mut body, (1 << 4) | 0b1000); // column 1, deflated
    leb(&mut body, column.len() as u64);
    body.extend_from_slice(&column);
    body.push(0); // no op columns
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83];
    chunk.extend_from_slice(&sunspace_model::chunk_checksum(3, &body));
    chunk.push(3);
    leb(&mut chunk, body.len() as u64);
    chunk.extend_from_slice(&body);
    let entry = mal.forge_entry(EntryKind::Change, &chunk).unwrap();
    assert_refused(&mut ana, entry, "inflate");
}

fn leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[test]
fn an_op_with_a_made_up_dependency_does_not_freeze_the_membership() {
    let Group { mut ana, mut mal, ana_vault: _ } = group();
    let made_up = OpId([0x42; 32]);
    let entry = mal
        .forge_op(
            vec![made_up],
            Action::GrantRole { member: "anyone".into(), role: sunspace_membership::Role::Steward },
        )
        .unwrap();
    let receipt = ana.receive(vec![entry]).unwrap();
    assert_eq!(receipt.accepted.len(), 1, "the entry is valid; only its op waits: {receipt:?}");
    assert!(ana.integrity().iter().any(|n| n.kind == IntegrityKind::MembershipPending));
    // Ana can still remove Mal, and the removal takes effect.
    let mal_member = ana.members().member_of(&mal.forge_device_keys().device_id()).unwrap().to_owned();
    ana.remove_member(&mal_member, "passing minutes to management").unwrap();
    assert!(!ana.members().is_active_device(&mal.forge_device_keys().device_id()));
}

#[test]
fn a_member_flooding_the_membership_fills_only_its_own_quota() {
    let Group { mut ana, mut mal, .. } = group();
    let mut entries = Vec::new();
    for i in 0..sunspace_membership::MAX_OPS_PER_AUTHOR + 5 {
        let mut deps = mal.forge_heads();
        deps.push(OpId([i as u8; 32]));
        entries.push(
            mal.forge_op(deps, Action::GrantRole { member: format!("m{i}"), role: sunspace_membership::Role::Steward })
                .unwrap(),
        );
    }
    ana.receive(entries).unwrap();
    // Ana's own membership changes still take effect.
    let mal_member = ana.members().member_of(&mal.forge_device_keys().device_id()).unwrap().to_owned();
    ana.remove_member(&mal_member, "flooding").unwrap();
    assert!(!ana.members().is_active_device(&mal.forge_device_keys().device_id()));
}

#[test]
fn two_different_entries_for_one_place_are_proof_of_equivocation_shared_with_the_group() {
    let Group { mut ana, mut mal, .. } = group();
    let bea_vault = device("Bea");
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    sync(&mut ana, &mut mal);
    // Mal signs two different entries for its next place: one for Ana, one for Bea.
    mal.edit(|doc| doc.rename_group("Night shift organizers")).unwrap();
    mal.persist_pending().unwrap();
    let link = ChainLink {
        seq: mal.own_log_len() + 1,
        prev_hash: {
            let author = mal.forge_device_keys().device_id();
            let last = mal.read_entries(author, mal.own_log_len(), mal.own_log_len()).unwrap().remove(0);
            sunspace_log::Entry::decode(&last).unwrap().hash()
        },
    };
    let for_ana = mal.forge_changes(|doc| {
        let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
        doc.put(&meetings, "x", 1).unwrap();
    });
    let for_bea = mal.forge_changes(|doc| {
        let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
        doc.put(&meetings, "x", 2).unwrap();
    });
    let a = mal.forge_entry_at(EntryKind::Change, link, &for_ana).unwrap();
    let b = mal.forge_entry_at(EntryKind::Change, link, &for_bea).unwrap();
    sync(&mut mal, &mut ana);
    sync(&mut mal, &mut bea);
    assert_eq!(ana.receive(vec![a.clone()]).unwrap().accepted.len(), 1);
    assert_eq!(bea.receive(vec![b.clone()]).unwrap().accepted.len(), 1);
    // When Ana and Bea sync, Bea's copy of Mal's entry contradicts Ana's: proof, kept and published.
    let receipt = ana.receive(vec![b]).unwrap();
    let mal_device = mal.forge_device_keys().device_id();
    assert_eq!(receipt.equivocations, vec![mal_device]);
    let note = ana.integrity().into_iter().find(|n| n.kind == IntegrityKind::Equivocation).unwrap();
    assert!(
        note.sentence.contains("Mal's device") && note.sentence.contains("two different histories"),
        "{}",
        note.sentence
    );
    // Bea learns it from Ana's evidence entry, without ever seeing Ana's copy herself.
    sync(&mut ana, &mut bea);
    assert!(bea.integrity().iter().any(|n| n.kind == IntegrityKind::Equivocation), "{:?}", bea.integrity());
}

#[test]
fn a_rotation_that_leaves_a_device_out_is_refused_by_the_rules() {
    let Group { mut ana, mut mal, .. } = group();
    let ana_device = ana.members().founder.unwrap();
    // Mal wraps a new key to itself only, cutting Ana off from whatever is written with it.
    let key = sunspace_crypto::Secret32::random();
    let wraps = vec![(mal.forge_device_keys().device_id(), "00".to_owned())];
    let commitment = sunspace_membership::key_commitment(&ana.id(), key.expose());
    let entry = mal
        .forge_op(
            mal.forge_heads(),
            Action::RotateKey { wraps: sunspace_membership::KeyWraps::Each(wraps), commitment },
        )
        .unwrap();
    ana.receive(vec![entry]).unwrap();
    let writable = ana.members().writable_epoch;
    assert_eq!(writable, Some(0), "the rotation must not become the key to write with");
    assert!(ana
        .integrity()
        .iter()
        .any(|n| n.kind == IntegrityKind::MembershipRefused && n.sentence.contains("every device")));
    let _ = ana_device;
}

#[test]
fn a_rotation_with_a_wrong_wrap_for_one_device_is_healed_by_that_device() {
    let Group { mut ana, mut mal, .. } = group();
    let ana_device = ana.members().founder.unwrap();
    let mal_device = mal.forge_device_keys().device_id();
    // Mal wraps one key to itself and a different one to Ana, under a commitment to its own.
    let kept = sunspace_crypto::Secret32::random();
    let other = sunspace_crypto::Secret32::random();
    let wrap = |to: &sunspace_membership::DeviceState, key: &sunspace_crypto::Secret32, recipient: [u8; 32]| {
        let mut context = b"sunspace/rotate/v1\0".to_vec();
        context.extend_from_slice(&ana.id().0);
        context.extend_from_slice(&recipient);
        context.extend_from_slice(&mal_device.0);
        hex::encode(sunspace_crypto::wrap_key(&to.key.agreement, key, &context).encode())
    };
    let wraps = vec![
        (ana_device, wrap(&ana.members().devices[&ana_device], &other, ana_device.0)),
        (mal_device, wrap(&ana.members().devices[&mal_device], &kept, mal_device.0)),
    ];
    let commitment = sunspace_membership::key_commitment(&ana.id(), kept.expose());
    let entry = mal
        .forge_op(
            mal.forge_heads(),
            Action::RotateKey { wraps: sunspace_membership::KeyWraps::Each(wraps), commitment },
        )
        .unwrap();
    let receipt = ana.receive(vec![entry]).unwrap();
    assert!(receipt.membership_changed);
    // Ana did not take the wrong key and made a new one that reaches everyone: the group writes with it.
    let writable = ana.members().writable_epoch.unwrap();
    assert_ne!(writable, 0);
    let newest = ana.members().epochs.last().unwrap();
    assert_eq!(newest.id, writable);
    assert_eq!(ana.members().rejected.len(), 0, "{:?}", ana.members().rejected);
    // Mal, an honest recipient of Ana's rotation, reads what Ana writes next.
    ana.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "After the rotation"))).unwrap();
    sync(&mut ana, &mut mal);
    assert!(mal.view().meetings.iter().any(|m| m.title == "After the rotation"));
}

#[test]
fn early_entries_are_bounded_and_junk_signatures_never_wait() {
    let Group { mut ana, .. } = group();
    // A member signing junk under thousands of made-up device keys, each "waiting for its admission".
    let mut entries = Vec::new();
    for _ in 0..500 {
        let stranger = sunspace_crypto::DeviceKeys::generate();
        let key = sunspace_crypto::Secret32::random();
        let link = ChainLink { seq: 1, prev_hash: [0; 32] };
        entries
            .push(sunspace_log::Entry::seal(&stranger, EntryKind::Change, ana.id(), link, 0, &key, b"junk").encode());
    }
    // And entries whose signatures do not verify.
    let mut forged = entries[0].clone();
    let at = forged.len() - 1;
    forged[at] ^= 1;
    entries.push(forged);
    let receipt = ana.receive(entries).unwrap();
    assert!(receipt.waiting <= 64, "{}", receipt.waiting);
    assert_eq!(receipt.rejected.len(), 1, "{receipt:?}");
}

#[test]
fn evidence_against_a_device_that_was_never_in_the_group_is_refused() {
    let Group { mut ana, mut mal, .. } = group();
    // Any fresh key can "equivocate": a proof about one says nothing about the group, and would only fill memory.
    let stranger = sunspace_crypto::DeviceKeys::generate();
    let key = sunspace_crypto::Secret32::random();
    let link = ChainLink { seq: 1, prev_hash: [0; 32] };
    let one = sunspace_log::Entry::seal(&stranger, EntryKind::Change, ana.id(), link, 0, &key, b"one");
    let two = sunspace_log::Entry::seal(&stranger, EntryKind::Change, ana.id(), link, 0, &key, b"two");
    let proof = sunspace_log::Equivocation::new(one, two).unwrap();
    let entry = mal.forge_entry(EntryKind::Evidence, &proof.encode()).unwrap();
    assert_refused(&mut ana, entry, "never in the group");
    assert!(ana.equivocations().next().is_none());
}

#[test]
fn a_counter_a_list_or_a_mark_is_refused() {
    let Group { mut ana, mut mal, .. } = group();
    let bytes = mal.forge_changes(|doc| {
        let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
        doc.put(&meetings, "tally", automerge::ScalarValue::counter(1)).unwrap();
    });
    let entry = mal.forge_entry(EntryKind::Change, &bytes).unwrap();
    assert_refused(&mut ana, entry, "kind of operation");
    // (Mal's log now waits at Ana for the refused entry: the next attempt comes from another group.)
    let Group { mut ana, mut mal, .. } = group();
    let bytes = mal.forge_changes(|doc| {
        let meetings = doc.get(ROOT, "meetings").unwrap().unwrap().1;
        doc.put_object(&meetings, "list", automerge::ObjType::List).unwrap();
    });
    let entry = mal.forge_entry(EntryKind::Change, &bytes).unwrap();
    assert_refused(&mut ana, entry, "kind of operation");
}

/// Bea writes two entries; entry `damaged` of her log is flipped on Ana's disk under the at-rest seal.
fn flip_under_the_at_rest_seal(damaged: u64, expected_damage: &str) {
    use std::sync::Arc;
    use sunspace_store::{MemStore, Store};
    let store = Arc::new(MemStore::default());
    let passphrase = sunspace_node::Passphrase::new("correct horse battery staple".into());
    let ana_vault = Vault::create(store.clone(), &passphrase, "Ana", sunspace_crypto::kdf::KdfParams::MINIMUM).unwrap();
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let bea_vault = device("Bea");
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    bea.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "Bea's meeting"))).unwrap();
    sync(&mut bea, &mut ana);
    bea.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "Bea's second meeting"))).unwrap();
    sync(&mut bea, &mut ana);
    assert_eq!(bea.own_log_len(), 2);
    let id = ana.id();
    drop(ana);
    let name = sunspace_node::forge::stored_group_name(&ana_vault, id);
    store.remove_snapshot(&name).unwrap();
    let (log, head) = store.log_heads(&name).unwrap().into_iter().find(|(_, head)| *head == 2).unwrap();
    let mut kept = store.entries(&log, 1, 2).unwrap();
    kept[(damaged - 1) as usize].1[30] ^= 1;
    store.truncate_log(&log, 0).unwrap();
    for (seq, bytes) in kept {
        store.append_entry(&log, seq, &bytes).unwrap();
    }
    assert_eq!(head, 2);

    let mut ana = ana_vault.open_group(id).unwrap();
    assert!(ana.damage().iter().any(|d| d.contains(expected_damage)), "{:?}", ana.damage());
    assert_eq!(ana.view().meetings.len(), (damaged - 1) as usize);
    // Bea sends what Ana lacks again: it replaces the damaged copy.
    sync(&mut bea, &mut ana);
    assert_eq!(ana.view().meetings.len(), 2);
    drop(ana);
    let again = ana_vault.open_group(id).unwrap();
    assert!(again.damage().is_empty(), "{:?}", again.damage());
    assert_eq!(again.view().meetings.len(), 2);
}

#[test]
fn a_stored_entry_that_no_longer_unseals_at_rest_is_left_out_at_opening_and_taken_again() {
    flip_under_the_at_rest_seal(2, "entry 2 of device");
}

#[test]
fn a_log_whose_first_entry_no_longer_unseals_is_left_out_at_opening_and_taken_again() {
    flip_under_the_at_rest_seal(1, "a stored log of 2 entries is left out");
}

#[test]
fn a_peers_damaged_entry_is_left_out_at_opening_and_taken_again_when_the_peer_sends_it() {
    let ana_vault = device("Ana");
    let mut ana = ana_vault.create_group("Tenants", day()).unwrap();
    let bea_vault = device("Bea");
    let mut bea = admit(&mut ana, &bea_vault, "Bea");
    bea.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "Bea's meeting"))).unwrap();
    sync(&mut bea, &mut ana);
    assert_eq!(ana.view().meetings.len(), 1);
    let id = ana.id();
    drop(ana);
    // Bea's entry on Ana's disk is damaged, and the snapshot dropped (so the entry has to be read).
    let last = bea.own_log_len();
    sunspace_node::forge::rewrite_stored_entry(&ana_vault, id, bea_vault.device_id(), last, |bytes| {
        let at = bytes.len() - 80;
        bytes[at] ^= 1;
    })
    .unwrap();
    let mut ana = ana_vault.open_group(id).unwrap();
    assert!(ana.damage().iter().any(|d| d.contains(&format!("entry {last}"))), "{:?}", ana.damage());
    assert!(ana.view().meetings.is_empty());
    // Bea sends it again: it replaces the damaged copy.
    let receipt = sync(&mut bea, &mut ana);
    assert_eq!(receipt.accepted.len(), 1, "{receipt:?}");
    assert_eq!(ana.view().meetings[0].title, "Bea's meeting");
    drop(ana);
    let again = ana_vault.open_group(id).unwrap();
    assert!(again.damage().is_empty(), "{:?}", again.damage());
    assert_eq!(again.view().meetings.len(), 1);
}

#[test]
fn an_entry_naming_a_compartment_that_never_comes_does_not_hold_up_its_authors_log() {
    let Group { mut ana, mut mal, .. } = group();
    let nowhere = sunspace_log::GroupId::random();
    let (epoch, key) = mal.forge_writing_key().unwrap();
    let orphan = mal.forge_entry_for(nowhere, EntryKind::Change, epoch, &key, b"junk").unwrap();
    mal.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "After the orphan"))).unwrap();
    let receipt = sync(&mut mal, &mut ana);
    assert!(receipt.accepted.len() >= 2, "{receipt:?}");
    assert!(ana.view().meetings.iter().any(|m| m.title == "After the orphan"), "the log went on past it");
    let _ = orphan;
}

#[test]
fn a_membership_operation_sealed_for_a_compartment_is_refused() {
    let Group { mut ana, mut mal, .. } = group();
    let mal_member = mal.members().member_of(&mal.forge_device_keys().device_id()).unwrap().to_owned();
    let team = mal.create_compartment("Only me", &[mal_member]).unwrap();
    sync(&mut mal, &mut ana);
    let (epoch, key) = mal.forge_writing_key().unwrap();
    let op = sunspace_membership::SignedOp::sign(
        mal.forge_device_keys(),
        &sunspace_membership::Op {
            group: ana.id(),
            deps: mal.forge_heads(),
            action: Action::GrantRole { member: "anyone".into(), role: sunspace_membership::Role::Steward },
        },
    );
    let entry = mal.forge_entry_for(team, EntryKind::Membership, epoch, &key, &op.encode()).unwrap();
    assert_refused(&mut ana, entry, "compartment");
}

#[test]
fn a_member_linking_a_device_whose_id_begins_like_anothers_cannot_stop_key_rotations() {
    let Group { mut ana, mut mal, .. } = group();
    let ana_device = ana.members().founder.unwrap();
    let mal_device = mal.forge_device_keys().device_id();
    let mal_member = ana.members().devices[&mal_device].member.clone();
    // Mal "links" a device of theirs whose id begins with the same 8 bytes as Ana's (nothing proves a linked
    // device's key, so this costs nothing), hoping every later rotation looks wrapped twice to Ana's device.
    let mut twin = ana_device;
    twin.0[31] ^= 0x01;
    let link = Action::LinkDevice {
        member: mal_member.clone(),
        device: sunspace_membership::DeviceKey { id: twin, agreement: [9; 32] },
        verification: sunspace_membership::Verification {
            method: sunspace_membership::Method::InPersonCode,
            verified_by: mal_device,
            at: 0,
        },
    };
    let entry = mal.forge_op(mal.forge_heads(), link).unwrap();
    ana.receive(vec![entry]).unwrap();
    assert!(ana.members().is_active_device(&twin), "the link itself is within the rules");

    // Ana removes Cal: the rotation that follows is wrapped to Ana's device, Mal's and the twin, each by its own
    // slot, and taken (before, the twin's slot and Ana's both claimed Ana's device and every rotation was refused).
    let cal_vault = device("Cal");
    let _cal = admit(&mut ana, &cal_vault, "Cal");
    let cal_member = ana.members().devices[&cal_vault.device_id()].member.clone();
    let epochs_before = ana.members().epochs.len();
    ana.remove_member(&cal_member, "moved away").unwrap();
    ana.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "After the removal"))).unwrap();
    ana.persist_pending().unwrap();
    assert!(ana.integrity().iter().all(|n| n.kind != IntegrityKind::MembershipRefused), "{:?}", ana.integrity());
    assert!(ana.members().epochs.len() > epochs_before, "the rotation was taken: {:?}", ana.members().epochs);
    let rotated = ana.members().epochs.last().unwrap();
    assert_eq!(rotated.wrapped_to, std::collections::BTreeSet::from([ana_device, mal_device, twin]));
    // Mal's device, whose slot sits next to the twin's, still finds its key.
    let receipt = sync(&mut ana, &mut mal);
    assert!(receipt.rejected.is_empty(), "{receipt:?}");
    assert!(mal.view().meetings.iter().any(|m| m.title == "After the removal"));
}
