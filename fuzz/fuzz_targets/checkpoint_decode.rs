//! Any bytes given as a checkpoint, or as the body a member could seal under the group's key: an error or a
//! checkpoint, never a panic; what decodes encodes back to the same bytes.
#![no_main]

use sunspace_replicate::{Checkpoint, CheckpointBody};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(checkpoint) = Checkpoint::decode(data) {
        assert_eq!(checkpoint.encode(), data);
    }
    if let Ok(body) = CheckpointBody::decode(data) {
        assert_eq!(body.encode(), data);
    }
});
