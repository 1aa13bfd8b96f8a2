//! One function per command. Each is a thin layer: resolve names to ids, call the engine, print.

use crate::render::prefix;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use chrono::NaiveDate;
use clap::CommandFactory;
use serde::Serialize;
use sunspace_crypto::kdf::KdfParams;
use sunspace_model::view::short;
use sunspace_model::{
    export, vitality, ActionPatch, Attendee, Cadence, CharterPatch, DecisionPatch, MeetingPatch, MemberStatus,
    NewAction, NewDecision, NewMeeting, RecordKind,
};
use sunspace_node::{open_data_dir, DataDirMode, Node, OpenGroup, Vault};

use crate::args::*;
use crate::context::{
    choose_group, data_dir, find_any, find_attendee, find_group, find_meeting, find_member, passphrase, unlock,
};
use crate::dates::today;
use crate::render;

/// Writes to standard output; a closed pipe (`sunspace export | head`) ends the program quietly, as Unix tools do.
pub(crate) fn emit(text: &str) -> anyhow::Result<()> {
    if crate::remote::capture(text.as_bytes(), true) {
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|_| stdout.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => Ok(other?),
    }
}

fn emit_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    emit(&serde_json::to_string_pretty(value)?)
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    let Some(command) = cli.command else {
        return overview(cli.data_dir);
    };
    let dir = data_dir(cli.data_dir)?;
    match command {
        Command::Init { name } => init(&dir, name),
        Command::Serve(options) => crate::serve::serve(&dir, options),
        Command::Invite(options) => crate::remote::invite(&dir, cli.group, options, false),
        Command::Device(DeviceCommand::Link(options)) => crate::remote::invite(&dir, cli.group, options, true),
        Command::Join { code, peer, confirm } => crate::remote::join(&dir, &code, peer, confirm),
        Command::Peer(PeerCommand::Add { address }) => crate::remote::peer_add(&dir, &address),
        Command::Status => crate::remote::status(&dir, cli.json),
        command => {
            // While `sunspace serve` runs it holds the store; the command runs inside it, over the control socket.
            if let Some(client) = crate::remote::Client::connect(&dir)? {
                return client.run_command(&dir, cli.group, cli.json, &command);
            }
            let mut node = Node::new(unlock(&dir)?);
            execute(&mut node, cli.group, cli.json, command)
        }
    }
}

