//! The control channel: while `sunspace serve` runs it holds the store, so other `sunspace` commands send their
//! work to it over a Unix socket in the data directory (`control.sock`, mode 0600, in a 0700 directory; the
//! server also checks that the connecting process belongs to the directory's owner).
//!
//! One JSON object per line. The client sends a [`Request`]; the server answers with one or more [`Reply`]s (an
//! invitation or a join is a conversation: the words, then the client's [`Request::Confirm`], then the outcome).

use crate::render::prefix;
use std::cell::RefCell;
use std::io::{BufRead, BufReader, IsTerminal, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use clap::ValueEnum as _;
use serde::{Deserialize, Serialize};
use sunspace_node::engine::Status;

use crate::args::{CharterCommand, Command, InviteOptions, MinutesCommand};

/// The socket's file name in the data directory.
pub(crate) const SOCKET: &str = "control.sock";

pub(crate) fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

/// A request to the serving process.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case")]
pub(crate) enum Request {
    /// Run a command (its arguments as typed), with the client's group choice and standard input.
    Run { args: Vec<String>, group: Option<String>, json: bool, stdin: Option<String> },
    /// The sync status.
    Status,
    /// Connect to a peer.
    PeerAdd { address: String },
    /// Open an invitation.
    Invite { group: Option<String>, member: Option<String>, minutes: u64, device: bool },
    /// Join with a code.
    Join { code: String, peers: Vec<String> },
    /// The person's answer to "do the words match?".
    Confirm { matched: bool },
}

/// An answer from the serving process.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "kebab-case")]
pub(crate) enum Reply {
    /// A command's output, and its error if it failed.
    Output { stdout: Vec<u8>, error: Option<String> },
    /// The sync status.
    Status { status: Status },
    /// Done.
    Done { message: String },
    /// The invitation to show.
    Invitation { code: String, qr_text: String, minutes: u64 },
    /// Words to compare, and with whom.
    Words { words: String, who: String },
    /// A device was admitted.
    Admitted { member: String },
    /// This device joined.
    Joined { group_name: String },
    /// It ended without success.
    Failed { reason: String },
}

thread_local! {
    /// Output captured while a command runs inside `serve` for a client.
    static CAPTURE: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    /// The client's standard input, for `minutes set --file -`.
    static STDIN: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// If a command is running for a client, adds `bytes` (and a newline if `line`) to its output and returns true.
pub(crate) fn capture(bytes: &[u8], line: bool) -> bool {
    CAPTURE.with(|capture| match capture.borrow_mut().as_mut() {
        Some(buffer) => {
            buffer.extend_from_slice(bytes);
            if line {
                buffer.push(b'\n');
            }
            true
        }
        None => false,
    })
}

/// Whether the running command runs inside `serve` for a client.
pub(crate) fn is_remote() -> bool {
    CAPTURE.with(|capture| capture.borrow().is_some())
}

/// The client's standard input, when running for a client that sent one.
pub(crate) fn stdin_text() -> Option<String> {
    STDIN.with(|stdin| stdin.borrow_mut().take())
}

/// Runs a client's command inside `serve` (on the engine), capturing what it prints.
pub(crate) fn execute_for_client(
    node: &mut sunspace_node::Node,
    args: Vec<String>,
    group: Option<String>,
    json: bool,
    stdin: Option<String>,
) -> Reply {
    use clap::Parser as _;
    let cli = match crate::args::Cli::try_parse_from(std::iter::once("sunspace".to_owned()).chain(args)) {
        Ok(cli) => cli,
        Err(error) => return Reply::Output { stdout: Vec::new(), error: Some(error.to_string()) },
    };
    let Some(command) = cli.command else {
        return Reply::Output { stdout: Vec::new(), error: Some("no command".into()) };
    };
    CAPTURE.with(|capture| *capture.borrow_mut() = Some(Vec::new()));
    STDIN.with(|slot| *slot.borrow_mut() = stdin);
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::commands::execute(node, group, json, command)));
    let stdout = CAPTURE.with(|capture| capture.borrow_mut().take()).unwrap_or_default();
    STDIN.with(|slot| *slot.borrow_mut() = None);
    let error = match result {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(_) => Some("Sunspace hit an internal error running that command; please report it".into()),
    };
    Reply::Output { stdout, error }
}

