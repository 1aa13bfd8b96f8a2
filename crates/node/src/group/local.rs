//! The local edit path: an edit kept pending or sealed into this device's next entry, durable before it returns.

#[allow(unused_imports)]
use super::*;

impl OpenGroup {
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
        self.pending_edits(&self.id).put(index, &changes)?;
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
        self.persist_group_pending()?;
        self.persist_compartments_pending()
    }

    /// [`OpenGroup::persist_pending`] for the group's own document.
    pub(super) fn persist_group_pending(&mut self) -> Result<(), NodeError> {
        let now = chrono::Utc::now().timestamp();
        self.doc.commit(now);
        let heads = self.doc.heads();
        if heads == self.sealed_heads {
            return Ok(());
        }
        let (changes, count) = self.doc.changes_after(&self.sealed_heads);
        // Sealed from here on: a snapshot the append writes sees a document that is exactly its entries (and may
        // make a checkpoint of it). If the entry was not stored after all, the changes are still to seal.
        let previous = std::mem::replace(&mut self.sealed_heads, heads.clone());
        let written = self.own_log.len();
        if let Err(error) = self.append_own(EntryKind::Change, &changes) {
            if self.own_log.len() == written {
                self.sealed_heads = previous;
            }
            return Err(error);
        }
        self.pending_heads = heads;
        // The entry is flushed; only then are the pending chunks dropped (a crash in between leaves both, and
        // reopening finds the pending changes already in the entry). Stale chunks are overwritten by later edits.
        if self.pending_count > 0 {
            self.pending_edits(&self.id).set_count(0)?;
            self.shelf.flush()?;
            self.pending_count = 0;
        }
        tracing::debug!(bytes = changes.len(), changes = count, "sealed entry stored");
        Ok(())
    }

    /// The local edits of `document` (the group's or a compartment's) kept pending on this device.
    pub(super) fn pending_edits<'a>(&'a self, document: &'a GroupId) -> crate::records::PendingEdits<'a> {
        crate::records::PendingEdits { shelf: &self.shelf, storage_key: &self.storage_key, document }
    }

    /// Whether local edits wait to be sealed into an entry.
    pub fn has_pending(&mut self) -> bool {
        self.doc.heads() != self.sealed_heads || self.compartments_pending()
    }

    /// Seals `plain` into the next entry of this device's log, stores it and flushes.
    pub(super) fn append_own(&mut self, kind: EntryKind, plain: &[u8]) -> Result<(), NodeError> {
        // Records are written with the key every remaining device holds and no removed device does; after a
        // removal that has no such key yet, this device makes one first. Membership operations (a rotation
        // among them) use the newest key held, so every device that may read them can.
        let (epoch, key) = match kind {
            EntryKind::Change => self.writable_key()?,
            EntryKind::Membership | EntryKind::Evidence => {
                let (epoch, key) = match self.members.writable_epoch.and_then(|e| self.keys.key(e).map(|k| (e, k))) {
                    Some(found) => found,
                    // The newest key this device received (keys are kept in the order they arrived).
                    None => {
                        let newest = self.keys.epochs.last().map(|(epoch, key)| (*epoch, key));
                        newest.ok_or_else(|| NodeError::Damaged("the group has no key".into()))?
                    }
                };
                (epoch, key.clone())
            }
        };
        self.append_own_under(self.id, kind, plain, epoch, &key)
    }

    /// Seals `plain` under generation `epoch` of document `document` (the group, or one of its compartments,
    /// named in the entry's header) into the next entry of this device's log, stores it and flushes.
    pub(super) fn append_own_under(
        &mut self,
        document: GroupId,
        kind: EntryKind,
        plain: &[u8],
        epoch: u32,
        key: &Secret32,
    ) -> Result<(), NodeError> {
        if plain.len() + sunspace_crypto::SEAL_OVERHEAD > sunspace_log::MAX_BODY_LEN {
            // Peers would refuse an entry this large (and so would this device, reopening): never write one.
            return Err(NodeError::Refused("that is more than one entry can carry; make it in smaller parts".into()));
        }
        let link = self.own_log.next_header_fields();
        let entry = Entry::seal(&self.device, kind, document, link, epoch, key, plain);
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

    /// The key to write records with: the membership's writable generation. If a removal left none (or this
    /// device does not hold it yet and can make a new one), a new key is made and wrapped to every device still in
    /// the group.
    pub(super) fn writable_key(&mut self) -> Result<(u32, Secret32), NodeError> {
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

    #[cfg(feature = "test-utils")]
    pub(crate) fn writable_key_for_forging(&mut self) -> Result<(u32, Secret32), NodeError> {
        self.writable_key()
    }

    #[cfg(feature = "test-utils")]
    pub(crate) fn append_own_for_forging(&mut self, kind: EntryKind, plain: &[u8]) -> Result<(), NodeError> {
        self.append_own(kind, plain)
    }

    #[cfg(feature = "test-utils")]
    pub(crate) fn append_own_under_for_forging(
        &mut self,
        document: GroupId,
        kind: EntryKind,
        plain: &[u8],
        epoch: u32,
        key: &Secret32,
    ) -> Result<(), NodeError> {
        self.append_own_under(document, kind, plain, epoch, key)
    }
}
