//! The reply builder: [`MockReply`], what the mock answers to one request.
//!
//! A reply is a head (status and headers) with a body, a transport error, or nothing at
//! all ([`MockReply::hang`]), plus a delay before it arrives. Constructors pick the kind
//! and the `content-type` (`application/json` for JSON answers, `text/event-stream` for
//! streams, `text/plain` for raw bodies) so the client sees what a server would send;
//! the wire content itself comes from [`fixtures`], and how the body
//! is played out (pauses, read sizes, faults) from the
//! [scripted body](crate::scripted_body).
//!
//! Modifiers refuse combinations that mean nothing, when the test is written: a
//! stream-only fault on a whole JSON body, a status on a transport error. They panic
//! with a message naming the method and what to use instead, rather than being silently
//! ignored and leaving a test that passes without testing what it says.

use std::time::Duration;

use bytes::Bytes;
use cygnet_core::transport::{Body, TransportError, TransportErrorKind};
use cygnet_types::{ChatCompletion, ChatCompletionChunk, ToolCall};
use serde_json::Value;

use crate::clock::MockClock;
use crate::fixtures;
use crate::scripted_body::{BodyGuard, ReplyBody, StreamScript};

/// What the mock answers to one request.
///
/// Build one with a constructor ([`json`](Self::json), [`text`](Self::text),
/// [`stream_text`](Self::stream_text), [`error`](Self::error), ...), adjust it with the
/// builder methods, and script it with [`MockTransport::push`](crate::MockTransport::push).
///
/// ```
/// use std::time::Duration;
/// use cygnet::mock::MockReply;
///
/// let rate_limited = MockReply::json(429, serde_json::json!({"error": {"message": "slow down"}}))
///     .header("retry-after", "2");
/// let slow = MockReply::text("Hello").delay(Duration::from_secs(5));
/// let chunked = MockReply::stream_text(["Hel", "lo"]).read_sizes([3]);
/// # let _ = (rate_limited, slow, chunked);
/// ```
///
/// A builder method that cannot apply to the reply it is given panics at once (see each
/// method's `# Panics`): a stream-only fault on a JSON reply would otherwise be ignored,
/// and the test would not test what it says.
///
/// ```should_panic
/// // Panics: a JSON reply has no events to fail after; use a streamed reply.
/// let reply = cygnet::mock::MockReply::text("fine").fail_after(0);
/// # let _ = reply;
/// ```
#[derive(Clone, Debug)]
#[must_use = "a reply does nothing until it is scripted with MockTransport::push"]
pub struct MockReply {
    kind: ReplyKind,
    delay: Duration,
    /// Set by [`MockReply::on_path`]: only a request to this path takes the reply.
    path: Option<String>,
}

#[derive(Clone, Debug)]
enum ReplyKind {
    Response(Box<Response>),
    Error {
        kind: TransportErrorKind,
        message: String,
    },
    Hang,
}

#[derive(Clone, Debug)]
struct Response {
    status: u16,
    /// Kept as text and checked at send time, so a bad name fails the request with a
    /// clear error instead of panicking in the builder.
    headers: Vec<(String, String)>,
    body: ReplyBody,
    /// Made by [`MockReply::monitor`]: the monitor's modifiers may edit its JSON body.
    monitor: bool,
}

/// The streamed constructors, for panic messages.
const STREAMED: &str = "streamed replies (stream_text, stream_tool_calls, stream_blocked, \
                        stream_chunks, sse_events, sse_raw)";
/// The monitor's constructor, for panic messages.
const MONITOR: &str = "monitor replies (MockReply::monitor)";
/// The constructors with a head and a body, for panic messages.
const ANSWERS: &str = "replies with a head and a body (json, raw, text, completion, \
                       tool_calls and the streamed ones)";

impl MockReply {
    fn response(status: u16, content_type: &str, body: ReplyBody) -> Self {
        Self {
            kind: ReplyKind::Response(Box::new(Response {
                status,
                headers: vec![("content-type".into(), content_type.into())],
                body,
                monitor: false,
            })),
            delay: Duration::ZERO,
            path: None,
        }
    }

    fn whole(status: u16, content_type: &str, bytes: Bytes) -> Self {
        let body = ReplyBody::Whole {
            bytes,
            read_sizes: Vec::new(),
        };
        Self::response(status, content_type, body)
    }

