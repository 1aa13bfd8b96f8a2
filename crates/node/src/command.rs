//! What a front end asks of a device, as typed values: [`NodeCommand`] in, [`NodeOutcome`] out.
//!
//! The same command runs on a [`Node`] held by the process (the CLI without `serve`: [`Node::execute`]) or inside
//! the engine (`serve` and the app: [`crate::NodeHandle::execute`]), which can then tell a read from a write
//! ([`NodeCommand::writes`]): only a write seals and pushes entries, and its [`crate::NodeEvent::Changed`] names
//! the records it touched and the heads it made.
//!
//! ```no_run
//! # fn example(node: &mut sunspace_node::Node, group: sunspace_node::GroupId) -> Result<(), sunspace_node::NodeError> {
//! use sunspace_model::{edit::Edit, NewMeeting};
//! use sunspace_node::command::{NodeCommand, NodeOutcome};
//! let today = sunspace_node::today();
//! let edit = Edit::AddMeeting(NewMeeting::new(today, "General meeting"));
//! let NodeOutcome::Edited { heads, .. } = node.execute(NodeCommand::Edit { group, edit })? else { unreachable!() };
//! assert!(!heads.is_empty());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sunspace_crypto::DeviceId;
use sunspace_model::edit::{Applied, Edit};
use sunspace_model::{FieldChange, GroupView, RecordKind, RelayView};

use crate::{GroupId, GroupSummary, NodeError, OpenGroup, Vault};

/// An unlocked device and its open groups. Owned by the engine task (reached through
/// [`crate::NodeHandle::execute`]), or by the process that runs a command without `serve`.
#[derive(Debug)]
pub struct Node {
    pub(crate) vault: Vault,
    pub(crate) groups: BTreeMap<GroupId, OpenGroup>,
    /// Groups that could not be opened, with why: the device unlocks and its other groups open all the same.
    pub(crate) unopened: BTreeMap<GroupId, String>,
    /// Whether a read that had to open a group keeps its view for the next start: yes for a command-line
    /// device (one process per command); the engine keeps views when it stops instead.
    pub(crate) keep_views_on_read: bool,
}

/// One thing asked of the device.
#[derive(Debug, Clone)]
pub enum NodeCommand {
    /// This device's id and owner.
    Device,
    /// The groups on this device and the one commands work on by default.
    Groups,
    /// Creates a group with this device's owner as founder (under `display_name` if given); it becomes the default
    /// group when the device holds several.
    CreateGroup {
        /// The group's name.
        name: String,
        /// The founder's name in this group, if not the owner's.
        display_name: Option<String>,
        /// The founding date.
        today: NaiveDate,
    },
    /// Makes a group the default one.
    UseGroup(GroupId),
    /// Everything a front end shows of a group.
    Read(GroupId),
    /// One change to a group's records.
    Edit {
        /// The group.
        group: GroupId,
        /// The change.
        edit: Edit,
    },
    /// Removes a member (stewards only): a signed membership change and a new group key.
    RemoveMember {
        /// The group.
        group: GroupId,
        /// The member's record id.
        member: String,
        /// Why, kept in the signed record.
        reason: String,
    },
    /// Makes a member a steward, or ends it.
    SetSteward {
        /// The group.
        group: GroupId,
        /// The member's record id.
        member: String,
        /// Steward from now on, or not.
        steward: bool,
    },
    /// Revokes one device.
    RevokeDevice {
        /// The group.
        group: GroupId,
        /// The device.
        device: DeviceId,
    },
    /// Who changed a record, when and from what.
    History {
        /// The group.
        group: GroupId,
        /// The record's kind.
        kind: RecordKind,
        /// The record's id.
        record: String,
    },
    /// One change to a compartment's records (a new record made there; an edit of an existing record goes
    /// wherever the record is, with [`NodeCommand::Edit`]).
    EditIn {
        /// The group.
        group: GroupId,
        /// The compartment.
        compartment: GroupId,
        /// The change.
        edit: Edit,
    },
    /// Creates a compartment of some members: records only their devices read.
    CreateCompartment {
        /// The group.
        group: GroupId,
        /// What the group calls it.
        name: String,
        /// Its members' record ids.
        members: Vec<String>,
    },
    /// Adds a member to a compartment.
    AddToCompartment {
        /// The group.
        group: GroupId,
        /// The compartment.
        compartment: GroupId,
        /// The member's record id.
        member: String,
    },
    /// Takes a member out of a compartment, and gives it a new key.
    RemoveFromCompartment {
        /// The group.
        group: GroupId,
        /// The compartment.
        compartment: GroupId,
        /// The member's record id.
        member: String,
    },
    /// Moves a record between the group's document and a compartment's (or between compartments): written
    /// into the one, then deleted from the other.
    MoveRecord {
        /// The group.
        group: GroupId,
        /// The record's kind.
        kind: RecordKind,
        /// The record's id.
        record: String,
        /// The compartment to move it to; `None`: the group's document (everyone reads it).
        to: Option<GroupId>,
    },
    /// The whole document in automerge's format.
    ExportAutomerge(GroupId),
    /// How far each device's log is held here, and whether edits wait to be sealed (benchmarks, tests).
    LogHeads(GroupId),
    /// A carry file of the entries `for_device` may lack (see `sunspace_replicate::CarryFile`).
    CarryExport {
        /// The group.
        group: GroupId,
        /// The device it is for; `None`: any current device of the group.
        for_device: Option<DeviceId>,
    },
    /// Reads a carry file and applies its entries like entries from the network.
    CarryImport(Vec<u8>),
}

