//! Listening across real `sunspace serve` processes on loopback (mDNS off): three members, a compartment of two;
//! one-on-ones recorded offline on two devices; a story shared and named as a pattern at a meeting; everyone
//! converges, and each device shows exactly what it may read. No canary is in plaintext on any disk, nor on the
//! wire between the member outside the compartment and the others.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{export, recorded_address, three_members, Home, Serve, ThreeMembers};

const BEA_NOTES: &str = "CANARY-bea-one-on-one-rota-5513";
const CAL_NOTES: &str = "CANARY-cal-one-on-one-manager-7720";
const TEAM_MINUTES: &str = "CANARY-negotiation-offer-1409";
const STORY: &str = "Nobody on nights can plan childcare";
const AFTER_BEA_LEFT: &str = "CANARY-team-after-bea-left-8842";

fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(400));
    }
}

/// Whether the device shows `needle`: its Markdown export holds everything it may read (the JSON archive leaves
/// out what is kept in compartments).
fn shows(home: &Home, needle: &str) -> bool {
    home.ok(&["export"]).contains(needle)
}

fn json(home: &Home, args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.push("--json");
    serde_json::from_str(&home.ok(&args)).unwrap()
}

#[test]
fn three_members_listen_offline_and_each_device_shows_exactly_what_it_may_read() {
    let ThreeMembers { ana, bea, cal, meeting, serving: (a, b, c) } = three_members();

    // Ana and Bea are the negotiation team; its meeting and minutes are theirs.
    let created = ana.ok(&["compartment", "create", "Negotiation team", "--member", "Bea"]);
    assert!(created.contains("Ana and Bea"), "{created}");
    let team_meeting = Home::id_in(&ana.ok(&[
        "meeting",
        "add",
        "--title",
        "Offer review",
        "--date",
        "2026-11-25",
        "--readers",
        "Negotiation team",
    ]));
    ana.ok(&["minutes", "append", &team_meeting, TEAM_MINUTES]);
    wait_until("Bea reads the team's minutes", || shows(&bea, TEAM_MINUTES));

    // Bea and Cal hold one-on-ones with no network.
    b.stop();
    c.stop();
    let recorded = bea.ok(&["one-on-one", "add", "--with", "Dee", "--worries", BEA_NOTES, "--warmth", "warm"]);
    assert!(recorded.contains("only on your own devices"), "{recorded}");
    let cal_one = Home::id_in(&cal.ok(&["one-on-one", "add", "--with", "Eli", "--worries", CAL_NOTES]));
    cal.ok(&["story", "share", STORY, "--told-by", "someone on nights", "--from", &cal_one]);

    // Back on line, they reach Ana by address.
    let b = Serve::start(&bea);
    let c = Serve::start(&cal);
    bea.ok(&["peer", "add", &a.tcp_address]);
    // Cal, outside the compartment, reaches Ana through a relay that records every byte both ways.
    let (through_recorder, wire) = recorded_address(&a);
    cal.ok(&["peer", "add", &through_recorder]);
    wait_until("Ana has the story", || shows(&ana, STORY));
    wait_until("Ana counts both conversations", || {
        json(&ana, &["vitality"])["listening"]["conversations_this_month"] == 2
    });

    // At the meeting, Ana names the pattern from Cal's story.
    let story = json(&ana, &["story", "list"])[0]["id"].as_str().unwrap().to_owned();
    ana.ok(&[
        "pattern",
        "name",
        "Scheduling makes us invisible",
        "--meeting",
        &meeting,
        "--story",
        &story,
        "--conversations",
        "2",
    ]);
    for home in [&bea, &cal] {
        wait_until("everyone has the pattern", || shows(home, "Scheduling makes us invisible"));
        wait_until("everyone counts both conversations", || {
            json(home, &["vitality"])["listening"]["conversations_this_month"] == 2
        });
    }

    // What each device shows: the team's minutes to Ana and Bea only; each one-on-one to its author only.
    for (home, team, bea_notes, cal_notes) in
        [(&ana, true, false, false), (&bea, true, true, false), (&cal, false, false, true)]
    {
        let archive = export(home).to_string();
        for kept in [TEAM_MINUTES, BEA_NOTES, CAL_NOTES] {
            assert!(!archive.contains(kept), "the portable archive holds a compartment's records");
        }
        assert!(archive.contains(STORY) && archive.contains("Scheduling makes us invisible"));
        let markdown = home.ok(&["export"]);
        assert_eq!(markdown.contains(TEAM_MINUTES), team, "{markdown}");
        assert_eq!(markdown.contains(BEA_NOTES), bea_notes);
        assert_eq!(markdown.contains(CAL_NOTES), cal_notes);
    }
    let compartments = ana.ok(&["compartment", "list"]);
    assert!(compartments.contains("Negotiation team (") && compartments.contains("Bea"), "{compartments}");
    assert!(!compartments.contains("Cal"), "{compartments}");
    // Bea is taken out of the team while her device runs, connected: she reads nothing written there afterwards.
    let out = ana.ok(&["compartment", "remove", "Negotiation team", "Bea"]);
    assert!(out.contains("reads nothing written there"), "{out}");
    ana.ok(&["minutes", "append", &team_meeting, AFTER_BEA_LEFT]);
    ana.ok(&["minutes", "append", &meeting, "Noted after the team changed."]);
    wait_until("Bea holds what Ana wrote after", || shows(&bea, "Noted after the team changed."));
    assert!(shows(&ana, AFTER_BEA_LEFT));
    assert!(!shows(&bea, AFTER_BEA_LEFT), "taken out of the compartment, Bea read what was written there after");
    // The "who can read this" line.
    let listed = bea.ok(&["one-on-one", "list"]);
    assert!(listed.contains("only you"), "{listed}");

    for serve in [a, b, c] {
        serve.stop();
    }
    let wire = wire.lock().unwrap().clone();
    assert!(wire.len() > 1000, "the recorder carried Cal's sync ({} bytes)", wire.len());
    for canary in [BEA_NOTES, CAL_NOTES, TEAM_MINUTES, AFTER_BEA_LEFT, STORY] {
        assert!(!wire.windows(canary.len()).any(|w| w == canary.as_bytes()), "{canary} crossed the wire in plaintext");
    }
    for home in [&ana, &bea, &cal] {
        for (path, bytes) in home.contents() {
            for canary in [BEA_NOTES, CAL_NOTES, TEAM_MINUTES, AFTER_BEA_LEFT] {
                let found = bytes.windows(canary.len()).any(|w| w == canary.as_bytes());
                assert!(!found, "{canary} found in plaintext in {}", path.display());
            }
        }
    }
}
