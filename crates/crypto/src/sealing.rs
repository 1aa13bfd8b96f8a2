//! Authenticated encryption: XChaCha20-Poly1305 with a random nonce.
//!
//! A sealed box is `nonce (24 bytes) || ciphertext || tag (16 bytes)`. The 192-bit nonce is drawn at random for
//! every seal: with XChaCha's nonce size, random nonces are safe for far more messages than a group will ever write
//! under one key, and no counter has to survive crashes or be shared between devices.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::{random_array, Secret32};

/// Length of the random nonce at the start of a sealed box.
pub const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag at the end of a sealed box.
pub const TAG_LEN: usize = 16;
/// Bytes a sealed box adds to its plaintext.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// Opening a sealed box failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The box is shorter than a nonce and a tag: it was truncated.
    #[error("sealed data is truncated ({len} bytes, at least {SEAL_OVERHEAD} expected)")]
    Truncated {
        /// Length of what was given.
        len: usize,
    },
    /// Wrong key, wrong associated data, or the bytes were changed.
    #[error("sealed data failed authentication (wrong key, or the data was altered)")]
    Authentication,
}

/// Encrypts `plaintext` under `key`, binding `associated_data` (which is not encrypted but must match on opening).
pub fn seal(key: &Secret32, associated_data: &[u8], plaintext: &[u8]) -> Vec<u8> {
    seal_with_nonce(key, random_array(), associated_data, plaintext)
}

/// Sealing with a given nonce: only for test vectors, where output must be reproducible.
#[doc(hidden)]
pub fn seal_with_nonce(key: &Secret32, nonce: [u8; NONCE_LEN], associated_data: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let xnonce = XNonce::from(nonce);
    #[allow(clippy::expect_used)]
    let ciphertext = cipher
        .encrypt(&xnonce, Payload { msg: plaintext, aad: associated_data })
        // Encryption only fails for plaintexts beyond 256 GiB, which nothing in Sunspace comes near.
        .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory sizes");
    let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// Decrypts a box made by [`seal`] with the same key and associated data.
pub fn open(key: &Secret32, associated_data: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(OpenError::Truncated { len: sealed.len() });
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::Truncated { len: sealed.len() })?;
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    cipher
        .decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad: associated_data })
        .map_err(|_| OpenError::Authentication)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sealed_box_opens_with_the_same_key_and_associated_data() {
        let key = Secret32::random();
        let sealed = seal(&key, b"ad", b"hello");
        assert_eq!(sealed.len(), 5 + SEAL_OVERHEAD);
        assert_eq!(open(&key, b"ad", &sealed).unwrap(), b"hello");
    }

    #[test]
    fn sealing_twice_gives_different_boxes() {
        let key = Secret32::random();
        assert_ne!(seal(&key, b"", b"same"), seal(&key, b"", b"same"));
    }

    #[test]
    fn wrong_key_fails_authentication() {
        let sealed = seal(&Secret32::random(), b"", b"hello");
        assert_eq!(open(&Secret32::random(), b"", &sealed), Err(OpenError::Authentication));
    }

    #[test]
    fn truncated_box_is_reported_as_truncated() {
        assert_eq!(open(&Secret32::random(), b"", &[0u8; 10]), Err(OpenError::Truncated { len: 10 }));
    }

    proptest! {
        #[test]
        fn any_single_bit_flip_is_detected(plaintext in proptest::collection::vec(any::<u8>(), 0..200), bit in any::<usize>()) {
            let key = Secret32::random();
            let mut sealed = seal(&key, b"ad", &plaintext);
            let bit = bit % (sealed.len() * 8);
            sealed[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(open(&key, b"ad", &sealed), Err(OpenError::Authentication));
        }
    }
}
