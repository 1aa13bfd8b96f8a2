//! Compartments: parts of a group's records that only the devices of some members can read.
//!
//! A compartment is a child of its group: its own automerge document, its own line of keys, and its entries in
//! the same per-device logs as the group's. An entry's header says which key generation sealed it, and the
//! signed membership says whether that generation is the group's or a compartment's, so every device of the
//! group can keep and pass on a compartment's entries (the log's chain stays whole), and only the devices of its
//! members can open them:
//!
//! ```text
//! Bea's log:  #1 group   #2 group   #3 "negotiation team" (epoch 0x5e1f…)   #4 group
//!             Ana (in the team): #3 opens under the team's key and goes into the team's document.
//!             Lee (not in it):   #3 is checked (signature, place in the chain, author) and kept, sealed.
//! ```
//!
//! What a compartment entry holds is applied only if its author's member was in the compartment and, if they
//! were taken out, only up to their cut-off; a compartment entry that does not pass is kept in its log (every
//! device keeps the same log) and its content is refused and reported, so it never stops the author's later
//! entries. A member's view is the group's document with every readable compartment's records merged in, each
//! placed by its compartment ([`sunspace_model::GroupView::absorb`]).

#[allow(unused_imports)]
use super::*;

use std::collections::BTreeSet;

use sunspace_membership::{compartment_id_for, epoch_id, key_commitment, CompartmentState};

/// Most received compartment changes held for dependencies per compartment (they come again with the next sync).
const MAX_HELD_PER_COMPARTMENT: usize = 4_096;

/// A compartment's document as this device holds it.
#[derive(Debug)]
pub(crate) struct CompartmentDoc {
    pub(crate) doc: GroupDoc,
    /// Received changes (author, sequence number, bytes) whose dependencies the document does not hold yet.
    held: Vec<(DeviceId, u64, Vec<u8>)>,
    /// The heads already in stored entries: later local changes are sealed into the next entry.
    sealed_heads: Vec<ChangeHash>,
}

impl CompartmentDoc {
    pub(crate) fn new(doc: GroupDoc) -> Self {
        let mut this = Self { doc, held: Vec::new(), sealed_heads: Vec::new() };
        this.sealed_heads = this.doc.heads();
        this
    }
}

/// The context a compartment key is wrapped under: the group, the compartment, the generation (`u32::MAX` for
/// the one the operation itself makes), the recipient and the wrapping device.
pub(super) fn compartment_wrap_context(
    group: &GroupId,
    compartment: &GroupId,
    epoch: u32,
    recipient: &DeviceId,
    author: &DeviceId,
) -> Vec<u8> {
    let mut context = b"sunspace/compartment-key/v1\0".to_vec();
    context.extend_from_slice(&group.0);
    context.extend_from_slice(&compartment.0);
    context.extend_from_slice(&epoch.to_be_bytes());
    context.extend_from_slice(&recipient.0);
    context.extend_from_slice(&author.0);
    context
}

/// Whether the content of `author`'s entry `seq` under a key of `compartment` counts: its member was in the
/// compartment (at some point: the membership is eventually consistent) and, if taken out, the entry is within
/// the cut-off.
pub(super) fn counts_in(members: &Membership, compartment: &CompartmentState, author: &DeviceId, seq: u64) -> bool {
    let member = members
        .devices
        .get(author)
        .map(|d| d.member.as_str())
        .or_else(|| members.removed.get(author).map(|r| r.member.as_str()));
    member.is_some_and(|m| compartment.ever_members.contains(m))
        && compartment.cutoffs.get(author).is_none_or(|cutoff| seq <= *cutoff)
}

impl OpenGroup {
    /// The key of generation `epoch`, the group's or a compartment's.
    pub(super) fn any_key(&self, epoch: u32) -> Option<&Secret32> {
        self.keys.key(epoch).or_else(|| self.compartment_keys.key(epoch))
    }

