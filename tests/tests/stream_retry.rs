//! A streaming request is retried only before any of its events reach the caller: a stream
//! that breaks or stalls before its first event is sent again; one that breaks after it is
//! reported, never restarted (the caller would see the answer begin twice).

use std::time::Duration;

use cygnet::mock::{MockReply, MockTransport};
use cygnet::{Error, RequestOptions, StreamError, TimeoutKind};
use futures_executor::block_on;
use tests::seed_request;

fn collect(mock: &MockTransport, options: RequestOptions) -> (Vec<String>, Option<Error>) {
    let client = mock.client().with_options(options);
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

#[test]
fn a_stream_broken_before_its_first_event_is_sent_again() {
    let mock = MockTransport::new()
        .with_reply(MockReply::stream_text(["Hel", "lo"]).fail_after(0))
        .with_reply(MockReply::stream_text(["Hel", "lo"]));
    let (texts, error) = collect(&mock, RequestOptions::new());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(texts.concat(), "Hello");
    assert_eq!(mock.request_count(), 2);
    // The body was built once and sent twice, byte for byte.
    let requests = mock.requests();
    assert_eq!(requests[0].body(), requests[1].body());
    // One backoff wait between the attempts, on the mock's clock.
    assert_eq!(mock.completed_sleeps().len(), 1);
}

#[test]
fn a_stream_stalled_before_its_first_event_times_out_and_is_sent_again() {
    let mock = MockTransport::new()
        .with_reply(MockReply::stream_text(["Hel", "lo"]).stall_after(0))
        .with_reply(MockReply::stream_text(["Hel", "lo"]));
    let options = RequestOptions::new().stream_idle_timeout(Duration::from_secs(5));
    let (texts, error) = collect(&mock, options);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(texts.concat(), "Hello");
    assert_eq!(mock.request_count(), 2);
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
