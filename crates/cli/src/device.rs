//! Where a command's requests go: to the application service in this process, over the device unlocked here, or
//! — while `sunspace serve` runs and holds the store — to the service inside it, over the control socket, as the
//! same JSON. Either way the command sends a [`Request`] and gets a [`Response`]; nothing else crosses.

use std::path::Path;

use anyhow::Context as _;
use sunspace_api::{GroupPage, Request, Response, Service};
use sunspace_node::Node;

use crate::context::unlock;
use crate::remote::Client;

/// The device a command works on.
pub(crate) enum Device {
    /// Unlocked in this process; no network.
    Local { service: Service, runtime: tokio::runtime::Runtime },
    /// Inside a running `serve`.
    Remote(Client),
}

impl Device {
    /// The running `serve`'s service if there is one, else the device unlocked here (asking for the passphrase).
    pub(crate) fn open(dir: &Path) -> anyhow::Result<Self> {
        if let Some(client) = Client::connect(dir)? {
            return Ok(Device::Remote(client));
        }
        let node = Node::new(unlock(dir)?);
        let runtime = tokio::runtime::Builder::new_current_thread().build().context("could not start")?;
        Ok(Device::Local { service: Service::local(node), runtime })
    }

    /// Sends one request; a refusal becomes the error, worded by the service.
    pub(crate) fn ask(&mut self, request: Request) -> anyhow::Result<Response> {
        let answer = match self {
            Device::Local { service, runtime } => runtime.block_on(service.handle(request)),
            Device::Remote(client) => client.ask(request)?,
        };
        Ok(answer?)
    }

    /// A group's records.
    pub(crate) fn page(&mut self, group: &Option<String>) -> anyhow::Result<GroupPage> {
        match self.ask(Request::Group { group: group.clone() })? {
            Response::Group(page) => Ok(*page),
            other => Err(out_of_turn(&other)),
        }
    }
}

/// A response that does not answer the request.
pub(crate) fn out_of_turn(response: &Response) -> anyhow::Error {
    anyhow::anyhow!("Sunspace answered out of turn ({response:?})")
}