    /// The compartments whose records this device reads.
    pub fn readable_compartments(&self) -> Vec<GroupId> {
        self.compartments.keys().copied().collect()
    }

    /// This device's member's "only me" compartment: the oldest one they created holding only themselves.
    pub fn only_me(&self) -> Option<GroupId> {
        let me = self.members.member_of(&self.device.device_id())?;
        self.members
            .compartments
            .iter()
            .filter(|(id, c)| {
                c.creator == me && c.members.len() == 1 && c.members.contains(me) && self.compartments.contains_key(*id)
            })
            .min_by_key(|(_, c)| c.epochs.first().map(|e| e.op))
            .map(|(id, _)| *id)
    }

    /// The compartment holding record `id`, if a compartment this device reads holds it (`None`: the group's
    /// document, or no document this device reads).
    pub fn compartment_of_record(&self, kind: sunspace_model::RecordKind, id: &str) -> Option<GroupId> {
        if self.doc.find_id(kind, id).is_ok_and(|found| found == id) {
            return None;
        }
        self.compartments.iter().find(|(_, c)| c.doc.find_id(kind, id).is_ok_and(|found| found == id)).map(|(c, _)| *c)
    }

    /// Creates a compartment of `members` (member record ids) named `name`: a signed membership operation with a
    /// new key wrapped to exactly their devices, and the compartment's document as this device's next entry. A
    /// steward may create one for anyone; any member one holding only themselves.
    pub fn create_compartment(&mut self, name: &str, members: &[String]) -> Result<GroupId, NodeError> {
        let me = self.device.device_id();
        if !self.members.is_active_device(&me) {
            return Err(NodeError::NotAMember);
        }
        let nonce: [u8; 16] = sunspace_crypto::random_array();
        let compartment = compartment_id_for(&self.id, &me, &nonce);
        let key = Secret32::random();
        let mut wraps = Vec::new();
        for member in members {
            let state = self
                .members
                .members
                .get(member)
                .ok_or_else(|| NodeError::Refused("that member has no device in the group".into()))?;
            for device in &state.devices {
                let agreement = self.members.devices.get(device).map(|d| d.key.agreement);
                let agreement = agreement.ok_or_else(|| NodeError::Damaged("a member's device has no key".into()))?;
                let context = compartment_wrap_context(&self.id, &compartment, u32::MAX, device, &me);
                wraps.push((*device, wrap_hex(&agreement, &key, &context)));
            }
        }
        let action = Action::CreateCompartment {
            nonce,
            name: name.trim().to_owned(),
            members: members.to_vec(),
            wraps,
            commitment: key_commitment(&compartment, key.expose()),
        };
        let op = self.append_membership(action)?;
        let epoch = self.epoch_made_by(&compartment, &op)?;
        self.compartment_keys.epochs.push((epoch, key));
        self.compartment_keys.save_compartment_keys(&self.shelf, &self.id)?;
        let doc = GroupDoc::create_compartment(&compartment.to_hex(), name.trim(), &me.to_hex(), crate::today())?;
        let mut held = CompartmentDoc::new(doc);
        held.sealed_heads = Vec::new();
        self.compartments.insert(compartment, held);
        self.seal_compartment(&compartment)?;
        tracing::info!(compartment = %compartment, "compartment created");
        Ok(compartment)
    }

    /// The generation number the membership gave the key made by `op` in `compartment`.
    fn epoch_made_by(&self, compartment: &GroupId, op: &OpId) -> Result<u32, NodeError> {
        self.members
            .compartments
            .get(compartment)
            .and_then(|c| c.epochs.iter().find(|e| e.op == Some(*op)))
            .map(|e| e.id)
            .ok_or_else(|| NodeError::Refused("the membership rules did not take the compartment's new key".into()))
    }

    /// The compartment's state in the signed membership.
    fn compartment_state(&self, compartment: &GroupId) -> Result<&CompartmentState, NodeError> {
        self.members
            .compartments
            .get(compartment)
            .ok_or_else(|| NodeError::Refused("there is no such compartment".into()))
    }

