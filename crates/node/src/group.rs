//! An open group: its document, its keys, and this device's position in its own log.

use std::collections::BTreeMap;
use std::fmt;

use automerge::ChangeHash;
use sunspace_crypto::{DeviceId, DeviceKeys, Secret32};
use sunspace_log::{Entry, EntryKind, Equivocation, GroupId, LogPosition, VerifyError};
use sunspace_membership::{group_id_for, Action, Log as MembershipLog, OpId, SignedOp, State as Membership};
use sunspace_model::{ChangeRefusal, GroupDoc, GroupView, ModelError, Vetted};
use sunspace_replicate::{check_verified_entry, Rejection as EntryRejection, Verdict};

use crate::at_rest::Shelf;
use crate::records::{unwrap_hex, wrap_hex, Covered, GroupIndex, GroupKeys, Snapshot};
use crate::NodeError;

/// A new snapshot is written after this many entries. Opening replays at most this many entries on top of the
/// snapshot, which keeps opening fast; writing a snapshot costs one `save()` of the document, which this keeps rare.
pub const SNAPSHOT_EVERY: u64 = 64;

/// Local edits wait, each sealed under the storage key and flushed as a small "pending" chunk, until a peer is
/// there to send them to; then they all go out as one entry in automerge's compact bundle encoding. A pending
/// batch is sealed into an entry anyway once it holds this many edits, which bounds the work of opening a group.
pub const PENDING_MAX_CHANGES: usize = 512;

/// A new snapshot is also written once this many bytes of entry bodies came after the last one.
const SNAPSHOT_AFTER_BYTES: usize = 64 * 1024;

/// Entries are read from the store in pages of this many, so replaying a long log never holds it all in memory.
const READ_PAGE: usize = 256;

/// Received entries that cannot be applied yet (they follow entries not yet received, their author's admission
/// has not arrived, or their changes depend on another log's) are kept, their signatures checked once, and retried
/// with the next batch. They are bounded per author, in bytes, and, for authors not (yet) in the group, apart and
/// tighter: a member signing junk under made-up device keys cannot crowd out what honest devices wait for. What is
/// dropped comes again with the next heads exchange.
const MAX_WAITING_PER_AUTHOR: usize = 512;
/// Bytes of waiting entries in all.
const MAX_WAITING_BYTES: usize = 32 * 1024 * 1024;
/// Waiting entries by authors not in the group (a device admitted in an operation still on its way).
const MAX_WAITING_STRANGERS: usize = 64;
/// Refused entries kept per group as evidence (the newest).
const MAX_REFUSALS_KEPT: usize = 64;
/// A refused entry's bytes are kept only up to this size (a larger one is described, not kept), so the evidence
/// kept stays within a few megabytes.
const MAX_REFUSED_BYTES_KEPT: usize = 64 * 1024;

/// What became of a batch of received entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Entries stored and applied, by author and sequence number, in the order they were applied.
    pub accepted: Vec<(DeviceId, u64)>,
    /// Entries already held.
    pub duplicates: usize,
    /// Entries kept for later: they follow entries not received yet, or their author's admission has not arrived.
    pub waiting: usize,
    /// Entries refused, with the reason. None of them was stored.
    pub rejected: Vec<String>,
    /// Whether the membership changed (new devices to allow, for instance).
    pub membership_changed: bool,
    /// Devices found signing two different histories in this batch.
    pub equivocations: Vec<DeviceId>,
}

/// An entry a member device signed that this device refused: kept (the newest few) as evidence, and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedEntry {
    /// The device that signed it.
    pub author: DeviceId,
    /// Its place in that device's log.
    pub seq: u64,
    /// Why it was refused, in words.
    pub reason: String,
    /// When, in seconds since the epoch.
    pub at: i64,
    /// The entry as received (sealed; readable by members only), if it is small enough to keep.
    pub entry: Vec<u8>,
}

/// A group opened on this device.
pub struct OpenGroup {
    shelf: Shelf,
    device: DeviceKeys,
    storage_key: Secret32,
    id: GroupId,
    keys: GroupKeys,
    doc: GroupDoc,
    /// Where this device's own log stands.
    own_log: LogPosition,
    /// How far the document includes each log (the snapshot's coverage plus what was replayed and written).
    covered: BTreeMap<DeviceId, Covered>,
    /// Document heads that are already in stored entries: changes after these still have to be sealed.
    sealed_heads: Vec<ChangeHash>,
    /// Document heads already in stored entries or pending chunks.
    pending_heads: Vec<ChangeHash>,
    /// Pending chunks stored.
    pending_count: u32,
    /// Entries since the last snapshot.
    since_snapshot: u64,
    /// Seal each edit straight into an entry (one flush) rather than keep it pending first: the engine says so
    /// while a member device that shares the group is connected, since the entry leaves at once anyway.
    pub(crate) seal_at_once: bool,
    /// Bytes of entry bodies since the last snapshot: a batched entry can carry hundreds of edits, so snapshots
    /// also follow the amount of history, not only the number of entries.
    bytes_since_snapshot: usize,
    /// The group's signed membership operations, from the membership entries of every log.
    membership: MembershipLog,
    /// Who is in, computed from `membership`.
    members: Membership,
    /// Received entries waiting for what they depend on, their signatures already checked.
    waiting: Vec<Entry>,
    /// Entries refused from member devices, newest last (at most [`MAX_REFUSALS_KEPT`]).
    refused: Vec<RefusedEntry>,
    /// Devices proven to have signed two different histories, with the proof (from this device's own finding or
    /// from another member's evidence entry).
    equivocations: BTreeMap<DeviceId, Equivocation>,
    /// Stored entries skipped when the group was opened, in words: the group opened without them.
    damage: Vec<String>,
    /// Devices whose rotation gave this device a wrong key and that this device rotated after: once each, so a
    /// member cannot make this device spend its share of membership operations on rotations.
    healed_after: std::collections::BTreeSet<DeviceId>,
}

impl fmt::Debug for OpenGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenGroup").field("id", &self.id).field("own_log", &self.own_log.len()).finish_non_exhaustive()
    }
}

/// The context a rotated key is wrapped under: the group, the recipient and the rotating device.
fn rotation_wrap_context(group: &GroupId, recipient: &DeviceId, author: &DeviceId) -> Vec<u8> {
    let mut context = b"sunspace/rotate/v1\0".to_vec();
    context.extend_from_slice(&group.0);
    context.extend_from_slice(&recipient.0);
    context.extend_from_slice(&author.0);
    context
}

/// A device to admit, as learned in the join handshake.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The device's signing key.
    pub device: DeviceId,
    /// Its X25519 key.
    pub agreement: [u8; 32],
    /// The name its owner gave.
    pub name: String,
    /// Another device of this device's own member, rather than a new member.
    pub own_device: bool,
    /// An existing member record (id prefix) the newcomer takes over.
    pub existing_member: Option<String>,
    /// Verified by scanning the QR code (rather than typing the code).
    pub via_qr: bool,
}

/// Why a checked entry was not taken.
enum Refusal {
    /// The entry is invalid: never stored. Its signature was valid, so its author is to blame.
    Invalid(String),
    /// It depends on something not held yet (changes in another log): it waits.
    Waiting,
    /// Storing failed (a full disk): the entry will come again.
    Store(NodeError),
    /// Sealed with a key generation this device does not hold (yet: the rotation may still be on its way, or
    /// never, if this device was removed). It waits, unread.
    KeyNotHeld,
}

fn invalid(reason: impl fmt::Display) -> Refusal {
    Refusal::Invalid(reason.to_string())
}

fn damaged_entry(author: &DeviceId, seq: u64, why: impl fmt::Display) -> NodeError {
    NodeError::Damaged(format!("entry {seq} of device {}'s log {why}", author.short()))
}

/// One change entry read back from the store at open.
struct ReplayedChange {
    author: DeviceId,
    seq: u64,
    /// Where its changes lie in the concatenation of every replayed entry's changes.
    range: std::ops::Range<usize>,
}

/// What one stored entry held.
enum Replayed {
    Change(Vec<u8>),
    Membership,
    Evidence(Box<Equivocation>),
}

fn position_hash(position: &LogPosition) -> [u8; 32] {
    position.next_header_fields().prev_hash
}

