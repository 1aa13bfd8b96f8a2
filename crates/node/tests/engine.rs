//! Two engines on loopback: an invitation, the handshake with both confirmations, the history, and an edit
//! pushed at once. Real libp2p nodes on 127.0.0.1 (mDNS off).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{day, device};
use sunspace_log::GroupId;
use sunspace_membership::invite::InviteKind;
use sunspace_model::edit::Edit;
use sunspace_model::NewMeeting;
use sunspace_node::engine::{start, EngineOptions, Invite, InviteEvent, InviteRequest, JoinEvent};
use sunspace_node::{GroupSnapshot, NodeCommand, NodeEvent, NodeHandle, NodeOutcome};

/// Creates a group "Tenants" on `handle`'s device.
async fn found_group(handle: &NodeHandle) -> GroupId {
    let command = NodeCommand::CreateGroup { name: "Tenants".into(), display_name: None, today: day() };
    let NodeOutcome::GroupCreated(group) = handle.execute(command).await.unwrap() else { panic!("no group") };
    GroupId::from_hex(&group.id).unwrap()
}

/// Adds a meeting called `title`.
async fn add_meeting(handle: &NodeHandle, group: GroupId, title: &str) {
    let edit = Edit::AddMeeting(NewMeeting::new(day(), title));
    handle.execute(NodeCommand::Edit { group, edit }).await.unwrap();
}

/// How many devices the group's signed membership holds, on `handle`'s device.
async fn devices(handle: &NodeHandle, group: GroupId) -> usize {
    handle.read(group).await.unwrap().devices.len()
}

/// Opens an invitation for a new member, once `handle`'s device listens (so the QR text has addresses).
async fn invite_member(handle: &NodeHandle, group: GroupId) -> Invite {
    listening(handle).await;
    let request =
        InviteRequest { group, kind: InviteKind::Member, existing_member: None, ttl: Duration::from_secs(60) };
    handle.invite(request).await.unwrap()
}

async fn wait_for(handle: &NodeHandle, what: &str, group: GroupId, check: impl Fn(&GroupSnapshot) -> bool) {
    wait_for_within(handle, what, group, Duration::from_secs(10), check).await;
}