    /// Makes a new key for a compartment this device's member is in, wrapped to exactly its devices.
    pub fn rotate_compartment_key(&mut self, compartment: &GroupId) -> Result<(u32, Secret32), NodeError> {
        let me = self.device.device_id();
        let mine = self.members.member_of(&me).ok_or(NodeError::NotAMember)?.to_owned();
        if !self.compartment_state(compartment)?.members.contains(&mine) {
            return Err(NodeError::Refused("only a member of the compartment can give it a new key".into()));
        }
        let key = Secret32::random();
        let wraps = self
            .members
            .compartment_devices(compartment)
            .into_iter()
            .filter_map(|device| {
                let agreement = self.members.devices.get(&device)?.key.agreement;
                let context = compartment_wrap_context(&self.id, compartment, u32::MAX, &device, &me);
                Some((device, wrap_hex(&agreement, &key, &context)))
            })
            .collect();
        let action = Action::RotateCompartmentKey {
            compartment: *compartment,
            wraps,
            commitment: key_commitment(compartment, key.expose()),
        };
        let op = self.append_membership(action)?;
        let epoch = self.epoch_made_by(compartment, &op)?;
        self.compartment_keys.epochs.push((epoch, key.clone()));
        self.compartment_keys.save_compartment_keys(&self.shelf, &self.id)?;
        self.shelf.flush()?;
        tracing::info!(compartment = %compartment, epoch, "compartment key rotated");
        Ok((epoch, key))
    }

    /// Adds `member` to a compartment (by a device of a member of it who is a steward or its creator), wrapping
    /// every key of the compartment so far to each of their devices.
    pub fn add_to_compartment(&mut self, compartment: &GroupId, member: &str) -> Result<(), NodeError> {
        let me = self.device.device_id();
        let state = self.compartment_state(compartment)?;
        let epochs: Vec<u32> = state.epochs.iter().map(|e| e.id).collect();
        let devices: Vec<(DeviceId, [u8; 32])> = self
            .members
            .members
            .get(member)
            .ok_or_else(|| NodeError::Refused("that member has no device in the group".into()))?
            .devices
            .iter()
            .filter_map(|d| self.members.devices.get(d).map(|s| (*d, s.key.agreement)))
            .collect();
        let mut wraps = Vec::new();
        for epoch in epochs {
            let key = self.compartment_keys.key(epoch).ok_or_else(|| {
                NodeError::Refused(
                    "this device does not hold every key of the compartment: add them from another".into(),
                )
            })?;
            for (device, agreement) in &devices {
                let context = compartment_wrap_context(&self.id, compartment, epoch, device, &me);
                wraps.push((epoch, *device, wrap_hex(agreement, key, &context)));
            }
        }
        self.append_membership(Action::AddToCompartment {
            compartment: *compartment,
            member: member.to_owned(),
            wraps,
        })?;
        if !self.compartment_state(compartment)?.members.contains(member) {
            return Err(NodeError::Refused("the membership rules did not add them".into()));
        }
        Ok(())
    }

    /// Takes `member` out of a compartment, with cut-offs at how far this device holds their devices' logs, and
    /// (if this device is still in it) gives it a new key at once: they read nothing written there afterwards.
    pub fn remove_from_compartment(
        &mut self,
        compartment: &GroupId,
        member: &str,
    ) -> Result<Vec<(DeviceId, u64)>, NodeError> {
        let devices: Vec<DeviceId> =
            self.members.members.get(member).map(|m| m.devices.iter().copied().collect()).unwrap_or_default();
        let cutoffs: Vec<(DeviceId, u64)> =
            devices.iter().map(|d| (*d, self.covered.get(d).map_or(0, |c| c.seq))).collect();
        let action = Action::RemoveFromCompartment {
            compartment: *compartment,
            member: member.to_owned(),
            cutoffs: cutoffs.clone(),
        };
        self.append_membership(action)?;
        let state = self.compartment_state(compartment)?;
        if state.members.contains(member) {
            return Err(NodeError::Refused("the membership rules did not take them out".into()));
        }
        let still_in = self.members.member_of(&self.device.device_id()).is_some_and(|m| state.members.contains(m));
        if still_in {
            self.rotate_compartment_key(compartment)?;
        } else {
            // This device's member left: it reads nothing written there from now on either.
            self.compartments.remove(compartment);
        }
        Ok(cutoffs)
    }