/// Runs one command that works on the device's groups, locally or inside `serve`.
pub(crate) fn execute(node: &mut Node, group: Option<String>, json: bool, command: Command) -> anyhow::Result<()> {
    let cli = Cli { data_dir: None, group, json, command: None };
    match command {
        Command::Init { .. }
        | Command::Serve(_)
        | Command::Invite(_)
        | Command::Device(DeviceCommand::Link(_))
        | Command::Join { .. }
        | Command::Peer(_)
        | Command::Status => bail!("this command cannot run here"),
        Command::Group(GroupCommand::Create { name, display_name }) => {
            let vault = node.vault();
            let group = match display_name {
                Some(display_name) => vault.create_group_as(&name, &display_name, today())?,
                None => vault.create_group(&name, today())?,
            };
            if vault.group_ids()?.len() > 1 {
                vault.set_current_group(group.id())?;
            }
            let view = group.view();
            node.insert_group(group);
            emit(&format!(
                "Created the group \"{}\" ({}). You are its first member and steward.\nNext: write its charter with `sunspace charter edit`, or add a meeting with `sunspace meeting add --title \"…\"`.",
                view.name,
                short(&view.id)
            ))
        }
        Command::Group(GroupCommand::List) => {
            let vault = node.vault();
            let groups = vault.groups()?;
            if json {
                return emit_json(&groups);
            }
            if groups.is_empty() {
                return emit("No groups yet. Create one with `sunspace group create \"Name\"`.");
            }
            let current = vault.current_group()?.map(|g| g.to_hex());
            let rows = groups
                .iter()
                .map(|g| {
                    let marker = if current.as_deref() == Some(g.id.as_str()) || groups.len() == 1 { "*" } else { "" };
                    vec![marker.to_owned(), short(&g.id).to_owned(), g.name.clone()]
                })
                .collect();
            emit(&render::table(&["", "id", "name"], rows))
        }
        Command::Group(GroupCommand::Use { group }) => {
            let id = find_group(node.vault(), &group)?;
            node.vault().set_current_group(id)?;
            let name = node.group(id)?.view().name;
            emit(&format!("Commands now work on \"{name}\"."))
        }
        Command::Group(GroupCommand::Show) => {
            let group = open(node, cli.group.as_deref())?;
            group_show(group, json)
        }
        Command::Group(GroupCommand::Rename { name }) => {
            let group = open(node, cli.group.as_deref())?;
            group.edit(|doc| doc.rename_group(&name))?;
            emit(&format!("The group is now called \"{}\".", group.view().name))
        }
        Command::Charter(command) => {
            let group = open(node, cli.group.as_deref())?;
            charter(group, command, json)
        }
        Command::Member(command) => {
            let group = open(node, cli.group.as_deref())?;
            member(group, command, json)
        }
        Command::Role(command) => {
            let group = open(node, cli.group.as_deref())?;
            role(group, command, json)
        }
        Command::Meeting(command) => {
            let group = open(node, cli.group.as_deref())?;
            meeting(group, command, json)
        }
        Command::Agenda(command) => {
            let group = open(node, cli.group.as_deref())?;
            agenda(group, command)
        }
        Command::Minutes(command) => {
            let group = open(node, cli.group.as_deref())?;
            minutes(group, command)
        }
        Command::Attendance(command) => {
            let group = open(node, cli.group.as_deref())?;
            attendance(group, command, json)
        }
        Command::Decision(command) => {
            let group = open(node, cli.group.as_deref())?;
            decision(group, command, json)
        }
        Command::Action(command) => {
            let group = open(node, cli.group.as_deref())?;
            action(group, command, json)
        }
        Command::Device(DeviceCommand::Revoke { device }) => {
            let group = open(node, cli.group.as_deref())?;
            let wanted = device.trim().to_lowercase();
            let matches: Vec<sunspace_crypto::DeviceId> = group
                .members()
                .devices
                .keys()
                .filter(|d| wanted.len() >= 4 && d.to_hex().starts_with(&wanted))
                .copied()
                .collect();
            let [found] = matches.as_slice() else {
                bail!(
                    "no single device in the group has an id starting with \"{device}\" (see `sunspace member show`)"
                );
            };
            let cutoff = group.revoke_device(*found)?;
            emit(&format!(
                "Revoked device {}. The group key was changed and given only to the remaining devices: nothing written from now on can be read with that device.\nWhat it could already read: everything in the group up to now. Its own entries up to #{cutoff} are kept; anything it writes from now on is refused.",
                found.short()
            ))
        }
        Command::Device(DeviceCommand::Show) => {
            let vault = node.vault();
            if json {
                return emit_json(
                    &serde_json::json!({ "device": vault.device_id().to_hex(), "name": vault.owner_name() }),
                );
            }
            emit(&format!("This device belongs to {}.\nIts id: {}", vault.owner_name(), vault.device_id().to_hex()))
        }
        Command::Relay(command) => {
            let me = node.vault().device_id();
            let group = open(node, cli.group.as_deref())?;
            relay(group, me, command, json)
        }
        Command::SafetyNumber => {
            let group = open(node, cli.group.as_deref())?;
            if json {
                return emit_json(&serde_json::json!({ "safety_number": group.safety_number() }));
            }
            emit(&format!(
                "Safety number of \"{}\":\n\n    {}\n\nRead it aloud with another member. If your numbers match, you agree on who is in the group, on their devices and keys, and on who was removed.",
                group.view().name,
                group.safety_number()
            ))
        }
        Command::Resolve { record, field, keep } => {
            let group = open(node, cli.group.as_deref())?;
            resolve(group, &record, &field, &keep)
        }
        Command::Vitality { as_of } => {
            let group = open(node, cli.group.as_deref())?;
            let figures = vitality::compute(&group.view(), as_of.unwrap_or_else(today));
            if json {
                return emit_json(&figures);
            }
            let mut out = vec![format!(
                "Signs of life and decay, as of {} ({} held)",
                figures.as_of,
                if figures.meetings_held == 1 {
                    "1 meeting".to_owned()
                } else {
                    format!("{} meetings", figures.meetings_held)
                }
            )];
            out.extend(figures.summary.iter().map(|line| format!("  • {line}")));
            out.push("  (Computed on this device from the group's records; never sent anywhere.)".to_owned());
            emit(&out.join("\n"))
        }
        Command::Export { format, output } => {
            let group = open(node, cli.group.as_deref())?;
            let bytes = match format {
                ExportFormat::Markdown => export::markdown(&group.view()).into_bytes(),
                ExportFormat::Json => serde_json::to_vec_pretty(&group.view())?,
                ExportFormat::Automerge => group.export_automerge(),
            };
            match output {
                Some(path) => {
                    write_private_file(&path, &bytes)?;
                    emit(&wrote_export(bytes.len(), &path))
                }
                // Through `serve`, the bytes go back to the calling process (which writes the file), whatever
                // `serve`'s own standard output is.
                None if crate::remote::capture(&bytes, false) => Ok(()),
                None if format == ExportFormat::Automerge && std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
                    bail!("the automerge export is binary: write it to a file with --output FILE")
                }
                None => {
                    let mut stdout = std::io::stdout().lock();
                    match stdout.write_all(&bytes).and_then(|_| stdout.flush()) {
                        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                        other => Ok(other?),
                    }
                }
            }
        }
    }
}

/// What `sunspace` alone prints: where things stand and how to start.
fn overview(dir: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let mut help = Cli::command();
    let mut out = String::new();
    match data_dir(dir) {
        Ok(dir) if dir.join(sunspace_node::FORMAT_FILE).exists() => {
            out.push_str(&format!("This device is set up (data in {}).\n", dir.display()));
            out.push_str("Start with `sunspace group list`, `sunspace meeting list` or `sunspace vitality`.\n\n");
        }
        Ok(dir) => {
            out.push_str(&format!("This device is not set up yet (data would go in {}).\n", dir.display()));
            out.push_str(
                "Start with `sunspace init --name \"Your name\"`, then `sunspace group create \"Group name\"`.\n\n",
            );
        }
        Err(_) => {}
    }
    out.push_str(&help.render_help().to_string());
    emit(&out)
}

