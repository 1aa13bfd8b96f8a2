//! Names at rest: a seized data directory does not show which groups a device is in, who else is in them, or
//! which entries changed the membership; and a directory written before names at rest is moved over intact.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{admit, all_bytes, day, sync};
use sunspace_crypto::kdf::KdfParams;
use sunspace_model::NewMeeting;
use sunspace_node::{open_data_dir, DataDirMode, Passphrase, Vault};
use sunspace_store::Store;

fn passphrase() -> Passphrase {
    Passphrase::new("correct horse battery staple".into())
}

/// Whether any 8 consecutive bytes of `id`, raw or as 16 hex digits, appear in `haystack`: sled may split a key
/// across its prefix encoding, so a whole id need not appear for part of it to give the id away.
fn shows_any_part_of(haystack: &[u8], id: &[u8]) -> Option<String> {
    for window in id.windows(8) {
        let hex = hex::encode(window);
        if haystack.windows(8).any(|w| w == window) {
            return Some(format!("raw bytes {hex}"));
        }
        if haystack.windows(16).any(|w| w.eq_ignore_ascii_case(hex.as_bytes())) {
            return Some(format!("hex {hex}"));
        }
    }
    None
}

#[test]
fn a_seized_data_directory_shows_no_group_id_and_no_device_id_of_anyone_in_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_data_dir(dir.path(), DataDirMode::Create).unwrap());
    let ana = Vault::create(store, &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let mut group = ana.create_group("Tenants", day()).unwrap();
    let bea = common::device("Bea");
    let cal = common::device("Cal");
    let mut bea_group = admit(&mut group, &bea, "Bea");
    let _cal_group = admit(&mut group, &cal, "Cal");
    let meeting = bea_group.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "Meeting"))).unwrap();
    bea_group.edit(|doc| doc.append_minutes(&meeting, "We met.")).unwrap();
    sync(&mut bea_group, &mut group);
    // A removal and the key rotation it makes: the kind of entry a seized disk must not date.
    let cal_member = group.view().members.into_iter().find(|m| m.name == "Cal").unwrap().id;
    group.remove_member(&cal_member, "left").unwrap();
    group.edit(|doc| doc.append_minutes(&meeting, "After the removal.")).unwrap();
    group.persist_pending().unwrap();
    let id = group.id();
    let ids = [id.0.to_vec(), ana.device_id().0.to_vec(), bea.device_id().0.to_vec(), cal.device_id().0.to_vec()];
    drop((group, ana));

    let bytes = all_bytes(dir.path());
    assert!(bytes.len() > 10_000, "the scan reads the database ({} bytes)", bytes.len());
    for (who, id) in ["group", "Ana's device", "Bea's device", "Cal's device"].iter().zip(&ids) {
        assert_eq!(shows_any_part_of(&bytes, id), None, "{who}'s id is on the disk");
    }
    // And the group is all there for whoever has the passphrase.
    let store = reopen_store(dir.path());
    let ana = Vault::unlock(store, &passphrase()).unwrap();
    let group = ana.open_group(id).unwrap();
    assert!(group.damage().is_empty(), "{:?}", group.damage());
    assert_eq!(group.view().meetings[0].minutes, "We met.\nAfter the removal.");
}

#[test]
fn a_store_names_its_records_differently_on_every_device() {
    // The same group on two devices sits under unrelated names, so two seized disks cannot be matched either.
    let mut ana_group = {
        let ana = common::device("Ana");
        ana.create_group("Tenants", day()).unwrap()
    };
    let bea = common::device("Bea");
    let bea_group = admit(&mut ana_group, &bea, "Bea");
    let bea_name = sunspace_node::forge::stored_group_name(&bea, bea_group.id());
    assert_ne!(bea_name, bea_group.id().0);
    let other = common::device("Bea");
    assert_ne!(sunspace_node::forge::stored_group_name(&other, bea_group.id()), bea_name);
}