    fn stream(events: Vec<Bytes>, done: bool) -> Self {
        let body = ReplyBody::Events(StreamScript::new(events, done));
        Self::response(200, "text/event-stream", body)
    }

    /// A JSON reply with any status (`content-type: application/json`).
    ///
    /// It is not a stream: a streaming call answered with it gets `application/json`,
    /// as from a server that ignored `"stream": true`, and fails saying so.
    ///
    /// ```
    /// use serde_json::json;
    /// let bad = cygnet::mock::MockReply::json(400, json!({"error": {"message": "bad model"}}));
    /// # let _ = bad;
    /// ```
    pub fn json(status: u16, body: Value) -> Self {
        Self::whole(status, "application/json", Bytes::from(body.to_string()))
    }

    /// A reply with any status and a raw body, sent as is (`content-type: text/plain`
    /// unless a [`header`](Self::header) overrides it). For HTML error pages from a proxy,
    /// cut-off JSON, invalid UTF-8 and the like.
    ///
    /// ```
    /// let proxy = cygnet::mock::MockReply::raw(502, "<html>Bad Gateway</html>")
    ///     .header("content-type", "text/html");
    /// # let _ = proxy;
    /// ```
    pub fn raw(status: u16, body: impl Into<Bytes>) -> Self {
        Self::whole(status, "text/plain", body.into())
    }

    /// A 200 reply carrying `completion` as JSON.
    ///
    /// ```
    /// let mut completion = cygnet::types::ChatCompletion::default();
    /// completion.model = "cygnet-v0.2".into();
    /// let reply = cygnet::mock::MockReply::completion(completion);
    /// # let _ = reply;
    /// ```
    pub fn completion(completion: ChatCompletion) -> Self {
        let body = serde_json::to_value(&completion).unwrap_or(Value::Null);
        Self::json(200, body)
    }