fn init(dir: &Path, name: Option<String>) -> anyhow::Result<()> {
    let name = match name {
        Some(name) => name,
        None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            eprint!("Your name, as your group knows you: ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim().to_owned()
        }
        None => bail!("give your name with --name \"Your name\""),
    };
    let store = Arc::new(open_data_dir(dir, DataDirMode::Create)?);
    if Vault::is_initialized(store.as_ref())? {
        bail!(sunspace_node::NodeError::AlreadyInitialized);
    }
    eprintln!(
        "Choose a passphrase of at least {} characters. It protects everything Sunspace keeps on this device.",
        sunspace_node::MIN_PASSPHRASE_CHARS
    );
    eprintln!("If you forget it, nobody can recover your data: not us, not your group. Write it down somewhere safe.");
    let vault = Vault::create(store, &passphrase(true)?, &name, KdfParams::RECOMMENDED)?;
    emit(&format!(
        "This device is set up for {}.\n  device id  {}\n  data       {}\nNext: create a group with `sunspace group create \"Name\"`.",
        vault.owner_name(),
        vault.device_id(),
        dir.display()
    ))
}

fn open<'a>(node: &'a mut Node, group: Option<&str>) -> anyhow::Result<&'a mut OpenGroup> {
    let id = choose_group(node.vault(), group)?;
    Ok(node.group(id)?)
}

/// The sentence after an export is written to a file.
pub(crate) fn wrote_export(bytes: usize, path: &Path) -> String {
    format!("Wrote {bytes} bytes to {}. This file is NOT encrypted: keep it somewhere safe.", path.display())
}

/// A minutes file's text, from this process's working directory (also when the command runs through `serve`).
pub(crate) fn read_minutes_file(file: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?.len();
    if size > MAX_MINUTES_FILE {
        bail!("{} is {size} bytes; minutes are limited to {MAX_MINUTES_FILE} bytes", file.display());
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {} as text", file.display()))
}

/// Writes an export readable only by this user (it is plaintext), as every front end does (`sunspace_api::files`).
pub(crate) fn write_private_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    sunspace_api::files::write_private_file(path, bytes).with_context(|| format!("could not write {}", path.display()))
}

/// `relay add | remove | list`: the relays recorded in the group's (encrypted) roster.
fn relay(
    group: &mut OpenGroup,
    me: sunspace_crypto::DeviceId,
    command: RelayCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        RelayCommand::Add { addresses } => {
            let mut relay = None;
            let mut transport = Vec::new();
            for text in &addresses {
                let address: sunspace_net::Multiaddr =
                    text.parse().map_err(|_| anyhow::anyhow!("\"{text}\" is not an address"))?;
                if address.iter().any(|p| p == sunspace_net::Protocol::P2pCircuit) {
                    bail!("\"{text}\" goes through another relay; give the relay's own address");
                }
                let Some(device) = sunspace_net::device_of_address(&address) else {
                    bail!("\"{text}\" needs a /p2p/ part naming the relay (copy it from the relay's `serve` output)");
                };
                if relay.is_some_and(|r| r != device) {
                    bail!("these addresses name different devices; add one relay at a time");
                }
                if group.members().devices.contains_key(&device) {
                    bail!("that is a member device, not a relay: a relay runs with its own data folder and holds no group keys");
                }
                relay = Some(device);
                transport.push(text.clone());
            }
            let Some(relay) = relay else { bail!("give the relay's address") };
            group.edit(|doc| doc.set_relay(&relay.to_hex(), &me.to_hex(), &transport))?;
            emit(&format!(
                "The group's devices will use relay {} once they have synced with the group; this device keeps its list of member devices up to date while `sunspace serve` runs here.\nThe relay cannot read anything: it learns which devices are members and sees when they talk and how much, never what.",
                relay.short()
            ))
        }
        RelayCommand::Remove { relay } => {
            let wanted = relay.trim().to_lowercase();
            let relays = group.doc().relays();
            let found: Vec<_> = relays.iter().filter(|r| wanted.len() >= 4 && r.device.starts_with(&wanted)).collect();
            let [found] = found.as_slice() else {
                bail!("no single relay has an id starting with \"{relay}\" (see `sunspace relay list`)");
            };
            let device = found.device.clone();
            group.edit(|doc| doc.remove_relay(&device))?;
            emit(&format!("The group's devices will stop using relay {}.", prefix(&device)))
        }
        RelayCommand::List => {
            let relays = group.doc().relays();
            if json {
                return emit_json(&relays);
            }
            if relays.is_empty() {
                return emit("The group uses no relay. A member with an always-on machine can run one: see `sunspace serve --help` and `sunspace relay add --help`.");
            }
            let rows = relays
                .iter()
                .map(|r| {
                    let owner =
                        if r.owner == me.to_hex() { "this device".to_owned() } else { prefix(&r.owner).to_owned() };
                    vec![prefix(&r.device).to_owned(), owner, r.addresses.join("\n")]
                })
                .collect();
            emit(&render::table(&["relay", "run by", "addresses"], rows))
        }
    }
}

