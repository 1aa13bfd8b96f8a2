//! Compartments: parts of a group's records that only the devices of some members can read.
//!
//! A compartment is a child of its group: its own automerge document, its own line of keys (numbered apart from
//! the group's), and its entries in the same per-device logs as the group's, their header naming the compartment
//! instead of the group. Every device of the group keeps and passes on a compartment's entries (each author's log
//! stays whole everywhere); only the devices of its members can open them:
//!
//! ```text
//! Bea's log:  #1 group   #2 group   #3 "negotiation team" (its id in the header)   #4 group
//!             Ana (in the team): #3 opens under the team's key and goes into the team's document.
//!             Lee (not in it):   #3 is checked (signature, place in the chain, author) and kept, sealed.
//! ```
//!
//! A kept compartment entry is *pending* on a member's device until its records are in the compartment's
//! document: it may wait for its key generation, for another entry's changes, or for its author to count there
//! ([`counts_in`]). Pending entries are named by place (author, sequence number), read again from the store when
//! something changes, and kept in the snapshot, so nothing a member may read is lost by waiting. A compartment
//! entry whose records do not pass is refused and reported, and stays in its log: it never stops its author's
//! later entries. A member's view is the group's document with every readable compartment's records merged in,
//! each placed by its compartment ([`sunspace_model::GroupView::absorb`]).

#[allow(unused_imports)]
use super::*;

use std::collections::BTreeSet;

use sunspace_membership::{compartment_id_for, key_commitment, CompartmentState};

/// Most compartment entries pending per compartment: far more than a group writes in the time an entry waits.
const MAX_PENDING_PER_COMPARTMENT: usize = 65_536;
/// Most entries kept pending for compartments not known yet, in all.
const MAX_PENDING_UNKNOWN: usize = 4_096;
/// Most keys kept, unchecked, for a generation the membership does not name yet (the right one is among them).
const MAX_KEY_CANDIDATES: usize = 4;

/// A compartment's document as this device holds it.
#[derive(Debug)]
pub(crate) struct CompartmentDoc {
    pub(crate) doc: GroupDoc,
    /// The heads already in stored entries: later local changes are sealed into the next entry.
    sealed_heads: Vec<ChangeHash>,
    /// The heads already in stored entries or pending chunks (local edits kept, sealed under the storage key,
    /// until a peer is there to send them to: as the group's own, see [`OpenGroup::save_pending`]).
    pending_heads: Vec<ChangeHash>,
    /// Pending chunks stored.
    pending_count: u32,
}

impl CompartmentDoc {
    pub(crate) fn new(mut doc: GroupDoc) -> Self {
        let sealed_heads = doc.heads();
        Self { doc, pending_heads: sealed_heads.clone(), sealed_heads, pending_count: 0 }
    }

