//! A member-run relay on 127.0.0.1 (real swarms, mDNS off): members listen through it and reach each other
//! through it, the owner alone decides who may use it, a stranger gets no reservation, a device dropped from the
//! owner's list loses its reservation, and a relayed connection between members becomes direct by hole punching
//! where the network allows (on loopback it always does).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{next, node, node_with, Node};
use sunspace_net::{Multiaddr, NetError, NetEvent, Protocol, RelayClients};
use tokio::time::timeout;

fn is_circuit(address: &Multiaddr) -> bool {
    address.iter().any(|p| p == Protocol::P2pCircuit)
}

/// Listens through `relay` and returns the circuit address, once the relay granted the reservation.
async fn listen_through(member: &mut Node, relay: &Node) -> Multiaddr {
    member.net.use_relay(relay.device, vec![relay.tcp.clone()]).await.unwrap();
    next(&mut member.events, |event| match event {
        NetEvent::Listening(address) if is_circuit(&address) => Some(address),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_reach_each_other_through_their_relay_and_hole_punching_makes_it_direct() {
    let mut a = node().await;
    let mut relay = node_with(|config| sunspace_net::NetConfig { relay_owner: Some(a.device), ..config }).await;
    let mut b = node().await;
    a.net.allow(b.device).await.unwrap();
    b.net.allow(a.device).await.unwrap();

    // The owner may use the relay at once, and tells it who else may.
    let a_circuit = listen_through(&mut a, &relay).await;
    assert!(a_circuit
        .to_string()
        .ends_with(&format!("/p2p-circuit/p2p/{}", sunspace_net::peer_of_device(&a.device).unwrap())));
    let list = RelayClients { sequence: 1, devices: vec![a.device, b.device] };
    a.net.send_relay_clients(relay.device, &list).await.unwrap();
    let served = next(&mut relay.events, |event| match event {
        NetEvent::RelayClients(devices) => Some(devices),
        _ => None,
    })
    .await;
    assert_eq!(served.len(), 2);

    // B listens through the relay too; A knows B only by B's circuit address (no direct address given).
    let b_circuit = listen_through(&mut b, &relay).await;
    a.net.add_address(b.device, b_circuit).await.unwrap();
    a.net.send(b.device, b"heads through the relay".to_vec()).await.unwrap();

    // DCUtR upgrades the relayed connection (loopback has no NAT in the way); either side may report it, and it
    // may do so before or after the message arrives, so both are watched for together.
    let (mut received, mut punched) = (None, None);
    timeout(common::WAIT, async {
        while received.is_none() || punched.is_none() {
            let (side, event) = tokio::select! {
                event = a.events.recv() => ('a', event.expect("events")),
                event = b.events.recv() => ('b', event.expect("events")),
            };
            match event {
                NetEvent::Received { from, message } if side == 'b' => received = Some((from, message)),
                NetEvent::HolePunched(device) => punched = Some(device),
                _ => {}
            }
        }
    })
    .await
    .expect("the message and the hole punch in time");
    let (from, message) = received.unwrap();
    assert_eq!((from, message.as_slice()), (a.device, &b"heads through the relay"[..]));
    let punched = punched.unwrap();
    assert!(punched == b.device || punched == a.device);

    // The relay relays; it never sees a sync message (it is not a member of anything).
    while let Ok(Some(event)) = timeout(Duration::from_millis(200), relay.events.recv()).await {
        assert!(!matches!(event, NetEvent::Received { .. }), "the relay received a sync message");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_lists_who_may_use_the_relay_and_a_dropped_device_loses_its_reservation() {
    let mut owner = node().await;
    let mut relay = node_with(|config| sunspace_net::NetConfig { relay_owner: Some(owner.device), ..config }).await;
    let mut member = node().await;
    let mut stranger = node().await;
    listen_through(&mut owner, &relay).await;

    // A stranger is closed after the handshake: no reservation, no circuit.
    stranger.net.use_relay(relay.device, vec![relay.tcp.clone()]).await.unwrap();
    let refused = next(&mut relay.events, |event| match event {
        NetEvent::Refused(peer) => Some(peer),
        _ => None,
    })
    .await;
    assert_eq!(Some(refused), sunspace_net::peer_of_device(&stranger.device));
    while let Ok(Some(event)) = timeout(Duration::from_millis(500), stranger.events.recv()).await {
        assert!(!matches!(event, NetEvent::Listening(ref a) if is_circuit(a)), "a stranger got a reservation");
    }

    owner
        .net
        .send_relay_clients(relay.device, &RelayClients { sequence: 5, devices: vec![member.device] })
        .await
        .unwrap();
    let circuit = listen_through(&mut member, &relay).await;

    // A listed device that is not the owner cannot change the list.
    let takeover = RelayClients { sequence: 99, devices: vec![member.device, stranger.device] };
    assert_eq!(member.net.send_relay_clients(relay.device, &takeover).await, Err(NetError::RelayRefused));
    // Nor can an old list, delivered late, undo a newer one.
    let stale = RelayClients { sequence: 4, devices: vec![member.device, stranger.device] };
    assert_eq!(owner.net.send_relay_clients(relay.device, &stale).await, Err(NetError::RelayRefused));

    // The owner drops the member (say, after a removal): its reservation ends at once.
    owner.net.send_relay_clients(relay.device, &RelayClients { sequence: 6, devices: vec![] }).await.unwrap();
    let gone = next(&mut member.events, |event| match event {
        NetEvent::Unlistened(address) if is_circuit(&address) => Some(address),
        _ => None,
    })
    .await;
    assert_eq!(gone, circuit);
    // And asking again is refused.
    member.net.use_relay(relay.device, vec![relay.tcp.clone()]).await.unwrap();
    while let Ok(Some(event)) = timeout(Duration::from_millis(500), member.events.recv()).await {
        assert!(!matches!(event, NetEvent::Listening(ref a) if is_circuit(a)), "a dropped device got a reservation");
    }
}
