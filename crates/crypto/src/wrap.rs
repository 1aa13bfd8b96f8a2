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

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

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
    derive(WRAP_LABEL, shared, ephemeral, recipient, context)
}

fn derive(label: &[u8], shared: &[u8; 32], ephemeral: &[u8; 32], recipient: &[u8; 32], context: &[u8]) -> Secret32 {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    let hkdf = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut info = label.to_vec();
    info.extend_from_slice(context);
    let mut out = [0u8; 32];
    #[allow(clippy::expect_used)]
    hkdf.expand(&info, &mut out).expect("32 bytes is a valid HKDF-SHA256 output length");
    let key = Secret32::from_bytes(out);
    zeroize::Zeroize::zeroize(&mut out);
    key
}

/// Length of one key in a [`wrap_key_shared`]: the sealed key and its tag, no nonce.
pub const SHARED_WRAP_LEN: usize = 32 + crate::TAG_LEN;

const SHARED_WRAP_LABEL: &[u8] = b"sunspace/wrap-shared/v1\0";

/// Wraps `key` for many devices at once, with one ephemeral X25519 key: what a rotation to 200 devices carries
/// shrinks from 104 bytes a device to [`SHARED_WRAP_LEN`] (48). Each recipient's wrapping key comes from its own
/// shared secret through HKDF (salt: the ephemeral and the recipient's public keys; info: a label of its own and
/// that recipient's context), so every derived key is distinct and seals exactly one key: its nonce can be fixed
/// (zero), and need not travel. `recipients` are (agreement public key, context) pairs; the wraps come back in
/// their order, with the ephemeral public key they share.
pub fn wrap_key_shared(recipients: &[([u8; 32], Vec<u8>)], key: &Secret32) -> ([u8; 32], Vec<[u8; SHARED_WRAP_LEN]>) {
    let ephemeral = x25519_dalek::StaticSecret::from(*Secret32::random().expose());
    let ephemeral_public = x25519_dalek::PublicKey::from(&ephemeral).to_bytes();
    let wraps = recipients
        .iter()
        .map(|(recipient, context)| {
            let shared = ephemeral.diffie_hellman(&x25519_dalek::PublicKey::from(*recipient));
            let wrapping = derive(SHARED_WRAP_LABEL, shared.as_bytes(), &ephemeral_public, recipient, context);
            let cipher = XChaCha20Poly1305::new(wrapping.expose().into());
            #[allow(clippy::expect_used)]
            let sealed = cipher
                .encrypt(&XNonce::default(), Payload { msg: key.expose(), aad: context })
                .expect("XChaCha20-Poly1305 encryption cannot fail for 32 bytes");
            let mut out = [0u8; SHARED_WRAP_LEN];
            out.copy_from_slice(&sealed);
            out
        })
        .collect();
    (ephemeral_public, wraps)
}

/// Unwraps this device's key from a [`wrap_key_shared`].
pub fn unwrap_key_shared(
    device: &DeviceKeys,
    ephemeral_public: &[u8; 32],
    sealed: &[u8; SHARED_WRAP_LEN],
    context: &[u8],
) -> Result<Secret32, UnwrapError> {
    let shared = device.agree(ephemeral_public).ok_or(UnwrapError::InvalidPoint)?;
    let wrapping = derive(SHARED_WRAP_LABEL, shared.expose(), ephemeral_public, &device.agreement_public(), context);
    let cipher = XChaCha20Poly1305::new(wrapping.expose().into());
    let plain = zeroize::Zeroizing::new(
        cipher
            .decrypt(&XNonce::default(), Payload { msg: sealed, aad: context })
            .map_err(|_| UnwrapError::Open(OpenError::Authentication))?,
    );
    Secret32::from_slice(&plain).ok_or(UnwrapError::Length(plain.len()))
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

    #[test]
    fn a_shared_wrap_opens_only_for_its_recipient_with_its_context() {
        let (alice, bob, mallory) = (DeviceKeys::generate(), DeviceKeys::generate(), DeviceKeys::generate());
        let key = Secret32::random();
        let recipients =
            vec![(alice.agreement_public(), b"to alice".to_vec()), (bob.agreement_public(), b"to bob".to_vec())];
        let (ephemeral, wraps) = wrap_key_shared(&recipients, &key);
        assert_eq!(unwrap_key_shared(&alice, &ephemeral, &wraps[0], b"to alice").unwrap(), key);
        assert_eq!(unwrap_key_shared(&bob, &ephemeral, &wraps[1], b"to bob").unwrap(), key);
        assert!(unwrap_key_shared(&bob, &ephemeral, &wraps[0], b"to alice").is_err(), "not Alice's wrap");
        assert!(unwrap_key_shared(&alice, &ephemeral, &wraps[0], b"to bob").is_err(), "another context");
        assert!(unwrap_key_shared(&mallory, &ephemeral, &wraps[0], b"to alice").is_err());
        let mut altered = wraps[0];
        altered[3] ^= 1;
        assert!(unwrap_key_shared(&alice, &ephemeral, &altered, b"to alice").is_err());
        assert!(matches!(
            unwrap_key_shared(&alice, &[0u8; 32], &wraps[0], b"to alice"),
            Err(UnwrapError::InvalidPoint)
        ));
    }
}
