//! The sync policy of one device across all its peers and groups: what to send, to whom, and when to answer with
//! heads. The engine feeds it what happened and carries out what it returns; the simulated-network property
//! tests drive this same type, so what they show is what the engine does.
//!
//! ```
//! use std::collections::{BTreeMap, BTreeSet};
//! use std::time::Instant;
//! use sunspace_crypto::DeviceId;
//! use sunspace_log::GroupId;
//! use sunspace_replicate::{Range, SyncAction, SyncPolicy};
//!
//! let (group, peer, author) = (GroupId([1; 16]), DeviceId([2; 32]), DeviceId([3; 32]));
//! let ours = BTreeMap::from([(author, 5)]);
//! let mut policy = SyncPolicy::default();
//! // A peer's first heads: send what it lacks, and answer with ours (it has no session with us yet).
//! let their_heads = BTreeMap::from([(author, 3)]);
//! let actions = policy.on_heads(Instant::now(), peer, group, &their_heads, &BTreeMap::new(), &ours, &BTreeMap::new(), &BTreeSet::new());
//! assert_eq!(actions, vec![
//!     SyncAction::SendRanges { peer, group, ranges: vec![Range { author, first: 4, last: 5 }] },
//!     SyncAction::SendHeads { peer, group },
//! ]);
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use sunspace_crypto::DeviceId;
use sunspace_log::GroupId;

use crate::session::{diverging, Range, Session};

/// A peer that shows it holds entries we lack is answered with our heads at most this often (it will send what we
/// lack once it has them); the first heads of a session are always answered.
pub const HEADS_REPLY_INTERVAL: Duration = Duration::from_millis(500);

/// What the engine should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncAction {
    /// Read these entries from the store and send them to `peer`, in batches.
    SendRanges {
        /// To whom.
        peer: DeviceId,
        /// Which group's logs.
        group: GroupId,
        /// The entries, log by log, in order.
        ranges: Vec<Range>,
    },
    /// Send `peer` this device's heads (and hashes) of `group`.
    SendHeads {
        /// To whom.
        peer: DeviceId,
        /// Which group.
        group: GroupId,
    },
}

/// Sessions with every peer in every group, and when heads were last sent to each.
#[derive(Debug, Default)]
pub struct SyncPolicy {
    sessions: HashMap<(DeviceId, GroupId), Session>,
    heads_sent: HashMap<(DeviceId, GroupId), Instant>,
}

impl SyncPolicy {
    /// `peer` told us how far it holds each log of `group` (and the hash of each last entry). `ours`/`our_hashes`
    /// are what this device holds; `proven_forked` the devices whose forks this device already holds the proof of.
    #[allow(clippy::too_many_arguments)]
    pub fn on_heads(
        &mut self,
        now: Instant,
        peer: DeviceId,
        group: GroupId,
        their_heads: &BTreeMap<DeviceId, u64>,
        their_hashes: &BTreeMap<DeviceId, [u8; 32]>,
        ours: &BTreeMap<DeviceId, u64>,
        our_hashes: &BTreeMap<DeviceId, [u8; 32]>,
        proven_forked: &BTreeSet<DeviceId>,
    ) -> Vec<SyncAction> {
        let mut actions = Vec::new();
        // A log the peer holds to the same place with another last entry: send ours, so that the peer holds both
        // halves of the proof (and it sends us its half likewise). Not for a device already proven to have forked:
        // both halves are held, and sending ours again on every exchange would only cost bandwidth.
        let mut forked = diverging(their_heads, their_hashes, ours, our_hashes);
        forked.retain(|range| !proven_forked.contains(&range.author));
        if !forked.is_empty() {
            actions.push(SyncAction::SendRanges { peer, group, ranges: forked });
        }
        let behind = their_heads.iter().any(|(author, seq)| ours.get(author).copied().unwrap_or(0) < *seq);
        let first = !self.sessions.contains_key(&(peer, group));
        let session = self.sessions.entry((peer, group)).or_insert_with(|| Session::new(group));
        let ranges = session.on_peer_heads(now, their_heads, ours);
        if !ranges.is_empty() {
            actions.push(SyncAction::SendRanges { peer, group, ranges });
        }
        let recently =
            self.heads_sent.get(&(peer, group)).is_some_and(|at| now.duration_since(*at) < HEADS_REPLY_INTERVAL);
        // The first heads from a peer are always answered with ours, even if we sent some a moment ago: those may
        // have been refused (a device that just joined admits us only once it holds the membership), and without
        // our heads the peer has no session and pushes nothing to us until the next anti-entropy round. Each side
        // answers once per session, so this cannot loop.
        if first || (behind && !recently) {
            self.note_heads_sent(peer, group, now);
            actions.push(SyncAction::SendHeads { peer, group });
        }
        actions
    }

