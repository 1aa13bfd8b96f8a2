//! One test suite, run against every [`Store`] implementation.

use proptest::prelude::*;

use crate::{LogId, MemStore, SledStore, Store, StoreError};

const GROUP: [u8; 16] = [1; 16];
const OTHER_GROUP: [u8; 16] = [2; 16];

fn log(author: u8) -> LogId {
    LogId { group: GROUP, author: [author; 32] }
}

/// Generates one `#[test]` per implementation for each suite function.
macro_rules! for_each_store {
    ($($case:ident),* $(,)?) => {
        mod mem_store {
            $( #[test] fn $case() { super::$case(&crate::MemStore::default()); } )*
        }
        mod sled_store {
            $( #[test] fn $case() {
                let dir = tempfile::tempdir().unwrap();
                super::$case(&crate::SledStore::open(dir.path()).unwrap());
            } )*
        }
    };
}

for_each_store!(
    empty_store_has_nothing,
    meta_values_are_replaced,
    entries_are_read_back_in_order_from_any_start,
    appends_must_be_consecutive,
    log_heads_list_each_author_of_a_group,
    groups_come_from_entries_and_snapshots,
    snapshots_are_replaced,
    entries_limit_is_respected,
    a_truncated_log_ends_where_it_was_cut_and_grows_again_from_there,
    removed_meta_values_and_snapshots_are_gone,
    meta_names_are_listed_by_prefix_in_order,
    a_compacted_log_keeps_its_head_and_reads_from_what_is_left,
    a_log_taken_from_a_checkpoint_starts_after_it,
    blobs_are_replaced_whole_and_removed,
    blob_names_that_could_leave_the_directory_are_refused,
);

fn a_compacted_log_keeps_its_head_and_reads_from_what_is_left(store: &dyn Store) {
    for seq in 1..=5u64 {
        store.append_entry(&log(1), seq, format!("entry {seq}").as_bytes()).unwrap();
    }
    store.compact_log(&log(1), 3).unwrap();
    assert_eq!(store.log_heads(&GROUP).unwrap(), vec![(log(1), 5)]);
    let left = store.entries(&log(1), 1, 100).unwrap();
    assert_eq!(left.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![4, 5]);
    store.append_entry(&log(1), 6, b"entry 6").unwrap();
    // Compacting everything leaves the head, so the log still counts and grows from there.
    store.compact_log(&log(1), 6).unwrap();
    assert!(store.entries(&log(1), 1, 100).unwrap().is_empty());
    assert_eq!(store.log_heads(&GROUP).unwrap(), vec![(log(1), 6)]);
    assert_eq!(store.groups().unwrap(), vec![GROUP]);
    store.append_entry(&log(1), 7, b"entry 7").unwrap();
    assert_eq!(store.entries(&log(1), 1, 100).unwrap(), vec![(7, b"entry 7".to_vec())]);
}

fn a_log_taken_from_a_checkpoint_starts_after_it(store: &dyn Store) {
    store.compact_log(&log(2), 40).unwrap();
    assert_eq!(store.log_heads(&GROUP).unwrap(), vec![(log(2), 40)]);
    assert!(matches!(store.append_entry(&log(2), 1, b"x"), Err(StoreError::NotNext { expected: 41, .. })));
    store.append_entry(&log(2), 41, b"next").unwrap();
    assert_eq!(store.entries(&log(2), 1, 10).unwrap(), vec![(41, b"next".to_vec())]);
    store.compact_log(&log(3), 0).unwrap();
    assert_eq!(store.log_heads(&GROUP).unwrap().len(), 1, "compacting nothing makes no log");
}

fn blobs_are_replaced_whole_and_removed(store: &dyn Store) {
    assert_eq!(store.blob("checkpoint-ab").unwrap(), None);
    store.put_blob("checkpoint-ab", &[7; 100_000]).unwrap();
    store.put_blob("checkpoint-ab", b"short").unwrap();
    store.put_blob("view-ab", b"view").unwrap();
    assert_eq!(store.blob_names("checkpoint-").unwrap(), ["checkpoint-ab"]);
    assert_eq!(store.blob_names("").unwrap(), ["checkpoint-ab", "view-ab"]);
    store.remove_blob("view-ab").unwrap();
    assert_eq!(store.blob("checkpoint-ab").unwrap().as_deref(), Some(&b"short"[..]));
    store.remove_blob("checkpoint-ab").unwrap();
    store.remove_blob("never-written").unwrap();
    assert_eq!(store.blob("checkpoint-ab").unwrap(), None);
    assert!(store.groups().unwrap().is_empty(), "a blob is not a group");
}

fn blob_names_that_could_leave_the_directory_are_refused(store: &dyn Store) {
    for name in ["", "../x", "a/b", "A", "a.b", &"a".repeat(crate::MAX_BLOB_NAME + 1)] {
        assert!(matches!(store.put_blob(name, b"x"), Err(StoreError::BadName)), "{name:?}");
        assert!(matches!(store.blob(name), Err(StoreError::BadName)), "{name:?}");
    }
}

