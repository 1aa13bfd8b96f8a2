//! mDNS discovery between two processes, each in a network namespace this test creates and joins with a veth
//! pair: no loopback (mDNS ignores it) and no real interface (multicast never leaves the machine). Needs root;
//! without it the test says it skipped.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};

use sunspace_crypto::{DeviceKeys, Secret32};
use sunspace_tests::Namespaces;

const NODE: &str = env!("CARGO_BIN_EXE_sunspace-test-netnode");

fn run_node(namespace: &str, seed: &Secret32, peer: &DeviceKeys) -> std::process::Child {
    Command::new("ip")
        .args(["netns", "exec", namespace, NODE, &hex::encode(seed.expose()), &peer.device_id().to_hex()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn report(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn two_devices_on_a_lan_find_each_other_by_mdns_and_exchange_messages() {
    let Some(namespaces) = Namespaces::create() else {
        sunspace_tests::cannot_run_here("creating network namespaces needs root");
    };
    let (seed_a, seed_b) = (Secret32::random(), Secret32::random());
    let a = DeviceKeys::from_seeds(&seed_a, &Secret32::random());
    let b = DeviceKeys::from_seeds(&seed_b, &Secret32::random());
    let node_a = run_node(&namespaces.names[0], &seed_a, &b);
    let node_b = run_node(&namespaces.names[1], &seed_b, &a);
    let (out_a, out_b) = (node_a.wait_with_output().unwrap(), node_b.wait_with_output().unwrap());
    let both = format!("node a:\n{}\nnode b:\n{}", report(&out_a), report(&out_b));
    assert!(out_a.status.success() && out_b.status.success(), "{both}");
    assert!(report(&out_a).contains(&format!("received hello from {}", b.device_id().short())), "{}", report(&out_a));
    assert!(report(&out_b).contains(&format!("received hello from {}", a.device_id().short())), "{}", report(&out_b));
}
