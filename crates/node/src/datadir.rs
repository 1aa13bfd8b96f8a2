//! The data directory: a format marker and the sled store.
//!
//! ```text
//! <data dir>/format   "sunspace-data 1": read before anything else, so a directory from another version is
//!                      refused with a sentence instead of being misread
//! <data dir>/store/   the sled database (see `docs/storage.md`)
//! ```

use std::fs;
use std::path::Path;

use sunspace_store::SledStore;

use crate::NodeError;

/// Name of the format marker file.
pub const FORMAT_FILE: &str = "format";
/// The marker's content for the format this build writes.
pub const FORMAT_LINE: &str = "sunspace-data 1";
/// Name of the sled directory.
pub const STORE_DIR: &str = "store";

/// Whether opening may create a new data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDirMode {
    /// Create the directory and marker if missing (for `init`).
    Create,
    /// The directory must already hold a device.
    Existing,
}

/// Opens the store in a data directory, checking its format marker first.
pub fn open_data_dir(path: &Path, mode: DataDirMode) -> Result<SledStore, NodeError> {
    let marker = path.join(FORMAT_FILE);
    match fs::read_to_string(&marker) {
        Ok(found) => {
            let found = found.trim();
            if found != FORMAT_LINE {
                return Err(NodeError::UnknownFormat {
                    found: found.chars().take(60).collect(),
                    expected: FORMAT_LINE.into(),
                });
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => match mode {
            DataDirMode::Existing => return Err(NodeError::NotInitialized),
            DataDirMode::Create => {
                create_private_dir(path)?;
                if path.join(STORE_DIR).exists() {
                    return Err(NodeError::UnknownFormat {
                        found: "(no format marker)".into(),
                        expected: FORMAT_LINE.into(),
                    });
                }
                write_marker(&marker)?;
            }
        },
        Err(error) => return Err(NodeError::Store(error.into())),
    }
    Ok(SledStore::open(&path.join(STORE_DIR))?)
}

fn write_marker(marker: &Path) -> Result<(), NodeError> {
    use std::io::Write;
    let mut file = fs::File::create(marker).map_err(|e| NodeError::Store(e.into()))?;
    file.write_all(format!("{FORMAT_LINE}\n").as_bytes()).map_err(|e| NodeError::Store(e.into()))?;
    file.sync_all().map_err(|e| NodeError::Store(e.into()))?;
    Ok(())
}

/// Creates the directory readable only by this user: the contents are encrypted, but file names, sizes and times
/// are nobody else's business either.
fn create_private_dir(path: &Path) -> Result<(), NodeError> {
    fs::create_dir_all(path).map_err(|e| NodeError::Store(e.into()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(|e| NodeError::Store(e.into()))?;
    }
    Ok(())
}
