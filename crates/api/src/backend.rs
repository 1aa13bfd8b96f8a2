//! The [`Backend`]: the device's data folder, and once unlocked, the engine's handle.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use sunspace_crypto::kdf::KdfParams;
use sunspace_membership::invite::InviteKind;
use sunspace_model::vitality::Vitality;
use sunspace_model::{Attendee, CharterPatch, GroupView, NewAction, NewDecision, NewMeeting};
use sunspace_node::engine::{self, EngineOptions, InviteEvent, InviteRequest, JoinEvent, NodeHandle, Origin};
use sunspace_node::{open_data_dir, DataDirMode, GroupId, NodeError, OpenGroup, Passphrase, Vault};
use tokio::sync::{broadcast, oneshot, Mutex, RwLock};

use crate::error::{ApiError, ErrorKind};
use crate::types::*;

/// How long the engine's events are gathered before the UI hears of them: one refresh for a burst of changes.
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
    engine: RwLock<Option<NodeHandle>>,
    flows: Mutex<HashMap<String, Flow>>,
    events: broadcast::Sender<Vec<AppEvent>>,
    raw: broadcast::Sender<AppEvent>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").field("dir", &self.inner.dir).finish_non_exhaustive()
    }
}

fn day(text: &str, what: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::input(format!("The {what} \"{text}\" is not a date (year-month-day)")))
}

fn optional_day(text: Option<String>, what: &str) -> Result<Option<NaiveDate>, ApiError> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => day(text, what).map(Some),
    }
}

fn group_id(group: &str) -> Result<GroupId, ApiError> {
    GroupId::from_hex(group).ok_or_else(|| ApiError::new(ErrorKind::NotFound, "That group is not on this device"))
}

fn today() -> NaiveDate {
    sunspace_node::today()
}

impl Backend {
    /// A backend for the device in `dir` (created on [`Backend::create_device`]).
    pub fn new(dir: PathBuf, network: Network) -> Self {
        let (events, _) = broadcast::channel(64);
        let (raw, _) = broadcast::channel(1024);
        let inner =
            Arc::new(Inner { dir, network, engine: RwLock::new(None), flows: Mutex::new(HashMap::new()), events, raw });
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
        self.inner.engine.read().await.clone().ok_or_else(ApiError::locked)
    }

