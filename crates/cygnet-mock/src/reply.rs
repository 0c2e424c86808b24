//! Scripted replies: what the mock answers to one request.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cygnet_core::transport::{Body, TransportError, TransportErrorKind};
use cygnet_types::{ChatCompletion, ToolCall};
use futures_core::Stream;
use serde_json::{json, Value};

use crate::clock::{MockClock, MockSleep};

/// The id every generated completion and chunk carries.
pub const MOCK_COMPLETION_ID: &str = "chatcmpl-mock";
/// The model every generated completion and chunk names.
pub const MOCK_MODEL: &str = "cygnet";
/// The `created` timestamp of every generated completion and chunk (fixed, so tests are
/// deterministic).
pub const MOCK_CREATED: i64 = 1_700_000_000;

/// What the mock answers to one request.
///
/// Build one with a constructor ([`json`](Self::json), [`text`](Self::text),
/// [`stream_text`](Self::stream_text), [`error`](Self::error), ...), adjust it with the
/// builder methods, and script it with [`MockTransport::push`](crate::MockTransport::push).
///
/// ```
/// use std::time::Duration;
/// use cygnet_mock::MockReply;
///
/// let rate_limited = MockReply::json(429, serde_json::json!({"error": {"message": "slow down"}}))
///     .header("retry-after", "2");
/// let slow = MockReply::text("Hello").delay(Duration::from_secs(5));
/// let chunked = MockReply::stream_text(["Hel", "lo"]).read_sizes([3]);
/// # let _ = (rate_limited, slow, chunked);
/// ```
#[derive(Clone, Debug)]
#[must_use = "a reply does nothing until it is scripted with MockTransport::push"]
pub struct MockReply {
    kind: ReplyKind,
    delay: Duration,
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
}

#[derive(Clone, Debug)]
enum ReplyBody {
    Full(Bytes),
    Stream(StreamScript),
}

/// The plan of a streamed body, event by event.
#[derive(Clone, Debug, Default)]
struct StreamScript {
    /// Each event's bytes, framing included.
    events: Vec<Bytes>,
    done: bool,
    read_sizes: Vec<usize>,
    pause_between: Duration,
    pauses: Vec<(usize, Duration)>,
    errors: Vec<(usize, String)>,
    fail_after: Option<usize>,
    stall_after: Option<usize>,
}

impl MockReply {
    fn response(status: u16, content_type: &str, body: ReplyBody) -> Self {
        Self {
            kind: ReplyKind::Response(Box::new(Response {
                status,
                headers: vec![("content-type".into(), content_type.into())],
                body,
            })),
            delay: Duration::ZERO,
        }
    }

    /// A JSON reply with any status (`content-type: application/json`).
    ///
    /// ```
    /// use serde_json::json;
    /// let bad = cygnet_mock::MockReply::json(400, json!({"error": {"message": "bad model"}}));
    /// # let _ = bad;
    /// ```
    pub fn json(status: u16, body: Value) -> Self {
        Self::response(
            status,
            "application/json",
            ReplyBody::Full(Bytes::from(body.to_string())),
        )
    }

    /// A reply with any status and a raw body, sent as is (`content-type: text/plain`
    /// unless a [`header`](Self::header) overrides it). For HTML error pages from a proxy,
    /// cut-off JSON, invalid UTF-8 and the like.
    ///
    /// ```
    /// let proxy = cygnet_mock::MockReply::raw(502, "<html>Bad Gateway</html>")
    ///     .header("content-type", "text/html");
    /// # let _ = proxy;
    /// ```
    pub fn raw(status: u16, body: impl Into<Bytes>) -> Self {
        Self::response(status, "text/plain", ReplyBody::Full(body.into()))
    }

