//! A whole meeting through the real binary: set up, group, charter, members, meeting, agenda, minutes, attendance,
//! decision, action, vitality, export.

#![allow(clippy::unwrap_used)]

mod common;

use common::Home;

#[test]
fn a_whole_meeting_from_founding_to_export() {
    let home = Home::new();
    let init = home.ok(&["init", "--name", "Ana Ruiz"]);
    assert!(init.contains("This device is set up for Ana Ruiz"), "{init}");

    let created = home.ok(&["group", "create", "Warehouse Core Group"]);
    assert!(created.contains("Created the group \"Warehouse Core Group\""), "{created}");
    assert!(home.ok(&["group", "list"]).contains("Warehouse Core Group"));

    home.ok(&[
        "charter",
        "edit",
        "--purpose",
        "Predictable schedules for everyone on the floor.",
        "--decision-rules",
        "Consent; a two-thirds vote if we are stuck.",
        "--cadence",
        "monthly",
        "--confidentiality",
        "Names said here do not leave the room.",
    ]);
    let charter = home.ok(&["charter", "show"]);
    assert!(charter.contains("Predictable schedules") && charter.contains("Meeting cadence: monthly"), "{charter}");

    home.ok(&["member", "add-local", "Sam Okafor"]);
    home.ok(&["member", "add-local", "Rosa Diaz", "--sponsor", "Ana"]);
    home.ok(&["role", "grant", "Rosa", "facilitator", "--from", "2026-11-01", "--until", "2027-04-30"]);
    let members = home.ok(&["member", "list"]);
    for name in ["Ana Ruiz", "Sam Okafor", "Rosa Diaz", "steward"] {
        assert!(members.contains(name), "{name} missing from\n{members}");
    }

    let added = home.ok(&[
        "meeting",
        "add",
        "--title",
        "November meeting",
        "--date",
        "2026-11-20",
        "--type",
        "regular",
        "--place",
        "Break room",
        "--facilitator",
        "Rosa",
        "--note-taker",
        "Ana Ruiz",
    ]);
    let meeting = Home::id_in(&added);
    home.ok(&["agenda", "add", &meeting, "Survey results", "--owner", "Sam"]);
    let item = Home::id_in(&home.ok(&["agenda", "add", &meeting, "Next steps"]));
    home.ok(&["agenda", "done", &item]);
    home.ok(&["minutes", "append", &meeting, "Survey: 23 of 30 want two weeks' notice of schedules."]);
    let file = home.path().join("more.txt");
    std::fs::write(&file, "Survey: 23 of 30 want two weeks' notice of schedules.\nWe will write to management.\n")
        .unwrap();
    home.ok(&["minutes", "set", &meeting, "--file", file.to_str().unwrap()]);
    home.ok(&["attendance", "add", &meeting, "Ana Ruiz"]);
    home.ok(&["attendance", "add", &meeting, "sam okafor"]);
    home.ok(&["attendance", "add", &meeting, "Rosa"]);
    let guest = home.ok(&["attendance", "add", &meeting, "Lee Chen", "--new-face"]);
    assert!(guest.contains("recorded as a guest"), "{guest}");
    let decision = Home::id_in(&home.ok(&[
        "decision",
        "add",
        "Ask for schedules 14 days ahead",
        "--method",
        "consent",
        "--outcome",
        "Agreed, no objections",
        "--meeting",
        &meeting,
        "--review-by",
        "2027-01-15",
    ]));
    let action = Home::id_in(&home.ok(&[
        "action",
        "add",
        "Draft the letter to management",
        "--owner",
        "Rosa",
        "--owner",
        "Sam",
        "--due",
        "2026-11-27",
        "--decision",
        &decision,
        "--meeting",
        &meeting,
    ]));
    let other = Home::id_in(&home.ok(&["action", "add", "Book the room", "--owner", "Ana", "--due", "2026-11-25"]));
    home.ok(&["action", "done", &other, "--on", "2026-11-24"]);

    let shown = home.ok(&["meeting", "show", &meeting]);
    for expected in [
        "November meeting — 2026-11-20 (regular)",
        "facilitator  Rosa Diaz",
        "note-taker   Ana Ruiz",
        "1. Survey results — Sam Okafor",
        "2. Next steps [covered]",
        "Attendance (4)",
        "Lee Chen (guest) — new face",
        "We will write to management.",
        "Ask for schedules 14 days ahead (consent, 2026-11-20): Agreed, no objections",
        "Draft the letter to management — Rosa Diaz, Sam Okafor — due 2026-11-27 — open",
    ] {
        assert!(shown.contains(expected), "missing {expected:?} in\n{shown}");
    }
    assert!(home.ok(&["meeting", "list"]).contains("November meeting"));

    let overdue = home.ok(&["action", "list", "--overdue", "--as-of", "2026-12-01"]);
    assert!(overdue.contains("Draft the letter") && overdue.contains("OVERDUE"), "{overdue}");
    assert!(!overdue.contains("Book the room"), "done items are not overdue:\n{overdue}");
    assert!(home.ok(&["action", "list", "--overdue", "--as-of", "2026-11-26"]).contains("Nothing is overdue"));
    assert!(home.ok(&["decision", "show", &decision]).contains(&action));

    let vitality = home.ok(&["vitality", "--as-of", "2026-12-01"]);
    for expected in [
        "1 meeting held",
        "4.0 people on average",
        "1 new face came to a meeting",
        "Action items: 1 done on time, 0 done late, 1 overdue, 0 open.",
        "The charter says monthly",
    ] {
        assert!(vitality.contains(expected), "missing {expected:?} in\n{vitality}");
    }

    let markdown = home.ok(&["export", "--format", "markdown"]);
    for expected in [
        "# Warehouse Core Group",
        "### 2026-11-20 — November meeting",
        "**Present (4):**",
        "We will write to management.",
        "- Ask for schedules 14 days ahead (consent): Agreed, no objections",
        "- [ ] Draft the letter to management — Rosa Diaz, Sam Okafor, due 2026-11-27 (open)",
        "- [x] Book the room — Ana Ruiz, due 2026-11-25 (done 2026-11-24)",
    ] {
        assert!(markdown.contains(expected), "missing {expected:?} in\n{markdown}");
    }

    let json: serde_json::Value = serde_json::from_str(&home.ok(&["export", "--format", "json"])).unwrap();
    assert_eq!(json["name"], "Warehouse Core Group");
    assert_eq!(json["meetings"][0]["attendance"].as_array().unwrap().len(), 4);
    assert_eq!(json["decisions"][0]["method"], "consent");

    // The automerge export is a plain automerge document that automerge itself loads.
    let archive = home.path().join("group.automerge");
    home.ok(&["export", "--format", "automerge", "--output", archive.to_str().unwrap()]);
    let bytes = std::fs::read(&archive).unwrap();
    let doc = automerge::AutoCommit::load(&bytes).unwrap();
    use automerge::ReadDoc;
    assert!(doc.get(automerge::ROOT, "meetings").unwrap().is_some());

    // --json on list and show commands.
    let meetings: serde_json::Value = serde_json::from_str(&home.ok(&["meeting", "list", "--json"])).unwrap();
    assert_eq!(meetings[0]["title"], "November meeting");
    let shown: serde_json::Value = serde_json::from_str(&home.ok(&["--json", "meeting", "show", &meeting])).unwrap();
    assert_eq!(shown["place"], "Break room");
}

