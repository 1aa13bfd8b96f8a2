//! Members on different networks, through a relay a member runs: three "homes" in network namespaces with no
//! route between them, and a relay in a fourth, which this test creates. The group is formed in person (on
//! loopback), one member records her relay, then every device moves home. They converge through the relay; a
//! home cut off and reconnected (a partition that heals) converges too; a removed member's devices are dropped
//! from the relay's list; and neither the relay's data folder nor its memory holds any canary. Needs root; skips
//! loudly without.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{converge, export, three_members, Home, Serve, ThreeMembers};
use sunspace_tests::{memory_of, RelayNetwork};

fn json(home: &Home, args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.push("--json");
    serde_json::from_str(&home.ok(&args)).unwrap()
}

fn device_id(home: &Home) -> String {
    json(home, &["device", "show"])["device"].as_str().unwrap().to_owned()
}

fn wait_until(what: &str, seconds: u64, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The devices the relay serves, from its status.
fn relay_clients(relay: &Home) -> Vec<String> {
    let status = json(relay, &["status"]);
    status["relay_service"]["clients"].as_array().map(|c| c.iter().map(|d| d.to_string()).collect()).unwrap_or_default()
}

fn listens_through_relay(home: &Home) -> bool {
    let status = json(home, &["status"]);
    status["relays"].as_array().is_some_and(|r| r.iter().any(|r| r["listening_through"] == true))
}

const CANARIES: [&str; 4] = [
    "CANARY-relay-ana-4410",
    "CANARY-relay-bea-8823",
    "CANARY-relay-cal-offline-3907",
    "CANARY-relay-compartment-ana-bea-6631",
];

#[test]
fn members_in_separate_homes_converge_through_a_member_run_relay_that_holds_nothing_readable() {
    let Some(net) = RelayNetwork::create(3) else {
        sunspace_tests::cannot_run_here("creating network namespaces needs root");
    };
    assert!(!net.homes_can_reach_each_other(0, 1) && !net.homes_can_reach_each_other(1, 2));

    // The group is formed in person; Ana records the relay she runs at home.
    let ThreeMembers { ana, bea, cal, meeting, serving } = three_members();
    let relay = Home::new();
    relay.ok(&["init", "--name", "Ana's relay"]);
    let ana_device = device_id(&ana);
    let relay_serve = Serve::start_in(
        &relay,
        Some(&net.relay),
        &["serve", "--relay", "--owner", &ana_device, "--no-mdns", "--listen", "/ip4/0.0.0.0/tcp/4001"],
    );
    let relay_peer = relay_serve.tcp_address.rsplit("/p2p/").next().unwrap().to_owned();
    let relay_address = format!("/ip4/{}/tcp/4001/p2p/{relay_peer}", RelayNetwork::RELAY_IP);
    let added = ana.ok(&["relay", "add", &relay_address]);
    assert!(added.contains("never what"), "{added}");
    for home in [&bea, &cal] {
        wait_until("every member knows the relay", 60, || {
            json(home, &["relay", "list"]).as_array().is_some_and(|r| r.len() == 1)
        });
    }
    drop(serving);

    // Everyone goes home. Ana's device tells the relay who may use it.
    let _a = Serve::start_in(&ana, Some(&net.homes[0]), &["serve", "--no-mdns"]);
    wait_until("the relay serves the members Ana listed", 60, || relay_clients(&relay).len() == 3);
    let _b = Serve::start_in(&bea, Some(&net.homes[1]), &["serve", "--no-mdns"]);
    let c = Serve::start_in(&cal, Some(&net.homes[2]), &["serve", "--no-mdns"]);
    for home in [&ana, &bea, &cal] {
        wait_until("each member listens through the relay", 90, || listens_through_relay(home));
    }
    ana.ok(&["minutes", "append", &meeting, CANARIES[0]]);
    bea.ok(&["minutes", "append", &meeting, CANARIES[1]]);
    let view = converge(&[&ana, &bea, &cal]);
    assert!(view.to_string().contains(CANARIES[0]) && view.to_string().contains(CANARIES[1]));

    // Ana and Bea keep a compartment; its minutes cross the relay to Bea, sealed, and Cal carries them unread.
    ana.ok(&["compartment", "create", "Building committee", "--member", "Bea"]);
    let committee = Home::id_in(&ana.ok(&[
        "meeting",
        "add",
        "--title",
        "Committee",
        "--date",
        "2026-11-21",
        "--readers",
        "Building committee",
    ]));
    ana.ok(&["minutes", "append", &committee, CANARIES[3]]);
    wait_until("Bea reads the compartment's minutes through the relay", 90, || {
        bea.ok(&["export"]).contains(CANARIES[3])
    });
    assert!(!cal.ok(&["export"]).contains(CANARIES[3]), "Cal read the compartment's minutes");

    // Cal's home is cut off; both sides keep working; the link comes back and the group converges.
    net.cut(2);
    cal.ok(&["minutes", "append", &meeting, CANARIES[2]]);
    ana.ok(&["minutes", "append", &meeting, "Ana, while Cal was cut off."]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(!export(&ana).to_string().contains(CANARIES[2]), "Cal's edit crossed a cut link");
    net.heal(2);
    let view = converge(&[&ana, &bea, &cal]);
    assert!(view.to_string().contains(CANARIES[2]) && view.to_string().contains("while Cal was cut off"));

    // The relay holds nothing readable: not on disk, not in memory (the dump does hold its own peer id, which it
    // printed, so the dump is real).
    let memory = memory_of(relay_serve.pid());
    assert!(memory.windows(relay_peer.len()).any(|w| w == relay_peer.as_bytes()), "the memory dump is empty");
    for canary in CANARIES {
        assert!(!memory.windows(canary.len()).any(|w| w == canary.as_bytes()), "{canary} in the relay's memory");
        for (path, bytes) in relay.contents() {
            assert!(!bytes.windows(canary.len()).any(|w| w == canary.as_bytes()), "{canary} in {}", path.display());
        }
    }

    // Cal is removed: Ana's device drops Cal's devices from the relay's list, and Cal can no longer listen there.
    let cal_device = format!("\"{}\"", device_id(&cal));
    assert!(relay_clients(&relay).contains(&cal_device));
    ana.ok(&["member", "remove", "Cal", "--reason", "left the building committee"]);
    wait_until("the relay drops the removed member's device", 60, || !relay_clients(&relay).contains(&cal_device));
    wait_until("the removed member loses the reservation", 60, || !listens_through_relay(&cal));
    drop(c);
}
