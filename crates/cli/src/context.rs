//! Getting from the command line to an unlocked device: the data folder and the passphrase.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use sunspace_node::{open_data_dir, DataDirMode, Passphrase, Vault};

/// The passphrase for scripts; without it, the passphrase is asked for on the terminal.
pub(crate) const PASSPHRASE_ENV: &str = "SUNSPACE_PASSPHRASE";

pub(crate) fn data_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    directories::ProjectDirs::from("org", "Sunspace", "Sunspace")
        .map(|dirs| dirs.data_dir().to_owned())
        .ok_or_else(|| anyhow!("cannot tell where your data folder is: give one with --data-dir or SUNSPACE_HOME"))
}

/// Reads the passphrase from the environment or the terminal. With `confirm`, asks twice.
pub(crate) fn passphrase(confirm: bool) -> anyhow::Result<Passphrase> {
    if let Ok(text) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Passphrase::new(text));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no passphrase: run this in a terminal, or set {PASSPHRASE_ENV} for scripts");
    }
    let first = rpassword::prompt_password("Passphrase: ").context("could not read the passphrase")?;
    if confirm {
        let second =
            rpassword::prompt_password("The same passphrase again: ").context("could not read the passphrase")?;
        if first != second {
            bail!("the two passphrases differ; nothing was set up");
        }
    }
    Ok(Passphrase::new(first))
}

/// Opens the data directory and unlocks the device.
pub(crate) fn unlock(dir: &std::path::Path) -> anyhow::Result<Vault> {
    let store = Arc::new(open_data_dir(dir, DataDirMode::Existing)?);
    Ok(Vault::unlock(store, &passphrase(false)?)?)
}
