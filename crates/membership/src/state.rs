//! The membership state and the rules that build it.

use std::collections::{BTreeMap, BTreeSet};

use sunspace_crypto::DeviceId;
use sunspace_log::GroupId;

use crate::op::{
    compartment_id_for, group_id_for, Action, DeviceKey, Op, OpId, Role, Verification, MAX_COMPARTMENT_NAME,
};

/// Most compartments one group may have: an "only me" for each of 40 members over years, and the teams.
pub const MAX_COMPARTMENTS: usize = 1_000;
/// Most compartments one member may create: one member cannot use up the group's share.
pub const MAX_COMPARTMENTS_PER_MEMBER: usize = 20;

/// Most devices one member may have over the group's life, revoked ones included: a phone and a laptop replaced
/// every year or two for a decade. It bounds how many devices (each with its own share of membership operations)
/// one member can bring in.
pub const MAX_DEVICES_PER_MEMBER: usize = 16;

/// A member.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberState {
    /// Their devices.
    pub devices: BTreeSet<DeviceId>,
    /// Their roles.
    pub roles: BTreeSet<Role>,
    /// The device that admitted them (none for the founder).
    pub admitted_by: Option<DeviceId>,
}

/// A device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    /// The member it belongs to.
    pub member: String,
    /// Its keys.
    pub key: DeviceKey,
    /// How it was verified (none for the founding device).
    pub verification: Option<Verification>,
}

/// Why an op was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A `Create` that is not the group's, or a second one.
    #[error("not the group's founding operation")]
    NotTheFounding,
    /// An op before the group was founded.
    #[error("the group has not been founded")]
    NotFounded,
    /// The author is not a device of the group.
    #[error("the author is not a device of the group")]
    NotAMemberDevice,
    /// The author's member is not a steward.
    #[error("only stewards may do this")]
    NotASteward,
    /// A device may only be linked by its own member.
    #[error("a member links only their own devices")]
    NotOwnMember,
    /// The member already exists.
    #[error("that member is already in the group")]
    AlreadyMember,
    /// The member does not exist.
    #[error("that member is not in the group")]
    NoSuchMember,
    /// The device already belongs to the group.
    #[error("that device is already in the group")]
    AlreadyDevice,
    /// The device is not (or no longer) in the group.
    #[error("that device is not in the group")]
    NoSuchDevice,
    /// A device or member that was removed cannot come back under the same id.
    #[error("that device or member was removed from the group")]
    WasRemoved,
    /// A key must never be wrapped to a device that is not in the group.
    #[error("a key was wrapped to a device that is not in the group")]
    WrappedToOutsider,
    /// A rotation must reach every device in the group at its point, once each: one that leaves a device out
    /// would cut it off from everything written with the new key.
    #[error("a new key was not wrapped to every device in the group")]
    IncompleteRotation,
    /// Ending this role would leave the group with no steward: nobody could admit or remove anyone again.
    #[error("the group's last steward cannot stop being one")]
    LastSteward,
    /// The member does not hold that role.
    #[error("that member does not hold that role")]
    NoSuchRole,
    /// A removal may set cut-offs only for the removed member's devices.
    #[error("a removal named a device of someone else")]
    CutoffForOtherDevice,
    /// A member may link only so many devices over the group's life.
    #[error("that member has linked as many devices as a member may")]
    TooManyDevices,
    /// No compartment has that id in the group.
    #[error("there is no such compartment")]
    NoSuchCompartment,
    /// A compartment with that id exists already.
    #[error("that compartment exists already")]
    AlreadyCompartment,
    /// The author's member is not in the compartment (and so holds none of its keys).
    #[error("only a member of the compartment may do this")]
    NotInCompartment,
    /// The member is in the compartment already.
    #[error("that member is in the compartment already")]
    AlreadyInCompartment,
    /// The compartment's name is empty or too long, or it lists nobody or somebody twice.
    #[error("a compartment needs a name and members, each once")]
    BadCompartment,
    /// Taking this member out would leave the compartment with nobody able to read it.
    #[error("the last member of a compartment cannot leave it")]
    LastInCompartment,
    /// The group has as many compartments as a group may.
    #[error("the group has as many compartments as a group may")]
    TooManyCompartments,
    /// The op was made concurrently with its author's removal, without knowing of it, and is discarded.
    #[error("made by a device concurrently with its removal")]
    ConcurrentWithRemoval,
}

