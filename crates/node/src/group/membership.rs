//! Membership and keys: signed operations by this device, admitting, removing and revoking, rotating the group key.

#[allow(unused_imports)]
use super::*;

/// The context a rotated key is wrapped under: the group, the recipient and the rotating device.
pub(super) fn rotation_wrap_context(group: &GroupId, recipient: &DeviceId, author: &DeviceId) -> Vec<u8> {
    let mut context = b"sunspace/rotate/v1\0".to_vec();
    context.extend_from_slice(&group.0);
    context.extend_from_slice(&recipient.0);
    context.extend_from_slice(&author.0);
    context
}

impl OpenGroup {
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
        // The log holds the operation before its entry is stored: a snapshot written with the entry must list it
        // (a snapshot covers the entry, so the entry is not replayed at the next opening).
        let previous = std::mem::replace(&mut self.membership, trial);
        let stored = self.append_own(EntryKind::Membership, &signed.encode());
        // Once the entry is in the store it will reach peers (even if flushing or the snapshot failed after it):
        // this device's membership takes the operation from then on, and a retry does not sign a second one.
        if self.own_log.len() > before {
            self.members = state;
        } else {
            self.membership = previous;
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
        // Another device of this member also gets every key of the compartments the member is in, in signed
        // shares (checked against the keys' commitments like any compartment key).
        if admission.own_device {
            self.share_compartments_with(admission.device, admission.agreement);
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

    /// Makes a new group key, wraps it to every device in the group (by the membership this device knows), and
    /// records the rotation in this device's log. Returns the new generation and key.
    pub fn rotate_key(&mut self) -> Result<(u32, Secret32), NodeError> {
        let me = self.device.device_id();
        if !self.members.is_active_device(&me) {
            return Err(NodeError::NotAMember);
        }
        let key = Secret32::random();
        // One ephemeral key for all the wraps: a removal in a group of 200 devices stays small.
        let devices: Vec<DeviceId> = self.members.devices.keys().copied().collect();
        let recipients: Vec<([u8; 32], Vec<u8>)> = self
            .members
            .devices
            .iter()
            .map(|(device, state)| (state.key.agreement, rotation_wrap_context(&self.id, device, &me)))
            .collect();
        let (ephemeral, sealed) = sunspace_crypto::wrap_key_shared(&recipients, &key);
        let paired: Vec<(DeviceId, [u8; sunspace_crypto::SHARED_WRAP_LEN])> = devices.into_iter().zip(sealed).collect();
        let wraps = sunspace_membership::KeyWraps::shared(ephemeral, &paired);
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
    pub(super) fn take_rotated_key(
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
        let candidates = wraps.for_device(&me);
        if candidates.is_empty() {
            return Ok(true);
        }
        let context = rotation_wrap_context(&self.id, &me, &author);
        // Another device may share this one's first 8 bytes of id: only this device's own slot opens.
        let key = candidates.into_iter().find_map(|wrapped| match wrapped {
            sunspace_membership::WrapFor::Each(hex) => unwrap_hex(&self.device, &hex, &context),
            sunspace_membership::WrapFor::Shared { ephemeral, sealed } => {
                sunspace_crypto::unwrap_key_shared(&self.device, &ephemeral, &sealed, &context).ok()
            }
        });
        let Some(key) = key.filter(|key| sunspace_membership::key_commitment(&self.id, key.expose()) == *commitment)
        else {
            tracing::warn!(author = %author.short(), "a rotated key wrapped to this device is not the key committed to");
            return Ok(false);
        };
        self.keys.epochs.push((epoch, key));
        self.keys.save(&self.shelf, &self.id)?;
        Ok(true)
    }

    /// Stores the founding operation, already in the membership log, as this device's first entry.
    pub(crate) fn store_founding(&mut self) -> Result<(), NodeError> {
        let signed = self.membership.signed_ops().next().cloned();
        let signed = signed.ok_or_else(|| NodeError::Damaged("the group has no founding operation".into()))?;
        self.append_own(EntryKind::Membership, &signed.encode())
    }
}
