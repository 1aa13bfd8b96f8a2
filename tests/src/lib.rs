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

/// Fails the test, saying what it needs that this machine does not give (root, namespaces, mounts) and why. A
/// test that cannot run has shown nothing, so it never passes: there is no skip, on CI or anywhere else.
pub fn cannot_run_here(why: &str) -> ! {
    panic!("this test cannot run here: {why}; run it as root (as CI does)")
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

/// Homes with no route to each other, and a relay every home can reach: a namespace for the relay and one per
/// home, each home joined to the relay's namespace by its own veth pair (home `i` is 10.78.`i+1`.2, the relay's
/// end 10.78.`i+1`.1). The relay also answers at [`RelayNetwork::RELAY_IP`] (on its loopback), which every home
/// routes to through its own link. The relay's namespace does not forward, so no packet passes from one home to
/// another: members can meet only through the relay. Removed on drop. Needs root.
#[derive(Debug)]
pub struct RelayNetwork {
    /// The relay's namespace.
    pub relay: String,
    /// The homes' namespaces.
    pub homes: Vec<String>,
    /// Each home's end of its link (inside the home's namespace).
    links: Vec<String>,
}

impl RelayNetwork {
    /// The relay's address, reachable from every home.
    pub const RELAY_IP: &'static str = "10.78.0.1";

    /// Creates the relay and `homes` homes (at most 9), or `None` if namespaces cannot be created here (not root).
    pub fn create(homes: usize) -> Option<Self> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let tag = (std::process::id() % 10_000) * 10 + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 10;
        let relay = format!("ss-r-{tag}");
        if !ip(&["netns", "add", &relay]) {
            return None;
        }
        let mut this = Self { relay, homes: Vec::new(), links: Vec::new() };
        let r = this.relay.clone();
        let mut ok = ip(&["-n", &r, "link", "set", "lo", "up"])
            && ip(&["-n", &r, "addr", "add", &format!("{}/32", Self::RELAY_IP), "dev", "lo"])
            && std::process::Command::new("ip")
                .args(["netns", "exec", &r, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])
                .status()
                .is_ok_and(|s| s.success());
        for i in 0..homes.min(9) {
            let home = format!("ss-h{i}-{tag}");
            let (home_end, relay_end) = (format!("ssh{i}{tag}"), format!("ssr{i}{tag}"));
            ok = ok
                && ip(&["netns", "add", &home])
                && ip(&["link", "add", &home_end, "type", "veth", "peer", "name", &relay_end])
                && ip(&["link", "set", &home_end, "netns", &home])
                && ip(&["link", "set", &relay_end, "netns", &r])
                && ip(&["-n", &home, "addr", "add", &format!("10.78.{}.2/24", i + 1), "dev", &home_end])
                && ip(&["-n", &r, "addr", "add", &format!("10.78.{}.1/24", i + 1), "dev", &relay_end])
                && ip(&["-n", &home, "link", "set", "lo", "up"])
                && ip(&["-n", &home, "link", "set", &home_end, "up"])
                && ip(&["-n", &r, "link", "set", &relay_end, "up"]);
            this.homes.push(home);
            this.links.push(home_end);
            ok = ok && this.route_to_relay(i);
        }
        assert!(ok, "could create a namespace but not set up the relay network");
        Some(this)
    }

    fn route_to_relay(&self, home: usize) -> bool {
        let via = format!("10.78.{}.1", home + 1);
        ip(&["-n", &self.homes[home], "route", "replace", &format!("{}/32", Self::RELAY_IP), "via", &via])
    }

    /// Cuts a home off (its link goes down): a partition.
    pub fn cut(&self, home: usize) {
        assert!(ip(&["-n", &self.homes[home], "link", "set", &self.links[home], "down"]), "could not cut the link");
    }

    /// Restores a home's link and its route to the relay: the partition heals.
    pub fn heal(&self, home: usize) {
        assert!(ip(&["-n", &self.homes[home], "link", "set", &self.links[home], "up"]), "could not restore the link");
        assert!(self.route_to_relay(home), "could not restore the route to the relay");
    }

    /// Whether one home has a route to another (it must not: only the relay is reachable).
    pub fn homes_can_reach_each_other(&self, from: usize, to: usize) -> bool {
        ip(&["-n", &self.homes[from], "route", "get", &format!("10.78.{}.2", to + 1)])
    }
}

impl Drop for RelayNetwork {
    fn drop(&mut self) {
        for name in self.homes.iter().chain([&self.relay]) {
            ip(&["netns", "del", name]);
        }
    }
}

/// Every readable byte of a running process's memory (its heap, stacks, and mapped files), read through
/// `/proc/<pid>/maps` and `/proc/<pid>/mem`: what someone who seized the running machine could dump. Regions
/// that cannot be read (guard pages, `[vvar]`) are skipped. Needs root (or ptrace rights over the process).
pub fn memory_of(pid: u32) -> Vec<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("the process's memory map");
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect("the process's memory");
    let mut out = Vec::new();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else { continue };
        let Some((start, end)) = range.split_once('-') else { continue };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16)) else { continue };
        if !perms.starts_with('r') || end <= start || end - start > (1 << 30) || line.ends_with("[vvar]") {
            continue;
        }
        let mut region = vec![0u8; (end - start) as usize];
        if mem.seek(SeekFrom::Start(start)).is_ok() && mem.read_exact(&mut region).is_ok() {
            out.extend_from_slice(&region);
        }
    }
    out
}
