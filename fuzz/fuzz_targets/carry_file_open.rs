//! Any bytes given as a carry file, sealed or as the body a member could seal for us: an error or a file, never a
//! panic, and never an entry longer than an entry may be.
#![no_main]

use sunspace_crypto::{DeviceKeys, Secret32};
use sunspace_replicate::CarryFile;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let reader = DeviceKeys::from_seeds(&Secret32::from_bytes([1; 32]), &Secret32::from_bytes([2; 32]));
    let _ = CarryFile::open(&reader, data);
    for version in [1, 2] {
        if let Ok(file) = CarryFile::read_opened_body(data, version) {
            assert!(file.entries.iter().all(|entry| entry.len() <= sunspace_log::MAX_ENTRY_LEN));
            assert!(file.checkpoint.as_ref().is_none_or(|c| c.len() <= sunspace_replicate::MAX_CHECKPOINT_LEN));
        }
    }
});
