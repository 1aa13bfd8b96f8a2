//! mDNS discovery between two processes, each in a network namespace this test creates and joins with a veth
//! pair: no loopback (mDNS ignores it) and no real interface (multicast never leaves the machine). Needs root;
//! without it the test says it skipped.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};

use sunspace_crypto::{DeviceKeys, Secret32};

const NODE: &str = env!("CARGO_BIN_EXE_sunspace-test-netnode");

fn ip(args: &[&str]) -> bool {
    Command::new("ip").args(args).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Two namespaces joined by a veth pair; removed on drop (which also removes the veth).
struct Namespaces {
    names: [String; 2],
}

impl Namespaces {
    fn create() -> Option<Self> {
        let tag = std::process::id() % 100_000;
        let names = [format!("ss-a-{tag}"), format!("ss-b-{tag}")];
        let (veth_a, veth_b) = (format!("ssa{tag}"), format!("ssb{tag}"));
        if !ip(&["netns", "add", &names[0]]) {
            return None;
        }
        let this = Self { names };
        let [a, b] = &this.names;
        let ok = ip(&["netns", "add", b])
            && ip(&["link", "add", &veth_a, "type", "veth", "peer", "name", &veth_b])
            && ip(&["link", "set", &veth_a, "netns", a])
            && ip(&["link", "set", &veth_b, "netns", b])
            && ip(&["-n", a, "addr", "add", "10.77.0.1/24", "dev", &veth_a])
            && ip(&["-n", b, "addr", "add", "10.77.0.2/24", "dev", &veth_b])
            && ip(&["-n", a, "link", "set", &veth_a, "up"])
            && ip(&["-n", b, "link", "set", &veth_b, "up"])
            && ip(&["-n", a, "link", "set", "lo", "up"])
            && ip(&["-n", b, "link", "set", "lo", "up"]);
        assert!(ok, "could create a namespace but not set up the veth pair");
        Some(this)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for name in &self.names {
            ip(&["netns", "del", name]);
        }
    }
}

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
        eprintln!("SKIPPED: creating network namespaces needs root");
        return;
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
