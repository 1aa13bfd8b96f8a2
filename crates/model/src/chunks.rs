//! The byte-level checks of received automerge changes ([`crate::incoming`] runs them): chunks and their
//! checksums, bounded inflation of deflated columns, guarded parsing, and what one change may contain. Nothing here
//! touches a document.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use automerge::legacy::ObjectId as LegacyObjectId;
use automerge::{ActorId, Bundle, Change, ChangeHash};

use crate::ModelError;

/// Most bytes the deflated columns of one entry may inflate to. An honest entry carries at most a few hundred
/// edits (the sender seals a batch at 512) and inflates to well under a megabyte; deflate reaches ratios of about
/// 1,000 : 1, so without this bound an 8 MiB entry could make a receiver allocate gigabytes.
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

/// Most automerge operations one entry may carry. A long pasted document is tens of thousands of operations;
/// the bound stops a bundle whose run-length columns claim billions of operations from being expanded.
pub const MAX_OPS_PER_ENTRY: u64 = 4_000_000;

/// The four bytes every automerge chunk starts with.
pub(crate) const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
pub(crate) const CHUNK_DOCUMENT: u8 = 0;
pub(crate) const CHUNK_CHANGE: u8 = 1;
pub(crate) const CHUNK_COMPRESSED: u8 = 2;
pub(crate) const CHUNK_BUNDLE: u8 = 3;
/// The bit of a column specification that says its data is deflated.
pub(crate) const COLUMN_DEFLATE: u64 = 0b1000;

/// Why the changes in an entry were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeRefusal {
    /// The bytes are not changes automerge can read (or make automerge fail or panic).
    #[error("its changes are malformed: {0}")]
    Malformed(String),
    /// A kind of automerge data Sunspace never puts in an entry (a whole document, a compressed change).
    #[error("it carries automerge data of a kind Sunspace never sends (chunk type {0})")]
    ChunkKind(u8),
    /// Compressed columns that inflate beyond [`MAX_INFLATED_BYTES`].
    #[error("its compressed changes inflate beyond {MAX_INFLATED_BYTES} bytes")]
    Inflates,
    /// More operations than [`MAX_OPS_PER_ENTRY`].
    #[error("it carries more than {MAX_OPS_PER_ENTRY} operations")]
    TooManyOps,
    /// A change made under another actor id than the signing device's: an edit in someone else's name.
    #[error("it carries a change made in another device's name (actor {actor})")]
    WrongActor {
        /// The actor the change claims, hex (shortened).
        actor: String,
    },
    /// A change with an automerge author record: Sunspace binds authorship to the signing device instead.
    #[error("it carries a change with an automerge author record")]
    Authored,
    /// A change whose sequence number is not the device's next: a second history for the same device, or a gap.
    #[error("it carries change {seq} of the device where {expected} comes next (two histories for one device?)")]
    Sequence {
        /// The change's sequence number.
        seq: u64,
        /// The next sequence number of its actor.
        expected: u64,
    },
    /// A change that rewrites the document's root (its layout version, its tables): only the founder's first
    /// change lays the root out. The one other write to the root accepted is making one of the listening step's
    /// tables that the document lacks, as a new map superseding nothing.
    #[error("it rewrites the document's layout (the root keys)")]
    TouchesRoot,
    /// An operation of a kind Sunspace's records never use (counters, marks, lists).
    #[error("it carries a kind of operation Sunspace's records never use")]
    Operation,
    /// The changes depend on changes not held yet (they may still come from other devices' logs).
    #[error("it depends on changes not held yet")]
    MissingDeps,
    /// automerge read the changes but failed (or panicked) applying them to a copy of the document.
    #[error("its changes do not apply to the group's records ({0})")]
    DoesNotApply(String),
}

/// What one entry's changes became once vetted: ready to apply.
#[derive(Debug, Clone, Default)]
pub struct Vetted {
    pub(crate) changes: Vec<Change>,
}

impl Vetted {
    /// Number of changes.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// What vetting remembers between entries, kept by the [`GroupDoc`]: every actor's highest sequence number held
/// (applied, or vetted and waiting to be applied) and the changes vetted but not applied yet.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChangeVetting {
    /// Highest sequence number per actor; `None` until first needed (built from the document's changes).
    pub(crate) seqs: Option<HashMap<ActorId, u64>>,
    /// Changes vetted in this batch, not applied yet.
    pub(crate) staged: HashSet<ChangeHash>,
}

impl ChangeVetting {
    /// Forgets what it knew (the document was replaced, or a batch was dropped).
    pub(crate) fn reset(&mut self) {
        self.seqs = None;
        self.staged.clear();
    }

