//! The engine on one device.
//!
//! A [`Vault`] is an unlocked device: its keys, decrypted from the store with the passphrase key. From it,
//! [`Vault::open_group`] gives an [`OpenGroup`]: the group document rebuilt from the encrypted snapshot and the
//! sealed log entries after it. [`OpenGroup::edit`] is the only way to change a document; it runs the edit, turns the
//! new automerge changes into one sealed, signed entry in this device's log, appends it to the store and flushes
//! before returning, so an edit that returned `Ok` survives a crash.
//!
//! ```
//! use std::sync::Arc;
//! use sunspace_crypto::kdf::KdfParams;
//! use sunspace_model::NewMeeting;
//! use sunspace_node::{Passphrase, Vault};
//! use sunspace_store::MemStore;
//!
//! let store = Arc::new(MemStore::default());
//! let passphrase = Passphrase::new("correct horse battery staple".into());
//! let vault = Vault::create(store.clone(), &passphrase, "Ana", KdfParams::MINIMUM).unwrap();
//! let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
//! let mut group = vault.create_group("Warehouse Core Group", today).unwrap();
//! group.edit(|doc| doc.add_meeting(NewMeeting::new(today, "First meeting"))).unwrap();
//!
//! let again = Vault::unlock(store, &passphrase).unwrap();
//! let group = again.open_group(group.id()).unwrap();
//! assert_eq!(group.view().meetings[0].title, "First meeting");
//! ```
//!
//! See `docs/storage.md` for what is on disk and how each part is sealed.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod at_rest;
pub mod command;
mod datadir;
pub mod engine;
mod error;
#[cfg(feature = "test-utils")]
pub mod forge;
mod group;
pub mod handshake;
mod join;
mod layout;
pub mod reach;
mod records;
mod relays;
pub mod status;
mod vault;
mod view_cache;

pub use command::{GroupSnapshot, Node, NodeCommand, NodeOutcome};
pub use datadir::{open_data_dir, DataDirMode, FORMAT_FILE, FORMAT_LINE, STORE_DIR};
pub use engine::{IntegrityKind, IntegrityNote, UnopenedGroup};
pub use engine::{NodeEvent, NodeHandle};
pub use error::NodeError;
pub use group::{
    Admission, CarryReceipt, CheckpointReceipt, OpenGroup, Receipt, RefusedEntry, ToSend, PENDING_MAX_CHANGES,
    SNAPSHOT_EVERY,
};
pub use status::CompartmentView;
pub use sunspace_log::GroupId;
pub use vault::{GroupSummary, Passphrase, Vault, MIN_PASSPHRASE_CHARS};

/// Today's date where this device is: the one "today" every record takes (a meeting's default date, a member's
/// joining, an action done, a role ended), from every front end. Organizers think in their local day; a meeting
/// held in the evening must not be dated tomorrow because UTC has moved on.
pub fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}
