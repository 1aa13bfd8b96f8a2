//! Deciding whether a received entry may be stored.

use sunspace_crypto::DeviceId;
use sunspace_log::{Entry, GroupId, LogPosition, VerifyError};

/// What to do with a received entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The next valid entry of its log: store it, then apply it.
    Accept,
    /// Already held (a duplicate or a replay): ignore it.
    Duplicate,
    /// It skips entries not yet received: ignore it; the next heads exchange will fill the gap in order.
    Gap {
        /// The sequence number the log expects next.
        expected: u64,
    },
    /// Invalid: never store it, log it, and treat the sender as misbehaving.
    Reject(Rejection),
}

/// Why an entry was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// It belongs to another group than the one it was sent for.
    #[error("entry belongs to another group")]
    WrongGroup,
    /// Its author is not a device admitted to the group.
    #[error("entry's author is not a member device of the group")]
    NotMember,
    /// Its signature, hash chain or ciphertext is invalid.
    #[error(transparent)]
    Invalid(#[from] VerifyError),
}

/// Checks a decoded entry against the group, the membership and the author's log position (`None` when nothing
/// of that log is held yet). Checks run cheapest first; the body's decryption is the caller's last step.
pub fn check_entry(
    entry: &Entry,
    group: GroupId,
    position: Option<&LogPosition>,
    admitted: impl Fn(&DeviceId) -> bool,
) -> Verdict {
    if let Some(refused) = check_header(entry, group, admitted) {
        return refused;
    }
    if let Err(error) = entry.verify_signature() {
        return Verdict::Reject(error.into());
    }
    check_place(entry, position)
}

/// The cheapest checks: the group, and that the author is admitted.
fn check_header(entry: &Entry, group: GroupId, admitted: impl Fn(&DeviceId) -> bool) -> Option<Verdict> {
    let header = entry.header();
    if header.group != group {
        return Some(Verdict::Reject(Rejection::WrongGroup));
    }
    if !admitted(&header.author) {
        return Some(Verdict::Reject(Rejection::NotMember));
    }
    None
}

/// [`check_entry`] for an entry whose signature was already verified (and whose group and author were checked):
/// where it falls in its author's log. Entries kept waiting are verified once, when they arrive, not on every
/// retry.
pub fn check_verified_entry(
    entry: &Entry,
    group: GroupId,
    position: Option<&LogPosition>,
    admitted: impl Fn(&DeviceId) -> bool,
) -> Verdict {
    check_header(entry, group, admitted).unwrap_or_else(|| check_place(entry, position))
}

fn check_place(entry: &Entry, position: Option<&LogPosition>) -> Verdict {
    let header = entry.header();
    let start = LogPosition::start();
    let position = position.unwrap_or(&start);
    let expected = position.len() + 1;
    let seq = header.link.seq;
    if seq < expected {
        return Verdict::Duplicate;
    }
    if seq > expected {
        return Verdict::Gap { expected };
    }
    let mut probe = *position;
    match probe.accept(entry) {
        Ok(()) => Verdict::Accept,
        Err(error) => Verdict::Reject(error.into()),
    }
}
