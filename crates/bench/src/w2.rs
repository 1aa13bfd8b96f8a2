//! W2 "ten years": 40 members, 520 weekly meetings with about 2 KB of minutes each and their attendance, 2,000
//! decisions and 6,000 action items, written through the engine as a group would write them (one sealed entry
//! per edit, about 14 edits a meeting), then measured:
//!
//! - cold open: from starting `sunspace meeting list` to its first line of output, with the passphrase key
//!   derivation (Argon2id, the parameters new devices get) timed on its own;
//! - the engine's own open (snapshot + replay) and view, in process;
//! - peak resident memory of that `sunspace meeting list` process;
//! - bytes on disk beside `automerge::save()` of the same document.
//!
//! Devices: this stage has one device per data directory (linking devices comes with replication), so the 40
//! members are recorded members and every entry is this device's.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{Duration, NaiveDate};
use sunspace_crypto::kdf::{derive_passphrase_key, KdfParams};
use sunspace_model::{Attendee, DecisionMethod, NewAction, NewDecision, NewMeeting};
use sunspace_node::{open_data_dir, DataDirMode, Passphrase, Vault};

use crate::{machine, median_ms};

const PASSPHRASE: &str = "benchmark passphrase, not a secret";

#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// The `sunspace` binary to time (build it with `cargo build --release -p sunspace-cli`).
    #[arg(long)]
    sunspace: PathBuf,
    /// Meetings to generate (the workload has 520).
    #[arg(long, default_value_t = 520)]
    meetings: usize,
    /// Timed runs of the cold open; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Keep the generated data directory here instead of a temporary one.
    #[arg(long)]
    keep: Option<PathBuf>,
}

/// Words for minutes: varied enough that the text compresses like prose, not like repetition.
const WORDS: &[&str] = &[
    "schedule",
    "notice",
    "shift",
    "survey",
    "manager",
    "break",
    "room",
    "we",
    "agreed",
    "to",
    "ask",
    "for",
    "two",
    "weeks",
    "the",
    "members",
    "said",
    "overtime",
    "pay",
    "letter",
    "meeting",
    "next",
    "steps",
    "Rosa",
    "will",
    "call",
    "contact",
    "list",
    "new",
    "hires",
    "safety",
    "report",
    "floor",
    "heat",
    "water",
    "rest",
    "union",
    "petition",
    "signatures",
    "delegation",
    "Tuesday",
    "answer",
    "pattern",
    "grievance",
    "and",
    "of",
    "in",
    "on",
];

/// A small deterministic generator (xorshift), so runs and the measurements within one are comparable.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn prose(&mut self, chars: usize) -> String {
        let mut text = String::with_capacity(chars + 16);
        while text.len() < chars {
            text.push_str(WORDS[self.below(WORDS.len())]);
            text.push(if self.below(12) == 0 { '.' } else { ' ' });
        }
        text
    }
}

struct Generated {
    entries: u64,
    seconds: f64,
}

