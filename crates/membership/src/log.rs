//! The set of ops a device holds, and the deterministic replay that turns them into a [`State`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use sunspace_crypto::{DeviceId, DeviceKeys};
use sunspace_log::GroupId;

use crate::op::{group_id_for, Action, DeviceKey, Op, OpError, OpId, Role, SignedOp, Verification};
use crate::state::State;

/// Most ops a log accepts: a group of 40 people with a few devices each and years of role changes stays far below
/// it; the bound keeps a misbehaving member from growing every device's memory without limit.
const MAX_OPS: usize = 100_000;

/// An op was not taken into the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsertError {
    /// Its signature or encoding is invalid.
    #[error(transparent)]
    Invalid(#[from] OpError),
    /// It is about another group.
    #[error("membership op belongs to another group")]
    WrongGroup,
    /// The log is full.
    #[error("the membership log is full")]
    Full,
}

/// The membership ops of one group held on a device.
#[derive(Debug, Clone)]
pub struct Log {
    group: GroupId,
    ops: BTreeMap<OpId, (DeviceId, Op)>,
    signed: BTreeMap<OpId, SignedOp>,
}

impl Log {
    /// An empty log for `group`.
    pub fn new(group: GroupId) -> Self {
        Self { group, ops: BTreeMap::new(), signed: BTreeMap::new() }
    }

    /// Founds a group: a log holding the signed `Create` of `founder`, whose member record is `member`.
    pub fn found(founder: &DeviceKeys, member: &str, nonce: [u8; 16]) -> (Self, GroupId) {
        let group = group_id_for(&founder.device_id(), &nonce);
        let mut log = Self::new(group);
        let op = Op {
            group,
            deps: Vec::new(),
            action: Action::Create { member: member.into(), device: DeviceKey::of(founder), nonce },
        };
        // A freshly signed op by a key we hold always verifies.
        let _ = log.insert(SignedOp::sign(founder, &op));
        (log, group)
    }

    /// The group.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// Verifies and stores a signed op (a duplicate is accepted and changes nothing). Whether it is *applied* is
    /// decided by [`Log::state`].
    pub fn insert(&mut self, signed: SignedOp) -> Result<OpId, InsertError> {
        let op = signed.verify()?;
        if op.group != self.group {
            return Err(InsertError::WrongGroup);
        }
        let id = signed.id();
        if !self.ops.contains_key(&id) {
            if self.ops.len() >= MAX_OPS {
                return Err(InsertError::Full);
            }
            self.ops.insert(id, (signed.author(), op));
            self.signed.insert(id, signed);
        }
        Ok(id)
    }

    /// Every signed op held, for sending to peers.
    pub fn signed_ops(&self) -> impl Iterator<Item = &SignedOp> {
        self.signed.values()
    }

    /// The ops no held op depends on: what a new op should name as its deps.
    pub fn heads(&self) -> Vec<OpId> {
        let referenced: BTreeSet<OpId> = self.ops.values().flat_map(|(_, op)| op.deps.iter().copied()).collect();
        self.ops.keys().filter(|id| !referenced.contains(id)).copied().collect()
    }

    /// Makes, signs and inserts a new op by `keys` on top of the current heads.
    pub fn append(&mut self, keys: &DeviceKeys, action: Action) -> Result<OpId, InsertError> {
        let op = Op { group: self.group, deps: self.heads(), action };
        self.insert(SignedOp::sign(keys, &op))
    }

    /// Admits a member with their first device (the author must be a steward's device for it to apply).
    pub fn add_member(
        &mut self,
        keys: &DeviceKeys,
        member: &str,
        device: DeviceKey,
        verification: Verification,
    ) -> Result<OpId, InsertError> {
        self.append(keys, Action::AddMember { member: member.into(), device, verification })
    }

    /// Grants `role` to `member`.
    pub fn grant_role(&mut self, keys: &DeviceKeys, member: &str, role: Role) -> Result<OpId, InsertError> {
        self.append(keys, Action::GrantRole { member: member.into(), role })
    }

    /// Replays every op whose dependencies are all held, in causal order with ties broken by op id, applying the
    /// ones the rules allow. Deterministic: the same ops give the same state on every device.
    pub fn state(&self) -> State {
        let mut state = State::new(self.group);
        // Kahn's algorithm over the held ops; an op with a dependency we do not hold waits.
        let mut waiting_on: BTreeMap<OpId, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<OpId, Vec<OpId>> = BTreeMap::new();
        let mut ready: BinaryHeap<Reverse<OpId>> = BinaryHeap::new();
        for (id, (_, op)) in &self.ops {
            let deps: BTreeSet<OpId> = op.deps.iter().copied().collect();
            if deps.iter().any(|dep| !self.ops.contains_key(dep)) {
                state.pending += 1;
                continue;
            }
            waiting_on.insert(*id, deps.len());
            for dep in deps {
                dependents.entry(dep).or_default().push(*id);
            }
            if op.deps.is_empty() {
                ready.push(Reverse(*id));
            }
        }
        while let Some(Reverse(id)) = ready.pop() {
            let (author, op) = &self.ops[&id];
            if let Err(rejection) = state.apply(*author, op) {
                state.rejected.push((id, rejection));
            }
            for next in dependents.get(&id).into_iter().flatten() {
                if let Some(count) = waiting_on.get_mut(next) {
                    *count -= 1;
                    if *count == 0 {
                        ready.push(Reverse(*next));
                    }
                }
            }
        }
        // Ops downstream of a missing dependency never became ready.
        state.pending += waiting_on.values().filter(|count| **count > 0).count();
        state
    }
}
