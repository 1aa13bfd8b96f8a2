//! The sync state machine over a simulated network that drops, duplicates, delays and reorders messages: every
//! replica ends with every member's log, byte for byte. Entries are real sealed, signed entries.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use proptest::prelude::*;
use sunspace_crypto::{DeviceId, DeviceKeys, Secret32};
use sunspace_log::{Entry, EntryKind, GroupId, LogPosition};
use sunspace_replicate::{batches, check_entry, Message, Range, Rejection, Session, Verdict};

const GROUP: GroupId = GroupId([7; 16]);

struct Replica {
    keys: DeviceKeys,
    key: Secret32,
    members: BTreeSet<DeviceId>,
    logs: BTreeMap<DeviceId, Vec<Vec<u8>>>,
    positions: BTreeMap<DeviceId, LogPosition>,
    sessions: BTreeMap<usize, Session>,
    rejected: usize,
}

type Outbox = Vec<(usize, Message)>;

impl Replica {
    fn heads(&self) -> BTreeMap<DeviceId, u64> {
        self.logs.iter().map(|(author, log)| (*author, log.len() as u64)).collect()
    }

    fn read(&self, range: Range) -> Vec<Vec<u8>> {
        let log = &self.logs[&range.author];
        log[(range.first - 1) as usize..range.last as usize].to_vec()
    }

    fn send_ranges(&self, to: usize, ranges: Vec<Range>, out: &mut Outbox) {
        let entries: Vec<Vec<u8>> = ranges.into_iter().flat_map(|r| self.read(r)).collect();
        for batch in batches(entries) {
            out.push((to, Message::Entries { group: GROUP, entries: batch }));
        }
    }

    fn store(&mut self, entry: &Entry, bytes: Vec<u8>) {
        let author = entry.header().author;
        self.positions.entry(author).or_insert_with(LogPosition::start).accept(entry).unwrap();
        self.logs.entry(author).or_default().push(bytes);
    }

    /// Pushes a newly stored entry to every peer known to be caught up, except `skip`.
    fn push(&mut self, author: DeviceId, seq: u64, skip: Option<usize>, out: &mut Outbox) {
        let pushes: Vec<(usize, Range)> = self
            .sessions
            .iter_mut()
            .filter(|(peer, _)| Some(**peer) != skip)
            .filter_map(|(peer, session)| session.on_local_append(author, seq).map(|r| (*peer, r)))
            .collect();
        for (peer, range) in pushes {
            self.send_ranges(peer, vec![range], out);
        }
    }

    fn write(&mut self, body: &[u8], out: &mut Outbox) {
        let author = self.keys.device_id();
        let link = self.positions.get(&author).copied().unwrap_or_else(LogPosition::start).next_header_fields();
        let entry = Entry::seal(&self.keys, EntryKind::Change, GROUP, link, 0, &self.key, body);
        self.store(&entry, entry.encode());
        self.push(author, link.seq, None, out);
    }

    fn tick(&self, out: &mut Outbox) {
        for peer in self.sessions.keys() {
            out.push((*peer, Message::Heads { group: GROUP, heads: self.heads(), hashes: BTreeMap::new() }));
        }
    }

    fn receive(&mut self, from: usize, bytes: &[u8], out: &mut Outbox) {
        let message = Message::decode(bytes).unwrap();
        match message {
            Message::Heads { heads, .. } => {
                let ours = self.heads();
                let ranges = self.sessions.get_mut(&from).unwrap().on_peer_heads(&heads, &ours);
                self.send_ranges(from, ranges, out);
                // If the peer holds what we lack, tell it where we stand so it sends it.
                if heads.iter().any(|(author, seq)| ours.get(author).copied().unwrap_or(0) < *seq) {
                    out.push((from, Message::Heads { group: GROUP, heads: ours, hashes: BTreeMap::new() }));
                }
            }
            Message::Entries { entries, .. } => {
                for bytes in entries {
                    let entry = Entry::decode(&bytes).unwrap();
                    let author = entry.header().author;
                    let members = self.members.clone();
                    match check_entry(&entry, GROUP, self.positions.get(&author), |d| members.contains(d)) {
                        Verdict::Accept => {
                            assert!(entry.open(&self.key).is_ok());
                            let seq = entry.header().link.seq;
                            self.store(&entry, bytes);
                            self.sessions.get_mut(&from).unwrap().on_peer_has(author, seq);
                            self.push(author, seq, Some(from), out);
                        }
                        Verdict::Duplicate | Verdict::Gap { .. } => {}
                        Verdict::Reject(_) => self.rejected += 1,
                    }
                }
            }
        }
    }
}

fn replicas(n: usize) -> Vec<Replica> {
    let key = Secret32::from_bytes([9; 32]);
    let devices: Vec<DeviceKeys> = (0..n).map(|_| DeviceKeys::generate()).collect();
    let members: BTreeSet<DeviceId> = devices.iter().map(DeviceKeys::device_id).collect();
    devices
        .into_iter()
        .enumerate()
        .map(|(i, keys)| Replica {
            keys,
            key: key.clone(),
            members: members.clone(),
            logs: BTreeMap::new(),
            positions: BTreeMap::new(),
            sessions: (0..n).filter(|j| *j != i).map(|j| (j, Session::new(GROUP))).collect(),
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
        for step in steps {
            match step {
                Step::Write(r, body) => {
                    let mut out = Vec::new();
                    replicas[r % n].write(&[body], &mut out);
                    enqueue(&mut network, r % n, out);
                }
                Step::Tick(r) => {
                    let mut out = Vec::new();
                    replicas[r % n].tick(&mut out);
                    enqueue(&mut network, r % n, out);
                }
                Step::Deliver(i) if !network.is_empty() => {
                    let (from, to, bytes) = network.remove(i % network.len()).unwrap();
                    let mut out = Vec::new();
                    replicas[to].receive(from, &bytes, &mut out);
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
        // The network heals: every replica announces its heads, and everything is delivered.
        for _round in 0..4 {
            for (r, replica) in replicas.iter().enumerate() {
                let mut out = Vec::new();
                replica.tick(&mut out);
                enqueue(&mut network, r, out);
            }
            let mut delivered = 0;
            while let Some((from, to, bytes)) = network.pop_front() {
                let mut out = Vec::new();
                replicas[to].receive(from, &bytes, &mut out);
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
