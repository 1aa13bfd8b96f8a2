//! The application service: [`Service::handle`] turns a [`Request`] into a [`Response`], the same for every front
//! end. It resolves what the person named ([`crate::resolve`]), checks the input, sends one typed
//! [`NodeCommand`] per change to the device — a [`Node`] this process holds (the CLI without `serve`) or the
//! engine ([`NodeHandle`]: `serve` and the app) — and words the outcome ([`crate::words`]).
//!
//! ```no_run
//! # async fn example(handle: sunspace_node::NodeHandle) -> Result<(), sunspace_api::ApiError> {
//! use sunspace_api::{MeetingInput, Request, Response, Service};
//! let service = Service::engine(handle);
//! let meeting = MeetingInput { title: "General meeting".into(), ..MeetingInput::default() };
//! let response = service.handle(Request::AddMeeting { group: None, meeting }).await?;
//! assert!(matches!(response, Response::Created { .. }));
//! # Ok(()) }
//! ```

use std::sync::Mutex;

use chrono::{Duration, NaiveDate};
use sunspace_model::edit::{Applied, Edit};
use sunspace_model::{
    ActionPatch, Attendee, Cadence, CharterPatch, DecisionPatch, GroupView, MeetingPatch, NewAction, NewDecision,
    NewMeeting, RecordKind,
};
use sunspace_node::{GroupId, GroupSnapshot, Node, NodeCommand, NodeHandle, NodeOutcome};

use crate::error::{ApiError, ErrorKind};
use crate::request::*;
use crate::types::{GroupItem, PeerView, SyncProgress, SyncView};
use crate::Choice;
use crate::{resolve, words};

/// Where the service's commands run.
enum Device {
    /// A node this process holds: no network.
    Local(Box<Mutex<Node>>),
    /// The engine: the network runs too.
    Engine(NodeHandle),
}

/// The application service over one unlocked device.
pub struct Service {
    device: Device,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.device {
            Device::Local(_) => "local",
            Device::Engine(_) => "engine",
        };
        f.debug_struct("Service").field("device", &kind).finish()
    }
}

/// A date as people write it: `YYYY-MM-DD`, `today`, `yesterday` or `tomorrow` (this device's day,
/// [`sunspace_node::today`]); every front end reads dates with this.
pub fn date_of(text: &str) -> Option<NaiveDate> {
    let today = sunspace_node::today();
    match text.trim().to_lowercase().as_str() {
        "today" => Some(today),
        "yesterday" => Some(today - Duration::days(1)),
        "tomorrow" => Some(today + Duration::days(1)),
        other => NaiveDate::parse_from_str(other, "%Y-%m-%d").ok(),
    }
}

/// [`date_of`], refused in a sentence naming `what` the date is.
pub fn parse_date(text: &str, what: &str) -> Result<NaiveDate, ApiError> {
    date_of(text).ok_or_else(|| ApiError::input(words::not_a_date(what, text)))
}

/// An optional date: missing or empty is `None`.
pub(crate) fn optional_date(text: Option<&str>, what: &str) -> Result<Option<NaiveDate>, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse_date(text, what).map(Some),
    }
}

pub(crate) fn outcome_mismatch(outcome: &NodeOutcome) -> ApiError {
    ApiError::new(ErrorKind::Storage, words::out_of_turn(variant_name(outcome)))
}

fn variant_name(outcome: &NodeOutcome) -> &'static str {
    match outcome {
        NodeOutcome::Device { .. } => "device",
        NodeOutcome::Groups { .. } => "groups",
        NodeOutcome::GroupCreated(_) => "group created",
        NodeOutcome::Snapshot(_) => "snapshot",
        NodeOutcome::Edited { .. } => "edited",
        NodeOutcome::Removed { .. } => "removed",
        NodeOutcome::Revoked { .. } => "revoked",
        NodeOutcome::History { .. } => "history",
        NodeOutcome::Bytes(_) => "bytes",
        NodeOutcome::CarryFile { .. } => "carry file",
        NodeOutcome::Carried(_) => "carried",
        NodeOutcome::LogHeads { .. } => "log heads",
        NodeOutcome::CompartmentCreated { .. } => "compartment created",
        NodeOutcome::Done => "done",
    }
}

fn page(snapshot: GroupSnapshot) -> GroupPage {
    let (removable, revocable, stewardable) = choices(&snapshot);
    let readers =
        snapshot.all_compartments.keys().map(|hex| (hex.clone(), words::readers_label(&snapshot, hex))).collect();
    GroupPage {
        snapshot,
        removable,
        revocable,
        stewardable,
        readers,
        whole_group: words::WHOLE_GROUP.to_owned(),
        only_me: words::ONLY_YOU.to_owned(),
    }
}

