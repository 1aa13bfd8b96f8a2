//! `sunspace`: the command-line face of Sunspace. Every command opens the data directory, unlocks the device with
//! the passphrase, does one thing through the engine (`sunspace-node`), and prints the result for people, or as
//! JSON with `--json`. Errors are one sentence on standard error and a non-zero exit.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod args;
mod commands;
mod context;
mod dates;
mod editor;
mod render;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    // sled reports damage through its own log lines as well as through its errors; the error is what the user
    // needs, as one sentence, so sled's lines are off unless asked for with SUNSPACE_LOG.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SUNSPACE_LOG").unwrap_or_else(|_| "warn,sled=off".into()),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    if let Err(error) = commands::run(cli) {
        // One line: the outermost context first, then its causes.
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
