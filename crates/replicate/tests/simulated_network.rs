//! The sync policy the engine ships ([`SyncPolicy`]) over a simulated network that drops, duplicates, delays and
//! reorders messages: every replica ends with every member's log, byte for byte. Entries are real sealed, signed
//! entries; each replica does what the engine does with what the policy decides (`crates/node/src/engine.rs`,
//! `carry_out`), on a clock that advances with every step.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sunspace_crypto::{DeviceId, DeviceKeys, Secret32};
use sunspace_log::{Entry, EntryKind, GroupId, LogPosition};
use sunspace_replicate::{
    batches, check_entry, Message, Range, Rejection, SyncAction, SyncPolicy, Verdict, IN_FLIGHT_GRACE,
};

const GROUP: GroupId = GroupId([7; 16]);

struct Replica {
    keys: DeviceKeys,
    key: Secret32,
    members: BTreeSet<DeviceId>,
    /// Every replica's device, by index (the network addresses replicas by index).
    devices: Vec<DeviceId>,
    logs: BTreeMap<DeviceId, Vec<Vec<u8>>>,
    positions: BTreeMap<DeviceId, LogPosition>,
    policy: SyncPolicy,
    rejected: usize,
}

type Outbox = Vec<(usize, Message)>;

impl Replica {
    fn heads(&self) -> BTreeMap<DeviceId, u64> {
        self.logs.iter().map(|(author, log)| (*author, log.len() as u64)).collect()
    }

    fn hashes(&self) -> BTreeMap<DeviceId, [u8; 32]> {
        self.positions.iter().map(|(author, position)| (*author, position.next_header_fields().prev_hash)).collect()
    }

    fn index_of(&self, device: &DeviceId) -> usize {
        self.devices.iter().position(|d| d == device).unwrap()
    }

    fn read(&self, range: Range) -> Vec<Vec<u8>> {
        let log = &self.logs[&range.author];
        log[(range.first - 1) as usize..range.last as usize].to_vec()
    }

    fn heads_message(&self) -> Message {
        Message::Heads { group: GROUP, heads: self.heads(), hashes: self.hashes() }
    }

    /// What the engine's `carry_out` does.
    fn carry_out(&self, actions: Vec<SyncAction>, out: &mut Outbox) {
        for action in actions {
            match action {
                SyncAction::SendRanges { peer, ranges, .. } => {
                    let entries: Vec<Vec<u8>> = ranges.into_iter().flat_map(|r| self.read(r)).collect();
                    for batch in batches(entries) {
                        out.push((self.index_of(&peer), Message::Entries { group: GROUP, entries: batch }));
                    }
                }
                SyncAction::SendHeads { peer, .. } => out.push((self.index_of(&peer), self.heads_message())),
            }
        }
    }

    fn store(&mut self, entry: &Entry, bytes: Vec<u8>) {
        let author = entry.header().author;
        self.positions.entry(author).or_insert_with(LogPosition::start).accept(entry).unwrap();
        self.logs.entry(author).or_default().push(bytes);
    }

    fn write(&mut self, now: Instant, body: &[u8], out: &mut Outbox) {
        let author = self.keys.device_id();
        let link = self.positions.get(&author).copied().unwrap_or_else(LogPosition::start).next_header_fields();
        let entry = Entry::seal(&self.keys, EntryKind::Change, GROUP, link, 0, &self.key, body);
        self.store(&entry, entry.encode());
        let heads = self.heads();
        let actions = self.policy.on_local_heads(now, GROUP, &heads, None);
        self.carry_out(actions, out);
    }

    /// The anti-entropy timer: heads to every other replica.
    fn tick(&mut self, now: Instant, out: &mut Outbox) {
        for (index, peer) in self.devices.clone().into_iter().enumerate() {
            if peer != self.keys.device_id() {
                self.policy.note_heads_sent(peer, GROUP, now);
                out.push((index, self.heads_message()));
            }
        }
    }

    fn receive(&mut self, now: Instant, from: usize, bytes: &[u8], out: &mut Outbox) {
        let peer = self.devices[from];
        let message = Message::decode(bytes).unwrap();
        match message {
            Message::Heads { heads, hashes, .. } => {
                let (ours, our_hashes) = (self.heads(), self.hashes());
                let actions =
                    self.policy.on_heads(now, peer, GROUP, &heads, &hashes, &ours, &our_hashes, &BTreeSet::new());
                self.carry_out(actions, out);
            }
            Message::Entries { entries, .. } => {
                let mut accepted = Vec::new();
                let mut waiting = 0;
                for bytes in entries {
                    let entry = Entry::decode(&bytes).unwrap();
                    let author = entry.header().author;
                    let members = self.members.clone();
                    match check_entry(&entry, GROUP, self.positions.get(&author), |d| members.contains(d)) {
                        Verdict::Accept => {
                            assert!(entry.open(&self.key).is_ok());
                            accepted.push((author, entry.header().link.seq));
                            self.store(&entry, bytes);
                        }
                        Verdict::Duplicate => {}
                        Verdict::Gap { .. } => waiting += 1,
                        Verdict::Reject(_) => self.rejected += 1,
                    }
                }
                let then = self.policy.on_received(now, peer, GROUP, &accepted, waiting);
                if !accepted.is_empty() {
                    let heads = self.heads();
                    let pushed = self.policy.on_local_heads(now, GROUP, &heads, Some(peer));
                    self.carry_out(pushed, out);
                }
                self.carry_out(then, out);
            }
            // These replicas never compact their logs, so they never send one.
            Message::Checkpoint { .. } => panic!("a replica that keeps every entry sent a checkpoint"),
        }
    }
}

