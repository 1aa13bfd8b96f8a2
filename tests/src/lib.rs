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

fn ip(args: &[&str]) -> bool {
    std::process::Command::new("ip").args(args).stderr(std::process::Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Two network namespaces joined by a veth pair (10.77.0.1 and 10.77.0.2): a small LAN with no loopback between
/// the two (mDNS ignores loopback) and no route to the machine's real interface (multicast never leaves it).
/// Removed on drop, which also removes the veth pair. Needs root.
#[derive(Debug)]
pub struct Namespaces {
    /// The two namespaces' names, for `ip netns exec`.
    pub names: [String; 2],
}

impl Namespaces {
    /// Creates the pair, or `None` if namespaces cannot be created here (not root).
    pub fn create() -> Option<Self> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let tag = (std::process::id() % 10_000) * 10 + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 10;
        let names = [format!("ss-a-{tag}"), format!("ss-b-{tag}")];
        let (veth_a, veth_b) = (format!("ssa{tag}"), format!("ssb{tag}"));
        if !ip(&["netns", "add", &names[0]]) {
            return None;
        }
        let this = Self { names };
        let [a, b] = &this.names;
        let ok = ip(&["netns", "add", b])
            && ip(&["link", "add", &veth_a, "type", "veth", "peer", "name", &veth_b])
            && ip(&["link", "set", &veth_a, "netns", a])
            && ip(&["link", "set", &veth_b, "netns", b])
            && ip(&["-n", a, "addr", "add", "10.77.0.1/24", "dev", &veth_a])
            && ip(&["-n", b, "addr", "add", "10.77.0.2/24", "dev", &veth_b])
            && ip(&["-n", a, "link", "set", &veth_a, "up"])
            && ip(&["-n", b, "link", "set", &veth_b, "up"])
            && ip(&["-n", a, "link", "set", "lo", "up"])
            && ip(&["-n", b, "link", "set", "lo", "up"]);
        assert!(ok, "could create a namespace but not set up the veth pair");
        Some(this)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in &self.names {
            ip(&["netns", "del", name]);
        }
    }
}
