//! Checkpoints: a long history compacts into a signed checkpoint and opens the same (from the snapshot, and from
//! the checkpoint alone when the snapshot is lost); a new device takes the checkpoint and the entries after it;
//! and a checkpoint that is tampered with, signed by a removed device, or standing for entries it does not match
//! is refused, with nothing from it used.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{admit, day, device};
use sunspace_crypto::kdf::KdfParams;
use sunspace_model::NewMeeting;
use sunspace_node::{OpenGroup, Passphrase, Vault};
use sunspace_replicate::Range;
use sunspace_store::{MemStore, Store};

/// Meetings with a kilobyte of minutes each, one entry per meeting: enough history for several snapshots.
fn long_history(group: &mut OpenGroup, meetings: usize, tag: &str) {
    for m in 0..meetings {
        group
            .edit(|doc| {
                let id = doc.add_meeting(NewMeeting::new(day(), &format!("{tag} meeting {m}")))?;
                doc.append_minutes(&id, &format!("{tag} minutes {m}: ").repeat(40))
            })
            .unwrap();
        group.persist_pending().unwrap();
    }
}

fn titles(group: &OpenGroup) -> Vec<String> {
    let mut titles: Vec<String> = group.view().meetings.iter().map(|m| m.title.clone()).collect();
    titles.sort();
    titles
}

/// Entries held in the store, of every log of every group.
fn stored_entries(store: &dyn Store) -> usize {
    let mut count = 0;
    for group in store.groups().unwrap() {
        for (log, _) in store.log_heads(&group).unwrap() {
            count += store.entries(&log, 1, usize::MAX).unwrap().len();
        }
    }
    count
}

fn passphrase() -> Passphrase {
    Passphrase::new("correct horse battery staple".into())
}

/// What `from` would send a device holding nothing of the group: the checkpoint (it holds one) and the entries.
fn everything(from: &mut OpenGroup) -> (Vec<u8>, Vec<Vec<u8>>) {
    let ranges: Vec<Range> = from.heads().into_iter().map(|(author, last)| Range { author, first: 1, last }).collect();
    let (checkpoint, entries) = from.entries_for(&ranges).unwrap();
    (checkpoint.expect("a checkpoint for a device that holds nothing"), entries)
}

#[test]
fn a_long_history_compacts_into_a_checkpoint_and_opens_the_same_without_its_snapshot() {
    let store = Arc::new(MemStore::default());
    let vault = Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let mut group = vault.create_group("Tenants", day()).unwrap();
    long_history(&mut group, 200, "Ana's");
    let id = group.id();
    let written = group.own_log_len() as usize;
    let expected = titles(&group);
    assert_eq!(expected.len(), 200);
    drop(group);
    let held = stored_entries(store.as_ref());
    assert!(held < written * 2 / 3, "entries behind the checkpoint are dropped: {held} of {written} held");
    assert_eq!(store.blob_names("checkpoint-").unwrap().len(), 1);

    let reopened = vault.open_group(id).unwrap();
    assert_eq!(titles(&reopened), expected);
    assert!(reopened.damage().is_empty(), "{:?}", reopened.damage());
    drop(reopened);

    // Without its snapshot, the group opens from the checkpoint and the entries after it.
    let name = store.groups().unwrap()[0];
    store.remove_snapshot(&name).unwrap();
    let mut rebuilt = vault.open_group(id).unwrap();
    assert_eq!(titles(&rebuilt), expected);
    assert!(rebuilt.damage().is_empty(), "{:?}", rebuilt.damage());
    // And this device's own log goes on where it stood.
    long_history(&mut rebuilt, 1, "After");
    assert_eq!(rebuilt.own_log_len() as usize, written + 1);
}

#[test]
fn a_new_device_takes_the_checkpoint_and_the_entries_after_it() {
    let ana = device("Ana");
    let mut group = ana.create_group("Tenants", day()).unwrap();
    long_history(&mut group, 200, "Ana's");
    let bea = device("Bea");
    let mut joined = admit(&mut group, &bea, "Bea");
    assert_eq!(titles(&joined), titles(&group));
    assert_eq!(joined.heads(), group.heads());
    // Bea goes on writing, and Ana takes it as from any member.
    long_history(&mut joined, 1, "Bea's");
    let receipt = common::sync(&mut joined, &mut group);
    assert!(receipt.rejected.is_empty(), "{receipt:?}");
    assert_eq!(titles(&group).len(), 201);
    // Bea's device opens again from what it holds.
    let id = joined.id();
    drop(joined);
    assert_eq!(bea.open_group(id).unwrap().view().meetings.len(), 201);
}

