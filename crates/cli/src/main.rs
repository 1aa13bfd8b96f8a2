//! `sunspace`: the command-line face of Sunspace. Every command turns its arguments into a request to the
//! application service (`sunspace-api`) — in this process over the device unlocked with the passphrase, or inside
//! a running `sunspace serve` over its control socket — and prints the response for people, or as JSON with
//! `--json`. Errors are one sentence on standard error and a non-zero exit.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod args;
mod commands;
mod context;
mod dates;
mod device;
mod editor;
mod listening;
mod output;
mod remote;
mod render;
mod serve;

use std::sync::Mutex;

use clap::Parser;

/// The message of the last panic, for the one-line report in `main`.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

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
    // A library may catch a panic of its own (automerge panics on some malformed input, and the model turns that
    // into an error); the default hook would still print it. Keep the message instead, and print one line only if
    // the panic reaches here.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::debug!(%message, "panic");
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(message);
        }
    }));
    match std::panic::catch_unwind(|| commands::run(cli)) {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            // One line: the outermost context first, then its causes.
            eprintln!("error: {error:#}");
            std::process::exit(1);
        }
        Err(_) => {
            let message = LAST_PANIC.lock().ok().and_then(|mut last| last.take()).unwrap_or_default();
            eprintln!("error: Sunspace hit an internal error ({message}); please report it");
            std::process::exit(101);
        }
    }
}
