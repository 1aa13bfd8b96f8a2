//! Helpers shared by the network tests: real swarms on 127.0.0.1.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sunspace_crypto::{DeviceId, DeviceKeys, Secret32};
use sunspace_net::{Multiaddr, NetConfig, NetEvent, NetHandle};
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

pub(crate) const WAIT: Duration = Duration::from_secs(20);

pub(crate) struct Node {
    pub net: NetHandle,
    pub events: Receiver<NetEvent>,
    pub device: DeviceId,
    pub tcp: Multiaddr,
    pub quic: Multiaddr,
}

/// A device on loopback, once it listens on TCP and QUIC.
pub(crate) async fn node() -> Node {
    node_with(|config| config).await
}

/// A device on loopback with a changed configuration, once it listens on TCP and QUIC.
pub(crate) async fn node_with(change: impl FnOnce(NetConfig) -> NetConfig) -> Node {
    let seed = Secret32::random();
    let device = DeviceKeys::from_seeds(&seed, &Secret32::random()).device_id();
    let (net, mut events) = sunspace_net::start(change(NetConfig::loopback(seed))).unwrap();
    assert_eq!(net.local_device(), device);
    let (mut tcp, mut quic) = (None, None);
    while tcp.is_none() || quic.is_none() {
        match timeout(WAIT, events.recv()).await.expect("listening").expect("events") {
            NetEvent::Listening(address) if address.to_string().contains("/tcp/") => tcp = Some(address),
            NetEvent::Listening(address) if address.to_string().contains("/quic-v1") => quic = Some(address),
            _ => {}
        }
    }
    Node { net, events, device, tcp: tcp.unwrap(), quic: quic.unwrap() }
}

/// Waits for the first event `pick` accepts, skipping others.
pub(crate) async fn next<T>(events: &mut Receiver<NetEvent>, mut pick: impl FnMut(NetEvent) -> Option<T>) -> T {
    timeout(WAIT, async {
        loop {
            if let Some(found) = pick(events.recv().await.expect("events")) {
                return found;
            }
        }
    })
    .await
    .expect("the expected network event in time")
}

/// The next `Received` event, skipping connection events.
pub(crate) async fn next_message(events: &mut Receiver<NetEvent>) -> (DeviceId, Vec<u8>) {
    next(events, |event| match event {
        NetEvent::Received { from, message } => Some((from, message)),
        _ => None,
    })
    .await
}
