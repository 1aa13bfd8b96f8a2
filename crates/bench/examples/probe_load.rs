//! Times loading an exported automerge document (for profiling the open path).
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).expect("path");
    let bytes = std::fs::read(path).expect("read");
    for _ in 0..3 {
        let t = Instant::now();
        let doc = sunspace_model::GroupDoc::load_trusted(&bytes).expect("load");
        let loaded = t.elapsed();
        let t = Instant::now();
        let view = doc.view();
        println!("load {loaded:?} view {:?} ({} meetings)", t.elapsed(), view.meetings.len());
        let t = Instant::now();
        let _ = automerge::AutoCommit::load(&bytes).expect("load");
        println!("verified load {:?}", t.elapsed());
    }
}
