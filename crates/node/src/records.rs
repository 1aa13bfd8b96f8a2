//! The sealed records a device keeps besides its log entries, and their plaintext layouts.
//!
//! Every record is sealed with XChaCha20-Poly1305; the associated data names the record's purpose (and the group
//! it belongs to), so a record cannot be swapped into another's place. Layouts are in `docs/storage.md`.

use sunspace_crypto::kdf::{KdfParams, SALT_LEN};
use sunspace_crypto::{open, seal, DeviceId, Secret32};
use sunspace_log::GroupId;
use zeroize::Zeroizing;

use crate::at_rest::Shelf;
use crate::NodeError;

/// Meta name of the plaintext key-derivation parameters and salt.
pub(crate) const META_KDF: &str = "kdf";
/// Meta name of the sealed device secrets.
pub(crate) const META_DEVICE: &str = "device";
/// Meta name of the sealed settings.
pub(crate) const META_SETTINGS: &str = "settings";
/// Meta name of the sealed index of group names.
pub(crate) const META_GROUP_INDEX: &str = "group-index";
/// Meta name of the sealed book of where member devices were last reached ([`crate::reach::PeerBook`]).
pub(crate) const META_PEER_BOOK: &str = "peer-book";
const PEER_BOOK_AD: &[u8] = b"sunspace/peer-book/v1";

/// Reads the peer book; a damaged one is an empty book (it is only a hint where to dial), said in the log.
pub(crate) fn load_peer_book(store: &dyn sunspace_store::Store, storage_key: &Secret32) -> crate::reach::PeerBook {
    let sealed = match store.get_meta(META_PEER_BOOK) {
        Ok(Some(sealed)) => sealed,
        Ok(None) => return crate::reach::PeerBook::default(),
        Err(error) => {
            tracing::warn!(%error, "could not read where member devices were last reached");
            return crate::reach::PeerBook::default();
        }
    };
    let book = open(storage_key, PEER_BOOK_AD, &sealed)
        .ok()
        .and_then(|plain| serde_json::from_slice(&Zeroizing::new(plain)).ok());
    book.unwrap_or_else(|| {
        tracing::warn!("the record of where member devices were last reached failed authentication; starting afresh");
        crate::reach::PeerBook::default()
    })
}

/// Writes the peer book, sealed (where members' devices were is as telling as who they are).
pub(crate) fn store_peer_book(
    store: &dyn sunspace_store::Store,
    storage_key: &Secret32,
    book: &crate::reach::PeerBook,
) -> Result<(), NodeError> {
    let plain = Zeroizing::new(serde_json::to_vec(book).unwrap_or_default());
    store.put_meta(META_PEER_BOOK, &seal(storage_key, PEER_BOOK_AD, &plain))?;
    store.flush()?;
    Ok(())
}

fn pending_ad(group: &GroupId, what: &[u8]) -> Vec<u8> {
    let mut ad = b"sunspace/pending/v1\0".to_vec();
    ad.extend_from_slice(&group.0);
    ad.extend_from_slice(what);
    ad
}

/// One edit's changes not yet sealed into an entry, sealed under the storage key; the index is bound into the
/// associated data so chunks cannot be swapped.
fn seal_pending_chunk(storage_key: &Secret32, group: &GroupId, index: u32, changes: &[u8]) -> Vec<u8> {
    seal(storage_key, &pending_ad(group, &index.to_be_bytes()), changes)
}

fn open_pending_chunk(
    storage_key: &Secret32,
    group: &GroupId,
    index: u32,
    sealed: &[u8],
) -> Result<Vec<u8>, NodeError> {
    open(storage_key, &pending_ad(group, &index.to_be_bytes()), sealed)
        .map_err(|_| NodeError::Damaged("the record of this device's unsent edits failed authentication".into()))
}

/// How many pending chunks there are, sealed (so that a count cannot be rolled back to drop edits silently
/// without failing authentication, and is not readable without the passphrase).
fn seal_pending_count(storage_key: &Secret32, group: &GroupId, count: u32) -> Vec<u8> {
    seal(storage_key, &pending_ad(group, b"count"), &count.to_be_bytes())
}

