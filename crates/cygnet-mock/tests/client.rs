//! The mock through the real `cygnet_core::Client`, under `futures_executor` (no tokio).

use std::time::Duration;

use cygnet_core::{ApiErrorKind, Client, ClientBuilder, Error, TimeoutKind, TransportErrorKind};
use cygnet_mock::{MockReply, MockTransport, MOCK_API_KEY};
use cygnet_types::{FinishReason, ToolCall};
use futures_executor::block_on;
use serde_json::json;

use cygnet_test_support::{
    bounded_thread as bounded, chunks_then_error, seed_request as request, streamed_completion,
    streamed_text,
};

const S: fn(u64) -> Duration = Duration::from_secs;

/// A client of `mock`, set up by `configure`, that does not retry (a timeout must show).
fn client_without_retries(
    mock: &MockTransport,
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Client {
    configure(mock.client_builder())
        .max_retries(0)
        .build()
        .unwrap()
}

#[test]
fn scripted_completion_and_the_request_sent() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::text("An LLM is a model.")]);
        let completion = block_on(mock.client().chat(&request())).unwrap();
        assert_eq!(completion.content(), Some("An LLM is a model."));
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::Stop)
        );

        let sent = mock.last_request().unwrap();
        assert_eq!(sent.method(), "POST");
        assert_eq!(sent.path(), "/chat/completion");
        assert_eq!(
            sent.header("authorization"),
            Some(format!("Bearer {MOCK_API_KEY}").as_str())
        );
        assert_eq!(
            sent.json()["messages"][1]["content"],
            "What is a large language model?"
        );
        assert!(sent.json().get("stream").is_none());
        mock.assert_all_consumed();
    });
}

#[test]
fn streaming_text_through_the_client() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::stream_text(["Hel", "lo", " wörld"]).read_sizes([1])
        ]);
        let text = block_on(streamed_text(&mock.client(), &request())).unwrap();
        assert_eq!(text, "Hello wörld");
        assert_eq!(mock.last_request().unwrap().json()["stream"], true);
        assert_eq!(mock.open_bodies(), 0, "the stream's body was released");
    });
}

#[test]
fn tool_calls_plain_and_streamed_through_the_client() {
    bounded(|| {
        let calls = vec![ToolCall::function(
            "call_1",
            "get_weather",
            r#"{"location":"Ohio"}"#,
        )];
        let mock = MockTransport::conversation([
            MockReply::tool_calls(calls.clone()),
            MockReply::stream_tool_calls(calls.clone(), 5),
        ]);
        let client = mock.client();
        let completion = block_on(client.chat(&request())).unwrap();
        assert_eq!(completion.tool_calls(), &calls[..]);

        let streamed = block_on(streamed_completion(&client, &request())).unwrap();
        assert_eq!(streamed.tool_calls(), &calls[..]);
        assert_eq!(
            streamed.choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );
    });
}

#[test]
fn an_api_error_keeps_status_and_message() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::json(
            400,
            json!({"error": {"message": "unknown model"}}),
        )
        .header("x-request-id", "req_42")]);
        let err = block_on(mock.client().chat(&request())).unwrap_err();
        let api = err.as_api().expect("an API error");
        assert_eq!(api.kind, ApiErrorKind::BadRequest);
        assert_eq!(api.status.map(|s| s.as_u16()), Some(400));
        assert_eq!(api.message.as_deref(), Some("unknown model"));
        assert_eq!(api.request_id(), Some("req_42"));
        assert_eq!(mock.request_count(), 1, "400 is not retried");
    });
}

#[test]
fn rate_limited_then_success_waits_what_retry_after_says() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::json(429, json!({"error": {"message": "slow down"}}))
                .header("retry-after", "2"),
            MockReply::text("ok"),
        ]);
        let completion = block_on(mock.client().chat(&request())).unwrap();
        assert_eq!(completion.content(), Some("ok"));
        assert_eq!(mock.request_count(), 2);
        assert!(mock.sleeps().contains(&S(2)), "{:?}", mock.sleeps());
        // The request timeouts lost their races; only the backoff ran to its end.
        assert_eq!(mock.completed_sleeps(), vec![S(2)]);
        assert_eq!(mock.clock().elapsed(), S(2));
        // Both attempts sent the same body.
        let requests = mock.requests();
        assert_eq!(requests[0].body(), requests[1].body());
    });
}