/// Checks one stored entry of `author`'s log again (it is where it claims to be, signed, next in the chain, under a
/// key held) and takes in what it holds.
fn replay_entry(
    id: &GroupId,
    author: &DeviceId,
    seq: u64,
    bytes: &[u8],
    position: &mut LogPosition,
    keys: &GroupKeys,
    membership: &mut MembershipLog,
) -> Result<Replayed, NodeError> {
    let entry = Entry::decode(bytes).map_err(|e| damaged_entry(author, seq, e))?;
    if entry.header().author != *author || entry.header().group != *id || entry.header().link.seq != seq {
        return Err(damaged_entry(author, seq, "is stored in the wrong place"));
    }
    entry.verify_signature().map_err(|e| damaged_entry(author, seq, e))?;
    let mut probe = *position;
    probe.accept(&entry).map_err(|e| damaged_entry(author, seq, e))?;
    let key = keys
        .key(entry.header().epoch)
        .ok_or_else(|| damaged_entry(author, seq, "uses a key this device does not hold"))?;
    let plain = entry.open(key).map_err(|e| damaged_entry(author, seq, e))?;
    let replayed = match entry.header().kind {
        EntryKind::Change => Replayed::Change(plain),
        EntryKind::Membership => {
            let op = SignedOp::decode(&plain).map_err(|e| damaged_entry(author, seq, e))?;
            if op.author() != *author {
                return Err(damaged_entry(author, seq, "holds another device's membership operation"));
            }
            membership.insert(op).map_err(|e| damaged_entry(author, seq, e))?;
            Replayed::Membership
        }
        EntryKind::Evidence => {
            let proof = Equivocation::decode(&plain).map_err(|e| damaged_entry(author, seq, e))?;
            if proof.group() != *id {
                return Err(damaged_entry(author, seq, "holds evidence about another group"));
            }
            Replayed::Evidence(Box::new(proof))
        }
    };
    *position = probe;
    Ok(replayed)
}

/// What an open group borrows from the unlocked device ([`crate::Vault::parts`]): where its records sit, the
/// device's keys, and the key sealing what only this device reads. (The group does not see the vault itself.)
#[derive(Clone, Copy)]
pub(crate) struct DeviceParts<'a> {
    pub(crate) shelf: &'a Shelf,
    pub(crate) keys: &'a DeviceKeys,
    pub(crate) storage_key: &'a Secret32,
}

impl OpenGroup {
    pub(crate) fn new_founded(
        vault: DeviceParts<'_>,
        id: GroupId,
        keys: GroupKeys,
        doc: GroupDoc,
        membership: MembershipLog,
    ) -> Self {
        let members = membership.state();
        Self {
            membership,
            members,
            waiting: Vec::new(),
            refused: Vec::new(),
            equivocations: BTreeMap::new(),
            damage: Vec::new(),
            healed_after: Default::default(),
            shelf: vault.shelf.clone(),
            device: vault.keys.clone(),
            storage_key: vault.storage_key.clone(),
            id,
            keys,
            doc,
            own_log: LogPosition::start(),
            covered: BTreeMap::new(),
            sealed_heads: Vec::new(),
            pending_heads: Vec::new(),
            pending_count: 0,
            since_snapshot: 0,
            seal_at_once: false,
            bytes_since_snapshot: 0,
        }
    }