    /// Marks everything in the document as in stored entries (what was received, or just sealed).
    fn all_sealed(&mut self) {
        self.sealed_heads = self.doc.heads();
        self.pending_heads = self.sealed_heads.clone();
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

/// Whether the records in `author`'s entry `seq` count in `compartment`: its member is in the compartment now; or
/// it was taken out of it and the entry is within the cut-off set for that device; or the device was removed from
/// the group (with its member, or revoked) while its member was in the compartment, and the entry is within the
/// group's cut-off for it. (A device linked after its member was taken out has no cut-off: nothing it writes there
/// counts.)
pub(super) fn counts_in(members: &Membership, compartment: &CompartmentState, author: &DeviceId, seq: u64) -> bool {
    let member = members.devices.get(author).map(|d| d.member.as_str());
    if member.is_some_and(|m| compartment.members.contains(m)) {
        return true;
    }
    if let Some(cutoff) = compartment.cutoffs.get(author) {
        return seq <= *cutoff;
    }
    members
        .removed
        .get(author)
        .is_some_and(|removed| compartment.ever_members.contains(&removed.member) && seq <= removed.cutoff)
}

impl OpenGroup {
    /// The key of generation `epoch` of `compartment`: one this device holds that matches the commitment of the
    /// operation the membership says made that generation. A key planted under the number does not.
    pub(super) fn compartment_key(&self, compartment: &GroupId, epoch: u32) -> Option<&Secret32> {
        let commitment = self.commitment_of(compartment, epoch)?;
        self.compartment_keys
            .candidates(*compartment, epoch)
            .find(|key| key_commitment(compartment, key.expose()) == commitment)
    }

    /// Whether this device's member is in `compartment` (and so keeps track of its entries).
    fn reads(&self, compartment: &GroupId) -> bool {
        let Some(me) = self.members.member_of(&self.device.device_id()) else { return false };
        self.members.compartments.get(compartment).is_some_and(|c| c.members.contains(me))
    }

    /// This device's member's "only me" compartment: the first one (in the membership's replay order) they
    /// created holding only themselves.
    pub fn only_me(&self) -> Option<GroupId> {
        let me = self.members.member_of(&self.device.device_id())?;
        self.members
            .compartments
            .iter()
            .filter(|(id, c)| {
                c.creator == me && c.members.len() == 1 && c.members.contains(me) && self.compartments.contains_key(*id)
            })
            .min_by_key(|(_, c)| c.order)
            .map(|(id, _)| *id)
    }

    /// The compartment holding record `id`, if a compartment this device reads holds it (`None`: the group's
    /// document, or no document this device reads). A compartment's record wins over one with its id in the
    /// group's document, which any member may write.
    pub fn compartment_of_record(&self, kind: sunspace_model::RecordKind, id: &str) -> Option<GroupId> {
        self.compartments_holding(kind, id).last().copied()
    }

    /// Every compartment this device reads that holds record `id`, in the order the view merges them (the last
    /// is the one shown).
    fn compartments_holding(&self, kind: sunspace_model::RecordKind, id: &str) -> Vec<GroupId> {
        self.compartments
            .iter()
            .filter(|(_, c)| c.doc.find_id(kind, id).is_ok_and(|found| found == id))
            .map(|(c, _)| *c)
            .collect()
    }

    /// Creates a compartment of `members` (member record ids, this device's member among them) named `name`: a
    /// signed membership operation with a new key wrapped to exactly their devices, and the compartment's
    /// document as this device's next entry. A steward may create one for anyone; any member one holding only
    /// themselves.
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
        self.compartment_keys.keep(compartment, epoch, key.clone());
        self.compartment_keys.save(&self.shelf, &self.id)?;
        let doc = GroupDoc::create_compartment(&compartment.to_hex(), name.trim(), &me.to_hex(), crate::today())?;
        let mut held = CompartmentDoc::new(doc);
        held.sealed_heads = Vec::new();
        self.compartments.insert(compartment, held);
        self.seal_compartment(&compartment, (epoch, key))?;
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
        if !self.reads(compartment) {
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
        self.compartment_keys.keep(*compartment, epoch, key.clone());
        self.compartment_keys.save(&self.shelf, &self.id)?;
        self.shelf.flush()?;
        tracing::info!(compartment = %compartment, epoch, "compartment key rotated");
        Ok((epoch, key))
    }

    /// Every key of `compartment` so far wrapped to each of `devices`, as an addition or a share carries them.
    fn wraps_of_every_key(
        &self,
        compartment: &GroupId,
        devices: &[(DeviceId, [u8; 32])],
    ) -> Result<Vec<(u32, DeviceId, String)>, NodeError> {
        let me = self.device.device_id();
        let epochs: Vec<u32> = self.compartment_state(compartment)?.epochs.iter().map(|e| e.id).collect();
        let mut wraps = Vec::new();
        for epoch in epochs {
            let key = self.compartment_key(compartment, epoch).ok_or_else(|| {
                NodeError::Refused("this device does not hold every key of the compartment: do it from another".into())
            })?;
            for (device, agreement) in devices {
                let context = compartment_wrap_context(&self.id, compartment, epoch, device, &me);
                wraps.push((epoch, *device, wrap_hex(agreement, key, &context)));
            }
        }
        Ok(wraps)
    }

    /// Adds `member` to a compartment (by a device of a member of it who is a steward or its creator), wrapping
    /// every key of the compartment so far to each of their devices.
    pub fn add_to_compartment(&mut self, compartment: &GroupId, member: &str) -> Result<(), NodeError> {
        let devices: Vec<(DeviceId, [u8; 32])> = self
            .members
            .members
            .get(member)
            .ok_or_else(|| NodeError::Refused("that member has no device in the group".into()))?
            .devices
            .iter()
            .filter_map(|d| self.members.devices.get(d).map(|s| (*d, s.key.agreement)))
            .collect();
        let wraps = self.wraps_of_every_key(compartment, &devices)?;
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

    /// Gives every compartment this device's member is in to another device of theirs, just linked: each key so
    /// far, in a signed share. (A failure is logged: the next rotation of a compartment reaches the device too.)
    pub(super) fn share_compartments_with(&mut self, device: DeviceId, agreement: [u8; 32]) {
        let Some(me) = self.members.member_of(&self.device.device_id()).map(str::to_owned) else { return };
        for compartment in self.members.compartments_of(&me) {
            let shared = self.wraps_of_every_key(&compartment, &[(device, agreement)]).and_then(|wraps| {
                self.append_membership(Action::ShareCompartmentKeys { compartment, wraps }).map(|_| ())
            });
            if let Err(error) = shared {
                tracing::warn!(%error, compartment = %compartment, "a compartment's keys were not shared with the new device");
            }
        }
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
        if self.compartment_state(compartment)?.members.contains(member) {
            return Err(NodeError::Refused("the membership rules did not take them out".into()));
        }
        if self.reads(compartment) {
            self.rotate_compartment_key(compartment)?;
        } else {
            // This device's member left: it reads nothing written there from now on either.
            self.compartments.remove(compartment);
            self.pending.remove(compartment);
        }
        Ok(cutoffs)
    }

    /// Runs one edit on a compartment's document and seals it into this device's next entry under the
    /// compartment's key (making a new one first if a removal left none), flushed before this returns. If no key
    /// can be had, the edit is not made.
    pub fn edit_compartment<R>(
        &mut self,
        compartment: &GroupId,
        edit: impl FnOnce(&mut GroupDoc) -> Result<R, ModelError>,
    ) -> Result<R, NodeError> {
        if !self.compartments.contains_key(compartment) || !self.reads(compartment) {
            return Err(NodeError::Refused("this device cannot read that compartment".into()));
        }
        // A key to write with is made now if a removal left none: an edit is never kept that cannot be sent.
        let key = self.compartment_writable_key(compartment)?;
        let held = self
            .compartments
            .get_mut(compartment)
            .ok_or_else(|| NodeError::Refused("this device cannot read that compartment".into()))?;
        match edit(&mut held.doc) {
            Ok(result) => {
                if self.seal_at_once {
                    self.seal_compartment(compartment, key)?;
                } else {
                    self.save_compartment_pending(compartment, key)?;
                }
                Ok(result)
            }
            Err(error) => {
                held.doc.rollback();
                Err(error.into())
            }
        }
    }

    /// Seals a compartment document's changes not yet in an entry into this device's next entry, under `key`,
    /// its header naming the compartment.
    fn seal_compartment(&mut self, compartment: &GroupId, (epoch, key): (u32, Secret32)) -> Result<(), NodeError> {
        let now = chrono::Utc::now().timestamp();
        let Some(held) = self.compartments.get_mut(compartment) else { return Ok(()) };
        held.doc.commit(now);
        let heads = held.doc.heads();
        if heads == held.sealed_heads {
            return Ok(());
        }
        let (changes, _) = held.doc.changes_after(&held.sealed_heads);
        // The group's own pending edits stay in order before this entry.
        self.persist_group_pending()?;
        // The heads move before the entry is stored: a snapshot written with the entry holds its changes (it
        // covers the entry, so the entry is not replayed at the next opening). Put back if nothing was stored.
        let before = self.own_log.len();
        let Some(held) = self.compartments.get_mut(compartment) else { return Ok(()) };
        let previous = (std::mem::replace(&mut held.sealed_heads, heads.clone()), held.pending_heads.clone());
        held.pending_heads = heads;
        let stored = self.append_own_under(*compartment, EntryKind::Change, &changes, epoch, &key);
        if self.own_log.len() == before {
            if let Some(held) = self.compartments.get_mut(compartment) {
                (held.sealed_heads, held.pending_heads) = previous;
            }
        }
        stored?;
        let Some(held) = self.compartments.get_mut(compartment) else { return Ok(()) };
        // The entry is flushed; only then are the pending chunks dropped (as for the group's own).
        if held.pending_count > 0 {
            held.pending_count = 0;
            self.pending_edits(compartment).set_count(0)?;
            self.shelf.flush()?;
        }
        Ok(())
    }

    /// Keeps a compartment document's changes not yet in an entry in its sealed pending record and flushes, as
    /// [`OpenGroup::save_pending`] does the group's: the edit is durable, and becomes one entry with the others
    /// when there is a peer to send it to. `key` is the one it will be sealed with if the batch is full.
    fn save_compartment_pending(&mut self, compartment: &GroupId, key: (u32, Secret32)) -> Result<(), NodeError> {
        let now = chrono::Utc::now().timestamp();
        let Some(held) = self.compartments.get_mut(compartment) else { return Ok(()) };
        held.doc.commit(now);
        let heads = held.doc.heads();
        if heads == held.pending_heads {
            return Ok(());
        }
        if held.pending_count as usize + 1 >= PENDING_MAX_CHANGES {
            return self.seal_compartment(compartment, key);
        }
        let changes = held.doc.save_after(&held.pending_heads);
        let index = held.pending_count;
        self.pending_edits(compartment).put(index, &changes)?;
        self.shelf.flush()?;
        if let Some(held) = self.compartments.get_mut(compartment) {
            held.pending_count = index + 1;
            held.pending_heads = heads;
        }
        Ok(())
    }

    /// Seals each compartment's kept local edits into one entry of this device's log.
    pub(super) fn persist_compartments_pending(&mut self) -> Result<(), NodeError> {
        let waiting: Vec<GroupId> = self
            .compartments
            .iter_mut()
            .filter_map(|(id, held)| (held.doc.heads() != held.sealed_heads).then_some(*id))
            .collect();
        for compartment in waiting {
            let key = self.compartment_writable_key(&compartment)?;
            self.seal_compartment(&compartment, key)?;
        }
        Ok(())
    }

    /// Whether any compartment's local edits wait to be sealed into an entry.
    pub(super) fn compartments_pending(&mut self) -> bool {
        self.compartments.values_mut().any(|held| held.doc.heads() != held.sealed_heads)
    }

    /// At open: a compartment's local edits kept pending, back into its document.
    fn load_compartment_pending(&mut self, compartment: &GroupId) -> Result<(), NodeError> {
        let (count, unsent) = self.pending_edits(compartment).load()?;
        let Some(held) = self.compartments.get_mut(compartment) else { return Ok(()) };
        if !unsent.is_empty() {
            held.doc
                .load_incremental(&unsent)
                .map_err(|e| NodeError::Damaged(format!("this device's unsent compartment edits: {e}")))?;
        }
        held.pending_heads = held.doc.heads();
        held.pending_count = count;
        Ok(())
    }

    /// The key to write a compartment's records with: its writable generation, or a new one if a removal left
    /// none or this device does not hold it.
    fn compartment_writable_key(&mut self, compartment: &GroupId) -> Result<(u32, Secret32), NodeError> {
        let state = self.compartment_state(compartment)?;
        if let Some(epoch) = state.writable_epoch {
            if let Some(key) = self.compartment_key(compartment, epoch) {
                return Ok((epoch, key.clone()));
            }
        }
        self.rotate_compartment_key(compartment)
    }

    /// Takes the compartment keys a just-received operation wrapped to this device, unverified: a key is used only
    /// once it matches the commitment of the operation that made its generation ([`OpenGroup::compartment_key`]).
    /// Returns the compartment if the keys are of generations made before (an addition, a share): its document is
    /// to be rebuilt from the entries already kept.
    pub(super) fn take_compartment_keys(
        &mut self,
        author: DeviceId,
        op: &sunspace_membership::Op,
        id: OpId,
    ) -> Result<Option<GroupId>, NodeError> {
        let me = self.device.device_id();
        let number = sunspace_membership::epoch_id(&id);
        let (compartment, taken, earlier): (GroupId, Vec<(u32, Secret32)>, bool) = match &op.action {
            Action::CreateCompartment { nonce, wraps, .. } => {
                let compartment = compartment_id_for(&self.id, &author, nonce);
                let keys = self.unwrap_mine(&compartment, u32::MAX, number, wraps.iter().map(|(d, w)| (d, w)), &author);
                (compartment, keys.into_iter().collect(), false)
            }
            Action::RotateCompartmentKey { compartment, wraps, .. } => {
                let keys = self.unwrap_mine(compartment, u32::MAX, number, wraps.iter().map(|(d, w)| (d, w)), &author);
                (*compartment, keys.into_iter().collect(), false)
            }
            Action::AddToCompartment { compartment, wraps, .. }
            | Action::ShareCompartmentKeys { compartment, wraps } => {
                let mut keys = Vec::new();
                for (epoch, device, wrapped) in wraps.iter().filter(|(_, device, _)| *device == me) {
                    keys.extend(self.unwrap_mine(
                        compartment,
                        *epoch,
                        *epoch,
                        [(device, wrapped)].into_iter(),
                        &author,
                    ));
                }
                (*compartment, keys, true)
            }
            _ => return Ok(None),
        };
        if taken.is_empty() {
            return Ok(None);
        }
        let mut changed = false;
        let mut usable = false;
        for (epoch, key) in taken {
            // A key of a generation the membership already names is checked now, and kept only if it is the
            // one committed to; one of a generation not known yet is kept (a few per generation) and checked when
            // it is used.
            match self.commitment_of(&compartment, epoch) {
                Some(commitment) if key_commitment(&compartment, key.expose()) != commitment => continue,
                Some(_) => {
                    let new = self.compartment_key(&compartment, epoch).is_none();
                    usable |= new;
                    changed |= new && self.compartment_keys.keep(compartment, epoch, key);
                }
                None if self.compartment_keys.candidates(compartment, epoch).count() < MAX_KEY_CANDIDATES => {
                    changed |= self.compartment_keys.keep(compartment, epoch, key);
                }
                None => {}
            }
        }
        if changed {
            self.compartment_keys.save(&self.shelf, &self.id)?;
        }
        Ok((usable && earlier).then_some(compartment))
    }

    /// The key in the wrap addressed to this device, if any opens.
    fn unwrap_mine<'a>(
        &self,
        compartment: &GroupId,
        context_epoch: u32,
        epoch: u32,
        mut wraps: impl Iterator<Item = (&'a DeviceId, &'a String)>,
        author: &DeviceId,
    ) -> Option<(u32, Secret32)> {
        let me = self.device.device_id();
        let (_, wrapped) = wraps.find(|(device, _)| **device == me)?;
        let context = compartment_wrap_context(&self.id, compartment, context_epoch, &me, author);
        match unwrap_hex(&self.device, wrapped, &context) {
            Some(key) => Some((epoch, key)),
            None => {
                tracing::warn!(author = %author.short(), "a compartment key wrapped to this device does not open");
                None
            }
        }
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

    /// Notes a kept entry of `compartment` as pending, if this device's member is in it: its records are taken in
    /// by the next [`OpenGroup::settle_compartments`].
    pub(super) fn note_compartment_entry(&mut self, compartment: GroupId, author: DeviceId, seq: u64) {
        let known = self.members.compartments.contains_key(&compartment);
        if known && !self.reads(&compartment) {
            return;
        }
        if !known {
            // A compartment not known (yet): its entry is kept by place, bounded, in case the compartment's
            // creation comes later and this device is in it.
            let unknown: usize = self
                .pending
                .iter()
                .filter(|(id, _)| !self.members.compartments.contains_key(*id))
                .map(|(_, refs)| refs.len())
                .sum();
            if unknown >= MAX_PENDING_UNKNOWN {
                return;
            }
        }
        let pending = self.pending.entry(compartment).or_default();
        if pending.len() >= MAX_PENDING_PER_COMPARTMENT {
            tracing::error!(compartment = %compartment, "too many compartment entries pending: the oldest is given up");
            pending.pop_first();
        }
        pending.insert((author, seq));
        self.settle_due.insert(compartment);
    }

    fn refused_content(&mut self, author: DeviceId, seq: u64, reason: &str) {
        tracing::warn!(author = %author.short(), seq, %reason, "compartment records refused");
        self.push_refusal(RefusedEntry {
            author,
            seq,
            reason: format!("its compartment records were refused: {reason}"),
            at: chrono::Utc::now().timestamp(),
            entry: Vec::new(),
        });
    }

    /// Takes the records of every pending compartment entry that can be taken now, in passes (one entry's changes
    /// may depend on another's), each vetted on a copy of the document first. An entry stays pending while its
    /// key generation is unknown or not held, its author does not count in the compartment (yet), or its changes
    /// wait for another entry's; it is refused (and reported) if it does not open or its changes do not pass.
    pub(crate) fn settle_compartments(&mut self) {
        let compartments: Vec<GroupId> = self.pending.keys().copied().collect();
        for compartment in compartments {
            self.settle_compartment(&compartment);
        }
        self.settle_due.clear();
    }

    /// [`OpenGroup::settle_compartments`] for the compartments a new entry came for.
    pub(crate) fn settle_due_compartments(&mut self) {
        for compartment in std::mem::take(&mut self.settle_due) {
            self.settle_compartment(&compartment);
        }
    }

    fn settle_compartment(&mut self, compartment: &GroupId) {
        // Not known (yet): its entries stay pending until its creation comes.
        let Some(state) = self.members.compartments.get(compartment).cloned() else { return };
        if !self.reads(compartment) {
            self.pending.remove(compartment);
            return;
        }
        let me = self.device.device_id().to_hex();
        if !self.compartments.contains_key(compartment) {
            if !state.epochs.iter().any(|e| self.compartment_key(compartment, e.id).is_some()) {
                // Nothing can be read yet: the compartment is not shown as readable here.
                return;
            }
            let mut doc = GroupDoc::empty();
            if doc.set_author(&me).is_err() {
                return;
            }
            self.compartments.insert(*compartment, CompartmentDoc::new(doc));
        }
        loop {
            let mut progress = false;
            let refs: Vec<(DeviceId, u64)> = self.pending.get(compartment).into_iter().flatten().copied().collect();
            for (author, seq) in refs {
                match self.try_pending(compartment, &state, author, seq) {
                    Pending::Taken => progress = true,
                    Pending::Refused(reason) => self.refused_content(author, seq, &reason),
                    Pending::Waits => continue,
                }
                if let Some(pending) = self.pending.get_mut(compartment) {
                    pending.remove(&(author, seq));
                }
            }
            if !progress {
                break;
            }
        }
        if let Some(held) = self.compartments.get_mut(compartment) {
            // What was taken in is in stored entries: nothing of it is sealed again. (This device's own edits were
            // sealed before: receiving seals them first, and opening loads them after.)
            if held.doc.set_author(&me).is_ok() {
                held.all_sealed();
            }
        }
    }

    fn try_pending(&mut self, compartment: &GroupId, state: &CompartmentState, author: DeviceId, seq: u64) -> Pending {
        let bytes = match self.read_entries(author, seq, seq) {
            Ok(mut entries) if !entries.is_empty() => entries.swap_remove(0),
            _ => return Pending::Refused("its entry is no longer held".into()),
        };
        let Ok(entry) = Entry::decode(&bytes) else { return Pending::Refused("its entry does not decode".into()) };
        if entry.header().group != *compartment {
            return Pending::Refused("its entry is not the compartment's".into());
        }
        let epoch = entry.header().epoch;
        if !self.members.compartment_has_epoch(compartment, epoch) || !counts_in(&self.members, state, &author, seq) {
            return Pending::Waits;
        }
        let Some(key) = self.compartment_key(compartment, epoch) else { return Pending::Waits };
        let plain = match entry.open(key) {
            Ok(plain) => plain,
            Err(error) => return Pending::Refused(format!("it does not open: {error}")),
        };
        let Some(held) = self.compartments.get_mut(compartment) else { return Pending::Waits };
        let mut copy = held.doc.trial_copy();
        match copy.try_changes(&plain, &author.0, Some(&state.creator_device.0)) {
            Ok(_) => {
                held.doc = copy;
                Pending::Taken
            }
            Err(ChangeRefusal::MissingDeps) => Pending::Waits,
            Err(refusal) => Pending::Refused(refusal.to_string()),
        }
    }

    /// Builds a compartment's document again from every kept entry of it: after this device was given earlier
    /// keys of it, or when a cut-off changed who counts in it.
    pub(crate) fn rebuild_compartment(&mut self, compartment: &GroupId) -> Result<(), NodeError> {
        if !self.reads(compartment) {
            self.compartments.remove(compartment);
            self.pending.remove(compartment);
            return Ok(());
        }
        let mut refs = BTreeSet::new();
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
                    if Entry::decode(&bytes).is_ok_and(|entry| entry.header().group == *compartment) {
                        refs.insert((author, seq));
                    }
                }
                next = last + 1;
            }
        }
        let mut doc = GroupDoc::empty();
        doc.set_author(&self.device.device_id().to_hex())?;
        self.compartments.insert(*compartment, CompartmentDoc::new(doc));
        self.pending.insert(*compartment, refs);
        self.settle_compartment(compartment);
        Ok(())
    }

