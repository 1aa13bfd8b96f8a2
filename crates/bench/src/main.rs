//! Sunspace's benchmark harness. Not a test: it builds the BRIEF's workloads with the real engine on real disks
//! and prints their figures as a Markdown table, with the machine noted, for `docs/benchmarks.md`.
//!
//! ```text
//! sunspace-bench w1                                         # two devices reconnect after 2 × 1,000 edits
//! sunspace-bench w2 --sunspace target/release/sunspace      # "ten years" of one group
//! sunspace-bench edit                                       # one minutes edit, window to peer window
//! ```

mod edit;
mod w1;
mod w2;
mod w3w4;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "sunspace-bench")]
struct Cli {
    #[command(subcommand)]
    workload: Workload,
}

#[derive(Debug, Subcommand)]
enum Workload {
    /// W1 / W1h "reconnect": two devices make 1,000 edits each while apart, then sync; beside automerge's own sync.
    W1(w1::Options),
    /// W3 fan-out to 20 engines on loopback, and W4 removal in a 200-device group.
    W3w4(w3w4::Options),
    /// One minutes edit from a window to a peer's window, through the app's backend, on two engines.
    Edit(edit::Options),
    /// W2 "ten years": generate a group's decade of records, then measure cold open, memory and bytes on disk.
    W2(w2::Options),
    /// Prints W1's edits as JSON (W1h with `--extra 3581`), for the peers measured beside Sunspace to replay.
    Ops {
        /// Edits per device.
        #[arg(long, default_value_t = 1000)]
        edits: usize,
        /// Small changes the meeting has before the devices part (W1h: 3581).
        #[arg(long, default_value_t = 0)]
        extra: usize,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().workload {
        Workload::W1(options) => w1::run(options),
        Workload::W2(options) => w2::run(options),
        Workload::W3w4(options) => w3w4::run(options),
        Workload::Edit(options) => edit::run(options),
        Workload::Ops { edits, extra } => {
            println!("{}", w1::ops_json(edits, extra));
            Ok(())
        }
    }
}

/// One line describing the machine, for the results table.
pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or_else(String::new, |kb| format!(", {} GiB", kb / 1024 / 1024));
    format!("{cpu}, {cores} cores{memory}")
}

/// The median of some durations, in milliseconds.
pub(crate) fn median_ms(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
