//! The sync state machine over sealed entries, with no I/O.
//!
//! Every device appends to its own log of sealed entries (`sunspace-log`). Two devices that share a group sync by
//! telling each other how far they hold each log ([`Message::Heads`]) and sending what the other lacks, in order
//! and in bounded batches ([`Message::Entries`]). New local entries are pushed at once to peers known to be
//! caught up. Lost messages are repaired by the next heads exchange, which the engine sends on a timer and after
//! receiving entries; duplicates are harmless because a receiver only ever accepts the next entry of each log.
//!
//! The engine owns the store and the network; this crate only decides:
//! - [`SyncPolicy`]: across every peer and group, what to send and when to answer with heads (the engine carries
//!   out the [`SyncAction`]s it returns; the simulated-network property tests drive the same type);
//! - [`Session`]: per peer and group, which ranges of which logs to send;
//! - [`check_entry`]: whether a received entry is the next valid entry of a log by an admitted device;
//! - [`Message`]: the wire format, with every size bounded before anything is allocated.
//!
//! ```
//! use std::collections::BTreeMap;
//! use sunspace_crypto::DeviceId;
//! use sunspace_log::GroupId;
//! use sunspace_replicate::{Range, Session};
//!
//! let group = GroupId([1; 16]);
//! let author = DeviceId([2; 32]);
//! let mine = BTreeMap::from([(author, 5)]);
//! let mut session = Session::new(group);
//! // The peer says it holds entries 1..=3 of that log: send 4 and 5.
//! let ranges = session.on_peer_heads(std::time::Instant::now(), &BTreeMap::from([(author, 3)]), &mine);
//! assert_eq!(ranges, vec![Range { author, first: 4, last: 5 }]);
//! ```

mod bytes;
mod carry;
mod check;
mod checkpoint;
mod message;
mod policy;
mod session;

pub use carry::{CarryError, CarryFile, MAX_CARRY_ENTRIES, MAX_CARRY_FILE_LEN, MAX_CARRY_RECIPIENTS};
pub use check::{check_entry, check_verified_entry, Rejection, Verdict};
pub use checkpoint::{Checkpoint, CheckpointBody, CheckpointError, MAX_CHECKPOINT_LEN};
pub use message::{DecodeError, Message, MAX_ENTRIES_PER_BATCH, MAX_HEADS, MAX_MESSAGE_LEN};
pub use policy::{SyncAction, SyncPolicy, HEADS_REPLY_INTERVAL};
pub use session::{batches, diverging, Range, Session, IN_FLIGHT_GRACE, MAX_BATCH_BYTES};
