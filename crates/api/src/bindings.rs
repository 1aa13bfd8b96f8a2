//! TypeScript declarations for the UI, generated from the Rust types (never written by hand).
//!
//! `ui/src/bindings/` holds the generated files. The test `ui_bindings_match_the_rust_types` fails when they are
//! out of date; `SUNSPACE_WRITE_BINDINGS=1 cargo test -p sunspace-api ui_bindings` (or `make bindings`) writes
//! them again.

use std::path::Path;

use ts_rs::{Config, ExportError, TS};

/// Writes every declaration the UI uses into `dir`.
pub fn export_all(dir: &Path) -> Result<(), ExportError> {
    let config = Config::new().with_out_dir(dir).with_large_int("number");
    crate::ApiError::export_all(&config)?;
    crate::DeviceState::export_all(&config)?;
    crate::GroupItem::export_all(&config)?;
    crate::Request::export_all(&config)?;
    crate::Response::export_all(&config)?;
    crate::SyncView::export_all(&config)?;
    crate::InviteView::export_all(&config)?;
    crate::FlowStep::export_all(&config)?;
    crate::AppEvent::export_all(&config)?;
    crate::Export::export_all(&config)?;
    crate::PassphraseCheck::export_all(&config)?;
    crate::CharterInput::export_all(&config)?;
    sunspace_model::GroupView::export_all(&config)?;
    sunspace_model::vitality::Vitality::export_all(&config)?;
    sunspace_model::RecordKind::export_all(&config)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn ui_bindings_match_the_rust_types() {
        let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
        if std::env::var("SUNSPACE_WRITE_BINDINGS").as_deref() == Ok("1") {
            let _ = std::fs::remove_dir_all(&committed);
            super::export_all(&committed).expect("write the bindings");
            return;
        }
        let fresh = tempfile::tempdir().expect("temp dir");
        super::export_all(fresh.path()).expect("export the bindings");
        let mut names: Vec<_> =
            std::fs::read_dir(fresh.path()).expect("list").map(|e| e.expect("entry").file_name()).collect();
        names.sort();
        for name in names {
            let expected = std::fs::read_to_string(fresh.path().join(&name)).expect("read");
            let found = std::fs::read_to_string(committed.join(&name)).unwrap_or_default();
            assert_eq!(
                found, expected,
                "ui/src/bindings/{} is out of date: run `make bindings` (SUNSPACE_WRITE_BINDINGS=1 cargo test -p sunspace-api ui_bindings)",
                name.to_string_lossy()
            );
        }
    }
}