/// The one removal rule, for every front end to offer what the device would do, judged on the signed membership
/// alone (the document's member and device records are any member's to write): a steward may remove any member
/// holding a device in the group other than themselves, and give or end their stewardship; a device may be
/// revoked, by its own person or a steward, while its member keeps another device (with one device left, removal
/// is the tool). The device itself still checks every one.
pub(crate) fn choices(snapshot: &GroupSnapshot) -> (Vec<Choice>, Vec<Choice>, Vec<String>) {
    let view = &snapshot.view;
    let me = snapshot.my_member.as_deref();
    let steward = me.is_some_and(|me| snapshot.stewards.iter().any(|s| s == me));
    // Members with a device in the signed membership, and how many each holds.
    let mut holding: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for member in snapshot.devices.values() {
        *holding.entry(member.as_str()).or_default() += 1;
    }
    let stewardable: Vec<String> = if steward { holding.keys().map(|m| (*m).to_owned()).collect() } else { Vec::new() };
    let removable = holding
        .keys()
        .filter(|m| steward && Some(**m) != me)
        .map(|m| Choice { id: (*m).to_owned(), warning: words::removal_warning(&view.member_name(m)) })
        .collect();
    let revocable = snapshot
        .devices
        .iter()
        .filter(|(device, member)| **device != snapshot.me && holding.get(member.as_str()).is_some_and(|n| *n > 1))
        .filter(|(_, member)| steward || Some(member.as_str()) == me)
        .map(|(device, _)| Choice { id: device.clone(), warning: words::REVOCATION_WARNING.to_owned() })
        .collect();
    (removable, revocable, stewardable)
}

impl Service {
    /// A service over a node this process holds (no network: the CLI without `serve`).
    pub fn local(node: Node) -> Self {
        Self { device: Device::Local(Box::new(Mutex::new(node))) }
    }

    /// A service over the running engine.
    pub fn engine(handle: NodeHandle) -> Self {
        Self { device: Device::Engine(handle) }
    }

    /// The engine, if the service runs over one.
    pub fn engine_handle(&self) -> Option<&NodeHandle> {
        match &self.device {
            Device::Engine(handle) => Some(handle),
            Device::Local(_) => None,
        }
    }

    pub(crate) async fn run(&self, command: NodeCommand) -> Result<NodeOutcome, ApiError> {
        match &self.device {
            Device::Local(node) => {
                let mut node = node.lock().map_err(|_| ApiError::new(ErrorKind::Storage, words::STATE_LOST))?;
                Ok(node.execute(command)?)
            }
            Device::Engine(handle) => Ok(handle.execute(command).await?),
        }
    }

    /// The group a request names (or the default one). A whole id — what the window sends — names it without
    /// listing the groups; the device refuses it if the group is not here.
    pub async fn group_id(&self, group: Option<&str>) -> Result<GroupId, ApiError> {
        if let Some(id) = group.and_then(|g| GroupId::from_hex(g.trim())) {
            return Ok(id);
        }
        match self.run(NodeCommand::Groups).await? {
            NodeOutcome::Groups { groups, current } => resolve::group(&groups, current, group),
            other => Err(outcome_mismatch(&other)),
        }
    }

    async fn read(&self, group: GroupId) -> Result<GroupSnapshot, ApiError> {
        match self.run(NodeCommand::Read(group)).await? {
            NodeOutcome::Snapshot(snapshot) => Ok(*snapshot),
            other => Err(outcome_mismatch(&other)),
        }
    }

    /// The group a request names, and its records as of now.
    pub(crate) async fn open(&self, group: &GroupRef) -> Result<(GroupId, GroupSnapshot), ApiError> {
        let id = self.group_id(group.as_deref()).await?;
        Ok((id, self.read(id).await?))
    }

    pub(crate) async fn edit(&self, group: GroupId, edit: Edit) -> Result<(Applied, Vec<String>), ApiError> {
        match self.run(NodeCommand::Edit { group, edit }).await? {
            NodeOutcome::Edited { applied, heads } => Ok((applied, heads)),
            other => Err(outcome_mismatch(&other)),
        }
    }

    /// An edit that makes a record of `kind` in the group's document, worded by `message`.
    async fn create(
        &self,
        group: GroupId,
        kind: RecordKind,
        edit: Edit,
        message: impl FnOnce(&str) -> String,
    ) -> Result<Response, ApiError> {
        self.create_in(group, None, kind, edit, message).await
    }

    /// An edit that changes records, worded by `message`.
    pub(crate) async fn change(
        &self,
        group: GroupId,
        edit: Edit,
        message: impl Into<String>,
    ) -> Result<Response, ApiError> {
        let (_, heads) = self.edit(group, edit).await?;
        Ok(Response::Changed { heads, message: message.into() })
    }

