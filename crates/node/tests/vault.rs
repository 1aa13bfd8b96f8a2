//! The engine on real sled stores in temporary directories (and the in-memory store where the disk is irrelevant).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use sunspace_crypto::kdf::KdfParams;
use sunspace_model::{CharterPatch, NewMeeting};
use sunspace_node::{open_data_dir, DataDirMode, NodeError, Passphrase, Vault, FORMAT_FILE, SNAPSHOT_EVERY, STORE_DIR};
use sunspace_store::{MemStore, SledStore, Store};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

fn passphrase() -> Passphrase {
    Passphrase::new("tenants united never divided".into())
}

fn create(dir: &Path) -> (Arc<SledStore>, Vault) {
    let store = Arc::new(open_data_dir(dir, DataDirMode::Create).unwrap());
    let vault = Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    (store, vault)
}

fn reopen(dir: &Path) -> Vault {
    let store = Arc::new(open_data_dir(dir, DataDirMode::Existing).unwrap());
    Vault::unlock(store, &passphrase()).unwrap()
}

#[test]
fn a_device_unlocks_with_its_passphrase_and_keeps_its_identity() {
    let dir = tempfile::tempdir().unwrap();
    let (_, vault) = create(dir.path());
    let id = vault.device_id();
    drop(vault);
    let again = reopen(dir.path());
    assert_eq!(again.device_id(), id);
    assert_eq!(again.owner_name(), "Ana");
}

#[test]
fn a_wrong_passphrase_is_a_clear_error_and_changes_nothing() {
    let store = Arc::new(MemStore::default());
    Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let before = (store.get_meta("device").unwrap(), store.get_meta("kdf").unwrap());
    let error = Vault::unlock(store.clone(), &Passphrase::new("tenants united never divide".into())).unwrap_err();
    assert!(matches!(error, NodeError::WrongPassphrase), "{error}");
    assert_eq!(error.to_string(), "the passphrase is wrong (nothing was changed)");
    assert_eq!((store.get_meta("device").unwrap(), store.get_meta("kdf").unwrap()), before);
}

#[test]
fn short_passphrases_and_second_setups_are_refused() {
    let store = Arc::new(MemStore::default());
    let short = Vault::create(store.clone(), &Passphrase::new("short".into()), "Ana", KdfParams::MINIMUM);
    assert!(matches!(short, Err(NodeError::WeakPassphrase { .. })));
    Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let again = Vault::create(store, &passphrase(), "Ana", KdfParams::MINIMUM);
    assert!(matches!(again, Err(NodeError::AlreadyInitialized)));
}

#[test]
fn weakened_kdf_parameters_on_disk_are_refused() {
    let store = Arc::new(MemStore::default());
    Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let tampered = String::from_utf8(store.get_meta("kdf").unwrap().unwrap()).unwrap().replace("19456", "8");
    store.put_meta("kdf", tampered.as_bytes()).unwrap();
    assert!(matches!(Vault::unlock(store, &passphrase()), Err(NodeError::Kdf(_))));
}

#[test]
fn edits_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (_, vault) = create(dir.path());
    let mut group = vault.create_group("Warehouse Core Group", today()).unwrap();
    let meeting = group.edit(|doc| doc.add_meeting(NewMeeting::new(today(), "Monthly"))).unwrap();
    group.edit(|doc| doc.append_minutes(&meeting, "We agreed to meet again.")).unwrap();
    let id = group.id();
    drop((group, vault));

    let vault = reopen(dir.path());
    let group = vault.open_group(id).unwrap();
    let view = group.view();
    assert_eq!(view.name, "Warehouse Core Group");
    assert_eq!(view.meetings[0].minutes, "We agreed to meet again.");
    assert_eq!(group.own_log_len(), 2, "founding operation and group; the meeting and minutes wait to be sent");
    assert_eq!(vault.groups().unwrap()[0].name, "Warehouse Core Group");
}

