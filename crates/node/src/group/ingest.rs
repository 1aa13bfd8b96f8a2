//! Entries from peers: each checked on its own, stored, then applied; refusals kept as evidence.

#[allow(unused_imports)]
use super::*;

impl OpenGroup {
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
        // Only what a rebuild follows: the compartments' cut-offs before the batch.
        let cutoffs_before: BTreeMap<GroupId, BTreeMap<DeviceId, u64>> =
            self.members.compartments.iter().map(|(id, c)| (*id, c.cutoffs.clone())).collect();
        let mut queue = std::mem::take(&mut self.waiting);
        for bytes in encoded {
            match Entry::decode(&bytes) {
                // A compartment's entry names the compartment: one of this group's, or (its creation still on the
                // way) any, from a device of the group (or from anyone while this device knows nobody yet, as
                // when it has just joined); it waits below, bounded, until the compartment is known.
                Ok(entry)
                    if entry.header().group != self.id
                        && !self.members.compartments.contains_key(&entry.header().group)
                        && !self.members.devices.is_empty()
                        && !self.members.is_active_device(&entry.header().author)
                        && self.members.cutoff(&entry.header().author).is_none() =>
                {
                    receipt.rejected.push(EntryRejection::WrongGroup.to_string());
                }
                // The last entry held of its log, again (every peer pushes what it receives on, so in a group
                // where everyone is in touch an entry arrives many times): a duplicate, without checking its
                // signature again. Only the exact same entry: another one at that place is a fork to prove.
                Ok(entry)
                    if self
                        .covered
                        .get(&entry.header().author)
                        .is_some_and(|held| held.seq == entry.header().link.seq && held.hash == entry.hash()) =>
                {
                    receipt.duplicates += 1;
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
        let mut lenient = false;
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
                let document = entry.header().group;
                // An entry naming a compartment not known (yet) waits while anything else moves; once nothing
                // does, a records entry from a device of the group is kept sealed all the same (a compartment that
                // never comes, voided or past its creator's share, must not hold up its author's log).
                let unknown = document != self.id && !self.members.compartments.contains_key(&document);
                let kept_sealed = lenient
                    && entry.header().kind == EntryKind::Change
                    && (self.members.is_active_device(&author) || self.members.cutoff(&author).is_some());
                if unknown && !kept_sealed {
                    later.push(entry);
                    continue;
                }
                let members = &self.members;
                let admitted = |d: &DeviceId| founding || members.is_active_device(d) || members.cutoff(d).is_some();
                match check_verified_entry(&entry, document, Some(&position), admitted) {
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
            if queue.is_empty() || failure.is_some() {
                break;
            }
            if !progress {
                if lenient {
                    break;
                }
                lenient = true;
            }
        }
        receipt.waiting = self.keep_waiting(queue);
        // Who counts in a compartment changed, or this device was given its earlier keys: its document is made
        // again from the entries kept.
        for (id, now) in &self.members.compartments {
            // A cut-off set by someone's removal from it: what they wrote after it no longer counts.
            let changed = cutoffs_before.get(id).is_some_and(|before| *before != now.cutoffs);
            if changed && self.compartments.contains_key(id) {
                self.rebuild_due.insert(*id);
            }
        }
        // Pending compartment entries are tried again: a key, a generation, an addition of their author, or the
        // changes they build on may have come with this batch.
        for compartment in std::mem::take(&mut self.rebuild_due) {
            if let Err(error) = self.rebuild_compartment(&compartment) {
                tracing::error!(%error, "a compartment's records could not be rebuilt");
            }
        }
        // Every compartment when the membership changed (a key, a generation, an addition may have come); else
        // only those a new entry came for (its changes may be what others wait for).
        if receipt.membership_changed {
            self.settle_compartments();
        } else {
            self.settle_due_compartments();
        }
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
    pub(super) fn keep_waiting(&mut self, mut queue: Vec<Entry>) -> usize {
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
    pub(super) fn contradiction(&self, entry: &Entry, seq: u64) -> Option<Equivocation> {
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
    pub(super) fn keep_refused(&mut self, entry: &Entry, reason: &str) {
        self.push_refusal(RefusedEntry {
            author: entry.header().author,
            seq: entry.header().link.seq,
            reason: reason.to_owned(),
            at: chrono::Utc::now().timestamp(),
            entry: if entry.header().body_len as usize <= MAX_REFUSED_BYTES_KEPT { entry.encode() } else { Vec::new() },
        });
    }

    /// Keeps a refusal as evidence: the newest [`MAX_REFUSALS_KEPT`].
    pub(super) fn push_refusal(&mut self, refusal: RefusedEntry) {
        if self.refused.len() >= MAX_REFUSALS_KEPT {
            self.refused.remove(0);
        }
        self.refused.push(refusal);
    }

    /// Decrypts, validates and stores one checked entry; vetted document changes are collected into `vetted` to be
    /// applied in one batch. Returns whether the membership changed, or why it was refused.
    pub(super) fn accept(
        &mut self,
        entry: &Entry,
        founding: bool,
        trial: &mut Option<GroupDoc>,
        vetted: &mut Vec<Vetted>,
        bad_wraps: &mut Vec<DeviceId>,
    ) -> Result<bool, Refusal> {
        let header = entry.header();
        if header.group != self.id {
            return self.accept_compartment_entry(entry, header.group).map(|()| false);
        }
        // Only a generation the membership names as the group's: a key welcomed in may be a compartment's whose
        // creation has not arrived yet, and its entries wait for it.
        if !self.members.epochs.iter().any(|e| e.id == header.epoch) {
            return Err(Refusal::KeyNotHeld);
        }
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
                        // Not the founding: another member's first entry that is a membership operation (a
                        // compartment made straight after joining), arriving before the founder's log. It waits,
                        // among the few kept for authors not known yet.
                        return Err(Refusal::Waiting);
                    }
                }
                removal = matches!(op.action, Action::RemoveMember { .. } | Action::RevokeDevice { .. });
                let id = self.membership.insert(signed).map_err(invalid)?;
                if !self.take_rotated_key(header.author, &op, id).map_err(Refusal::Store)? {
                    bad_wraps.push(header.author);
                }
                if let Some(compartment) = self.take_compartment_keys(header.author, &op, id).map_err(Refusal::Store)? {
                    self.rebuild_due.insert(compartment);
                }
                membership_changed = true;
            }
            EntryKind::Evidence => {
                let proof = Equivocation::decode(&plain).map_err(invalid)?;
                if proof.group() != self.id && !self.members.compartments.contains_key(&proof.group()) {
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

    /// Keeps a checked entry sealed under a compartment's key in its log, whether or not this device can read
    /// it, so the author's log stays whole on every device; a device in the compartment then takes in what it
    /// holds ([`OpenGroup::offer_compartment_change`]). Only records travel under a compartment's key: a
    /// membership operation or evidence there would be hidden from the rest of the group, and is refused by
    /// everyone (the entry's kind is in its signed header).
    fn accept_compartment_entry(&mut self, entry: &Entry, compartment: GroupId) -> Result<(), Refusal> {
        let header = entry.header();
        if header.kind != EntryKind::Change {
            return Err(invalid("a membership operation or evidence sealed with a compartment's key"));
        }
        self.store_received(&header.author, header.link.seq, &entry.encode()).map_err(Refusal::Store)?;
        self.covered.insert(header.author, Covered { author: header.author, seq: header.link.seq, hash: entry.hash() });
        if header.author == self.device.device_id() {
            self.own_log = self.position(&header.author);
        }
        self.since_snapshot += 1;
        self.bytes_since_snapshot += header.body_len as usize;
        self.note_compartment_entry(compartment, header.author, header.link.seq);
        Ok(())
    }

    /// Stores a received entry at `seq`. The store may already hold entries from there on that this device left
    /// out when it opened the group (they did not pass): those were never part of the records, and are replaced.
    pub(super) fn store_received(&self, author: &DeviceId, seq: u64, bytes: &[u8]) -> Result<(), NodeError> {
        match self.shelf.append_entry(&self.id, author, seq, bytes) {
            Err(sunspace_store::StoreError::NotNext { expected, .. }) if expected > seq => {
                tracing::warn!(seq, "replacing stored entries that were left out when the group was opened");
                self.shelf.truncate_log(&self.id, author, seq - 1)?;
                Ok(self.shelf.append_entry(&self.id, author, seq, bytes)?)
            }
            other => Ok(other?),
        }
    }
}
