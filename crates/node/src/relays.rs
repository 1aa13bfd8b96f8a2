//! Member-run relays, as the engine uses them: which relays the groups list, which circuit addresses reach a
//! member device through them, and — on the device that owns a relay — keeping the relay's list of allowed
//! devices equal to the member devices of the groups that use it.
//!
//! The flow, for a relay `R` that member device `A` runs and records with `sunspace relay add`:
//!
//! ```text
//! A: GroupDoc::set_relay(R, owner = A, addresses)     the roster (encrypted) now names R
//! every member device, every few seconds:
//!   RelayPlan::of(groups) → net.use_relay(R, ..)      listen at <R address>/p2p/R/p2p-circuit
//!   circuit addresses of each member device           dial them when a device is out of reach
//! A only:
//!   RelayPushes::push(plan.owned)                     RelayClients { sequence, member devices } → R
//! ```
//!
//! A removal changes the member devices, so the owner's next tick (at most [`RELAY_TICK`] later) sends `R` a list
//! without the removed devices, and `R` closes their connections.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sunspace_crypto::DeviceId;
use sunspace_log::GroupId;
use sunspace_net::{Multiaddr, NetHandle, Protocol, RelayClients};

use crate::group::OpenGroup;

/// How often the relay plan is recomputed: the engine's reconnect tick.
pub(crate) const RELAY_TICK: Duration = Duration::from_secs(2);
/// An owner sends its relay the full list again this often even when nothing changed, in case the relay
/// restarted without the owner noticing.
const RESEND_EVERY: Duration = Duration::from_secs(10 * 60);

/// What the open groups' rosters say about relays.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RelayPlan {
    /// Every relay any group lists, with its transport addresses (no `/p2p/` part).
    pub(crate) relays: BTreeMap<DeviceId, Vec<Multiaddr>>,
    /// The relays this device owns, with the member devices they should serve.
    pub(crate) owned: BTreeMap<DeviceId, BTreeSet<DeviceId>>,
}

impl RelayPlan {
    /// Reads the plan from the groups' documents and memberships. Records that do not parse are skipped.
    pub(crate) fn of(groups: &BTreeMap<GroupId, OpenGroup>, me: DeviceId) -> Self {
        let mut plan = Self::default();
        for group in groups.values() {
            for record in group.doc().relays() {
                let Some(relay) = DeviceId::from_hex(&record.device) else { continue };
                let addresses = record.addresses.iter().filter_map(|text| transport_address(text));
                let known = plan.relays.entry(relay).or_default();
                for address in addresses {
                    if !known.contains(&address) {
                        known.push(address);
                    }
                }
                if DeviceId::from_hex(&record.owner) == Some(me) {
                    let served = plan.owned.entry(relay).or_default();
                    let members = group.members();
                    served.extend(members.devices.keys().filter(|d| members.is_active_device(d) && **d != relay));
                }
            }
        }
        plan.relays.retain(|_, addresses| !addresses.is_empty());
        plan
    }

    /// The addresses at which `device` is reachable through the listed relays.
    pub(crate) fn circuit_addresses(&self, device: &DeviceId) -> Vec<Multiaddr> {
        let Some(target) = sunspace_net::peer_of_device(device) else { return Vec::new() };
        self.relays
            .iter()
            .filter(|(relay, _)| *relay != device)
            .filter_map(|(relay, addresses)| Some((sunspace_net::peer_of_device(relay)?, addresses)))
            .flat_map(|(relay, addresses)| {
                addresses.iter().map(move |address| {
                    address.clone().with(Protocol::P2p(relay)).with(Protocol::P2pCircuit).with(Protocol::P2p(target))
                })
            })
            .collect()
    }
}

/// A relay's address as recorded, without any `/p2p/` part; `None` for text that is not an address or that is
/// itself a circuit address (a relay is reached directly).
fn transport_address(text: &str) -> Option<Multiaddr> {
    let address: Multiaddr = text.parse().ok()?;
    if address.iter().any(|p| p == Protocol::P2pCircuit) {
        return None;
    }
    Some(address.into_iter().filter(|p| !matches!(p, Protocol::P2p(_))).collect())
}

/// Whether a listen address goes through `relay`.
pub(crate) fn is_through(address: &str, relay: &DeviceId) -> bool {
    sunspace_net::peer_of_device(relay).is_some_and(|peer| address.contains(&format!("/p2p/{peer}/p2p-circuit")))
}

