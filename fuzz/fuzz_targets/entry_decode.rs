//! Any bytes given to the entry decoder: an error or an entry, never a panic; a decoded entry re-encodes to the
//! same bytes, and verifying it never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = sunspace_log::Entry::decode(data) {
        assert_eq!(entry.encode(), data);
        let _ = entry.verify_signature();
        let _ = entry.hash();
    }
});
