//! The set of ops a device holds, and the deterministic replay that turns them into a [`State`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use sunspace_crypto::{DeviceId, DeviceKeys};
use sunspace_log::GroupId;

use crate::op::{group_id_for, Action, DeviceKey, Op, OpError, OpId, Role, SignedOp, Verification};
use crate::state::State;

/// Most ops one device may author. A steward's device over ten years of a group of 40 people (admissions, links,
/// revocations, removals and the rotations after them) stays far below it; the bound is per author, so a member
/// who floods the log fills only their own share and blocks nobody else's operations.
pub const MAX_OPS_PER_AUTHOR: usize = 1_000;
/// Most ops a log holds in all: every device of a large group at its quota.
const MAX_OPS: usize = 200_000;

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
    /// The author has made as many ops as one device may.
    #[error("this device has made more membership operations than any device may ({MAX_OPS_PER_AUTHOR})")]
    AuthorFull,
}

/// What the replay decided about one op. It depends only on the op's causal past, which never changes once every
/// op it depends on is held, so it is computed once per op and kept.
#[derive(Debug, Clone)]
struct Judgement {
    valid: Result<(), crate::state::Rejection>,
    targets: Vec<DeviceId>,
}

/// The membership ops of one group held on a device.
#[derive(Debug, Clone)]
pub struct Log {
    group: GroupId,
    ops: BTreeMap<OpId, (DeviceId, Op)>,
    signed: BTreeMap<OpId, SignedOp>,
    /// Ops held per author, for the per-author quota.
    per_author: BTreeMap<DeviceId, usize>,
    /// Judgements already made (see [`Judgement`]): the replay judges only ops new since the last one.
    judged: Judged,
}

/// The judgements kept between replays, behind a lock so the log can be shared by reference across threads (the
/// replay runs on `&self`).
#[derive(Debug, Default)]
struct Judged(std::sync::Mutex<BTreeMap<OpId, Judgement>>);

impl Judged {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<OpId, Judgement>> {
        // A panic while holding the lock leaves judgements that are each whole: keep using them.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clone for Judged {
    fn clone(&self) -> Self {
        Self(std::sync::Mutex::new(self.lock().clone()))
    }
}

impl Log {
    /// An empty log for `group`.
    pub fn new(group: GroupId) -> Self {
        Self {
            group,
            ops: BTreeMap::new(),
            signed: BTreeMap::new(),
            per_author: BTreeMap::new(),
            judged: Default::default(),
        }
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
            let count = self.per_author.entry(signed.author()).or_insert(0);
            if *count >= MAX_OPS_PER_AUTHOR {
                return Err(InsertError::AuthorFull);
            }
            *count += 1;
            self.ops.insert(id, (signed.author(), op));
            self.signed.insert(id, signed);
        }
        Ok(id)
    }

    /// Whether the op is held with its whole causal past: only such ops take part in the replay or may be
    /// built on.
    pub fn is_complete(&self, id: &OpId) -> bool {
        self.complete().contains(id)
    }

    /// Held ops that wait for ops never received (made-up or not yet arrived dependencies), with their authors.
    pub fn incomplete(&self) -> Vec<(OpId, DeviceId)> {
        let complete = self.complete();
        self.ops.iter().filter(|(id, _)| !complete.contains(id)).map(|(id, (author, _))| (*id, *author)).collect()
    }

    fn complete(&self) -> BTreeSet<OpId> {
        self.causal_order().into_iter().collect()
    }

    /// The device that signed op `id`, if held.
    pub fn author_of(&self, id: &OpId) -> Option<DeviceId> {
        self.ops.get(id).map(|(author, _)| *author)
    }

    /// The op `id`, if held.
    pub fn op(&self, id: &OpId) -> Option<&Op> {
        self.ops.get(id).map(|(_, op)| op)
    }

    /// Every signed op held, for sending to peers.
    pub fn signed_ops(&self) -> impl Iterator<Item = &SignedOp> {
        self.signed.values()
    }

