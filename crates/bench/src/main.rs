//! probe
use std::time::Instant;
use sunspace_model::*;
fn main() {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let founder = Founder { device_id: "aa".repeat(32), agreement_key: "bb".repeat(32), display_name: "Ana".into() };
    let (mut doc, _) = GroupDoc::create(&"cc".repeat(16), "G", &founder, day).unwrap();
    let m = doc.add_meeting(NewMeeting::new(day, "M")).unwrap();
    doc.commit(0);
    let mut heads = doc.heads();
    let mut chunks = Vec::new();
    let t = Instant::now();
    for i in 0..200 {
        let t0 = Instant::now();
        doc.append_minutes(&m, &format!("{i} {}", "abcdefghij".repeat(400))).unwrap();
        let t1 = t0.elapsed();
        doc.commit(0);
        let t2 = t0.elapsed();
        let h = doc.heads();
        let bytes = doc.save_after(&heads);
        let t3 = t0.elapsed();
        heads = h;
        chunks.push(bytes);
        if i % 50 == 0 { println!("{i}: append {t1:?} commit {t2:?} save_after {t3:?}"); }
    }
    println!("200 appends {:?}", t.elapsed());
    let t = Instant::now();
    let full = doc.save();
    println!("save {:?} {} bytes", t.elapsed(), full.len());
    let t = Instant::now();
    let _ = GroupDoc::load(&full).unwrap();
    println!("load {:?}", t.elapsed());
    let base = GroupDoc::create(&"cc".repeat(16), "G", &founder, day).unwrap();
    let _ = base;
    let t = Instant::now();
    let mut d2 = GroupDoc::empty();
    d2.load_incremental(&doc.save_after(&[])).unwrap();
    println!("one load_incremental of all {:?}", t.elapsed());
    let t = Instant::now();
    let mut d3 = GroupDoc::empty();
    let mut first = doc.save_after(&[]);
    let _ = &mut first;
    for c in &chunks { let _ = d3.load_incremental(c); }
    println!("200 load_incremental (missing base) {:?}", t.elapsed());
    let t = Instant::now();
    let all: Vec<u8> = chunks.concat();
    let mut d4 = GroupDoc::empty();
    let _ = d4.load_incremental(&all);
    println!("one load_incremental of concat {:?}", t.elapsed());
}
