//! Records carried by file, as an organizer would with a USB stick: two devices admitted in person, then no
//! network at all (`serve` stopped on both); `sunspace carry export` on one, `sunspace carry import` on the other,
//! and back. A file from a device outside the group, a file cut short and a file carried twice change nothing;
//! the file holds no canary in the clear; `status` says when records last came by file.
#![allow(clippy::unwrap_used)]

mod common;

use common::{admit, Home, Serve};

const CANARY: &str = "CANARY-carried-minutes-4471";

fn member(name: &str) -> Home {
    let home = Home::new();
    home.ok(&["init", "--name", name]);
    home
}

/// This device's id, as `device show` prints it.
fn device_id(home: &Home) -> String {
    let shown = home.ok(&["device", "show", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&shown).unwrap();
    value["device"].as_str().unwrap().to_owned()
}

#[test]
fn records_carried_by_file_both_ways_with_no_network() {
    let (ana, bea) = (member("Ana"), member("Bea"));
    ana.ok(&["group", "create", "Food Co-op Core"]);
    let meeting = Home::id_in(&ana.ok(&["meeting", "add", "--title", "Monthly", "--date", "2026-11-20"]));
    {
        let (_a, _b) = (Serve::start(&ana), Serve::start(&bea));
        admit(&ana, &bea, "Bea");
        common::converge(&[&ana, &bea]);
    }
    // No network from here on.
    ana.ok(&["minutes", "append", &meeting, &format!("Ana, on the shop floor. {CANARY}")]);
    let stick = ana.path().join("stick");
    std::fs::create_dir_all(&stick).unwrap();
    let to_bea = stick.join("for-bea.sscf");
    let bea_id = device_id(&bea);
    let written = ana.ok(&["carry", "export", "--output", to_bea.to_str().unwrap(), "--for", &bea_id[..8]]);
    assert!(written.contains("Only that device can open the file"), "{written}");
    let bytes = std::fs::read(&to_bea).unwrap();
    assert!(!bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()), "the minutes are not in the clear");

    let read = bea.ok(&["carry", "import", to_bea.to_str().unwrap()]);
    assert!(read.contains("new entr"), "{read}");
    assert!(bea.ok(&["minutes", "show", &meeting]).contains(CANARY));
    // Carried twice: nothing new.
    let again = bea.ok(&["carry", "import", to_bea.to_str().unwrap()]);
    assert!(again.contains("nothing new"), "{again}");

    // The other way closes the loop: Bea's file tells Ana what Bea holds.
    bea.ok(&["minutes", "append", &meeting, "Bea, back at home."]);
    let to_ana = stick.join("for-ana.sscf");
    bea.ok(&["carry", "export", "--output", to_ana.to_str().unwrap()]);
    assert!(ana.ok(&["carry", "import", to_ana.to_str().unwrap()]).contains("new entr"));
    assert!(ana.ok(&["minutes", "show", &meeting]).contains("Bea, back at home."));
    let next = ana.ok(&["carry", "export", "--output", stick.join("next.sscf").to_str().unwrap(), "--for", &bea_id]);
    assert!(next.starts_with("No entries saved"), "Bea already holds everything Ana holds: {next}");

    // A file cut short is refused whole; nothing changes.
    let cut = stick.join("cut.sscf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let refused = bea.fails(&["carry", "import", cut.to_str().unwrap()]);
    assert!(refused.contains("cut short or was altered"), "{refused}");

    // A file from a device outside the group does not open here.
    let cal = member("Cal");
    cal.ok(&["group", "create", "Another group"]);
    let from_cal = stick.join("from-cal.sscf");
    cal.ok(&["carry", "export", "--output", from_cal.to_str().unwrap()]);
    let refused = ana.fails(&["carry", "import", from_cal.to_str().unwrap()]);
    assert!(refused.contains("not made for this device"), "{refused}");
    // Nor is a file that is not one.
    let refused = ana.fails(&["carry", "import", to_bea.parent().unwrap().to_str().unwrap()]);
    assert!(refused.contains("could not read"), "{refused}");

    // Status says when Bea's records last came by file.
    let _a = Serve::start(&ana);
    let status = ana.ok(&["status"]);
    assert!(status.contains("last came by file"), "{status}");
}
