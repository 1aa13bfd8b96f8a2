//! Three real `sunspace serve` processes on loopback (mDNS off): two newcomers admitted in person by code with
//! the words confirmed, offline edits on two of them, reconnection, convergence; a reused code admits nobody;
//! no canary string in any data directory.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Home, Serve};

/// Invites from `inviter` (serving) and joins from `newcomer` (serving), both confirming the words.
fn admit(inviter: &Home, newcomer: &Home, name_check: &str) {
    let mut invite =
        inviter.command(&["invite", "--confirm"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(invite.stdout.take().unwrap()).lines();
    let qr_text = loop {
        let line = lines.next().expect("invite prints the invitation").unwrap();
        if let Some(at) = line.find("sunspace:") {
            break line[at..].trim().to_owned();
        }
    };
    let joined = newcomer.ok(&["join", &qr_text, "--confirm"]);
    assert!(joined.contains("You are in \"Food Co-op Core\""), "{joined}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = invite.wait().unwrap();
    assert!(status.success(), "invite failed: {rest:?}");
    let words_line = rest.iter().position(|l| l.contains("same words")).expect("the inviter is shown the words");
    let inviter_words = rest[words_line + 2].trim();
    assert!(joined.contains(inviter_words), "both devices show the same words: {inviter_words} / {joined}");
    assert!(rest.iter().any(|l| l.contains(name_check)), "{rest:?}");
}

fn export(home: &Home) -> serde_json::Value {
    serde_json::from_str(&home.ok(&["export", "--format", "json"])).unwrap()
}

fn converge(homes: &[&Home]) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let exports: Vec<serde_json::Value> = homes.iter().map(|h| export(h)).collect();
        if exports.windows(2).all(|w| w[0] == w[1]) {
            return exports[0].clone();
        }
        assert!(Instant::now() < deadline, "no convergence:\n{exports:#?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

const CANARIES: [&str; 4] =
    ["CANARY-minutes-ana-7731", "CANARY-minutes-bea-1187", "CANARY-decision-cal-5521", "CANARY-guest-9902"];

#[test]
fn three_members_admitted_in_person_converge_after_editing_offline() {
    let ana = Home::new();
    ana.ok(&["init", "--name", "Ana"]);
    ana.ok(&["group", "create", "Food Co-op Core"]);
    let meeting = Home::id_in(&ana.ok(&["meeting", "add", "--title", "Monthly", "--date", "2026-11-20"]));
    let bea = Home::new();
    bea.ok(&["init", "--name", "Bea"]);
    let cal = Home::new();
    cal.ok(&["init", "--name", "Cal"]);

    let a = Serve::start(&ana);
    let b = Serve::start(&bea);
    let c = Serve::start(&cal);
    admit(&ana, &bea, "Bea");
    admit(&ana, &cal, "Cal");
    converge(&[&ana, &bea, &cal]);

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