/// A group as a front end shows it: the view and what only the signed membership knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupSnapshot {
    /// The records, with the heads they show.
    pub view: GroupView,
    /// Member record ids of the stewards, by the signed membership.
    pub stewards: Vec<String>,
    /// Devices in the signed membership (hex), each with its member record id.
    pub devices: BTreeMap<String, String>,
    /// The safety number, grouped for reading aloud.
    pub safety_number: String,
    /// The relays the group lists.
    pub relays: Vec<RelayView>,
    /// This device (hex).
    pub me: String,
    /// This device's owner's member record, by the signed membership.
    pub my_member: Option<String>,
    /// The compartments this device's member is in: who can read the records placed in each
    /// ([`GroupView::placement`]).
    pub compartments: Vec<crate::status::CompartmentView>,
    /// Every compartment of the group by id (hex), with its name, for the records this device cannot read.
    pub all_compartments: BTreeMap<String, String>,
    /// The members' devices in the signed membership, and how many of them were verified in person (the
    /// founding device counts: its founder created the group).
    pub devices_verified: (usize, usize),
}

/// What a [`NodeCommand`] did or found.
#[derive(Debug, Clone)]
pub enum NodeOutcome {
    /// This device.
    Device {
        /// Its id (hex).
        device: String,
        /// Its owner's name.
        owner: String,
    },
    /// The groups held.
    Groups {
        /// Each group.
        groups: Vec<GroupSummary>,
        /// The default one, if chosen.
        current: Option<GroupId>,
    },
    /// A group was created.
    GroupCreated(GroupSummary),
    /// A group was read.
    Snapshot(Box<GroupSnapshot>),
    /// An edit was made.
    Edited {
        /// What it made.
        applied: Applied,
        /// The document's heads after it.
        heads: Vec<String>,
    },
    /// A member was removed: each of their devices with the last entry of it that is kept.
    Removed {
        /// Device and cutoff.
        cutoffs: Vec<(DeviceId, u64)>,
    },
    /// A device was revoked; its entries up to this one are kept.
    Revoked {
        /// The last kept entry.
        cutoff: u64,
    },
    /// A record's history.
    History {
        /// The changes, oldest first.
        changes: Vec<FieldChange>,
        /// The same in sentences.
        sentences: Vec<String>,
    },
    /// Bytes (an export).
    Bytes(Vec<u8>),
    /// A carry file was written.
    CarryFile {
        /// Its bytes.
        bytes: Vec<u8>,
        /// How many entries it holds.
        entries: usize,
    },
    /// A carry file was read.
    Carried(crate::CarryReceipt),
    /// The last entry held of each device's log, and whether edits wait to be sealed.
    LogHeads {
        /// Device and sequence number.
        heads: BTreeMap<DeviceId, u64>,
        /// Edits made but not yet sealed into an entry.
        pending: bool,
    },
    /// A compartment was created.
    CompartmentCreated {
        /// Its id.
        compartment: GroupId,
    },
    /// Done, nothing to report.
    Done,
}

