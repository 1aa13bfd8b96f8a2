//! Errors as the person using the app should read them: one plain sentence, never a debug dump.

use serde::{Deserialize, Serialize};
use sunspace_model::ModelError;
use sunspace_node::NodeError;

use crate::words;

/// What went wrong, in a sentence for the person, and what kind of thing it was (for the UI to choose where to
/// show it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// What kind of problem.
    pub kind: ErrorKind,
    /// One plain sentence, ending with a full stop.
    pub message: String,
}

/// Kinds of problem the UI treats differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// Something typed does not fit (empty, too long, not a date): shown next to the field.
    Input,
    /// The passphrase does not open this device.
    WrongPassphrase,
    /// The device must be set up or unlocked first.
    Locked,
    /// A record or group is not there.
    NotFound,
    /// Not allowed (not a steward, no longer a member, code expired or mistyped).
    Refused,
    /// The network could not do it.
    Network,
    /// The stored data or the disk has a problem.
    Storage,
}

impl ApiError {
    /// An error of `kind` with `message` (a full stop is added if missing).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: sentence(message.into()) }
    }

    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Input, message)
    }

    pub(crate) fn locked() -> Self {
        Self::new(ErrorKind::Locked, words::UNLOCK_FIRST)
    }
}

/// Capitalized, with a final full stop.
fn sentence(text: String) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Something went wrong".to_owned(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

impl From<ModelError> for ApiError {
    fn from(error: ModelError) -> Self {
        let kind = match &error {
            ModelError::NotFound { .. } => ErrorKind::NotFound,
            ModelError::Unreadable(_) => ErrorKind::Storage,
            _ => ErrorKind::Input,
        };
        Self::new(kind, error.to_string())
    }
}

impl From<NodeError> for ApiError {
    fn from(error: NodeError) -> Self {
        use ErrorKind::*;
        match error {
            // The engine's own wording speaks of command-line steps; the app says what to do in the app.
            NodeError::NotInitialized => Self::new(Locked, words::NOT_SET_UP),
            NodeError::AlreadyInitialized => Self::new(Refused, words::ALREADY_SET_UP),
            NodeError::WrongPassphrase => Self::new(WrongPassphrase, words::WRONG_PASSPHRASE),
            NodeError::WeakPassphrase { min } => Self::new(Input, words::passphrase_too_short(min)),
            NodeError::UnknownFormat { .. } => Self::new(Storage, words::OTHER_VERSION),
            NodeError::GroupNotFound(_) => Self::new(NotFound, words::GROUP_NOT_HERE),
            NodeError::Model(model) => model.into(),
            NodeError::NotAMember => Self::new(Refused, words::NO_LONGER_A_MEMBER),
            NodeError::Refused(reason) => Self::new(Refused, reason),
            NodeError::Net(reason) => Self::new(Network, words::network_failed(&reason)),
            NodeError::Stopped => Self::new(Storage, words::ENGINE_STOPPED),
            NodeError::Damaged(_) => Self::new(Storage, words::DAMAGED),
            NodeError::Store(sunspace_store::StoreError::Locked) => Self::new(Refused, words::ALREADY_OPEN),
            NodeError::Store(store) => Self::new(Storage, words::storage_failed(&store)),
            other => Self::new(Storage, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_read_as_sentences_without_command_line_advice() {
        let errors = [
            NodeError::NotInitialized,
            NodeError::WrongPassphrase,
            NodeError::WeakPassphrase { min: 12 },
            NodeError::GroupNotFound("ab12".into()),
            NodeError::Model(ModelError::Empty { field: "title" }),
            NodeError::Refused("only a steward can invite new members".into()),
            NodeError::Stopped,
        ];
        for error in errors {
            let shown = ApiError::from(error);
            let first = shown.message.chars().next().unwrap_or(' ');
            assert!(first.is_uppercase(), "{shown:?}");
            assert!(shown.message.ends_with('.'), "{shown:?}");
            assert!(!shown.message.contains("sunspace ") && !shown.message.contains("--"), "{shown:?}");
            assert!(!shown.message.contains("Error") && !shown.message.contains('{'), "{shown:?}");
        }
        assert_eq!(ApiError::from(NodeError::WrongPassphrase).kind, ErrorKind::WrongPassphrase);
        assert_eq!(ApiError::from(ModelError::Empty { field: "title" }).message, "The title cannot be empty.");
    }
}
