//! Sealed entries: the unit every device appends to its own log, and the unit replication will carry.
//!
//! An [`Entry`] has a plaintext [`Header`] (group, author device, sequence number, hash of the author's previous
//! entry, key epoch), a body sealed with XChaCha20-Poly1305 under the group's epoch key with the encoded header as
//! associated data, and the author device's ed25519 signature over header and body. Because of that, an entry can be
//! stored or carried by anyone, and only group members can read it, and nobody can alter, forge or re-order it
//! without detection.
//!
//! ```
//! use sunspace_crypto::{DeviceKeys, Secret32};
//! use sunspace_log::{Entry, EntryKind, GroupId, LogPosition};
//!
//! let device = DeviceKeys::generate();
//! let group = GroupId::random();
//! let group_key = Secret32::random();
//! let mut position = LogPosition::start();
//! let entry = Entry::seal(&device, EntryKind::Change, group, position.next_header_fields(), 0, &group_key, b"change");
//! let bytes = entry.encode();
//!
//! let received = Entry::decode(&bytes).unwrap();
//! received.verify_signature().unwrap();
//! position.accept(&received).unwrap();
//! assert_eq!(received.open(&group_key).unwrap(), b"change");
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::fmt;

use serde::{Deserialize, Serialize};
use sunspace_crypto::{
    hash, open, seal, verify_signature, DeviceId, DeviceKeys, Secret32, Signature, SEAL_OVERHEAD, SIGNATURE_LEN,
};

/// The four bytes every encoded entry starts with: "SSE" and the format version.
pub const MAGIC: [u8; 4] = *b"SSE\x01";
/// Length of the encoded header, which is also the associated data of the sealed body.
pub const HEADER_LEN: usize = 4 + 1 + 16 + 32 + 8 + 32 + 4 + 4;
/// Largest sealed body accepted. Sized for a batch of several thousand edits or a long pasted document; anything
/// larger is refused before any allocation, so a peer cannot make us buffer arbitrary amounts.
pub const MAX_BODY_LEN: usize = 8 * 1024 * 1024;
/// Largest encoded entry.
pub const MAX_ENTRY_LEN: usize = HEADER_LEN + MAX_BODY_LEN + SIGNATURE_LEN;

/// A group's random identifier.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupId(pub [u8; 16]);

impl GroupId {
    /// A fresh random group id.
    pub fn random() -> Self {
        Self(sunspace_crypto::random_array())
    }

    /// Lowercase hex of the 16 bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 32 hex characters.
    pub fn from_hex(text: &str) -> Option<Self> {
        Some(Self(hex::decode(text).ok()?.try_into().ok()?))
    }
}

impl fmt::Debug for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupId({})", self.to_hex())
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What an entry's body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EntryKind {
    /// Automerge change bytes for the group document (one or more changes in automerge's incremental encoding).
    Change = 1,
    /// A signed membership operation (reserved for the membership log).
    Membership = 2,
    /// Evidence against a member device: an [`Equivocation`] this device found, so every member learns of it.
    Evidence = 3,
}

impl EntryKind {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Change),
            2 => Some(Self::Membership),
            3 => Some(Self::Evidence),
            _ => None,
        }
    }
}

/// The author's position in its log that a new entry takes: its sequence number and its predecessor's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLink {
    /// Sequence number, starting at 1.
    pub seq: u64,
    /// Hash of the entry with sequence number `seq - 1`, or all zeros for the first entry.
    pub prev_hash: [u8; 32],
}

/// The plaintext part of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// What the body holds.
    pub kind: EntryKind,
    /// The group this entry belongs to.
    pub group: GroupId,
    /// The device that wrote and signed it.
    pub author: DeviceId,
    /// Position in the author's log.
    pub link: ChainLink,
    /// Which group key epoch sealed the body.
    pub epoch: u32,
    /// Length of the sealed body.
    pub body_len: u32,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(&MAGIC);
        put(&[self.kind as u8]);
        put(&self.group.0);
        put(&self.author.0);
        put(&self.link.seq.to_be_bytes());
        put(&self.link.prev_hash);
        put(&self.epoch.to_be_bytes());
        put(&self.body_len.to_be_bytes());
        out
    }
}

