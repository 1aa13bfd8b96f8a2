//! The sync messages and their encoding (see `docs/protocol.md`).
//!
//! ```text
//! u8 version (1) ‖ u8 type ‖ group id (16)
//! type 1, Heads:   u32 count ‖ count × (author (32) ‖ seq u64 ‖ hash of that entry (32)), authors strictly
//!                  increasing
//! type 2, Entries: u32 count ‖ count × (u32 length ‖ encoded entry)
//! type 3, Checkpoint: u32 length ‖ an encoded checkpoint (`crate::checkpoint`), sent before the entries after it
//!                  to a peer that lacks entries this device no longer holds
//! ```

use std::collections::BTreeMap;

use sunspace_crypto::DeviceId;
use sunspace_log::{GroupId, MAX_ENTRY_LEN};

use crate::bytes::Reader;

/// Most logs a heads message may list: far more devices than a group of 40 people will ever have.
pub const MAX_HEADS: usize = 4_096;
/// Most entries in one batch.
pub const MAX_ENTRIES_PER_BATCH: usize = 1_024;
/// Largest encoded message: one maximal entry with room to spare, or a full heads list.
pub const MAX_MESSAGE_LEN: usize = MAX_ENTRY_LEN + 64 * 1024;

const VERSION: u8 = 1;
const HEADS: u8 = 1;
const ENTRIES: u8 = 2;
const CHECKPOINT: u8 = 3;

/// A sync message about one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// "For each of these logs I hold entries 1 ..= seq, the last one with this hash."
    Heads {
        /// The group.
        group: GroupId,
        /// Highest sequence number held per author.
        heads: BTreeMap<DeviceId, u64>,
        /// The hash of that entry per author (all zeros when not known): two devices holding the same number of
        /// entries of a log but different last entries learn that its author signed two histories.
        hashes: BTreeMap<DeviceId, [u8; 32]>,
    },
    /// Encoded sealed entries, in log order within each author.
    Entries {
        /// The group.
        group: GroupId,
        /// The encoded entries.
        entries: Vec<Vec<u8>>,
    },
    /// An encoded checkpoint ([`crate::Checkpoint`]) standing for entries the sender no longer holds.
    Checkpoint {
        /// The group.
        group: GroupId,
        /// The encoded checkpoint (checked by [`crate::Checkpoint::decode`] on the receiving side).
        checkpoint: Vec<u8>,
    },
}

/// A message could not be decoded. The peer that sent it is misbehaving or broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Larger than [`MAX_MESSAGE_LEN`].
    #[error("sync message of {0} bytes is larger than the limit")]
    Oversized(usize),
    /// Ends before its declared contents.
    #[error("sync message is truncated")]
    Truncated,
    /// A version this build does not speak.
    #[error("sync message has unknown version {0}")]
    UnknownVersion(u8),
    /// An unknown message type.
    #[error("sync message has unknown type {0}")]
    UnknownType(u8),
    /// A count beyond its limit.
    #[error("sync message declares {0} items, more than allowed")]
    TooMany(u32),
    /// Bytes after the declared contents.
    #[error("sync message has {0} trailing bytes")]
    Trailing(usize),
    /// A heads message must list logs in increasing author order, each once, so that every message has exactly
    /// one encoding.
    #[error("sync message lists logs out of order or twice")]
    NotCanonical,
}

impl Message {
    /// The group the message is about.
    pub fn group(&self) -> GroupId {
        match self {
            Message::Heads { group, .. } | Message::Entries { group, .. } | Message::Checkpoint { group, .. } => *group,
        }
    }

    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        match self {
            Message::Heads { group, heads, hashes } => {
                out.push(HEADS);
                out.extend_from_slice(&group.0);
                out.extend_from_slice(&(heads.len() as u32).to_be_bytes());
                for (author, seq) in heads {
                    out.extend_from_slice(&author.0);
                    out.extend_from_slice(&seq.to_be_bytes());
                    out.extend_from_slice(hashes.get(author).unwrap_or(&[0; 32]));
                }
            }
            Message::Entries { group, entries } => {
                out.push(ENTRIES);
                out.extend_from_slice(&group.0);
                out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
                for entry in entries {
                    out.extend_from_slice(&(entry.len() as u32).to_be_bytes());
                    out.extend_from_slice(entry);
                }
            }
            Message::Checkpoint { group, checkpoint } => {
                out.push(CHECKPOINT);
                out.extend_from_slice(&group.0);
                out.extend_from_slice(&(checkpoint.len() as u32).to_be_bytes());
                out.extend_from_slice(checkpoint);
            }
        }
        out
    }

    /// Decodes a message, checking every length against the limits before allocating.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::Oversized(bytes.len()));
        }
        let mut reader = Reader::new(bytes, DecodeError::Truncated);
        let version = reader.u8()?;
        if version != VERSION {
            return Err(DecodeError::UnknownVersion(version));
        }
        let kind = reader.u8()?;
        let group = GroupId(reader.array()?);
        let message = match kind {
            HEADS => {
                let count = reader.u32()?;
                if count as usize > MAX_HEADS {
                    return Err(DecodeError::TooMany(count));
                }
                let mut heads = BTreeMap::new();
                let mut hashes = BTreeMap::new();
                let mut previous: Option<DeviceId> = None;
                for _ in 0..count {
                    let author = DeviceId(reader.array()?);
                    let seq = u64::from_be_bytes(reader.array()?);
                    let hash: [u8; 32] = reader.array()?;
                    if previous.is_some_and(|previous| previous >= author) {
                        return Err(DecodeError::NotCanonical);
                    }
                    previous = Some(author);
                    heads.insert(author, seq);
                    if hash != [0; 32] {
                        hashes.insert(author, hash);
                    }
                }
                Message::Heads { group, heads, hashes }
            }
            ENTRIES => {
                let count = reader.u32()?;
                if count as usize > MAX_ENTRIES_PER_BATCH {
                    return Err(DecodeError::TooMany(count));
                }
                let mut entries = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let len = reader.u32()? as usize;
                    if len > MAX_ENTRY_LEN {
                        return Err(DecodeError::Oversized(len));
                    }
                    entries.push(reader.take(len)?.to_vec());
                }
                Message::Entries { group, entries }
            }
            CHECKPOINT => {
                let len = reader.u32()? as usize;
                if len > crate::checkpoint::MAX_CHECKPOINT_LEN {
                    return Err(DecodeError::Oversized(len));
                }
                Message::Checkpoint { group, checkpoint: reader.take(len)?.to_vec() }
            }
            other => return Err(DecodeError::UnknownType(other)),
        };
        if !reader.rest().is_empty() {
            return Err(DecodeError::Trailing(reader.rest().len()));
        }
        Ok(message)
    }
}