pub(crate) fn open_pending_count(storage_key: &Secret32, group: &GroupId, sealed: &[u8]) -> Result<u32, NodeError> {
    let plain = open(storage_key, &pending_ad(group, b"count"), sealed)
        .map_err(|_| NodeError::Damaged("the record of this device's unsent edits failed authentication".into()))?;
    let bytes: [u8; 4] = plain.as_slice().try_into().map_err(|_| damaged("unsent edits"))?;
    Ok(u32::from_be_bytes(bytes))
}

/// A document's local edits not yet sealed into an entry (the group's, or a compartment's: `document` is its id),
/// kept as numbered sealed chunks and a sealed count under the group's hidden names.
pub(crate) struct PendingEdits<'a> {
    pub(crate) shelf: &'a Shelf,
    pub(crate) storage_key: &'a Secret32,
    pub(crate) document: &'a GroupId,
}

impl PendingEdits<'_> {
    /// Stores chunk `index` and the count after it (flushed with the next flush).
    pub(crate) fn put(&self, index: u32, changes: &[u8]) -> Result<(), NodeError> {
        let chunk = seal_pending_chunk(self.storage_key, self.document, index, changes);
        self.shelf.put_meta(&self.shelf.unsent_chunk_name(self.document, index), &chunk)?;
        self.set_count(index + 1)
    }

    /// Stores the count (0 once the edits are in an entry: stale chunks are overwritten by later edits).
    pub(crate) fn set_count(&self, count: u32) -> Result<(), NodeError> {
        let sealed = seal_pending_count(self.storage_key, self.document, count);
        self.shelf.put_meta(&self.shelf.unsent_count_name(self.document), &sealed)?;
        Ok(())
    }

    /// The count and every chunk's changes, in order.
    pub(crate) fn load(&self) -> Result<(u32, Vec<u8>), NodeError> {
        let count = match self.shelf.get_meta(&self.shelf.unsent_count_name(self.document))? {
            Some(sealed) => open_pending_count(self.storage_key, self.document, &sealed)?,
            None => 0,
        };
        let mut unsent = Vec::new();
        for index in 0..count {
            let sealed = self
                .shelf
                .get_meta(&self.shelf.unsent_chunk_name(self.document, index))?
                .ok_or_else(|| NodeError::Damaged("one of this device's unsent edits is missing".into()))?;
            unsent.extend(open_pending_chunk(self.storage_key, self.document, index, &sealed)?);
        }
        Ok((count, unsent))
    }
}

fn damaged(what: &str) -> NodeError {
    NodeError::Damaged(format!("the {what} record is malformed"))
}

/// The key-derivation record: parameters and salt, stored in the clear (they are not secret) and bound into the
/// device record's associated data, so changing them makes unlocking fail rather than weakening it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct KdfRecord {
    pub(crate) params: KdfParams,
    pub(crate) salt: String,
}

impl KdfRecord {
    pub(crate) fn salt(&self) -> Result<[u8; SALT_LEN], NodeError> {
        hex::decode(&self.salt).ok().and_then(|s| s.try_into().ok()).ok_or_else(|| damaged("key derivation"))
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        // Serializing a struct of integers and a string cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, NodeError> {
        serde_json::from_slice(bytes).map_err(|_| damaged("key derivation"))
    }
}

/// The device's secrets: two key seeds, the storage key that seals everything else, and the owner's name.
pub(crate) struct DeviceSecrets {
    pub(crate) signing_seed: Secret32,
    pub(crate) agreement_seed: Secret32,
    pub(crate) storage_key: Secret32,
    pub(crate) name: String,
}

const DEVICE_MAGIC: &[u8; 4] = b"SSD1";

fn device_ad(kdf_record: &[u8]) -> Vec<u8> {
    let mut ad = b"sunspace/device/v1\0".to_vec();
    ad.extend_from_slice(kdf_record);
    ad
}