/// A connection to the serving process.
pub(crate) struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects if `serve` is running for this data directory.
    pub(crate) fn connect(dir: &Path) -> anyhow::Result<Option<Self>> {
        let path = socket_path(dir);
        if !path.exists() {
            return Ok(None);
        }
        match UnixStream::connect(&path) {
            Ok(stream) => {
                let writer = stream.try_clone()?;
                Ok(Some(Self { reader: BufReader::new(stream), writer }))
            }
            // A socket left behind by a `serve` that did not stop cleanly.
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => Ok(None),
            Err(error) => Err(error).context("could not reach `sunspace serve`"),
        }
    }

    fn require(dir: &Path) -> anyhow::Result<Self> {
        Self::connect(dir)?.ok_or_else(|| {
            anyhow!("this needs Sunspace running as a peer: start `sunspace serve` in another terminal, then try again")
        })
    }

    fn send(&mut self, request: &Request) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(request)?;
        line.push(b'\n');
        self.writer.write_all(&line).context("lost the connection to `sunspace serve`")
    }

    fn receive(&mut self) -> anyhow::Result<Reply> {
        let mut line = String::new();
        let read = self.reader.read_line(&mut line).context("lost the connection to `sunspace serve`")?;
        if read == 0 {
            bail!("`sunspace serve` stopped before answering");
        }
        serde_json::from_str(&line).context("`sunspace serve` answered something this version cannot read")
    }

    /// Runs one command inside `serve` and returns what it printed, or its error.
    fn output(
        mut self,
        args: Vec<String>,
        group: Option<String>,
        json: bool,
        stdin: Option<String>,
    ) -> anyhow::Result<Vec<u8>> {
        self.send(&Request::Run { args, group, json, stdin })?;
        match self.receive()? {
            Reply::Output { stdout, error: None } => Ok(stdout),
            Reply::Output { error: Some(error), .. } => Err(anyhow!(error)),
            other => bail!("`sunspace serve` answered out of turn: {other:?}"),
        }
    }

    /// Runs this process's command inside `serve` and prints its output. `minutes edit` opens the editor here,
    /// between reading the minutes and saving them through `serve`.
    pub(crate) fn run_command(
        self,
        dir: &Path,
        group: Option<String>,
        json: bool,
        command: &Command,
    ) -> anyhow::Result<()> {
        let stdout = if let Command::Charter(CharterCommand::Edit {
            purpose: None,
            decision_rules: None,
            cadence: None,
            confidentiality: None,
        }) = command
        {
            // The charter opens in the editor here; the edited fields go to `serve` as flags.
            let shown = self.output(vec!["charter".into(), "show".into()], group.clone(), true, None)?;
            let current: sunspace_model::view::CharterView =
                serde_json::from_slice(&shown).context("`sunspace serve` sent a charter this version cannot read")?;
            let template = crate::commands::charter_template(&current);
            let edited = crate::editor::edit(&template, ".md")?;
            if edited == template {
                b"No changes.\n".to_vec()
            } else {
                let patch = crate::commands::parse_charter(&edited)?;
                let mut args: Vec<String> = vec!["charter".into(), "edit".into()];
                for (flag, value) in [
                    ("--purpose", patch.purpose),
                    ("--decision-rules", patch.decision_rules),
                    ("--cadence", patch.cadence.map(|c| c.to_string())),
                    ("--confidentiality", patch.confidentiality),
                ] {
                    if let Some(value) = value {
                        args.push(flag.into());
                        args.push(value);
                    }
                }
                Self::require(dir)?.output(args, group, false, None)?
            }
        } else if let Command::Minutes(MinutesCommand::Edit { meeting }) = command {
            let shown =
                self.output(vec!["minutes".into(), "show".into(), meeting.clone()], group.clone(), false, None)?;
            let mut current = String::from_utf8(shown).context("the minutes are not text")?;
            if current.ends_with('\n') {
                current.pop();
            }
            let edited = crate::editor::edit(&current, ".md")?;
            if edited == current {
                b"No changes.\n".to_vec()
            } else {
                let args = vec!["minutes".into(), "set".into(), meeting.clone(), "--file".into(), "-".into()];
                Self::require(dir)?.output(args, group, false, Some(edited))?
            }
        } else if let Some((meeting, file)) = minutes_from_a_file(command) {
            // The file is this process's: read here, relative to this working directory, not `serve`'s.
            let text = crate::commands::read_minutes_file(file)?;
            let args = vec!["minutes".into(), "set".into(), meeting.clone(), "--file".into(), "-".into()];
            self.output(args, group, false, Some(text))?
        } else if let Command::Export { format, output: Some(path) } = command {
            // `serve` sends the export; this process writes it where the person asked, relative to here.
            let format = format.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default();
            let bytes = self.output(vec!["export".into(), "--format".into(), format], group, false, None)?;
            crate::commands::write_private_file(path, &bytes)?;
            format!("{}\n", crate::commands::wrote_export(bytes.len(), path)).into_bytes()
        } else {
            let wants_stdin =
                matches!(command, Command::Minutes(MinutesCommand::Set { file, .. }) if file.as_os_str() == "-");
            let stdin = if wants_stdin {
                let mut text = String::new();
                std::io::stdin()
                    .take(4 * 1024 * 1024)
                    .read_to_string(&mut text)
                    .context("the minutes must be text (UTF-8)")?;
                Some(text)
            } else {
                None
            };
            self.output(std::env::args().skip(1).collect(), group, json, stdin)?
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&stdout).and_then(|_| out.flush());
        Ok(())
    }
}

