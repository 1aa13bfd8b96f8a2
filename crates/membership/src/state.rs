//! The membership state and the rules that build it.

use std::collections::{BTreeMap, BTreeSet};

use sunspace_crypto::DeviceId;
use sunspace_log::GroupId;

use crate::op::{group_id_for, Action, DeviceKey, Op, OpId, Role, Verification};

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
}

impl State {
    pub(crate) fn new(group: GroupId) -> Self {
        Self { group, members: BTreeMap::new(), devices: BTreeMap::new(), rejected: Vec::new(), pending: 0 }
    }

    /// Whether `device` belongs to the group.
    pub fn is_active_device(&self, device: &DeviceId) -> bool {
        self.devices.contains_key(device)
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
                Ok(())
            }
            _ if !self.founded() => Err(Rejection::NotFounded),
            Action::AddMember { member, device, verification } => {
                self.require_steward(&author)?;
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
                if self.devices.contains_key(&device.id) {
                    return Err(Rejection::AlreadyDevice);
                }
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
        }
    }
}