fn replicas(n: usize) -> Vec<Replica> {
    let key = Secret32::from_bytes([9; 32]);
    let keys: Vec<DeviceKeys> = (0..n).map(|_| DeviceKeys::generate()).collect();
    let devices: Vec<DeviceId> = keys.iter().map(DeviceKeys::device_id).collect();
    let members: BTreeSet<DeviceId> = devices.iter().copied().collect();
    keys.into_iter()
        .map(|keys| Replica {
            keys,
            key: key.clone(),
            members: members.clone(),
            devices: devices.clone(),
            logs: BTreeMap::new(),
            positions: BTreeMap::new(),
            policy: SyncPolicy::default(),
            rejected: 0,
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Step {
    Write(usize, u8),
    Tick(usize),
    Deliver(usize),
    Drop(usize),
    Duplicate(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(r, b)| Step::Write(r, b)),
        2 => any::<usize>().prop_map(Step::Tick),
        6 => any::<usize>().prop_map(Step::Deliver),
        1 => any::<usize>().prop_map(Step::Drop),
        1 => any::<usize>().prop_map(Step::Duplicate),
    ]
}

/// Messages in flight: (from, to, encoded), delivered in any order.
type Network = VecDeque<(usize, usize, Vec<u8>)>;

fn enqueue(network: &mut Network, from: usize, out: Outbox) {
    for (to, message) in out {
        network.push_back((from, to, message.encode()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn replicas_converge_over_a_lossy_reordering_network(n in 2usize..=4, steps in proptest::collection::vec(step(), 0..80)) {
        let mut replicas = replicas(n);
        let mut network = Network::new();
        let start = Instant::now();
        // Each step takes 100 ms of simulated time, so the policy's reply interval comes into play.
        let at = |step: usize| start + Duration::from_millis(100 * step as u64);
        let mut clock = 0;
        for step in steps {
            clock += 1;
            let now = at(clock);
            match step {
                Step::Write(r, body) => {
                    let mut out = Vec::new();
                    replicas[r % n].write(now, &[body], &mut out);
                    enqueue(&mut network, r % n, out);
                }
                Step::Tick(r) => {
                    let mut out = Vec::new();
                    replicas[r % n].tick(now, &mut out);
                    enqueue(&mut network, r % n, out);
                }
                Step::Deliver(i) if !network.is_empty() => {
                    let (from, to, bytes) = network.remove(i % network.len()).unwrap();
                    let mut out = Vec::new();
                    replicas[to].receive(now, from, &bytes, &mut out);
                    enqueue(&mut network, to, out);
                }
                Step::Drop(i) if !network.is_empty() => {
                    network.remove(i % network.len());
                }
                Step::Duplicate(i) if !network.is_empty() => {
                    let copy = network[i % network.len()].clone();
                    network.push_back(copy);
                }
                _ => {}
            }
        }
        // The network heals: every replica announces its heads, and everything is delivered. Rounds are further
        // apart than the grace for entries in flight, so that what was lost is sent again.
        let round_steps = (IN_FLIGHT_GRACE.as_millis() / 100) as usize + 10;
        for _round in 0..6 {
            clock += round_steps;
            for (r, replica) in replicas.iter_mut().enumerate() {
                let mut out = Vec::new();
                replica.tick(at(clock), &mut out);
                enqueue(&mut network, r, out);
            }
            let mut delivered = 0;
            while let Some((from, to, bytes)) = network.pop_front() {
                clock += 1;
                let mut out = Vec::new();
                replicas[to].receive(at(clock), from, &bytes, &mut out);
                enqueue(&mut network, to, out);
                delivered += 1;
                prop_assert!(delivered < 100_000, "the protocol does not settle");
            }
        }
        let first = &replicas[0].logs;
        for replica in &replicas {
            prop_assert_eq!(&replica.logs, first);
            prop_assert_eq!(replica.rejected, 0);
        }
        // Every author's log, everywhere, is exactly what the author wrote.
        for replica in &replicas {
            let own = replica.keys.device_id();
            prop_assert_eq!(first.get(&own), replica.logs.get(&own));
        }
    }
}

fn entry_by(keys: &DeviceKeys, seq: u64, prev: [u8; 32], key: &Secret32) -> Entry {
    Entry::seal(keys, EntryKind::Change, GROUP, sunspace_log::ChainLink { seq, prev_hash: prev }, 0, key, b"body")
}

#[test]
fn entries_from_non_members_are_rejected() {
    let member = DeviceKeys::generate();
    let stranger = DeviceKeys::generate();
    let key = Secret32::random();
    let entry = entry_by(&stranger, 1, [0; 32], &key);
    let admitted = |d: &DeviceId| *d == member.device_id();
    assert_eq!(check_entry(&entry, GROUP, None, admitted), Verdict::Reject(Rejection::NotMember));
}

#[test]
fn entries_for_another_group_are_rejected() {
    let member = DeviceKeys::generate();
    let entry = Entry::seal(
        &member,
        EntryKind::Change,
        GroupId([1; 16]),
        LogPosition::start().next_header_fields(),
        0,
        &Secret32::random(),
        b"x",
    );
    assert_eq!(check_entry(&entry, GROUP, None, |_| true), Verdict::Reject(Rejection::WrongGroup));
}

#[test]
fn forged_signatures_are_rejected() {
    let member = DeviceKeys::generate();
    let mut bytes = entry_by(&member, 1, [0; 32], &Secret32::random()).encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let forged = Entry::decode(&bytes).unwrap();
    assert!(matches!(check_entry(&forged, GROUP, None, |_| true), Verdict::Reject(Rejection::Invalid(_))));
}

#[test]
fn replays_are_duplicates_and_skips_are_gaps() {
    let member = DeviceKeys::generate();
    let key = Secret32::random();
    let first = entry_by(&member, 1, [0; 32], &key);
    let second = entry_by(&member, 2, first.hash(), &key);
    let third = entry_by(&member, 3, second.hash(), &key);
    let mut position = LogPosition::start();
    assert_eq!(check_entry(&third, GROUP, Some(&position), |_| true), Verdict::Gap { expected: 1 });
    assert_eq!(check_entry(&first, GROUP, Some(&position), |_| true), Verdict::Accept);
    position.accept(&first).unwrap();
    assert_eq!(check_entry(&first, GROUP, Some(&position), |_| true), Verdict::Duplicate);
    // A second entry 2 that does not follow entry 1 is a fork: rejected, not stored.
    let fork = entry_by(&member, 2, [3; 32], &key);
    assert!(matches!(check_entry(&fork, GROUP, Some(&position), |_| true), Verdict::Reject(Rejection::Invalid(_))));
    assert_eq!(check_entry(&second, GROUP, Some(&position), |_| true), Verdict::Accept);
}

#[test]
fn batches_respect_the_byte_limit_and_keep_order() {
    let entries: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; 10_000]).collect();
    let split = batches(entries.clone());
    assert!(split.len() > 1);
    assert!(split.iter().all(|b| b.iter().map(Vec::len).sum::<usize>() <= sunspace_replicate::MAX_BATCH_BYTES));
    assert_eq!(split.concat(), entries);
    let huge = vec![vec![0u8; sunspace_replicate::MAX_BATCH_BYTES * 2]];
    assert_eq!(batches(huge.clone()), vec![huge], "an entry larger than a batch travels alone");
}

/// Two devices that come in reach at the same moment both send their heads; each answers the other's with what it
/// lacks and with its own heads, which cross the entries on the way. Those heads are stale when they arrive: they
/// must not make the entries cross a second time (they did, doubling the bytes of a first sync).
#[test]
fn heads_that_cross_entries_in_flight_do_not_send_them_twice() {
    let mut replicas = replicas(2);
    let start = Instant::now();
    let mut ignored = Vec::new();
    for body in 0..30u8 {
        replicas[0].write(start, &[body], &mut ignored);
        replicas[1].write(start, &[body], &mut ignored);
    }
    let mut network = Network::new();
    for (r, replica) in replicas.iter_mut().enumerate() {
        let mut out = Vec::new();
        replica.tick(start, &mut out);
        enqueue(&mut network, r, out);
    }
    let mut entries_delivered = 0;
    let mut clock = 0;
    while let Some((from, to, bytes)) = network.pop_front() {
        clock += 1;
        if let Message::Entries { entries, .. } = Message::decode(&bytes).unwrap() {
            entries_delivered += entries.len();
        }
        let mut out = Vec::new();
        replicas[to].receive(start + Duration::from_millis(clock), from, &bytes, &mut out);
        enqueue(&mut network, to, out);
        assert!(clock < 1_000, "the exchange does not settle");
    }
    assert_eq!(replicas[0].logs, replicas[1].logs);
    assert_eq!(entries_delivered, 60, "each device's 30 entries crossed once");
}