    /// This device committed change `seq` under `actor`.
    pub(crate) fn note_local(&mut self, actor: &ActorId, seq: u64) {
        if let Some(seqs) = self.seqs.as_mut() {
            seqs.insert(actor.clone(), seq);
        }
    }
}

/// One chunk of automerge data: its type and where it lies in the input.
pub(crate) struct Chunk {
    pub(crate) kind: u8,
    pub(crate) range: std::ops::Range<usize>,
    pub(crate) body: std::ops::Range<usize>,
}

/// Reads an unsigned LEB128 number at `*at`, advancing past it.
pub(crate) fn uleb(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

pub(crate) fn malformed(what: &str) -> ChangeRefusal {
    ChangeRefusal::Malformed(what.to_owned())
}

/// Splits automerge data into chunks by their headers (magic, checksum, type, length), refusing anything that
/// does not parse or runs past the end.
pub(crate) fn split_chunks(bytes: &[u8]) -> Result<Vec<Chunk>, ChangeRefusal> {
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let magic = bytes.get(at..at + 4).ok_or_else(|| malformed("a truncated chunk"))?;
        if magic != CHUNK_MAGIC {
            return Err(malformed("not automerge data"));
        }
        at += 8; // magic and checksum
        let kind = *bytes.get(at).ok_or_else(|| malformed("a truncated chunk"))?;
        at += 1;
        let len = uleb(bytes, &mut at).ok_or_else(|| malformed("a chunk length"))?;
        let end = usize::try_from(len).ok().and_then(|len| at.checked_add(len)).filter(|&end| end <= bytes.len());
        let end = end.ok_or_else(|| malformed("a chunk longer than the entry"))?;
        // automerge skips the checksum when it parses a change or a bundle on its own, but stops at a wrong one
        // when it loads a batch, quietly dropping every chunk after it: checked here, so both agree.
        let data = bytes.get(at..end).ok_or_else(|| malformed("a chunk"))?;
        if bytes.get(start + 4..start + 8) != Some(&chunk_checksum(kind, data)[..]) {
            return Err(malformed("a chunk whose checksum is wrong"));
        }
        chunks.push(Chunk { kind, range: start..end, body: at..end });
        at = end;
    }
    Ok(chunks)
}

/// automerge's chunk checksum: the first four bytes of SHA-256 over the type, the data length (LEB128) and the
/// data.
pub fn chunk_checksum(kind: u8, data: &[u8]) -> [u8; 4] {
    use sha2::Digest;
    let mut header = vec![kind];
    let mut len = data.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            header.push(byte);
            break;
        }
        header.push(byte | 0x80);
    }
    let mut hasher = sha2::Sha256::new();
    hasher.update(&header);
    hasher.update(data);
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Checks that `bytes` are whole automerge chunks with correct checksums, before automerge parses them.
pub(crate) fn check_chunk_headers(bytes: &[u8]) -> Result<(), ModelError> {
    split_chunks(bytes).map(|_| ()).map_err(|e| ModelError::Unreadable(e.to_string()))
}

/// Skips a list of `count` items each parsed by `skip`.
pub(crate) fn skip_list(bytes: &[u8], at: &mut usize, skip: impl Fn(&[u8], &mut usize) -> Option<()>) -> Option<()> {
    let count = uleb(bytes, at)?;
    for _ in 0..count {
        skip(bytes, at)?;
    }
    Some(())
}

/// Inflates every deflated column of a bundle chunk's two column sets under `budget` bytes in all, without keeping
/// the output: a bundle that would inflate beyond the budget is refused before automerge inflates it.
pub(crate) fn check_bundle_inflation(body: &[u8], budget: &mut u64) -> Result<(), ChangeRefusal> {
    let bad = || malformed("a bundle's layout");
    let mut at = 0;
    // Dependencies (32-byte hashes), then actors (length-prefixed bytes).
    skip_list(body, &mut at, |b, at| {
        *at = at.checked_add(32).filter(|&end| end <= b.len())?;
        Some(())
    })
    .ok_or_else(bad)?;
    skip_list(body, &mut at, |b, at| {
        let len = usize::try_from(uleb(b, at)?).ok()?;
        *at = at.checked_add(len).filter(|&end| end <= b.len())?;
        Some(())
    })
    .ok_or_else(bad)?;
    // Two column sets (the changes' metadata, then the operations), each: specs and lengths, then the data.
    for _ in 0..2 {
        let count = uleb(body, &mut at).ok_or_else(bad)?;
        let mut columns = Vec::new();
        for _ in 0..count {
            let spec = uleb(body, &mut at).ok_or_else(bad)?;
            let len = usize::try_from(uleb(body, &mut at).ok_or_else(bad)?).map_err(|_| bad())?;
            columns.push((spec, len));
            if columns.len() > 4_096 {
                return Err(bad());
            }
        }
        for (spec, len) in columns {
            let end = at.checked_add(len).filter(|&end| end <= body.len()).ok_or_else(bad)?;
            if spec & COLUMN_DEFLATE != 0 {
                let data = body.get(at..end).ok_or_else(bad)?;
                let mut inflater = flate2::bufread::DeflateDecoder::new(data).take(budget.saturating_add(1));
                let inflated = std::io::copy(&mut inflater, &mut std::io::sink()).map_err(|_| bad())?;
                if inflated > *budget {
                    return Err(ChangeRefusal::Inflates);
                }
                *budget -= inflated;
            }
            at = end;
        }
    }
    Ok(())
}