/// A device that was removed (with its member, or alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedDevice {
    /// The member it belonged to.
    pub member: String,
    /// The last entry of its log anyone may accept: the highest cut-off among the removals that took effect.
    pub cutoff: u64,
    /// The device that removed it (the first effective removal in replay order).
    pub removed_by: DeviceId,
    /// Why, if a reason was given.
    pub reason: String,
}

/// A group key generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epoch {
    /// Its number as entries name it: 0 for the founding key, otherwise derived from the rotation's op id.
    pub id: u32,
    /// The rotation that made it (none for the founding key).
    pub op: Option<OpId>,
    /// The devices it was wrapped to at rotation (devices admitted later receive every key at admission).
    pub wrapped_to: BTreeSet<DeviceId>,
}

/// A compartment: some of the group's members, and the keys only their devices hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompartmentState {
    /// What the group calls it.
    pub name: String,
    /// The member records in it.
    pub members: BTreeSet<String>,
    /// Every member it ever held: a removal or revocation touching one of them means its key must rotate.
    pub ever_members: BTreeSet<String>,
    /// The member who created it.
    pub creator: String,
    /// The device that created it: its first change lays out the compartment's document.
    pub creator_device: DeviceId,
    /// Its place among the group's compartments in replay order (the same on every device): a member's "only
    /// me" is the first one they made holding only themselves.
    pub order: usize,
    /// Its key generations, oldest first (the first is made by its creation). Each compartment numbers its own: an
    /// entry's header names the document (the group or a compartment) and its epoch the generation in it.
    pub epochs: Vec<Epoch>,
    /// The newest generation made with knowledge of every removal touching the compartment: the one to write
    /// with. `None` when a member left or was removed and no rotation after it is known.
    pub writable_epoch: Option<u32>,
    /// Per device taken out of the compartment: the last entry of its log whose compartment entries count.
    pub cutoffs: BTreeMap<DeviceId, u64>,
}

/// Who is in the group, as computed from the ops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The group.
    pub group: GroupId,
    /// Members by record id.
    pub members: BTreeMap<String, MemberState>,
    /// Devices by id.
    pub devices: BTreeMap<DeviceId, DeviceState>,
    /// Ops that were not applied, with the reason.
    pub rejected: Vec<(OpId, Rejection)>,
    /// Ops waiting for ops they depend on.
    pub pending: usize,
    /// Devices removed, with their cut-offs.
    pub removed: BTreeMap<DeviceId, RemovedDevice>,
    /// Members removed, with why.
    pub removed_members: BTreeMap<String, String>,
    /// Key generations in replay order (the founding key first).
    pub epochs: Vec<Epoch>,
    /// The device that founded the group (it stays the founder if removed: its first change laid out the records).
    pub founder: Option<DeviceId>,
    /// Devices each member has had, revoked ones included (bounded by [`MAX_DEVICES_PER_MEMBER`]).
    pub devices_ever: BTreeMap<String, usize>,
    /// The newest key generation made with knowledge of every removal: the one to write with. `None` when a
    /// removal is known and no rotation after it is: a device must rotate before writing.
    pub writable_epoch: Option<u32>,
    /// The group's compartments by id.
    pub compartments: BTreeMap<GroupId, CompartmentState>,
    /// Compartment ids created more than once (by their creator, with one nonce): void, never a compartment.
    pub void_compartments: BTreeSet<GroupId>,
}

