//! Fresh scratch directories for tests that write files (cassettes, inputs).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A path `<scratch>/<prefix>-<process id>-<n>` that no other test of this run uses, with any
/// leftover of an earlier run at the same path removed; not created. Give it cargo's scratch
/// directory for integration tests, `env!("CARGO_TARGET_TMPDIR")`.
pub fn fresh_dir(scratch: impl AsRef<Path>, prefix: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = scratch.as_ref().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
