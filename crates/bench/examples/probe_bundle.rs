//! Probe: how big are 1,000 W1-style commits as individual changes (`save_after`) and as a bundle?
#![allow(clippy::unwrap_used, missing_docs)]
use automerge::{transaction::Transactable, AutoCommit, ObjType, ReadDoc, ROOT};

fn main() {
    let mut doc = AutoCommit::new();
    let text = doc.put_object(ROOT, "minutes", ObjType::Text).unwrap();
    doc.splice_text(&text, 0, 0, &"x".repeat(600)).unwrap();
    doc.commit();
    let base = doc.get_heads();
    let mut fork = doc.fork();
    for i in 0..1000 {
        let len = fork.text(&text).unwrap().chars().count();
        fork.splice_text(&text, len / 2, 0, &format!("word{i:05} ")).unwrap();
        fork.commit();
    }
    let after = fork.save_after(&base);
    let hashes: Vec<_> = fork.get_changes(&base).iter().map(|c| c.hash()).collect();
    let t = std::time::Instant::now();
    let bundle = fork.bundle(hashes).unwrap();
    println!(
        "save_after {} bytes; bundle {} bytes ({:?}); save {} bytes",
        after.len(),
        bundle.bytes().len(),
        t.elapsed(),
        fork.save().len()
    );
    let mut other = doc.fork();
    let t = std::time::Instant::now();
    other.load_incremental(bundle.bytes()).unwrap();
    println!("loaded bundle in {:?}; equal {}", t.elapsed(), other.get_heads() == fork.get_heads());
}
