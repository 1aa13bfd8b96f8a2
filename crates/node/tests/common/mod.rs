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

/// Everything `from` holds that `to` lacks, as a peer would send it (sealing `from`'s waiting edits first, as the
/// engine does when a peer is there).
pub fn sync(from: &mut sunspace_node::OpenGroup, to: &mut sunspace_node::OpenGroup) -> sunspace_node::Receipt {
    from.persist_pending().unwrap();
    let theirs = to.heads();
    let ranges: Vec<sunspace_replicate::Range> = from
        .heads()
        .into_iter()
        .filter_map(|(author, last)| {
            let held = theirs.get(&author).copied().unwrap_or(0);
            (last > held).then_some(sunspace_replicate::Range { author, first: held + 1, last })
        })
        .collect();
    // As the engine sends them: the checkpoint first where `from` no longer holds the entries.
    let (checkpoint, entries) = from.entries_for(&ranges).unwrap();
    if let Some(checkpoint) = checkpoint {
        let taken = to.receive_checkpoint(&checkpoint).unwrap();
        assert_eq!(taken.refused, None, "an honest checkpoint was refused");
    }
    to.receive(entries).unwrap()
}

/// The entries `from` holds that `to` lacks, in log order (sealing `from`'s waiting edits first).
pub fn missing(from: &mut sunspace_node::OpenGroup, to: &sunspace_node::OpenGroup) -> Vec<Vec<u8>> {
    from.persist_pending().unwrap();
    let theirs = to.heads();
    let mut entries = Vec::new();
    for (author, last) in from.heads() {
        let held = theirs.get(&author).copied().unwrap_or(0);
        if last > held {
            entries.extend(from.read_entries(author, held + 1, last).unwrap());
        }
    }
    entries
}

/// `newcomer` admitted in person by `inviter` as a new member called `name`, with the history sent over.
pub fn admit(inviter: &mut sunspace_node::OpenGroup, newcomer: &Vault, name: &str) -> sunspace_node::OpenGroup {
    let admission = sunspace_node::Admission {
        device: newcomer.device_id(),
        agreement: newcomer.agreement_public(),
        name: name.into(),
        own_device: false,
        existing_member: None,
        via_qr: false,
    };
    let (_, wrapped) = inviter.admit(&admission).unwrap();
    let mut joined = newcomer.accept_group(inviter.id(), &wrapped, &inviter.view().name).unwrap();
    let receipt = sync(inviter, &mut joined);
    assert!(receipt.rejected.is_empty(), "{receipt:?}");
    joined
}

/// Every byte of every file under `dir`.
pub fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_bytes(&path));
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
    out
}
