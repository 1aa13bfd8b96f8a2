//! Any bytes given as a member's change entry body, vetted against a real group document: a refusal or vetted
//! changes, never a panic, and vetted changes always apply and leave a document that views.
#![no_main]

use std::sync::OnceLock;

static BASE: OnceLock<Vec<u8>> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let base = BASE.get_or_init(|| {
        let founder = sunspace_model::Founder {
            device_id: "aa".repeat(32),
            agreement_key: "bb".repeat(32),
            display_name: "Ana".into(),
        };
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("a date");
        let (mut doc, _) = sunspace_model::GroupDoc::create(&"cd".repeat(16), "Fuzz", &founder, day).expect("a group");
        doc.commit(0);
        doc.save()
    });
    let Ok(mut doc) = sunspace_model::GroupDoc::load(base) else { return };
    // The member's device: the actor id of every change it may send.
    if let Ok(vetted) = doc.vet_changes(data, &[0xbb; 32], Some(&[0xaa; 32])) {
        doc.apply_vetted(vec![vetted]).expect("vetted changes apply");
        let _ = doc.view();
    }
});