    /// A 200 reply carrying `completion` as JSON.
    ///
    /// ```
    /// let mut completion = cygnet_types::ChatCompletion::default();
    /// completion.model = "cygnet-v0.2".into();
    /// let reply = cygnet_mock::MockReply::completion(completion);
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
    /// let reply = cygnet_mock::MockReply::text("Hello!");
    /// # let _ = reply;
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        let text = text.into();
        let tokens = token_estimate(&text);
        Self::json(
            200,
            completion_json(
                json!({"role": "assistant", "content": text}),
                "stop",
                tokens,
            ),
        )
    }

    /// A 200 reply whose assistant message calls `calls` (content null, finish reason
    /// `tool_calls`).
    ///
    /// ```
    /// use cygnet_types::ToolCall;
    /// let reply = cygnet_mock::MockReply::tool_calls(vec![
    ///     ToolCall::function("call_1", "get_weather", r#"{"location":"Ohio"}"#),
    /// ]);
    /// # let _ = reply;
    /// ```
    pub fn tool_calls(calls: Vec<ToolCall>) -> Self {
        let tokens = calls
            .iter()
            .map(|c| token_estimate(&c.function.arguments))
            .sum();
        let calls = serde_json::to_value(&calls).unwrap_or(Value::Null);
        Self::json(
            200,
            completion_json(
                json!({"role": "assistant", "content": null, "tool_calls": calls}),
                "tool_calls",
                tokens,
            ),
        )
    }

    /// A 200 `text/event-stream` reply whose events carry `data` verbatim, one event each
    /// (`data: ...` and a blank line), followed by `data: [DONE]`.
    ///
    /// ```
    /// let reply = cygnet_mock::MockReply::sse_events([
    ///     r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#,
    /// ]);
    /// # let _ = reply;
    /// ```
    pub fn sse_events<I, S>(data: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::stream(data.into_iter().map(|d| frame(d.as_ref())).collect(), true)
    }

    /// A 200 `text/event-stream` reply whose body is exactly `body`: no framing added, no
    /// `[DONE]`. Event-indexed options (pauses, failures, stalls) see it as one event.
    ///
    /// ```
    /// let reply = cygnet_mock::MockReply::sse_raw("data: {\"choices\":[]}\r\n\r\ndata: [DONE]\r\n\r\n");
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
    /// let reply = cygnet_mock::MockReply::stream_text(["Hel", "lo", "!"]);
    /// # let _ = reply;
    /// ```
    pub fn stream_text<I, S>(deltas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut events = Vec::new();
        for (i, text) in deltas.into_iter().enumerate() {
            let mut delta = json!({"content": text.into()});
            if i == 0 {
                delta["role"] = json!("assistant");
            }
            events.push(chunk_event(delta, Value::Null));
        }
        if events.is_empty() {
            events.push(chunk_event(json!({"role": "assistant"}), Value::Null));
        }
        events.push(chunk_event(json!({}), json!("stop")));
        Self::stream(events, true)
    }

    /// A 200 stream of the given chunks, serialized one per event, then `[DONE]`.
    ///
    /// ```
    /// let mut chunk = cygnet_types::ChatCompletionChunk::default();
    /// chunk.usage = Some(cygnet_types::Usage::new(3, 2, 5));
    /// let reply = cygnet_mock::MockReply::stream_chunks(vec![chunk]);
    /// # let _ = reply;
    /// ```
    pub fn stream_chunks(chunks: Vec<cygnet_types::ChatCompletionChunk>) -> Self {
        let events = chunks
            .iter()
            .map(|c| frame(&serde_json::to_string(c).unwrap_or_default()))
            .collect();
        Self::stream(events, true)
    }

    /// A 200 stream in which the assistant calls `calls`, as a server streams them: a
    /// first chunk with the role, then for each call one delta with its `index`, `id`,
    /// type and name, followed by its arguments cut into `pieces` fragments (at least
    /// one); a final chunk with finish reason `tool_calls`; then `[DONE]`.
    ///
    /// ```
    /// use cygnet_types::ToolCall;
    /// let reply = cygnet_mock::MockReply::stream_tool_calls(
    ///     vec![ToolCall::function("call_1", "get_weather", r#"{"location":"Ohio"}"#)],
    ///     3,
    /// );
    /// # let _ = reply;
    /// ```
    pub fn stream_tool_calls(calls: Vec<ToolCall>, pieces: usize) -> Self {
        let mut events = vec![chunk_event(
            json!({"role": "assistant", "content": null}),
            Value::Null,
        )];
        for (index, call) in calls.iter().enumerate() {
            events.push(chunk_event(
                json!({"tool_calls": [{
                    "index": index,
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": ""},
                }]}),
                Value::Null,
            ));
            for piece in split_str(&call.function.arguments, pieces.max(1)) {
                events.push(chunk_event(
                    json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                    Value::Null,
                ));
            }
        }
        events.push(chunk_event(json!({}), json!("tool_calls")));
        Self::stream(events, true)
    }

    fn stream(events: Vec<Bytes>, done: bool) -> Self {
        Self::response(
            200,
            "text/event-stream",
            ReplyBody::Stream(StreamScript {
                events,
                done,
                ..StreamScript::default()
            }),
        )
    }

    /// The request fails below HTTP with a transport error of `kind`: connection refused,
    /// a TLS failure, a reset.
    ///
    /// ```
    /// use cygnet_core::TransportErrorKind;
    /// let refused = cygnet_mock::MockReply::error(TransportErrorKind::Connect, "connection refused");
    /// # let _ = refused;
    /// ```
    pub fn error(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind: ReplyKind::Error {
                kind,
                message: message.into(),
            },
            delay: Duration::ZERO,
        }
    }

    /// A reply that never arrives: the send waits for ever (on no deadline), so only the
    /// caller's timeout ends it.
    ///
    /// ```
    /// let reply = cygnet_mock::MockReply::hang();
    /// # let _ = reply;
    /// ```
    pub fn hang() -> Self {
        Self {
            kind: ReplyKind::Hang,
            delay: Duration::ZERO,
        }
    }

    /// Waits `delay` on the mock clock before the reply's head (or its error) arrives.
    ///
    /// ```
    /// use std::time::Duration;
    /// let slow = cygnet_mock::MockReply::text("late").delay(Duration::from_secs(20));
    /// # let _ = slow;
    /// ```
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sets the status. Ignored by transport errors and [`hang`](Self::hang).
    ///
    /// ```
    /// let reply = cygnet_mock::MockReply::stream_text(["partial"]).status(500);
    /// # let _ = reply;
    /// ```
    pub fn status(mut self, status: u16) -> Self {
        if let ReplyKind::Response(response) = &mut self.kind {
            response.status = status;
        }
        self
    }

    /// Sets a response header, replacing any earlier value of the same name (names are
    /// case-insensitive). An invalid name or value makes the request fail with a transport
    /// error of kind `Other` that says so. Ignored by transport errors and
    /// [`hang`](Self::hang).
    ///
    /// ```
    /// let reply = cygnet_mock::MockReply::json(503, serde_json::json!({}))
    ///     .header("x-should-retry", "false")
    ///     .header("x-request-id", "req_123");
    /// # let _ = reply;
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let ReplyKind::Response(response) = &mut self.kind {
            let name = name.into();
            response
                .headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
            response.headers.push((name, value.into()));
        }
        self
    }

    fn script(&mut self) -> Option<&mut StreamScript> {
        match &mut self.kind {
            ReplyKind::Response(response) => match &mut response.body {
                ReplyBody::Stream(script) => Some(script),
                ReplyBody::Full(_) => None,
            },
            _ => None,
        }
    }

    /// Streams only: leaves out the final `data: [DONE]`, as a stream cut off by a proxy.
    ///
    /// ```
    /// let truncated = cygnet_mock::MockReply::stream_text(["Hel"]).without_done();
    /// # let _ = truncated;
    /// ```
    pub fn without_done(mut self) -> Self {
        if let Some(script) = self.script() {
            script.done = false;
        }
        self
    }

    /// Streams and JSON bodies: hands the body out in reads of these sizes, in turn,
    /// cycling through the list (a zero is taken as one), regardless of where events
    /// end. Without it each event is one read. Pauses, failures and stalls still happen
    /// at event boundaries.
    ///
    /// ```
    /// // One byte per read: every split point is exercised.
    /// let reply = cygnet_mock::MockReply::stream_text(["héllo"]).read_sizes([1]);
    /// # let _ = reply;
    /// ```
    pub fn read_sizes(mut self, sizes: impl IntoIterator<Item = usize>) -> Self {
        let sizes: Vec<usize> = sizes.into_iter().map(|s| s.max(1)).collect();
        if let ReplyKind::Response(response) = &mut self.kind {
            if let ReplyBody::Full(bytes) = &response.body {
                // A plain body becomes a one-event stream so it can be split too.
                response.body = ReplyBody::Stream(StreamScript {
                    events: vec![bytes.clone()],
                    ..StreamScript::default()
                });
            }
        }
        if let Some(script) = self.script() {
            script.read_sizes = sizes;
        }
        self
    }

    /// Streams only: waits `pause` on the mock clock before every event after the first
    /// (the `[DONE]` event included).
    ///
    /// ```
    /// use std::time::Duration;
    /// let slow = cygnet_mock::MockReply::stream_text(["a", "b"]).pause_between(Duration::from_secs(1));
    /// # let _ = slow;
    /// ```
    pub fn pause_between(mut self, pause: Duration) -> Self {
        if let Some(script) = self.script() {
            script.pause_between = pause;
        }
        self
    }

    /// Streams only: waits `pause` on the mock clock before event number `event` (from 0;
    /// the number of events means just before `[DONE]` or the end), on top of any
    /// [`pause_between`](Self::pause_between).
    ///
    /// ```
    /// use std::time::Duration;
    /// // Quiet for 45 s after the first delta: trips a 30 s idle timeout.
    /// let stall = cygnet_mock::MockReply::stream_text(["a", "b"]).pause_before(1, Duration::from_secs(45));
    /// # let _ = stall;
    /// ```
    pub fn pause_before(mut self, event: usize, pause: Duration) -> Self {
        if let Some(script) = self.script() {
            script.pauses.push((event, pause));
        }
        self
    }

    /// Streams only: sends an error event `data: {"error":{"message": ...}}` after
    /// `events` events (from 0; the number of events means just before `[DONE]`).
    ///
    /// ```
    /// let reply = cygnet_mock::MockReply::stream_text(["Hel"]).error_after(1, "overloaded").without_done();
    /// # let _ = reply;
    /// ```
    pub fn error_after(mut self, events: usize, message: impl Into<String>) -> Self {
        if let Some(script) = self.script() {
            script.errors.push((events, message.into()));
        }
        self
    }

    /// Streams only: after `events` events the body fails with a transport error of kind
    /// `Io` (a connection reset), and ends.
    ///
    /// ```
    /// let reply = cygnet_mock::MockReply::stream_text(["a", "b", "c"]).fail_after(2);
    /// # let _ = reply;
    /// ```
    pub fn fail_after(mut self, events: usize) -> Self {
        if let Some(script) = self.script() {
            script.fail_after = Some(events);
        }
        self
    }

    /// Streams only: after `events` events the body goes quiet for ever (no deadline,
    /// so only the caller's idle timeout ends it).
    ///
    /// ```
    /// let reply = cygnet_mock::MockReply::stream_text(["a", "b"]).stall_after(1);
    /// # let _ = reply;
    /// ```
    pub fn stall_after(mut self, events: usize) -> Self {
        if let Some(script) = self.script() {
            script.stall_after = Some(events);
        }
        self
    }

    /// The reply's delay before its head.
    pub(crate) fn head_delay(&self) -> Duration {
        self.delay
    }

    /// Turns the script into what `send` returns; `None` for a reply that never comes.
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
    let body = match response.body {
        ReplyBody::Full(bytes) => {
            drop(body_guard);
            Body::from(bytes)
        }
        ReplyBody::Stream(script) => {
            Body::from_stream(ScriptedBody::new(script, clock, body_guard))
        }
    };
    builder
        .body(body)
        .map_err(|e| invalid(format!("a response that cannot be built: {e}")))
}

