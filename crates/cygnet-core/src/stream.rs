//! Streams of server-sent events and of typed chat chunks.
//!
//! [`SseStream`] reads the response body, feeds the [`SseDecoder`] and enforces the stream's
//! timers. [`ChatStream`] turns its events into [`ChatCompletionChunk`]s.
//!
//! # The phases of a stream
//!
//! A stream is always in one of four phases; each poll runs the current one until it yields
//! something to the caller or must wait.
//!
//! 1. **Opening**: the client sends the request and waits for an answer head that starts a
//!    stream, through the engine's retry loop (`engine::Call::run`), before the caller gets
//!    the stream at all. A failed head (an error status, a refused connection, a head
//!    timeout) is retried there like any call's. A 2xx answer whose `Content-Type` is
//!    present and is not `text/event-stream` is not a stream: opening fails with the status,
//!    the content type and the server's message. An answer without `Content-Type` is read as
//!    a stream (some gateways drop the header).
//! 2. **Streaming**: the body is read and decoded, one event per poll. Between reads the
//!    idle timer runs: one timer per attempt, kept across reads and re-armed only when it
//!    fires before a deadline that bytes moved meanwhile (so a stream that waits on every
//!    read allocates no timer per read).
//! 3. **Re-sending**: until the first event has reached the caller, any end of an attempt
//!    (a broken connection, a clean end with no event, an idle timeout, bad framing) is a
//!    failed attempt. The stream hands it to the engine (`engine::Call::resend`), which
//!    enters the same retry loop with it: it decides as for any other attempt, waits, and
//!    sends again within the same retry budget. Its answer starts a fresh streaming phase
//!    with a fresh decoder and idle timer. After the first event nothing is re-sent, so a
//!    caller never sees an answer start twice; the request itself is then released and the
//!    stream keeps only what its errors and timers need.
//! 4. **Finished**: at the end of the body, at an error, or when the caller's
//!    [`ChatStream`] saw `[DONE]`. The body (and its connection) and every timer are
//!    dropped at once; further polls give `None`.
//!
//! Two bounds run across phases, checked whenever the stream waits:
//! [`RequestOptions::total_timeout`] from opening until the first event (it covers the
//! re-sends and their waits, then is dropped), and [`RequestOptions::stream_total_timeout`]
//! from opening to the last event. When either passes the chunks already delivered stay
//! delivered and the stream ends with [`TimeoutKind::Total`] or
//! [`TimeoutKind::StreamTotal`]. Every timer is the transport's, on its clock.
//!
//! # Chunks
//!
//! [`ChatStream`] stops at `[DONE]`, and turns a body that ends early, or an error object
//! sent in the stream, into an error. [`ChatStream::next_chunk_with`] lends each chunk as a
//! [`ChatCompletionChunkRef`] whose strings borrow from the read buffer instead, for callers
//! that do not keep chunks.
//!
//! [`RequestOptions::total_timeout`]: crate::RequestOptions::total_timeout
//! [`RequestOptions::stream_total_timeout`]: crate::RequestOptions::stream_total_timeout
//! [`TimeoutKind::Total`]: crate::TimeoutKind::Total
//! [`TimeoutKind::StreamTotal`]: crate::TimeoutKind::StreamTotal

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use http::{HeaderMap, StatusCode};

use cygnet_types::{ChatCompletionChunk, ChatCompletionChunkRef};

use crate::answer;
use crate::engine::{Answered, Call, Deadline, Opened, Resend};
use crate::error::{Error, Result, StreamError, TimeoutKind};
use crate::redact::Secrets;
use crate::sse::{Event, OwnedEvent, SseDecoder};
use crate::transport::{Body, Sleep, Transport};

/// The raw server-sent events of a streaming answer.
///
/// Yields [`OwnedEvent`]s; [`SseStream::poll_event_with`] lends each event to a closure
/// instead, without copying it. Dropping the stream drops the body and so releases the
/// connection. See the [module docs](self) for its phases.
pub struct SseStream {
    /// The call: whole until the first event, then only what is still needed.
    call: CallHold,
    phase: Phase,
    status: StatusCode,
    headers: HeaderMap,
    decoder: SseDecoder,
    idle: IdleTimer,
    deadlines: Deadlines,
    /// Events handed to the caller, for the count of a stream cut short.
    events: u64,
}

/// Where a stream is; see the module docs. (Opening happens before the stream exists.)
enum Phase {
    /// Reading the body of the attempt that began at `started` (on the transport's clock).
    Streaming { body: Body, started: Duration },
    /// The engine is waiting and sending again after a failed attempt.
    Resending(Resend),
    /// Ended: nothing is held and nothing more comes.
    Finished,
}

