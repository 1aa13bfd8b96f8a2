//! An open group: its document, its keys, and this device's position in its own log.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use automerge::ChangeHash;
use sunspace_crypto::{DeviceId, DeviceKeys, Secret32};
use sunspace_log::{Entry, EntryKind, GroupId, LogPosition};
use sunspace_model::{GroupDoc, GroupView, ModelError};
use sunspace_store::{LogId, Store};

use crate::records::{meta_group_keys, Covered, GroupIndex, GroupKeys, Snapshot};
use crate::vault::Vault;
use crate::NodeError;

/// A new snapshot is written after this many entries. Opening replays at most this many entries on top of the
/// snapshot, which keeps opening fast; writing a snapshot costs one `save()` of the document, which this keeps rare.
pub const SNAPSHOT_EVERY: u64 = 64;

/// Entries are read from the store in pages of this many, so replaying a long log never holds it all in memory.
const READ_PAGE: usize = 256;

/// A group opened on this device.
pub struct OpenGroup {
    store: Arc<dyn Store>,
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
    /// Entries since the last snapshot.
    since_snapshot: u64,
}

impl fmt::Debug for OpenGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenGroup").field("id", &self.id).field("own_log", &self.own_log.len()).finish_non_exhaustive()
    }
}

fn damaged_entry(author: &DeviceId, seq: u64, why: impl fmt::Display) -> NodeError {
    NodeError::Damaged(format!("entry {seq} of device {}'s log {why}", author.short()))
}

impl OpenGroup {
    pub(crate) fn new_founded(vault: &Vault, id: GroupId, keys: GroupKeys, doc: GroupDoc) -> Self {
        Self {
            store: vault.store.clone(),
            device: vault.keys.clone(),
            storage_key: vault.storage_key.clone(),
            id,
            keys,
            doc,
            own_log: LogPosition::start(),
            covered: BTreeMap::new(),
            sealed_heads: Vec::new(),
            since_snapshot: 0,
        }
    }

    pub(crate) fn open(vault: &Vault, id: GroupId) -> Result<Self, NodeError> {
        let store = vault.store.clone();
        let sealed_keys =
            store.get_meta(&meta_group_keys(&id))?.ok_or_else(|| NodeError::GroupNotFound(id.to_hex()))?;
        let keys = GroupKeys::open(&vault.storage_key, &id, &sealed_keys)?;

        // The snapshot is a cache: if it cannot be read, the logs alone rebuild the document.
        let mut covered = BTreeMap::new();
        let mut doc = None;
        if let Some(sealed) = store.snapshot(&id.0)? {
            match Snapshot::open(&vault.storage_key, &id, &sealed).and_then(|snapshot| {
                let doc = GroupDoc::load_trusted(&snapshot.document)?;
                Ok((snapshot.covered, doc))
            }) {
                Ok((snapshot_covered, snapshot_doc)) => {
                    covered = snapshot_covered.into_iter().map(|c| (c.author, c)).collect();
                    doc = Some(snapshot_doc);
                }
                Err(error) => tracing::warn!(%error, "snapshot unreadable; rebuilding the group from its logs"),
            }
        }
        let mut doc = doc.unwrap_or_else(GroupDoc::empty);

        // Change chunks are concatenated and applied in one call: automerge applies a batch far faster than the
        // same changes one call at a time (each call re-indexes the document).
        let mut pending = Vec::new();
        let mut since_snapshot = 0;
        for (log, head) in store.log_heads(&id.0)? {
            let author = DeviceId(log.author);
            let mut position = match covered.get(&author) {
                Some(c) => LogPosition::resume(c.seq, c.hash),
                None => LogPosition::start(),
            };
            if head < position.len() {
                return Err(damaged_entry(&author, head + 1, "is missing: the log is shorter than the snapshot"));
            }
            let mut next = position.len() + 1;
            while next <= head {
                let page = store.entries(&log, next, READ_PAGE)?;
                if page.is_empty() {
                    return Err(damaged_entry(&author, next, "is missing"));
                }
                for (seq, bytes) in page {
                    let entry = Entry::decode(&bytes).map_err(|e| damaged_entry(&author, seq, e))?;
                    if entry.header().author != author || entry.header().group != id || entry.header().link.seq != seq {
                        return Err(damaged_entry(&author, seq, "is stored in the wrong place"));
                    }
                    entry.verify_signature().map_err(|e| damaged_entry(&author, seq, e))?;
                    position.accept(&entry).map_err(|e| damaged_entry(&author, seq, e))?;
                    let key = keys
                        .key(entry.header().epoch)
                        .ok_or_else(|| damaged_entry(&author, seq, "uses a key this device does not hold"))?;
                    let plain = entry.open(key).map_err(|e| damaged_entry(&author, seq, e))?;
                    if entry.header().kind == EntryKind::Change {
                        pending.extend_from_slice(&plain);
                    }
                    covered.insert(author, Covered { author, seq, hash: entry.hash() });
                    since_snapshot += 1;
                    next = seq + 1;
                }
            }
        }
        if !pending.is_empty() {
            doc.load_incremental(&pending).map_err(|e| NodeError::Damaged(format!("the group's changes: {e}")))?;
        }
        doc.check_schema().map_err(|e| NodeError::Damaged(e.to_string()))?;
        doc.set_author(&vault.keys.device_id().to_hex())?;
        let own = vault.keys.device_id();
        let own_log = covered.get(&own).map_or_else(LogPosition::start, |c| LogPosition::resume(c.seq, c.hash));
        let sealed_heads = doc.heads();
        let group = Self {
            store,
            device: vault.keys.clone(),
            storage_key: vault.storage_key.clone(),
            id,
            keys,
            doc,
            own_log,
            covered,
            sealed_heads,
            since_snapshot,
        };
        // Keeping the index right costs one small read here; it is written (and flushed) only when the name changed.
        if group.remember_name()? {
            group.store.flush()?;
        }
        Ok(group)
    }

