//! Project automation, run as `cargo xtask <task>` (the alias is in `.cargo/config.toml`).
//!
//! Tasks:
//! - `ci`: what continuous integration runs, in order, stopping at the first failure:
//!   format check, clippy with warnings denied, every test (doctests included), and the
//!   documentation build with rustdoc warnings denied.
//! - `test`: every test of the workspace, doctests included.
//! - Before the tests, `ci` and `test` check that nginx, squid (which the tests against
//!   real servers start) and openssl (which makes test certificates) are installed, and install them with apt-get when missing and
//!   running as root; see `servers.rs`. `CYGNET_SKIP_REAL_SERVERS=1` skips those tests.
//! - `bench`: the side-by-side performance comparison (see `bench.rs`).
//! - `loadtest`: 1,000 concurrent streams over one client, over loopback (see `bench.rs`).
//! - `features`: `cargo check` of each library crate with no, default, all, and each single
//!   feature (see `features.rs`); not part of `ci`, to keep CI short.
//! - `fuzz [SECONDS] [TARGET]`: runs a cargo-fuzz target of `fuzz/` (default `sse`) for a
//!   bounded time (default 60 s); needs `cargo install cargo-fuzz`, and a nightly toolchain
//!   or, failing that, runs stable with `RUSTC_BOOTSTRAP=1`.
//!
//! Plain `std` on purpose: the task runner must build in seconds on a fresh clone and must
//! not pull dependencies into the lock file for what is a handful of `cargo` invocations.
#![deny(rustdoc::broken_intra_doc_links)]

use std::env;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

mod bench;
mod features;
mod servers;

/// One command of a task.
struct Step {
    /// What the step checks, for the progress lines.
    name: &'static str,
    /// Arguments to `cargo`.
    args: &'static [&'static str],
    /// Extra environment variables.
    env: &'static [(&'static str, &'static str)],
}

/// Every package of the lock file, for every target, so the tests that resolve a project of
/// their own offline (`tests/tests/readme_deps.rs`) find what `cargo build` alone would not
/// have downloaded (`wasi`, say). A no-op once they are in the local cache.
const FETCH: Step = Step {
    name: "fetch",
    args: &["fetch", "--locked"],
    env: &[],
};

const FMT: Step = Step {
    name: "format",
    args: &["fmt", "--all", "--check"],
    env: &[],
};

const CLIPPY: Step = Step {
    name: "clippy",
    args: &[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ],
    env: &[],
};

const TEST: Step = Step {
    name: "tests",
    // `cargo test --workspace` also builds the examples, which the example tests in
    // `tests/` run as subprocesses (they rebuild them if needed, see tests/src/lib.rs).
    args: &["test", "--workspace"],
    env: &[],
};

const DOC: Step = Step {
    name: "docs",
    args: &["doc", "--workspace", "--no-deps"],
    env: &[("RUSTDOCFLAGS", "-Dwarnings")],
};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let steps: &[Step] = match args.first().map(String::as_str) {
        Some("ci") => &[FETCH, FMT, CLIPPY, TEST, DOC],
        Some("test") => &[FETCH, TEST],
        Some("bench") => return bench::bench(&workspace_root()),
        Some("loadtest") => return bench::loadtest(&workspace_root()),
        Some("fuzz") => return fuzz(&args[1..]),
        Some("features") => {
            let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
            return features::features(&workspace_root(), &cargo);
        }
        Some("-h" | "--help" | "help") | None => {
            print_usage();
            return if args.is_empty() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
        Some(other) => {
            eprintln!("xtask: unknown task {other:?}");
            print_usage();
            return ExitCode::FAILURE;
        }
    };
    if args.len() > 1 {
        eprintln!(
            "xtask: unexpected arguments after the task: {:?}",
            &args[1..]
        );
        return ExitCode::FAILURE;
    }
    // The tests start real nginx and squid: install them first (or say they are skipped).
    if steps.iter().any(|step| step.name == TEST.name) && !servers::ensure() {
        return ExitCode::FAILURE;
    }
    run_steps(steps)
}

