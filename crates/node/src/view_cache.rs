//! What the device last showed of each group, kept sealed so the next start shows it at once.
//!
//! Opening a group replays its history into its automerge document (half a second for ten years of a busy
//! group, on a slow laptop), and materializing the view takes more. A read-only command, or the window's first
//! screen, needs neither when nothing changed since the view was last made: the view is kept, sealed under the
//! storage key, with a **stamp** of what on disk it was made from. A read whose stamp still matches is answered
//! from it; any new entry, pending edit or key makes the stamp differ, and the group is opened as before.
//!
//! ```text
//! file "view-<hex group name>" = seal(storage key, "sunspace/view-cache/v1\0" ‖ group name,
//!                                     stamp (32) ‖ deflate(JSON of the GroupSnapshot))
//! stamp = keyed_hash(storage key, "sunspace/view-cache/stamp/v1",
//!                    each stored log (name ‖ head u64, in the store's order) ‖ every sealed pending-count record
//!                    on the device (the group's and its compartments') ‖ the sealed keys record ‖ the sealed
//!                    compartment-keys record ‖ this build's version)
//! ```
//!
//! The seal authenticates it: a cache altered on disk, or moved from another group, does not open, is said in the
//! log, and the group is opened from its entries (`a_tampered_view_cache_is_refused_and_the_entries_are_read`).
//! The sealed records in the stamp are rewritten with a fresh nonce on every change, so an edit kept pending
//! changes the stamp even though no entry was written.

use sunspace_crypto::{keyed_hash, open, seal};
use sunspace_log::GroupId;
use zeroize::Zeroizing;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::at_rest::Shelf;
use crate::NodeError;

fn cache_name(shelf: &Shelf, group: &GroupId) -> String {
    shelf.blob_name("view", group)
}

/// Where an earlier build kept the view (inside the database, where every rewrite left a stale copy behind).
fn old_cache_name(shelf: &Shelf, group: &GroupId) -> String {
    format!("view/{}", hex::encode(shelf.group_name(group)))
}

fn cache_ad(shelf: &Shelf, group: &GroupId) -> Vec<u8> {
    [b"sunspace/view-cache/v1\0".as_slice(), &shelf.group_name(group)].concat()
}

/// What on disk a view of `group` is made from (see the module docs).
pub(crate) fn stamp(shelf: &Shelf, group: &GroupId) -> Result<[u8; 32], NodeError> {
    let name = shelf.group_name(group);
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for (log, head) in shelf.store().log_heads(&name)? {
        parts.push([log.group.as_slice(), &log.author, &head.to_be_bytes()].concat());
    }
    // Every pending-count record on the device, not only the group's: a compartment's pending edits are counted
    // under the compartment's own name, which only the membership knows. (Another group's edit then makes this
    // view stale too, which only costs an open.)
    let mut metas = shelf.store().meta_names("unsent/")?;
    metas.retain(|meta| meta.matches('/').count() == 1);
    metas.sort();
    metas.extend([shelf.keys_name(group), crate::records::compartment_keys_name(&name)]);
    for meta in metas {
        let value = shelf.get_meta(&meta)?.unwrap_or_default();
        parts.push([meta.as_bytes(), &(value.len() as u64).to_be_bytes(), &value].concat());
    }
    // A view made by another build may show less or more than this one would.
    parts.push(env!("CARGO_PKG_VERSION").as_bytes().to_vec());
    let borrowed: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(keyed_hash(shelf.storage_key(), "sunspace/view-cache/stamp/v1", &borrowed))
}

/// The kept view of `group`, unsealed: stamp ‖ deflated JSON. One that fails authentication is said in the log.
fn kept(shelf: &Shelf, group: &GroupId) -> Option<Zeroizing<Vec<u8>>> {
    let sealed = shelf.store().blob(&cache_name(shelf, group)).ok()??;
    match open(shelf.storage_key(), &cache_ad(shelf, group), &sealed) {
        Ok(plain) => Some(Zeroizing::new(plain)),
        Err(_) => {
            tracing::warn!("the kept view of a group failed authentication; the group is read from its entries");
            None
        }
    }
}

/// The kept view of `group` (a `GroupSnapshot`), if there is one and it was made from what is on disk now.
pub(crate) fn fresh<View: DeserializeOwned>(shelf: &Shelf, group: &GroupId) -> Option<View> {
    let plain = kept(shelf, group)?;
    let (kept_stamp, deflated) = plain.split_at_checked(32)?;
    if kept_stamp != stamp(shelf, group).ok()? {
        return None;
    }
    let json = inflate(deflated)?;
    serde_json::from_slice(&json).ok()
}

/// The stamp of what is on disk now, if the kept view of `group` (if any) was not made from it: the view to keep
/// is worth making only then.
pub(crate) fn stale(shelf: &Shelf, group: &GroupId) -> Result<Option<[u8; 32]>, NodeError> {
    let now = stamp(shelf, group)?;
    let current = kept(shelf, group).is_some_and(|plain| plain.get(..32) == Some(now.as_slice()));
    Ok((!current).then_some(now))
}

/// Keeps `snapshot` as the view of `group` made from what is on disk at `stamp` (from [`stale`]).
pub(crate) fn keep<View: Serialize>(
    shelf: &Shelf,
    group: &GroupId,
    stamp: [u8; 32],
    snapshot: &View,
) -> Result<(), NodeError> {
    let json = Zeroizing::new(
        serde_json::to_vec(snapshot).map_err(|_| NodeError::Damaged("the view could not be kept".into()))?,
    );
    let plain = Zeroizing::new([stamp.as_slice(), &deflate(&json)].concat());
    shelf.store().put_blob(&cache_name(shelf, group), &seal(shelf.storage_key(), &cache_ad(shelf, group), &plain))?;
    let old = old_cache_name(shelf, group);
    if shelf.get_meta(&old)?.is_some() {
        shelf.store().remove_meta(&old)?;
        shelf.flush()?;
    }
    Ok(())
}

/// The longest a kept view may inflate to (it is this device's own, sealed; the bound is a second line).
const MAX_VIEW_BYTES: u64 = 512 * 1024 * 1024;

fn deflate(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

fn inflate(bytes: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    use std::io::Read;
    let mut out = Zeroizing::new(Vec::new());
    flate2::read::DeflateDecoder::new(bytes).take(MAX_VIEW_BYTES).read_to_end(&mut out).ok()?;
    Some(out)
}
