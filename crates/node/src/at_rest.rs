//! Names at rest: where a device's records sit in its store, under names only its own storage key can compute.
//!
//! A seized disk should not say which groups a device is in, who else is in them, or when someone was removed.
//! Device ids are what libp2p and mDNS show on the network and group ids travel in handshakes, so neither may
//! appear in the store's keys or in the bytes of a stored entry. [`Shelf`] is the one way the rest of the node
//! reaches group records in the store:
//!
//! ```text
//! names key   = keyed_hash(storage key, "sunspace/at-rest/names/v1")
//! group name  = keyed_hash(names key, "sunspace/at-rest/group/v1", group id)[..16]
//! log name    = group name ‖ keyed_hash(names key, "sunspace/at-rest/log/v1", group id, device id)
//! entry value = seal(storage key, "sunspace/at-rest/entry/v1\0" ‖ log name ‖ seq, encoded entry)
//! meta names  = "keys/<hex group name>", "unsent/<hex group name>", "unsent/<hex group name>/<i>"
//! file names  = "checkpoint-<hex group name>", "view-<hex group name>", "snapshot-<hex group name>"
//! ```
//!
//! Sealing each entry once more hides its header (group, author, seq, epoch, kind, previous hash), so a disk does
//! not show which entries are membership operations (a removal, a key rotation). Reading goes the other way: the
//! store lists group names and log names; the group's id comes out of its sealed keys record, and each log's
//! author out of its first entry, checked against the name it was found under.
//!
//! A directory written before names at rest (layout 1: ids in the clear) is moved over when it is next unlocked
//! ([`crate::layout::migrate_to_hidden_names`]), as is any group an older version writes into it later.
//!
//! ```
//! # use std::sync::Arc;
//! # use sunspace_crypto::kdf::KdfParams;
//! # use sunspace_node::{Passphrase, Vault};
//! # use sunspace_store::{MemStore, Store};
//! let store = Arc::new(MemStore::default());
//! let vault = Vault::create(store.clone(), &Passphrase::new("correct horse battery staple".into()), "Ana", KdfParams::MINIMUM).unwrap();
//! let group = vault.create_group("Tenants", chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()).unwrap();
//! // The store knows the group only by a name that is not its id.
//! assert_eq!(store.groups().unwrap().len(), 1);
//! assert_ne!(store.groups().unwrap()[0], group.id().0);
//! ```

use std::sync::Arc;

use sunspace_crypto::{keyed_hash, open, seal, DeviceId, Secret32};
use sunspace_log::{Entry, GroupId};
use sunspace_store::{LogId, Store, StoreError};

/// Plaintext meta record naming the layout of the store's records. Absent in layout 1.
pub(crate) const META_LAYOUT: &str = "layout";
/// The layout this build writes: names at rest.
pub(crate) const LAYOUT_HIDDEN_NAMES: &[u8] = b"2";

/// The store, seen through this device's storage key.
#[derive(Clone)]
pub(crate) struct Shelf {
    store: Arc<dyn Store>,
    storage_key: Secret32,
    names: Secret32,
}

/// The meta name of the keys record of the group kept under `name`.
pub(crate) fn keys_name_under(name: &[u8; 16]) -> String {
    format!("keys/{}", hex::encode(name))
}

/// A stored entry that could not be unsealed: the disk was damaged or the record was moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnreadableEntry;

impl Shelf {
    pub(crate) fn new(store: Arc<dyn Store>, storage_key: &Secret32) -> Self {
        let names = Secret32::from_bytes(keyed_hash(storage_key, "sunspace/at-rest/names/v1", &[]));
        Self { store, storage_key: storage_key.clone(), names }
    }

    /// The store itself, for the device-wide records (`kdf`, `device`, `settings`, `group-index`).
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(crate) fn storage_key(&self) -> &Secret32 {
        &self.storage_key
    }

    /// The name a group's snapshot, logs and meta records are kept under.
    pub(crate) fn group_name(&self, group: &GroupId) -> [u8; 16] {
        let full = keyed_hash(&self.names, "sunspace/at-rest/group/v1", &[&group.0]);
        let mut name = [0u8; 16];
        name.copy_from_slice(&full[..16]);
        name
    }

    /// The name one device's log in a group is kept under.
    pub(crate) fn log_name(&self, group: &GroupId, author: &DeviceId) -> LogId {
        LogId {
            group: self.group_name(group),
            author: keyed_hash(&self.names, "sunspace/at-rest/log/v1", &[&group.0, &author.0]),
        }
    }

    pub(crate) fn keys_name(&self, group: &GroupId) -> String {
        keys_name_under(&self.group_name(group))
    }

