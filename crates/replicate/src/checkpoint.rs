//! Checkpoints: a member device's signed, sealed copy of the group document as of given log positions, which
//! stands for the entries up to them. A device keeps its newest checkpoint and drops the entries it stands for
//! (history no longer grows without bound on disk), and a device that lacks those entries — a new one — receives
//! the checkpoint and the entries after it, and loads it as a saved document. No I/O here: [`Checkpoint::seal`]
//! makes one, [`Checkpoint::decode`] and [`Checkpoint::open`] read one; the node checks what it stands for.
//!
//! ```text
//! checkpoint = "SSCK" ‖ u8 version (1) ‖ group id (16) ‖ signer device (32) ‖ key epoch u32 ‖ u32 n ‖ n sealed
//!              body bytes ‖ ed25519 signature by the signer (64) over CONTEXT ‖ everything before it
//! sealed body: XChaCha20-Poly1305 under the group's key of that epoch, associated data CONTEXT ‖ the 57-byte
//!              header (magic to epoch)
//! body       = u32 f ‖ f × (author (32) ‖ seq u64 ‖ hash of that entry (32)), authors strictly increasing
//!              ‖ u32 h ‖ h × automerge change hash (32), strictly increasing: the document's heads
//!              ‖ u32 m ‖ m × (u32 length ‖ signed membership operation)
//!              ‖ the document: `automerge::save()` of every change in the entries up to the frontier (the rest)
//! CONTEXT    = "sunspace/checkpoint/v1\0"
//! ```
//!
//! The membership operations are carried whole, each signed by its own author, so a receiver checks them as it
//! checks operations from entries; the document is on the signer's word, checked against the entries by any
//! device that holds them (see `docs/protocol.md`, "Checkpoints").
//!
//! ```
//! use std::collections::BTreeMap;
//! use sunspace_crypto::{DeviceKeys, Secret32};
//! use sunspace_log::GroupId;
//! use sunspace_replicate::{Checkpoint, CheckpointBody};
//!
//! let ana = DeviceKeys::generate();
//! let key = Secret32::random();
//! let body = CheckpointBody { frontier: BTreeMap::new(), heads: vec![], membership: vec![], document: b"doc".to_vec() };
//! let bytes = Checkpoint::seal(&ana, GroupId([7; 16]), 0, &key, &body).encode();
//! let checkpoint = Checkpoint::decode(&bytes).unwrap(); // the signature is checked here
//! assert_eq!(checkpoint.signer, ana.device_id());
//! assert_eq!(checkpoint.open(&key).unwrap(), body);
//! ```

use std::collections::BTreeMap;

use sunspace_crypto::{hash, open, seal, verify_signature, DeviceId, DeviceKeys, Secret32};
use sunspace_log::{GroupId, MAX_BODY_LEN};

use crate::bytes::Reader;

const MAGIC: &[u8; 4] = b"SSCK";
const VERSION: u8 = 1;
const CONTEXT: &[u8] = b"sunspace/checkpoint/v1\0";
/// Bytes before the sealed body: magic, version, group, signer, epoch.
const HEADER_LEN: usize = 4 + 1 + 16 + 32 + 4;
/// Largest encoded checkpoint: it must fit one sync message. A group whose document outgrows it keeps its entries.
pub const MAX_CHECKPOINT_LEN: usize = HEADER_LEN + 4 + MAX_BODY_LEN + 64;
/// Most logs a frontier may list (as many as a heads message may: `MAX_HEADS`).
const MAX_FRONTIER: usize = 4_096;
/// Most document heads (concurrent edits leave a few; thousands mean a forged document).
const MAX_DOC_HEADS: usize = 4_096;
/// Most membership operations.
const MAX_OPS: usize = 100_000;

