//! No import cycles between the modules of a crate: each module's `crate::…` paths (and names the crate root
//! re-exports from a module) point one way, so a reader can follow a crate from its leaves up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules each module of the crate in `src` refers to.
fn references(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let read = |file: &Path| std::fs::read_to_string(file).unwrap_or_default();
    // A module is a file `name.rs`, or a directory `name/` with `mod.rs` (its files read as one module).
    let modules: Vec<String> = std::fs::read_dir(src)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_str()?.to_owned();
                    match name.strip_suffix(".rs") {
                        Some(stem) => Some(stem.to_owned()),
                        None => e.path().join("mod.rs").exists().then_some(name),
                    }
                })
                .filter(|n| n != "lib" && n != "main")
                .collect()
        })
        .unwrap_or_default();
    // A module's source: `name.rs` if there is one, and every file under `name/` (its submodules), leaving out
    // the `tests.rs` files (what a module's tests use is not part of its design).
    fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let mut entries: Vec<_> =
            std::fs::read_dir(dir).map(|e| e.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                files_under(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") && path.file_name().is_some_and(|n| n != "tests.rs") {
                out.push(path);
            }
        }
    }
    let source = |module: &str| -> String {
        let mut files = vec![src.join(format!("{module}.rs"))];
        files_under(&src.join(module), &mut files);
        files.iter().map(|f| read(f)).collect()
    };
    // Names the crate root re-exports, and from which module: `pub use module::{A, B};`.
    let root = read(&src.join("lib.rs")) + &read(&src.join("main.rs"));
    let mut exported: BTreeMap<String, String> = BTreeMap::new();
    for statement in root.split(';') {
        let statement = statement.trim();
        let Some(rest) = statement.strip_prefix("pub use ") else { continue };
        let Some((module, names)) = rest.split_once("::") else { continue };
        if !modules.iter().any(|m| m == module) {
            continue;
        }
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            exported.insert(name.trim().to_owned(), module.to_owned());
        }
    }
    let mut graph = BTreeMap::new();
    for module in &modules {
        let code: String =
            source(module).lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        let mut used = BTreeSet::new();
        for (at, _) in code.match_indices("crate::") {
            let after = &code[at + "crate::".len()..];
            if let Some(list) = after.strip_prefix('{') {
                let list = list.split('}').next().unwrap_or("");
                for name in list.split(',') {
                    let name = name.trim().split("::").next().unwrap_or("").trim();
                    if modules.iter().any(|m| m == name) {
                        used.insert(name.to_owned());
                    } else if let Some(module) = exported.get(name) {
                        used.insert(module.clone());
                    }
                }
                continue;
            }
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if modules.contains(&name) {
                used.insert(name);
            } else if let Some(module) = exported.get(&name) {
                used.insert(module.clone());
            }
        }
        used.remove(module);
        graph.insert(module.clone(), used);
    }
    graph
}

/// A cycle in the graph, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_of_each_crate_import_one_way() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    for name in ["node", "api", "cli", "model", "replicate", "membership", "net", "log", "store", "crypto"] {
        let graph = references(&crates.join(name).join("src"));
        assert!(!graph.is_empty(), "no modules read for {name}");
        if let Some(found) = cycle(&graph) {
            panic!("crates/{name}: modules import each other: {}", found.join(" → "));
        }
    }
}

#[test]
fn a_cycle_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), ["b".to_owned()].into()),
        ("b".to_owned(), ["c".to_owned()].into()),
        ("c".to_owned(), ["a".to_owned()].into()),
    ]
    .into();
    assert_eq!(cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
}
