//! Carry files: the sealed entries one device may lack, written to a file that any path can carry (a USB stick,
//! a shared folder, an email attachment), then verified and applied on the other device like entries from the
//! network. No I/O here: [`CarryFile::seal`] makes the bytes, [`CarryFile::open`] reads them.
//!
//! ```text
//! file    = "SSCF" ‖ u8 version (1 or 2) ‖ u16 n ‖ n × wrapped file key (WRAPPED_KEY_LEN each) ‖ sealed body
//! body    = group id (16) ‖ writer device (32) ‖ u32 h ‖ h × (author (32) ‖ seq u64) ‖ u32 e ‖ e × (u32 len ‖ entry)
//!           [version 2: ‖ u32 c ‖ c bytes of a checkpoint, standing for entries the writer no longer holds]
//!           ‖ ed25519 signature by the writer device (64) over "sunspace/carry/v<version>\0" ‖ everything before it
//! file key: random per file, wrapped (X25519, `sunspace_crypto::wrap_key`) to each device the file is for,
//!           context "sunspace/carry/v1\0"; the body is sealed under it (XChaCha20-Poly1305, the same context as
//!           associated data)
//! ```
//!
//! Nothing outside the seal says which group the file is about, who wrote it or for whom: a lost stick shows a
//! file of a certain size and how many devices it is for. Only the devices it was wrapped to open it (the
//! group's current devices, or the one named), so a removed device cannot read a file written after its
//! removal. The entries inside stay individually signed and sealed; opening the file is not trusting them:
//! each goes through the same checks as entries from the network. The writer's heads (how far it held each
//! log) are signed, so the reader knows what to carry back.
//!
//! ```
//! use std::collections::BTreeMap;
//! use sunspace_crypto::DeviceKeys;
//! use sunspace_log::GroupId;
//! use sunspace_replicate::CarryFile;
//!
//! let (ana, bea) = (DeviceKeys::generate(), DeviceKeys::generate());
//! let file = CarryFile { group: GroupId([7; 16]), writer: ana.device_id(), heads: BTreeMap::new(), entries: vec![], checkpoint: None };
//! let bytes = file.seal(&ana, &[bea.agreement_public()]);
//! assert_eq!(CarryFile::open(&bea, &bytes).unwrap(), file);
//! assert!(CarryFile::open(&DeviceKeys::generate(), &bytes).is_err(), "not for a third device");
//! ```

use std::collections::BTreeMap;

use sunspace_crypto::WRAPPED_KEY_LEN;
use sunspace_crypto::{open, seal, unwrap_key, verify_signature, wrap_key, DeviceId, DeviceKeys, Secret32, WrappedKey};
use sunspace_log::{GroupId, MAX_ENTRY_LEN};

use crate::bytes::Reader;

const MAGIC: &[u8; 4] = b"SSCF";
const VERSION: u8 = 1;
/// Version 2 adds a checkpoint; a file without one is still written as version 1, which earlier builds read.
const VERSION_WITH_CHECKPOINT: u8 = 2;
const CONTEXT: &[u8] = b"sunspace/carry/v1\0";
/// What a version 2 file's signature is made over (the seal and the wraps keep [`CONTEXT`]).
const SIGNATURE_CONTEXT_V2: &[u8] = b"sunspace/carry/v2\0";
/// Most devices one file may be for (a group of 40 people has far fewer).
pub const MAX_CARRY_RECIPIENTS: usize = 4_096;
/// Largest carry file read: ten years of a busy group's history are a few megabytes.
pub const MAX_CARRY_FILE_LEN: usize = 256 * 1024 * 1024;
/// Most entries in one file.
pub const MAX_CARRY_ENTRIES: usize = 1_000_000;