/// Counts a live body for [`MockTransport::open_bodies`](crate::MockTransport::open_bodies).
pub(crate) struct BodyGuard(pub(crate) Option<Box<dyn FnOnce() + Send>>);

impl Drop for BodyGuard {
    fn drop(&mut self) {
        if let Some(release) = self.0.take() {
            release();
        }
    }
}

enum Step {
    Bytes(Bytes),
    Pause(Duration),
    Fail,
    Stall,
}

/// A streamed body playing a [`StreamScript`] on the mock clock.
struct ScriptedBody {
    steps: VecDeque<Step>,
    clock: MockClock,
    pause: Option<MockSleep>,
    _guard: BodyGuard,
}

impl ScriptedBody {
    fn new(script: StreamScript, clock: &MockClock, guard: BodyGuard) -> Self {
        let mut events: Vec<Bytes> = script.events;
        // Insert the error events at their positions, counted in the original list.
        let mut errors = script.errors;
        errors.sort_by_key(|(at, _)| *at);
        let original = events.len();
        let mut positioned: Vec<(usize, Bytes)> = Vec::new();
        for (at, message) in errors {
            positioned.push((
                at.min(original),
                frame(&json!({"error": {"message": message}}).to_string()),
            ));
        }
        let mut list: Vec<(Option<usize>, Bytes)> = Vec::new();
        let mut errors = positioned.into_iter().peekable();
        for (i, event) in events.drain(..).enumerate() {
            while let Some((_, e)) = errors.next_if(|(at, _)| *at == i) {
                list.push((None, e));
            }
            list.push((Some(i), event));
        }
        for (_, e) in errors {
            list.push((None, e));
        }
        if script.done {
            list.push((Some(original), frame("[DONE]")));
        }

        // Lay out the steps: per event, its pauses, then a possible failure or stall,
        // then its bytes.
        let mut steps = Vec::new();
        let mut first = true;
        let mut ended = false;
        let emit_position = |steps: &mut Vec<Step>, position: usize| -> bool {
            if script.fail_after == Some(position) {
                steps.push(Step::Fail);
                return true;
            }
            if script.stall_after == Some(position) {
                steps.push(Step::Stall);
                return true;
            }
            false
        };
        for (position, bytes) in list {
            if let Some(position) = position {
                if emit_position(&mut steps, position) {
                    ended = true;
                    break;
                }
                let mut pause = if first {
                    Duration::ZERO
                } else {
                    script.pause_between
                };
                for (at, extra) in &script.pauses {
                    if *at == position {
                        pause = pause.saturating_add(*extra);
                    }
                }
                if !pause.is_zero() {
                    steps.push(Step::Pause(pause));
                }
            }
            first = false;
            steps.push(Step::Bytes(bytes));
        }
        if !ended {
            // Positions past the last event (e.g. fail_after(len) without [DONE]).
            let end = original + usize::from(script.done);
            if script.fail_after.is_some_and(|n| n >= end) {
                steps.push(Step::Fail);
            } else if script.stall_after.is_some_and(|n| n >= end) {
                steps.push(Step::Stall);
            }
        }

        Self {
            steps: resize_reads(steps, &script.read_sizes),
            clock: clock.clone(),
            pause: None,
            _guard: guard,
        }
    }
}

