//! Any bytes given to the sync message decoder: an error or a message, never a panic; a decoded message
//! re-encodes to the same bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(message) = sunspace_replicate::Message::decode(data) {
        assert_eq!(message.encode(), data);
    }
});