/// On an owner device: the lists last sent to each relay it owns.
#[derive(Debug, Default)]
pub(crate) struct RelayPushes {
    sent: HashMap<DeviceId, (BTreeSet<DeviceId>, Instant)>,
    /// Relays whose last list did not arrive (filled by the sending tasks), to be sent again.
    failed: Arc<Mutex<Vec<DeviceId>>>,
    sequence: u64,
}

impl RelayPushes {
    /// Sends each owned relay its list when it changed, failed, or was sent long ago. Sending happens on its own
    /// task: a relay out of reach must not hold up the engine.
    pub(crate) fn push(&mut self, net: &NetHandle, owned: &BTreeMap<DeviceId, BTreeSet<DeviceId>>) {
        if let Ok(mut failed) = self.failed.lock() {
            for relay in failed.drain(..) {
                self.sent.remove(&relay);
            }
        }
        self.sent.retain(|relay, _| owned.contains_key(relay));
        let now = Instant::now();
        for (relay, devices) in owned {
            let current = self.sent.get(relay).is_some_and(|(sent, at)| sent == devices && now - *at < RESEND_EVERY);
            if current {
                continue;
            }
            // Milliseconds since the epoch, and always increasing: a restarted owner still sends newer lists.
            let millis = chrono::Utc::now().timestamp_millis().try_into().unwrap_or(0);
            self.sequence = millis.max(self.sequence + 1);
            let list = RelayClients { sequence: self.sequence, devices: devices.iter().copied().collect() };
            self.sent.insert(*relay, (devices.clone(), now));
            let (net, failed, relay) = (net.clone(), self.failed.clone(), *relay);
            tokio::spawn(async move {
                match net.send_relay_clients(relay, &list).await {
                    Ok(()) => tracing::info!(relay = %relay.to_hex(), devices = list.devices.len(), "relay updated"),
                    Err(error) => {
                        tracing::info!(relay = %relay.to_hex(), %error, "could not update the relay; will retry");
                        if let Ok(mut failed) = failed.lock() {
                            failed.push(relay);
                        }
                    }
                }
            });
        }
    }

    /// The relay reconnected (it may have restarted and forgotten its list): send it again on the next push.
    pub(crate) fn reconnected(&mut self, relay: &DeviceId) {
        self.sent.remove(relay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_addresses_lose_their_p2p_part_and_circuit_addresses_are_not_relays() {
        let relay = "/ip4/10.77.0.1/tcp/4001/p2p/12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5";
        assert_eq!(transport_address(relay).map(|a| a.to_string()), Some("/ip4/10.77.0.1/tcp/4001".to_owned()));
        assert_eq!(transport_address(&format!("{relay}/p2p-circuit")), None);
        assert_eq!(transport_address("not an address"), None);
    }

    #[test]
    fn a_member_is_reachable_through_every_address_of_every_relay_but_a_relay_not_through_itself() {
        let member = sunspace_crypto::DeviceKeys::from_seeds(
            &sunspace_crypto::Secret32::from_bytes([1; 32]),
            &sunspace_crypto::Secret32::from_bytes([2; 32]),
        )
        .device_id();
        let relay_keys = sunspace_crypto::DeviceKeys::from_seeds(
            &sunspace_crypto::Secret32::from_bytes([3; 32]),
            &sunspace_crypto::Secret32::from_bytes([4; 32]),
        )
        .device_id();
        let mut plan = RelayPlan::default();
        let addresses =
            vec!["/ip4/10.77.0.1/tcp/4001".parse().unwrap(), "/ip4/10.77.0.1/udp/4001/quic-v1".parse().unwrap()];
        plan.relays.insert(relay_keys, addresses);
        let circuits = plan.circuit_addresses(&member);
        assert_eq!(circuits.len(), 2);
        let relay_peer = sunspace_net::peer_of_device(&relay_keys).unwrap();
        let member_peer = sunspace_net::peer_of_device(&member).unwrap();
        assert_eq!(
            circuits[0].to_string(),
            format!("/ip4/10.77.0.1/tcp/4001/p2p/{relay_peer}/p2p-circuit/p2p/{member_peer}")
        );
        assert!(is_through(&circuits[0].to_string(), &relay_keys));
        assert!(plan.circuit_addresses(&relay_keys).is_empty());
    }
}