/// A signed, sealed log entry.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    header: Header,
    body: Vec<u8>,
    signature: Signature,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("header", &self.header)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Decoding an entry's bytes failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than a header and a signature.
    #[error("entry is truncated ({len} bytes)")]
    Truncated {
        /// Bytes given.
        len: usize,
    },
    /// The bytes do not start with the entry magic of a version this build reads.
    #[error("not a Sunspace entry of a version this build reads")]
    UnknownFormat,
    /// The kind byte names no known kind.
    #[error("entry has unknown kind {0}")]
    UnknownKind(u8),
    /// The declared body length is larger than allowed.
    #[error("entry body of {0} bytes is larger than the limit")]
    Oversized(u64),
    /// The declared body length disagrees with the bytes present.
    #[error("entry length does not match its header (declared body {declared}, actual {actual})")]
    LengthMismatch {
        /// Body length in the header.
        declared: usize,
        /// Body length the bytes leave room for.
        actual: usize,
    },
    /// Sequence number 0 is never written.
    #[error("entry has sequence number 0")]
    ZeroSequence,
}

/// An entry failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The signature is not the author's.
    #[error("entry signature is not valid for its author")]
    BadSignature,
    /// The body could not be opened with the group key of its epoch.
    #[error("entry body failed authentication")]
    BadCiphertext,
    /// The entry is not the next one in the author's log.
    #[error("entry {seq} is out of order: expected sequence number {expected}")]
    OutOfOrder {
        /// Sequence number of the entry.
        seq: u64,
        /// The sequence number the log expects next.
        expected: u64,
    },
    /// The entry's predecessor hash does not match the author's previous entry: a fork or a forgery.
    #[error("entry {seq} does not follow the author's previous entry (hash chain broken)")]
    BrokenChain {
        /// Sequence number of the entry.
        seq: u64,
    },
}

impl Entry {
    /// Seals `plaintext` into a new entry by `device` at `link`, under the group key of `epoch`.
    pub fn seal(
        device: &DeviceKeys,
        kind: EntryKind,
        group: GroupId,
        link: ChainLink,
        epoch: u32,
        group_key: &Secret32,
        plaintext: &[u8],
    ) -> Self {
        let body_len = (plaintext.len() + SEAL_OVERHEAD) as u32;
        let header = Header { kind, group, author: device.device_id(), link, epoch, body_len };
        let body = seal(group_key, &header.encode(), plaintext);
        Self::sign(device, header, body)
    }

    fn sign(device: &DeviceKeys, header: Header, body: Vec<u8>) -> Self {
        let mut signed = header.encode().to_vec();
        signed.extend_from_slice(&body);
        let signature = device.sign(&signed);
        Self { header, body, signature }
    }

