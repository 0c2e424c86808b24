//! Writing to standard output so that what is written shows at once, and a closed pipe
//! (`cygnet chat ... | head -1`) ends the command quietly.
//!
//! Rust programs ignore `SIGPIPE`, so a write to a pipe whose reader has gone fails with
//! `BrokenPipe` instead of killing the process; [`write_now`] turns that into
//! [`Failure::ClosedOutput`], which the command ends on with status 0 and no message.

use std::io::{self, Write};

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
