//! A server (or a gateway in front of it) that echoes the API key back: in an error message,
//! a request id, a body, a content type, a stream's error event. Whatever the spelling
//! (as it is, JSON-escaped, `\u`-escaped, percent-encoded, or a mix), the key reaches no
//! error, no `Debug` output and no header the client hands out: each echo reads `***`.

use cygnet_core::{Client, Error};
use cygnet_test_support::{seed_request, Canned, CannedReply};
use futures_util::StreamExt;

/// The key; `ECRET` marks it, so a test can tell that no piece of it is left.
const KEY: &str = "sk-test/SECRET+key_0123";

/// The key as a server may spell it back.
const ECHOES: [&str; 5] = [
    KEY,
    r"sk-test\/SECRET+key_0123",
    r"\u0073k-test\u002FSECRET\u002bkey_0123",
    "sk-test%2FSECRET%2Bkey_0123",
    r"sk-test\/S%45CRET+key\u005f0123",
];

fn client(replies: Vec<CannedReply>) -> Client {
    Canned::with(replies)
        .client_builder()
        .api_key(KEY)
        .max_retries(0)
        .build()
        .unwrap()
}

/// A response with `status`, one `content-type` and `body`.
fn reply(status: u16, content_type: &str, body: String) -> CannedReply {
    CannedReply::Response {
        status,
        headers: vec![("content-type".into(), content_type.into())],
        reads: vec![body.into()],
    }
}

/// Fails the test when `text` (what `what` is) holds any trace of the key.
fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains("ECRET") && !text.contains("0123"),
        "the key leaked into {what}: {text}"
    );
}

/// Every string `error` hands out: its `Display`, its `Debug`, and its causes.
fn assert_error_clean(error: &Error) {
    assert_clean("the error", &error.to_string());
    assert_clean("the error's Debug", &format!("{error:?}"));
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        assert_clean("a cause", &inner.to_string());
        assert_clean("a cause's Debug", &format!("{inner:?}"));
        cause = inner.source();
    }
}

