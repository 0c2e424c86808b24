//! Reading what the command sends: a prompt or a text from standard input, and `--data` files.
//!
//! Every input is read whole, as UTF-8 text, and bounded by [`MAX_INPUT_BYTES`]. The core
//! client sets no limit on what it sends, so the command takes its limit from the client's
//! default body limit ([`cygnet::config::DEFAULT_MAX_BODY_BYTES`], 32 MiB): no single input,
//! and no request's texts together, may be larger. A regular file is measured before it is
//! read; a pipe is read up to one byte past the limit and no further, so an endless input
//! cannot fill the memory. A file that is not UTF-8 (an image, a PDF) is refused, naming
//! it, rather than sent mangled.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The most bytes one input (and all the texts of one request together) may have.
pub const MAX_INPUT_BYTES: usize = cygnet::config::DEFAULT_MAX_BODY_BYTES;

/// Where an input comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// A file, by the path given on the command line.
    File(PathBuf),
}

impl Source {
    /// The source of a `--data` argument: `-` is standard input.
    pub fn from_arg(path: &Path) -> Self {
        if path == Path::new("-") {
            Source::Stdin
        } else {
            Source::File(path.to_owned())
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Stdin => f.write_str("standard input"),
            Source::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// An input that cannot be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The input could not be read.
    #[error("cannot read {source_name}: {error}")]
    Read {
        /// Which input.
        source_name: Source,
        /// Why.
        error: io::Error,
    },
    /// The input is larger than one request may carry.
    #[error("{source_name} is {size}, over the limit of {} for one request", bytes(*limit as u64))]
    TooLarge {
        /// Which input.
        source_name: Source,
        /// Its size, or "more than N bytes" when it came from a pipe.
        size: Size,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The input is not UTF-8 text.
    #[error(
        "{source_name} is not UTF-8 text (invalid byte at offset {offset}); only text can be sent"
    )]
    NotText {
        /// Which input.
        source_name: Source,
        /// Where its first invalid byte is.
        offset: usize,
    },
    /// The request's texts together are larger than one request may carry.
    #[error("the prompt and data together are {}, over the limit of {} for one request", bytes(*total as u64), bytes(*limit as u64))]
    TotalTooLarge {
        /// The sum of the texts' sizes, in bytes.
        total: usize,
        /// The limit, in bytes.
        limit: usize,
    },
}

/// The size of an input that is too large.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Exactly this many bytes (a regular file).
    Exactly(u64),
    /// More than this many bytes (a pipe, read no further).
    MoreThan(u64),
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Size::Exactly(n) => f.write_str(&bytes(n)),
            Size::MoreThan(n) => write!(f, "more than {}", bytes(n)),
        }
    }
}

/// `n` as "N bytes (X.Y MiB)", or "N bytes" when small.
fn bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB {
        // Tenths of a MiB, rounded down, in integers so no float formatting is involved.
        let tenths = n * 10 / MIB;
        format!("{n} bytes ({}.{} MiB)", tenths / 10, tenths % 10)
    } else {
        format!("{n} bytes")
    }
}

/// Reads `source` whole as UTF-8 text of at most `limit` bytes.
///
/// # Errors
/// [`InputError::Read`] when it cannot be opened or read, [`InputError::TooLarge`] past the
/// limit (a regular file is not read at all then), [`InputError::NotText`] when it is not
/// UTF-8.
pub fn read_text(source: &Source, limit: usize) -> Result<String, InputError> {
    let read_error = |error| InputError::Read {
        source_name: source.clone(),
        error,
    };
    let bytes = match source {
        Source::Stdin => read_bounded(io::stdin().lock(), source, limit)?,
        Source::File(path) => {
            let file = File::open(path).map_err(read_error)?;
            let metadata = file.metadata().map_err(read_error)?;
            if metadata.is_dir() {
                return Err(read_error(io::Error::other("it is a directory")));
            }
            if metadata.is_file() && metadata.len() > limit as u64 {
                return Err(InputError::TooLarge {
                    source_name: source.clone(),
                    size: Size::Exactly(metadata.len()),
                    limit,
                });
            }
            read_bounded(file, source, limit)?
        }
    };
    String::from_utf8(bytes).map_err(|e| InputError::NotText {
        source_name: source.clone(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// Reads `reader` to its end, failing once it passes `limit` bytes.
///
/// # Errors
/// As [`read_text`], but never [`InputError::NotText`].
pub fn read_bounded(
    reader: impl Read,
    source: &Source,
    limit: usize,
) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| InputError::Read {
            source_name: source.clone(),
            error,
        })?;
    if bytes.len() > limit {
        return Err(InputError::TooLarge {
            source_name: source.clone(),
            size: Size::MoreThan(limit as u64),
            limit,
        });
    }
    Ok(bytes)
}

/// Checks that texts of a request, together, stay within `limit` bytes.
///
/// # Errors
/// [`InputError::TotalTooLarge`] when they do not.
pub fn check_total<'a>(
    texts: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Result<(), InputError> {
    let total: usize = texts.into_iter().map(str::len).sum();
    if total > limit {
        return Err(InputError::TotalTooLarge { total, limit });
    }
    Ok(())
}

/// A prompt read from standard input, without the line ending(s) that close it.
pub fn trim_prompt(mut text: String) -> String {
    let kept = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(kept);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_bytes_and_mebibytes() {
        assert_eq!(bytes(12), "12 bytes");
        assert_eq!(bytes(33 * 1024 * 1024 + 1), "34603009 bytes (33.0 MiB)");
        assert_eq!(
            Size::MoreThan(1024 * 1024).to_string(),
            "more than 1048576 bytes (1.0 MiB)"
        );
    }

    #[test]
    fn a_pipe_is_read_no_further_than_one_byte_past_the_limit() {
        let endless = io::repeat(b'a');
        let error = read_bounded(endless, &Source::Stdin, 10).unwrap_err();
        assert_eq!(
            error.to_string(),
            "standard input is more than 10 bytes, over the limit of 10 bytes for one request"
        );
        assert_eq!(
            read_bounded(&b"0123456789"[..], &Source::Stdin, 10).unwrap(),
            b"0123456789"
        );
    }

    #[test]
    fn totals_over_the_limit_are_refused() {
        assert!(check_total(["abc", "de"], 5).is_ok());
        let error = check_total(["abc", "def"], 5).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the prompt and data together are 6 bytes, over the limit of 5 bytes for one request"
        );
    }

    #[test]
    fn a_prompt_loses_its_closing_line_endings_only() {
        assert_eq!(trim_prompt("  two\nlines \r\n\n".into()), "  two\nlines ");
    }
}
