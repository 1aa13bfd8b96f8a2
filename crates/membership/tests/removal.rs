//! Removal, revocation and key rotation: the rules for concurrent and conflicting operations, the safety number,
//! and that every device computes the same membership from any delivery order.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use sunspace_crypto::{DeviceId, DeviceKeys};
use sunspace_membership::{Action, DeviceKey, KeyWraps, Log, Method, Rejection, Role, SignedOp, Verification};

fn verified_by(device: &DeviceKeys) -> Verification {
    Verification { method: Method::InPersonCode, verified_by: device.device_id(), at: 1_790_000_000 }
}

fn remove(member: &str, devices: &[&DeviceKeys], cutoff: u64) -> Action {
    Action::RemoveMember {
        member: member.into(),
        reason: "suspected of passing minutes to management".into(),
        cutoffs: devices.iter().map(|d| (d.device_id(), cutoff)).collect(),
    }
}

fn rotate(to: &[&DeviceKeys]) -> Action {
    Action::RotateKey {
        wraps: KeyWraps::Each(to.iter().map(|d| (d.device_id(), "00".into())).collect()),
        commitment: [0; 32],
    }
}

/// A group founded by Ana with Sam (steward) and Lee (member).
fn group() -> (Log, DeviceKeys, DeviceKeys, DeviceKeys) {
    let (ana, sam, lee) = (DeviceKeys::generate(), DeviceKeys::generate(), DeviceKeys::generate());
    let (mut log, _) = Log::found(&ana, "ana", [1; 16]);
    log.add_member(&ana, "sam", DeviceKey::of(&sam), verified_by(&ana)).unwrap();
    log.grant_role(&ana, "sam", Role::Steward).unwrap();
    log.add_member(&ana, "lee", DeviceKey::of(&lee), verified_by(&ana)).unwrap();
    (log, ana, sam, lee)
}

/// A copy of `log` holding the same ops (a second device's view).
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

#[test]
fn a_removed_member_loses_their_devices_and_the_key_must_rotate_before_anyone_writes() {
    let (mut log, ana, sam, lee) = group();
    assert_eq!(log.state().writable_epoch, Some(0));
    log.append(&ana, remove("lee", &[&lee], 7)).unwrap();
    let state = log.state();
    assert!(!state.is_active_device(&lee.device_id()));
    assert!(!state.members.contains_key("lee"));
    assert_eq!(state.cutoff(&lee.device_id()), Some(7));
    assert_eq!(state.writable_epoch, None, "the founding key was Lee's too: nobody may write with it");

    let rotation = log.append(&sam, rotate(&[&ana, &sam])).unwrap();
    let state = log.state();
    let epoch = sunspace_membership::epoch_id(&rotation);
    assert_eq!(state.writable_epoch, Some(epoch));
    let generation = state.epochs.iter().find(|e| e.id == epoch).unwrap();
    assert!(!generation.wrapped_to.contains(&lee.device_id()));

    // A rotation that wraps the key to the removed device is refused, and Lee cannot come back as Lee.
    log.append(&ana, rotate(&[&ana, &sam, &lee])).unwrap();
    log.add_member(&ana, "lee", DeviceKey::of(&lee), verified_by(&ana)).unwrap();
    let rejected: Vec<Rejection> = log.state().rejected.into_iter().map(|(_, r)| r).collect();
    assert_eq!(rejected, vec![Rejection::WrappedToOutsider, Rejection::WasRemoved]);
    assert_eq!(log.state().writable_epoch, Some(epoch));
}

#[test]
fn of_two_stewards_removing_each_other_at_once_the_senior_one_stays() {
    let (log, ana, sam, _) = group();
    let (mut at_ana, mut at_sam) = (fork(&log), fork(&log));
    at_ana.append(&ana, remove("sam", &[&sam], 3)).unwrap();
    at_sam.append(&sam, remove("ana", &[&ana], 3)).unwrap();
    merge(&mut at_ana, &at_sam);
    merge(&mut at_sam, &at_ana);
    let (a, s) = (at_ana.state(), at_sam.state());
    assert_eq!(a, s);
    assert!(a.is_active_device(&ana.device_id()), "Ana founded the group: she is the senior steward");
    assert!(!a.is_active_device(&sam.device_id()));
    assert!(a.rejected.iter().any(|(_, r)| *r == Rejection::ConcurrentWithRemoval));
}