impl DeviceSecrets {
    pub(crate) fn seal(&self, passphrase_key: &Secret32, kdf_record: &[u8]) -> Vec<u8> {
        let mut plain = Zeroizing::new(Vec::with_capacity(100 + self.name.len()));
        plain.extend_from_slice(DEVICE_MAGIC);
        plain.extend_from_slice(self.signing_seed.expose());
        plain.extend_from_slice(self.agreement_seed.expose());
        plain.extend_from_slice(self.storage_key.expose());
        plain.extend_from_slice(self.name.as_bytes());
        seal(passphrase_key, &device_ad(kdf_record), &plain)
    }

    pub(crate) fn open(passphrase_key: &Secret32, kdf_record: &[u8], sealed: &[u8]) -> Result<Self, NodeError> {
        let plain = Zeroizing::new(
            open(passphrase_key, &device_ad(kdf_record), sealed).map_err(|_| NodeError::WrongPassphrase)?,
        );
        if plain.len() < 4 + 96 || &plain[..4] != DEVICE_MAGIC {
            return Err(damaged("device"));
        }
        let secret = |at: usize| Secret32::from_slice(&plain[at..at + 32]).ok_or_else(|| damaged("device"));
        Ok(Self {
            signing_seed: secret(4)?,
            agreement_seed: secret(36)?,
            storage_key: secret(68)?,
            name: String::from_utf8(plain[100..].to_vec()).map_err(|_| damaged("device"))?,
        })
    }
}

/// A group's keys by epoch, sealed under the storage key.
pub(crate) struct GroupKeys {
    pub(crate) epochs: Vec<(u32, Secret32)>,
}

/// Version 2 is kept under the group's hidden name ([`crate::at_rest`]) and carries the group id inside, so the
/// groups on a device can be listed without any id in the clear.
const GROUP_KEYS_MAGIC: &[u8; 4] = b"SGK2";

fn group_keys_ad(name: &[u8; 16]) -> Vec<u8> {
    let mut ad = b"sunspace/group-keys/v2\0".to_vec();
    ad.extend_from_slice(name);
    ad
}

fn legacy_group_keys_ad(group: &GroupId) -> Vec<u8> {
    let mut ad = b"sunspace/group-keys/v1\0".to_vec();
    ad.extend_from_slice(&group.0);
    ad
}

fn parse_epochs(plain: &[u8]) -> Result<Vec<(u32, Secret32)>, NodeError> {
    if plain.is_empty() || !plain.len().is_multiple_of(36) {
        return Err(damaged("group keys"));
    }
    plain
        .chunks_exact(36)
        .map(|chunk| {
            let epoch = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            Secret32::from_slice(&chunk[4..]).map(|key| (epoch, key)).ok_or_else(|| damaged("group keys"))
        })
        .collect()
}

impl GroupKeys {
    /// Sealed under the storage key, bound to the group's hidden name: `"SGK2"` ‖ group id ‖ (epoch u32 BE ‖ key)*.
    pub(crate) fn seal(&self, shelf: &Shelf, group: &GroupId) -> Vec<u8> {
        let mut plain = Zeroizing::new(Vec::with_capacity(20 + self.epochs.len() * 36));
        plain.extend_from_slice(GROUP_KEYS_MAGIC);
        plain.extend_from_slice(&group.0);
        for (epoch, key) in &self.epochs {
            plain.extend_from_slice(&epoch.to_be_bytes());
            plain.extend_from_slice(key.expose());
        }
        seal(shelf.storage_key(), &group_keys_ad(&shelf.group_name(group)), &plain)
    }

    /// Opens the keys record of a group whose id is known.
    pub(crate) fn open(shelf: &Shelf, group: &GroupId, sealed: &[u8]) -> Result<Self, NodeError> {
        let failed = || NodeError::Damaged(format!("the keys of group {} failed authentication", group.to_hex()));
        let (id, keys) =
            Self::open_under(shelf.storage_key(), &shelf.group_name(group), sealed).map_err(|_| failed())?;
        if id != *group {
            return Err(failed());
        }
        Ok(keys)
    }