fn generate(dir: &Path, meetings: usize) -> anyhow::Result<Generated> {
    let started = Instant::now();
    let store = Arc::new(open_data_dir(dir, DataDirMode::Create)?);
    let vault = Vault::create(store, &Passphrase::new(PASSPHRASE.into()), "Ana", KdfParams::RECOMMENDED)?;
    let first_day = NaiveDate::from_ymd_opt(2016, 1, 5).context("date")?;
    let mut group = vault.create_group("Ten Years Core Group", first_day)?;
    let mut rng = Rng(0x5157_0001);
    let mut members = vec![group.my_member_id().context("founder")?];
    group.edit(|doc| {
        for i in 1..40 {
            members.push(doc.add_local_member(&format!("Member {i:02}"), first_day, None)?);
        }
        Ok(())
    })?;
    let decisions_per_meeting = 2_000.0 / meetings as f64;
    let actions_per_meeting = 6_000.0 / meetings as f64;
    let (mut decisions_made, mut actions_made) = (0usize, 0usize);
    let mut open_actions: Vec<(String, NaiveDate)> = Vec::new();
    let mut returning_guests: Vec<String> = Vec::new();
    for m in 0..meetings {
        let date = first_day + Duration::weeks(m as i64);
        let facilitator = members[rng.below(members.len())].clone();
        let note_taker = members[rng.below(members.len())].clone();
        let meeting = group.edit(|doc| {
            let mut new = NewMeeting::new(date, &format!("Weekly meeting {}", m + 1));
            new.place = Some("Break room".into());
            new.facilitator = Some(facilitator);
            new.note_taker = Some(note_taker);
            let id = doc.add_meeting(new)?;
            for item in ["Opening round", "Reports", "Next steps"] {
                doc.add_agenda_item(&id, item, None)?;
            }
            Ok(id)
        })?;
        // About 2 KB of minutes, typed in ten bursts.
        for _ in 0..10 {
            let burst = rng.prose(200);
            group.edit(|doc| doc.append_minutes(&meeting, &burst))?;
        }
        let present = 12 + rng.below(14);
        let start = rng.below(members.len());
        group.edit(|doc| {
            for k in 0..present {
                doc.add_attendance(&meeting, Attendee::Member(members[(start + k) % members.len()].clone()), false)?;
            }
            if rng.below(3) == 0 {
                let name = format!("Guest {m}");
                doc.add_attendance(&meeting, Attendee::Guest(name.clone()), true)?;
                returning_guests.push(name);
            }
            if let Some(guest) = returning_guests.get(rng.below(returning_guests.len().max(1))).cloned() {
                doc.add_attendance(&meeting, Attendee::Guest(guest), false)?;
            }
            Ok(())
        })?;
        let decisions_due = (((m + 1) as f64 * decisions_per_meeting).round() as usize).saturating_sub(decisions_made);
        let actions_due = (((m + 1) as f64 * actions_per_meeting).round() as usize).saturating_sub(actions_made);
        let created = group.edit(|doc| {
            let mut decision_ids = Vec::new();
            for d in 0..decisions_due {
                decision_ids.push(doc.add_decision(NewDecision {
                    title: format!("Decision {} of meeting {}", d + 1, m + 1),
                    method: DecisionMethod::ALL[d % DecisionMethod::ALL.len()],
                    outcome: "Agreed after discussion; two abstentions.".into(),
                    date,
                    review_by: Some(date + Duration::weeks(8)),
                    meeting: Some(meeting.clone()),
                })?);
            }
            let mut created = Vec::new();
            for a in 0..actions_due {
                let due = date + Duration::days(7 + (a % 14) as i64);
                let owner = members[(m + a) % members.len()].clone();
                let id = doc.add_action(NewAction {
                    title: format!("Follow-up {} from meeting {}", a + 1, m + 1),
                    owners: vec![owner],
                    due: Some(due),
                    decision: decision_ids.get(a % decision_ids.len().max(1)).cloned(),
                    meeting: Some(meeting.clone()),
                })?;
                created.push((id, due));
            }
            Ok(created)
        })?;
        decisions_made += decisions_due;
        actions_made += actions_due;
        // Most earlier actions get done, some late, some never.
        let finishing: Vec<(String, NaiveDate)> = std::mem::take(&mut open_actions);
        group.edit(|doc| {
            for (id, due) in &finishing {
                match rng.below(10) {
                    0 => {}
                    1 | 2 => doc.set_action_done(id, Some(*due + Duration::days(3)))?,
                    _ => doc.set_action_done(id, Some(*due - Duration::days(1)))?,
                }
            }
            Ok(())
        })?;
        open_actions = created;
    }
    // A device that has synced has sealed everything it wrote into entries.
    group.persist_pending()?;
    Ok(Generated { entries: group.own_log_len(), seconds: started.elapsed().as_secs_f64() })
}