fn print_usage() {
    eprintln!(
        "usage: cargo xtask <task>\n\
         \n\
         tasks:\n  \
           ci     format check, clippy (-D warnings), all tests, docs (-D warnings)\n  \
           test   all tests of the workspace, doctests included\n  \
           bench  side-by-side benchmarks vs the peers (release; writes target/bench-report.md)\n  \
           loadtest  1,000 concurrent streams over one client, over loopback\n  \
           features  cargo check of each library crate with no/default/all/each feature\n  \
           fuzz [SECONDS] [TARGET]  run a cargo-fuzz target (default sse) for SECONDS (default 60)"
    );
}

/// Runs `cargo +nightly fuzz run <target> -- -max_total_time=<seconds>` in `fuzz/`.
///
/// Through rustup's `cargo` on the PATH (not `$CARGO`, which names the stable toolchain's
/// binary and ignores `+nightly`); libFuzzer prints the executions and any crash itself.
/// Without a nightly toolchain it runs the default toolchain with `RUSTC_BOOTSTRAP=1`, which
/// lets a stable compiler accept the nightly-only flags cargo-fuzz passes (`-Zsanitizer`,
/// the coverage passes): the fuzz build is a throwaway test harness, never shipped, so using
/// the stable compiler's unstable features there is an acceptable trade for not needing a
/// second toolchain.
fn fuzz(args: &[String]) -> ExitCode {
    let seconds = match args.first().map(|s| s.parse::<u64>()) {
        None => 60,
        Some(Ok(seconds)) if seconds > 0 => seconds,
        Some(_) => {
            eprintln!("xtask fuzz: SECONDS must be a positive whole number");
            return ExitCode::FAILURE;
        }
    };
    let target = args.get(1).map_or("sse", String::as_str);
    if args.len() > 2 {
        eprintln!("xtask fuzz: unexpected arguments {:?}", &args[2..]);
        return ExitCode::FAILURE;
    }
    let works = |args: &[&str]| {
        Command::new("cargo")
            .args(args)
            .output()
            .is_ok_and(|out| out.status.success())
    };
    let (toolchain, bootstrap): (&[&str], bool) = if works(&["+nightly", "fuzz", "--version"]) {
        (&["+nightly"], false)
    } else if works(&["fuzz", "--version"]) {
        (&[], true)
    } else {
        eprintln!(
            "xtask fuzz: needs cargo-fuzz (and, preferably, a nightly toolchain):\n  \
             cargo install cargo-fuzz && rustup toolchain install nightly"
        );
        return ExitCode::FAILURE;
    };
    let max_time = format!("-max_total_time={seconds}");
    let mut command = Command::new("cargo");
    command
        .args(toolchain)
        .args(["fuzz", "run", target, "--", &max_time])
        .current_dir(workspace_root().join("fuzz"));
    if bootstrap {
        command.env("RUSTC_BOOTSTRAP", "1");
    }
    eprintln!(
        "==> {}cargo {}fuzz run {target} -- {max_time}",
        if bootstrap { "RUSTC_BOOTSTRAP=1 " } else { "" },
        if bootstrap { "" } else { "+nightly " },
    );
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("==> fuzzing FAILED ({status}); see the crash input above");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("==> could not run cargo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_steps(steps: &[Step]) -> ExitCode {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let root = workspace_root();
    let started = Instant::now();
    for (i, step) in steps.iter().enumerate() {
        let shown: Vec<String> = step
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(std::iter::once("cargo".to_string()))
            .chain(step.args.iter().map(|a| a.to_string()))
            .collect();
        eprintln!(
            "==> [{}/{}] {}: {}",
            i + 1,
            steps.len(),
            step.name,
            shown.join(" ")
        );
        let step_started = Instant::now();
        let status = Command::new(&cargo)
            .args(step.args)
            .envs(step.env.iter().copied())
            .current_dir(&root)
            .status();
        match status {
            Ok(status) if status.success() => {
                eprintln!(
                    "==> {} passed in {:.1}s",
                    step.name,
                    step_started.elapsed().as_secs_f64()
                );
            }
            Ok(status) => {
                eprintln!("==> {} FAILED ({status}); stopping", step.name);
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("==> {}: could not run cargo: {e}", step.name);
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!(
        "==> all {} step(s) passed in {:.1}s",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

/// The workspace root: the parent of this crate's directory, so the tasks run on the whole
/// workspace wherever `cargo xtask` was started from.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
