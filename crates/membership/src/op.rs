//! Membership operations and their signed encoding.

use std::fmt;

use serde::{Deserialize, Serialize};
use sunspace_crypto::{hash, hash_parts, verify_signature, DeviceId, DeviceKeys, Signature, SIGNATURE_LEN};
use sunspace_log::GroupId;

/// An op's id: SHA-256 of its signed encoding.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpId(#[serde(with = "hex_array")] pub [u8; 32]);

impl fmt::Debug for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpId({})", hex::encode(&self.0[..4]))
    }
}

/// The group id a founder's `Create` must carry: it binds the group to the founding device, so nobody else can
/// sign a `Create` for an existing group id.
pub fn group_id_for(founder: &DeviceId, nonce: &[u8; 16]) -> GroupId {
    let digest = hash_parts("sunspace/group-id/v1", &[&founder.0, nonce]);
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    GroupId(id)
}

/// A compartment's id: bound to its group, the device that created it and a nonce, so nobody can create a
/// compartment under an id that is already another's.
pub fn compartment_id_for(group: &GroupId, creator: &DeviceId, nonce: &[u8; 16]) -> GroupId {
    let digest = hash_parts("sunspace/compartment/v1", &[&group.0, &creator.0, nonce]);
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    GroupId(id)
}

/// Longest compartment name, in bytes.
pub const MAX_COMPARTMENT_NAME: usize = 120;

/// The commitment a rotation carries to its new key: SHA-256 over the group and the key. A recipient that unwraps a
/// key with another commitment knows its wrap was not the key the others received, and refuses it.
pub fn key_commitment(group: &GroupId, key: &[u8; 32]) -> [u8; 32] {
    hash_parts("sunspace/key-commitment/v1", &[&group.0, key])
}

/// A role that carries authority in the membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Admits members and grants roles.
    Steward,
}

/// A device's public keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceKey {
    /// Its ed25519 signing key (its id).
    pub id: DeviceId,
    /// Its X25519 agreement key.
    #[serde(with = "hex_array")]
    pub agreement: [u8; 32],
}

impl DeviceKey {
    /// The public keys of `keys`.
    pub fn of(keys: &DeviceKeys) -> Self {
        Self { id: keys.device_id(), agreement: keys.agreement_public() }
    }
}

/// How a device was verified before it was admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Invitation scanned as a QR code, short authentication string compared aloud.
    InPersonQr,
    /// Invitation typed in, short authentication string compared aloud.
    InPersonCode,
}

/// The record of an in-person verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// How.
    pub method: Method,
    /// The device on the other side of the verification.
    pub verified_by: DeviceId,
    /// When, in seconds since the epoch.
    pub at: i64,
}