    /// At open: the compartments' documents and pending entries from the snapshot, with the compartment entries
    /// replayed after it. A compartment this device is in that the snapshot lacks (a snapshot from before it, or
    /// one it could not read) is rebuilt from every kept entry.
    pub(super) fn open_compartments(
        &mut self,
        from_snapshot: BTreeMap<GroupId, GroupDoc>,
        pending: Vec<PendingEntry>,
        replayed: Vec<PendingEntry>,
        had_snapshot: bool,
    ) -> Result<(), NodeError> {
        let me = self.device.device_id().to_hex();
        for (id, mut doc) in from_snapshot {
            if self.reads(&id) {
                doc.set_author(&me)?;
                self.compartments.insert(id, CompartmentDoc::new(doc));
            }
        }
        let mine: Vec<GroupId> = self.members.compartments.keys().filter(|id| self.reads(id)).copied().collect();
        let missing: Vec<GroupId> = mine.iter().filter(|id| !self.compartments.contains_key(*id)).copied().collect();
        for (compartment, author, seq) in pending.into_iter().chain(replayed) {
            self.note_compartment_entry(compartment, author, seq);
        }
        if had_snapshot {
            for id in &missing {
                self.rebuild_compartment(id)?;
            }
        }
        self.settle_compartments();
        let held: Vec<GroupId> = self.compartments.keys().copied().collect();
        for compartment in held {
            self.load_compartment_pending(&compartment)?;
        }
        Ok(())
    }

