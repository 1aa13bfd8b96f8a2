//! W1 "reconnect" and W1h: a meeting (title, ~600 characters of minutes, attendance of 12, 3 decisions) on two
//! devices; each makes 1,000 edits while apart (about 70% ~10-character additions to the minutes, 20% attendance,
//! 10% decisions); then they reconnect. W1h starts from a meeting that already has 3,581 changes.
//!
//! Measured twice, on the same edits:
//! - the floor: automerge's own sync protocol between two in-process documents, messages encoded and decoded,
//!   no network, no encryption;
//! - Sunspace: two real engines (sled data directories, libp2p on 127.0.0.1, sealed and signed entries), from
//!   `peer add` until both hold the same entries, with the sync messages' bytes counted by the engines (the
//!   transport's own framing and encryption are not counted).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use automerge::sync::{self, SyncDoc};
use chrono::NaiveDate;
use sunspace_crypto::kdf::KdfParams;
use sunspace_model::{Attendee, DecisionMethod, GroupDoc, ModelError, NewDecision, NewMeeting};
use sunspace_node::engine::{self, EngineOptions};
use sunspace_node::{open_data_dir, Admission, DataDirMode, OpenGroup, Passphrase, Vault};

use crate::machine;
use crate::w2::Rng;

#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Edits per device while apart.
    #[arg(long, default_value_t = 1000)]
    edits: usize,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The automerge-repo runner's directory (`crates/bench/peers/automerge-repo`, installed with npm): measure
    /// automerge-repo over a loopback WebSocket on the same edits, beside Sunspace.
    #[arg(long)]
    automerge_repo: Option<std::path::PathBuf>,
}

/// automerge-repo on the same edits, through its runner (`node run.mjs OPS`), which prints one JSON line.
fn automerge_repo(runner: &std::path::Path, edits: usize, extra: usize) -> anyhow::Result<Figures> {
    let ops = tempfile::NamedTempFile::new()?;
    std::fs::write(ops.path(), ops_json(edits, extra).to_string())?;
    let output = std::process::Command::new("node")
        .arg(runner.join("run.mjs"))
        .arg(ops.path())
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running node (automerge-repo)")?;
    anyhow::ensure!(output.status.success(), "the automerge-repo runner failed");
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).context("the runner's output")?;
    let number = |key: &str| line[key].as_f64().with_context(|| format!("{key} in the runner's output"));
    Ok(Figures {
        millis: number("millis")?,
        a_to_b: number("a_to_b")? as u64,
        b_to_a: number("b_to_a")? as u64,
        messages: number("messages")? as u64,
    })
}

const PASSPHRASE: &str = "benchmark passphrase, not a secret";
/// W1h's base: a meeting with this many changes before the devices part.
const W1H_BASE_CHANGES: usize = 3_581;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default()
}

fn decision(title: String) -> NewDecision {
    NewDecision {
        title,
        method: DecisionMethod::Consent,
        outcome: "agreed".into(),
        date: day(),
        review_by: None,
        meeting: None,
    }
}

/// The meeting every run starts from; `extra` more small changes for W1h.
fn base(doc: &mut GroupDoc, extra: usize) -> Result<String, ModelError> {
    let meeting = doc.add_meeting(NewMeeting::new(day(), "Monthly meeting"))?;
    let minutes = "We went round the room. ".repeat(25);
    doc.set_minutes(&meeting, &minutes)?;
    for n in 0..12 {
        doc.add_attendance(&meeting, Attendee::Guest(format!("Member {n}")), false)?;
    }
    for n in 0..3 {
        doc.add_decision(decision(format!("Decision {n}")))?;
    }
    for n in 0..extra {
        doc.append_minutes(&meeting, &format!("earlier {n}"))?;
        doc.commit(n as i64);
    }
    Ok(meeting)
}

/// One of the workload's edits, in a form any CRDT library can replay (`sunspace-bench ops` prints them, so the
/// peers measured beside Sunspace replay exactly these).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub(crate) enum Op {
    /// Text added at the end of the meeting's minutes.
    Append { text: String },
    /// Someone recorded as present.
    Attend { name: String, new_face: bool },
    /// A decision added.
    Decide { title: String },
}

/// The `n`th edit of device `who`, drawn from `rng`: about 70% minutes, 20% attendance, 10% decisions.
pub(crate) fn next_op(rng: &mut Rng, who: &str, n: usize) -> Op {
    match rng.next() % 10 {
        0..=6 => Op::Append { text: format!("{who}{n:05} ok") },
        7 | 8 => Op::Attend { name: format!("{who} guest {n}"), new_face: n.is_multiple_of(5) },
        _ => Op::Decide { title: format!("{who} decision {n}") },
    }
}