fn meta_names_are_listed_by_prefix_in_order(store: &dyn Store) {
    for name in ["pending/ab/1", "pending/ab", "pending/ab/0", "pending/ac", "keys/ab", "pendinf"] {
        store.put_meta(name, b"x").unwrap();
    }
    assert_eq!(store.meta_names("pending/ab").unwrap(), ["pending/ab", "pending/ab/0", "pending/ab/1"]);
    assert_eq!(store.meta_names("pending/ab/").unwrap(), ["pending/ab/0", "pending/ab/1"]);
    assert_eq!(store.meta_names("nothing").unwrap(), Vec::<String>::new());
    assert_eq!(store.meta_names("").unwrap().len(), 6);
}

fn removed_meta_values_and_snapshots_are_gone(store: &dyn Store) {
    store.put_meta("a", b"1").unwrap();
    store.put_meta("b", b"2").unwrap();
    store.remove_meta("a").unwrap();
    store.remove_meta("never-written").unwrap();
    assert_eq!(store.get_meta("a").unwrap(), None);
    assert_eq!(store.get_meta("b").unwrap(), Some(b"2".to_vec()));
    store.put_snapshot(&GROUP, b"snapshot").unwrap();
    store.remove_snapshot(&GROUP).unwrap();
    store.remove_snapshot(&OTHER_GROUP).unwrap();
    assert_eq!(store.snapshot(&GROUP).unwrap(), None);
    assert!(store.groups().unwrap().is_empty());
}

fn a_truncated_log_ends_where_it_was_cut_and_grows_again_from_there(store: &dyn Store) {
    for seq in 1..=5u64 {
        store.append_entry(&log(1), seq, format!("entry {seq}").as_bytes()).unwrap();
    }
    store.append_entry(&log(2), 1, b"other").unwrap();
    store.truncate_log(&log(1), 2).unwrap();
    assert_eq!(store.entries(&log(1), 1, 100).unwrap().len(), 2);
    assert_eq!(store.log_heads(&GROUP).unwrap(), vec![(log(1), 2), (log(2), 1)]);
    assert!(matches!(store.append_entry(&log(1), 4, b"x"), Err(StoreError::NotNext { expected: 3, .. })));
    store.append_entry(&log(1), 3, b"a new third").unwrap();
    assert_eq!(store.entries(&log(1), 3, 1).unwrap(), vec![(3, b"a new third".to_vec())]);
    // Cutting everything forgets the log; cutting beyond its end changes nothing.
    store.truncate_log(&log(2), 0).unwrap();
    store.truncate_log(&log(1), 10).unwrap();
    assert_eq!(store.log_heads(&GROUP).unwrap(), vec![(log(1), 3)]);
}

fn empty_store_has_nothing(store: &dyn Store) {
    assert_eq!(store.get_meta("format").unwrap(), None);
    assert!(store.groups().unwrap().is_empty());
    assert!(store.log_heads(&GROUP).unwrap().is_empty());
    assert!(store.entries(&log(1), 1, 10).unwrap().is_empty());
    assert_eq!(store.snapshot(&GROUP).unwrap(), None);
    store.flush().unwrap();
}

fn meta_values_are_replaced(store: &dyn Store) {
    store.put_meta("device", b"one").unwrap();
    store.put_meta("device", b"two").unwrap();
    assert_eq!(store.get_meta("device").unwrap().as_deref(), Some(&b"two"[..]));
}

fn entries_are_read_back_in_order_from_any_start(store: &dyn Store) {
    for seq in 1..=5u64 {
        store.append_entry(&log(1), seq, format!("entry {seq}").as_bytes()).unwrap();
    }
    let all = store.entries(&log(1), 1, 100).unwrap();
    assert_eq!(all.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert_eq!(all[2].1, b"entry 3");
    let tail = store.entries(&log(1), 4, 100).unwrap();
    assert_eq!(tail.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![4, 5]);
    assert!(store.entries(&log(1), 6, 100).unwrap().is_empty());
    assert!(store.entries(&log(2), 1, 100).unwrap().is_empty(), "another author's log is separate");
}

fn appends_must_be_consecutive(store: &dyn Store) {
    assert!(matches!(store.append_entry(&log(1), 2, b"gap"), Err(StoreError::NotNext { seq: 2, expected: 1 })));
    store.append_entry(&log(1), 1, b"first").unwrap();
    assert!(matches!(store.append_entry(&log(1), 1, b"overwrite"), Err(StoreError::NotNext { seq: 1, expected: 2 })));
    assert_eq!(store.entries(&log(1), 1, 10).unwrap(), vec![(1, b"first".to_vec())], "nothing was overwritten");
}

fn log_heads_list_each_author_of_a_group(store: &dyn Store) {
    store.append_entry(&log(2), 1, b"a").unwrap();
    store.append_entry(&log(1), 1, b"b").unwrap();
    store.append_entry(&log(1), 2, b"c").unwrap();
    store.append_entry(&LogId { group: OTHER_GROUP, author: [3; 32] }, 1, b"d").unwrap();
    assert_eq!(store.log_heads(&GROUP).unwrap(), vec![(log(1), 2), (log(2), 1)]);
}

fn groups_come_from_entries_and_snapshots(store: &dyn Store) {
    store.append_entry(&log(1), 1, b"a").unwrap();
    store.put_snapshot(&OTHER_GROUP, b"snap").unwrap();
    assert_eq!(store.groups().unwrap(), vec![GROUP, OTHER_GROUP]);
}

fn snapshots_are_replaced(store: &dyn Store) {
    store.put_snapshot(&GROUP, b"old").unwrap();
    store.put_snapshot(&GROUP, b"new").unwrap();
    assert_eq!(store.snapshot(&GROUP).unwrap().as_deref(), Some(&b"new"[..]));
    assert_eq!(store.snapshot(&OTHER_GROUP).unwrap(), None);
}

fn entries_limit_is_respected(store: &dyn Store) {
    for seq in 1..=10u64 {
        store.append_entry(&log(1), seq, &[seq as u8]).unwrap();
    }
    let page = store.entries(&log(1), 3, 4).unwrap();
    assert_eq!(page.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), vec![3, 4, 5, 6]);
}

