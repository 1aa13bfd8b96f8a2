//! One function per command. Each is a thin layer: turn the arguments into a [`Request`] to the application
//! service ([`sunspace_api::Service`], here or inside `serve`: [`Device`]), and print the [`Response`] — its
//! sentence, or for reads a table drawn from the group's records. Files and the editor are handled here, on the
//! caller's side; the service never sees a path.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _};
use chrono::NaiveDate;
use clap::CommandFactory;
use sunspace_api::{
    resolve, ActionChanges, ActionInput, CharterInput, DecisionChanges, DecisionInput, GroupPage, Keep, MeetingChanges,
    MeetingInput, Request, Response, RoleInput,
};
use sunspace_crypto::kdf::KdfParams;
use sunspace_model::view::short;
use sunspace_model::{vitality, Attendee, CharterPatch, MemberStatus};
use sunspace_node::{open_data_dir, DataDirMode, Vault};

use crate::args::*;
use crate::context::{data_dir, passphrase};
use crate::dates::{day, today};
use crate::device::{out_of_turn, Device};
use crate::render;

pub(crate) use crate::output::{emit, emit_json, say};

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
        command => execute(&mut Device::open(&dir)?, cli.group, cli.json, command),
    }
}

/// Runs one command that works on the device's groups.
pub(crate) fn execute(device: &mut Device, group: Option<String>, json: bool, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init { .. }
        | Command::Serve(_)
        | Command::Invite(_)
        | Command::Device(DeviceCommand::Link(_))
        | Command::Join { .. }
        | Command::Peer(_)
        | Command::Status => bail!("this command cannot run here"),
        Command::Group(command) => group_command(device, group, command, json),
        Command::Charter(command) => charter(device, group, command, json),
        Command::Member(command) => member(device, group, command, json),
        Command::Role(command) => role(device, group, command, json),
        Command::Meeting(command) => meeting(device, group, command, json),
        Command::Agenda(AgendaCommand::Add { meeting, title, owner }) => {
            let response = device.ask(Request::AddAgendaItem { group, meeting, title, owner })?;
            say(&response, None)
        }
        Command::Agenda(AgendaCommand::Done { item, undo }) => {
            say(&device.ask(Request::SetAgendaItemDone { group, item, done: !undo })?, None)
        }
        Command::Minutes(command) => minutes(device, group, command),
        Command::Attendance(command) => attendance(device, group, command, json),
        Command::Decision(command) => decision(device, group, command, json),
        Command::OneOnOne(command) => crate::listening::one_on_one(device, group, command, json),
        Command::Story(command) => crate::listening::story(device, group, command, json),
        Command::Base(command) => crate::listening::base(device, group, command, json),
        Command::Pattern(command) => crate::listening::pattern(device, group, command, json),
        Command::Compartment(command) => crate::listening::compartment(device, group, command, json),
        Command::Move { record, to } => say(&device.ask(Request::MoveRecord { group, kind: None, record, to })?, None),
        Command::Action(command) => action(device, group, command, json),
        Command::Device(DeviceCommand::Revoke { device: wanted }) => {
            say(&device.ask(Request::RevokeDevice { group, device: wanted })?, None)
        }
        Command::Device(DeviceCommand::Show) => {
            let Response::Device { device: id, owner } = device.ask(Request::Device)? else {
                bail!("Sunspace answered out of turn")
            };
            if json {
                return emit_json(&serde_json::json!({ "device": id, "name": owner }));
            }
            emit(&format!("This device belongs to {owner}.\nIts id: {id}"))
        }
        Command::Relay(command) => relay(device, group, command, json),
        Command::SafetyNumber => {
            let page = device.page(&group)?;
            if json {
                return emit_json(&serde_json::json!({ "safety_number": page.snapshot.safety_number }));
            }
            emit(&format!(
                "Safety number of \"{}\":\n\n    {}\n\nRead it aloud with another member. If your numbers match, you agree on who is in the group, on their devices and keys, and on who was removed.",
                page.snapshot.view.name, page.snapshot.safety_number
            ))
        }
        Command::Resolve { record, field, keep } => {
            let keep = match keep.parse::<u32>() {
                Ok(n) => Keep::Number(n),
                Err(_) => Keep::Value(keep),
            };
            say(&device.ask(Request::Resolve { group, kind: None, record, field, keep })?, None)
        }
        Command::Vitality { as_of } => {
            let Response::Vitality(figures) = device.ask(Request::Vitality { group, as_of: day(as_of) })? else {
                bail!("Sunspace answered out of turn")
            };
            if json {
                return emit_json(&figures);
            }
            emit(&vitality_text(&figures))
        }
        Command::Export { format, output } => export(device, group, format, output.as_deref()),
        Command::Carry(CarryCommand::Export { output, for_device }) => {
            let Response::CarryFile { bytes, message, .. } = device.ask(Request::CarryExport { group, for_device })?
            else {
                bail!("Sunspace answered out of turn")
            };
            write_private_file(&output, &bytes)?;
            emit(&format!("{message}\nWritten to {}.", output.display()))
        }
        Command::Carry(CarryCommand::Import { file }) => {
            let size = std::fs::metadata(&file).with_context(|| format!("could not read {}", file.display()))?.len();
            if size > sunspace_replicate::MAX_CARRY_FILE_LEN as u64 {
                bail!("{} is larger than a records file Sunspace reads", file.display());
            }
            let bytes = std::fs::read(&file).with_context(|| format!("could not read {}", file.display()))?;
            let response = device.ask(Request::CarryImport { bytes })?;
            if json {
                return emit_json(&response);
            }
            let Response::Carried { message, refused, .. } = response else { bail!("Sunspace answered out of turn") };
            let mut out = vec![message];
            out.extend(refused.iter().map(|reason| format!("  refused: {reason}")));
            emit(&out.join("\n"))
        }
    }
}