impl NodeCommand {
    /// Whether it may change a group (and so must be sealed, pushed and announced).
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            NodeCommand::Device
                | NodeCommand::Groups
                | NodeCommand::Read(_)
                | NodeCommand::History { .. }
                | NodeCommand::ExportAutomerge(_)
                | NodeCommand::LogHeads(_)
        )
    }

    /// The group it is about, if one.
    pub fn group(&self) -> Option<GroupId> {
        match self {
            NodeCommand::Device
            | NodeCommand::Groups
            | NodeCommand::CreateGroup { .. }
            | NodeCommand::CarryImport(_) => None,
            NodeCommand::UseGroup(group)
            | NodeCommand::Read(group)
            | NodeCommand::ExportAutomerge(group)
            | NodeCommand::LogHeads(group) => Some(*group),
            NodeCommand::Edit { group, .. }
            | NodeCommand::EditIn { group, .. }
            | NodeCommand::CreateCompartment { group, .. }
            | NodeCommand::AddToCompartment { group, .. }
            | NodeCommand::RemoveFromCompartment { group, .. }
            | NodeCommand::MoveRecord { group, .. }
            | NodeCommand::RemoveMember { group, .. }
            | NodeCommand::SetSteward { group, .. }
            | NodeCommand::RevokeDevice { group, .. }
            | NodeCommand::History { group, .. }
            | NodeCommand::CarryExport { group, .. } => Some(*group),
        }
    }

    /// The kinds of record a write touches (a window reloads those): membership changes touch the members and
    /// the group.
    pub fn records(&self) -> Vec<RecordKind> {
        match self {
            NodeCommand::Edit { edit, .. } | NodeCommand::EditIn { edit, .. } => vec![edit.record()],
            NodeCommand::MoveRecord { kind, .. } => vec![*kind],
            NodeCommand::CreateCompartment { .. }
            | NodeCommand::AddToCompartment { .. }
            | NodeCommand::RemoveFromCompartment { .. } => vec![RecordKind::Member, RecordKind::Group],
            NodeCommand::CreateGroup { .. } => vec![RecordKind::Group],
            NodeCommand::RemoveMember { .. } | NodeCommand::SetSteward { .. } | NodeCommand::RevokeDevice { .. } => {
                vec![RecordKind::Member, RecordKind::Group]
            }
            _ => Vec::new(),
        }
    }
}

impl Node {
    /// Wraps an unlocked device.
    pub fn new(vault: Vault) -> Self {
        Self { vault, groups: BTreeMap::new(), unopened: BTreeMap::new(), keep_views_on_read: true }
    }

    /// A group as a front end shows it, read from the open group.
    fn snapshot_of(&mut self, id: GroupId) -> Result<GroupSnapshot, NodeError> {
        let my_device = self.vault.device_id();
        let me = my_device.to_hex();
        let group = self.group(id)?;
        Ok(GroupSnapshot {
            view: group.view_now(),
            stewards: group.stewards(),
            devices: group
                .members()
                .devices
                .iter()
                .map(|(device, entry)| (device.to_hex(), entry.member.clone()))
                .collect(),
            safety_number: group.safety_number(),
            relays: group.doc().relays(),
            // By the signed membership, not the document's device records (which any member may write).
            my_member: group.members().member_of(&my_device).map(str::to_owned),
            me,
            compartments: group.compartment_views(),
            all_compartments: group
                .members()
                .compartments
                .iter()
                .map(|(id, c)| (id.to_hex(), c.name.clone()))
                .collect(),
            devices_verified: group.devices_verified(),
        })
    }

