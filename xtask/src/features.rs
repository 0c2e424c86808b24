//! `cargo xtask features`: every library crate builds with each feature combination that
//! matters.
//!
//! For each crate under `crates/`, `cargo check -p <crate>` runs with
//! `--no-default-features`, with the defaults, with `--all-features`, and with each feature
//! alone (`--no-default-features --features <feature>`). The full power set would be
//! exponential for little gain: a missing `#[cfg(feature)]` shows up with a feature alone or
//! with none, and feature unification breakage with all of them.
//!
//! The features are read from each crate's `[features]` table with a small hand parser,
//! because xtask stays std-only (see `main.rs`). It reads one `name = ...` per line start and
//! ignores the rest; implicit features of optional dependencies are not listed, which is
//! right for this workspace because every optional dependency is named as `dep:` (which
//! turns the implicit feature off). Not part of `cargo xtask ci`: it is a few dozen checks.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Runs every check, continues after a failure, and reports all failures at the end.
pub fn features(root: &Path, cargo: &OsString) -> ExitCode {
    let crates = match library_crates(root) {
        Ok(crates) => crates,
        Err(e) => {
            eprintln!("xtask features: cannot read crates/: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let mut failed = Vec::new();
    let mut runs = 0;
    for (name, features) in &crates {
        let mut combos: Vec<Vec<String>> = vec![
            vec!["--no-default-features".into()],
            vec![],
            vec!["--all-features".into()],
        ];
        combos.extend(features.iter().map(|feature| {
            vec![
                "--no-default-features".into(),
                "--features".into(),
                feature.clone(),
            ]
        }));
        for combo in combos {
            runs += 1;
            let shown = format!("cargo check -p {name} {}", combo.join(" "));
            eprintln!("==> {}", shown.trim_end());
            let status = Command::new(cargo)
                .args(["check", "--quiet", "-p", name])
                .args(&combo)
                .current_dir(root)
                .status();
            match status {
                Ok(status) if status.success() => {}
                Ok(_) | Err(_) => failed.push(shown),
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    if failed.is_empty() {
        eprintln!("==> all {runs} feature checks passed in {secs:.1}s");
        ExitCode::SUCCESS
    } else {
        eprintln!("==> {} of {runs} feature checks FAILED:", failed.len());
        for shown in &failed {
            eprintln!("    {shown}");
        }
        ExitCode::FAILURE
    }
}

/// `(package name, features other than "default")` for each `crates/*/Cargo.toml`, sorted.
fn library_crates(root: &Path) -> std::io::Result<Vec<(String, Vec<String>)>> {
    let mut crates = Vec::new();
    for entry in std::fs::read_dir(root.join("crates"))? {
        let manifest = entry?.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)?;
        let Some(name) = package_name(&text) else {
            continue;
        };
        crates.push((name, feature_names(&text)));
    }
    crates.sort();
    Ok(crates)
}

/// The `name` key of the `[package]` table.
fn package_name(manifest: &str) -> Option<String> {
    table_keys(manifest, "package")
        .into_iter()
        .find(|(key, _)| key == "name")
        .map(|(_, value)| value.trim().trim_matches('"').to_string())
}

/// The keys of the `[features]` table, without `default`.
fn feature_names(manifest: &str) -> Vec<String> {
    table_keys(manifest, "features")
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| key != "default")
        .collect()
}

/// `key = value` pairs that start a line inside `[table]` (continuation lines of a multi-line
/// array start with `"` or `]` and are skipped; so are comments).
fn table_keys(manifest: &str, table: &str) -> Vec<(String, String)> {
    let header = format!("[{table}]");
    let mut inside = false;
    let mut keys = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == header;
            continue;
        }
        if !inside || line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let key = key.trim().trim_matches('"');
            let is_key = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if is_key {
                keys.push((key.to_string(), value.to_string()));
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_package_name_and_features() {
        let manifest = r#"
[package]
name = "cygnet-x"
version.workspace = true

[features]
default = ["a"]
## Doc comment.
a = ["dep:x"]
"b-c" = [
    "y/z",
]

[dependencies]
x = { version = "1", optional = true }
"#;
        assert_eq!(package_name(manifest).as_deref(), Some("cygnet-x"));
        assert_eq!(feature_names(manifest), ["a", "b-c"]);
    }

    #[test]
    fn no_features_table() {
        assert!(feature_names("[package]\nname = \"x\"\n").is_empty());
    }
}