/// `crates/node/tests/fixtures/layout1.tar.gz`: a data directory written by Sunspace before names at rest (ids in
/// the clear), holding Ana's device (passphrase "correct horse battery staple") in two groups: "Tenants", with Bea's
/// entries, 70 entries of Ana's, a snapshot and one unsent edit, and "Second group".
const LAYOUT1_TENANTS: &str = "61ebe0506c97ae9f2ac30d024687b93f";
const LAYOUT1_SECOND: &str = "b028875b5c8b1dacbd31adbc95aec9f9";
const LAYOUT1_ANA: &str = "f6646aa7e6fe3279b2862edf15cde78906968e57b19ce8ee5b00d1c31c92b7c8";

/// Opens the store in `dir` again. sled lets go of its file lock from a background thread once the last handle is
/// dropped, so a reopen straight after may briefly find it still held.
fn reopen_store(dir: &Path) -> Arc<sunspace_store::SledStore> {
    let started = std::time::Instant::now();
    loop {
        match open_data_dir(dir, DataDirMode::Existing) {
            Err(sunspace_node::NodeError::Store(sunspace_store::StoreError::Locked))
                if started.elapsed() < std::time::Duration::from_secs(5) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return Arc::new(other.unwrap()),
        }
    }
}

fn unpack_layout1() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layout1.tar.gz");
    let status =
        std::process::Command::new("tar").arg("-xzf").arg(&fixture).arg("-C").arg(dir.path()).status().unwrap();
    assert!(status.success());
    dir
}

/// The layout 1 fixture after a finished move: its directory, its store, and Tenants' hidden name there (the same
/// device, so the same names as in any other copy of the fixture).
fn moved_layout1() -> (tempfile::TempDir, Arc<sunspace_store::SledStore>, [u8; 16]) {
    let dir = unpack_layout1();
    let moved = Arc::new(open_data_dir(&dir.path().join("layout1"), DataDirMode::Existing).unwrap());
    let ana = Vault::unlock(moved.clone(), &passphrase()).unwrap();
    let tenants = sunspace_node::GroupId::from_hex(LAYOUT1_TENANTS).unwrap();
    let name = sunspace_node::forge::stored_group_name(&ana, tenants);
    (dir, moved, name)
}

#[test]
fn a_directory_from_before_names_at_rest_is_moved_over_on_unlock_with_nothing_lost() {
    let dir = unpack_layout1();
    let data = dir.path().join("layout1");
    let tenants = sunspace_node::GroupId::from_hex(LAYOUT1_TENANTS).unwrap();
    // The scan the seized-disk test relies on finds the ids a layout 1 directory shows.
    assert!(shows_any_part_of(&all_bytes(&data), &tenants.0).is_some());
    {
        let store = Arc::new(open_data_dir(&data, DataDirMode::Existing).unwrap());
        // A chunk past the unsent count: an edit sealed into an entry since, which layout 1 left behind.
        store.put_meta(&format!("pending/{LAYOUT1_TENANTS}/5"), b"stale").unwrap();
        assert!(store.get_meta(&format!("group-keys/{LAYOUT1_TENANTS}")).unwrap().is_some(), "the fixture is layout 1");
        let ana = Vault::unlock(store.clone(), &passphrase()).unwrap();
        assert_eq!(ana.device_id().to_hex(), LAYOUT1_ANA);
        let names: Vec<String> = ana.groups().unwrap().into_iter().map(|g| g.name).collect();
        assert_eq!(names, ["Second group", "Tenants"]);
        let mut group = ana.open_group(tenants).unwrap();
        assert!(group.damage().is_empty(), "{:?}", group.damage());
        let view = group.view();
        assert_eq!(view.meetings[0].title, "CANARY-MEETING-TITLE");
        let minutes = &view.meetings[0].minutes;
        assert!(minutes.starts_with("CANARY-MINUTES-BEA"), "{minutes}");
        assert!(minutes.contains("line 69") && minutes.ends_with("CANARY-UNSENT"), "{minutes}");
        assert_eq!(view.members.len(), 2);
        // Nothing is left under the old names: no meta name holds either group id (edits already sealed into
        // entries leave stale unsent chunks behind; they go too).
        for name in store.meta_names("").unwrap() {
            assert!(!name.contains(LAYOUT1_TENANTS) && !name.contains(LAYOUT1_SECOND), "{name} is still there");
        }
        assert!(store.get_meta(&format!("group-keys/{LAYOUT1_TENANTS}")).unwrap().is_none());
        assert!(store.get_meta(&format!("pending/{LAYOUT1_TENANTS}")).unwrap().is_none());
        assert!(store.log_heads(&tenants.0).unwrap().is_empty());
        assert!(store.snapshot(&tenants.0).unwrap().is_none());
        assert!(!store.groups().unwrap().contains(&tenants.0));
        // The group goes on as before.
        let meeting = view.meetings[0].id.clone();
        group.edit(|doc| doc.append_minutes(&meeting, "After the move.")).unwrap();
        group.persist_pending().unwrap();
    }
    // A second unlock finds the new layout and moves nothing.
    let store = reopen_store(&data);
    let ana = Vault::unlock(store, &passphrase()).unwrap();
    let group = ana.open_group(tenants).unwrap();
    assert!(group.damage().is_empty(), "{:?}", group.damage());
    assert!(group.view().meetings[0].minutes.ends_with("CANARY-UNSENT\nAfter the move."));
    assert_eq!(ana.groups().unwrap().len(), 2);
}