    /// Records the group's current name in the sealed group index; true if it had to be written.
    fn remember_name(&self) -> Result<bool, NodeError> {
        GroupIndex::remember(self.store.as_ref(), &self.storage_key, &self.id, &self.doc.name())
    }

    /// The group's id.
    pub fn id(&self) -> GroupId {
        self.id
    }

    /// The materialized document.
    pub fn view(&self) -> GroupView {
        self.doc.view()
    }

    /// The document, for reads that need more than the view.
    pub fn doc(&self) -> &GroupDoc {
        &self.doc
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

    /// Runs one edit. If it succeeds and changed anything, its changes are sealed into a new entry of this
    /// device's log and flushed to disk before this returns. If it fails, the document is left as it was.
    pub fn edit<R>(&mut self, edit: impl FnOnce(&mut GroupDoc) -> Result<R, ModelError>) -> Result<R, NodeError> {
        match edit(&mut self.doc) {
            Ok(result) => {
                self.persist_pending()?;
                Ok(result)
            }
            Err(error) => {
                self.doc.rollback();
                Err(error.into())
            }
        }
    }

    /// Seals every change not yet in a stored entry into one new entry, stores it and flushes.
    ///
    /// If storing fails the changes stay in memory, and the next successful call seals them together with what
    /// came after, so nothing is half-written and nothing is sealed twice.
    pub(crate) fn persist_pending(&mut self) -> Result<(), NodeError> {
        let now = chrono::Utc::now().timestamp();
        self.doc.commit(now);
        let heads = self.doc.heads();
        if heads == self.sealed_heads {
            return Ok(());
        }
        let changes = self.doc.save_after(&self.sealed_heads);
        let (epoch, key) = self.keys.current().ok_or_else(|| NodeError::Damaged("the group has no key".into()))?;
        let link = self.own_log.next_header_fields();
        let entry = Entry::seal(&self.device, EntryKind::Change, self.id, link, epoch, key, &changes);
        let author = self.device.device_id();
        let log = LogId { group: self.id.0, author: author.0 };
        self.store.append_entry(&log, link.seq, &entry.encode())?;
        // The entry is in the store from here on (flushed or not), so the position advances even if flushing
        // fails: the next entry must follow this one.
        self.own_log.accept(&entry).map_err(|e| NodeError::Damaged(e.to_string()))?;
        self.covered.insert(author, Covered { author, seq: link.seq, hash: entry.hash() });
        self.since_snapshot += 1;
        if self.since_snapshot >= SNAPSHOT_EVERY || link.seq == 1 {
            self.write_snapshot()?;
        }
        // A rename (here or, later, from a peer) reaches the index with the entry that made it.
        self.remember_name()?;
        self.store.flush()?;
        self.sealed_heads = heads;
        tracing::debug!(seq = link.seq, bytes = changes.len(), "sealed entry stored");
        Ok(())
    }

    /// Writes a snapshot of the document as of the entries it covers (flushed with the next flush).
    pub fn write_snapshot(&mut self) -> Result<(), NodeError> {
        let snapshot = Snapshot { covered: self.covered.values().copied().collect(), document: self.doc.save() };
        self.store.put_snapshot(&self.id.0, &snapshot.seal(&self.storage_key, &self.id))?;
        self.since_snapshot = 0;
        Ok(())
    }
}