    /// Entries from `peer` were stored (`accepted`, as (author, seq)); `waiting` of its entries wait for others.
    /// The peer holds what it sent, so none of it goes back; if some wait, our heads tell it what to send next.
    pub fn on_received(
        &mut self,
        now: Instant,
        peer: DeviceId,
        group: GroupId,
        accepted: &[(DeviceId, u64)],
        waiting: usize,
    ) -> Vec<SyncAction> {
        if let Some(session) = self.sessions.get_mut(&(peer, group)) {
            for (author, seq) in accepted {
                session.on_peer_has(*author, *seq);
            }
        }
        if !accepted.is_empty() && waiting > 0 {
            self.note_heads_sent(peer, group, now);
            vec![SyncAction::SendHeads { peer, group }]
        } else {
            Vec::new()
        }
    }

    /// This device's heads of `group` grew (its own edit, or entries received from `from`): push what each peer
    /// with a session lacks, except to `from`, which sent them.
    pub fn on_local_heads(
        &mut self,
        now: Instant,
        group: GroupId,
        ours: &BTreeMap<DeviceId, u64>,
        from: Option<DeviceId>,
    ) -> Vec<SyncAction> {
        let mut peers: Vec<DeviceId> = self
            .sessions
            .keys()
            .filter(|(peer, g)| *g == group && Some(*peer) != from)
            .map(|(peer, _)| *peer)
            .collect();
        // Peers in a stable order, so what is sent does not depend on a hash map's order.
        peers.sort();
        let mut actions = Vec::new();
        for peer in peers {
            let ranges = self.sessions.get_mut(&(peer, group)).map(|s| s.on_local_heads(now, ours)).unwrap_or_default();
            if !ranges.is_empty() {
                actions.push(SyncAction::SendRanges { peer, group, ranges });
            }
        }
        actions
    }

    /// Heads were sent to `peer` outside this policy (a connection came up; the anti-entropy timer).
    pub fn note_heads_sent(&mut self, peer: DeviceId, group: GroupId, now: Instant) {
        self.heads_sent.insert((peer, group), now);
    }

    /// A message to `peer` was lost (a failed send, a busy answer, a full queue): what was on its way to it is
    /// sent again once its heads show it lacks it, without waiting out the grace.
    pub fn on_send_failed(&mut self, peer: &DeviceId) {
        for ((p, _), session) in self.sessions.iter_mut() {
            if p == peer {
                session.on_send_failed();
            }
        }
    }

    /// `peer` disconnected: its sessions end (the next connection starts with a heads exchange).
    pub fn forget_peer(&mut self, peer: &DeviceId) {
        self.sessions.retain(|(p, _), _| p != peer);
        self.heads_sent.retain(|(p, _), _| p != peer);
    }

