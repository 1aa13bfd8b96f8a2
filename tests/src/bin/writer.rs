//! A child process for durability tests: opens a group and writes minutes in a loop, printing `ack <n>` after
//! each edit the engine reported as saved. Every 20 lines it starts a new meeting, as a group's history grows in
//! real life. It prints `ready` once the group is open. The parent kills it at random moments (or lets it fill a disk) and checks that every acknowledged
//! line survived.
//!
//! Usage: `sunspace-test-writer DATA_DIR GROUP_HEX PREFIX LINE_BYTES`

use std::io::Write;

use sunspace_model::NewMeeting;

/// Lines per meeting before the writer starts the next one.
const LINES_PER_MEETING: u64 = 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, group, prefix, line_bytes] = args.as_slice() else {
        eprintln!("usage: sunspace-test-writer DATA_DIR GROUP_HEX PREFIX LINE_BYTES");
        std::process::exit(2);
    };
    let group = sunspace_node::GroupId::from_hex(group).unwrap_or_else(|| exit_with("bad group id"));
    let line_bytes: usize = line_bytes.parse().unwrap_or(0);
    let mut open = sunspace_tests::open(std::path::Path::new(dir), group).unwrap_or_else(|e| exit_with(&e.to_string()));
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default();
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "ready");
    let _ = stdout.flush();
    let mut meeting = String::new();
    // Letters from a small linear congruential sequence: text that does not compress away, so a disk fills.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for n in 0u64.. {
        if n % LINES_PER_MEETING == 0 {
            let title = format!("{prefix}meeting-{}", n / LINES_PER_MEETING);
            meeting = open
                .edit(|doc| doc.add_meeting(NewMeeting::new(today, &title)))
                .unwrap_or_else(|e| exit_with(&e.to_string()));
        }
        let padding: String = (0..line_bytes)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                char::from(b'a' + ((state >> 33) % 26) as u8)
            })
            .collect();
        let line = format!("{prefix}{n} {padding}");
        match open.edit(|doc| doc.append_minutes(&meeting, &line)) {
            Ok(()) => {
                let _ = writeln!(stdout, "ack {n}");
                let _ = stdout.flush();
            }
            Err(error) => exit_with(&error.to_string()),
        }
    }
}

fn exit_with(message: &str) -> ! {
    println!("error: {message}");
    std::process::exit(1);
}
