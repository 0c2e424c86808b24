//! The workspace's one error rule (cygnet-core's error module): an error's message never
//! repeats its cause; the cause is its `source()` or in its message, never both. So a
//! reporter that walks the `source()` chain (anyhow's `{:#}`, eyre, tracing, `Report`) shows
//! each cause once. Checked here for every kind of error a call can end in, on the mock, in
//! cygnet-mock's cassette errors, and through cygnet-hyper against a closed loopback port
//! (its flattened hyper-util chain included), async and blocking.

use std::error::Error as StdError;
use std::path::PathBuf;
use std::time::Duration;

use cygnet::error::Report;
use cygnet::mock::{CassetteError, MockReply, MockTransport, Replayer};
use cygnet::transport::Transport;
use cygnet::{Error, RequestOptions, TimeoutKind, TransportError, TransportErrorKind};
use futures_executor::block_on;
use tests::{bounded, bounded_thread, hyper_client, seed_request, FAKE_KEY};

/// Every message in `error`'s chain, outermost first.
fn links(error: &(dyn StdError + 'static)) -> Vec<String> {
    Report::new(error).chain().map(|e| e.to_string()).collect()
}

/// Asserts that no message in `error`'s chain contains the message of a cause below it,
/// and that the report shows the deepest cause exactly once; returns the report.
#[track_caller]
fn assert_each_cause_once(error: &(dyn StdError + 'static)) -> String {
    let links = links(error);
    for (i, outer) in links.iter().enumerate() {
        for inner in links.iter().skip(i + 1).filter(|inner| !inner.is_empty()) {
            assert!(
                !outer.contains(inner.as_str()),
                "the message {outer:?} repeats its cause {inner:?} (chain: {links:?})"
            );
        }
    }
    let report = Report::new(error).to_string();
    let root = links.last().expect("a chain has its error");
    assert_eq!(report.matches(root.as_str()).count(), 1, "{report}");
    report
}

/// The error a call on a mock answering `reply` ends in, with no retries.
fn call_error(reply: MockReply) -> Error {
    let mock = MockTransport::conversation([reply]);
    let client = mock
        .client()
        .with_options(RequestOptions::new().max_retries(0));
    block_on(client.chat(&seed_request())).unwrap_err()
}

/// The error a stream on a mock answering `reply` ends in.
fn stream_error(reply: MockReply) -> Error {
    let mock = MockTransport::conversation([reply]);
    let client = mock
        .client()
        .with_options(RequestOptions::new().max_retries(0));
    block_on(async {
        let mut stream = match client.chat_stream(&seed_request()).await {
            Ok(stream) => stream,
            Err(error) => return error,
        };
        while let Some(item) = stream.next_chunk().await {
            if let Err(error) = item {
                return error;
            }
        }
        panic!("the stream ended without an error")
    })
}

#[test]
fn every_transport_error_kind_shows_its_cause_once_with_and_without_a_call() {
    for &kind in TransportErrorKind::ALL {
        let cause = format!("the {} cause", kind.name());
        let bare = Error::from(TransportError::new(kind, cause.clone()));
        assert!(!bare.to_string().contains(&cause), "{bare}");
        assert_eq!(
            assert_each_cause_once(&bare),
            format!("{bare}: {cause}"),
            "{kind:?}"
        );

        let ended = call_error(MockReply::error(kind, cause.clone()));
        assert_eq!(ended.context().map(|c| c.attempts()), Some(1), "{ended}");
        let report = assert_each_cause_once(&ended);
        assert!(report.starts_with("POST mock.invalid:443: "), "{report}");
        assert!(
            report.ends_with(&format!(" after 1 attempt: {cause}")),
            "{report}"
        );
    }
}

#[test]
fn api_timeout_decode_stream_config_and_blocked_errors_follow_the_rule() {
    let api = call_error(MockReply::error_envelope(
        400,
        "Invalid model",
        "invalid_model",
    ));
    assert_each_cause_once(&api);

    let mock = MockTransport::conversation([MockReply::hang()]);
    let options = RequestOptions::new()
        .max_retries(0)
        .timeout(Duration::from_secs(1));
    let timeout = block_on(mock.client().with_options(options).chat(&seed_request())).unwrap_err();
    // One "timed out", then the deadline that passed: the words do not stutter.
    assert_eq!(
        assert_each_cause_once(&timeout),
        "POST mock.invalid:443: timed out after 1 attempt: no complete answer within 1s"
    );
    assert_eq!(timeout.report().to_string().matches("timed out").count(), 1);
    for kind in [
        TimeoutKind::Request(Duration::from_secs(1)),
        TimeoutKind::Headers(Duration::from_secs(1)),
        TimeoutKind::Idle(Duration::from_secs(1)),
        TimeoutKind::StreamTotal(Duration::from_secs(1)),
    ] {
        let error = Error::from(kind);
        assert!(!error.to_string().contains("timed out"), "{error}");
        assert_each_cause_once(&error);
    }

    let decode = call_error(MockReply::raw(200, "not json at all"));
    assert!(matches!(decode, Error::Decode(_)), "{decode:?}");
    assert!(
        decode.source().is_some(),
        "the parser's complaint is the source"
    );
    let report = assert_each_cause_once(&decode);
    assert!(report.contains("\"not json at all\""), "{report}");

    let incomplete = stream_error(MockReply::stream_text(["a"]).without_done());
    assert!(matches!(incomplete, Error::Stream(_)), "{incomplete:?}");
    assert_each_cause_once(&incomplete);

    assert_each_cause_once(&Error::Config("no API key".into()));

    let blocked = block_on(
        MockTransport::conversation([MockReply::blocked("I cannot help with that.")])
            .client()
            .chat(&seed_request()),
    )
    .unwrap()
    .into_unblocked()
    .unwrap_err();
    assert_each_cause_once(&Error::from(blocked));
}

#[test]
fn a_stream_that_breaks_after_its_chunks_says_how_many_were_delivered() {
    let reply = MockReply::stream_text(["a", "b", "c"]).fail_after(2);
    let error = stream_error(reply);
    assert_eq!(error.context().and_then(|c| c.delivered()), Some(2));
    let report = assert_each_cause_once(&error);
    assert_eq!(
        report,
        "POST mock.invalid:443: connection broke after 1 attempt, once 2 chunks were delivered: \
         connection reset mid-stream (scripted by cygnet-mock)"
    );

    // One that breaks before any chunk is re-sent and says nothing of chunks.
    let mock = MockTransport::conversation([MockReply::stream_text(["a"]).fail_after(0)]);
    let client = mock
        .client()
        .with_options(RequestOptions::new().max_retries(0));
    let error = block_on(async {
        let mut stream = client.chat_stream(&seed_request()).await?;
        stream.next_chunk().await.expect("an item")?;
        Ok::<_, Error>(())
    })
    .unwrap_err();
    assert_eq!(error.context().and_then(|c| c.delivered()), None);
    assert!(!error.to_string().contains("delivered"), "{error}");
}

#[test]
fn every_cassette_error_follows_the_rule() {
    let path = PathBuf::from("tests/cassettes/rule.json");
    let io = || std::io::Error::other("the disk is on fire");
    let errors = [
        CassetteError::Missing { path: path.clone() },
        CassetteError::Read {
            path: path.clone(),
            source: io(),
        },
        CassetteError::Invalid {
            path: path.clone(),
            reason: "not JSON".into(),
        },
        CassetteError::NewerVersion {
            path: path.clone(),
            found: 9,
            supported: 1,
        },
        CassetteError::Write {
            path: path.clone(),
            source: io(),
        },
        CassetteError::TooLarge {
            path: path.clone(),
            limit: 10,
        },
        CassetteError::Locked {
            path: path.clone(),
            lock: path.with_extension("json.lock"),
            in_this_process: true,
        },
        CassetteError::Mode {
            path: path.clone(),
            value: "sometimes".into(),
        },
    ];
    for error in &errors {
        let report = assert_each_cause_once(error);
        assert!(report.contains("tests/cassettes/rule.json"), "{report}");
    }
    assert_eq!(
        Report::new(&errors[1]).to_string(),
        "cannot read cassette tests/cassettes/rule.json: the disk is on fire"
    );

    // A replay that finds no answer: the mismatch is the source, said once.
    let dir = tests::fresh_dir(env!("CARGO_TARGET_TMPDIR"), "error-rule");
    let empty = dir.join("empty.json");
    cygnet::mock::Recorder::new(&empty, MockTransport::new())
        .finish()
        .unwrap();
    let replayer = Replayer::open(&empty).unwrap();
    let request = http::Request::post("https://mock.invalid/chat/completion")
        .body(bytes::Bytes::from_static(b"{}"))
        .unwrap();
    let error = block_on(replayer.send(request)).unwrap_err();
    assert!(
        error
            .source()
            .and_then(|e| e.downcast_ref::<cygnet::mock::ReplayMismatch>())
            .is_some(),
        "{error:?}"
    );
    assert_each_cause_once(&error);
}

/// A loopback port with nothing listening on it: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

#[tokio::test]
async fn hyper_errors_show_each_cause_once_and_keep_the_os_error_reachable() {
    let port = closed_port();
    let request = http::Request::post(format!("http://127.0.0.1:{port}/chat/completion"))
        .body(bytes::Bytes::new())
        .unwrap();
    let error = bounded(
        "a refused send",
        cygnet::HyperTransport::new().send(request),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Connect);
    let report = assert_each_cause_once(&error);
    // hyper-util's generic wrapper is not shown; the operating system's words are.
    assert!(!report.contains("client error ("), "{report}");
    assert!(report.contains("Connection refused"), "{report}");
    let os = Report::new(&error)
        .chain()
        .find_map(|e| e.downcast_ref::<std::io::Error>());
    assert_eq!(
        os.map(std::io::Error::kind),
        Some(std::io::ErrorKind::ConnectionRefused)
    );

    let client = hyper_client(format!("http://127.0.0.1:{port}"))
        .max_retries(0)
        .build()
        .expect("client");
    let error = bounded("a refused call", client.chat(&seed_request()))
        .await
        .unwrap_err();
    let report = assert_each_cause_once(&error);
    let prefix = format!("POST 127.0.0.1:{port}: could not connect after 1 attempt: ");
    assert!(report.starts_with(&prefix), "{report}");
    assert!(!report.contains(FAKE_KEY), "{report}");
}

#[test]
fn the_blocking_client_shows_each_cause_once_too() {
    let port = closed_port();
    let (report, links) = bounded_thread(move || {
        let client = cygnet::blocking::Client::builder()
            .api_key(FAKE_KEY)
            .base_url(format!("http://127.0.0.1:{port}"))
            .max_retries(0)
            .build()
            .expect("blocking client");
        let error = client.chat(&seed_request()).unwrap_err();
        (assert_each_cause_once(&error), links(&error))
    });
    assert!(links.len() >= 2, "{links:?}");
    assert!(report.contains("Connection refused"), "{report}");
}