/// What an op does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Founds the group: the founder's member record, device and the steward role.
    Create {
        /// The founder's member record id (the group document's record).
        member: String,
        /// The founding device.
        device: DeviceKey,
        /// The nonce that, with the founding device, makes the group id.
        #[serde(with = "hex_array")]
        nonce: [u8; 16],
    },
    /// Admits a new member with their first device.
    AddMember {
        /// The member record id (possibly an existing record from the document, so their history stays theirs).
        member: String,
        /// Their first device.
        device: DeviceKey,
        /// How it was verified.
        verification: Verification,
    },
    /// Links another device of an existing member.
    LinkDevice {
        /// The member.
        member: String,
        /// The new device.
        device: DeviceKey,
        /// How it was verified.
        verification: Verification,
    },
    /// Grants a role to a member.
    GrantRole {
        /// The member.
        member: String,
        /// The role.
        role: Role,
    },
    /// Ends a member's role (stewards only; the group's last steward cannot be ended).
    EndRole {
        /// The member.
        member: String,
        /// The role.
        role: Role,
    },
    /// Removes a member and all their devices (stewards only). `cutoffs` says, per removed device, how far the
    /// remover held its log: entries after that are refused by everyone.
    RemoveMember {
        /// The member.
        member: String,
        /// Why, in the remover's words (kept in the signed record).
        reason: String,
        /// Per device of the member, the last sequence number of its log accepted.
        cutoffs: Vec<(DeviceId, u64)>,
    },
    /// Revokes one device (its own member's other device, or a steward).
    RevokeDevice {
        /// The device.
        device: DeviceId,
        /// The last sequence number of its log accepted.
        cutoff: u64,
    },
    /// A new group key, wrapped to every device that is in the group as this op's author knows it (the rules
    /// refuse a rotation that leaves one out).
    RotateKey {
        /// The key wrapped to each device's X25519 key.
        wraps: KeyWraps,
        /// [`key_commitment`] of the key: each recipient checks that what it unwrapped is the key everyone got.
        #[serde(with = "hex_array")]
        commitment: [u8; 32],
    },
    /// Creates a compartment: records readable only by the devices of `members`, under a key of its own wrapped
    /// to exactly those devices. A steward may create one for anyone; any member may create one holding only
    /// themselves ("only me").
    CreateCompartment {
        /// With the group and the creating device, makes the compartment's id ([`compartment_id_for`]).
        #[serde(with = "hex_array")]
        nonce: [u8; 16],
        /// What the group calls it (readable by the whole group; a secret name belongs inside the compartment).
        name: String,
        /// The member records in it.
        members: Vec<String>,
        /// The compartment's first key, wrapped to every device of its members.
        wraps: Vec<(DeviceId, String)>,
        /// [`key_commitment`] of the key, under the compartment's id.
        #[serde(with = "hex_array")]
        commitment: [u8; 32],
    },
    /// Adds a member to a compartment (by a device of a member of it who is a steward or its creator), giving
    /// every device of theirs every key of the compartment so far.
    AddToCompartment {
        /// The compartment.
        compartment: GroupId,
        /// The member.
        member: String,
        /// Per key generation of the compartment and device of the member: the key wrapped to it.
        wraps: Vec<(u32, DeviceId, String)>,
    },
    /// Takes a member out of a compartment (a steward, its creator, or the member themselves). Its key must
    /// rotate before anyone writes there again; `cutoffs` says, per device of the member, how far the remover
    /// held its log: entries after that under the compartment's keys are not applied by anyone.
    RemoveFromCompartment {
        /// The compartment.
        compartment: GroupId,
        /// The member.
        member: String,
        /// Per device of the member, the last sequence number of its log whose compartment entries count.
        cutoffs: Vec<(DeviceId, u64)>,
    },
    /// Gives keys of a compartment to devices of it that lack them (another device its member just linked), by a
    /// device of one of its members. Changes nothing else.
    ShareCompartmentKeys {
        /// The compartment.
        compartment: GroupId,
        /// Per key generation and device: the key wrapped to it.
        wraps: Vec<(u32, DeviceId, String)>,
    },
    /// A new key for a compartment, by a device of one of its members, wrapped to exactly its devices.
    RotateCompartmentKey {
        /// The compartment.
        compartment: GroupId,
        /// Per device: the key wrapped to it.
        wraps: Vec<(DeviceId, String)>,
        /// [`key_commitment`] of the key, under the compartment's id.
        #[serde(with = "hex_array")]
        commitment: [u8; 32],
    },
}

impl Action {
    /// The compartment this op is about, if it is about one (for a creation: none, the id comes from the op).
    pub fn compartment(&self) -> Option<GroupId> {
        match self {
            Action::AddToCompartment { compartment, .. }
            | Action::RemoveFromCompartment { compartment, .. }
            | Action::ShareCompartmentKeys { compartment, .. }
            | Action::RotateCompartmentKey { compartment, .. } => Some(*compartment),
            _ => None,
        }
    }
}

/// A membership operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// The group.
    pub group: GroupId,
    /// Ops the author had seen when making this one (the DAG's edges).
    pub deps: Vec<OpId>,
    /// What it does.
    #[serde(flatten)]
    pub action: Action,
}

/// An op as signed and carried: the op's bytes, the author device, and its signature over both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOp {
    body: Vec<u8>,
    author: DeviceId,
    signature: Signature,
}

