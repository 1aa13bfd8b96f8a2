//! What to send one peer about one group.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sunspace_crypto::DeviceId;
use sunspace_log::GroupId;

/// Entries are sent in batches of at most this many bytes (a single larger entry travels alone), so one peer
/// catching up on years of history never holds up a connection or a peer's memory with one giant message.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Entries `first ..= last` of `author`'s log, to be read from the store and sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// The log's author.
    pub author: DeviceId,
    /// First sequence number to send.
    pub first: u64,
    /// Last sequence number to send.
    pub last: u64,
}

/// Entries sent to a peer are taken as on their way for this long after they were sent, or after the peer last
/// showed progress in that log: heads it reports meanwhile that do not yet count them were written before they
/// arrived. After it (less than the engine's anti-entropy interval), a peer that still lacks them is sent them
/// again: a message can be lost without the connection closing.
pub const IN_FLIGHT_GRACE: Duration = Duration::from_secs(10);

/// Sync state for one peer and one group.
#[derive(Debug, Clone)]
pub struct Session {
    group: GroupId,
    /// How far we believe the peer holds each log: what it last told us, plus what we have sent since.
    peer: Option<BTreeMap<DeviceId, u64>>,
    /// Per log, the furthest entry sent to the peer that it has not yet reported holding, and since when it is
    /// taken as on its way.
    in_flight: BTreeMap<DeviceId, InFlight>,
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    /// The last entry sent.
    last: u64,
    /// How far the peer held the log when it was sent, or reported since.
    reported: u64,
    since: Instant,
}

impl Session {
    /// A session with a peer we have heard nothing from yet.
    pub fn new(group: GroupId) -> Self {
        Self { group, peer: None, in_flight: BTreeMap::new() }
    }

    /// The group.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// Whether the peer has told us its heads.
    pub fn is_established(&self) -> bool {
        self.peer.is_some()
    }

    /// The peer reported its heads at `now`; returns the ranges it lacks. Its word replaces what we believed (it
    /// may have lost what we sent), except for entries still on their way to it (see [`IN_FLIGHT_GRACE`]): heads
    /// that cross them in flight would otherwise send them twice.
    pub fn on_peer_heads(
        &mut self,
        now: Instant,
        heads: &BTreeMap<DeviceId, u64>,
        ours: &BTreeMap<DeviceId, u64>,
    ) -> Vec<Range> {
        let mut believed = heads.clone();
        self.in_flight.retain(|author, flight| {
            let reported = heads.get(author).copied().unwrap_or(0);
            if reported >= flight.last {
                return false;
            }
            // Progress in this log shows the entries are arriving: the grace starts again.
            if reported > flight.reported {
                flight.reported = reported;
                flight.since = now;
            }
            if now.saturating_duration_since(flight.since) >= IN_FLIGHT_GRACE {
                return false;
            }
            believed.insert(*author, flight.last);
            true
        });
        let ranges = missing(&believed, ours);
        self.note_sent(now, &mut believed, &ranges);
        self.peer = Some(believed);
        ranges
    }

    /// Our heads grew (our own entries or ones received from anyone). Returns what the peer is not yet believed to
    /// hold, to push at once, and counts it as sent; nothing before the peer has told us its heads.
    pub fn on_local_heads(&mut self, now: Instant, ours: &BTreeMap<DeviceId, u64>) -> Vec<Range> {
        let Some(mut believed) = self.peer.take() else { return Vec::new() };
        let ranges = missing(&believed, ours);
        self.note_sent(now, &mut believed, &ranges);
        self.peer = Some(believed);
        ranges
    }

    /// A message to the peer was lost (its send failed, or the peer was too busy to take it): nothing is taken
    /// as on its way any more, so its next heads say what to send again.
    pub fn on_send_failed(&mut self) {
        self.in_flight.clear();
    }

    fn note_sent(&mut self, now: Instant, believed: &mut BTreeMap<DeviceId, u64>, ranges: &[Range]) {
        for range in ranges {
            believed.insert(range.author, range.last);
            match self.in_flight.get_mut(&range.author) {
                // More of a log already on its way: the grace still runs from the first send (or the last sign of
                // progress), or a log that is written to often would never be sent again after a lost message.
                Some(flight) => flight.last = flight.last.max(range.last),
                None => {
                    let reported = range.first.saturating_sub(1);
                    self.in_flight.insert(range.author, InFlight { last: range.last, reported, since: now });
                }
            }
        }
    }

