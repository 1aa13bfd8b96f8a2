//! The app's backend interface: every action the desktop app offers, as one typed async call on a [`Backend`].
//!
//! The Tauri shell (`app/`) holds one `Backend` and turns each of its methods into a command with a one-line body;
//! the UI (`ui/`) calls those commands through its single `backend.ts` module, with TypeScript types generated
//! from the Rust types here and in `sunspace-model` (see [`bindings`]). Nothing in the shell or the UI decides
//! anything: validation, wording of errors and status, and every change to a group happen here or below.
//!
//! ```no_run
//! # async fn example() -> Result<(), sunspace_api::ApiError> {
//! use sunspace_api::{Backend, NewMeetingInput};
//! let backend = Backend::new("/tmp/sunspace-example".into(), sunspace_api::Network::Loopback);
//! backend.create_device("Ana".into(), "tenants united never divided".into()).await?;
//! let group = backend.create_group("Tenants' Association".into()).await?;
//! let meeting = backend
//!     .add_meeting(group.id.clone(), NewMeetingInput { date: "2026-11-20".into(), title: "General meeting".into() })
//!     .await?;
//! backend.set_minutes(group.id.clone(), meeting, "We agreed to meet the landlord.".into(), Vec::new()).await?;
//! # Ok(()) }
//! ```

mod backend;
pub mod bindings;
mod error;
pub mod files;
mod passphrase;
mod types;

pub use backend::{Backend, Network};
pub use error::ApiError;
pub use passphrase::check_passphrase;
pub use types::*;
