use std::path::Path;

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::{LogId, Store, StoreError};

/// A [`Store`] in a sled database directory.
///
/// Trees: `meta` (name → value), `entries` (group ‖ author ‖ seq, big-endian → entry), `heads` (group ‖ author →
/// last seq, kept in the same transaction as the append so the two never disagree) and `snapshots` (group →
/// snapshot, from stores written before snapshots became files). Keys are ids and counters only; every value
/// arrives sealed. Large values — snapshots, checkpoints, kept views — are files in `records/` beside sled's own,
/// each replaced by a rename: rewritten inside sled, every old copy would stay in its segments until its garbage
/// collection ran (several times the live data on the ten-year workload).
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    files: std::path::PathBuf,
    meta: sled::Tree,
    entries: sled::Tree,
    heads: sled::Tree,
    snapshots: sled::Tree,
}

impl SledStore {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let files = path.join(FILES_DIR);
        let path = path.to_owned();
        // sled panics on some kinds of damaged file instead of returning an error; a damaged file must give the
        // user a sentence, not a crash, so the panic is caught and reported as damage.
        let opened = std::panic::catch_unwind(move || sled::Config::new().path(path).open());
        let db = match opened {
            Ok(result) => result.map_err(map_sled_error)?,
            Err(_) => return Err(StoreError::Corrupted("the database files could not be read".into())),
        };
        let tree = |name: &str| db.open_tree(name).map_err(map_sled_error);
        std::fs::create_dir_all(&files).map_err(map_io_error)?;
        Ok(Self {
            files,
            meta: tree("meta")?,
            entries: tree("entries")?,
            heads: tree("heads")?,
            snapshots: tree("snapshots")?,
            db,
        })
    }

    fn blob_path(&self, name: &str) -> Result<std::path::PathBuf, StoreError> {
        if !crate::is_blob_name(name) {
            return Err(StoreError::BadName);
        }
        Ok(self.files.join(name))
    }

    fn list_blobs(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.files).map_err(map_io_error)? {
            let name = entry.map_err(map_io_error)?.file_name();
            if let Some(name) = name.to_str().filter(|n| n.starts_with(prefix) && crate::is_blob_name(n)) {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(map_sled_error)
    }
}

/// The directory, inside sled's, of the large values kept as files.
const FILES_DIR: &str = "records";

fn snapshot_name(group: &[u8; 16]) -> String {
    format!("snapshot-{}", hex_of(group))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `value` to `path` through a temporary file and a rename, both synced, so that a crash leaves the old
/// value or the new one.
fn write_replacing(path: &std::path::Path, value: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let temporary = path.with_extension("new");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(value)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent() {
        // The rename itself is durable only once the directory is synced.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
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

fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
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

    fn compact_log(&self, log: &LogId, through: u64) -> Result<(), StoreError> {
        if through == 0 {
            return Ok(());
        }
        let head_key = log_prefix(log);
        // Removing what a checkpoint stands for may stop part-way (a crash): what is left is skipped by the
        // readers, which start after the checkpoint, and removed by the next compaction.
        let mut batch = sled::Batch::default();
        for key in self.entries.range(entry_key(log, 1)..=entry_key(log, through)).keys() {
            batch.remove(key.map_err(map_sled_error)?);
        }
        self.entries.apply_batch(batch).map_err(map_sled_error)?;
        let head = match self.heads.get(head_key).map_err(map_sled_error)? {
            Some(bytes) => decode_u64(&bytes)?,
            None => 0,
        };
        if head < through {
            self.heads.insert(&head_key[..], &through.to_be_bytes()[..]).map_err(map_sled_error)?;
        }
        Ok(())
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
        for name in self.list_blobs("snapshot-")? {
            let group = name
                .strip_prefix("snapshot-")
                .and_then(hex_array::<16>)
                .ok_or_else(|| StoreError::Corrupted("a snapshot file's name is malformed".into()))?;
            groups.push(group);
        }
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
        self.put_blob(&snapshot_name(group), snapshot)?;
        // A store written before snapshots became files may still hold one in the tree.
        self.snapshots.remove(group).map_err(map_sled_error)?;
        Ok(())
    }

    fn remove_snapshot(&self, group: &[u8; 16]) -> Result<(), StoreError> {
        self.remove_blob(&snapshot_name(group))?;
        self.snapshots.remove(group).map_err(map_sled_error)?;
        Ok(())
    }

    fn snapshot(&self, group: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.blob(&snapshot_name(group))? {
            Some(snapshot) => Ok(Some(snapshot)),
            None => Ok(self.snapshots.get(group).map_err(map_sled_error)?.map(|value| value.to_vec())),
        }
    }

    fn put_blob(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        write_replacing(&self.blob_path(name)?, value).map_err(map_io_error)
    }

    fn blob(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match std::fs::read(self.blob_path(name)?) {
            Ok(value) => Ok(Some(value)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(map_io_error(error)),
        }
    }

    fn blob_names(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.list_blobs(prefix)
    }

    fn remove_blob(&self, name: &str) -> Result<(), StoreError> {
        match std::fs::remove_file(self.blob_path(name)?) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(map_io_error(error)),
        }
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
