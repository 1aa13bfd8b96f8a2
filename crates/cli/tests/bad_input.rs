//! Bad input gets a one-line error naming the problem, a non-zero exit, and loses nothing already stored.

#![allow(clippy::unwrap_used)]

mod common;

use common::Home;

/// Everything the group holds. (Not the raw files: sled rewrites its own bookkeeping even when only reading.)
fn everything(home: &Home) -> String {
    home.ok(&["export", "--format", "json"])
}

/// Runs a failing command and checks the group is unchanged. The sentence is compared ignoring case: it may
/// start the line.
fn refused(home: &Home, args: &[&str], expected: &str) {
    let before = everything(home);
    let error = home.fails(args);
    assert!(
        error.to_lowercase().contains(&expected.to_lowercase()),
        "`{}` said {error:?}, expected {expected:?}",
        args.join(" ")
    );
    assert_eq!(everything(home), before, "`{}` changed the group", args.join(" "));
}

#[test]
fn bad_dates_unknown_ids_and_empty_titles_are_refused_with_a_sentence() {
    let home = Home::with_group("Tenants");
    let meeting = Home::id_in(&home.ok(&["meeting", "add", "--title", "March", "--date", "2026-03-01"]));
    home.ok(&["minutes", "append", &meeting, "Kept."]);

    // Usage errors come from the argument parser; they too must name the problem.
    let run = home.run(&["meeting", "add", "--title", "x", "--date", "2026-02-30"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("\"2026-02-30\" is not a date: write it as YYYY-MM-DD"), "{}", run.stderr);
    let run = home.run(&["decision", "add", "x", "--method", "vibes", "--outcome", "y"]);
    assert!(run.stderr.contains("\"vibes\" is not a decision method"), "{}", run.stderr);

    refused(&home, &["meeting", "add", "--title", "   "], "the meeting title cannot be empty");
    refused(&home, &["meeting", "add", "--date", "2026-03-01"], "give the meeting a title");
    refused(&home, &["minutes", "append", "0123abcd", "text"], "no meeting with id 0123abcd");
    refused(&home, &["meeting", "show", "zz"], "no meeting with id zz");
    refused(&home, &["attendance", "add", "deadbeef", "Ana"], "no meeting with id deadbeef");
    refused(&home, &["action", "add", "Call", "--owner", "Nobody Here"], "no member called \"Nobody Here\"");
    refused(&home, &["action", "done", "abcd1234"], "no action item with id abcd1234");
    refused(&home, &["charter", "edit", "--cadence", "whenever"], "\"whenever\" is not a meeting cadence");
    refused(
        &home,
        &["role", "grant", "Ana", "facilitator", "--from", "2026-05-01", "--until", "2026-04-01"],
        "cannot end before it starts",
    );
    refused(
        &home,
        &[
            "decision",
            "add",
            "D",
            "--method",
            "consent",
            "--outcome",
            "o",
            "--date",
            "2026-05-01",
            "--review-by",
            "2026-04-01",
        ],
        "review date is before the decision date",
    );
    refused(
        &home,
        &["minutes", "set", &meeting, "--file", "/nonexistent/minutes.txt"],
        "cannot read /nonexistent/minutes.txt",
    );
    refused(&home, &["resolve", &meeting, "title", "1"], "has no conflict to settle");

    assert_eq!(home.ok(&["minutes", "show", &meeting]).trim(), "Kept.");
}

#[test]
fn a_wrong_passphrase_is_refused_and_changes_nothing() {
    let home = Home::with_group("Tenants");
    home.ok(&["meeting", "add", "--title", "March"]);
    let before = everything(&home);
    let run = home
        .command(&["meeting", "add", "--title", "Sneaky"])
        .env("SUNSPACE_PASSPHRASE", "guess guess guess")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&run.stderr).trim(), "error: the passphrase is wrong (nothing was changed)");
    assert_eq!(everything(&home), before);
}