/// A signed op could not be read or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// Too short or too long.
    #[error("membership op has a bad length")]
    Length,
    /// The signature is not the author's.
    #[error("membership op signature is invalid")]
    Signature,
    /// The body is not an op.
    #[error("membership op is malformed: {0}")]
    Malformed(String),
}

/// Largest op body: far larger than any op needs.
const MAX_BODY: usize = 64 * 1024;

fn signed_message(body: &[u8], author: &DeviceId) -> Vec<u8> {
    let mut message = b"sunspace/membership-op/v1\0".to_vec();
    message.extend_from_slice(&author.0);
    message.extend_from_slice(body);
    message
}

impl SignedOp {
    /// Signs `op` with `keys`.
    pub fn sign(keys: &DeviceKeys, op: &Op) -> Self {
        // Serializing plain data to JSON cannot fail; field order is the declaration order, so it is stable.
        let body = serde_json::to_vec(op).unwrap_or_default();
        let author = keys.device_id();
        let signature = keys.sign(&signed_message(&body, &author));
        Self { body, author, signature }
    }

    /// The signing device.
    pub fn author(&self) -> DeviceId {
        self.author
    }

    /// Checks the signature and reads the op.
    pub fn verify(&self) -> Result<Op, OpError> {
        if !verify_signature(&self.author, &signed_message(&self.body, &self.author), &self.signature) {
            return Err(OpError::Signature);
        }
        serde_json::from_slice(&self.body).map_err(|e| OpError::Malformed(e.to_string()))
    }

    /// The op's id.
    pub fn id(&self) -> OpId {
        OpId(hash(&self.encode()))
    }

    /// `author (32) ‖ signature (64) ‖ body`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + SIGNATURE_LEN + self.body.len());
        out.extend_from_slice(&self.author.0);
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.body);
        out
    }

    /// Reads the encoding made by [`SignedOp::encode`] (structure only; see [`SignedOp::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, OpError> {
        if bytes.len() < 32 + SIGNATURE_LEN || bytes.len() > 32 + SIGNATURE_LEN + MAX_BODY {
            return Err(OpError::Length);
        }
        let mut author = [0u8; 32];
        author.copy_from_slice(&bytes[..32]);
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(&bytes[32..32 + SIGNATURE_LEN]);
        Ok(Self { body: bytes[32 + SIGNATURE_LEN..].to_vec(), author: DeviceId(author), signature })
    }
}

/// Bytes of one device's place in [`KeyWraps::Shared`]: the first 8 bytes of its id, then its 48-byte wrap.
const SHARED_SLOT_LEN: usize = 8 + sunspace_crypto::SHARED_WRAP_LEN;
/// Devices one rotation may be wrapped to (a group of 40 people has far fewer).
const MAX_WRAPS: usize = 4_096;

/// A rotated group key, wrapped to each device of the group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeyWraps {
    /// What this version writes: one ephemeral key for every wrap (`sunspace_crypto::wrap_key_shared`); per
    /// device the first 8 bytes of its id and its 48-byte wrap, all in one base64 text. A removal in a group of
    /// 200 devices carries about 15 KB instead of 53.
    Shared {
        /// The ephemeral X25519 public key the wraps share.
        #[serde(with = "hex_array")]
        ephemeral: [u8; 32],
        /// Base64 (standard, padded) of n × (device id's first 8 bytes ‖ wrap).
        wraps: String,
    },
    /// Written by earlier versions: per device, a `WrappedKey` (hex).
    Each(Vec<(DeviceId, String)>),
}

/// This device's wrap in a [`KeyWraps`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WrapFor {
    /// A `WrappedKey`, hex (from [`KeyWraps::Each`]).
    Each(String),
    /// A shared wrap and the ephemeral key it needs.
    Shared {
        /// The ephemeral public key.
        ephemeral: [u8; 32],
        /// The wrap.
        sealed: [u8; sunspace_crypto::SHARED_WRAP_LEN],
    },
}

/// Why the devices a [`KeyWraps`] reaches could not be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapsProblem {
    /// A wrap to a device outside the given ones (or malformed).
    Outsider,
    /// A device wrapped to twice, or one left out.
    Incomplete,
}

