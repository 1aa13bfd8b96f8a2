//! A hostile member's tools, for tests only (feature `test-utils`): the [`OpenGroup`] of a real, admitted member
//! device, used to sign entries and membership operations no honest client would make.
//!
//! Everything here holds the member's real keys and signs as the member's device would, so what it makes passes
//! every check a stranger's forgery fails (signature, membership, chain, key): only validation of what an entry
//! *holds* stands between it and the other devices' records.
//!
//! ```text
//! let bytes = hostile.forge_changes(|doc| { doc.delete(ROOT, "sunspace_schema").unwrap(); });
//! let entry = hostile.forge_entry(EntryKind::Change, &bytes);   // next in the member's log, signed
//! victim.receive(vec![entry])                                    // must refuse it, store nothing
//! ```

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit};
use sunspace_crypto::{DeviceKeys, Secret32};
use sunspace_log::{ChainLink, Entry, EntryKind};
use sunspace_membership::{Action, Op, OpId, SignedOp};

use crate::group::OpenGroup;
use crate::NodeError;

impl OpenGroup {
    /// The member device's keys.
    pub fn forge_device_keys(&self) -> &DeviceKeys {
        self.device_keys()
    }

    /// The key generation and key this device writes with.
    pub fn forge_writing_key(&mut self) -> Result<(u32, Secret32), NodeError> {
        self.writable_key_for_forging()
    }

    /// Changes made on a copy of this device's document by `edit`, under this device's actor id unless `edit`
    /// sets another, as automerge bytes (the copy is thrown away: this device's own document is unchanged).
    pub fn forge_changes(&mut self, edit: impl FnOnce(&mut AutoCommit)) -> Vec<u8> {
        let mut copy = self.doc_mut().automerge().fork();
        copy.set_actor(ActorId::from(self.device_keys().device_id().0.as_slice()));
        let before = copy.get_heads();
        edit(&mut copy);
        copy.commit();
        copy.save_after(&before)
    }

    /// A checkpoint signed by this device: the honest one of its document as it stands, as `edit` leaves it.
    pub fn forge_checkpoint(&mut self, edit: impl FnOnce(&mut sunspace_replicate::CheckpointBody)) -> Vec<u8> {
        let mut heads: Vec<[u8; 32]> = self.doc_mut().heads().iter().map(|h| h.0).collect();
        heads.sort_unstable();
        let mut body = sunspace_replicate::CheckpointBody {
            frontier: self
                .heads()
                .into_iter()
                .zip(self.head_hashes().into_values())
                .map(|((a, s), h)| (a, (s, h)))
                .collect(),
            heads,
            membership: self.membership_log().signed_ops().map(sunspace_membership::SignedOp::encode).collect(),
            document: self.doc_mut().save(),
        };
        edit(&mut body);
        let (epoch, key) = self.forge_writing_key().expect("a writing key");
        sunspace_replicate::Checkpoint::seal(self.device_keys(), self.id(), epoch, &key, &body).encode()
    }

    /// Changes under another device's actor id (an edit in someone else's name).
    pub fn forge_changes_as(&mut self, actor: &[u8; 32], edit: impl FnOnce(&mut AutoCommit)) -> Vec<u8> {
        let actor = ActorId::from(actor.as_slice());
        self.forge_changes(move |doc| {
            doc.set_actor(actor);
            edit(doc);
        })
    }

    /// Seals `plain` as the next entry of this device's log (stored here, so later entries chain after it) and
    /// returns it encoded, ready to send.
    pub fn forge_entry(&mut self, kind: EntryKind, plain: &[u8]) -> Result<Vec<u8>, NodeError> {
        self.append_own_for_forging(kind, plain)?;
        let seq = self.own_log_len();
        let author = self.device_keys().device_id();
        self.read_entries(author, seq, seq)?.into_iter().next().ok_or_else(|| NodeError::Damaged("vanished".into()))
    }

    /// Seals `plain` as the next entry of this device's log with `document` in its header (a compartment's id,
    /// or one that is no compartment at all), under `key`, stored here, and returns it encoded.
    pub fn forge_entry_for(
        &mut self,
        document: sunspace_log::GroupId,
        kind: EntryKind,
        epoch: u32,
        key: &Secret32,
        plain: &[u8],
    ) -> Result<Vec<u8>, NodeError> {
        self.append_own_under_for_forging(document, kind, plain, epoch, key)?;
        let seq = self.own_log_len();
        let author = self.device_keys().device_id();
        self.read_entries(author, seq, seq)?.into_iter().next().ok_or_else(|| NodeError::Damaged("vanished".into()))
    }

