//! Three real `sunspace serve` processes on loopback (mDNS off): two newcomers admitted in person by code with
//! the words confirmed, offline edits on two of them, reconnection, convergence; a reused code admits nobody;
//! no canary string in any data directory.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{converge, export, recording_relay, three_members, Home, Invitation, Serve, ThreeMembers};

const CANARIES: [&str; 4] =
    ["CANARY-minutes-ana-7731", "CANARY-minutes-bea-1187", "CANARY-decision-cal-5521", "CANARY-guest-9902"];

#[test]
fn three_members_admitted_in_person_converge_after_editing_offline() {
    let ThreeMembers { ana, bea, cal, meeting, serving: (a, b, c) } = three_members();

    // An edit through Ana's running serve reaches the others at once (they are connected).
    ana.ok(&["minutes", "append", &meeting, CANARIES[0]]);
    let view = converge(&[&ana, &bea, &cal]);
    assert!(view.to_string().contains(CANARIES[0]));

    // Bea and Cal go offline and edit the same meeting.
    b.stop();
    c.stop();
    bea.ok(&["minutes", "append", &meeting, CANARIES[1]]);
    bea.ok(&["attendance", "add", &meeting, "Bea"]);
    cal.ok(&["attendance", "add", &meeting, CANARIES[3], "--guest"]);
    cal.ok(&["decision", "add", CANARIES[2], "--date", "2026-11-20", "--method", "consent", "--outcome", "agreed"]);
    ana.ok(&["attendance", "add", &meeting, "Ana"]);

    // Back online, they reach Ana by address; Ana relays between them.
    let b = Serve::start(&bea);
    let c = Serve::start(&cal);
    bea.ok(&["peer", "add", &a.tcp_address]);
    cal.ok(&["peer", "add", &a.tcp_address]);
    let view = converge(&[&ana, &bea, &cal]);
    let minutes = view["meetings"][0]["minutes"].as_str().unwrap();
    assert!(minutes.contains(CANARIES[0]) && minutes.contains(CANARIES[1]), "{minutes}");
    let attendance = view["meetings"][0].to_string();
    assert!(attendance.contains(CANARIES[3]), "the guest Cal recorded is there: {attendance}");
    assert_eq!(view["decisions"].as_array().unwrap().len(), 1);

    let status = bea.ok(&["status"]);
    assert!(status.contains("Ana") && status.contains("connected"), "{status}");

    // A code that was used admits nobody, and says so.
    let dan = Home::new();
    dan.ok(&["init", "--name", "Dan"]);
    let d = Serve::start(&dan);
    let error = dan.fails(&["join", "ABC-DEF-GHJ-KMN-PQR-STV-WXY", "--confirm"]);
    assert!(error.contains("mistyped") || error.contains("check out"), "{error}");
    let stranger = dan.fails(&["peer", "add", &a.tcp_address]);
    assert!(stranger.contains("not a member device"), "{stranger}");
    assert!(dan.ok(&["group", "list"]).contains("No groups"));

    for serve in [a, b, c, d] {
        serve.stop();
    }
    for home in [&ana, &bea, &cal, &dan] {
        for (path, bytes) in home.contents() {
            for canary in CANARIES {
                let found = bytes.windows(canary.len()).any(|w| w == canary.as_bytes());
                assert!(!found, "{canary} found in plaintext in {}", path.display());
            }
        }
    }
}