    pub(crate) fn unsent_count_name(&self, group: &GroupId) -> String {
        format!("unsent/{}", hex::encode(self.group_name(group)))
    }

    pub(crate) fn unsent_chunk_name(&self, group: &GroupId, index: u32) -> String {
        format!("unsent/{}/{index}", hex::encode(self.group_name(group)))
    }

    fn entry_ad(log: &LogId, seq: u64) -> Vec<u8> {
        let mut ad = b"sunspace/at-rest/entry/v1\0".to_vec();
        ad.extend_from_slice(&log.group);
        ad.extend_from_slice(&log.author);
        ad.extend_from_slice(&seq.to_be_bytes());
        ad
    }

    /// Appends entry `seq` of `author`'s log, sealed at rest (see [`Store::append_entry`] for the ordering rule).
    pub(crate) fn append_entry(
        &self,
        group: &GroupId,
        author: &DeviceId,
        seq: u64,
        entry: &[u8],
    ) -> Result<(), StoreError> {
        let log = self.log_name(group, author);
        self.store.append_entry(&log, seq, &seal(&self.storage_key, &Self::entry_ad(&log, seq), entry))
    }

    /// Drops `author`'s entries up to `through`, which the group's checkpoint stands for ([`Store::compact_log`]).
    pub(crate) fn compact_log(&self, group: &GroupId, author: &DeviceId, through: u64) -> Result<(), StoreError> {
        self.store.compact_log(&self.log_name(group, author), through)
    }

    /// The file name of a group's large record of `kind` ("checkpoint", "view"): the kind and the group's name.
    pub(crate) fn blob_name(&self, kind: &str, group: &GroupId) -> String {
        format!("{kind}-{}", hex::encode(self.group_name(group)))
    }

    pub(crate) fn truncate_log(&self, group: &GroupId, author: &DeviceId, keep: u64) -> Result<(), StoreError> {
        self.store.truncate_log(&self.log_name(group, author), keep)
    }

    /// Up to `limit` entries of `author`'s log from `from`, each unsealed (or [`UnreadableEntry`]).
    #[allow(clippy::type_complexity)]
    pub(crate) fn entries(
        &self,
        group: &GroupId,
        author: &DeviceId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Result<Vec<u8>, UnreadableEntry>)>, StoreError> {
        let log = self.log_name(group, author);
        Ok(self
            .store
            .entries(&log, from, limit)?
            .into_iter()
            .map(|(seq, sealed)| {
                (seq, open(&self.storage_key, &Self::entry_ad(&log, seq), &sealed).map_err(|_| UnreadableEntry))
            })
            .collect())
    }

    /// Every log of a group that can be read back, with its last sequence number, ordered by author; and a
    /// sentence for each log whose author could not be learned, which is left out. A log's author comes from its
    /// first entry, or, if that no longer unseals, from `known` (this device and the authors a snapshot covers),
    /// whose log names are computed and compared: this device's own log is never left out unnoticed.
    #[allow(clippy::type_complexity)]
    pub(crate) fn log_heads(
        &self,
        group: &GroupId,
        known: &[DeviceId],
    ) -> Result<(Vec<(DeviceId, u64)>, Vec<String>), StoreError> {
        let mut logs = Vec::new();
        let mut unreadable = Vec::new();
        for (log, head) in self.store.log_heads(&self.group_name(group))? {
            let first = self.store.entries(&log, 1, 1)?;
            let author = first
                .first()
                .and_then(|(seq, sealed)| {
                    let plain = open(&self.storage_key, &Self::entry_ad(&log, *seq), sealed).ok()?;
                    let author = Entry::decode(&plain).ok()?.header().author;
                    // The entry must be the one its place says it is, or a moved record could pose as another log.
                    (*seq == 1 && self.log_name(group, &author) == log).then_some(author)
                })
                .or_else(|| known.iter().copied().find(|author| self.log_name(group, author) == log));
            match author {
                Some(author) => logs.push((author, head)),
                None => {
                    tracing::warn!(entries = head, "a stored log whose first entry cannot be read is left out");
                    unreadable.push(format!(
                        "a stored log of {head} entries is left out: its first entry cannot be read on this device"
                    ));
                }
            }
        }
        logs.sort_by_key(|(author, _)| *author);
        Ok((logs, unreadable))
    }

    pub(crate) fn put_snapshot(&self, group: &GroupId, snapshot: &[u8]) -> Result<(), StoreError> {
        self.store.put_snapshot(&self.group_name(group), snapshot)
    }

    pub(crate) fn snapshot(&self, group: &GroupId) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.snapshot(&self.group_name(group))
    }

    pub(crate) fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get_meta(name)
    }

    pub(crate) fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store.put_meta(name, value)
    }

    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.store.flush()
    }
}
