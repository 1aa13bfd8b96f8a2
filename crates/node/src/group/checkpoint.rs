//! Checkpoints on a device: made when a snapshot is due, the entries behind them dropped, sent to a peer that
//! lacks entries this device no longer holds, and checked before one from a peer is taken.
//!
//! ```text
//! snapshot due ─► make_checkpoint: no unsent edits, no change waiting for another, every held entry since the
//!                 last compaction a group record or membership entry ─► seal, sign, keep (a file)
//!              ─► the snapshot names the checkpoint instead of holding the document twice
//!              ─► entries behind it dropped, except the newest (a quarter of the document's size, at least
//!                 64 KB), so a peer a little behind is sent entries, not the whole document
//! peer lacks dropped entries ─► entries_for: the checkpoint, then the entries after it
//! checkpoint from a peer ─► receive_checkpoint: signature; group; key; each membership operation signed by its
//!                 author; the signer in the group; every log it names a device the group admitted; the entries
//!                 this device holds at its frontier the ones it names; the document loads, is this group's, has
//!                 the heads named, every change by an admitted device ─► merged; the logs behind moved up
//! ```

use std::collections::BTreeMap;

use sunspace_replicate::{Checkpoint, CheckpointBody, Range, MAX_CHECKPOINT_LEN};

#[allow(unused_imports)]
use super::*;
use crate::records::StoredCheckpoint;

/// Entry bytes kept behind a checkpoint, at least.
const KEEP_ENTRY_BYTES_MIN: usize = 64 * 1024;
/// Entry bytes kept behind a checkpoint, as a share of its document (a quarter): a peer lacking more than these is
/// sent the checkpoint, which then costs it at most four times the entries it lacks.
const KEEP_ENTRY_SHARE: usize = 4;

/// Highest log place a checkpoint may name: far beyond any real log (a device writing an entry a second for a
/// century), and far from where the arithmetic on places overflows.
const MAX_PLAUSIBLE_SEQ: u64 = 1 << 40;

/// A checkpoint made here: its digest (for the snapshot), and per log the last entry to drop once the snapshot
/// naming it is written.
pub(super) type Made = ([u8; 32], BTreeMap<DeviceId, u64>);

/// What to send a peer: the checkpoint, if the peer lacks entries it alone stands for, and the entries.
pub type ToSend = (Option<Vec<u8>>, Vec<Vec<u8>>);

/// What became of a checkpoint from a peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointReceipt {
    /// The logs it brought this device up to, with the place each now stands at.
    pub accepted: Vec<(DeviceId, u64)>,
    /// Whether the membership changed (operations this device did not hold).
    pub membership_changed: bool,
    /// Why it was refused (nothing from it was used), if it was.
    pub refused: Option<String>,
}

impl CheckpointReceipt {
    fn refused(reason: impl Into<String>) -> Self {
        Self { refused: Some(reason.into()), ..Self::default() }
    }
}

/// A checkpoint this device holds, opened.
struct Held {
    encoded: Vec<u8>,
    body: CheckpointBody,
}

