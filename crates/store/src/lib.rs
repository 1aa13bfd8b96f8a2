//! Where a device keeps its bytes.
//!
//! The [`Store`] trait is deliberately small and knows nothing about cryptography: every value it is given is
//! already sealed by the caller (see `docs/storage.md`). It holds three kinds of record:
//!
//! - **meta**: a few named values (the format version, the sealed device secrets, sealed group keys);
//! - **entries**: per-device append-only logs, addressed by ([`LogId`], sequence number), appended strictly in order;
//! - **snapshots**: one cache per group, rebuilt from the group's checkpoint and entries when it cannot be read;
//! - **blobs**: a few large named values (checkpoints, kept views), each a file replaced at once, so that
//!   rewriting them leaves no stale copies behind inside the database.
//!
//! [`SledStore`] keeps them in a sled database on disk; [`MemStore`] in memory, for tests. Both pass the same
//! conformance suite. Writes are durable only after [`Store::flush`]; callers flush before they report success.
//!
//! ```
//! use sunspace_store::{LogId, MemStore, Store};
//! let store = MemStore::default();
//! let log = LogId { group: [1; 16], author: [2; 32] };
//! store.append_entry(&log, 1, b"sealed entry").unwrap();
//! store.flush().unwrap();
//! assert_eq!(store.log_heads(&[1; 16]).unwrap(), vec![(log, 1)]);
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod mem;
mod sled_store;

pub use mem::MemStore;
pub use sled_store::{flushes, SledStore};

/// A device's log within a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogId {
    /// The group's id.
    pub group: [u8; 16],
    /// The author device's id.
    pub author: [u8; 32],
}

/// Longest name of a large value ([`Store::put_blob`]).
pub const MAX_BLOB_NAME: usize = 120;

/// Whether `name` may name a large value: it becomes a file name, so only a short run of safe characters.
pub fn is_blob_name(name: &str) -> bool {
    (1..=MAX_BLOB_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The disk is full.
    #[error("the disk is full: free some space and try again (nothing was lost)")]
    DiskFull,
    /// Another process holds the database.
    #[error("the data directory is in use by another Sunspace process")]
    Locked,
    /// The files on disk are damaged.
    #[error("the store's files are damaged ({0}); restore the data folder from a backup")]
    Corrupted(String),
    /// An append would leave a gap or overwrite an entry.
    #[error("entry {seq} cannot be appended: the log expects entry {expected}")]
    NotNext {
        /// The sequence number given.
        seq: u64,
        /// The sequence number the log expects next.
        expected: u64,
    },
    /// A large value's name is not one [`is_blob_name`] allows (a bug in the caller).
    #[error("a stored value's name is malformed")]
    BadName,
    /// Any other I/O failure.
    #[error("storage failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A device's storage. Values are opaque bytes, sealed by the caller.
pub trait Store: Send + Sync {
    /// Reads a named metadata value.
    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Writes a named metadata value.
    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError>;

    /// The names of every metadata value that starts with `prefix`, in order.
    fn meta_names(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Removes a named metadata value (nothing happens if there is none).
    fn remove_meta(&self, name: &str) -> Result<(), StoreError>;

    /// Appends entry number `seq` to a log; `seq` must be exactly one past the log's last entry (1 for a new log).
    fn append_entry(&self, log: &LogId, seq: u64, entry: &[u8]) -> Result<(), StoreError>;

    /// Drops a log's entries after sequence number `keep`, at once (the log then ends at `keep`). Used only when a
    /// group is rebuilt from its valid entries: what follows an entry that no longer passes cannot be kept either.
    fn truncate_log(&self, log: &LogId, keep: u64) -> Result<(), StoreError>;

    /// Drops a log's entries up to and including `through`, which a checkpoint now stands for. The log's head stays
    /// where it is, or moves up to `through` if the log was shorter (a log taken from a checkpoint starts there):
    /// the next append is one past the head either way, and reads start at the first entry still held.
    fn compact_log(&self, log: &LogId, through: u64) -> Result<(), StoreError>;

    /// Up to `limit` entries of a log, starting at sequence number `from`, in order.
    fn entries(&self, log: &LogId, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;

    /// Every log of a group with the sequence number of its last entry, ordered by author.
    fn log_heads(&self, group: &[u8; 16]) -> Result<Vec<(LogId, u64)>, StoreError>;

    /// Every group that has at least one entry or a snapshot.
    fn groups(&self) -> Result<Vec<[u8; 16]>, StoreError>;

    /// Replaces a group's snapshot.
    fn put_snapshot(&self, group: &[u8; 16], snapshot: &[u8]) -> Result<(), StoreError>;

    /// Removes a group's snapshot (nothing happens if there is none).
    fn remove_snapshot(&self, group: &[u8; 16]) -> Result<(), StoreError>;

    /// A group's snapshot, if one was written.
    fn snapshot(&self, group: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Writes a large named value (a checkpoint, a kept view), replacing an earlier one at once: a reader sees the
    /// old value or the new, never part of either. Unlike the other records it is durable when this returns.
    /// Names are 1 to [`MAX_BLOB_NAME`] characters of `a-z`, `0-9` and `-`.
    fn put_blob(&self, name: &str, value: &[u8]) -> Result<(), StoreError>;

    /// A large named value, if one was written.
    fn blob(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Removes a large named value (nothing happens if there is none).
    fn remove_blob(&self, name: &str) -> Result<(), StoreError>;

    /// The names of every large value that starts with `prefix`, in order.
    fn blob_names(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Makes every write so far durable: after it returns, they survive a crash or power loss.
    fn flush(&self) -> Result<(), StoreError>;
}

#[cfg(test)]
mod conformance;
