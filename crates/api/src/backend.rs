//! The [`Backend`]: the device's data folder, and once unlocked, the engine's handle.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sunspace_crypto::kdf::KdfParams;
use sunspace_membership::invite::InviteKind;
use sunspace_node::engine::{self, EngineOptions, InviteEvent, InviteRequest, JoinEvent, NodeHandle, Origin};
use sunspace_node::{open_data_dir, DataDirMode, GroupId, Passphrase, Vault};
use tokio::sync::{broadcast, oneshot, Mutex, RwLock};

use crate::error::{ApiError, ErrorKind};
use crate::types::*;
use crate::{ExportFormat, Request, Response, Service};

/// After the first change the window hears of at once, how long the ones that follow are gathered: one more
/// refresh for a burst of changes.
const EVENT_BATCH: Duration = Duration::from_millis(100);

/// Where the engine listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// 127.0.0.1 only, mDNS off (tests).
    Loopback,
    /// Every interface, mDNS on (people).
    Lan,
}

struct Flow {
    step: FlowStep,
    /// The inviter's confirmation goes to the engine by tag; the joiner's through this channel.
    invite_tag: Option<[u8; 16]>,
    join_confirm: Option<oneshot::Sender<bool>>,
}

/// The app's backend: one per app. Cheap to share (`Arc` inside).
#[derive(Clone)]
pub struct Backend {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    network: Network,
    service: RwLock<Option<Arc<Service>>>,
    flows: Mutex<HashMap<String, Flow>>,
    events: broadcast::Sender<Vec<AppEvent>>,
    raw: broadcast::Sender<AppEvent>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").field("dir", &self.inner.dir).finish_non_exhaustive()
    }
}

impl Backend {
    /// A backend for the device in `dir` (created on [`Backend::create_device`]).
    pub fn new(dir: PathBuf, network: Network) -> Self {
        let (events, _) = broadcast::channel(64);
        let (raw, _) = broadcast::channel(1024);
        let inner = Arc::new(Inner {
            dir,
            network,
            service: RwLock::new(None),
            flows: Mutex::new(HashMap::new()),
            events,
            raw,
        });
        Self { inner }
    }