/// Parses checked chunks into changes with automerge, its errors and panics both a refusal.
pub(crate) fn parse_changes(bytes: &[u8], chunks: &[Chunk]) -> Result<Vec<Change>, ChangeRefusal> {
    let mut out = Vec::new();
    let mut ops: u64 = 0;
    for chunk in chunks {
        let data = bytes.get(chunk.range.clone()).ok_or_else(|| malformed("a chunk"))?;
        let parsed = std::panic::catch_unwind(|| -> Result<Vec<Change>, ChangeRefusal> {
            let refuse = |e: &dyn std::fmt::Display| ChangeRefusal::Malformed(e.to_string());
            match chunk.kind {
                CHUNK_CHANGE => Change::from_bytes(data.to_vec()).map(|c| vec![c]).map_err(|e| refuse(&e)),
                _ => {
                    let bundle = Bundle::try_from(data).map_err(|e| refuse(&e))?;
                    let declared: u64 = bundle
                        .iter_changes()
                        .map(|c| c.max_op.saturating_sub(c.start_op).saturating_add(1))
                        .fold(0u64, u64::saturating_add);
                    if declared > MAX_OPS_PER_ENTRY {
                        return Err(ChangeRefusal::TooManyOps);
                    }
                    bundle.to_changes().map_err(|e| refuse(&e))
                }
            }
        });
        let changes = match parsed {
            Ok(Ok(changes)) => changes,
            Ok(Err(refusal)) => return Err(refusal),
            Err(_) => return Err(malformed("automerge could not parse them")),
        };
        for change in &changes {
            ops = ops.saturating_add(change.len() as u64);
        }
        if ops > MAX_OPS_PER_ENTRY {
            return Err(ChangeRefusal::TooManyOps);
        }
        out.extend(changes);
    }
    Ok(out)
}

/// What a change's operations do that Sunspace forbids: write to the document root, or use a kind of operation
/// the document's layout never has (counters, marks, lists), which some readers and automerge's own save and load
/// do not handle alike.
///
/// One write to the root is allowed from any device: making one of the listening step's tables
/// ([`crate::input::LISTENING_TABLES`]) as a new map that supersedes nothing (no predecessor). A document made before
/// those tables lacks them, and the first device to write such a record makes its table. Made that way, a table can
/// only ever stand beside another made at the same time (readers merge them), never replace one: a change whose
/// new table would supersede the one a device holds, or that deletes or overwrites any root key, is refused.
pub(crate) fn check_operations(change: &Change, may_lay_out_root: bool) -> Result<(), ChangeRefusal> {
    use automerge::legacy::{Key, OpType};
    use automerge::{ObjType, ScalarValue};
    let expanded = std::panic::catch_unwind(|| change.decode()).map_err(|_| malformed("a change's operations"))?;
    for op in &expanded.operations {
        if op.obj == LegacyObjectId::Root && !may_lay_out_root {
            let makes_missing_table = matches!(op.action, OpType::Make(ObjType::Map))
                && op.pred.is_empty()
                && !op.insert
                && matches!(&op.key, Key::Map(key) if crate::input::LISTENING_TABLES.contains(&key.as_str()));
            if !makes_missing_table {
                return Err(ChangeRefusal::TouchesRoot);
            }
        }
        let allowed = match &op.action {
            OpType::Make(ObjType::Map | ObjType::Table | ObjType::Text) | OpType::Delete => true,
            OpType::Put(ScalarValue::Counter(_)) => false,
            OpType::Put(_) => true,
            OpType::Make(ObjType::List) | OpType::Increment(_) | OpType::MarkBegin(_) | OpType::MarkEnd(_) => false,
        };
        if !allowed {
            return Err(ChangeRefusal::Operation);
        }
    }
    Ok(())
}