async fn wait_for_within(
    handle: &NodeHandle,
    what: &str,
    group: GroupId,
    limit: Duration,
    check: impl Fn(&GroupSnapshot) -> bool,
) {
    for _ in 0..limit.as_millis() / 50 {
        if handle.read(group).await.is_ok_and(|snapshot| check(&snapshot)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn listening(handle: &NodeHandle) {
    for _ in 0..100 {
        if !handle.status().await.unwrap().listening.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_invited_in_person_gets_the_history_and_later_edits_at_once() {
    let ana = start(device("Ana"), EngineOptions::loopback()).await.unwrap();
    let bea = start(device("Bea"), EngineOptions::loopback()).await.unwrap();
    let group = found_group(&ana).await;
    add_meeting(&ana, group, "First meeting").await;
    let mut invite = invite_member(&ana, group).await;
    assert!(invite.qr_text.contains("/ip4/127.0.0.1/"));

    let mut joining = bea.join(&invite.qr_text, Vec::new()).await.unwrap();
    let JoinEvent::Words { words: bea_words, group_name, inviter_name } = joining.events.recv().await.unwrap() else {
        panic!("expected words")
    };
    assert_eq!((group_name.as_str(), inviter_name.as_str()), ("Tenants", "Ana"));
    let InviteEvent::Words { words: ana_words, name, .. } = invite.events.recv().await.unwrap() else {
        panic!("expected words")
    };
    assert_eq!(name, "Bea");
    assert_eq!(ana_words, bea_words, "both devices show the same words");
    joining.confirm.send(true).unwrap();
    ana.confirm_invite(invite.tag, true).await.unwrap();
    assert!(matches!(invite.events.recv().await.unwrap(), InviteEvent::Admitted { .. }));
    assert!(matches!(joining.events.recv().await.unwrap(), JoinEvent::Joined { .. }));

    wait_for(&bea, "the history", group, |g| g.view.meetings.len() == 1).await;

    // An edit on Bea's device, made right after joining, reaches Ana's at once: well before the next
    // anti-entropy round (15 s), which would otherwise be the first time Bea learns where Ana stands.
    add_meeting(&bea, group, "Bea's meeting").await;
    wait_for_within(&ana, "Bea's edit", group, Duration::from_secs(5), |g| g.view.meetings.len() == 2).await;

    // An edit on Ana's device reaches Bea's without any further command.
    let mut events = bea.subscribe();
    add_meeting(&ana, group, "Second meeting").await;
    wait_for(&bea, "the pushed edit", group, |g| g.view.meetings.len() == 3).await;
    let mut saw_remote_change = false;
    while let Ok(event) = events.try_recv() {
        saw_remote_change |= matches!(event, NodeEvent::Changed { origin: sunspace_node::engine::Origin::Remote, .. });
    }
    assert!(saw_remote_change);

    // Bea's device dialed Ana's, on loopback: Ana's is in reach on this network, and Bea's device remembers
    // where it got through (for its next start).
    let status = bea.status().await.unwrap();
    let ana_there = status.groups.iter().flat_map(|g| &g.peers).find(|p| p.name == "Ana").unwrap();
    assert_eq!(ana_there.path, Some(sunspace_node::reach::Path::Lan));
    assert!(ana_there.last_reached.is_some(), "{ana_there:?}");

    // The code cannot be used again.
    let mut again =
        start(device("Cal"), EngineOptions::loopback()).await.unwrap().join(&invite.qr_text, Vec::new()).await.unwrap();
    let JoinEvent::Failed { reason } = again.events.recv().await.unwrap() else { panic!("a used code must fail") };
    assert!(reason.contains("nothing was added"), "{reason}");
    assert_eq!(devices(&ana, group).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_that_do_not_match_add_nobody() {
    let ana = start(device("Ana"), EngineOptions::loopback()).await.unwrap();
    let bea = start(device("Bea"), EngineOptions::loopback()).await.unwrap();
    let group = found_group(&ana).await;
    let mut invite = invite_member(&ana, group).await;
    let mut joining = bea.join(&invite.qr_text, Vec::new()).await.unwrap();
    assert!(matches!(joining.events.recv().await.unwrap(), JoinEvent::Words { .. }));
    assert!(matches!(invite.events.recv().await.unwrap(), InviteEvent::Words { .. }));
    ana.confirm_invite(invite.tag, false).await.unwrap();
    joining.confirm.send(true).unwrap();
    let InviteEvent::Failed { reason } = invite.events.recv().await.unwrap() else { panic!("expected failure") };
    assert!(reason.contains("nothing was added"), "{reason}");
    let JoinEvent::Failed { reason } = joining.events.recv().await.unwrap() else { panic!("expected failure") };
    assert!(reason.contains("nothing was added"), "{reason}");
    assert_eq!(devices(&ana, group).await, 1);
    let NodeOutcome::Groups { groups, .. } = bea.execute(NodeCommand::Groups).await.unwrap() else { panic!() };
    assert!(groups.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_code_is_refused_before_anything_is_sent() {
    let bea = start(device("Bea"), EngineOptions::loopback()).await.unwrap();
    let error = bea.join("ABC-DEF-GHJ-KMN-PQR-STV-WXY", Vec::new()).await.unwrap_err();
    assert!(error.to_string().contains("mistyped") || error.to_string().contains("does not check out"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_who_learned_the_tag_learns_no_name_and_cannot_take_the_invitation() {
    use sunspace_membership::invite::{Invitation, JoinAnswer, JoinRequest};
    let ana = start(device("Ana"), EngineOptions::loopback()).await.unwrap();
    let bea = start(device("Bea"), EngineOptions::loopback()).await.unwrap();
    let eve = start(device("Eve"), EngineOptions::loopback()).await.unwrap();
    let group = found_group(&ana).await;
    let invite = invite_member(&ana, group).await;
    let invitation = Invitation::parse(&invite.qr_text).unwrap();
    let addresses = invitation.addresses.clone();
    // Eve knows the tag (she answered Bea's mDNS query and saw Bea's hello), not the secret: she relays Bea's
    // hello proof, and tries one of her own making.
    let bea_device = bea.device();
    for hello in [invitation.hello_proof(&bea_device), [7; 32]] {
        let request =
            JoinRequest::Hello { tag: invitation.tag(), hello, commitment: [1; 32], agreement: [2; 32], via_qr: false };
        let answer = JoinAnswer::decode(&eve.forge_join_request(&addresses, request.encode()).await.unwrap()).unwrap();
        let JoinAnswer::Refused { reason } = answer else { panic!("a stranger must be refused, got {answer:?}") };
        assert!(!reason.contains("Tenants") && !reason.contains("Ana"), "{reason}");
    }
    // The invitation is still Bea's to use.
    let mut joining = bea.join(&invite.qr_text, Vec::new()).await.unwrap();
    let JoinEvent::Words { group_name, .. } = joining.events.recv().await.unwrap() else { panic!("expected words") };
    assert_eq!(group_name, "Tenants");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_gets_a_long_history_through_the_checkpoint_over_the_network() {
    // Two hundred meetings with minutes: Ana's device has compacted most of its entries into a checkpoint.
    let ana_vault = device("Ana");
    let mut tenants = ana_vault.create_group("Tenants", day()).unwrap();
    for m in 0..200 {
        tenants
            .edit(|doc| {
                let id = doc.add_meeting(NewMeeting::new(day(), &format!("Meeting {m}")))?;
                doc.append_minutes(&id, &format!("minutes of meeting {m}; ").repeat(40))
            })
            .unwrap();
        tenants.persist_pending().unwrap();
    }
    let group = tenants.id();
    assert!(tenants.read_entries(ana_vault.device_id(), 1, 1).unwrap().is_empty(), "the first entry was dropped");
    drop(tenants);
    let ana = start(ana_vault, EngineOptions::loopback()).await.unwrap();
    let bea = start(device("Bea"), EngineOptions::loopback()).await.unwrap();
    let mut invite = invite_member(&ana, group).await;
    let mut joining = bea.join(&invite.qr_text, Vec::new()).await.unwrap();
    assert!(matches!(joining.events.recv().await.unwrap(), JoinEvent::Words { .. }));
    assert!(matches!(invite.events.recv().await.unwrap(), InviteEvent::Words { .. }));
    joining.confirm.send(true).unwrap();
    ana.confirm_invite(invite.tag, true).await.unwrap();
    assert!(matches!(joining.events.recv().await.unwrap(), JoinEvent::Joined { .. }));
    wait_for(&bea, "the whole history", group, |g| g.view.meetings.len() == 200).await;
    // And Bea's edit, written after the checkpoint's frontier, reaches Ana as any other.
    add_meeting(&bea, group, "Bea's meeting").await;
    wait_for(&ana, "Bea's edit", group, |g| g.view.meetings.len() == 201).await;
}