#[test]
fn setup_refuses_short_passphrases_and_a_second_init() {
    let home = Home::new();
    let run = home.command(&["init", "--name", "Ana"]).env("SUNSPACE_PASSPHRASE", "short").output().unwrap();
    assert!(String::from_utf8_lossy(&run.stderr).contains("the passphrase is too short"));
    home.ok(&["init", "--name", "Ana"]);
    let error = home.fails(&["init", "--name", "Ana"]);
    assert!(error.contains("already has a device"), "{error}");
}

#[test]
fn commands_before_init_say_how_to_start() {
    let home = Home::new();
    let error = home.fails(&["meeting", "list"]);
    assert!(error.contains("run `sunspace init` first"), "{error}");
    home.ok(&["init", "--name", "Ana"]);
    let error = home.fails(&["meeting", "list"]);
    assert!(error.contains("no groups on this device yet"), "{error}");
}

#[test]
fn a_data_directory_of_another_version_is_refused() {
    let home = Home::with_group("Tenants");
    std::fs::write(home.data().join("format"), "sunspace-data 9\n").unwrap();
    let error = home.fails(&["meeting", "list"]);
    assert!(error.contains("format \"sunspace-data 9\"") && error.contains("reads \"sunspace-data 1\""), "{error}");
}

/// The sled files, largest first.
fn store_files(home: &Home) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = home.files().into_iter().filter(|p| p.to_string_lossy().contains("/store/")).collect();
    files.sort_by_key(|p| std::cmp::Reverse(std::fs::metadata(p).unwrap().len()));
    files
}

#[test]
fn a_corrupted_store_file_gives_a_clear_error_not_a_crash() {
    let home = Home::with_group("Tenants");
    for i in 0..5 {
        home.ok(&["meeting", "add", "--title", &format!("Meeting {i}")]);
    }
    let db = store_files(&home).into_iter().find(|p| p.ends_with("db")).expect("sled's db file");
    let mut bytes = std::fs::read(&db).unwrap();
    // Overwrite the middle of the file with garbage.
    let middle = bytes.len() / 2;
    let end = (middle + 4096).min(bytes.len());
    for byte in &mut bytes[middle..end] {
        *byte = 0x5a;
    }
    std::fs::write(&db, &bytes).unwrap();
    let run = home.run(&["meeting", "list"]);
    if run.code == 0 {
        // sled recovered (the damage fell in space it no longer uses): then every meeting must still be there.
        for i in 0..5 {
            assert!(run.stdout.contains(&format!("Meeting {i}")), "{}", run.stdout);
        }
    } else {
        let stderr = run.stderr.trim();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("damaged") || stderr.contains("storage failed"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_truncated_store_file_gives_a_clear_error_not_a_crash() {
    let home = Home::with_group("Tenants");
    for i in 0..5 {
        home.ok(&["meeting", "add", "--title", &format!("Meeting {i}")]);
    }
    for file in store_files(&home) {
        let len = std::fs::metadata(&file).unwrap().len();
        let handle = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        handle.set_len(len / 3).unwrap();
    }
    let run = home.run(&["meeting", "list"]);
    let stderr = run.stderr.trim();
    assert!(!stderr.contains("panicked"), "{stderr}");
    if run.code != 0 {
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
}

#[test]
fn relay_addresses_that_name_no_relay_are_refused_with_a_sentence() {
    let home = Home::with_group("Tenants");
    let relay = "12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5";
    refused(&home, &["relay", "add", "not an address"], "is not an address");
    refused(&home, &["relay", "add", "/ip4/10.0.0.1/tcp/4001"], "needs a /p2p/ part");
    refused(&home, &["relay", "add", &format!("/ip4/10.0.0.1/tcp/4001/p2p/{relay}/p2p-circuit")], "another relay");
    refused(&home, &["relay", "remove", "abcd"], "no single relay");
    assert!(home.ok(&["relay", "list"]).contains("uses no relay"));
    home.ok(&["relay", "add", &format!("/ip4/10.0.0.1/tcp/4001/p2p/{relay}")]);
    assert!(home.ok(&["relay", "list"]).contains("this device"));
}