#[test]
fn a_recorded_member_is_matched_over_a_wire_that_shows_no_plaintext_and_a_second_device_is_linked() {
    let ana = Home::new();
    ana.ok(&["init", "--name", "Ana"]);
    ana.ok(&["group", "create", "Food Co-op Core"]);
    let meeting = Home::id_in(&ana.ok(&["meeting", "add", "--title", "Monthly", "--date", "2026-11-20"]));
    ana.ok(&["member", "add-local", "Rosa Diaz"]);
    ana.ok(&["attendance", "add", &meeting, "Rosa Diaz"]);
    let rosa = Home::new();
    rosa.ok(&["init", "--name", "Rosa"]);
    let phone = Home::new();
    phone.ok(&["init", "--name", "Ana (phone)"]);
    let a = Serve::start(&ana);
    let r = Serve::start(&rosa);
    let p = Serve::start(&phone);

    // Rosa, already in the records, is admitted as that member: her attendance stays hers.
    let invitation = Invitation::start(&ana, &["invite", "--member", "Rosa", "--confirm"]);
    let qr_text = invitation.qr_text.clone();
    // Rosa's device reaches Ana's through a TCP relay that records every byte: the handshake and the whole
    // history cross it.
    let target: std::net::SocketAddr = {
        let port = a.tcp_address.split("/tcp/").nth(1).unwrap().split('/').next().unwrap();
        format!("127.0.0.1:{port}").parse().unwrap()
    };
    let (relay_port, wire) = recording_relay(target);
    let peer_id = a.tcp_address.rsplit("/p2p/").next().unwrap().to_owned();
    let code = qr_text.trim_start_matches("sunspace:").split('@').next().unwrap();
    let through_relay = format!("sunspace:{code}@/ip4/127.0.0.1/tcp/{relay_port}/p2p/{peer_id}");
    rosa.ok(&["join", &through_relay, "--confirm"]);
    invitation.finish();
    let wire = wire.lock().unwrap().clone();
    assert!(wire.len() > 1000, "the relay carried the join and the history ({} bytes)", wire.len());
    for needle in ["Rosa Diaz", "Food Co-op Core", "Monthly", "Ana"] {
        assert!(!wire.windows(needle.len()).any(|w| w == needle.as_bytes()), "{needle} crossed the wire in plaintext");
    }
    let members = ana.ok(&["member", "list"]);
    assert_eq!(members.matches("Rosa").count(), 1, "one Rosa, not a second record: {members}");
    let shown = rosa.ok(&["attendance", "list", &meeting]);
    assert!(shown.contains("Rosa Diaz"), "{shown}");

    // Ana links her phone the same way; it holds the group as Ana's device.
    let link = Invitation::start(&ana, &["device", "link", "--confirm"]);
    phone.ok(&["join", &link.qr_text, "--confirm"]);
    link.finish();
    let view = export(&phone);
    let devices = view["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 3);
    let members = view["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "the phone is Ana's, not a new member: {members:?}");
    assert!(devices.iter().any(|d| d["method"] == "in-person-qr"), "scanned codes are recorded as such: {devices:?}");

    // Rosa stops and starts again, and edits her minutes in her editor while serve runs.
    r.stop();
    let canary = "CANARY-wire-4471-rent-strike-list";
    let editor = rosa.path().join("editor.sh");
    std::fs::write(&editor, format!("#!/bin/sh\nprintf '\\n{canary}' >> \"$1\"\n")).unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&editor).status().unwrap();
    let _r = Serve::start(&rosa);
    // `minutes edit` while serve runs: the editor opens here, the text is saved through serve.
    let edited =
        rosa.command(&["minutes", "edit", &meeting]).env("EDITOR", &editor).env_remove("VISUAL").output().unwrap();
    assert!(edited.status.success(), "{}", String::from_utf8_lossy(&edited.stderr));
    // The charter too: the editor opens on the caller's side, the fields are saved through serve.
    let charter_editor = rosa.path().join("charter-editor.sh");
    std::fs::write(&charter_editor, "#!/bin/sh\nsed -i 's/^# Purpose$/# Purpose\\nWin the rent strike./' \"$1\"\n")
        .unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&charter_editor).status().unwrap();
    let edited =
        rosa.command(&["charter", "edit"]).env("EDITOR", &charter_editor).env_remove("VISUAL").output().unwrap();
    assert!(edited.status.success(), "{}", String::from_utf8_lossy(&edited.stderr));
    assert!(rosa.ok(&["charter", "show"]).contains("Win the rent strike."));
    let view = converge(&[&ana, &rosa, &phone]);
    assert!(view.to_string().contains(canary));
    drop((a, p));
}

#[test]
fn a_removed_members_running_device_receives_nothing_it_can_read_after_the_removal() {
    let ThreeMembers { ana, bea, cal, serving: (_a, _b, c), .. } = three_members();
    let number = |home: &Home| home.ok(&["safety-number", "--json"]);
    assert_eq!(number(&ana), number(&cal));

    let removed = ana.ok(&["member", "remove", "Cal", "--reason", "shared the contact list with the manager"]);
    assert!(removed.contains("What Cal could already read: everything"), "{removed}");
    let canary = "CANARY-after-removal-3316";
    ana.ok(&["meeting", "add", "--title", canary, "--date", "2026-11-27"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !bea.ok(&["meeting", "list"]).contains(canary) {
        assert!(Instant::now() < deadline, "Bea never received the meeting");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(number(&ana), number(&bea), "Ana and Bea agree on the membership");
    // Cal's device is still running and was connected; give it time to receive whatever it will.
    std::thread::sleep(Duration::from_secs(2));
    assert!(!export(&cal).to_string().contains(canary), "the removed member read what came after the removal");
    drop(c);
    for (path, bytes) in cal.contents() {
        assert!(!bytes.windows(canary.len()).any(|w| w == canary.as_bytes()), "{canary} in {}", path.display());
    }
}

#[test]
fn members_find_each_other_through_the_roster_and_reconnect_after_a_restart() {
    let ThreeMembers { ana: _ana, bea, cal, meeting, serving: (a, b, _c) } = three_members();

    // Bea and Cal were each introduced to Ana only; the addresses every device records in the (encrypted)
    // roster bring them together directly.
    let connected = |home: &Home, name: &str| {
        let status = home.ok(&["status"]);
        status.lines().any(|l| l.trim_start().starts_with(name) && l.contains(": connected"))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !connected(&bea, "Cal") {
        assert!(Instant::now() < deadline, "Bea never reached Cal:\n{}", bea.ok(&["status"]));
        std::thread::sleep(Duration::from_millis(300));
    }

    // With Ana gone, Bea's edit still reaches Cal.
    a.stop();
    bea.ok(&["minutes", "append", &meeting, "Bea, with Ana away."]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cal.ok(&["minutes", "show", &meeting]).contains("with Ana away") {
        assert!(Instant::now() < deadline, "Cal never got Bea's edit");
        std::thread::sleep(Duration::from_millis(300));
    }

    // Bea restarts (on another port): the devices find each other again by themselves.
    b.stop();
    let _b = Serve::start(&bea);
    bea.ok(&["minutes", "append", &meeting, "Bea, after a restart."]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cal.ok(&["minutes", "show", &meeting]).contains("after a restart") {
        assert!(Instant::now() < deadline, "Bea and Cal did not reconnect:\n{}", cal.ok(&["status"]));
        std::thread::sleep(Duration::from_millis(300));
    }
}