    /// Keeps the view of open group `id` for the next start, if the kept one is not already what the disk holds
    /// (most of the time nothing changed: no view is made just to find that out).
    fn keep_view(&mut self, id: GroupId) -> Result<(), NodeError> {
        let Some(stamp) = crate::view_cache::stale(&self.vault.shelf, &id)? else { return Ok(()) };
        let snapshot = self.snapshot_of(id)?;
        crate::view_cache::keep(&self.vault.shelf, &id, stamp, &snapshot)
    }

    /// Keeps the view of every open group for the next start (see `view_cache`), where what is kept is not
    /// already what the disk holds. For a long-running engine, which would otherwise write the whole view after
    /// every change: it keeps views when it stops.
    pub fn keep_views(&mut self) {
        let ids: Vec<GroupId> = self.groups.keys().copied().collect();
        for id in ids {
            if let Err(error) = self.keep_view(id) {
                tracing::debug!(%error, "could not keep a group's view for the next start");
            }
        }
    }

    /// Groups that could not be opened, with why.
    pub fn unopened(&self) -> &BTreeMap<GroupId, String> {
        &self.unopened
    }

    /// Whether `group` has been opened (a read answered from its kept view does not open it).
    pub fn is_open(&self, group: &GroupId) -> bool {
        self.groups.contains_key(group)
    }

    /// The unlocked device.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// An open group, opened on first use.
    pub fn group(&mut self, id: GroupId) -> Result<&mut OpenGroup, NodeError> {
        if !self.groups.contains_key(&id) {
            let group = self.vault.open_group(id)?;
            self.groups.insert(id, group);
        }
        self.groups.get_mut(&id).ok_or_else(|| NodeError::GroupNotFound(id.to_hex()))
    }

    /// Keeps a group that was just created or joined.
    pub fn insert_group(&mut self, group: OpenGroup) {
        self.groups.insert(group.id(), group);
    }