/// A signed checkpoint, its signature already checked, its body still sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The group it is about.
    pub group: GroupId,
    /// The device that made and signed it.
    pub signer: DeviceId,
    /// The group key epoch its body is sealed under.
    pub epoch: u32,
    sealed: Vec<u8>,
    signature: [u8; 64],
}

/// What a checkpoint holds, once opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointBody {
    /// Per log: the last entry it stands for, and that entry's hash.
    pub frontier: BTreeMap<DeviceId, (u64, [u8; 32])>,
    /// The document's heads (automerge change hashes), sorted.
    pub heads: Vec<[u8; 32]>,
    /// The group's signed membership operations, encoded.
    pub membership: Vec<Vec<u8>>,
    /// `automerge::save()` of the document.
    pub document: Vec<u8>,
}

/// A checkpoint could not be read. Nothing from it was used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Not a checkpoint.
    #[error("it is not a checkpoint")]
    NotACheckpoint,
    /// Written by a newer version.
    #[error("the checkpoint has format {0}, which this version does not read")]
    UnknownVersion(u8),
    /// Larger than the limits.
    #[error("the checkpoint is larger than Sunspace reads")]
    TooLarge,
    /// Cut short, or with bytes after its end.
    #[error("the checkpoint is cut short or malformed")]
    Malformed,
    /// The signature does not hold for the device it names.
    #[error("the checkpoint is not signed by the device it names")]
    BadSignature,
    /// The body does not open under the key: altered, or sealed under another key.
    #[error("the checkpoint's contents fail authentication")]
    Unauthentic,
    /// The frontier or heads are not in canonical order.
    #[error("the checkpoint lists logs or heads out of order or twice")]
    NotCanonical,
}

impl Checkpoint {
    /// Seals `body` under the group's key of `epoch` and signs the result as `signer`.
    pub fn seal(signer: &DeviceKeys, group: GroupId, epoch: u32, key: &Secret32, body: &CheckpointBody) -> Self {
        let mut this = Self { group, signer: signer.device_id(), epoch, sealed: Vec::new(), signature: [0; 64] };
        let header = this.header();
        this.sealed = seal(key, &[CONTEXT, &header].concat(), &body.encode());
        this.signature = signer.sign(&[CONTEXT, &this.signed_part()].concat());
        this
    }

    fn header(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.group.0);
        out.extend_from_slice(&self.signer.0);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out
    }

    fn signed_part(&self) -> Vec<u8> {
        let mut out = self.header();
        out.extend_from_slice(&(self.sealed.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.sealed);
        out
    }

    /// The checkpoint's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.signed_part();
        out.extend_from_slice(&self.signature);
        out
    }

    /// A hash naming this exact checkpoint.
    pub fn digest(&self) -> [u8; 32] {
        hash(&self.encode())
    }

    /// Reads a checkpoint and checks its signer's signature; every size is bounded first.
    pub fn decode(bytes: &[u8]) -> Result<Self, CheckpointError> {
        if bytes.len() > MAX_CHECKPOINT_LEN {
            return Err(CheckpointError::TooLarge);
        }
        let mut reader = Reader::new(bytes, CheckpointError::Malformed);
        if reader.take(4).map_err(|_| CheckpointError::NotACheckpoint)? != MAGIC {
            return Err(CheckpointError::NotACheckpoint);
        }
        let version = reader.u8()?;
        if version != VERSION {
            return Err(CheckpointError::UnknownVersion(version));
        }
        let group = GroupId(reader.array()?);
        let signer = DeviceId(reader.array()?);
        let epoch = reader.u32()?;
        let sealed_len = reader.u32()? as usize;
        let sealed = reader.take(sealed_len)?.to_vec();
        let signature: [u8; 64] = reader.array()?;
        if !reader.rest().is_empty() {
            return Err(CheckpointError::Malformed);
        }
        let this = Self { group, signer, epoch, sealed, signature };
        if !verify_signature(&signer, &[CONTEXT, &this.signed_part()].concat(), &signature) {
            return Err(CheckpointError::BadSignature);
        }
        Ok(this)
    }

    /// Opens the body with the group's key of [`Checkpoint::epoch`] and reads it.
    pub fn open(&self, key: &Secret32) -> Result<CheckpointBody, CheckpointError> {
        let plain =
            open(key, &[CONTEXT, &self.header()].concat(), &self.sealed).map_err(|_| CheckpointError::Unauthentic)?;
        CheckpointBody::decode(&plain)
    }
}

