//! What a fail-closed client must return for a 2xx answer that is not the one asked for: a
//! decode error that names what was wrong, or the server's own error message. Shared by the
//! fail-closed tests over the mock and over a real socket, which feed the same broken bodies.

use cygnet_core::{ApiErrorKind, Error};

/// Asserts that `result` is a decode error of a 200 answer whose report (its message and
/// its cause, the parser's complaint) contains `field` and that keeps a snippet of the body.
///
/// # Panics
///
/// When it is anything else.
pub fn decode_error_naming(result: Result<impl std::fmt::Debug, Error>, field: &str) {
    match result {
        Err(Error::Decode(e)) => {
            assert_eq!(e.status.map(|s| s.as_u16()), Some(200));
            let report = cygnet_core::error::Report::new(&*e).to_string();
            assert!(report.contains(field), "{report}");
            assert!(!e.snippet.is_empty());
        }
        other => panic!("expected a decode error naming {field}, got {other:?}"),
    }
}

/// Asserts that `result` is the server's error saying `message`; returns its kind.
///
/// # Panics
///
/// When it is anything else.
pub fn api_error_saying(
    result: Result<impl std::fmt::Debug, Error>,
    message: &str,
) -> ApiErrorKind {
    match result {
        Err(Error::Api(api)) => {
            assert_eq!(api.message.as_deref(), Some(message));
            api.kind
        }
        other => panic!("expected the server's error {message:?}, got {other:?}"),
    }
}