#[test]
fn an_admission_or_rotation_made_while_being_removed_does_not_survive_the_removal() {
    let (log, ana, sam, lee) = group();
    let accomplice = DeviceKeys::generate();
    let (mut at_ana, mut at_sam) = (fork(&log), fork(&log));
    at_ana.append(&ana, remove("sam", &[&sam], 0)).unwrap();
    at_sam.add_member(&sam, "accomplice", DeviceKey::of(&accomplice), verified_by(&sam)).unwrap();
    at_sam.append(&sam, rotate(&[&ana, &sam, &lee, &accomplice])).unwrap();
    merge(&mut at_ana, &at_sam);
    let state = at_ana.state();
    assert!(!state.is_active_device(&accomplice.device_id()));
    assert!(!state.is_active_device(&sam.device_id()));
    assert_eq!(state.writable_epoch, None, "Sam's rotation is discarded; a remaining device must rotate");
    assert_eq!(state.epochs.len(), 1);
}

#[test]
fn concurrent_removals_of_one_device_keep_the_highest_cutoff() {
    let (log, ana, sam, lee) = group();
    let (mut at_ana, mut at_sam) = (fork(&log), fork(&log));
    at_ana.append(&ana, remove("lee", &[&lee], 4)).unwrap();
    at_sam.append(&sam, remove("lee", &[&lee], 9)).unwrap();
    merge(&mut at_ana, &at_sam);
    assert_eq!(at_ana.state().cutoff(&lee.device_id()), Some(9));
}

#[test]
fn a_member_revokes_their_own_device_and_only_a_steward_revokes_someone_elses() {
    let (mut log, ana, _, lee) = group();
    let lees_phone = DeviceKeys::generate();
    log.append(
        &lee,
        Action::LinkDevice {
            member: "lee".into(),
            device: DeviceKey::of(&lees_phone),
            verification: verified_by(&lee),
        },
    )
    .unwrap();
    log.append(&lees_phone, Action::RevokeDevice { device: ana.device_id(), cutoff: 0 }).unwrap();
    log.append(&lee, Action::RevokeDevice { device: lees_phone.device_id(), cutoff: 2 }).unwrap();
    let state = log.state();
    assert!(state.is_active_device(&ana.device_id()));
    assert!(!state.is_active_device(&lees_phone.device_id()));
    assert!(state.is_active_device(&lee.device_id()));
    assert_eq!(state.rejected.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(), vec![Rejection::NotASteward]);
}

#[test]
fn the_safety_number_is_the_same_exactly_when_the_membership_is() {
    let (log, ana, _, lee) = group();
    let number = log.state().safety_number();
    assert_eq!(number.len(), 6 * 5 + 5);
    assert!(number.split(' ').all(|g| g.len() == 5 && g.chars().all(|c| c.is_ascii_digit())));
    assert_eq!(fork(&log).state().safety_number(), number);
    let mut changed = fork(&log);
    changed.append(&ana, remove("lee", &[&lee], 0)).unwrap();
    assert_ne!(changed.state().safety_number(), number);
}

