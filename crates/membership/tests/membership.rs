//! The membership log's rules, and that every device computes the same membership from any delivery order.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use sunspace_crypto::DeviceKeys;
use sunspace_log::GroupId;
use sunspace_membership::{
    group_id_for, Action, DeviceKey, InsertError, Log, Method, Op, Rejection, Role, SignedOp, Verification,
};

fn verified_by(device: &DeviceKeys) -> Verification {
    Verification { method: Method::InPersonQr, verified_by: device.device_id(), at: 1_790_000_000 }
}

fn rejections(log: &Log) -> Vec<Rejection> {
    log.state().rejected.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn a_steward_admits_members_and_only_stewards_do() {
    let ana = DeviceKeys::generate();
    let sam = DeviceKeys::generate();
    let lee = DeviceKeys::generate();
    let (mut log, _) = Log::found(&ana, "ana", [1; 16]);
    log.add_member(&ana, "sam", DeviceKey::of(&sam), verified_by(&ana)).unwrap();
    // Sam is a member but not a steward: his admission of Lee does not apply.
    log.add_member(&sam, "lee", DeviceKey::of(&lee), verified_by(&sam)).unwrap();
    let state = log.state();
    assert!(state.is_active_device(&sam.device_id()));
    assert!(!state.is_active_device(&lee.device_id()));
    assert_eq!(rejections(&log), vec![Rejection::NotASteward]);
    assert_eq!(state.members["sam"].admitted_by, Some(ana.device_id()));
    assert_eq!(state.devices[&sam.device_id()].verification, Some(verified_by(&ana)));

    // Made a steward, Sam's later admission applies.
    log.grant_role(&ana, "sam", Role::Steward).unwrap();
    log.add_member(&sam, "lee", DeviceKey::of(&lee), verified_by(&sam)).unwrap();
    assert!(log.state().is_active_device(&lee.device_id()));
}

#[test]
fn a_member_links_only_their_own_devices() {
    let ana = DeviceKeys::generate();
    let sam = DeviceKeys::generate();
    let sams_phone = DeviceKeys::generate();
    let intruder = DeviceKeys::generate();
    let (mut log, _) = Log::found(&ana, "ana", [1; 16]);
    log.add_member(&ana, "sam", DeviceKey::of(&sam), verified_by(&ana)).unwrap();
    log.append(
        &sam,
        Action::LinkDevice {
            member: "sam".into(),
            device: DeviceKey::of(&sams_phone),
            verification: verified_by(&sam),
        },
    )
    .unwrap();
    log.append(
        &sam,
        Action::LinkDevice { member: "ana".into(), device: DeviceKey::of(&intruder), verification: verified_by(&sam) },
    )
    .unwrap();
    let state = log.state();
    assert_eq!(state.members["sam"].devices.len(), 2);
    assert!(!state.is_active_device(&intruder.device_id()));
    assert_eq!(rejections(&log), vec![Rejection::NotOwnMember]);
}

#[test]
fn a_member_links_only_so_many_devices_over_the_groups_life() {
    let ana = DeviceKeys::generate();
    let (mut log, _) = Log::found(&ana, "ana", [1; 16]);
    let mut linked = Vec::new();
    for _ in 0..sunspace_membership::MAX_DEVICES_PER_MEMBER + 3 {
        let device = DeviceKeys::generate();
        let op = log.append(
            &ana,
            Action::LinkDevice {
                member: "ana".into(),
                device: DeviceKey::of(&device),
                verification: verified_by(&ana),
            },
        );
        op.unwrap();
        linked.push(device);
    }
    let state = log.state();
    // The founding device counts: sixteen devices in all, the rest refused.
    assert_eq!(state.members["ana"].devices.len(), sunspace_membership::MAX_DEVICES_PER_MEMBER);
    assert!(rejections(&log).iter().all(|r| *r == Rejection::TooManyDevices));
    assert_eq!(rejections(&log).len(), 4);
}

#[test]
fn a_non_member_device_can_do_nothing() {
    let ana = DeviceKeys::generate();
    let stranger = DeviceKeys::generate();
    let (mut log, _) = Log::found(&ana, "ana", [1; 16]);
    log.add_member(&stranger, "stranger", DeviceKey::of(&stranger), verified_by(&stranger)).unwrap();
    log.grant_role(&stranger, "ana", Role::Steward).unwrap();
    assert_eq!(rejections(&log), vec![Rejection::NotAMemberDevice, Rejection::NotAMemberDevice]);
    assert_eq!(log.state().devices.len(), 1);
}

#[test]
fn nobody_else_can_found_an_existing_group() {
    let ana = DeviceKeys::generate();
    let mallory = DeviceKeys::generate();
    let (mut log, group) = Log::found(&ana, "ana", [1; 16]);
    // Mallory signs a Create for Ana's group id: the id is bound to Ana's device, so it is not the founding.
    let fake = Op {
        group,
        deps: Vec::new(),
        action: Action::Create { member: "mallory".into(), device: DeviceKey::of(&mallory), nonce: [1; 16] },
    };
    log.insert(SignedOp::sign(&mallory, &fake)).unwrap();
    let state = log.state();
    assert_eq!(state.devices.len(), 1);
    assert!(state.is_active_device(&ana.device_id()));
    assert_eq!(rejections(&log), vec![Rejection::NotTheFounding]);
    assert_eq!(group, group_id_for(&ana.device_id(), &[1; 16]));
}

#[test]
fn forged_tampered_and_foreign_ops_are_refused() {
    let ana = DeviceKeys::generate();
    let (mut log, group) = Log::found(&ana, "ana", [1; 16]);
    let op = Op { group, deps: log.heads(), action: Action::GrantRole { member: "ana".into(), role: Role::Steward } };
    let mut bytes = SignedOp::sign(&ana, &op).encode();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    assert!(matches!(log.insert(SignedOp::decode(&bytes).unwrap()), Err(InsertError::Invalid(_))));
    let foreign = Op { group: GroupId([9; 16]), ..op };
    assert_eq!(log.insert(SignedOp::sign(&ana, &foreign)), Err(InsertError::WrongGroup));
    assert!(SignedOp::decode(&[0; 10]).is_err());
}

#[test]
fn ops_whose_dependencies_are_missing_wait() {
    let ana = DeviceKeys::generate();
    let sam = DeviceKeys::generate();
    let (mut full, group) = Log::found(&ana, "ana", [1; 16]);
    full.add_member(&ana, "sam", DeviceKey::of(&sam), verified_by(&ana)).unwrap();
    full.grant_role(&ana, "sam", Role::Steward).unwrap();
    // A device that received only the grant (not the admission it depends on) applies neither yet.
    let mut partial = Log::new(group);
    for signed in full.signed_ops() {
        if matches!(signed.verify().unwrap().action, Action::Create { .. } | Action::GrantRole { .. }) {
            partial.insert(signed.clone()).unwrap();
        }
    }
    let state = partial.state();
    assert_eq!(state.pending, 1);
    assert!(!state.has_role("sam", Role::Steward));
    assert!(state.rejected.is_empty());
}

/// A random history: devices make ops on their own copy of the log and gossip ops between copies.
#[derive(Debug, Clone)]
enum Step {
    Admit(usize, usize),
    Link(usize, usize),
    Grant(usize, usize),
    Gossip(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0usize..6, 0usize..6).prop_map(|(a, b)| Step::Admit(a, b)),
        (0usize..6, 0usize..6).prop_map(|(a, b)| Step::Link(a, b)),
        (0usize..6, 0usize..6).prop_map(|(a, b)| Step::Grant(a, b)),
        (0usize..6, 0usize..6).prop_map(|(a, b)| Step::Gossip(a, b)),
    ]
}