impl OpenGroup {
    /// Makes a checkpoint of the document as it stands, if it can stand for the entries: returns its digest (for
    /// the snapshot) and how far to drop each log once the snapshot naming it is written.
    pub(super) fn make_checkpoint(&mut self) -> Result<Option<Made>, NodeError> {
        // Only a document that is exactly its entries: no edit of this device's outside one, nothing waiting.
        // (Pending chunks left over once their edits are in an entry are duplicates, harmless at open.)
        if self.covered.is_empty() || self.doc.heads() != self.sealed_heads {
            return Ok(None);
        }
        if !self.doc.is_complete() {
            return Ok(None);
        }
        let Some(epoch) = self.members.writable_epoch else { return Ok(None) };
        let Some(key) = self.keys.key(epoch).cloned() else { return Ok(None) };
        // The entries still held: a compartment's records or evidence cannot be in the document, so a group with
        // one among them keeps its entries (their places would be lost with them).
        let mut held: Vec<(DeviceId, u64, usize)> = Vec::new();
        for covered in self.covered.values() {
            let mut next = 1;
            while next <= covered.seq {
                let page = self.shelf.entries(&self.id, &covered.author, next, READ_PAGE)?;
                let Some(&(last, _)) = page.last() else { break };
                for (seq, bytes) in page {
                    if seq > covered.seq {
                        break;
                    }
                    let Ok(bytes) = bytes else { return Ok(None) };
                    let Ok(entry) = Entry::decode(&bytes) else { return Ok(None) };
                    if entry.header().group != self.id || entry.header().kind == EntryKind::Evidence {
                        return Ok(None);
                    }
                    held.push((covered.author, seq, bytes.len()));
                }
                next = last + 1;
            }
        }
        let mut heads: Vec<[u8; 32]> = self.doc.heads().iter().map(|h| h.0).collect();
        heads.sort_unstable();
        let body = CheckpointBody {
            frontier: self.covered.values().map(|c| (c.author, (c.seq, c.hash))).collect(),
            heads,
            membership: self.membership.signed_ops().map(SignedOp::encode).collect(),
            document: self.doc.save(),
        };
        let checkpoint = Checkpoint::seal(&self.device, self.id, epoch, &key, &body);
        let encoded = checkpoint.encode();
        if encoded.len() > MAX_CHECKPOINT_LEN {
            return Ok(None); // too large for one message: the entries stay
        }
        // A checkpoint received earlier may stand for more of some log than this device's entries reach; then
        // this one must not replace it.
        if let Some(ours) = self.held_checkpoint()? {
            if !dominates(&body.frontier, &ours.body.frontier) {
                return Ok(None);
            }
        }
        StoredCheckpoint::keep(&self.shelf, &self.id, &encoded)?;
        // Every log's last entry is kept (the one a peer most likely lacks), then the newest places of every log
        // (newest first by place, across logs) within the budget.
        let budget = KEEP_ENTRY_BYTES_MIN.max(body.document.len() / KEEP_ENTRY_SHARE);
        held.sort_by_key(|(_, seq, _)| std::cmp::Reverse(*seq));
        let mut kept = 0usize;
        let mut drop_through: BTreeMap<DeviceId, u64> = BTreeMap::new();
        for (author, seq, len) in held {
            let last = self.covered.get(&author).is_some_and(|c| c.seq == seq);
            if last || kept + len <= budget {
                kept += len;
            } else {
                let through = drop_through.entry(author).or_insert(0);
                *through = (*through).max(seq);
            }
        }
        Ok(Some((checkpoint.digest(), drop_through)))
    }

    /// Drops entries a kept checkpoint stands for (after the snapshot naming it is written).
    pub(super) fn drop_entries(&mut self, drop_through: &BTreeMap<DeviceId, u64>) -> Result<(), NodeError> {
        for (author, through) in drop_through {
            self.shelf.compact_log(&self.id, author, *through)?;
            self.first_held.remove(author);
        }
        Ok(())
    }

    /// The checkpoint this device holds, opened, if any (one that no longer opens is said in the log).
    fn held_checkpoint(&self) -> Result<Option<Held>, NodeError> {
        let Some(encoded) = StoredCheckpoint::load(&self.shelf, &self.id)? else { return Ok(None) };
        let opened = Checkpoint::decode(&encoded).map_err(|e| e.to_string()).and_then(|checkpoint| {
            let key = self.keys.key(checkpoint.epoch).ok_or_else(|| "its key is not held".to_owned())?;
            let body = checkpoint.open(key).map_err(|e| e.to_string())?;
            Ok(body)
        });
        match opened {
            Ok(body) => Ok(Some(Held { encoded, body })),
            Err(error) => {
                tracing::warn!(%error, "the group's kept checkpoint does not open");
                Ok(None)
            }
        }
    }

    /// The document of the kept checkpoint with `digest` and what it stands for, for opening the group.
    pub(super) fn kept_checkpoint(
        shelf: &Shelf,
        keys: &GroupKeys,
        id: &GroupId,
    ) -> Result<Option<([u8; 32], CheckpointBody)>, NodeError> {
        let Some(encoded) = StoredCheckpoint::load(shelf, id)? else { return Ok(None) };
        let checkpoint =
            Checkpoint::decode(&encoded).map_err(|e| NodeError::Damaged(format!("the checkpoint: {e}")))?;
        let key =
            keys.key(checkpoint.epoch).ok_or_else(|| NodeError::Damaged("the checkpoint's key is missing".into()))?;
        let body = checkpoint.open(key).map_err(|e| NodeError::Damaged(format!("the checkpoint: {e}")))?;
        Ok(Some((checkpoint.digest(), body)))
    }