/// `minutes set MEETING --file FILE` with a file (not `-`, standard input): the meeting and the file.
fn minutes_from_a_file(command: &Command) -> Option<(&String, &PathBuf)> {
    match command {
        Command::Minutes(MinutesCommand::Set { meeting, file }) if file.as_os_str() != "-" => Some((meeting, file)),
        _ => None,
    }
}

fn ask(question: &str, assume_yes: bool) -> anyhow::Result<bool> {
    if assume_yes {
        println!("{question} yes (--confirm)");
        return Ok(true);
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}

fn print_qr(text: &str) {
    if let Ok(code) = qrcode::QrCode::new(text.as_bytes()) {
        let image = code.render::<qrcode::render::unicode::Dense1x2>().quiet_zone(true).build();
        println!("{image}");
    }
}

/// `invite` and `device link`.
pub(crate) fn invite(dir: &Path, group: Option<String>, options: InviteOptions, device: bool) -> anyhow::Result<()> {
    let mut client = Client::require(dir)?;
    client.send(&Request::Invite { group, member: options.member, minutes: options.minutes, device })?;
    loop {
        match client.receive()? {
            Reply::Invitation { code, qr_text, minutes } => {
                if std::io::stdout().is_terminal() {
                    print_qr(&qr_text);
                }
                let whose = if device { "your other device" } else { "the newcomer's device" };
                println!("Scan this QR code with {whose}, or type this code there:\n\n    {code}\n");
                println!("On that device: sunspace join {code}");
                println!("Full invitation (with this device's addresses): {qr_text}");
                println!("It works once, for the next {minutes} minutes. Waiting for {whose}…");
            }
            Reply::Words { words, who } => {
                println!("\n{who} connected. Check together, aloud, that their screen shows the same words:\n");
                println!("    {words}\n");
                let matched = ask("Do the words match?", options.confirm)?;
                client.send(&Request::Confirm { matched })?;
                if !matched {
                    println!("Nothing was added.");
                }
            }
            Reply::Admitted { member } => {
                println!(
                    "Done: the device is in the group (member {}). The history is on its way to it.",
                    &member[..8.min(member.len())]
                );
                return Ok(());
            }
            Reply::Failed { reason } => bail!("{reason}"),
            Reply::Done { message } => bail!("{message}"),
            other => bail!("`sunspace serve` answered out of turn: {other:?}"),
        }
    }
}

/// `join`.
pub(crate) fn join(dir: &Path, code: &str, peers: Vec<String>, confirm: bool) -> anyhow::Result<()> {
    let mut client = Client::require(dir)?;
    client.send(&Request::Join { code: code.to_owned(), peers })?;
    println!("Looking for the inviting device…");
    loop {
        match client.receive()? {
            Reply::Words { words, who } => {
                println!("\nFound {who}. Check together, aloud, that their screen shows the same words:\n");
                println!("    {words}\n");
                let matched = ask("Do the words match?", confirm)?;
                client.send(&Request::Confirm { matched })?;
            }
            Reply::Joined { group_name } => {
                println!("You are in \"{group_name}\". Its records are on this device now, encrypted.");
                return Ok(());
            }
            Reply::Failed { reason } => bail!("{reason}"),
            Reply::Done { message } => bail!("{message}"),
            other => bail!("`sunspace serve` answered out of turn: {other:?}"),
        }
    }
}

/// `peer add`.
pub(crate) fn peer_add(dir: &Path, address: &str) -> anyhow::Result<()> {
    let mut client = Client::require(dir)?;
    client.send(&Request::PeerAdd { address: address.to_owned() })?;
    match client.receive()? {
        Reply::Done { message } => {
            println!("{message}");
            Ok(())
        }
        Reply::Failed { reason } => bail!("{reason}"),
        other => bail!("`sunspace serve` answered out of turn: {other:?}"),
    }
}

/// `status`.
pub(crate) fn status(dir: &Path, json: bool) -> anyhow::Result<()> {
    let Some(mut client) = Client::connect(dir)? else {
        if json {
            println!("{}", serde_json::json!({ "serving": false }));
        } else {
            println!("Sunspace is not running as a peer on this device, so nothing is syncing.");
            println!("Start it with `sunspace serve` (and keep it running) to sync with the other member devices.");
        }
        return Ok(());
    };
    client.send(&Request::Status)?;
    let Reply::Status { status } = client.receive()? else { bail!("`sunspace serve` answered out of turn") };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    println!("This device ({}) is serving.", prefix(&status.device));
    for address in &status.listening {
        let reach = match status.reachability.get(address) {
            Some(true) => " (reachable from outside, a relay checked)",
            Some(false) => " (not reachable from outside)",
            None => "",
        };
        println!("  listening on {address}{reach}");
    }
    if let Some(service) = &status.relay_service {
        println!("  relaying for {} member devices listed by device {}", service.clients.len(), prefix(&service.owner));
    }
    for relay in &status.relays {
        let through = if relay.listening_through { "reachable through it" } else { "not yet reachable through it" };
        let owned = if relay.owned { ", run by this device" } else { "" };
        println!("  relay {}: {through}{owned}", prefix(&relay.device));
    }
    for unopened in &status.unopened {
        println!(
            "\nA group ({}) could not be opened: {}",
            unopened.id.get(..8).unwrap_or(&unopened.id),
            unopened.reason
        );
    }
    for group in &status.groups {
        println!("\n{} ({}): {} entries held", group.name, prefix(&group.id), group.entries);
        if group.waiting > 0 {
            println!("  {} received entries wait for earlier ones", group.waiting);
        }
        for note in &group.integrity {
            println!("  ! {}", note.sentence);
        }
        if group.peers.is_empty() {
            println!("  no other devices in the group yet: invite someone with `sunspace invite`");
        }
        for peer in &group.peers {
            let seen = if peer.connected { "connected" } else { "not connected" };
            let synced =
                peer.last_synced.as_deref().map_or("not synced since start".to_owned(), |t| format!("last synced {t}"));
            let pending = match peer.to_send {
                Some(0) => "up to date".to_owned(),
                Some(n) => format!("{n} entries to send"),
                None => "state unknown until it connects".to_owned(),
            };
            println!("  {} (device {}): {seen}, {synced}, {pending}", peer.name, prefix(&peer.device));
        }
    }
    Ok(())
}