impl State {
    pub(crate) fn new(group: GroupId) -> Self {
        Self {
            group,
            members: BTreeMap::new(),
            devices: BTreeMap::new(),
            rejected: Vec::new(),
            pending: 0,
            removed: BTreeMap::new(),
            removed_members: BTreeMap::new(),
            epochs: vec![Epoch { id: 0, op: None, wrapped_to: BTreeSet::new() }],
            writable_epoch: Some(0),
            founder: None,
            devices_ever: BTreeMap::new(),
            compartments: BTreeMap::new(),
            void_compartments: BTreeSet::new(),
        }
    }

    /// The active devices of a compartment's members: exactly who its keys are wrapped to.
    pub fn compartment_devices(&self, compartment: &GroupId) -> BTreeSet<DeviceId> {
        let Some(state) = self.compartments.get(compartment) else { return BTreeSet::new() };
        state
            .members
            .iter()
            .filter_map(|member| self.members.get(member))
            .flat_map(|member| member.devices.iter().copied())
            .collect()
    }

    /// Whether `epoch` is one of `compartment`'s key generations. (Each compartment numbers its own: an entry's
    /// header names the compartment it is sealed for, so numbers never need to differ between documents.)
    pub fn compartment_has_epoch(&self, compartment: &GroupId, epoch: u32) -> bool {
        self.compartments.get(compartment).is_some_and(|c| c.epochs.iter().any(|e| e.id == epoch))
    }

    /// The compartments `member` is in.
    pub fn compartments_of(&self, member: &str) -> Vec<GroupId> {
        self.compartments.iter().filter(|(_, c)| c.members.contains(member)).map(|(id, _)| *id).collect()
    }

    /// A compartment's safety number, shown to its members: 30 digits like the group's, over the group's id,
    /// the compartment's id and name, its members with their devices and keys, the cut-offs and the generation
    /// to write with. Two members' devices show the same number exactly when they agree on all of those.
    pub fn compartment_safety_number(&self, compartment: &GroupId) -> Option<String> {
        let state = self.compartments.get(compartment)?;
        let mut bytes = b"sunspace/compartment-safety-number/v1\0".to_vec();
        bytes.extend_from_slice(&self.group.0);
        bytes.extend_from_slice(&compartment.0);
        bytes.extend_from_slice(&(state.name.len() as u32).to_be_bytes());
        bytes.extend_from_slice(state.name.as_bytes());
        for member in &state.members {
            bytes.extend_from_slice(&(member.len() as u32).to_be_bytes());
            bytes.extend_from_slice(member.as_bytes());
            for device in self.members.get(member).map(|m| &m.devices).into_iter().flatten() {
                bytes.extend_from_slice(&device.0);
                if let Some(d) = self.devices.get(device) {
                    bytes.extend_from_slice(&d.key.agreement);
                }
            }
            bytes.push(0xFE);
        }
        bytes.push(0xFF);
        for (device, cutoff) in &state.cutoffs {
            bytes.extend_from_slice(&device.0);
            bytes.extend_from_slice(&cutoff.to_be_bytes());
        }
        bytes.extend_from_slice(&state.writable_epoch.unwrap_or(u32::MAX).to_be_bytes());
        Some(digits(&sunspace_crypto::hash(&bytes)))
    }

    /// Whether `device` belongs to the group.
    pub fn is_active_device(&self, device: &DeviceId) -> bool {
        self.devices.contains_key(device)
    }

    /// The last entry of `device`'s log that may be accepted, if the device was removed.
    pub fn cutoff(&self, device: &DeviceId) -> Option<u64> {
        self.removed.get(device).map(|r| r.cutoff)
    }

    /// The member a device belongs to, if it is active.
    pub fn member_of(&self, device: &DeviceId) -> Option<&str> {
        self.devices.get(device).map(|d| d.member.as_str())
    }