    /// The place of the first entry of `author`'s log this device still holds (one past the log when it holds none).
    fn first_held(&mut self, author: &DeviceId) -> Result<u64, NodeError> {
        if let Some(first) = self.first_held.get(author) {
            return Ok(*first);
        }
        let page = self.shelf.entries(&self.id, author, 1, 1)?;
        let first = page.first().map_or_else(|| self.covered.get(author).map_or(1, |c| c.seq + 1), |(seq, _)| *seq);
        self.first_held.insert(*author, first);
        Ok(first)
    }

    /// What to send a peer for `ranges`: the entries, and before them the checkpoint when a range begins at an
    /// entry this device no longer holds (the entries the checkpoint stands for are then left out).
    pub fn entries_for(&mut self, ranges: &[Range]) -> Result<ToSend, NodeError> {
        let mut checkpoint: Option<Held> = None;
        let mut entries = Vec::new();
        for range in ranges {
            let mut first = range.first;
            if first < self.first_held(&range.author)? {
                if checkpoint.is_none() {
                    checkpoint = self.held_checkpoint()?;
                }
                if let Some(held) = &checkpoint {
                    let after = held.body.frontier.get(&range.author).map_or(0, |(seq, _)| *seq);
                    first = first.max(after + 1);
                }
            }
            if first <= range.last {
                entries.extend(self.read_entries(range.author, first, range.last)?);
            }
        }
        Ok((checkpoint.map(|held| held.encoded), entries))
    }

    /// The hash of entry `seq` of `author`'s log, if this device holds it.
    fn held_entry_hash(&self, author: &DeviceId, seq: u64) -> Result<Option<[u8; 32]>, NodeError> {
        if let Some(covered) = self.covered.get(author).filter(|c| c.seq == seq) {
            return Ok(Some(covered.hash));
        }
        let page = self.shelf.entries(&self.id, author, seq, 1)?;
        Ok(page
            .into_iter()
            .find(|(at, _)| *at == seq)
            .and_then(|(_, bytes)| bytes.ok())
            .and_then(|bytes| Entry::decode(&bytes).ok())
            .map(|entry| entry.hash()))
    }

    /// Takes a checkpoint from a peer, after checking it (see the module docs). A refusal is kept as evidence
    /// and nothing from it is used; a checkpoint that brings nothing new, or that this device cannot take yet
    /// (its key is not here, or this device holds a checkpoint standing for more of some log), changes nothing.
    pub fn receive_checkpoint(&mut self, bytes: &[u8]) -> Result<CheckpointReceipt, NodeError> {
        // Not signed by the device it names: nothing to hold against anyone (the engine says which peer sent it).
        let checkpoint = match Checkpoint::decode(bytes) {
            Ok(checkpoint) => checkpoint,
            Err(error) => return Ok(CheckpointReceipt::refused(format!("a checkpoint: {error}"))),
        };
        let receipt = if checkpoint.group != self.id {
            CheckpointReceipt::refused("a checkpoint of another group")
        } else {
            let Some(key) = self.keys.key(checkpoint.epoch).cloned() else { return Ok(CheckpointReceipt::default()) };
            match self.check_checkpoint(&checkpoint, &key)? {
                Checked::Refused(reason) => CheckpointReceipt::refused(format!("a checkpoint that {reason}")),
                Checked::NothingNew => CheckpointReceipt::default(),
                Checked::Take(taken) => {
                    let (body, ops, doc) = *taken;
                    self.take_checkpoint(bytes, body, ops, doc)?
                }
            }
        };
        // Signed by a device: the refusal is kept against it, as a refused entry is.
        if let Some(reason) = &receipt.refused {
            tracing::warn!(signer = %checkpoint.signer.short(), %reason, "checkpoint refused");
            self.push_refusal(RefusedEntry {
                author: checkpoint.signer,
                seq: 0,
                reason: reason.clone(),
                at: chrono::Utc::now().timestamp(),
                entry: Vec::new(),
            });
        }
        Ok(receipt)
    }