fn group_show(group: &OpenGroup, json: bool) -> anyhow::Result<()> {
    let view = group.view();
    if json {
        return emit_json(&view);
    }
    let today = today();
    let mut out = vec![format!("{}  ({})", view.name, short(&view.id))];
    out.push(format!("  founded      {}", view.created.map_or("—".to_owned(), |d| d.to_string())));
    out.push(format!("  members      {}", view.members.len()));
    out.push(format!("  meetings     {}", view.meetings.len()));
    out.push(format!("  decisions    {}", view.decisions.len()));
    let open = view.actions.iter().filter(|a| a.status == sunspace_model::ActionStatus::Open).count();
    let overdue = view.actions.iter().filter(|a| a.is_overdue(today)).count();
    out.push(format!("  actions      {open} open, {overdue} overdue"));
    if let Some(cadence) = &view.charter.cadence {
        out.push(format!("  meets        {cadence}"));
    }
    if let Some(next) = view.meetings.iter().find(|m| m.date >= today) {
        out.push(format!("  next meeting {} — {}", next.date, next.title));
    }
    out.push(format!("  safety number {}", group.safety_number()));
    out.extend(render::conflicts(&view, "group", &view.conflicts));
    out.push(String::new());
    out.push(render::members_table(&view, today));
    emit(&out.join("\n"))
}

fn charter(group: &mut OpenGroup, command: CharterCommand, json: bool) -> anyhow::Result<()> {
    match command {
        CharterCommand::Show => {
            let view = group.view();
            if json {
                return emit_json(&view.charter);
            }
            let c = &view.charter;
            let mut out = vec![format!("Charter of {}", view.name), String::new()];
            for (heading, text) in
                [("Purpose", &c.purpose), ("How we decide", &c.decision_rules), ("Confidentiality", &c.confidentiality)]
            {
                out.push(heading.to_owned());
                out.push(if text.trim().is_empty() { "  (not written yet)".to_owned() } else { indent(text) });
                out.push(String::new());
            }
            out.push(format!("Meeting cadence: {}", c.cadence.as_deref().unwrap_or("(not set)")));
            out.extend(render::conflicts(&view, "charter", &c.conflicts));
            emit(&out.join("\n"))
        }
        CharterCommand::Edit { purpose, decision_rules, cadence, confidentiality } => {
            let cadence = cadence.map(|c| c.parse::<Cadence>().map_err(|e| anyhow!(e))).transpose()?;
            let patch =
                if purpose.is_none() && decision_rules.is_none() && cadence.is_none() && confidentiality.is_none() {
                    charter_in_editor(group)?
                } else {
                    CharterPatch { purpose, decision_rules, cadence, confidentiality }
                };
            group.edit(|doc| doc.edit_charter(&patch))?;
            emit("Charter saved.")
        }
    }
}

const CHARTER_HEADINGS: [&str; 4] = ["# Purpose", "# How we decide", "# Meeting cadence", "# Confidentiality"];

fn charter_in_editor(group: &OpenGroup) -> anyhow::Result<CharterPatch> {
    let edited = crate::editor::edit(&charter_template(&group.view().charter), ".md")?;
    parse_charter(&edited)
}

/// The charter as a Markdown text with one heading per field, for editing.
pub(crate) fn charter_template(c: &sunspace_model::view::CharterView) -> String {
    format!(
        "{}\n{}\n\n{}\n{}\n\n{}\n{}\n\n{}\n{}\n",
        CHARTER_HEADINGS[0],
        c.purpose.trim(),
        CHARTER_HEADINGS[1],
        c.decision_rules.trim(),
        CHARTER_HEADINGS[2],
        c.cadence.clone().unwrap_or_else(|| "monthly".into()),
        CHARTER_HEADINGS[3],
        c.confidentiality.trim(),
    )
}

/// Reads back an edited [`charter_template`].
pub(crate) fn parse_charter(edited: &str) -> anyhow::Result<CharterPatch> {
    let mut sections: Vec<String> = vec![String::new(); 4];
    let mut current: Option<usize> = None;
    for line in edited.lines() {
        if let Some(index) = CHARTER_HEADINGS.iter().position(|h| line.trim() == *h) {
            current = Some(index);
            continue;
        }
        match current {
            Some(index) => {
                sections[index].push_str(line);
                sections[index].push('\n');
            }
            None if line.trim().is_empty() => {}
            None => bail!("the charter must keep its four headings (\"# Purpose\" …); nothing was changed"),
        }
    }
    let cadence = sections[2].trim();
    Ok(CharterPatch {
        purpose: Some(sections[0].trim().to_owned()),
        decision_rules: Some(sections[1].trim().to_owned()),
        cadence: if cadence.is_empty() { None } else { Some(cadence.parse().map_err(|e: String| anyhow!(e))?) },
        confidentiality: Some(sections[3].trim().to_owned()),
    })
}

