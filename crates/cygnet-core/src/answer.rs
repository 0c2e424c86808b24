//! Reading a successful answer: the value asked for, or an error that says what came instead.
//!
//! - [`read_body`] reads a whole body (a non-streaming answer, or an error answer), failing
//!   once it grows past the client's limit; an announced `Content-Length` over the limit is
//!   refused before anything is read.
//! - [`parse_json`] and [`chunk_error`]: a 2xx body, or a stream chunk, is parsed as the type
//!   asked for; the types refuse a body that lacks a required field, has one of the wrong type,
//!   or carries a top-level `error` member. Only when that parse fails is the body looked at
//!   again: if it is a JSON object with an `error` member (other than `null` or `false`: an
//!   object, a text, Gray Swan's `"error": true`), the server reported an error in a
//!   successful answer, and the caller gets [`Error::Api`] with the server's message and code (kind [`ApiErrorKind::InStream`](crate::ApiErrorKind::InStream) inside a
//!   stream); otherwise [`Error::Decode`] with the status, the parser's complaint (which names
//!   the field) and a snippet of the body. The second look costs nothing on the path of a good
//!   answer. `"error": false` is no error report.
//! - [`is_event_stream`] and [`not_a_stream`]: a 2xx answer to a streaming request whose
//!   `Content-Type` is present and is not `text/event-stream` (compared case-insensitively,
//!   parameters such as `charset` ignored) is not a stream. A gateway's JSON error or a
//!   proxy's HTML page would otherwise read as a stream with no events. At most
//!   [`NOT_A_STREAM_PREFIX`] bytes of it are read, and the error carries the status, the
//!   content type and the server's words: [`Error::Api`] with the parsed message when the
//!   body is JSON with a top-level `error`, else [`Error::Decode`] naming the content type
//!   with a snippet of the body.
//! - A streaming answer *without* `Content-Type` is read as a stream: some gateways drop the
//!   header, and the contract only calls an answer "not a stream" when the header is present
//!   and says otherwise. Such a body that holds no event still fails, as a stream that ended
//!   without its terminator.

use std::fmt;

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, DecodeError, Error, Result, StreamError};
use crate::redact::Secrets;
use crate::transport::Body;

/// How much of a streaming request's answer that is not a stream is read for its error.
pub(crate) const NOT_A_STREAM_PREFIX: usize = 8 * 1024;

/// The media type of server-sent events.
const EVENT_STREAM: &str = "text/event-stream";

/// Reads a whole body, failing once it grows past `limit` bytes.
pub(crate) async fn read_body(mut body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(StreamError::BodyTooLarge { limit }.into());
    }
    // The common case is one chunk: keep it without copying.
    let Some(first) = body.chunk().await.transpose()? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(StreamError::BodyTooLarge { limit }.into());
    }
    let Some(second) = body.chunk().await.transpose()? else {
        return Ok(first);
    };
    let capacity = declared.map_or(first.len() + second.len(), |len| len as usize);
    let mut buffer = BytesMut::with_capacity(capacity.min(limit));
    buffer.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if buffer.len() + chunk.len() > limit {
            return Err(StreamError::BodyTooLarge { limit }.into());
        }
        buffer.extend_from_slice(&chunk);
        next = body.chunk().await.transpose()?;
    }
    Ok(buffer.freeze())
}

/// Whether a 2xx answer to a streaming request may be read as a stream: its `Content-Type`
/// is `text/event-stream` (any case, any parameters), or it has none.
pub(crate) fn is_event_stream(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return true;
    };
    let media_type = value.as_bytes().split(|&b| b == b';').next().unwrap_or(&[]);
    media_type
        .trim_ascii()
        .eq_ignore_ascii_case(EVENT_STREAM.as_bytes())
}