    /// The group's safety number: 30 digits in six groups of five, for reading aloud. Two devices show the same
    /// number exactly when they agree on the members, their roles, their devices and keys, who was removed, and
    /// the key generation to write with. The digits come from SHA-256 over a canonical encoding of those: six
    /// 40-bit slices, each reduced to five digits, about 99.6 bits in all.
    pub fn safety_number(&self) -> String {
        let mut bytes = b"sunspace/safety-number/v1\0".to_vec();
        bytes.extend_from_slice(&self.group.0);
        for (id, member) in &self.members {
            bytes.extend_from_slice(&(id.len() as u32).to_be_bytes());
            bytes.extend_from_slice(id.as_bytes());
            for role in &member.roles {
                bytes.extend_from_slice(format!("role:{role:?};").as_bytes());
            }
            for device in &member.devices {
                bytes.extend_from_slice(&device.0);
                if let Some(state) = self.devices.get(device) {
                    bytes.extend_from_slice(&state.key.agreement);
                }
            }
            bytes.push(0xFE);
        }
        bytes.push(0xFF);
        for (device, removed) in &self.removed {
            bytes.extend_from_slice(&device.0);
            bytes.extend_from_slice(&removed.cutoff.to_be_bytes());
        }
        bytes.extend_from_slice(&self.writable_epoch.unwrap_or(u32::MAX).to_be_bytes());
        digits(&sunspace_crypto::hash(&bytes))
    }

    /// Whether `member` holds `role`.
    pub fn has_role(&self, member: &str, role: Role) -> bool {
        self.members.get(member).is_some_and(|m| m.roles.contains(&role))
    }

    fn founded(&self) -> bool {
        !self.devices.is_empty()
    }

    fn author_member(&self, author: &DeviceId) -> Result<&str, Rejection> {
        self.devices.get(author).map(|d| d.member.as_str()).ok_or(Rejection::NotAMemberDevice)
    }

    fn require_steward(&self, author: &DeviceId) -> Result<(), Rejection> {
        let member = self.author_member(author)?;
        if self.has_role(member, Role::Steward) {
            Ok(())
        } else {
            Err(Rejection::NotASteward)
        }
    }

    fn remove_device(&mut self, device: DeviceId, cutoff: u64, by: DeviceId, reason: &str) {
        let member = self.devices.remove(&device).map(|d| d.member).unwrap_or_default();
        match self.removed.get_mut(&device) {
            Some(removed) => removed.cutoff = removed.cutoff.max(cutoff),
            None => {
                let record = RemovedDevice { member, cutoff, removed_by: by, reason: reason.to_owned() };
                self.removed.insert(device, record);
            }
        }
    }

