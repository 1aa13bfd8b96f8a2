//! Admitting a device in person: the invitation code and the join handshake. Pure: no clock, no network.
//!
//! The inviter's device makes an [`Invitation`] (a random one-time secret) and shows it as a QR code and as a
//! typed code with a checksum. The newcomer's device enters it and the two devices run the handshake over a
//! connection that already authenticates both device keys (Noise or QUIC's TLS):
//!
//! ```text
//! joiner → inviter  Hello    { tag = H(secret), hello = H(secret ‖ joiner), commitment = H(joiner ‖ nonce_j),
//!                              agreement key }
//!                   (the inviter answers only a hello bound to the device on the other end of the connection:
//!                    a stranger who learned the tag, or relays another device's hello, gets the same refusal as
//!                    for an invitation that does not exist, learns no name, and binds nothing)
//! inviter → joiner  Challenge{ nonce_i, proof = H(secret ‖ inviter ‖ joiner ‖ nonce_i), group and inviter names }
//! joiner → inviter  Reveal   { nonce_j, name }                (checked against the commitment; the joiner names
//!                                                              itself only to a device that proved the secret)
//! inviter → joiner  Revealed
//!      both devices show the short authentication string over (secret, both keys, both nonces);
//!      the two people compare it aloud and both confirm
//! joiner → inviter  Confirm  { matched, where the joiner listens }   (recorded with its admission)
//! inviter → joiner  Welcome  { group, its keys wrapped to the joiner's X25519 key }   or Refused { reason }
//! ```
//!
//! The joiner commits to its nonce before it sees the inviter's, so neither side (nor anyone in between who
//! learned the code) can choose a nonce that makes two different handshakes show the same words.
//!
//! ```
//! use sunspace_membership::invite::Invitation;
//! let invitation = Invitation::random(vec!["/ip4/192.168.1.20/tcp/4001".into()]);
//! let typed = invitation.code();
//! assert_eq!(Invitation::parse(&typed).unwrap().tag(), invitation.tag());
//! assert!(Invitation::parse(&typed.replace('-', "").to_lowercase()).is_ok());
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use sunspace_crypto::{hash_parts, random_array, short_authentication_string, DeviceId, ShortAuthString};
use zeroize::Zeroize;

/// Bytes of secret in an invitation: 80 bits, for a code that is used once, within minutes, and then also
/// confirmed by comparing words aloud.
pub const SECRET_LEN: usize = 10;
/// The code format's version.
const CODE_VERSION: u8 = 1;
/// Bytes of checksum at the end of a code.
const CHECK_LEN: usize = 2;
/// Longest QR text accepted: a code and a few addresses.
pub const MAX_CODE_TEXT: usize = 1024;
/// Most addresses an invitation carries.
pub const MAX_ADDRESSES: usize = 8;
/// The prefix of an invitation in a QR code.
pub const QR_PREFIX: &str = "sunspace:";

/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or copied by hand is hard to get wrong.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// An invitation code could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// A character that is not in the code alphabet.
    #[error("the code has a character that cannot be in a code: '{0}'")]
    BadCharacter(char),
    /// Too short or too long.
    #[error("the code has the wrong length: check that you typed all of it")]
    Length,
    /// The checksum does not match: a typo.
    #[error("the code does not check out: a character is probably mistyped")]
    Checksum,
    /// Another version of the code format.
    #[error("the code is from a different version of Sunspace")]
    Version,
    /// The addresses part is malformed.
    #[error("the invitation's addresses are malformed")]
    Addresses,
}

/// A one-time invitation: the secret and where the inviter can be reached.
#[derive(Clone, PartialEq, Eq)]
pub struct Invitation {
    secret: [u8; SECRET_LEN],
    /// Addresses (libp2p multiaddrs as text) at which the inviter listens; empty for a typed code, where the
    /// joiner finds the inviter on the local network instead.
    pub addresses: Vec<String>,
}

impl Drop for Invitation {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl fmt::Debug for Invitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invitation").field("secret", &"<redacted>").field("addresses", &self.addresses).finish()
    }
}

fn checksum(body: &[u8]) -> [u8; CHECK_LEN] {
    let digest = hash_parts("sunspace/invite-check/v1", &[body]);
    [digest[0], digest[1]]
}

