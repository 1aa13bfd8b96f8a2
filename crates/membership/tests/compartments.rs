//! Compartments: who may create one, add to it and take someone out of it; that its key must rotate after a
//! removal touching it; and that every device computes the same compartments from any delivery order, with
//! removals from the group and from the compartment made concurrently.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use sunspace_crypto::{DeviceId, DeviceKeys};
use sunspace_log::GroupId;
use sunspace_membership::{
    compartment_id_for, Action, DeviceKey, Log, Method, Rejection, Role, SignedOp, State, Verification,
};

fn verified_by(device: &DeviceKeys) -> Verification {
    Verification { method: Method::InPersonCode, verified_by: device.device_id(), at: 1_790_000_000 }
}

fn fork(log: &Log) -> Log {
    let mut copy = Log::new(log.group());
    for op in log.signed_ops() {
        copy.insert(op.clone()).unwrap();
    }
    copy
}

fn merge(into: &mut Log, from: &Log) {
    for op in from.signed_ops() {
        into.insert(op.clone()).unwrap();
    }
}

fn wraps_to(devices: &BTreeSet<DeviceId>) -> Vec<(DeviceId, String)> {
    devices.iter().map(|d| (*d, "00".into())).collect()
}

fn devices_of(state: &State, members: &[&str]) -> BTreeSet<DeviceId> {
    members.iter().filter_map(|m| state.members.get(*m)).flat_map(|m| m.devices.iter().copied()).collect()
}

fn create(state: &State, nonce: u8, name: &str, members: &[&str]) -> Action {
    Action::CreateCompartment {
        nonce: [nonce; 16],
        name: name.into(),
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        wraps: wraps_to(&devices_of(state, members)),
        commitment: [0; 32],
    }
}

fn add(state: &State, compartment: GroupId, member: &str) -> Action {
    let epochs: Vec<u32> = state.compartments[&compartment].epochs.iter().map(|e| e.id).collect();
    let devices = devices_of(state, &[member]);
    Action::AddToCompartment {
        compartment,
        member: member.into(),
        wraps: epochs.iter().flat_map(|e| devices.iter().map(move |d| (*e, *d, "00".to_owned()))).collect(),
    }
}

fn rotate(state: &State, compartment: GroupId) -> Action {
    Action::RotateCompartmentKey {
        compartment,
        wraps: wraps_to(&state.compartment_devices(&compartment)),
        commitment: [0; 32],
    }
}

fn rejection_of(log: &Log, op: sunspace_membership::OpId) -> Option<Rejection> {
    log.state().rejected.into_iter().find(|(id, _)| *id == op).map(|(_, r)| r)
}

/// Ana (steward, founder), Sam (steward), Lee and Kim (members).
fn group() -> (Log, DeviceKeys, DeviceKeys, DeviceKeys, DeviceKeys) {
    let (ana, sam, lee, kim) =
        (DeviceKeys::generate(), DeviceKeys::generate(), DeviceKeys::generate(), DeviceKeys::generate());
    let (mut log, _) = Log::found(&ana, "ana", [1; 16]);
    log.add_member(&ana, "sam", DeviceKey::of(&sam), verified_by(&ana)).unwrap();
    log.grant_role(&ana, "sam", Role::Steward).unwrap();
    log.add_member(&ana, "lee", DeviceKey::of(&lee), verified_by(&ana)).unwrap();
    log.add_member(&ana, "kim", DeviceKey::of(&kim), verified_by(&ana)).unwrap();
    (log, ana, sam, lee, kim)
}

#[test]
fn any_member_keeps_an_only_me_compartment_and_only_a_steward_makes_one_for_others() {
    let (mut log, ana, _sam, lee, _kim) = group();
    let state = log.state();
    let mine = log.append(&lee, create(&state, 1, "only me", &["lee"])).unwrap();
    assert_eq!(rejection_of(&log, mine), None);
    let theirs = log.append(&lee, create(&state, 2, "night shift", &["lee", "kim"])).unwrap();
    assert_eq!(rejection_of(&log, theirs), Some(Rejection::NotASteward));
    let team = log.append(&ana, create(&state, 3, "negotiation team", &["ana", "kim"])).unwrap();
    assert_eq!(rejection_of(&log, team), None);

    let state = log.state();
    let only_me = compartment_id_for(&log.group(), &lee.device_id(), &[1; 16]);
    let negotiation = compartment_id_for(&log.group(), &ana.device_id(), &[3; 16]);
    assert_eq!(state.compartments.len(), 2);
    assert_eq!(state.compartments[&only_me].members, BTreeSet::from(["lee".to_owned()]));
    assert_eq!(state.compartment_devices(&negotiation).len(), 2);
    let epoch = state.compartments[&only_me].writable_epoch.unwrap();
    assert_ne!(epoch, 0);
    assert!(state.compartment_has_epoch(&only_me, epoch));
    assert!(!state.compartment_has_epoch(&only_me, 0), "the founding key is the group's");
    assert_eq!(state.writable_epoch, Some(0), "a compartment does not touch the group's key");
}