    /// Runs one edit on a compartment's document and seals it into this device's next entry under the
    /// compartment's key (making a new one first if a removal left none), flushed before this returns.
    pub fn edit_compartment<R>(
        &mut self,
        compartment: &GroupId,
        edit: impl FnOnce(&mut GroupDoc) -> Result<R, ModelError>,
    ) -> Result<R, NodeError> {
        let held = self
            .compartments
            .get_mut(compartment)
            .ok_or_else(|| NodeError::Refused("this device cannot read that compartment".into()))?;
        match edit(&mut held.doc) {
            Ok(result) => {
                self.seal_compartment(compartment)?;
                Ok(result)
            }
            Err(error) => {
                held.doc.rollback();
                Err(error.into())
            }
        }
    }

    /// Seals a compartment document's changes not yet in an entry into this device's next entry.
    fn seal_compartment(&mut self, compartment: &GroupId) -> Result<(), NodeError> {
        let now = chrono::Utc::now().timestamp();
        let Some(held) = self.compartments.get_mut(compartment) else { return Ok(()) };
        held.doc.commit(now);
        if held.doc.heads() == held.sealed_heads {
            return Ok(());
        }
        let (epoch, key) = self.compartment_writable_key(compartment)?;
        let Some(held) = self.compartments.get_mut(compartment) else { return Ok(()) };
        let heads = held.doc.heads();
        let (changes, _) = held.doc.changes_after(&held.sealed_heads);
        // The group's own pending edits stay in order before this entry.
        self.persist_pending()?;
        self.append_own_under(EntryKind::Change, &changes, epoch, &key)?;
        if let Some(held) = self.compartments.get_mut(compartment) {
            held.sealed_heads = heads;
        }
        Ok(())
    }

    /// The key to write a compartment's records with: its writable generation, or a new one if a removal left
    /// none or this device does not hold it.
    fn compartment_writable_key(&mut self, compartment: &GroupId) -> Result<(u32, Secret32), NodeError> {
        let state = self.compartment_state(compartment)?;
        if let Some(key) = state.writable_epoch.and_then(|epoch| self.compartment_keys.key(epoch).map(|k| (epoch, k))) {
            return Ok((key.0, key.1.clone()));
        }
        self.rotate_compartment_key(compartment)
    }