    /// Opens the keys record found under a hidden group name: the group's id and its keys.
    pub(crate) fn open_under(
        storage_key: &Secret32,
        name: &[u8; 16],
        sealed: &[u8],
    ) -> Result<(GroupId, Self), NodeError> {
        let plain = Zeroizing::new(
            open(storage_key, &group_keys_ad(name), sealed)
                .map_err(|_| NodeError::Damaged("a group's keys failed authentication".into()))?,
        );
        let (Some(magic), Some(id), Some(rest)) = (plain.get(..4), plain.get(4..20), plain.get(20..)) else {
            return Err(damaged("group keys"));
        };
        if magic != GROUP_KEYS_MAGIC {
            return Err(damaged("group keys"));
        }
        let mut group = [0u8; 16];
        group.copy_from_slice(id);
        Ok((GroupId(group), Self { epochs: parse_epochs(rest)? }))
    }

    /// Opens a keys record of layout 1 (under `group-keys/<group id>`), to move it to its hidden name.
    pub(crate) fn open_legacy(storage_key: &Secret32, group: &GroupId, sealed: &[u8]) -> Result<Self, NodeError> {
        let plain =
            Zeroizing::new(open(storage_key, &legacy_group_keys_ad(group), sealed).map_err(|_| {
                NodeError::Damaged(format!("the keys of group {} failed authentication", group.to_hex()))
            })?);
        Ok(Self { epochs: parse_epochs(&plain)? })
    }

    pub(crate) fn key(&self, epoch: u32) -> Option<&Secret32> {
        self.epochs.iter().find(|(e, _)| *e == epoch).map(|(_, key)| key)
    }

    /// Stores the keys, sealed under the storage key (flushed with the next flush).
    pub(crate) fn save(&self, shelf: &Shelf, group: &GroupId) -> Result<(), NodeError> {
        shelf.put_meta(&shelf.keys_name(group), &self.seal(shelf, group))?;
        Ok(())
    }
}

/// The keys of a group's compartments this device is in, by compartment and generation (each compartment numbers
/// its own), sealed under the storage key apart from the group's keys: `"SCK1"` ‖ group id ‖ (compartment id 16 ‖
/// epoch u32 BE ‖ key 32)*, under `ckeys/<hidden group name>`. Absent until the device is in a compartment. A key
/// is used only once it matches the commitment of the operation the membership says made it
/// ([`crate::OpenGroup`]'s compartment code checks), so a key planted under a number is never written with.
#[derive(Default)]
pub(crate) struct CompartmentKeys {
    pub(crate) keys: Vec<(GroupId, u32, Secret32)>,
}

const COMPARTMENT_KEYS_MAGIC: &[u8; 4] = b"SCK1";

fn compartment_keys_ad(name: &[u8; 16]) -> Vec<u8> {
    let mut ad = b"sunspace/compartment-keys/v1\0".to_vec();
    ad.extend_from_slice(name);
    ad
}

pub(crate) fn compartment_keys_name(name: &[u8; 16]) -> String {
    format!("ckeys/{}", hex::encode(name))
}

impl CompartmentKeys {
    /// The compartment keys of `group` this device holds (none if it is in no compartment).
    pub(crate) fn open(shelf: &Shelf, group: &GroupId) -> Result<Self, NodeError> {
        let name = shelf.group_name(group);
        let Some(sealed) = shelf.get_meta(&compartment_keys_name(&name))? else {
            return Ok(Self::default());
        };
        let failed =
            || NodeError::Damaged(format!("the compartment keys of group {} failed authentication", group.to_hex()));
        let plain =
            Zeroizing::new(open(shelf.storage_key(), &compartment_keys_ad(&name), &sealed).map_err(|_| failed())?);
        let (Some(magic), Some(id), Some(rest)) = (plain.get(..4), plain.get(4..20), plain.get(20..)) else {
            return Err(failed());
        };
        if magic != COMPARTMENT_KEYS_MAGIC || id != group.0 || !rest.len().is_multiple_of(52) {
            return Err(failed());
        }
        let mut keys = Vec::new();
        for chunk in rest.chunks_exact(52) {
            let mut compartment = [0u8; 16];
            compartment.copy_from_slice(&chunk[..16]);
            let epoch = u32::from_be_bytes([chunk[16], chunk[17], chunk[18], chunk[19]]);
            let key = Secret32::from_slice(&chunk[20..]).ok_or_else(failed)?;
            keys.push((GroupId(compartment), epoch, key));
        }
        Ok(Self { keys })
    }