/// A step of a random history: which replica acts, and how.
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

    /// Four devices act on their own views of the membership (admissions, grants, removals, revocations,
    /// rotations, some concurrent), syncing now and then. Whatever order the union of their ops is delivered
    /// in, every device computes the same membership and safety number; and the key to write with was never
    /// wrapped to a removed device.
    #[test]
    fn every_delivery_order_gives_the_same_membership(steps in proptest::collection::vec(step(), 1..40), seed in any::<u64>()) {
        let founder = DeviceKeys::generate();
        let (base, _) = Log::found(&founder, "m0", [9; 16]);
        let mut keys: Vec<(String, DeviceKeys)> = vec![("m0".into(), founder)];
        for n in 1..4 {
            keys.push((format!("m{n}"), DeviceKeys::generate()));
        }
        let mut replicas: Vec<Log> = (0..4).map(|_| fork(&base)).collect();
        // The founder admits the three others as stewards, so any of them can act.
        for n in 1..4 {
            let (founder_keys, others) = keys.split_at(1);
            replicas[0].add_member(&founder_keys[0].1, &others[n - 1].0, DeviceKey::of(&others[n - 1].1), verified_by(&founder_keys[0].1)).unwrap();
            replicas[0].grant_role(&founder_keys[0].1, &others[n - 1].0, Role::Steward).unwrap();
        }
        let admitted = fork(&replicas[0]);
        for replica in replicas.iter_mut() {
            merge(replica, &admitted);
        }
        let mut extra: Vec<DeviceKeys> = Vec::new();
        for step in steps {
            match step {
                Step::Sync { from, to } => {
                    let source = fork(&replicas[from]);
                    merge(&mut replicas[to], &source);
                }
                Step::Act { replica, choice, target } => {
                    let author = &keys[replica].1;
                    let view = replicas[replica].state();
                    let active: Vec<DeviceId> = view.devices.keys().copied().collect();
                    let action = match choice % 5 {
                        0 => {
                            extra.push(DeviceKeys::generate());
                            let device = extra.last().unwrap();
                            Action::AddMember { member: format!("x{}", extra.len()), device: DeviceKey::of(device), verification: verified_by(author) }
                        }
                        1 => {
                            let member = &keys[target % 4].0;
                            let devices = view.members.get(member).map(|m| m.devices.iter().map(|d| (*d, target as u64)).collect()).unwrap_or_default();
                            Action::RemoveMember { member: member.clone(), reason: String::new(), cutoffs: devices }
                        }
                        2 if !active.is_empty() => Action::RevokeDevice { device: active[target % active.len()], cutoff: target as u64 },
                        3 => Action::RotateKey {
                            wraps: KeyWraps::Each(active.iter().map(|d| (*d, "00".into())).collect()),
                            commitment: [0; 32],
                        },
                        _ => Action::GrantRole { member: keys[target % 4].0.clone(), role: Role::Steward },
                    };
                    let _ = replicas[replica].append(author, action);
                }
            }
        }
        let mut all: Vec<SignedOp> = Vec::new();
        for replica in &replicas {
            all.extend(replica.signed_ops().cloned());
        }
        let mut orders = vec![all.clone(), all.iter().rev().cloned().collect::<Vec<_>>()];
        let mut shuffled = all.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        orders.push(shuffled);
        let states: Vec<_> = orders.iter().map(|ops| {
            let mut log = Log::new(base.group());
            for op in ops {
                log.insert(op.clone()).unwrap();
            }
            log.state()
        }).collect();
        for state in &states[1..] {
            prop_assert_eq!(&state.members, &states[0].members);
            prop_assert_eq!(&state.removed, &states[0].removed);
            prop_assert_eq!(state.writable_epoch, states[0].writable_epoch);
            prop_assert_eq!(state.safety_number(), states[0].safety_number());
        }
        let state = &states[0];
        if let Some(epoch) = state.writable_epoch {
            if state.removed.is_empty() {
                prop_assert_eq!(Some(epoch), state.epochs.last().map(|e| e.id), "without removals the newest key is written with");
            } else {
                prop_assert_ne!(epoch, 0, "the founding key is never writable after a removal");
                let generation = state.epochs.iter().find(|e| e.id == epoch).unwrap();
                for removed in state.removed.keys() {
                    prop_assert!(!generation.wrapped_to.contains(removed), "the writable key was wrapped to a removed device");
                }
            }
        }
    }
}

#[test]
fn a_removal_naming_someone_elses_device_in_its_cut_offs_is_refused() {
    // A steward's removal of Lee that also lists Ana's device would make Ana's concurrent operations count as
    // made by a removed device (rule 4), and raise cut-offs it has no business with.
    let (mut log, ana, sam, lee) = group();
    log.append(&sam, remove("lee", &[&lee, &ana], 3)).unwrap();
    let state = log.state();
    assert!(state.is_active_device(&lee.device_id()), "the removal must not apply");
    assert!(state.rejected.iter().any(|(_, r)| *r == Rejection::CutoffForOtherDevice), "{:?}", state.rejected);
}

#[test]
fn the_last_steward_cannot_be_removed_or_stop_being_one() {
    let (mut log, ana, sam, _lee) = group();
    // Sam's only device is revoked: Sam is still a steward on paper, but cannot act.
    log.append(&ana, Action::RevokeDevice { device: sam.device_id(), cutoff: 0 }).unwrap();
    log.append(&ana, Action::EndRole { member: "ana".into(), role: Role::Steward }).unwrap();
    let state = log.state();
    assert!(state.has_role("ana", Role::Steward), "{:?}", state.rejected);
    assert!(state.rejected.iter().any(|(_, r)| *r == Rejection::LastSteward));
    log.append(&ana, remove("ana", &[&ana], 0)).unwrap();
    assert!(log.state().is_active_device(&ana.device_id()));
}

fn end_steward(member: &str) -> Action {
    Action::EndRole { member: member.into(), role: Role::Steward }
}

