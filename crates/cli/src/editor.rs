//! Editing text in the user's editor.
//!
//! The text is written to a temporary file that only this user can read, in memory-backed `/dev/shm` where the
//! system has it, and removed as soon as the editor exits: the plaintext touches a disk for as short a time as
//! an external editor allows (see `docs/threat-model.md`).

use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context as _};

pub(crate) fn edit(initial: &str, suffix: &str) -> anyhow::Result<String> {
    let editor = std::env::var("VISUAL").or_else(|_| std::env::var("EDITOR")).unwrap_or_else(|_| "nano".to_owned());
    let shm = Path::new("/dev/shm");
    let mut builder = tempfile::Builder::new();
    builder.prefix("sunspace-").suffix(suffix);
    let mut file = if shm.is_dir() { builder.tempfile_in(shm) } else { builder.tempfile() }
        .context("could not create a temporary file for the editor")?;
    file.write_all(initial.as_bytes()).context("could not write the temporary file")?;
    file.flush()?;
    // The editor command may carry arguments ("code --wait"); run it through the shell as git does.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status()
        .with_context(|| format!("could not start the editor \"{editor}\""))?;
    if !status.success() {
        bail!("the editor \"{editor}\" exited with an error; nothing was changed");
    }
    let edited = std::fs::read_to_string(file.path()).context("could not read back the edited text")?;
    Ok(edited)
}