    /// Stores these as `group`'s compartment keys (flushed with the next flush).
    pub(crate) fn save(&self, shelf: &Shelf, group: &GroupId) -> Result<(), NodeError> {
        let name = shelf.group_name(group);
        let mut plain = Zeroizing::new(Vec::with_capacity(20 + self.keys.len() * 52));
        plain.extend_from_slice(COMPARTMENT_KEYS_MAGIC);
        plain.extend_from_slice(&group.0);
        for (compartment, epoch, key) in &self.keys {
            plain.extend_from_slice(&compartment.0);
            plain.extend_from_slice(&epoch.to_be_bytes());
            plain.extend_from_slice(key.expose());
        }
        let sealed = seal(shelf.storage_key(), &compartment_keys_ad(&name), &plain);
        shelf.put_meta(&compartment_keys_name(&name), &sealed)?;
        Ok(())
    }

    /// The keys held for generation `epoch` of `compartment` (more than one only if a wrong one was planted).
    pub(crate) fn candidates(&self, compartment: GroupId, epoch: u32) -> impl Iterator<Item = &Secret32> {
        self.keys.iter().filter(move |(c, e, _)| *c == compartment && *e == epoch).map(|(_, _, key)| key)
    }

    /// Keeps `key` for generation `epoch` of `compartment`, unless that very key is held already.
    pub(crate) fn keep(&mut self, compartment: GroupId, epoch: u32, key: Secret32) -> bool {
        if self.candidates(compartment, epoch).any(|held| held.expose() == key.expose()) {
            return false;
        }
        self.keys.push((compartment, epoch, key));
        true
    }
}

/// A group key wrapped to a device's X25519 key, as hex: how keys travel in welcomes and rotations.
pub(crate) fn wrap_hex(recipient_agreement: &[u8; 32], key: &Secret32, context: &[u8]) -> String {
    hex::encode(sunspace_crypto::wrap_key(recipient_agreement, key, context).encode())
}

/// Opens a key from [`wrap_hex`] with this device's keys; `None` if it is malformed or not for this device.
pub(crate) fn unwrap_hex(device: &sunspace_crypto::DeviceKeys, text: &str, context: &[u8]) -> Option<Secret32> {
    let wrapped = sunspace_crypto::WrappedKey::decode(&hex::decode(text).ok()?).ok()?;
    sunspace_crypto::unwrap_key(device, &wrapped, context).ok()
}

/// How far a snapshot covers each log: author, last sequence number included, and that entry's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Covered {
    pub(crate) author: DeviceId,
    pub(crate) seq: u64,
    pub(crate) hash: [u8; 32],
}

/// A snapshot: the document as of some log positions, sealed under the storage key.
pub(crate) struct Snapshot {
    pub(crate) covered: Vec<Covered>,
    /// The membership operations in the covered entries (encoded signed ops): membership is not in the document,
    /// and the entries that carry it are not replayed when a snapshot covers them.
    pub(crate) membership: Vec<Vec<u8>>,
    pub(crate) document: Vec<u8>,
    /// The documents of the compartments this device is in, as of the same entries (`save()` of each).
    pub(crate) compartments: Vec<(GroupId, Vec<u8>)>,
    /// Compartment entries kept (and covered) whose records are not in their document yet: they wait for a key,
    /// another entry's changes, or their author to count in the compartment.
    pub(crate) pending: Vec<(GroupId, DeviceId, u64)>,
    /// When set, `document` is empty: the document is the one in the group's stored checkpoint with this digest
    /// ([`StoredCheckpoint`]), which the snapshot would otherwise hold a second copy of.
    pub(crate) in_checkpoint: Option<[u8; 32]>,
}