    /// A 200 reply with a well-formed `chat.completion` whose assistant message is `text`
    /// (finish reason `stop`, usage filled in).
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::text("Hello!");
    /// # let _ = reply;
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Self::json(200, fixtures::text_completion(text.into()))
    }

    /// A 200 reply Gray Swan blocked, as Cygnal sends one: finish reason `violation`, the
    /// `refusal` in both the message's `content` and its `refusal`.
    ///
    /// ```
    /// # async fn run() -> cygnet::Result<()> {
    /// use cygnet::mock::{MockReply, MockTransport};
    /// let mock = MockTransport::conversation([MockReply::blocked("Sorry, I can't help with that.")]);
    /// # let request = cygnet::types::ChatCompletionRequest::new("cygnet", vec![]);
    /// let completion = mock.client().chat(&request).await?;
    /// assert_eq!(completion.blocked().unwrap().refusal(), Some("Sorry, I can't help with that."));
    /// # Ok(())
    /// # }
    /// # cygnet::mock::block_on(run()).unwrap();
    /// ```
    pub fn blocked(refusal: impl Into<String>) -> Self {
        Self::json(200, fixtures::blocked_completion(refusal.into()))
    }

    /// A 200 stream Gray Swan cut: the text deltas of `before` (possibly none), then a chunk
    /// carrying `refusal` in both `content` and `refusal` with finish reason `violation`, then
    /// `[DONE]`.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::stream_blocked(["Step one: "], "Sorry, I can't help with that.");
    /// # let _ = reply;
    /// ```
    pub fn stream_blocked<I, S>(before: I, refusal: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let events =
            fixtures::blocked_chunk_events(before.into_iter().map(Into::into), refusal.into());
        Self::stream(events, true)
    }

    /// An error answer in Gray Swan's envelope: `status` with `{"error": true, "message":
    /// message, "detail": message, "error_code": code, "details": {}}`.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::error_envelope(400, "Invalid model requested", "invalid_model");
    /// # let _ = reply;
    /// ```
    pub fn error_envelope(status: u16, message: &str, code: &str) -> Self {
        Self::json(status, fixtures::error_envelope(message, code))
    }

    /// A 200 reply whose assistant message calls `calls` (content null, finish reason
    /// `tool_calls`).
    ///
    /// ```
    /// use cygnet::types::ToolCall;
    /// let reply = cygnet::mock::MockReply::tool_calls(vec![
    ///     ToolCall::function("call_1", "get_weather", r#"{"location":"Ohio"}"#),
    /// ]);
    /// # let _ = reply;
    /// ```
    pub fn tool_calls(calls: Vec<ToolCall>) -> Self {
        Self::json(200, fixtures::tool_calls_completion(&calls))
    }

    /// A 200 `text/event-stream` reply whose events carry `data` verbatim, one event each
    /// (`data: ...` and a blank line), followed by `data: [DONE]`.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::sse_events([
    ///     r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#,
    /// ]);
    /// # let _ = reply;
    /// ```
    pub fn sse_events<I, S>(data: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let events = data
            .into_iter()
            .map(|d| fixtures::frame(d.as_ref()))
            .collect();
        Self::stream(events, true)
    }

    /// A 200 `text/event-stream` reply whose body is exactly `body`: no framing added, no
    /// `[DONE]`. Event-indexed options (pauses, failures, stalls) see it as one event.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::sse_raw("data: {\"choices\":[]}\r\n\r\ndata: [DONE]\r\n\r\n");
    /// # let _ = reply;
    /// ```
    pub fn sse_raw(body: impl Into<Bytes>) -> Self {
        Self::stream(vec![body.into()], false)
    }

    /// A 200 stream of well-formed `chat.completion.chunk` events, one per text delta:
    /// the first carries role `assistant`, a final chunk with an empty delta carries
    /// finish reason `stop`, then `[DONE]`.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::stream_text(["Hel", "lo", "!"]);
    /// # let _ = reply;
    /// ```
    pub fn stream_text<I, S>(deltas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let events = fixtures::text_chunk_events(deltas.into_iter().map(Into::into));
        Self::stream(events, true)
    }

    /// A 200 stream of the given chunks, serialized one per event, then `[DONE]`.
    ///
    /// ```
    /// let mut chunk = cygnet::types::ChatCompletionChunk::default();
    /// chunk.usage = Some(cygnet::types::Usage::new(3, 2, 5));
    /// let reply = cygnet::mock::MockReply::stream_chunks(vec![chunk]);
    /// # let _ = reply;
    /// ```
    pub fn stream_chunks(chunks: Vec<ChatCompletionChunk>) -> Self {
        Self::stream(fixtures::chunk_events(&chunks), true)
    }

    /// A 200 stream in which the assistant calls `calls`, as a server streams them: a
    /// first chunk with the role, then for each call one delta with its `index`, `id`,
    /// type and name, followed by its arguments cut into `pieces` fragments (at least
    /// one); a final chunk with finish reason `tool_calls`; then `[DONE]`.
    ///
    /// ```
    /// use cygnet::types::ToolCall;
    /// let reply = cygnet::mock::MockReply::stream_tool_calls(
    ///     vec![ToolCall::function("call_1", "get_weather", r#"{"location":"Ohio"}"#)],
    ///     3,
    /// );
    /// # let _ = reply;
    /// ```
    pub fn stream_tool_calls(calls: Vec<ToolCall>, pieces: usize) -> Self {
        Self::stream(fixtures::tool_call_chunk_events(&calls, pieces), true)
    }

    /// A 200 answer of the Cygnal monitor with score `violation`, nothing seen and no rule
    /// violated: `{"violation": .., "violated_rules": [], "violated_rule_descriptions": [],
    /// "mutation": false, "ipi": false}`. Adjust it with [`ipi`](Self::ipi),
    /// [`mutation`](Self::mutation) and [`violated_rule`](Self::violated_rule).
    ///
    /// The score is sent as given, so a test can script one the client must refuse (above
    /// 1, below 0; `NaN` is sent as `null`).
    ///
    /// ```
    /// let injected = cygnet::mock::MockReply::monitor(0.93).ipi(true);
    /// # let _ = injected;
    /// ```
    pub fn monitor(violation: f64) -> Self {
        let mut reply = Self::json(200, fixtures::monitor_verdict(violation));
        if let ReplyKind::Response(response) = &mut reply.kind {
            response.monitor = true;
        }
        reply
    }

    /// Sets the monitor answer's `ipi` flag: whether an indirect prompt injection was seen.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::monitor(0.9).ipi(true);
    /// # let _ = reply;
    /// ```
    ///
    /// # Panics
    ///
    /// On a reply not made by [`monitor`](Self::monitor); script any other monitor body
    /// with [`json`](Self::json).
    #[track_caller]
    pub fn ipi(self, seen: bool) -> Self {
        self.edit_monitor("ipi", |answer| {
            answer.insert("ipi".into(), Value::Bool(seen));
        })
    }

    /// Sets the monitor answer's `mutation` flag: whether a disguised request was seen.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::monitor(0.7).mutation(true);
    /// # let _ = reply;
    /// ```
    ///
    /// # Panics
    ///
    /// On a reply not made by [`monitor`](Self::monitor).
    #[track_caller]
    pub fn mutation(self, seen: bool) -> Self {
        self.edit_monitor("mutation", |answer| {
            answer.insert("mutation".into(), Value::Bool(seen));
        })
    }

    /// Adds a violated rule to the monitor answer: `rule` to `violated_rules`, and
    /// `{"rule", "name", "description"}` to `violated_rule_descriptions`, as the monitor
    /// sends them.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::monitor(0.95)
    ///     .violated_rule(2, "No injections", "Follow only the user's instructions");
    /// # let _ = reply;
    /// ```
    ///
    /// # Panics
    ///
    /// On a reply not made by [`monitor`](Self::monitor).
    #[track_caller]
    pub fn violated_rule(
        self,
        rule: u64,
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        let described = serde_json::json!({
            "rule": rule,
            "name": name.into(),
            "description": description.into(),
        });
        self.edit_monitor("violated_rule", move |answer| {
            for (key, value) in [
                ("violated_rules", Value::from(rule)),
                ("violated_rule_descriptions", described),
            ] {
                match answer.get_mut(key) {
                    Some(Value::Array(list)) => list.push(value),
                    _ => {
                        answer.insert(key.into(), Value::Array(vec![value]));
                    }
                }
            }
        })
    }

    /// Edits the JSON body of a monitor reply; panics naming `method` on any other reply.
    #[track_caller]
    fn edit_monitor(
        mut self,
        method: &str,
        edit: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> Self {
        let what = self.describe();
        let bytes = match &mut self.kind {
            ReplyKind::Response(response) if response.monitor => match &mut response.body {
                ReplyBody::Whole { bytes, .. } => bytes,
                ReplyBody::Events(_) => misuse(method, MONITOR, &what, "use MockReply::monitor"),
            },
            _ => misuse(
                method,
                MONITOR,
                &what,
                "script any other monitor body with MockReply::json",
            ),
        };
        let mut answer: serde_json::Map<String, Value> =
            serde_json::from_slice(bytes).unwrap_or_default();
        edit(&mut answer);
        *bytes = Bytes::from(Value::Object(answer).to_string());
        self
    }

    /// The request fails below HTTP with a transport error of `kind`: connection refused,
    /// a TLS failure, a reset.
    ///
    /// ```
    /// use cygnet::TransportErrorKind;
    /// let refused = cygnet::mock::MockReply::error(TransportErrorKind::Connect, "connection refused");
    /// # let _ = refused;
    /// ```
    pub fn error(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind: ReplyKind::Error {
                kind,
                message: message.into(),
            },
            delay: Duration::ZERO,
            path: None,
        }
    }

    /// A reply that never arrives: the send waits for ever (on no deadline), so only the
    /// caller's timeout ends it.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::hang();
    /// # let _ = reply;
    /// ```
    pub fn hang() -> Self {
        Self {
            kind: ReplyKind::Hang,
            delay: Duration::ZERO,
            path: None,
        }
    }

    /// Keeps the reply for the first request to `path` (e.g. `/cygnal/monitor`): requests to
    /// other paths pass it by and take the next reply that fits. Replies without a path fit
    /// any request, in order as before.
    ///
    /// For calls that run at the same time, such as a guarded call checking its input while
    /// the chat call is in flight: each gets its own reply whichever is sent first.
    ///
    /// ```
    /// use cygnet::mock::{MockReply, MockTransport};
    /// let mock = MockTransport::conversation([
    ///     MockReply::text("Hello!").on_path("/chat/completion"),
    ///     MockReply::monitor(0.01).on_path("/cygnal/monitor"),
    /// ]);
    /// # let _ = mock;
    /// ```
    pub fn on_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Whether a request to `path` may take this reply.
    pub(crate) fn fits(&self, path: &str) -> bool {
        self.path.as_deref().is_none_or(|own| own == path)
    }

    /// Waits `delay` on the mock clock before the reply's head (or its error) arrives.
    ///
    /// ```
    /// use std::time::Duration;
    /// let slow = cygnet::mock::MockReply::text("late").delay(Duration::from_secs(20));
    /// # let _ = slow;
    /// ```
    ///
    /// # Panics
    ///
    /// On [`hang`](Self::hang), which never arrives, so has nothing to delay.
    #[track_caller]
    pub fn delay(mut self, delay: Duration) -> Self {
        if matches!(self.kind, ReplyKind::Hang) {
            misuse(
                "delay",
                "replies that arrive",
                &self.describe(),
                "script MockReply::hang() without a delay",
            );
        }
        self.delay = delay;
        self
    }

    /// Sets the status.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::stream_text(["partial"]).status(500);
    /// # let _ = reply;
    /// ```
    ///
    /// # Panics
    ///
    /// On a transport error ([`error`](Self::error)) or [`hang`](Self::hang): neither has a
    /// head to carry a status.
    #[track_caller]
    pub fn status(mut self, status: u16) -> Self {
        self.head(
            "status",
            "for an HTTP error answer use MockReply::json(status, ..)",
        )
        .status = status;
        self
    }

    /// Sets a response header, replacing any earlier value of the same name (names are
    /// case-insensitive). An invalid name or value makes the request fail with a transport
    /// error of kind `Other` that says so.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::json(503, serde_json::json!({}))
    ///     .header("x-should-retry", "false")
    ///     .header("x-request-id", "req_123");
    /// # let _ = reply;
    /// ```
    ///
    /// # Panics
    ///
    /// On a transport error ([`error`](Self::error)) or [`hang`](Self::hang): neither has a
    /// head to carry headers.
    #[track_caller]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let response = self.head(
            "header",
            "for an HTTP answer with headers use MockReply::json or MockReply::raw",
        );
        let name = name.into();
        response
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        response.headers.push((name, value.into()));
        self
    }

    /// Leaves out the final `data: [DONE]`, as a stream cut off by a proxy.
    ///
    /// ```
    /// let truncated = cygnet::mock::MockReply::stream_text(["Hel"]).without_done();
    /// # let _ = truncated;
    /// ```
    ///
    /// # Panics
    ///
    /// On a reply that is not streamed: only a stream has a `[DONE]` to leave out.
    #[track_caller]
    pub fn without_done(mut self) -> Self {
        self.events(
            "without_done",
            "a whole body has no [DONE]; for a cut-off body use MockReply::raw with the bytes \
             to send",
        )
        .done = false;
        self
    }

    /// Ends the stream, before `[DONE]`, with the usage chunk OpenAI's
    /// `stream_options.include_usage` asks for (and Cygnal passes on): no choices, and
    /// `usage` with these counts and their sum.
    ///
    /// ```
    /// # async fn run() -> cygnet::Result<()> {
    /// use cygnet::mock::{MockReply, MockTransport};
    /// let mock = MockTransport::conversation([MockReply::stream_text(["Hi"]).with_usage(12, 1)]);
    /// # let request = cygnet::types::ChatCompletionRequest::new("cygnet", vec![]);
    /// let completion = mock.client().chat_stream(&request).await?.collect_completion().await?;
    /// assert_eq!(completion.usage.unwrap().total_tokens, 13);
    /// # Ok(())
    /// # }
    /// # cygnet::mock::block_on(run()).unwrap();
    /// ```
    ///
    /// # Panics
    ///
    /// On a reply that is not streamed; a whole completion carries its usage already.
    #[track_caller]
    pub fn with_usage(mut self, prompt_tokens: u64, completion_tokens: u64) -> Self {
        self.events(
            "with_usage",
            "a whole completion carries its usage already (MockReply::text fills it in)",
        )
        .events
        .push(fixtures::usage_chunk_event(
            prompt_tokens,
            completion_tokens,
        ));
        self
    }

    /// Hands the body out in reads of these sizes, in turn, cycling through the list (a
    /// zero is taken as one), regardless of where events end. Without it a whole body is
    /// one read and a stream one read per event. Pauses, failures and stalls still happen
    /// at event boundaries. Works on streams and whole (JSON, raw) bodies alike.
    ///
    /// ```
    /// // One byte per read: every split point is exercised.
    /// let reply = cygnet::mock::MockReply::stream_text(["héllo"]).read_sizes([1]);
    /// # let _ = reply;
    /// ```
    ///
    /// # Panics
    ///
    /// On a transport error ([`error`](Self::error)) or [`hang`](Self::hang): neither has a
    /// body to read.
    #[track_caller]
    pub fn read_sizes(mut self, sizes: impl IntoIterator<Item = usize>) -> Self {
        let sizes: Vec<usize> = sizes.into_iter().map(|s| s.max(1)).collect();
        let response = self.head(
            "read_sizes",
            "there is no body to cut; read_sizes applies to JSON, raw and streamed replies",
        );
        match &mut response.body {
            ReplyBody::Whole { read_sizes, .. } => *read_sizes = sizes,
            ReplyBody::Events(script) => script.read_sizes = sizes,
        }
        self
    }

    /// Waits `pause` on the mock clock before every event after the first (the `[DONE]`
    /// event included).
    ///
    /// ```
    /// use std::time::Duration;
    /// let slow = cygnet::mock::MockReply::stream_text(["a", "b"]).pause_between(Duration::from_secs(1));
    /// # let _ = slow;
    /// ```
    ///
    /// # Panics
    ///
    /// On a reply that is not streamed; to hold back a whole reply use
    /// [`delay`](Self::delay).
    #[track_caller]
    pub fn pause_between(mut self, pause: Duration) -> Self {
        self.events(
            "pause_between",
            "to hold back a whole reply use MockReply::delay",
        )
        .pause_between = pause;
        self
    }

    /// Waits `pause` on the mock clock before event number `event` (from 0; the number of
    /// events means just before `[DONE]` or the end), on top of any
    /// [`pause_between`](Self::pause_between).
    ///
    /// ```
    /// use std::time::Duration;
    /// // Quiet for 45 s after the first delta: trips a 30 s idle timeout.
    /// let stall = cygnet::mock::MockReply::stream_text(["a", "b"]).pause_before(1, Duration::from_secs(45));
    /// # let _ = stall;
    /// ```
    ///
    /// # Panics
    ///
    /// On a reply that is not streamed; to hold back a whole reply use
    /// [`delay`](Self::delay).
    #[track_caller]
    pub fn pause_before(mut self, event: usize, pause: Duration) -> Self {
        self.events(
            "pause_before",
            "to hold back a whole reply use MockReply::delay",
        )
        .pauses
        .push((event, pause));
        self
    }

    /// Sends an error event `data: {"error":{"message": ...}}` after `events` events (from
    /// 0; the number of events means just before `[DONE]`).
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::stream_text(["Hel"]).error_after(1, "overloaded").without_done();
    /// # let _ = reply;
    /// ```
    ///
    /// # Panics
    ///
    /// On a reply that is not streamed; for an API error answer use
    /// [`json`](Self::json) with an error status and body.
    #[track_caller]
    pub fn error_after(mut self, events: usize, message: impl Into<String>) -> Self {
        self.events(
            "error_after",
            "for an API error answer use MockReply::json(status, json!({\"error\": {..}}))",
        )
        .errors
        .push((events, message.into()));
        self
    }

    /// After `events` events the body fails with a transport error of kind `Io` (a
    /// connection reset), and ends.
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::stream_text(["a", "b", "c"]).fail_after(2);
    /// # let _ = reply;
    /// ```
    ///
    /// # Panics
    ///
    /// On a reply that is not streamed; for a failure before the head use
    /// [`error`](Self::error), for a whole body cut short [`raw`](Self::raw) with the
    /// bytes that arrive.
    #[track_caller]
    pub fn fail_after(mut self, events: usize) -> Self {
        self.events(
            "fail_after",
            "for a failure before the head use MockReply::error, for a whole body cut short \
             MockReply::raw with the bytes that arrive",
        )
        .fail_after = Some(events);
        self
    }

    /// After `events` events the body goes quiet for ever (no deadline, so only the
    /// caller's idle timeout ends it).
    ///
    /// ```
    /// let reply = cygnet::mock::MockReply::stream_text(["a", "b"]).stall_after(1);
    /// # let _ = reply;
    /// ```
    ///
    /// # Panics
    ///
    /// On a reply that is not streamed; for a reply that never starts use
    /// [`hang`](Self::hang), for a late one [`delay`](Self::delay).
    #[track_caller]
    pub fn stall_after(mut self, events: usize) -> Self {
        self.events(
            "stall_after",
            "for a reply that never starts use MockReply::hang, for a late one MockReply::delay",
        )
        .stall_after = Some(events);
        self
    }

    /// The head and body, for a modifier that needs them; panics naming `method` on a
    /// transport error or a hang.
    #[track_caller]
    fn head(&mut self, method: &str, instead: &str) -> &mut Response {
        let what = self.describe();
        match &mut self.kind {
            ReplyKind::Response(response) => response,
            _ => misuse(method, ANSWERS, &what, instead),
        }
    }

    /// The stream script, for a stream-only modifier; panics naming `method` on any
    /// other reply.
    #[track_caller]
    fn events(&mut self, method: &str, instead: &str) -> &mut StreamScript {
        let what = self.describe();
        match &mut self.kind {
            ReplyKind::Response(response) => match &mut response.body {
                ReplyBody::Events(script) => script,
                ReplyBody::Whole { .. } => misuse(method, STREAMED, &what, instead),
            },
            _ => misuse(method, STREAMED, &what, instead),
        }
    }

    /// What this reply is, in the words of a panic message.
    fn describe(&self) -> String {
        match &self.kind {
            ReplyKind::Hang => "MockReply::hang(), which never arrives".into(),
            ReplyKind::Error { .. } => {
                "MockReply::error(..), a transport error with no head and no body".into()
            }
            ReplyKind::Response(response) => {
                let content_type = response
                    .headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                    .map_or("no content-type", |(_, value)| value.as_str());
                match response.body {
                    ReplyBody::Whole { .. } => {
                        format!("a whole-body reply ({content_type}), not a stream")
                    }
                    ReplyBody::Events(_) => format!("a streamed reply ({content_type})"),
                }
            }
        }
    }

    /// The reply's delay before its head.
    pub(crate) fn head_delay(&self) -> Duration {
        self.delay
    }

    /// Turns the reply into what `send` returns; `None` for a reply that never comes.
    pub(crate) fn into_outcome(
        self,
        clock: &MockClock,
        body_guard: BodyGuard,
    ) -> Option<Result<http::Response<Body>, TransportError>> {
        let response = match self.kind {
            ReplyKind::Hang => return None,
            ReplyKind::Error { kind, message } => {
                return Some(Err(TransportError::new(kind, message)))
            }
            ReplyKind::Response(response) => response,
        };
        Some(build_response(*response, clock, body_guard))
    }
}

/// A modifier was called on a reply it cannot apply to: the test is wrong, say how.
#[cold]
#[track_caller]
fn misuse(method: &str, applies_to: &str, what: &str, instead: &str) -> ! {
    panic!(
        "cygnet-mock: MockReply::{method} applies to {applies_to}, but this is {what}; {instead}"
    )
}

fn build_response(
    response: Response,
    clock: &MockClock,
    body_guard: BodyGuard,
) -> Result<http::Response<Body>, TransportError> {
    let invalid = |what: String| {
        TransportError::new(
            TransportErrorKind::Other,
            format!("cygnet-mock: the scripted reply has {what}"),
        )
    };
    let status = http::StatusCode::from_u16(response.status)
        .map_err(|_| invalid(format!("an invalid status {}", response.status)))?;
    let mut builder = http::Response::builder().status(status);
    for (name, value) in &response.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("an invalid header name {name:?}")))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| invalid(format!("an invalid value for header {name}")))?;
        builder = builder.header(name, value);
    }
    builder
        .body(response.body.into_body(clock, body_guard))
        .map_err(|e| invalid(format!("a response that cannot be built: {e}")))
}