    /// Seals `plain` at any place in this device's log (`link`), under the writing key, without storing it: one
    /// half of an equivocation.
    pub fn forge_entry_at(&mut self, kind: EntryKind, link: ChainLink, plain: &[u8]) -> Result<Vec<u8>, NodeError> {
        let (epoch, key) = self.forge_writing_key()?;
        Ok(Entry::seal(self.device_keys(), kind, self.id(), link, epoch, &key, plain).encode())
    }

    /// Signs a membership operation with any `deps` (made-up ones too) and seals it as this device's next entry.
    pub fn forge_op(&mut self, deps: Vec<OpId>, action: Action) -> Result<Vec<u8>, NodeError> {
        let op = Op { group: self.id(), deps, action };
        let signed = SignedOp::sign(self.device_keys(), &op);
        let entry = self.forge_entry(EntryKind::Membership, &signed.encode())?;
        // A modified client holds its own operations as any client does: ops by others that build on them
        // complete on its side too.
        let _ = self.membership_log_mut().insert(signed);
        Ok(entry)
    }

    /// The ids of the membership operations an honest op by this device would depend on.
    pub fn forge_heads(&self) -> Vec<OpId> {
        self.membership_log().heads()
    }
}

/// Puts a value into the document root: something no honest client does after the founding change.
pub fn overwrite_root(doc: &mut AutoCommit, key: &str, value: &str) {
    let _ = doc.put(automerge::ROOT, key, value);
}

impl crate::NodeHandle {
    /// Sends raw join-handshake bytes to the device at `addresses` (with their `/p2p/` part), as any device on
    /// the network could while an invitation is open, and returns the raw answer.
    pub async fn forge_join_request(&self, addresses: &[String], bytes: Vec<u8>) -> Result<Vec<u8>, NodeError> {
        let mut device = None;
        for address in addresses {
            let address: sunspace_net::Multiaddr =
                address.parse().map_err(|_| NodeError::Refused(format!("\"{address}\" is not an address")))?;
            let to = sunspace_net::device_of_address(&address)
                .ok_or_else(|| NodeError::Refused("the address names no device".into()))?;
            self.net_for_forging().add_address(to, address).await.map_err(|e| NodeError::Refused(e.to_string()))?;
            device = Some(to);
        }
        let device = device.ok_or_else(|| NodeError::Refused("no address".into()))?;
        // Like a joining device, it lets the (unknown) other device's connection through for the join protocol
        // (and leaves it so, for the next forged request).
        self.door_for_forging(true).await?;
        self.net_for_forging().join_request(device, bytes).await.map_err(|e| NodeError::Refused(e.to_string()))
    }
}

/// What a damaged disk (or a store written by an earlier version that did not vet entries) holds: entry `seq` of
/// `author`'s log in `group`, replaced by `change` applied to its encoded bytes and sealed again at rest, so that
/// only the checks of the entry itself can notice. The group's snapshot is dropped too, so opening has to read the
/// entry.
pub fn rewrite_stored_entry(
    vault: &crate::Vault,
    group: sunspace_log::GroupId,
    author: sunspace_crypto::DeviceId,
    seq: u64,
    change: impl FnOnce(&mut Vec<u8>),
) -> Result<(), NodeError> {
    let shelf = &vault.shelf;
    let (logs, _) = shelf.log_heads(&group, &[author])?;
    let head = logs.iter().find(|(a, _)| *a == author).map(|(_, head)| *head).unwrap_or(0);
    let mut kept = Vec::new();
    for (at, bytes) in shelf.entries(&group, &author, seq, (head - seq + 1) as usize)? {
        kept.push((at, bytes.map_err(|_| NodeError::Damaged("unreadable".into()))?));
    }
    let Some(first) = kept.first_mut() else { return Err(NodeError::Damaged("no such entry".into())) };
    change(&mut first.1);
    shelf.truncate_log(&group, &author, seq - 1)?;
    for (at, bytes) in kept {
        shelf.append_entry(&group, &author, at, &bytes)?;
    }
    shelf.store().remove_snapshot(&shelf.group_name(&group))?;
    shelf.flush()?;
    Ok(())
}

/// The name `group`'s records are kept under in `vault`'s store (see `docs/storage.md`, "Names at rest").
pub fn stored_group_name(vault: &crate::Vault, group: sunspace_log::GroupId) -> [u8; 16] {
    vault.shelf.group_name(&group)
}

impl crate::NodeHandle {
    /// Sends `entries` of `group` straight to `device`, as a sync message no honest engine would send to that
    /// device alone: how a member gives each peer a different half of a fork.
    pub async fn forge_send_entries(
        &self,
        device: sunspace_crypto::DeviceId,
        group: sunspace_log::GroupId,
        entries: Vec<Vec<u8>>,
    ) -> Result<(), NodeError> {
        let message = sunspace_replicate::Message::Entries { group, entries }.encode();
        self.net_for_forging().send(device, message).await.map_err(|e| NodeError::Refused(e.to_string()))
    }
}
