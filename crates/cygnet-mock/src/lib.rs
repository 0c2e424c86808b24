//! An in-process [`Transport`](cygnet_core::Transport) for testing code that uses the
//! cygnet client: scripted replies, captured requests, a clock the test controls.
//!
//! No network and no async runtime: [`MockTransport`] answers each request with the next
//! [`MockReply`] from its script, records the request as a [`CapturedRequest`], and keeps
//! all time (backoff, timeouts, slow replies, pauses in streams) on a virtual
//! [`MockClock`], so a test of a minute of retries runs in microseconds under any executor.
//!
//! # A scripted conversation
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use cygnet_core::{Transport, TransportErrorKind};
//! use cygnet_mock::{MockReply, MockTransport};
//! use cygnet_types::ToolCall;
//! use serde_json::json;
//!
//! let mock = MockTransport::conversation([
//!     // 1. Rate limited: the client should wait 2 s and retry.
//!     MockReply::json(429, json!({"error": {"message": "slow down"}})).header("retry-after", "2"),
//!     // 2. The model calls a tool.
//!     MockReply::tool_calls(vec![ToolCall::function("call_1", "get_weather", r#"{"location":"Ohio"}"#)]),
//!     // 3. After the tool's answer, it streams its reply in pieces, slowly.
//!     MockReply::stream_text(["It is ", "sunny ", "in Ohio."]).pause_between(Duration::from_millis(200)),
//!     // 4. Then the network fails.
//!     MockReply::error(TransportErrorKind::Connect, "connection refused"),
//! ]);
//!
//! // Normally a `cygnet_core::Client` sends these; here we drive the transport by hand.
//! let post = |body: serde_json::Value| {
//!     http::Request::post("http://mock.invalid/chat/completion")
//!         .header("content-type", "application/json")
//!         .body(Bytes::from(body.to_string()))
//!         .unwrap()
//! };
//! futures_executor::block_on(async {
//!     let first = mock.send(post(json!({"model": "cygnet", "messages": []}))).await.unwrap();
//!     assert_eq!(first.status(), 429);
//!     assert_eq!(first.headers()["retry-after"], "2");
//!     mock.sleep(Duration::from_secs(2)).await; // the client's backoff
//!
//!     let second = mock.send(post(json!({"model": "cygnet", "messages": []}))).await.unwrap();
//!     assert_eq!(second.status(), 200);
//!
//!     let third = mock.send(post(json!({"model": "cygnet", "stream": true, "messages": []}))).await.unwrap();
//!     assert_eq!(third.headers()["content-type"], "text/event-stream");
//!     let mut body = third.into_body();
//!     let mut sse = Vec::new();
//!     while let Some(chunk) = body.chunk().await {
//!         sse.extend_from_slice(&chunk.unwrap());
//!     }
//!     assert!(String::from_utf8(sse).unwrap().ends_with("data: [DONE]\n\n"));
//!
//!     let fourth = mock.send(post(json!({}))).await.unwrap_err();
//!     assert_eq!(fourth.kind(), TransportErrorKind::Connect);
//! });
//!
//! // What was sent, and how long it took on the virtual clock.
//! assert_eq!(mock.request_count(), 4);
//! assert_eq!(mock.requests()[2].json()["stream"], true);
//! assert_eq!(mock.sleeps(), vec![Duration::from_secs(2)]);
//! // 2 s of backoff, and 200 ms before each of the four events after the first (two more
//! // deltas, the chunk with the finish reason, and [DONE]).
//! assert_eq!(mock.clock().elapsed(), Duration::from_millis(2800));
//! mock.assert_all_consumed();
//! ```
//!
//! # What the mock does with each request
//!
//! - The request is recorded first (see [`MockTransport::requests`]), whatever happens next.
//! - It takes the next scripted reply (first in, first out). With none left it asks the
//!   fallback ([`MockTransport::set_fallback`]), and without one the send fails with a
//!   transport error of kind `Other`: `no reply scripted for POST /chat/completion
//!   (request #3)`. That kind is not retried, so a missing script line fails fast.
//! - A reply is used up when its request is sent, even if the caller then gives up
//!   waiting (a timeout): a retry gets the next reply, as on a real server.
//! - The reply's [`delay`](MockReply::delay) passes on the mock clock, then the head (or
//!   the transport error) arrives. Streamed bodies play their script event by event.
//!
//! # Time
//!
//! See [`clock`] for the exact rules. In short: by default the clock jumps to the earliest
//! pending deadline whenever every registered sleep is waiting, so backoff completes at
//! once and races between a slow reply and a timeout end as they would in real time; a
//! [`MockClock::manual`] clock moves only when the test calls [`MockClock::advance`].
//!
//! # Why hand-written
//!
//! The timer is a few dozen lines of discrete-event scheduling over `std` wakers, rather
//! than a runtime's paused time, because the mock must work under any executor and must
//! not pull an async runtime into users' dev-dependencies.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod clock;
mod reply;
mod transport;

pub use clock::{MockClock, MockInstant, MockSleep};
pub use reply::{MockReply, MOCK_COMPLETION_ID, MOCK_CREATED, MOCK_MODEL};
pub use transport::{CapturedRequest, MockTransport, MOCK_API_KEY, MOCK_BASE_URL};
