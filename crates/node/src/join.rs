//! The joining side of an in-person invitation, as the engine runs it: find the inviting device (the addresses in
//! the code, or the local network), then the handshake's messages — made and checked by the pure
//! [`crate::handshake::Joiner`] — and, once both people said the words match, the group taken in by the engine.

use std::time::{Duration, Instant};

use sunspace_crypto::random_array;
use sunspace_log::GroupId;
use sunspace_membership::invite::{Invitation, JoinAnswer};
use sunspace_net::{device_of_address, Multiaddr};
use tokio::sync::{mpsc, oneshot};

use crate::engine::{Command, JoinEvent, Joining, NodeHandle, DEFAULT_INVITATION_TTL};
use crate::handshake::Joiner;
use crate::NodeError;

/// How long a joining device waits for each candidate's answer to its hello: an inviter answers at once.
const HELLO_WAIT: Duration = Duration::from_secs(10);

/// Once a device on the local network answers, how much longer a joining device keeps looking for others.
const DISCOVERY_MORE: Duration = Duration::from_secs(2);
/// How long a joining device looks for the inviter on the local network when the code has no address.
const DISCOVERY_WAIT: Duration = Duration::from_secs(20);

impl NodeHandle {
    /// Joins a group with an invitation code (typed, or the QR text with addresses). `peers` are extra
    /// addresses to try; without any, the inviter is looked for on the local network.
    pub async fn join(&self, code: &str, peers: Vec<String>) -> Result<Joining, NodeError> {
        let invitation = Invitation::parse(code).map_err(|e| NodeError::Refused(e.to_string()))?;
        let mut addresses = Vec::new();
        for text in invitation.addresses.iter().chain(peers.iter()) {
            let address: Multiaddr =
                text.parse().map_err(|_| NodeError::Refused(format!("\"{text}\" is not a peer address")))?;
            addresses.push(address);
        }
        let (events_tx, events) = mpsc::channel(8);
        let (confirm, confirmed) = oneshot::channel();
        let handle = self.clone();
        tokio::spawn(async move {
            handle.command(Command::Door(true)).await.ok();
            let outcome = join_flow(&handle, &invitation, addresses, &events_tx, confirmed).await;
            handle.command(Command::Door(false)).await.ok();
            let event = match outcome {
                Ok((group, group_name)) => JoinEvent::Joined { group: group.to_hex(), group_name },
                Err(reason) => JoinEvent::Failed { reason },
            };
            let _ = events_tx.send(event).await;
        });
        Ok(Joining { events, confirm })
    }
}

fn join_error(error: impl std::fmt::Display) -> String {
    format!(
        "could not reach the inviting device: the invitation may have expired or been used, or the device is not \
         reachable from here ({error}); nothing was added"
    )
}

