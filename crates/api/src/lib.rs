//! The application service and the app's backend.
//!
//! [`Service`] is the one application service: every front end — the CLI run directly, the CLI through a
//! running `serve`, and the desktop app — sends it a [`Request`] and gets a [`Response`], the same JSON from each.
//! Names and id prefixes are resolved by [`resolve`], pure functions of the model; every sentence a person reads
//! is in [`words`]. The service sends typed commands to the device ([`sunspace_node::NodeCommand`]).
//!
//! [`Backend`] is the app's side of it: the data folder, unlocking, invitations as flows the window polls, exports
//! saved to the documents folder, and the engine's events in batches; everything else is [`Backend::request`].
//! The Tauri shell (`app/`) turns each of its methods into a command with a one-line body; the UI (`ui/`) calls
//! them through its single `backend.ts` module, with TypeScript types generated from the Rust types here and in
//! `sunspace-model` (see [`bindings`]). Nothing in the shell or the UI decides anything.
//!
//! ```no_run
//! # async fn example() -> Result<(), sunspace_api::ApiError> {
//! use sunspace_api::{Backend, MeetingInput, Request, Response};
//! let backend = Backend::new("/tmp/sunspace-example".into(), sunspace_api::Network::Loopback);
//! backend.create_device("Ana".into(), "tenants united never divided".into()).await?;
//! let group = Some("Tenants' Association".to_owned());
//! backend.request(Request::CreateGroup { name: "Tenants' Association".into(), display_name: None }).await?;
//! let meeting = MeetingInput { date: Some("2026-11-20".into()), title: "General meeting".into(), ..Default::default() };
//! let Response::Created { id, .. } = backend.request(Request::AddMeeting { group: group.clone(), meeting }).await?
//! else { unreachable!() };
//! let text = "We agreed to meet the landlord.".to_owned();
//! backend.request(Request::SetMinutes { group, meeting: id, text, base: Vec::new() }).await?;
//! # Ok(()) }
//! ```

mod backend;
pub mod bindings;
mod error;
pub mod files;
mod listening;
mod passphrase;
mod request;
pub mod resolve;
mod service;
mod types;
pub mod words;

pub use backend::{Backend, Network};
pub use error::ApiError;
pub use passphrase::check_passphrase;
pub use request::*;
pub use service::{date_of, parse_date, Service};
pub use types::*;
