//! Getting from the command line to an unlocked device and an open group.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use sunspace_model::{Attendee, GroupView, RecordKind};
use sunspace_node::{open_data_dir, DataDirMode, GroupId, OpenGroup, Passphrase, Vault};

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

/// Picks the group named by `--group`, else the current one, else the only one.
pub(crate) fn choose_group(vault: &Vault, wanted: Option<&str>) -> anyhow::Result<GroupId> {
    let ids = vault.group_ids()?;
    if ids.is_empty() {
        bail!("there are no groups on this device yet: create one with `sunspace group create \"Name\"`");
    }
    if let Some(wanted) = wanted {
        return find_group(vault, wanted);
    }
    if let Some(current) = vault.current_group()? {
        if ids.contains(&current) {
            return Ok(current);
        }
    }
    if ids.len() == 1 {
        return Ok(ids[0]);
    }
    let names: Vec<String> = vault.groups()?.into_iter().map(|g| format!("\"{}\"", g.name)).collect();
    bail!("this device holds several groups ({}): choose one with --group or `sunspace group use`", names.join(", "))
}

/// Finds a group by name (ignoring case) or by the start of its id.
pub(crate) fn find_group(vault: &Vault, wanted: &str) -> anyhow::Result<GroupId> {
    let wanted_lower = wanted.trim().to_lowercase();
    let groups = vault.groups()?;
    let by_name: Vec<_> = groups.iter().filter(|g| g.name.to_lowercase() == wanted_lower).collect();
    let by_id: Vec<_> = groups.iter().filter(|g| wanted_lower.len() >= 4 && g.id.starts_with(&wanted_lower)).collect();
    let found = match (by_name.as_slice(), by_id.as_slice()) {
        ([one], _) | ([], [one]) => *one,
        ([], []) => bail!("there is no group called \"{wanted}\" on this device (see `sunspace group list`)"),
        _ => bail!("\"{wanted}\" matches more than one group: use more of the group's id"),
    };
    GroupId::from_hex(&found.id).ok_or_else(|| anyhow!("the group id {} is malformed", found.id))
}

/// Finds a member by id prefix, by exact name (ignoring case), or by the start of a unique name.
pub(crate) fn find_member(group: &OpenGroup, view: &GroupView, wanted: &str) -> anyhow::Result<String> {
    try_find_member(group, view, wanted)?
        .ok_or_else(|| anyhow!("there is no member called \"{wanted}\" (see `sunspace member list`)"))
}

fn try_find_member(group: &OpenGroup, view: &GroupView, wanted: &str) -> anyhow::Result<Option<String>> {
    let lower = wanted.trim().to_lowercase();
    if let Ok(id) = group.doc().find_id(RecordKind::Member, &lower) {
        return Ok(Some(id));
    }
    let exact: Vec<&str> =
        view.members.iter().filter(|m| m.name.to_lowercase() == lower).map(|m| m.id.as_str()).collect();
    match exact.as_slice() {
        [one] => return Ok(Some((*one).to_owned())),
        [_, _, ..] => {
            bail!("several members are called \"{wanted}\": use the start of their id (see `sunspace member list`)")
        }
        [] => {}
    }
    let starts: Vec<&str> =
        view.members.iter().filter(|m| m.name.to_lowercase().starts_with(&lower)).map(|m| m.id.as_str()).collect();
    match starts.as_slice() {
        [one] if !lower.is_empty() => Ok(Some((*one).to_owned())),
        [_, _, ..] => bail!("\"{wanted}\" could be several members: write more of the name"),
        _ => Ok(None),
    }
}

/// A member if one matches, otherwise a guest by that name.
pub(crate) fn find_attendee(
    group: &OpenGroup,
    view: &GroupView,
    wanted: &str,
    force_guest: bool,
) -> anyhow::Result<Attendee> {
    if force_guest {
        return Ok(Attendee::Guest(wanted.trim().to_owned()));
    }
    Ok(match try_find_member(group, view, wanted)? {
        Some(id) => Attendee::Member(id),
        None => Attendee::Guest(wanted.trim().to_owned()),
    })
}

/// Finds a meeting by id prefix, or `last` for the most recent one.
pub(crate) fn find_meeting(group: &OpenGroup, view: &GroupView, wanted: &str) -> anyhow::Result<String> {
    if wanted.trim().eq_ignore_ascii_case("last") {
        return view
            .meetings
            .last()
            .map(|m| m.id.clone())
            .ok_or_else(|| anyhow!("there are no meetings yet: add one with `sunspace meeting add`"));
    }
    Ok(group.doc().find_id(RecordKind::Meeting, wanted)?)
}

/// Finds any record by id prefix, searching every kind.
pub(crate) fn find_any(group: &OpenGroup, wanted: &str) -> anyhow::Result<(RecordKind, String)> {
    let kinds = [
        RecordKind::Meeting,
        RecordKind::Decision,
        RecordKind::Action,
        RecordKind::Member,
        RecordKind::Role,
        RecordKind::Agenda,
    ];
    let mut found: Vec<(RecordKind, String)> =
        kinds.iter().filter_map(|kind| group.doc().find_id(*kind, wanted).ok().map(|id| (*kind, id))).collect();
    if wanted.trim().eq_ignore_ascii_case("group") {
        return Ok((RecordKind::Group, String::new()));
    }
    if wanted.trim().eq_ignore_ascii_case("charter") {
        return Ok((RecordKind::Charter, String::new()));
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("no record has an id starting with \"{wanted}\""),
        _ => bail!("\"{wanted}\" matches several records: give more of the id"),
    }
}
