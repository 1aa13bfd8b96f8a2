//! What the CLI prints: a response's sentence, a table, JSON; a closed pipe ends the program quietly.

use std::io::Write;

use serde::Serialize;
use sunspace_api::Response;

use crate::device::out_of_turn;

/// Writes to standard output; a closed pipe (`sunspace export | head`) ends the program quietly, as Unix tools do.
pub(crate) fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|_| stdout.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => Ok(other?),
    }
}

pub(crate) fn emit_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    emit(&serde_json::to_string_pretty(value)?)
}

/// Prints a response's sentence, with `hint` (a command-line next step) on the line after it.
pub(crate) fn say(response: &Response, hint: Option<String>) -> anyhow::Result<()> {
    let message = response.message().ok_or_else(|| out_of_turn(response))?;
    match hint {
        Some(hint) => emit(&format!("{message}\n{hint}")),
        None => emit(message),
    }
}
