//! The signed membership log of a group: who is in, with which devices and roles.
//!
//! Every change to the membership is an [`Op`] signed by the device that makes it ([`SignedOp`]). Each op names
//! the ops its author had seen ([`Op::deps`]), so the ops form a DAG, and [`Log::state`] replays them in a
//! deterministic topological order (causal order, ties broken by op id) checking at each step that the author
//! had the authority: any two devices that hold the same ops compute the same [`State`], whatever order the ops
//! arrived in.
//!
//! Authority in this version:
//! - [`Action::Create`]: the founding device, and only as bound by the group id (see [`group_id_for`]);
//! - [`Action::AddMember`], [`Action::GrantRole`], [`Action::EndRole`], [`Action::RemoveMember`]: a device of a
//!   steward (a group may have several; the last one cannot be ended, and a founder is removable like anyone);
//! - [`Action::LinkDevice`]: a device of the same member ("a member links only their own devices").
//!
//! Removal, revocation and key rotation plug into the same replay (next issue); ops that fail a check are kept
//! and listed in [`State::rejected`] with the reason, never silently applied.
//!
//! ```
//! use sunspace_crypto::DeviceKeys;
//! use sunspace_membership::{Log, Role};
//!
//! let founder = DeviceKeys::generate();
//! let (mut log, group) = Log::found(&founder, "ana-member-id", [7; 16]);
//! let state = log.state();
//! assert!(state.is_active_device(&founder.device_id()));
//! assert!(state.has_role("ana-member-id", Role::Steward));
//! assert_eq!(state.group, group);
//! ```

pub mod invite;
mod log;
mod op;
mod state;

pub use log::{epoch_id, InsertError, Log, MAX_OPS_PER_AUTHOR};
pub use op::{
    compartment_id_for, group_id_for, key_commitment, Action, DeviceKey, KeyWraps, Method, Op, OpId, Role, SignedOp,
    Verification, WrapFor, WrapsProblem, MAX_COMPARTMENT_NAME,
};
pub use state::{
    CompartmentState, DeviceState, Epoch, MemberState, Rejection, RemovedDevice, State, MAX_COMPARTMENTS,
    MAX_COMPARTMENTS_PER_MEMBER, MAX_DEVICES_PER_MEMBER,
};