#[test]
fn an_api_error_never_holds_an_echoed_key() {
    for echo in ECHOES {
        let body = format!(r#"{{"error":{{"message":"Invalid API key: {echo}"}}}}"#);
        let client = client(vec![CannedReply::json(401, body)
            .header("x-request-id", &format!("req-{echo}"))
            .header("www-authenticate", &format!("Bearer realm=\"{echo}\""))]);
        let error = futures_executor::block_on(client.chat(&seed_request())).unwrap_err();
        assert_error_clean(&error);
        let api = error.as_api().expect("an API error");
        assert_eq!(
            api.message.as_deref(),
            Some("Invalid API key: ***"),
            "{echo}"
        );
        assert_eq!(
            api.body,
            r#"{"error":{"message":"Invalid API key: ***"}}"#.as_bytes(),
            "{echo}"
        );
        assert_eq!(api.request_id(), Some("req-***"), "{echo}");
        assert_clean("the body snippet", &api.body_snippet());
        assert_clean("the headers", &format!("{:?}", api.headers));
        assert_eq!(
            error.to_string(),
            "API error 401 Unauthorized: Invalid API key: ***"
        );
    }
}

#[test]
fn an_error_body_that_is_not_json_is_scrubbed_too() {
    for echo in ECHOES {
        let client = client(vec![reply(
            502,
            "text/html",
            format!("<html>upstream refused {echo} for good</html>"),
        )]);
        let error = futures_executor::block_on(client.chat(&seed_request())).unwrap_err();
        assert_error_clean(&error);
        assert!(
            error.to_string().contains("upstream refused *** for good"),
            "{error}"
        );
    }
}

#[test]
fn a_decode_error_never_holds_an_echoed_key() {
    for echo in ECHOES {
        // The parser's complaint quotes the value it could not read.
        let body = format!(r#"{{"id":"c1","choices":"{echo}"}}"#);
        let client = client(vec![
            CannedReply::json(200, body).header("x-request-id", &format!("req-{echo}"))
        ]);
        let error = futures_executor::block_on(client.chat(&seed_request())).unwrap_err();
        assert!(matches!(error, Error::Decode(_)), "{error:?}");
        assert_error_clean(&error);
        assert!(error.to_string().contains("***"), "{error}");
    }
}

#[test]
fn a_successful_answer_shows_no_echoed_key_in_its_headers() {
    let completion = cygnet_test_support::completion_json("Hi").to_string();
    for echo in ECHOES {
        let client = client(vec![CannedReply::json(200, completion.clone())
            .header("x-request-id", &format!("req-{echo}"))]);
        let response = futures_executor::block_on(client.chat_response(&seed_request())).unwrap();
        assert_eq!(response.request_id(), Some("req-***"));
        assert_clean("the response's Debug", &format!("{response:?}"));
    }
}

#[test]
fn a_streaming_answer_that_is_not_a_stream_never_holds_an_echoed_key() {
    for echo in ECHOES {
        let client = client(vec![reply(
            200,
            &format!("text/html; note={echo}"),
            format!("<html>{echo}</html>"),
        )]);
        let error = futures_executor::block_on(client.chat_stream(&seed_request())).unwrap_err();
        assert!(matches!(error, Error::Decode(_)), "{error:?}");
        assert_error_clean(&error);
    }
}

#[test]
fn errors_inside_a_stream_never_hold_an_echoed_key() {
    for echo in ECHOES {
        for event in [
            format!("event: error\ndata: {{\"error\":{{\"message\":\"bad key {echo}\"}}}}\n\n"),
            format!("data: {{\"error\":{{\"message\":\"bad key {echo}\"}}}}\n\n"),
            format!("data: {{\"choices\":[{{\"index\":\"{echo}\",\"delta\":{{}}}}]}}\n\n"),
        ] {
            let client = client(vec![
                CannedReply::sse(event.clone()).header("x-request-id", &format!("req-{echo}"))
            ]);
            let items: Vec<_> = futures_executor::block_on(async {
                let stream = client.chat_stream(&seed_request()).await.unwrap();
                assert_eq!(stream.headers().get("x-request-id").unwrap(), "req-***");
                stream.collect().await
            });
            let error = items
                .into_iter()
                .find_map(Result::err)
                .unwrap_or_else(|| panic!("an error for {event}"));
            assert_error_clean(&error);
            if let Some(api) = error.as_api() {
                assert_eq!(api.message.as_deref(), Some("bad key ***"));
                assert_clean("the event's body", &String::from_utf8_lossy(&api.body));
            }
        }
    }
}

#[test]
fn a_raw_answer_read_as_json_never_holds_an_echoed_key() {
    for echo in ECHOES {
        let client = client(vec![CannedReply::json(
            200,
            format!(r#"{{"flagged":"{echo}"}}"#),
        )]);
        let raw =
            futures_executor::block_on(client.post_raw("/moderation", &serde_json::json!({})))
                .unwrap();
        let error = raw
            .json::<cygnet_core::types::ModerationResponse>()
            .unwrap_err();
        assert_error_clean(&error);
    }
}

/// A transport whose failure quotes the key, as a proxy's refusal may.
struct Quoting;

#[cygnet_core::transport::async_trait]
impl cygnet_core::Transport for Quoting {
    async fn send(
        &self,
        _: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<cygnet_core::Body>, cygnet_core::TransportError> {
        Err(cygnet_core::TransportError::new(
            cygnet_core::TransportErrorKind::Io,
            format!("the peer said: {}", ECHOES[1]),
        ))
    }

    fn sleep(&self, _: std::time::Duration) -> cygnet_core::transport::Sleep {
        Box::pin(std::future::ready(()))
    }
}

#[test]
fn a_transport_error_that_quotes_the_key_is_cleaned_too() {
    let client = Client::builder()
        .api_key(KEY)
        .base_url("https://api.example.test")
        .transport(Quoting)
        .max_retries(1)
        .build()
        .unwrap();
    let error = futures_executor::block_on(client.chat(&seed_request())).unwrap_err();
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    assert_error_clean(&error);
    assert!(
        error.report().to_string().ends_with("the peer said: ***"),
        "{error}"
    );
}

#[test]
fn a_credential_among_the_calls_headers_is_kept_out_too() {
    // As on a guarded route, where `Authorization` carries the provider's key.
    const PROVIDER: &str = "sk-provider-ECRET-4567";
    let body = format!(r#"{{"error":{{"message":"Invalid provider key: {PROVIDER}"}}}}"#);
    let client = client(vec![
        CannedReply::json(401, body).header("x-request-id", &format!("req-{PROVIDER}"))
    ])
    .with_options(
        cygnet_core::RequestOptions::new().header("authorization", &format!("Bearer {PROVIDER}")),
    );
    let error = futures_executor::block_on(client.chat(&seed_request())).unwrap_err();
    assert_error_clean(&error);
    let api = error.as_api().expect("an API error");
    assert_eq!(api.message.as_deref(), Some("Invalid provider key: ***"));
    assert_eq!(api.request_id(), Some("req-***"));
}
