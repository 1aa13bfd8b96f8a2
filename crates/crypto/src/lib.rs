//! Sunspace's cryptographic primitives, with no I/O.
//!
//! - [`Secret32`]: 32 secret bytes that are zeroized on drop, compared in constant time and never printed.
//! - [`DeviceKeys`]: a device's ed25519 signing key (its identity, [`DeviceId`]) and X25519 agreement key.
//! - [`kdf`]: Argon2id derivation of the passphrase key that protects everything a device stores.
//! - [`seal`] / [`open`]: XChaCha20-Poly1305 with a random 192-bit nonce and associated data.
//! - [`hash`]: SHA-256, used for entry hashes and hash chains.
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
pub use wrap::{unwrap_key, wrap_key, UnwrapError, WrappedKey, WRAPPED_KEY_LEN};

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
