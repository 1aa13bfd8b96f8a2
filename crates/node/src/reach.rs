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

    /// The network changed (a new address to listen at) or the machine woke from sleep: every device out of
    /// reach is tried again at once, whatever its wait had grown to.
    pub fn retry_all_now(&mut self) {
        self.backoff.clear();
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

/// At most this many addresses are remembered per device, the most recently reached first.
pub const REMEMBERED_PER_DEVICE: usize = 4;
/// A device reached again at the address remembered first is written down again only this much later: the book
/// is on disk, and a connection that comes and goes must not rewrite it each time.
pub const REMEMBER_AGAIN_AFTER: i64 = 60 * 60;

/// Where this device last reached each member device (it dialed there and the connection came up), newest first:
/// kept across restarts, sealed under the storage key (`records::PEER_BOOK_AD`), so a device that restarts, or
/// an inviter whose newcomer has not yet written its addresses in the roster, redials where it last succeeded.
/// Unlike the roster, no other member can change it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeerBook {
    /// Per device (hex), where and when (Unix seconds) it was reached.
    devices: BTreeMap<String, Vec<Sighting>>,
}

/// One address a device was reached at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sighting {
    /// The address dialed (multiaddr text, with the device's `/p2p/` part).
    pub address: String,
    /// When, in Unix seconds.
    pub at: i64,
}

impl PeerBook {
    /// `device` was reached at `address` at `at` (Unix seconds). Returns whether the book changed enough to be
    /// written again.
    pub fn reached(&mut self, device: DeviceId, address: &Multiaddr, at: i64) -> bool {
        let text = address.to_string();
        let sightings = self.devices.entry(device.to_hex()).or_default();
        if let Some(first) = sightings.first_mut() {
            if first.address == text {
                let stale = at.saturating_sub(first.at) >= REMEMBER_AGAIN_AFTER;
                if stale {
                    first.at = at;
                }
                return stale;
            }
        }
        sightings.retain(|s| s.address != text);
        sightings.insert(0, Sighting { address: text, at });
        sightings.truncate(REMEMBERED_PER_DEVICE);
        true
    }

    /// Where `device` was last reached, if ever.
    pub fn last(&self, device: &DeviceId) -> Option<&Sighting> {
        self.devices.get(&device.to_hex()).and_then(|s| s.first())
    }

    /// The addresses `device` was reached at, newest first (only those that name it).
    pub fn addresses(&self, device: &DeviceId) -> Vec<Multiaddr> {
        let Some(sightings) = self.devices.get(&device.to_hex()) else { return Vec::new() };
        sightings
            .iter()
            .filter_map(|s| s.address.parse::<Multiaddr>().ok())
            .filter(|a| sunspace_net::device_of_address(a) == Some(*device))
            .collect()
    }

    /// Every device in the book.
    pub fn devices(&self) -> Vec<DeviceId> {
        self.devices.keys().filter_map(|hex| DeviceId::from_hex(hex)).collect()
    }

    /// Forgets every device not in `keep` (removed from every group); returns whether anything was forgotten.
    pub fn keep_only(&mut self, keep: &BTreeSet<DeviceId>) -> bool {
        let before = self.devices.len();
        self.devices.retain(|hex, _| DeviceId::from_hex(hex).is_some_and(|d| keep.contains(&d)));
        self.devices.len() != before
    }
}

/// How a connected device is reached right now, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Path {
    /// On this network (a private, link-local or loopback address).
    Lan,
    /// Directly, across networks (a public address, or a relayed connection made direct by hole punching).
    Direct,
    /// Through a member-run relay.
    Relay,
}

impl Path {
    /// The path of a connection to `address` (the other end).
    pub fn of(address: &Multiaddr) -> Self {
        use sunspace_net::Protocol;
        if address.iter().any(|p| p == Protocol::P2pCircuit) {
            return Path::Relay;
        }
        let local = address.iter().any(|p| match p {
            Protocol::Ip4(ip) => ip.is_private() || ip.is_loopback() || ip.is_link_local(),
            Protocol::Ip6(ip) => {
                ip.is_loopback() || (ip.segments()[0] & 0xffc0) == 0xfe80 || (ip.segments()[0] & 0xfe00) == 0xfc00
            }
            _ => false,
        });
        if local {
            Path::Lan
        } else {
            Path::Direct
        }
    }

