//! Any bytes given as a relay-admin message: an error or a list, never a panic; a decoded list encodes back to
//! the same bytes.
#![no_main]

use sunspace_net::RelayClients;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(list) = RelayClients::decode(data) {
        assert_eq!(list.encode(), data);
    }
});
