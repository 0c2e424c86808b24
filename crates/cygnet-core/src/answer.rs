//! Reading a successful answer's JSON: the value asked for, or an error that says what came
//! instead.
//!
//! A 2xx body, or a stream chunk, is parsed as the type asked for; the types refuse a body
//! that lacks a required field, has one of the wrong type, or carries a top-level `error`
//! member. Only when that parse fails is the body looked at again: if it is a JSON object with
//! an `error` member (other than `null`), the server reported an error in a successful answer,
//! and the caller gets [`Error::Api`] with the server's message (kind
//! [`ApiErrorKind::InStream`](crate::ApiErrorKind::InStream) inside a stream); otherwise
//! [`Error::Decode`] with the status, the parser's complaint (which names the field) and a
//! snippet of the body. The second look costs nothing on the path of a good answer.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, DecodeError, Error};

/// Parses a whole 2xx `body` as `T` (`expected` names it in a decode error).
pub(crate) fn parse_json<T: DeserializeOwned>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
    expected: &'static str,
) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        if is_error_report(body) {
            ApiError::from_response(status, headers.clone(), body.clone()).into()
        } else {
            DecodeError::new(Some(status), expected, body, Some(Box::new(e))).into()
        }
    })
}

/// The error for one stream event's `data` that did not parse as a chunk.
#[cold]
pub(crate) fn chunk_error(status: StatusCode, data: &str, error: serde_json::Error) -> Error {
    if is_error_report(data.as_bytes()) {
        in_stream_error(data)
    } else {
        DecodeError::new(
            Some(status),
            "chat completion chunk JSON",
            data.as_bytes(),
            Some(Box::new(error)),
        )
        .into()
    }
}

/// An error the server sent inside a stream, as the raw text of the event.
pub(crate) fn in_stream_error(data: &str) -> Error {
    ApiError::in_stream(Bytes::copy_from_slice(data.as_bytes())).into()
}

/// Whether `body` is a JSON object with a top-level `error` member that is not `null`: the
/// server reporting an error, whatever else the object holds.
fn is_error_report(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
        .is_ok_and(|object| object.get("error").is_some_and(|error| !error.is_null()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cygnet_types::{ChatCompletion, ModerationResponse};

    fn parse<T: DeserializeOwned>(body: &'static str) -> Result<T, Error> {
        parse_json(
            StatusCode::OK,
            &HeaderMap::new(),
            &Bytes::from_static(body.as_bytes()),
            "test JSON",
        )
    }

    #[test]
    fn an_error_member_is_the_servers_error_with_its_message() {
        for body in [
            r#"{"error":{"message":"model overloaded"}}"#,
            r#"{"id":"x","choices":[],"error":{"message":"model overloaded"}}"#,
            r#"{"error":"model overloaded"}"#,
        ] {
            let error = parse::<ChatCompletion>(body).unwrap_err();
            let api = error.as_api().unwrap_or_else(|| panic!("{body}: {error}"));
            assert_eq!(api.message.as_deref(), Some("model overloaded"));
            assert_eq!(api.status, Some(StatusCode::OK));
        }
    }

    #[test]
    fn a_missing_or_mistyped_field_is_a_decode_error_naming_it() {
        for (body, named) in [
            ("{}", "missing field `detected`"),
            (
                r#"{"detail":"Not authenticated"}"#,
                "missing field `detected`",
            ),
            (
                r#"{"flagged":"no","detected":0,"passed":1}"#,
                "flagged: invalid type",
            ),
            (
                r#"{"flagged":false,"detected":0,"passed":1,"error":null,"id":null}"#,
                "",
            ),
        ] {
            match parse::<ModerationResponse>(body) {
                Err(Error::Decode(e)) => {
                    assert!(!named.is_empty(), "{body}: {e}");
                    assert_eq!(e.status, Some(StatusCode::OK));
                    assert!(e.to_string().contains(named), "{body}: {e}");
                    assert!(e.snippet.starts_with('{'));
                }
                Ok(verdict) => assert!(named.is_empty() && !verdict.flagged, "{body}"),
                Err(other) => panic!("{body}: {other}"),
            }
        }
    }

    #[test]
    fn a_chunk_with_an_error_member_is_an_in_stream_error() {
        let data = r#"{"id":"x","error":{"message":"quota exceeded"}}"#;
        let error = cygnet_types::ChatCompletionChunk::from_json(data).unwrap_err();
        let error = chunk_error(StatusCode::OK, data, error);
        let api = error.as_api().expect("an API error");
        assert_eq!(api.kind, crate::ApiErrorKind::InStream);
        assert_eq!(api.message.as_deref(), Some("quota exceeded"));
        let error = cygnet_types::ChatCompletionChunk::from_json("{}").unwrap_err();
        assert!(matches!(
            chunk_error(StatusCode::OK, "{}", error),
            Error::Decode(e) if e.to_string().contains("missing field `choices`")
        ));
    }
}
