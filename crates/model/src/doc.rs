//! The group document and its edits.
//!
//! Layout of the automerge document (every key a string; record maps keyed by random record id):
//!
//! ```text
//! sunspace_schema: 1
//! group:    { id, name, created }
//! charter:  { purpose: Text, decision_rules: Text, cadence, confidentiality: Text }
//! members:  { <id>: { name, status, joined, kind, sponsor? } }
//! devices:  { <device hex>: { member, agreement_key, method, added } }
//! roles:    { <id>: { member, role, from, until? } }
//! meetings: { <id>: { date, title, kind, place?, facilitator?, note_taker?, minutes: Text,
//!                     agenda: { <id>: { title, position, owner?, done } },
//!                     attendance: { <record id>: { who, new_face, recorded } } } }
//! decisions:{ <id>: { title, method, outcome, date, review_by?, meeting? } }
//! actions:  { <id>: { title, owners: { <member id>: true }, due?, status, done_on?, decision?, meeting? } }
//! people:        { <id>: { name, place?, holder?, stance, became_member?, added } }
//! one_on_ones:   { <id>: { with_member?, with_person?, with_name, on, place?, keeps_up_at_night: Text,
//!                          wish_different: Text, others_who_share: Text, warmth, next_step?, next_step_on?, by } }
//! conversations: { <id>: { by, on, with_base } }
//! stories:       { <id>: { text: Text, told_by?, from_one_on_one?, shared_by, shared_on } }
//! patterns:      { <id>: { name, named_on, named_at?, state, stories: { <story id>: true },
//!                          meetings: { <meeting id>: true }, conversations, description: Text } }
//! ```
//!
//! The last five tables (the listening step) came after the first layout, without a new layout version: a
//! document made before them lacks them until a device writes such a record, and reads go through every concurrent
//! value of their root keys (see [`tables`]). A compartment's document ([`GroupDoc::create_compartment`]) has the
//! same layout, with `kind: "compartment"` in its group record and no members, devices or roles.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value};
use chrono::NaiveDate;

use crate::ids::{is_record_id, new_record_id};
pub(crate) use crate::input::LISTENING_TABLES;
use crate::input::{check_len, optional_line, required_line};
use crate::read::{child, entries, scalar_text, Fields};
use crate::view::{
    ActionStatus, ActionView, AgendaItemView, AttendanceView, Attendee, CharterView, DecisionView, DeviceView,
    GroupView, MeetingView, MemberStatus, MemberView, RelayView, RoleGrantView,
};

mod listening;
mod moving;
mod tables;

use crate::{
    ActionPatch, CharterPatch, DecisionMethod, DecisionPatch, MeetingPatch, ModelError, NewAction, NewDecision,
    NewMeeting, RecordId, RecordKind, MAX_NAME_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN,
};
pub use moving::{RecordData, RecordValue};

/// The version of the document layout this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;
const SCHEMA_KEY: &str = "sunspace_schema";
/// Relays a group may list: one or two per group is the expected case.
const MAX_RELAYS: usize = 8;

/// The member and device that create a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Founder {
    /// The founding device's public signing key, hex. It becomes the document's automerge actor id.
    pub device_id: String,
    /// The founding device's public X25519 key, hex.
    pub agreement_key: String,
    /// The founder's display name in this group.
    pub display_name: String,
}

/// A device as recorded in the document when it is admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// The device's public signing key, hex.
    pub device_id: String,
    /// Its public X25519 key, hex.
    pub agreement_key: String,
    /// How it was verified, e.g. "in-person-code".
    pub method: String,
}

/// A core group's records: one automerge document with a typed API.
#[derive(Debug)]
pub struct GroupDoc {
    pub(crate) doc: AutoCommit,
    /// What vetting received changes needs to know between entries (see [`crate::incoming`]).
    pub(crate) vetting: crate::chunks::ChangeVetting,
}

/// Runs an automerge parse, turning both its errors and its panics into [`ModelError::Unreadable`].
///
/// automerge panics on some malformed inputs instead of returning an error (found by fuzzing, kept in
/// `fuzz/regressions/`). Bytes that reach a parser may come from a damaged disk or, later, from a peer, and must
/// never crash the app.
fn guarded<T>(parse: impl FnOnce() -> Result<T, automerge::AutomergeError>) -> Result<T, ModelError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ModelError::Unreadable(error.to_string())),
        Err(_) => Err(ModelError::Unreadable("the data is malformed".into())),
    }
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

impl GroupDoc {
    /// Creates a group document whose author is the founding device; the founder is its first member and steward.
    /// Returns the document and the founder's member id.
    pub fn create(
        group_id: &str,
        name: &str,
        founder: &Founder,
        today: NaiveDate,
    ) -> Result<(Self, RecordId), ModelError> {
        let display_name = required_line("member name", &founder.display_name, MAX_NAME_LEN)?;
        let mut this = Self::skeleton(group_id, name, &founder.device_id, today, None)?;
        let member = this.insert_member(&display_name, "app", today, None)?;
        let devices = this.root_map("devices")?;
        let device = this.doc.put_object(&devices, founder.device_id.as_str(), ObjType::Map)?;
        this.doc.put(&device, "member", member.as_str())?;
        this.doc.put(&device, "agreement_key", founder.agreement_key.as_str())?;
        this.doc.put(&device, "method", "founder")?;
        this.doc.put(&device, "added", date_text(today))?;
        this.grant_role(&member, "steward", today, None)?;
        Ok((this, member))
    }