#[test]
fn a_move_interrupted_part_way_is_finished_by_the_next_unlock() {
    let tenants = sunspace_node::GroupId::from_hex(LAYOUT1_TENANTS).unwrap();
    let (_moved_dir, moved, name) = moved_layout1();
    // What a crash part-way leaves: the old records all there, the keys and the first ten entries of each log
    // already under the new names, and no layout marker.
    let dir = unpack_layout1();
    let data = dir.path().join("layout1");
    {
        let store = open_data_dir(&data, DataDirMode::Existing).unwrap();
        let keys = format!("keys/{}", hex::encode(name));
        store.put_meta(&keys, &moved.get_meta(&keys).unwrap().unwrap()).unwrap();
        for (log, _) in moved.log_heads(&name).unwrap() {
            for (seq, bytes) in moved.entries(&log, 1, 10).unwrap() {
                store.append_entry(&log, seq, &bytes).unwrap();
            }
        }
        store.flush().unwrap();
        assert!(store.get_meta("layout").unwrap().is_none());
    }
    let store = reopen_store(&data);
    let ana = Vault::unlock(store.clone(), &passphrase()).unwrap();
    assert_eq!(store.get_meta("layout").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(store.log_heads(&name).unwrap(), moved.log_heads(&name).unwrap());
    let group = ana.open_group(tenants).unwrap();
    assert!(group.damage().is_empty(), "{:?}", group.damage());
    assert!(group.view().meetings[0].minutes.ends_with("CANARY-UNSENT"));
    assert_eq!(ana.groups().unwrap().len(), 2);
}

/// Copies every record of a fully moved Tenants (`moved`) into `store`: its keys, unsent edits, logs and snapshot.
fn copy_moved_records(moved: &dyn Store, store: &dyn Store, name: [u8; 16]) {
    for prefix in [format!("keys/{}", hex::encode(name)), format!("unsent/{}", hex::encode(name))] {
        for meta in moved.meta_names(&prefix).unwrap() {
            store.put_meta(&meta, &moved.get_meta(&meta).unwrap().unwrap()).unwrap();
        }
    }
    for (log, head) in moved.log_heads(&name).unwrap() {
        store.truncate_log(&log, 0).unwrap();
        for (seq, bytes) in moved.entries(&log, 1, head as usize).unwrap() {
            store.append_entry(&log, seq, &bytes).unwrap();
        }
    }
    store.put_snapshot(&name, &moved.snapshot(&name).unwrap().unwrap()).unwrap();
}

#[test]
fn a_move_interrupted_while_removing_the_old_records_is_finished_by_the_next_unlock() {
    let tenants = sunspace_node::GroupId::from_hex(LAYOUT1_TENANTS).unwrap();
    let (_moved_dir, moved, name) = moved_layout1();
    // The crash came after the old logs and snapshot were removed, before the old keys and unsent records were:
    // the group is no longer listed under its id, only its keys record says it was there.
    let dir = unpack_layout1();
    let data = dir.path().join("layout1");
    {
        let store = open_data_dir(&data, DataDirMode::Existing).unwrap();
        copy_moved_records(moved.as_ref(), &store, name);
        for (log, _) in store.log_heads(&tenants.0).unwrap() {
            store.truncate_log(&log, 0).unwrap();
        }
        store.remove_snapshot(&tenants.0).unwrap();
        assert!(!store.groups().unwrap().contains(&tenants.0));
        assert!(!store.meta_names(&format!("pending/{LAYOUT1_TENANTS}")).unwrap().is_empty());
        store.flush().unwrap();
    }
    let store = reopen_store(&data);
    let ana = Vault::unlock(store.clone(), &passphrase()).unwrap();
    for name in store.meta_names("").unwrap() {
        assert!(!name.contains(LAYOUT1_TENANTS), "{name} is still there");
    }
    let group = ana.open_group(tenants).unwrap();
    assert!(group.damage().is_empty(), "{:?}", group.damage());
    assert!(group.view().meetings[0].minutes.ends_with("CANARY-UNSENT"));
}

#[test]
fn an_old_group_that_cannot_be_moved_is_reported_and_the_device_still_unlocks() {
    let dir = unpack_layout1();
    let data = dir.path().join("layout1");
    {
        let store = open_data_dir(&data, DataDirMode::Existing).unwrap();
        store.put_meta(&format!("group-keys/{LAYOUT1_SECOND}"), b"damaged").unwrap();
        store.flush().unwrap();
    }
    let store = reopen_store(&data);
    let ana = Vault::unlock(store.clone(), &passphrase()).unwrap();
    // Tenants moved and opens; the second group is named with a sentence, and tried again next time.
    let tenants = sunspace_node::GroupId::from_hex(LAYOUT1_TENANTS).unwrap();
    assert_eq!(ana.group_ids().unwrap(), [tenants]);
    assert!(ana.open_group(tenants).unwrap().damage().is_empty());
    let unreadable = ana.unreadable_groups().unwrap();
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert_eq!(unreadable[0].0.to_hex(), LAYOUT1_SECOND);
    assert!(unreadable[0].1.contains("could not be moved"), "{}", unreadable[0].1);
    assert!(store.get_meta("layout").unwrap().is_none(), "the move is not marked done");
}

#[test]
fn a_store_of_an_unknown_later_layout_is_refused_rather_than_moved() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_data_dir(dir.path(), DataDirMode::Create).unwrap());
    Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    store.put_meta("layout", b"3").unwrap();
    let error = Vault::unlock(store.clone(), &passphrase()).unwrap_err();
    assert!(matches!(error, sunspace_node::NodeError::UnknownFormat { .. }), "{error}");
    assert_eq!(store.get_meta("layout").unwrap().as_deref(), Some(&b"3"[..]));
}

#[test]
fn this_devices_own_log_whose_first_entry_no_longer_unseals_leaves_the_group_unopened() {
    let store = Arc::new(sunspace_store::MemStore::default());
    let ana = Vault::create(store.clone(), &passphrase(), "Ana", KdfParams::MINIMUM).unwrap();
    let mut group = ana.create_group("Tenants", day()).unwrap();
    group.edit(|doc| doc.add_meeting(NewMeeting::new(day(), "Meeting"))).unwrap();
    group.persist_pending().unwrap();
    let id = group.id();
    drop(group);
    let name = sunspace_node::forge::stored_group_name(&ana, id);
    store.remove_snapshot(&name).unwrap();
    let (log, head) = store.log_heads(&name).unwrap()[0];
    let mut entries = store.entries(&log, 1, head as usize).unwrap();
    entries[0].1[30] ^= 1;
    store.truncate_log(&log, 0).unwrap();
    for (seq, bytes) in entries {
        store.append_entry(&log, seq, &bytes).unwrap();
    }
    let error = ana.open_group(id).unwrap_err();
    assert!(error.to_string().contains("entry 1") && error.to_string().contains("unopened"), "{error}");
}