    /// Carries out one request.
    pub async fn handle(&self, request: Request) -> Result<Response, ApiError> {
        use Request as R;
        match request {
            R::Device => match self.run(NodeCommand::Device).await? {
                NodeOutcome::Device { device, owner } => Ok(Response::Device { device, owner }),
                other => Err(outcome_mismatch(&other)),
            },
            R::Groups => match self.run(NodeCommand::Groups).await? {
                NodeOutcome::Groups { groups, current } => Ok(Response::Groups {
                    groups: groups.into_iter().map(|g| GroupItem { id: g.id, name: g.name }).collect(),
                    current: current.map(|c| c.to_hex()),
                }),
                other => Err(outcome_mismatch(&other)),
            },
            R::CreateGroup { name, display_name } => {
                let command = NodeCommand::CreateGroup { name, display_name, today: sunspace_node::today() };
                match self.run(command).await? {
                    NodeOutcome::GroupCreated(group) => Ok(Response::GroupChosen {
                        message: words::group_created(&group.name, &group.id),
                        group: GroupItem { id: group.id, name: group.name },
                    }),
                    other => Err(outcome_mismatch(&other)),
                }
            }
            R::UseGroup { group } => {
                let id = self.group_id(Some(&group)).await?;
                self.run(NodeCommand::UseGroup(id)).await?;
                let name = self.read(id).await?.view.name;
                Ok(Response::GroupChosen {
                    message: words::group_chosen(&name),
                    group: GroupItem { id: id.to_hex(), name },
                })
            }
            R::Group { group } => {
                let (_, snapshot) = self.open(&group).await?;
                Ok(Response::Group(Box::new(page(snapshot))))
            }
            R::RenameGroup { group, name } => {
                let id = self.group_id(group.as_deref()).await?;
                let (_, heads) = self.edit(id, Edit::RenameGroup { name }).await?;
                let name = self.read(id).await?.view.name;
                Ok(Response::Changed { heads, message: words::group_renamed(&name) })
            }
            R::EditCharter { group, charter } => {
                let id = self.group_id(group.as_deref()).await?;
                let cadence = match charter.cadence.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(text) => Some(text.parse::<Cadence>().map_err(ApiError::input)?),
                };
                let patch = CharterPatch {
                    purpose: charter.purpose,
                    decision_rules: charter.decision_rules,
                    cadence,
                    confidentiality: charter.confidentiality,
                };
                self.change(id, Edit::EditCharter(patch), words::CHARTER_SAVED).await
            }
            R::AddLocalMember { group, name, sponsor, joined } => {
                let (id, snapshot) = self.open(&group).await?;
                let sponsor = sponsor.map(|s| resolve::member(&snapshot.view, &s)).transpose()?;
                let joined = optional_date(joined.as_deref(), "joining date")?.unwrap_or_else(sunspace_node::today);
                let edit = Edit::AddLocalMember { name: name.clone(), joined, sponsor };
                self.create(id, RecordKind::Member, edit, |record| words::local_member_added(&name, record)).await
            }
            R::UpdateMember { group, member, name, status } => {
                let (id, snapshot) = self.open(&group).await?;
                let member = resolve::member(&snapshot.view, &member)?;
                let message = match (&name, status) {
                    (Some(name), _) => words::member_renamed(name),
                    (None, Some(status)) => words::member_status(&snapshot.view.member_name(&member), status.as_str()),
                    (None, None) => return Err(ApiError::input(words::nothing_to_change("member"))),
                };
                self.change(id, Edit::UpdateMember { member, name, status }, message).await
            }
            R::RemoveMember { group, member, reason } => {
                let reason = reason.trim().to_owned();
                if reason.is_empty() {
                    return Err(ApiError::input(words::REASON_NEEDED));
                }
                let (id, snapshot) = self.open(&group).await?;
                let signed = snapshot.devices.values().map(String::as_str);
                let member = resolve::signed_member(&snapshot.view, signed, &member)?;
                // Read before the removal, while the roster still names them.
                let name = snapshot.view.member_name(&member);
                let command = NodeCommand::RemoveMember { group: id, member: member.clone(), reason };
                let cutoffs = match self.run(command).await? {
                    NodeOutcome::Removed { cutoffs } => cutoffs,
                    other => return Err(outcome_mismatch(&other)),
                };
                Ok(Response::Removed {
                    could_already_read: words::could_already_read(&name),
                    message: words::removed(&name, cutoffs.len()),
                    devices: u32::try_from(cutoffs.len()).unwrap_or(u32::MAX),
                    member,
                    name,
                })
            }
            R::SetSteward { group, member, steward } => {
                let (id, snapshot) = self.open(&group).await?;
                let signed = snapshot.devices.values().map(String::as_str);
                let member = resolve::signed_member(&snapshot.view, signed, &member)?;
                let name = snapshot.view.member_name(&member);
                self.run(NodeCommand::SetSteward { group: id, member: member.clone(), steward }).await?;
                Ok(Response::Steward { message: words::steward(&name, steward), member, name, steward })
            }
            R::RevokeDevice { group, device } => {
                let (id, snapshot) = self.open(&group).await?;
                let found = resolve::device(&snapshot, &device)?;
                let cutoff = match self.run(NodeCommand::RevokeDevice { group: id, device: found }).await? {
                    NodeOutcome::Revoked { cutoff } => cutoff,
                    other => return Err(outcome_mismatch(&other)),
                };
                let device = found.to_hex();
                Ok(Response::Revoked {
                    message: words::revoked(&device, cutoff),
                    could_already_read: words::DEVICE_COULD_ALREADY_READ.to_owned(),
                    device,
                    cutoff,
                })
            }
            R::GrantRole { group, role } => {
                let (id, snapshot) = self.open(&group).await?;
                let member = resolve::member(&snapshot.view, &role.member)?;
                let from = optional_date(role.from.as_deref(), "start date")?.unwrap_or_else(sunspace_node::today);
                let until = optional_date(role.until.as_deref(), "end date")?;
                let name = snapshot.view.member_name(&member);
                let edit = Edit::GrantRole { member, role: role.role.clone(), from, until };
                self.create(id, RecordKind::Role, edit, |grant| words::role_granted(&name, &role.role, until, grant))
                    .await
            }
            R::EndRole { group, grant, on } => {
                let (id, snapshot) = self.open(&group).await?;
                let grant = resolve::record(&snapshot.view, RecordKind::Role, &grant)?;
                let on = optional_date(on.as_deref(), "end date")?.unwrap_or_else(sunspace_node::today);
                self.change(id, Edit::EndRole { grant, on }, words::role_ends(on)).await
            }
            R::AddMeeting { group, meeting } => {
                let (id, snapshot) = self.open(&group).await?;
                let view = &snapshot.view;
                let person = |name: Option<String>| optional_member(view, name);
                let new = NewMeeting {
                    date: optional_date(meeting.date.as_deref(), "date")?.unwrap_or_else(sunspace_node::today),
                    title: meeting.title,
                    kind: meeting.kind.filter(|k| !k.trim().is_empty()).unwrap_or_else(|| "regular".into()),
                    place: meeting.place.filter(|p| !p.trim().is_empty()),
                    facilitator: person(meeting.facilitator)?.flatten(),
                    note_taker: person(meeting.note_taker)?.flatten(),
                };
                let date = new.date;
                let place = resolve::compartment(&snapshot.compartments, meeting.readers.as_deref().unwrap_or(""))?;
                let place = self.place(id, &snapshot, place).await?;
                let message = |record: &str| words::meeting_added(date, record);
                self.create_in(id, place, RecordKind::Meeting, Edit::AddMeeting(new), message).await
            }
            R::EditMeeting { group, meeting, changes } => {
                let (id, snapshot) = self.open(&group).await?;
                let view = &snapshot.view;
                let meeting = resolve::meeting(view, &meeting)?;
                let patch = MeetingPatch {
                    date: optional_date(changes.date.as_deref(), "date")?,
                    title: changes.title,
                    kind: changes.kind,
                    place: changes.place.map(|p| Some(p).filter(|p| !p.trim().is_empty())),
                    facilitator: optional_member(view, changes.facilitator)?,
                    note_taker: optional_member(view, changes.note_taker)?,
                };
                if patch == MeetingPatch::default() {
                    return Err(ApiError::input(words::nothing_to_change("meeting")));
                }
                self.change(id, Edit::UpdateMeeting { meeting, patch }, words::MEETING_UPDATED).await
            }
            R::AddAgendaItem { group, meeting, title, owner } => {
                let (id, snapshot) = self.open(&group).await?;
                let meeting = resolve::meeting(&snapshot.view, &meeting)?;
                let owner = owner.map(|o| resolve::member(&snapshot.view, &o)).transpose()?;
                let edit = Edit::AddAgendaItem { meeting, title, owner };
                self.create(id, RecordKind::Agenda, edit, words::agenda_added).await
            }
            R::SetAgendaItemDone { group, item, done } => {
                let (id, snapshot) = self.open(&group).await?;
                let item = resolve::record(&snapshot.view, RecordKind::Agenda, &item)?;
                self.change(id, Edit::SetAgendaItemDone { item, done }, words::agenda_done(done)).await
            }
            R::SetMinutes { group, meeting, text, base } => {
                let base = base
                    .iter()
                    .map(|hash| hash.parse::<sunspace_model::ChangeHash>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| ApiError::input(words::UNKNOWN_VERSION))?;
                // The window names the meeting by its whole id as it types: no read of the group before the edit
                // (the model refuses an id it does not hold).
                let (id, meeting) = if sunspace_model::is_record_id(&meeting) {
                    (self.group_id(group.as_deref()).await?, meeting)
                } else {
                    let (id, snapshot) = self.open(&group).await?;
                    (id, resolve::meeting(&snapshot.view, &meeting)?)
                };
                let (applied, heads) = self.edit(id, Edit::SetMinutes { meeting, text, base }).await?;
                let Applied::Minutes(text) = applied else {
                    return Err(ApiError::new(ErrorKind::Storage, words::NOT_MADE));
                };
                Ok(Response::MinutesSaved { text, heads, message: words::MINUTES_SAVED.to_owned() })
            }
            R::AppendMinutes { group, meeting, text } => {
                let (id, snapshot) = self.open(&group).await?;
                let meeting = resolve::meeting(&snapshot.view, &meeting)?;
                self.change(id, Edit::AppendMinutes { meeting, text }, words::MINUTES_APPENDED).await
            }
            R::AddAttendance { group, meeting, who, new_face, guest } => {
                let (id, snapshot) = self.open(&group).await?;
                let view = &snapshot.view;
                let meeting = resolve::meeting(view, &meeting)?;
                let attendee = resolve::attendee(view, &who, guest)?;
                let name = view.attendee_name(&attendee);
                let as_guest = matches!(attendee, Attendee::Guest(_)) && !guest;
                let (_, heads) = self.edit(id, Edit::AddAttendance { meeting, who: attendee, new_face }).await?;
                Ok(Response::Attended { message: words::attended(&name, new_face, as_guest), name, as_guest, heads })
            }
            R::SetPresent { group, meeting, member, present } => {
                let (id, snapshot) = self.open(&group).await?;
                let view = &snapshot.view;
                let meeting = resolve::meeting(view, &meeting)?;
                let member = resolve::member(view, &member)?;
                let name = view.member_name(&member);
                let who = Attendee::Member(member);
                if present {
                    let (_, heads) = self.edit(id, Edit::AddAttendance { meeting, who, new_face: false }).await?;
                    Ok(Response::Attended {
                        message: words::attended(&name, false, false),
                        name,
                        as_guest: false,
                        heads,
                    })
                } else {
                    let (_, heads) = self.edit(id, Edit::RemoveAttendance { meeting, who }).await?;
                    Ok(Response::Changed { heads, message: words::attendance_removed(&name) })
                }
            }
            R::RemoveAttendance { group, meeting, who } => {
                let (id, snapshot) = self.open(&group).await?;
                let view = &snapshot.view;
                let meeting = resolve::meeting(view, &meeting)?;
                let attendee = resolve::attendee(view, &who, false)?;
                let name = view.attendee_name(&attendee);
                let (applied, heads) = self.edit(id, Edit::RemoveAttendance { meeting, who: attendee }).await?;
                if applied == Applied::Removed(0) {
                    return Err(ApiError::new(ErrorKind::NotFound, words::not_in_attendance(&name)));
                }
                Ok(Response::Changed { heads, message: words::attendance_removed(&name) })
            }
            R::AddDecision { group, decision } => {
                let (id, snapshot) = self.open(&group).await?;
                let view = &snapshot.view;
                let meeting = decision
                    .meeting
                    .filter(|m| !m.trim().is_empty())
                    .map(|m| resolve::meeting(view, &m))
                    .transpose()?;
                let meeting_date = meeting.as_ref().and_then(|m| view.meeting(m)).map(|m| m.date);
                let new = NewDecision {
                    title: decision.title,
                    method: decision.method,
                    outcome: decision.outcome,
                    date: optional_date(decision.date.as_deref(), "date")?
                        .or(meeting_date)
                        .unwrap_or_else(sunspace_node::today),
                    review_by: optional_date(decision.review_by.as_deref(), "review date")?,
                    meeting,
                };
                self.create(id, RecordKind::Decision, Edit::AddDecision(new), words::decision_recorded).await
            }
            R::EditDecision { group, decision, changes } => {
                let (id, snapshot) = self.open(&group).await?;
                let decision = resolve::record(&snapshot.view, RecordKind::Decision, &decision)?;
                let patch = DecisionPatch {
                    title: changes.title,
                    method: changes.method,
                    outcome: changes.outcome,
                    date: optional_date(changes.date.as_deref(), "date")?,
                    review_by: match changes.review_by.as_deref() {
                        None => None,
                        Some(text) => Some(optional_date(Some(text), "review date")?),
                    },
                };
                if patch == DecisionPatch::default() {
                    return Err(ApiError::input(words::nothing_to_change("decision")));
                }
                self.change(id, Edit::UpdateDecision { decision, patch }, words::DECISION_UPDATED).await
            }
            R::DecisionHistory { group, decision } => {
                let (id, snapshot) = self.open(&group).await?;
                let record = resolve::record(&snapshot.view, RecordKind::Decision, &decision)?;
                match self.run(NodeCommand::History { group: id, kind: RecordKind::Decision, record }).await? {
                    NodeOutcome::History { changes, sentences } => Ok(Response::History { changes, sentences }),
                    other => Err(outcome_mismatch(&other)),
                }
            }
            R::AddAction { group, action } => {
                let (id, snapshot) = self.open(&group).await?;
                let view = &snapshot.view;
                let owners = members(view, &action.owners)?;
                let decision = action
                    .decision
                    .filter(|d| !d.trim().is_empty())
                    .map(|d| resolve::record(view, RecordKind::Decision, &d))
                    .transpose()?;
                let meeting =
                    action.meeting.filter(|m| !m.trim().is_empty()).map(|m| resolve::meeting(view, &m)).transpose()?;
                let new = NewAction {
                    title: action.title,
                    owners,
                    due: optional_date(action.due.as_deref(), "due date")?,
                    decision,
                    meeting,
                };
                self.create(id, RecordKind::Action, Edit::AddAction(new), words::action_added).await
            }
            R::SetActionDone { group, action, done, on } => {
                let (id, snapshot) = self.open(&group).await?;
                let action = resolve::record(&snapshot.view, RecordKind::Action, &action)?;
                let on = if done {
                    Some(optional_date(on.as_deref(), "date")?.unwrap_or_else(sunspace_node::today))
                } else {
                    None
                };
                self.change(id, Edit::SetActionDone { action, on }, words::action_done(done)).await
            }
            R::EditAction { group, action, changes } => {
                let (id, snapshot) = self.open(&group).await?;
                let view = &snapshot.view;
                let action = resolve::record(view, RecordKind::Action, &action)?;
                let patch = ActionPatch {
                    title: changes.title,
                    due: match changes.due.as_deref() {
                        None => None,
                        Some(text) => Some(optional_date(Some(text), "due date")?),
                    },
                    add_owners: members(view, &changes.add_owners)?,
                    remove_owners: members(view, &changes.remove_owners)?,
                };
                if patch == ActionPatch::default() {
                    return Err(ApiError::input(words::nothing_to_change("action item")));
                }
                self.change(id, Edit::UpdateAction { action, patch }, words::ACTION_UPDATED).await
            }
            R::Resolve { group, kind, record, field, keep } => {
                let (id, snapshot) = self.open(&group).await?;
                let view = &snapshot.view;
                let (kind, record) = match kind {
                    Some(kind @ (RecordKind::Group | RecordKind::Charter)) => (kind, String::new()),
                    Some(kind) => (kind, resolve::record(view, kind, &record)?),
                    None => resolve::any(view, &record)?,
                };
                let field = field.replace('-', "_");
                let conflicts = conflicts_of(view, kind, &record);
                let conflict = conflicts
                    .iter()
                    .find(|c| c.field == field)
                    .ok_or_else(|| ApiError::new(ErrorKind::NotFound, words::no_conflict(&field, kind)))?;
                let value = match keep {
                    Keep::Number(n) => usize::try_from(n)
                        .ok()
                        .and_then(|n| n.checked_sub(1))
                        .and_then(|i| conflict.values.get(i))
                        .map(|v| v.value.clone())
                        .ok_or_else(|| ApiError::input(words::no_value_number(n, conflict.values.len())))?,
                    Keep::Value(value) => value,
                };
                let record = if record.is_empty() { "-".to_owned() } else { record };
                let message = words::kept(&value, &field);
                self.change(id, Edit::Resolve { kind, record, field, value }, message).await
            }
            R::Vitality { group, as_of } => {
                let (_, snapshot) = self.open(&group).await?;
                let as_of = optional_date(as_of.as_deref(), "date")?.unwrap_or_else(sunspace_node::today);
                let (devices, verified_in_person) = snapshot.devices_verified;
                let facts = sunspace_model::vitality::MembershipFacts { devices, verified_in_person };
                Ok(Response::Vitality(Box::new(sunspace_model::vitality::compute_with(&snapshot.view, as_of, facts))))
            }
            R::Export { group, format } => {
                let id = self.group_id(group.as_deref()).await?;
                let bytes = match format {
                    ExportFormat::Markdown => {
                        let snapshot = self.read(id).await?;
                        let label = |hex: &str| words::readers_label(&snapshot, hex);
                        sunspace_model::export::markdown_with(&snapshot.view, &label).into_bytes()
                    }
                    // The archive is a file that may travel: a compartment's records stay out of it (sealed in the
                    // compartment); the Markdown export is where this device's member reads them.
                    ExportFormat::Json => serde_json::to_vec_pretty(&self.read(id).await?.view.without_compartments())
                        .map_err(|_| ApiError::new(ErrorKind::Storage, words::NOT_MADE))?,
                    ExportFormat::Automerge => match self.run(NodeCommand::ExportAutomerge(id)).await? {
                        NodeOutcome::Bytes(bytes) => bytes,
                        other => return Err(outcome_mismatch(&other)),
                    },
                };
                Ok(Response::Exported { format, bytes })
            }
            R::CarryExport { group, for_device } => {
                let (id, snapshot) = self.open(&group).await?;
                let target = match for_device.as_deref() {
                    Some(prefix) => {
                        let device = resolve::device(&snapshot, prefix)?;
                        let hex = device.to_hex();
                        let member = snapshot.devices.get(&hex).map(String::as_str).unwrap_or_default();
                        Some((device, words::device_of(snapshot.view.member(member).map(|m| m.name.as_str()), &hex)))
                    }
                    None => None,
                };
                let command = NodeCommand::CarryExport { group: id, for_device: target.as_ref().map(|(d, _)| *d) };
                match self.run(command).await? {
                    NodeOutcome::CarryFile { bytes, entries } => {
                        let message = words::carry_written(entries, target.as_ref().map(|(_, name)| name.as_str()));
                        Ok(Response::CarryFile { bytes, entries, message })
                    }
                    other => Err(outcome_mismatch(&other)),
                }
            }
            R::CarryImport { bytes } => match self.run(NodeCommand::CarryImport(bytes)).await? {
                NodeOutcome::Carried(receipt) => Ok(Response::Carried {
                    message: words::carried(&receipt),
                    applied: receipt.applied,
                    refused: receipt.refused,
                }),
                other => Err(outcome_mismatch(&other)),
            },
            R::AddRelay { group, addresses } => {
                let (id, snapshot) = self.open(&group).await?;
                let relay = relay_of(&snapshot, &addresses)?;
                let edit = Edit::SetRelay { relay: relay.clone(), owner: snapshot.me.clone(), addresses };
                self.change(id, edit, words::relay_added(&relay)).await
            }
            R::RemoveRelay { group, relay } => {
                let (id, snapshot) = self.open(&group).await?;
                let relay = resolve::by_prefix(snapshot.relays.iter().map(|r| r.device.as_str()), &relay)
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::new(ErrorKind::NotFound, words::no_single_relay(&relay)))?;
                let message = words::relay_removed(&relay);
                self.change(id, Edit::RemoveRelay { relay }, message).await
            }
            R::Status => {
                let handle = self.needs_engine()?;
                Ok(Response::Status { status: Box::new(handle.status().await?) })
            }
            R::Sync { group } => {
                let id = self.group_id(group.as_deref()).await?;
                let status = self.needs_engine()?.status().await?;
                Ok(Response::Sync(Box::new(sync_view(&status, &id.to_hex())?)))
            }
            R::AddPeer { address } => {
                self.needs_engine()?.add_peer(&address).await?;
                Ok(Response::Done { message: words::CONNECTING.to_owned() })
            }
            R::RecordOneOnOne { group, one_on_one } => Box::pin(self.record_one_on_one(group, one_on_one)).await,
            R::ShareStory { group, story } => Box::pin(self.share_story(group, story)).await,
            R::AddPerson { group, person } => Box::pin(self.add_person(group, person)).await,
            R::EditPerson { group, person, changes } => Box::pin(self.edit_person(group, person, changes)).await,
            R::NamePattern { group, pattern } => Box::pin(self.name_pattern(group, pattern)).await,
            R::EditPattern { group, pattern, changes } => Box::pin(self.edit_pattern(group, pattern, changes)).await,
            R::CreateCompartment { group, name, members } => {
                Box::pin(self.create_compartment(group, name, members)).await
            }
            R::AddToCompartment { group, compartment, member } => {
                Box::pin(self.compartment_member(group, compartment, member, true)).await
            }
            R::RemoveFromCompartment { group, compartment, member } => {
                Box::pin(self.compartment_member(group, compartment, member, false)).await
            }
            R::MoveRecord { group, kind, record, to } => Box::pin(self.move_record(group, kind, record, to)).await,
        }
    }

    fn needs_engine(&self) -> Result<&NodeHandle, ApiError> {
        self.engine_handle().ok_or_else(|| ApiError::new(ErrorKind::Refused, words::NEEDS_THE_ENGINE))
    }
}