/// A stream's hold on its call.
enum CallHold {
    /// Until the first event reaches the caller: the whole call, to send it again.
    Resendable(Arc<Call>),
    /// After: nothing is re-sent, so the request is released (see [`Answered`]).
    Answered(Answered),
}

impl CallHold {
    fn transport(&self) -> &dyn Transport {
        match self {
            Self::Resendable(call) => call.transport(),
            Self::Answered(answered) => answered.transport(),
        }
    }

    fn with_context(&self, error: Error) -> Error {
        match self {
            Self::Resendable(call) => call.with_context(error),
            Self::Answered(answered) => answered.with_context(error),
        }
    }

    fn secrets(&self) -> &Secrets {
        match self {
            Self::Resendable(call) => call.secrets(),
            Self::Answered(answered) => answered.secrets(),
        }
    }
}

/// The bounds that run across a stream's phases.
pub(crate) struct Deadlines {
    /// The call's bound up to its first event ([`TimeoutKind::Total`]); dropped then.
    pub(crate) total: Option<Deadline>,
    /// The whole stream's bound ([`TimeoutKind::StreamTotal`]).
    pub(crate) stream: Option<Deadline>,
}

impl Deadlines {
    /// The timeout of the first bound found passed.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Option<Error> {
        if let Some(error) = self.stream.as_mut().and_then(|d| d.poll_expired(cx)) {
            return Some(error);
        }
        self.total.as_mut()?.poll_expired(cx)
    }
}

/// The idle timeout of the current attempt: one timer, kept across reads.
///
/// A read only marks the stream active ([`IdleTimer::activity`]); the next wait fixes the
/// new deadline (`limit` from then) without touching the timer. When the timer fires before
/// that deadline it is armed again for it ([`Transport::sleep_until`]), so a timer is made
/// once per idle period at most, never once per read.
struct IdleTimer {
    limit: Duration,
    timer: Option<Sleep>,
    /// The deadline the timer was made for.
    armed_for: Duration,
    /// When the stream counts as idle; `None` from a read until the next wait.
    deadline: Option<Duration>,
}

impl IdleTimer {
    fn new(limit: Duration) -> Self {
        Self {
            limit,
            timer: None,
            armed_for: Duration::ZERO,
            deadline: None,
        }
    }

    /// Bytes arrived: the silence starts again at the next wait.
    fn activity(&mut self) {
        self.deadline = None;
    }

    /// Drops the timer: a new attempt, or the end of the stream.
    fn clear(&mut self) {
        self.timer = None;
        self.deadline = None;
    }

    /// `Ready` once the stream has been silent for `limit`, on `clock`.
    fn poll(&mut self, clock: &dyn Transport, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let limit = self.limit;
            let deadline = *self
                .deadline
                .get_or_insert_with(|| clock.now().saturating_add(limit));
            let Some(timer) = &mut self.timer else {
                // The attempt's first wait: a timer for the whole limit.
                self.timer = Some(clock.sleep(limit));
                self.armed_for = deadline;
                continue;
            };
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if deadline <= self.armed_for {
                self.clear();
                return Poll::Ready(());
            }
            // Bytes arrived since it was armed: not idle yet; wait for the new deadline.
            self.timer = Some(clock.sleep_until(deadline));
            self.armed_for = deadline;
        }
    }
}

/// What one step of a phase gave.
enum Step<R> {
    /// For the caller: an event, the end, the error that ends the stream, or `Pending`.
    Yield(Poll<Option<Result<R>>>),
    /// Go round again: bytes were read, or a new attempt began.
    Again,
    /// The current attempt failed; the engine decides whether to send again.
    Failed(Error),
}

