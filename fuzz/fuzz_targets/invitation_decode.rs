//! Any text given as an invitation code, and any bytes given as a join-handshake message: an error or a value,
//! never a panic; a parsed invitation gives back a code that parses to the same invitation.
#![no_main]

use sunspace_membership::invite::{Invitation, JoinAnswer, JoinRequest};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(invitation) = Invitation::parse(text) {
            assert_eq!(Invitation::parse(&invitation.qr_text()).ok(), Some(invitation));
        }
    }
    let _ = JoinRequest::decode(data);
    let _ = JoinAnswer::decode(data);
});
