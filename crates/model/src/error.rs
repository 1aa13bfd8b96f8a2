/// An edit or a read of the group document was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A required text was empty.
    #[error("the {field} cannot be empty")]
    Empty {
        /// Which field.
        field: &'static str,
    },
    /// A text was longer than allowed.
    #[error("the {field} is too long ({len} characters, at most {max})")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A referenced record does not exist.
    #[error("no {kind} with id {id}")]
    NotFound {
        /// What kind of record.
        kind: &'static str,
        /// The id looked for.
        id: String,
    },
    /// A value does not fit its field.
    #[error("{0}")]
    Invalid(String),
    /// The bytes are not an automerge document, or not a Sunspace group document.
    #[error("the group document cannot be read: {0}")]
    Unreadable(String),
    /// The document library failed.
    #[error("the group document could not be changed: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}
