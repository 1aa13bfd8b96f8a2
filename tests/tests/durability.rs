//! Durability of the real store: a writer killed with SIGKILL at random moments loses no acknowledged edit, and a
//! full disk gives a clear error and loses nothing.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sunspace_node::GroupId;

const WRITER: &str = env!("CARGO_BIN_EXE_sunspace-test-writer");

/// A small deterministic random sequence (xorshift), so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Runs the writer until it exits or `kill_after` passes; returns the acknowledged line numbers and its last line.
fn run_writer(
    dir: &Path,
    group: GroupId,
    prefix: &str,
    line_bytes: usize,
    kill_after: Option<Duration>,
) -> (Vec<u64>, String) {
    let mut child = Command::new(WRITER)
        .args([dir.to_str().unwrap(), &group.to_hex(), prefix, &line_bytes.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    if let Some(after) = kill_after {
        // Kill at a random moment after the writer started writing, not while it is still unlocking.
        loop {
            let line = lines_rx.recv_timeout(Duration::from_secs(120)).expect("the writer never became ready");
            let ready = line == "ready";
            lines.push(line);
            if ready {
                break;
            }
        }
        std::thread::sleep(after);
        // std's kill is SIGKILL on Unix: no destructors, no flush, as in a power cut of the process.
        let _ = child.kill();
    }
    child.wait().unwrap();
    lines.extend(lines_rx.iter());
    let acked = lines.iter().filter_map(|l| l.strip_prefix("ack ")).map(|n| n.parse::<u64>().unwrap()).collect();
    let last = lines.last().cloned().unwrap_or_default();
    (acked, last)
}

fn assert_all_present(dir: &Path, group: GroupId, expected: &[String]) -> usize {
    let open = sunspace_tests::open(dir, group).expect("the store reopens after a crash");
    let view = open.view();
    let lines: std::collections::HashSet<&str> =
        view.meetings.iter().flat_map(|m| m.minutes.lines()).map(|l| l.split(' ').next().unwrap_or("")).collect();
    for line in expected {
        assert!(lines.contains(line.as_str()), "acknowledged edit {line} was lost");
    }
    lines.len()
}

#[test]
fn every_acknowledged_edit_survives_kill_9_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let (group, _) = sunspace_tests::set_up(dir.path());
    let mut rng = Rng(0x0005_eed5_u64);
    let mut expected = Vec::new();
    let mut total_acked = 0;
    for round in 0..12 {
        let prefix = format!("r{round}-");
        // Varying line sizes make kills land in different places: small appends, snapshots, larger writes.
        let line_bytes = [0, 200, 3000][round % 3];
        let kill_after = Duration::from_millis(50 + rng.below(400));
        let (acked, last) = run_writer(dir.path(), group, &prefix, line_bytes, Some(kill_after));
        assert!(!last.starts_with("error"), "the writer failed: {last}");
        total_acked += acked.len();
        expected.extend(acked.iter().map(|n| format!("{prefix}{n}")));
        let lines = assert_all_present(dir.path(), group, &expected);
        assert!(lines >= expected.len());
        eprintln!("round {round}: {} acknowledged, all present", acked.len());
    }
    assert!(total_acked > 100, "too few edits acknowledged ({total_acked}) for the test to mean much");
}

/// Mounts a tmpfs of `size` at `path`; false when this process may not mount (not root, or no mount namespace).
fn mount_tmpfs(path: &Path, size: &str) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", path.to_str().unwrap()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_full_disk_gives_a_clear_error_and_loses_nothing() {
    let mount = tempfile::tempdir().unwrap();
    if !mount_tmpfs(mount.path(), "3m") {
        // Mounting needs root (CI runs as root) and a sandbox that allows mounts; without them a full disk
        // cannot be simulated safely, and the test says so rather than filling the real disk.
        sunspace_tests::cannot_run_here(&format!(
            "could not mount a small tmpfs (root: {}) to simulate a full disk",
            running_as_root()
        ));
    }
    let _unmount = Unmount(mount.path());
    let dir = mount.path().join("data");
    let (group, meeting) = sunspace_tests::set_up(&dir);
    let started = std::time::Instant::now();
    let (acked, last) = run_writer(&dir, group, "full-", 4_000, None);
    eprintln!("writer: {} acks in {:?}", acked.len(), started.elapsed());
    assert!(!acked.is_empty(), "nothing fit on the disk at all; the writer said {last:?}");
    assert!(last.contains("disk is full"), "the writer's last words were {last:?}");
    // Make room, as a user would, and check every acknowledged edit is there.
    assert!(Command::new("mount")
        .args(["-o", "remount,size=64m", mount.path().to_str().unwrap()])
        .status()
        .unwrap()
        .success());
    let expected: Vec<String> = acked.iter().map(|n| format!("full-{n}")).collect();
    assert_all_present(&dir, group, &expected);
    eprintln!("verified at {:?}", started.elapsed());
    // And the store accepts new edits again.
    let mut open = sunspace_tests::open(&dir, group).unwrap();
    open.edit(|doc| doc.append_minutes(&meeting, "after-space-was-freed")).unwrap();
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