/// Version 4 added the membership operations, version 3 the compartments' documents; a version 2 snapshot is read
/// as one with no compartments, a version 1 snapshot is not read (the logs rebuild the group). Version 4 added the
/// document's place: a tag, 0 for the document's bytes (the rest), 1 for a checkpoint digest (32).
const SNAPSHOT_MAGIC: &[u8; 4] = b"SSN4";
const SNAPSHOT_MAGIC_V3: &[u8; 4] = b"SSN3";
const SNAPSHOT_MAGIC_V2: &[u8; 4] = b"SSN2";
/// Most compartment documents a snapshot holds (as many as a group may have).
const MAX_SNAPSHOT_COMPARTMENTS: usize = sunspace_membership::MAX_COMPARTMENTS;
/// Largest membership operation in a snapshot (as in the membership crate).
const MAX_SNAPSHOT_OP: usize = 64 * 1024 + 96;

fn snapshot_ad(group: &GroupId) -> Vec<u8> {
    let mut ad = b"sunspace/snapshot/v1\0".to_vec();
    ad.extend_from_slice(&group.0);
    ad
}

impl Snapshot {
    pub(crate) fn seal(&self, storage_key: &Secret32, group: &GroupId) -> Vec<u8> {
        let mut plain = Zeroizing::new(Vec::with_capacity(8 + self.covered.len() * 72 + self.document.len()));
        plain.extend_from_slice(SNAPSHOT_MAGIC);
        plain.extend_from_slice(&(self.covered.len() as u32).to_be_bytes());
        for covered in &self.covered {
            plain.extend_from_slice(&covered.author.0);
            plain.extend_from_slice(&covered.seq.to_be_bytes());
            plain.extend_from_slice(&covered.hash);
        }
        plain.extend_from_slice(&(self.membership.len() as u32).to_be_bytes());
        for op in &self.membership {
            plain.extend_from_slice(&(op.len() as u32).to_be_bytes());
            plain.extend_from_slice(op);
        }
        plain.extend_from_slice(&(self.compartments.len() as u32).to_be_bytes());
        for (id, document) in &self.compartments {
            plain.extend_from_slice(&id.0);
            plain.extend_from_slice(&(document.len() as u64).to_be_bytes());
            plain.extend_from_slice(document);
        }
        plain.extend_from_slice(&(self.pending.len() as u32).to_be_bytes());
        for (compartment, author, seq) in &self.pending {
            plain.extend_from_slice(&compartment.0);
            plain.extend_from_slice(&author.0);
            plain.extend_from_slice(&seq.to_be_bytes());
        }
        match &self.in_checkpoint {
            Some(digest) => {
                plain.push(1);
                plain.extend_from_slice(digest);
            }
            None => {
                plain.push(0);
                plain.extend_from_slice(&self.document);
            }
        }
        seal(storage_key, &snapshot_ad(group), &plain)
    }

