//! The Sunspace desktop app: a thin Tauri 2 shell around [`sunspace_api::Backend`].
//!
//! Each command below is a one-line call into the backend; almost everything the window does is the one command
//! `request`, which carries a [`sunspace_api::Request`] to the application service and returns its
//! [`sunspace_api::Response`] — the same JSON the CLI sends to `serve`. The backend's batches of changes are
//! forwarded to the window as the `sunspace://changes` event. Everything the app decides lives in `sunspace-api`
//! and below; the UI (`ui/`) calls these commands through its one `backend.ts` module, with types generated from
//! the Rust ones.
//!
//! Environment: `SUNSPACE_HOME` chooses the data folder; `SUNSPACE_NETWORK=loopback` keeps the engine on
//! 127.0.0.1 with mDNS off (tests).

mod camera;

use sunspace_api::{
    ApiError, Backend, DeviceState, Export, ExportFormat, FlowStep, InviteView, Network, PassphraseCheck, Request,
    Response,
};
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
async fn request(backend: State<'_, Backend>, request: Request) -> Answer<Response> {
    backend.request(request).await
}

#[tauri::command]
async fn export(backend: State<'_, Backend>, group: String, format: ExportFormat) -> Answer<Export> {
    backend.export(group, format).await
}

#[tauri::command]
async fn save_records(backend: State<'_, Backend>, group: String) -> Answer<Export> {
    backend.save_records(group).await
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
            device,
            create_device,
            unlock,
            request,
            export,
            save_records,
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