#[test]
fn a_tampered_checkpoint_is_refused_and_the_genuine_one_still_taken() {
    let ana = device("Ana");
    let mut group = ana.create_group("Tenants", day()).unwrap();
    long_history(&mut group, 200, "Ana's");
    let bea = device("Bea");
    let admission = sunspace_node::Admission {
        device: bea.device_id(),
        agreement: bea.agreement_public(),
        name: "Bea".into(),
        own_device: false,
        existing_member: None,
        via_qr: false,
    };
    let (_, wrapped) = group.admit(&admission).unwrap();
    let mut joined = bea.accept_group(group.id(), &wrapped, "Tenants").unwrap();
    let (checkpoint, entries) = everything(&mut group);
    for at in [10, 60, checkpoint.len() / 2, checkpoint.len() - 10] {
        let mut altered = checkpoint.clone();
        altered[at] ^= 0x04;
        let receipt = joined.receive_checkpoint(&altered).unwrap();
        assert!(receipt.refused.is_some() && receipt.accepted.is_empty(), "byte {at}: {receipt:?}");
        assert!(joined.view().meetings.is_empty(), "nothing from it was used");
    }
    // The entries alone cannot be applied (the checkpoint stands for the first of them): they wait.
    let early = joined.receive(entries.clone()).unwrap();
    assert!(early.accepted.is_empty(), "{early:?}");
    let taken = joined.receive_checkpoint(&checkpoint).unwrap();
    assert_eq!(taken.refused, None);
    assert_eq!(titles(&joined), titles(&group), "the waiting entries were taken with it");
}

#[test]
fn a_checkpoint_signed_by_a_removed_device_is_refused() {
    let ana = device("Ana");
    let mut group = ana.create_group("Tenants", day()).unwrap();
    let cal = device("Cal");
    let mut cal_group = admit(&mut group, &cal, "Cal");
    long_history(&mut cal_group, 200, "Cal's");
    common::sync(&mut cal_group, &mut group);
    let cal_member = group.members().devices.get(&cal.device_id()).unwrap().member.clone();
    group.remove_member(&cal_member, "shared the contact list with the manager").unwrap();
    let dee = device("Dee");
    let mut dee_group = admit(&mut group, &dee, "Dee");
    let before = titles(&dee_group);
    // Cal's device, which never heard of its removal, offers the checkpoint it made.
    let (checkpoint, _) = everything(&mut cal_group);
    let receipt = dee_group.receive_checkpoint(&checkpoint).unwrap();
    let reason = receipt.refused.expect("refused");
    assert!(reason.contains("no longer, in the group"), "{reason}");
    assert_eq!(titles(&dee_group), before);
}

