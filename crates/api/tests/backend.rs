//! The app's backend on real devices (real data folders, real engines on loopback): the first-run, meeting and
//! export journeys; errors as sentences; an in-person join between two backends, with the words compared; and a
//! change from the other device arriving as a remote event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sunspace_api::{
    ApiError, AppEvent, Backend, ChangeOrigin, CharterInput, DecisionInput, ErrorKind, ExportFormat, FlowStep,
    GroupItem, MeetingInput, Network, Request, Response, RoleInput,
};
use sunspace_model::GroupView;

const PASSPHRASE: &str = "tenants united never divided";

/// The window's requests, as `backend.ts` sends them.
trait Window {
    async fn ask(&self, request: Request) -> Result<Response, ApiError>;
    async fn create_group(&self, name: &str) -> Result<GroupItem, ApiError> {
        match self.ask(Request::CreateGroup { name: name.into(), display_name: None }).await? {
            Response::GroupChosen { group, .. } => Ok(group),
            other => panic!("{other:?}"),
        }
    }
    async fn view(&self, group: &str) -> Result<GroupView, ApiError> {
        match self.ask(Request::Group { group: Some(group.into()) }).await? {
            Response::Group(page) => Ok(page.snapshot.view),
            other => panic!("{other:?}"),
        }
    }
    async fn created(&self, request: Request) -> Result<String, ApiError> {
        match self.ask(request).await? {
            Response::Created { id, .. } => Ok(id),
            other => panic!("{other:?}"),
        }
    }
    async fn add_meeting(&self, group: &str, date: &str, title: &str) -> Result<String, ApiError> {
        let meeting = MeetingInput { date: Some(date.into()), title: title.into(), ..MeetingInput::default() };
        self.created(Request::AddMeeting { group: Some(group.into()), meeting }).await
    }
    async fn set_minutes(
        &self,
        group: &str,
        meeting: &str,
        text: &str,
        base: Vec<String>,
    ) -> Result<(String, Vec<String>), ApiError> {
        let request =
            Request::SetMinutes { group: Some(group.into()), meeting: meeting.into(), text: text.into(), base };
        match self.ask(request).await? {
            Response::MinutesSaved { text, heads, .. } => Ok((text, heads)),
            other => panic!("{other:?}"),
        }
    }
}