#[test]
fn a_compartment_key_wrapped_to_an_outsider_or_missing_a_device_is_refused() {
    let (mut log, ana, _sam, lee, kim) = group();
    let state = log.state();
    let Action::CreateCompartment { nonce, name, members, mut wraps, commitment } =
        create(&state, 4, "team", &["ana", "lee"])
    else {
        unreachable!()
    };
    wraps.push((kim.device_id(), "00".into()));
    let leaky = Action::CreateCompartment { nonce, name: name.clone(), members: members.clone(), wraps, commitment };
    let op = log.append(&ana, leaky).unwrap();
    assert_eq!(rejection_of(&log, op), Some(Rejection::WrappedToOutsider));
    let short = Action::CreateCompartment {
        nonce: [5; 16],
        name,
        members,
        wraps: vec![(lee.device_id(), "00".into())],
        commitment,
    };
    let op = log.append(&ana, short).unwrap();
    assert_eq!(rejection_of(&log, op), Some(Rejection::IncompleteRotation));
    assert!(log.state().compartments.is_empty());
}

#[test]
fn adding_to_a_compartment_takes_one_of_its_members_and_gives_every_key_so_far() {
    let (mut log, ana, sam, lee, _kim) = group();
    let state = log.state();
    log.append(&ana, create(&state, 6, "team", &["ana", "lee"])).unwrap();
    let team = compartment_id_for(&log.group(), &ana.device_id(), &[6; 16]);
    let state = log.state();
    // Sam is a steward but not in it: he holds none of its keys.
    let outsider = log.append(&sam, add(&state, team, "kim")).unwrap();
    assert_eq!(rejection_of(&log, outsider), Some(Rejection::NotInCompartment));
    // Lee is in it, but neither a steward nor its creator.
    let member = log.append(&lee, add(&state, team, "kim")).unwrap();
    assert_eq!(rejection_of(&log, member), Some(Rejection::NotASteward));
    let Action::AddToCompartment { compartment, member, .. } = add(&state, team, "kim") else { unreachable!() };
    let empty = log.append(&ana, Action::AddToCompartment { compartment, member, wraps: Vec::new() }).unwrap();
    assert_eq!(rejection_of(&log, empty), Some(Rejection::IncompleteRotation));
    let ok = log.append(&ana, add(&state, team, "kim")).unwrap();
    assert_eq!(rejection_of(&log, ok), None);
    assert!(log.state().compartments[&team].members.contains("kim"));
    assert!(log.state().compartments[&team].writable_epoch.is_some(), "an addition needs no new key");
}

#[test]
fn taking_someone_out_of_a_compartment_needs_a_new_key_wrapped_to_the_rest() {
    let (mut log, ana, _sam, lee, kim) = group();
    let state = log.state();
    log.append(&ana, create(&state, 7, "team", &["ana", "lee", "kim"])).unwrap();
    let team = compartment_id_for(&log.group(), &ana.device_id(), &[7; 16]);
    let before = log.state().compartments[&team].writable_epoch;
    let out =
        Action::RemoveFromCompartment { compartment: team, member: "kim".into(), cutoffs: vec![(kim.device_id(), 3)] };
    log.append(&ana, out).unwrap();
    let state = log.state();
    assert_eq!(state.compartments[&team].writable_epoch, None, "nobody writes there with a key Kim holds");
    assert_eq!(state.compartments[&team].cutoffs.get(&kim.device_id()), Some(&3));
    assert!(state.is_active_device(&kim.device_id()), "Kim is still in the group");
    // Kim, no longer in it, cannot rotate its key (and so could not hand herself a new one).
    let by_kim = log.append(&kim, rotate(&state, team)).unwrap();
    assert_eq!(rejection_of(&log, by_kim), Some(Rejection::NotInCompartment));
    log.append(&lee, rotate(&state, team)).unwrap();
    let state = log.state();
    let writable = state.compartments[&team].writable_epoch.unwrap();
    assert_ne!(Some(writable), before);
    let generation = state.compartments[&team].epochs.iter().find(|e| e.id == writable).unwrap();
    assert!(!generation.wrapped_to.contains(&kim.device_id()));
    assert_eq!(state.writable_epoch, Some(0), "the group's key is not touched");
}