#[test]
fn sled_store_keeps_flushed_writes_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store.put_meta("format", b"1").unwrap();
        store.append_entry(&log(1), 1, b"entry").unwrap();
        store.put_snapshot(&GROUP, b"snap").unwrap();
        store.flush().unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.get_meta("format").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(store.log_heads(&GROUP).unwrap(), vec![(log(1), 1)]);
    assert_eq!(store.snapshot(&GROUP).unwrap().as_deref(), Some(&b"snap"[..]));
}

#[test]
fn a_second_open_of_the_same_directory_is_refused_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _first = SledStore::open(dir.path()).unwrap();
    match SledStore::open(dir.path()) {
        Err(StoreError::Locked) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Append { author: u8, body: Vec<u8> },
    Meta { name: u8, value: Vec<u8> },
    Snapshot { value: Vec<u8> },
    Compact { author: u8, through: u64 },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(author, body)| Op::Append { author, body }),
        2 => (0u8..3, proptest::collection::vec(any::<u8>(), 0..32)).prop_map(|(name, value)| Op::Meta { name, value }),
        1 => proptest::collection::vec(any::<u8>(), 0..32).prop_map(|value| Op::Snapshot { value }),
        1 => (0u8..3, 0u64..8).prop_map(|(author, through)| Op::Compact { author, through }),
        1 => Just(Op::Reopen),
    ]
}

/// sled releases its file lock a moment after the last handle is dropped (a background thread holds it), so an
/// immediate reopen in the same process can find it still locked; a real store waits the same way.
fn reopen_when_unlocked(path: &std::path::Path) -> SledStore {
    for _ in 0..200 {
        match SledStore::open(path) {
            Err(crate::StoreError::Locked) => std::thread::sleep(std::time::Duration::from_millis(25)),
            other => return other.unwrap(),
        }
    }
    SledStore::open(path).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// sled-style model test: random operations with reopens, compared against the in-memory store.
    #[test]
    fn sled_store_behaves_like_the_memory_model_across_reopens(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut sled = SledStore::open(dir.path()).unwrap();
        let model = MemStore::default();
        for op in ops {
            match op {
                Op::Append { author, body } => {
                    let next = model.log_heads(&GROUP).unwrap().iter()
                        .find(|(l, _)| l.author == [author; 32]).map_or(1, |(_, seq)| seq + 1);
                    model.append_entry(&log(author), next, &body).unwrap();
                    sled.append_entry(&log(author), next, &body).unwrap();
                }
                Op::Meta { name, value } => {
                    model.put_meta(&name.to_string(), &value).unwrap();
                    sled.put_meta(&name.to_string(), &value).unwrap();
                }
                Op::Snapshot { value } => {
                    model.put_snapshot(&GROUP, &value).unwrap();
                    sled.put_snapshot(&GROUP, &value).unwrap();
                }
                Op::Compact { author, through } => {
                    model.compact_log(&log(author), through).unwrap();
                    sled.compact_log(&log(author), through).unwrap();
                }
                Op::Reopen => {
                    sled.flush().unwrap();
                    drop(sled);
                    sled = reopen_when_unlocked(dir.path());
                }
            }
            prop_assert_eq!(sled.log_heads(&GROUP).unwrap(), model.log_heads(&GROUP).unwrap());
            prop_assert_eq!(sled.groups().unwrap(), model.groups().unwrap());
            prop_assert_eq!(sled.snapshot(&GROUP).unwrap(), model.snapshot(&GROUP).unwrap());
            for author in 0u8..3 {
                prop_assert_eq!(sled.entries(&log(author), 1, 1000).unwrap(), model.entries(&log(author), 1, 1000).unwrap());
                prop_assert_eq!(sled.get_meta(&author.to_string()).unwrap(), model.get_meta(&author.to_string()).unwrap());
            }
        }
    }
}