/// What a carry file holds, once opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarryFile {
    /// The group the entries are about.
    pub group: GroupId,
    /// The device that wrote the file (it signed it).
    pub writer: DeviceId,
    /// How far the writer held each log of the group when it wrote the file.
    pub heads: BTreeMap<DeviceId, u64>,
    /// Encoded sealed entries, in log order within each author.
    pub entries: Vec<Vec<u8>>,
    /// An encoded checkpoint (`crate::Checkpoint`), when the entries begin after ones the writer no longer holds.
    pub checkpoint: Option<Vec<u8>>,
}

/// A carry file could not be read. Nothing from it was used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarryError {
    /// Not a carry file at all.
    #[error("this is not a Sunspace records file")]
    NotACarryFile,
    /// Written by a newer version.
    #[error("this records file was written by a newer version of Sunspace (format {0})")]
    UnknownVersion(u8),
    /// Larger than [`MAX_CARRY_FILE_LEN`], or declaring more than the limits allow.
    #[error("this records file is larger than Sunspace reads")]
    TooLarge,
    /// Ends early, or altered: it fails authentication.
    #[error("this records file is cut short or was altered, so nothing in it was used")]
    Damaged,
    /// No key in it opens for this device.
    #[error("this records file was not made for this device (or it was altered), so nothing in it was used")]
    NotForThisDevice,
    /// Opened, but its writer's signature does not hold.
    #[error("this records file is not signed by the device it names, so nothing in it was used")]
    BadSignature,
}

impl CarryFile {
    /// Signs the file as `writer` and seals it for the devices whose agreement keys are `recipients`.
    pub fn seal(&self, writer: &DeviceKeys, recipients: &[[u8; 32]]) -> Vec<u8> {
        let key = Secret32::random();
        let mut body = Vec::new();
        body.extend_from_slice(&self.group.0);
        body.extend_from_slice(&self.writer.0);
        body.extend_from_slice(&(self.heads.len() as u32).to_be_bytes());
        for (author, seq) in &self.heads {
            body.extend_from_slice(&author.0);
            body.extend_from_slice(&seq.to_be_bytes());
        }
        body.extend_from_slice(&(self.entries.len() as u32).to_be_bytes());
        for entry in &self.entries {
            body.extend_from_slice(&(entry.len() as u32).to_be_bytes());
            body.extend_from_slice(entry);
        }
        let (version, signature_context) = match &self.checkpoint {
            Some(checkpoint) => {
                body.extend_from_slice(&(checkpoint.len() as u32).to_be_bytes());
                body.extend_from_slice(checkpoint);
                (VERSION_WITH_CHECKPOINT, SIGNATURE_CONTEXT_V2)
            }
            None => (VERSION, CONTEXT),
        };
        let signature = writer.sign(&[signature_context, &body].concat());
        body.extend_from_slice(&signature);
        let recipients = &recipients[..recipients.len().min(MAX_CARRY_RECIPIENTS)];
        let mut out = Vec::with_capacity(7 + recipients.len() * WRAPPED_KEY_LEN + body.len() + 64);
        out.extend_from_slice(MAGIC);
        out.push(version);
        out.extend_from_slice(&(recipients.len() as u16).to_be_bytes());
        for recipient in recipients {
            out.extend_from_slice(&wrap_key(recipient, &key, CONTEXT).encode());
        }
        out.extend_from_slice(&seal(&key, CONTEXT, &body));
        out
    }

