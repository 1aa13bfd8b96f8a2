//! Device ids and libp2p peer ids are the same ed25519 key.

use libp2p::identity::{self, Keypair};
use libp2p::PeerId;
use sunspace_crypto::{DeviceId, Secret32};

/// The libp2p keypair of a device, from its signing seed.
pub(crate) fn keypair(signing_seed: &Secret32) -> Keypair {
    // ed25519_from_bytes zeroizes the buffer it is given, so it gets a copy of the seed.
    let mut copy = *signing_seed.expose();
    #[allow(clippy::expect_used)]
    Keypair::ed25519_from_bytes(&mut copy).expect("every 32-byte string is a valid ed25519 seed")
}

/// The peer id of a device, or `None` if the bytes are not an ed25519 public key.
pub fn peer_of_device(device: &DeviceId) -> Option<PeerId> {
    let key = identity::ed25519::PublicKey::try_from_bytes(&device.0).ok()?;
    Some(identity::PublicKey::from(key).to_peer_id())
}

/// The device named by an address's `/p2p/` part, if it has one.
pub fn device_of_address(address: &libp2p::Multiaddr) -> Option<DeviceId> {
    address.iter().find_map(|protocol| match protocol {
        libp2p::multiaddr::Protocol::P2p(peer) => device_of_peer(&peer),
        _ => None,
    })
}

/// The device behind a peer id, or `None` for a peer id that is not an ed25519 key.
pub fn device_of_peer(peer: &PeerId) -> Option<DeviceId> {
    let key = identity::PublicKey::try_decode_protobuf(peer.as_ref().digest()).ok()?;
    Some(DeviceId(key.try_into_ed25519().ok()?.to_bytes()))
}

#[cfg(test)]
mod tests {
    use sunspace_crypto::DeviceKeys;

    use super::*;

    #[test]
    fn a_device_and_its_peer_id_are_the_same_key() {
        // The signing seed of docs/protocol.md's test vector.
        let seed = Secret32::from_bytes([1; 32]);
        let device = DeviceKeys::from_seeds(&seed, &Secret32::from_bytes([2; 32])).device_id();
        let peer = keypair(&seed).public().to_peer_id();
        assert_eq!(peer.to_string(), "12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5");
        assert_eq!(peer_of_device(&device), Some(peer));
        assert_eq!(device_of_peer(&peer), Some(device));
    }
}
