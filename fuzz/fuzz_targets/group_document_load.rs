//! Any bytes given as a group document (an imported archive, a damaged snapshot): an error or a document, never
//! a panic; a loaded document can always be viewed.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = sunspace_model::GroupDoc::load(data) {
        let _ = doc.view();
    }
});
