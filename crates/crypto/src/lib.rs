//! Sunspace's cryptographic primitives, with no I/O.
//!
//! - [`Secret32`]: 32 secret bytes that are zeroized on drop, compared in constant time and never printed.
//! - [`DeviceKeys`]: a device's ed25519 signing key (its identity, [`DeviceId`]) and X25519 agreement key.
//! - [`kdf`]: Argon2id derivation of the passphrase key that protects everything a device stores.
//! - [`seal`] / [`open`]: XChaCha20-Poly1305 with a random 192-bit nonce and associated data.
//! - [`hash`]: SHA-256, used for entry hashes and hash chains; [`keyed_hash`]: HMAC-SHA256, for names only a key
//!   holder can compute (where a device's records sit in its store).
//! - [`wrap_key`] / [`unwrap_key`]: a group key sealed to one device (X25519 + HKDF + AEAD).
//! - [`short_authentication_string`]: words two people compare aloud to verify a handshake.
//!
//! ```
//! use sunspace_crypto::{open, seal, Secret32};
//! let key = Secret32::random();
//! let sealed = seal(&key, b"header", b"minutes");
//! assert_eq!(open(&key, b"header", &sealed).unwrap(), b"minutes");
//! assert!(open(&key, b"another header", &sealed).is_err());
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod kdf;
mod keys;
mod sas;
mod sealing;
mod secret;
mod wrap;

pub use keys::{verify_signature, DeviceId, DeviceKeys, Signature, SIGNATURE_LEN};
pub use sas::{short_authentication_string, ShortAuthString, SAS_WORDS, WORDLIST};
pub use sealing::{open, seal, seal_with_nonce, OpenError, NONCE_LEN, SEAL_OVERHEAD, TAG_LEN};
pub use secret::{random_array, Secret32};
pub use wrap::{
    unwrap_key, unwrap_key_shared, wrap_key, wrap_key_shared, UnwrapError, WrappedKey, SHARED_WRAP_LEN, WRAPPED_KEY_LEN,
};

/// SHA-256 of `data`.
pub fn hash(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// SHA-256 over several parts, each prefixed by its length so that different splits never collide.
pub fn hash_parts(domain: &str, parts: &[&[u8]]) -> [u8; 32] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update((domain.len() as u64).to_be_bytes());
    hasher.update(domain.as_bytes());
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// A keyed hash (HMAC-SHA256, through HKDF-Expand) over a domain and several length-prefixed parts: the same inputs
/// and key always give the same 32 bytes, and without the key the output cannot be computed or matched to the
/// inputs. Used to name stored records so that a seized disk does not show which groups and devices they are about.
pub fn keyed_hash(key: &Secret32, domain: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut info = Vec::with_capacity(64);
    info.extend_from_slice(&(domain.len() as u64).to_be_bytes());
    info.extend_from_slice(domain.as_bytes());
    for part in parts {
        info.extend_from_slice(&(part.len() as u64).to_be_bytes());
        info.extend_from_slice(part);
    }
    let mut out = [0u8; 32];
    // A 32-byte key is a valid pseudorandom key for HKDF-SHA256 and 32 bytes are a valid output length, so
    // neither call can fail.
    #[allow(clippy::expect_used)]
    let expander = hkdf::Hkdf::<sha2::Sha256>::from_prk(key.expose()).expect("32 bytes is a valid HKDF-SHA256 key");
    #[allow(clippy::expect_used)]
    expander.expand(&info, &mut out).expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

#[cfg(test)]
mod keyed_hash_tests {
    use super::*;

    #[test]
    fn keyed_hash_depends_on_key_domain_and_every_part() {
        let key = Secret32::from_bytes([7; 32]);
        let base = keyed_hash(&key, "d", &[b"ab", b"c"]);
        assert_eq!(base, keyed_hash(&key, "d", &[b"ab", b"c"]));
        assert_ne!(base, keyed_hash(&Secret32::from_bytes([8; 32]), "d", &[b"ab", b"c"]));
        assert_ne!(base, keyed_hash(&key, "e", &[b"ab", b"c"]));
        assert_ne!(base, keyed_hash(&key, "d", &[b"a", b"bc"]));
        assert_ne!(base, hash_parts("d", &[b"ab", b"c"]));
    }

    #[test]
    fn keyed_hash_matches_its_test_vector() {
        // docs/storage.md ("Names at rest") quotes this vector.
        let key = Secret32::from_bytes([1; 32]);
        assert_eq!(hex::encode(keyed_hash(&key, "sunspace/at-rest/group/v1", &[&[2; 16]])), VECTOR_AT_REST_GROUP);
    }

    const VECTOR_AT_REST_GROUP: &str = "c5d53395ce64a9b667aa14191639032514a72377f8ee7c1d57d90f067be90513";
}