#[test]
fn backoff_schedule_grows_when_the_server_gives_no_hint() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::json(503, json!({})),
            MockReply::error(TransportErrorKind::Connect, "connection refused"),
            MockReply::json(500, json!({})),
        ]);
        let err = block_on(
            mock.client_builder()
                .max_retries(2)
                .build()
                .unwrap()
                .chat(&request()),
        )
        .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
        let backoff = mock.completed_sleeps();
        assert_eq!(backoff.len(), 2);
        // 1 s then 2 s, each shortened by up to 25 % of jitter.
        assert!(
            (Duration::from_millis(750)..=S(1)).contains(&backoff[0]),
            "{backoff:?}"
        );
        assert!(
            (Duration::from_millis(1500)..=S(2)).contains(&backoff[1]),
            "{backoff:?}"
        );
        assert_eq!(mock.clock().elapsed(), backoff[0] + backoff[1]);
        mock.assert_all_consumed();
    });
}

#[test]
fn a_slow_reply_beats_or_misses_the_request_timeout_on_virtual_time() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::text("in time").delay(S(5)),
            MockReply::text("too late").delay(S(20)),
        ]);
        let client = client_without_retries(&mock, |builder| builder.timeout(S(10)));
        let started = std::time::Instant::now();
        assert_eq!(
            block_on(client.chat(&request())).unwrap().content(),
            Some("in time")
        );
        assert_eq!(mock.clock().elapsed(), S(5));
        let err = block_on(client.chat(&request())).unwrap_err();
        assert!(
            matches!(err.timeout_kind(), Some(TimeoutKind::Request(d)) if d == S(10)),
            "{err:?}"
        );
        assert_eq!(mock.clock().elapsed(), S(15));
        assert!(started.elapsed() < S(5), "no real waiting");
    });
}

#[test]
fn a_stalled_stream_trips_the_idle_timeout() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::stream_text(["a", "b"]).stall_after(1)]);
        let client = client_without_retries(&mock, |builder| builder.stream_idle_timeout(S(30)));
        let (first, end) = block_on(async {
            let mut stream = client.chat_stream(&request()).await.unwrap();
            let first = stream.next_chunk().await;
            let mut end = None;
            while let Some(item) = stream.next_chunk().await {
                if let Err(e) = item {
                    end = Some(e);
                    break;
                }
            }
            (first, end)
        });
        assert_eq!(first.unwrap().unwrap().content(), Some("a"));
        let end = end.expect("an error");
        assert!(
            matches!(end.timeout_kind(), Some(TimeoutKind::Idle(_))),
            "{end:?}"
        );
        assert_eq!(mock.clock().elapsed(), S(30));
    });
}

#[test]
fn in_stream_errors_and_truncation_reach_the_caller() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::stream_text(["a"])
                .error_after(1, "overloaded")
                .without_done(),
            MockReply::stream_text(["a", "b"]).without_done(),
        ]);
        let client = mock.client();
        let last_error = |client: &cygnet_core::Client| {
            block_on(chunks_then_error(client, &request()))
                .unwrap_or_else(|_| panic!("the stream ended without an error"))
        };
        let (chunks, err) = last_error(&client);
        assert_eq!(chunks, 1);
        let api = err.as_api().expect("an API error");
        assert_eq!(api.kind, ApiErrorKind::InStream);
        assert_eq!(api.message.as_deref(), Some("overloaded"));

        let (chunks, err) = last_error(&client);
        assert_eq!(chunks, 3);
        assert!(matches!(err, Error::Stream(_)), "{err:?}");
    });
}
