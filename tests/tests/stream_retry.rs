//! A streaming request is retried only before any of its events reach the caller: a stream
//! that breaks, ends or stalls before its first event is sent again, each attempt with fresh
//! timers; one that breaks after it is reported, never restarted (the caller would see the
//! answer begin twice). A bound on the whole stream ends a drip. All on the mock's clock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use cygnet::mock::{MockReply, MockTransport};
use cygnet::transport::{async_trait, Body, Sleep, Transport, TransportError, TransportErrorKind};
use cygnet::{Error, RequestOptions, StreamError, TimeoutKind};
use futures_executor::block_on;
use tests::seed_request;

fn collect(mock: &MockTransport, options: RequestOptions) -> (Vec<String>, Option<Error>) {
    collect_from(mock.client().with_options(options))
}

fn collect_from(client: cygnet::Client) -> (Vec<String>, Option<Error>) {
    block_on(async {
        let mut stream = client
            .chat_stream(&seed_request())
            .await
            .expect("stream opens");
        let mut texts = Vec::new();
        while let Some(item) = stream.next_chunk().await {
            match item {
                Ok(chunk) => texts.extend(chunk.content().map(str::to_owned)),
                Err(e) => return (texts, Some(e)),
            }
        }
        (texts, None)
    })
}

/// Asserts that a stream answered first by `first` is sent again and then read whole (the
/// second answer streams `Hello`); returns the mock for more checks.
fn assert_sent_again(first: MockReply, options: RequestOptions) -> MockTransport {
    let mock = MockTransport::new()
        .with_reply(first)
        .with_reply(MockReply::stream_text(["Hel", "lo"]));
    let (texts, error) = collect(&mock, options);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(texts.concat(), "Hello");
    assert_eq!(mock.request_count(), 2);
    mock
}

/// Asserts that `error` is a timeout of `kind` after `attempts` attempts.
fn assert_timed_out(error: &Error, kind: TimeoutKind, attempts: u32) {
    assert_eq!(error.timeout_kind(), Some(kind), "{error:?}");
    assert_eq!(error.attempts(), Some(attempts));
}

#[test]
fn a_stream_broken_before_its_first_event_is_sent_again() {
    let mock = assert_sent_again(
        MockReply::stream_text(["Hel", "lo"]).fail_after(0),
        RequestOptions::new(),
    );
    // The body was built once and sent twice, byte for byte.
    let requests = mock.requests();
    assert_eq!(requests[0].body(), requests[1].body());
    // One backoff wait between the attempts, on the mock's clock.
    assert_eq!(mock.completed_sleeps().len(), 1);
}

#[test]
fn a_stream_stalled_before_its_first_event_times_out_and_is_sent_again() {
    let options = RequestOptions::new().stream_idle_timeout(Duration::from_secs(5));
    assert_sent_again(
        MockReply::stream_text(["Hel", "lo"]).stall_after(0),
        options,
    );
}

#[test]
fn a_stream_broken_after_an_event_is_reported_not_restarted() {
    let mock = MockTransport::new()
        .with_reply(MockReply::stream_text(["Hel", "lo", "!"]).fail_after(2))
        .with_reply(MockReply::stream_text(["never", "sent"]));
    let (texts, error) = collect(&mock, RequestOptions::new());
    // Two events (one delta each) arrived, then the connection broke.
    assert_eq!(texts.concat(), "Hello");
    assert!(matches!(error, Some(Error::Transport(_))), "{error:?}");
    assert_eq!(mock.request_count(), 1);
    assert_eq!(mock.remaining(), 1);
}

#[test]
fn a_stream_stalled_after_an_event_fails_with_an_idle_timeout() {
    let mock = MockTransport::new()
        .with_reply(MockReply::stream_text(["Hel", "lo"]).stall_after(2))
        .with_reply(MockReply::stream_text(["never"]));
    let options = RequestOptions::new().stream_idle_timeout(Duration::from_secs(7));
    let (texts, error) = collect(&mock, options);
    assert_eq!(texts.concat(), "Hello");
    assert!(
        matches!(error.as_ref().and_then(Error::timeout_kind), Some(TimeoutKind::Idle(d)) if d == Duration::from_secs(7)),
        "{error:?}"
    );
    assert_eq!(mock.request_count(), 1);
    assert_eq!(mock.clock().elapsed(), Duration::from_secs(7));
}

