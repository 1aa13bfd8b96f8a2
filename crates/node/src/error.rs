use sunspace_crypto::kdf::KdfError;
use sunspace_model::ModelError;
use sunspace_store::StoreError;

/// Something the engine could not do. Every variant reads as a sentence for the user.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// No device has been set up in this data directory.
    #[error("this device is not set up yet: run `sunspace init` first")]
    NotInitialized,
    /// `init` on a directory that already has a device.
    #[error("this data directory already has a device; use it, or choose another directory with --data-dir")]
    AlreadyInitialized,
    /// The passphrase does not open the device's keys.
    #[error("the passphrase is wrong (nothing was changed)")]
    WrongPassphrase,
    /// A new passphrase is too short.
    #[error("the passphrase is too short: use at least {min} characters (a few words is easiest to remember)")]
    WeakPassphrase {
        /// The minimum length.
        min: usize,
    },
    /// The data directory was written by a different version.
    #[error("this data directory is in format \"{found}\", and this version of Sunspace reads \"{expected}\"; use the matching version of Sunspace")]
    UnknownFormat {
        /// What the directory says.
        found: String,
        /// What this build reads.
        expected: String,
    },
    /// No group with this id on the device.
    #[error("there is no group {0} on this device")]
    GroupNotFound(String),
    /// Stored data failed authentication or does not parse.
    #[error("the stored data is damaged: {0}")]
    Damaged(String),
    /// The key derivation parameters are not acceptable.
    #[error(transparent)]
    Kdf(#[from] KdfError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The edit was refused.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// This device is not (or no longer) a member device of the group.
    #[error("this device is not a member device of the group")]
    NotAMember,
    /// The operation is not allowed, for the reason given.
    #[error("{0}")]
    Refused(String),
    /// The network failed.
    #[error("the network: {0}")]
    Net(String),
    /// The engine has stopped.
    #[error("Sunspace's engine has stopped")]
    Stopped,
}
