//! Files a person asks for: exports of a group's records. They are plaintext, so every front end writes them the
//! same way, here: readable only by this user (mode 0600, whatever the file's mode was before), flushed to disk
//! before the outcome is reported, and, when the file name is chosen for the person, a neutral name that does not
//! carry the group's name (a folder listing, a recent-files menu or a backup index would show it).
//!
//! ```
//! let folder = tempfile::tempdir().unwrap();
//! let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
//! let first = sunspace_api::files::save_new_export(folder.path(), date, "md", b"# Minutes").unwrap();
//! let second = sunspace_api::files::save_new_export(folder.path(), date, "md", b"# Minutes").unwrap();
//! assert!(first.ends_with("sunspace-export-2026-12-01.md"));
//! assert!(second.ends_with("sunspace-export-2026-12-01-2.md"), "an earlier export is never overwritten");
//! ```

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

/// Writes `bytes` to `path` (replacing what was there), readable only by this user, and flushes it to disk.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    let file = private(&mut options).open(path)?;
    finish(file, bytes)
}

/// Writes `bytes` to a new file in `folder`, named `sunspace-export-<date>.<extension>` (with `-2`, `-3` … if
/// that name is taken: an earlier export is never overwritten), readable only by this user and flushed to disk.
/// Returns the file's path.
pub fn save_new_export(folder: &Path, date: NaiveDate, extension: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    std::fs::create_dir_all(folder)?;
    for n in 1..=1000u32 {
        let name = match n {
            1 => format!("sunspace-export-{date}.{extension}"),
            n => format!("sunspace-export-{date}-{n}.{extension}"),
        };
        let path = folder.join(name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        match private(&mut options).open(&path) {
            Ok(file) => {
                finish(file, bytes)?;
                return Ok(path);
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "a thousand exports of that day are already in the folder"))
}

fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options
}

fn finish(mut file: File, bytes: &[u8]) -> io::Result<()> {
    // The mode given at opening applies only to a new file: one that existed keeps its own unless it is set.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_export_over_an_existing_readable_file_becomes_private() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("minutes.md");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private_file(&path, b"new").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn a_new_export_is_private_and_named_without_the_group() {
        let folder = tempfile::tempdir().unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let path = save_new_export(folder.path(), date, "json", b"{}").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(path.file_name().unwrap(), "sunspace-export-2026-12-01.json");
    }
}