impl Window for Backend {
    async fn ask(&self, request: Request) -> Result<Response, ApiError> {
        self.request(request).await
    }
}

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
    assert_eq!(app.ask(Request::Groups).await.unwrap_err().kind, ErrorKind::Locked);
    let short = app.create_device("Ana".into(), "short".into()).await.unwrap_err();
    assert_eq!(short.kind, ErrorKind::Input);
    let state = app.create_device("Ana".into(), PASSPHRASE.into()).await.unwrap();
    assert!(state.set_up && state.unlocked);

    let group = app.create_group("Tenants' Association").await.unwrap();
    let meeting = app.add_meeting(&group.id, "2026-11-20", "General meeting").await.unwrap();
    let bad = app.add_meeting(&group.id, "20/11/2026", "x").await.unwrap_err();
    assert_eq!(
        (bad.kind, bad.message.as_str()),
        (ErrorKind::Input, "The date \"20/11/2026\" is not a date (year-month-day).")
    );
    app.set_minutes(&group.id, &meeting, "We will meet the landlord.", Vec::new()).await.unwrap();
    let view = app.view(&group.id).await.unwrap();
    // Two windows typed on the same version: the second save is merged with the first, not written over it.
    let seen = view.heads.clone();
    assert!(!seen.is_empty());
    let first = "Welcome. We will meet the landlord.";
    app.set_minutes(&group.id, &meeting, first, seen.clone()).await.unwrap();
    let (text, heads) =
        app.set_minutes(&group.id, &meeting, "We will meet the landlord. On Monday.", seen).await.unwrap();
    assert_eq!(text, "Welcome. We will meet the landlord. On Monday.");
    assert_eq!(app.view(&group.id).await.unwrap().heads, heads);
    app.set_minutes(&group.id, &meeting, "We will meet the landlord.", heads).await.unwrap();
    let unnamed = app.set_minutes(&group.id, &meeting, "x", vec!["not a hash".into()]).await.unwrap_err();
    assert_eq!(unnamed.kind, ErrorKind::Input);
    let view = app.view(&group.id).await.unwrap();
    let ana = view.members[0].id.clone();
    let g = || Some(group.id.clone());
    let present = |member: &str| Request::SetPresent {
        group: g(),
        meeting: meeting.clone(),
        member: member.into(),
        present: true,
    };
    app.ask(present(&ana)).await.unwrap();
    let guest = Request::AddAttendance {
        group: g(),
        meeting: meeting.clone(),
        who: "Rosa".into(),
        new_face: true,
        guest: true,
    };
    app.ask(guest).await.unwrap();
    let decision = DecisionInput {
        title: "Ask for repairs in writing".into(),
        method: sunspace_model::DecisionMethod::Consensus,
        outcome: "Agreed by all".into(),
        date: Some("2026-11-20".into()),
        review_by: None,
        meeting: Some(meeting.clone()),
    };
    app.created(Request::AddDecision { group: g(), decision }).await.unwrap();
    let view = app.view(&group.id).await.unwrap();
    assert_eq!(view.meetings[0].minutes, "We will meet the landlord.");
    assert_eq!(view.meetings[0].attendance.len(), 2);
    assert_eq!(view.decisions[0].title, "Ask for repairs in writing");
    let elsewhere = app.ask(Request::Group { group: Some("ab".repeat(16)) }).await.unwrap_err();
    assert_eq!(elsewhere.kind, ErrorKind::NotFound, "{elsewhere:?}");
    let unknown = app.ask(present("nobody")).await.unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::NotFound);

    // The charter, a role for a term, and the signs of life computed from the records.
    let charter = |cadence: &str| CharterInput {
        purpose: Some("Safe, affordable homes for every tenant.".into()),
        decision_rules: None,
        cadence: Some(cadence.into()),
        confidentiality: None,
    };
    let vague = app.ask(Request::EditCharter { group: g(), charter: charter("whenever") }).await.unwrap_err();
    assert_eq!(vague.kind, ErrorKind::Input);
    assert!(vague.message.contains("not a meeting cadence"), "{}", vague.message);
    assert!(app.view(&group.id).await.unwrap().charter.purpose.is_empty(), "a refused change writes nothing");
    app.ask(Request::EditCharter { group: g(), charter: charter("monthly") }).await.unwrap();
    let role = |from: &str| Request::GrantRole {
        group: g(),
        role: RoleInput { member: ana.clone(), role: "Facilitator".into(), from: Some(from.into()), until: None },
    };
    assert_eq!(app.ask(role("soon")).await.unwrap_err().kind, ErrorKind::Input);
    let grant = app.created(role("2026-11-01")).await.unwrap();
    let view = app.view(&group.id).await.unwrap();
    assert_eq!(view.charter.purpose, "Safe, affordable homes for every tenant.");
    assert_eq!(view.charter.cadence.as_deref(), Some("monthly"));
    assert_eq!((view.roles[0].role.as_str(), view.roles[0].until), ("facilitator", None));
    app.ask(Request::EndRole { group: g(), grant, on: None }).await.unwrap();
    assert!(app.view(&group.id).await.unwrap().roles[0].until.is_some());
    let Response::Vitality(vitality) = app.ask(Request::Vitality { group: g(), as_of: None }).await.unwrap() else {
        panic!("no vitality")
    };
    assert_eq!(vitality.meetings_held, 1);
    assert_eq!(vitality.attendance.history.iter().map(|m| m.count).collect::<Vec<_>>(), vec![2]);
    assert_eq!((vitality.new_faces.total, vitality.cadence.cadence.as_deref()), (1, Some("monthly")));
    assert!(!vitality.summary.is_empty());

    std::env::set_var("HOME", dir.path());
    let export = app.export(group.id.clone(), ExportFormat::Markdown).await.unwrap();
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
    let again = app.export(group.id.clone(), ExportFormat::Markdown).await.unwrap();
    assert_ne!(again.path, export.path, "an earlier export is not overwritten");
    let archive = app.export(group.id.clone(), ExportFormat::Json).await.unwrap();
    let every_record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&archive.path).unwrap()).unwrap();
    assert_eq!(every_record["charter"]["purpose"], "Safe, affordable homes for every tenant.");
    assert_eq!(every_record["meetings"][0]["minutes"], "We will meet the landlord.");
    assert!(archive.path.ends_with(".json"));
    let revoke = |device: &str| Request::RevokeDevice { group: g(), device: device.into() };
    let nobody = app.ask(revoke("not a device")).await.unwrap_err();
    assert_eq!(nobody.kind, ErrorKind::NotFound);
    let mine = app.device().await.unwrap().device.unwrap();
    let own = app.ask(revoke(&mine)).await.unwrap_err();
    assert!(own.message.contains("another of your devices"), "{}", own.message);
    let Response::Sync(sync) = app.ask(Request::Sync { group: g() }).await.unwrap() else { panic!("no sync") };
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
    let group = ana.create_group("Food Co-op Core").await.unwrap();
    let meeting = ana.add_meeting(&group.id, "2026-11-20", "Monthly").await.unwrap();

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

    // One rule for what each may do: Ana, the steward, may remove Bea and not herself; Bea may remove nobody, and
    // with one device has none to revoke.
    let mut pages = Vec::new();
    for backend in [&ana, &bea] {
        match backend.request(Request::Group { group: Some(group.id.clone()) }).await.unwrap() {
            Response::Group(page) => pages.push(page),
            other => panic!("{other:?}"),
        }
    }
    let (at_ana, at_bea) = (&pages[0], &pages[1]);
    let bea_member = at_ana.snapshot.view.members.iter().find(|m| m.name == "Bea").unwrap().id.clone();
    assert_eq!(at_ana.removable.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![bea_member.clone()]);
    assert!(at_ana.removable[0].warning.starts_with("Bea keeps everything they could already read"));
    assert!(at_ana.stewardable.contains(&bea_member) && at_ana.revocable.is_empty());
    assert!(at_bea.removable.is_empty() && at_bea.revocable.is_empty() && at_bea.stewardable.is_empty());

    // Bea's edit reaches Ana's window as a remote change.
    let mut events = ana.subscribe();
    bea.set_minutes(&group.id, &meeting, "Bea was here.", Vec::new()).await.unwrap();
    let remote = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let batch = events.recv().await.unwrap();
            if batch.iter().any(|e| matches!(e, AppEvent::Changed { origin: ChangeOrigin::Remote, .. })) {
                return batch;
            }
        }
    })
    .await
    .expect("a remote change in time");
    assert!(!remote.is_empty());
    assert_eq!(ana.view(&group.id).await.unwrap().meetings[0].minutes, "Bea was here.");
    let Response::Sync(sync) = ana.ask(Request::Sync { group: Some(group.id.clone()) }).await.unwrap() else {
        panic!("no sync")
    };
    assert!(sync.online && sync.peers.iter().any(|p| p.name == "Bea" && p.connected), "{sync:?}");
}