    /// The platform's data folder for Sunspace, unless `SUNSPACE_HOME` names another.
    pub fn default_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("SUNSPACE_HOME") {
            return PathBuf::from(dir);
        }
        directories::ProjectDirs::from("org", "Sunspace", "Sunspace")
            .map(|dirs| dirs.data_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".sunspace"))
    }

    /// Batches of changes, for the UI to refresh what it shows.
    pub fn subscribe(&self) -> broadcast::Receiver<Vec<AppEvent>> {
        self.inner.events.subscribe()
    }

    async fn handle(&self) -> Result<NodeHandle, ApiError> {
        let service = self.inner.service.read().await.clone().ok_or_else(ApiError::locked)?;
        service.engine_handle().cloned().ok_or_else(ApiError::locked)
    }

    /// Whether this device is set up and unlocked.
    pub async fn device(&self) -> Result<DeviceState, ApiError> {
        let set_up = self.inner.dir.join(sunspace_node::FORMAT_FILE).exists();
        let Some(service) = self.inner.service.read().await.clone() else {
            return Ok(DeviceState { set_up, unlocked: false, name: None, device: None });
        };
        let Response::Device { device, owner } = service.handle(Request::Device).await? else {
            return Err(ApiError::new(ErrorKind::Storage, crate::words::out_of_turn("device")));
        };
        Ok(DeviceState { set_up, unlocked: true, name: Some(owner), device: Some(device) })
    }

    /// Sets up this device for `name`, protected by `passphrase`, and starts it.
    pub async fn create_device(&self, name: String, passphrase: String) -> Result<DeviceState, ApiError> {
        let check = crate::check_passphrase(&passphrase);
        if !check.acceptable {
            return Err(ApiError::input(check.hint));
        }
        if name.trim().is_empty() {
            return Err(ApiError::input(crate::words::NAME_NEEDED));
        }
        let dir = self.inner.dir.clone();
        let vault = tokio::task::spawn_blocking(move || {
            let store = Arc::new(open_data_dir(&dir, DataDirMode::Create)?);
            Vault::create(store, &Passphrase::new(passphrase), name.trim(), kdf_params())
        })
        .await
        .map_err(|_| ApiError::new(ErrorKind::Storage, crate::words::INTERRUPTED))??;
        self.start(vault).await
    }

    /// Unlocks this device with its passphrase and starts it.
    pub async fn unlock(&self, passphrase: String) -> Result<DeviceState, ApiError> {
        if self.inner.service.read().await.is_some() {
            return self.device().await;
        }
        let dir = self.inner.dir.clone();
        let vault = tokio::task::spawn_blocking(move || {
            let store = Arc::new(open_data_dir(&dir, DataDirMode::Existing)?);
            Vault::unlock(store, &Passphrase::new(passphrase))
        })
        .await
        .map_err(|_| ApiError::new(ErrorKind::Storage, crate::words::INTERRUPTED))??;
        self.start(vault).await
    }

    async fn start(&self, vault: Vault) -> Result<DeviceState, ApiError> {
        let options = match self.inner.network {
            Network::Loopback => EngineOptions::loopback(),
            Network::Lan => EngineOptions::lan(),
        };
        let handle = engine::start(vault, options).await?;
        self.forward_events(&handle);
        *self.inner.service.write().await = Some(Arc::new(Service::engine(handle)));
        self.device().await
    }

    /// Forwards the engine's events, gathered into batches without repeats.
    fn forward_events(&self, handle: &NodeHandle) {
        let mut node_events = handle.subscribe();
        let raw = self.inner.raw.clone();
        tokio::spawn(async move {
            loop {
                let event = match node_events.recv().await {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let app_event = match event {
                    engine::NodeEvent::Changed { group, origin, records, heads } => Some(AppEvent::Changed {
                        group,
                        origin: if origin == Origin::Remote { ChangeOrigin::Remote } else { ChangeOrigin::Local },
                        records,
                        heads,
                    }),
                    engine::NodeEvent::PeerConnected { .. } | engine::NodeEvent::PeerDisconnected { .. } => {
                        Some(AppEvent::Peers)
                    }
                    _ => None,
                };
                if let Some(app_event) = app_event {
                    let _ = raw.send(app_event);
                }
            }
        });
        let mut raw = self.inner.raw.subscribe();
        let batches = self.inner.events.clone();
        tokio::spawn(async move {
            loop {
                // The first change after a quiet spell goes to the window at once; what follows within
                // EVENT_BATCH is gathered into one batch, so a burst costs the window one more refresh, not many.
                let first = match raw.recv().await {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => AppEvent::Peers,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let _ = batches.send(vec![first]);
                let mut batch: Vec<AppEvent> = Vec::new();
                let deadline = tokio::time::Instant::now() + EVENT_BATCH;
                while let Ok(Ok(event)) = tokio::time::timeout_at(deadline, raw.recv()).await {
                    if !batch.contains(&event) {
                        batch.push(event);
                    }
                }
                if !batch.is_empty() {
                    let _ = batches.send(batch);
                }
            }
        });
    }

    /// Carries out one request on the unlocked device ([`Service::handle`]): everything the window asks besides
    /// unlocking, invitations and saving exports.
    pub async fn request(&self, request: Request) -> Result<Response, ApiError> {
        let service = self.inner.service.read().await.clone().ok_or_else(ApiError::locked)?;
        service.handle(request).await
    }

    /// Exports the group's records (`Markdown` for the minutes and decisions, also for printing; `Json` for every
    /// record, readable without Sunspace) and saves them in the documents folder (or home) under a neutral name,
    /// readable only by this user.
    pub async fn export(&self, group: String, format: ExportFormat) -> Result<Export, ApiError> {
        let Response::Exported { bytes, .. } = self.request(Request::Export { group: Some(group), format }).await?
        else {
            return Err(ApiError::new(ErrorKind::Storage, crate::words::NOT_MADE));
        };
        let extension = match format {
            ExportFormat::Markdown => "md",
            ExportFormat::Json => "json",
            ExportFormat::Automerge => "automerge",
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let path = save_to_documents(extension, bytes).await?;
        Ok(Export { text, path })
    }

    /// Writes a records file for any current device of the group into the documents folder ("Save records for
    /// another device"); the text is what it holds and who can open it.
    pub async fn save_records(&self, group: String) -> Result<Export, ApiError> {
        let request = Request::CarryExport { group: Some(group), for_device: None };
        let Response::CarryFile { bytes, message, .. } = self.request(request).await? else {
            return Err(ApiError::new(ErrorKind::Storage, crate::words::NOT_MADE));
        };
        let path = save_to_documents("sscf", bytes).await?;
        Ok(Export { text: message, path })
    }

    /// Opens an invitation to the group, for a new member (`device` false) or another of one's own devices.
    pub async fn invite(&self, group: String, device: bool) -> Result<InviteView, ApiError> {
        let service = self.inner.service.read().await.clone().ok_or_else(ApiError::locked)?;
        let handle = self.handle().await?;
        let kind = if device { InviteKind::Device } else { InviteKind::Member };
        let request = InviteRequest {
            group: service.group_id(Some(&group)).await?,
            kind,
            existing_member: None,
            ttl: sunspace_node::engine::invitation_lifetime(None),
        };
        let minutes = request.ttl.as_secs() / 60;
        let mut invite = handle.invite(request).await?;
        let flow = hex_of(&invite.tag);
        let qr_svg = qrcode::QrCode::new(invite.qr_text.as_bytes())
            .map(|code| code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).build())
            .unwrap_or_default();
        self.inner
            .flows
            .lock()
            .await
            .insert(flow.clone(), Flow { step: FlowStep::Waiting, invite_tag: Some(invite.tag), join_confirm: None });
        let this = self.clone();
        let id = flow.clone();
        tokio::spawn(async move {
            while let Some(event) = invite.events.recv().await {
                let step = match event {
                    InviteEvent::Words { words, name, .. } => {
                        FlowStep::Compare { words, with: crate::words::inviting_device(&name) }
                    }
                    InviteEvent::Admitted { .. } => {
                        FlowStep::Done { message: crate::words::THEY_ARE_IN.into(), group: None }
                    }
                    InviteEvent::Failed { reason } => {
                        FlowStep::Failed { message: crate::error::ApiError::input(reason).message }
                    }
                };
                this.set_step(&id, step).await;
            }
        });
        Ok(InviteView { flow, code: invite.code, qr_svg, qr_text: invite.qr_text, minutes })
    }

    /// Joins a group with the code shown on an inviting device (typed or scanned); returns the flow's id.
    pub async fn join(&self, code: String) -> Result<String, ApiError> {
        let handle = self.handle().await?;
        let mut joining = handle.join(&code, Vec::new()).await?;
        let flow = hex_of(&sunspace_crypto::random_array::<16>());
        self.inner.flows.lock().await.insert(
            flow.clone(),
            Flow { step: FlowStep::Waiting, invite_tag: None, join_confirm: Some(joining.confirm) },
        );
        let this = self.clone();
        let id = flow.clone();
        tokio::spawn(async move {
            while let Some(event) = joining.events.recv().await {
                let step = match event {
                    JoinEvent::Words { words, group_name, inviter_name } => {
                        FlowStep::Compare { words, with: crate::words::invited_by(&inviter_name, &group_name) }
                    }
                    JoinEvent::Joined { group, group_name } => {
                        if let Some(id) = GroupId::from_hex(&group) {
                            handle.wait_for_history(id).await;
                        }
                        FlowStep::Done { message: crate::words::you_are_in(&group_name), group: Some(group) }
                    }
                    JoinEvent::Failed { reason } => FlowStep::Failed { message: ApiError::input(reason).message },
                };
                this.set_step(&id, step).await;
            }
        });
        Ok(flow)
    }

    async fn set_step(&self, flow: &str, step: FlowStep) {
        if let Some(entry) = self.inner.flows.lock().await.get_mut(flow) {
            entry.step = step;
        }
        let _ = self.inner.raw.send(AppEvent::Flow { flow: flow.to_owned() });
    }

    /// Where an invitation or join stands.
    pub async fn flow(&self, flow: String) -> Result<FlowStep, ApiError> {
        let flows = self.inner.flows.lock().await;
        flows
            .get(&flow)
            .map(|f| f.step.clone())
            .ok_or_else(|| ApiError::new(ErrorKind::NotFound, crate::words::INVITATION_ENDED))
    }

    /// The person says whether the words on both screens match.
    pub async fn confirm(&self, flow: String, matched: bool) -> Result<(), ApiError> {
        let (tag, confirm) = {
            let mut flows = self.inner.flows.lock().await;
            let entry = flows
                .get_mut(&flow)
                .ok_or_else(|| ApiError::new(ErrorKind::NotFound, crate::words::INVITATION_ENDED))?;
            (entry.invite_tag, entry.join_confirm.take())
        };
        if let Some(tag) = tag {
            self.handle().await?.confirm_invite(tag, matched).await?;
        }
        if let Some(confirm) = confirm {
            let _ = confirm.send(matched);
        }
        Ok(())
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Saves an export under a neutral name (`sunspace-export-<date>.<extension>`, never overwriting one) in the
/// documents folder (or home), readable only by this user; returns its path.
async fn save_to_documents(extension: &'static str, bytes: Vec<u8>) -> Result<String, ApiError> {
    let folder = directories::UserDirs::new()
        .and_then(|dirs| dirs.document_dir().map(|d| d.to_path_buf()).or_else(|| Some(dirs.home_dir().to_path_buf())))
        .unwrap_or_else(std::env::temp_dir);
    let date = sunspace_node::today();
    let path = tokio::task::spawn_blocking(move || crate::files::save_new_export(&folder, date, extension, &bytes))
        .await
        .map_err(|_| ApiError::new(ErrorKind::Storage, crate::words::INTERRUPTED))?
        .map_err(storage)?;
    Ok(path.display().to_string())
}

fn storage(error: std::io::Error) -> ApiError {
    ApiError::new(ErrorKind::Storage, crate::words::export_not_saved(&error))
}

/// The key-derivation cost: the recommended one, unless a test asks for the minimum (`SUNSPACE_TEST_KDF=minimum`).
fn kdf_params() -> KdfParams {
    if std::env::var("SUNSPACE_TEST_KDF").as_deref() == Ok("minimum") {
        KdfParams::MINIMUM
    } else {
        KdfParams::RECOMMENDED
    }
}