    /// Opens a file sealed for `reader`, checks its writer's signature, and reads it; every size is bounded before
    /// anything is allocated. The entries are not checked here: they go through the same checks as entries from
    /// the network.
    pub fn open(reader: &DeviceKeys, bytes: &[u8]) -> Result<Self, CarryError> {
        if bytes.len() > MAX_CARRY_FILE_LEN {
            return Err(CarryError::TooLarge);
        }
        let header = bytes.get(..7).ok_or(CarryError::NotACarryFile)?;
        if &header[..4] != MAGIC {
            return Err(CarryError::NotACarryFile);
        }
        let version = header[4];
        if version != VERSION && version != VERSION_WITH_CHECKPOINT {
            return Err(CarryError::UnknownVersion(version));
        }
        let count = usize::from(u16::from_be_bytes([header[5], header[6]]));
        if count > MAX_CARRY_RECIPIENTS {
            return Err(CarryError::TooLarge);
        }
        let wraps_end = 7 + count * WRAPPED_KEY_LEN;
        let wraps = bytes.get(7..wraps_end).ok_or(CarryError::Damaged)?;
        let key = wraps
            .chunks_exact(WRAPPED_KEY_LEN)
            .filter_map(|chunk| WrappedKey::decode(chunk).ok())
            .find_map(|wrapped| unwrap_key(reader, &wrapped, CONTEXT).ok())
            .ok_or(CarryError::NotForThisDevice)?;
        let sealed = bytes.get(wraps_end..).ok_or(CarryError::Damaged)?;
        let body = open(&key, CONTEXT, sealed).map_err(|_| CarryError::Damaged)?;
        let file = Self::read_body(&body, version)?;
        Ok(file)
    }

    /// Reads an opened file's body (what [`CarryFile::open`] does after the seal): a member can write any body
    /// under a seal of its own, so this is a decoder of hostile bytes too. For the fuzz target.
    #[doc(hidden)]
    pub fn read_opened_body(body: &[u8], version: u8) -> Result<Self, CarryError> {
        Self::read_body(body, version)
    }

    fn read_body(body: &[u8], version: u8) -> Result<Self, CarryError> {
        let signed_len = body.len().checked_sub(64).ok_or(CarryError::Damaged)?;
        let (signed, signature) = body.split_at(signed_len);
        let mut reader = Reader::new(signed, CarryError::Damaged);
        let group = GroupId(reader.array()?);
        let writer = DeviceId(reader.array()?);
        let mut signature_bytes = [0u8; 64];
        signature_bytes.copy_from_slice(signature);
        let signature_context = if version == VERSION_WITH_CHECKPOINT { SIGNATURE_CONTEXT_V2 } else { CONTEXT };
        if !verify_signature(&writer, &[signature_context, signed].concat(), &signature_bytes) {
            return Err(CarryError::BadSignature);
        }
        let head_count = count(&mut reader, MAX_CARRY_RECIPIENTS, 40)?;
        let mut heads = BTreeMap::new();
        for _ in 0..head_count {
            let author = DeviceId(reader.array()?);
            let seq = u64::from_be_bytes(reader.array()?);
            heads.insert(author, seq);
        }
        let entry_count = count(&mut reader, MAX_CARRY_ENTRIES, 4)?;
        let mut entries = Vec::with_capacity(entry_count);
        for _ in 0..entry_count {
            let len = reader.u32()? as usize;
            if len > MAX_ENTRY_LEN {
                return Err(CarryError::TooLarge);
            }
            entries.push(reader.take(len)?.to_vec());
        }
        let mut checkpoint = None;
        if version == VERSION_WITH_CHECKPOINT {
            let len = reader.u32()? as usize;
            if len > crate::MAX_CHECKPOINT_LEN {
                return Err(CarryError::TooLarge);
            }
            checkpoint = Some(reader.take(len)?.to_vec());
        }
        if !reader.rest().is_empty() {
            return Err(CarryError::Damaged);
        }
        Ok(Self { group, writer, heads, entries, checkpoint })
    }
}