    /// Applies a valid op while folding: like [`State::apply`], except that removing what a concurrent removal
    /// already removed only raises the cut-offs, and any other op that no longer fits is left out.
    pub(crate) fn fold_apply(&mut self, author: DeviceId, op: &Op) {
        match &op.action {
            Action::RemoveMember { member, reason, cutoffs } if !self.members.contains_key(member) => {
                for (device, cutoff) in cutoffs {
                    if let Some(removed) = self.removed.get_mut(device) {
                        removed.cutoff = removed.cutoff.max(*cutoff);
                    }
                }
                self.removed_members.entry(member.clone()).or_insert_with(|| reason.clone());
            }
            Action::RevokeDevice { device, cutoff } if !self.devices.contains_key(device) => {
                if let Some(removed) = self.removed.get_mut(device) {
                    removed.cutoff = removed.cutoff.max(*cutoff);
                }
            }
            // A compartment's creation and rotations were judged in their causal past; here they always bring
            // their key generation, so entries sealed under it are known for what they are on every device, even
            // when a member they list was removed concurrently.
            Action::CreateCompartment { nonce, name, members, wraps, .. } if self.apply(author, op).is_err() => {
                let id = compartment_id_for(&self.group, &author, nonce);
                let creator = self.devices.get(&author).map(|d| d.member.clone()).unwrap_or_default();
                // Each member's first compartments in replay order: concurrent creations past a member's share are
                // theirs to lose, and never push out anyone else's (there is no group-wide cut here).
                let theirs = self.compartments.values().filter(|c| c.creator == creator).count();
                if self.compartments.contains_key(&id)
                    || self.void_compartments.contains(&id)
                    || theirs >= MAX_COMPARTMENTS_PER_MEMBER
                {
                    return;
                }
                // Everyone listed held its first key, also one removed meanwhile: their removal must rotate it.
                let ever_members: BTreeSet<String> = members.iter().cloned().collect();
                let members = ever_members.iter().filter(|m| self.members.contains_key(*m)).cloned().collect();
                let state = CompartmentState {
                    name: name.clone(),
                    ever_members,
                    members,
                    creator,
                    creator_device: author,
                    order: self.compartments.len(),
                    epochs: vec![Epoch { id: u32::MAX, op: None, wrapped_to: wraps.iter().map(|(d, _)| *d).collect() }],
                    writable_epoch: None,
                    cutoffs: BTreeMap::new(),
                };
                self.compartments.insert(id, state);
            }
            Action::RotateCompartmentKey { compartment, wraps, .. } if self.apply(author, op).is_err() => {
                if let Some(state) = self.compartments.get_mut(compartment) {
                    let wrapped_to = wraps.iter().map(|(d, _)| *d).collect();
                    state.epochs.push(Epoch { id: u32::MAX, op: None, wrapped_to });
                }
            }
            // Taken out, as judged in the causal past; here it takes effect whatever the order, except that a
            // compartment keeps one member.
            Action::RemoveFromCompartment { compartment, member, cutoffs } => {
                if let Some(state) = self.compartments.get_mut(compartment) {
                    if state.members.len() > 1 {
                        state.members.remove(member);
                    }
                    for (device, cutoff) in cutoffs {
                        let kept = state.cutoffs.entry(*device).or_insert(*cutoff);
                        *kept = (*kept).max(*cutoff);
                    }
                }
            }
            // An addition, as judged in its causal past, takes effect whatever came concurrently (a device linked
            // or a key made meanwhile lacks its wraps: those come with the next rotation or a share). Its wraps
            // went to the member's devices even if the member was removed meanwhile: that removal touches the
            // compartment.
            Action::AddToCompartment { compartment, member, .. } => {
                let devices: Vec<DeviceId> =
                    self.members.get(member).map(|m| m.devices.iter().copied().collect()).unwrap_or_default();
                let in_group = self.members.contains_key(member);
                if let Some(state) = self.compartments.get_mut(compartment) {
                    state.ever_members.insert(member.clone());
                    if in_group {
                        state.members.insert(member.clone());
                        for device in devices {
                            state.cutoffs.remove(&device);
                        }
                    }
                }
            }
            Action::CreateCompartment { .. } | Action::RotateCompartmentKey { .. } => {}
            _ => {
                let _ = self.apply(author, op);
            }
        }
    }