fn member_of(index: usize) -> String {
    format!("member-{}", index / 2)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_delivery_order_gives_the_same_membership(
        steps in proptest::collection::vec(step(), 0..40),
        orders in proptest::collection::vec(any::<u64>(), 3),
    ) {
        // Six devices, two per member; device 0 founds the group.
        let devices: Vec<DeviceKeys> = (0..6).map(|_| DeviceKeys::generate()).collect();
        let (founded, group) = Log::found(&devices[0], &member_of(0), [3; 16]);
        let mut copies: Vec<Log> = (0..6).map(|_| founded.clone()).collect();
        for step in steps {
            match step {
                Step::Admit(author, who) => {
                    let v = verified_by(&devices[author]);
                    copies[author].add_member(&devices[author], &member_of(who), DeviceKey::of(&devices[who]), v).unwrap();
                }
                Step::Link(author, who) => {
                    let v = verified_by(&devices[author]);
                    let action = Action::LinkDevice { member: member_of(author), device: DeviceKey::of(&devices[who]), verification: v };
                    copies[author].append(&devices[author], action).unwrap();
                }
                Step::Grant(author, who) => {
                    copies[author].grant_role(&devices[author], &member_of(who), Role::Steward).unwrap();
                }
                Step::Gossip(from, to) => {
                    let ops: Vec<SignedOp> = copies[from].signed_ops().cloned().collect();
                    for op in ops {
                        copies[to].insert(op).unwrap();
                    }
                }
            }
        }
        let all: Vec<SignedOp> = copies.iter().flat_map(|log| log.signed_ops().cloned()).collect();
        let mut states = Vec::new();
        for seed in orders {
            // A permutation from the seed (Fisher–Yates with a small xorshift).
            let mut order = all.clone();
            let mut x = seed | 1;
            for i in (1..order.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut log = Log::new(group);
            for op in order {
                log.insert(op).unwrap();
            }
            states.push(log.state());
        }
        for state in &states[1..] {
            prop_assert_eq!(state, &states[0]);
        }
        // Invariants: the founder is a steward; every device's member exists and lists it; every admitted member
        // was admitted by a device of the group.
        let state = &states[0];
        prop_assert!(state.has_role(&member_of(0), Role::Steward));
        prop_assert_eq!(state.pending, 0);
        for (device, info) in &state.devices {
            prop_assert!(state.members[&info.member].devices.contains(device));
        }
        for member in state.members.values() {
            if let Some(admitter) = member.admitted_by {
                prop_assert!(state.devices.contains_key(&admitter));
            }
        }
    }
}