#[test]
fn retries_are_bounded_even_before_the_first_event() {
    let mock = MockTransport::new()
        .with_reply(MockReply::stream_text(["a"]).fail_after(0))
        .with_reply(MockReply::stream_text(["a"]).fail_after(0))
        .with_reply(MockReply::stream_text(["a"]).fail_after(0))
        .with_reply(MockReply::stream_text(["never"]));
    let (texts, error) = collect(&mock, RequestOptions::new().max_retries(2));
    assert!(texts.is_empty());
    assert!(matches!(error, Some(Error::Transport(_))), "{error:?}");
    assert_eq!(mock.request_count(), 3);
}

#[test]
fn a_stream_without_done_yields_its_chunks_then_an_error() {
    let mock =
        MockTransport::new().with_reply(MockReply::stream_text(["Hel", "lo"]).without_done());
    let (texts, error) = collect(&mock, RequestOptions::new());
    assert_eq!(texts.concat(), "Hello");
    assert!(
        matches!(error, Some(Error::Stream(StreamError::Incomplete { chunks })) if chunks >= 2),
        "{error:?}"
    );
}

/// The mock, except that the body of its first answer stays quiet for `quiet` on the mock's
/// clock and then breaks: a failure that follows silence rather than bytes, which the mock's
/// scripts do not make.
struct QuietThenReset {
    mock: MockTransport,
    quiet: Duration,
    used: AtomicBool,
}

#[async_trait]
impl Transport for QuietThenReset {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Body>, TransportError> {
        let response = self.mock.send(request).await?;
        if self.used.swap(true, Ordering::SeqCst) {
            return Ok(response);
        }
        let quiet = self.mock.clock().sleep(self.quiet);
        let body = futures_util::stream::once(async move {
            quiet.await;
            Err(TransportError::new(
                TransportErrorKind::Io,
                "connection reset by peer",
            ))
        });
        Ok(response.map(|_| Body::from_stream(body)))
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.mock.sleep(duration)
    }
}

#[test]
fn every_attempt_of_a_stream_starts_with_fresh_timers() {
    let mock = MockTransport::new()
        // Its body is replaced: quiet for 50 ms, then a reset.
        .with_reply(MockReply::stream_text(["never"]))
        .with_reply(MockReply::stream_text(["never"]).stall_after(0));
    let transport = QuietThenReset {
        mock: mock.clone(),
        quiet: Duration::from_millis(50),
        used: AtomicBool::new(false),
    };
    let client = mock
        .client_builder()
        .transport(transport)
        .max_retries(1)
        .stream_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (texts, error) = collect_from(client);
    assert!(texts.is_empty());
    let error = error.expect("the second attempt times out");
    assert_timed_out(&error, TimeoutKind::Idle(Duration::from_secs(2)), 2);
    assert_eq!(mock.request_count(), 2);
    // The backoff wait, then the second attempt's own 2 s of silence: the first attempt's
    // idle timer (started at 0, dropped at the reset) had no say in it.
    let completed = mock.completed_sleeps();
    assert_eq!(completed.len(), 2, "{completed:?}");
    assert_eq!(completed[1], Duration::from_secs(2));
    assert_eq!(
        mock.clock().elapsed(),
        Duration::from_millis(50) + completed[0] + Duration::from_secs(2)
    );
}

#[test]
fn a_stream_that_ends_cleanly_before_its_first_event_is_sent_again() {
    // A comment, then a clean end: no event reached the caller.
    assert_sent_again(
        MockReply::sse_raw(": keep-alive\n\n"),
        RequestOptions::new(),
    );
}

#[test]
fn a_retryable_answer_to_a_resend_is_retried_within_the_same_budget() {
    let mock = MockTransport::new()
        .with_reply(MockReply::stream_text(["a"]).fail_after(0))
        .with_reply(MockReply::json(
            503,
            serde_json::json!({"error": {"message": "busy"}}),
        ))
        .with_reply(MockReply::stream_text(["Hel", "lo"]));
    let (texts, error) = collect(&mock, RequestOptions::new().max_retries(2));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(texts.concat(), "Hello");
    assert_eq!(mock.request_count(), 3);

    // With one retry the budget ends at the 503, and the 503 is what the caller sees.
    let mock = MockTransport::new()
        .with_reply(MockReply::stream_text(["a"]).fail_after(0))
        .with_reply(MockReply::json(
            503,
            serde_json::json!({"error": {"message": "busy"}}),
        ))
        .with_reply(MockReply::stream_text(["never"]));
    let (_, error) = collect(&mock, RequestOptions::new().max_retries(1));
    let error = error.expect("the 503 ends the stream");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{error:?}");
    assert_eq!(mock.request_count(), 2);
}