    pub(crate) fn open(storage_key: &Secret32, group: &GroupId, sealed: &[u8]) -> Result<Self, NodeError> {
        let plain = Zeroizing::new(
            open(storage_key, &snapshot_ad(group), sealed)
                .map_err(|_| NodeError::Damaged("the snapshot failed authentication".into()))?,
        );
        let version4 = plain.get(..4) == Some(SNAPSHOT_MAGIC.as_slice());
        let version3 = version4 || plain.get(..4) == Some(SNAPSHOT_MAGIC_V3.as_slice());
        if plain.len() < 8 || !(version3 || plain.get(..4) == Some(SNAPSHOT_MAGIC_V2.as_slice())) {
            return Err(damaged("snapshot"));
        }
        let count = u32::from_be_bytes([plain[4], plain[5], plain[6], plain[7]]) as usize;
        let table_end = count.checked_mul(72).and_then(|n| n.checked_add(8)).filter(|end| *end <= plain.len());
        let table_end = table_end.ok_or_else(|| damaged("snapshot"))?;
        let covered = plain[8..table_end]
            .chunks_exact(72)
            .map(|chunk| {
                let mut author = [0u8; 32];
                author.copy_from_slice(&chunk[..32]);
                let mut seq = [0u8; 8];
                seq.copy_from_slice(&chunk[32..40]);
                let mut hash = [0u8; 32];
                hash.copy_from_slice(&chunk[40..72]);
                Covered { author: DeviceId(author), seq: u64::from_be_bytes(seq), hash }
            })
            .collect();
        let mut rest = &plain[table_end..];
        let take_u32 = |rest: &mut &[u8]| -> Result<usize, NodeError> {
            let (head, tail) = rest.split_at_checked(4).ok_or_else(|| damaged("snapshot"))?;
            *rest = tail;
            Ok(u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize)
        };
        let ops = take_u32(&mut rest)?;
        let mut membership = Vec::new();
        for _ in 0..ops {
            let len = take_u32(&mut rest)?;
            if len > MAX_SNAPSHOT_OP || len > rest.len() {
                return Err(damaged("snapshot"));
            }
            let (op, tail) = rest.split_at(len);
            membership.push(op.to_vec());
            rest = tail;
        }
        let mut compartments = Vec::new();
        if version3 {
            let count = take_u32(&mut rest)?;
            if count > MAX_SNAPSHOT_COMPARTMENTS {
                return Err(damaged("snapshot"));
            }
            for _ in 0..count {
                let (id, tail) = rest.split_at_checked(16).ok_or_else(|| damaged("snapshot"))?;
                let (len, tail) = tail.split_at_checked(8).ok_or_else(|| damaged("snapshot"))?;
                let len = u64::from_be_bytes(len.try_into().map_err(|_| damaged("snapshot"))?);
                let len =
                    usize::try_from(len).ok().filter(|len| *len <= tail.len()).ok_or_else(|| damaged("snapshot"))?;
                let (document, tail) = tail.split_at(len);
                let mut compartment = [0u8; 16];
                compartment.copy_from_slice(id);
                compartments.push((GroupId(compartment), document.to_vec()));
                rest = tail;
            }
        }
        let mut pending = Vec::new();
        if version3 {
            let count = take_u32(&mut rest)?;
            let table = count.checked_mul(56).filter(|len| *len <= rest.len()).ok_or_else(|| damaged("snapshot"))?;
            let (refs, tail) = rest.split_at(table);
            for chunk in refs.chunks_exact(56) {
                let mut compartment = [0u8; 16];
                compartment.copy_from_slice(&chunk[..16]);
                let mut author = [0u8; 32];
                author.copy_from_slice(&chunk[16..48]);
                let mut seq = [0u8; 8];
                seq.copy_from_slice(&chunk[48..56]);
                pending.push((GroupId(compartment), DeviceId(author), u64::from_be_bytes(seq)));
            }
            rest = tail;
        }
        let mut in_checkpoint = None;
        if version4 {
            let (tag, tail) = rest.split_first().ok_or_else(|| damaged("snapshot"))?;
            rest = tail;
            if *tag == 1 {
                let digest: [u8; 32] = rest.try_into().map_err(|_| damaged("snapshot"))?;
                in_checkpoint = Some(digest);
                rest = &[];
            } else if *tag != 0 {
                return Err(damaged("snapshot"));
            }
        }
        Ok(Self { covered, membership, document: rest.to_vec(), compartments, pending, in_checkpoint })
    }
}

/// The group's checkpoint this device holds (its own or one it received), sealed once more under the storage key
/// so that a disk does not show its header (group and signer):
/// file "checkpoint-<hex group name>" = seal(storage key, "sunspace/checkpoint/at-rest/v1\0" ‖ group name, encoded
/// checkpoint).
pub(crate) struct StoredCheckpoint;

impl StoredCheckpoint {
    fn ad(shelf: &Shelf, group: &GroupId) -> Vec<u8> {
        [b"sunspace/checkpoint/at-rest/v1\0".as_slice(), &shelf.group_name(group)].concat()
    }

    /// Keeps `checkpoint` as the group's (durable when this returns).
    pub(crate) fn keep(shelf: &Shelf, group: &GroupId, checkpoint: &[u8]) -> Result<(), NodeError> {
        let sealed = seal(shelf.storage_key(), &Self::ad(shelf, group), checkpoint);
        shelf.store().put_blob(&shelf.blob_name("checkpoint", group), &sealed)?;
        Ok(())
    }

    /// The group's checkpoint, encoded, if one is kept. One that fails authentication is damage.
    pub(crate) fn load(shelf: &Shelf, group: &GroupId) -> Result<Option<Vec<u8>>, NodeError> {
        let Some(sealed) = shelf.store().blob(&shelf.blob_name("checkpoint", group))? else { return Ok(None) };
        open(shelf.storage_key(), &Self::ad(shelf, group), &sealed)
            .map(Some)
            .map_err(|_| NodeError::Damaged("the group's checkpoint failed authentication".into()))
    }
}