impl fmt::Debug for SseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseStream")
            .field("status", &self.status)
            .field("done", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl SseStream {
    pub(crate) fn new(call: Arc<Call>, (response, started): Opened, deadlines: Deadlines) -> Self {
        let (parts, body) = response.into_parts();
        let decoder = SseDecoder::with_max_event_size(call.limits().max_event_bytes);
        let idle = IdleTimer::new(call.settings().idle_timeout);
        Self {
            call: CallHold::Resendable(call),
            phase: Phase::Streaming { body, started },
            status: parts.status,
            headers: parts.headers,
            decoder,
            idle,
            deadlines,
            events: 0,
        }
    }

    /// The status of the response.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers of the response (request ids among them).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Whether the stream has ended (the finished phase).
    fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Finished)
    }

    /// Polls for the next event and hands it, borrowed from the read buffer, to `f`.
    ///
    /// `Ready(None)` at the end of the body. A body that ends inside an event is
    /// [`StreamError::Incomplete`]; a silence longer than the idle timeout, or a stream that
    /// outlasts one of its bounds, is [`Error::Timeout`]. After an error the stream is
    /// finished.
    pub fn poll_event_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(Event<'_>) -> R,
    ) -> Poll<Option<Result<R>>> {
        loop {
            let step = match self.phase {
                Phase::Finished => return Poll::Ready(None),
                Phase::Resending(_) => self.poll_resend(cx),
                Phase::Streaming { .. } => self.poll_read(cx, &mut f),
            };
            let step = match step {
                Step::Failed(error) => self.attempt_failed(error),
                step => step,
            };
            match step {
                Step::Yield(out) => return out,
                Step::Again | Step::Failed(_) => {}
            }
        }
    }

    /// The streaming phase: the next event if one is decoded, else the next read of the
    /// body, else the timers.
    fn poll_read<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: &mut impl FnMut(Event<'_>) -> R,
    ) -> Step<R> {
        let Phase::Streaming { body, started } = &mut self.phase else {
            return Step::Again;
        };
        let started = *started;
        match self.decoder.next_event() {
            Ok(Some(event)) => {
                let out = f(event);
                self.delivered(started);
                return Step::Yield(Poll::Ready(Some(Ok(out))));
            }
            Ok(None) => {}
            Err(e) => return Step::Failed(e.into()),
        }
        match body.poll_chunk(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                self.decoder.push(bytes);
                self.idle.activity();
                Step::Again
            }
            Poll::Ready(Some(Err(e))) => Step::Failed(Error::Transport(e)),
            Poll::Ready(None) => self.body_ended(),
            Poll::Pending => self.poll_quiet(cx),
        }
    }

    /// The body has nothing yet: the stream's bounds, then the idle timer.
    fn poll_quiet<R>(&mut self, cx: &mut Context<'_>) -> Step<R> {
        if let Some(error) = self.deadlines.poll_expired(cx) {
            let error = self.call.with_context(error).note_delivered(self.events);
            return Step::Yield(self.fail(error));
        }
        match self.idle.poll(self.call.transport(), cx) {
            Poll::Pending => Step::Yield(Poll::Pending),
            Poll::Ready(()) => Step::Failed(TimeoutKind::Idle(self.idle.limit).into()),
        }
    }

    /// The body ended. After the first event that is the end of the stream (cut short when
    /// it ended inside an event); before, a failed attempt like any other.
    fn body_ended<R>(&mut self) -> Step<R> {
        let cut_short = self.decoder.finish();
        if let CallHold::Resendable(_) = self.call {
            return Step::Failed(StreamError::Incomplete { chunks: 0 }.into());
        }
        self.close();
        if cut_short {
            let chunks = self.events;
            return Step::Yield(Poll::Ready(Some(Err(
                StreamError::Incomplete { chunks }.into()
            ))));
        }
        Step::Yield(Poll::Ready(None))
    }

    /// An event reached the caller. The first one ends the call's retries: its success is
    /// traced, the request released and the call's total bound dropped.
    fn delivered(&mut self, started: Duration) {
        self.events += 1;
        if let CallHold::Resendable(call) = &self.call {
            call.succeeded(started, self.status);
            self.call = CallHold::Answered(call.answered());
            self.deadlines.total = None;
        }
    }

    /// The re-sending phase: the engine's answer, or the stream's bounds while it works.
    fn poll_resend<R>(&mut self, cx: &mut Context<'_>) -> Step<R> {
        let Phase::Resending(resend) = &mut self.phase else {
            return Step::Again;
        };
        match resend.as_mut().poll(cx) {
            Poll::Ready(Ok(opened)) => {
                self.start_attempt(opened);
                Step::Again
            }
            Poll::Ready(Err(error)) => Step::Yield(self.fail(error)),
            Poll::Pending => match self.deadlines.poll_expired(cx) {
                Some(error) => {
                    let error = self.call.with_context(error).note_delivered(self.events);
                    Step::Yield(self.fail(error))
                }
                None => Step::Yield(Poll::Pending),
            },
        }
    }

    /// A failure of the current attempt. Before the first event it is handed to the engine,
    /// and the stream enters the re-sending phase (the engine may still give up: then its
    /// error ends the stream); after, the stream ends with it.
    fn attempt_failed<R>(&mut self, error: Error) -> Step<R> {
        let (CallHold::Resendable(call), Phase::Streaming { started, .. }) =
            (&self.call, &self.phase)
        else {
            let error = self.call.with_context(error).note_delivered(self.events);
            return Step::Yield(self.fail(error));
        };
        let resend = call.resend(error, *started);
        // Releases the failed attempt's connection and timer now; the next has its own.
        self.phase = Phase::Resending(resend);
        self.idle.clear();
        Step::Again
    }

    /// Takes over the answer of a re-send: a fresh body, decoder and idle timer.
    fn start_attempt(&mut self, (response, started): Opened) {
        let (parts, body) = response.into_parts();
        self.status = parts.status;
        self.headers = parts.headers;
        self.decoder = SseDecoder::with_max_event_size(self.decoder.max_event_size());
        self.idle.clear();
        self.phase = Phase::Streaming { body, started };
    }

    fn fail<T>(&mut self, error: Error) -> Poll<Option<Result<T>>> {
        self.close();
        Poll::Ready(Some(Err(error)))
    }

    /// Ends the stream now: drops the body (a finished stream must not hold its
    /// connection), any re-send in progress and the timers.
    pub(crate) fn close(&mut self) {
        self.phase = Phase::Finished;
        self.idle.clear();
        self.deadlines.total = None;
        self.deadlines.stream = None;
    }
}

