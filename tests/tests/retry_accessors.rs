//! What a caller's own retry logic reads off an error: `is_retryable()` (the client's own
//! rule), `retry_after()` (the server's requested wait, read as the client reads it) and
//! `attempts()`/`target()`, for API errors as for transport and timeout errors. On the mock,
//! whose virtual clock makes the client's own retries instant.

use std::time::Duration;

use cygnet::mock::{MockReply, MockTransport};
use cygnet::{Error, RequestOptions, TimeoutKind, TransportErrorKind};
use futures_executor::block_on;
use serde_json::json;
use tests::seed_request;

/// A named answer, made afresh for each run.
type Case = (&'static str, fn() -> MockReply);

fn api_error(status: u16) -> MockReply {
    MockReply::json(status, json!({"error": {"message": "no"}}))
}

/// Runs the seed chat with `retries` retries over `replies`; the error and how many requests
/// the client sent.
fn fail(retries: u32, replies: Vec<MockReply>) -> (Error, usize) {
    let mock = MockTransport::conversation(replies);
    let client = mock
        .client()
        .with_options(RequestOptions::new().max_retries(retries));
    let error = block_on(client.chat(&seed_request())).unwrap_err();
    (error, mock.request_count())
}

#[test]
fn an_api_error_that_ended_a_call_says_where_it_went_and_how_often_it_tried() {
    let (error, sent) = fail(2, vec![api_error(503), api_error(503), api_error(503)]);
    assert_eq!(sent, 3);
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(error.attempts(), Some(3));
    let target = error.target().expect("a target");
    assert_eq!(target.method(), "POST");
    assert_eq!(target.host(), "mock.invalid");
    assert_eq!(target.port(), Some(443));
    assert_eq!(error.as_api().unwrap().context().unwrap().attempts(), 3);

    let (error, sent) = fail(2, vec![api_error(401)]);
    assert_eq!(sent, 1);
    assert_eq!(error.attempts(), Some(1));
    assert_eq!(error.target().unwrap().host(), "mock.invalid");
}

/// `is_retryable()` is the rule the client's retries follow: for each answer, the client
/// sent one request more exactly when the error it ended with says it is retryable.
#[test]
fn is_retryable_agrees_with_the_clients_own_retries() {
    let cases: Vec<Case> = vec![
        ("400", || api_error(400)),
        ("401", || api_error(401)),
        ("404", || api_error(404)),
        ("408", || api_error(408)),
        ("409", || api_error(409)),
        ("422", || api_error(422)),
        ("429", || api_error(429)),
        ("500", || api_error(500)),
        ("503", || api_error(503)),
        ("503 x-should-retry false", || {
            api_error(503).header("x-should-retry", "false")
        }),
        ("400 x-should-retry true", || {
            api_error(400).header("x-should-retry", "true")
        }),
        ("connect", || {
            MockReply::error(TransportErrorKind::Connect, "refused")
        }),
        ("certificate", || {
            MockReply::error(TransportErrorKind::Certificate, "bad")
        }),
        ("html 200", || MockReply::raw(200, "<html>oops</html>")),
    ];
    for (name, reply) in cases {
        let (error, _) = fail(0, vec![reply()]);
        // The same answer again with one retry allowed, then a final 400.
        let (_, sent) = fail(1, vec![reply(), api_error(400)]);
        assert_eq!(error.is_retryable(), sent == 2, "{name}: {error}");
    }
    let timeout = Error::from(TimeoutKind::Idle(Duration::from_secs(1)));
    assert!(timeout.is_retryable());
    let total = Error::from(TimeoutKind::StreamTotal(Duration::from_secs(1)));
    assert!(
        !total.is_retryable(),
        "a whole stream's bound covers re-sends"
    );
    assert!(!Error::Config("no key".into()).is_retryable());
}

#[test]
fn retry_after_reads_the_servers_wait_as_the_client_does() {
    let (error, _) = fail(0, vec![api_error(429).header("retry-after", "7")]);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    assert!(error.is_retryable());

    // retry-after-ms wins, fractions allowed.
    let (error, _) = fail(
        0,
        vec![api_error(429)
            .header("retry-after-ms", "1500")
            .header("retry-after", "30")],
    );
    assert_eq!(error.retry_after(), Some(Duration::from_millis(1500)));

    // What the client would not honour (beyond 60 s, zero, garbage) is no wait at all.
    for value in ["61", "0", "-3", "soon", "inf"] {
        let (error, _) = fail(0, vec![api_error(429).header("retry-after", value)]);
        assert_eq!(error.retry_after(), None, "retry-after: {value}");
    }
    let (error, _) = fail(0, vec![api_error(429)]);
    assert_eq!(error.retry_after(), None);

    // Not an API error: nothing to read.
    let (error, _) = fail(0, vec![MockReply::error(TransportErrorKind::Connect, "x")]);
    assert_eq!(error.retry_after(), None);
}

/// The server's `retry-after` is the wait the client's own retry took, on the virtual clock.
#[test]
fn the_client_waits_what_retry_after_says() {
    let mock = MockTransport::conversation([
        api_error(429).header("retry-after", "3"),
        api_error(429).header("retry-after", "3"),
    ]);
    let client = mock
        .client()
        .with_options(RequestOptions::new().max_retries(1));
    let error = block_on(client.chat(&seed_request())).unwrap_err();
    assert_eq!(mock.completed_sleeps(), vec![error.retry_after().unwrap()]);
}