fn encode_base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn decode_char(c: char) -> Result<u32, CodeError> {
    let upper = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET.iter().position(|&a| char::from(a) == upper).map(|p| p as u32).ok_or(CodeError::BadCharacter(c))
}

fn decode_base32(text: &str, len: usize) -> Result<Vec<u8>, CodeError> {
    let mut out = Vec::with_capacity(len);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars() {
        buffer = ((buffer << 5) | decode_char(c)?) & 0xFFFF;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    if out.len() != len {
        return Err(CodeError::Length);
    }
    Ok(out)
}

impl Invitation {
    /// A fresh invitation with a random secret.
    pub fn random(addresses: Vec<String>) -> Self {
        Self { secret: random_array(), addresses }
    }

    /// The typed code: 21 characters in groups of three, e.g. `4FJ-9QW-…`, with a checksum.
    pub fn code(&self) -> String {
        let mut body = vec![CODE_VERSION];
        body.extend_from_slice(&self.secret);
        let check = checksum(&body);
        body.extend_from_slice(&check);
        let text = encode_base32(&body);
        body.zeroize();
        let groups: Vec<String> =
            text.as_bytes().chunks(3).map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect();
        groups.join("-")
    }

    /// The text of the QR code: the typed code and the inviter's addresses.
    pub fn qr_text(&self) -> String {
        if self.addresses.is_empty() {
            format!("{QR_PREFIX}{}", self.code())
        } else {
            format!("{QR_PREFIX}{}@{}", self.code(), self.addresses.join(","))
        }
    }

    /// Reads a typed code or a QR text. Case, spaces and dashes do not matter; O, I and L are read as 0, 1, 1.
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        if text.len() > MAX_CODE_TEXT {
            return Err(CodeError::Length);
        }
        let text = text.trim();
        let text = text.strip_prefix(QR_PREFIX).unwrap_or(text);
        let (code, addresses) = match text.split_once('@') {
            Some((code, addresses)) => (code, addresses),
            None => (text, ""),
        };
        let addresses: Vec<String> =
            addresses.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect();
        if addresses.len() > MAX_ADDRESSES || addresses.iter().any(|a| !a.starts_with('/')) {
            return Err(CodeError::Addresses);
        }
        let compact: String = code.chars().filter(|c| !matches!(c, '-' | ' ' | '\t')).collect();
        let body_len = 1 + SECRET_LEN + CHECK_LEN;
        if compact.chars().count() != (body_len * 8).div_ceil(5) {
            return Err(CodeError::Length);
        }
        let mut body = decode_base32(&compact, body_len)?;
        let (content, check) = body.split_at(1 + SECRET_LEN);
        if checksum(content) != check {
            body.zeroize();
            return Err(CodeError::Checksum);
        }
        if content[0] != CODE_VERSION {
            body.zeroize();
            return Err(CodeError::Version);
        }
        let mut secret = [0u8; SECRET_LEN];
        secret.copy_from_slice(&content[1..]);
        body.zeroize();
        Ok(Self { secret, addresses })
    }

    /// Names the invitation to the inviter without revealing the secret.
    pub fn tag(&self) -> [u8; 16] {
        let digest = hash_parts("sunspace/join-tag/v1", &[&self.secret]);
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&digest[..16]);
        tag
    }

    /// The joiner's commitment to its nonce.
    pub fn commitment(joiner: &DeviceId, nonce: &[u8; 32]) -> [u8; 32] {
        hash_parts("sunspace/join-commit/v1", &[&joiner.0, nonce])
    }

    /// The joiner's proof that it holds the secret, bound to its own device key: an inviter answers nothing but a
    /// refusal without it, so a device that merely learned the tag, or relays another device's hello, learns
    /// nothing and cannot take the invitation.
    pub fn hello_proof(&self, joiner: &DeviceId) -> [u8; 32] {
        hash_parts("sunspace/join-hello/v1", &[&self.secret, &joiner.0])
    }

    /// The inviter's proof that it holds the secret (so a joiner is not fooled by another device on the LAN).
    pub fn proof(&self, inviter: &DeviceId, joiner: &DeviceId, inviter_nonce: &[u8; 32]) -> [u8; 32] {
        hash_parts("sunspace/join-proof/v1", &[&self.secret, &inviter.0, &joiner.0, inviter_nonce])
    }

    /// The words both people compare.
    pub fn words(&self, transcript: &Transcript) -> ShortAuthString {
        let mut bytes = b"sunspace/join-sas/v1\0".to_vec();
        bytes.extend_from_slice(&self.secret);
        bytes.extend_from_slice(&transcript.inviter.0);
        bytes.extend_from_slice(&transcript.joiner.0);
        bytes.extend_from_slice(&transcript.joiner_agreement);
        bytes.extend_from_slice(&transcript.inviter_nonce);
        bytes.extend_from_slice(&transcript.joiner_nonce);
        let words = short_authentication_string(&bytes);
        bytes.zeroize();
        words
    }
}