fn vitality_text(figures: &vitality::Vitality) -> String {
    let meetings =
        if figures.meetings_held == 1 { "1 meeting".to_owned() } else { format!("{} meetings", figures.meetings_held) };
    let mut out = vec![format!("Signs of life and decay, as of {} ({meetings} held)", figures.as_of)];
    out.extend(figures.summary.iter().map(|line| format!("  • {line}")));
    out.push("  (Computed on this device from the group's records; never sent anywhere.)".to_owned());
    out.join("\n")
}

fn export(
    device: &mut Device,
    group: Option<String>,
    format: ExportFormat,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let format = match format {
        ExportFormat::Markdown => sunspace_api::ExportFormat::Markdown,
        ExportFormat::Json => sunspace_api::ExportFormat::Json,
        ExportFormat::Automerge => sunspace_api::ExportFormat::Automerge,
    };
    let Response::Exported { bytes, .. } = device.ask(Request::Export { group, format })? else {
        bail!("Sunspace answered out of turn")
    };
    match output {
        Some(path) => {
            write_private_file(path, &bytes)?;
            emit(&wrote_export(bytes.len(), path))
        }
        None if format == sunspace_api::ExportFormat::Automerge
            && std::io::IsTerminal::is_terminal(&std::io::stdout()) =>
        {
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

/// The sentence after an export is written to a file.
pub(crate) fn wrote_export(bytes: usize, path: &Path) -> String {
    format!("Wrote {bytes} bytes to {}. This file is NOT encrypted: keep it somewhere safe.", path.display())
}

/// Largest minutes file read by `minutes set`, in bytes (the model's limit is in characters; this stops a wrong
/// file, say a video, before it is read into memory).
const MAX_MINUTES_FILE: u64 = 4 * 1024 * 1024;

/// A minutes file's text, from this process's working directory (also when the command goes to `serve`).
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

fn group_command(device: &mut Device, group: Option<String>, command: GroupCommand, json: bool) -> anyhow::Result<()> {
    match command {
        GroupCommand::Create { name, display_name } => {
            let response = device.ask(Request::CreateGroup { name, display_name })?;
            say(&response, Some("Next: write its charter with `sunspace charter edit`, or add a meeting with `sunspace meeting add --title \"…\"`.".into()))
        }
        GroupCommand::List => {
            let Response::Groups { groups, current } = device.ask(Request::Groups)? else {
                bail!("Sunspace answered out of turn")
            };
            if json {
                return emit_json(&groups);
            }
            if groups.is_empty() {
                return emit("No groups yet. Create one with `sunspace group create \"Name\"`.");
            }
            let rows = groups
                .iter()
                .map(|g| {
                    let marker = if current.as_deref() == Some(g.id.as_str()) || groups.len() == 1 { "*" } else { "" };
                    vec![marker.to_owned(), short(&g.id).to_owned(), g.name.clone()]
                })
                .collect();
            emit(&render::table(&["", "id", "name"], rows))
        }
        GroupCommand::Use { group } => say(&device.ask(Request::UseGroup { group })?, None),
        GroupCommand::Show => group_show(&device.page(&group)?, json),
        GroupCommand::Rename { name } => say(&device.ask(Request::RenameGroup { group, name })?, None),
    }
}

fn group_show(page: &GroupPage, json: bool) -> anyhow::Result<()> {
    let view = &page.snapshot.view;
    if json {
        return emit_json(view);
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
    out.push(format!("  safety number {}", page.snapshot.safety_number));
    out.extend(render::conflicts(view, "group", &view.conflicts));
    out.push(String::new());
    out.push(render::members_table(view, today));
    emit(&out.join("\n"))
}

fn charter(device: &mut Device, group: Option<String>, command: CharterCommand, json: bool) -> anyhow::Result<()> {
    match command {
        CharterCommand::Show => {
            let page = device.page(&group)?;
            let view = &page.snapshot.view;
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
            out.extend(render::conflicts(view, "charter", &c.conflicts));
            emit(&out.join("\n"))
        }
        CharterCommand::Edit { purpose, decision_rules, cadence, confidentiality } => {
            let charter =
                if purpose.is_none() && decision_rules.is_none() && cadence.is_none() && confidentiality.is_none() {
                    // The charter opens in the editor here, whichever process holds the store.
                    let page = device.page(&group)?;
                    let template = charter_template(&page.snapshot.view.charter);
                    let edited = crate::editor::edit(&template, ".md")?;
                    if edited == template {
                        return emit("No changes.");
                    }
                    let patch = parse_charter(&edited)?;
                    CharterInput {
                        purpose: patch.purpose,
                        decision_rules: patch.decision_rules,
                        cadence: patch.cadence.map(|c| c.to_string()),
                        confidentiality: patch.confidentiality,
                    }
                } else {
                    CharterInput { purpose, decision_rules, cadence, confidentiality }
                };
            say(&device.ask(Request::EditCharter { group, charter })?, None)
        }
    }
}

const CHARTER_HEADINGS: [&str; 4] = ["# Purpose", "# How we decide", "# Meeting cadence", "# Confidentiality"];

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
        match current.and_then(|index| sections.get_mut(index)) {
            Some(section) => {
                section.push_str(line);
                section.push('\n');
            }
            None if line.trim().is_empty() => {}
            None => bail!("the charter must keep its four headings (\"# Purpose\" …); nothing was changed"),
        }
    }
    let [purpose, decision_rules, cadence, confidentiality] = <[String; 4]>::try_from(sections)
        .map_err(|_| anyhow!("the charter must keep its four headings; nothing was changed"))?;
    let cadence = cadence.trim();
    Ok(CharterPatch {
        purpose: Some(purpose.trim().to_owned()),
        decision_rules: Some(decision_rules.trim().to_owned()),
        cadence: if cadence.is_empty() { None } else { Some(cadence.parse().map_err(|e: String| anyhow!(e))?) },
        confidentiality: Some(confidentiality.trim().to_owned()),
    })
}

fn indent(text: &str) -> String {
    text.trim().lines().map(|line| format!("  {line}")).collect::<Vec<_>>().join("\n")
}

fn member(device: &mut Device, group: Option<String>, command: MemberCommand, json: bool) -> anyhow::Result<()> {
    match command {
        MemberCommand::AddLocal { name, sponsor, joined } => {
            say(&device.ask(Request::AddLocalMember { group, name, sponsor, joined: day(joined) })?, None)
        }
        MemberCommand::List => {
            let page = device.page(&group)?;
            if json {
                return emit_json(&page.snapshot.view.members);
            }
            emit(&render::members_table(&page.snapshot.view, today()))
        }
        MemberCommand::Show { member } => {
            let page = device.page(&group)?;
            let view = &page.snapshot.view;
            let id = resolve::member(view, &member)?;
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
            if page.snapshot.stewards.contains(&m.id) {
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
            out.extend(render::conflicts(view, short(&m.id), &m.conflicts));
            emit(&out.join("\n"))
        }
        MemberCommand::Rename { member, name } => {
            say(&device.ask(Request::UpdateMember { group, member, name: Some(name), status: None })?, None)
        }
        MemberCommand::Remove { member, reason } => {
            let response = device.ask(Request::RemoveMember { group, member, reason })?;
            say(&response, Some("Check with `sunspace safety-number` that you agree.".into()))
        }
        MemberCommand::Steward { member, end } => {
            say(&device.ask(Request::SetSteward { group, member, steward: !end })?, None)
        }
        MemberCommand::Status { member, status } => {
            let status = match status {
                StatusArg::Active => MemberStatus::Active,
                StatusArg::Inactive => MemberStatus::Inactive,
                StatusArg::Left => MemberStatus::Left,
            };
            say(&device.ask(Request::UpdateMember { group, member, name: None, status: Some(status) })?, None)
        }
    }
}

fn role(device: &mut Device, group: Option<String>, command: RoleCommand, json: bool) -> anyhow::Result<()> {
    match command {
        RoleCommand::Grant { member, role, from, until } => {
            let role = RoleInput { member, role, from: day(from), until: day(until) };
            say(&device.ask(Request::GrantRole { group, role })?, None)
        }
        RoleCommand::List { all } => {
            let page = device.page(&group)?;
            let view = &page.snapshot.view;
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
        RoleCommand::End { grant, on } => say(&device.ask(Request::EndRole { group, grant, on: day(on) })?, None),
    }
}

fn meeting(device: &mut Device, group: Option<String>, command: MeetingCommand, json: bool) -> anyhow::Result<()> {
    match command {
        MeetingCommand::Add { fields, readers } => {
            let title = fields.title.ok_or_else(|| anyhow!("give the meeting a title with --title \"…\""))?;
            let meeting = MeetingInput {
                date: day(fields.date),
                title,
                kind: fields.kind,
                place: fields.place,
                facilitator: fields.facilitator,
                note_taker: fields.note_taker,
                readers,
            };
            let response = device.ask(Request::AddMeeting { group, meeting })?;
            let Response::Created { id, .. } = &response else { return Err(out_of_turn(&response)) };
            let id = short(id);
            say(&response, Some(format!("Next: `sunspace agenda add {id} \"…\"`, `sunspace attendance add {id} NAME`, `sunspace minutes edit {id}`.")))
        }
        MeetingCommand::List => {
            let page = device.page(&group)?;
            if json {
                return emit_json(&page.snapshot.view.meetings);
            }
            emit(&render::meetings_table(&page.snapshot.view))
        }
        MeetingCommand::Show { meeting } => {
            let page = device.page(&group)?;
            let view = &page.snapshot.view;
            let id = resolve::meeting(view, &meeting)?;
            let meeting = view.meeting(&id).ok_or_else(|| anyhow!("meeting {id} vanished"))?;
            if json {
                return emit_json(meeting);
            }
            emit(&render::meeting(view, meeting))
        }
        MeetingCommand::Edit { meeting, fields } => {
            let changes = MeetingChanges {
                date: day(fields.date),
                title: fields.title,
                kind: fields.kind,
                place: fields.place,
                facilitator: fields.facilitator,
                note_taker: fields.note_taker,
            };
            if changes == MeetingChanges::default() {
                bail!("nothing to change: give --title, --date, --type, --place, --facilitator or --note-taker");
            }
            say(&device.ask(Request::EditMeeting { group, meeting, changes })?, None)
        }
    }
}

fn minutes(device: &mut Device, group: Option<String>, command: MinutesCommand) -> anyhow::Result<()> {
    match command {
        MinutesCommand::Show { meeting } => {
            let page = device.page(&group)?;
            let id = resolve::meeting(&page.snapshot.view, &meeting)?;
            let meeting = page.snapshot.view.meeting(&id).ok_or_else(|| anyhow!("meeting {id} vanished"))?;
            emit(&meeting.minutes)
        }
        MinutesCommand::Edit { meeting } => {
            let page = device.page(&group)?;
            let id = resolve::meeting(&page.snapshot.view, &meeting)?;
            let current = page.snapshot.view.meeting(&id).map(|m| m.minutes.clone()).unwrap_or_default();
            let edited = crate::editor::edit(&current, ".md")?;
            if edited == current {
                return emit("No changes.");
            }
            // Typed on the version read above: what others wrote meanwhile is merged, not written over.
            let request =
                Request::SetMinutes { group, meeting: id, text: edited, base: page.snapshot.view.heads.clone() };
            say(&device.ask(request)?, None)
        }
        MinutesCommand::Set { meeting, file } => {
            let text = if file.as_os_str() == "-" {
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
            say(&device.ask(Request::SetMinutes { group, meeting, text, base: Vec::new() })?, None)
        }
        MinutesCommand::Append { meeting, text } => {
            say(&device.ask(Request::AppendMinutes { group, meeting, text })?, None)
        }
    }
}

fn attendance(
    device: &mut Device,
    group: Option<String>,
    command: AttendanceCommand,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        AttendanceCommand::Add { meeting, who, new_face, guest } => {
            say(&device.ask(Request::AddAttendance { group, meeting, who, new_face, guest })?, None)
        }
        AttendanceCommand::Remove { meeting, who } => {
            say(&device.ask(Request::RemoveAttendance { group, meeting, who })?, None)
        }
        AttendanceCommand::List { meeting } => {
            let page = device.page(&group)?;
            let view = &page.snapshot.view;
            let id = resolve::meeting(view, &meeting)?;
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

fn decision(device: &mut Device, group: Option<String>, command: DecisionCommand, json: bool) -> anyhow::Result<()> {
    match command {
        DecisionCommand::Add { title, method, outcome, date, review_by, meeting } => {
            let decision =
                DecisionInput { title, method, outcome, date: day(date), review_by: day(review_by), meeting };
            let response = device.ask(Request::AddDecision { group, decision })?;
            let Response::Created { id, .. } = &response else { return Err(out_of_turn(&response)) };
            let hint = format!("Add what follows from it with `sunspace action add \"…\" --decision {}`.", short(id));
            say(&response, Some(hint))
        }
        DecisionCommand::List => {
            let page = device.page(&group)?;
            if json {
                return emit_json(&page.snapshot.view.decisions);
            }
            emit(&render::decisions_table(&page.snapshot.view))
        }
        DecisionCommand::Show { decision } => {
            let page = device.page(&group)?;
            let view = &page.snapshot.view;
            let id = resolve::record(view, sunspace_model::RecordKind::Decision, &decision)?;
            let d = view.decisions.iter().find(|d| d.id == id).ok_or_else(|| anyhow!("decision {id} vanished"))?;
            if json {
                return emit_json(d);
            }
            emit(&render::decision(view, d))
        }
        DecisionCommand::History { decision } => {
            let Response::History { changes, sentences } = device.ask(Request::DecisionHistory { group, decision })?
            else {
                bail!("Sunspace answered out of turn")
            };
            if json {
                return emit_json(&changes);
            }
            emit(&sentences.join("\n"))
        }
        DecisionCommand::Edit { decision, title, method, outcome, date, review_by } => {
            let changes = DecisionChanges { title, method, outcome, date: day(date), review_by: day(review_by) };
            if changes == DecisionChanges::default() {
                bail!("nothing to change: give --title, --method, --outcome, --date or --review-by");
            }
            say(&device.ask(Request::EditDecision { group, decision, changes })?, None)
        }
    }
}

fn action(device: &mut Device, group: Option<String>, command: ActionCommand, json: bool) -> anyhow::Result<()> {
    match command {
        ActionCommand::Add { title, owners, due, decision, meeting } => {
            let action = ActionInput { title, owners, due: day(due), decision, meeting };
            say(&device.ask(Request::AddAction { group, action })?, None)
        }
        ActionCommand::Done { action, on, undo } => {
            say(&device.ask(Request::SetActionDone { group, action, done: !undo, on: day(on) })?, None)
        }
        ActionCommand::List { overdue, open, as_of } => {
            let page = device.page(&group)?;
            let view = &page.snapshot.view;
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
            emit(&render::actions_table(view, &actions, as_of))
        }
        ActionCommand::Edit { action, title, due, add_owners, remove_owners } => {
            let changes = ActionChanges { title, due: day(due), add_owners, remove_owners };
            if changes == ActionChanges::default() {
                bail!("nothing to change: give --title, --due, --add-owner or --remove-owner");
            }
            say(&device.ask(Request::EditAction { group, action, changes })?, None)
        }
    }
}

/// `relay add | remove | list`: the relays recorded in the group's (encrypted) roster.
fn relay(device: &mut Device, group: Option<String>, command: RelayCommand, json: bool) -> anyhow::Result<()> {
    match command {
        RelayCommand::Add { addresses } => say(&device.ask(Request::AddRelay { group, addresses })?, None),
        RelayCommand::Remove { relay } => say(&device.ask(Request::RemoveRelay { group, relay })?, None),
        RelayCommand::List => {
            let page = device.page(&group)?;
            if json {
                return emit_json(&page.snapshot.relays);
            }
            if page.snapshot.relays.is_empty() {
                return emit("The group uses no relay. A member with an always-on machine can run one: see `sunspace serve --help` and `sunspace relay add --help`.");
            }
            let rows = page
                .snapshot
                .relays
                .iter()
                .map(|r| {
                    let owner = if r.owner == page.snapshot.me {
                        "this device".to_owned()
                    } else {
                        render::prefix(&r.owner).to_owned()
                    };
                    vec![render::prefix(&r.device).to_owned(), owner, r.addresses.join("\n")]
                })
                .collect();
            emit(&render::table(&["relay", "run by", "addresses"], rows))
        }
    }
}
