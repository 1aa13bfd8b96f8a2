//! Helpers shared by the whole-system tests: setting up a data directory through the engine, and reading a
//! group back.

use std::path::Path;
use std::sync::Arc;

use sunspace_crypto::kdf::KdfParams;
use sunspace_node::{open_data_dir, DataDirMode, GroupId, OpenGroup, Passphrase, Vault};

/// The passphrase every test device uses.
pub const PASSPHRASE: &str = "tenants united never divided";

/// Sets up a device in `dir` with one group holding one meeting; returns the group id and the meeting id.
///
/// Uses the minimum key-derivation parameters: these tests restart the engine many times and test durability,
/// not the cost of guessing.
pub fn set_up(dir: &Path) -> (GroupId, String) {
    let store = Arc::new(open_data_dir(dir, DataDirMode::Create).expect("open data dir"));
    let vault = Vault::create(store, &Passphrase::new(PASSPHRASE.into()), "Ana", KdfParams::MINIMUM).expect("create");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date");
    let mut group = vault.create_group("Crash test group", today).expect("group");
    let meeting =
        group.edit(|doc| doc.add_meeting(sunspace_model::NewMeeting::new(today, "Meeting"))).expect("meeting");
    (group.id(), meeting)
}

/// Unlocks the device in `dir` and opens its group.
///
/// sled releases its file lock from a background thread shortly after the last handle is dropped, so a process
/// that starts right after another closed the store may briefly find it locked: wait for it, for up to 10 s.
pub fn open(dir: &Path, group: GroupId) -> Result<OpenGroup, sunspace_node::NodeError> {
    let mut attempts = 0;
    let store = loop {
        match open_data_dir(dir, DataDirMode::Existing) {
            Err(sunspace_node::NodeError::Store(sunspace_store::StoreError::Locked)) if attempts < 200 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => break Arc::new(other?),
        }
    };
    let vault = Vault::unlock(store, &Passphrase::new(PASSPHRASE.into()))?;
    vault.open_group(group)
}