    /// Test-vector constructor with a fixed nonce. Never use it for real entries.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub fn seal_with_nonce(
        device: &DeviceKeys,
        kind: EntryKind,
        group: GroupId,
        link: ChainLink,
        epoch: u32,
        group_key: &Secret32,
        plaintext: &[u8],
        nonce: [u8; 24],
    ) -> Self {
        let body_len = (plaintext.len() + SEAL_OVERHEAD) as u32;
        let header = Header { kind, group, author: device.device_id(), link, epoch, body_len };
        let body = sunspace_crypto::seal_with_nonce(group_key, nonce, &header.encode(), plaintext);
        Self::sign(device, header, body)
    }

    /// The plaintext header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Encodes the entry: header, sealed body, signature.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.body.len() + SIGNATURE_LEN);
        out.extend_from_slice(&self.header.encode());
        out.extend_from_slice(&self.body);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Decodes an entry's bytes; checks structure only (see [`Entry::verify_signature`] and [`LogPosition::accept`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() < HEADER_LEN + SIGNATURE_LEN {
            return Err(DecodeError::Truncated { len: bytes.len() });
        }
        let (header_bytes, rest) = bytes.split_at(HEADER_LEN);
        if header_bytes[..4] != MAGIC {
            return Err(DecodeError::UnknownFormat);
        }
        let kind = EntryKind::from_byte(header_bytes[4]).ok_or(DecodeError::UnknownKind(header_bytes[4]))?;
        let fixed = |range: std::ops::Range<usize>| -> [u8; 32] {
            let mut out = [0u8; 32];
            out.copy_from_slice(&header_bytes[range]);
            out
        };
        let mut group = [0u8; 16];
        group.copy_from_slice(&header_bytes[5..21]);
        let author = DeviceId(fixed(21..53));
        let seq = u64::from_be_bytes(header_bytes[53..61].try_into().map_err(|_| DecodeError::UnknownFormat)?);
        let prev_hash = fixed(61..93);
        let epoch = u32::from_be_bytes(header_bytes[93..97].try_into().map_err(|_| DecodeError::UnknownFormat)?);
        let body_len = u32::from_be_bytes(header_bytes[97..101].try_into().map_err(|_| DecodeError::UnknownFormat)?);
        if body_len as usize > MAX_BODY_LEN {
            return Err(DecodeError::Oversized(body_len.into()));
        }
        let actual = rest.len() - SIGNATURE_LEN;
        if actual != body_len as usize {
            return Err(DecodeError::LengthMismatch { declared: body_len as usize, actual });
        }
        if seq == 0 {
            return Err(DecodeError::ZeroSequence);
        }
        let (body, signature) = rest.split_at(actual);
        let signature: Signature = signature.try_into().map_err(|_| DecodeError::Truncated { len: bytes.len() })?;
        Ok(Self {
            header: Header { kind, group: GroupId(group), author, link: ChainLink { seq, prev_hash }, epoch, body_len },
            body: body.to_vec(),
            signature,
        })
    }

    /// Checks the author's signature over header and body.
    pub fn verify_signature(&self) -> Result<(), VerifyError> {
        let mut signed = self.header.encode().to_vec();
        signed.extend_from_slice(&self.body);
        if verify_signature(&self.header.author, &signed, &self.signature) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature)
        }
    }

    /// Opens the body with the group key of the entry's epoch.
    pub fn open(&self, group_key: &Secret32) -> Result<Vec<u8>, VerifyError> {
        open(group_key, &self.header.encode(), &self.body).map_err(|_| VerifyError::BadCiphertext)
    }

    /// The entry's hash: SHA-256 of its encoding. The author's next entry names it as `prev_hash`.
    pub fn hash(&self) -> [u8; 32] {
        hash(&self.encode())
    }
}

/// Where an author's log stands: the next sequence number and the hash it must name as predecessor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPosition {
    next: ChainLink,
}

impl LogPosition {
    /// An empty log.
    pub fn start() -> Self {
        Self { next: ChainLink { seq: 1, prev_hash: [0; 32] } }
    }

    /// A log whose last accepted entry is number `seq` with hash `hash` (as recorded in a snapshot).
    pub fn resume(seq: u64, hash: [u8; 32]) -> Self {
        Self { next: ChainLink { seq: seq + 1, prev_hash: hash } }
    }

    /// The link a new entry at this position must carry.
    pub fn next_header_fields(&self) -> ChainLink {
        self.next
    }

    /// Number of entries accepted so far.
    pub fn len(&self) -> u64 {
        self.next.seq - 1
    }

