//! Vetting the automerge changes a member's device sent, before any of them touches the document or the store.
//!
//! A member runs whatever client they like, so the change bytes inside a validly signed entry are as hostile as
//! anything a stranger could send. [`GroupDoc::vet_changes`] checks them in isolation, without changing the
//! document, and only what passes is applied ([`GroupDoc::apply_vetted`]) and stored by the caller:
//!
//! ```text
//! entry body ─► scan_chunks          only change and bundle chunks; deflated columns inflated under a budget
//!            ─► parse (guarded)      automerge's parser, its errors and panics both a refusal
//!            ─► per change           actor = the signing device, no automerge author, seq exactly the next,
//!                                    every dependency held, no write to the document root (only the founder's
//!                                    first change lays it out; any device may make a missing table of the
//!                                    listening step, superseding nothing), op count bounded
//!            ─► Vetted               applied in one batch with the batch's other entries
//! ```
//!
//! ```
//! use chrono::NaiveDate;
//! use sunspace_model::{Founder, GroupDoc, ChangeRefusal};
//!
//! let ana = "aa".repeat(32);
//! let founder = Founder { device_id: ana.clone(), agreement_key: "bb".repeat(32), display_name: "Ana".into() };
//! let today = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
//! let (mut doc, _) = GroupDoc::create(&"cd".repeat(16), "Core group", &founder, today).unwrap();
//! doc.commit(0);
//! let genesis = doc.save_after(&[]);
//!
//! // A copy of the founder's first change, claimed by another device, is refused: wrong actor.
//! let mut empty = GroupDoc::empty();
//! let refused = empty.vet_changes(&genesis, &[0xbb; 32], Some(&[0xaa; 32]));
//! assert!(matches!(refused, Err(ChangeRefusal::WrongActor { .. })));
//! // The founder's own is taken.
//! let vetted = empty.vet_changes(&genesis, &[0xaa; 32], Some(&[0xaa; 32])).unwrap();
//! empty.apply_vetted(vec![vetted]).unwrap();
//! assert_eq!(empty.name(), "Core group");
//! ```

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, Change, ChangeHash};

use crate::doc::GroupDoc;
use crate::ModelError;

#[allow(unused_imports)]
use crate::chunks::*;
pub use crate::chunks::{chunk_checksum, ChangeRefusal, Vetted, MAX_INFLATED_BYTES, MAX_OPS_PER_ENTRY};

impl GroupDoc {
    /// Vets the change bytes of one entry signed by `author` (a device id) without changing the document.
    /// `founder` is the group's founding device: only its first change may lay out the document root.
    ///
    /// On success the changes are staged in `vetting` (later entries of the same batch may depend on them) and
    /// returned, to be applied with [`GroupDoc::apply_vetted`].
    pub fn vet_changes(
        &mut self,
        bytes: &[u8],
        author: &[u8; 32],
        founder: Option<&[u8; 32]>,
    ) -> Result<Vetted, ChangeRefusal> {
        let chunks = split_chunks(bytes)?;
        let mut budget = MAX_INFLATED_BYTES;
        for chunk in &chunks {
            match chunk.kind {
                CHUNK_CHANGE => {}
                CHUNK_BUNDLE => {
                    let body = bytes.get(chunk.body.clone()).ok_or_else(|| malformed("a chunk"))?;
                    check_bundle_inflation(body, &mut budget)?;
                }
                CHUNK_DOCUMENT | CHUNK_COMPRESSED => return Err(ChangeRefusal::ChunkKind(chunk.kind)),
                other => return Err(ChangeRefusal::ChunkKind(other)),
            }
        }
        let mut changes = parse_changes(bytes, &chunks)?;
        // A bundle lists changes in a causal order, not necessarily by sequence number: a change made on an earlier
        // version (`GroupDoc::merge_minutes` edits at the heads a writer typed on) may come before a later-numbered
        // one it does not depend on. One device's changes in sequence order are always a causal order.
        changes.sort_by_key(Change::seq);
        let actor = ActorId::from(author.as_slice());
        if self.vetting.seqs.is_none() {
            self.vetting.seqs = Some(self.actor_seqs());
        }
        let mut next_seq = self.vetting.seqs.as_ref().and_then(|s| s.get(&actor).copied()).unwrap_or(0) + 1;
        let mut fresh: Vec<Change> = Vec::new();
        let mut fresh_hashes: HashSet<ChangeHash> = HashSet::new();
        for change in changes {
            if change.actor_id() != &actor {
                let actor = change.actor_id().to_hex_string();
                return Err(ChangeRefusal::WrongActor { actor: actor.chars().take(8).collect() });
            }
            if change.author().is_some() {
                return Err(ChangeRefusal::Authored);
            }
            let hash = change.hash();
            if fresh_hashes.contains(&hash) || self.holds_change(&hash) {
                continue; // already held: applying it again changes nothing
            }
            if change.seq() != next_seq {
                return Err(ChangeRefusal::Sequence { seq: change.seq(), expected: next_seq });
            }
            for dep in change.deps() {
                if !fresh_hashes.contains(dep) && !self.holds_change(dep) {
                    return Err(ChangeRefusal::MissingDeps);
                }
            }
            let lays_out_root = founder == Some(author) && change.seq() == 1 && change.deps().is_empty();
            check_operations(&change, lays_out_root)?;
            next_seq += 1;
            fresh_hashes.insert(hash);
            fresh.push(change);
        }
        if let Some(seqs) = self.vetting.seqs.as_mut() {
            if !fresh.is_empty() {
                seqs.insert(actor, next_seq - 1);
            }
        }
        self.vetting.staged.extend(fresh_hashes);
        Ok(Vetted { changes: fresh })
    }