    /// Takes the compartment keys a just-received operation wrapped to this device. Returns the compartments
    /// for which it received keys of generations made before (an addition): their documents must be rebuilt
    /// from the entries already kept. A wrap that does not open to the committed key is not taken (and logged).
    pub(super) fn take_compartment_keys(
        &mut self,
        author: DeviceId,
        op: &sunspace_membership::Op,
        id: OpId,
    ) -> Result<Option<GroupId>, NodeError> {
        let me = self.device.device_id();
        let mut taken = Vec::new();
        let mut added_to = None;
        match &op.action {
            Action::CreateCompartment { nonce, wraps, commitment, .. } => {
                let compartment = compartment_id_for(&self.id, &author, nonce);
                // A new generation: no entry was sealed under it before this operation, nothing to rebuild.
                taken.extend(self.unwrap_compartment_key(
                    &compartment,
                    u32::MAX,
                    epoch_id(&id),
                    wraps,
                    commitment,
                    &author,
                ));
            }
            Action::RotateCompartmentKey { compartment, wraps, commitment } => {
                taken.extend(self.unwrap_compartment_key(
                    compartment,
                    u32::MAX,
                    epoch_id(&id),
                    wraps,
                    commitment,
                    &author,
                ));
            }
            Action::AddToCompartment { compartment, wraps, .. } => {
                for (epoch, device, wrapped) in wraps.iter().filter(|(_, device, _)| *device == me) {
                    let commitment = self.commitment_of(compartment, *epoch);
                    let Some(commitment) = commitment else { continue };
                    let one = [(*device, wrapped.clone())];
                    taken.extend(self.unwrap_compartment_key(compartment, *epoch, *epoch, &one, &commitment, &author));
                }
                if !taken.is_empty() {
                    added_to = Some(*compartment);
                }
            }
            _ => return Ok(None),
        }
        if taken.is_empty() {
            return Ok(None);
        }
        for (epoch, key) in taken {
            if self.compartment_keys.key(epoch).is_none() {
                self.compartment_keys.epochs.push((epoch, key));
            }
        }
        self.compartment_keys.save_compartment_keys(&self.shelf, &self.id)?;
        Ok(added_to)
    }

    /// The key commitment of a compartment's generation `epoch`, from the operation that made it.
    fn commitment_of(&self, compartment: &GroupId, epoch: u32) -> Option<[u8; 32]> {
        let op = self.members.compartments.get(compartment)?.epochs.iter().find(|e| e.id == epoch)?.op?;
        match &self.membership.op(&op)?.action {
            Action::CreateCompartment { commitment, .. } | Action::RotateCompartmentKey { commitment, .. } => {
                Some(*commitment)
            }
            _ => None,
        }
    }

    fn unwrap_compartment_key(
        &self,
        compartment: &GroupId,
        context_epoch: u32,
        epoch: u32,
        wraps: &[(DeviceId, String)],
        commitment: &[u8; 32],
        author: &DeviceId,
    ) -> Option<(u32, Secret32)> {
        let me = self.device.device_id();
        let (_, wrapped) = wraps.iter().find(|(device, _)| *device == me)?;
        let context = compartment_wrap_context(&self.id, compartment, context_epoch, &me, author);
        let key = unwrap_hex(&self.device, wrapped, &context);
        match key.filter(|key| key_commitment(compartment, key.expose()) == *commitment) {
            Some(key) => Some((epoch, key)),
            None => {
                tracing::warn!(author = %author.short(), "a compartment key wrapped to this device is not the key committed to");
                None
            }
        }
    }

    /// Takes in the content of a compartment entry this device holds the key of (the entry itself is already
    /// in its log). Content that does not count ([`counts_in`]) or does not pass vetting is refused and kept as
    /// evidence; content waiting for another entry's changes is held.
    pub(super) fn offer_compartment_change(&mut self, compartment: GroupId, entry: &Entry, plain: Vec<u8>) {
        let author = entry.header().author;
        let seq = entry.header().link.seq;
        let Some(state) = self.members.compartments.get(&compartment) else { return };
        if !counts_in(&self.members, state, &author, seq) {
            self.keep_refused(entry, "compartment records written by a device that was not in the compartment then");
            return;
        }
        let creator = state.creator_device;
        let me = self.device.device_id().to_hex();
        let held = self.compartments.entry(compartment).or_insert_with(|| CompartmentDoc::new(GroupDoc::empty()));
        if held.held.len() < MAX_HELD_PER_COMPARTMENT {
            held.held.push((author, seq, plain));
        }
        let refused = settle(held, &creator);
        // Received changes are in stored entries already: they are not sealed again.
        if held.doc.set_author(&me).is_ok() {
            held.sealed_heads = held.doc.heads();
        }
        for (author, seq, reason) in refused {
            tracing::warn!(author = %author.short(), seq, %reason, "compartment records refused");
            self.refused_content(author, seq, &reason);
        }
    }