#[test]
fn a_checkpoint_that_does_not_match_the_entries_held_is_refused() {
    let ana = device("Ana");
    let mut group = ana.create_group("Tenants", day()).unwrap();
    let bea = device("Bea");
    let mut bea_group = admit(&mut group, &bea, "Bea");
    long_history(&mut group, 3, "Ana's");
    common::sync(&mut group, &mut bea_group);
    let ana_device = ana.device_id();

    // Bea, running a modified client, signs a checkpoint naming another entry at the place of Ana's last.
    let wrong_place = bea_group.forge_checkpoint(|body| {
        body.frontier.get_mut(&ana_device).unwrap().1 = [0x5a; 32];
    });
    let reason = group.receive_checkpoint(&wrong_place).unwrap().refused.expect("refused");
    assert!(reason.contains("does not match the entries"), "{reason}");

    // ... or one whose document holds a meeting in Ana's name that none of Ana's entries holds.
    let forged = bea_group.forge_changes_as(&ana_device.0, |doc| {
        sunspace_node::forge::overwrite_root(doc, "note", "a meeting Ana never held");
    });
    let forged_document = bea_group.forge_checkpoint(|body| {
        let mut doc = automerge::AutoCommit::load(&body.document).unwrap();
        doc.load_incremental(&forged).unwrap();
        let mut heads: Vec<[u8; 32]> = doc.get_heads().iter().map(|h| h.0).collect();
        heads.sort_unstable();
        body.heads = heads;
        body.document = doc.save();
    });
    let reason = group.receive_checkpoint(&forged_document).unwrap().refused.expect("refused");
    assert!(reason.contains("records the entries it stands for do not"), "{reason}");
    // ... also when it names Bea's own log one place beyond what Ana holds, which Ana cannot check.
    let bea_device = bea.device_id();
    let ahead_and_forged = bea_group.forge_checkpoint(|body| {
        body.frontier.entry(bea_device).or_insert((0, [0; 32])).0 += 1;
        let mut doc = automerge::AutoCommit::load(&body.document).unwrap();
        doc.load_incremental(&forged).unwrap();
        let mut heads: Vec<[u8; 32]> = doc.get_heads().iter().map(|h| h.0).collect();
        heads.sort_unstable();
        body.heads = heads;
        body.document = doc.save();
    });
    let reason = group.receive_checkpoint(&ahead_and_forged).unwrap().refused.expect("refused");
    assert!(reason.contains("records the entries it stands for do not"), "{reason}");
    // ... or one naming a place no log could reach (which would stop that log for good, and overflow).
    let far = bea_group.forge_checkpoint(|body| {
        body.frontier.insert(bea_device, (u64::MAX, [0; 32]));
    });
    let reason = group.receive_checkpoint(&far).unwrap().refused.expect("refused");
    assert!(reason.contains("no device could have reached"), "{reason}");

    // ... or one whose document is not the one it names.
    let other_heads = bea_group.forge_checkpoint(|body| body.heads = vec![[0x11; 32]]);
    let reason = group.receive_checkpoint(&other_heads).unwrap().refused.expect("refused");
    assert!(reason.contains("other than the one it names"), "{reason}");

    // ... or one claiming entries of Ana's own log that Ana never wrote.
    let ahead = bea_group.forge_checkpoint(|body| body.frontier.get_mut(&ana_device).unwrap().0 += 5);
    let reason = group.receive_checkpoint(&ahead).unwrap().refused.expect("refused");
    assert!(reason.contains("never wrote"), "{reason}");

    // Every refusal is kept against Bea's device, and Ana's records are as they were.
    assert!(group.refused().iter().filter(|r| r.author == bea.device_id()).count() >= 6);
    assert_eq!(titles(&group).len(), 3);
    // The honest checkpoint of what both hold brings nothing and changes nothing.
    let honest = bea_group.forge_checkpoint(|_| {});
    let receipt = group.receive_checkpoint(&honest).unwrap();
    assert_eq!((receipt.refused, receipt.accepted.len()), (None, 0));
}

#[test]
fn a_carry_file_for_a_device_behind_the_checkpoint_carries_it_and_the_entries_after_it() {
    let ana = device("Ana");
    let mut group = ana.create_group("Tenants", day()).unwrap();
    long_history(&mut group, 200, "Ana's");
    let bea = device("Bea");
    let admission = sunspace_node::Admission {
        device: bea.device_id(),
        agreement: bea.agreement_public(),
        name: "Bea".into(),
        own_device: false,
        existing_member: None,
        via_qr: false,
    };
    let (_, wrapped) = group.admit(&admission).unwrap();
    let mut joined = bea.accept_group(group.id(), &wrapped, "Tenants").unwrap();
    // No network: the history goes by file.
    let (bytes, _) = group.carry_file(Some(bea.device_id())).unwrap();
    let file = sunspace_replicate::CarryFile::open(joined.forge_device_keys(), &bytes).unwrap();
    assert!(file.checkpoint.is_some(), "Ana's device holds the early entries only in its checkpoint");
    let receipt = joined.apply_carried(file).unwrap();
    assert!(receipt.refused.is_empty(), "{receipt:?}");
    assert_eq!(titles(&joined), titles(&group));
}
