//! Real libp2p nodes on 127.0.0.1 (mDNS off): member devices exchange sync messages over TCP and QUIC; a stranger
//! is refused after the handshake and nothing it sends reaches the engine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{next_message, node, Node};
use sunspace_net::{Multiaddr, NetError, NetEvent, MAX_MESSAGE_LEN};
use tokio::time::timeout;

/// The inviter admits the newcomer, whose connection came in through the open door: it is announced as connected
/// (again) once the allow-list has taken it.
async fn admit_and_see_it_announced(inviter: &mut Node, newcomer: &Node) {
    inviter.net.allow(newcomer.device).await.unwrap();
    let announced = common::next(&mut inviter.events, |event| match event {
        NetEvent::Connected(device) => Some(device),
        _ => None,
    })
    .await;
    assert_eq!(announced, newcomer.device);
}

async fn introduce(a: &Node, b: &Node, b_address: &Multiaddr) {
    a.net.allow(b.device).await.unwrap();
    b.net.allow(a.device).await.unwrap();
    a.net.add_address(b.device, b_address.clone()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_devices_exchange_sync_messages_over_tcp() {
    let mut a = node().await;
    let mut b = node().await;
    introduce(&a, &b, &b.tcp).await;
    a.net.send(b.device, b"heads from a".to_vec()).await.unwrap();
    assert_eq!(next_message(&mut b.events).await, (a.device, b"heads from a".to_vec()));
    // The connection is up both ways now: b answers without knowing an address of a.
    b.net.send(a.device, b"entries from b".to_vec()).await.unwrap();
    assert_eq!(next_message(&mut a.events).await, (b.device, b"entries from b".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_devices_exchange_sync_messages_over_quic() {
    let a = node().await;
    let mut b = node().await;
    introduce(&a, &b, &b.quic).await;
    a.net.send(b.device, b"over quic".to_vec()).await.unwrap();
    assert_eq!(next_message(&mut b.events).await, (a.device, b"over quic".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_up_to_the_limit_arrive_whole_and_larger_ones_are_refused() {
    let a = node().await;
    let mut b = node().await;
    introduce(&a, &b, &b.tcp).await;
    let big: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    a.net.send(b.device, big.clone()).await.unwrap();
    assert_eq!(next_message(&mut b.events).await, (a.device, big));
    assert_eq!(a.net.send(b.device, vec![0; MAX_MESSAGE_LEN + 1]).await, Err(NetError::TooLarge));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_is_refused_and_nothing_it_sends_reaches_the_engine() {
    let mut member = node().await;
    let friend = node().await;
    let stranger = node().await;
    member.net.allow(friend.device).await.unwrap();
    // The stranger allows the member (it wants to talk) and knows its address; the member does not allow it.
    stranger.net.allow(member.device).await.unwrap();
    stranger.net.add_address(member.device, member.tcp.clone()).await.unwrap();
    let sent = stranger.net.send(member.device, b"which groups do you have?".to_vec()).await;
    assert!(matches!(sent, Err(NetError::Delivery(_))), "{sent:?}");
    // The member saw a refused connection, and no message.
    let mut refused = false;
    while let Ok(Some(event)) = timeout(Duration::from_secs(2), member.events.recv()).await {
        match event {
            NetEvent::Refused(peer) => refused |= sunspace_net::device_of_peer(&peer) == Some(stranger.device),
            NetEvent::Received { .. } => panic!("a stranger's message reached the engine"),
            NetEvent::Connected(device) => assert_ne!(device, stranger.device, "the stranger got a connection"),
            _ => {}
        }
    }
    assert!(refused, "the member did not report the refused connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_to_a_device_that_is_not_allowed_is_refused_locally() {
    let a = node().await;
    let b = node().await;
    a.net.add_address(b.device, b.tcp.clone()).await.unwrap();
    assert_eq!(a.net.send(b.device, b"x".to_vec()).await, Err(NetError::NotAllowed));
    // After a device is disallowed again, sending to it is refused too.
    a.net.allow(b.device).await.unwrap();
    a.net.disallow(b.device).await.unwrap();
    assert_eq!(a.net.send(b.device, b"x".to_vec()).await, Err(NetError::NotAllowed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_joined_through_the_open_door_is_reported_connected_once_it_is_a_member() {
    let mut inviter = node().await;
    let newcomer = node().await;
    inviter.net.set_door(true).await.unwrap();
    newcomer.net.set_door(true).await.unwrap();
    newcomer.net.dial(inviter.tcp.clone()).await.unwrap();
    // Its connection was announced while it was a stranger, when the engine ignores it (drain that)...
    let _ = common::next(&mut inviter.events, |event| match event {
        NetEvent::Connected(device) if device == newcomer.device => Some(()),
        _ => None,
    })
    .await;
    while let Ok(Some(_)) = timeout(Duration::from_millis(300), inviter.events.recv()).await {}
    // ...so once admitted, its open connection is announced again, and the engine syncs over it at once.
    admit_and_see_it_announced(&mut inviter, &newcomer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_at_the_open_door_cannot_open_a_sync_stream_until_it_is_admitted() {
    let mut inviter = node().await;
    let newcomer = node().await;
    inviter.net.set_door(true).await.unwrap();
    newcomer.net.set_door(true).await.unwrap();
    // The newcomer (or anyone on the network while the door is open) allows the inviter and sends a large sync
    // frame over the connection the door let in.
    newcomer.net.allow(inviter.device).await.unwrap();
    newcomer.net.add_address(inviter.device, inviter.tcp.clone()).await.unwrap();
    let large = vec![7u8; 4 * 1024 * 1024];
    let sent = newcomer.net.send(inviter.device, large.clone()).await;
    // Refused at protocol negotiation: the inviter never read the frame.
    match &sent {
        Err(NetError::Delivery(why)) => assert!(why.contains("none of the requested protocols"), "{why}"),
        other => panic!("a stranger's sync frame was taken: {other:?}"),
    }
    while let Ok(Some(event)) = timeout(Duration::from_millis(300), inviter.events.recv()).await {
        assert!(!matches!(event, NetEvent::Received { .. }), "a stranger's sync message reached the engine");
    }
    // Once admitted (the inviter announces the open connection when it has taken the change), the same
    // device's next sync stream is taken at once.
    admit_and_see_it_announced(&mut inviter, &newcomer).await;
    newcomer.net.send(inviter.device, b"hello as a member".to_vec()).await.unwrap();
    let (from, message) = next_message(&mut inviter.events).await;
    assert_eq!((from, message.as_slice()), (newcomer.device, &b"hello as a member"[..]));
}