    /// Carries out one command. A write is stored and flushed before this returns: kept in the sealed pending
    /// record, or sealed into this device's next entry at once while the engine has a peer to send it to.
    pub fn execute(&mut self, command: NodeCommand) -> Result<NodeOutcome, NodeError> {
        match command {
            NodeCommand::Device => Ok(NodeOutcome::Device {
                device: self.vault.device_id().to_hex(),
                owner: self.vault.owner_name().to_owned(),
            }),
            NodeCommand::Groups => {
                Ok(NodeOutcome::Groups { groups: self.vault.groups()?, current: self.vault.current_group()? })
            }
            NodeCommand::CreateGroup { name, display_name, today } => {
                let group = match display_name {
                    Some(display_name) => self.vault.create_group_as(&name, &display_name, today)?,
                    None => self.vault.create_group(&name, today)?,
                };
                if self.vault.group_ids()?.len() > 1 {
                    self.vault.set_current_group(group.id())?;
                }
                let summary = GroupSummary { id: group.id().to_hex(), name: group.doc().name() };
                self.insert_group(group);
                Ok(NodeOutcome::GroupCreated(summary))
            }
            NodeCommand::UseGroup(group) => {
                self.group(group)?;
                self.vault.set_current_group(group)?;
                Ok(NodeOutcome::Done)
            }
            NodeCommand::Read(id) => {
                // A group not open yet is shown from its kept view while that is still what the disk holds (not
                // one that failed to open: it must say so).
                if !self.groups.contains_key(&id) && !self.unopened.contains_key(&id) {
                    if let Some(kept) = crate::view_cache::fresh::<GroupSnapshot>(&self.vault.shelf, &id) {
                        return Ok(NodeOutcome::Snapshot(Box::new(kept)));
                    }
                }
                let snapshot = self.snapshot_of(id)?;
                if self.keep_views_on_read {
                    let kept = crate::view_cache::stale(&self.vault.shelf, &id).and_then(|stale| match stale {
                        Some(stamp) => crate::view_cache::keep(&self.vault.shelf, &id, stamp, &snapshot),
                        None => Ok(()),
                    });
                    if let Err(error) = kept {
                        tracing::debug!(%error, "could not keep the view for the next start");
                    }
                }
                Ok(NodeOutcome::Snapshot(Box::new(snapshot)))
            }
            NodeCommand::Edit { group, edit } => {
                let group = self.group(group)?;
                let applied = group.apply_edit(edit)?;
                Ok(NodeOutcome::Edited { applied, heads: group.document_heads() })
            }
            NodeCommand::EditIn { group, compartment, edit } => {
                let group = self.group(group)?;
                let applied = group.edit_compartment(&compartment, |doc| doc.apply(edit))?;
                Ok(NodeOutcome::Edited { applied, heads: group.document_heads() })
            }
            NodeCommand::CreateCompartment { group, name, members } => {
                let compartment = self.group(group)?.create_compartment(&name, &members)?;
                Ok(NodeOutcome::CompartmentCreated { compartment })
            }
            NodeCommand::AddToCompartment { group, compartment, member } => {
                self.group(group)?.add_to_compartment(&compartment, &member)?;
                Ok(NodeOutcome::Done)
            }
            NodeCommand::RemoveFromCompartment { group, compartment, member } => {
                let cutoffs = self.group(group)?.remove_from_compartment(&compartment, &member)?;
                Ok(NodeOutcome::Removed { cutoffs })
            }
            NodeCommand::MoveRecord { group, kind, record, to } => {
                self.group(group)?.move_record(kind, &record, to)?;
                Ok(NodeOutcome::Done)
            }
            NodeCommand::RemoveMember { group, member, reason } => {
                let cutoffs = self.group(group)?.remove_member(&member, &reason)?;
                Ok(NodeOutcome::Removed { cutoffs })
            }
            NodeCommand::SetSteward { group, member, steward } => {
                self.group(group)?.set_steward(&member, steward)?;
                Ok(NodeOutcome::Done)
            }
            NodeCommand::RevokeDevice { group, device } => {
                let cutoff = self.group(group)?.revoke_device(device)?;
                Ok(NodeOutcome::Revoked { cutoff })
            }
            NodeCommand::History { group, kind, record } => {
                let group = self.group(group)?;
                let changes = group.history(kind, &record)?;
                let sentences = group.sentences_of(&changes);
                Ok(NodeOutcome::History { changes, sentences })
            }
            NodeCommand::ExportAutomerge(group) => Ok(NodeOutcome::Bytes(self.group(group)?.export_automerge())),
            NodeCommand::LogHeads(group) => {
                let group = self.group(group)?;
                Ok(NodeOutcome::LogHeads { heads: group.heads(), pending: group.has_pending() })
            }
            NodeCommand::CarryExport { group, for_device } => {
                let (bytes, entries) = self.group(group)?.carry_file(for_device)?;
                Ok(NodeOutcome::CarryFile { bytes, entries })
            }
            NodeCommand::CarryImport(bytes) => {
                let file = sunspace_replicate::CarryFile::open(&self.vault.keys, &bytes)
                    .map_err(|error| NodeError::Refused(error.to_string()))?;
                let group = self.group(file.group).map_err(|_| {
                    NodeError::Refused("this records file is about a group this device is not in".into())
                })?;
                Ok(NodeOutcome::Carried(group.apply_carried(file)?))
            }
        }
    }
}
