//! The camera, for scanning an invitation's QR code on the join screen.
//!
//! WebKitGTK (the Linux webview) hides `navigator.mediaDevices` unless its media-stream setting is on, and refuses
//! every permission request the app does not answer. This turns the setting on and allows requests for a camera
//! only: never a microphone, never the screen, nothing else. The window loads only the app's own code (see the
//! content-security policy in `tauri.conf.json`), so only that code can ask; frames never leave the device.

/// Lets the window's own code open a camera (Linux; other platforms ask the person through the system).
#[cfg(target_os = "linux")]
pub(crate) fn allow_camera<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) -> tauri::Result<()> {
    use webkit2gtk::glib::prelude::Cast;
    use webkit2gtk::{
        PermissionRequestExt, SettingsExt, UserMediaPermissionRequest, UserMediaPermissionRequestExt, WebViewExt,
    };
    window.with_webview(|platform| {
        let view = platform.inner();
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_enable_media_stream(true);
        }
        view.connect_permission_request(|_, request| {
            match request.downcast_ref::<UserMediaPermissionRequest>() {
                Some(media) if media.is_for_video_device() && !media.is_for_audio_device() => request.allow(),
                _ => request.deny(),
            }
            true
        });
    })
}

/// Other platforms' webviews ask the person through the system's own prompt.
#[cfg(not(target_os = "linux"))]
pub(crate) fn allow_camera<R: tauri::Runtime>(_window: &tauri::WebviewWindow<R>) -> tauri::Result<()> {
    Ok(())
}
