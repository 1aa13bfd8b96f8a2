//! Any bytes given as an evidence entry's body: an error or a checked proof of equivocation, never a panic; a
//! decoded proof re-encodes to bytes that decode to the same proof.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = sunspace_log::Equivocation::decode(data) {
        let again = sunspace_log::Equivocation::decode(&proof.encode()).expect("a proof re-decodes");
        assert_eq!(again, proof);
    }
});