    pub(crate) fn open(vault: DeviceParts<'_>, id: GroupId) -> Result<Self, NodeError> {
        let shelf = vault.shelf.clone();
        let sealed_keys =
            shelf.get_meta(&shelf.keys_name(&id))?.ok_or_else(|| NodeError::GroupNotFound(id.to_hex()))?;
        let keys = GroupKeys::open(&shelf, &id, &sealed_keys)?;

        // The snapshot is a cache: if it cannot be read, the logs alone rebuild the document.
        let mut covered = BTreeMap::new();
        // The snapshot's document bytes are kept to load it again only if the slow path below needs a fresh copy.
        let mut snapshot_document = None;
        let mut loaded = None;
        let mut membership = MembershipLog::new(id);
        if let Some(sealed) = shelf.snapshot(&id)? {
            match Snapshot::open(vault.storage_key, &id, &sealed).and_then(|snapshot| {
                // A group joined a moment ago has an empty snapshot: it only makes the group known to the store.
                let doc =
                    if snapshot.covered.is_empty() { None } else { Some(GroupDoc::load_trusted(&snapshot.document)?) };
                let mut log = MembershipLog::new(id);
                for bytes in &snapshot.membership {
                    let op = SignedOp::decode(bytes).map_err(|e| NodeError::Damaged(e.to_string()))?;
                    log.insert(op).map_err(|e| NodeError::Damaged(e.to_string()))?;
                }
                let document = (!snapshot.covered.is_empty()).then_some(snapshot.document);
                Ok((snapshot.covered, document, doc, log))
            }) {
                Ok((snapshot_covered, document, doc, snapshot_log)) => {
                    covered = snapshot_covered.into_iter().map(|c| (c.author, c)).collect();
                    snapshot_document = document;
                    loaded = doc;
                    membership = snapshot_log;
                }
                Err(error) => tracing::warn!(%error, "snapshot unreadable; rebuilding the group from its logs"),
            }
        }
        let base = || match &snapshot_document {
            Some(bytes) => GroupDoc::load_trusted(bytes),
            None => Ok(GroupDoc::empty()),
        };

        // Every stored entry is checked again on the way in. One that fails (a damaged disk, or an entry stored
        // by an earlier version that did not vet entries) ends the replay of its own log only: the group opens
        // without it and says so ([`OpenGroup::damage`]).
        let mut known: Vec<DeviceId> = covered.keys().copied().collect();
        known.push(vault.keys.device_id());
        let (logs, unreadable_logs) = shelf.log_heads(&id, &known)?;
        let mut damage = unreadable_logs;
        let mut equivocations = BTreeMap::new();
        let mut replayed: Vec<ReplayedChange> = Vec::new();
        let mut all_changes: Vec<u8> = Vec::new();
        // Every replayed entry's place and hash (of any kind), and the snapshot's coverage: where a log is cut,
        // it ends at the last entry kept before the cut, never before what the snapshot already holds.
        let snapshot_covered = covered.clone();
        let mut replayed_places: BTreeMap<DeviceId, Vec<(u64, [u8; 32])>> = BTreeMap::new();
        let mut since_snapshot = 0;
        for (author, head) in logs {
            let mut position = match covered.get(&author) {
                Some(c) => LogPosition::resume(c.seq, c.hash),
                None => LogPosition::start(),
            };
            if head < position.len() {
                damage.push(
                    damaged_entry(&author, head + 1, "is missing: the log is shorter than the snapshot").to_string(),
                );
                continue;
            }
            let mut next = position.len() + 1;
            'log: while next <= head {
                let page = shelf.entries(&id, &author, next, READ_PAGE)?;
                if page.is_empty() {
                    damage.push(damaged_entry(&author, next, "is missing").to_string());
                    break;
                }
                for (seq, bytes) in page {
                    let replayed_entry = match &bytes {
                        Ok(bytes) => replay_entry(&id, &author, seq, bytes, &mut position, &keys, &mut membership),
                        Err(_) => Err(damaged_entry(&author, seq, "cannot be unsealed on this device")),
                    };
                    match replayed_entry {
                        Ok(Replayed::Change(plain)) => {
                            let start = all_changes.len();
                            all_changes.extend_from_slice(&plain);
                            replayed.push(ReplayedChange { author, seq, range: start..all_changes.len() });
                        }
                        Ok(Replayed::Membership) => {}
                        Ok(Replayed::Evidence(proof)) => {
                            equivocations.entry(proof.author()).or_insert(*proof);
                        }
                        Err(error) if author == vault.keys.device_id() => {
                            // This device's own entries are already with its peers: going on from an earlier place
                            // would sign a second history. The group stays closed (and is reported) instead.
                            return Err(NodeError::Damaged(format!("{error}; the group is left unopened")));
                        }
                        Err(error) => {
                            tracing::warn!(%error, "a stored entry is skipped");
                            damage.push(error.to_string());
                            break 'log;
                        }
                    }
                    covered.insert(author, Covered { author, seq, hash: position_hash(&position) });
                    replayed_places.entry(author).or_default().push((seq, position_hash(&position)));
                    since_snapshot += 1;
                    next = seq + 1;
                }
            }
        }
        // Change chunks are concatenated and applied in one call: automerge applies a batch far faster than the
        // same changes one call at a time (each call re-indexes the document). Only if that fails are the
        // entries vetted one by one, as received entries are, and the ones that do not pass left out.
        let first = match loaded.take() {
            Some(doc) => Ok(doc),
            None => base(),
        };
        let fast = first.and_then(|mut doc| {
            if !all_changes.is_empty() {
                doc.load_stored(&all_changes)?;
            }
            if !doc.heads().is_empty() {
                doc.check_schema()?;
            }
            Ok(doc)
        });
        // Who is in, computed once: the founder is needed for vetting, the rest for the open group.
        let members = membership.state();
        let founder = members.founder;
        let mut doc = match fast {
            Ok(doc) => doc,
            Err(error) => {
                tracing::warn!(%error, "the group's changes do not load as a whole; vetting them one entry at a time");
                let (doc, cut) = Self::replay_vetted(&base, &all_changes, &replayed, founder.as_ref(), &mut damage)?;
                if cut.contains_key(&vault.keys.device_id()) {
                    // This device's own entries are already with its peers: going on from an earlier place would
                    // sign a second history. The group stays closed (and is reported) rather than do that.
                    return Err(NodeError::Damaged(format!(
                        "one of this device's own entries no longer passes ({}); the group is left unopened",
                        damage.join("; ")
                    )));
                }
                for (author, at) in cut {
                    let kept =
                        replayed_places.get(&author).and_then(|places| places.iter().rev().find(|(seq, _)| *seq < at));
                    match kept.copied().or_else(|| snapshot_covered.get(&author).map(|c| (c.seq, c.hash))) {
                        Some((seq, hash)) => covered.insert(author, Covered { author, seq, hash }),
                        None => covered.remove(&author),
                    };
                }
                doc
            }
        };
        doc.set_author(&vault.keys.device_id().to_hex())?;
        let own = vault.keys.device_id();
        let own_log = covered.get(&own).map_or_else(LogPosition::start, |c| LogPosition::resume(c.seq, c.hash));
        let sealed_heads = doc.heads();
        // Local edits not yet sealed into an entry.
        let pending_count = match shelf.get_meta(&shelf.unsent_count_name(&id))? {
            Some(sealed) => crate::records::open_pending_count(vault.storage_key, &id, &sealed)?,
            None => 0,
        };
        let mut unsent = Vec::new();
        for index in 0..pending_count {
            let sealed = shelf
                .get_meta(&shelf.unsent_chunk_name(&id, index))?
                .ok_or_else(|| NodeError::Damaged("one of this device's unsent edits is missing".into()))?;
            unsent.extend(crate::records::open_pending_chunk(vault.storage_key, &id, index, &sealed)?);
        }
        if !unsent.is_empty() {
            doc.load_incremental(&unsent)
                .map_err(|e| NodeError::Damaged(format!("this device's unsent edits: {e}")))?;
        }
        let pending_heads = doc.heads();
        let group = Self {
            shelf,
            device: vault.keys.clone(),
            storage_key: vault.storage_key.clone(),
            id,
            keys,
            doc,
            own_log,
            covered,
            sealed_heads,
            pending_heads,
            pending_count,
            since_snapshot,
            seal_at_once: false,
            bytes_since_snapshot: 0,
            members,
            membership,
            waiting: Vec::new(),
            refused: Vec::new(),
            equivocations,
            damage,
            healed_after: Default::default(),
        };
        // Keeping the index right costs one small read here; it is written (and flushed) only when the name changed.
        if group.remember_name()? {
            group.shelf.flush()?;
        }
        Ok(group)
    }

    /// The slow way to rebuild a document: every replayed change entry vetted in isolation, in passes (an entry
    /// may depend on another log's changes), the ones that fail left out with their log's later entries. Returns
    /// the document and, per log cut short, the first entry left out.
    #[allow(clippy::type_complexity)]
    fn replay_vetted(
        base: &dyn Fn() -> Result<GroupDoc, ModelError>,
        all_changes: &[u8],
        replayed: &[ReplayedChange],
        founder: Option<&DeviceId>,
        damage: &mut Vec<String>,
    ) -> Result<(GroupDoc, BTreeMap<DeviceId, u64>), NodeError> {
        let mut cut: BTreeMap<DeviceId, u64> = BTreeMap::new();
        let mut done = vec![false; replayed.len()];
        let mut batch: Vec<Vetted> = Vec::new();
        let mut doc = base()?;
        loop {
            let mut progress = false;
            for (i, change) in replayed.iter().enumerate() {
                if done[i] || cut.get(&change.author).is_some_and(|&at| change.seq >= at) {
                    continue;
                }
                let plain = all_changes.get(change.range.clone()).unwrap_or_default();
                match doc.try_changes(plain, &change.author.0, founder.map(|f| &f.0)) {
                    Ok(vetted) => {
                        batch.push(vetted);
                        done[i] = true;
                        progress = true;
                    }
                    Err(ChangeRefusal::MissingDeps) => {}
                    Err(refusal) => {
                        if matches!(refusal, ChangeRefusal::DoesNotApply(_)) {
                            // The document may hold part of the entry: start again from what passed.
                            doc = base()?;
                            doc.apply_vetted(batch.clone())
                                .map_err(|e| NodeError::Damaged(format!("the group's changes: {e}")))?;
                        }
                        damage.push(damaged_entry(&change.author, change.seq, refusal).to_string());
                        cut.insert(change.author, change.seq);
                    }
                }
            }
            if !progress {
                break;
            }
        }
        // Entries that still wait for changes no stored entry holds are kept, not cut: cutting them would cut
        // honest logs (this device's own among them) that merely build on a change that was left out. automerge
        // holds them aside until their dependencies arrive.
        for (i, change) in replayed.iter().enumerate() {
            if !done[i] && cut.get(&change.author).is_none_or(|&at| change.seq < at) {
                let plain = all_changes.get(change.range.clone()).unwrap_or_default();
                if let Err(error) = doc.load_incremental(plain) {
                    tracing::warn!(%error, "a stored entry waiting for dependencies does not load");
                }
            }
        }
        Ok((doc, cut))
    }

    /// Stored entries skipped when the group was opened, in words (empty when the group is whole).
    pub fn damage(&self) -> &[String] {
        &self.damage
    }

    /// Records the group's current name in the sealed group index; true if it had to be written.
    fn remember_name(&self) -> Result<bool, NodeError> {
        let name = self.doc.name();
        // A group joined a moment ago has no name in its (empty) document yet; the index has it from the welcome.
        if name.is_empty() {
            return Ok(false);
        }
        GroupIndex::remember(self.shelf.store().as_ref(), &self.storage_key, &self.id, &name)
    }

    /// The group's id.
    pub fn id(&self) -> GroupId {
        self.id
    }

    /// The materialized document.
    pub fn view(&self) -> GroupView {
        self.doc.view()
    }

    /// The materialized document with the heads it shows, for a front end that edits on it
    /// ([`GroupDoc::view_now`]).
    pub fn view_now(&mut self) -> GroupView {
        self.doc.view_now()
    }

    /// The document's heads (hex change hashes): the version a front end's next edit is typed on.
    pub fn document_heads(&mut self) -> Vec<String> {
        self.doc.heads().iter().map(ToString::to_string).collect()
    }

    /// The document, for reads that need more than the view.
    pub fn doc(&self) -> &GroupDoc {
        &self.doc
    }

    /// Who changed record `id` (of `kind`), when and from what, oldest first ([`GroupDoc::history`]): each change
    /// is under the device that signed the entry carrying it ([`OpenGroup::describe_device`] names it).
    pub fn history(
        &mut self,
        kind: sunspace_model::RecordKind,
        id: &str,
    ) -> Result<Vec<sunspace_model::FieldChange>, NodeError> {
        Ok(self.doc.history(kind, id)?)
    }

    /// [`OpenGroup::history`] in sentences: "2026-11-20 18:02 UTC  Bea's device 1a2b3c4d: changed outcome from
    /// "agreed" to "postponed"".
    pub fn history_sentences(&mut self, kind: sunspace_model::RecordKind, id: &str) -> Result<Vec<String>, NodeError> {
        let history = self.history(kind, id)?;
        Ok(history
            .iter()
            .map(|change| {
                let who = DeviceId::from_hex(&change.actor)
                    .map_or_else(|| "an unknown device".to_owned(), |d| self.describe_device(&d));
                let when = chrono::DateTime::from_timestamp(change.at, 0)
                    .map_or_else(|| "at an unknown time".to_owned(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
                let what = match (&change.previous, &change.value) {
                    (None, Some(value)) => format!("set {} to \"{value}\"", change.field),
                    (Some(previous), Some(value)) => {
                        format!("changed {} from \"{previous}\" to \"{value}\"", change.field)
                    }
                    (_, None) => format!("cleared {}", change.field),
                };
                format!("{when}  {who}: {what}")
            })
            .collect())
    }

    pub(crate) fn doc_mut(&mut self) -> &mut GroupDoc {
        &mut self.doc
    }

    /// The member record of this device's owner in this group, if the group lists this device.
    pub fn my_member_id(&self) -> Option<String> {
        let me = self.device.device_id().to_hex();
        self.view().devices.into_iter().find(|d| d.id == me).map(|d| d.member)
    }

    /// Number of entries in this device's own log.
    pub fn own_log_len(&self) -> u64 {
        self.own_log.len()
    }

    /// The whole document in automerge's format, readable by any automerge implementation.
    pub fn export_automerge(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Runs one edit. If it succeeds and changed anything, its changes are stored — kept pending, or sealed into a
    /// new entry of this device's log at once while a peer is there to send it to — and flushed to disk before
    /// this returns. If it fails, the document is left as it was.
    pub fn edit<R>(&mut self, edit: impl FnOnce(&mut GroupDoc) -> Result<R, ModelError>) -> Result<R, NodeError> {
        match edit(&mut self.doc) {
            Ok(result) => {
                if self.seal_at_once {
                    self.persist_pending()?;
                } else {
                    self.save_pending()?;
                }
                Ok(result)
            }
            Err(error) => {
                self.doc.rollback();
                Err(error.into())
            }
        }
    }

    /// Keeps every change not yet in a stored entry in the sealed pending record and flushes: the edit is
    /// durable, and becomes an entry when there is a peer to send it to ([`OpenGroup::persist_pending`]), or
    /// once the batch reaches [`PENDING_MAX_CHANGES`].
    ///
    /// If storing fails the changes stay in memory, and the next successful call stores them together with
    /// what came after, so nothing is half-written.
    pub(crate) fn save_pending(&mut self) -> Result<(), NodeError> {
        let now = chrono::Utc::now().timestamp();
        self.doc.commit(now);
        let heads = self.doc.heads();
        if heads == self.pending_heads {
            return Ok(());
        }
        if self.pending_count as usize + 1 >= PENDING_MAX_CHANGES {
            return self.persist_pending();
        }
        let changes = self.doc.save_after(&self.pending_heads);
        let index = self.pending_count;
        let chunk = crate::records::seal_pending_chunk(&self.storage_key, &self.id, index, &changes);
        self.shelf.put_meta(&self.shelf.unsent_chunk_name(&self.id, index), &chunk)?;
        let count = crate::records::seal_pending_count(&self.storage_key, &self.id, index + 1);
        self.shelf.put_meta(&self.shelf.unsent_count_name(&self.id), &count)?;
        self.remember_name()?;
        self.shelf.flush()?;
        self.pending_count = index + 1;
        self.pending_heads = heads;
        Ok(())
    }

    /// Seals every change not yet in a stored entry (the pending batch) into one new entry of this device's log,
    /// stores it and flushes. The engine calls this before telling a peer what this device holds.
    ///
    /// If storing fails the changes stay in memory, and the next successful call seals them together with what
    /// came after, so nothing is half-written and nothing is sealed twice.
    pub fn persist_pending(&mut self) -> Result<(), NodeError> {
        let now = chrono::Utc::now().timestamp();
        self.doc.commit(now);
        let heads = self.doc.heads();
        if heads == self.sealed_heads {
            return Ok(());
        }
        let (changes, count) = self.doc.changes_after(&self.sealed_heads);
        self.append_own(EntryKind::Change, &changes)?;
        self.sealed_heads = heads.clone();
        self.pending_heads = heads;
        // The entry is flushed; only then are the pending chunks dropped (a crash in between leaves both, and
        // reopening finds the pending changes already in the entry). Stale chunks are overwritten by later edits.
        if self.pending_count > 0 {
            let count = crate::records::seal_pending_count(&self.storage_key, &self.id, 0);
            self.shelf.put_meta(&self.shelf.unsent_count_name(&self.id), &count)?;
            self.shelf.flush()?;
            self.pending_count = 0;
        }
        tracing::debug!(bytes = changes.len(), changes = count, "sealed entry stored");
        Ok(())
    }

    /// Whether local edits wait to be sealed into an entry.
    pub fn has_pending(&mut self) -> bool {
        self.doc.heads() != self.sealed_heads
    }

    /// Seals `plain` into the next entry of this device's log, stores it and flushes.
    fn append_own(&mut self, kind: EntryKind, plain: &[u8]) -> Result<(), NodeError> {
        // Records are written with the key every remaining device holds and no removed device does; after a
        // removal that has no such key yet, this device makes one first. Membership operations (a rotation
        // among them) use the newest key held, so every device that may read them can.
        let (epoch, key) = match kind {
            EntryKind::Change => self.writable_key()?,
            EntryKind::Membership | EntryKind::Evidence => {
                let (epoch, key) = match self.members.writable_epoch.and_then(|e| self.keys.key(e).map(|k| (e, k))) {
                    Some(found) => found,
                    None => self.keys.newest().ok_or_else(|| NodeError::Damaged("the group has no key".into()))?,
                };
                (epoch, key.clone())
            }
        };
        if plain.len() + sunspace_crypto::SEAL_OVERHEAD > sunspace_log::MAX_BODY_LEN {
            // Peers would refuse an entry this large (and so would this device, reopening): never write one.
            return Err(NodeError::Refused("that is more than one entry can carry; make it in smaller parts".into()));
        }
        let key = &key;
        let link = self.own_log.next_header_fields();
        let entry = Entry::seal(&self.device, kind, self.id, link, epoch, key, plain);
        let author = self.device.device_id();
        self.shelf.append_entry(&self.id, &author, link.seq, &entry.encode())?;
        // The entry is in the store from here on (flushed or not), so the position advances even if flushing
        // fails: the next entry must follow this one.
        self.own_log.accept(&entry).map_err(|e| NodeError::Damaged(e.to_string()))?;
        self.covered.insert(author, Covered { author, seq: link.seq, hash: entry.hash() });
        self.since_snapshot += 1;
        self.bytes_since_snapshot += plain.len();
        if self.snapshot_due() || link.seq == 1 {
            self.write_snapshot()?;
        }
        // A rename (here or from a peer) reaches the index with the entry that made it.
        self.remember_name()?;
        self.shelf.flush()?;
        Ok(())
    }

    /// Signs a membership operation by this device, on top of every operation held, and stores it as an entry of
    /// this device's log. Whether it takes effect is decided by the membership rules ([`OpenGroup::members`]).
    pub fn append_membership(&mut self, action: Action) -> Result<OpId, NodeError> {
        // Document changes made before stay before: seal them first.
        self.persist_pending()?;
        // Tried on a copy first: an operation the rules would refuse is never signed into the log and sent, where
        // every device would have to refuse it for good.
        let mut trial = self.membership.clone();
        let op = trial.append(&self.device, action).map_err(|e| NodeError::Damaged(e.to_string()))?;
        let state = trial.state();
        if let Some((_, rejection)) = state.rejected.iter().find(|(id, _)| *id == op) {
            return Err(NodeError::Refused(format!("the membership rules refuse it: {rejection}")));
        }
        let signed = trial.signed_ops().find(|s| s.id() == op).cloned();
        let signed = signed.ok_or_else(|| NodeError::Damaged("a membership operation vanished".into()))?;
        let before = self.own_log.len();
        let stored = self.append_own(EntryKind::Membership, &signed.encode());
        // Once the entry is in the store it will reach peers (even if flushing or the snapshot failed after it):
        // this device's membership takes the operation from then on, and a retry does not sign a second one.
        if self.own_log.len() > before {
            self.membership = trial;
            self.members = state;
        }
        stored?;
        Ok(op)
    }

    /// Admits a device verified in person: records it in the document and signs the membership operation
    /// (`AddMember` for a new member, `LinkDevice` for another device of this device's own member). With
    /// `existing_member`, the newcomer takes over that member record (someone added with `member add-local`),
    /// so their history stays theirs. Returns the member record id and the group keys wrapped to the device.
    pub fn admit(&mut self, admission: &Admission) -> Result<(String, Vec<(u32, String)>), NodeError> {
        use sunspace_membership::{DeviceKey, Method, Role, Verification};
        let me = self.device.device_id();
        let my_member = self.members.devices.get(&me).map(|d| d.member.clone()).ok_or(NodeError::NotAMember)?;
        if self.members.is_active_device(&admission.device) {
            return Err(NodeError::Refused("that device is already in the group".into()));
        }
        let device = DeviceKey { id: admission.device, agreement: admission.agreement };
        let method = if admission.via_qr { Method::InPersonQr } else { Method::InPersonCode };
        let verification = Verification { method, verified_by: me, at: chrono::Utc::now().timestamp() };
        let record = sunspace_model::DeviceRecord {
            device_id: admission.device.to_hex(),
            agreement_key: hex::encode(admission.agreement),
            method: if admission.via_qr { "in-person-qr" } else { "in-person-code" }.into(),
        };
        let today = crate::today();
        let member = if admission.own_device {
            let member = my_member.clone();
            self.edit(|doc| doc.record_device(Some(&member), "", &record, today))?;
            self.append_membership(Action::LinkDevice { member: member.clone(), device, verification })?;
            member
        } else {
            if !self.members.has_role(&my_member, Role::Steward) {
                return Err(NodeError::Refused("only a steward can admit new members".into()));
            }
            let existing = admission.existing_member.as_deref();
            if let Some(existing) = existing {
                let id = self.doc.find_id(sunspace_model::RecordKind::Member, existing)?;
                if self.members.members.contains_key(&id) {
                    return Err(NodeError::Refused("that member already has a device in the group".into()));
                }
            }
            let member = self.edit(|doc| doc.record_device(existing, &admission.name, &record, today))?;
            self.append_membership(Action::AddMember { member: member.clone(), device, verification })?;
            member
        };
        if !self.members.is_active_device(&admission.device) {
            return Err(NodeError::Refused("the membership rules did not admit the device".into()));
        }
        let wrapped = self
            .keys
            .epochs
            .iter()
            .map(|(epoch, key)| {
                let context = sunspace_membership::invite::welcome_wrap_context(&self.id, *epoch, &admission.device);
                (*epoch, wrap_hex(&admission.agreement, key, &context))
            })
            .collect();
        Ok((member, wrapped))
    }

    /// The key to write records with: the membership's writable generation. If a removal left none (or this
    /// device does not hold it yet and can make a new one), a new key is made and wrapped to every device still in
    /// the group.
    fn writable_key(&mut self) -> Result<(u32, Secret32), NodeError> {
        if let Some(epoch) = self.members.writable_epoch {
            if let Some(key) = self.keys.key(epoch) {
                return Ok((epoch, key.clone()));
            }
            if epoch == 0 {
                return Err(NodeError::Damaged("the group's founding key is missing".into()));
            }
            // The generation exists but its key was not wrapped to this device: it must not write with an
            // older one. Make a generation it holds.
        }
        self.rotate_key()
    }

    /// Makes a new group key, wraps it to every device in the group (by the membership this device knows), and
    /// records the rotation in this device's log. Returns the new generation and key.
    pub fn rotate_key(&mut self) -> Result<(u32, Secret32), NodeError> {
        let me = self.device.device_id();
        if !self.members.is_active_device(&me) {
            return Err(NodeError::NotAMember);
        }
        let key = Secret32::random();
        let wraps = self
            .members
            .devices
            .iter()
            .map(|(device, state)| {
                let context = rotation_wrap_context(&self.id, device, &me);
                (*device, wrap_hex(&state.key.agreement, &key, &context))
            })
            .collect();
        let op = self
            .membership
            .append(
                &self.device,
                Action::RotateKey { wraps, commitment: sunspace_membership::key_commitment(&self.id, key.expose()) },
            )
            .map_err(|e| NodeError::Damaged(e.to_string()))?;
        let epoch = sunspace_membership::epoch_id(&op);
        let signed = self.membership.signed_ops().find(|s| s.id() == op).cloned();
        let signed = signed.ok_or_else(|| NodeError::Damaged("a membership operation vanished".into()))?;
        // The rotation itself is sealed with a key the other devices already hold (the membership is not yet
        // recomputed here), so they can read the new key's wraps. Should this device stop right after, the next
        // write finds a generation it does not hold and simply rotates again.
        self.append_own(EntryKind::Membership, &signed.encode())?;
        self.keys.epochs.push((epoch, key.clone()));
        self.keys.save(&self.shelf, &self.id)?;
        self.shelf.flush()?;
        self.members = self.membership.state();
        tracing::info!(epoch, "group key rotated");
        Ok((epoch, key))
    }

    /// Removes a member and all their devices (stewards only), then rotates the key so that nothing written from
    /// now on can be read by them. Returns, per removed device, how far its log was held: everything the member
    /// could read is everything up to the removal.
    pub fn remove_member(&mut self, member: &str, reason: &str) -> Result<Vec<(DeviceId, u64)>, NodeError> {
        let me = self.device.device_id();
        let my_member = self.members.member_of(&me).ok_or(NodeError::NotAMember)?.to_owned();
        if !self.members.has_role(&my_member, sunspace_membership::Role::Steward) {
            return Err(NodeError::Refused("only a steward can remove a member".into()));
        }
        let state = self.members.members.get(member).ok_or_else(|| {
            NodeError::Refused(
                "that member has no device in the group (nothing to remove from the group's keys)".into(),
            )
        })?;
        let cutoffs: Vec<(DeviceId, u64)> =
            state.devices.iter().map(|d| (*d, self.covered.get(d).map_or(0, |c| c.seq))).collect();
        self.append_membership(Action::RemoveMember {
            member: member.to_owned(),
            reason: reason.to_owned(),
            cutoffs: cutoffs.clone(),
        })?;
        if self.members.members.contains_key(member) {
            return Err(NodeError::Refused("the membership rules did not remove the member".into()));
        }
        self.rotate_key()?;
        // The records say so too (the signed membership is what cuts access), under the new key.
        let today = crate::today();
        let marked = self.edit(|doc| {
            doc.update_member(member, None, Some(sunspace_model::MemberStatus::Left))?;
            cutoffs.iter().try_for_each(|(device, _)| doc.set_device_revoked(&device.to_hex(), today))
        });
        if let Err(error) = marked {
            tracing::warn!(%error, "the member was removed, but their records could not be marked so");
        }
        Ok(cutoffs)
    }

    /// Makes `member` a steward, or ends their stewardship (stewards only), by a signed membership operation: the
    /// authority to admit and remove members. The group's last steward cannot be ended.
    pub fn set_steward(&mut self, member: &str, steward: bool) -> Result<(), NodeError> {
        use sunspace_membership::Role;
        let me = self.device.device_id();
        let my_member = self.members.member_of(&me).ok_or(NodeError::NotAMember)?.to_owned();
        if !self.members.has_role(&my_member, Role::Steward) {
            return Err(NodeError::Refused("only a steward can change who the stewards are".into()));
        }
        if !self.members.members.contains_key(member) {
            return Err(NodeError::Refused("that member has no device in the group".into()));
        }
        if self.members.has_role(member, Role::Steward) == steward {
            return Ok(());
        }
        let acting =
            self.members.members.values().filter(|m| m.roles.contains(&Role::Steward) && !m.devices.is_empty());
        if !steward && acting.count() <= 1 {
            return Err(NodeError::Refused(
                "the group needs at least one steward: make someone else a steward first".into(),
            ));
        }
        let action = if steward {
            Action::GrantRole { member: member.to_owned(), role: Role::Steward }
        } else {
            Action::EndRole { member: member.to_owned(), role: Role::Steward }
        };
        self.append_membership(action)?;
        Ok(())
    }

    /// The members who hold the steward role by the signed membership (not the informal roles in the records).
    pub fn stewards(&self) -> Vec<String> {
        self.members
            .members
            .iter()
            .filter(|(_, m)| m.roles.contains(&sunspace_membership::Role::Steward))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Revokes one device (one of this device's member's others, or any as a steward), then rotates the key.
    pub fn revoke_device(&mut self, device: DeviceId) -> Result<u64, NodeError> {
        if device == self.device.device_id() {
            return Err(NodeError::Refused("revoke this device from another of your devices".into()));
        }
        if !self.members.is_active_device(&device) {
            return Err(NodeError::Refused("that device is not in the group".into()));
        }
        let cutoff = self.covered.get(&device).map_or(0, |c| c.seq);
        self.append_membership(Action::RevokeDevice { device, cutoff })?;
        if self.members.is_active_device(&device) {
            return Err(NodeError::Refused("only the device's own member or a steward can revoke it".into()));
        }
        self.rotate_key()?;
        let today = crate::today();
        if let Err(error) = self.edit(|doc| doc.set_device_revoked(&device.to_hex(), today)) {
            tracing::warn!(%error, "the device was revoked, but its record could not be marked so");
        }
        Ok(cutoff)
    }

    /// Takes the key of a rotation that wrapped one to this device (an operation just received). Returns false if
    /// the wrap does not open, or opens to a key other than the one the rotation commits to: the key is not taken
    /// (the caller rotates again, so that the group writes with a key this device holds).
    fn take_rotated_key(
        &mut self,
        author: DeviceId,
        op: &sunspace_membership::Op,
        id: sunspace_membership::OpId,
    ) -> Result<bool, NodeError> {
        let Action::RotateKey { wraps, commitment } = &op.action else { return Ok(true) };
        let me = self.device.device_id();
        let epoch = sunspace_membership::epoch_id(&id);
        if self.keys.key(epoch).is_some() {
            return Ok(true);
        }
        // A rotation that leaves this device out is refused by the membership rules, for everyone.
        let Some((_, wrapped)) = wraps.iter().find(|(device, _)| *device == me) else { return Ok(true) };
        let key = unwrap_hex(&self.device, wrapped, &rotation_wrap_context(&self.id, &me, &author));
        let Some(key) = key.filter(|key| sunspace_membership::key_commitment(&self.id, key.expose()) == *commitment)
        else {
            tracing::warn!(author = %author.short(), "a rotated key wrapped to this device is not the key committed to");
            return Ok(false);
        };
        self.keys.epochs.push((epoch, key));
        self.keys.save(&self.shelf, &self.id)?;
        Ok(true)
    }

    #[cfg(feature = "test-utils")]
    pub(crate) fn device_keys(&self) -> &DeviceKeys {
        &self.device
    }

    #[cfg(feature = "test-utils")]
    pub(crate) fn writable_key_for_forging(&mut self) -> Result<(u32, Secret32), NodeError> {
        self.writable_key()
    }

    #[cfg(feature = "test-utils")]
    pub(crate) fn append_own_for_forging(&mut self, kind: EntryKind, plain: &[u8]) -> Result<(), NodeError> {
        self.append_own(kind, plain)
    }

    #[cfg(feature = "test-utils")]
    pub(crate) fn membership_log(&self) -> &MembershipLog {
        &self.membership
    }

    /// The group's safety number (see [`sunspace_membership::State::safety_number`]).
    pub fn safety_number(&self) -> String {
        self.members.safety_number()
    }

    /// Stores the founding operation, already in the membership log, as this device's first entry.
    pub(crate) fn store_founding(&mut self) -> Result<(), NodeError> {
        let signed = self.membership.signed_ops().next().cloned();
        let signed = signed.ok_or_else(|| NodeError::Damaged("the group has no founding operation".into()))?;
        self.append_own(EntryKind::Membership, &signed.encode())
    }

    /// Who is in the group, from the signed membership operations.
    pub fn members(&self) -> &Membership {
        &self.members
    }

    /// How many received entries wait for entries or admissions not received yet.
    pub fn waiting_len(&self) -> usize {
        self.waiting.len()
    }

    /// How far this device holds each log: what a heads message says.
    pub fn heads(&self) -> BTreeMap<DeviceId, u64> {
        self.covered.values().map(|c| (c.author, c.seq)).collect()
    }

    /// The hash of the last entry held of each log: what a heads message carries beside the numbers.
    pub fn head_hashes(&self) -> BTreeMap<DeviceId, [u8; 32]> {
        self.covered.values().map(|c| (c.author, c.hash)).collect()
    }

    /// The encoded entries `first ..= last` of `author`'s log (fewer if the log is shorter).
    pub fn read_entries(&self, author: DeviceId, first: u64, last: u64) -> Result<Vec<Vec<u8>>, NodeError> {
        let mut out = Vec::new();
        let mut next = first;
        while next <= last {
            let page = self.shelf.entries(&self.id, &author, next, READ_PAGE.min((last - next + 1) as usize))?;
            let Some(&(seq, _)) = page.last() else { break };
            for (seq, bytes) in page {
                out.push(bytes.map_err(|_| damaged_entry(&author, seq, "cannot be unsealed on this device"))?);
            }
            next = seq + 1;
        }
        Ok(out)
    }

    fn position(&self, author: &DeviceId) -> LogPosition {
        self.covered.get(author).map_or_else(LogPosition::start, |c| LogPosition::resume(c.seq, c.hash))
    }

    /// Takes entries received from a peer. Each is validated in isolation before anything is stored: group,
    /// signature (once, on arrival), author admitted, place in its log and hash chain, decryption, and then what it
    /// holds: a membership operation's signature, author and rules; the changes' bytes, actor, sequence numbers
    /// and layout ([`GroupDoc::vet_changes`]). Accepted entries are stored, their changes applied in one batch,
    /// and flushed. Entries that arrive early wait (bounded) for what they depend on; invalid ones are refused,
    /// never stored, kept as evidence ([`OpenGroup::refused`]). Two different entries signed for one place in a
    /// log are kept as proof of equivocation and published to the group.
    pub fn receive(&mut self, encoded: Vec<Vec<u8>>) -> Result<Receipt, NodeError> {
        // Our own unsealed changes (only after a failed write) are sealed first, so they are never mixed up with
        // a peer's changes below.
        self.persist_pending()?;
        let mut receipt = Receipt::default();
        let mut queue = std::mem::take(&mut self.waiting);
        for bytes in encoded {
            match Entry::decode(&bytes) {
                Ok(entry) if entry.header().group != self.id => {
                    receipt.rejected.push(EntryRejection::WrongGroup.to_string());
                }
                // Signatures are checked once, here, before an entry can wait: what waits is signed by its author.
                Ok(entry) => match entry.verify_signature() {
                    Ok(()) => queue.push(entry),
                    Err(error) => receipt.rejected.push(error.to_string()),
                },
                Err(error) => receipt.rejected.push(format!("an undecodable entry: {error}")),
            }
        }
        // Changes are applied, entry by entry, to a copy of the document that replaces it at the end; `vetted`
        // keeps what the copy holds, to make a fresh one should automerge fail half-way through an entry.
        let mut vetted: Vec<Vetted> = Vec::new();
        let mut trial: Option<GroupDoc> = None;
        let mut proofs: Vec<Equivocation> = Vec::new();
        let mut bad_wraps: Vec<DeviceId> = Vec::new();
        // A storage failure (a full disk) stops the batch; what was stored before it is still applied below.
        let mut failure = None;
        loop {
            let mut progress = false;
            let mut pass_changed = false;
            let mut later = Vec::new();
            for entry in queue {
                if failure.is_some() {
                    later.push(entry);
                    continue;
                }
                let author = entry.header().author;
                let seq = entry.header().link.seq;
                let position = self.position(&author);
                let founding =
                    self.members.devices.is_empty() && seq == 1 && entry.header().kind == EntryKind::Membership;
                // A removed device's entries are accepted up to its cut-off (what the group held when it was
                // removed) and refused after it, by every device.
                if self.members.cutoff(&author).is_some_and(|cutoff| seq > cutoff)
                    && !self.members.is_active_device(&author)
                {
                    receipt.rejected.push("an entry written by a removed device after its removal".into());
                    continue;
                }
                let members = &self.members;
                let admitted = |d: &DeviceId| founding || members.is_active_device(d) || members.cutoff(d).is_some();
                match check_verified_entry(&entry, self.id, Some(&position), admitted) {
                    Verdict::Accept => match self.accept(&entry, founding, &mut trial, &mut vetted, &mut bad_wraps) {
                        Ok(membership_changed) => {
                            progress = true;
                            receipt.membership_changed |= membership_changed;
                            pass_changed |= membership_changed;
                            receipt.accepted.push((author, seq));
                        }
                        Err(Refusal::Invalid(reason)) => {
                            tracing::warn!(author = %author.short(), seq, %reason, "entry refused");
                            self.keep_refused(&entry, &reason);
                            receipt.rejected.push(reason);
                        }
                        Err(Refusal::Waiting | Refusal::KeyNotHeld) => later.push(entry),
                        Err(Refusal::Store(error)) => {
                            failure = Some(error);
                            later.push(entry);
                        }
                    },
                    Verdict::Duplicate => match self.contradiction(&entry, seq) {
                        Some(proof) => proofs.push(proof),
                        None => receipt.duplicates += 1,
                    },
                    Verdict::Reject(EntryRejection::Invalid(VerifyError::BrokenChain { .. })) if seq > 1 => {
                        // A signed entry that does not follow the one its author signed before it: a fork.
                        match self.contradiction(&entry, seq - 1) {
                            Some(proof) => proofs.push(proof),
                            None => receipt.rejected.push("an entry that does not follow its author's log".into()),
                        }
                    }
                    Verdict::Gap { .. } | Verdict::Reject(EntryRejection::NotMember) => later.push(entry),
                    Verdict::Reject(rejection) => {
                        tracing::warn!(author = %author.short(), %rejection, "entry refused");
                        receipt.rejected.push(rejection.to_string());
                    }
                }
            }
            queue = later;
            if pass_changed {
                self.members = self.membership.state();
            }
            if !progress || queue.is_empty() || failure.is_some() {
                break;
            }
        }
        receipt.waiting = self.keep_waiting(queue);
        if failure.is_some() {
            // The copy may hold an entry that was not stored: make it again from what was.
            trial = None;
            if !vetted.is_empty() {
                let mut fresh = self.doc.trial_copy();
                let applied = fresh.apply_vetted(std::mem::take(&mut vetted));
                // Its sequence numbers were copied from before the batch: read them afresh.
                fresh.discard_vetted();
                match applied {
                    Ok(()) => trial = Some(fresh),
                    Err(error) => tracing::error!(%error, "changes that applied once did not apply again"),
                }
            }
        }
        if let Some(mut next) = trial {
            next.set_author(&self.device.device_id().to_hex())?;
            self.doc = next;
        }
        if !receipt.accepted.is_empty() {
            self.sealed_heads = self.doc.heads();
            self.pending_heads = self.sealed_heads.clone();
        }
        // Only now, with every accepted entry's changes in the document, may this device write entries of its own
        // (a snapshot written in between would claim entries whose changes it lacks).
        for proof in proofs {
            let author = proof.author();
            if self.equivocations.contains_key(&author) {
                continue;
            }
            tracing::warn!(device = %author.short(), seq = proof.seq(), "a device signed two different histories");
            receipt.equivocations.push(author);
            let encoded = proof.encode();
            // Two entries near the size limit make a proof too large for one entry: it is kept here only.
            let fits = encoded.len() + sunspace_crypto::SEAL_OVERHEAD <= sunspace_log::MAX_BODY_LEN;
            if fits && self.members.is_active_device(&self.device.device_id()) {
                self.append_own(EntryKind::Evidence, &encoded)?;
            }
            self.equivocations.insert(author, proof);
        }
        let first_offences: Vec<DeviceId> = bad_wraps.into_iter().filter(|d| !self.healed_after.contains(d)).collect();
        if !first_offences.is_empty() && self.members.is_active_device(&self.device.device_id()) {
            // A rotation gave this device a key the others did not get: make a new one that reaches everyone, so
            // the group writes with a key this device holds. Once per offending device (it is named in status
            // for whatever it does next).
            tracing::warn!("a rotated key wrapped to this device does not match its commitment; rotating again");
            self.healed_after.extend(first_offences);
            match self.rotate_key() {
                Ok(_) => receipt.membership_changed = true,
                Err(error) => tracing::error!(%error, "could not rotate the group key after a wrong wrap"),
            }
        }
        if !receipt.accepted.is_empty() {
            if self.snapshot_due() {
                self.write_snapshot()?;
            }
            self.remember_name()?;
            self.shelf.flush()?;
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(receipt),
        }
    }

    /// Keeps entries that wait, within bounds: per author the lowest sequence numbers (the ones needed next),
    /// authors not in the group apart and few, and all of them within a byte budget. Returns how many wait.
    fn keep_waiting(&mut self, mut queue: Vec<Entry>) -> usize {
        queue.sort_by_key(|e| (e.header().author, e.header().link.seq));
        queue.dedup_by_key(|e| (e.header().author, e.header().link.seq));
        let mut per_author: BTreeMap<DeviceId, usize> = BTreeMap::new();
        let (mut strangers, mut bytes) = (0usize, 0usize);
        let members = &self.members;
        queue.retain(|entry| {
            let author = entry.header().author;
            let count = per_author.entry(author).or_insert(0);
            *count += 1;
            let known = members.is_active_device(&author) || members.cutoff(&author).is_some();
            if !known {
                strangers += 1;
            }
            bytes += entry.header().body_len as usize;
            *count <= MAX_WAITING_PER_AUTHOR
                && (known || strangers <= MAX_WAITING_STRANGERS)
                && bytes <= MAX_WAITING_BYTES
        });
        self.waiting = queue;
        self.waiting.len()
    }

    /// Proof of equivocation, if the stored entry at `seq` of `entry`'s author contradicts `entry` (another entry
    /// for the same place, or, for `seq` one before `entry`'s, not the predecessor `entry` names).
    fn contradiction(&self, entry: &Entry, seq: u64) -> Option<Equivocation> {
        let author = entry.header().author;
        let held = self.covered.get(&author);
        // The common duplicate, of the newest entry held, is told apart without reading the store.
        if seq == entry.header().link.seq && held.is_some_and(|c| c.seq == seq && c.hash == entry.hash()) {
            return None;
        }
        let stored = self.read_entries(author, seq, seq).ok()?.into_iter().next()?;
        if seq == entry.header().link.seq && stored == entry.encode() {
            return None;
        }
        let stored = Entry::decode(&stored).ok()?;
        Equivocation::new(stored, entry.clone()).ok()
    }

    /// Remembers a refused entry (the newest [`MAX_REFUSALS_KEPT`]).
    fn keep_refused(&mut self, entry: &Entry, reason: &str) {
        if self.refused.len() >= MAX_REFUSALS_KEPT {
            self.refused.remove(0);
        }
        self.refused.push(RefusedEntry {
            author: entry.header().author,
            seq: entry.header().link.seq,
            reason: reason.to_owned(),
            at: chrono::Utc::now().timestamp(),
            entry: if entry.header().body_len as usize <= MAX_REFUSED_BYTES_KEPT { entry.encode() } else { Vec::new() },
        });
    }

    /// Whose device this is, in words: "Bea's device 1a2b3c4d" (the member from the signed membership, removed ones
    /// included; the name from the records), or "device 1a2b3c4d" for one the group does not list.
    pub fn describe_device(&self, device: &DeviceId) -> String {
        let member = self
            .members
            .devices
            .get(device)
            .map(|d| d.member.clone())
            .or_else(|| self.members.removed.get(device).map(|r| r.member.clone()));
        match member.and_then(|m| self.doc.member_name(&m)).filter(|n| !n.is_empty()) {
            Some(name) => format!("{name}'s device {}", device.short()),
            None => format!("device {}", device.short()),
        }
    }

    /// What a steward should know about this group's integrity, in sentences (see [`crate::status::IntegrityNote`]).
    pub fn integrity(&self) -> Vec<crate::status::IntegrityNote> {
        use crate::status::{IntegrityKind, IntegrityNote};
        let mut notes = Vec::new();
        for (device, proof) in &self.equivocations {
            notes.push(IntegrityNote {
                kind: IntegrityKind::Equivocation,
                device: Some(device.to_hex()),
                sentence: format!(
                    "{} signed two different histories (from its entry {} on): it showed different records to \
                     different members. The proof is kept and shared with the group; a steward should talk to them \
                     and may remove the device.",
                    self.describe_device(device),
                    proof.seq()
                ),
            });
        }
        let mut refused_by: BTreeMap<DeviceId, Vec<&RefusedEntry>> = BTreeMap::new();
        for refusal in &self.refused {
            refused_by.entry(refusal.author).or_default().push(refusal);
        }
        for (device, refusals) in refused_by {
            let newest = refusals.last().map(|r| r.reason.clone()).unwrap_or_default();
            notes.push(IntegrityNote {
                kind: IntegrityKind::Refused,
                device: Some(device.to_hex()),
                sentence: format!(
                    "{} sent {} entr{} this device refused and did not keep in the records ({newest}).",
                    self.describe_device(&device),
                    refusals.len(),
                    if refusals.len() == 1 { "y" } else { "ies" }
                ),
            });
        }
        for damage in &self.damage {
            notes.push(IntegrityNote {
                kind: IntegrityKind::Damaged,
                device: None,
                sentence: format!("When the group was opened, a stored entry was left out: {damage}."),
            });
        }
        for (op, author) in self.membership.incomplete() {
            notes.push(IntegrityNote {
                kind: IntegrityKind::MembershipPending,
                device: Some(author.to_hex()),
                sentence: format!(
                    "A membership change by {} ({}) waits for changes this device has never received; it has no effect until they arrive.",
                    self.describe_device(&author),
                    hex::encode(&op.0[..4])
                ),
            });
        }
        for (op, rejection) in &self.members.rejected {
            let author = self.membership.author_of(op);
            notes.push(IntegrityNote {
                kind: IntegrityKind::MembershipRefused,
                device: author.map(|a| a.to_hex()),
                sentence: format!(
                    "A membership change by {} ({}) was refused by the group's rules: {rejection}.",
                    author.map_or_else(|| "a device".to_owned(), |a| self.describe_device(&a)),
                    hex::encode(&op.0[..4])
                ),
            });
        }
        notes
    }

    /// Entries refused from member devices since the group was opened, oldest first.
    pub fn refused(&self) -> &[RefusedEntry] {
        &self.refused
    }

    /// Devices proven to have signed two different histories.
    pub fn equivocations(&self) -> impl Iterator<Item = (&DeviceId, &Equivocation)> {
        self.equivocations.iter()
    }

    /// Decrypts, validates and stores one checked entry; vetted document changes are collected into `vetted` to be
    /// applied in one batch. Returns whether the membership changed, or why it was refused.
    fn accept(
        &mut self,
        entry: &Entry,
        founding: bool,
        trial: &mut Option<GroupDoc>,
        vetted: &mut Vec<Vetted>,
        bad_wraps: &mut Vec<DeviceId>,
    ) -> Result<bool, Refusal> {
        let header = entry.header();
        let key = self.keys.key(header.epoch).ok_or(Refusal::KeyNotHeld)?;
        let plain = entry.open(key).map_err(invalid)?;
        let mut membership_changed = false;
        let mut removal = false;
        let mut changes = None;
        match header.kind {
            EntryKind::Change => {
                let founder = self.members.founder.map(|d| d.0);
                let copy = trial.get_or_insert_with(|| self.doc.trial_copy());
                match copy.try_changes(&plain, &header.author.0, founder.as_ref()) {
                    Ok(ready) => changes = Some(ready),
                    Err(ChangeRefusal::MissingDeps) => return Err(Refusal::Waiting),
                    Err(refusal @ ChangeRefusal::DoesNotApply(_)) => {
                        // The copy may hold part of this entry: make a fresh one with what it held before.
                        let mut fresh = self.doc.trial_copy();
                        let applied = fresh.apply_vetted(vetted.clone());
                        // Its sequence numbers were copied from before the batch: read them afresh.
                        fresh.discard_vetted();
                        *trial = match applied {
                            Ok(()) => Some(fresh),
                            Err(error) => return Err(Refusal::Store(NodeError::Damaged(error.to_string()))),
                        };
                        return Err(invalid(refusal));
                    }
                    Err(refusal) => return Err(invalid(refusal)),
                }
            }
            EntryKind::Membership => {
                let signed = SignedOp::decode(&plain).map_err(invalid)?;
                if signed.author() != header.author {
                    return Err(invalid("a membership operation signed by another device than the entry"));
                }
                let op = signed.verify().map_err(invalid)?;
                if founding {
                    let binds = matches!(&op.action, Action::Create { nonce, .. } if group_id_for(&header.author, nonce) == self.id);
                    if !binds {
                        return Err(invalid("an entry from a device that is not in the group"));
                    }
                }
                removal = matches!(op.action, Action::RemoveMember { .. } | Action::RevokeDevice { .. });
                let id = self.membership.insert(signed).map_err(invalid)?;
                if !self.take_rotated_key(header.author, &op, id).map_err(Refusal::Store)? {
                    bad_wraps.push(header.author);
                }
                membership_changed = true;
            }
            EntryKind::Evidence => {
                let proof = Equivocation::decode(&plain).map_err(invalid)?;
                if proof.group() != self.id {
                    return Err(invalid("evidence about another group"));
                }
                let about = proof.author();
                if !self.members.is_active_device(&about) && self.members.cutoff(&about).is_none() {
                    return Err(invalid("evidence about a device that was never in the group"));
                }
                self.equivocations.entry(about).or_insert(proof);
            }
        }
        self.store_received(&header.author, header.link.seq, &entry.encode()).map_err(Refusal::Store)?;
        vetted.extend(changes);
        self.covered.insert(header.author, Covered { author: header.author, seq: header.link.seq, hash: entry.hash() });
        if header.author == self.device.device_id() {
            self.own_log = self.position(&header.author);
        }
        self.since_snapshot += 1;
        self.bytes_since_snapshot += plain.len();
        if removal {
            // A removal changes which of the entries still queued may be accepted: apply it at once. Other
            // membership changes are applied once per pass (computing the state is quadratic in the operations).
            self.members = self.membership.state();
        }
        Ok(membership_changed)
    }

    /// Stores a received entry at `seq`. The store may already hold entries from there on that this device left
    /// out when it opened the group (they did not pass): those were never part of the records, and are replaced.
    fn store_received(&self, author: &DeviceId, seq: u64, bytes: &[u8]) -> Result<(), NodeError> {
        match self.shelf.append_entry(&self.id, author, seq, bytes) {
            Err(sunspace_store::StoreError::NotNext { expected, .. }) if expected > seq => {
                tracing::warn!(seq, "replacing stored entries that were left out when the group was opened");
                self.shelf.truncate_log(&self.id, author, seq - 1)?;
                Ok(self.shelf.append_entry(&self.id, author, seq, bytes)?)
            }
            other => Ok(other?),
        }
    }

    fn snapshot_due(&self) -> bool {
        self.since_snapshot >= SNAPSHOT_EVERY || self.bytes_since_snapshot >= SNAPSHOT_AFTER_BYTES
    }

    /// Writes a snapshot of the document as of the entries it covers (flushed with the next flush).
    pub fn write_snapshot(&mut self) -> Result<(), NodeError> {
        let snapshot = Snapshot {
            covered: self.covered.values().copied().collect(),
            membership: self.membership.signed_ops().map(SignedOp::encode).collect(),
            document: self.doc.save(),
        };
        self.shelf.put_snapshot(&self.id, &snapshot.seal(&self.storage_key, &self.id))?;
        self.since_snapshot = 0;
        self.bytes_since_snapshot = 0;
        Ok(())
    }
}
