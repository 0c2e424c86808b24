//! The layers stay clean: `cygnet-types` depends on serde alone, `cygnet-core` has no async
//! runtime and no HTTP stack in its tree, `cygnet-mock` no network stack. Checked on the
//! resolved dependency graph (`cargo tree`), so a transitive slip is caught too.

use std::collections::BTreeSet;
use std::process::Command;

/// The normal (non-dev) dependencies of `package`, by crate name.
fn tree(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

const RUNTIME_OR_NETWORK: &[&str] = &[
    "tokio",
    "hyper",
    "hyper-util",
    "hyper-rustls",
    "rustls",
    "mio",
    "socket2",
    "h2",
    "async-std",
    "smol",
    "async-io",
    "reqwest",
    "ureq",
];

fn assert_none_of(package: &str, forbidden: &[&str]) {
    let deps = tree(package);
    let found: Vec<_> = forbidden
        .iter()
        .filter(|name| deps.contains(**name))
        .collect();
    assert!(found.is_empty(), "{package} depends on {found:?}");
}

#[test]
fn types_depend_on_serde_alone() {
    let allowed = [
        "cygnet-types",
        "serde",
        "serde_core",
        "serde_derive",
        "serde_json",
        "itoa",
        "ryu",
        "memchr",
        "zmij",
        "proc-macro2",
        "quote",
        "syn",
        "unicode-ident",
    ];
    let extra: Vec<_> = tree("cygnet-types")
        .into_iter()
        .filter(|name| !allowed.contains(&name.as_str()))
        .collect();
    assert!(extra.is_empty(), "cygnet-types pulls in {extra:?}");
}

#[test]
fn core_knows_no_runtime_and_no_http_stack() {
    assert_none_of("cygnet-core", RUNTIME_OR_NETWORK);
}

#[test]
fn the_mock_knows_no_network() {
    assert_none_of("cygnet-mock", RUNTIME_OR_NETWORK);
}

/// The `cygnet` command (crates/cygnet-cli) brings clap and tokio's signal, stdin and macro
/// features for itself alone: a library user of the facade compiles none of them.
#[test]
fn the_command_line_adds_nothing_to_the_library() {
    assert_none_of(
        "cygnet",
        &["cygnet-cli", "clap", "clap_builder", "clap_complete"],
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(["-f", "{p} {f}", "-p", "cygnet", "-i", "tokio"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success());
    let tree = String::from_utf8_lossy(&output.stdout);
    let tokio_features = tree
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(2))
        .expect("the facade depends on tokio");
    for feature in tokio_features.split(',') {
        assert!(
            !["signal", "io-std", "macros"].contains(&feature),
            "the facade's tokio has the command's feature {feature:?}: {tokio_features}"
        );
    }
}
