//! An open group: its document, its keys, and this device's position in its own log. The work on it is split by
//! path: [`open`] (replay at open), [`local`] (this device's edits), [`membership`] (signed membership and
//! keys) and [`ingest`] (entries from peers); what they share is here.

mod carry;
mod checkpoint;
mod compartment;
mod ingest;
mod local;
mod membership;
mod open;

use std::collections::BTreeMap;
use std::fmt;

use automerge::ChangeHash;
use sunspace_crypto::{DeviceId, DeviceKeys, Secret32};
use sunspace_log::{Entry, EntryKind, Equivocation, GroupId, LogPosition, VerifyError};
use sunspace_membership::{group_id_for, Action, Log as MembershipLog, OpId, SignedOp, State as Membership};
use sunspace_model::{ChangeRefusal, GroupDoc, GroupView, ModelError, Vetted};
use sunspace_replicate::{check_verified_entry, Rejection as EntryRejection, Verdict};

pub use carry::CarryReceipt;
pub use checkpoint::{CheckpointReceipt, ToSend};

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
    /// The keys of the compartments this device is in (kept apart: see [`crate::records::CompartmentKeys`]).
    compartment_keys: crate::records::CompartmentKeys,
    doc: GroupDoc,
    /// The documents of the compartments this device reads.
    compartments: BTreeMap<GroupId, compartment::CompartmentDoc>,
    /// Compartments whose documents must be made again from the kept entries (see
    /// [`OpenGroup::rebuild_compartment`]).
    rebuild_due: std::collections::BTreeSet<GroupId>,
    /// Per compartment this device's member is in: its kept entries whose records are not in its document yet.
    pending: BTreeMap<GroupId, std::collections::BTreeSet<(DeviceId, u64)>>,
    /// Compartments whose pending entries may be taken now (a new entry of theirs came): the others are tried
    /// again only when the membership changes.
    settle_due: std::collections::BTreeSet<GroupId>,
    /// Where this device's own log stands.
    own_log: LogPosition,
    /// Per log, the first entry still held, as far as it was looked up: entries before it are in the checkpoint.
    first_held: BTreeMap<DeviceId, u64>,
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
    /// An entry of a compartment of the group (its id in the header), kept sealed; its records are taken in
    /// once the membership is known ([`OpenGroup::open_compartments`]).
    Compartment(GroupId),
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
    // A compartment's entry names the compartment instead of the group; it was checked to be one of the group's
    // when it was received.
    if entry.header().author != *author || entry.header().link.seq != seq {
        return Err(damaged_entry(author, seq, "is stored in the wrong place"));
    }
    entry.verify_signature().map_err(|e| damaged_entry(author, seq, e))?;
    let mut probe = *position;
    probe.accept(&entry).map_err(|e| damaged_entry(author, seq, e))?;
    if entry.header().group != *id {
        if entry.header().kind != EntryKind::Change {
            return Err(damaged_entry(author, seq, "holds a membership operation or evidence for a compartment"));
        }
        *position = probe;
        return Ok(Replayed::Compartment(entry.header().group));
    }
    let epoch = entry.header().epoch;
    let key = keys.key(epoch).ok_or_else(|| damaged_entry(author, seq, "uses a key this device does not hold"))?;
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

    /// The materialized document, with the records of every compartment this device reads merged in (each
    /// placed by its compartment: [`GroupView::placement`]).
    pub fn view(&self) -> GroupView {
        let mut view = self.doc.view();
        for (id, held) in &self.compartments {
            view.absorb(&id.to_hex(), held.doc.view());
        }
        view
    }

    /// The materialized document with the heads it shows, for a front end that edits on it
    /// ([`GroupDoc::view_now`]), with the compartments' records merged in as in [`OpenGroup::view`].
    pub fn view_now(&mut self) -> GroupView {
        let mut view = self.view();
        view.heads = self.document_heads();
        view
    }

    /// The document's heads (hex change hashes): the version a front end's next edit is typed on.
    pub fn document_heads(&mut self) -> Vec<String> {
        let mut heads: Vec<String> = self.doc.heads().iter().map(ToString::to_string).collect();
        for held in self.compartments.values_mut() {
            heads.extend(held.doc.heads().iter().map(ToString::to_string));
        }
        heads
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
        // A record kept in a compartment has its history there.
        match self.compartment_of_record(kind, id).and_then(|c| self.compartments.get_mut(&c)) {
            Some(held) => Ok(held.doc.history(kind, id)?),
            None => Ok(self.doc.history(kind, id)?),
        }
    }

    /// [`OpenGroup::history`] in sentences: "2026-11-20 18:02 UTC  Bea's device 1a2b3c4d: changed outcome from
    /// "agreed" to "postponed"".
    pub fn history_sentences(&mut self, kind: sunspace_model::RecordKind, id: &str) -> Result<Vec<String>, NodeError> {
        let history = self.history(kind, id)?;
        Ok(self.sentences_of(&history))
    }

    /// [`OpenGroup::history_sentences`] of a history already read.
    pub fn sentences_of(&self, history: &[sunspace_model::FieldChange]) -> Vec<String> {
        history
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
            .collect()
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

    /// The members who hold the steward role by the signed membership (not the informal roles in the records).
    pub fn stewards(&self) -> Vec<String> {
        self.members
            .members
            .iter()
            .filter(|(_, m)| m.roles.contains(&sunspace_membership::Role::Steward))
            .map(|(id, _)| id.clone())
            .collect()
    }

    #[cfg(feature = "test-utils")]
    pub(crate) fn device_keys(&self) -> &DeviceKeys {
        &self.device
    }

    #[cfg(feature = "test-utils")]
    pub(crate) fn membership_log(&self) -> &MembershipLog {
        &self.membership
    }

    #[cfg(feature = "test-utils")]
    pub(crate) fn membership_log_mut(&mut self) -> &mut MembershipLog {
        &mut self.membership
    }

    /// The group's safety number (see [`sunspace_membership::State::safety_number`]).
    pub fn safety_number(&self) -> String {
        self.members.safety_number()
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

    /// The encoded entries `first ..= last` of `author`'s log that this device holds (fewer if the log is shorter,
    /// or if a checkpoint stands for the first of them: [`OpenGroup::entries_for`] sends it then).
    pub fn read_entries(&self, author: DeviceId, first: u64, last: u64) -> Result<Vec<Vec<u8>>, NodeError> {
        let mut out = Vec::new();
        let mut next = first;
        while next <= last {
            let page = self.shelf.entries(&self.id, &author, next, READ_PAGE.min((last - next + 1) as usize))?;
            let Some(&(seq, _)) = page.last() else { break };
            // Entries before `first` that a checkpoint stands for are no longer held: the page may start later.
            for (seq, bytes) in page.into_iter().filter(|(seq, _)| *seq <= last) {
                out.push(bytes.map_err(|_| damaged_entry(&author, seq, "cannot be unsealed on this device"))?);
            }
            next = seq + 1;
        }
        Ok(out)
    }

    fn position(&self, author: &DeviceId) -> LogPosition {
        self.covered.get(author).map_or_else(LogPosition::start, |c| LogPosition::resume(c.seq, c.hash))
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

    fn snapshot_due(&self) -> bool {
        self.since_snapshot >= SNAPSHOT_EVERY || self.bytes_since_snapshot >= SNAPSHOT_AFTER_BYTES
    }

    /// Writes a snapshot of the document as of the entries it covers (flushed with the next flush). Where it can,
    /// it makes a checkpoint first (see [`checkpoint`]): the snapshot then names it rather than hold the document
    /// a second time, and the entries behind it are dropped once the snapshot is written.
    pub fn write_snapshot(&mut self) -> Result<(), NodeError> {
        let made = match self.make_checkpoint() {
            Ok(made) => made,
            Err(error) => {
                tracing::warn!(%error, "no checkpoint was made; the snapshot holds the document");
                None
            }
        };
        let (compartments, pending) = self.compartment_saves();
        let snapshot = Snapshot {
            covered: self.covered.values().copied().collect(),
            membership: self.membership.signed_ops().map(SignedOp::encode).collect(),
            document: if made.is_some() { Vec::new() } else { self.doc.save() },
            compartments,
            pending,
            in_checkpoint: made.as_ref().map(|(digest, _)| *digest),
        };
        self.shelf.put_snapshot(&self.id, &snapshot.seal(&self.storage_key, &self.id))?;
        self.since_snapshot = 0;
        self.bytes_since_snapshot = 0;
        if let Some((_, drop_through)) = made {
            self.drop_entries(&drop_through)?;
        }
        Ok(())
    }
}