/// A count of items of at least `min_len` bytes each: refused if above `max` or if the rest cannot hold that many,
/// before anything is allocated.
fn count(reader: &mut Reader<'_, CarryError>, max: usize, min_len: usize) -> Result<usize, CarryError> {
    let count = reader.u32()? as usize;
    if count > max {
        return Err(CarryError::TooLarge);
    }
    if count.saturating_mul(min_len) > reader.rest().len() {
        return Err(CarryError::Damaged);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(writer: &DeviceKeys) -> CarryFile {
        CarryFile {
            group: GroupId([7; 16]),
            writer: writer.device_id(),
            heads: BTreeMap::from([(writer.device_id(), 2)]),
            entries: vec![vec![1, 2, 3], vec![4; 300]],
            checkpoint: None,
        }
    }

    #[test]
    fn a_file_with_a_checkpoint_reads_back_and_every_flipped_byte_is_refused() {
        let (ana, bea) = (DeviceKeys::generate(), DeviceKeys::generate());
        let file = CarryFile { checkpoint: Some(vec![9; 200]), ..sample(&ana) };
        let bytes = file.seal(&ana, &[bea.agreement_public()]);
        assert_eq!(bytes[4], VERSION_WITH_CHECKPOINT);
        assert_eq!(CarryFile::open(&bea, &bytes), Ok(file));
        for at in (0..bytes.len()).step_by(5) {
            let mut altered = bytes.clone();
            altered[at] ^= 0x40;
            assert!(CarryFile::open(&bea, &altered).is_err(), "byte {at} flipped");
        }
        // Told it is a version 1 file, it does not read either.
        let mut older = bytes.clone();
        older[4] = VERSION;
        assert!(CarryFile::open(&bea, &older).is_err());
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_refused() {
        let (ana, bea) = (DeviceKeys::generate(), DeviceKeys::generate());
        let bytes = sample(&ana).seal(&ana, &[bea.agreement_public()]);
        for cut in 0..bytes.len() {
            assert!(CarryFile::open(&bea, &bytes[..cut]).is_err(), "cut at {cut}");
        }
        for at in (0..bytes.len()).step_by(7) {
            let mut altered = bytes.clone();
            altered[at] ^= 0x40;
            assert!(CarryFile::open(&bea, &altered).is_err(), "byte {at} flipped");
        }
    }

    #[test]
    fn a_member_cannot_sign_a_file_in_another_devices_name() {
        let (ana, bea, mal) = (DeviceKeys::generate(), DeviceKeys::generate(), DeviceKeys::generate());
        // Mal writes a file claiming Ana wrote it (to make Bea believe Ana holds everything).
        let claimed = CarryFile { writer: ana.device_id(), ..sample(&mal) };
        let bytes = claimed.seal(&mal, &[bea.agreement_public()]);
        assert_eq!(CarryFile::open(&bea, &bytes), Err(CarryError::BadSignature));
    }

    #[test]
    fn a_file_for_the_group_opens_for_each_of_its_devices_and_names_none_outside_the_seal() {
        let devices: Vec<DeviceKeys> = (0..5).map(|_| DeviceKeys::generate()).collect();
        let recipients: Vec<[u8; 32]> = devices.iter().map(DeviceKeys::agreement_public).collect();
        let file = sample(&devices[0]);
        let bytes = file.seal(&devices[0], &recipients);
        for device in &devices {
            assert_eq!(CarryFile::open(device, &bytes), Ok(file.clone()));
        }
        let writer = devices[0].device_id().0;
        assert!(!bytes.windows(32).any(|w| w == writer), "the writer's id is not in the clear");
        assert!(!bytes.windows(16).any(|w| w == [7; 16]), "the group's id is not in the clear");
        assert_eq!(CarryFile::open(&devices[1], b"not a carry file"), Err(CarryError::NotACarryFile));
    }

    #[test]
    fn counts_beyond_what_the_file_holds_are_refused_before_allocation() {
        let ana = DeviceKeys::generate();
        let mut body = Vec::new();
        body.extend_from_slice(&[7; 16]);
        body.extend_from_slice(&ana.device_id().0);
        body.extend_from_slice(&0u32.to_be_bytes());
        body.extend_from_slice(&u32::MAX.to_be_bytes());
        let signature = ana.sign(&[CONTEXT, &body].concat());
        body.extend_from_slice(&signature);
        assert_eq!(CarryFile::read_body(&body, VERSION), Err(CarryError::TooLarge));
    }
}