impl CheckpointBody {
    /// The body's bytes (before sealing).
    pub fn encode(&self) -> Vec<u8> {
        let ops: usize = self.membership.iter().map(|op| op.len() + 4).sum();
        let mut out =
            Vec::with_capacity(12 + self.frontier.len() * 72 + self.heads.len() * 32 + ops + self.document.len());
        out.extend_from_slice(&(self.frontier.len() as u32).to_be_bytes());
        for (author, (seq, entry_hash)) in &self.frontier {
            out.extend_from_slice(&author.0);
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(entry_hash);
        }
        out.extend_from_slice(&(self.heads.len() as u32).to_be_bytes());
        for head in &self.heads {
            out.extend_from_slice(head);
        }
        out.extend_from_slice(&(self.membership.len() as u32).to_be_bytes());
        for op in &self.membership {
            out.extend_from_slice(&(op.len() as u32).to_be_bytes());
            out.extend_from_slice(op);
        }
        out.extend_from_slice(&self.document);
        out
    }

    /// Reads a body. A member can seal any body under the group's key, so this decodes hostile bytes: counts are
    /// bounded by what is left before anything is allocated, and the order must be canonical.
    pub fn decode(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let mut reader = Reader::new(bytes, CheckpointError::Malformed);
        let count = bounded(&mut reader, MAX_FRONTIER, 72)?;
        let mut frontier = BTreeMap::new();
        let mut last: Option<DeviceId> = None;
        for _ in 0..count {
            let author = DeviceId(reader.array()?);
            let seq = u64::from_be_bytes(reader.array()?);
            let entry_hash: [u8; 32] = reader.array()?;
            if last.is_some_and(|last| last >= author) || seq == 0 {
                return Err(CheckpointError::NotCanonical);
            }
            last = Some(author);
            frontier.insert(author, (seq, entry_hash));
        }
        let count = bounded(&mut reader, MAX_DOC_HEADS, 32)?;
        let mut heads: Vec<[u8; 32]> = Vec::with_capacity(count);
        for _ in 0..count {
            let head: [u8; 32] = reader.array()?;
            if heads.last().is_some_and(|last| *last >= head) {
                return Err(CheckpointError::NotCanonical);
            }
            heads.push(head);
        }
        let count = bounded(&mut reader, MAX_OPS, 4)?;
        let mut membership = Vec::with_capacity(count);
        for _ in 0..count {
            let len = reader.u32()? as usize;
            membership.push(reader.take(len)?.to_vec());
        }
        Ok(Self { frontier, heads, membership, document: reader.rest().to_vec() })
    }
}

