//! The Sunspace desktop app: a thin Tauri 2 shell around [`sunspace_api::Backend`].
//!
//! Each command below is a one-line call into the backend; the backend's batches of changes are forwarded to the
//! window as the `sunspace://changes` event. Everything the app decides lives in `sunspace-api` and below; the UI
//! (`ui/`) calls these commands through its one `backend.ts` module, with types generated from the Rust ones.
//!
//! Environment: `SUNSPACE_HOME` chooses the data folder; `SUNSPACE_NETWORK=loopback` keeps the engine on
//! 127.0.0.1 with mDNS off (tests).

mod camera;

use sunspace_api::{
    ApiError, Backend, CharterInput, DeviceState, Export, FlowStep, GroupItem, InviteView, MinutesSaved, Network,
    NewActionInput, NewDecisionInput, NewMeetingInput, PassphraseCheck, RoleInput, SyncView,
};
use sunspace_model::vitality::Vitality;
use sunspace_model::GroupView;
use tauri::{Emitter, Manager, State};
use tokio::sync::broadcast as tokio_broadcast;

type Answer<T> = Result<T, ApiError>;

#[tauri::command]
fn check_passphrase(passphrase: String) -> PassphraseCheck {
    sunspace_api::check_passphrase(&passphrase)
}

#[tauri::command]
async fn device(backend: State<'_, Backend>) -> Answer<DeviceState> {
    backend.device().await
}

#[tauri::command]
async fn create_device(backend: State<'_, Backend>, name: String, passphrase: String) -> Answer<DeviceState> {
    backend.create_device(name, passphrase).await
}

#[tauri::command]
async fn unlock(backend: State<'_, Backend>, passphrase: String) -> Answer<DeviceState> {
    backend.unlock(passphrase).await
}

#[tauri::command]
async fn groups(backend: State<'_, Backend>) -> Answer<Vec<GroupItem>> {
    backend.groups().await
}

#[tauri::command]
async fn create_group(backend: State<'_, Backend>, name: String) -> Answer<GroupItem> {
    backend.create_group(name).await
}

#[tauri::command]
async fn group(backend: State<'_, Backend>, group: String) -> Answer<GroupView> {
    backend.group(group).await
}

#[tauri::command]
async fn add_meeting(backend: State<'_, Backend>, group: String, meeting: NewMeetingInput) -> Answer<String> {
    backend.add_meeting(group, meeting).await
}

#[tauri::command]
async fn set_minutes(
    backend: State<'_, Backend>,
    group: String,
    meeting: String,
    text: String,
    base: Vec<String>,
) -> Answer<MinutesSaved> {
    backend.set_minutes(group, meeting, text, base).await
}

#[tauri::command]
async fn add_agenda_item(backend: State<'_, Backend>, group: String, meeting: String, title: String) -> Answer<String> {
    backend.add_agenda_item(group, meeting, title).await
}

#[tauri::command]
async fn set_attendance(
    backend: State<'_, Backend>,
    group: String,
    meeting: String,
    member: String,
    present: bool,
) -> Answer<()> {
    backend.set_attendance(group, meeting, member, present).await
}

#[tauri::command]
async fn add_guest(
    backend: State<'_, Backend>,
    group: String,
    meeting: String,
    name: String,
    new_face: bool,
) -> Answer<()> {
    backend.add_guest(group, meeting, name, new_face).await
}

#[tauri::command]
async fn add_decision(backend: State<'_, Backend>, group: String, decision: NewDecisionInput) -> Answer<String> {
    backend.add_decision(group, decision).await
}

#[tauri::command]
async fn add_action(backend: State<'_, Backend>, group: String, action: NewActionInput) -> Answer<String> {
    backend.add_action(group, action).await
}

#[tauri::command]
async fn export_archive(backend: State<'_, Backend>, group: String) -> Answer<Export> {
    backend.export_archive(group).await
}

#[tauri::command]
async fn revoke_device(backend: State<'_, Backend>, group: String, device: String) -> Answer<String> {
    backend.revoke_device(group, device).await
}

#[tauri::command]
async fn edit_charter(backend: State<'_, Backend>, group: String, charter: CharterInput) -> Answer<()> {
    backend.edit_charter(group, charter).await
}

#[tauri::command]
async fn grant_role(backend: State<'_, Backend>, group: String, role: RoleInput) -> Answer<String> {
    backend.grant_role(group, role).await
}

#[tauri::command]
async fn end_role(backend: State<'_, Backend>, group: String, grant: String) -> Answer<()> {
    backend.end_role(group, grant).await
}