    fn refused_content(&mut self, author: DeviceId, seq: u64, reason: &str) {
        if self.refused.len() >= MAX_REFUSALS_KEPT {
            self.refused.remove(0);
        }
        self.refused.push(RefusedEntry {
            author,
            seq,
            reason: format!("its compartment records were refused: {reason}"),
            at: chrono::Utc::now().timestamp(),
            entry: Vec::new(),
        });
    }

    /// Builds a compartment's document again from every kept entry sealed under a key of it this device holds:
    /// after this device was added to it (keys of generations it has entries for already), or when who counts in
    /// it changed.
    pub(crate) fn rebuild_compartment(&mut self, compartment: &GroupId) -> Result<(), NodeError> {
        let Some(state) = self.members.compartments.get(compartment).cloned() else { return Ok(()) };
        let epochs: BTreeSet<u32> = state.epochs.iter().map(|e| e.id).filter(|e| self.any_key(*e).is_some()).collect();
        if epochs.is_empty() {
            self.compartments.remove(compartment);
            return Ok(());
        }
        let mut held = CompartmentDoc::new(GroupDoc::empty());
        let mut known: Vec<DeviceId> = self.covered.keys().copied().collect();
        known.push(self.device.device_id());
        let (logs, _) = self.shelf.log_heads(&self.id, &known)?;
        for (author, head) in logs {
            let mut next = 1;
            while next <= head {
                let page = self.shelf.entries(&self.id, &author, next, READ_PAGE)?;
                let Some(&(last, _)) = page.last() else { break };
                for (seq, bytes) in page {
                    let Ok(bytes) = bytes else { continue };
                    let Ok(entry) = Entry::decode(&bytes) else { continue };
                    let epoch = entry.header().epoch;
                    if !epochs.contains(&epoch) || entry.header().kind != EntryKind::Change {
                        continue;
                    }
                    if !counts_in(&self.members, &state, &author, seq) {
                        continue;
                    }
                    let Some(key) = self.any_key(epoch) else { continue };
                    if let Ok(plain) = entry.open(key) {
                        held.held.push((author, seq, plain));
                    }
                }
                next = last + 1;
            }
        }
        for (author, seq, reason) in settle(&mut held, &state.creator_device) {
            tracing::warn!(author = %author.short(), seq, %reason, "compartment records left out");
        }
        held.doc.set_author(&self.device.device_id().to_hex())?;
        held.sealed_heads = held.doc.heads();
        self.compartments.insert(*compartment, held);
        Ok(())
    }

    /// At open: the compartments' documents from the snapshot, then the compartment entries after it. A
    /// compartment this device holds keys for that the snapshot lacks (a snapshot from before it, or one it
    /// could not read) is rebuilt from every kept entry.
    pub(super) fn open_compartments(
        &mut self,
        from_snapshot: BTreeMap<GroupId, GroupDoc>,
        changes: Vec<(u32, Vec<u8>, Box<Entry>)>,
        had_snapshot: bool,
    ) -> Result<(), NodeError> {
        let me = self.device.device_id().to_hex();
        for (id, mut doc) in from_snapshot {
            if self.members.compartments.contains_key(&id) {
                doc.set_author(&me)?;
                self.compartments.insert(id, CompartmentDoc::new(doc));
            }
        }
        let readable: Vec<GroupId> = self
            .members
            .compartments
            .iter()
            .filter(|(_, c)| c.epochs.iter().any(|e| self.compartment_keys.key(e.id).is_some()))
            .map(|(id, _)| *id)
            .collect();
        let missing: Vec<GroupId> =
            readable.iter().filter(|id| !self.compartments.contains_key(*id)).copied().collect();
        if had_snapshot && !missing.is_empty() {
            for id in &missing {
                self.rebuild_compartment(id)?;
            }
        }
        self.sort_compartment_keys()?;
        self.rebuild_due.clear();
        for (epoch, plain, entry) in changes {
            let Some(compartment) = self.members.compartment_of_epoch(epoch) else { continue };
            if had_snapshot && missing.contains(&compartment) {
                continue;
            }
            self.offer_compartment_change(compartment, &entry, plain);
        }
        // What was replayed is in stored entries: nothing of it is to be sealed again.
        for held in self.compartments.values_mut() {
            held.doc.set_author(&me)?;
            held.sealed_heads = held.doc.heads();
        }
        Ok(())
    }

