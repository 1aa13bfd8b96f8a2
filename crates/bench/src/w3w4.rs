//! W3 "fan-out": 20 real engines on loopback, every pair connected; one device edits; how long until all 20
//! hold the edit (median and 99th percentile over many edits).
//!
//! W4 "removal": a group with 200 devices; a steward removes one member; time and bytes to remove, rotate the
//! group key and wrap it to the 199 remaining devices.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sunspace_crypto::kdf::KdfParams;
use sunspace_crypto::DeviceKeys;
use sunspace_model::edit::Edit;
use sunspace_model::NewMeeting;
use sunspace_node::engine::{self, EngineOptions};
use sunspace_node::{open_data_dir, Admission, DataDirMode, NodeCommand, NodeHandle, Passphrase, Vault};

use crate::machine;

#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Devices in W3.
    #[arg(long, default_value_t = 20)]
    nodes: usize,
    /// Edits timed in W3.
    #[arg(long, default_value_t = 50)]
    edits: usize,
    /// Devices in W4.
    #[arg(long, default_value_t = 200)]
    devices: usize,
}

fn day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default()
}

fn vault(dir: &std::path::Path, name: &str) -> anyhow::Result<Vault> {
    let store = Arc::new(open_data_dir(dir, DataDirMode::Create)?);
    Ok(Vault::create(store, &Passphrase::new("benchmark passphrase, not a secret".into()), name, KdfParams::MINIMUM)?)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn w3(nodes: usize, edits: usize) -> anyhow::Result<(f64, f64, f64)> {
    let dirs: Vec<tempfile::TempDir> = (0..nodes).map(|_| tempfile::tempdir()).collect::<Result<_, _>>()?;
    let vaults: Vec<Vault> =
        dirs.iter().enumerate().map(|(i, d)| vault(d.path(), &format!("Member {i}"))).collect::<anyhow::Result<_>>()?;
    let mut founder = vaults[0].create_group("W3", day())?;
    let mut groups = Vec::new();
    for (i, v) in vaults.iter().enumerate().skip(1) {
        let admission = Admission {
            device: v.device_id(),
            agreement: v.agreement_public(),
            name: format!("Member {i}"),
            own_device: false,
            existing_member: None,
            via_qr: false,
        };
        let (_, wrapped) = founder.admit(&admission)?;
        groups.push(v.accept_group(founder.id(), &wrapped, "W3")?);
    }
    for group in &mut groups {
        crate::w1::catch_up(&mut founder, group)?;
    }
    let id = founder.id();
    drop((founder, groups));
    let mut handles: Vec<NodeHandle> = Vec::new();
    for v in vaults {
        handles.push(engine::start(v, EngineOptions::loopback()).await?);
    }
    let mut addresses = Vec::new();
    for handle in &handles {
        loop {
            let status = handle.status().await?;
            if let Some(address) = status.listening.iter().find(|a| a.contains("/tcp/")) {
                addresses.push(address.clone());
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for (i, handle) in handles.iter().enumerate() {
        for address in &addresses[..i] {
            handle.add_peer(address).await?;
        }
    }
    // Wait until every device sees every other one connected.
    let deadline = Instant::now() + Duration::from_secs(60);
    for handle in &handles {
        loop {
            let status = handle.status().await?;
            if status.groups[0].peers.iter().filter(|p| p.connected).count() == nodes - 1 {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "the devices did not all connect");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let author = handles[0].device();
    let mut samples = Vec::new();
    for n in 0..edits {
        let started = Instant::now();
        let edit = Edit::AddMeeting(NewMeeting::new(day(), &format!("W3 {n}")));
        handles[0].execute(NodeCommand::Edit { group: id, edit }).await?;
        let target = handles[0].log_heads(id).await?.0.get(&author).copied().unwrap_or(0);
        let target = target.max(1);
        for handle in &handles[1..] {
            loop {
                let held = handle.log_heads(id).await?.0.get(&author).copied().unwrap_or(0);
                if held >= target {
                    break;
                }
                anyhow::ensure!(started.elapsed() < Duration::from_secs(60), "an edit did not reach every device");
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    Ok((percentile(&samples, 0.5), percentile(&samples, 0.99), samples[samples.len() - 1]))
}

/// A group founded in `dir` with `size` members in all, the others admitted with made-up devices; the founder's
/// vault, the open group, and the other members' record ids.
fn admitted_group(
    dir: &std::path::Path,
    name: &str,
    size: usize,
) -> anyhow::Result<(Vault, sunspace_node::OpenGroup, Vec<String>)> {
    let founder = vault(dir, "Founder")?;
    let mut group = founder.create_group(name, day())?;
    let mut members = Vec::new();
    for i in 1..size {
        let keys = DeviceKeys::generate();
        let admission = Admission {
            device: keys.device_id(),
            agreement: keys.agreement_public(),
            name: format!("Member {i}"),
            own_device: false,
            existing_member: None,
            via_qr: false,
        };
        members.push(group.admit(&admission)?.0);
    }
    Ok((founder, group, members))
}

fn w4(devices: usize) -> anyhow::Result<(f64, u64, usize)> {
    let dir = tempfile::tempdir()?;
    let (founder, mut group, members) = admitted_group(dir.path(), "W4", devices)?;
    group.persist_pending()?;
    let me = founder.device_id();
    let before = group.heads().get(&me).copied().unwrap_or(0);
    let started = Instant::now();
    group.remove_member(&members[devices / 2], "benchmark")?;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let after = group.heads().get(&me).copied().unwrap_or(0);
    let bytes: u64 = group.read_entries(me, before + 1, after)?.iter().map(|e| e.len() as u64).sum();
    Ok((millis, bytes, group.members().devices.len()))
}

/// A removal from a compartment of `size` members in a group of `group_size`: time and bytes to take one member
/// out (with cut-offs), rotate the compartment's key and wrap it to the remaining members' devices.
fn compartment_removal(group_size: usize, size: usize) -> anyhow::Result<(f64, u64, usize)> {
    let dir = tempfile::tempdir()?;
    let (founder, mut group, members) = admitted_group(dir.path(), "W4c", group_size)?;
    let me = group.members().member_of(&founder.device_id()).map(str::to_owned).unwrap_or_default();
    let mut inside = vec![me];
    inside.extend(members.iter().take(size - 1).cloned());
    let team = group.create_compartment("Negotiation team", &inside)?;
    group.persist_pending()?;
    let device = founder.device_id();
    let before = group.heads().get(&device).copied().unwrap_or(0);
    let started = Instant::now();
    group.remove_from_compartment(&team, &inside[size / 2])?;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let after = group.heads().get(&device).copied().unwrap_or(0);
    let bytes: u64 = group.read_entries(device, before + 1, after)?.iter().map(|e| e.len() as u64).sum();
    Ok((millis, bytes, group.members().compartment_devices(&team).len()))
}

pub(crate) fn run(options: Options) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    println!("Machine: {}\n", machine());
    let (median, p99, max) = runtime.block_on(w3(options.nodes, options.edits))?;
    println!(
        "| W3 fan-out: {} engines on loopback, every pair connected, {} edits | value |",
        options.nodes, options.edits
    );
    println!("|---|---|");
    println!("| time until all {} devices hold an edit, median | {median:.1} ms |", options.nodes);
    println!("| 99th percentile | {p99:.1} ms |");
    println!("| slowest | {max:.1} ms |\n");
    let (millis, bytes, remaining) = w4(options.devices)?;
    println!("| W4 removal in a {}-device group | value |", options.devices);
    println!("|---|---|");
    println!("| time to remove one member, rotate the key and wrap it to {remaining} devices (signed, sealed, stored) | {millis:.0} ms |");
    println!("| bytes of the entries that carry it (removal + rotation) | {:.1} KB |", bytes as f64 / 1000.0);
    let mut runs: Vec<(f64, u64, usize)> =
        (0..5).map(|_| compartment_removal(40, 10)).collect::<anyhow::Result<_>>()?;
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (millis, bytes, remaining) = runs[runs.len() / 2];
    println!("\n| W4c removal from a compartment of 10 in a group of 40 (median of 5) | value |");
    println!("|---|---|");
    println!("| time to take one member out, rotate the compartment's key and wrap it to {remaining} devices | {millis:.1} ms |");
    println!("| bytes of the entries that carry it (taking out + rotation) | {:.1} KB |", bytes as f64 / 1000.0);
    Ok(())
}