    /// How many entries we hold that the peer is not yet believed to hold (unknown before its heads arrive).
    pub fn pending_for_peer(&self, ours: &BTreeMap<DeviceId, u64>) -> Option<u64> {
        let peer = self.peer.as_ref()?;
        Some(missing(peer, ours).iter().map(|r| r.last - r.first + 1).sum())
    }

    /// How many entries the peer holds that we do not (unknown before its heads arrive): what a device receiving
    /// its history still waits for.
    pub fn pending_from_peer(&self, ours: &BTreeMap<DeviceId, u64>) -> Option<u64> {
        let peer = self.peer.as_ref()?;
        Some(missing(ours, peer).iter().map(|r| r.last - r.first + 1).sum())
    }

    /// The peer sent us an entry, so it holds it: no need to send it back.
    pub fn on_peer_has(&mut self, author: DeviceId, seq: u64) {
        if let Some(peer) = self.peer.as_mut() {
            let held = peer.entry(author).or_insert(0);
            *held = (*held).max(seq);
        }
    }
}

/// Logs where the peer holds as many entries as we do but a different last one: its author signed two histories.
/// Returns, per such log, our last entry, to send to the peer: it holds the other one, so it can make the proof
/// (and will send us its copy in the same way).
pub fn diverging(
    their_heads: &BTreeMap<DeviceId, u64>,
    their_hashes: &BTreeMap<DeviceId, [u8; 32]>,
    our_heads: &BTreeMap<DeviceId, u64>,
    our_hashes: &BTreeMap<DeviceId, [u8; 32]>,
) -> Vec<Range> {
    their_hashes
        .iter()
        .filter_map(|(author, theirs)| {
            let seq = *their_heads.get(author)?;
            let ours = our_hashes.get(author)?;
            (our_heads.get(author) == Some(&seq) && seq > 0 && ours != theirs).then_some(Range {
                author: *author,
                first: seq,
                last: seq,
            })
        })
        .collect()
}

/// The ranges of `ours` that `theirs` lacks.
fn missing(theirs: &BTreeMap<DeviceId, u64>, ours: &BTreeMap<DeviceId, u64>) -> Vec<Range> {
    ours.iter()
        .filter_map(|(author, &last)| {
            let held = theirs.get(author).copied().unwrap_or(0);
            (last > held).then_some(Range { author: *author, first: held + 1, last })
        })
        .collect()
}

