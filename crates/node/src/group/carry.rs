//! Carry files on the device (the format is `sunspace_replicate::CarryFile`): what to write for another device,
//! and what a file brought. A file's entries go through [`OpenGroup::receive`], the path entries from the network
//! take, so a file is trusted no more than a peer: a forged, replayed or mis-attributed entry in it is refused,
//! and the others apply. What the writer said it held is remembered (sealed in the store, with when), so that
//! the next file for that device carries only what it lacks, and `status` can say when records last came by
//! file.

use std::collections::BTreeMap;

use sunspace_crypto::{open, seal, DeviceId};
use sunspace_replicate::CarryFile;
use zeroize::Zeroizing;

use super::OpenGroup;
use crate::NodeError;

const CARRIED_AD: &[u8] = b"sunspace/carried/v1";

/// What a carry file did on this device.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CarryReceipt {
    /// The group (hex).
    pub group: String,
    /// The group's name.
    pub group_name: String,
    /// The device that wrote the file (hex).
    pub writer: String,
    /// That device in words ("Bea's device 1a2b3c4d").
    pub writer_name: String,
    /// Entries new to this device, stored and applied.
    pub applied: usize,
    /// Entries this device already held (an old file, or one carried twice).
    pub already_held: usize,
    /// Entries kept for later: they follow entries neither the file nor this device holds yet.
    pub waiting: usize,
    /// Entries refused, with why; none of them was kept.
    pub refused: Vec<String>,
}

/// Per device of the group: how far it said it held each log, in the last file it wrote that this device read,
/// and when that file was read (Unix seconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Carried {
    devices: BTreeMap<String, CarriedFrom>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct CarriedFrom {
    heads: BTreeMap<String, u64>,
    at: i64,
}

impl OpenGroup {
    fn carried_name(&self) -> String {
        format!("carried/{}", hex::encode(self.shelf.group_name(&self.id)))
    }

    fn carried(&self) -> Carried {
        let Ok(Some(sealed)) = self.shelf.get_meta(&self.carried_name()) else { return Carried::default() };
        open(&self.storage_key, CARRIED_AD, &sealed)
            .ok()
            .and_then(|plain| serde_json::from_slice(&Zeroizing::new(plain)).ok())
            .unwrap_or_default()
    }

    fn remember_carried(&self, writer: DeviceId, heads: &BTreeMap<DeviceId, u64>) -> Result<(), NodeError> {
        let mut carried = self.carried();
        let from = carried.devices.entry(writer.to_hex()).or_default();
        // Only the group's logs (a member could name any number of made-up authors), and never past what this
        // device holds itself: heads say what the writer lacks, and claiming more only makes files smaller.
        let ours = self.heads();
        for (author, seq) in heads.iter().filter(|(author, _)| ours.contains_key(author)) {
            let seq = &(*seq).min(ours.get(author).copied().unwrap_or(0));
            let held = from.heads.entry(author.to_hex()).or_insert(0);
            *held = (*held).max(*seq);
        }
        from.at = chrono::Utc::now().timestamp();
        let plain = Zeroizing::new(serde_json::to_vec(&carried).unwrap_or_default());
        self.shelf.put_meta(&self.carried_name(), &seal(&self.storage_key, CARRIED_AD, &plain))?;
        Ok(())
    }

    /// When a file written by each device was last read here (Unix seconds).
    pub fn last_carried(&self) -> BTreeMap<DeviceId, i64> {
        self.carried()
            .devices
            .into_iter()
            .filter_map(|(hex, from)| Some((DeviceId::from_hex(&hex)?, from.at)))
            .collect()
    }

    /// A carry file of the entries `for_device` may lack (every entry held, if it is not named or this device
    /// never read a file from it), sealed to it alone or, when none is named, to every current device of the
    /// group; with how many entries it holds.
    pub fn carry_file(&mut self, for_device: Option<DeviceId>) -> Result<(Vec<u8>, usize), NodeError> {
        // Edits still waiting to be sealed go in the file too.
        self.persist_pending()?;
        let recipients: Vec<[u8; 32]> = match for_device {
            Some(device) => {
                let state = self
                    .members
                    .devices
                    .get(&device)
                    .ok_or_else(|| NodeError::Refused("that device is not a current device of the group".into()))?;
                vec![state.key.agreement]
            }
            None => self.members.devices.values().map(|state| state.key.agreement).collect(),
        };
        let known: BTreeMap<DeviceId, u64> = for_device
            .and_then(|device| self.carried().devices.remove(&device.to_hex()))
            .map(|from| {
                from.heads.into_iter().filter_map(|(hex, seq)| DeviceId::from_hex(&hex).map(|d| (d, seq))).collect()
            })
            .unwrap_or_default();
        let heads = self.heads();
        let ranges: Vec<sunspace_replicate::Range> = heads
            .iter()
            .filter_map(|(author, last)| {
                let first = known.get(author).copied().unwrap_or(0).saturating_add(1);
                (first <= *last).then_some(sunspace_replicate::Range { author: *author, first, last: *last })
            })
            .collect();
        // As to a peer: the checkpoint goes in too where the entries it stands for are no longer held.
        let (checkpoint, entries) = self.entries_for(&ranges)?;
        let count = entries.len();
        let file = CarryFile { group: self.id, writer: self.device.device_id(), heads, entries, checkpoint };
        Ok((file.seal(&self.device, &recipients), count))
    }

    /// Applies an opened carry file's entries as entries from the network, and remembers what its writer held.
    pub fn apply_carried(&mut self, file: CarryFile) -> Result<CarryReceipt, NodeError> {
        // In log order and in batches no larger than the network's, so a file of a million entries in a hostile
        // order costs what the same entries would from a peer.
        let mut receipt = super::Receipt::default();
        if let Some(checkpoint) = &file.checkpoint {
            let taken = self.receive_checkpoint(checkpoint)?;
            receipt.accepted.extend(taken.accepted);
            receipt.rejected.extend(taken.refused);
        }
        let mut entries = file.entries;
        entries.sort_by_cached_key(|bytes| {
            sunspace_log::Entry::decode(bytes).map(|e| (e.header().author, e.header().link.seq)).ok()
        });
        for batch in entries.chunks(sunspace_replicate::MAX_ENTRIES_PER_BATCH) {
            let part = self.receive(batch.to_vec())?;
            receipt.accepted.extend(part.accepted);
            receipt.duplicates += part.duplicates;
            receipt.waiting = part.waiting;
            receipt.rejected.extend(part.rejected);
        }
        // What the writer said it held counts only from a device of the group (a removed device's file is still
        // read for its entries, which pass the usual checks, but it is no longer carried to).
        if self.members.is_active_device(&file.writer) && file.writer != self.device.device_id() {
            self.remember_carried(file.writer, &file.heads)?;
        }
        self.shelf.flush()?;
        Ok(CarryReceipt {
            group: self.id.to_hex(),
            group_name: self.doc.name(),
            writer: file.writer.to_hex(),
            writer_name: self.describe_device(&file.writer),
            applied: receipt.accepted.len(),
            already_held: receipt.duplicates,
            waiting: receipt.waiting,
            refused: receipt.rejected,
        })
    }
}