fn indent(text: &str) -> String {
    text.trim().lines().map(|line| format!("  {line}")).collect::<Vec<_>>().join("\n")
}

fn member(group: &mut OpenGroup, command: MemberCommand, json: bool) -> anyhow::Result<()> {
    let view = group.view();
    match command {
        MemberCommand::AddLocal { name, sponsor, joined } => {
            let sponsor = sponsor.map(|s| find_member(group, &view, &s)).transpose()?;
            let id = group.edit(|doc| doc.add_local_member(&name, joined.unwrap_or_else(today), sponsor.as_deref()))?;
            emit(&format!("Added {} ({}) as a member recorded by the group.", name.trim(), short(&id)))
        }
        MemberCommand::List => {
            if json {
                return emit_json(&view.members);
            }
            emit(&render::members_table(&view, today()))
        }
        MemberCommand::Show { member } => {
            let id = find_member(group, &view, &member)?;
            let m = view.member(&id).ok_or_else(|| anyhow!("member {id} vanished"))?;
            if json {
                return emit_json(m);
            }
            let mut out = vec![format!("{}  ({})", m.name, short(&m.id))];
            out.push(format!("  status   {}", m.status.as_str()));
            out.push(format!("  joined   {}", m.joined.map_or("—".to_owned(), |d| d.to_string())));
            out.push(format!("  uses the app: {}", if m.kind == "app" { "yes" } else { "no (recorded by others)" }));
            if let Some(sponsor) = &m.sponsor {
                out.push(format!("  brought in by {}", view.member_name(sponsor)));
            }
            if group.stewards().contains(&m.id) {
                out.push("  steward  yes (signed: may admit and remove members)".to_owned());
            }
            for device in view.devices.iter().filter(|d| d.member == m.id) {
                out.push(format!("  device   {} (verified: {})", short(&device.id), device.method));
            }
            for grant in view.roles.iter().filter(|r| r.member == m.id) {
                let until = grant.until.map(|u| format!(" until {u}")).unwrap_or_default();
                out.push(format!("  role     {} from {}{until}  ({})", grant.role, grant.from, short(&grant.id)));
            }
            let attended = view
                .meetings
                .iter()
                .filter(|mt| mt.attendance.iter().any(|a| a.who == Attendee::Member(m.id.clone())))
                .count();
            out.push(format!("  came to  {attended} of {} meetings", view.meetings.len()));
            out.extend(render::conflicts(&view, short(&m.id), &m.conflicts));
            emit(&out.join("\n"))
        }
        MemberCommand::Rename { member, name } => {
            let id = find_member(group, &view, &member)?;
            group.edit(|doc| doc.update_member(&id, Some(&name), None))?;
            emit(&format!("Renamed to {}.", name.trim()))
        }
        MemberCommand::Remove { member, reason } => {
            let id = find_member(group, &view, &member)?;
            let name = view.member_name(&id);
            let reason = reason.trim();
            if reason.is_empty() {
                bail!("say why with --reason \"…\": the group keeps it in the signed record");
            }
            let cutoffs = group.remove_member(&id, reason)?;
            let devices = if cutoffs.len() == 1 { "1 device".to_owned() } else { format!("{} devices", cutoffs.len()) };
            emit(&format!(
                "Removed {name} from the group ({devices}). The group key was changed and given only to the remaining devices: nothing written from now on can be read by them, and anything their devices write from now on is refused.\n\nWhat {name} could already read: everything the group recorded up to now — the charter, the member list, every meeting's minutes and attendance, every decision and action item. Assume they have it, and act on it as a group.\n\nOther devices learn of the removal when they next sync; check with `sunspace safety-number` that you agree."
            ))
        }
        MemberCommand::Steward { member, end } => {
            let id = find_member(group, &view, &member)?;
            group.set_steward(&id, !end)?;
            let name = view.member_name(&id);
            if end {
                emit(&format!(
                    "{name} is no longer a steward. The change is signed and reaches every device when it syncs."
                ))
            } else {
                emit(&format!("{name} is now a steward: they can admit and remove members. The change is signed and reaches every device when it syncs."))
            }
        }
        MemberCommand::Status { member, status } => {
            let id = find_member(group, &view, &member)?;
            let status = match status {
                StatusArg::Active => MemberStatus::Active,
                StatusArg::Inactive => MemberStatus::Inactive,
                StatusArg::Left => MemberStatus::Left,
            };
            group.edit(|doc| doc.update_member(&id, None, Some(status)))?;
            emit(&format!("{} is now {}.", view.member_name(&id), status.as_str()))
        }
    }
}

