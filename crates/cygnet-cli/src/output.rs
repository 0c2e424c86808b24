//! Writing to standard output so that what is written shows at once, and a closed pipe
//! (`cygnet chat ... | head -1`) ends the command quietly; and writing text that came from
//! the model or the server so that a terminal shows it instead of obeying it.
//!
//! Rust programs ignore `SIGPIPE`, so a write to a pipe whose reader has gone fails with
//! `BrokenPipe` instead of killing the process; [`write_now`] turns that into
//! [`Failure::ClosedOutput`], which the command ends on with status 0 and no message.
//!
//! # Control characters
//!
//! The model's text is not the user's: a page given with `--data` can make the model answer
//! with escape sequences that write the clipboard (OSC 52), set the window title (OSC 0) or
//! clear the screen (CSI 2J), and a server's error message is no more trusted. So:
//!
//! - On a terminal, the model's text has every control character except newline and tab (C0,
//!   DEL and the C1 controls U+0080 to U+009F, which some terminals obey in UTF-8 too) shown as
//!   a visible escape, `\u{1b}` for ESC; a carriage return is kept only before a newline (a
//!   lone one would let the text overwrite what was printed before it). Escaping each
//!   character on its own needs no look at what comes next, so a sequence split across
//!   streamed pieces is caught as well; only a carriage return at the end of a piece waits
//!   for the next ([`ControlEscaper`]). `--raw` prints the text as it came.
//! - Into a pipe or a file the text stays byte for byte what the model sent: it is data for
//!   the program that reads it, and only a terminal interprets control characters.
//! - Error messages on standard error are always escaped ([`escape_line`], newlines too, so a
//!   message cannot forge a line of the report): they are for people, whether they read them
//!   now on a terminal or later in a log.
//! - JSON output (`--json`) is always safe: the serializer escapes C0 controls, and
//!   [`escape_json`] escapes DEL and C1 the same way (`\u009b`), which is the same JSON value.

use std::io::{self, Write};

pub use crate::escape::{escape_controls, escape_json, escape_line, ControlEscaper};
use crate::failure::Failure;

/// Writes `text` and flushes it, so that a streamed piece shows as it arrives.
///
/// # Errors
/// [`Failure::ClosedOutput`] when the reader has gone, [`Failure::Output`] for any other
/// write error.
pub fn write_now(out: &mut impl Write, text: &str) -> Result<(), Failure> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(output_failure)
}

/// The failure of a write to standard output.
pub fn output_failure(error: io::Error) -> Failure {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Failure::ClosedOutput
    } else {
        Failure::Output(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_a_quiet_end_and_other_errors_are_failures() {
        assert!(matches!(
            write_now(&mut Closed, "x"),
            Err(Failure::ClosedOutput)
        ));
        assert!(matches!(
            output_failure(io::ErrorKind::StorageFull.into()),
            Failure::Output(_)
        ));
        let mut out = Vec::new();
        write_now(&mut out, "hi").unwrap();
        assert_eq!(out, b"hi");
    }
}
