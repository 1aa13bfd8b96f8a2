//! The Sunspace desktop app binary: see the library for the shell.
// No console window on Windows release builds; harmless elsewhere.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    sunspace_app_lib::run();
}