/// What both devices know after the reveal, and hash into the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transcript {
    /// The inviting device.
    pub inviter: DeviceId,
    /// The joining device.
    pub joiner: DeviceId,
    /// The joiner's X25519 key, to which the group keys will be wrapped.
    pub joiner_agreement: [u8; 32],
    /// The inviter's nonce.
    pub inviter_nonce: [u8; 32],
    /// The joiner's nonce.
    pub joiner_nonce: [u8; 32],
}

/// The context for wrapping a group key to a joining device: binds the wrap to the group, epoch and device.
pub fn welcome_wrap_context(group: &sunspace_log::GroupId, epoch: u32, joiner: &DeviceId) -> Vec<u8> {
    let mut context = b"sunspace/join-welcome/v1\0".to_vec();
    context.extend_from_slice(&group.0);
    context.extend_from_slice(&epoch.to_be_bytes());
    context.extend_from_slice(&joiner.0);
    context
}

/// What an invitation admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InviteKind {
    /// A new member with their first device.
    Member,
    /// Another device of the inviting member.
    Device,
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text).map_err(serde::de::Error::custom)?;
        bytes.try_into().map_err(|_| serde::de::Error::custom("wrong length"))
    }
}

/// Longest name carried in the handshake.
pub const MAX_JOIN_NAME: usize = 200;
/// Most listening addresses a joining device may give, and the longest each may be.
pub const MAX_JOIN_ADDRESSES: usize = 8;
/// The longest listening address a joining device may give.
pub const MAX_JOIN_ADDRESS_LEN: usize = 256;

/// A request from the joiner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum JoinRequest {
    /// First message: which invitation, the proof of the secret bound to the joining device, the commitment and
    /// the joiner's X25519 key (not its name: that waits until the inviter has proved the secret too).
    Hello {
        /// [`Invitation::tag`].
        #[serde(with = "hex32")]
        tag: [u8; 16],
        /// [`Invitation::hello_proof`] for the joining device.
        #[serde(with = "hex32")]
        hello: [u8; 32],
        /// [`Invitation::commitment`].
        #[serde(with = "hex32")]
        commitment: [u8; 32],
        /// The joiner's X25519 public key.
        #[serde(with = "hex32")]
        agreement: [u8; 32],
        /// Whether the code was scanned from the QR code (with addresses) rather than typed: recorded as how the
        /// device was verified.
        #[serde(default)]
        via_qr: bool,
    },
    /// Second: the nonce committed to, and the joiner's name, now that the inviter proved it holds the secret.
    Reveal {
        /// [`Invitation::tag`].
        #[serde(with = "hex32")]
        tag: [u8; 16],
        /// The joiner's nonce.
        #[serde(with = "hex32")]
        nonce: [u8; 32],
        /// The joiner's name as they gave it when setting up their device.
        name: String,
    },
    /// Third: whether the person at the joining device said the words match, and where the joining device
    /// listens (recorded in the roster with its admission, so the group can reach it even if the inviter
    /// restarts before the newcomer says more).
    Confirm {
        /// [`Invitation::tag`].
        #[serde(with = "hex32")]
        tag: [u8; 16],
        /// True if they match.
        matched: bool,
        /// The joining device's listening addresses (multiaddr text), at most [`MAX_JOIN_ADDRESSES`].
        #[serde(default)]
        addresses: Vec<String>,
    },
}