/// The error for a 2xx answer to a streaming request that is not a stream (see the module
/// docs); reads at most `limit` bytes of its body. The error shows nothing of `secrets`.
pub(crate) async fn not_a_stream(
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
    limit: usize,
    secrets: &Secrets,
) -> Error {
    let prefix = match read_prefix(body, limit).await {
        Ok(prefix) => prefix,
        Err(e) => return e,
    };
    if is_error_report(&prefix) {
        return ApiError::from_response(status, headers, secrets.redact_bytes(&prefix)).into();
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    decode_error(
        secrets,
        status,
        "a text/event-stream answer",
        &prefix,
        Box::new(UnexpectedContentType(content_type)),
    )
}

/// Reads at most `limit` bytes of `body`; the rest is dropped unread with the body.
async fn read_prefix(mut body: Body, limit: usize) -> Result<Bytes> {
    let mut buffer = BytesMut::new();
    while buffer.len() < limit {
        let Some(chunk) = body.chunk().await.transpose()? else {
            break;
        };
        let take = chunk.len().min(limit - buffer.len());
        buffer.extend_from_slice(&chunk[..take]);
    }
    Ok(buffer.freeze())
}

/// Parses a whole 2xx `body` as `T` (`expected` names it in a decode error, which, like an
/// API error, shows nothing of `secrets`).
pub(crate) fn parse_json<T: DeserializeOwned>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
    expected: &'static str,
    secrets: &Secrets,
) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        if is_error_report(body) {
            ApiError::from_response(status, headers.clone(), secrets.redact_bytes(body)).into()
        } else {
            decode_error(secrets, status, expected, body, Box::new(e))
        }
    })
}

/// The error for one stream event's `data` that did not parse as a chunk.
#[cold]
pub(crate) fn chunk_error(
    status: StatusCode,
    data: &str,
    error: serde_json::Error,
    secrets: &Secrets,
) -> Error {
    if is_error_report(data.as_bytes()) {
        in_stream_error(data, secrets)
    } else {
        decode_error(
            secrets,
            status,
            "chat completion chunk JSON",
            data.as_bytes(),
            Box::new(error),
        )
    }
}

/// An error the server sent inside a stream, as the raw text of the event (without
/// `secrets`).
pub(crate) fn in_stream_error(data: &str, secrets: &Secrets) -> Error {
    let data = secrets.redact_slice(data.as_bytes());
    ApiError::in_stream(Bytes::copy_from_slice(&data)).into()
}

/// A decode error for `body`, its snippet and the parser's complaint cleaned of `secrets`
/// (a complaint quotes the value it could not read).
fn decode_error(
    secrets: &Secrets,
    status: StatusCode,
    expected: &'static str,
    body: &[u8],
    cause: Box<dyn std::error::Error + Send + Sync>,
) -> Error {
    let body = secrets.redact_slice(body);
    DecodeError::new(
        Some(status),
        expected,
        &body,
        Some(secrets.redact_cause(cause)),
    )
    .into()
}

/// Whether `body` is a JSON object with a top-level `error` member that is neither `null` nor
/// `false` (the flag of Gray Swan's envelope saying there is none): the server reporting an
/// error, whatever else the object holds. The same rule as the types' refusal of such a body.
fn is_error_report(body: &[u8]) -> bool {
    use serde_json::Value;
    serde_json::from_slice::<serde_json::Map<String, Value>>(body).is_ok_and(|object| {
        object
            .get("error")
            .is_some_and(|error| !matches!(error, Value::Null | Value::Bool(false)))
    })
}

/// The cause of a decode error for an answer whose content type is not the one asked for.
#[derive(Debug)]
struct UnexpectedContentType(String);

impl fmt::Display for UnexpectedContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the answer's Content-Type is {:?}, not {EVENT_STREAM}",
            self.0
        )
    }
}

impl std::error::Error for UnexpectedContentType {}

#[cfg(test)]
mod tests {
    use super::*;
    use cygnet_types::{ChatCompletion, ModerationResponse};

