use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::{LogId, Store, StoreError};

/// A [`Store`] in memory, for tests of everything above storage. Same semantics as [`crate::SledStore`].
#[derive(Debug, Default)]
pub struct MemStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    meta: BTreeMap<String, Vec<u8>>,
    logs: BTreeMap<LogId, MemLog>,
    snapshots: BTreeMap<[u8; 16], Vec<u8>>,
    blobs: BTreeMap<String, Vec<u8>>,
}

/// A log: its head, and the entries still held (a compacted log holds none up to some point).
#[derive(Debug, Default)]
struct MemLog {
    head: u64,
    entries: BTreeMap<u64, Vec<u8>>,
}

impl MemStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the maps consistent (every method does one insert), so recover.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemStore {
    fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().meta.get(name).cloned())
    }

    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.lock().meta.insert(name.to_owned(), value.to_vec());
        Ok(())
    }

    fn meta_names(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .lock()
            .meta
            .range(prefix.to_owned()..)
            .map(|(name, _)| name)
            .take_while(|name| name.starts_with(prefix))
            .cloned()
            .collect())
    }

    fn remove_meta(&self, name: &str) -> Result<(), StoreError> {
        self.lock().meta.remove(name);
        Ok(())
    }

    fn append_entry(&self, log: &LogId, seq: u64, entry: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let held = inner.logs.entry(*log).or_default();
        let expected = held.head + 1;
        if seq != expected {
            return Err(StoreError::NotNext { seq, expected });
        }
        held.entries.insert(seq, entry.to_vec());
        held.head = seq;
        Ok(())
    }

    fn truncate_log(&self, log: &LogId, keep: u64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(held) = inner.logs.get_mut(log) {
            held.entries.retain(|seq, _| *seq <= keep);
            held.head = held.head.min(keep);
            if held.head == 0 {
                inner.logs.remove(log);
            }
        }
        Ok(())
    }

    fn compact_log(&self, log: &LogId, through: u64) -> Result<(), StoreError> {
        if through == 0 {
            return Ok(());
        }
        let mut inner = self.lock();
        let held = inner.logs.entry(*log).or_default();
        held.entries.retain(|seq, _| *seq > through);
        held.head = held.head.max(through);
        Ok(())
    }

    fn entries(&self, log: &LogId, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let inner = self.lock();
        let Some(held) = inner.logs.get(log) else { return Ok(Vec::new()) };
        Ok(held.entries.range(from.max(1)..).take(limit).map(|(seq, bytes)| (*seq, bytes.clone())).collect())
    }

    fn log_heads(&self, group: &[u8; 16]) -> Result<Vec<(LogId, u64)>, StoreError> {
        Ok(self
            .lock()
            .logs
            .iter()
            .filter(|(log, held)| &log.group == group && held.head > 0)
            .map(|(log, held)| (*log, held.head))
            .collect())
    }

    fn groups(&self) -> Result<Vec<[u8; 16]>, StoreError> {
        let inner = self.lock();
        let mut groups: Vec<[u8; 16]> = inner.logs.keys().map(|log| log.group).collect();
        groups.extend(inner.snapshots.keys());
        groups.sort();
        groups.dedup();
        Ok(groups)
    }

    fn put_snapshot(&self, group: &[u8; 16], snapshot: &[u8]) -> Result<(), StoreError> {
        self.lock().snapshots.insert(*group, snapshot.to_vec());
        Ok(())
    }

    fn remove_snapshot(&self, group: &[u8; 16]) -> Result<(), StoreError> {
        self.lock().snapshots.remove(group);
        Ok(())
    }

    fn snapshot(&self, group: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().snapshots.get(group).cloned())
    }

    fn put_blob(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        if !crate::is_blob_name(name) {
            return Err(StoreError::BadName);
        }
        self.lock().blobs.insert(name.to_owned(), value.to_vec());
        Ok(())
    }

    fn blob(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if !crate::is_blob_name(name) {
            return Err(StoreError::BadName);
        }
        Ok(self.lock().blobs.get(name).cloned())
    }

    fn remove_blob(&self, name: &str) -> Result<(), StoreError> {
        if !crate::is_blob_name(name) {
            return Err(StoreError::BadName);
        }
        self.lock().blobs.remove(name);
        Ok(())
    }

    fn blob_names(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.lock().blobs.keys().filter(|name| name.starts_with(prefix)).cloned().collect())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
