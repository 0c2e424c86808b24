//! The code a `cygnet` user sees compiles in a project that depends on `cygnet` alone.
//!
//! The facade's pages show the docs of what it re-exports: the core client, the wire types,
//! the mock (its guide is `cygnet::mock`) and cygnet-hyper's transport, builder and blocking
//! client. Their code blocks are written with `cygnet::` paths (the lower crates dev-depend on
//! the facade so their own doctests compile the same text). This test collects every Rust
//! code block from those sources, the facade's and the README's, and compiles them as the
//! doctests of a scratch crate whose only dependencies are the README's: `cygnet` (as a path
//! dependency, with the features the README's `[dev-dependencies]` give it), `serde_json` and
//! `tokio`. A block that names `cygnet_core`, `futures_executor` or anything else a user
//! cannot name fails here, with the source file and line in the doctest's name.
//!
//! The scratch crate is on edition 2024, so rustdoc merges the doctests into one binary; it
//! lives in the target directory and shares it, so after the first run only the blocks are
//! compiled again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The sources whose doc comments the facade's pages show (whole crates, or the files of the
/// items it re-exports).
const SOURCES: &[&str] = &[
    "crates/cygnet/src",
    "crates/cygnet-types/src",
    "crates/cygnet-core/src",
    "crates/cygnet-mock/src",
    "crates/cygnet-hyper/src/lib.rs",
    "crates/cygnet-hyper/src/blocking.rs",
    "crates/cygnet-hyper/src/transport.rs",
];

/// How long compiling and running the blocks may take (the first run also builds the
/// dependencies for the scratch crate's feature set).
const LIMIT: Duration = Duration::from_secs(20 * 60);

/// A code block and where it came from.
struct Block {
    origin: String,
    info: String,
    lines: Vec<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Whether a fence's info string makes the block Rust for rustdoc: empty, or only rustdoc's
/// own attributes besides `rust`.
fn is_rust(info: &str) -> bool {
    info.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|token| !token.is_empty())
        .all(|token| {
            matches!(
                token,
                "rust" | "no_run" | "ignore" | "should_panic" | "compile_fail" | "test_harness"
            ) || token.starts_with("edition")
                || token.starts_with("ignore-")
        })
}

/// The Rust code blocks in `lines` (already stripped of any comment prefix), each tagged with
/// `file` and the line number of its fence.
fn blocks_in(file: &str, lines: impl Iterator<Item = (usize, String)>, out: &mut Vec<Block>) {
    let mut open: Option<Block> = None;
    for (number, line) in lines {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match open.take() {
                Some(block) => {
                    if is_rust(&block.info) {
                        out.push(block);
                    }
                }
                None => {
                    open = Some(Block {
                        origin: format!("{file}:{number}"),
                        info: info.trim().to_owned(),
                        lines: Vec::new(),
                    })
                }
            }
        } else if let Some(block) = &mut open {
            block.lines.push(line);
        }
    }
}

/// The doc comments of a Rust source, line by line: `///` and `//!` lines with the prefix and
/// one space removed. A break in the comment closes an unterminated block.
fn doc_lines(source: &str) -> Vec<Vec<(usize, String)>> {
    let mut comments = Vec::new();
    let mut current = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        let body = trimmed
            .strip_prefix("///")
            .filter(|rest| !rest.starts_with('/'))
            .or_else(|| trimmed.strip_prefix("//!"));
        match body {
            Some(body) => {
                let body = body.strip_prefix(' ').unwrap_or(body);
                current.push((index + 1, body.to_owned()));
            }
            None if !current.is_empty() => comments.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        comments.push(current);
    }
    comments
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .expect("read a source directory")
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.extension().is_some_and(|ext| ext == "rs") {
        out.push(path.to_path_buf());
    }
}

fn collect() -> Vec<Block> {
    let root = root();
    let mut blocks = Vec::new();
    let mut files = Vec::new();
    for source in SOURCES {
        rust_files(&root.join(source), &mut files);
    }
    for file in files {
        let name = file.strip_prefix(&root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&file).expect("read a source file");
        for comment in doc_lines(&text) {
            blocks_in(&name, comment.into_iter(), &mut blocks);
        }
    }
    let readme = std::fs::read_to_string(root.join("README.md")).expect("read README.md");
    let lines = readme
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.to_owned()));
    blocks_in("README.md", lines, &mut blocks);
    blocks
}

