//! `sunspace serve`: the engine and the network in the foreground, with a log line for everything that happens
//! between peers, and the control socket through which other `sunspace` commands reach the engine meanwhile.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use sunspace_api::{ApiError, Request, Response, Service};
use sunspace_membership::invite::InviteKind;
use sunspace_node::engine::{self, EngineOptions, InviteEvent, InviteRequest, JoinEvent};
use sunspace_node::{GroupId, NodeEvent};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};

use crate::args::ServeOptions;
use crate::context::unlock;
use crate::remote::{socket_path, FromServe, ToServe};

/// Longest request line accepted on the control socket (a `minutes set` with its text fits).
const MAX_REQUEST_LINE: u64 = 8 * 1024 * 1024;

pub(crate) fn serve(dir: &Path, options: ServeOptions) -> anyhow::Result<()> {
    let vault = unlock(dir)?;
    let mut engine_options = if options.loopback { EngineOptions::loopback() } else { EngineOptions::lan() };
    if options.no_mdns {
        engine_options.mdns = false;
    }
    if let Some(owner) = &options.owner {
        let owner = sunspace_crypto::DeviceId::from_hex(owner.trim()).ok_or_else(|| {
            anyhow::anyhow!("--owner needs the owner's full device id (64 characters, from `sunspace device show`)")
        })?;
        engine_options.relay_owner = Some(owner);
    }
    if !options.listen.is_empty() {
        engine_options.listen = options
            .listen
            .iter()
            .map(|a| a.parse().map_err(|_| anyhow::anyhow!("\"{a}\" is not a listening address")))
            .collect::<anyhow::Result<_>>()?;
    }
    let name = vault.owner_name().to_owned();
    let device = vault.device_id();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let handle = engine::start(vault, engine_options).await?;
        let mut events = handle.subscribe();
        let path = socket_path(dir);
        // We hold the store's lock, so no other `serve` runs here: a socket file left behind is stale.
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).with_context(|| format!("could not open {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let owner = std::fs::metadata(dir)?.uid();
        let service = Arc::new(Service::engine(handle.clone()));
        let groups = match service.handle(Request::Groups).await? {
            Response::Groups { groups, .. } => groups.into_iter().map(|g| g.name).collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        println!("Sunspace is serving as {name} (device {}). Press Ctrl-C to stop.", device.short());
        println!("Groups: {}", if groups.is_empty() { "none yet".to_owned() } else { groups.join(", ") });
        if let Some(owner) = &options.owner {
            println!(
                "Serving as a relay for the member devices that device {} lists; everyone else is refused. The relay holds no group keys: it carries sealed traffic only.",
                owner.get(..8).unwrap_or(owner)
            );
        }
        // Addresses the engine learned before this subscription began are printed from its status; later ones
        // arrive as events. Each is printed once.
        let mut printed = std::collections::HashSet::new();
        for address in handle.status().await?.listening {
            println!("Listening on {address}");
            printed.insert(address);
        }
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(NodeEvent::Listening { address }) => {
                        if printed.insert(address.clone()) {
                            println!("Listening on {address}");
                        }
                    }
                    Ok(event) => print_event(event),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => println!("({n} events not shown)"),
                    Err(_) => break,
                },
                connection = listener.accept() => {
                    if let Ok((stream, _)) = connection {
                        let allowed = stream.peer_cred().map(|c| c.uid() == owner).unwrap_or(false);
                        if allowed {
                            tokio::spawn(client_session(stream, service.clone()));
                        }
                    }
                }
                _ = tokio::signal::ctrl_c() => {
                    println!("Stopping.");
                    break;
                }
            }
        }
        let _ = std::fs::remove_file(&path);
        Ok::<(), anyhow::Error>(())
    })?;
    // The engine's tasks end with the runtime; the store is flushed after every write.
    Ok(())
}

fn print_event(event: NodeEvent) {
    let short = |hex: &str| hex.get(..8).unwrap_or(hex).to_owned();
    let line = match event {
        NodeEvent::PeerConnected { device } => format!("Peer {} connected", short(&device)),
        NodeEvent::PeerDisconnected { device } => format!("Peer {} disconnected", short(&device)),
        NodeEvent::StrangerRefused { peer } => format!("Refused a connection from {peer}: not a member device"),
        NodeEvent::Received { group, peer, accepted, rejected, waiting } => {
            let mut line = format!("Received {accepted} entries for group {} from {}", short(&group), short(&peer));
            if rejected > 0 {
                line.push_str(&format!("; REFUSED {rejected} invalid entries (not stored)"));
            }
            if waiting > 0 {
                line.push_str(&format!("; {waiting} wait for earlier ones"));
            }
            line
        }
        NodeEvent::Sent { group, peer, entries } => {
            format!("Sent {entries} entries for group {} to {}", short(&group), short(&peer))
        }
        NodeEvent::RelayClients { devices } => {
            format!("The owner updated the relay's list: it now serves {devices} member devices (and the owner)")
        }
        NodeEvent::Changed { .. } | NodeEvent::Listening { .. } => return,
    };
    println!("{line}");
}