    /// Creates the document of a compartment: a part of the group's records with its own keys (a sub-group, or
    /// "only me"), held only by the devices of the members in it. Its author is the creating device (hex), whose
    /// first change lays the document out, as the founder's does a group's.
    ///
    /// It has the group document's layout, so that it loads, reads and is vetted exactly like one, with the
    /// compartment's name as its group name, `kind: "compartment"` in its group record, and no members, devices or
    /// roles: who belongs to the group stays in the group's document. Its records may name members and other records
    /// of the group's document, which this document cannot check (see [`GroupDoc::is_compartment`]).
    pub fn create_compartment(
        compartment_id: &str,
        name: &str,
        author_device: &str,
        today: NaiveDate,
    ) -> Result<Self, ModelError> {
        if compartment_id.is_empty()
            || compartment_id.len() > 128
            || !compartment_id.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(ModelError::Invalid("the compartment id is not hex".into()));
        }
        Self::skeleton(&compartment_id.to_lowercase(), name, author_device, today, Some("compartment"))
    }

    /// The layout every document starts with: the layout version, the group record, an empty charter and every
    /// table, authored by `device` (hex).
    fn skeleton(id: &str, name: &str, device: &str, today: NaiveDate, kind: Option<&str>) -> Result<Self, ModelError> {
        let name = required_line("group name", name, MAX_NAME_LEN)?;
        let actor = hex::decode(device).map_err(|_| ModelError::Invalid("the founding device id is not hex".into()))?;
        let mut doc = AutoCommit::new();
        doc.set_actor(ActorId::from(actor));
        doc.put(ObjId::Root, SCHEMA_KEY, SCHEMA_VERSION)?;
        let group = doc.put_object(ObjId::Root, "group", ObjType::Map)?;
        doc.put(&group, "id", id)?;
        doc.put(&group, "name", name)?;
        doc.put(&group, "created", date_text(today))?;
        if let Some(kind) = kind {
            doc.put(&group, "kind", kind)?;
        }
        let charter = doc.put_object(ObjId::Root, "charter", ObjType::Map)?;
        for field in ["purpose", "decision_rules", "confidentiality"] {
            doc.put_object(&charter, field, ObjType::Text)?;
        }
        for map in
            ["members", "devices", "roles", "meetings", "decisions", "actions"].into_iter().chain(LISTENING_TABLES)
        {
            doc.put_object(ObjId::Root, map, ObjType::Map)?;
        }
        Ok(Self { doc, vetting: Default::default() })
    }

    /// Whether this is a compartment's document ([`GroupDoc::create_compartment`]) rather than a group's.
    pub fn is_compartment(&self) -> bool {
        self.root_map("group")
            .ok()
            .and_then(|group| Fields::new(&self.doc, group).string("kind"))
            .is_some_and(|kind| kind == "compartment")
    }

    /// Loads a document saved with [`GroupDoc::save`] (or any automerge document with this layout).
    pub fn load(bytes: &[u8]) -> Result<Self, ModelError> {
        // Every chunk's header and checksum are checked before automerge parses anything: automerge 0.12 panics
        // on some malformed input (`fuzz/regressions/`), and a panic caught here is no defence in a build that
        // aborts on panic, as phone builds often do.
        crate::chunks::check_chunk_headers(bytes)?;
        let doc = guarded(|| AutoCommit::load(bytes))?;
        let this = Self { doc, vetting: Default::default() };
        this.check_schema()?;
        Ok(this)
    }

    /// Loads a document whose bytes are already known to be intact and this device's own (a sealed snapshot,
    /// authenticated by its AEAD tag), skipping automerge's re-hashing of every change, which dominates loading.
    pub fn load_trusted(bytes: &[u8]) -> Result<Self, ModelError> {
        // Without verification automerge may hand back a document that panics when read; the schema check runs
        // inside the guard so such bytes are an error here, not a crash later.
        let this = Self { doc: guarded(|| AutoCommit::load_unverified_heads(bytes))?, vetting: Default::default() };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| this.check_schema())) {
            Ok(checked) => checked.map(|()| this),
            Err(_) => Err(ModelError::Unreadable("the data is malformed".into())),
        }
    }

    /// An empty document, to be filled by [`GroupDoc::load_incremental`] from a device's logs.
    pub fn empty() -> Self {
        Self { doc: AutoCommit::new(), vetting: Default::default() }
    }

    /// Applies changes in automerge's incremental encoding (as made by [`GroupDoc::save_after`]).
    ///
    /// If the bytes are malformed the document may hold part of them; callers discard it on error.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), ModelError> {
        self.vetting.reset();
        guarded(|| self.doc.load_incremental(bytes))?;
        Ok(())
    }

    /// Fails unless the document declares the schema version this build reads.
    pub fn check_schema(&self) -> Result<(), ModelError> {
        match self.doc.get(ObjId::Root, SCHEMA_KEY) {
            Ok(Some((Value::Scalar(value), _))) => match value.as_ref() {
                ScalarValue::Int(SCHEMA_VERSION) => Ok(()),
                ScalarValue::Int(other) => Err(ModelError::Unreadable(format!(
                    "it uses layout version {other}, and this version of Sunspace reads version {SCHEMA_VERSION}"
                ))),
                _ => Err(ModelError::Unreadable("its layout version is malformed".into())),
            },
            _ => Err(ModelError::Unreadable("it is not a Sunspace group document".into())),
        }
    }

    /// Sets the automerge actor id, which must be the editing device's public key (hex).
    pub fn set_author(&mut self, device_id: &str) -> Result<(), ModelError> {
        let actor = hex::decode(device_id).map_err(|_| ModelError::Invalid("the device id is not hex".into()))?;
        self.doc.set_actor(ActorId::from(actor));
        Ok(())
    }

    /// The whole document in automerge's compressed format.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes made after `heads`, in automerge's incremental encoding.
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// The changes after `heads` and how many there are, in automerge's compact bundle encoding (the document
    /// format's column compression applied to a set of changes: 1,000 small edits take ~5 KB instead of
    /// ~130 KB as individual changes). Falls back to individual changes if bundling fails.
    pub fn changes_after(&mut self, heads: &[ChangeHash]) -> (Vec<u8>, usize) {
        // Only this device's own changes: another device's changes in this device's entry would be refused by
        // every receiver (the actor must be the signing device's).
        let actor = self.doc.get_actor().clone();
        let own: Vec<automerge::Change> =
            self.doc.get_changes(heads).into_iter().filter(|c| c.actor_id() == &actor).collect();
        let count = own.len();
        if count == 0 {
            return (Vec::new(), 0);
        }
        match self.doc.bundle(own.iter().map(|c| c.hash())) {
            Ok(bundle) => (bundle.bytes().to_vec(), count),
            Err(_) => (own.iter().flat_map(|c| c.raw_bytes().iter().copied()).collect(), count),
        }
    }

    /// The document's current heads.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The group id the document says it belongs to (empty if it says none).
    pub fn group_id(&self) -> String {
        self.root_map("group").ok().and_then(|group| Fields::new(&self.doc, group).string("id")).unwrap_or_default()
    }

    /// Every actor (device id) with changes in the document, with how many: what a checkpoint's document is
    /// checked against (each must be a device the group admitted). Fails if a change names an automerge author
    /// or an actor that is not 32 bytes, as a received entry's changes would.
    pub fn change_actors(&mut self) -> Result<std::collections::BTreeMap<[u8; 32], u64>, ModelError> {
        let mut actors = std::collections::BTreeMap::new();
        for meta in self.doc.get_changes_meta(&[]) {
            let actor: [u8; 32] = meta
                .actor
                .to_bytes()
                .try_into()
                .map_err(|_| ModelError::Unreadable("a change's author is not a device".into()))?;
            *actors.entry(actor).or_insert(0) += 1;
        }
        Ok(actors)
    }

    /// Whether every change in the document has all its dependencies (none waits for a change not received).
    pub fn is_complete(&mut self) -> bool {
        self.doc.get_missing_deps(&[]).is_empty()
    }

    /// Takes in every change of `other` this document lacks (a checkpoint's document, already checked).
    pub fn merge(&mut self, other: &mut GroupDoc) -> Result<(), ModelError> {
        self.vetting.reset();
        let merged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.doc.merge(&mut other.doc)));
        match merged {
            Ok(Ok(_)) => self.check_schema(),
            Ok(Err(error)) => Err(ModelError::Unreadable(error.to_string())),
            Err(_) => Err(ModelError::Unreadable("automerge could not merge the documents".into())),
        }
    }

    /// Of `heads` (a version that may span several documents: the group's and its compartments', as a merged
    /// view shows it), the ones this document holds: the version of this document the writer saw, to merge an edit
    /// typed on it ([`GroupDoc::merge_minutes`]). Empty when it holds none of them.
    pub fn known_heads(&mut self, heads: &[ChangeHash]) -> Vec<ChangeHash> {
        heads.iter().filter(|hash| self.doc.get_change_meta_by_hash(hash).is_some()).copied().collect()
    }

    /// Ends the pending edits as one change, stamped with `time` (seconds since the epoch).
    pub fn commit(&mut self, time: i64) -> Option<ChangeHash> {
        let hash = self.doc.commit_with(CommitOptions::default().with_time(time))?;
        if let Some(meta) = self.doc.get_change_meta_by_hash(&hash) {
            let (actor, seq) = (meta.actor.into_owned(), meta.seq);
            self.vetting.note_local(&actor, seq);
        }
        Some(hash)
    }

    /// Throws away edits not yet committed.
    pub fn rollback(&mut self) {
        self.doc.rollback();
    }

    /// The underlying automerge document, for callers that need its full API (export, sync).
    pub fn automerge(&mut self) -> &mut AutoCommit {
        // Whatever the caller does, what vetting knew of the document may no longer hold.
        self.vetting.reset();
        &mut self.doc
    }

    // ---- internal navigation ----

    fn root_map(&self, key: &'static str) -> Result<ObjId, ModelError> {
        child(&self.doc, &ObjId::Root, key, ObjType::Map)
            .ok_or_else(|| ModelError::Unreadable(format!("the document has no {key} table")))
    }

    pub(crate) fn record(&self, kind: RecordKind, id: &str) -> Result<ObjId, ModelError> {
        let not_found = || ModelError::NotFound { kind: kind.noun(), id: id.to_owned() };
        match kind {
            RecordKind::Group => self.root_map("group"),
            RecordKind::Charter => self.root_map("charter"),
            RecordKind::Agenda => self.agenda_item(id).map(|(_, item)| item).ok_or_else(not_found),
            _ => {
                let table = kind.table().ok_or_else(not_found)?;
                self.find_in_tables(table, id).ok_or_else(not_found)
            }
        }
    }

    fn agenda_item(&self, id: &str) -> Option<(ObjId, ObjId)> {
        self.tables("meetings").into_iter().find_map(|meetings| {
            self.doc.keys(&meetings).find_map(|meeting_id| {
                let meeting = child(&self.doc, &meetings, &meeting_id, ObjType::Map)?;
                let agenda = child(&self.doc, &meeting, "agenda", ObjType::Map)?;
                child(&self.doc, &agenda, id, ObjType::Map).map(|item| (meeting, item))
            })
        })
    }

    fn require(&self, kind: RecordKind, id: &str) -> Result<(), ModelError> {
        self.record(kind, id).map(|_| ())
    }

    /// Checks a reference from one record to another: that it has the shape of a record id, and, in a group's
    /// document, that the record is there. A compartment's records may name members and records of the group's
    /// document (or of another compartment), which its document cannot see: there only the shape is checked, and
    /// the caller, holding the merged view, checks the rest.
    fn require_ref(&self, kind: RecordKind, id: &str) -> Result<(), ModelError> {
        if !is_record_id(id) {
            return Err(ModelError::NotFound { kind: kind.noun(), id: id.to_owned() });
        }
        if self.is_compartment() {
            return Ok(());
        }
        self.require(kind, id)
    }

    /// Checks that a reference has the shape of a record id, without looking for the record: for records that may
    /// live in another document by design (a story linked into a pattern, the one-on-one a story comes from).
    fn require_id_shape(kind: RecordKind, id: &str) -> Result<(), ModelError> {
        if is_record_id(id) {
            Ok(())
        } else {
            Err(ModelError::NotFound { kind: kind.noun(), id: id.to_owned() })
        }
    }

    fn put_optional(&mut self, obj: &ObjId, key: &str, value: Option<String>) -> Result<(), ModelError> {
        match value {
            Some(value) => self.doc.put(obj, key, value)?,
            None => {
                if self.doc.get(obj, key)?.is_some() {
                    self.doc.delete(obj, key)?;
                }
            }
        }
        Ok(())
    }

    fn text_field(&mut self, obj: &ObjId, key: &str) -> Result<ObjId, ModelError> {
        match child(&self.doc, obj, key, ObjType::Text) {
            Some(text) => Ok(text),
            None => Ok(self.doc.put_object(obj, key, ObjType::Text)?),
        }
    }

    fn insert_member(
        &mut self,
        name: &str,
        kind: &str,
        joined: NaiveDate,
        sponsor: Option<&str>,
    ) -> Result<RecordId, ModelError> {
        let members = self.root_map("members")?;
        let id = new_record_id();
        let member = self.doc.put_object(&members, id.as_str(), ObjType::Map)?;
        self.doc.put(&member, "name", name)?;
        self.doc.put(&member, "status", MemberStatus::Active.as_str())?;
        self.doc.put(&member, "joined", date_text(joined))?;
        self.doc.put(&member, "kind", kind)?;
        if let Some(sponsor) = sponsor {
            self.doc.put(&member, "sponsor", sponsor)?;
        }
        Ok(id)
    }

    // ---- edits ----

    /// Renames the group.
    pub fn rename_group(&mut self, name: &str) -> Result<(), ModelError> {
        let name = required_line("group name", name, MAX_NAME_LEN)?;
        let group = self.root_map("group")?;
        self.doc.put(&group, "name", name)?;
        Ok(())
    }

    /// Edits the charter. Prose fields are updated as text diffs, so concurrent edits merge.
    pub fn edit_charter(&mut self, patch: &CharterPatch) -> Result<(), ModelError> {
        let texts = [
            ("purpose", &patch.purpose),
            ("decision_rules", &patch.decision_rules),
            ("confidentiality", &patch.confidentiality),
        ];
        for (field, value) in &texts {
            if let Some(value) = value {
                check_len(field, value, MAX_TEXT_LEN)?;
            }
        }
        let charter = self.root_map("charter")?;
        for (field, value) in texts {
            if let Some(value) = value {
                let text = self.text_field(&charter, field)?;
                self.doc.update_text(&text, value)?;
            }
        }
        if let Some(cadence) = patch.cadence {
            self.doc.put(&charter, "cadence", cadence.to_string())?;
        }
        Ok(())
    }

    /// Adds a member who does not (yet) use the app, so attendance and roles can name them.
    pub fn add_local_member(
        &mut self,
        name: &str,
        joined: NaiveDate,
        sponsor: Option<&str>,
    ) -> Result<RecordId, ModelError> {
        let name = required_line("member name", name, MAX_NAME_LEN)?;
        if let Some(sponsor) = sponsor {
            self.require_ref(RecordKind::Member, sponsor)?;
        }
        self.insert_member(&name, "local", joined, sponsor)
    }

    /// Records a device verified in person for a member, and marks the member as an app user. With `member`
    /// `None`, a new member record named `name` is made first. Returns the member's record id. (The group's
    /// signed membership log is what grants access; this record is what people read.)
    pub fn record_device(
        &mut self,
        member: Option<&str>,
        name: &str,
        device: &DeviceRecord,
        added: NaiveDate,
    ) -> Result<RecordId, ModelError> {
        let member = match member {
            Some(member) => {
                let id = self.find_id(RecordKind::Member, member)?;
                let obj = self.record(RecordKind::Member, &id)?;
                self.doc.put(&obj, "kind", "app")?;
                id
            }
            None => {
                let name = required_line("member name", name, MAX_NAME_LEN)?;
                self.insert_member(&name, "app", added, None)?
            }
        };
        let devices = self.root_map("devices")?;
        let obj = self.doc.put_object(&devices, device.device_id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "member", member.as_str())?;
        self.doc.put(&obj, "agreement_key", device.agreement_key.as_str())?;
        self.doc.put(&obj, "method", device.method.as_str())?;
        self.doc.put(&obj, "added", date_text(added))?;
        Ok(member)
    }

    /// Records where a device was last reachable (its own network addresses, written by that device only), so
    /// the group's other devices can reconnect to it. Kept in the encrypted document, visible to members only.
    pub fn set_device_addresses(&mut self, device: &str, addresses: &[String]) -> Result<(), ModelError> {
        let devices = self.root_map("devices")?;
        let Some((Value::Object(ObjType::Map), obj)) = self.doc.get(&devices, device)? else {
            return Err(ModelError::Invalid("this device is not recorded in the group".into()));
        };
        let text: Vec<&str> = addresses.iter().map(String::as_str).take(16).collect();
        self.doc.put(&obj, "addresses", text.join("\n"))?;
        Ok(())
    }

    /// Records a member-run relay the group's devices listen through (see `docs/design/relay.md`): its device id,
    /// the member device that runs it (the only one it takes its list of allowed devices from) and the addresses
    /// at which it is reachable. Kept in the encrypted document; a later call for the same relay replaces it.
    ///
    /// Stored as one text value per relay in the group record (`relay:<device>` = owner, then one address per
    /// line), so devices adding different relays at once never overwrite each other's table.
    pub fn set_relay(&mut self, relay: &str, owner: &str, addresses: &[String]) -> Result<(), ModelError> {
        for (what, id) in [("relay", relay), ("owner", owner)] {
            if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ModelError::Invalid(format!("the {what} is not a device id")));
            }
        }
        if addresses.is_empty() || addresses.iter().any(|a| a.is_empty() || a.contains('\n') || a.len() > 256) {
            return Err(ModelError::Invalid("a relay needs one or more addresses, one per line".into()));
        }
        if self.relays().len() >= MAX_RELAYS && !self.relays().iter().any(|r| r.device == relay) {
            return Err(ModelError::Invalid(format!("a group uses at most {MAX_RELAYS} relays")));
        }
        let group = self.root_map("group")?;
        let mut text = owner.to_owned();
        for address in addresses.iter().take(16) {
            text.push('\n');
            text.push_str(address);
        }
        self.doc.put(&group, format!("relay:{relay}"), text)?;
        Ok(())
    }

    /// Stops the group's devices from using a relay.
    pub fn remove_relay(&mut self, relay: &str) -> Result<(), ModelError> {
        let group = self.root_map("group")?;
        let key = format!("relay:{relay}");
        if self.doc.get(&group, &key)?.is_none() {
            return Err(ModelError::NotFound { kind: "relay", id: relay.to_owned() });
        }
        self.doc.delete(&group, key)?;
        Ok(())
    }

    /// The relays the group uses (see [`GroupDoc::set_relay`]), in device-id order.
    pub fn relays(&self) -> Vec<RelayView> {
        let Ok(group) = self.root_map("group") else { return Vec::new() };
        let mut relays: Vec<RelayView> = self
            .doc
            .keys(&group)
            .filter_map(|key| {
                let device = key.strip_prefix("relay:")?.to_owned();
                let (value, _) = self.doc.get(&group, &key).ok()??;
                let text = scalar_text(&value);
                let mut lines = text.lines();
                let owner = lines.next()?.to_owned();
                // Any member can write this record: one that does not name two device keys is skipped.
                let is_device = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
                if !is_device(&device) || !is_device(&owner) {
                    return None;
                }
                let addresses = lines.filter(|a| !a.is_empty()).map(str::to_owned).collect();
                Some(RelayView { device, owner, addresses })
            })
            .collect();
        relays.sort_by(|a, b| a.device.cmp(&b.device));
        relays
    }

    /// A member's name, read directly (without materializing the whole view).
    pub fn member_name(&self, member: &str) -> Option<String> {
        let members = self.root_map("members").ok()?;
        let Ok(Some((Value::Object(ObjType::Map), obj))) = self.doc.get(&members, member) else { return None };
        Fields::new(&self.doc, obj).string("name")
    }

    /// Records that a device was revoked (or its member removed) on `on`. The signed membership is what cuts its
    /// access; this lets the records say so. A device with no record is left alone.
    pub fn set_device_revoked(&mut self, device: &str, on: NaiveDate) -> Result<(), ModelError> {
        let devices = self.root_map("devices")?;
        let Ok(Some((Value::Object(ObjType::Map), obj))) = self.doc.get(&devices, device) else { return Ok(()) };
        self.doc.put(&obj, "revoked", date_text(on))?;
        Ok(())
    }

    /// The addresses a device recorded for itself (see [`GroupDoc::set_device_addresses`]).
    pub fn device_addresses(&self, device: &str) -> Vec<String> {
        let Ok(devices) = self.root_map("devices") else { return Vec::new() };
        let Ok(Some((Value::Object(ObjType::Map), obj))) = self.doc.get(&devices, device) else { return Vec::new() };
        Fields::new(&self.doc, obj)
            .string("addresses")
            .map(|text| text.lines().map(str::to_owned).filter(|a| !a.is_empty()).collect())
            .unwrap_or_default()
    }

    /// Renames a member or changes their standing.
    pub fn update_member(
        &mut self,
        member: &str,
        name: Option<&str>,
        status: Option<MemberStatus>,
    ) -> Result<(), ModelError> {
        let name = name.map(|name| required_line("member name", name, MAX_NAME_LEN)).transpose()?;
        let obj = self.record(RecordKind::Member, member)?;
        if let Some(name) = name {
            self.doc.put(&obj, "name", name)?;
        }
        if let Some(status) = status {
            self.doc.put(&obj, "status", status.as_str())?;
        }
        Ok(())
    }

    /// Grants `role` to a member for a term starting `from` and, if given, ending `until`.
    pub fn grant_role(
        &mut self,
        member: &str,
        role: &str,
        from: NaiveDate,
        until: Option<NaiveDate>,
    ) -> Result<RecordId, ModelError> {
        let role = required_line("role", &role.to_lowercase(), MAX_NAME_LEN)?;
        self.require_ref(RecordKind::Member, member)?;
        if until.is_some_and(|until| until < from) {
            return Err(ModelError::Invalid("a role's term cannot end before it starts".into()));
        }
        let roles = self.root_map("roles")?;
        let id = new_record_id();
        let grant = self.doc.put_object(&roles, id.as_str(), ObjType::Map)?;
        self.doc.put(&grant, "member", member)?;
        self.doc.put(&grant, "role", role)?;
        self.doc.put(&grant, "from", date_text(from))?;
        self.put_optional(&grant, "until", until.map(date_text))?;
        Ok(id)
    }

    /// Ends a role grant's term on `until`.
    pub fn end_role(&mut self, grant: &str, until: NaiveDate) -> Result<(), ModelError> {
        let obj = self.record(RecordKind::Role, grant)?;
        let from = Fields::new(&self.doc, obj.clone()).date("from");
        if from.is_some_and(|from| until < from) {
            return Err(ModelError::Invalid("a role's term cannot end before it starts".into()));
        }
        self.doc.put(&obj, "until", date_text(until))?;
        Ok(())
    }

    fn check_member_ref(&self, member: Option<&String>) -> Result<(), ModelError> {
        member.map_or(Ok(()), |member| self.require_ref(RecordKind::Member, member))
    }

    /// Adds a meeting.
    pub fn add_meeting(&mut self, meeting: NewMeeting) -> Result<RecordId, ModelError> {
        let title = required_line("meeting title", &meeting.title, MAX_TITLE_LEN)?;
        let kind = required_line("meeting type", &meeting.kind.to_lowercase(), MAX_NAME_LEN)?;
        let place = optional_line("place", meeting.place.as_deref(), MAX_NAME_LEN)?;
        self.check_member_ref(meeting.facilitator.as_ref())?;
        self.check_member_ref(meeting.note_taker.as_ref())?;
        let meetings = self.root_map("meetings")?;
        let id = new_record_id();
        let obj = self.doc.put_object(&meetings, id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "date", date_text(meeting.date))?;
        self.doc.put(&obj, "title", title)?;
        self.doc.put(&obj, "kind", kind)?;
        self.put_optional(&obj, "place", place)?;
        self.put_optional(&obj, "facilitator", meeting.facilitator)?;
        self.put_optional(&obj, "note_taker", meeting.note_taker)?;
        self.doc.put_object(&obj, "minutes", ObjType::Text)?;
        self.doc.put_object(&obj, "agenda", ObjType::Map)?;
        self.doc.put_object(&obj, "attendance", ObjType::Map)?;
        Ok(id)
    }

    /// Changes a meeting's single-value fields.
    pub fn update_meeting(&mut self, meeting: &str, patch: MeetingPatch) -> Result<(), ModelError> {
        let title = patch.title.as_deref().map(|t| required_line("meeting title", t, MAX_TITLE_LEN)).transpose()?;
        let kind = patch
            .kind
            .as_deref()
            .map(|k| required_line("meeting type", &k.to_lowercase(), MAX_NAME_LEN))
            .transpose()?;
        let place = patch.place.as_ref().map(|p| optional_line("place", p.as_deref(), MAX_NAME_LEN)).transpose()?;
        if let Some(facilitator) = &patch.facilitator {
            self.check_member_ref(facilitator.as_ref())?;
        }
        if let Some(note_taker) = &patch.note_taker {
            self.check_member_ref(note_taker.as_ref())?;
        }
        let obj = self.record(RecordKind::Meeting, meeting)?;
        if let Some(date) = patch.date {
            self.doc.put(&obj, "date", date_text(date))?;
        }
        if let Some(title) = title {
            self.doc.put(&obj, "title", title)?;
        }
        if let Some(kind) = kind {
            self.doc.put(&obj, "kind", kind)?;
        }
        if let Some(place) = place {
            self.put_optional(&obj, "place", place)?;
        }
        if let Some(facilitator) = patch.facilitator {
            self.put_optional(&obj, "facilitator", facilitator)?;
        }
        if let Some(note_taker) = patch.note_taker {
            self.put_optional(&obj, "note_taker", note_taker)?;
        }
        Ok(())
    }

    /// Replaces a meeting's minutes with `text`, as the smallest character edit, so that concurrent edits by
    /// others elsewhere in the minutes survive the merge.
    pub fn set_minutes(&mut self, meeting: &str, text: &str) -> Result<(), ModelError> {
        check_len("minutes", text, MAX_TEXT_LEN)?;
        let obj = self.record(RecordKind::Meeting, meeting)?;
        let minutes = self.text_field(&obj, "minutes")?;
        self.doc.update_text(&minutes, text)?;
        Ok(())
    }

    /// Replaces a meeting's minutes with `text`, typed on the minutes as they were at `base` (the document heads
    /// of the view the writer saw): what the writer changed since `base` is applied to the minutes as they are
    /// now, so the words others wrote meanwhile — on this device or received from a peer — stay where they are.
    /// Returns the minutes after the merge. With `base` the current heads (nothing changed since) this is
    /// [`GroupDoc::set_minutes`].
    ///
    /// The merge is automerge's, not a text heuristic: each of the writer's changes is placed by the stable
    /// identity of the characters around it at `base` (automerge cursors), and the characters the writer deleted
    /// are deleted by identity, those another writer already deleted left alone. The text is compared a
    /// character (Unicode code point) at a time, automerge's own unit.
    ///
    /// ```
    /// # use sunspace_model::{Founder, GroupDoc, NewMeeting};
    /// # let founder = Founder { device_id: "aa".repeat(32), agreement_key: "bb".repeat(32), display_name: "Ana".into() };
    /// # let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    /// # let (mut doc, _) = GroupDoc::create(&"cc".repeat(16), "Tenants", &founder, today).unwrap();
    /// let meeting = doc.add_meeting(NewMeeting::new(today, "General meeting")).unwrap();
    /// doc.set_minutes(&meeting, "Agenda.").unwrap();
    /// let seen = doc.heads();
    /// // Someone else adds a line at the top; the writer, on the version they saw, adds one at the end.
    /// doc.set_minutes(&meeting, "Welcome. Agenda.").unwrap();
    /// let merged = doc.merge_minutes(&meeting, "Agenda. Rent.", &seen).unwrap();
    /// assert_eq!(merged, "Welcome. Agenda. Rent.");
    /// ```
    pub fn merge_minutes(&mut self, meeting: &str, text: &str, base: &[ChangeHash]) -> Result<String, ModelError> {
        check_len("minutes", text, MAX_TEXT_LEN)?;
        let obj = self.record(RecordKind::Meeting, meeting)?;
        let minutes = self.text_field(&obj, "minutes")?;
        let heads = self.doc.get_heads();
        if base.is_empty() || base == heads.as_slice() {
            self.doc.update_text(&minutes, text)?;
            return Ok(self.doc.text(&minutes)?);
        }
        let unknown_version = || {
            ModelError::Invalid("the minutes were edited on a version this device does not hold; reload them".into())
        };
        // automerge reads at unknown heads as if they were not there: check them first.
        if base.iter().any(|hash| self.doc.get_change_by_hash(hash).is_none()) {
            return Err(unknown_version());
        }
        let before = self.doc.text_at(&minutes, base).map_err(|_| unknown_version())?;
        let base_chars = before.chars().count();
        let diff =
            similar::TextDiff::configure().algorithm(similar::Algorithm::Myers).diff_chars(before.as_str(), text);
        let new_chars: Vec<char> = text.chars().collect();
        // Each change, as (first base character replaced, one past the last, what replaces them), latest first so
        // applying one never moves where an earlier one goes.
        let mut changes: Vec<(usize, usize, String)> = Vec::new();
        for op in diff.ops() {
            let (old, new) = (op.old_range(), op.new_range());
            if op.tag() != similar::DiffTag::Equal {
                changes.push((old.start, old.end, new_chars.get(new).map(|c| c.iter().collect()).unwrap_or_default()));
            }
        }
        for (start, end, insert) in changes.into_iter().rev() {
            // Where the change goes now: right before the base character that followed it (if that one was
            // deleted since, before the next one still there), or at the end.
            let at = if end < base_chars {
                let cursor = self.doc.get_cursor(&minutes, end, Some(base))?;
                self.doc.get_cursor_position(&minutes, &cursor, None)?
            } else {
                self.doc.length(&minutes)
            };
            // The base characters the writer deleted that are still there, by identity.
            let mut still_there = Vec::new();
            for index in start..end {
                let cursor = self.doc.get_cursor(&minutes, index, Some(base))?;
                let now = self.doc.get_cursor_position(&minutes, &cursor, None)?;
                if now < self.doc.length(&minutes) && self.doc.get_cursor(&minutes, now, None)? == cursor {
                    still_there.push(now);
                }
            }
            if !insert.is_empty() {
                self.doc.splice_text(&minutes, at, 0, &insert)?;
            }
            // Deleted from the last, so positions found above still hold (all of them are before `at`).
            for position in still_there.into_iter().rev() {
                self.doc.splice_text(&minutes, position, 1, "")?;
            }
        }
        let merged = self.doc.text(&minutes)?;
        check_len("minutes", &merged, MAX_TEXT_LEN)?;
        Ok(merged)
    }

    /// Adds `text` at the end of a meeting's minutes, on a new line if the minutes do not end with one.
    pub fn append_minutes(&mut self, meeting: &str, text: &str) -> Result<(), ModelError> {
        if text.trim().is_empty() {
            return Err(ModelError::Empty { field: "text to append" });
        }
        let obj = self.record(RecordKind::Meeting, meeting)?;
        let minutes = self.text_field(&obj, "minutes")?;
        let current = self.doc.text(&minutes)?;
        check_len("minutes", text, MAX_TEXT_LEN.saturating_sub(current.chars().count()))?;
        let mut addition = String::new();
        if !current.is_empty() && !current.ends_with('\n') {
            addition.push('\n');
        }
        addition.push_str(text);
        let end = self.doc.length(&minutes);
        self.doc.splice_text(&minutes, end, 0, &addition)?;
        Ok(())
    }

    /// Adds an agenda item at the end of a meeting's agenda.
    pub fn add_agenda_item(&mut self, meeting: &str, title: &str, owner: Option<&str>) -> Result<RecordId, ModelError> {
        let title = required_line("agenda item", title, MAX_TITLE_LEN)?;
        if let Some(owner) = owner {
            self.require_ref(RecordKind::Member, owner)?;
        }
        let obj = self.record(RecordKind::Meeting, meeting)?;
        let agenda = match child(&self.doc, &obj, "agenda", ObjType::Map) {
            Some(agenda) => agenda,
            None => self.doc.put_object(&obj, "agenda", ObjType::Map)?,
        };
        let position = self.doc.length(&agenda) as i64 + 1;
        let id = new_record_id();
        let item = self.doc.put_object(&agenda, id.as_str(), ObjType::Map)?;
        self.doc.put(&item, "title", title)?;
        self.doc.put(&item, "position", position)?;
        self.doc.put(&item, "done", false)?;
        if let Some(owner) = owner {
            self.doc.put(&item, "owner", owner)?;
        }
        Ok(id)
    }

    /// Marks an agenda item as covered (or not).
    pub fn set_agenda_item_done(&mut self, item: &str, done: bool) -> Result<(), ModelError> {
        let obj = self.record(RecordKind::Agenda, item)?;
        self.doc.put(&obj, "done", done)?;
        Ok(())
    }

    /// Records that someone attended a meeting and returns the record's id. Records are only ever added, so
    /// concurrent additions are a union; recording the same person again returns their existing record.
    pub fn add_attendance(&mut self, meeting: &str, who: Attendee, new_face: bool) -> Result<RecordId, ModelError> {
        let who = match who {
            Attendee::Member(id) => {
                self.require_ref(RecordKind::Member, &id)?;
                Attendee::Member(id)
            }
            Attendee::Guest(name) => Attendee::Guest(required_line("guest name", &name, MAX_NAME_LEN)?),
        };
        let obj = self.record(RecordKind::Meeting, meeting)?;
        let attendance = match child(&self.doc, &obj, "attendance", ObjType::Map) {
            Some(attendance) => attendance,
            None => self.doc.put_object(&obj, "attendance", ObjType::Map)?,
        };
        // Recording someone twice on one device adds nothing; only marking them a new face afterwards changes the
        // record. (Concurrent records from two devices are still merged in the view.)
        let identity = who.identity();
        for (key, _, obj) in entries(&self.doc, &attendance) {
            let mut fields = Fields::new(&self.doc, obj.clone());
            if fields.string("who").and_then(|w| Attendee::decode(&w)).is_some_and(|w| w.identity() == identity) {
                if new_face && !fields.boolean("new_face") {
                    self.doc.put(&obj, "new_face", true)?;
                }
                return Ok(key);
            }
        }
        let id = new_record_id();
        let record = self.doc.put_object(&attendance, id.as_str(), ObjType::Map)?;
        self.doc.put(&record, "who", who.encode())?;
        self.doc.put(&record, "new_face", new_face)?;
        Ok(id)
    }

    /// Removes every attendance record of `who` at a meeting (a correction). Returns how many were removed.
    pub fn remove_attendance(&mut self, meeting: &str, who: &Attendee) -> Result<usize, ModelError> {
        let obj = self.record(RecordKind::Meeting, meeting)?;
        let Some(attendance) = child(&self.doc, &obj, "attendance", ObjType::Map) else { return Ok(0) };
        let identity = who.identity();
        let matching: Vec<String> = self
            .doc
            .keys(&attendance)
            .filter(|key| {
                child(&self.doc, &attendance, key, ObjType::Map)
                    .and_then(|record| Fields::new(&self.doc, record).string("who"))
                    .and_then(|who| Attendee::decode(&who))
                    .is_some_and(|who| who.identity() == identity)
            })
            .collect();
        for key in &matching {
            self.doc.delete(&attendance, key.as_str())?;
        }
        Ok(matching.len())
    }

    /// Records a decision.
    pub fn add_decision(&mut self, decision: NewDecision) -> Result<RecordId, ModelError> {
        let title = required_line("decision", &decision.title, MAX_TITLE_LEN)?;
        check_len("outcome", &decision.outcome, MAX_TEXT_LEN)?;
        if decision.review_by.is_some_and(|review| review < decision.date) {
            return Err(ModelError::Invalid("the review date is before the decision date".into()));
        }
        if let Some(meeting) = &decision.meeting {
            self.require_ref(RecordKind::Meeting, meeting)?;
        }
        let decisions = self.root_map("decisions")?;
        let id = new_record_id();
        let obj = self.doc.put_object(&decisions, id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "title", title)?;
        self.doc.put(&obj, "method", decision.method.as_str())?;
        self.doc.put(&obj, "outcome", decision.outcome.trim())?;
        self.doc.put(&obj, "date", date_text(decision.date))?;
        self.put_optional(&obj, "review_by", decision.review_by.map(date_text))?;
        self.put_optional(&obj, "meeting", decision.meeting)?;
        Ok(id)
    }

    /// Changes a decision's fields.
    pub fn update_decision(&mut self, decision: &str, patch: DecisionPatch) -> Result<(), ModelError> {
        let title = patch.title.as_deref().map(|t| required_line("decision", t, MAX_TITLE_LEN)).transpose()?;
        if let Some(outcome) = &patch.outcome {
            check_len("outcome", outcome, MAX_TEXT_LEN)?;
        }
        let obj = self.record(RecordKind::Decision, decision)?;
        if let Some(title) = title {
            self.doc.put(&obj, "title", title)?;
        }
        if let Some(method) = patch.method {
            self.doc.put(&obj, "method", method.as_str())?;
        }
        if let Some(outcome) = patch.outcome {
            self.doc.put(&obj, "outcome", outcome.trim())?;
        }
        if let Some(date) = patch.date {
            self.doc.put(&obj, "date", date_text(date))?;
        }
        if let Some(review_by) = patch.review_by {
            self.put_optional(&obj, "review_by", review_by.map(date_text))?;
        }
        Ok(())
    }

    /// Adds an action item.
    pub fn add_action(&mut self, action: NewAction) -> Result<RecordId, ModelError> {
        let title = required_line("action", &action.title, MAX_TITLE_LEN)?;
        for owner in &action.owners {
            self.require_ref(RecordKind::Member, owner)?;
        }
        if let Some(decision) = &action.decision {
            self.require_ref(RecordKind::Decision, decision)?;
        }
        if let Some(meeting) = &action.meeting {
            self.require_ref(RecordKind::Meeting, meeting)?;
        }
        let actions = self.root_map("actions")?;
        let id = new_record_id();
        let obj = self.doc.put_object(&actions, id.as_str(), ObjType::Map)?;
        self.doc.put(&obj, "title", title)?;
        let owners = self.doc.put_object(&obj, "owners", ObjType::Map)?;
        for owner in &action.owners {
            self.doc.put(&owners, owner.as_str(), true)?;
        }
        self.put_optional(&obj, "due", action.due.map(date_text))?;
        self.doc.put(&obj, "status", "open")?;
        self.put_optional(&obj, "decision", action.decision)?;
        self.put_optional(&obj, "meeting", action.meeting)?;
        Ok(id)
    }

    /// Changes an action item's title, due date or owners.
    pub fn update_action(&mut self, action: &str, patch: ActionPatch) -> Result<(), ModelError> {
        let title = patch.title.as_deref().map(|t| required_line("action", t, MAX_TITLE_LEN)).transpose()?;
        for owner in &patch.add_owners {
            self.require_ref(RecordKind::Member, owner)?;
        }
        let obj = self.record(RecordKind::Action, action)?;
        if let Some(title) = title {
            self.doc.put(&obj, "title", title)?;
        }
        if let Some(due) = patch.due {
            self.put_optional(&obj, "due", due.map(date_text))?;
        }
        let owners = match child(&self.doc, &obj, "owners", ObjType::Map) {
            Some(owners) => owners,
            None => self.doc.put_object(&obj, "owners", ObjType::Map)?,
        };
        for owner in patch.add_owners {
            self.doc.put(&owners, owner.as_str(), true)?;
        }
        for owner in patch.remove_owners {
            if self.doc.get(&owners, owner.as_str())?.is_some() {
                self.doc.delete(&owners, owner.as_str())?;
            }
        }
        Ok(())
    }

    /// Marks an action item done on `on`, or open again when `on` is `None`.
    pub fn set_action_done(&mut self, action: &str, on: Option<NaiveDate>) -> Result<(), ModelError> {
        let obj = self.record(RecordKind::Action, action)?;
        match on {
            Some(on) => {
                self.doc.put(&obj, "status", "done")?;
                self.doc.put(&obj, "done_on", date_text(on))?;
            }
            None => {
                self.doc.put(&obj, "status", "open")?;
                self.put_optional(&obj, "done_on", None)?;
            }
        }
        Ok(())
    }

    /// Settles a conflict by keeping one of the standing values (`value` as shown in the conflict).
    pub fn resolve(&mut self, kind: RecordKind, id: &str, field: &str, value: &str) -> Result<(), ModelError> {
        let obj = self.record(kind, id)?;
        let standing = self.doc.get_all(&obj, field)?;
        if standing.len() < 2 {
            return Err(ModelError::Invalid(format!("the {field} of this {} has no conflict to settle", kind.noun())));
        }
        let chosen = standing
            .iter()
            .find_map(|(candidate, _)| match candidate {
                Value::Scalar(scalar) if scalar_text(candidate) == value => Some(scalar.clone().into_owned()),
                _ => None,
            })
            .ok_or_else(|| ModelError::Invalid(format!("\"{value}\" is not one of the values of the {field}")))?;
        self.doc.put(&obj, field, chosen)?;
        Ok(())
    }

    // ---- reading ----

    /// The group's name (the deterministic pick if it is in conflict), without materializing the whole view.
    pub fn name(&self) -> String {
        self.root_map("group").ok().and_then(|group| Fields::new(&self.doc, group).string("name")).unwrap_or_default()
    }

    /// Materializes the whole document.
    pub fn view(&self) -> GroupView {
        let mut unreadable = Vec::new();
        let doc = &self.doc;
        let (id, name, created, conflicts) = match self.root_map("group") {
            Ok(group) => {
                let mut fields = Fields::new(doc, group);
                let id = fields.string("id").unwrap_or_default();
                let name = fields.string("name").unwrap_or_default();
                let created = fields.date("created");
                (id, name, created, fields.finish())
            }
            Err(_) => (String::new(), String::new(), None, Vec::new()),
        };
        let charter = self.root_map("charter").map_or_else(
            |_| CharterView::default(),
            |charter| {
                let mut fields = Fields::new(doc, charter);
                CharterView {
                    purpose: fields.text("purpose"),
                    decision_rules: fields.text("decision_rules"),
                    confidentiality: fields.text("confidentiality"),
                    cadence: fields.string("cadence"),
                    conflicts: fields.finish(),
                }
            },
        );

        let members = self.each_record("members", &mut unreadable, Self::read_member);
        let devices = self.each_record("devices", &mut unreadable, Self::read_device);
        let roles = self.each_record("roles", &mut unreadable, Self::read_role);
        let meetings = self.each_record("meetings", &mut unreadable, |id, fields| self.meeting_view(id, fields));
        let decisions = self.each_record("decisions", &mut unreadable, Self::read_decision);
        let actions = self.each_record("actions", &mut unreadable, Self::read_action);
        let people = self.each_record("people", &mut unreadable, Self::read_person);
        let one_on_ones = self.each_record("one_on_ones", &mut unreadable, Self::read_one_on_one);
        let conversations = self.each_record("conversations", &mut unreadable, Self::read_conversation);
        let stories = self.each_record("stories", &mut unreadable, Self::read_story);
        let patterns = self.each_record("patterns", &mut unreadable, Self::read_pattern);

        let mut view = GroupView {
            id,
            name,
            created,
            charter,
            members,
            devices,
            roles,
            meetings,
            decisions,
            actions,
            people,
            one_on_ones,
            conversations,
            stories,
            patterns,
            placement: Default::default(),
            conflicts,
            unreadable,
            heads: Vec::new(),
        };
        view.sort();
        view
    }

    fn read_member(id: &str, mut fields: Fields<'_>) -> Option<MemberView> {
        Some(MemberView {
            id: id.to_owned(),
            name: fields.string("name")?,
            status: fields.string("status").and_then(|s| MemberStatus::parse(&s)).unwrap_or(MemberStatus::Active),
            joined: fields.date("joined"),
            kind: fields.string("kind").unwrap_or_else(|| "local".into()),
            sponsor: fields.string("sponsor"),
            conflicts: fields.finish(),
        })
    }

    fn read_device(id: &str, mut fields: Fields<'_>) -> Option<DeviceView> {
        Some(DeviceView {
            id: id.to_owned(),
            member: fields.string("member")?,
            agreement_key: fields.string("agreement_key").unwrap_or_default(),
            method: fields.string("method").unwrap_or_default(),
            added: fields.date("added"),
            revoked: fields.date("revoked"),
            addresses: fields
                .string("addresses")
                .map(|text| text.lines().map(str::to_owned).filter(|a| !a.is_empty()).collect())
                .unwrap_or_default(),
        })
    }

    fn read_role(id: &str, mut fields: Fields<'_>) -> Option<RoleGrantView> {
        Some(RoleGrantView {
            id: id.to_owned(),
            member: fields.string("member")?,
            role: fields.string("role")?,
            from: fields.date("from")?,
            until: fields.date("until"),
            conflicts: fields.finish(),
        })
    }

    fn read_decision(id: &str, mut fields: Fields<'_>) -> Option<DecisionView> {
        Some(DecisionView {
            id: id.to_owned(),
            meeting: fields.string("meeting"),
            title: fields.string("title")?,
            method: fields.string("method")?.parse::<DecisionMethod>().ok()?,
            outcome: fields.string("outcome").unwrap_or_default(),
            date: fields.date("date")?,
            review_by: fields.date("review_by"),
            conflicts: fields.finish(),
        })
    }

    fn read_action(id: &str, mut fields: Fields<'_>) -> Option<ActionView> {
        let mut owners = fields.map_keys("owners");
        owners.sort();
        Some(ActionView {
            id: id.to_owned(),
            title: fields.string("title")?,
            owners,
            due: fields.date("due"),
            status: match fields.string("status").as_deref() {
                Some("done") => ActionStatus::Done,
                _ => ActionStatus::Open,
            },
            done_on: fields.date("done_on"),
            decision: fields.string("decision"),
            meeting: fields.string("meeting"),
            conflicts: fields.finish(),
        })
    }

    /// Whether the map `obj` reads as a record of `kind` (the view would show it rather than list it as
    /// unreadable).
    pub(crate) fn reads_as(&self, kind: RecordKind, id: &str, obj: ObjId) -> bool {
        let fields = Fields::new(&self.doc, obj);
        match kind {
            RecordKind::Member => Self::read_member(id, fields).is_some(),
            RecordKind::Role => Self::read_role(id, fields).is_some(),
            RecordKind::Meeting => self.meeting_view(id, fields).is_some(),
            RecordKind::Decision => Self::read_decision(id, fields).is_some(),
            RecordKind::Action => Self::read_action(id, fields).is_some(),
            RecordKind::Person => Self::read_person(id, fields).is_some(),
            RecordKind::OneOnOne => Self::read_one_on_one(id, fields).is_some(),
            RecordKind::Conversation => Self::read_conversation(id, fields).is_some(),
            RecordKind::Story => Self::read_story(id, fields).is_some(),
            RecordKind::Pattern => Self::read_pattern(id, fields).is_some(),
            RecordKind::Group | RecordKind::Charter | RecordKind::Agenda => false,
        }
    }

    /// [`GroupDoc::view`], with the document heads it shows: what a front end names when it edits on the view
    /// ([`GroupDoc::merge_minutes`]), so its edit is merged with whatever changed after it was shown.
    pub fn view_now(&mut self) -> GroupView {
        let heads = self.doc.get_heads().iter().map(ToString::to_string).collect();
        GroupView { heads, ..self.view() }
    }

    /// Reads every record of the tables under root key `table` (all its concurrent values, see [`tables`]), each
    /// id once: a record that does not read is listed in `unreadable`.
    fn each_record<T>(
        &self,
        table: &'static str,
        unreadable: &mut Vec<String>,
        mut read: impl FnMut(&str, Fields<'_>) -> Option<T>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for table_obj in self.tables(table) {
            for (key, value, obj) in entries(&self.doc, &table_obj) {
                if !seen.insert(key.clone()) {
                    continue;
                }
                let record = match value {
                    Value::Object(ObjType::Map) => read(&key, Fields::new(&self.doc, obj)),
                    _ => None,
                };
                match record {
                    Some(record) => out.push(record),
                    None => unreadable.push(format!("{table}/{key}")),
                }
            }
        }
        out
    }

    fn meeting_view(&self, id: &str, mut fields: Fields<'_>) -> Option<MeetingView> {
        let doc = &self.doc;
        let mut agenda: Vec<(i64, AgendaItemView)> = fields
            .object("agenda", ObjType::Map)
            .map(|agenda| {
                entries(doc, &agenda)
                    .into_iter()
                    .filter_map(|(item_id, _, obj)| {
                        let mut item = Fields::new(doc, obj);
                        let position = item.int("position").unwrap_or(i64::MAX);
                        Some((
                            position,
                            AgendaItemView {
                                title: item.string("title")?,
                                owner: item.string("owner"),
                                done: item.boolean("done"),
                                id: item_id,
                                conflicts: item.finish(),
                            },
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        agenda.sort_by(|(pa, a), (pb, b)| pa.cmp(pb).then(a.id.cmp(&b.id)));

        // Attendance records are a union: one person may have been recorded by several devices; count them once.
        let mut attendance: Vec<AttendanceView> = Vec::new();
        let mut seen: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        if let Some(records) = fields.object("attendance", ObjType::Map) {
            for (_, _, record) in entries(doc, &records) {
                let mut record = Fields::new(doc, record);
                let Some(who) = record.string("who").and_then(|who| Attendee::decode(&who)) else { continue };
                let new_face = record.boolean("new_face");
                match seen.get(&who.identity()) {
                    Some(&index) => attendance[index].new_face |= new_face,
                    None => {
                        seen.insert(who.identity(), attendance.len());
                        attendance.push(AttendanceView { who, new_face });
                    }
                }
            }
        }
        attendance.sort_by_key(|a| a.who.identity());

        let view = MeetingView {
            id: id.to_owned(),
            date: fields.date("date")?,
            title: fields.string("title")?,
            kind: fields.string("kind").unwrap_or_else(|| "regular".into()),
            place: fields.string("place"),
            facilitator: fields.string("facilitator"),
            note_taker: fields.string("note_taker"),
            minutes: fields.text("minutes"),
            agenda: agenda.into_iter().map(|(_, item)| item).collect(),
            attendance,
            conflicts: Vec::new(),
        };
        Some(MeetingView { conflicts: fields.finish(), ..view })
    }

    /// Finds the record a short id prefix (at least 4 characters) or full id names, within one kind.
    pub fn find_id(&self, kind: RecordKind, prefix: &str) -> Result<RecordId, ModelError> {
        let prefix = prefix.trim().to_lowercase();
        if is_record_id(&prefix) {
            return self.require(kind, &prefix).map(|_| prefix);
        }
        if prefix.len() < 4 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ModelError::NotFound { kind: kind.noun(), id: prefix });
        }
        let candidates: Vec<String> = match kind {
            RecordKind::Agenda => {
                self.view().meetings.iter().flat_map(|m| m.agenda.iter().map(|i| i.id.clone())).collect()
            }
            _ => kind.table().map(|table| self.table_keys(table)).unwrap_or_default(),
        };
        let mut matching = candidates.into_iter().filter(|id| id.starts_with(&prefix));
        match (matching.next(), matching.next()) {
            (Some(id), None) => Ok(id),
            (Some(_), Some(_)) => Err(ModelError::Invalid(format!(
                "\"{prefix}\" matches more than one {}: give more characters of the id",
                kind.noun()
            ))),
            (None, _) => Err(ModelError::NotFound { kind: kind.noun(), id: prefix }),
        }
    }
}

#[cfg(test)]
mod tests;
