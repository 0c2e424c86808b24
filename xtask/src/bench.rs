//! `cargo xtask bench` and `cargo xtask loadtest`: the side-by-side performance comparisons
//! and the load test.
//!
//! The benchmarks live in `bench/`, a package with its own workspace (excluded from the main
//! one) so that its peers (eventsource-stream, async-openai, criterion) are never compiled by
//! ordinary test builds. These tasks build it in release into `target/bench`, build the
//! `chat_stream` and `blocking_chat_stream` examples in release (the end-to-end contenders),
//! and run the comparison, which prints a table and writes it to `target/bench-report.md`.
//! `bench/README.md` says how to run one part alone.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode};

/// Runs `cargo` with `args` in `root`; false (after saying why) when it fails.
fn cargo(root: &Path, args: &[&str]) -> bool {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    eprintln!("==> cargo {}", args.join(" "));
    match Command::new(cargo).args(args).current_dir(root).status() {
        Ok(status) if status.success() => true,
        Ok(status) => {
            eprintln!("==> cargo {} failed ({status})", args.join(" "));
            false
        }
        Err(e) => {
            eprintln!("==> could not run cargo: {e}");
            false
        }
    }
}

fn build_bench(root: &Path) -> bool {
    cargo(
        root,
        &[
            "build",
            "--release",
            "--manifest-path",
            "bench/Cargo.toml",
            "--target-dir",
            "target/bench",
            "--bins",
        ],
    )
}

fn run(root: &Path, args: &[&str]) -> ExitCode {
    let exe = root.join("target/bench/release/cygnet-bench");
    eprintln!("==> {} {}", exe.display(), args.join(" "));
    match Command::new(&exe).args(args).current_dir(root).status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("==> benchmark failed ({status})");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("==> could not run {}: {e}", exe.display());
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask bench`: every comparison, side by side, in one run.
pub fn bench(root: &Path) -> ExitCode {
    let example = cargo(
        root,
        &[
            "build",
            "--release",
            "-p",
            "examples",
            "--example",
            "chat_stream",
            "--example",
            "blocking_chat_stream",
        ],
    );
    if !example || !build_bench(root) {
        return ExitCode::FAILURE;
    }
    run(
        root,
        &[
            "all",
            "--examples-dir",
            "target/release/examples",
            "--report",
            "target/bench-report.md",
        ],
    )
}

/// `cargo xtask loadtest`: 1,000 concurrent streams over one shared client, over loopback.
pub fn loadtest(root: &Path) -> ExitCode {
    if !build_bench(root) {
        return ExitCode::FAILURE;
    }
    run(root, &["loadtest", "--streams", "1000"])
}