/// The seeds of the two devices' edits.
pub(crate) const SEEDS: (u64, u64) = (0x9E37_79B9_7F4A_7C15, 0xD1B5_4A32_D192_ED03);

/// One of the workload's edits, made on a Sunspace document.
fn edit(doc: &mut GroupDoc, meeting: &str, rng: &mut Rng, who: &str, n: usize) -> Result<(), ModelError> {
    match next_op(rng, who, n) {
        Op::Append { text } => doc.append_minutes(meeting, &text),
        Op::Attend { name, new_face } => doc.add_attendance(meeting, Attendee::Guest(name), new_face).map(|_| ()),
        Op::Decide { title } => doc.add_decision(decision(title)).map(|_| ()),
    }
}

/// The whole workload as JSON, for the peers measured beside Sunspace: the meeting both devices start from (as in
/// [`base`]), then each device's edits.
pub(crate) fn ops_json(edits: usize, extra: usize) -> serde_json::Value {
    let (mut rng_a, mut rng_b) = (Rng(SEEDS.0), Rng(SEEDS.1));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for n in 0..edits {
        a.push(next_op(&mut rng_a, "a", n));
        b.push(next_op(&mut rng_b, "b", n));
    }
    serde_json::json!({
        "base": {
            "title": "Monthly meeting",
            "minutes": "We went round the room. ".repeat(25),
            "attendance": (0..12).map(|n| format!("Member {n}")).collect::<Vec<_>>(),
            "decisions": (0..3).map(|n| format!("Decision {n}")).collect::<Vec<_>>(),
            "earlier": (0..extra).map(|n| format!("earlier {n}")).collect::<Vec<_>>(),
        },
        "a": a,
        "b": b,
    })
}

#[derive(Debug, Clone, Copy)]
struct Figures {
    millis: f64,
    a_to_b: u64,
    b_to_a: u64,
    messages: u64,
}

/// automerge's own sync between two in-process documents.
fn floor(edits: usize, extra: usize) -> anyhow::Result<Figures> {
    let mut origin = GroupDoc::create(
        "00",
        "W1",
        &sunspace_model::Founder {
            device_id: "aa".repeat(32),
            agreement_key: "00".repeat(32),
            display_name: "A".into(),
        },
        day(),
    )?
    .0;
    let meeting = base(&mut origin, extra)?;
    origin.commit(0);
    let saved = origin.save();
    let mut a = GroupDoc::load(&saved)?;
    a.set_author(&"aa".repeat(32))?;
    let mut b = GroupDoc::load(&saved)?;
    b.set_author(&"bb".repeat(32))?;
    let (mut rng_a, mut rng_b) = (Rng(SEEDS.0), Rng(SEEDS.1));
    for n in 0..edits {
        edit(&mut a, &meeting, &mut rng_a, "a", n)?;
        a.commit(n as i64);
        edit(&mut b, &meeting, &mut rng_b, "b", n)?;
        b.commit(n as i64);
    }
    let started = Instant::now();
    let (mut state_a, mut state_b) = (sync::State::new(), sync::State::new());
    let (mut a_to_b, mut b_to_a, mut messages) = (0u64, 0u64, 0u64);
    loop {
        let from_a = a.automerge().sync().generate_sync_message(&mut state_a);
        let from_b = b.automerge().sync().generate_sync_message(&mut state_b);
        if from_a.is_none() && from_b.is_none() {
            break;
        }
        if let Some(message) = from_a {
            let bytes = message.encode();
            a_to_b += bytes.len() as u64;
            messages += 1;
            b.automerge().sync().receive_sync_message(&mut state_b, sync::Message::decode(&bytes)?)?;
        }
        if let Some(message) = from_b {
            let bytes = message.encode();
            b_to_a += bytes.len() as u64;
            messages += 1;
            a.automerge().sync().receive_sync_message(&mut state_a, sync::Message::decode(&bytes)?)?;
        }
    }
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(a.heads() == b.heads(), "the floor did not converge");
    Ok(Figures { millis, a_to_b, b_to_a, messages })
}

fn device(dir: &std::path::Path, name: &str) -> anyhow::Result<Vault> {
    let store = Arc::new(open_data_dir(dir, DataDirMode::Create)?);
    Ok(Vault::create(store, &Passphrase::new(PASSPHRASE.into()), name, KdfParams::MINIMUM)?)
}