    fn headers(content_type: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(CONTENT_TYPE, http::HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn event_stream_media_type_is_compared_without_case_or_parameters() {
        for yes in [
            None,
            Some("text/event-stream"),
            Some("Text/Event-Stream"),
            Some("text/event-stream; charset=utf-8"),
            Some(" text/event-stream ;charset=UTF-8"),
        ] {
            assert!(is_event_stream(&headers(yes)), "{yes:?}");
        }
        for no in [
            Some("application/json"),
            Some("text/html; charset=utf-8"),
            Some("text/event-streams"),
            Some(""),
        ] {
            assert!(!is_event_stream(&headers(no)), "{no:?}");
        }
    }

    #[test]
    fn json_with_an_error_is_an_api_error_with_the_servers_message() {
        let body = Body::from(r#"{"error":{"message":"quota exceeded"}}"#);
        let error = futures_executor::block_on(not_a_stream(
            StatusCode::OK,
            headers(Some("application/json")),
            body,
            NOT_A_STREAM_PREFIX,
            &Secrets::default(),
        ));
        let api = error.as_api().expect("an API error");
        assert_eq!(api.status, Some(StatusCode::OK));
        assert_eq!(api.message.as_deref(), Some("quota exceeded"));
    }

    #[test]
    fn anything_else_is_a_decode_error_naming_the_content_type() {
        let page = format!("<html>{}</html>", "x".repeat(3 * NOT_A_STREAM_PREFIX));
        let error = futures_executor::block_on(not_a_stream(
            StatusCode::OK,
            headers(Some("text/html; charset=utf-8")),
            Body::from(page),
            NOT_A_STREAM_PREFIX,
            &Secrets::default(),
        ));
        assert!(matches!(error, Error::Decode(_)), "{error:?}");
        let text = error.report().to_string();
        assert!(text.contains("200 OK"), "{text}");
        assert!(text.contains("text/html; charset=utf-8"), "{text}");
        assert!(text.contains("<html>xxx"), "{text}");
    }

    fn parse<T: DeserializeOwned>(body: &'static str) -> Result<T, Error> {
        parse_json(
            StatusCode::OK,
            &HeaderMap::new(),
            &Bytes::from_static(body.as_bytes()),
            "test JSON",
            &Secrets::default(),
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
    fn gray_swans_envelope_in_a_2xx_answer_is_the_servers_error_with_message_and_code() {
        let error = parse::<ChatCompletion>(
            r#"{"error":true,"message":"Upstream provider failed","error_code":"upstream_error","details":{"provider":"openai"}}"#,
        )
        .unwrap_err();
        let api = error.as_api().unwrap_or_else(|| panic!("{error}"));
        assert_eq!(api.message.as_deref(), Some("Upstream provider failed"));
        assert_eq!(api.code(), Some("upstream_error"));
        assert_eq!(api.details().unwrap()["provider"], "openai");
        assert_eq!(
            error.to_string(),
            "API error 200 OK: Upstream provider failed (upstream_error)"
        );
        // `"error": false` says there is no error: the answer is read as any other.
        let completion = parse::<ChatCompletion>(
            r#"{"error":false,"choices":[{"index":0,"message":{"content":"Hi"}}]}"#,
        )
        .unwrap();
        assert_eq!(completion.content(), Some("Hi"));
        // And without the fields of an answer, it is a decode error naming them.
        assert!(matches!(
            parse::<ChatCompletion>(r#"{"error":false}"#),
            Err(Error::Decode(e)) if crate::error::Report::new(&*e).to_string().contains("missing field `choices`")
        ));
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
                    assert!(
                        crate::error::Report::new(&*e).to_string().contains(named),
                        "{body}: {e}"
                    );
                    assert!(e.snippet.starts_with('{'));
                }
                Ok(verdict) => assert!(named.is_empty() && !verdict.flagged, "{body}"),
                Err(other) => panic!("{body}: {other}"),
            }
        }
    }

    #[test]
    fn error_true_is_an_error_report_and_error_false_is_none() {
        let error =
            parse::<cygnet_types::MonitorResponse>(r#"{"error":true,"message":"m"}"#).unwrap_err();
        assert!(matches!(error, Error::Api(_)), "{error}");
        for body in [r#"{"error":false}"#, r#"{"error":false,"violation":null}"#] {
            match parse::<cygnet_types::MonitorResponse>(body) {
                Err(Error::Decode(e)) => assert!(
                    crate::error::Report::new(&*e)
                        .to_string()
                        .contains("violation"),
                    "{e}"
                ),
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(parse::<cygnet_types::MonitorResponse>(r#"{"error":false,"violation":0}"#).is_ok());
    }

    #[test]
    fn a_chunk_with_an_error_member_is_an_in_stream_error() {
        let data = r#"{"id":"x","error":{"message":"quota exceeded"}}"#;
        let error = cygnet_types::ChatCompletionChunk::from_json(data).unwrap_err();
        let error = chunk_error(StatusCode::OK, data, error, &Secrets::default());
        let api = error.as_api().expect("an API error");
        assert_eq!(api.kind, crate::ApiErrorKind::InStream);
        assert_eq!(api.message.as_deref(), Some("quota exceeded"));
        let data = r#"{"error":true,"message":"Quota exceeded","error_code":"quota"}"#;
        let error = cygnet_types::ChatCompletionChunk::from_json(data).unwrap_err();
        let error = chunk_error(StatusCode::OK, data, error, &Secrets::default());
        assert_eq!(
            error.to_string(),
            "API error in stream: Quota exceeded (quota)"
        );
        let error = cygnet_types::ChatCompletionChunk::from_json("{}").unwrap_err();
        assert!(matches!(
            chunk_error(StatusCode::OK, "{}", error, &Secrets::default()),
            Error::Decode(e) if crate::error::Report::new(&*e).to_string().contains("missing field `choices`")
        ));
    }
}
