//! Parity by construction: the same journey through the CLI run directly, through the CLI while `serve` runs,
//! and through the app's backend gives the same outcomes, in the same sentences, and writes the same export files
//! with the same permissions. Then a join across front ends: the app's backend invites, a CLI device joins through
//! its `serve`, and the app removes it, told what it could already read, in the words the CLI prints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Home, Serve, PASSPHRASE};
use sunspace_api::{
    ActionInput, Backend, DecisionInput, ExportFormat, FlowStep, MeetingInput, Network, Request, Response,
};

const MINUTES: &str = "We will meet the landlord on Monday.\nRosa brings the repair list.";

/// What a journey leaves: the sentences people were told, and the export files (bytes and mode).
#[derive(Debug, PartialEq)]
struct Trace {
    outcomes: Vec<String>,
    markdown: (String, u32),
    records: (serde_json::Value, u32),
}

/// Ids (8 hex characters or more) replaced, so journeys on different devices compare.
fn neutral(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
            continue;
        }
        if run.len() >= 8 && run.chars().any(|c| c.is_ascii_digit()) {
            out.push_str("<id>");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// The records people read in the archive, without ids, heads or device keys.
fn records(json: &str) -> serde_json::Value {
    let view: serde_json::Value = serde_json::from_str(json).unwrap();
    let meeting = &view["meetings"][0];
    serde_json::json!({
        "name": view["name"],
        "members": view["members"].as_array().unwrap().iter().map(|m| (m["name"].clone(), m["status"].clone())).collect::<Vec<_>>(),
        "meeting": [meeting["title"].clone(), meeting["date"].clone(), meeting["minutes"].clone()],
        "attendance": meeting["attendance"].as_array().unwrap().len(),
        "decision": [view["decisions"][0]["title"].clone(), view["decisions"][0]["method"].clone()],
        "action": [view["actions"][0]["title"].clone(), view["actions"][0]["due"].clone()],
    })
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The sentence a CLI command printed, without its command-line hints (`Next: …`).
fn told(output: &str) -> String {
    let lines: Vec<&str> = output
        .trim_end()
        .lines()
        .filter(|l| !l.starts_with("Next:") && !l.starts_with("Add what follows") && !l.starts_with("Check with `"))
        .collect();
    neutral(&lines.join("\n"))
}

/// The journey on the command line, in `caller` (a directory other than where `serve` runs).
fn cli_journey(home: &Home, caller: &Path) -> Trace {
    let run = |args: &[&str]| {
        let output = home.command(args).current_dir(caller).output().unwrap();
        assert!(output.status.success(), "`sunspace {}`: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    std::fs::write(caller.join("notes.md"), MINUTES).unwrap();
    let steps: [&[&str]; 9] = [
        &["group", "create", "Tenants"],
        &["meeting", "add", "--title", "General meeting", "--date", "2026-11-20"],
        &["minutes", "set", "last", "--file", "notes.md"],
        &["attendance", "add", "last", "Ana Ruiz"],
        &["attendance", "add", "last", "Rosa", "--new-face"],
        &[
            "decision",
            "add",
            "Ask for repairs in writing",
            "--method",
            "consensus",
            "--outcome",
            "Agreed",
            "--meeting",
            "last",
        ],
        &["action", "add", "Draft the letter", "--owner", "Ana", "--due", "2026-11-27"],
        &["member", "add-local", "Cal"],
        &["member", "status", "Cal", "inactive"],
    ];
    let outcomes = steps.iter().map(|args| told(&run(args))).collect();
    run(&["export", "--output", "minutes.md"]);
    run(&["export", "--format", "json", "--output", "records.json"]);
    let (markdown, json) = (caller.join("minutes.md"), caller.join("records.json"));
    Trace {
        outcomes,
        markdown: (neutral(&std::fs::read_to_string(&markdown).unwrap()), mode(&markdown)),
        records: (records(&std::fs::read_to_string(&json).unwrap()), mode(&json)),
    }
}

fn message(response: Response) -> String {
    neutral(response.message().expect("a sentence"))
}

/// The same journey through the app's backend (`Backend::request`, as the window's `backend.ts` sends it).
async fn app_journey(app: &Backend, documents: &Path) -> (Trace, String) {
    app.create_device("Ana Ruiz".into(), PASSPHRASE.into()).await.unwrap();
    let g = || Some("Tenants".to_owned());
    let meeting =
        MeetingInput { title: "General meeting".into(), date: Some("2026-11-20".into()), ..MeetingInput::default() };
    let decision = DecisionInput {
        title: "Ask for repairs in writing".into(),
        method: sunspace_model::DecisionMethod::Consensus,
        outcome: "Agreed".into(),
        date: None,
        review_by: None,
        meeting: Some("last".into()),
    };
    let action = ActionInput {
        title: "Draft the letter".into(),
        owners: vec!["Ana".into()],
        due: Some("2026-11-27".into()),
        ..ActionInput::default()
    };
    let requests = [
        Request::CreateGroup { name: "Tenants".into(), display_name: None },
        Request::AddMeeting { group: g(), meeting },
        Request::SetMinutes { group: g(), meeting: "last".into(), text: MINUTES.into(), base: Vec::new() },
        Request::AddAttendance {
            group: g(),
            meeting: "last".into(),
            who: "Ana Ruiz".into(),
            new_face: false,
            guest: false,
        },
        Request::AddAttendance { group: g(), meeting: "last".into(), who: "Rosa".into(), new_face: true, guest: false },
        Request::AddDecision { group: g(), decision },
        Request::AddAction { group: g(), action },
        Request::AddLocalMember { group: g(), name: "Cal".into(), sponsor: None, joined: None },
        Request::UpdateMember {
            group: g(),
            member: "Cal".into(),
            name: None,
            status: Some(sunspace_model::MemberStatus::Inactive),
        },
    ];
    let mut outcomes = Vec::new();
    for request in requests {
        outcomes.push(message(app.request(request).await.unwrap()));
    }
    let group = match app.request(Request::Group { group: g() }).await.unwrap() {
        Response::Group(page) => page.snapshot.view.id,
        other => panic!("{other:?}"),
    };
    let markdown = PathBuf::from(app.export(group.clone(), ExportFormat::Markdown).await.unwrap().path);
    let json = PathBuf::from(app.export(group.clone(), ExportFormat::Json).await.unwrap().path);
    assert!(markdown.starts_with(documents) && json.starts_with(documents), "{markdown:?} {json:?}");
    let trace = Trace {
        outcomes,
        markdown: (neutral(&std::fs::read_to_string(&markdown).unwrap()), mode(&markdown)),
        records: (records(&std::fs::read_to_string(&json).unwrap()), mode(&json)),
    };
    (trace, group)
}

#[test]
fn the_same_journey_is_told_and_exported_alike_by_the_cli_serve_and_the_app() {
    let direct = Home::new();
    direct.ok(&["init", "--name", "Ana Ruiz"]);
    let caller = tempfile::tempdir().unwrap();
    let by_cli = cli_journey(&direct, caller.path());

    let served = Home::new();
    served.ok(&["init", "--name", "Ana Ruiz"]);
    let serve = Serve::start(&served);
    let caller = tempfile::tempdir().unwrap();
    let through_serve = cli_journey(&served, caller.path());
    serve.stop();

    let home = tempfile::tempdir().unwrap();
    std::env::set_var("HOME", home.path());
    std::env::set_var("SUNSPACE_TEST_KDF", "minimum");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = Backend::new(home.path().join("data"), Network::Loopback);
    let (by_app, group) = runtime.block_on(app_journey(&app, home.path()));

    assert_eq!(by_cli, through_serve, "the CLI says and writes the same with and without serve");
    assert_eq!(by_cli, by_app, "the app says and writes what the CLI does");
    assert_eq!(by_cli.markdown.1, 0o600);
    assert!(by_cli.outcomes[4].contains("No member has that name, so they are recorded as a guest"));
    assert_eq!(by_cli.outcomes[8], "Cal is now inactive.");
    assert_eq!(by_cli.records.0["meeting"][2], MINUTES);

    // Across front ends: the app invites, a device on the command line joins through its `serve`, and the app
    // removes it, saying how many devices were cut off and what they could already read.
    let bea = Home::new();
    bea.ok(&["init", "--name", "Bea"]);
    let bea_serve = Serve::start(&bea);
    let invite = runtime.block_on(app.invite(group.clone(), false)).unwrap();
    let joining = {
        let command = bea.command(&["join", &invite.qr_text, "--confirm"]);
        std::thread::spawn(move || {
            let mut command = command;
            command.output().unwrap()
        })
    };
    runtime.block_on(async {
        for _ in 0..600 {
            if let FlowStep::Compare { .. } = app.flow(invite.flow.clone()).await.unwrap() {
                app.confirm(invite.flow.clone(), true).await.unwrap();
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the words never showed");
    });
    let joined = joining.join().unwrap();
    let said = String::from_utf8_lossy(&joined.stdout);
    assert!(joined.status.success() && said.contains("You are in \"Tenants\""), "{said}");
    let removed = runtime
        .block_on(app.request(Request::RemoveMember {
            group: Some(group),
            member: "Bea".into(),
            reason: "testing parity".into(),
        }))
        .unwrap();
    let Response::Removed { devices, could_already_read, message, .. } = removed else { panic!("{removed:?}") };
    assert_eq!(devices, 1);
    assert!(could_already_read.starts_with("What Bea could already read: everything"), "{could_already_read}");
    assert_eq!(message, sunspace_api::words::removed("Bea", 1));
    bea_serve.stop();
}