/// The dependency tables the README shows (`[dependencies]` and `[dev-dependencies]`: what
/// it tells users to add, merged by table and key as cargo would read them all in one
/// manifest), with each `cygnet` entry pointed at this checkout.
fn readme_dependencies() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let cygnet = root().join("crates/cygnet");
    let path = format!("path = {:?}", cygnet.display().to_string());
    let mut tables: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> =
        Default::default();
    for (start, _) in readme.match_indices("```toml\n") {
        let block = &readme[start + "```toml\n".len()..];
        let block = &block[..block.find("```").expect("a TOML fence closes")];
        let mut table: Option<String> = None;
        for line in block.lines() {
            let line = line.split(" #").next().unwrap_or(line).trim_end();
            if line.starts_with('[') {
                table = matches!(line, "[dependencies]" | "[dev-dependencies]")
                    .then(|| line.to_owned());
                continue;
            }
            let (Some(table), Some((key, _))) = (&table, line.split_once(" = ")) else {
                continue;
            };
            let line = match line.strip_prefix("cygnet = {") {
                Some(rest) => {
                    assert!(
                        rest.contains("version = \"0.1\""),
                        "the README's cygnet line changed: {line}"
                    );
                    // The README's own `path` (a checkout next to the user's project) is
                    // replaced by this checkout's.
                    let rest = match rest.find(", path = \"") {
                        Some(at) => {
                            let end = rest[at + 10..].find('"').expect("a path closes") + at + 11;
                            format!("{}{}", &rest[..at], &rest[end..])
                        }
                        None => rest.to_owned(),
                    };
                    format!(
                        "cygnet = {{{}",
                        rest.replacen("version = \"0.1\"", &path, 1)
                    )
                }
                None => line.to_owned(),
            };
            tables
                .entry(table.clone())
                .or_default()
                .insert(key.trim().to_owned(), line);
        }
    }
    assert!(
        tables.contains_key("[dev-dependencies]"),
        "the README shows a [dev-dependencies] table"
    );
    let mut out = String::new();
    for (table, lines) in tables {
        out.push_str(&table);
        out.push('\n');
        for line in lines.values() {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// The target directory the tests run from: the test binary is
/// `<target>/<profile>/deps/<name>-<hash>`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .expect("the target directory")
        .to_path_buf()
}

/// A valid identifier naming where a block came from.
fn item_name(origin: &str) -> String {
    origin
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn scratch_crate(blocks: &[Block]) -> PathBuf {
    let dir = target_dir().join("docs-paste");
    std::fs::create_dir_all(&dir).expect("create the scratch crate");
    let manifest = format!(
        "[package]\nname = \"docs-paste\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\npath = \"lib.rs\"\n\n# Not a member of the workspace it sits in.\n[workspace]\n\n\
         # The README's dev-dependencies.\n{}",
        readme_dependencies()
    );
    let mut lib = String::from(
        "//! The code blocks a `cygnet` user sees, one item each, named after their origin.\n\
         #![allow(non_camel_case_types)]\n",
    );
    for block in blocks {
        lib.push_str(&format!("\n/// ```{}\n", block.info));
        for line in &block.lines {
            if line.is_empty() {
                lib.push_str("///\n");
            } else {
                lib.push_str(&format!("/// {line}\n"));
            }
        }
        lib.push_str(&format!(
            "/// ```\npub struct {};\n",
            item_name(&block.origin)
        ));
    }
    write_if_changed(&dir.join("Cargo.toml"), &manifest);
    write_if_changed(&dir.join("lib.rs"), &lib);
    // The workspace's lock file, afresh each run: the same versions as the workspace builds,
    // and no registry needed (cargo prunes what the scratch crate does not use).
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).expect("read Cargo.lock");
    write_if_changed(&dir.join("Cargo.lock"), &lock);
    dir
}

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).expect("write the scratch crate");
    }
}

#[test]
fn the_collector_finds_the_guides_blocks() {
    let blocks = collect();
    let from = |prefix: &str| {
        blocks
            .iter()
            .filter(|b| b.origin.starts_with(prefix))
            .count()
    };
    assert!(
        from("README.md") >= 8,
        "README blocks: {}",
        from("README.md")
    );
    assert!(from("crates/cygnet-mock/src/lib.rs") >= 2);
    assert!(from("crates/cygnet-core/src") >= 30);
    assert!(from("crates/cygnet-types/src") >= 20);
    // Only Rust: the README's shell, TOML and text blocks are not among them.
    assert!(blocks
        .iter()
        .all(|b| !b.lines.iter().any(|l| l.starts_with("cargo "))));
}

#[test]
fn every_code_block_a_cygnet_user_sees_compiles_with_cygnet_alone() {
    let blocks = collect();
    let dir = scratch_crate(&blocks);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .args(["test", "--doc", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir())
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTDOCFLAGS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run cargo test --doc on the scratch crate");
    let started = Instant::now();
    // Read the output on threads so a full pipe cannot stall the child.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).ok();
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for cargo") {
            break status;
        }
        if started.elapsed() > LIMIT {
            child.kill().ok();
            panic!("compiling the doc blocks took longer than {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(
        status.success(),
        "{} blocks; some do not compile with `cygnet` alone (the doctest names say where \
         they come from: file and line):\n{out}\n{err}",
        blocks.len()
    );
}