impl Stream for SseStream {
    type Item = Result<OwnedEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut polled = this.poll_event_with(cx, |event| OwnedEvent {
            event: event.event.to_owned(),
            data: event.data.to_owned(),
            id: None,
            retry: event.retry,
        });
        // An event's id is the decoder's last event id, which persists across events: hand
        // out the decoder's shared copy rather than a copy per event. The decoder has not
        // moved on since the event was lent.
        if let Poll::Ready(Some(Ok(event))) = &mut polled {
            event.id = this.decoder.shared_last_event_id();
        }
        polled
    }
}

/// A stream of [`ChatCompletionChunk`]s, ending at the server's `[DONE]`.
///
/// Use it with `futures::StreamExt::next`, or [`ChatStream::next_chunk`] without any
/// extension trait.
pub struct ChatStream {
    events: SseStream,
    chunks: u64,
    /// Kept out of the errors that events bring (an echo of the key in an error event).
    secrets: Secrets,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("status", &self.events.status())
            .field("chunks", &self.chunks)
            .field("finished", &self.finished())
            .finish()
    }
}

/// What one event turned into, with the chunk in whatever form the caller asked for.
enum Parsed<T> {
    Chunk(T),
    Done,
    Error(Error),
}

impl ChatStream {
    pub(crate) fn new(events: SseStream) -> Self {
        let secrets = events.call.secrets().clone();
        Self {
            events,
            chunks: 0,
            secrets,
        }
    }

    /// The status of the response.
    pub fn status(&self) -> StatusCode {
        self.events.status()
    }

    /// The headers of the response (request ids among them).
    pub fn headers(&self) -> &HeaderMap {
        self.events.headers()
    }

    /// How many chunks have arrived so far.
    pub fn chunks_received(&self) -> u64 {
        self.chunks
    }

    /// The raw events underneath, for callers who bring their own chunk types.
    pub fn into_events(self) -> SseStream {
        self.events
    }

    /// Waits for the next chunk; `None` after `[DONE]` or after an error.
    pub async fn next_chunk(&mut self) -> Option<Result<ChatCompletionChunk>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Polls for the next chunk; see [`ChatStream::next_chunk`].
    pub fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<ChatCompletionChunk>>> {
        if self.finished() {
            return Poll::Ready(None);
        }
        let status = self.events.status();
        let secrets = &self.secrets;
        let polled = self
            .events
            .poll_event_with(cx, |event| parse_event(status, &event, secrets));
        self.settle(polled)
    }