impl KeyWraps {
    /// Wraps made by `sunspace_crypto::wrap_key_shared`, one per device; kept in the devices' order.
    pub fn shared(ephemeral: [u8; 32], wraps: &[(DeviceId, [u8; sunspace_crypto::SHARED_WRAP_LEN])]) -> Self {
        use base64::Engine as _;
        let mut sorted = wraps.to_vec();
        sorted.sort_by_key(|(device, _)| *device);
        let mut bytes = Vec::with_capacity(wraps.len() * SHARED_SLOT_LEN);
        for (device, sealed) in &sorted {
            bytes.extend_from_slice(&device.0[..8]);
            bytes.extend_from_slice(sealed);
        }
        Self::Shared { ephemeral, wraps: base64::engine::general_purpose::STANDARD.encode(bytes) }
    }

    fn shared_slots(text: &str) -> Option<Vec<([u8; 8], [u8; sunspace_crypto::SHARED_WRAP_LEN])>> {
        use base64::Engine as _;
        if text.len() > (MAX_WRAPS * SHARED_SLOT_LEN).div_ceil(3) * 4 {
            return None;
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).ok()?;
        if bytes.len() % SHARED_SLOT_LEN != 0 {
            return None;
        }
        Some(
            bytes
                .chunks_exact(SHARED_SLOT_LEN)
                .map(|slot| {
                    let (mut prefix, mut sealed) = ([0u8; 8], [0u8; sunspace_crypto::SHARED_WRAP_LEN]);
                    prefix.copy_from_slice(&slot[..8]);
                    sealed.copy_from_slice(&slot[8..]);
                    (prefix, sealed)
                })
                .collect(),
        )
    }

    /// The devices among `devices` the key is wrapped to, if it is wrapped to every one of them exactly once and
    /// to nobody else. A shared wrap lists its slots in the devices' order (ascending id), each starting with its
    /// device's first 8 bytes: slot `i` is checked against the `i`th device, so a member who links a device whose
    /// id begins like another's (free to make: nothing proves a linked device's key) cannot make two slots claim
    /// one device.
    pub fn recipients_among<'a>(
        &self,
        devices: impl IntoIterator<Item = &'a DeviceId>,
    ) -> Result<Vec<DeviceId>, WrapsProblem> {
        let mut devices: Vec<DeviceId> = devices.into_iter().copied().collect();
        devices.sort();
        match self {
            Self::Each(wraps) => {
                let mut reached = std::collections::BTreeSet::new();
                for (device, _) in wraps {
                    if devices.binary_search(device).is_err() {
                        return Err(WrapsProblem::Outsider);
                    }
                    if !reached.insert(*device) {
                        return Err(WrapsProblem::Incomplete);
                    }
                }
                if reached.len() != devices.len() {
                    return Err(WrapsProblem::Incomplete);
                }
                Ok(reached.into_iter().collect())
            }
            Self::Shared { wraps, .. } => {
                let slots = Self::shared_slots(wraps).ok_or(WrapsProblem::Outsider)?;
                if slots.len() > devices.len() {
                    return Err(WrapsProblem::Outsider);
                }
                if slots.len() < devices.len() {
                    return Err(WrapsProblem::Incomplete);
                }
                if slots.iter().zip(&devices).any(|((prefix, _), device)| device.0[..8] != *prefix) {
                    return Err(WrapsProblem::Outsider);
                }
                Ok(devices)
            }
        }
    }

    /// The wraps that may be `device`'s: its own (older form), or every shared slot that starts with its id's
    /// first 8 bytes (two devices may share them; only the right one opens, its context naming the device).
    pub fn for_device(&self, device: &DeviceId) -> Vec<WrapFor> {
        match self {
            Self::Each(wraps) => {
                wraps.iter().filter(|(d, _)| d == device).map(|(_, hex)| WrapFor::Each(hex.clone())).collect()
            }
            Self::Shared { ephemeral, wraps } => Self::shared_slots(wraps)
                .unwrap_or_default()
                .into_iter()
                .filter(|(prefix, _)| device.0[..8] == *prefix)
                .map(|(_, sealed)| WrapFor::Shared { ephemeral: *ephemeral, sealed })
                .collect(),
        }
    }
}

mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        bytes.try_into().map_err(|_| serde::de::Error::custom("wrong length"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod key_wraps_tests {
    use super::*;
    use sunspace_crypto::{DeviceKeys, Secret32};

    #[test]
    fn shared_wraps_reach_exactly_the_devices_named_and_read_back_as_older_ones_do() {
        let devices: Vec<DeviceKeys> = (0..3).map(|_| DeviceKeys::generate()).collect();
        let ids: Vec<DeviceId> = devices.iter().map(DeviceKeys::device_id).collect();
        let key = Secret32::random();
        let recipients: Vec<([u8; 32], Vec<u8>)> =
            devices.iter().map(|d| (d.agreement_public(), d.device_id().0.to_vec())).collect();
        let (ephemeral, sealed) = sunspace_crypto::wrap_key_shared(&recipients, &key);
        let paired: Vec<_> = ids.iter().copied().zip(sealed).collect();
        let wraps = KeyWraps::shared(ephemeral, &paired);
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(wraps.recipients_among(&ids), Ok(sorted));
        // Each device finds and opens its own.
        for device in &devices {
            let [WrapFor::Shared { ephemeral, sealed }] = wraps.for_device(&device.device_id())[..] else { panic!() };
            let opened = sunspace_crypto::unwrap_key_shared(device, &ephemeral, &sealed, &device.device_id().0);
            assert_eq!(opened.unwrap(), key);
        }
        // A device of the group left out, or one outside it: refused.
        let more = [ids.clone(), vec![DeviceKeys::generate().device_id()]].concat();
        assert_eq!(wraps.recipients_among(&more), Err(WrapsProblem::Incomplete));
        assert_eq!(wraps.recipients_among(&ids[..2]), Err(WrapsProblem::Outsider));
        // Twice to one device, and so not to another.
        let twice = KeyWraps::shared(ephemeral, &[paired[0], paired[0], paired[1]]);
        assert!(twice.recipients_among(&ids).is_err());
        // A device whose id a member made to begin like another's (linking needs no proof of the key): both are
        // reached, each by its own slot, and each opens only its own.
        let mut twin = ids[0];
        twin.0[31] ^= 1;
        let group = [ids.clone(), vec![twin]].concat();
        let (ephemeral, sealed) = sunspace_crypto::wrap_key_shared(
            &group
                .iter()
                .map(|d| {
                    (
                        devices.iter().find(|k| k.device_id() == *d).map_or([9; 32], |k| k.agreement_public()),
                        d.0.to_vec(),
                    )
                })
                .collect::<Vec<_>>(),
            &key,
        );
        let with_twin = KeyWraps::shared(ephemeral, &group.iter().copied().zip(sealed).collect::<Vec<_>>());
        assert_eq!(with_twin.recipients_among(&group).map(|r| r.len()), Ok(4));
        let candidates = with_twin.for_device(&ids[0]);
        assert_eq!(candidates.len(), 2, "the twin's slot and the device's own");
        let opened: Vec<bool> = candidates
            .iter()
            .map(|wrap| match wrap {
                WrapFor::Shared { ephemeral, sealed } => {
                    sunspace_crypto::unwrap_key_shared(&devices[0], ephemeral, sealed, &ids[0].0).is_ok()
                }
                WrapFor::Each(_) => false,
            })
            .collect();
        assert_eq!(opened.iter().filter(|o| **o).count(), 1);
        // Not base64, or not whole slots.
        for text in ["not base64!", "AAAA"] {
            let bad = KeyWraps::Shared { ephemeral, wraps: text.into() };
            assert_eq!(bad.recipients_among(&ids), Err(WrapsProblem::Outsider));
        }
        // Both forms survive the op's JSON, and an older op's wraps read as before.
        let json = serde_json::to_string(&wraps).unwrap();
        assert_eq!(serde_json::from_str::<KeyWraps>(&json).unwrap(), wraps);
        let older = KeyWraps::Each(vec![(ids[0], "00".into())]);
        assert_eq!(serde_json::from_str::<KeyWraps>(&serde_json::to_string(&older).unwrap()).unwrap(), older);
    }
}