fn role(group: &mut OpenGroup, command: RoleCommand, json: bool) -> anyhow::Result<()> {
    let view = group.view();
    match command {
        RoleCommand::Grant { member, role, from, until } => {
            let id = find_member(group, &view, &member)?;
            let grant = group.edit(|doc| doc.grant_role(&id, &role, from.unwrap_or_else(today), until))?;
            let term = until.map(|u| format!(" until {u}")).unwrap_or_default();
            emit(&format!("{} is {}{term} ({}).", view.member_name(&id), role.trim().to_lowercase(), short(&grant)))
        }
        RoleCommand::List { all } => {
            let today = today();
            let grants: Vec<_> = if all { view.roles.iter().collect() } else { view.current_roles(today).collect() };
            if json {
                return emit_json(&grants);
            }
            if grants.is_empty() {
                return emit("No roles.");
            }
            let rows = grants
                .iter()
                .map(|g| {
                    vec![
                        short(&g.id).to_owned(),
                        g.role.clone(),
                        view.member_name(&g.member),
                        g.from.to_string(),
                        g.until.map_or("—".to_owned(), |u| u.to_string()),
                    ]
                })
                .collect();
            emit(&render::table(&["id", "role", "member", "from", "until"], rows))
        }
        RoleCommand::End { grant, on } => {
            let id = group.doc().find_id(RecordKind::Role, &grant)?;
            let on = on.unwrap_or_else(today);
            group.edit(|doc| doc.end_role(&id, on))?;
            emit(&format!("The term ends on {on}."))
        }
    }
}

fn meeting_patch(group: &OpenGroup, fields: MeetingFields) -> anyhow::Result<MeetingPatch> {
    let view = group.view();
    let member = |name: Option<String>| -> anyhow::Result<Option<Option<String>>> {
        name.map(|n| if n.trim().is_empty() { Ok(None) } else { find_member(group, &view, &n).map(Some) }).transpose()
    };
    Ok(MeetingPatch {
        date: fields.date,
        title: fields.title,
        kind: fields.kind,
        place: fields.place.map(Some),
        facilitator: member(fields.facilitator)?,
        note_taker: member(fields.note_taker)?,
    })
}

fn meeting(group: &mut OpenGroup, command: MeetingCommand, json: bool) -> anyhow::Result<()> {
    match command {
        MeetingCommand::Add { fields } => {
            let title = fields.title.clone().ok_or_else(|| anyhow!("give the meeting a title with --title \"…\""))?;
            let patch = meeting_patch(group, fields)?;
            let new = NewMeeting {
                date: patch.date.unwrap_or_else(today),
                title,
                kind: patch.kind.unwrap_or_else(|| "regular".into()),
                place: patch.place.flatten(),
                facilitator: patch.facilitator.flatten(),
                note_taker: patch.note_taker.flatten(),
            };
            let date = new.date;
            let id = group.edit(|doc| doc.add_meeting(new))?;
            emit(&format!("Added the meeting on {date} ({}).\nNext: `sunspace agenda add {0} \"…\"`, `sunspace attendance add {0} NAME`, `sunspace minutes edit {0}`.", short(&id)))
        }
        MeetingCommand::List => {
            let view = group.view();
            if json {
                return emit_json(&view.meetings);
            }
            emit(&render::meetings_table(&view))
        }
        MeetingCommand::Show { meeting } => {
            let view = group.view();
            let id = find_meeting(group, &view, &meeting)?;
            let meeting = view.meeting(&id).ok_or_else(|| anyhow!("meeting {id} vanished"))?;
            if json {
                return emit_json(meeting);
            }
            emit(&render::meeting(&view, meeting))
        }
        MeetingCommand::Edit { meeting, fields } => {
            let view = group.view();
            let id = find_meeting(group, &view, &meeting)?;
            let patch = meeting_patch(group, fields)?;
            if patch == MeetingPatch::default() {
                bail!("nothing to change: give --title, --date, --type, --place, --facilitator or --note-taker");
            }
            group.edit(|doc| doc.update_meeting(&id, patch))?;
            emit("Meeting updated.")
        }
    }
}

fn agenda(group: &mut OpenGroup, command: AgendaCommand) -> anyhow::Result<()> {
    let view = group.view();
    match command {
        AgendaCommand::Add { meeting, title, owner } => {
            let meeting = find_meeting(group, &view, &meeting)?;
            let owner = owner.map(|o| find_member(group, &view, &o)).transpose()?;
            let id = group.edit(|doc| doc.add_agenda_item(&meeting, &title, owner.as_deref()))?;
            emit(&format!("Added to the agenda ({}).", short(&id)))
        }
        AgendaCommand::Done { item, undo } => {
            let id = group.doc().find_id(RecordKind::Agenda, &item)?;
            group.edit(|doc| doc.set_agenda_item_done(&id, !undo))?;
            emit(if undo { "Marked as not covered." } else { "Marked as covered." })
        }
    }
}

/// Largest minutes file read by `minutes set`, in bytes (the model's limit is in characters; this stops a wrong
/// file, say a video, before it is read into memory).
const MAX_MINUTES_FILE: u64 = 4 * 1024 * 1024;

