//! Commands sent to a running `serve` behave as they do run directly: paths are the caller's.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Home, Serve};

#[test]
fn relative_paths_are_the_callers_while_serve_runs_in_another_directory() {
    let home = Home::with_group("Tenants");
    let meeting = Home::id_in(&home.ok(&["meeting", "add", "--title", "General meeting"]));
    let serve = Serve::start(&home);
    let caller = tempfile::tempdir().unwrap();
    std::fs::write(caller.path().join("notes.txt"), "Minutes from the caller's file.").unwrap();

    let run = home.command(&["minutes", "set", &meeting, "--file", "notes.txt"]).current_dir(caller.path()).output();
    let run = run.unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(home.ok(&["minutes", "show", &meeting]).contains("Minutes from the caller's file."));

    let run = home.command(&["export", "--output", "out.md"]).current_dir(caller.path()).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let written = caller.path().join("out.md");
    assert!(std::fs::read_to_string(&written).unwrap().contains("Minutes from the caller's file."));
    assert_eq!(std::fs::metadata(&written).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(String::from_utf8_lossy(&run.stdout).contains("NOT encrypted"));
    assert!(!home.path().join("serve-cwd/out.md").exists(), "written where serve runs");
    serve.stop();
}