    /// The best path among a device's open connections.
    pub fn best(links: &[sunspace_net::Link]) -> Option<Self> {
        links.iter().map(|link| Path::of(&link.address)).min()
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

    fn full(port: u16, device: &DeviceKeysForTest) -> Multiaddr {
        format!("/ip4/127.0.0.1/tcp/{port}/p2p/{}", device.peer).parse().unwrap_or_else(|_| Multiaddr::empty())
    }

    struct DeviceKeysForTest {
        id: DeviceId,
        peer: sunspace_net::PeerId,
    }

    fn member_device() -> DeviceKeysForTest {
        let id = sunspace_crypto::DeviceKeys::generate().device_id();
        let peer = sunspace_net::peer_of_device(&id).unwrap_or_else(sunspace_net::PeerId::random);
        DeviceKeysForTest { id, peer }
    }

    #[test]
    fn the_peer_book_keeps_the_newest_addresses_first_and_rewrites_only_when_it_matters() {
        let bea = member_device();
        let mut book = PeerBook::default();
        assert!(book.reached(bea.id, &full(4001, &bea), 1_000));
        assert!(!book.reached(bea.id, &full(4001, &bea), 1_000 + 60), "the same place soon after: not written");
        assert!(book.reached(bea.id, &full(4001, &bea), 1_000 + REMEMBER_AGAIN_AFTER));
        for port in 4002..4010 {
            assert!(book.reached(bea.id, &full(port, &bea), 5_000));
        }
        let kept = book.addresses(&bea.id);
        assert_eq!(kept.len(), REMEMBERED_PER_DEVICE);
        assert_eq!(kept[0], full(4009, &bea));
        assert_eq!(book.last(&bea.id).map(|s| s.at), Some(5_000));
        // An address that names another device is never offered for Bea.
        let cal = member_device();
        book.reached(bea.id, &full(4100, &cal), 6_000);
        assert!(!book.addresses(&bea.id).contains(&full(4100, &cal)));
        // Removed from every group: forgotten.
        assert!(book.keep_only(&BTreeSet::from([cal.id])));
        assert!(book.addresses(&bea.id).is_empty());
    }

    #[test]
    fn a_path_is_read_from_the_other_end_of_the_connection() {
        let at = |text: &str| text.parse::<Multiaddr>().unwrap_or_else(|_| Multiaddr::empty());
        assert_eq!(Path::of(&at("/ip4/192.168.1.20/tcp/4001")), Path::Lan);
        assert_eq!(Path::of(&at("/ip4/127.0.0.1/udp/4001/quic-v1")), Path::Lan);
        assert_eq!(Path::of(&at("/ip4/81.2.69.160/tcp/4001")), Path::Direct);
        assert_eq!(Path::of(&at("/ip6/fe80::1/tcp/4001")), Path::Lan);
        let relayed =
            at("/ip4/81.2.69.160/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit");
        assert_eq!(Path::of(&relayed), Path::Relay);
        let link = |address: Multiaddr| sunspace_net::Link { address, dialed: true };
        assert_eq!(Path::best(&[link(relayed), link(at("/ip4/81.2.69.160/tcp/4001"))]), Some(Path::Direct));
        assert_eq!(Path::best(&[]), None);
    }

    #[test]
    fn after_a_wake_or_a_new_network_every_device_is_tried_at_once() {
        let mut reach = Reach::default();
        let mut now = Instant::now();
        // Out of reach for a while: the wait has grown to 16 s.
        for _ in 0..5 {
            while !reach.due_for_retry(device(1), now) {
                now += Duration::from_millis(500);
            }
        }
        assert!(!reach.due_for_retry(device(1), now + Duration::from_secs(5)));
        reach.retry_all_now();
        assert!(reach.due_for_retry(device(1), now + Duration::from_secs(5)));
    }
}
