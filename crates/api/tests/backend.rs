//! The app's backend on real devices (real data folders, real engines on loopback): the first-run, meeting and
//! export journeys; errors as sentences; an in-person join between two backends, with the words compared; and a
//! change from the other device arriving as a remote event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sunspace_api::{
    AppEvent, Backend, CharterInput, ErrorKind, FlowStep, Network, NewDecisionInput, NewMeetingInput, RoleInput,
};

const PASSPHRASE: &str = "tenants united never divided";

fn backend(dir: &tempfile::TempDir) -> Backend {
    std::env::set_var("SUNSPACE_TEST_KDF", "minimum");
    Backend::new(dir.path().join("data"), Network::Loopback)
}

async fn wait_for_step(backend: &Backend, flow: &str, done: impl Fn(&FlowStep) -> bool) -> FlowStep {
    for _ in 0..300 {
        let step = backend.flow(flow.to_owned()).await.unwrap();
        if done(&step) {
            return step;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the flow did not move on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_a_meeting_with_minutes_attendance_and_a_decision_then_export() {
    let dir = tempfile::tempdir().unwrap();
    let app = backend(&dir);
    let state = app.device().await.unwrap();
    assert!(!state.set_up && !state.unlocked);
    assert_eq!(app.groups().await.unwrap_err().kind, ErrorKind::Locked);
    let short = app.create_device("Ana".into(), "short".into()).await.unwrap_err();
    assert_eq!(short.kind, ErrorKind::Input);
    let state = app.create_device("Ana".into(), PASSPHRASE.into()).await.unwrap();
    assert!(state.set_up && state.unlocked);

    let group = app.create_group("Tenants' Association".into()).await.unwrap();
    let meeting = app
        .add_meeting(group.id.clone(), NewMeetingInput { date: "2026-11-20".into(), title: "General meeting".into() })
        .await
        .unwrap();
    let bad = app
        .add_meeting(group.id.clone(), NewMeetingInput { date: "20/11/2026".into(), title: "x".into() })
        .await
        .unwrap_err();
    assert_eq!(
        (bad.kind, bad.message.as_str()),
        (ErrorKind::Input, "The date \"20/11/2026\" is not a date (year-month-day).")
    );
    app.set_minutes(group.id.clone(), meeting.clone(), "We will meet the landlord.".into(), Vec::new()).await.unwrap();
    let view = app.group(group.id.clone()).await.unwrap();
    // Two windows typed on the same version: the second save is merged with the first, not written over it.
    let seen = view.heads.clone();
    assert!(!seen.is_empty());
    let first = "Welcome. We will meet the landlord.";
    app.set_minutes(group.id.clone(), meeting.clone(), first.into(), seen.clone()).await.unwrap();
    let second = app
        .set_minutes(group.id.clone(), meeting.clone(), "We will meet the landlord. On Monday.".into(), seen)
        .await
        .unwrap();
    assert_eq!(second.text, "Welcome. We will meet the landlord. On Monday.");
    assert_eq!(app.group(group.id.clone()).await.unwrap().heads, second.heads);
    app.set_minutes(group.id.clone(), meeting.clone(), "We will meet the landlord.".into(), second.heads)
        .await
        .unwrap();
    let unnamed =
        app.set_minutes(group.id.clone(), meeting.clone(), "x".into(), vec!["not a hash".into()]).await.unwrap_err();
    assert_eq!(unnamed.kind, ErrorKind::Input);
    let view = app.group(group.id.clone()).await.unwrap();
    let ana = view.members[0].id.clone();
    app.set_attendance(group.id.clone(), meeting.clone(), ana.clone(), true).await.unwrap();
    app.add_guest(group.id.clone(), meeting.clone(), "Rosa".into(), true).await.unwrap();
    let decision = NewDecisionInput {
        title: "Ask for repairs in writing".into(),
        method: sunspace_model::DecisionMethod::Consensus,
        outcome: "Agreed by all".into(),
        date: "2026-11-20".into(),
        meeting: Some(meeting.clone()),
    };
    app.add_decision(group.id.clone(), decision).await.unwrap();
    let view = app.group(group.id.clone()).await.unwrap();
    assert_eq!(view.meetings[0].minutes, "We will meet the landlord.");
    assert_eq!(view.meetings[0].attendance.len(), 2);
    assert_eq!(view.decisions[0].title, "Ask for repairs in writing");
    let unknown = app.set_attendance(group.id.clone(), meeting.clone(), "nobody".into(), true).await.unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::NotFound);

    // The charter, a role for a term, and the signs of life computed from the records.
    let charter = |cadence: &str| CharterInput {
        purpose: Some("Safe, affordable homes for every tenant.".into()),
        decision_rules: None,
        cadence: Some(cadence.into()),
        confidentiality: None,
    };
    let vague = app.edit_charter(group.id.clone(), charter("whenever")).await.unwrap_err();
    assert_eq!(vague.kind, ErrorKind::Input);
    assert!(vague.message.contains("not a meeting cadence"), "{}", vague.message);
    assert!(app.group(group.id.clone()).await.unwrap().charter.purpose.is_empty(), "a refused change writes nothing");
    app.edit_charter(group.id.clone(), charter("monthly")).await.unwrap();
    let role =
        |from: &str| RoleInput { member: ana.clone(), role: "Facilitator".into(), from: from.into(), until: None };
    assert_eq!(app.grant_role(group.id.clone(), role("soon")).await.unwrap_err().kind, ErrorKind::Input);
    let grant = app.grant_role(group.id.clone(), role("2026-11-01")).await.unwrap();
    let view = app.group(group.id.clone()).await.unwrap();
    assert_eq!(view.charter.purpose, "Safe, affordable homes for every tenant.");
    assert_eq!(view.charter.cadence.as_deref(), Some("monthly"));
    assert_eq!((view.roles[0].role.as_str(), view.roles[0].until), ("facilitator", None));
    app.end_role(group.id.clone(), grant).await.unwrap();
    assert!(app.group(group.id.clone()).await.unwrap().roles[0].until.is_some());
    let vitality = app.vitality(group.id.clone()).await.unwrap();
    assert_eq!(vitality.meetings_held, 1);
    assert_eq!(vitality.attendance.history.iter().map(|m| m.count).collect::<Vec<_>>(), vec![2]);
    assert_eq!((vitality.new_faces.total, vitality.cadence.cadence.as_deref()), (1, Some("monthly")));
    assert!(!vitality.summary.is_empty());

    std::env::set_var("HOME", dir.path());
    let export = app.export(group.id.clone()).await.unwrap();
    assert!(export.text.contains("We will meet the landlord.") && export.text.contains("Ask for repairs"));
    assert_eq!(std::fs::read_to_string(&export.path).unwrap(), export.text);
    // Plaintext: readable only by this user, under a name that does not carry the group's (as the CLI writes).
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&export.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", export.path);
    }
    let file_name = std::path::Path::new(&export.path).file_name().unwrap().to_string_lossy().into_owned();
    assert!(file_name.starts_with("sunspace-export-") && !file_name.contains("Tenants"), "{file_name}");
    let again = app.export(group.id.clone()).await.unwrap();
    assert_ne!(again.path, export.path, "an earlier export is not overwritten");
    let archive = app.export_archive(group.id.clone()).await.unwrap();
    let every_record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&archive.path).unwrap()).unwrap();
    assert_eq!(every_record["charter"]["purpose"], "Safe, affordable homes for every tenant.");
    assert_eq!(every_record["meetings"][0]["minutes"], "We will meet the landlord.");
    assert!(archive.path.ends_with(".json"));
    let nobody = app.revoke_device(group.id.clone(), "not a device".into()).await.unwrap_err();
    assert_eq!(nobody.kind, ErrorKind::NotFound);
    let mine = app.device().await.unwrap().device.unwrap();
    let own = app.revoke_device(group.id.clone(), mine).await.unwrap_err();
    assert!(own.message.contains("another of your devices"), "{}", own.message);
    let sync = app.sync(group.id.clone()).await.unwrap();
    assert!(!sync.online && sync.summary.contains("Invite someone") && sync.receiving.is_none(), "{sync:?}");

    // A second app on the same folder (after this one is gone) needs the right passphrase.
    drop(app);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = backend(&dir);
    let wrong = again.unlock("not the passphrase at all".into()).await.unwrap_err();
    assert_eq!(wrong.kind, ErrorKind::WrongPassphrase);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_joins_in_person_and_an_edit_from_the_other_device_arrives_as_a_remote_change() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ana, bea) = (backend(&dir_a), backend(&dir_b));
    ana.create_device("Ana".into(), PASSPHRASE.into()).await.unwrap();
    bea.create_device("Bea".into(), PASSPHRASE.into()).await.unwrap();
    let group = ana.create_group("Food Co-op Core".into()).await.unwrap();
    let meeting = ana
        .add_meeting(group.id.clone(), NewMeetingInput { date: "2026-11-20".into(), title: "Monthly".into() })
        .await
        .unwrap();

    let invite = ana.invite(group.id.clone(), false).await.unwrap();
    assert!(invite.qr_svg.starts_with("<?xml") && invite.qr_text.starts_with("sunspace:"));
    let joining = bea.join(invite.qr_text.clone()).await.unwrap();
    let FlowStep::Compare { words: bea_words, with } =
        wait_for_step(&bea, &joining, |s| matches!(s, FlowStep::Compare { .. })).await
    else {
        unreachable!()
    };
    assert!(with.contains("Ana") && with.contains("Food Co-op Core"), "{with}");
    let FlowStep::Compare { words: ana_words, .. } =
        wait_for_step(&ana, &invite.flow, |s| matches!(s, FlowStep::Compare { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(ana_words, bea_words, "both screens show the same words");
    ana.confirm(invite.flow.clone(), true).await.unwrap();
    bea.confirm(joining.clone(), true).await.unwrap();
    let done = wait_for_step(&bea, &joining, |s| matches!(s, FlowStep::Done { .. } | FlowStep::Failed { .. })).await;
    assert!(matches!(&done, FlowStep::Done { group: Some(g), .. } if *g == group.id), "{done:?}");

    // Bea's edit reaches Ana's window as a remote change.
    let mut events = ana.subscribe();
    bea.set_minutes(group.id.clone(), meeting.clone(), "Bea was here.".into(), Vec::new()).await.unwrap();
    let remote = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let batch = events.recv().await.unwrap();
            if batch.iter().any(|e| matches!(e, AppEvent::Changed { remote: true, .. })) {
                return batch;
            }
        }
    })
    .await
    .expect("a remote change in time");
    assert!(!remote.is_empty());
    assert_eq!(ana.group(group.id.clone()).await.unwrap().meetings[0].minutes, "Bea was here.");
    let sync = ana.sync(group.id.clone()).await.unwrap();
    assert!(sync.online && sync.peers.iter().any(|p| p.name == "Bea" && p.connected), "{sync:?}");
}
