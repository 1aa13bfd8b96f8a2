//! A device's keys.
//!
//! Each device has an ed25519 signing key, whose public half is its [`DeviceId`] (and later its libp2p identity),
//! and an X25519 key that others use to wrap group keys for it. Both come from 32-byte seeds that are stored only
//! sealed under the passphrase key.

use std::fmt;

use ed25519_dalek::{Signer, Verifier};
use serde::{Deserialize, Serialize};

use crate::Secret32;

/// Length of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// An ed25519 signature.
pub type Signature = [u8; SIGNATURE_LEN];

/// A device's public identity: its ed25519 verifying key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeviceId(pub [u8; 32]);

impl DeviceId {
    /// Lowercase hex of the 32 bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The first 8 hex characters, for people to read.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({})", self.short())
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A device's two key pairs. Secrets are zeroized on drop; `Debug` shows only the public identity.
#[derive(Clone)]
pub struct DeviceKeys {
    signing: ed25519_dalek::SigningKey,
    agreement: x25519_dalek::StaticSecret,
}

impl DeviceKeys {
    /// Fresh random keys for a new device.
    pub fn generate() -> Self {
        Self::from_seeds(&Secret32::random(), &Secret32::random())
    }

    /// Rebuilds keys from their stored seeds.
    pub fn from_seeds(signing_seed: &Secret32, agreement_seed: &Secret32) -> Self {
        Self {
            signing: ed25519_dalek::SigningKey::from_bytes(signing_seed.expose()),
            agreement: x25519_dalek::StaticSecret::from(*agreement_seed.expose()),
        }
    }

    /// The seed of the signing key, for sealing into storage.
    pub fn signing_seed(&self) -> Secret32 {
        Secret32::from_bytes(self.signing.to_bytes())
    }

    /// The seed of the agreement key, for sealing into storage.
    pub fn agreement_seed(&self) -> Secret32 {
        Secret32::from_bytes(self.agreement.to_bytes())
    }

    /// This device's public identity.
    pub fn device_id(&self) -> DeviceId {
        DeviceId(self.signing.verifying_key().to_bytes())
    }

    /// The public X25519 key others wrap group keys to.
    pub fn agreement_public(&self) -> [u8; 32] {
        x25519_dalek::PublicKey::from(&self.agreement).to_bytes()
    }

    /// The X25519 shared secret with `public`, or `None` if `public` is a low-order point (no secret agreed).
    pub fn agree(&self, public: &[u8; 32]) -> Option<Secret32> {
        let shared = self.agreement.diffie_hellman(&x25519_dalek::PublicKey::from(*public));
        shared.was_contributory().then(|| Secret32::from_bytes(*shared.as_bytes()))
    }

    /// Signs `message` with the device's ed25519 key.
    pub fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for DeviceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKeys").field("device_id", &self.device_id()).finish_non_exhaustive()
    }
}

/// Whether `signature` is `device`'s valid signature of `message` (strict verification: no malleable encodings).
pub fn verify_signature(device: &DeviceId, message: &[u8], signature: &Signature) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&device.0) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_bytes(signature);
    key.verify_strict(message, &signature).is_ok() && key.verify(message, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_rebuilt_from_seeds_are_the_same_device() {
        let keys = DeviceKeys::generate();
        let again = DeviceKeys::from_seeds(&keys.signing_seed(), &keys.agreement_seed());
        assert_eq!(keys.device_id(), again.device_id());
        assert_eq!(keys.agreement_public(), again.agreement_public());
    }

    #[test]
    fn a_signature_verifies_only_for_its_message_and_device() {
        let keys = DeviceKeys::generate();
        let other = DeviceKeys::generate();
        let signature = keys.sign(b"entry");
        assert!(verify_signature(&keys.device_id(), b"entry", &signature));
        assert!(!verify_signature(&keys.device_id(), b"entrx", &signature));
        assert!(!verify_signature(&other.device_id(), b"entry", &signature));
    }

    #[test]
    fn debug_shows_no_secret_material() {
        let keys = DeviceKeys::from_seeds(&Secret32::from_bytes([0x5a; 32]), &Secret32::from_bytes([0x6b; 32]));
        let printed = format!("{keys:?}");
        assert!(!printed.contains("5a5a") && !printed.contains("6b6b"), "{printed}");
    }
}
