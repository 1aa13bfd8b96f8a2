//! Opening a group: the sealed snapshot, then every stored entry after it verified and replayed.

#[allow(unused_imports)]
use super::*;

impl OpenGroup {
    pub(crate) fn new_founded(
        vault: DeviceParts<'_>,
        id: GroupId,
        keys: GroupKeys,
        doc: GroupDoc,
        membership: MembershipLog,
    ) -> Self {
        let members = membership.state();
        Self {
            membership,
            members,
            waiting: Vec::new(),
            refused: Vec::new(),
            equivocations: BTreeMap::new(),
            damage: Vec::new(),
            healed_after: Default::default(),
            shelf: vault.shelf.clone(),
            device: vault.keys.clone(),
            storage_key: vault.storage_key.clone(),
            id,
            keys,
            compartment_keys: Default::default(),
            doc,
            compartments: BTreeMap::new(),
            rebuild_due: Default::default(),
            pending: BTreeMap::new(),
            settle_due: Default::default(),
            own_log: LogPosition::start(),
            first_held: BTreeMap::new(),
            covered: BTreeMap::new(),
            sealed_heads: Vec::new(),
            pending_heads: Vec::new(),
            pending_count: 0,
            since_snapshot: 0,
            seal_at_once: false,
            bytes_since_snapshot: 0,
        }
    }