/// An answer from the inviter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum JoinAnswer {
    /// Answer to Hello.
    Challenge {
        /// The inviter's nonce.
        #[serde(with = "hex32")]
        nonce: [u8; 32],
        /// [`Invitation::proof`].
        #[serde(with = "hex32")]
        proof: [u8; 32],
        /// The group's name.
        group_name: String,
        /// The inviter's name.
        inviter_name: String,
        /// What the invitation admits.
        kind: InviteKind,
    },
    /// Answer to Reveal: compare the words now.
    Revealed,
    /// Answer to Confirm, once the inviter confirmed too: you are in.
    Welcome {
        /// The group id (hex).
        group: String,
        /// The member record the joining device belongs to.
        member: String,
        /// Group keys by epoch, each wrapped to the joiner's X25519 key ([`sunspace_crypto::WrappedKey`] bytes, hex).
        keys: Vec<(u32, String)>,
    },
    /// The handshake is over without admission.
    Refused {
        /// Why, in words for the person at the joining device.
        reason: String,
    },
}

/// A join message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed join message: {0}")]
pub struct JoinMessageError(String);

fn decode_json<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, JoinMessageError> {
    if bytes.len() > 64 * 1024 {
        return Err(JoinMessageError("too large".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| JoinMessageError(e.to_string()))
}

impl JoinRequest {
    /// Encodes as JSON.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes, refusing anything over 64 KiB or with an overlong name.
    pub fn decode(bytes: &[u8]) -> Result<Self, JoinMessageError> {
        let request: Self = decode_json(bytes)?;
        if let Self::Reveal { name, .. } = &request {
            if name.chars().count() > MAX_JOIN_NAME {
                return Err(JoinMessageError("name too long".into()));
            }
        }
        if let Self::Confirm { addresses, .. } = &request {
            if addresses.len() > MAX_JOIN_ADDRESSES || addresses.iter().any(|a| a.len() > MAX_JOIN_ADDRESS_LEN) {
                return Err(JoinMessageError("too many or too long addresses".into()));
            }
        }
        Ok(request)
    }

    /// The invitation tag every request carries.
    pub fn tag(&self) -> [u8; 16] {
        match self {
            Self::Hello { tag, .. } | Self::Reveal { tag, .. } | Self::Confirm { tag, .. } => *tag,
        }
    }
}

impl JoinAnswer {
    /// Encodes as JSON.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes, refusing anything over 64 KiB.
    pub fn decode(bytes: &[u8]) -> Result<Self, JoinMessageError> {
        decode_json(bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_confirm_carries_at_most_eight_short_addresses_and_an_older_one_without_them_reads() {
        let confirm = |addresses: Vec<String>| JoinRequest::Confirm { tag: [1; 16], matched: true, addresses };
        let eight: Vec<String> = (0..8).map(|i| format!("/ip4/10.0.0.{i}/tcp/4001")).collect();
        assert!(JoinRequest::decode(&confirm(eight.clone()).encode()).is_ok());
        let nine = [eight, vec!["/ip4/10.0.0.9/tcp/4001".into()]].concat();
        assert!(JoinRequest::decode(&confirm(nine).encode()).is_err());
        assert!(JoinRequest::decode(&confirm(vec!["/".repeat(MAX_JOIN_ADDRESS_LEN + 1)]).encode()).is_err());
        let older = br#"{"type":"confirm","tag":"01010101010101010101010101010101","matched":true}"#;
        assert_eq!(JoinRequest::decode(older).unwrap(), confirm(Vec::new()));
    }

    #[test]
    fn a_code_reads_back_and_its_checksum_catches_a_typo() {
        let invitation = Invitation::random(Vec::new());
        let code = invitation.code();
        assert_eq!(code.len(), 21 + 6);
        assert_eq!(Invitation::parse(&code).unwrap().secret, invitation.secret);
        // Change each character in turn to another one: the checksum (16 bits) catches almost all; count.
        let mut caught = 0;
        let mut tried = 0;
        for (i, c) in code.char_indices().filter(|(_, c)| *c != '-') {
            let replacement = if c == 'X' { 'Y' } else { 'X' };
            let mut typo = code.clone();
            typo.replace_range(i..i + 1, &replacement.to_string());
            tried += 1;
            if Invitation::parse(&typo).is_err() {
                caught += 1;
            }
        }
        assert!(caught >= tried - 1, "caught {caught} of {tried}");
    }

    /// The test vector in `docs/protocol.md`.
    #[test]
    fn the_code_for_a_known_secret_matches_the_documented_vector() {
        let invitation = Invitation { secret: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], addresses: Vec::new() };
        let code = invitation.code();
        let tag = hex::encode(invitation.tag());
        println!("code {code} tag {tag}");
        let protocol = include_str!("../../../docs/protocol.md");
        assert!(protocol.contains(&format!("code `{code}`")), "docs/protocol.md lacks the code vector {code}");
        assert!(protocol.contains(&format!("tag `{tag}`")), "docs/protocol.md lacks the tag vector {tag}");
    }

    #[test]
    fn a_qr_text_carries_the_addresses() {
        let invitation = Invitation::random(vec!["/ip4/127.0.0.1/tcp/1".into(), "/ip4/10.0.0.2/udp/2/quic-v1".into()]);
        let back = Invitation::parse(&invitation.qr_text()).unwrap();
        assert_eq!(back, invitation);
    }

    #[test]
    fn wrong_length_bad_characters_and_bad_addresses_are_refused() {
        assert_eq!(Invitation::parse("ABC-DEF"), Err(CodeError::Length));
        assert_eq!(Invitation::parse("ABC-DEF-GHJ-KMN-PQR-STV-WX!"), Err(CodeError::BadCharacter('!')));
        let code = Invitation::random(Vec::new()).code();
        assert_eq!(Invitation::parse(&format!("{code}@not-an-address")), Err(CodeError::Addresses));
        assert_eq!(Invitation::parse(&"A".repeat(5000)), Err(CodeError::Length));
    }

    #[test]
    fn the_words_depend_on_every_part_of_the_transcript() {
        let invitation = Invitation::random(Vec::new());
        let base = Transcript {
            inviter: DeviceId([1; 32]),
            joiner: DeviceId([2; 32]),
            joiner_agreement: [3; 32],
            inviter_nonce: [4; 32],
            joiner_nonce: [5; 32],
        };
        let words = invitation.words(&base);
        let variants = [
            Transcript { inviter: DeviceId([9; 32]), ..base },
            Transcript { joiner: DeviceId([9; 32]), ..base },
            Transcript { joiner_agreement: [9; 32], ..base },
            Transcript { inviter_nonce: [9; 32], ..base },
            Transcript { joiner_nonce: [9; 32], ..base },
        ];
        for variant in variants {
            assert_ne!(invitation.words(&variant), words);
        }
        assert_ne!(Invitation::random(Vec::new()).words(&base), words);
    }

    #[test]
    fn join_messages_round_trip_and_oversized_ones_are_refused() {
        let hello =
            JoinRequest::Hello { tag: [1; 16], hello: [4; 32], commitment: [2; 32], agreement: [3; 32], via_qr: true };
        assert_eq!(JoinRequest::decode(&hello.encode()).unwrap(), hello);
        let reveal = JoinRequest::Reveal { tag: [1; 16], nonce: [5; 32], name: "Bea".into() };
        assert_eq!(JoinRequest::decode(&reveal.encode()).unwrap(), reveal);
        let welcome = JoinAnswer::Welcome { group: "ab".into(), member: "m".into(), keys: vec![(0, "00".into())] };
        assert_eq!(JoinAnswer::decode(&welcome.encode()).unwrap(), welcome);
        assert!(JoinRequest::decode(&vec![b' '; 70 * 1024]).is_err());
        let long = JoinRequest::Reveal { tag: [1; 16], nonce: [5; 32], name: "x".repeat(201) };
        assert!(JoinRequest::decode(&long.encode()).is_err());
        assert!(JoinRequest::decode(br#"{"type":"hello","tag":"zz"}"#).is_err());
    }

    #[test]
    fn a_hello_proof_is_bound_to_the_joining_device_and_the_secret() {
        let invitation = Invitation::random(Vec::new());
        let (bea, eve) = (DeviceId([1; 32]), DeviceId([2; 32]));
        assert_ne!(invitation.hello_proof(&bea), invitation.hello_proof(&eve));
        assert_ne!(invitation.hello_proof(&bea), Invitation::random(Vec::new()).hello_proof(&bea));
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(text in ".{0,80}") {
            let _ = Invitation::parse(&text);
        }

        #[test]
        fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = JoinRequest::decode(&bytes);
            let _ = JoinAnswer::decode(&bytes);
        }
    }
}
