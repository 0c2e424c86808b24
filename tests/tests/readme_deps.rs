//! The README's dependency lines work as written: a scratch project made of exactly the
//! `Cargo.toml` lines of "Testing your own code with cygnet-mock", with their `path` pointed at
//! this checkout, resolves (`cargo metadata --offline`: no compiling, no network), with
//! `cygnet` from this checkout both as a dependency and, with the `mock` feature, as a
//! dev-dependency.
//!
//! It guards a newcomer's first step: a dev-dependency on `cygnet` that names another source
//! than the normal one (a version alone, next to a path) is refused by cargo ("has different
//! source paths depending on the build target").

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::{fresh_dir, workspace_root, TEST_TIMEOUT};

/// The path the README's lines give for the `cygnet` crate of a clone of this repository.
const README_PATH: &str = "../cygnet/crates/cygnet";

/// The first `toml` block of the README section headed `heading`.
fn toml_block<'a>(readme: &'a str, heading: &str) -> &'a str {
    let section = readme
        .split_once(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no section {heading:?}"))
        .1;
    let block = section
        .split_once("```toml\n")
        .unwrap_or_else(|| panic!("{heading:?} has no toml block"))
        .1;
    block.split_once("```").expect("the toml block ends").0
}

/// Runs `command` to its end within [`TEST_TIMEOUT`] (killing it past that); its status
/// and standard output, and its standard error.
fn run_bounded(mut command: Command) -> (bool, String, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo starts");
    let read = |mut pipe: Box<dyn Read + Send>| {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            let _ = tx.send(text);
        });
        rx
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + TEST_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("cargo metadata did not finish within {TEST_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let text = |rx: mpsc::Receiver<String>| rx.recv_timeout(TEST_TIMEOUT).unwrap_or_default();
    (status.success(), text(stdout), text(stderr))
}

#[test]
fn the_readme_test_setup_resolves_as_written() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines = toml_block(&readme, "## Testing your own code with cygnet-mock");
    assert!(
        lines.contains("[dependencies]") && lines.contains("[dev-dependencies]"),
        "the block shows both tables:\n{lines}"
    );
    // Every `cygnet` line names the same path (cargo wants one source per dependency).
    let cygnet_lines: Vec<&str> = lines
        .lines()
        .filter(|line| line.starts_with("cygnet "))
        .collect();
    assert_eq!(cygnet_lines.len(), 2, "{lines}");
    for line in &cygnet_lines {
        assert!(
            line.contains(&format!("path = \"{README_PATH}\"")),
            "{line}"
        );
    }

    let crate_dir = root.join("crates/cygnet");
    let dir = fresh_dir(env!("CARGO_TARGET_TMPDIR"), "readme-deps");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    // `[workspace]`: a project of its own, whatever directory it is in. The checkout's lock
    // file keeps the versions this checkout builds with, all in the local cache.
    let manifest = format!(
        "[package]\nname = \"readme-deps\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
         [workspace]\n\n{}",
        lines.replace(README_PATH, &crate_dir.display().to_string())
    );
    std::fs::write(dir.join("Cargo.toml"), &manifest).unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["metadata", "--offline", "--format-version", "1"])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .current_dir(&dir);
    let (ok, stdout, stderr) = run_bounded(command);
    assert!(
        ok,
        "cargo metadata refused the README's lines:\n{stderr}\n{manifest}"
    );

    let metadata: Value = serde_json::from_str(&stdout).expect("cargo metadata prints JSON");
    let packages = metadata["packages"].as_array().unwrap();
    let cygnet = packages
        .iter()
        .find(|p| p["name"] == "cygnet")
        .expect("cygnet is resolved");
    assert_eq!(
        Path::new(cygnet["manifest_path"].as_str().unwrap())
            .canonicalize()
            .unwrap(),
        crate_dir.join("Cargo.toml").canonicalize().unwrap(),
        "cygnet comes from this checkout"
    );
    let nodes = metadata["resolve"]["nodes"].as_array().unwrap();
    let node = |id: &Value| nodes.iter().find(|n| n["id"] == *id).unwrap();
    let features = node(&cygnet["id"])["features"].as_array().unwrap();
    assert!(features.iter().any(|f| f == "mock"), "{features:?}");
    let scratch = packages
        .iter()
        .find(|p| p["name"] == "readme-deps")
        .unwrap();
    let dep = node(&scratch["id"])["deps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["pkg"] == cygnet["id"])
        .expect("the scratch project depends on cygnet")
        .clone();
    let kinds: Vec<&Value> = dep["dep_kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kind"])
        .collect();
    assert!(
        kinds.contains(&&Value::Null) && kinds.contains(&&Value::from("dev")),
        "cygnet is both a dependency and a dev-dependency: {kinds:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