#[test]
fn every_command_has_help() {
    let home = Home::new();
    let overview = home.ok(&[]);
    assert!(overview.contains("not set up yet") && overview.contains("sunspace init"), "{overview}");
    for command in [
        vec!["init"],
        vec!["group", "create"],
        vec!["group", "list"],
        vec!["group", "show"],
        vec!["charter", "edit"],
        vec!["member", "add-local"],
        vec!["role", "grant"],
        vec!["meeting", "add"],
        vec!["meeting", "list"],
        vec!["agenda", "add"],
        vec!["minutes", "edit"],
        vec!["minutes", "set"],
        vec!["minutes", "append"],
        vec!["attendance", "add"],
        vec!["decision", "add"],
        vec!["action", "add"],
        vec!["action", "done"],
        vec!["action", "list"],
        vec!["resolve"],
        vec!["vitality"],
        vec!["export"],
    ] {
        let mut args = command.clone();
        args.push("--help");
        let help = home.ok(&args);
        assert!(help.contains("Usage: sunspace"), "no help for {command:?}:\n{help}");
    }
}

#[test]
fn minutes_edit_opens_the_editor_and_saves_what_it_wrote() {
    let home = Home::with_group("Tenants");
    let meeting = Home::id_in(&home.ok(&["meeting", "add", "--title", "March", "--date", "2026-03-01"]));
    home.ok(&["minutes", "append", &meeting, "First line."]);
    // An "editor" that appends a line to the file it is given.
    let editor = home.path().join("editor.sh");
    std::fs::write(&editor, "#!/bin/sh\nprintf '\\nAdded in the editor.' >> \"$1\"\n").unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&editor).status().unwrap();
    let output =
        home.command(&["minutes", "edit", &meeting]).env("EDITOR", &editor).env_remove("VISUAL").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(home.ok(&["minutes", "show", &meeting]).trim_end(), "First line.\nAdded in the editor.");
}

#[test]
fn several_groups_are_chosen_by_name_or_by_group_use() {
    let home = Home::with_group("Tenants");
    home.ok(&["group", "create", "Congregation network"]);
    home.ok(&["--group", "Tenants", "meeting", "add", "--title", "Tenants meeting"]);
    assert!(home.ok(&["--group", "tenants", "meeting", "list"]).contains("Tenants meeting"));
    assert!(!home.ok(&["meeting", "list"]).contains("Tenants meeting"), "the newest group is current");
    home.ok(&["group", "use", "Tenants"]);
    assert!(home.ok(&["meeting", "list"]).contains("Tenants meeting"));
    let error = home.fails(&["--group", "Nope", "meeting", "list"]);
    assert!(error.contains("no group called \"Nope\""), "{error}");
}

#[test]
fn minutes_can_be_set_from_standard_input() {
    use std::io::Write;
    let home = Home::with_group("Tenants");
    let meeting = Home::id_in(&home.ok(&["meeting", "add", "--title", "April"]));
    let mut child = home
        .command(&["minutes", "set", &meeting, "--file", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all("Typed elsewhere, piped in.\nSecond line.\n".as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(home.ok(&["minutes", "show", &meeting]), "Typed elsewhere, piped in.\nSecond line.\n\n");
}