#[test]
fn removal_from_the_group_takes_a_member_out_of_every_compartment() {
    let (mut log, ana, _sam, lee, kim) = group();
    let state = log.state();
    log.append(&ana, create(&state, 8, "team", &["ana", "kim"])).unwrap();
    log.append(&lee, create(&state, 9, "only me", &["lee"])).unwrap();
    let team = compartment_id_for(&log.group(), &ana.device_id(), &[8; 16]);
    let only_me = compartment_id_for(&log.group(), &lee.device_id(), &[9; 16]);
    let removal =
        Action::RemoveMember { member: "kim".into(), reason: "left".into(), cutoffs: vec![(kim.device_id(), 0)] };
    log.append(&ana, removal).unwrap();
    let state = log.state();
    assert!(!state.compartments[&team].members.contains("kim"));
    assert_eq!(state.compartments[&team].writable_epoch, None);
    assert!(state.compartments[&only_me].writable_epoch.is_some(), "Kim never held Lee's own key");
}

#[test]
fn the_last_member_cannot_leave_a_compartment_and_a_member_may_leave_one() {
    let (mut log, ana, _sam, lee, _kim) = group();
    let state = log.state();
    log.append(&ana, create(&state, 10, "team", &["ana", "lee"])).unwrap();
    let team = compartment_id_for(&log.group(), &ana.device_id(), &[10; 16]);
    let leave = log
        .append(&lee, Action::RemoveFromCompartment { compartment: team, member: "lee".into(), cutoffs: vec![] })
        .unwrap();
    assert_eq!(rejection_of(&log, leave), None);
    let last = log
        .append(&ana, Action::RemoveFromCompartment { compartment: team, member: "ana".into(), cutoffs: vec![] })
        .unwrap();
    assert_eq!(rejection_of(&log, last), Some(Rejection::LastInCompartment));
}

#[test]
fn an_addition_made_while_being_taken_out_does_not_survive() {
    let (mut log, ana, _sam, lee, _kim) = group();
    let state = log.state();
    log.append(&ana, create(&state, 11, "team", &["ana", "lee"])).unwrap();
    let team = compartment_id_for(&log.group(), &ana.device_id(), &[11; 16]);
    // Lee becomes a steward, then, while Ana takes Lee out, Lee adds Kim.
    log.grant_role(&ana, "lee", Role::Steward).unwrap();
    let mut lees = fork(&log);
    let state = log.state();
    log.append(&ana, Action::RemoveFromCompartment { compartment: team, member: "lee".into(), cutoffs: vec![] })
        .unwrap();
    let sneaked = lees.append(&lee, add(&state, team, "kim")).unwrap();
    merge(&mut log, &lees);
    assert_eq!(rejection_of(&log, sneaked), Some(Rejection::ConcurrentWithRemoval));
    assert!(!log.state().compartments[&team].members.contains("kim"));
}

#[test]
fn a_compartments_safety_number_is_the_same_exactly_when_its_membership_is() {
    let (mut log, ana, _sam, _lee, _kim) = group();
    let state = log.state();
    log.append(&ana, create(&state, 12, "team", &["ana", "lee"])).unwrap();
    let team = compartment_id_for(&log.group(), &ana.device_id(), &[12; 16]);
    let copy = fork(&log);
    let number = log.state().compartment_safety_number(&team).unwrap();
    assert_eq!(copy.state().compartment_safety_number(&team).unwrap(), number);
    let state = log.state();
    log.append(&ana, add(&state, team, "kim")).unwrap();
    assert_ne!(log.state().compartment_safety_number(&team).unwrap(), number);
}