/// Bytes of sled's own files in the store directory (not the large records beside them).
fn sled_bytes(store: &Path) -> u64 {
    std::fs::read_dir(store)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name() != "records")
                .map(|e| if e.path().is_dir() { dir_bytes(&e.path()) } else { e.metadata().map_or(0, |m| m.len()) })
                .sum()
        })
        .unwrap_or(0)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        dir_bytes(&path)
                    } else {
                        e.metadata().map_or(0, |m| m.len())
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Runs `sunspace meeting list`; returns (ms to first output line, ms to exit, peak RSS in KiB).
#[allow(unsafe_code)]
fn timed_list(sunspace: &Path, dir: &Path) -> anyhow::Result<(f64, f64, u64)> {
    let started = Instant::now();
    let mut child = Command::new(sunspace)
        .args(["meeting", "list"])
        .env("SUNSPACE_HOME", dir)
        .env("SUNSPACE_PASSPHRASE", PASSPHRASE)
        .stdout(Stdio::piped())
        .spawn()
        .context("start sunspace")?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).context("sunspace printed nothing")?;
    let first_output = started.elapsed().as_secs_f64() * 1000.0;
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest)?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in; the pid is our own child, which std has not reaped
    // (we never call `child.wait`), so wait4 reaps it exactly once.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    anyhow::ensure!(reaped == pid && status == 0, "sunspace meeting list failed (status {status})");
    let exited = started.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(rest.len() > 1000, "the meeting list is suspiciously short");
    Ok((first_output, exited, usage.ru_maxrss as u64))
}