#[test]
fn the_error_after_the_last_attempt_is_that_attempts_own() {
    let mock = MockTransport::new()
        .with_reply(MockReply::stream_text(["a"]).stall_after(0))
        .with_reply(MockReply::stream_text(["a"]).fail_after(0))
        .with_reply(MockReply::stream_text(["never"]));
    let options = RequestOptions::new()
        .max_retries(1)
        .stream_idle_timeout(Duration::from_secs(2));
    let (texts, error) = collect(&mock, options);
    assert!(texts.is_empty());
    let error = error.expect("the reset ends the stream");
    assert!(
        matches!(&error, Error::Transport(e) if e.kind() == TransportErrorKind::Io),
        "{error:?}"
    );
    assert_eq!(error.attempts(), Some(2));
    assert_eq!(
        error.report().to_string(),
        "POST mock.invalid:443: connection broke after 2 attempts: \
         connection reset mid-stream (scripted by cygnet-mock)"
    );
    assert_eq!(mock.request_count(), 2);
}

#[test]
fn a_drip_that_outlasts_the_whole_stream_bound_ends_with_a_timeout_after_its_chunks() {
    let drip =
        || MockReply::stream_text(["a", "b", "c", "d", "e"]).pause_between(Duration::from_secs(1));
    let mock = MockTransport::new().with_reply(drip());
    let options = RequestOptions::new().stream_total_timeout(Duration::from_millis(2500));
    let (texts, error) = collect(&mock, options);
    // Events at 0 s, 1 s and 2 s arrived; the next was due at 3 s.
    assert_eq!(texts.concat(), "abc");
    let error = error.expect("the bound ends the stream");
    assert_timed_out(
        &error,
        TimeoutKind::StreamTotal(Duration::from_millis(2500)),
        1,
    );
    assert_eq!(mock.clock().elapsed(), Duration::from_millis(2500));
    assert_eq!(mock.request_count(), 1, "a passed bound is not retried");

    // Set on the client, overridden per request.
    let mock = MockTransport::new().with_reply(drip()).with_reply(drip());
    let client = mock
        .client_builder()
        .stream_total_timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let (texts, error) = collect_from(client.clone());
    assert_eq!(texts.concat(), "ab");
    assert!(error.is_some_and(|e| e.timeout_kind().is_some()));
    let longer = RequestOptions::new().stream_total_timeout(Duration::from_secs(60));
    let (texts, error) = collect_from(client.with_options(longer));
    assert!(error.is_none(), "{error:?}");
    assert_eq!(texts.concat(), "abcde");
}

#[test]
fn the_whole_stream_bound_covers_the_wait_for_the_head() {
    let mock = MockTransport::new()
        .with_reply(MockReply::stream_text(["late"]).delay(Duration::from_secs(10)));
    let client = mock
        .client()
        .with_options(RequestOptions::new().stream_total_timeout(Duration::from_secs(3)));
    let error = block_on(client.chat_stream(&seed_request())).unwrap_err();
    assert_eq!(
        error.timeout_kind(),
        Some(TimeoutKind::StreamTotal(Duration::from_secs(3))),
        "{error:?}"
    );
    assert_eq!(mock.clock().elapsed(), Duration::from_secs(3));
}

#[test]
fn a_streaming_answer_that_is_not_a_stream_says_what_it_was() {
    let mock = MockTransport::new().with_reply(MockReply::json(
        200,
        serde_json::json!({"error": {"message": "quota exceeded"}}),
    ));
    let client = mock
        .client()
        .with_options(RequestOptions::new().max_retries(0));
    let error = block_on(client.chat_stream(&seed_request())).unwrap_err();
    let api = error.as_api().expect("an API error");
    assert_eq!(api.status.map(|s| s.as_u16()), Some(200));
    assert_eq!(api.message.as_deref(), Some("quota exceeded"));
    assert_eq!(api.headers["content-type"], "application/json");

    let mock = MockTransport::new().with_reply(
        MockReply::raw(200, "<html><body>Service Unavailable</body></html>")
            .header("content-type", "text/html; charset=utf-8"),
    );
    let error = block_on(mock.client().chat_stream(&seed_request())).unwrap_err();
    assert!(matches!(error, Error::Decode(_)), "{error:?}");
    let text = error.report().to_string();
    assert!(text.contains("200 OK"), "{text}");
    assert!(text.contains("text/html; charset=utf-8"), "{text}");
    assert!(text.contains("Service Unavailable"), "{text}");
    assert_eq!(mock.request_count(), 1, "not retried");
}