/// Device-wide preferences, sealed under the storage key (which group is current reveals which groups exist).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Settings {
    pub(crate) current_group: Option<String>,
}

const SETTINGS_AD: &[u8] = b"sunspace/settings/v1";

impl Settings {
    pub(crate) fn seal(&self, storage_key: &Secret32) -> Vec<u8> {
        seal(storage_key, SETTINGS_AD, &serde_json::to_vec(self).unwrap_or_default())
    }

    pub(crate) fn open(storage_key: &Secret32, sealed: &[u8]) -> Result<Self, NodeError> {
        let plain = open(storage_key, SETTINGS_AD, sealed)
            .map_err(|_| NodeError::Damaged("the settings failed authentication".into()))?;
        serde_json::from_slice(&plain).map_err(|_| damaged("settings"))
    }
}

/// The names of the groups on this device, so listing or choosing a group by name does not load every group's
/// document. A cache: a group missing from it is opened once and added.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct GroupIndex {
    pub(crate) names: std::collections::BTreeMap<String, String>,
}

const GROUP_INDEX_AD: &[u8] = b"sunspace/group-index/v1";

impl GroupIndex {
    pub(crate) fn seal(&self, storage_key: &Secret32) -> Vec<u8> {
        seal(storage_key, GROUP_INDEX_AD, &serde_json::to_vec(self).unwrap_or_default())
    }

    pub(crate) fn open(storage_key: &Secret32, sealed: &[u8]) -> Result<Self, NodeError> {
        let plain = Zeroizing::new(
            open(storage_key, GROUP_INDEX_AD, sealed)
                .map_err(|_| NodeError::Damaged("the group index failed authentication".into()))?,
        );
        serde_json::from_slice(&plain).map_err(|_| damaged("group index"))
    }

    /// Reads the index from the store (empty if there is none yet).
    pub(crate) fn load(store: &dyn sunspace_store::Store, storage_key: &Secret32) -> Result<Self, NodeError> {
        match store.get_meta(META_GROUP_INDEX)? {
            Some(sealed) => Self::open(storage_key, &sealed),
            None => Ok(Self::default()),
        }
    }

    /// Records `name` for `group`, writing only if it changed (the caller flushes); true if it wrote.
    pub(crate) fn remember(
        store: &dyn sunspace_store::Store,
        storage_key: &Secret32,
        group: &GroupId,
        name: &str,
    ) -> Result<bool, NodeError> {
        let mut index = Self::load(store, storage_key)?;
        if index.names.get(&group.to_hex()).map(String::as_str) == Some(name) {
            return Ok(false);
        }
        index.names.insert(group.to_hex(), name.to_owned());
        store.put_meta(META_GROUP_INDEX, &index.seal(storage_key))?;
        Ok(true)
    }
}

/// The groups on this device, and the stored records no key on this device opens (each with a sentence). A
/// group's id comes out of its sealed keys record.
#[allow(clippy::type_complexity)]
pub(crate) fn stored_groups(shelf: &Shelf) -> Result<(Vec<GroupId>, Vec<(GroupId, String)>), NodeError> {
    let mut groups = Vec::new();
    let mut unreadable = Vec::new();
    for name in shelf.store().groups()? {
        let Some(sealed) = shelf.store().get_meta(&crate::at_rest::keys_name_under(&name))? else {
            tracing::warn!("stored records without a group key are left out");
            unreadable.push((GroupId(name), "records of a group whose key this device does not hold".to_owned()));
            continue;
        };
        match GroupKeys::open_under(shelf.storage_key(), &name, &sealed) {
            Ok((id, _)) if shelf.group_name(&id) == name => groups.push(id),
            _ => {
                tracing::warn!("a group whose keys record cannot be read is left out");
                unreadable.push((GroupId(name), "a group whose keys record cannot be read on this device".to_owned()));
            }
        }
    }
    groups.sort();
    Ok((groups, unreadable))
}