    /// Moves keys of compartment generations that arrived with the group's keys (a welcome from this member's
    /// other device carries both) to the compartment keys, once the membership says which they are, and marks
    /// those compartments to be rebuilt.
    pub(crate) fn sort_compartment_keys(&mut self) -> Result<(), NodeError> {
        let members = &self.members;
        let (theirs, group): (Vec<_>, Vec<_>) = std::mem::take(&mut self.keys.epochs)
            .into_iter()
            .partition(|(epoch, _)| members.compartment_of_epoch(*epoch).is_some());
        self.keys.epochs = group;
        if theirs.is_empty() {
            return Ok(());
        }
        for (epoch, key) in theirs {
            if let Some(compartment) = self.members.compartment_of_epoch(epoch) {
                self.rebuild_due.insert(compartment);
            }
            if self.compartment_keys.key(epoch).is_none() {
                self.compartment_keys.epochs.push((epoch, key));
            }
        }
        self.compartment_keys.save_compartment_keys(&self.shelf, &self.id)?;
        self.keys.save(&self.shelf, &self.id)?;
        Ok(())
    }

    /// The compartment keys to give another device of this device's own member when it is linked: every key of
    /// every compartment the member is in.
    pub(super) fn compartment_keys_for_own_device(&self) -> Vec<(u32, &Secret32)> {
        let Some(me) = self.members.member_of(&self.device.device_id()) else { return Vec::new() };
        let mine: BTreeSet<GroupId> = self.members.compartments_of(me).into_iter().collect();
        self.compartment_keys
            .epochs
            .iter()
            .filter(|(epoch, _)| self.members.compartment_of_epoch(*epoch).is_some_and(|c| mine.contains(&c)))
            .map(|(epoch, key)| (*epoch, key))
            .collect()
    }

    /// Runs an edit where its record is: in the compartment holding the record it changes (or the meeting it
    /// adds to), else in the group's document.
    pub fn apply_edit(&mut self, edit: sunspace_model::edit::Edit) -> Result<sunspace_model::edit::Applied, NodeError> {
        let place = edit.target().and_then(|(kind, id)| self.compartment_of_record(kind, id));
        match place {
            Some(compartment) => {
                let edit = self.with_known_base(&compartment, edit);
                self.edit_compartment(&compartment, |doc| doc.apply(edit))
            }
            None => {
                let edit = self.with_known_base_in_group(edit);
                self.edit(|doc| doc.apply(edit))
            }
        }
    }

    /// Minutes typed on a version that spans several documents: the base is what of it the record's document
    /// holds.
    fn with_known_base(
        &mut self,
        compartment: &GroupId,
        edit: sunspace_model::edit::Edit,
    ) -> sunspace_model::edit::Edit {
        match (edit, self.compartments.get_mut(compartment)) {
            (sunspace_model::edit::Edit::SetMinutes { meeting, text, base }, Some(held)) => {
                let base = held.doc.known_heads(&base);
                sunspace_model::edit::Edit::SetMinutes { meeting, text, base }
            }
            (edit, _) => edit,
        }
    }

    fn with_known_base_in_group(&mut self, edit: sunspace_model::edit::Edit) -> sunspace_model::edit::Edit {
        match edit {
            sunspace_model::edit::Edit::SetMinutes { meeting, text, base } => {
                let base = self.doc.known_heads(&base);
                sunspace_model::edit::Edit::SetMinutes { meeting, text, base }
            }
            edit => edit,
        }
    }

