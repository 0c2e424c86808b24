//! What can end the command, the exit status of each end, and how a failure is reported.
//!
//! | status | when |
//! |---|---|
//! | 0 | success, or standard output closed by its reader |
//! | 1 | any error: configuration, input, the API, the network, the answer |
//! | 2 | `moderate --fail-if-flagged` or `monitor --fail-if-flagged` and the text was flagged; `chat` and Gray Swan blocked the answer |
//! | 130 | interrupted (Ctrl-C) |
//!
//! A command-line usage error is status 1 as well (clap's own convention is 2), so that 2
//! always means "flagged" (or blocked) to a script.

use std::io::{self, Write};

use cygnet::config::API_KEY_ENV;
use cygnet::redact::Secrets;

use crate::escape::escape_line;
use crate::input::InputError;

/// How a command that did its work ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Success,
    /// The moderated or monitored text was flagged and `--fail-if-flagged` was given.
    Flagged,
    /// Gray Swan blocked the answer (finish reason `violation`); its refusal was printed.
    Blocked,
}

/// What can end the command early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// No API key in the environment.
    #[error("no API key: set the {API_KEY_ENV} environment variable to your Gray Swan API key (or try the command with --offline)")]
    MissingKey,
    /// The client or the API failed.
    #[error(transparent)]
    Api(#[from] cygnet::Error),
    /// An input cannot be sent.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The arguments and inputs do not make a request.
    #[error("{0}")]
    Usage(String),
    /// The answer arrived but is not what the command can show.
    #[error("{0}")]
    Answer(String),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(io::Error),
    /// Standard output failed (other than being closed).
    #[error("cannot write the output: {0}")]
    Output(io::Error),
    /// Standard output was closed by its reader: a quiet end.
    #[error("standard output was closed")]
    ClosedOutput,
    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,
}

/// The exit status of `result`.
pub fn exit_status(result: &Result<Outcome, Failure>) -> u8 {
    match result {
        Ok(Outcome::Success) | Err(Failure::ClosedOutput) => 0,
        Ok(Outcome::Flagged | Outcome::Blocked) => 2,
        Err(Failure::Interrupted) => 130,
        Err(_) => 1,
    }
}

/// Reports `failure` the way the examples do: `error: ...` on standard error, the request
/// id when the server sent one, a hint for a rejected key. An interruption writes a newline
/// to `stdout` (ending the line a stream was printing); a closed output writes nothing.
///
/// What the server sent (its message, a request id, a finish reason) shows with `secrets`
/// replaced by `***` (the library already does so for its errors; this covers the command's
/// own words too) and with every control character escaped, so that a message can neither
/// drive the terminal nor forge a line of the report.
pub fn report(
    failure: &Failure,
    secrets: &Secrets,
    stdout: &mut impl Write,
    stderr: &mut impl Write,
) {
    let clean = |text: String| escape_line(&secrets.redact(&text)).into_owned();
    // Reporting is best effort: if standard error is gone too, there is no one to tell.
    match failure {
        Failure::ClosedOutput => {}
        Failure::Interrupted => {
            let _ = stdout.write_all(b"\n").and_then(|()| stdout.flush());
        }
        // The whole chain on one line: cygnet's errors keep their causes out of their own
        // messages (see cygnet's error module), so each cause shows once.
        Failure::Api(error) => {
            let _ = writeln!(stderr, "error: {}", clean(error.report().to_string()));
            if let cygnet::Error::Api(api) = error {
                if let Some(id) = api.request_id() {
                    let _ = writeln!(stderr, "request id: {}", clean(id.to_owned()));
                }
                if api.status.is_some_and(|s| s.as_u16() == 401) {
                    let _ = writeln!(stderr, "hint: check the key in {API_KEY_ENV}");
                }
            }
        }
        other => {
            let report = cygnet::error::Report::new(other).to_string();
            let _ = writeln!(stderr, "error: {}", clean(report));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_end_has_its_status() {
        assert_eq!(exit_status(&Ok(Outcome::Success)), 0);
        assert_eq!(exit_status(&Ok(Outcome::Flagged)), 2);
        assert_eq!(exit_status(&Ok(Outcome::Blocked)), 2);
        assert_eq!(exit_status(&Err(Failure::ClosedOutput)), 0);
        assert_eq!(exit_status(&Err(Failure::Interrupted)), 130);
        assert_eq!(exit_status(&Err(Failure::MissingKey)), 1);
        assert_eq!(exit_status(&Err(Failure::Usage("x".into()))), 1);
    }

    #[test]
    fn reports_go_to_stderr_except_the_interruption_newline() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        report(
            &Failure::MissingKey,
            &Secrets::default(),
            &mut out,
            &mut err,
        );
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "error: no API key: set the GRAYSWAN_API_KEY environment variable to your Gray Swan API key (or try the command with --offline)\n"
        );
        assert!(out.is_empty());

        let (mut out, mut err) = (Vec::new(), Vec::new());
        report(
            &Failure::Interrupted,
            &Secrets::default(),
            &mut out,
            &mut err,
        );
        assert_eq!(out, b"\n");
        assert!(err.is_empty());

        let (mut out, mut err) = (Vec::new(), Vec::new());
        report(
            &Failure::ClosedOutput,
            &Secrets::default(),
            &mut out,
            &mut err,
        );
        assert!(out.is_empty() && err.is_empty());
    }

    #[test]
    fn a_report_shows_neither_the_key_nor_control_characters() {
        let secrets = Secrets::new(["sk-test-fake"]);
        let failure = Failure::Answer(
            "the answer has no text (finish reason: sk-test-fake\x1b]0;x\x07\nerror: forged)"
                .into(),
        );
        let (mut out, mut err) = (Vec::new(), Vec::new());
        report(&failure, &secrets, &mut out, &mut err);
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "error: the answer has no text (finish reason: ***\\u{1b}]0;x\\u{7}\\u{a}error: forged)\n"
        );
    }
}