fn minutes(group: &mut OpenGroup, command: MinutesCommand) -> anyhow::Result<()> {
    let view = group.view();
    match command {
        MinutesCommand::Show { meeting } => {
            let id = find_meeting(group, &view, &meeting)?;
            let meeting = view.meeting(&id).ok_or_else(|| anyhow!("meeting {id} vanished"))?;
            emit(&meeting.minutes)
        }
        MinutesCommand::Edit { meeting } => {
            let id = find_meeting(group, &view, &meeting)?;
            let current = view.meeting(&id).map(|m| m.minutes.clone()).unwrap_or_default();
            let edited = crate::editor::edit(&current, ".md")?;
            if edited == current {
                return emit("No changes.");
            }
            group.edit(|doc| doc.set_minutes(&id, &edited))?;
            emit("Minutes saved.")
        }
        MinutesCommand::Set { meeting, file } => {
            let id = find_meeting(group, &view, &meeting)?;
            let text = if let (true, Some(text)) = (file.as_os_str() == "-", crate::remote::stdin_text()) {
                text
            } else if file.as_os_str() == "-" {
                let mut text = String::new();
                std::io::Read::read_to_string(
                    &mut std::io::Read::take(std::io::stdin(), MAX_MINUTES_FILE + 1),
                    &mut text,
                )
                .context("the minutes must be text (UTF-8)")?;
                text
            } else {
                read_minutes_file(&file)?
            };
            if text.len() as u64 > MAX_MINUTES_FILE {
                bail!("the minutes are larger than {MAX_MINUTES_FILE} bytes");
            }
            group.edit(|doc| doc.set_minutes(&id, &text))?;
            emit("Minutes saved.")
        }
        MinutesCommand::Append { meeting, text } => {
            let id = find_meeting(group, &view, &meeting)?;
            group.edit(|doc| doc.append_minutes(&id, &text))?;
            emit("Added to the minutes.")
        }
    }
}

fn attendance(group: &mut OpenGroup, command: AttendanceCommand, json: bool) -> anyhow::Result<()> {
    let view = group.view();
    match command {
        AttendanceCommand::Add { meeting, who, new_face, guest } => {
            let meeting = find_meeting(group, &view, &meeting)?;
            let attendee = find_attendee(group, &view, &who, guest)?;
            let name = view.attendee_name(&attendee);
            group.edit(|doc| doc.add_attendance(&meeting, attendee.clone(), new_face))?;
            let note = match (&attendee, guest) {
                (Attendee::Guest(_), false) => " No member has that name, so they are recorded as a guest.",
                _ => "",
            };
            emit(&format!("{name} was there{}.{note}", if new_face { " (a new face)" } else { "" }))
        }
        AttendanceCommand::Remove { meeting, who } => {
            let meeting = find_meeting(group, &view, &meeting)?;
            let attendee = find_attendee(group, &view, &who, false)?;
            let removed = group.edit(|doc| doc.remove_attendance(&meeting, &attendee))?;
            if removed == 0 {
                bail!("{} is not in that meeting's attendance", view.attendee_name(&attendee));
            }
            emit(&format!("Removed {} from the attendance.", view.attendee_name(&attendee)))
        }
        AttendanceCommand::List { meeting } => {
            let id = find_meeting(group, &view, &meeting)?;
            let meeting = view.meeting(&id).ok_or_else(|| anyhow!("meeting {id} vanished"))?;
            if json {
                return emit_json(&meeting.attendance);
            }
            let rows = meeting
                .attendance
                .iter()
                .map(|a| vec![view.attendee_name(&a.who), if a.new_face { "new face".into() } else { String::new() }])
                .collect();
            emit(&format!("{} present\n{}", meeting.attendance.len(), render::table(&["who", ""], rows)))
        }
    }
}

fn decision(group: &mut OpenGroup, command: DecisionCommand, json: bool) -> anyhow::Result<()> {
    let view = group.view();
    match command {
        DecisionCommand::Add { title, method, outcome, date, review_by, meeting } => {
            let meeting = meeting.map(|m| find_meeting(group, &view, &m)).transpose()?;
            let meeting_date = meeting.as_ref().and_then(|m| view.meeting(m)).map(|m| m.date);
            let new = NewDecision {
                title,
                method,
                outcome,
                date: date.or(meeting_date).unwrap_or_else(today),
                review_by,
                meeting,
            };
            let id = group.edit(|doc| doc.add_decision(new))?;
            emit(&format!(
                "Decision recorded ({}). Add what follows from it with `sunspace action add \"…\" --decision {0}`.",
                short(&id)
            ))
        }
        DecisionCommand::List => {
            if json {
                return emit_json(&view.decisions);
            }
            emit(&render::decisions_table(&view))
        }
        DecisionCommand::Show { decision } => {
            let id = group.doc().find_id(RecordKind::Decision, &decision)?;
            let d = view.decisions.iter().find(|d| d.id == id).ok_or_else(|| anyhow!("decision {id} vanished"))?;
            if json {
                return emit_json(d);
            }
            emit(&render::decision(&view, d))
        }
        DecisionCommand::History { decision } => {
            let id = group.doc().find_id(RecordKind::Decision, &decision)?;
            if json {
                return emit_json(&group.history(RecordKind::Decision, &id)?);
            }
            let lines = group.history_sentences(RecordKind::Decision, &id)?;
            emit(&lines.join("\n"))
        }
        DecisionCommand::Edit { decision, title, method, outcome, date, review_by } => {
            let id = group.doc().find_id(RecordKind::Decision, &decision)?;
            let patch = DecisionPatch { title, method, outcome, date, review_by: review_by.map(Some) };
            if patch == DecisionPatch::default() {
                bail!("nothing to change: give --title, --method, --outcome, --date or --review-by");
            }
            group.edit(|doc| doc.update_decision(&id, patch))?;
            emit("Decision updated.")
        }
    }
}

