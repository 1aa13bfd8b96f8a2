//! A network node for discovery tests, run inside a network namespace: it listens on every interface with mDNS
//! on, allows one peer device, and when mDNS finds that peer it sends it a greeting. It exits 0 once it has both
//! delivered its greeting and received the peer's, printing `received <text>`; it exits 1 after 60 s otherwise.
//!
//! Usage: `sunspace-test-netnode SIGNING_SEED_HEX PEER_DEVICE_HEX`

use std::time::Duration;

use sunspace_crypto::{DeviceId, Secret32};
use sunspace_net::{NetConfig, NetEvent};

fn fail(message: &str) -> ! {
    println!("error: {message}");
    std::process::exit(1);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, seed, peer] = args.as_slice() else { fail("usage: sunspace-test-netnode SEED_HEX PEER_DEVICE_HEX") };
    let seed = hex::decode(seed).ok().and_then(|b| Secret32::from_slice(&b)).unwrap_or_else(|| fail("bad seed"));
    let peer = DeviceId::from_hex(peer).unwrap_or_else(|| fail("bad peer"));
    let (net, mut events) = sunspace_net::start(NetConfig::lan(seed)).unwrap_or_else(|e| fail(&e.to_string()));
    net.allow(peer).await.unwrap_or_else(|e| fail(&e.to_string()));
    let greeting = format!("hello from {}", net.local_device().short());
    let (mut found, mut delivered, mut received) = (false, false, false);
    let deadline = tokio::time::sleep(Duration::from_secs(60));
    tokio::pin!(deadline);
    // Sends are retried every second until one is acknowledged, as the engine's heads exchange will: the first
    // attempt can race the peer's own dial to us and land on a connection that is being replaced.
    let mut retry = tokio::time::interval(Duration::from_secs(1));
    while !(delivered && received) {
        tokio::select! {
            _ = &mut deadline => fail(&format!("timed out (found: {found}, delivered: {delivered}, received: {received})")),
            _ = retry.tick(), if found && !delivered => {
                match net.send(peer, greeting.clone().into_bytes()).await {
                    Ok(()) => delivered = true,
                    Err(error) => println!("send failed, retrying: {error}"),
                }
            }
            event = events.recv() => match event {
                Some(NetEvent::Discovered { device, address }) if device == peer => {
                    println!("discovered {} at {address}", device.short());
                    let _ = net.add_address(device, address).await;
                    found = true;
                }
                Some(NetEvent::Received { from, message }) if from == peer => {
                    println!("received {}", String::from_utf8_lossy(&message));
                    received = true;
                    found = true;
                }
                Some(_) => {}
                None => fail("the network stopped"),
            }
        }
    }
    // Stay up a moment so the peer's last exchange with us completes: if we vanished as soon as we were done,
    // the acknowledgement of its greeting could be lost and it would keep retrying a device that is gone.
    tokio::time::sleep(Duration::from_secs(3)).await;
}
