//! The control channel: while `sunspace serve` runs it holds the store, so other `sunspace` commands send their
//! requests to it over a Unix socket in the data directory (`control.sock`, mode 0600, in a 0700 directory; the
//! server also checks that the connecting process belongs to the directory's owner).
//!
//! One JSON object per line. The client sends [`ToServe`] messages; the server answers each with one
//! [`FromServe`]. A [`ToServe::Request`] carries a [`sunspace_api::Request`] — the same value the app's window and
//! the CLI without `serve` hand to the service — and its answer is the service's `Response` or its refusal. An
//! invitation or a join is a conversation: the words, then the client's [`ToServe::Confirm`], then the outcome.
//!
//! ```text
//! → {"message":"request","request":{"request":"append-minutes","group":null,"meeting":"last","text":"Rent."}}
//! ← {"message":"answer","answer":{"Ok":{"outcome":"changed","heads":["…"],"message":"Added to the minutes."}}}
//! ```

use crate::render::prefix;
use std::io::{BufRead, BufReader, IsTerminal, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use serde::{Deserialize, Serialize};
use sunspace_api::{ApiError, Request, Response};

use crate::args::InviteOptions;

/// The socket's file name in the data directory.
pub(crate) const SOCKET: &str = "control.sock";

pub(crate) fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

/// A message to the serving process.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "message", rename_all = "kebab-case")]
pub(crate) enum ToServe {
    /// One request to the application service.
    Request { request: Request },
    /// Open an invitation (the conversation follows).
    Invite { group: Option<String>, member: Option<String>, minutes: u64, device: bool },
    /// Join with a code (the conversation follows).
    Join { code: String, peers: Vec<String> },
    /// The person's answer to "do the words match?".
    Confirm { matched: bool },
}

/// An answer from the serving process.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "message", rename_all = "kebab-case")]
pub(crate) enum FromServe {
    /// The service's answer to a request.
    Answer { answer: Result<Response, ApiError> },
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

    fn send(&mut self, message: &ToServe) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        self.writer.write_all(&line).context("lost the connection to `sunspace serve`")
    }

    fn receive(&mut self) -> anyhow::Result<FromServe> {
        let mut line = String::new();
        let read = self.reader.read_line(&mut line).context("lost the connection to `sunspace serve`")?;
        if read == 0 {
            bail!("`sunspace serve` stopped before answering");
        }
        serde_json::from_str(&line).context("`sunspace serve` answered something this version cannot read")
    }

    /// Sends one request to the service inside `serve` and returns its answer.
    pub(crate) fn ask(&mut self, request: Request) -> anyhow::Result<Result<Response, ApiError>> {
        self.send(&ToServe::Request { request })?;
        match self.receive()? {
            FromServe::Answer { answer } => Ok(answer),
            other => bail!("`sunspace serve` answered out of turn: {other:?}"),
        }
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
    client.send(&ToServe::Invite { group, member: options.member, minutes: options.minutes, device })?;
    loop {
        match client.receive()? {
            FromServe::Invitation { code, qr_text, minutes } => {
                if std::io::stdout().is_terminal() {
                    print_qr(&qr_text);
                }
                let whose = if device { "your other device" } else { "the newcomer's device" };
                println!("Scan this QR code with {whose}, or type this code there:\n\n    {code}\n");
                println!("On that device: sunspace join {code}");
                println!("Full invitation (with this device's addresses): {qr_text}");
                println!("It works once, for the next {minutes} minutes. Waiting for {whose}…");
            }
            FromServe::Words { words, who } => {
                println!("\n{who} connected. Check together, aloud, that their screen shows the same words:\n");
                println!("    {words}\n");
                let matched = ask("Do the words match?", options.confirm)?;
                client.send(&ToServe::Confirm { matched })?;
                if !matched {
                    println!("Nothing was added.");
                }
            }
            FromServe::Admitted { member } => {
                println!(
                    "Done: the device is in the group (member {}). The history is on its way to it.",
                    &member[..8.min(member.len())]
                );
                return Ok(());
            }
            FromServe::Failed { reason } => bail!("{reason}"),
            FromServe::Answer { answer: Err(error) } => return Err(error.into()),
            other => bail!("`sunspace serve` answered out of turn: {other:?}"),
        }
    }
}

/// `join`.
pub(crate) fn join(dir: &Path, code: &str, peers: Vec<String>, confirm: bool) -> anyhow::Result<()> {
    let mut client = Client::require(dir)?;
    client.send(&ToServe::Join { code: code.to_owned(), peers })?;
    println!("Looking for the inviting device…");
    loop {
        match client.receive()? {
            FromServe::Words { words, who } => {
                println!("\nFound {who}. Check together, aloud, that their screen shows the same words:\n");
                println!("    {words}\n");
                let matched = ask("Do the words match?", confirm)?;
                client.send(&ToServe::Confirm { matched })?;
            }
            FromServe::Joined { group_name } => {
                println!("You are in \"{group_name}\". Its records are on this device now, encrypted.");
                return Ok(());
            }
            FromServe::Failed { reason } => bail!("{reason}"),
            FromServe::Answer { answer: Err(error) } => return Err(error.into()),
            other => bail!("`sunspace serve` answered out of turn: {other:?}"),
        }
    }
}

/// `peer add`.
pub(crate) fn peer_add(dir: &Path, address: &str) -> anyhow::Result<()> {
    let mut client = Client::require(dir)?;
    let response = client.ask(Request::AddPeer { address: address.to_owned() })??;
    println!("{}", response.message().unwrap_or_default());
    Ok(())
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
    let Response::Status { status } = client.ask(Request::Status)?? else {
        bail!("`sunspace serve` answered out of turn")
    };
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
            let pending = sunspace_api::words::peer_state(peer.connected, peer.to_send);
            let reach = sunspace_api::words::peer_reach(peer);
            println!("  {} (device {}): {seen}, {synced}, {pending}", peer.name, prefix(&peer.device));
            println!("      {reach}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_socket_lines_match_the_published_example() {
        let protocol = include_str!("../../../docs/protocol.md");
        let example = protocol
            .split("<!-- control-example-begin -->")
            .nth(1)
            .and_then(|rest| rest.split("<!-- control-example-end -->").next())
            .expect("docs/protocol.md has the control socket example");
        let lines: Vec<&str> = example.lines().filter(|l| l.starts_with('{')).collect();
        assert_eq!(lines.len(), 4);
        for (n, line) in lines.iter().enumerate() {
            // Each line reads as the message it stands for and writes back the same JSON.
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let again = if n % 2 == 0 {
                serde_json::to_value(serde_json::from_str::<ToServe>(line).unwrap()).unwrap()
            } else {
                serde_json::to_value(serde_json::from_str::<FromServe>(line).unwrap()).unwrap()
            };
            assert_eq!(again, value, "{line}");
        }
        let Ok(ToServe::Request { request: Request::AppendMinutes { meeting, .. } }) = serde_json::from_str(lines[0])
        else {
            panic!("the first line is an append-minutes request")
        };
        assert_eq!(meeting, "last");
    }
}