    /// Moves a record to a compartment (`Some`) or to the group's document (`None`): written where it goes (as
    /// this device's entry there), then deleted where it was. What was written where it was stays in that
    /// document's history, for whoever could read it there: moving narrows who reads it from now on.
    pub fn move_record(
        &mut self,
        kind: sunspace_model::RecordKind,
        id: &str,
        to: Option<GroupId>,
    ) -> Result<(), NodeError> {
        let from = self.compartment_of_record(kind, id);
        if from.is_none() && self.doc.find_id(kind, id).ok().as_deref() != Some(id) {
            return Err(NodeError::Refused("this device cannot read that record".into()));
        }
        if from == to {
            return Ok(());
        }
        let data = match from {
            Some(compartment) => self
                .compartments
                .get(&compartment)
                .ok_or_else(|| NodeError::Refused("this device cannot read that compartment".into()))?
                .doc
                .copy_record_out(kind, id)?,
            None => self.doc.copy_record_out(kind, id)?,
        };
        match to {
            Some(compartment) => self.edit_compartment(&compartment, |doc| doc.put_record(kind, &data))?,
            None => self.edit(|doc| doc.put_record(kind, &data))?,
        }
        match from {
            Some(compartment) => self.edit_compartment(&compartment, |doc| doc.delete_record(kind, id))?,
            None => self.edit(|doc| doc.delete_record(kind, id))?,
        }
        Ok(())
    }

    /// The members' active devices, and how many of them were verified in person (the founding device counts:
    /// its founder is who created the group).
    pub fn devices_verified(&self) -> (usize, usize) {
        let verified = self
            .members
            .devices
            .iter()
            .filter(|(id, d)| d.verification.is_some() || self.members.founder == Some(**id))
            .count();
        (self.members.devices.len(), verified)
    }

    /// The compartments' documents for the snapshot.
    pub(super) fn compartment_saves(&mut self) -> Vec<(GroupId, Vec<u8>)> {
        self.compartments.iter_mut().map(|(id, held)| (*id, held.doc.save())).collect()
    }

    /// "Who can read this", per compartment this device reads: its name, members' names and safety number.
    pub fn compartment_views(&self) -> Vec<crate::status::CompartmentView> {
        let view = self.doc.view();
        let me = self.members.member_of(&self.device.device_id()).map(str::to_owned);
        let only_me = self.only_me();
        self.members
            .compartments
            .iter()
            .filter(|(_, c)| me.as_ref().is_some_and(|m| c.members.contains(m)))
            .map(|(id, c)| crate::status::CompartmentView {
                id: id.to_hex(),
                name: c.name.clone(),
                members: c.members.iter().cloned().collect(),
                member_names: c.members.iter().map(|m| view.member_name(m)).collect(),
                only_me: only_me == Some(*id),
                readable_here: self.compartments.contains_key(id),
                safety_number: self.members.compartment_safety_number(id).unwrap_or_default(),
            })
            .collect()
    }
}

/// Applies a compartment document's held changes in passes (one may depend on another's), each vetted on a copy
/// first. Returns the ones refused, with why; the ones still waiting for dependencies stay held.
fn settle(held: &mut CompartmentDoc, creator: &DeviceId) -> Vec<(DeviceId, u64, String)> {
    let mut refused = Vec::new();
    loop {
        let mut progress = false;
        let mut waiting = Vec::new();
        for (author, seq, plain) in std::mem::take(&mut held.held) {
            let mut copy = held.doc.trial_copy();
            match copy.try_changes(&plain, &author.0, Some(&creator.0)) {
                Ok(_) => {
                    held.doc = copy;
                    progress = true;
                }
                Err(ChangeRefusal::MissingDeps) => waiting.push((author, seq, plain)),
                Err(refusal) => refused.push((author, seq, refusal.to_string())),
            }
        }
        held.held = waiting;
        if !progress || held.held.is_empty() {
            break;
        }
    }
    refused
}