#[test]
fn a_refused_edit_writes_nothing() {
    let store = Arc::new(MemStore::default());
    let vault = Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let mut group = vault.create_group("G", today()).unwrap();
    let before = group.own_log_len();
    assert!(group.edit(|doc| doc.add_meeting(NewMeeting::new(today(), ""))).is_err());
    // An edit that fails half-way leaves no trace either.
    let result = group.edit(|doc| {
        doc.add_meeting(NewMeeting::new(today(), "Half"))?;
        doc.add_meeting(NewMeeting::new(today(), " "))
    });
    assert!(result.is_err());
    assert_eq!(group.own_log_len(), before);
    assert!(group.view().meetings.is_empty());
    let reopened = vault.open_group(group.id()).unwrap();
    assert!(reopened.view().meetings.is_empty());
}

#[test]
fn an_edit_that_changes_nothing_writes_no_entry() {
    let store = Arc::new(MemStore::default());
    let vault = Vault::create(store, &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let mut group = vault.create_group("G", today()).unwrap();
    let before = group.own_log_len();
    group.edit(|_| Ok(())).unwrap();
    assert_eq!(group.own_log_len(), before);
}

#[test]
fn many_edits_are_replayed_on_top_of_the_latest_snapshot() {
    let store = Arc::new(MemStore::default());
    let vault = Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let mut group = vault.create_group("G", today()).unwrap();
    let meeting = group.edit(|doc| doc.add_meeting(NewMeeting::new(today(), "Long meeting"))).unwrap();
    let edits = SNAPSHOT_EVERY * 2 + 5;
    group.persist_pending().unwrap();
    for i in 0..edits {
        group.edit(|doc| doc.append_minutes(&meeting, &format!("line {i}"))).unwrap();
        // One entry per edit, as when a peer is connected, so that snapshots are written and replayed.
        group.persist_pending().unwrap();
    }
    let reopened = vault.open_group(group.id()).unwrap();
    let minutes = &reopened.view().meetings[0].minutes;
    assert_eq!(minutes.lines().count() as u64, edits);
    assert!(minutes.ends_with(&format!("line {}", edits - 1)));

    // Writing after reopening continues the same log.
    let mut reopened = reopened;
    reopened.edit(|doc| doc.append_minutes(&meeting, "after reopening")).unwrap();
    let mut again = vault.open_group(group.id()).unwrap();
    assert!(again.view().meetings[0].minutes.ends_with("after reopening"), "the unsent edit survives reopening");
    again.persist_pending().unwrap();
    assert_eq!(again.own_log_len(), edits + 4);
}

#[test]
fn a_damaged_snapshot_is_rebuilt_from_the_logs() {
    let store = Arc::new(MemStore::default());
    let vault = Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let mut group = vault.create_group("G", today()).unwrap();
    group.edit(|doc| doc.add_meeting(NewMeeting::new(today(), "Kept"))).unwrap();
    let name = sunspace_node::forge::stored_group_name(&vault, group.id());
    let mut snapshot = store.snapshot(&name).unwrap().unwrap();
    let middle = snapshot.len() / 2;
    snapshot[middle] ^= 0xff;
    store.put_snapshot(&name, &snapshot).unwrap();
    let reopened = vault.open_group(group.id()).unwrap();
    assert_eq!(reopened.view().meetings[0].title, "Kept");
}

#[test]
fn damage_to_this_devices_own_entries_leaves_the_group_unopened_rather_than_sign_a_second_history() {
    let store = Arc::new(MemStore::default());
    let vault = Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let mut group = vault.create_group("G", today()).unwrap();
    group.edit(|doc| doc.add_meeting(NewMeeting::new(today(), "One"))).unwrap();
    let id = group.id();
    // Entry 2 is damaged under a valid at-rest seal, and the snapshot dropped so the entry has to be read.
    sunspace_node::forge::rewrite_stored_entry(&vault, group.id(), vault.device_id(), 2, |bytes| {
        let at = bytes.len() - 80;
        bytes[at] ^= 1;
    })
    .unwrap();
    drop(group);
    let damaged = store;
    // The device still unlocks; the group is reported, not opened: going on from entry 1 would sign a second
    // entry 2, which peers would rightly take for a forked history.
    let vault = Vault::unlock(damaged, &passphrase()).unwrap();
    let error = vault.open_group(id).unwrap_err();
    assert!(matches!(error, NodeError::Damaged(_)), "{error}");
    assert!(error.to_string().contains("entry 2") && error.to_string().contains("unopened"), "{error}");
}

#[test]
fn a_data_directory_of_another_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    create(dir.path());
    std::fs::write(dir.path().join(FORMAT_FILE), "sunspace-data 2\n").unwrap();
    let error = open_data_dir(dir.path(), DataDirMode::Existing).unwrap_err();
    assert!(matches!(error, NodeError::UnknownFormat { .. }), "{error}");
    assert!(error.to_string().contains("sunspace-data 2"), "{error}");
    // And a store without a marker is not taken over by `init`.
    std::fs::remove_file(dir.path().join(FORMAT_FILE)).unwrap();
    assert!(dir.path().join(STORE_DIR).exists());
    assert!(matches!(open_data_dir(dir.path(), DataDirMode::Create), Err(NodeError::UnknownFormat { .. })));
    assert!(matches!(open_data_dir(dir.path(), DataDirMode::Existing), Err(NodeError::NotInitialized)));
}