pub(crate) fn run(options: Options) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = options.keep.clone().unwrap_or_else(|| temp.path().join("data"));
    eprintln!("generating {} meetings in {} …", options.meetings, dir.display());
    let generated = generate(&dir, options.meetings)?;

    // The first read after the history arrived has no kept view: it opens the group (and keeps its view).
    let (unkept_first, unkept_exit, unkept_rss) = timed_list(&options.sunspace, &dir)?;
    let mut first_output = Vec::new();
    let mut exit = Vec::new();
    let mut rss = 0;
    for _ in 0..options.runs {
        let (first, done, peak) = timed_list(&options.sunspace, &dir)?;
        first_output.push(first);
        exit.push(done);
        rss = rss.max(peak);
    }

    let mut kdf = Vec::new();
    for _ in 0..options.runs {
        let started = Instant::now();
        derive_passphrase_key(PASSPHRASE.as_bytes(), &[7; 16], KdfParams::RECOMMENDED)?;
        kdf.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    // The engine's own open, in process: unlock, open (snapshot + replay), view.
    let store = Arc::new(open_data_dir(&dir, DataDirMode::Existing)?);
    let vault = Vault::unlock(store.clone(), &Passphrase::new(PASSPHRASE.into()))?;
    let id = vault.group_ids()?[0];
    let mut opens = Vec::new();
    let mut views = Vec::new();
    let mut group = None;
    for _ in 0..options.runs {
        let started = Instant::now();
        let opened = vault.open_group(id)?;
        opens.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        let view = opened.view();
        views.push(started.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(view.meetings.len() == options.meetings, "wrong meeting count");
        group = Some(opened);
    }
    let mut group = group.context("no runs")?;
    let mut entry_bytes = 0u64;
    // The store keeps the group under a hidden name (docs/storage.md); it holds this one group only.
    let stored = sunspace_store::Store::groups(store.as_ref())?;
    anyhow::ensure!(stored.len() == 1, "the benchmark's store holds one group");
    let name = stored[0];
    for (log, head) in sunspace_store::Store::log_heads(store.as_ref(), &name)? {
        // Entries behind the checkpoint are no longer held: a page starts at the first one that is.
        let mut next = 1;
        while next <= head {
            let page = sunspace_store::Store::entries(store.as_ref(), &log, next, 512)?;
            let Some(&(last, _)) = page.last() else { break };
            next = last + 1;
            entry_bytes += page.iter().map(|(_, bytes)| bytes.len() as u64).sum::<u64>();
        }
    }
    let snapshot_bytes = sunspace_store::Store::snapshot(store.as_ref(), &name)?.map_or(0, |s| s.len() as u64);
    let mut checkpoint_bytes = 0u64;
    for name in sunspace_store::Store::blob_names(store.as_ref(), "checkpoint-")? {
        checkpoint_bytes += sunspace_store::Store::blob(store.as_ref(), &name)?.map_or(0, |v| v.len() as u64);
    }
    let database_bytes = sled_bytes(&dir.join("store"));
    let mut kept_view_bytes = 0u64;
    for name in sunspace_store::Store::blob_names(store.as_ref(), "view-")? {
        kept_view_bytes += sunspace_store::Store::blob(store.as_ref(), &name)?.map_or(0, |v| v.len() as u64);
    }
    let view = group.view();
    let saved = group.export_automerge().len() as u64;
    let on_disk = dir_bytes(&dir);
    let minutes: usize = view.meetings.iter().map(|m| m.minutes.len()).sum();
    let attendance: usize = view.meetings.iter().map(|m| m.attendance.len()).sum();

    // A new device admitted to the group receives the whole history from this one over loopback.
    let new_dir = tempfile::tempdir()?;
    let newcomer = Vault::create(
        Arc::new(open_data_dir(new_dir.path(), DataDirMode::Create)?),
        &Passphrase::new(PASSPHRASE.into()),
        "Bea",
        KdfParams::MINIMUM,
    )?;
    drop((group, vault, store));
    let vault =
        Vault::unlock(Arc::new(open_data_dir(&dir, DataDirMode::Existing)?), &Passphrase::new(PASSPHRASE.into()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let full_sync = runtime.block_on(crate::w1::full_sync(vault, newcomer, id))?;

    println!("### W2 \"ten years\" ({} meetings)\n", options.meetings);
    println!("Machine: {}. Command: `make bench` (`sunspace-bench w2`), release build.\n", machine());
    println!("| figure | value |");
    println!("|---|---|");
    println!("| history | {} members, {} meetings, {:.0} KB of minutes, {} attendance records, {} decisions, {} action items |",
        view.members.len(), view.meetings.len(), minutes as f64 / 1000.0, attendance, view.decisions.len(), view.actions.len());
    println!(
        "| sealed entries written | {} (edits batched, ≤ 512 changes an entry) in {:.0} s |",
        generated.entries, generated.seconds
    );
    println!(
        "| first open with no kept view (the history just arrived): `meeting list` start to first output / to exit | {unkept_first:.0} ms / {unkept_exit:.0} ms |"
    );
    println!("| peak resident memory of that run | {:.1} MiB |", unkept_rss as f64 / 1024.0);
    println!(
        "| cold open, from the kept view: `sunspace meeting list` start to first output (median of {}) | {:.0} ms |",
        options.runs,
        median_ms(&mut first_output)
    );
    println!("| of which passphrase key derivation (Argon2id 64 MiB, t=3; median) | {:.0} ms |", median_ms(&mut kdf));
    println!("| `sunspace meeting list` start to exit (median) | {:.0} ms |", median_ms(&mut exit));
    println!("| engine open: snapshot + replay, in process (median) | {:.0} ms |", median_ms(&mut opens));
    println!("| materialize the view, in process (median) | {:.0} ms |", median_ms(&mut views));
    println!(
        "| peak resident memory of `sunspace meeting list`, from the kept view | {:.1} MiB |",
        rss as f64 / 1024.0
    );
    println!("| bytes on disk (data directory) | {:.1} MB |", on_disk as f64 / 1e6);
    println!(
        "| of which live: checkpoint {:.2} MB, sealed entries {:.2} MB, sealed snapshot {:.3} MB, kept view {:.2} MB; sled's files {:.2} MB | |",
        checkpoint_bytes as f64 / 1e6,
        entry_bytes as f64 / 1e6,
        snapshot_bytes as f64 / 1e6,
        kept_view_bytes as f64 / 1e6,
        database_bytes as f64 / 1e6
    );
    println!("| `automerge::save()` of the same document | {:.1} MB |", saved as f64 / 1e6);
    println!("| disk / save() | {:.1}× |", on_disk as f64 / saved as f64);
    println!(
        "| new device's full sync over loopback: time from `peer add` to holding every entry | {:.0} ms |",
        full_sync.0
    );
    println!(
        "| new device's full sync: bytes sent ({} messages) | {:.1} MB ({:.1}× `save()`) |",
        full_sync.2,
        full_sync.1 as f64 / 1e6,
        full_sync.1 as f64 / saved as f64
    );
    Ok(())
}