    /// The compartments' documents and pending entries, for the snapshot.
    pub(super) fn compartment_saves(&mut self) -> (Vec<(GroupId, Vec<u8>)>, Vec<PendingEntry>) {
        // As of the entries the snapshot covers: local edits still pending are not in it (they are loaded from
        // their pending chunks at open, and sealed then).
        let docs = self
            .compartments
            .iter_mut()
            .filter_map(|(id, held)| {
                if held.doc.heads() == held.sealed_heads {
                    return Some((*id, held.doc.save()));
                }
                let sealed = held.sealed_heads.clone();
                held.doc.automerge().fork_at(&sealed).ok().map(|mut at| (*id, at.save()))
            })
            .collect();
        let pending = self
            .pending
            .iter()
            .flat_map(|(compartment, refs)| refs.iter().map(move |(author, seq)| (*compartment, *author, *seq)))
            .collect();
        (docs, pending)
    }

    /// Runs an edit where its record is: in the compartment holding the record it changes (or the meeting it
    /// adds to), else in the group's document.
    pub fn apply_edit(&mut self, edit: sunspace_model::edit::Edit) -> Result<sunspace_model::edit::Applied, NodeError> {
        // A record in more than one compartment (a move between two caught half-way, or a copy someone in one of
        // them wrote under its id) is not edited: the edit could land where other people read it.
        let holding = edit.target().map(|(kind, id)| self.compartments_holding(kind, id)).unwrap_or_default();
        if holding.len() > 1 {
            return Err(NodeError::Refused(
                "that record is in more than one compartment; move it to one place before changing it".into(),
            ));
        }
        let place = holding.last().copied();
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
        let holding = self.compartments_holding(kind, id);
        if holding.len() > 1 {
            return Err(NodeError::Refused(
                "that record is in more than one compartment; ask who wrote the second copy before moving it".into(),
            ));
        }
        let from = holding.first().copied();
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

    /// "Who can read this", per compartment this device reads: its name, members' names and safety number.
    pub fn compartment_views(&self) -> Vec<crate::status::CompartmentView> {
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
                member_names: c
                    .members
                    .iter()
                    .map(|m| {
                        self.doc
                            .member_name(m)
                            .unwrap_or_else(|| format!("(unknown member {})", sunspace_model::view::short(m)))
                    })
                    .collect(),
                only_me: only_me == Some(*id),
                readable_here: self.compartments.contains_key(id),
                safety_number: self.members.compartment_safety_number(id).unwrap_or_default(),
            })
            .collect()
    }
}

/// A kept compartment entry by place: the compartment, the author, the sequence number.
pub(crate) type PendingEntry = (GroupId, DeviceId, u64);

/// What became of one pending compartment entry.
enum Pending {
    /// Its records are in the document.
    Taken,
    /// It still waits.
    Waits,
    /// Its records are refused, with why.
    Refused(String),
}