#[test]
fn nothing_written_to_disk_contains_the_plaintext() {
    const CANARY: &str = "CANARY-7f3a-plaintext";
    let dir = tempfile::tempdir().unwrap();
    let (_, vault) = create(dir.path());
    let mut group = vault.create_group(&format!("{CANARY} group"), today()).unwrap();
    group
        .edit(|doc| {
            let meeting = doc.add_meeting(NewMeeting::new(today(), &format!("{CANARY} meeting")))?;
            doc.append_minutes(&meeting, &format!("{CANARY} minutes"))?;
            doc.add_local_member(&format!("{CANARY} member"), today(), None)?;
            doc.edit_charter(&CharterPatch { purpose: Some(format!("{CANARY} purpose")), ..Default::default() })
        })
        .unwrap();
    group.write_snapshot().unwrap();
    drop((group, vault));
    for file in walk(dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, CANARY.as_bytes()), "{} holds the canary in plaintext", file.display());
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[test]
fn groups_are_listed_by_name_from_the_index_and_renames_reach_it() {
    let store = Arc::new(MemStore::default());
    let vault = Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let mut tenants = vault.create_group("Tenants", today()).unwrap();
    vault.create_group("Congregation network", today()).unwrap();
    let names: Vec<String> = vault.groups().unwrap().into_iter().map(|g| g.name).collect();
    assert_eq!(names, ["Congregation network", "Tenants"]);
    tenants.edit(|doc| doc.rename_group("Tenants' association")).unwrap();
    let names: Vec<String> = vault.groups().unwrap().into_iter().map(|g| g.name).collect();
    assert_eq!(names, ["Congregation network", "Tenants' association"]);
    // Without the index (an older directory, or a damaged cache), names are read from the groups themselves.
    store.remove_meta("group-index").unwrap();
    let copy = store.clone();
    let again = Vault::unlock(copy, &passphrase()).unwrap();
    let names: Vec<String> = again.groups().unwrap().into_iter().map(|g| g.name).collect();
    assert_eq!(names, ["Congregation network", "Tenants' association"]);
}

#[test]
fn edits_wait_durably_as_one_batch_and_become_one_small_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(sunspace_node::open_data_dir(dir.path(), sunspace_node::DataDirMode::Create).unwrap());
    let vault = Vault::create(store, &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let mut group = vault.create_group("G", today()).unwrap();
    let meeting = group.edit(|doc| doc.add_meeting(NewMeeting::new(today(), "Long meeting"))).unwrap();
    for i in 0..300 {
        group.edit(|doc| doc.append_minutes(&meeting, &format!("line {i}"))).unwrap();
    }
    let before = group.own_log_len();
    let id = group.id();
    drop((group, vault));

    // Every acknowledged edit is there after reopening, though none is in an entry yet.
    let vault = reopen(dir.path());
    let mut group = vault.open_group(id).unwrap();
    assert_eq!(group.own_log_len(), before);
    assert_eq!(group.view().meetings[0].minutes.lines().count(), 300);
    group.persist_pending().unwrap();
    assert_eq!(group.own_log_len(), before + 1, "301 edits, one entry");
    let entry = group.read_entries(vault.device_id(), before + 1, before + 1).unwrap().remove(0);
    assert!(entry.len() < 8 * 1024, "a batch of 301 small edits is compact: {} bytes", entry.len());
}
