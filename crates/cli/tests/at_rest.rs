//! At rest nothing is plaintext: canary strings written into minutes, member names, the charter, titles and
//! decisions are nowhere in the bytes under the data directory.

#![allow(clippy::unwrap_used)]

mod common;

use common::Home;

const CANARY: &str = "CANARY-4e1d-unreadable";

#[test]
fn no_byte_under_the_data_directory_holds_any_canary() {
    let home = Home::new();
    let canary = |what: &str| format!("{CANARY}-{what}");
    home.ok(&["init", "--name", &canary("owner")]);
    home.ok(&["group", "create", &canary("group")]);
    home.ok(&[
        "charter",
        "edit",
        "--purpose",
        &canary("purpose"),
        "--decision-rules",
        &canary("rules"),
        "--confidentiality",
        &canary("confidentiality"),
    ]);
    home.ok(&["member", "add-local", &canary("member")]);
    let meeting =
        Home::id_in(&home.ok(&["meeting", "add", "--title", &canary("meeting"), "--place", &canary("place")]));
    home.ok(&["minutes", "append", &meeting, &canary("minutes")]);
    home.ok(&["attendance", "add", &meeting, &canary("guest"), "--new-face"]);
    home.ok(&["decision", "add", &canary("decision"), "--method", "consent", "--outcome", &canary("outcome")]);
    home.ok(&["action", "add", &canary("action")]);
    // Enough edits to make the engine write a fresh snapshot too.
    for i in 0..70 {
        home.ok(&["minutes", "append", &meeting, &format!("{} {i}", canary("line"))]);
    }
    // The canaries really are in the group (this test would pass vacuously otherwise).
    assert!(home.ok(&["export", "--format", "json"]).contains(&canary("line")));

    let files = home.contents();
    assert!(files.len() >= 3, "expected the marker and sled's files, found {files:?}");
    let mut scanned = 0;
    for (path, bytes) in &files {
        scanned += bytes.len();
        for needle in [CANARY.as_bytes(), b"4e1d-unreadable"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds a canary in plaintext",
                path.display()
            );
        }
    }
    assert!(scanned > 10_000, "only {scanned} bytes scanned");
}