async fn write_reply(writer: &mut OwnedWriteHalf, reply: &FromServe) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(reply)?;
    line.push(b'\n');
    writer.write_all(&line).await?;
    Ok(())
}

async fn read_message(reader: &mut tokio::io::Take<BufReader<OwnedReadHalf>>) -> anyhow::Result<Option<ToServe>> {
    reader.set_limit(MAX_REQUEST_LINE);
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(serde_json::from_str(&line)?))
}

async fn client_session(stream: UnixStream, service: Arc<Service>) {
    let (read, mut writer) = stream.into_split();
    let mut reader = BufReader::new(read).take(MAX_REQUEST_LINE);
    loop {
        match converse(&mut reader, &mut writer, &service).await {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                let _ = write_reply(&mut writer, &FromServe::Failed { reason: format!("{error:#}") }).await;
                break;
            }
        }
    }
}

async fn confirmation(reader: &mut tokio::io::Take<BufReader<OwnedReadHalf>>) -> bool {
    matches!(read_message(reader).await, Ok(Some(ToServe::Confirm { matched: true })))
}

/// Answers one message (and the conversation it opens); `false` once the client has gone.
async fn converse(
    reader: &mut tokio::io::Take<BufReader<OwnedReadHalf>>,
    writer: &mut OwnedWriteHalf,
    service: &Service,
) -> anyhow::Result<bool> {
    let Some(message) = read_message(reader).await? else { return Ok(false) };
    let handle = service.engine_handle().ok_or_else(|| anyhow::anyhow!("serve runs without its engine"))?;
    match message {
        ToServe::Request { request } => {
            let answer = service.handle(request).await;
            write_reply(writer, &FromServe::Answer { answer }).await?;
        }
        ToServe::Invite { group, member, minutes, device } => {
            // The group, and the recorded member the newcomer takes over (by name or id), resolved as any request.
            let resolved = async {
                let id = service.group_id(group.as_deref()).await?;
                let member = match member {
                    Some(wanted) => {
                        let Response::Group(page) = service.handle(Request::Group { group: Some(id.to_hex()) }).await?
                        else {
                            return Err(ApiError::new(sunspace_api::ErrorKind::NotFound, "That group is not here"));
                        };
                        Some(sunspace_api::resolve::member(&page.snapshot.view, &wanted)?)
                    }
                    None => None,
                };
                Ok::<_, ApiError>((id, member))
            };
            let (group, member): (GroupId, Option<String>) = resolved.await?;
            let kind = if device { InviteKind::Device } else { InviteKind::Member };
            let ttl = sunspace_node::engine::invitation_lifetime(Some(minutes));
            // What the person is told is what was opened, not what was asked for.
            let minutes = ttl.as_secs() / 60;
            let request = InviteRequest { group, kind, existing_member: member, ttl };
            let mut invite = handle.invite(request).await?;
            write_reply(
                writer,
                &FromServe::Invitation { code: invite.code.clone(), qr_text: invite.qr_text.clone(), minutes },
            )
            .await?;
            while let Some(event) = invite.events.recv().await {
                match event {
                    InviteEvent::Words { words, name, .. } => {
                        let who = sunspace_api::words::inviting_device(&name);
                        write_reply(writer, &FromServe::Words { words, who }).await?;
                        let matched = confirmation(reader).await;
                        handle.confirm_invite(invite.tag, matched).await?;
                    }
                    InviteEvent::Admitted { member } => {
                        write_reply(writer, &FromServe::Admitted { member }).await?;
                        break;
                    }
                    InviteEvent::Failed { reason } => {
                        write_reply(writer, &FromServe::Failed { reason }).await?;
                        break;
                    }
                }
            }
        }
        ToServe::Join { code, peers } => {
            let mut joining = handle.join(&code, peers).await?;
            let mut confirm = Some(joining.confirm);
            while let Some(event) = joining.events.recv().await {
                match event {
                    JoinEvent::Words { words, group_name, inviter_name } => {
                        let who = sunspace_api::words::invited_by(&inviter_name, &group_name);
                        write_reply(writer, &FromServe::Words { words, who }).await?;
                        let matched = confirmation(reader).await;
                        if let Some(confirm) = confirm.take() {
                            let _ = confirm.send(matched);
                        }
                    }
                    JoinEvent::Joined { group, group_name } => {
                        if let Some(id) = GroupId::from_hex(&group) {
                            handle.wait_for_history(id).await;
                        }
                        write_reply(writer, &FromServe::Joined { group_name }).await?;
                        break;
                    }
                    JoinEvent::Failed { reason } => {
                        write_reply(writer, &FromServe::Failed { reason }).await?;
                        break;
                    }
                }
            }
        }
        ToServe::Confirm { .. } => {
            write_reply(writer, &FromServe::Failed { reason: "nothing to confirm".into() }).await?;
        }
    }
    Ok(true)
}
