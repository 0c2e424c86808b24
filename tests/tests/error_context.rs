//! Transport and timeout errors say where the call went and how often it tried, in the same
//! words whatever the transport: `POST <host>:<port>: <what failed> after <n> attempt(s):
//! <cause>`. On the mock, and through cygnet-hyper (async and blocking) against a loopback
//! port nobody listens on.

use std::time::Duration;

use cygnet::mock::{MockReply, MockTransport};
use cygnet::{Error, RequestOptions, TimeoutKind, TransportErrorKind};
use futures_executor::block_on;
use tests::{bounded, bounded_thread, hyper_client, seed_request, FAKE_KEY};

/// A loopback port with nothing listening on it: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

#[test]
fn a_refused_connection_on_the_mock_names_target_attempts_and_cause() {
    let refused = || MockReply::error(TransportErrorKind::Connect, "connection refused");
    let mock = MockTransport::conversation([refused(), refused(), refused()]);
    let client = mock
        .client()
        .with_options(RequestOptions::new().max_retries(2));
    let error = block_on(client.chat(&seed_request())).unwrap_err();
    assert_eq!(
        error.report().to_string(),
        "POST mock.invalid:443: could not connect after 3 attempts: connection refused"
    );
    assert_eq!(error.attempts(), Some(3));
    let target = error.target().expect("a target");
    assert_eq!(target.method(), "POST");
    assert_eq!(target.host(), "mock.invalid");
    assert_eq!(target.port(), Some(443));
}

#[test]
fn a_refused_certificate_on_the_mock_is_tried_once_and_says_so() {
    let refused = || {
        MockReply::error(
            TransportErrorKind::Certificate,
            "invalid peer certificate: UnknownIssuer",
        )
    };
    let mock = MockTransport::conversation([refused(), refused(), refused()]);
    let client = mock
        .client()
        .with_options(RequestOptions::new().max_retries(2));
    let error = block_on(client.chat(&seed_request())).unwrap_err();
    assert_eq!(
        error.report().to_string(),
        "POST mock.invalid:443: could not verify the server's certificate after 1 attempt: \
         invalid peer certificate: UnknownIssuer"
    );
    assert_eq!(error.attempts(), Some(1));
}

#[test]
fn a_timeout_on_the_mock_names_target_attempts_and_deadline() {
    let mock = MockTransport::conversation([MockReply::hang(), MockReply::hang()]);
    let options = RequestOptions::new()
        .max_retries(1)
        .timeout(Duration::from_secs(5));
    let error = block_on(mock.client().with_options(options).chat(&seed_request())).unwrap_err();
    assert_eq!(
        error.report().to_string(),
        "POST mock.invalid:443: timed out after 2 attempts: no complete answer within 5s"
    );
    assert_eq!(
        error.timeout_kind(),
        Some(TimeoutKind::Request(Duration::from_secs(5)))
    );
    assert_eq!(error.attempts(), Some(2));
}

#[test]
fn an_unscripted_request_on_the_mock_reads_like_any_transport_failure() {
    let mock = MockTransport::new();
    let error = block_on(mock.client().chat(&seed_request())).unwrap_err();
    assert_eq!(
        error.report().to_string(),
        "POST mock.invalid:443: transport failed after 1 attempt: \
         cygnet-mock: no reply scripted for POST /chat/completion (request #1)"
    );
}

#[tokio::test]
async fn a_closed_loopback_port_through_hyper_names_target_attempts_and_cause() {
    let port = closed_port();
    let client = hyper_client(format!("http://127.0.0.1:{port}"))
        // One retry: one real backoff wait of at most a second.
        .max_retries(1)
        .build()
        .expect("client");
    let error = bounded("a refused call", client.chat(&seed_request()))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Transport(e) if e.kind() == TransportErrorKind::Connect),
        "{error:?}"
    );
    let text = error.report().to_string();
    let prefix = format!("POST 127.0.0.1:{port}: could not connect after 2 attempts: ");
    assert!(text.starts_with(&prefix), "{text}");
    assert!(text.contains("Connection refused"), "{text}");
    assert!(!text.contains(FAKE_KEY), "{text}");
    assert_eq!(error.attempts(), Some(2));

    // A stream reads the same.
    let error = bounded(
        "a refused stream",
        client
            .with_options(RequestOptions::new().max_retries(0))
            .chat_stream(&seed_request()),
    )
    .await
    .unwrap_err();
    let prefix = format!("POST 127.0.0.1:{port}: could not connect after 1 attempt: ");
    assert!(error.report().to_string().starts_with(&prefix), "{error}");
}

#[test]
fn a_closed_loopback_port_through_the_blocking_client_reads_the_same() {
    let port = closed_port();
    let text = bounded_thread(move || {
        let client = cygnet::blocking::Client::builder()
            .api_key(FAKE_KEY)
            .base_url(format!("http://127.0.0.1:{port}"))
            .max_retries(0)
            .build()
            .expect("blocking client");
        client
            .chat(&seed_request())
            .unwrap_err()
            .report()
            .to_string()
    });
    let prefix = format!("POST 127.0.0.1:{port}: could not connect after 1 attempt: ");
    assert!(text.starts_with(&prefix), "{text}");
    assert!(text.contains("Connection refused"), "{text}");
}