#[derive(Debug, Clone)]
enum Step {
    Act { replica: usize, choice: u8, target: usize },
    Sync { from: usize, to: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..4usize, any::<u8>(), 0..8usize).prop_map(|(replica, choice, target)| Step::Act { replica, choice, target }),
        1 => (0..4usize, 0..4usize).prop_map(|(from, to)| Step::Sync { from, to }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Four stewards' devices create compartments, add to them, take people out of them and out of the group,
    /// revoke devices and rotate keys on their own views, syncing now and then. Whatever order the union of their
    /// ops is delivered in, every device computes the same compartments and safety numbers; no compartment's
    /// writable key was wrapped to a device of someone taken out of it or out of the group; and nobody outside a
    /// compartment is in it.
    #[test]
    fn concurrent_removals_from_the_group_and_a_compartment_converge(
        steps in proptest::collection::vec(step(), 1..40),
        seed in any::<u64>(),
    ) {
        let founder = DeviceKeys::generate();
        let (base, _) = Log::found(&founder, "m0", [9; 16]);
        let mut keys: Vec<(String, DeviceKeys)> = vec![("m0".into(), founder)];
        for n in 1..4 {
            keys.push((format!("m{n}"), DeviceKeys::generate()));
        }
        let mut first = fork(&base);
        for n in 1..4 {
            first.add_member(&keys[0].1, &keys[n].0, DeviceKey::of(&keys[n].1), verified_by(&keys[0].1)).unwrap();
            first.grant_role(&keys[0].1, &keys[n].0, Role::Steward).unwrap();
        }
        // One compartment of everyone to start with, so the steps have something to work on.
        let state = first.state();
        first.append(&keys[0].1, create(&state, 0, "team", &["m0", "m1", "m2", "m3"])).unwrap();
        let mut replicas: Vec<Log> = (0..4).map(|_| fork(&first)).collect();
        let mut nonce = 1u8;
        for step in steps {
            match step {
                Step::Sync { from, to } => {
                    let source = fork(&replicas[from]);
                    merge(&mut replicas[to], &source);
                }
                Step::Act { replica, choice, target } => {
                    let author = &keys[replica].1;
                    let view = replicas[replica].state();
                    let compartments: Vec<GroupId> = view.compartments.keys().copied().collect();
                    let compartment = compartments[target % compartments.len()];
                    let member = keys[target % 4].0.clone();
                    let action = match choice % 6 {
                        0 => {
                            nonce = nonce.wrapping_add(1);
                            let mine = keys[replica].0.clone();
                            create(&view, nonce, "c", &[mine.as_str(), member.as_str()])
                        }
                        1 if view.compartments[&compartment].members.contains(&member) => Action::RemoveFromCompartment {
                            compartment,
                            member: member.clone(),
                            cutoffs: view.members.get(&member).map(|m| m.devices.iter().map(|d| (*d, target as u64)).collect()).unwrap_or_default(),
                        },
                        1 => add(&view, compartment, &member),
                        2 => Action::RemoveMember {
                            member: member.clone(),
                            reason: String::new(),
                            cutoffs: view.members.get(&member).map(|m| m.devices.iter().map(|d| (*d, 0)).collect()).unwrap_or_default(),
                        },
                        3 => rotate(&view, compartment),
                        4 => {
                            let extra = DeviceKeys::generate();
                            Action::LinkDevice { member: keys[replica].0.clone(), device: DeviceKey::of(&extra), verification: verified_by(author) }
                        }
                        _ => add(&view, compartment, &member),
                    };
                    let _ = replicas[replica].append(author, action);
                }
            }
        }
        let mut all: Vec<SignedOp> = Vec::new();
        for replica in &replicas {
            all.extend(replica.signed_ops().cloned());
        }
        let mut shuffled = all.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let orders = [all.clone(), all.iter().rev().cloned().collect::<Vec<_>>(), shuffled];
        let states: Vec<State> = orders.iter().map(|ops| {
            let mut log = Log::new(base.group());
            for op in ops {
                log.insert(op.clone()).unwrap();
            }
            log.state()
        }).collect();
        for state in &states[1..] {
            prop_assert_eq!(&state.compartments, &states[0].compartments);
            for id in states[0].compartments.keys() {
                prop_assert_eq!(state.compartment_safety_number(id), states[0].compartment_safety_number(id));
            }
        }
        let state = &states[0];
        for (id, compartment) in &state.compartments {
            for member in &compartment.members {
                prop_assert!(state.members.contains_key(member), "a removed member is still in a compartment");
            }
            let Some(epoch) = compartment.writable_epoch else { continue };
            let generation = compartment.epochs.iter().find(|e| e.id == epoch).unwrap();
            let outside: Vec<&DeviceId> = generation.wrapped_to.iter().filter(|d| !state.compartment_devices(id).contains(*d)).collect();
            for device in outside {
                // A device the writable key went to and that is no longer in the compartment must be one taken out
                // without a cut-off that matters: never a removed or revoked device, never a member taken out.
                prop_assert!(!state.removed.contains_key(device), "the writable key went to a removed device");
                let member = state.devices.get(device).map(|d| d.member.clone());
                prop_assert!(member.is_none_or(|m| compartment.members.contains(&m)), "the writable key went to someone taken out");
            }
        }
    }
}

#[test]
fn a_creator_is_in_what_they_create_and_creates_only_so_many() {
    let (mut log, ana, _sam, lee, _kim) = group();
    let state = log.state();
    let outside = log.append(&ana, create(&state, 40, "for others", &["lee", "kim"])).unwrap();
    assert_eq!(rejection_of(&log, outside), Some(Rejection::NotInCompartment), "its creator made its key");
    for n in 0..sunspace_membership::MAX_COMPARTMENTS_PER_MEMBER {
        let state = log.state();
        let op = log.append(&lee, create(&state, 100 + n as u8, "notes", &["lee"])).unwrap();
        assert_eq!(rejection_of(&log, op), None);
    }
    let state = log.state();
    let one_more = log.append(&lee, create(&state, 99, "notes", &["lee"])).unwrap();
    assert_eq!(rejection_of(&log, one_more), Some(Rejection::TooManyCompartments));
    let by_ana = log.append(&ana, create(&state, 98, "team", &["ana", "lee"])).unwrap();
    assert_eq!(rejection_of(&log, by_ana), None, "one member's share does not use up anyone else's");
}

#[test]
fn a_share_gives_keys_only_to_devices_of_the_compartment_and_only_from_a_member_of_it() {
    let (mut log, ana, sam, lee, _kim) = group();
    let state = log.state();
    log.append(&ana, create(&state, 41, "team", &["ana", "lee"])).unwrap();
    let team = compartment_id_for(&log.group(), &ana.device_id(), &[41; 16]);
    let state = log.state();
    let epoch = state.compartments[&team].epochs[0].id;
    let to = |device: &DeviceKeys| Action::ShareCompartmentKeys {
        compartment: team,
        wraps: vec![(epoch, device.device_id(), "00".into())],
    };
    let outsider = log.append(&ana, to(&sam)).unwrap();
    assert_eq!(rejection_of(&log, outsider), Some(Rejection::WrappedToOutsider));
    let not_in_it = log.append(&sam, to(&lee)).unwrap();
    assert_eq!(rejection_of(&log, not_in_it), Some(Rejection::NotInCompartment));
    let ok = log.append(&ana, to(&lee)).unwrap();
    assert_eq!(rejection_of(&log, ok), None);
}

#[test]
fn a_compartment_created_twice_under_one_id_is_void_and_cannot_be_rewritten_by_its_creator() {
    let (mut log, ana, _sam, _lee, _kim) = group();
    let base = fork(&log);
    let state = log.state();
    log.append(&ana, create(&state, 42, "team", &["ana", "lee"])).unwrap();
    let team = compartment_id_for(&log.group(), &ana.device_id(), &[42; 16]);
    assert!(log.state().compartments.contains_key(&team));
    // Later, from the same old place in the log, a second creation with the same nonce and other members.
    let mut twin = base;
    twin.append(&ana, create(&state, 42, "team", &["ana", "kim"])).unwrap();
    merge(&mut log, &twin);
    let state = log.state();
    assert!(!state.compartments.contains_key(&team), "neither creation stands");
    assert!(state.void_compartments.contains(&team));
}

#[test]
fn concurrent_creations_past_a_members_share_never_push_out_anyone_elses_compartment() {
    let (mut log, ana, _sam, lee, _kim) = group();
    let base = fork(&log);
    let state = log.state();
    // Lee signs many "only me" creations, all on the same old dependencies (concurrent with each other).
    let mut lees = Vec::new();
    for n in 0..30u8 {
        let mut one = fork(&base);
        one.append(&lee, create(&state, 150 + n, "notes", &["lee"])).unwrap();
        lees.push(one);
    }
    log.append(&ana, create(&state, 43, "team", &["ana", "kim"])).unwrap();
    for one in &lees {
        merge(&mut log, one);
    }
    let state = log.state();
    let team = compartment_id_for(&log.group(), &ana.device_id(), &[43; 16]);
    assert!(state.compartments.contains_key(&team), "Ana's compartment stands");
    let by_lee = state.compartments.values().filter(|c| c.creator == "lee").count();
    assert_eq!(by_lee, sunspace_membership::MAX_COMPARTMENTS_PER_MEMBER);
}