/// Members by name or id; an empty name is skipped.
fn members(view: &GroupView, names: &[String]) -> Result<Vec<String>, ApiError> {
    names.iter().filter(|n| !n.trim().is_empty()).map(|n| resolve::member(view, n)).collect()
}

/// A person field of a meeting: missing stays, empty clears, a name is resolved.
fn optional_member(view: &GroupView, name: Option<String>) -> Result<Option<Option<String>>, ApiError> {
    name.map(|n| if n.trim().is_empty() { Ok(None) } else { resolve::member(view, &n).map(Some) }).transpose()
}

/// The conflicts of one record.
fn conflicts_of(view: &GroupView, kind: RecordKind, id: &str) -> Vec<sunspace_model::Conflict> {
    match kind {
        RecordKind::Group => view.conflicts.clone(),
        RecordKind::Charter => view.charter.conflicts.clone(),
        RecordKind::Meeting => view.meeting(id).map(|m| m.conflicts.clone()).unwrap_or_default(),
        RecordKind::Decision => {
            view.decisions.iter().find(|d| d.id == id).map(|d| d.conflicts.clone()).unwrap_or_default()
        }
        RecordKind::Action => view.actions.iter().find(|a| a.id == id).map(|a| a.conflicts.clone()).unwrap_or_default(),
        RecordKind::Member => view.member(id).map(|m| m.conflicts.clone()).unwrap_or_default(),
        RecordKind::Role => view.roles.iter().find(|r| r.id == id).map(|r| r.conflicts.clone()).unwrap_or_default(),
        RecordKind::Agenda => view
            .meetings
            .iter()
            .flat_map(|m| m.agenda.iter())
            .find(|i| i.id == id)
            .map(|i| i.conflicts.clone())
            .unwrap_or_default(),
        RecordKind::Person => view.people.iter().find(|p| p.id == id).map(|p| p.conflicts.clone()).unwrap_or_default(),
        RecordKind::OneOnOne => {
            view.one_on_ones.iter().find(|o| o.id == id).map(|o| o.conflicts.clone()).unwrap_or_default()
        }
        RecordKind::Conversation => {
            view.conversations.iter().find(|c| c.id == id).map(|c| c.conflicts.clone()).unwrap_or_default()
        }
        RecordKind::Story => view.stories.iter().find(|s| s.id == id).map(|s| s.conflicts.clone()).unwrap_or_default(),
        RecordKind::Pattern => {
            view.patterns.iter().find(|p| p.id == id).map(|p| p.conflicts.clone()).unwrap_or_default()
        }
    }
}

