//! The break-room journey: two devices on a LAN with no internet (two network namespaces joined by a veth pair,
//! which this test creates), each running `sunspace serve` with its defaults (every interface, mDNS on). The
//! newcomer types only the short code: its device finds the inviter by mDNS. Needs root; skips loudly without.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Home, Invitation, Serve};
use sunspace_tests::Namespaces;

#[test]
fn a_newcomer_on_the_same_lan_joins_with_the_typed_code_found_by_mdns() {
    let Some(lan) = Namespaces::create() else {
        sunspace_tests::cannot_run_here("creating network namespaces needs root");
    };
    let ana = Home::new();
    ana.ok(&["init", "--name", "Ana"]);
    ana.ok(&["group", "create", "Break Room Committee"]);
    let meeting = Home::id_in(&ana.ok(&["meeting", "add", "--title", "Shift meeting", "--date", "2026-11-20"]));
    let bea = Home::new();
    bea.ok(&["init", "--name", "Bea"]);
    let _a = Serve::start_in(&ana, Some(&lan.names[0]), &["serve"]);
    let _b = Serve::start_in(&bea, Some(&lan.names[1]), &["serve"]);

    let invitation = Invitation::start(&ana, &["invite", "--confirm"]);
    let code = invitation.code.clone();
    assert_eq!(code.len(), 27, "a short typed code, no addresses: {code}");
    let joined = bea.ok(&["join", &code, "--confirm"]);
    assert!(joined.contains("You are in \"Break Room Committee\""), "{joined}");
    invitation.finish();
    assert!(bea.ok(&["meeting", "list"]).contains("Shift meeting"));
    let view: serde_json::Value = serde_json::from_str(&bea.ok(&["export", "--format", "json"])).unwrap();
    let devices = view["devices"].as_array().unwrap();
    assert!(devices.iter().any(|d| d["method"] == "in-person-code"), "a typed code is recorded as such: {devices:?}");

    // An edit on Ana's device arrives on Bea's over the LAN.
    ana.ok(&["minutes", "append", &meeting, "Agreed to ask for the break schedule in writing."]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let minutes = bea.ok(&["minutes", "show", &meeting]);
        if minutes.contains("break schedule in writing") {
            break;
        }
        assert!(Instant::now() < deadline, "the edit did not arrive: {minutes}");
        std::thread::sleep(Duration::from_millis(300));
    }
}
