//! No library crate of the workspace has a module circle: no module reaches, through any
//! chain of `crate::` or `super::` paths in its code (comments aside), back to itself. A
//! reader can then learn each crate bottom-up, and a change low down cannot be shaped by
//! what sits on it. Every crate with a `src/lib.rs` is checked, module folders included
//! (`src/a/mod.rs` is `a`, `src/a/b.rs` is `a::b`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each module of one crate, by path (`engine`, `record_replay::cassette`), with its file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("a readable source folder")
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if stem == "bin" && prefix.is_empty() {
                    continue;
                }
                let mut inner = prefix.to_vec();
                inner.push(stem);
                walk(&path, &inner, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut name = prefix.to_vec();
                match stem.as_str() {
                    // The crate root and binaries are not modules of the library.
                    "lib" | "main" if prefix.is_empty() => continue,
                    "mod" => {}
                    _ => name.push(stem),
                }
                out.insert(name.join("::"), path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, &[], &mut out);
    out
}

/// The longest module named by the start of `segments`, if its first segment is one.
fn resolve(segments: &[String], modules: &BTreeMap<String, PathBuf>) -> Option<String> {
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|name| modules.contains_key(name))
}

/// The identifier segments of a path starting at `rest` (`a::b::C` -> a, b, C).
fn segments(rest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = rest;
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            break;
        }
        rest = &rest[name.len()..];
        out.push(name);
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    out
}

/// Each module of the crate at `src` with the modules its code names.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        let parent: Vec<String> = {
            let mut parts: Vec<String> = module.split("::").map(str::to_owned).collect();
            // A folder's `mod.rs` is the folder's module: its `super` is the folder's parent.
            parts.pop();
            parts
        };
        let mut uses = BTreeSet::new();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            for (i, _) in code.match_indices("crate::") {
                // `$crate::` in a macro names the crate as well.
                let named = segments(&code[i + "crate::".len()..]);
                uses.extend(resolve(&named, &modules));
            }
            for (i, _) in code.match_indices("super::") {
                if code[..i].ends_with("super::") {
                    continue; // counted from the first `super::` of the chain
                }
                // One level up per further `super::`.
                let mut base = parent.clone();
                let mut rest = &code[i + "super::".len()..];
                while let Some(next) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = next;
                }
                let mut named = base;
                named.extend(segments(rest));
                uses.extend(resolve(&named, &modules));
            }
        }
        uses.remove(module);
        graph.insert(module.clone(), uses);
    }
    graph
}

/// Panics with the circle when `graph` has one.
fn assert_no_circle(krate: &str, graph: &BTreeMap<String, BTreeSet<String>>) {
    fn visit(
        krate: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        module: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(start) = path.iter().position(|m| m == module) {
            panic!(
                "import circle in {krate}: {} -> {module}",
                path[start..].join(" -> ")
            );
        }
        if done.contains(module) {
            return;
        }
        path.push(module.to_owned());
        for next in &graph[module] {
            visit(krate, graph, next, path, done);
        }
        path.pop();
        done.insert(module.to_owned());
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(krate, graph, module, &mut Vec::new(), &mut done);
    }
}

/// Every library crate of the workspace: the folder of each member with a `src/lib.rs`.
fn library_crates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .expect("crates/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .chain([
            root.join("examples"),
            root.join("examples/custom-runtime"),
            root.join("tests"),
        ])
        .filter(|dir| dir.join("src/lib.rs").is_file())
        .collect();
    crates.sort();
    crates
}

#[test]
fn no_library_crate_has_a_module_circle() {
    let crates = library_crates();
    let names: Vec<String> = crates
        .iter()
        .map(|dir| dir.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in ["cygnet-core", "cygnet-mock", "cygnet-hyper", "cygnet-types"] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }
    for (dir, name) in crates.iter().zip(&names) {
        let graph = module_graph(&dir.join("src"));
        assert_no_circle(name, &graph);
    }
}

#[test]
fn the_graph_sees_folders_and_both_kinds_of_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let core = module_graph(&root.join("crates/cygnet-core/src"));
    assert!(core["stream"].contains("engine"), "{:?}", core["stream"]);
    let mock = module_graph(&root.join("crates/cygnet-mock/src"));
    let cassette = &mock["record_replay::cassette"];
    assert!(cassette.contains("record_replay::recorder"), "{cassette:?}");
    assert!(cassette.contains("clock"), "{cassette:?}");
    let hyper = module_graph(&root.join("crates/cygnet-hyper/src"));
    assert!(
        hyper.contains_key("tls::openssl_tests"),
        "{:?}",
        hyper.keys()
    );
}

#[test]
fn a_circle_is_found_and_named() {
    let dir = tests::fresh_dir(env!("CARGO_TARGET_TMPDIR"), "module-circle");
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("rr")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod rr;\n").unwrap();
    std::fs::write(src.join("rr/mod.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(
        src.join("rr/a.rs"),
        "use super::b::B; // a comment: crate::x\n",
    )
    .unwrap();
    std::fs::write(
        src.join("rr/b.rs"),
        "pub const B: &str = crate::rr::a::A;\n",
    )
    .unwrap();
    let graph = module_graph(&src);
    assert_eq!(graph["rr::a"], BTreeSet::from(["rr::b".to_owned()]));
    let circle = std::panic::catch_unwind(|| assert_no_circle("fake", &graph)).unwrap_err();
    let message = circle.downcast_ref::<String>().unwrap();
    assert!(message.contains("rr::a -> rr::b -> rr::a"), "{message}");
}