/// Merges runs of bytes between pauses and re-cuts them into the chosen read sizes.
fn resize_reads(steps: Vec<Step>, sizes: &[usize]) -> VecDeque<Step> {
    if sizes.is_empty() {
        return steps.into();
    }
    let mut out = VecDeque::new();
    let mut run = BytesMut::new();
    let mut next_size = sizes.iter().copied().cycle();
    let mut flush = |run: &mut BytesMut, out: &mut VecDeque<Step>| {
        while !run.is_empty() {
            let n = next_size.next().unwrap_or(1).min(run.len());
            out.push_back(Step::Bytes(run.split_to(n).freeze()));
        }
    };
    for step in steps {
        match step {
            Step::Bytes(bytes) => run.extend_from_slice(&bytes),
            other => {
                flush(&mut run, &mut out);
                out.push_back(other);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

impl Stream for ScriptedBody {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.steps.front() {
                None => return Poll::Ready(None),
                Some(Step::Bytes(_)) => {
                    if let Some(Step::Bytes(bytes)) = this.steps.pop_front() {
                        return Poll::Ready(Some(Ok(bytes)));
                    }
                }
                Some(Step::Pause(pause)) => {
                    let pause = *pause;
                    let sleep = this.pause.get_or_insert_with(|| this.clock.sleep(pause));
                    if Pin::new(sleep).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.pause = None;
                    this.steps.pop_front();
                }
                Some(Step::Fail) => {
                    this.steps.clear();
                    return Poll::Ready(Some(Err(TransportError::new(
                        TransportErrorKind::Io,
                        "connection reset mid-stream (scripted by cygnet-mock)",
                    ))));
                }
                // Quiet for ever, with no deadline: only the reader's timeout ends it.
                Some(Step::Stall) => return Poll::Pending,
            }
        }
    }
}

use std::future::Future as _;

impl fmt::Debug for ScriptedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedBody")
            .field("steps_left", &self.steps.len())
            .finish()
    }
}