fn action(group: &mut OpenGroup, command: ActionCommand, json: bool) -> anyhow::Result<()> {
    let view = group.view();
    match command {
        ActionCommand::Add { title, owners, due, decision, meeting } => {
            let owners = owners.iter().map(|o| find_member(group, &view, o)).collect::<anyhow::Result<Vec<_>>>()?;
            let decision = decision.map(|d| group.doc().find_id(RecordKind::Decision, &d)).transpose()?;
            let meeting = meeting.map(|m| find_meeting(group, &view, &m)).transpose()?;
            let id = group.edit(|doc| doc.add_action(NewAction { title, owners, due, decision, meeting }))?;
            emit(&format!("Action item added ({}).", short(&id)))
        }
        ActionCommand::Done { action, on, undo } => {
            let id = group.doc().find_id(RecordKind::Action, &action)?;
            let on = if undo { None } else { Some(on.unwrap_or_else(today)) };
            group.edit(|doc| doc.set_action_done(&id, on))?;
            emit(match on {
                Some(_) => "Marked done. Well done.",
                None => "Marked open again.",
            })
        }
        ActionCommand::List { overdue, open, as_of } => {
            let as_of: NaiveDate = as_of.unwrap_or_else(today);
            let actions: Vec<_> = view
                .actions
                .iter()
                .filter(|a| !overdue || a.is_overdue(as_of))
                .filter(|a| !open || a.status == sunspace_model::ActionStatus::Open)
                .collect();
            if json {
                return emit_json(&actions);
            }
            if actions.is_empty() {
                return emit(if overdue { "Nothing is overdue." } else { "No action items." });
            }
            emit(&render::actions_table(&view, &actions, as_of))
        }
        ActionCommand::Edit { action, title, due, add_owners, remove_owners } => {
            let id = group.doc().find_id(RecordKind::Action, &action)?;
            let to_ids = |names: &[String]| {
                names.iter().map(|o| find_member(group, &view, o)).collect::<anyhow::Result<Vec<_>>>()
            };
            let patch = ActionPatch {
                title,
                due: due.map(Some),
                add_owners: to_ids(&add_owners)?,
                remove_owners: to_ids(&remove_owners)?,
            };
            if patch == ActionPatch::default() {
                bail!("nothing to change: give --title, --due, --add-owner or --remove-owner");
            }
            group.edit(|doc| doc.update_action(&id, patch))?;
            emit("Action item updated.")
        }
    }
}

fn resolve(group: &mut OpenGroup, record: &str, field: &str, keep: &str) -> anyhow::Result<()> {
    let (kind, id) = find_any(group, record)?;
    let field = field.replace('-', "_");
    let view = group.view();
    let conflicts = match kind {
        RecordKind::Group => view.conflicts.clone(),
        RecordKind::Charter => view.charter.conflicts.clone(),
        RecordKind::Meeting => view.meeting(&id).map(|m| m.conflicts.clone()).unwrap_or_default(),
        RecordKind::Decision => {
            view.decisions.iter().find(|d| d.id == id).map(|d| d.conflicts.clone()).unwrap_or_default()
        }
        RecordKind::Action => view.actions.iter().find(|a| a.id == id).map(|a| a.conflicts.clone()).unwrap_or_default(),
        RecordKind::Member => view.member(&id).map(|m| m.conflicts.clone()).unwrap_or_default(),
        RecordKind::Role => view.roles.iter().find(|r| r.id == id).map(|r| r.conflicts.clone()).unwrap_or_default(),
        RecordKind::Agenda => view
            .meetings
            .iter()
            .flat_map(|m| m.agenda.iter())
            .find(|i| i.id == id)
            .map(|i| i.conflicts.clone())
            .unwrap_or_default(),
    };
    let conflict = conflicts
        .iter()
        .find(|c| c.field == field)
        .ok_or_else(|| anyhow!("the {} of this {} has no conflict to settle", field.replace('_', "-"), kind.noun()))?;
    let value = match keep.parse::<usize>() {
        Ok(n) if (1..=conflict.values.len()).contains(&n) => conflict.values[n - 1].value.clone(),
        Ok(n) => bail!("there is no value number {n}: choose 1 to {}", conflict.values.len()),
        Err(_) => keep.to_owned(),
    };
    let id = if id.is_empty() { "-".to_owned() } else { id };
    group.edit(|doc| doc.resolve(kind, &id, &field, &value))?;
    emit(&format!("Kept \"{value}\" for the {}.", field.replace('_', "-")))
}