/// A count of items of at least `min_len` bytes each, refused above `max` or beyond what is left.
fn bounded(reader: &mut Reader<'_, CheckpointError>, max: usize, min_len: usize) -> Result<usize, CheckpointError> {
    let count = reader.u32()? as usize;
    if count > max {
        return Err(CheckpointError::TooLarge);
    }
    if count.saturating_mul(min_len) > reader.rest().len() {
        return Err(CheckpointError::Malformed);
    }
    Ok(count)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> (DeviceKeys, Secret32, CheckpointBody, Vec<u8>) {
        let ana = DeviceKeys::generate();
        let key = Secret32::random();
        let body = CheckpointBody {
            frontier: BTreeMap::from([(DeviceId([1; 32]), (4, [9; 32])), (DeviceId([2; 32]), (1, [8; 32]))]),
            heads: vec![[3; 32], [5; 32]],
            membership: vec![b"op one".to_vec(), b"op two".to_vec()],
            document: b"automerge bytes".to_vec(),
        };
        let bytes = Checkpoint::seal(&ana, GroupId([7; 16]), 2, &key, &body).encode();
        (ana, key, body, bytes)
    }

    #[test]
    fn a_checkpoint_reads_back_as_it_was_sealed() {
        let (ana, key, body, bytes) = sample();
        let checkpoint = Checkpoint::decode(&bytes).unwrap();
        assert_eq!((checkpoint.group, checkpoint.signer, checkpoint.epoch), (GroupId([7; 16]), ana.device_id(), 2));
        assert_eq!(checkpoint.open(&key).unwrap(), body);
        assert_eq!(checkpoint.encode(), bytes);
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_refused() {
        let (_, key, _, bytes) = sample();
        for len in 0..bytes.len() {
            assert!(Checkpoint::decode(&bytes[..len]).is_err(), "cut at {len}");
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            let read = Checkpoint::decode(&bad).and_then(|c| c.open(&key));
            assert!(read.is_err(), "flipped byte {i}");
        }
    }

    #[test]
    fn a_checkpoint_resigned_by_another_device_does_not_open_as_the_first_ones() {
        let (_, key, _, bytes) = sample();
        let mallory = DeviceKeys::generate();
        let mut forged = bytes.clone();
        // Claim Mallory as the signer and sign with Mallory's key: the sealed body was bound to Ana's header.
        forged[21..53].copy_from_slice(&mallory.device_id().0);
        let signed_len = forged.len() - 64;
        let signature = mallory.sign(&[CONTEXT, &forged[..signed_len]].concat());
        forged[signed_len..].copy_from_slice(&signature);
        let checkpoint = Checkpoint::decode(&forged).unwrap();
        assert_eq!(checkpoint.open(&key), Err(CheckpointError::Unauthentic));
    }

    #[test]
    fn bodies_out_of_order_or_declaring_more_than_they_hold_are_refused() {
        let mut body = Vec::new();
        body.extend_from_slice(&2u32.to_be_bytes());
        for author in [[2u8; 32], [1u8; 32]] {
            body.extend_from_slice(&author);
            body.extend_from_slice(&1u64.to_be_bytes());
            body.extend_from_slice(&[0; 32]);
        }
        body.extend_from_slice(&[0; 8]);
        assert_eq!(CheckpointBody::decode(&body), Err(CheckpointError::NotCanonical));
        assert_eq!(CheckpointBody::decode(&u32::MAX.to_be_bytes()), Err(CheckpointError::TooLarge));
        assert_eq!(CheckpointBody::decode(&1000u32.to_be_bytes()), Err(CheckpointError::Malformed));
    }

    /// The test vector in `docs/protocol.md` ("Checkpoints"): a body's encoding.
    #[test]
    fn a_body_encodes_as_its_test_vector() {
        let body = CheckpointBody {
            frontier: BTreeMap::from([(DeviceId([0xaa; 32]), (3, [0xbb; 32]))]),
            heads: vec![[0xcc; 32]],
            membership: vec![vec![0xdd, 0xee]],
            document: vec![0x85, 0x6f, 0x4a, 0x83],
        };
        let expected = format!(
            "00000001{}0000000000000003{}00000001{}00000001",
            "aa".repeat(32),
            "bb".repeat(32),
            "cc".repeat(32)
        ) + "00000002ddee856f4a83";
        assert_eq!(hex::encode(body.encode()), expected);
        let protocol = include_str!("../../../docs/protocol.md");
        assert!(
            protocol.contains(&format!("```text\n{expected}\n```")),
            "docs/protocol.md's checkpoint vector is out of date"
        );
        assert_eq!(CheckpointBody::decode(&body.encode()).unwrap(), body);
    }
}
