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
//! virtual clock. Any executor works (`#[tokio::test]`, smol); this one is the mock's own
//! [`block_on`], so a test needs no runtime.
//!
//! ```
//! use std::time::Duration;
//! use cygnet::{Error, TransportErrorKind};
//! use cygnet::mock::{MockReply, MockTransport};
//! use cygnet::types::{ChatCompletionRequest, Message, Tool, ToolCall};
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
//! cygnet::mock::block_on(async {
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
//! A Cygnal monitor answer is one line too: `MockReply::monitor(0.93).ipi(true)` (see
//! [`MockReply::monitor`], [`MockReply::ipi`], [`MockReply::mutation`],
//! [`MockReply::violated_rule`]).
//!
//! Cygnal's protected completions too: [`MockTransport::cygnal`] is the route on the mock
//! client, the OpenAI-format replies above are its answers, [`MockReply::with_usage`] adds
//! the `include_usage` chunk, and [`CapturedRequest::provider_key`] and
//! [`CapturedRequest::grayswan_key`] show that both keys arrived.
//!
//! # What the mock does with each request
//!
//! - The request is recorded first (see [`MockTransport::requests`]), whatever happens next.
//! - It takes the next scripted reply (first in, first out), passing by any reply kept for
//!   another path ([`MockReply::on_path`]). With none left it asks the
//!   fallback ([`MockTransport::set_fallback`]), and without one the send fails with a
//!   transport error of kind `Other`: `no reply scripted for POST /chat/completion
//!   (request #3)`. That kind is not retried, so a missing script line fails fast.
//! - A reply is used up when its request is sent, even if the caller then gives up
//!   waiting (a timeout): a retry gets the next reply, as on a real server.
//! - The reply's [`delay`](MockReply::delay) passes on the mock clock, then the head (or
//!   the transport error) arrives. Streamed bodies play their script event by event.
//! - The head carries the content type of what the reply is: `application/json` for
//!   JSON replies, `text/event-stream` for streams. A streaming call answered with a JSON
//!   reply therefore fails, as against a server that ignored `"stream": true`.
//! - A modifier that cannot apply to its reply ([`MockReply::fail_after`] on a JSON
//!   reply, say) panics when the test builds the reply, naming the method and what to
//!   use instead.
//!
//! # Time
//!
//! See [`clock`] for the exact rules. In short: by default the clock jumps to the earliest
//! pending deadline whenever every registered sleep is waiting, so backoff completes at
//! once and races between a slow reply and a timeout end as they would in real time; a
//! [`MockClock::manual`] clock moves only when the test calls [`MockClock::advance`].
//!
//! # Record and replay
//!
//! Scripting replies by hand is one way; the other is to record a real conversation once
//! and replay it in every later run: real chunk boundaries, real tool-call fragments, real
//! error bodies, and no key and no network in CI.
//!
//! - [`Recorder`] wraps any transport (in practice cygnet-hyper's), passes every exchange
//!   through unchanged, streams as streams, and writes a [cassette](cassette_format): a
//!   pretty-printed JSON file with each request (method, path, body) and what came back
//!   (status, the headers the client reads, the body, streamed bodies as the exact chunks
//!   that arrived, transport errors). It is rewritten after every exchange, so a test that
//!   panics half-way keeps what it recorded; [`Recorder::finish`] reports a failed write.
//! - [`Replayer`] answers from a cassette: each request gets the first unused exchange
//!   with the same method, path and (JSON-equal) body, so reordered calls still match. A
//!   request with no match fails with a [`ReplayMismatch`] naming the closest recorded
//!   request and where the bodies differ. Time runs on a [`MockClock`].
//! - [`Cassette::auto`] chooses: record when the file is missing (or when
//!   `CYGNET_RECORD=1`), replay otherwise, and in replay mode the real transport is never
//!   even built. `CYGNET_RECORD=0` forbids recording; with `CI` set a missing cassette is
//!   an error rather than a recording, unless asked ([`Cassette::record_in_ci`]).
//! - A recording never captures what it cannot have meant to: no request without a real key
//!   ([`REPLAY_API_KEY`] is the stand-in it refuses), no transport failure unless
//!   [`Cassette::record_failures`] asks, and no file when nothing was recorded (see
//!   [`recorder`](recorder#what-is-never-recorded)).
//! - The API key, `Authorization`, `grayswan-api-key` and cookies are never written;
//!   [`Redactions`] adds headers, JSON fields and literal values of your own.
//!
//! ```
//! use cygnet::mock::{Cassette, MockReply, MockTransport, RecordMode};
//! use cygnet::types::{ChatCompletionRequest, Message};
//!
//! let path = std::env::temp_dir().join(format!("cygnet-doc-{}.json", std::process::id()));
//! # let _ = std::fs::remove_file(&path);
//! let request = ChatCompletionRequest::new("cygnet", vec![Message::user("Hi")]);
//! // In a real suite `real` is `cygnet::HyperTransport::new`, and the mode comes from
//! // CYGNET_RECORD; here the "real" server is a mock, and the modes are forced.
//! let real = || MockTransport::conversation([MockReply::stream_text(["Hel", "lo!"])]);
//! for mode in [RecordMode::Always, RecordMode::Never] {
//!     let transport = Cassette::new(&path).mode(mode).transport(real)?;
//!     let client = cygnet::Client::builder()
//!         .api_key("sk-test-fake")
//!         .transport(transport.clone())
//!         .build()?;
//!     let text = cygnet::mock::block_on(async {
//!         let mut stream = client.chat_stream(&request).await?;
//!         let mut text = String::new();
//!         while let Some(chunk) = stream.next_chunk().await {
//!             text.push_str(chunk?.content().unwrap_or_default());
//!         }
//!         Ok::<_, cygnet::Error>(text)
//!     })?;
//!     assert_eq!(text, "Hello!");
//!     assert_eq!(transport.is_recording(), mode == RecordMode::Always);
//!     transport.finish()?;
//! }
//! let cassette = std::fs::read_to_string(&path)?;
//! assert!(cassette.contains("\"chunks\""));
//! assert!(!cassette.contains("sk-test-fake"));
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why hand-written
//!
//! The timer is a few dozen lines of discrete-event scheduling over `std` wakers, rather
//! than a runtime's paused time, because the mock must work under any executor and must
//! not pull an async runtime into users' dev-dependencies.
//!
//! The cassette format is hand-written over serde_json too (a few serde structs, and hex for
//! the rare chunk that is not UTF-8 on its own) rather than a VCR crate's: those record
//! whole bodies, not the chunks a stream arrived in, and would need an HTTP library.
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![forbid(unsafe_code)]

pub mod clock;
mod executor;
mod fixtures;
pub mod record_replay;
mod reply;
mod scripted_body;
mod transport;

// Record and replay live in their own folder; their modules keep their old paths.
pub use record_replay::{cassette, cassette_format, recorder, redact, replay};

pub use cassette::{Cassette, CassetteTransport, RecordMode, CI_ENV, RECORD_ENV};
pub use cassette_format::{
    CassetteError, CASSETTE_FORMAT_VERSION, MAX_CASSETTE_BYTES, REPLAY_API_KEY,
};
pub use clock::{MockClock, MockInstant, MockSleep};
pub use executor::{block_on, now_or_never};
pub use fixtures::{MOCK_COMPLETION_ID, MOCK_CREATED, MOCK_MODEL};
pub use recorder::Recorder;
pub use redact::{Redactions, REDACTED};
pub use replay::{ReplayMismatch, Replayer};
pub use reply::MockReply;
pub use transport::{
    CapturedRequest, MockTransport, MOCK_API_KEY, MOCK_BASE_URL, MOCK_PROVIDER_KEY,
};