#[tauri::command]
async fn vitality(backend: State<'_, Backend>, group: String) -> Answer<Vitality> {
    backend.vitality(group).await
}

#[tauri::command]
async fn set_action_done(backend: State<'_, Backend>, group: String, action: String, done: bool) -> Answer<()> {
    backend.set_action_done(group, action, done).await
}

#[tauri::command]
async fn resolve(
    backend: State<'_, Backend>,
    group: String,
    kind: sunspace_model::RecordKind,
    record: String,
    field: String,
    value: String,
) -> Answer<()> {
    backend.resolve(group, kind, record, field, value).await
}

#[tauri::command]
async fn safety_number(backend: State<'_, Backend>, group: String) -> Answer<String> {
    backend.safety_number(group).await
}

#[tauri::command]
async fn decision_history(backend: State<'_, Backend>, group: String, decision: String) -> Answer<Vec<String>> {
    backend.decision_history(group, decision).await
}

#[tauri::command]
async fn stewards(backend: State<'_, Backend>, group: String) -> Answer<Vec<String>> {
    backend.stewards(group).await
}

#[tauri::command]
async fn set_steward(backend: State<'_, Backend>, group: String, member: String, steward: bool) -> Answer<String> {
    backend.set_steward(group, member, steward).await
}

#[tauri::command]
async fn remove_member(backend: State<'_, Backend>, group: String, member: String, reason: String) -> Answer<String> {
    backend.remove_member(group, member, reason).await
}

#[tauri::command]
async fn export(backend: State<'_, Backend>, group: String) -> Answer<Export> {
    backend.export(group).await
}

#[tauri::command]
async fn sync(backend: State<'_, Backend>, group: String) -> Answer<SyncView> {
    backend.sync(group).await
}

#[tauri::command]
async fn add_peer(backend: State<'_, Backend>, address: String) -> Answer<()> {
    backend.add_peer(address).await
}

#[tauri::command]
async fn invite(backend: State<'_, Backend>, group: String, device: bool) -> Answer<InviteView> {
    backend.invite(group, device).await
}

#[tauri::command]
async fn join(backend: State<'_, Backend>, code: String) -> Answer<String> {
    backend.join(code).await
}

#[tauri::command]
async fn flow(backend: State<'_, Backend>, flow: String) -> Answer<FlowStep> {
    backend.flow(flow).await
}

#[tauri::command]
async fn confirm(backend: State<'_, Backend>, flow: String, matched: bool) -> Answer<()> {
    backend.confirm(flow, matched).await
}

/// Starts the app (also the entry point of a phone build).
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_env("SUNSPACE_LOG")).init();
    let network = match std::env::var("SUNSPACE_NETWORK").as_deref() {
        Ok("loopback") => Network::Loopback,
        _ => Network::Lan,
    };
    let backend = Backend::new(Backend::default_dir(), network);
    let changes = backend.subscribe();
    let app = tauri::Builder::default()
        .manage(backend)
        .setup(move |app| {
            if let Some(window) = app.get_webview_window("main") {
                if let Err(error) = camera::allow_camera(&window) {
                    tracing::warn!(%error, "the camera cannot be offered for scanning; typing the code still works");
                }
            }
            let window = app.handle().clone();
            tauri::async_runtime::spawn(forward_changes(window, changes));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            check_passphrase,
            export_archive,
            revoke_device,
            edit_charter,
            grant_role,
            end_role,
            vitality,
            device,
            create_device,
            unlock,
            groups,
            create_group,
            group,
            add_meeting,
            set_minutes,
            add_agenda_item,
            set_attendance,
            add_guest,
            add_decision,
            add_action,
            set_action_done,
            resolve,
            safety_number,
            remove_member,
            stewards,
            set_steward,
            decision_history,
            export,
            sync,
            add_peer,
            invite,
            join,
            flow,
            confirm,
        ])
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(error) => {
            eprintln!("Sunspace could not start its window: {error}");
            std::process::exit(1);
        }
    }
}

/// Forwards the backend's batches of changes to the window.
async fn forward_changes(app: tauri::AppHandle, mut changes: tokio_broadcast::Receiver<Vec<sunspace_api::AppEvent>>) {
    loop {
        match changes.recv().await {
            Ok(batch) => {
                let _ = app.emit("sunspace://changes", batch);
            }
            Err(tokio_broadcast::error::RecvError::Lagged(_)) => {
                let _ = app.emit("sunspace://changes", vec![sunspace_api::AppEvent::Peers]);
            }
            Err(tokio_broadcast::error::RecvError::Closed) => break,
        }
    }
}
