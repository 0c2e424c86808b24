//! The real servers the integration tests run against: nginx and squid from the system's
//! packages, and the `openssl` program that makes test certificates. `ci` and `test` make
//! sure they are installed before the tests run.
//!
//! - Found on `PATH` (or in the sbin directories a user's `PATH` often lacks): nothing to do.
//! - Missing, and `CYGNET_SKIP_REAL_SERVERS=1`: say loudly that those tests will be skipped.
//! - Missing, running as root with apt-get (CI on Debian): install them.
//! - Otherwise: fail with the exact command that installs them.

use std::path::PathBuf;
use std::process::Command;

/// The Debian packages that provide the servers, and openssl, which makes the certificates
/// of the tests of which certificates are trusted.
const PACKAGES: &[&str] = &["nginx-light", "squid", "openssl"];

/// The programs the tests start.
const PROGRAMS: &[&str] = &["nginx", "squid", "openssl"];

/// The variable that asks to skip the tests against real servers.
const SKIP_VAR: &str = "CYGNET_SKIP_REAL_SERVERS";

fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn missing() -> Vec<&'static str> {
    PROGRAMS
        .iter()
        .copied()
        .filter(|name| find(name).is_none())
        .collect()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .map(|line| line.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn install_command() -> String {
    format!(
        "apt-get update && apt-get install -y {}",
        PACKAGES.join(" ")
    )
}

fn apt_get(args: &[&str]) -> bool {
    eprintln!("==> apt-get {}", args.join(" "));
    match Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
    {
        Ok(status) => status.success(),
        Err(e) => {
            eprintln!("==> could not run apt-get: {e}");
            false
        }
    }
}

/// Whether the tests can go ahead: the servers are there (installed now if need be), or
/// skipping them was asked for.
pub fn ensure() -> bool {
    let absent = missing();
    if absent.is_empty() {
        return true;
    }
    if std::env::var(SKIP_VAR).as_deref() == Ok("1") {
        eprintln!(
            "\n==> !!! {} not installed and {SKIP_VAR}=1: the tests against real servers \
             (tests/tests/real_servers) will be SKIPPED !!!\n",
            absent.join(" and ")
        );
        return true;
    }
    if is_root() && find("apt-get").is_some() {
        eprintln!(
            "==> {} missing: installing {}",
            absent.join(", "),
            PACKAGES.join(" ")
        );
        let mut install = vec!["install", "-y", "--no-install-recommends"];
        install.extend(PACKAGES);
        if apt_get(&["update"]) && apt_get(&install) && missing().is_empty() {
            return true;
        }
        eprintln!("==> installing the servers failed");
    }
    eprintln!(
        "==> the tests need {} (Debian packages {}). Install them as root with\n\n    {}\n\n\
         or set {SKIP_VAR}=1 to skip the tests against real servers.",
        absent.join(" and "),
        PACKAGES.join(", "),
        install_command()
    );
    false
}
