//! Layout 1 to layout 2: moving a store written before names at rest ([`crate::at_rest`]) — group and device ids
//! in its keys — to hidden names, on the unlock after an upgrade.

use sunspace_crypto::DeviceId;
use sunspace_log::GroupId;

use crate::at_rest::{Shelf, LAYOUT_HIDDEN_NAMES, META_LAYOUT};
use crate::records::GroupKeys;
use crate::NodeError;

/// Moves every group a store holds with ids in the clear (layout 1, or a group an older version wrote since) to
/// hidden names. Returns the groups that could not be moved, each with a sentence: they stay as they are, the
/// device still unlocks, and the next unlock tries again.
///
/// Every step can be repeated. A group is moved while its old keys record (`group-keys/<id>`) exists, and that
/// record is removed last, after its logs, snapshot and unsent edits: a crash part-way leaves it, and the next
/// unlock copies again what is still under the old names (new copies are replaced, never appended to twice).
/// Old copies may survive inside sled's files until it reuses the space.
pub(crate) fn migrate_to_hidden_names(shelf: &Shelf) -> Result<Vec<(GroupId, String)>, NodeError> {
    let store = shelf.store();
    match store.get_meta(META_LAYOUT)?.as_deref() {
        None | Some(LAYOUT_HIDDEN_NAMES) => {}
        Some(other) => {
            return Err(NodeError::UnknownFormat {
                found: format!("layout {}", String::from_utf8_lossy(other).chars().take(20).collect::<String>()),
                expected: "layout 2".into(),
            })
        }
    }
    let mut failed = Vec::new();
    let mut moved = 0;
    for name in store.meta_names(LEGACY_KEYS_PREFIX)? {
        let Some(id) = name.strip_prefix(LEGACY_KEYS_PREFIX).and_then(GroupId::from_hex) else { continue };
        match move_group(shelf, &id) {
            Ok(()) => moved += 1,
            Err(error) => {
                tracing::error!(group = %id, %error, "a group could not be moved to hidden names; it stays as it was");
                failed.push((id, format!("it could not be moved to this version's storage ({error})")));
            }
        }
    }
    if failed.is_empty() {
        store.put_meta(META_LAYOUT, LAYOUT_HIDDEN_NAMES)?;
    }
    store.flush()?;
    if moved > 0 {
        tracing::info!(groups = moved, "stored records moved to hidden names");
    }
    Ok(failed)
}

const LEGACY_KEYS_PREFIX: &str = "group-keys/";

fn move_group(shelf: &Shelf, id: &GroupId) -> Result<(), NodeError> {
    let store = shelf.store();
    let legacy = id.0;
    let legacy_keys_name = format!("{LEGACY_KEYS_PREFIX}{}", id.to_hex());
    let legacy_pending = format!("pending/{}", id.to_hex());
    if let Some(sealed) = store.get_meta(&legacy_keys_name)? {
        GroupKeys::open_legacy(shelf.storage_key(), id, &sealed)?.save(shelf, id)?;
    }
    for (log, head) in store.log_heads(&legacy)? {
        let author = DeviceId(log.author);
        shelf.truncate_log(id, &author, 0)?;
        let mut next = 1;
        'log: while next <= head {
            let page = store.entries(&log, next, 256)?;
            if page.is_empty() {
                break;
            }
            for (seq, bytes) in page {
                if seq != next {
                    // A gap: what follows could never be replayed; peers send it again.
                    tracing::warn!(seq = next, "an old log has a gap; the entries after it are left to peers");
                    break 'log;
                }
                shelf.append_entry(id, &author, seq, &bytes)?;
                next = seq + 1;
            }
        }
    }
    // Snapshots and unsent edits are sealed with the group id in their associated data already: they move as
    // they are.
    if let Some(snapshot) = store.snapshot(&legacy)? {
        shelf.put_snapshot(id, &snapshot)?;
    }
    if let Some(count) = store.get_meta(&legacy_pending)? {
        let count_value = crate::records::open_pending_count(shelf.storage_key(), id, &count)?;
        for index in 0..count_value {
            if let Some(chunk) = store.get_meta(&format!("{legacy_pending}/{index}"))? {
                shelf.put_meta(&shelf.unsent_chunk_name(id, index), &chunk)?;
            }
        }
        shelf.put_meta(&shelf.unsent_count_name(id), &count)?;
    }
    store.flush()?;
    // Everything is in its new place and durable: the old records go, the keys record last.
    for (log, _) in store.log_heads(&legacy)? {
        store.truncate_log(&log, 0)?;
    }
    store.remove_snapshot(&legacy)?;
    // Chunks past the count are edits already sealed into entries; they go too.
    for name in store.meta_names(&format!("{legacy_pending}/"))? {
        store.remove_meta(&name)?;
    }
    store.remove_meta(&legacy_pending)?;
    store.flush()?;
    store.remove_meta(&legacy_keys_name)?;
    store.flush()?;
    Ok(())
}
