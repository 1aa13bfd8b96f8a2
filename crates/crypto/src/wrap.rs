//! Wrapping a group key for one device: X25519 + HKDF-SHA256 + XChaCha20-Poly1305.
//!
//! The sender makes a fresh ephemeral X25519 key for every wrap, agrees a secret with the recipient's static
//! agreement key, and derives the wrapping key with HKDF (salt: both public keys; info: a version label and the
//! caller's context, such as group id and key epoch). The wrapped key is sealed with that context as associated
//! data, so a wrap for one group, epoch or device cannot be replayed as another.
//!
//! ```
//! use sunspace_crypto::{wrap_key, unwrap_key, DeviceKeys, Secret32};
//! let recipient = DeviceKeys::generate();
//! let group_key = Secret32::random();
//! let wrapped = wrap_key(&recipient.agreement_public(), &group_key, b"group 1, epoch 0");
//! let bytes = wrapped.encode();
//! let received = sunspace_crypto::WrappedKey::decode(&bytes).unwrap();
//! assert_eq!(unwrap_key(&recipient, &received, b"group 1, epoch 0").unwrap(), group_key);
//! ```

use hkdf::Hkdf;
use sha2::Sha256;

use crate::{open, seal, DeviceKeys, OpenError, Secret32, SEAL_OVERHEAD};

/// Length of an encoded [`WrappedKey`]: ephemeral public key and a sealed 32-byte key.
pub const WRAPPED_KEY_LEN: usize = 32 + 32 + SEAL_OVERHEAD;

const WRAP_LABEL: &[u8] = b"sunspace/wrap/v1\0";

/// A 32-byte key sealed to one device's agreement key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    ephemeral_public: [u8; 32],
    sealed: Vec<u8>,
}

/// Unwrapping failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnwrapError {
    /// The encoding has the wrong length.
    #[error("a wrapped key must be {WRAPPED_KEY_LEN} bytes, not {0}")]
    Length(usize),
    /// The ephemeral key is a low-order point: no secret could be agreed.
    #[error("the wrapped key's ephemeral public key is invalid")]
    InvalidPoint,
    /// Not for this device, for another context, or altered.
    #[error("the wrapped key does not open for this device and context")]
    Open(#[from] OpenError),
}

fn wrapping_key(shared: &[u8; 32], ephemeral: &[u8; 32], recipient: &[u8; 32], context: &[u8]) -> Secret32 {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    let hkdf = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut info = WRAP_LABEL.to_vec();
    info.extend_from_slice(context);
    let mut out = [0u8; 32];
    #[allow(clippy::expect_used)]
    hkdf.expand(&info, &mut out).expect("32 bytes is a valid HKDF-SHA256 output length");
    let key = Secret32::from_bytes(out);
    zeroize::Zeroize::zeroize(&mut out);
    key
}

/// Wraps `key` for the device whose public agreement key is `recipient`, bound to `context`.
pub fn wrap_key(recipient: &[u8; 32], key: &Secret32, context: &[u8]) -> WrappedKey {
    let ephemeral = x25519_dalek::StaticSecret::from(*Secret32::random().expose());
    let ephemeral_public = x25519_dalek::PublicKey::from(&ephemeral).to_bytes();
    let shared = ephemeral.diffie_hellman(&x25519_dalek::PublicKey::from(*recipient));
    let wrapping = wrapping_key(shared.as_bytes(), &ephemeral_public, recipient, context);
    WrappedKey { ephemeral_public, sealed: seal(&wrapping, context, key.expose()) }
}

/// Unwraps a key wrapped for `device` with the same `context`.
pub fn unwrap_key(device: &DeviceKeys, wrapped: &WrappedKey, context: &[u8]) -> Result<Secret32, UnwrapError> {
    let shared = device.agree(&wrapped.ephemeral_public).ok_or(UnwrapError::InvalidPoint)?;
    let wrapping = wrapping_key(shared.expose(), &wrapped.ephemeral_public, &device.agreement_public(), context);
    let plain = zeroize::Zeroizing::new(open(&wrapping, context, &wrapped.sealed)?);
    Secret32::from_slice(&plain).ok_or(UnwrapError::Length(plain.len()))
}

impl WrappedKey {
    /// `ephemeral public key ‖ nonce ‖ ciphertext ‖ tag`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(WRAPPED_KEY_LEN);
        out.extend_from_slice(&self.ephemeral_public);
        out.extend_from_slice(&self.sealed);
        out
    }

    /// Reads the encoding made by [`WrappedKey::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Self, UnwrapError> {
        if bytes.len() != WRAPPED_KEY_LEN {
            return Err(UnwrapError::Length(bytes.len()));
        }
        let mut ephemeral_public = [0u8; 32];
        ephemeral_public.copy_from_slice(&bytes[..32]);
        Ok(Self { ephemeral_public, sealed: bytes[32..].to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recipient_with_the_same_context_unwraps() {
        let alice = DeviceKeys::generate();
        let mallory = DeviceKeys::generate();
        let key = Secret32::random();
        let wrapped = wrap_key(&alice.agreement_public(), &key, b"group A epoch 1");
        assert_eq!(unwrap_key(&alice, &wrapped, b"group A epoch 1").unwrap(), key);
        assert!(matches!(unwrap_key(&mallory, &wrapped, b"group A epoch 1"), Err(UnwrapError::Open(_))));
        assert!(matches!(unwrap_key(&alice, &wrapped, b"group A epoch 2"), Err(UnwrapError::Open(_))));
    }

    #[test]
    fn every_wrap_uses_a_fresh_ephemeral_key() {
        let alice = DeviceKeys::generate();
        let key = Secret32::random();
        let a = wrap_key(&alice.agreement_public(), &key, b"c");
        let b = wrap_key(&alice.agreement_public(), &key, b"c");
        assert_ne!(a.encode()[..32], b.encode()[..32]);
    }

    #[test]
    fn a_low_order_ephemeral_key_is_refused() {
        let alice = DeviceKeys::generate();
        let mut bytes = wrap_key(&alice.agreement_public(), &Secret32::random(), b"c").encode();
        bytes[..32].copy_from_slice(&[0u8; 32]);
        let wrapped = WrappedKey::decode(&bytes).unwrap();
        assert_eq!(unwrap_key(&alice, &wrapped, b"c"), Err(UnwrapError::InvalidPoint));
    }

    #[test]
    fn wrong_lengths_and_tampering_are_refused() {
        let alice = DeviceKeys::generate();
        let mut bytes = wrap_key(&alice.agreement_public(), &Secret32::random(), b"c").encode();
        assert_eq!(WrappedKey::decode(&bytes[1..]), Err(UnwrapError::Length(WRAPPED_KEY_LEN - 1)));
        bytes[70] ^= 1;
        let wrapped = WrappedKey::decode(&bytes).unwrap();
        assert!(matches!(unwrap_key(&alice, &wrapped, b"c"), Err(UnwrapError::Open(_))));
    }
}
