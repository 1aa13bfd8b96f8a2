use proptest::prelude::*;
use sunspace_crypto::{DeviceKeys, Secret32};

use super::*;

fn fixed_device() -> DeviceKeys {
    DeviceKeys::from_seeds(&Secret32::from_bytes([1; 32]), &Secret32::from_bytes([2; 32]))
}

fn first_entry(device: &DeviceKeys, key: &Secret32, body: &[u8]) -> Entry {
    Entry::seal(device, EntryKind::Change, GroupId([9; 16]), LogPosition::start().next_header_fields(), 0, key, body)
}

#[test]
fn entry_round_trips_through_its_encoding() {
    let device = DeviceKeys::generate();
    let key = Secret32::random();
    let entry = first_entry(&device, &key, b"automerge change bytes");
    let decoded = Entry::decode(&entry.encode()).unwrap();
    assert_eq!(decoded, entry);
    decoded.verify_signature().unwrap();
    assert_eq!(decoded.open(&key).unwrap(), b"automerge change bytes");
}

#[test]
fn body_is_not_readable_in_the_encoding() {
    let entry = first_entry(&DeviceKeys::generate(), &Secret32::random(), b"CANARY-minutes-text");
    let bytes = entry.encode();
    assert!(!bytes.windows(6).any(|w| w == b"CANARY"));
}

#[test]
fn tampered_header_breaks_the_signature() {
    let entry = first_entry(&DeviceKeys::generate(), &Secret32::random(), b"x");
    let mut bytes = entry.encode();
    bytes[55] ^= 1; // inside the sequence number
    let decoded = Entry::decode(&bytes).unwrap();
    assert_eq!(decoded.verify_signature(), Err(VerifyError::BadSignature));
}

#[test]
fn tampered_ciphertext_is_rejected_by_signature_and_by_aead() {
    let key = Secret32::random();
    let entry = first_entry(&DeviceKeys::generate(), &key, b"hello");
    let mut bytes = entry.encode();
    bytes[HEADER_LEN + 30] ^= 0x80;
    let decoded = Entry::decode(&bytes).unwrap();
    assert_eq!(decoded.verify_signature(), Err(VerifyError::BadSignature));
    assert_eq!(decoded.open(&key), Err(VerifyError::BadCiphertext));
}

#[test]
fn entry_signed_by_another_device_is_rejected() {
    let key = Secret32::random();
    let honest = first_entry(&DeviceKeys::generate(), &key, b"hello");
    let forger = DeviceKeys::generate();
    // The forger re-signs the honest header under its own key but keeps the honest author's id.
    let mut bytes = honest.encode();
    let signed_len = bytes.len() - SIGNATURE_LEN;
    let forged_signature = forger.sign(&bytes[..signed_len]);
    bytes[signed_len..].copy_from_slice(&forged_signature);
    assert_eq!(Entry::decode(&bytes).unwrap().verify_signature(), Err(VerifyError::BadSignature));
}

#[test]
fn wrong_group_key_cannot_open_the_body() {
    let entry = first_entry(&DeviceKeys::generate(), &Secret32::random(), b"hello");
    assert_eq!(entry.open(&Secret32::random()), Err(VerifyError::BadCiphertext));
}

#[test]
fn log_position_accepts_entries_only_in_order_and_on_the_chain() {
    let device = DeviceKeys::generate();
    let key = Secret32::random();
    let group = GroupId::random();
    let mut writer = LogPosition::start();
    let mut entries = Vec::new();
    for i in 0..3u8 {
        let entry = Entry::seal(&device, EntryKind::Change, group, writer.next_header_fields(), 0, &key, &[i]);
        writer.accept(&entry).unwrap();
        entries.push(entry);
    }

    let mut reader = LogPosition::start();
    assert_eq!(reader.accept(&entries[1]), Err(VerifyError::OutOfOrder { seq: 2, expected: 1 }));
    reader.accept(&entries[0]).unwrap();
    assert_eq!(reader.accept(&entries[0]), Err(VerifyError::OutOfOrder { seq: 1, expected: 2 }), "replay");
    reader.accept(&entries[1]).unwrap();

    // A fork: a different entry 3 that does not name entry 2 as its predecessor.
    let fork = Entry::seal(&device, EntryKind::Change, group, ChainLink { seq: 3, prev_hash: [7; 32] }, 0, &key, b"f");
    assert_eq!(reader.accept(&fork), Err(VerifyError::BrokenChain { seq: 3 }));
    reader.accept(&entries[2]).unwrap();
    assert_eq!(reader.len(), 3);
}

#[test]
fn every_truncation_is_a_clear_error() {
    let bytes = first_entry(&DeviceKeys::generate(), &Secret32::random(), b"some body").encode();
    for len in 0..bytes.len() {
        assert!(Entry::decode(&bytes[..len]).is_err(), "truncated to {len} bytes was accepted");
    }
}

#[test]
fn oversized_body_length_is_refused_before_allocation() {
    let mut bytes = first_entry(&DeviceKeys::generate(), &Secret32::random(), b"x").encode();
    bytes[97..101].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(Entry::decode(&bytes), Err(DecodeError::Oversized(u32::MAX.into())));
}

#[test]
fn unknown_version_and_kind_are_refused() {
    let mut bytes = first_entry(&DeviceKeys::generate(), &Secret32::random(), b"x").encode();
    bytes[3] = 2;
    assert_eq!(Entry::decode(&bytes), Err(DecodeError::UnknownFormat));
    bytes[3] = 1;
    bytes[4] = 77;
    assert_eq!(Entry::decode(&bytes), Err(DecodeError::UnknownKind(77)));
}

/// The test vector published in docs/protocol.md.
fn vector_entry() -> Entry {
    Entry::seal_with_nonce(
        &fixed_device(),
        EntryKind::Change,
        GroupId([0x11; 16]),
        LogPosition::start().next_header_fields(),
        0,
        &Secret32::from_bytes([0x22; 32]),
        b"hello, group",
        [0x33; 24],
    )
}

#[test]
fn entry_encoding_matches_the_published_test_vector() {
    let encoded = hex::encode(vector_entry().encode());
    let protocol = include_str!("../../../docs/protocol.md");
    let published: String = protocol
        .split("<!-- entry-vector-begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- entry-vector-end -->").next())
        .expect("docs/protocol.md has the entry test vector markers")
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(encoded, published, "docs/protocol.md's entry vector is out of date");
}

proptest! {
    #[test]
    fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Entry::decode(&bytes);
    }

    #[test]
    fn decoding_a_mutated_entry_never_panics_and_never_verifies(position in any::<usize>(), value in any::<u8>()) {
        let entry = first_entry(&fixed_device(), &Secret32::from_bytes([5; 32]), b"body under test");
        let mut bytes = entry.encode();
        let position = position % bytes.len();
        prop_assume!(bytes[position] != value);
        bytes[position] = value;
        if let Ok(decoded) = Entry::decode(&bytes) {
            prop_assert!(decoded.verify_signature().is_err());
        }
    }
}

#[test]
#[ignore = "prints the test vector for docs/protocol.md"]
fn print_test_vector() {
    println!("{}", hex::encode(vector_entry().encode()));
}