    /// The session with `peer` in `group`, if its heads ever arrived.
    pub fn session(&self, peer: &DeviceId, group: &GroupId) -> Option<&Session> {
        self.sessions.get(&(*peer, *group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: GroupId = GroupId([1; 16]);
    const A: DeviceId = DeviceId([2; 32]);
    const PEER: DeviceId = DeviceId([3; 32]);
    const OTHER: DeviceId = DeviceId([4; 32]);

    fn heads(pairs: &[(DeviceId, u64)]) -> BTreeMap<DeviceId, u64> {
        pairs.iter().copied().collect()
    }

    fn on_heads(
        policy: &mut SyncPolicy,
        now: Instant,
        theirs: &[(DeviceId, u64)],
        ours: &[(DeviceId, u64)],
    ) -> Vec<SyncAction> {
        policy.on_heads(
            now,
            PEER,
            GROUP,
            &heads(theirs),
            &BTreeMap::new(),
            &heads(ours),
            &BTreeMap::new(),
            &BTreeSet::new(),
        )
    }

    #[test]
    fn a_peer_behind_us_is_answered_with_heads_once_per_interval_after_the_first() {
        let mut policy = SyncPolicy::default();
        let start = Instant::now();
        // Ahead of us: the first heads are answered; again at once, not; after the interval, yes.
        assert!(
            on_heads(&mut policy, start, &[(A, 3)], &[]).contains(&SyncAction::SendHeads { peer: PEER, group: GROUP })
        );
        assert!(on_heads(&mut policy, start + Duration::from_millis(100), &[(A, 3)], &[]).is_empty());
        let later = on_heads(&mut policy, start + HEADS_REPLY_INTERVAL * 2, &[(A, 3)], &[]);
        assert_eq!(later, vec![SyncAction::SendHeads { peer: PEER, group: GROUP }]);
        // Level with us: nothing to say.
        assert!(on_heads(&mut policy, start + HEADS_REPLY_INTERVAL * 4, &[(A, 3)], &[(A, 3)]).is_empty());
    }

    #[test]
    fn local_growth_is_pushed_to_peers_with_sessions_except_the_sender() {
        let mut policy = SyncPolicy::default();
        let now = Instant::now();
        on_heads(&mut policy, now, &[(A, 1)], &[(A, 1)]);
        policy.on_heads(
            now,
            OTHER,
            GROUP,
            &heads(&[(A, 1)]),
            &BTreeMap::new(),
            &heads(&[(A, 1)]),
            &BTreeMap::new(),
            &BTreeSet::new(),
        );
        let pushed = policy.on_local_heads(now, GROUP, &heads(&[(A, 3)]), Some(OTHER));
        assert_eq!(
            pushed,
            vec![SyncAction::SendRanges {
                peer: PEER,
                group: GROUP,
                ranges: vec![Range { author: A, first: 2, last: 3 }]
            }]
        );
        // Counted as sent: not pushed twice.
        assert!(policy
            .on_local_heads(now, GROUP, &heads(&[(A, 3)]), None)
            .iter()
            .all(|a| !matches!(a, SyncAction::SendRanges { peer, .. } if *peer == PEER)));
    }

    #[test]
    fn what_a_peer_sent_is_not_sent_back_and_waiting_entries_ask_for_more() {
        let mut policy = SyncPolicy::default();
        let now = Instant::now();
        on_heads(&mut policy, now, &[], &[]);
        assert_eq!(
            policy.on_received(now, PEER, GROUP, &[(A, 1), (A, 2)], 1),
            vec![SyncAction::SendHeads { peer: PEER, group: GROUP }]
        );
        assert!(policy.on_local_heads(now, GROUP, &heads(&[(A, 2)]), None).is_empty());
        assert!(policy.on_received(now, PEER, GROUP, &[(A, 3)], 0).is_empty());
    }

    #[test]
    fn a_fork_already_proven_is_not_sent_again() {
        let mut policy = SyncPolicy::default();
        let now = Instant::now();
        let theirs = BTreeMap::from([(A, [1u8; 32])]);
        let ours = BTreeMap::from([(A, [2u8; 32])]);
        let run = |policy: &mut SyncPolicy, proven: &BTreeSet<DeviceId>| {
            policy.on_heads(now, PEER, GROUP, &heads(&[(A, 4)]), &theirs, &heads(&[(A, 4)]), &ours, proven)
        };
        assert_eq!(
            run(&mut policy, &BTreeSet::new())[0],
            SyncAction::SendRanges { peer: PEER, group: GROUP, ranges: vec![Range { author: A, first: 4, last: 4 }] }
        );
        assert!(run(&mut policy, &BTreeSet::from([A])).is_empty());
    }
}
