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
//! A test scripts what the "server" answers, runs the code under test against
//! [`MockTransport::client`], then checks what was sent and how long it took on the
//! virtual clock. Any executor works; this one is `futures_executor`, no tokio.
//!
//! ```
//! use std::time::Duration;
//! use cygnet_core::{Error, TransportErrorKind};
//! use cygnet_mock::{MockReply, MockTransport};
//! use cygnet_types::{ChatCompletionRequest, Message, Tool, ToolCall};
//! use serde_json::json;
//!
//! let mock = MockTransport::conversation([
//!     // 1. Rate limited: the client waits what retry-after says, then retries.
//!     MockReply::json(429, json!({"error": {"message": "slow down"}})).header("retry-after", "2"),
//!     // 2. The model calls a tool.
//!     MockReply::tool_calls(vec![ToolCall::function("call_1", "get_weather", r#"{"location":"Ohio"}"#)]),
//!     // 3. Given the tool's answer, it streams its reply, 200 ms between events.
//!     MockReply::stream_text(["It is ", "sunny ", "in Ohio."]).pause_between(Duration::from_millis(200)),
//!     // 4. Then the network fails, on every attempt.
//!     MockReply::error(TransportErrorKind::Connect, "connection refused"),
//! ]);
//! // Two clients on the same mock: one with the default retries (for step 1), one without
//! // (so step 4's failure surfaces at once instead of being retried).
//! let retrying = mock.client();
//! let client = mock.client_builder().max_retries(0).build()?;
//!
//! let weather = Tool::function("get_weather", "Current weather", json!({"type": "object"}));
//! let mut messages = vec![Message::user("Weather in Ohio?")];
//! futures_executor::block_on(async {
//!     let request = ChatCompletionRequest::new("cygnet", messages.clone()).tools(vec![weather]);
//!     let first = retrying.chat(&request).await?; // 429, wait, then step 2
//!     let call = &first.tool_calls()[0];
//!     assert_eq!(call.function.name, "get_weather");
//!
//!     messages.push(Message::assistant_tool_calls(first.tool_calls().to_vec()));
//!     messages.push(Message::tool(&call.id, r#"{"sky":"sunny"}"#));
//!     let request = ChatCompletionRequest::new("cygnet", messages.clone());
//!     let mut stream = client.chat_stream(&request).await?;
//!     let mut answer = String::new();
//!     while let Some(chunk) = stream.next_chunk().await {
//!         answer.push_str(chunk?.content().unwrap_or_default());
//!     }
//!     assert_eq!(answer, "It is sunny in Ohio.");
//!
//!     let failed = client.chat(&request).await.unwrap_err();
//!     assert!(matches!(failed, Error::Transport(ref e) if e.kind() == TransportErrorKind::Connect));
//!     Ok::<_, Error>(())
//! })?;
//!
//! // What was sent...
//! assert_eq!(mock.request_count(), 4);
//! let requests = mock.requests();
//! assert_eq!(requests[0].body(), requests[1].body()); // the retry resent the same body
//! assert_eq!(requests[1].json()["tools"][0]["function"]["name"], "get_weather");
//! assert_eq!(requests[2].json()["stream"], true);
//! assert_eq!(requests[2].json()["messages"][2]["tool_call_id"], "call_1");
//! // ...and when: a 2 s backoff, plus 200 ms before each of the four events after the
//! // first (two more deltas, the chunk with the finish reason, and [DONE]).
//! assert_eq!(mock.completed_sleeps(), vec![Duration::from_secs(2)]);
//! assert_eq!(mock.clock().elapsed(), Duration::from_millis(2800));
//! mock.assert_all_consumed();
//! # Ok::<(), Error>(())
//! ```
//!
//! Other faults to script: [`MockReply::raw`] for an HTML page from a proxy,
//! [`MockReply::without_done`] for a cut-off stream, [`MockReply::error_after`] for an
//! error event inside a stream, [`MockReply::fail_after`] for a connection reset
//! mid-stream, [`MockReply::delay`], [`MockReply::hang`] and [`MockReply::stall_after`]
//! for the timeouts, [`MockReply::read_sizes`] to split a body at every byte.
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
#![deny(rustdoc::broken_intra_doc_links)]
#![forbid(unsafe_code)]

pub mod clock;
mod reply;
mod transport;

pub use clock::{MockClock, MockInstant, MockSleep};
pub use reply::{MockReply, MOCK_COMPLETION_ID, MOCK_CREATED, MOCK_MODEL};
pub use transport::{CapturedRequest, MockTransport, MOCK_API_KEY, MOCK_BASE_URL};
