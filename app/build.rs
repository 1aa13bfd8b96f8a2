//! Builds the Tauri context (configuration, capabilities, icons) into the app.
fn main() {
    tauri_build::build()
}
