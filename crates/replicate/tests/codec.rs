//! The sync message codec: round trips, and a clear error for anything malformed, oversized or truncated.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use sunspace_crypto::DeviceId;
use sunspace_log::GroupId;
use sunspace_replicate::{DecodeError, Message, MAX_ENTRIES_PER_BATCH, MAX_HEADS, MAX_MESSAGE_LEN};

fn message() -> impl Strategy<Value = Message> {
    let group = any::<[u8; 16]>().prop_map(GroupId);
    prop_oneof![
        (
            group.clone(),
            proptest::collection::btree_map(
                any::<[u8; 32]>().prop_map(DeviceId),
                (any::<u64>(), any::<[u8; 32]>()),
                0..20
            )
        )
            .prop_map(|(group, logs)| Message::Heads {
                group,
                heads: logs.iter().map(|(author, (seq, _))| (*author, *seq)).collect(),
                // An all-zero hash means "not known" and decodes as absent.
                hashes: logs
                    .iter()
                    .filter(|(_, (_, h))| *h != [0; 32])
                    .map(|(author, (_, hash))| (*author, *hash))
                    .collect(),
            }),
        (group, proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..10))
            .prop_map(|(group, entries)| Message::Entries { group, entries }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn messages_round_trip(message in message()) {
        prop_assert_eq!(Message::decode(&message.encode()).unwrap(), message);
    }

    #[test]
    fn every_truncation_is_an_error(message in message(), cut in any::<usize>()) {
        let bytes = message.encode();
        let cut = cut % bytes.len();
        prop_assert!(Message::decode(&bytes[..cut]).is_err());
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Message::decode(&bytes);
    }
}

#[test]
fn oversized_messages_and_counts_are_refused_before_allocation() {
    assert_eq!(Message::decode(&vec![1u8; MAX_MESSAGE_LEN + 1]), Err(DecodeError::Oversized(MAX_MESSAGE_LEN + 1)));
    let mut heads = vec![1u8, 1];
    heads.extend_from_slice(&[0; 16]);
    heads.extend_from_slice(&(MAX_HEADS as u32 + 1).to_be_bytes());
    assert_eq!(Message::decode(&heads), Err(DecodeError::TooMany(MAX_HEADS as u32 + 1)));
    let mut entries = vec![1u8, 2];
    entries.extend_from_slice(&[0; 16]);
    entries.extend_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(Message::decode(&entries), Err(DecodeError::TooMany(u32::MAX)));
    let mut one_huge = vec![1u8, 2];
    one_huge.extend_from_slice(&[0; 16]);
    one_huge.extend_from_slice(&1u32.to_be_bytes());
    one_huge.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(Message::decode(&one_huge), Err(DecodeError::Oversized(_))));
    let _ = MAX_ENTRIES_PER_BATCH;
}

#[test]
fn unknown_versions_types_duplicates_and_trailing_bytes_are_refused() {
    let message = Message::Heads {
        group: GroupId([0; 16]),
        heads: BTreeMap::from([(DeviceId([1; 32]), 3)]),
        hashes: BTreeMap::from([(DeviceId([1; 32]), [5; 32])]),
    };
    let mut bytes = message.encode();
    bytes[0] = 9;
    assert_eq!(Message::decode(&bytes), Err(DecodeError::UnknownVersion(9)));
    bytes[0] = 1;
    bytes[1] = 7;
    assert_eq!(Message::decode(&bytes), Err(DecodeError::UnknownType(7)));
    bytes[1] = 1;
    bytes.push(0);
    assert_eq!(Message::decode(&bytes), Err(DecodeError::Trailing(1)));
    bytes.pop();
    // The same log twice, and logs out of order: each message has one encoding.
    // (Each log takes 72 bytes: author, seq, hash.)
    let entry = bytes[22..94].to_vec();
    bytes[18..22].copy_from_slice(&2u32.to_be_bytes());
    bytes.extend_from_slice(&entry);
    assert_eq!(Message::decode(&bytes), Err(DecodeError::NotCanonical));
    bytes[94] = 0;
    assert_eq!(Message::decode(&bytes), Err(DecodeError::NotCanonical));
}
