use std::path::Path;

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::{LogId, Store, StoreError};

/// A [`Store`] in a sled database directory.
///
/// Trees: `meta` (name → value), `entries` (group ‖ author ‖ seq, big-endian → entry), `heads` (group ‖ author →
/// last seq, kept in the same transaction as the append so the two never disagree) and `snapshots` (group →
/// snapshot). Keys are ids and counters only; every value arrives sealed.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    meta: sled::Tree,
    entries: sled::Tree,
    heads: sled::Tree,
    snapshots: sled::Tree,
}

impl SledStore {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let path = path.to_owned();
        // sled panics on some kinds of damaged file instead of returning an error; a damaged file must give the
        // user a sentence, not a crash, so the panic is caught and reported as damage.
        let opened = std::panic::catch_unwind(move || sled::Config::new().path(path).open());
        let db = match opened {
            Ok(result) => result.map_err(map_sled_error)?,
            Err(_) => return Err(StoreError::Corrupted("the database files could not be read".into())),
        };
        let tree = |name: &str| db.open_tree(name).map_err(map_sled_error);
        Ok(Self {
            meta: tree("meta")?,
            entries: tree("entries")?,
            heads: tree("heads")?,
            snapshots: tree("snapshots")?,
            db,
        })
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(map_sled_error)
    }
}

fn map_sled_error(error: sled::Error) -> StoreError {
    match error {
        sled::Error::Io(io) => map_io_error(io),
        sled::Error::Corruption { at, .. } => StoreError::Corrupted(match at {
            Some(at) => format!("damaged data at {at}"),
            None => "damaged data".into(),
        }),
        sled::Error::ReportableBug(bug) => StoreError::Corrupted(bug),
        sled::Error::Unsupported(what) => StoreError::Corrupted(what),
        sled::Error::CollectionNotFound(_) => StoreError::Corrupted("a table is missing".into()),
    }
}

fn map_io_error(io: std::io::Error) -> StoreError {
    const ENOSPC: i32 = 28;
    if io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(ENOSPC) {
        StoreError::DiskFull
    } else if io.to_string().contains("lock") {
        StoreError::Locked
    } else {
        StoreError::Io(io)
    }
}

fn log_prefix(log: &LogId) -> [u8; 48] {
    let mut key = [0u8; 48];
    key[..16].copy_from_slice(&log.group);
    key[16..].copy_from_slice(&log.author);
    key
}

fn entry_key(log: &LogId, seq: u64) -> [u8; 56] {
    let mut key = [0u8; 56];
    key[..48].copy_from_slice(&log_prefix(log));
    key[48..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn decode_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| StoreError::Corrupted("a log head is malformed".into()))?;
    Ok(u64::from_be_bytes(array))
}

impl Store for SledStore {
    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(name).map_err(map_sled_error)?.map(|value| value.to_vec()))
    }

    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(name, value).map_err(map_sled_error)?;
        Ok(())
    }

    fn meta_names(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.meta
            .scan_prefix(prefix)
            .keys()
            .map(|key| {
                let key = key.map_err(map_sled_error)?;
                String::from_utf8(key.to_vec()).map_err(|_| StoreError::Corrupted("a meta name is malformed".into()))
            })
            .collect()
    }

    fn remove_meta(&self, name: &str) -> Result<(), StoreError> {
        self.meta.remove(name).map_err(map_sled_error)?;
        Ok(())
    }

    fn append_entry(&self, log: &LogId, seq: u64, entry: &[u8]) -> Result<(), StoreError> {
        let head_key = log_prefix(log);
        let result = (&self.entries, &self.heads).transaction(|(entries, heads)| {
            let last = match heads.get(head_key)? {
                Some(bytes) => decode_u64(&bytes).map_err(ConflictableTransactionError::Abort)?,
                None => 0,
            };
            if seq != last + 1 {
                return Err(ConflictableTransactionError::Abort(StoreError::NotNext { seq, expected: last + 1 }));
            }
            entries.insert(&entry_key(log, seq)[..], entry)?;
            heads.insert(&head_key[..], &seq.to_be_bytes()[..])?;
            Ok(())
        });
        result.map_err(|error| match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => map_sled_error(error),
        })
    }

    fn truncate_log(&self, log: &LogId, keep: u64) -> Result<(), StoreError> {
        let head_key = log_prefix(log);
        let result = (&self.entries, &self.heads).transaction(|(entries, heads)| {
            let last = match heads.get(head_key)? {
                Some(bytes) => decode_u64(&bytes).map_err(ConflictableTransactionError::Abort)?,
                None => 0,
            };
            for seq in keep.saturating_add(1)..=last {
                entries.remove(&entry_key(log, seq)[..])?;
            }
            if keep < last {
                if keep == 0 {
                    heads.remove(&head_key[..])?;
                } else {
                    heads.insert(&head_key[..], &keep.to_be_bytes()[..])?;
                }
            }
            Ok(())
        });
        result.map_err(|error| match error {
            TransactionError::Abort(error) => error,
            TransactionError::Storage(error) => map_sled_error(error),
        })
    }

    fn entries(&self, log: &LogId, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let start = entry_key(log, from.max(1));
        let end = entry_key(log, u64::MAX);
        self.entries
            .range(start..=end)
            .take(limit)
            .map(|item| {
                let (key, value) = item.map_err(map_sled_error)?;
                Ok((decode_u64(&key[48..])?, value.to_vec()))
            })
            .collect()
    }

    fn log_heads(&self, group: &[u8; 16]) -> Result<Vec<(LogId, u64)>, StoreError> {
        self.heads
            .scan_prefix(group)
            .map(|item| {
                let (key, value) = item.map_err(map_sled_error)?;
                let author: [u8; 32] =
                    key[16..].try_into().map_err(|_| StoreError::Corrupted("a log key is malformed".into()))?;
                Ok((LogId { group: *group, author }, decode_u64(&value)?))
            })
            .collect()
    }

    fn groups(&self) -> Result<Vec<[u8; 16]>, StoreError> {
        let mut groups = Vec::new();
        for tree in [&self.heads, &self.snapshots] {
            for key in tree.iter().keys() {
                let key = key.map_err(map_sled_error)?;
                let group: [u8; 16] = key
                    .get(..16)
                    .and_then(|g| g.try_into().ok())
                    .ok_or_else(|| StoreError::Corrupted("a group key is malformed".into()))?;
                groups.push(group);
            }
        }
        groups.sort();
        groups.dedup();
        Ok(groups)
    }

    fn put_snapshot(&self, group: &[u8; 16], snapshot: &[u8]) -> Result<(), StoreError> {
        self.snapshots.insert(group, snapshot).map_err(map_sled_error)?;
        Ok(())
    }

    fn remove_snapshot(&self, group: &[u8; 16]) -> Result<(), StoreError> {
        self.snapshots.remove(group).map_err(map_sled_error)?;
        Ok(())
    }

    fn snapshot(&self, group: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.snapshots.get(group).map_err(map_sled_error)?.map(|value| value.to_vec()))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(map_sled_error)?;
        FLUSHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// Flushes to disk made by every sled store of this process: what the benchmarks count per edit.
static FLUSHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many times this process's sled stores flushed to disk (each an fsync of sled's files).
pub fn flushes() -> u64 {
    FLUSHES.load(std::sync::atomic::Ordering::Relaxed)
}