/// Everything `from` holds that `to` lacks, in process (the setup before the devices part).
pub(crate) fn catch_up(from: &mut OpenGroup, to: &mut OpenGroup) -> anyhow::Result<()> {
    from.persist_pending()?;
    let theirs = to.heads();
    let mut entries = Vec::new();
    for (author, last) in from.heads() {
        let held = theirs.get(&author).copied().unwrap_or(0);
        if last > held {
            entries.extend(from.read_entries(author, held + 1, last)?);
        }
    }
    to.receive(entries)?;
    Ok(())
}

/// Two real engines reconnecting after `edits` edits each; with `compartment`, both are in a compartment and
/// 30% of the edits (every third of the first nine in ten) are made to a meeting kept there, as its own sealed
/// entries.
async fn sunspace(edits: usize, extra: usize, compartment: bool) -> anyhow::Result<Figures> {
    let dirs = (tempfile::tempdir()?, tempfile::tempdir()?);
    let ana = device(dirs.0.path(), "Ana")?;
    let bea = device(dirs.1.path(), "Bea")?;
    let mut a = ana.create_group("W1", day())?;
    let meeting = a.edit(|doc| base(doc, 0))?;
    for n in 0..extra {
        a.edit(|doc| doc.append_minutes(&meeting, &format!("earlier {n}")))?;
    }
    let admission = Admission {
        device: bea.device_id(),
        agreement: bea.agreement_public(),
        name: "Bea".into(),
        own_device: false,
        existing_member: None,
        via_qr: false,
    };
    let (_, wrapped) = a.admit(&admission)?;
    let mut b = bea.accept_group(a.id(), &wrapped, "W1")?;
    catch_up(&mut a, &mut b)?;
    let team = if compartment {
        let members: Vec<String> = a.members().members.keys().cloned().collect();
        let team = a.create_compartment("Negotiation team", &members)?;
        let kept = a.edit_compartment(&team, |doc| base(doc, 0))?;
        catch_up(&mut a, &mut b)?;
        Some((team, kept))
    } else {
        None
    };
    let (mut rng_a, mut rng_b) = (Rng(SEEDS.0), Rng(SEEDS.1));
    for n in 0..edits {
        match &team {
            Some((team, kept)) if n % 10 < 3 => {
                a.edit_compartment(team, |doc| edit(doc, kept, &mut rng_a, "a", n))?;
                b.edit_compartment(team, |doc| edit(doc, kept, &mut rng_b, "b", n))?;
            }
            _ => {
                a.edit(|doc| edit(doc, &meeting, &mut rng_a, "a", n))?;
                b.edit(|doc| edit(doc, &meeting, &mut rng_b, "b", n))?;
            }
        }
    }
    let group = a.id();
    drop((a, b));

    let node_a = engine::start(ana, EngineOptions::loopback()).await?;
    let node_b = engine::start(bea, EngineOptions::loopback()).await?;
    let address = loop {
        let status = node_a.status().await?;
        if let Some(address) = status.listening.iter().find(|a| a.contains("/tcp/")) {
            break address.clone();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let started = Instant::now();
    node_b.add_peer(&address).await?;
    let deadline = started + Duration::from_secs(120);
    loop {
        let heads_a = node_a.log_heads(group).await?;
        let heads_b = node_b.log_heads(group).await?;
        if heads_a == heads_b && !heads_a.1 && heads_a.0.len() == 2 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the engines did not converge");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let (traffic_a, traffic_b) = (node_a.status().await?.traffic, node_b.status().await?.traffic);
    let view_a = serde_json::to_value(node_a.read(group).await?.view).ok();
    let view_b = serde_json::to_value(node_b.read(group).await?.view).ok();
    anyhow::ensure!(view_a == view_b, "the documents differ after sync");
    Ok(Figures {
        millis,
        a_to_b: traffic_a.bytes_sent,
        b_to_a: traffic_b.bytes_sent,
        messages: traffic_a.messages_sent + traffic_b.messages_sent,
    })
}

fn median(mut runs: Vec<Figures>) -> Figures {
    runs.sort_by(|x, y| x.millis.total_cmp(&y.millis));
    runs.swap_remove(runs.len() / 2)
}

pub(crate) fn run(options: Options) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    println!("W1 / W1h reconnect: 2 × {} edits while apart. Machine: {}", options.edits, machine());
    println!();
    println!("| workload | what | time to converge | bytes A→B | bytes B→A | messages |");
    println!("|---|---|---|---|---|---|");
    let mut plain_w1 = None;
    for (name, extra) in [("W1", 0), ("W1h", W1H_BASE_CHANGES)] {
        let floor = median((0..options.runs).map(|_| floor(options.edits, extra)).collect::<anyhow::Result<_>>()?);
        let ours = median(
            (0..options.runs)
                .map(|_| runtime.block_on(sunspace(options.edits, extra, false)))
                .collect::<anyhow::Result<_>>()
                .context("Sunspace run")?,
        );
        if extra == 0 {
            plain_w1 = Some(ours);
        }
        row(name, "automerge sync, in process (floor)", &floor);
        row(name, "Sunspace, two engines on loopback", &ours);
        ratio_row(name, "Sunspace ÷ floor", &ours, &floor);
        if let Some(runner) = &options.automerge_repo {
            let peer = median(
                (0..options.runs)
                    .map(|_| automerge_repo(runner, options.edits, extra))
                    .collect::<anyhow::Result<_>>()?,
            );
            row(name, "automerge-repo 2.x, two repos over a loopback WebSocket (Node.js, in memory)", &peer);
            ratio_row(name, "Sunspace ÷ automerge-repo", &ours, &peer);
        }
    }
    // The cost of compartments: the same W1 with 30% of the edits in a compartment both devices are in.
    let kept = median(
        (0..options.runs)
            .map(|_| runtime.block_on(sunspace(options.edits, 0, true)))
            .collect::<anyhow::Result<_>>()
            .context("Sunspace run with a compartment")?,
    );
    row("W1c", "Sunspace, 30% of the edits in a compartment", &kept);
    if let Some(plain) = &plain_w1 {
        ratio_row("W1c", "÷ W1 without a compartment", &kept, plain);
    }
    Ok(())
}

/// One line of the results table.
fn row(workload: &str, what: &str, f: &Figures) {
    println!(
        "| {workload} | {what} | {:.0} ms | {:.1} KB | {:.1} KB | {} |",
        f.millis,
        f.a_to_b as f64 / 1000.0,
        f.b_to_a as f64 / 1000.0,
        f.messages
    );
}

/// A line of ratios: `ours` over `theirs`.
fn ratio_row(workload: &str, what: &str, ours: &Figures, theirs: &Figures) {
    println!(
        "| {workload} | {what} | {:.2}× | {:.2}× | {:.2}× | |",
        ours.millis / theirs.millis,
        ours.a_to_b as f64 / theirs.a_to_b.max(1) as f64,
        ours.b_to_a as f64 / theirs.b_to_a.max(1) as f64
    );
}

/// A new device joins with an invitation from `holder` (both confirm the words) and fetches the whole group
/// over loopback. Returns the time from its admission until it holds every entry, the bytes the holder sent, and
/// the messages.
pub(crate) async fn full_sync(
    holder: Vault,
    newcomer: Vault,
    group: sunspace_node::GroupId,
) -> anyhow::Result<(f64, u64, u64)> {
    use sunspace_membership::invite::InviteKind;
    use sunspace_node::engine::{InviteRequest, JoinEvent};
    let node_a = engine::start(holder, EngineOptions::loopback()).await?;
    let node_b = engine::start(newcomer, EngineOptions::loopback()).await?;
    while node_a.status().await?.listening.is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let request =
        InviteRequest { group, kind: InviteKind::Member, existing_member: None, ttl: Duration::from_secs(600) };
    let mut invite = node_a.invite(request).await?;
    let mut joining = node_b.join(&invite.qr_text, Vec::new()).await?;
    anyhow::ensure!(matches!(joining.events.recv().await, Some(JoinEvent::Words { .. })), "no words");
    let _ = invite.events.recv().await;
    node_a.confirm_invite(invite.tag, true).await?;
    let _ = joining.confirm.send(true);
    anyhow::ensure!(matches!(joining.events.recv().await, Some(JoinEvent::Joined { .. })), "not admitted");
    let started = Instant::now();
    let wanted = node_a.log_heads(group).await?.0;
    let deadline = started + Duration::from_secs(600);
    loop {
        let heads = node_b.log_heads(group).await?.0;
        if wanted.iter().all(|(author, seq)| heads.get(author) >= Some(seq)) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the new device did not get the history");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let traffic = node_a.status().await?.traffic;
    Ok((millis, traffic.bytes_sent, traffic.messages_sent))
}