    /// Whether no entry has been accepted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that `entry` is exactly the next entry of this log and advances past it.
    pub fn accept(&mut self, entry: &Entry) -> Result<(), VerifyError> {
        let link = entry.header.link;
        if link.seq != self.next.seq {
            return Err(VerifyError::OutOfOrder { seq: link.seq, expected: self.next.seq });
        }
        if link.prev_hash != self.next.prev_hash {
            return Err(VerifyError::BrokenChain { seq: link.seq });
        }
        self.next = ChainLink { seq: link.seq + 1, prev_hash: entry.hash() };
        Ok(())
    }
}

/// Two entries one device signed that cannot both be in one honest log: two different entries at the same
/// sequence number, or an entry whose predecessor hash names another entry than the one it signed before it.
/// Anyone can check it with public keys alone, so it can be carried to every member as proof that the device
/// showed different histories to different peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivocation {
    first: Entry,
    second: Entry,
}

/// Why two entries are not a proof of equivocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EquivocationError {
    /// The bytes do not hold two entries.
    #[error("evidence is malformed: {0}")]
    Malformed(String),
    /// The entries are of different groups or authors.
    #[error("evidence names two different groups or devices")]
    Unrelated,
    /// A signature does not verify.
    #[error("evidence carries an entry its author did not sign")]
    Unsigned,
    /// The two entries fit in one log: no contradiction.
    #[error("the two entries do not contradict each other")]
    Consistent,
}

impl Equivocation {
    /// A proof from two entries, if they are one: both signed by the same device for the same group, and
    /// contradicting each other.
    pub fn new(a: Entry, b: Entry) -> Result<Self, EquivocationError> {
        let (first, second) = if a.header.link.seq <= b.header.link.seq { (a, b) } else { (b, a) };
        let proof = Self { first, second };
        proof.check()?;
        Ok(proof)
    }

    fn check(&self) -> Result<(), EquivocationError> {
        let (a, b) = (&self.first, &self.second);
        if a.header.group != b.header.group || a.header.author != b.header.author {
            return Err(EquivocationError::Unrelated);
        }
        if a.verify_signature().is_err() || b.verify_signature().is_err() {
            return Err(EquivocationError::Unsigned);
        }
        let (sa, sb) = (a.header.link.seq, b.header.link.seq);
        let contradicts = (sa == sb && a.hash() != b.hash()) || (sb == sa + 1 && b.header.link.prev_hash != a.hash());
        if contradicts {
            Ok(())
        } else {
            Err(EquivocationError::Consistent)
        }
    }

    /// The device that signed both.
    pub fn author(&self) -> DeviceId {
        self.first.header.author
    }

    /// The group.
    pub fn group(&self) -> GroupId {
        self.first.header.group
    }

    /// The sequence number where the two histories part.
    pub fn seq(&self) -> u64 {
        self.first.header.link.seq
    }

    /// `u32 length ‖ first entry ‖ u32 length ‖ second entry`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for entry in [&self.first, &self.second] {
            let bytes = entry.encode();
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Reads and checks [`Equivocation::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<Self, EquivocationError> {
        let mut rest = bytes;
        let mut entries = Vec::with_capacity(2);
        for _ in 0..2 {
            let (len, tail) =
                rest.split_first_chunk::<4>().ok_or_else(|| EquivocationError::Malformed("truncated".into()))?;
            let len = u32::from_be_bytes(*len) as usize;
            if len > tail.len() {
                return Err(EquivocationError::Malformed("truncated".into()));
            }
            let (entry, tail) = tail.split_at(len);
            entries.push(Entry::decode(entry).map_err(|e| EquivocationError::Malformed(e.to_string()))?);
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(EquivocationError::Malformed("trailing bytes".into()));
        }
        let second = entries.pop().ok_or_else(|| EquivocationError::Malformed("truncated".into()))?;
        let first = entries.pop().ok_or_else(|| EquivocationError::Malformed("truncated".into()))?;
        Self::new(first, second)
    }
}

#[cfg(test)]
mod tests;