/// Splits encoded entries into batches of at most [`MAX_BATCH_BYTES`] and [`crate::MAX_ENTRIES_PER_BATCH`]
/// entries, keeping their order. An entry larger than the byte limit travels alone.
pub fn batches(entries: Vec<Vec<u8>>) -> Vec<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut current: Vec<Vec<u8>> = Vec::new();
    let mut bytes = 0;
    for entry in entries {
        let full = current.len() >= crate::MAX_ENTRIES_PER_BATCH || bytes + entry.len() > MAX_BATCH_BYTES;
        if full && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += entry.len();
        current.push(entry);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_held_to_the_same_place_with_another_last_entry_is_sent_back() {
        let (ana, mal) = (device(1), device(9));
        let ours = BTreeMap::from([(ana, 4), (mal, 7)]);
        let our_hashes = BTreeMap::from([(ana, [1; 32]), (mal, [2; 32])]);
        // Same place, same entry for Ana's log; same place, another entry for Mal's.
        let theirs = BTreeMap::from([(ana, 4), (mal, 7)]);
        let their_hashes = BTreeMap::from([(ana, [1; 32]), (mal, [3; 32])]);
        assert_eq!(
            diverging(&theirs, &their_hashes, &ours, &our_hashes),
            vec![Range { author: mal, first: 7, last: 7 }]
        );
        // A peer behind or ahead is not compared here: the entries it receives or sends show a fork.
        let behind = BTreeMap::from([(mal, 6)]);
        assert!(diverging(&behind, &their_hashes, &ours, &our_hashes).is_empty());
        // A peer that sends no hash (zeros) is not compared.
        assert!(diverging(&theirs, &BTreeMap::new(), &ours, &our_hashes).is_empty());
    }

    fn device(byte: u8) -> DeviceId {
        DeviceId::from_hex(&format!("{byte:02x}").repeat(32)).expect("a valid hex id")
    }

    #[test]
    fn counts_what_each_side_still_lacks_once_the_peer_has_told_its_heads() {
        let (ana, bea) = (device(1), device(2));
        let mut session = Session::new(GroupId::from_hex(&"07".repeat(16)).expect("a valid hex id"));
        let ours = BTreeMap::from([(ana, 10), (bea, 1)]);
        assert_eq!((session.pending_for_peer(&ours), session.pending_from_peer(&ours)), (None, None));

        let theirs = BTreeMap::from([(ana, 4), (bea, 6)]);
        let ranges = session.on_peer_heads(Instant::now(), &theirs, &ours);
        assert_eq!(ranges, vec![Range { author: ana, first: 5, last: 10 }]);
        // The ranges returned count as sent; the peer's five entries of Bea's log are still to come.
        assert_eq!(session.pending_for_peer(&ours), Some(0));
        assert_eq!(session.pending_from_peer(&ours), Some(5));
        let ours = BTreeMap::from([(ana, 10), (bea, 6)]);
        assert_eq!(session.pending_from_peer(&ours), Some(0));
    }

    #[test]
    fn entries_on_their_way_are_not_sent_again_until_the_grace_runs_out_without_progress() {
        let ana = device(1);
        let mut session = Session::new(GroupId::from_hex(&"07".repeat(16)).expect("a valid hex id"));
        let start = Instant::now();
        let ours = BTreeMap::from([(ana, 10)]);
        let sent = session.on_peer_heads(start, &BTreeMap::new(), &ours);
        assert_eq!(sent, vec![Range { author: ana, first: 1, last: 10 }]);
        // Stale heads written before the entries arrived: nothing again.
        assert!(session.on_peer_heads(start + Duration::from_secs(1), &BTreeMap::new(), &ours).is_empty());
        // Progress (4 of 10 arrived) restarts the grace; still nothing.
        let four = BTreeMap::from([(ana, 4)]);
        let later = start + IN_FLIGHT_GRACE - Duration::from_secs(1);
        assert!(session.on_peer_heads(later, &four, &ours).is_empty());
        assert!(session.on_peer_heads(later + Duration::from_secs(5), &four, &ours).is_empty());
        // No progress for the whole grace: the rest was lost, and goes again.
        let resent = session.on_peer_heads(later + IN_FLIGHT_GRACE, &four, &ours);
        assert_eq!(resent, vec![Range { author: ana, first: 5, last: 10 }]);
        // Once reported held, nothing is in flight.
        assert!(session.on_peer_heads(later + IN_FLIGHT_GRACE * 3, &ours, &ours).is_empty());
    }

    #[test]
    fn a_log_written_to_often_is_sent_again_after_a_lost_message() {
        let ana = device(1);
        let mut session = Session::new(GroupId::from_hex(&"07".repeat(16)).expect("a valid hex id"));
        let start = Instant::now();
        assert_eq!(session.on_peer_heads(start, &BTreeMap::new(), &BTreeMap::new()), vec![]);
        // Entries 1..=3 pushed, and lost; then a new entry every 2 s, each pushed as it is written.
        let mut now = start;
        for last in 3..=10u64 {
            let pushed = session.on_local_heads(now, &BTreeMap::from([(ana, last)]));
            assert!(!pushed.is_empty());
            now += Duration::from_secs(2);
        }
        // The peer still holds nothing: within the grace of the first send, nothing again; past it, everything.
        let ours = BTreeMap::from([(ana, 10)]);
        assert_eq!(
            session.on_peer_heads(start + IN_FLIGHT_GRACE + Duration::from_secs(1), &BTreeMap::new(), &ours),
            vec![Range { author: ana, first: 1, last: 10 }]
        );
    }

    #[test]
    fn after_a_lost_message_what_was_on_its_way_goes_again_at_the_next_heads() {
        let ana = device(1);
        let mut session = Session::new(GroupId::from_hex(&"07".repeat(16)).expect("a valid hex id"));
        let start = Instant::now();
        let ours = BTreeMap::from([(ana, 4)]);
        assert_eq!(session.on_peer_heads(start, &BTreeMap::new(), &ours).len(), 1);
        assert!(session.on_peer_heads(start, &BTreeMap::new(), &ours).is_empty(), "on its way");
        session.on_send_failed();
        assert_eq!(
            session.on_peer_heads(start, &BTreeMap::new(), &ours),
            vec![Range { author: ana, first: 1, last: 4 }]
        );
    }
}