#[test]
fn a_steward_whose_role_is_ended_cannot_use_it_concurrently_with_the_ending() {
    let (log, ana, sam, lee) = group();
    let accomplice = DeviceKeys::generate();
    let (mut at_ana, mut at_sam) = (fork(&log), fork(&log));
    at_ana.append(&ana, end_steward("sam")).unwrap();
    // Meanwhile, on his own device, Sam admits an accomplice, makes Lee a steward and revokes Ana's device.
    at_sam.add_member(&sam, "accomplice", DeviceKey::of(&accomplice), verified_by(&sam)).unwrap();
    at_sam.grant_role(&sam, "lee", Role::Steward).unwrap();
    at_sam.append(&sam, Action::RevokeDevice { device: ana.device_id(), cutoff: 0 }).unwrap();
    merge(&mut at_ana, &at_sam);
    merge(&mut at_sam, &at_ana);
    let (a, s) = (at_ana.state(), at_sam.state());
    assert_eq!(a, s);
    assert!(!a.is_active_device(&accomplice.device_id()), "an admission by an ended steward survived");
    assert!(!a.members["lee"].roles.contains(&Role::Steward), "a grant by an ended steward survived");
    assert!(a.is_active_device(&ana.device_id()), "a revocation by an ended steward survived");
    assert!(!a.members["sam"].roles.contains(&Role::Steward));
    assert!(a.is_active_device(&sam.device_id()), "ending a role is not a removal: Sam stays a member");
    let discarded = a.rejected.iter().filter(|(_, r)| *r == Rejection::ConcurrentWithRemoval).count();
    assert_eq!(discarded, 3);
    let _ = lee;
}

#[test]
fn an_ended_steward_may_still_revoke_their_own_lost_phone_concurrently() {
    let (mut log, ana, sam, _) = group();
    let phone = DeviceKeys::generate();
    log.append(
        &sam,
        Action::LinkDevice { member: "sam".into(), device: DeviceKey::of(&phone), verification: verified_by(&sam) },
    )
    .unwrap();
    let (mut at_ana, mut at_sam) = (fork(&log), fork(&log));
    at_ana.append(&ana, end_steward("sam")).unwrap();
    at_sam.append(&sam, Action::RevokeDevice { device: phone.device_id(), cutoff: 0 }).unwrap();
    merge(&mut at_ana, &at_sam);
    assert!(!at_ana.state().is_active_device(&phone.device_id()));
}

#[test]
fn of_two_stewards_ending_each_others_role_at_once_the_senior_one_keeps_it() {
    let (log, ana, sam, _) = group();
    let (mut at_ana, mut at_sam) = (fork(&log), fork(&log));
    at_ana.append(&ana, end_steward("sam")).unwrap();
    at_sam.append(&sam, end_steward("ana")).unwrap();
    merge(&mut at_ana, &at_sam);
    merge(&mut at_sam, &at_ana);
    let (a, s) = (at_ana.state(), at_sam.state());
    assert_eq!(a, s);
    assert!(a.members["ana"].roles.contains(&Role::Steward), "Ana founded the group: she is the senior steward");
    assert!(!a.members["sam"].roles.contains(&Role::Steward));
}

#[test]
fn an_ended_steward_cannot_act_through_a_device_linked_at_the_same_time() {
    let (log, ana, sam, _) = group();
    let (laptop, accomplice) = (DeviceKeys::generate(), DeviceKeys::generate());
    let (mut at_ana, mut at_sam) = (fork(&log), fork(&log));
    at_ana.append(&ana, end_steward("sam")).unwrap();
    // Sam links a laptop and, from it, admits an accomplice: both concurrent with the ending.
    at_sam
        .append(
            &sam,
            Action::LinkDevice {
                member: "sam".into(),
                device: DeviceKey::of(&laptop),
                verification: verified_by(&sam),
            },
        )
        .unwrap();
    at_sam.add_member(&laptop, "accomplice", DeviceKey::of(&accomplice), verified_by(&laptop)).unwrap();
    merge(&mut at_ana, &at_sam);
    merge(&mut at_sam, &at_ana);
    let (a, s) = (at_ana.state(), at_sam.state());
    assert_eq!(a, s);
    assert!(a.is_active_device(&laptop.device_id()), "linking one's own device needs no steward");
    assert!(!a.is_active_device(&accomplice.device_id()), "an admission through the new laptop survived");
}
