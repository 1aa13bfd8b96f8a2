//! Where each member device can be reached, and when to try again: the engine's connectivity and backoff, with
//! no I/O. The engine tells [`Reach`] what it learned (an address from the roster, `peer add`, mDNS or a relay)
//! and what happened (a device connected), and asks it whom to dial; time is passed in, so the rules are tested
//! without a network.
//!
//! ```
//! # use std::time::{Duration, Instant};
//! # use sunspace_node::reach::Reach;
//! let mut reach = Reach::default();
//! let bea = sunspace_crypto::DeviceKeys::generate().device_id();
//! let now = Instant::now();
//! assert!(reach.due_for_retry(bea, now));          // first try at once
//! assert!(!reach.due_for_retry(bea, now));         // then 2 s, 4 s, … up to a minute
//! assert!(reach.due_for_retry(bea, now + Duration::from_secs(2)));
//! reach.reached(bea);                              // connected: the next loss starts again at 2 s
//! assert!(reach.due_for_retry(bea, now + Duration::from_secs(2)));
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use sunspace_crypto::DeviceId;
use sunspace_net::Multiaddr;

/// The first wait before redialing a device that is out of reach; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// The longest wait between tries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Devices seen on the local network are remembered this long, and at most [`MAX_DISCOVERED`] of them: a busy
/// network (or a device announcing made-up identities) cannot grow the engine's memory.
pub const DISCOVERED_KEPT: Duration = Duration::from_secs(10 * 60);
/// The most devices seen on the local network remembered at once.
pub const MAX_DISCOVERED: usize = 256;

/// Addresses and retry times of the devices this device wants to reach.
#[derive(Debug, Default)]
pub struct Reach {
    /// Where member devices were last reachable: from the roster, `peer add`, mDNS and relays.
    known: BTreeMap<DeviceId, BTreeSet<Multiaddr>>,
    /// When to try each unreachable device (or relay) next, and the wait after that.
    backoff: HashMap<DeviceId, (Instant, Duration)>,
    /// Devices seen on the local network, with where and when.
    discovered: BTreeMap<DeviceId, (Multiaddr, Instant)>,
}

impl Reach {
    /// `device` may be reached at `address`.
    pub fn learn(&mut self, device: DeviceId, address: Multiaddr) {
        self.known.entry(device).or_default().insert(address);
    }

    /// Where `device` may be reached.
    pub fn addresses(&self, device: &DeviceId) -> Vec<Multiaddr> {
        self.known.get(device).map(|a| a.iter().cloned().collect()).unwrap_or_default()
    }

    /// Whether any address of `device` is known.
    pub fn knows(&self, device: &DeviceId) -> bool {
        self.known.contains_key(device)
    }

    /// `device` is reached (connected, or a relay listened through): its next loss starts the waits again.
    pub fn reached(&mut self, device: DeviceId) {
        self.backoff.remove(&device);
    }

    /// Whether a device out of reach is due for another try at `now`; if so, the next try is pushed back,
    /// doubling the wait up to [`MAX_BACKOFF`].
    pub fn due_for_retry(&mut self, device: DeviceId, now: Instant) -> bool {
        let (next, wait) = self.backoff.get(&device).copied().unwrap_or((now, FIRST_BACKOFF));
        if next > now {
            return false;
        }
        self.backoff.insert(device, (now + wait, (wait * 2).min(MAX_BACKOFF)));
        true
    }

    /// `device` was seen on the local network at `address` (`full`: the address with its `/p2p/` part, to redial
    /// it later). Old sightings are forgotten, and past [`MAX_DISCOVERED`] the oldest makes room.
    pub fn discovered(&mut self, device: DeviceId, address: Multiaddr, full: Option<Multiaddr>, now: Instant) {
        self.discovered.retain(|_, (_, seen)| now.saturating_duration_since(*seen) < DISCOVERED_KEPT);
        if self.discovered.len() >= MAX_DISCOVERED && !self.discovered.contains_key(&device) {
            let oldest = self.discovered.iter().min_by_key(|(_, (_, seen))| *seen).map(|(d, _)| *d);
            if let Some(oldest) = oldest {
                self.discovered.remove(&oldest);
            }
        }
        self.discovered.insert(device, (address, now));
        if let Some(full) = full {
            self.learn(device, full);
        }
    }

    /// Where `device` was last seen on the local network.
    pub fn seen_at(&self, device: &DeviceId) -> Option<&Multiaddr> {
        self.discovered.get(device).map(|(address, _)| address)
    }

    /// Devices seen on the local network within [`DISCOVERED_KEPT`] of `now`.
    pub fn recently_seen(&self, now: Instant) -> Vec<DeviceId> {
        self.discovered
            .iter()
            .filter(|(_, (_, seen))| now.saturating_duration_since(*seen) < DISCOVERED_KEPT)
            .map(|(device, _)| *device)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(n: u8) -> DeviceId {
        DeviceId([n; 32])
    }

    fn address(port: u16) -> Multiaddr {
        format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap_or_else(|_| Multiaddr::empty())
    }

    #[test]
    fn waits_double_up_to_a_minute_and_start_again_once_reached() {
        let mut reach = Reach::default();
        let start = Instant::now();
        let mut now = start;
        let mut waits = Vec::new();
        let mut last = start;
        for _ in 0..8 {
            while !reach.due_for_retry(device(1), now) {
                now += Duration::from_millis(500);
            }
            waits.push((now - last).as_secs());
            last = now;
        }
        assert_eq!(waits, vec![0, 2, 4, 8, 16, 32, 60, 60]);
        reach.reached(device(1));
        assert!(reach.due_for_retry(device(1), now));
        assert!(!reach.due_for_retry(device(1), now + Duration::from_secs(1)));
        assert!(reach.due_for_retry(device(2), now), "another device waits on its own");
    }

    #[test]
    fn sightings_on_the_network_are_bounded_and_forgotten() {
        let mut reach = Reach::default();
        let now = Instant::now();
        for n in 0..=255u8 {
            reach.discovered(device(n), address(1000), Some(address(1000)), now);
        }
        let later = now + Duration::from_secs(1);
        let mut stranger = [7u8; 32];
        stranger[0] = 0xfe;
        reach.discovered(DeviceId(stranger), address(2000), Some(address(2000)), later);
        assert_eq!(reach.recently_seen(later).len(), MAX_DISCOVERED);
        assert!(reach.seen_at(&DeviceId(stranger)).is_some());
        assert!(reach.recently_seen(later + DISCOVERED_KEPT).is_empty());
        assert!(reach.knows(&device(3)), "an address once seen stays known for redialing");
    }
}