    fn check_checkpoint(&mut self, checkpoint: &Checkpoint, key: &Secret32) -> Result<Checked, NodeError> {
        use Checked::Refused;
        let body = match checkpoint.open(key) {
            Ok(body) => body,
            Err(error) => return Ok(Refused(format!("does not open ({error})"))),
        };
        // Who is in, with its operations: each signed by its own author and checked as one from an entry.
        let mut trial = self.membership.clone();
        let mut ops = Vec::with_capacity(body.membership.len());
        for bytes in &body.membership {
            let inserted = SignedOp::decode(bytes).map_err(|e| e.to_string()).and_then(|signed| {
                trial.insert(signed.clone()).map_err(|e| e.to_string())?;
                Ok(signed)
            });
            match inserted {
                Ok(signed) => ops.push(signed),
                Err(error) => return Ok(Refused(format!("holds a membership operation that does not pass ({error})"))),
            }
        }
        let members = trial.state();
        if !members.is_active_device(&checkpoint.signer) {
            return Ok(Refused("is signed by a device that is not, or no longer, in the group".into()));
        }
        let admitted = |device: &DeviceId| members.is_active_device(device) || members.cutoff(device).is_some();
        let me = self.device.device_id();
        let mut behind = false;
        for (author, (seq, hash)) in &body.frontier {
            if !admitted(author) {
                return Ok(Refused("stands for the log of a device the group never admitted".into()));
            }
            if *seq > MAX_PLAUSIBLE_SEQ {
                return Ok(Refused("names a place in a log no device could have reached".into()));
            }
            if !members.is_active_device(author) && members.cutoff(author).is_some_and(|cutoff| *seq > cutoff) {
                return Ok(Refused("stands for entries a removed device wrote after its removal".into()));
            }
            let held = self.covered.get(author).map_or(0, |c| c.seq);
            if *author == me && *seq > held {
                return Ok(Refused("stands for entries of this device that it never wrote".into()));
            }
            if held >= *seq {
                if let Some(ours) = self.held_entry_hash(author, *seq)? {
                    if ours != *hash {
                        return Ok(Refused("does not match the entries it stands for".into()));
                    }
                }
            } else {
                behind = true;
            }
        }
        let mut doc = match GroupDoc::load(&body.document) {
            Ok(doc) => doc,
            Err(error) => return Ok(Refused(format!("holds a document that does not load ({error})"))),
        };
        if doc.group_id() != self.id.to_hex() {
            return Ok(Refused("holds another group's document".into()));
        }
        let mut heads: Vec<[u8; 32]> = doc.heads().iter().map(|h| h.0).collect();
        heads.sort_unstable();
        if heads != body.heads {
            return Ok(Refused("holds a document other than the one it names".into()));
        }
        match doc.change_actors() {
            Ok(actors) if actors.keys().all(|actor| admitted(&DeviceId(*actor))) => {}
            Ok(_) => return Ok(Refused("holds changes by a device the group never admitted".into())),
            Err(error) => return Ok(Refused(format!("holds a change that does not pass ({error})"))),
        }
        if !doc.is_complete() {
            return Ok(Refused("holds changes whose earlier changes it lacks".into()));
        }
        // Changes this device lacks may only be by devices whose logs it lacks entries of: never its own, and
        // never of a log it holds up to the frontier (those changes would be in the entries it holds).
        let theirs = match doc.change_actors() {
            Ok(actors) => actors,
            Err(error) => return Ok(Refused(format!("holds a change that does not pass ({error})"))),
        };
        let ours = self.doc.change_actors().unwrap_or_default();
        for (actor, count) in &theirs {
            if ours.get(actor).copied().unwrap_or(0) >= *count {
                continue;
            }
            let author = DeviceId(*actor);
            let held = self.covered.get(&author).map_or(0, |c| c.seq);
            let reaches = body.frontier.get(&author).map_or(0, |(seq, _)| *seq);
            if author == me || held >= reaches {
                return Ok(Refused("holds records the entries it stands for do not".into()));
            }
        }
        if !behind {
            // This device holds every entry it stands for: its document can hold nothing they do not.
            let named: Vec<ChangeHash> = body.heads.iter().map(|h| ChangeHash(*h)).collect();
            if self.doc.known_heads(&named).len() != named.len() {
                return Ok(Refused("holds records the entries it stands for do not".into()));
            }
            return Ok(Checked::NothingNew);
        }
        // A checkpoint kept here standing for more of some log is not replaced (the peer's next one will do).
        if let Some(ours) = self.held_checkpoint()? {
            if !dominates(&body.frontier, &ours.body.frontier) {
                return Ok(Checked::NothingNew);
            }
        }
        // The entries it would drop here must be ones a checkpoint can stand for.
        for (author, (seq, _)) in &body.frontier {
            let held = self.covered.get(author).map_or(0, |c| c.seq);
            if held >= *seq {
                continue;
            }
            for (_, bytes) in self.shelf.entries(&self.id, author, 1, usize::try_from(held).unwrap_or(usize::MAX))? {
                let entry = bytes.ok().and_then(|bytes| Entry::decode(&bytes).ok());
                if entry.is_none_or(|e| e.header().group != self.id || e.header().kind == EntryKind::Evidence) {
                    return Ok(Refused("stands for entries a checkpoint cannot hold".into()));
                }
            }
        }
        Ok(Checked::Take(Box::new((body, ops, doc))))
    }