    /// Runs `job` on an open group inside the engine.
    async fn with_group<T: Send + 'static>(
        &self,
        group: &str,
        job: impl FnOnce(&mut OpenGroup) -> Result<T, NodeError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let id = group_id(group)?;
        let handle = self.handle().await?;
        Ok(handle.run(move |node| node.group(id).and_then(job)).await??)
    }

    /// Whether this device is set up and unlocked.
    pub async fn device(&self) -> Result<DeviceState, ApiError> {
        let set_up = self.inner.dir.join(sunspace_node::FORMAT_FILE).exists();
        let Some(handle) = self.inner.engine.read().await.clone() else {
            return Ok(DeviceState { set_up, unlocked: false, name: None, device: None });
        };
        let name = handle.run(|node| node.vault().owner_name().to_owned()).await?;
        Ok(DeviceState { set_up, unlocked: true, name: Some(name), device: Some(handle.device().to_hex()) })
    }

    /// Sets up this device for `name`, protected by `passphrase`, and starts it.
    pub async fn create_device(&self, name: String, passphrase: String) -> Result<DeviceState, ApiError> {
        let check = crate::check_passphrase(&passphrase);
        if !check.acceptable {
            return Err(ApiError::input(check.hint));
        }
        if name.trim().is_empty() {
            return Err(ApiError::input("Your name cannot be empty"));
        }
        let dir = self.inner.dir.clone();
        let vault = tokio::task::spawn_blocking(move || {
            let store = Arc::new(open_data_dir(&dir, DataDirMode::Create)?);
            Vault::create(store, &Passphrase::new(passphrase), name.trim(), kdf_params())
        })
        .await
        .map_err(|_| ApiError::new(ErrorKind::Storage, "Setting up the device was interrupted"))??;
        self.start(vault).await
    }

    /// Unlocks this device with its passphrase and starts it.
    pub async fn unlock(&self, passphrase: String) -> Result<DeviceState, ApiError> {
        if self.inner.engine.read().await.is_some() {
            return self.device().await;
        }
        let dir = self.inner.dir.clone();
        let vault = tokio::task::spawn_blocking(move || {
            let store = Arc::new(open_data_dir(&dir, DataDirMode::Existing)?);
            Vault::unlock(store, &Passphrase::new(passphrase))
        })
        .await
        .map_err(|_| ApiError::new(ErrorKind::Storage, "Unlocking was interrupted"))??;
        self.start(vault).await
    }

    async fn start(&self, vault: Vault) -> Result<DeviceState, ApiError> {
        let options = match self.inner.network {
            Network::Loopback => EngineOptions::loopback(),
            Network::Lan => EngineOptions::lan(),
        };
        let handle = engine::start(vault, options).await?;
        self.forward_events(&handle);
        *self.inner.engine.write().await = Some(handle);
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
                    engine::NodeEvent::Changed { group, origin } => {
                        Some(AppEvent::Changed { group, remote: origin == Origin::Remote })
                    }
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
                let first = match raw.recv().await {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => AppEvent::Peers,
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let mut batch = vec![first];
                let deadline = tokio::time::Instant::now() + EVENT_BATCH;
                while let Ok(Ok(event)) = tokio::time::timeout_at(deadline, raw.recv()).await {
                    if !batch.contains(&event) {
                        batch.push(event);
                    }
                }
                let _ = batches.send(batch);
            }
        });
    }

    /// The groups on this device.
    pub async fn groups(&self) -> Result<Vec<GroupItem>, ApiError> {
        let handle = self.handle().await?;
        let groups = handle.run(|node| node.vault().groups()).await??;
        Ok(groups.into_iter().map(|g| GroupItem { id: g.id, name: g.name }).collect())
    }

    /// Creates a group with this device's owner as its first member and steward.
    pub async fn create_group(&self, name: String) -> Result<GroupItem, ApiError> {
        let handle = self.handle().await?;
        let group = handle
            .run(move |node| {
                let group = node.vault().create_group(&name, today())?;
                let item = GroupItem { id: group.id().to_hex(), name: group.doc().name() };
                node.insert_group(group);
                Ok::<_, NodeError>(item)
            })
            .await??;
        Ok(group)
    }

    /// Everything the group holds, as the UI shows it.
    pub async fn group(&self, group: String) -> Result<GroupView, ApiError> {
        self.with_group(&group, |g| Ok(g.view_now())).await
    }

    /// Adds a meeting; returns its id.
    pub async fn add_meeting(&self, group: String, meeting: NewMeetingInput) -> Result<String, ApiError> {
        let date = day(&meeting.date, "date")?;
        self.with_group(&group, move |g| g.edit(|doc| doc.add_meeting(NewMeeting::new(date, &meeting.title)))).await
    }

    /// Saves a meeting's minutes as `text`, typed on the version `base` names (the `heads` of the view the window
    /// showed; empty: the current one). The model merges it with whatever changed since
    /// ([`sunspace_model::GroupDoc::merge_minutes`]); the window shows the text returned.
    pub async fn set_minutes(
        &self,
        group: String,
        meeting: String,
        text: String,
        base: Vec<String>,
    ) -> Result<MinutesSaved, ApiError> {
        let base =
            base.iter().map(|hash| hash.parse::<sunspace_model::ChangeHash>()).collect::<Result<Vec<_>, _>>().map_err(
                |_| {
                    ApiError::new(
                        ErrorKind::Input,
                        "The minutes were typed on a version this window cannot name; reload the meeting",
                    )
                },
            )?;
        self.with_group(&group, move |g| {
            let text = g.edit(|doc| doc.merge_minutes(&meeting, &text, &base))?;
            Ok(MinutesSaved { text, heads: g.document_heads() })
        })
        .await
    }

    /// Adds an agenda item to a meeting.
    pub async fn add_agenda_item(&self, group: String, meeting: String, title: String) -> Result<String, ApiError> {
        self.with_group(&group, move |g| g.edit(|doc| doc.add_agenda_item(&meeting, &title, None))).await
    }

    /// Ticks (or unticks) a member as present at a meeting.
    pub async fn set_attendance(
        &self,
        group: String,
        meeting: String,
        member: String,
        present: bool,
    ) -> Result<(), ApiError> {
        self.with_group(&group, move |g| {
            g.edit(|doc| {
                let who = Attendee::Member(member);
                if present {
                    doc.add_attendance(&meeting, who, false).map(|_| ())
                } else {
                    doc.remove_attendance(&meeting, &who).map(|_| ())
                }
            })
        })
        .await
    }

    /// Records a guest or new face at a meeting.
    pub async fn add_guest(
        &self,
        group: String,
        meeting: String,
        name: String,
        new_face: bool,
    ) -> Result<(), ApiError> {
        self.with_group(&group, move |g| {
            g.edit(|doc| doc.add_attendance(&meeting, Attendee::Guest(name), new_face).map(|_| ()))
        })
        .await
    }

    /// Records a decision; returns its id.
    pub async fn add_decision(&self, group: String, decision: NewDecisionInput) -> Result<String, ApiError> {
        let date = day(&decision.date, "date")?;
        let new = NewDecision {
            title: decision.title,
            method: decision.method,
            outcome: decision.outcome,
            date,
            review_by: None,
            meeting: decision.meeting.filter(|m| !m.is_empty()),
        };
        self.with_group(&group, move |g| g.edit(|doc| doc.add_decision(new))).await
    }

    /// Adds an action item; returns its id.
    pub async fn add_action(&self, group: String, action: NewActionInput) -> Result<String, ApiError> {
        let new = NewAction {
            title: action.title,
            owners: action.owner.into_iter().filter(|o| !o.is_empty()).collect(),
            due: optional_day(action.due, "due date")?,
            decision: None,
            meeting: action.meeting.filter(|m| !m.is_empty()),
        };
        self.with_group(&group, move |g| g.edit(|doc| doc.add_action(new))).await
    }

    /// Changes the charter: each field given replaces the one written (prose is merged as text).
    pub async fn edit_charter(&self, group: String, charter: CharterInput) -> Result<(), ApiError> {
        let cadence = match charter.cadence.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<sunspace_model::Cadence>().map_err(ApiError::input)?),
        };
        let patch = CharterPatch {
            purpose: charter.purpose,
            decision_rules: charter.decision_rules,
            cadence,
            confidentiality: charter.confidentiality,
        };
        self.with_group(&group, move |g| g.edit(|doc| doc.edit_charter(&patch))).await
    }

    /// Grants a role to a member for a term; returns the grant's id.
    pub async fn grant_role(&self, group: String, role: RoleInput) -> Result<String, ApiError> {
        let from = day(&role.from, "start date")?;
        let until = optional_day(role.until, "end date")?;
        self.with_group(&group, move |g| g.edit(|doc| doc.grant_role(&role.member, &role.role, from, until))).await
    }

    /// Ends a role's term today.
    pub async fn end_role(&self, group: String, grant: String) -> Result<(), ApiError> {
        self.with_group(&group, move |g| g.edit(|doc| doc.end_role(&grant, today()))).await
    }

    /// The group's signs of life and decay as of today, with the figures in plain sentences.
    pub async fn vitality(&self, group: String) -> Result<Vitality, ApiError> {
        let view = self.group(group).await?;
        Ok(sunspace_model::vitality::compute(&view, today()))
    }

    /// Marks an action item done today, or not done.
    pub async fn set_action_done(&self, group: String, action: String, done: bool) -> Result<(), ApiError> {
        let on = done.then(today);
        self.with_group(&group, move |g| g.edit(|doc| doc.set_action_done(&action, on))).await
    }

    /// Keeps one of a field's concurrent values.
    pub async fn resolve(
        &self,
        group: String,
        kind: sunspace_model::RecordKind,
        record: String,
        field: String,
        value: String,
    ) -> Result<(), ApiError> {
        self.with_group(&group, move |g| g.edit(|doc| doc.resolve(kind, &record, &field, &value))).await
    }

    /// The group's safety number, grouped for reading aloud.
    pub async fn safety_number(&self, group: String) -> Result<String, ApiError> {
        self.with_group(&group, |g| Ok(g.safety_number())).await
    }

    /// Removes a member (stewards only); returns what to tell the group, in a sentence.
    pub async fn remove_member(&self, group: String, member: String, reason: String) -> Result<String, ApiError> {
        if reason.trim().is_empty() {
            return Err(ApiError::input("Give a reason: the group's records keep it"));
        }
        let name = self
            .with_group(&group, move |g| {
                // Read before the removal, while the roster still names them.
                let name = g.doc().member_name(&member).unwrap_or_else(|| "The member".to_owned());
                g.remove_member(&member, &reason).map(|_| name)
            })
            .await?;
        Ok(format!(
            "{name} was removed. The group key was changed: nothing written from now on can be read on {name}'s devices. What {name} could already read: everything in the group up to now."
        ))
    }

    /// Who changed a decision, when and from what, a sentence each, oldest first: every change is bound to the
    /// device that signed it.
    pub async fn decision_history(&self, group: String, decision: String) -> Result<Vec<String>, ApiError> {
        self.with_group(&group, move |g| g.history_sentences(sunspace_model::RecordKind::Decision, &decision)).await
    }

    /// The members who are stewards by the group's signed membership (who may admit and remove members), by
    /// member record id.
    pub async fn stewards(&self, group: String) -> Result<Vec<String>, ApiError> {
        self.with_group(&group, |g| Ok(g.stewards())).await
    }

    /// Makes a member a steward, or ends it (stewards only; the last steward cannot be ended). Returns what
    /// happened, in a sentence.
    pub async fn set_steward(&self, group: String, member: String, steward: bool) -> Result<String, ApiError> {
        let name = self
            .with_group(&group, move |g| {
                let name = g.doc().member_name(&member).unwrap_or_else(|| "The member".to_owned());
                g.set_steward(&member, steward).map(|()| name)
            })
            .await?;
        Ok(if steward {
            format!("{name} is now a steward: they can admit and remove members.")
        } else {
            format!("{name} is no longer a steward.")
        })
    }

    /// The group's minutes and decisions as Markdown, saved to the documents folder (or home).
    pub async fn export(&self, group: String) -> Result<Export, ApiError> {
        let view = self.group(group).await?;
        let markdown = sunspace_model::export::markdown(&view);
        let path = save_to_documents("md", markdown.clone()).await?;
        Ok(Export { text: markdown, path })
    }

    /// Every record of the group (the whole view, as JSON), saved to the documents folder (or home): the group's
    /// archive, readable without Sunspace.
    pub async fn export_archive(&self, group: String) -> Result<Export, ApiError> {
        let view = self.group(group).await?;
        let json = serde_json::to_string_pretty(&view)
            .map_err(|_| ApiError::new(ErrorKind::Storage, "The archive could not be written"))?;
        let path = save_to_documents("json", json.clone()).await?;
        Ok(Export { text: json, path })
    }

    /// Revokes one device (one of this person's own, or any as a steward); the group key changes so it reads
    /// nothing new. Returns what happened, in a sentence.
    pub async fn revoke_device(&self, group: String, device: String) -> Result<String, ApiError> {
        let Some(id) = sunspace_crypto::DeviceId::from_hex(&device) else {
            return Err(ApiError::new(ErrorKind::NotFound, "That device is not in the group"));
        };
        self.with_group(&group, move |g| g.revoke_device(id)).await?;
        Ok(format!(
            "Device {} was revoked. The group key was changed: nothing written from now on can be read on it. What it could already read: everything in the group up to now.",
            &device[..device.len().min(8)]
        ))
    }

    /// Sync status for a group, in words.
    pub async fn sync(&self, group: String) -> Result<SyncView, ApiError> {
        let handle = self.handle().await?;
        let status = handle.status().await?;
        let Some(group) = status.groups.into_iter().find(|g| g.id == group) else {
            return Err(ApiError::new(ErrorKind::NotFound, "That group is not on this device"));
        };
        let peers: Vec<PeerView> = group
            .peers
            .iter()
            .map(|p| PeerView {
                name: p.name.clone(),
                device: p.device.clone(),
                connected: p.connected,
                state: match (p.connected, p.to_send) {
                    (_, Some(0)) => "up to date".into(),
                    (_, Some(1)) => "1 change to send".into(),
                    (_, Some(n)) => format!("{n} changes to send"),
                    (true, None) => "comparing".into(),
                    (false, None) => "not in reach since the app started".into(),
                },
            })
            .collect();
        let in_reach: Vec<&str> = peers.iter().filter(|p| p.connected).map(|p| p.name.as_str()).collect();
        let summary = if peers.is_empty() {
            "No other device is in the group yet. Invite someone in person to share the records.".to_owned()
        } else if in_reach.is_empty() {
            "No other member device is in reach. Everything is saved here and will be shared when you meet.".to_owned()
        } else if peers.iter().filter(|p| p.connected).all(|p| p.state == "up to date") {
            format!("Up to date with {}.", in_reach.join(", "))
        } else {
            format!("Sharing changes with {}.", in_reach.join(", "))
        };
        let to_receive = group.peers.iter().filter(|p| p.connected).filter_map(|p| p.to_receive).max().unwrap_or(0);
        let waiting = group.waiting as u64;
        let receiving = (to_receive > 0 || waiting > 0).then(|| {
            let held = group.entries;
            let total = held + to_receive.max(waiting);
            SyncProgress { held, total, summary: format!("Receiving the group's records: {held} of {total}.") }
        });
        let integrity = group.integrity.iter().map(|note| note.sentence.clone()).collect();
        Ok(SyncView { online: !in_reach.is_empty(), summary, peers, waiting, receiving, integrity })
    }

    /// Connects to a member device at an address (when it cannot be found on the local network).
    pub async fn add_peer(&self, address: String) -> Result<(), ApiError> {
        Ok(self.handle().await?.add_peer(&address).await?)
    }

    /// Opens an invitation to the group, for a new member (`device` false) or another of one's own devices.
    pub async fn invite(&self, group: String, device: bool) -> Result<InviteView, ApiError> {
        let handle = self.handle().await?;
        let kind = if device { InviteKind::Device } else { InviteKind::Member };
        let request = InviteRequest {
            group: group_id(&group)?,
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
                        FlowStep::Compare { words, with: format!("{name}'s device") }
                    }
                    InviteEvent::Admitted { .. } => FlowStep::Done {
                        message: "They are in: the records are on their way to them.".into(),
                        group: None,
                    },
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
                    JoinEvent::Words { words, group_name, inviter_name } => FlowStep::Compare {
                        words,
                        with: format!("{inviter_name}'s device, inviting you to \"{group_name}\""),
                    },
                    JoinEvent::Joined { group, group_name } => {
                        if let Some(id) = GroupId::from_hex(&group) {
                            handle.wait_for_history(id).await;
                        }
                        FlowStep::Done { message: format!("You are in \"{group_name}\"."), group: Some(group) }
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
            .ok_or_else(|| ApiError::new(ErrorKind::NotFound, "That invitation has ended"))
    }

    /// The person says whether the words on both screens match.
    pub async fn confirm(&self, flow: String, matched: bool) -> Result<(), ApiError> {
        let (tag, confirm) = {
            let mut flows = self.inner.flows.lock().await;
            let entry =
                flows.get_mut(&flow).ok_or_else(|| ApiError::new(ErrorKind::NotFound, "That invitation has ended"))?;
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
async fn save_to_documents(extension: &'static str, text: String) -> Result<String, ApiError> {
    let folder = directories::UserDirs::new()
        .and_then(|dirs| dirs.document_dir().map(|d| d.to_path_buf()).or_else(|| Some(dirs.home_dir().to_path_buf())))
        .unwrap_or_else(std::env::temp_dir);
    let date = today();
    let path =
        tokio::task::spawn_blocking(move || crate::files::save_new_export(&folder, date, extension, text.as_bytes()))
            .await
            .map_err(|_| ApiError::new(ErrorKind::Storage, "Could not save the export"))?
            .map_err(storage)?;
    Ok(path.display().to_string())
}

fn storage(error: std::io::Error) -> ApiError {
    ApiError::new(ErrorKind::Storage, format!("Could not save the export: {error}"))
}

/// The key-derivation cost: the recommended one, unless a test asks for the minimum (`SUNSPACE_TEST_KDF=minimum`).
fn kdf_params() -> KdfParams {
    if std::env::var("SUNSPACE_TEST_KDF").as_deref() == Ok("minimum") {
        KdfParams::MINIMUM
    } else {
        KdfParams::RECOMMENDED
    }
}