/// `data: <data>` framed as one event, each line of `data` its own `data:` field.
fn frame(data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + 8);
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

fn chunk_event(delta: Value, finish_reason: Value) -> Bytes {
    let chunk = json!({
        "id": MOCK_COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": MOCK_CREATED,
        "model": MOCK_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    });
    frame(&chunk.to_string())
}

fn completion_json(message: Value, finish_reason: &str, completion_tokens: u64) -> Value {
    const PROMPT_TOKENS: u64 = 10;
    json!({
        "id": MOCK_COMPLETION_ID,
        "object": "chat.completion",
        "created": MOCK_CREATED,
        "model": MOCK_MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": null}],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": completion_tokens,
            "total_tokens": PROMPT_TOKENS + completion_tokens,
        },
    })
}

/// A stand-in token count: one per whitespace-separated word, at least one.
fn token_estimate(text: &str) -> u64 {
    (text.split_whitespace().count() as u64).max(1)
}

/// Cuts `s` into at most `pieces` non-empty parts of about equal length, on character
/// boundaries (an empty string gives one empty part).
fn split_str(s: &str, pieces: usize) -> Vec<&str> {
    let chars: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    if chars.is_empty() {
        return vec![s];
    }
    let pieces = pieces.min(chars.len());
    let mut out = Vec::with_capacity(pieces);
    let mut start = 0;
    for k in 1..=pieces {
        let end = if k == pieces {
            s.len()
        } else {
            chars[k * chars.len() / pieces]
        };
        out.push(&s[start..end]);
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_str_keeps_characters_whole_and_covers_everything() {
        let s = "{\"city\":\"Zürich 🌧\"}";
        for pieces in 1..30 {
            let parts = split_str(s, pieces);
            assert_eq!(parts.concat(), s);
            assert!(parts.len() <= pieces);
            assert!(parts.iter().all(|p| !p.is_empty()));
        }
        assert_eq!(split_str("", 3), vec![""]);
    }

    #[test]
    fn frame_splits_multi_line_data() {
        assert_eq!(&frame("a\nb")[..], b"data: a\ndata: b\n\n");
        assert_eq!(&frame("[DONE]")[..], b"data: [DONE]\n\n");
    }
}