    pub(crate) fn open(vault: DeviceParts<'_>, id: GroupId) -> Result<Self, NodeError> {
        let shelf = vault.shelf.clone();
        let sealed_keys =
            shelf.get_meta(&shelf.keys_name(&id))?.ok_or_else(|| NodeError::GroupNotFound(id.to_hex()))?;
        let keys = GroupKeys::open(&shelf, &id, &sealed_keys)?;
        let compartment_keys = crate::records::CompartmentKeys::open(&shelf, &id)?;

        // The snapshot is a cache: if it cannot be read, the logs alone rebuild the document.
        let mut covered = BTreeMap::new();
        // The snapshot's document bytes are kept to load it again only if the slow path below needs a fresh copy.
        let mut snapshot_document = None;
        let mut loaded = None;
        let mut membership = MembershipLog::new(id);
        let mut snapshot_compartments: BTreeMap<GroupId, GroupDoc> = BTreeMap::new();
        let mut snapshot_pending = Vec::new();
        // The kept checkpoint (if any), read at most once: the snapshot may name it for its document, and without a
        // snapshot it is where the logs resume.
        let mut kept_checkpoint: Option<Option<([u8; 32], sunspace_replicate::CheckpointBody)>> = None;
        let mut kept = |shelf: &Shelf| -> Option<([u8; 32], sunspace_replicate::CheckpointBody)> {
            kept_checkpoint
                .get_or_insert_with(|| match Self::kept_checkpoint(shelf, &keys, &id) {
                    Ok(kept) => kept,
                    Err(error) => {
                        tracing::warn!(%error, "the group's checkpoint cannot be read");
                        None
                    }
                })
                .clone()
        };
        if let Some(sealed) = shelf.snapshot(&id)? {
            match Snapshot::open(vault.storage_key, &id, &sealed).and_then(|mut snapshot| {
                if let Some(digest) = snapshot.in_checkpoint {
                    match kept(&shelf) {
                        Some((held, body)) if held == digest => snapshot.document = body.document,
                        _ => return Err(NodeError::Damaged("the checkpoint the snapshot names is not kept".into())),
                    }
                }
                // A group joined a moment ago has an empty snapshot: it only makes the group known to the store.
                let doc =
                    if snapshot.covered.is_empty() { None } else { Some(GroupDoc::load_trusted(&snapshot.document)?) };
                let mut log = MembershipLog::new(id);
                for bytes in &snapshot.membership {
                    let op = SignedOp::decode(bytes).map_err(|e| NodeError::Damaged(e.to_string()))?;
                    log.insert(op).map_err(|e| NodeError::Damaged(e.to_string()))?;
                }
                let document = (!snapshot.covered.is_empty()).then_some(snapshot.document);
                let mut compartments = BTreeMap::new();
                for (compartment, bytes) in &snapshot.compartments {
                    compartments.insert(*compartment, GroupDoc::load_trusted(bytes)?);
                }
                Ok((snapshot.covered, document, doc, log, (compartments, snapshot.pending)))
            }) {
                Ok((snapshot_covered, document, doc, snapshot_log, (compartments, pending))) => {
                    snapshot_compartments = compartments;
                    snapshot_pending = pending;
                    covered = snapshot_covered.into_iter().map(|c| (c.author, c)).collect();
                    snapshot_document = document;
                    loaded = doc;
                    membership = snapshot_log;
                }
                Err(error) => tracing::warn!(%error, "snapshot unreadable; rebuilding the group from its logs"),
            }
        }
        // No snapshot that opens: the logs resume where the kept checkpoint stands, with its document and
        // membership (checked when it was made or received, and sealed at rest since).
        if covered.is_empty() {
            if let Some((_, body)) = kept(&shelf) {
                let mut log = MembershipLog::new(id);
                let mut intact = true;
                for bytes in &body.membership {
                    intact &= SignedOp::decode(bytes).ok().is_some_and(|op| log.insert(op).is_ok());
                }
                match GroupDoc::load_trusted(&body.document) {
                    Ok(doc) if intact => {
                        covered = body
                            .frontier
                            .iter()
                            .map(|(author, (seq, hash))| (*author, Covered { author: *author, seq: *seq, hash: *hash }))
                            .collect();
                        membership = log;
                        loaded = Some(doc);
                        snapshot_document = Some(body.document);
                    }
                    _ => tracing::warn!("the group's checkpoint does not load; rebuilding the group from its logs"),
                }
            }
        }
        let base = || match &snapshot_document {
            Some(bytes) => GroupDoc::load_trusted(bytes),
            None => Ok(GroupDoc::empty()),
        };

        // Every stored entry is checked again on the way in. One that fails (a damaged disk, or an entry stored
        // by an earlier version that did not vet entries) ends the replay of its own log only: the group opens
        // without it and says so ([`OpenGroup::damage`]).
        let mut known: Vec<DeviceId> = covered.keys().copied().collect();
        known.push(vault.keys.device_id());
        let (logs, unreadable_logs) = shelf.log_heads(&id, &known)?;
        let mut damage = unreadable_logs;
        let mut equivocations = BTreeMap::new();
        let mut replayed: Vec<ReplayedChange> = Vec::new();
        let mut all_changes: Vec<u8> = Vec::new();
        // Every replayed entry's place and hash (of any kind), and the snapshot's coverage: where a log is cut,
        // it ends at the last entry kept before the cut, never before what the snapshot already holds.
        let snapshot_covered = covered.clone();
        let mut replayed_places: BTreeMap<DeviceId, Vec<(u64, [u8; 32])>> = BTreeMap::new();
        let mut since_snapshot = 0;
        let mut compartment_entries: Vec<(GroupId, DeviceId, u64)> = Vec::new();
        for (author, head) in logs {
            let mut position = match covered.get(&author) {
                Some(c) => LogPosition::resume(c.seq, c.hash),
                None => LogPosition::start(),
            };
            if head < position.len() {
                damage.push(
                    damaged_entry(&author, head + 1, "is missing: the log is shorter than the snapshot").to_string(),
                );
                continue;
            }
            let mut next = position.len() + 1;
            'log: while next <= head {
                let page = shelf.entries(&id, &author, next, READ_PAGE)?;
                if page.is_empty() {
                    damage.push(damaged_entry(&author, next, "is missing").to_string());
                    break;
                }
                for (seq, bytes) in page {
                    let replayed_entry = match &bytes {
                        Ok(bytes) => replay_entry(&id, &author, seq, bytes, &mut position, &keys, &mut membership),
                        Err(_) => Err(damaged_entry(&author, seq, "cannot be unsealed on this device")),
                    };
                    match replayed_entry {
                        Ok(Replayed::Change(plain)) => {
                            let start = all_changes.len();
                            all_changes.extend_from_slice(&plain);
                            replayed.push(ReplayedChange { author, seq, range: start..all_changes.len() });
                        }
                        Ok(Replayed::Membership) => {}
                        Ok(Replayed::Compartment(compartment)) => {
                            compartment_entries.push((compartment, author, seq));
                        }
                        Ok(Replayed::Evidence(proof)) => {
                            equivocations.entry(proof.author()).or_insert(*proof);
                        }
                        Err(error) if author == vault.keys.device_id() => {
                            // This device's own entries are already with its peers: going on from an earlier place
                            // would sign a second history. The group stays closed (and is reported) instead.
                            return Err(NodeError::Damaged(format!("{error}; the group is left unopened")));
                        }
                        Err(error) => {
                            tracing::warn!(%error, "a stored entry is skipped");
                            damage.push(error.to_string());
                            break 'log;
                        }
                    }
                    covered.insert(author, Covered { author, seq, hash: position_hash(&position) });
                    replayed_places.entry(author).or_default().push((seq, position_hash(&position)));
                    since_snapshot += 1;
                    next = seq + 1;
                }
            }
        }
        // Change chunks are concatenated and applied in one call: automerge applies a batch far faster than the
        // same changes one call at a time (each call re-indexes the document). Only if that fails are the
        // entries vetted one by one, as received entries are, and the ones that do not pass left out.
        let first = match loaded.take() {
            Some(doc) => Ok(doc),
            None => base(),
        };
        let fast = first.and_then(|mut doc| {
            if !all_changes.is_empty() {
                doc.load_stored(&all_changes)?;
            }
            if !doc.heads().is_empty() {
                doc.check_schema()?;
            }
            Ok(doc)
        });
        // Who is in, computed once: the founder is needed for vetting, the rest for the open group.
        let members = membership.state();
        let founder = members.founder;
        let mut doc = match fast {
            Ok(doc) => doc,
            Err(error) => {
                tracing::warn!(%error, "the group's changes do not load as a whole; vetting them one entry at a time");
                let (doc, cut) = Self::replay_vetted(&base, &all_changes, &replayed, founder.as_ref(), &mut damage)?;
                if cut.contains_key(&vault.keys.device_id()) {
                    // This device's own entries are already with its peers: going on from an earlier place would
                    // sign a second history. The group stays closed (and is reported) rather than do that.
                    return Err(NodeError::Damaged(format!(
                        "one of this device's own entries no longer passes ({}); the group is left unopened",
                        damage.join("; ")
                    )));
                }
                for (author, at) in cut {
                    let kept =
                        replayed_places.get(&author).and_then(|places| places.iter().rev().find(|(seq, _)| *seq < at));
                    match kept.copied().or_else(|| snapshot_covered.get(&author).map(|c| (c.seq, c.hash))) {
                        Some((seq, hash)) => covered.insert(author, Covered { author, seq, hash }),
                        None => covered.remove(&author),
                    };
                }
                doc
            }
        };
        doc.set_author(&vault.keys.device_id().to_hex())?;
        let own = vault.keys.device_id();
        let own_log = covered.get(&own).map_or_else(LogPosition::start, |c| LogPosition::resume(c.seq, c.hash));
        let sealed_heads = doc.heads();
        // Local edits not yet sealed into an entry.
        let (pending_count, unsent) =
            crate::records::PendingEdits { shelf: &shelf, storage_key: vault.storage_key, document: &id }.load()?;
        if !unsent.is_empty() {
            doc.load_incremental(&unsent)
                .map_err(|e| NodeError::Damaged(format!("this device's unsent edits: {e}")))?;
        }
        let pending_heads = doc.heads();
        let had_snapshot = !snapshot_covered.is_empty();
        let mut group = Self {
            shelf,
            device: vault.keys.clone(),
            storage_key: vault.storage_key.clone(),
            id,
            keys,
            compartment_keys,
            doc,
            compartments: BTreeMap::new(),
            rebuild_due: Default::default(),
            pending: BTreeMap::new(),
            settle_due: Default::default(),
            own_log,
            first_held: BTreeMap::new(),
            covered,
            sealed_heads,
            pending_heads,
            pending_count,
            since_snapshot,
            seal_at_once: false,
            bytes_since_snapshot: 0,
            members,
            membership,
            waiting: Vec::new(),
            refused: Vec::new(),
            equivocations,
            damage,
            healed_after: Default::default(),
        };
        group.open_compartments(snapshot_compartments, snapshot_pending, compartment_entries, had_snapshot)?;
        // Keeping the index right costs one small read here; it is written (and flushed) only when the name changed.
        if group.remember_name()? {
            group.shelf.flush()?;
        }
        Ok(group)
    }

    /// The slow way to rebuild a document: every replayed change entry vetted in isolation, in passes (an entry
    /// may depend on another log's changes), the ones that fail left out with their log's later entries. Returns
    /// the document and, per log cut short, the first entry left out.
    #[allow(clippy::type_complexity)]
    pub(super) fn replay_vetted(
        base: &dyn Fn() -> Result<GroupDoc, ModelError>,
        all_changes: &[u8],
        replayed: &[ReplayedChange],
        founder: Option<&DeviceId>,
        damage: &mut Vec<String>,
    ) -> Result<(GroupDoc, BTreeMap<DeviceId, u64>), NodeError> {
        let mut cut: BTreeMap<DeviceId, u64> = BTreeMap::new();
        let mut done = vec![false; replayed.len()];
        let mut batch: Vec<Vetted> = Vec::new();
        let mut doc = base()?;
        loop {
            let mut progress = false;
            for (i, change) in replayed.iter().enumerate() {
                if done[i] || cut.get(&change.author).is_some_and(|&at| change.seq >= at) {
                    continue;
                }
                let plain = all_changes.get(change.range.clone()).unwrap_or_default();
                match doc.try_changes(plain, &change.author.0, founder.map(|f| &f.0)) {
                    Ok(vetted) => {
                        batch.push(vetted);
                        done[i] = true;
                        progress = true;
                    }
                    Err(ChangeRefusal::MissingDeps) => {}
                    Err(refusal) => {
                        if matches!(refusal, ChangeRefusal::DoesNotApply(_)) {
                            // The document may hold part of the entry: start again from what passed.
                            doc = base()?;
                            doc.apply_vetted(batch.clone())
                                .map_err(|e| NodeError::Damaged(format!("the group's changes: {e}")))?;
                        }
                        damage.push(damaged_entry(&change.author, change.seq, refusal).to_string());
                        cut.insert(change.author, change.seq);
                    }
                }
            }
            if !progress {
                break;
            }
        }
        // Entries that still wait for changes no stored entry holds are kept, not cut: cutting them would cut
        // honest logs (this device's own among them) that merely build on a change that was left out. automerge
        // holds them aside until their dependencies arrive.
        for (i, change) in replayed.iter().enumerate() {
            if !done[i] && cut.get(&change.author).is_none_or(|&at| change.seq < at) {
                let plain = all_changes.get(change.range.clone()).unwrap_or_default();
                if let Err(error) = doc.load_incremental(plain) {
                    tracing::warn!(%error, "a stored entry waiting for dependencies does not load");
                }
            }
        }
        Ok((doc, cut))
    }
}
