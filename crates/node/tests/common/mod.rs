//! Devices for the node's tests: in-memory stores, the minimum key-derivation cost.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;

use chrono::NaiveDate;
use sunspace_crypto::kdf::KdfParams;
use sunspace_node::{Passphrase, Vault};
use sunspace_store::MemStore;

/// A new device called `name`.
pub fn device(name: &str) -> Vault {
    let passphrase = Passphrase::new("correct horse battery staple".into());
    Vault::create(Arc::new(MemStore::default()), &passphrase, name, KdfParams::MINIMUM).unwrap()
}

/// The day the tests' records are dated.
pub fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}
