//! One recorder per cassette: the lock a [`Recorder`](crate::Recorder) holds while it
//! records.
//!
//! Two recorders writing one cassette would replace each other's file after every exchange,
//! and one of them would lose its exchanges. So a recorder takes the cassette first, and a
//! second one is refused with [`CassetteError::Locked`]:
//!
//! - within one process, by a registry of the cassettes being recorded (two tests of one
//!   run that picked the same file);
//! - across processes, by an advisory lock ([`File::try_lock`]) on a lock file beside the
//!   cassette, `<cassette>.lock`. The operating system releases it when its process ends,
//!   however it ends, so a recording killed half-way leaves no lock that blocks the next
//!   one. The file is removed when the recorder is dropped.
//!
//! The lock file is never followed if it is a symbolic link, and is never written to.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::cassette_format::CassetteError;

/// The cassettes this process is recording, by absolute path.
static RECORDING: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn recording() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    RECORDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Held while a recorder records one cassette; dropping it releases the cassette.
#[derive(Debug)]
pub(crate) struct CassetteLock {
    /// The cassette's absolute path: its key in the registry.
    key: PathBuf,
    /// The lock file, and the open file that holds the lock (`None` where the platform has
    /// no file locks: then only the registry guards the cassette).
    file: Option<(PathBuf, File)>,
}

/// Why a cassette could not be taken, in a form that can be turned into a
/// [`CassetteError`] as often as it is asked for.
#[derive(Clone, Debug)]
pub(crate) enum Refusal {
    /// Another recorder has it.
    Locked {
        lock: PathBuf,
        in_this_process: bool,
    },
    /// The directory or the lock file could not be made or opened.
    Io {
        kind: io::ErrorKind,
        message: String,
    },
}

impl Refusal {
    pub(crate) fn error(&self, path: &Path) -> CassetteError {
        match self {
            Refusal::Locked {
                lock,
                in_this_process,
            } => CassetteError::Locked {
                path: path.to_owned(),
                lock: lock.clone(),
                in_this_process: *in_this_process,
            },
            Refusal::Io { kind, message } => CassetteError::Write {
                path: path.to_owned(),
                source: io::Error::new(*kind, message.clone()),
            },
        }
    }

    fn io(error: &io::Error) -> Self {
        Refusal::Io {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

/// The lock file of the cassette at `path`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl CassetteLock {
    /// Takes the cassette at `path` for one recorder, creating its directory if needed.
    pub(crate) fn acquire(path: &Path) -> Result<Self, Refusal> {
        let key = absolute(path).map_err(|e| Refusal::io(&e))?;
        let lock = lock_path(path);
        if !recording().insert(key.clone()) {
            return Err(Refusal::Locked {
                lock,
                in_this_process: true,
            });
        }
        match lock_file(&lock) {
            Ok(file) => Ok(Self {
                key,
                file: file.map(|file| (lock, file)),
            }),
            Err(refusal) => {
                release(&key);
                Err(refusal)
            }
        }
    }
}

impl Drop for CassetteLock {
    fn drop(&mut self) {
        if let Some((lock, file)) = self.file.take() {
            // Removed while still locked, so no one can take this file in between; someone
            // who opened it before checks after locking that it is still the lock file.
            let _ = std::fs::remove_file(&lock);
            drop(file);
        }
        release(&self.key);
    }
}

fn release(key: &Path) {
    recording().remove(key);
}

/// `path` made absolute, its directory (created if missing) resolved, so two spellings of
/// one cassette are one key.
fn absolute(path: &Path) -> io::Result<PathBuf> {
    let (dir, name) = super::cassette_format::cassette_dir_and_name(path)?;
    Ok(dir.canonicalize()?.join(name))
}

/// Opens (or creates) the lock file at `lock` and locks it; `None` where the platform has
/// no file locks.
fn lock_file(lock: &Path) -> Result<Option<File>, Refusal> {
    // A lock file removed between opening and locking it (by the recorder that held it)
    // is not the lock any more: open the new one.
    for _ in 0..8 {
        let file = match OpenOptions::new().write(true).create_new(true).open(lock) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // Left by a recorder that is still running, or by one whose process ended
                // without removing it: its lock tells which.
                match open_existing(lock) {
                    Ok(Some(file)) => file,
                    Ok(None) => continue,
                    Err(e) => return Err(Refusal::io(&e)),
                }
            }
            Err(e) => return Err(Refusal::io(&e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Refusal::Locked {
                    lock: lock.to_owned(),
                    in_this_process: false,
                })
            }
            Err(std::fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
                return Ok(None)
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Refusal::io(&e)),
        }
        if is_still(&file, lock).map_err(|e| Refusal::io(&e))? {
            return Ok(Some(file));
        }
    }
    Err(Refusal::Io {
        kind: io::ErrorKind::Other,
        message: format!(
            "the lock file {} keeps being replaced while it is taken",
            lock.display()
        ),
    })
}

/// Opens the existing lock file for locking, refusing anything but a regular file (a link
/// is not followed); `None` when it is gone by now.
fn open_existing(lock: &Path) -> io::Result<Option<File>> {
    let meta = match std::fs::symlink_metadata(lock) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the lock file {} is not a regular file (a link, a directory or a device); \
                 remove it",
                lock.display()
            ),
        ));
    }
    match OpenOptions::new().read(true).open(lock) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether `file` is (still) the file at `path`, not one that replaced it or a link.
#[cfg(unix)]
fn is_still(file: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let held = file.metadata()?;
    match std::fs::symlink_metadata(path) {
        Ok(now) => Ok(now.is_file() && now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether `file` is (still) the file at `path`: here, whether a regular file is there.
#[cfg(not(unix))]
fn is_still(_file: &File, path: &Path) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(now) => Ok(now.is_file()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}