    fn take_checkpoint(
        &mut self,
        bytes: &[u8],
        body: CheckpointBody,
        ops: Vec<SignedOp>,
        mut doc: GroupDoc,
    ) -> Result<CheckpointReceipt, NodeError> {
        let mut receipt = CheckpointReceipt::default();
        // This device's own edits not in an entry yet are sealed first, so its log stays its own.
        self.persist_pending()?;
        if self.doc.heads().is_empty() {
            doc.set_author(&self.device.device_id().to_hex())?;
            self.doc = doc;
        } else {
            self.doc.merge(&mut doc)?;
        }
        let known = self.membership.signed_ops().count();
        for signed in ops {
            let Ok(op) = signed.verify() else { continue };
            let author = signed.author();
            let id = match self.membership.insert(signed) {
                Ok(id) => id,
                Err(error) => {
                    tracing::warn!(%error, "a checkpoint's membership operation was not kept");
                    continue;
                }
            };
            self.take_rotated_key(author, &op, id)?;
            if let Some(compartment) = self.take_compartment_keys(author, &op, id)? {
                self.rebuild_due.insert(compartment);
            }
        }
        receipt.membership_changed = self.membership.signed_ops().count() != known;
        self.members = self.membership.state();
        // The checkpoint is kept (durably) before any entry it stands for is dropped.
        StoredCheckpoint::keep(&self.shelf, &self.id, bytes)?;
        let mut behind = Vec::new();
        for (author, (seq, hash)) in &body.frontier {
            if self.covered.get(author).is_some_and(|c| c.seq >= *seq) {
                continue;
            }
            self.covered.insert(*author, Covered { author: *author, seq: *seq, hash: *hash });
            behind.push((*author, *seq));
            receipt.accepted.push((*author, *seq));
        }
        self.sealed_heads = self.doc.heads();
        self.pending_heads = self.sealed_heads.clone();
        // Then the snapshot naming the new places, flushed; only then are the entries behind them dropped.
        self.write_snapshot()?;
        self.remember_name()?;
        self.shelf.flush()?;
        for (author, seq) in behind {
            self.shelf.compact_log(&self.id, &author, seq)?;
            self.first_held.remove(&author);
        }
        self.shelf.flush()?;
        // Entries that arrived before it, waiting for what it stands for, are taken now.
        if !self.waiting.is_empty() {
            let later = self.receive(Vec::new())?;
            receipt.accepted.extend(later.accepted);
            receipt.membership_changed |= later.membership_changed;
        }
        Ok(receipt)
    }
}

/// What a received checkpoint came to.
enum Checked {
    Refused(String),
    NothingNew,
    Take(Box<(CheckpointBody, Vec<SignedOp>, GroupDoc)>),
}

/// Whether `frontier` stands for at least as much of every log as `other`.
fn dominates(frontier: &BTreeMap<DeviceId, (u64, [u8; 32])>, other: &BTreeMap<DeviceId, (u64, [u8; 32])>) -> bool {
    other.iter().all(|(author, (seq, _))| frontier.get(author).is_some_and(|(ours, _)| ours >= seq))
}