/// The joining side of the handshake (see `sunspace_membership::invite`).
async fn join_flow(
    handle: &NodeHandle,
    invitation: &Invitation,
    addresses: Vec<Multiaddr>,
    events: &mpsc::Sender<JoinEvent>,
    confirmed: oneshot::Receiver<bool>,
) -> Result<(GroupId, String), String> {
    let me = &handle.identity;
    let mut candidates = Vec::new();
    for address in addresses {
        let Some(device) = device_of_address(&address) else {
            return Err(format!("the address {address} does not name a device (it needs a /p2p/ part)"));
        };
        handle.net.add_address(device, address).await.map_err(join_error)?;
        candidates.push(device);
    }
    if candidates.is_empty() {
        // Look on the local network (mDNS) for a while, and once someone answers, a little longer: the first to
        // answer may be any device on the network, not the inviter.
        let deadline = Instant::now() + DISCOVERY_WAIT;
        let mut first_seen: Option<Instant> = None;
        while Instant::now() < deadline && first_seen.is_none_or(|at| at.elapsed() < DISCOVERY_MORE) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (reply, done) = oneshot::channel();
            handle.command(Command::Candidates(reply)).await.map_err(|e| e.to_string())?;
            candidates = done.await.unwrap_or_default();
            if !candidates.is_empty() && first_seen.is_none() {
                first_seen = Some(Instant::now());
            }
        }
    }
    candidates.sort();
    candidates.dedup();
    let joining = Joiner::new(invitation.clone(), me.device, me.agreement, me.name.clone(), random_array());
    let hello = joining.hello();
    // Every candidate is asked at once, each with a short limit: a device on the local network that answers
    // mDNS but not the handshake (or answers slowly on purpose) cannot hold the join up. The hello names no one;
    // only a device that proves it holds the secret is told the joiner's name, in the reveal.
    let mut asks: futures::stream::FuturesUnordered<_> = candidates
        .into_iter()
        .map(|candidate| {
            let net = handle.net.clone();
            let bytes = hello.encode();
            async move {
                let answer = tokio::time::timeout(HELLO_WAIT, net.join_request(candidate, bytes)).await;
                (candidate, answer)
            }
        })
        .collect();
    let mut found = None;
    let mut last_error = "no device on this network answered the invitation".to_owned();
    while let Some((candidate, answer)) = futures::StreamExt::next(&mut asks).await {
        match answer.map(|a| a.map(|bytes| JoinAnswer::decode(&bytes))) {
            Ok(Ok(Ok(answer))) => match joining.on_challenge(candidate, answer) {
                Ok(inviter) => {
                    found = Some(inviter);
                    break;
                }
                Err(reason) => last_error = reason,
            },
            Ok(Ok(Err(_))) => last_error = "a device answered but does not hold this invitation".into(),
            Ok(Err(error)) => last_error = join_error(error),
            Err(_) => last_error = join_error("no answer in time"),
        }
    }
    drop(asks);
    let inviter = found.ok_or(last_error)?;
    let words = match handle.net.join_request(inviter.device, joining.reveal().encode()).await {
        Ok(bytes) => match JoinAnswer::decode(&bytes) {
            Ok(answer) => joining.on_revealed(&inviter, answer)?,
            Err(_) => return Err("the inviting device answered out of turn".into()),
        },
        Err(error) => return Err(join_error(error)),
    };
    let group_name = inviter.group_name.clone();
    events
        .send(JoinEvent::Words { words, group_name: group_name.clone(), inviter_name: inviter.inviter_name.clone() })
        .await
        .map_err(|_| "stopped".to_owned())?;
    let matched =
        tokio::time::timeout(DEFAULT_INVITATION_TTL, confirmed).await.ok().and_then(Result::ok).unwrap_or(false);
    // Where this device listens goes with the yes, so the group can reach it even if the inviter restarts at once.
    let listening = match handle.status().await {
        Ok(status) => crate::engine::publishable(&status.listening),
        Err(_) => Vec::new(),
    };
    let addresses = listening.into_iter().take(sunspace_membership::invite::MAX_JOIN_ADDRESSES).collect();
    let answer = handle.net.join_request(inviter.device, joining.confirm(matched, addresses).encode()).await;
    if !matched {
        return Err(
            "you said the words did not match, so nothing was added; make a new invitation and try again".into()
        );
    }
    let (group, keys) = match answer {
        Ok(bytes) => match JoinAnswer::decode(&bytes) {
            Ok(answer) => Joiner::on_welcome(answer)?,
            Err(_) => return Err("the inviting device answered out of turn".into()),
        },
        Err(error) => return Err(join_error(error)),
    };
    let (reply, done) = oneshot::channel();
    handle
        .command(Command::Welcomed { group, keys, name: group_name.clone(), inviter: inviter.device, reply })
        .await
        .map_err(|e| e.to_string())?;
    done.await.map_err(|_| "stopped".to_owned())?.map_err(|e| e.to_string())?;
    Ok((group, group_name))
}