    /// The complete ops (held with their whole causal past) no complete op depends on: what a new op should name
    /// as its deps. An op whose dependencies never arrive is never a head, so no honest op is built on it and it
    /// blocks nothing but itself.
    pub fn heads(&self) -> Vec<OpId> {
        let complete = self.complete();
        let referenced: BTreeSet<OpId> = complete.iter().flat_map(|id| self.ops[id].1.deps.iter().copied()).collect();
        complete.into_iter().filter(|id| !referenced.contains(id)).collect()
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

    /// Computes who is in the group from the held ops. Deterministic: it depends only on the set of ops, so
    /// every device holding the same ops computes the same state, whatever order they arrived in.
    ///
    /// The rules (`docs/protocol.md`, "Membership rules"):
    /// 1. Ops are replayed in causal order, ties broken by op id; an op whose dependencies are not all held waits.
    /// 2. An op is *valid* if its author had the authority in the op's causal past (the state computed from the
    ///    ops it depends on, directly or not), not in whatever order ops happened to arrive.
    /// 3. A removal (of a member or a device) takes effect unless a more senior steward (admitted earlier in the
    ///    replay order) removed its author concurrently: of two stewards removing each other, the senior one stays.
    /// 4. Any other op made by a device concurrently with that device's effective removal is discarded: an
    ///    infiltrator's admission, grant or rotation made while being removed does not survive the removal. Ending
    ///    a member's steward role counts as a removal (in rules 3 and 4) for the ops that need the role.
    /// 5. Concurrent removals of the same device keep the highest cut-off.
    pub fn state(&self) -> State {
        let order = self.causal_order();
        let n = order.len();
        let position: BTreeMap<OpId, usize> = order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        // Ancestors of each op as a bitset over replay positions.
        let words = n.div_ceil(64);
        let mut ancestors: Vec<Vec<u64>> = Vec::with_capacity(n);
        for id in &order {
            let mut set = vec![0u64; words];
            for dep in &self.ops[id].1.deps {
                if let Some(&p) = position.get(dep) {
                    set[p / 64] |= 1 << (p % 64);
                    for (word, theirs) in set.iter_mut().zip(&ancestors[p]) {
                        *word |= theirs;
                    }
                }
            }
            ancestors.push(set);
        }
        let has = |set: &[u64], p: usize| set[p / 64] & (1 << (p % 64)) != 0;

        // Validity of each op, judged in its causal past (once per op: see `Judgement`).
        let mut valid = vec![false; n];
        let mut targets: Vec<Vec<DeviceId>> = vec![Vec::new(); n];
        let mut rejected = Vec::new();
        let mut judged = self.judged.lock();
        for i in 0..n {
            if let Some(judgement) = judged.get(&order[i]) {
                targets[i] = judgement.targets.clone();
                match &judgement.valid {
                    Ok(()) => valid[i] = true,
                    Err(rejection) => rejected.push((order[i], rejection.clone())),
                }
                continue;
            }
            let past = self.fold(&order, &valid, &ancestors, &targets, |p| has(&ancestors[i], p));
            let (author, op) = &self.ops[&order[i]];
            // What a removal removes is what its author saw: the member's devices in its causal past.
            targets[i] = match &op.action {
                Action::RemoveMember { member, cutoffs, .. } => {
                    let mut devices: Vec<DeviceId> =
                        past.members.get(member).map(|m| m.devices.iter().copied().collect()).unwrap_or_default();
                    devices.extend(cutoffs.iter().map(|(d, _)| *d));
                    devices
                }
                Action::RevokeDevice { device, .. } => vec![*device],
                // Ending a steward's role takes the authority from the devices the ender saw the member have;
                // taking someone out of a compartment, their say in it.
                Action::EndRole { member, role: Role::Steward } | Action::RemoveFromCompartment { member, .. } => {
                    past.members.get(member).map(|m| m.devices.iter().copied().collect()).unwrap_or_default()
                }
                _ => Vec::new(),
            };
            let mut probe = past;
            let verdict = probe.apply(*author, op);
            match &verdict {
                Ok(()) => valid[i] = true,
                Err(rejection) => rejected.push((order[i], rejection.clone())),
            }
            judged.insert(order[i], Judgement { valid: verdict, targets: targets[i].clone() });
        }
        drop(judged);
        let mut state = self.fold(&order, &valid, &ancestors, &targets, |_| true);
        // Ops discarded by rule 3 or 4 are reported too.
        let kept = self.kept(&order, &valid, &ancestors, &targets, &|_| true);
        for i in 0..n {
            if valid[i] && !kept[i] {
                rejected.push((order[i], crate::state::Rejection::ConcurrentWithRemoval));
            }
        }
        state.rejected = rejected;
        state.pending = self.ops.len() - n;
        // The writable key: the newest generation whose rotation knew of every effective removal.
        let removals: Vec<usize> = (0..n).filter(|&i| kept[i] && is_removal(&self.ops[&order[i]].1.action)).collect();
        state.writable_epoch = state
            .epochs
            .iter()
            .rev()
            .find(|epoch| match epoch.op.and_then(|op| position.get(&op)) {
                Some(&p) => removals.iter().all(|&r| has(&ancestors[p], r)),
                None => removals.is_empty(),
            })
            .map(|epoch| epoch.id);
        // A compartment's writable key: its newest generation whose rotation (or creation) knew of every standing
        // removal touching it: a member taken out of it, or removed from the group, or one of their devices
        // revoked, since they held its keys.
        let member_of = |device: &DeviceId| -> Option<String> {
            state
                .devices
                .get(device)
                .map(|d| d.member.clone())
                .or_else(|| state.removed.get(device).map(|r| r.member.clone()))
        };
        let mut writable = BTreeMap::new();
        for (compartment, c) in &state.compartments {
            let touching: Vec<usize> = (0..n)
                .filter(|&i| kept[i])
                .filter(|&i| match &self.ops[&order[i]].1.action {
                    Action::RemoveFromCompartment { compartment: of, .. } => of == compartment,
                    Action::RemoveMember { member, .. } => c.ever_members.contains(member),
                    Action::RevokeDevice { device, .. } => {
                        member_of(device).is_some_and(|m| c.ever_members.contains(&m))
                    }
                    _ => false,
                })
                .collect();
            // And, whatever the order of concurrent operations made of it, a key wrapped to a device no longer in
            // the compartment is never written with: the compartment rotates first.
            let inside = state.compartment_devices(compartment);
            let newest = c
                .epochs
                .iter()
                .rev()
                .find(|epoch| {
                    epoch
                        .op
                        .and_then(|op| position.get(&op))
                        .is_some_and(|&p| touching.iter().all(|&r| has(&ancestors[p], r)))
                        && epoch.wrapped_to.iter().all(|d| inside.contains(d))
                })
                .map(|epoch| epoch.id);
            writable.insert(*compartment, newest);
        }
        for (compartment, newest) in writable {
            if let Some(c) = state.compartments.get_mut(&compartment) {
                c.writable_epoch = newest;
            }
        }
        state
    }

    /// Held ops whose dependencies are all held (transitively), in causal order with ties broken by op id.
    fn causal_order(&self) -> Vec<OpId> {
        let mut waiting_on: BTreeMap<OpId, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<OpId, Vec<OpId>> = BTreeMap::new();
        let mut ready: BinaryHeap<Reverse<OpId>> = BinaryHeap::new();
        for (id, (_, op)) in &self.ops {
            let deps: BTreeSet<OpId> = op.deps.iter().copied().collect();
            if deps.iter().any(|dep| !self.ops.contains_key(dep)) {
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
        let mut order = Vec::new();
        while let Some(Reverse(id)) = ready.pop() {
            order.push(id);
            for next in dependents.get(&id).into_iter().flatten() {
                if let Some(count) = waiting_on.get_mut(next) {
                    *count -= 1;
                    if *count == 0 {
                        ready.push(Reverse(*next));
                    }
                }
            }
        }
        order
    }

    /// Which valid ops in the set `within` survive rules 3 and 4.
    fn kept(
        &self,
        order: &[OpId],
        valid: &[bool],
        ancestors: &[Vec<u64>],
        targets: &[Vec<DeviceId>],
        within: &dyn Fn(usize) -> bool,
    ) -> Vec<bool> {
        let n = order.len();
        let has = |set: &[u64], p: usize| set[p / 64] & (1 << (p % 64)) != 0;
        let concurrent = |a: usize, b: usize| a != b && !has(&ancestors[a], b) && !has(&ancestors[b], a);
        let members: Vec<&crate::op::Op> = order.iter().map(|id| &self.ops[id].1).collect();
        let authors: Vec<DeviceId> = order.iter().map(|id| self.ops[id].0).collect();
        let in_set: Vec<bool> = (0..n).map(|i| valid[i] && within(i)).collect();
        // Seniority: the replay position of the op that put a device in the group.
        let mut joined: BTreeMap<DeviceId, usize> = BTreeMap::new();
        for i in (0..n).filter(|&i| in_set[i]) {
            if let Action::Create { device, .. }
            | Action::AddMember { device, .. }
            | Action::LinkDevice { device, .. } = &members[i].action
            {
                joined.entry(device.id).or_insert(i);
            }
        }
        let seniority = |device: &DeviceId| joined.get(device).copied().unwrap_or(usize::MAX);
        // Whose each device is: a device belongs to one member for good, so this holds whatever the order.
        let mut member_of: BTreeMap<DeviceId, &str> = BTreeMap::new();
        for i in (0..n).filter(|&i| in_set[i]) {
            if let Action::Create { member, device, .. }
            | Action::AddMember { member, device, .. }
            | Action::LinkDevice { member, device, .. } = &members[i].action
            {
                member_of.entry(device.id).or_insert(member.as_str());
            }
        }
        // Whether `s` (a removal, or the ending of a steward role) reaches op `i`'s author and what `i` does: a
        // removal reaches the devices its author saw, and everything they do; the ending of a role reaches every
        // device of the member, also one linked concurrently, and only what needs the role.
        let reaches = |s: usize, i: usize| -> bool {
            match &members[s].action {
                Action::EndRole { member, role: Role::Steward } => {
                    let theirs = |device: &DeviceId| member_of.get(device).is_some_and(|m| *m == member.as_str());
                    theirs(&authors[i])
                        && match &members[i].action {
                            // Revoking one's own (lost) device needs no steward.
                            Action::RevokeDevice { device, .. } => !theirs(device),
                            other => needs_steward(other),
                        }
                }
                // Taken out of a compartment: what they did to it meanwhile, nothing else.
                Action::RemoveFromCompartment { compartment, .. } => {
                    targets[s].contains(&authors[i]) && members[i].action.compartment() == Some(*compartment)
                }
                _ => targets[s].contains(&authors[i]),
            }
        };
        // Rule 3, most senior authors first: a removal (or the ending of a steward's role) stands unless a standing
        // removal or ending of its author by a more senior device is concurrent with it.
        let mut removals: Vec<usize> = (0..n).filter(|&i| in_set[i] && takes_authority(&members[i].action)).collect();
        removals.sort_by_key(|&i| (seniority(&authors[i]), i));
        let mut standing: Vec<usize> = Vec::new();
        for &r in &removals {
            // An ending of a role overrules only what needed it: revoking one's own lost phone still stands.
            let overruled = standing
                .iter()
                .any(|&s| seniority(&authors[s]) < seniority(&authors[r]) && concurrent(s, r) && reaches(s, r));
            if !overruled {
                standing.push(r);
            }
        }
        // Rule 4: other ops concurrent with a standing removal of their author are discarded; so are the ops that
        // need a steward concurrent with the standing ending of their author's steward role.
        (0..n)
            .map(|i| {
                if !in_set[i] {
                    return false;
                }
                if takes_authority(&members[i].action) {
                    return standing.contains(&i);
                }
                !standing.iter().any(|&r| concurrent(r, i) && reaches(r, i))
            })
            .collect()
    }

    /// The state from the valid ops in the set `within`, after rules 3 and 4, in replay order.
    fn fold(
        &self,
        order: &[OpId],
        valid: &[bool],
        ancestors: &[Vec<u64>],
        targets: &[Vec<DeviceId>],
        within: impl Fn(usize) -> bool,
    ) -> State {
        let kept = self.kept(order, valid, ancestors, targets, &within);
        let mut state = State::new(self.group);
        // A compartment created twice under one id (its creator signed a second creation with the same nonce) is
        // void: which one stands cannot be decided without letting the creator rewrite who is in it.
        let mut creations: BTreeMap<GroupId, usize> = BTreeMap::new();
        for (i, id) in order.iter().enumerate() {
            if !within(i) {
                continue;
            }
            let (author, op) = &self.ops[id];
            if let Action::CreateCompartment { nonce, .. } = &op.action {
                *creations.entry(crate::op::compartment_id_for(&self.group, author, nonce)).or_insert(0) += 1;
            }
        }
        state.void_compartments = creations.into_iter().filter(|(_, n)| *n > 1).map(|(id, _)| id).collect();
        for (i, id) in order.iter().enumerate() {
            if !kept[i] {
                continue;
            }
            let (author, op) = &self.ops[id];
            state.fold_apply(*author, op);
            // Generations are named by four bytes of the rotation's id, each document (the group, each compartment)
            // numbering its own, since an entry's header names the document it is sealed for: a rotation ground to
            // collide with an earlier generation's number of the same document would have entries sealed under
            // another key by that number. It is left out.
            let number = epoch_id(id);
            let epochs = match &op.action {
                Action::RotateKey { .. } => Some(&mut state.epochs),
                Action::RotateCompartmentKey { compartment, .. } => {
                    state.compartments.get_mut(compartment).map(|c| &mut c.epochs)
                }
                Action::CreateCompartment { nonce, .. } => {
                    let compartment = crate::op::compartment_id_for(&self.group, author, nonce);
                    state.compartments.get_mut(&compartment).map(|c| &mut c.epochs)
                }
                _ => None,
            };
            if let Some(epochs) = epochs {
                let taken = epochs.iter().any(|e| e.id == number);
                if taken {
                    if epochs.last().is_some_and(|e| e.id == u32::MAX) {
                        epochs.pop();
                    }
                } else if let Some(epoch) = epochs.last_mut().filter(|e| e.id == u32::MAX) {
                    epoch.id = number;
                    epoch.op = Some(*id);
                }
            }
        }
        state
    }
}

fn is_removal(action: &Action) -> bool {
    matches!(action, Action::RemoveMember { .. } | Action::RevokeDevice { .. })
}

/// A removal, or the ending of a steward's role: what rules 3 and 4 order by seniority.
fn takes_authority(action: &Action) -> bool {
    is_removal(action)
        || matches!(action, Action::EndRole { role: Role::Steward, .. } | Action::RemoveFromCompartment { .. })
}

/// Whether `action` needs its author to be a steward (revoking a device needs one unless the device is the
/// author's member's own: the caller tells those apart).
fn needs_steward(action: &Action) -> bool {
    match action {
        Action::AddMember { .. }
        | Action::GrantRole { .. }
        | Action::EndRole { .. }
        | Action::RemoveMember { .. }
        | Action::RevokeDevice { .. } => true,
        // A compartment op needs a steward only sometimes (an "only me", a member leaving); the authority was
        // judged in its causal past, and the ending of a role does not reach it.
        Action::Create { .. }
        | Action::LinkDevice { .. }
        | Action::RotateKey { .. }
        | Action::CreateCompartment { .. }
        | Action::AddToCompartment { .. }
        | Action::RemoveFromCompartment { .. }
        | Action::ShareCompartmentKeys { .. }
        | Action::RotateCompartmentKey { .. } => false,
    }
}

/// The number entries use for the key made by rotation `op`: never 0, which is the founding key.
pub fn epoch_id(op: &OpId) -> u32 {
    u32::from_be_bytes([op.0[0], op.0[1], op.0[2], op.0[3]]).max(1)
}