    /// Applies one op by `author`, if the rules allow it.
    pub(crate) fn apply(&mut self, author: DeviceId, op: &Op) -> Result<(), Rejection> {
        match &op.action {
            Action::Create { member, device, nonce } => {
                if self.founded() || device.id != author || group_id_for(&author, nonce) != self.group {
                    return Err(Rejection::NotTheFounding);
                }
                let founder = MemberState {
                    devices: BTreeSet::from([author]),
                    roles: BTreeSet::from([Role::Steward]),
                    admitted_by: None,
                };
                self.members.insert(member.clone(), founder);
                self.devices.insert(author, DeviceState { member: member.clone(), key: *device, verification: None });
                self.founder = Some(author);
                Ok(())
            }
            _ if !self.founded() => Err(Rejection::NotFounded),
            Action::AddMember { member, device, verification } => {
                self.require_steward(&author)?;
                if self.removed_members.contains_key(member) || self.removed.contains_key(&device.id) {
                    return Err(Rejection::WasRemoved);
                }
                if self.members.contains_key(member) {
                    return Err(Rejection::AlreadyMember);
                }
                if self.devices.contains_key(&device.id) {
                    return Err(Rejection::AlreadyDevice);
                }
                let state = MemberState {
                    devices: BTreeSet::from([device.id]),
                    roles: BTreeSet::new(),
                    admitted_by: Some(author),
                };
                self.members.insert(member.clone(), state);
                self.devices.insert(
                    device.id,
                    DeviceState { member: member.clone(), key: *device, verification: Some(*verification) },
                );
                Ok(())
            }
            Action::LinkDevice { member, device, verification } => {
                if self.author_member(&author)? != member {
                    return Err(Rejection::NotOwnMember);
                }
                if self.removed.contains_key(&device.id) {
                    return Err(Rejection::WasRemoved);
                }
                if self.devices.contains_key(&device.id) {
                    return Err(Rejection::AlreadyDevice);
                }
                let ever = self.devices_ever.entry(member.clone()).or_insert(1);
                if *ever >= MAX_DEVICES_PER_MEMBER {
                    return Err(Rejection::TooManyDevices);
                }
                *ever += 1;
                if let Some(state) = self.members.get_mut(member) {
                    state.devices.insert(device.id);
                }
                self.devices.insert(
                    device.id,
                    DeviceState { member: member.clone(), key: *device, verification: Some(*verification) },
                );
                Ok(())
            }
            Action::GrantRole { member, role } => {
                self.require_steward(&author)?;
                let state = self.members.get_mut(member).ok_or(Rejection::NoSuchMember)?;
                state.roles.insert(*role);
                Ok(())
            }
            Action::EndRole { member, role } => {
                self.require_steward(&author)?;
                // Only a steward with a device can act: a steward whose devices were all revoked does not count.
                let holders = self.members.values().filter(|m| m.roles.contains(role) && !m.devices.is_empty()).count();
                let state = self.members.get_mut(member).ok_or(Rejection::NoSuchMember)?;
                if !state.roles.contains(role) {
                    return Err(Rejection::NoSuchRole);
                }
                if *role == Role::Steward && holders <= 1 {
                    return Err(Rejection::LastSteward);
                }
                state.roles.remove(role);
                Ok(())
            }
            Action::RemoveMember { member, reason, cutoffs } => {
                self.require_steward(&author)?;
                let theirs = |device: &DeviceId| {
                    self.devices.get(device).is_some_and(|d| d.member == *member)
                        || self.removed.get(device).is_some_and(|r| r.member == *member)
                };
                if !cutoffs.iter().all(|(device, _)| theirs(device)) {
                    return Err(Rejection::CutoffForOtherDevice);
                }
                let acting_stewards = self
                    .members
                    .iter()
                    .filter(|(id, m)| *id != member && m.roles.contains(&Role::Steward) && !m.devices.is_empty())
                    .count();
                if acting_stewards == 0 {
                    return Err(Rejection::LastSteward);
                }
                let state = self.members.remove(member).ok_or(Rejection::NoSuchMember)?;
                for device in state.devices {
                    let cutoff = cutoffs.iter().find(|(d, _)| *d == device).map_or(0, |(_, c)| *c);
                    self.remove_device(device, cutoff, author, reason);
                }
                self.removed_members.insert(member.clone(), reason.clone());
                for compartment in self.compartments.values_mut() {
                    compartment.members.remove(member);
                }
                Ok(())
            }
            Action::RevokeDevice { device, cutoff } => {
                let target = self.devices.get(device).map(|d| d.member.clone()).ok_or(Rejection::NoSuchDevice)?;
                if self.author_member(&author)? != target {
                    self.require_steward(&author)?;
                }
                if let Some(member) = self.members.get_mut(&target) {
                    member.devices.remove(device);
                }
                self.remove_device(*device, *cutoff, author, "");
                Ok(())
            }
            Action::RotateKey { wraps, .. } => {
                self.author_member(&author)?;
                let wrapped_to = wraps.recipients_among(self.devices.keys()).map_err(|problem| match problem {
                    crate::WrapsProblem::Outsider => Rejection::WrappedToOutsider,
                    crate::WrapsProblem::Incomplete => Rejection::IncompleteRotation,
                })?;
                // The epoch id is filled in by the replay, which knows the op id.
                self.epochs.push(Epoch { id: u32::MAX, op: None, wrapped_to: wrapped_to.into_iter().collect() });
                Ok(())
            }
            Action::CreateCompartment { nonce, name, members, wraps, .. } => {
                let mine = self.author_member(&author)?.to_owned();
                let listed: BTreeSet<&String> = members.iter().collect();
                if name.trim().is_empty() || name.len() > MAX_COMPARTMENT_NAME || listed.len() != members.len() {
                    return Err(Rejection::BadCompartment);
                }
                if members.is_empty() {
                    return Err(Rejection::BadCompartment);
                }
                // Its creator made its key: the creator is in it.
                if !members.contains(&mine) {
                    return Err(Rejection::NotInCompartment);
                }
                // Only me: any member. Anyone else in it: a steward decides who reads what.
                if members.iter().any(|m| *m != mine) {
                    self.require_steward(&author)?;
                }
                if members.iter().any(|m| !self.members.contains_key(m)) {
                    return Err(Rejection::NoSuchMember);
                }
                let id = compartment_id_for(&self.group, &author, nonce);
                if self.compartments.contains_key(&id) || self.void_compartments.contains(&id) {
                    return Err(Rejection::AlreadyCompartment);
                }
                let theirs = self.compartments.values().filter(|c| c.creator == mine).count();
                if self.compartments.len() >= MAX_COMPARTMENTS || theirs >= MAX_COMPARTMENTS_PER_MEMBER {
                    return Err(Rejection::TooManyCompartments);
                }
                let devices: BTreeSet<DeviceId> = members
                    .iter()
                    .filter_map(|m| self.members.get(m))
                    .flat_map(|m| m.devices.iter().copied())
                    .collect();
                check_wraps(wraps, &devices)?;
                let members: BTreeSet<String> = members.iter().cloned().collect();
                let state = CompartmentState {
                    name: name.clone(),
                    ever_members: members.clone(),
                    members,
                    creator: mine,
                    creator_device: author,
                    order: self.compartments.len(),
                    epochs: vec![Epoch { id: u32::MAX, op: None, wrapped_to: devices }],
                    writable_epoch: None,
                    cutoffs: BTreeMap::new(),
                };
                self.compartments.insert(id, state);
                Ok(())
            }
            Action::AddToCompartment { compartment, member, wraps } => {
                let mine = self.author_member(&author)?.to_owned();
                let steward = self.has_role(&mine, Role::Steward);
                let devices = self.members.get(member).map(|m| m.devices.clone()).ok_or(Rejection::NoSuchMember)?;
                let state = self.compartments.get(compartment).ok_or(Rejection::NoSuchCompartment)?;
                if !state.members.contains(&mine) {
                    return Err(Rejection::NotInCompartment);
                }
                if !steward && state.creator != mine {
                    return Err(Rejection::NotASteward);
                }
                if state.members.contains(member) {
                    return Err(Rejection::AlreadyInCompartment);
                }
                // Every key so far, to every device of the member, once each.
                let expected: BTreeSet<(u32, DeviceId)> = state
                    .epochs
                    .iter()
                    .filter(|e| e.id != u32::MAX)
                    .flat_map(|e| devices.iter().map(move |d| (e.id, *d)))
                    .collect();
                let given: BTreeSet<(u32, DeviceId)> = wraps.iter().map(|(e, d, _)| (*e, *d)).collect();
                if wraps.iter().any(|(_, d, _)| !devices.contains(d)) {
                    return Err(Rejection::WrappedToOutsider);
                }
                if given.len() != wraps.len() || given != expected {
                    return Err(Rejection::IncompleteRotation);
                }
                if let Some(state) = self.compartments.get_mut(compartment) {
                    state.members.insert(member.clone());
                    state.ever_members.insert(member.clone());
                    // Back in, with every key: what they write from now on counts again.
                    for device in &devices {
                        state.cutoffs.remove(device);
                    }
                }
                Ok(())
            }
            Action::RemoveFromCompartment { compartment, member, cutoffs } => {
                let mine = self.author_member(&author)?.to_owned();
                let steward = self.has_role(&mine, Role::Steward);
                let theirs: BTreeSet<DeviceId> =
                    self.members.get(member).map(|m| m.devices.clone()).unwrap_or_default();
                let state = self.compartments.get_mut(compartment).ok_or(Rejection::NoSuchCompartment)?;
                if !steward && state.creator != mine && *member != mine {
                    return Err(Rejection::NotASteward);
                }
                if !state.members.contains(member) {
                    return Err(Rejection::NoSuchMember);
                }
                if !cutoffs.iter().all(|(device, _)| theirs.contains(device)) {
                    return Err(Rejection::CutoffForOtherDevice);
                }
                if state.members.len() <= 1 {
                    return Err(Rejection::LastInCompartment);
                }
                state.members.remove(member);
                for (device, cutoff) in cutoffs {
                    let kept = state.cutoffs.entry(*device).or_insert(*cutoff);
                    *kept = (*kept).max(*cutoff);
                }
                Ok(())
            }
            Action::ShareCompartmentKeys { compartment, wraps } => {
                let mine = self.author_member(&author)?.to_owned();
                let devices = self.compartment_devices(compartment);
                let state = self.compartments.get(compartment).ok_or(Rejection::NoSuchCompartment)?;
                if !state.members.contains(&mine) {
                    return Err(Rejection::NotInCompartment);
                }
                if wraps.iter().any(|(_, device, _)| !devices.contains(device)) {
                    return Err(Rejection::WrappedToOutsider);
                }
                if wraps.iter().any(|(epoch, _, _)| !self.compartment_has_epoch(compartment, *epoch)) {
                    return Err(Rejection::NoSuchCompartment);
                }
                Ok(())
            }
            Action::RotateCompartmentKey { compartment, wraps, .. } => {
                let mine = self.author_member(&author)?.to_owned();
                let devices = self.compartment_devices(compartment);
                let state = self.compartments.get(compartment).ok_or(Rejection::NoSuchCompartment)?;
                if !state.members.contains(&mine) {
                    return Err(Rejection::NotInCompartment);
                }
                check_wraps(wraps, &devices)?;
                if let Some(state) = self.compartments.get_mut(compartment) {
                    state.epochs.push(Epoch { id: u32::MAX, op: None, wrapped_to: devices });
                }
                Ok(())
            }
        }
    }
}

/// A key is wrapped to exactly `devices`, once each.
fn check_wraps(wraps: &[(DeviceId, String)], devices: &BTreeSet<DeviceId>) -> Result<(), Rejection> {
    if wraps.iter().any(|(device, _)| !devices.contains(device)) {
        return Err(Rejection::WrappedToOutsider);
    }
    let wrapped: BTreeSet<&DeviceId> = wraps.iter().map(|(device, _)| device).collect();
    if wrapped.len() != wraps.len() || wrapped.len() != devices.len() {
        return Err(Rejection::IncompleteRotation);
    }
    Ok(())
}

/// 30 digits in six groups of five from a digest: six 40-bit slices, each reduced to five digits.
fn digits(digest: &[u8; 32]) -> String {
    let groups: Vec<String> = digest
        .chunks(5)
        .take(6)
        .map(|chunk| {
            let value = chunk.iter().fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
            format!("{:05}", value % 100_000)
        })
        .collect();
    groups.join(" ")
}