/// The relay a list of addresses names: one device, not a member's, reached directly.
fn relay_of(snapshot: &GroupSnapshot, addresses: &[String]) -> Result<String, ApiError> {
    use words::RelayAddressProblem as Problem;
    let refuse = |text: &str, problem| Err(ApiError::input(words::relay_address_problem(text, problem)));
    let mut relay = None;
    for text in addresses {
        let Ok(address) = text.parse::<sunspace_net::Multiaddr>() else { return refuse(text, Problem::NotAnAddress) };
        if address.iter().any(|p| p == sunspace_net::Protocol::P2pCircuit) {
            return refuse(text, Problem::ThroughAnotherRelay);
        }
        let Some(device) = sunspace_net::device_of_address(&address) else { return refuse(text, Problem::NoDevice) };
        if relay.is_some_and(|r| r != device) {
            return refuse(text, Problem::SeveralDevices);
        }
        if snapshot.devices.contains_key(&device.to_hex()) {
            return refuse(text, Problem::MemberDevice);
        }
        relay = Some(device);
    }
    match relay {
        Some(relay) => Ok(relay.to_hex()),
        None => refuse("", Problem::None),
    }
}

/// A group's sync state in words, from the engine's status.
pub(crate) fn sync_view(status: &sunspace_node::engine::Status, group: &str) -> Result<SyncView, ApiError> {
    let Some(group) = status.groups.iter().find(|g| g.id == group) else {
        return Err(ApiError::new(ErrorKind::NotFound, words::GROUP_NOT_HERE));
    };
    let peers: Vec<PeerView> = group
        .peers
        .iter()
        .map(|p| PeerView {
            name: p.name.clone(),
            device: p.device.clone(),
            connected: p.connected,
            state: words::peer_state(p.connected, p.to_send),
            reach: words::peer_reach(p),
        })
        .collect();
    let in_reach: Vec<&str> = group.peers.iter().filter(|p| p.connected).map(|p| p.name.as_str()).collect();
    let all_up_to_date = group.peers.iter().filter(|p| p.connected).all(|p| p.to_send == Some(0));
    let summary = words::sync_summary(peers.len(), &in_reach, all_up_to_date);
    let to_receive = group.peers.iter().filter(|p| p.connected).filter_map(|p| p.to_receive).max().unwrap_or(0);
    let waiting = group.waiting as u64;
    let receiving = (to_receive > 0 || waiting > 0).then(|| {
        let held = group.entries;
        let total = held + to_receive.max(waiting);
        SyncProgress { held, total, summary: words::receiving(held, total) }
    });
    let integrity = group.integrity.iter().map(|note| note.sentence.clone()).collect();
    Ok(SyncView { online: !in_reach.is_empty(), summary, peers, waiting, receiving, integrity })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use sunspace_model::{DeviceRecord, Founder, GroupDoc, MemberStatus};

    use super::*;

    /// Ana (steward, one device) and Bea (two devices) in the signed membership; Bea's document record then
    /// edited the way a hostile member could: her standing set to "left", one of her devices marked revoked,
    /// and Ana's device record pointed at Bea.
    fn hostile_snapshot() -> (GroupSnapshot, String, String) {
        let (ana_device, bea_phone, bea_laptop) = ("aa".repeat(32), "bb".repeat(32), "cc".repeat(32));
        let founder =
            Founder { device_id: ana_device.clone(), agreement_key: "11".repeat(32), display_name: "Ana".into() };
        let today = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let (mut doc, ana) = GroupDoc::create(&"cd".repeat(16), "Tenants", &founder, today).unwrap();
        let record = |id: &str| DeviceRecord {
            device_id: id.into(),
            agreement_key: "22".repeat(32),
            method: "in-person-qr".into(),
        };
        let bea = doc.record_device(None, "Bea", &record(&bea_phone), today).unwrap();
        doc.record_device(Some(&bea), "Bea", &record(&bea_laptop), today).unwrap();
        // What Bea's device writes into the document, which any member may.
        doc.update_member(&bea, None, Some(MemberStatus::Left)).unwrap();
        doc.set_device_revoked(&bea_laptop, today).unwrap();
        let signed: BTreeMap<String, String> =
            [(ana_device.clone(), ana.clone()), (bea_phone, bea.clone()), (bea_laptop.clone(), bea.clone())].into();
        let snapshot = GroupSnapshot {
            view: doc.view(),
            stewards: vec![ana.clone()],
            devices: signed,
            safety_number: String::new(),
            relays: Vec::new(),
            me: ana_device,
            my_member: Some(ana.clone()),
            compartments: Vec::new(),
            all_compartments: BTreeMap::new(),
            devices_verified: (3, 3),
        };
        (snapshot, ana, bea)
    }

    #[test]
    fn what_a_steward_may_do_is_judged_on_the_signed_membership_not_the_document() {
        let (snapshot, ana, bea) = hostile_snapshot();
        let (removable, revocable, stewardable) = choices(&snapshot);
        // Bea marked herself as left and one device as revoked: she is still removable, both her devices still
        // revocable, since the signed membership still lets them read.
        assert_eq!(removable.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![bea.clone()]);
        assert!(removable[0].warning.starts_with("Bea keeps everything"));
        assert_eq!(revocable.len(), 2, "{revocable:?}");
        assert!(stewardable.contains(&ana) && stewardable.contains(&bea));
    }

    #[test]
    fn a_member_who_is_not_a_steward_is_offered_only_their_own_devices() {
        let (mut snapshot, _, bea) = hostile_snapshot();
        snapshot.me = "bb".repeat(32);
        snapshot.my_member = Some(bea);
        let (removable, revocable, stewardable) = choices(&snapshot);
        assert!(removable.is_empty() && stewardable.is_empty());
        assert_eq!(revocable.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec!["cc".repeat(32)]);
    }
}