    /// Waits for the next chunk and lends it to `f`, borrowed from the read buffer; returns
    /// what `f` returns. `None` after `[DONE]` or after an error.
    ///
    /// The fast path for callers that look at each chunk and move on (print the text, count
    /// tokens): the chunk's strings point into the bytes just read instead of being copied
    /// into new `String`s, so a steady stream makes no allocation per chunk for its text.
    /// Apart from that it gives exactly what [`ChatStream::next_chunk`] gives
    /// ([`ChatCompletionChunkRef::into_owned`] is the owned chunk), with the same errors.
    ///
    /// ```no_run
    /// # async fn run(client: cygnet::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// use std::io::Write;
    ///
    /// let mut stream = client.chat_stream(&request).await?;
    /// let mut out = std::io::stdout().lock();
    /// while let Some(written) = stream
    ///     .next_chunk_with(|chunk| out.write_all(chunk.text_delta().unwrap_or("").as_bytes()))
    ///     .await
    /// {
    ///     written?.expect("stdout is writable");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn next_chunk_with<R>(
        &mut self,
        mut f: impl FnMut(ChatCompletionChunkRef<'_>) -> R,
    ) -> Option<Result<R>> {
        std::future::poll_fn(|cx| self.poll_chunk_with(cx, &mut f)).await
    }

    /// Polls for the next chunk and lends it to `f`; see [`ChatStream::next_chunk_with`].
    ///
    /// `f` is called at most once per call, only when a chunk is ready.
    pub fn poll_chunk_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(ChatCompletionChunkRef<'_>) -> R,
    ) -> Poll<Option<Result<R>>> {
        if self.finished() {
            return Poll::Ready(None);
        }
        let status = self.events.status();
        let secrets = &self.secrets;
        let polled = self.events.poll_event_with(cx, |event| {
            match parse_event::<ChatCompletionChunkRef<'_>>(status, &event, secrets) {
                Parsed::Chunk(chunk) => Parsed::Chunk(f(chunk)),
                Parsed::Done => Parsed::Done,
                Parsed::Error(e) => Parsed::Error(e),
            }
        });
        self.settle(polled)
    }

    /// Turns what one event gave into the stream's answer, counting chunks and finishing the
    /// stream at `[DONE]`, at an error, or at a body that ended early.
    fn settle<T>(&mut self, polled: Poll<Option<Result<Parsed<T>>>>) -> Poll<Option<Result<T>>> {
        let parsed = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Ok(parsed))) => parsed,
            Poll::Ready(Some(Err(Error::Stream(StreamError::Incomplete { .. }))))
            | Poll::Ready(None) => Parsed::Error(
                StreamError::Incomplete {
                    chunks: self.chunks,
                }
                .into(),
            ),
            Poll::Ready(Some(Err(e))) => Parsed::Error(e),
        };
        match parsed {
            Parsed::Chunk(chunk) => {
                self.chunks += 1;
                Poll::Ready(Some(Ok(chunk)))
            }
            Parsed::Done => {
                self.finish();
                Poll::Ready(None)
            }
            Parsed::Error(e) => {
                self.finish();
                Poll::Ready(Some(Err(e)))
            }
        }
    }

    /// Whether the stream has ended: `[DONE]`, an error or a body that ended early. Every
    /// end closes the events underneath, so their `done` is this flag.
    fn finished(&self) -> bool {
        self.events.is_finished()
    }

    fn finish(&mut self) {
        // Release the connection at once rather than when the caller drops the stream.
        self.events.close();
    }
}

/// The chunk types an event's data parses into, owned or borrowed.
trait ChunkData<'a>: Sized {
    /// Parses one event's data.
    fn from_json(data: &'a str) -> serde_json::Result<Self>;
}

impl ChunkData<'_> for ChatCompletionChunk {
    fn from_json(data: &str) -> serde_json::Result<Self> {
        ChatCompletionChunk::from_json(data)
    }
}

impl<'a> ChunkData<'a> for ChatCompletionChunkRef<'a> {
    fn from_json(data: &'a str) -> serde_json::Result<Self> {
        ChatCompletionChunkRef::from_json(data)
    }
}

/// One event's answer: `[DONE]`, a chunk, or an error: an `error` event, a chunk with an
/// `error` member (both [`Error::Api`]), or data that is not a chunk ([`Error::Decode`]);
/// see `answer`. An error shows nothing of `secrets`.
fn parse_event<'a, T: ChunkData<'a>>(
    status: StatusCode,
    event: &Event<'a>,
    secrets: &Secrets,
) -> Parsed<T> {
    let data = event.data;
    if data == "[DONE]" {
        return Parsed::Done;
    }
    if event.event == "error" {
        return Parsed::Error(answer::in_stream_error(data, secrets));
    }
    match T::from_json(data) {
        Ok(chunk) => Parsed::Chunk(chunk),
        Err(e) => Parsed::Error(answer::chunk_error(status, data, e, secrets)),
    }
}

impl Stream for ChatStream {
    type Item = Result<ChatCompletionChunk>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}