    /// A copy of this document to try received changes on ([`GroupDoc::try_changes`]): automerge can fail, even
    /// panic, applying changes it parsed, and a document that failed half-way cannot be trusted, so changes are
    /// applied to the copy, and the copy replaces the document once the batch is through. What vetting knows is
    /// carried over.
    pub fn trial_copy(&mut self) -> GroupDoc {
        let mut vetting = self.vetting.clone();
        vetting.staged.clear();
        GroupDoc { doc: self.doc.fork().with_actor(self.doc.get_actor().clone()), vetting }
    }

    /// Vets one entry's change bytes ([`GroupDoc::vet_changes`]) and applies them at once. On
    /// [`ChangeRefusal::DoesNotApply`] this document may hold part of them: the caller throws it away (it is a
    /// [`GroupDoc::trial_copy`]). Returns what was applied, to apply again to a fresh copy if need be.
    pub fn try_changes(
        &mut self,
        bytes: &[u8],
        author: &[u8; 32],
        founder: Option<&[u8; 32]>,
    ) -> Result<Vetted, ChangeRefusal> {
        let vetted = self.vet_changes(bytes, author, founder)?;
        self.apply_vetted(vec![vetted.clone()]).map_err(|e| ChangeRefusal::DoesNotApply(e.to_string()))?;
        Ok(vetted)
    }

    /// Loads changes this device stored after vetting them (the replay when a group opens), in one batch, and
    /// fails — rather than dropping part of them, as automerge's batch load does on a bad chunk — if a chunk's
    /// checksum is wrong or any change is left waiting for dependencies the batch does not hold.
    pub fn load_stored(&mut self, bytes: &[u8]) -> Result<(), ModelError> {
        split_chunks(bytes).map_err(|e| ModelError::Unreadable(e.to_string()))?;
        self.load_incremental(bytes)?;
        if !self.doc.get_missing_deps(&[]).is_empty() {
            return Err(ModelError::Unreadable("some changes depend on changes no entry holds".into()));
        }
        Ok(())
    }

    /// Drops what was vetted and not applied (a batch given up): the sequence numbers are read afresh next time.
    pub fn discard_vetted(&mut self) {
        self.vetting.reset();
    }

    /// Applies vetted changes (of one batch, in the order vetted) in one call, then checks the layout again.
    pub fn apply_vetted(&mut self, batch: Vec<Vetted>) -> Result<(), ModelError> {
        let changes: Vec<Change> = batch.into_iter().flat_map(|v| v.changes).collect();
        self.vetting.staged.clear();
        if changes.is_empty() {
            return Ok(());
        }
        let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.doc.apply_changes(changes)));
        let failed = match applied {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error.to_string()),
            Err(_) => Some("automerge could not apply the changes".to_owned()),
        };
        if let Some(error) = failed {
            self.vetting.reset();
            return Err(ModelError::Unreadable(error));
        }
        self.check_schema()
    }

    /// The highest sequence number held per actor.
    fn actor_seqs(&mut self) -> HashMap<ActorId, u64> {
        let mut seqs: HashMap<ActorId, u64> = HashMap::new();
        for meta in self.doc.get_changes_meta(&[]) {
            let entry = seqs.entry(meta.actor.into_owned()).or_insert(0);
            *entry = (*entry).max(meta.seq);
        }
        seqs
    }

    /// Whether the change is in the document or vetted in this batch.
    fn holds_change(&mut self, hash: &ChangeHash) -> bool {
        self.vetting.staged.contains(hash) || self.doc.get_change_meta_by_hash(hash).is_some()
    }
}
