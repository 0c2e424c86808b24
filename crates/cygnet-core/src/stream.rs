//! Streams of server-sent events and of typed chat chunks.
//!
//! [`SseStream`] reads the response body, feeds the [`SseDecoder`] and enforces the stream's
//! timers: the idle timeout between reads and, when configured, the bound on the whole
//! stream. Until the first event has reached the caller, any end of an attempt (a broken
//! connection, a clean end with no event, an idle timeout) is a failed attempt: the stream
//! hands it to the retry engine, which decides as for any other attempt and may send the
//! request again, within the same retry budget. Every attempt starts with fresh timers and a
//! fresh decoder. After the first event nothing is re-sent, so a caller never sees an answer
//! start twice.
//!
//! A 2xx answer whose `Content-Type` is present and is not `text/event-stream` is not a
//! stream: opening it fails with the status, the content type and the server's message. An
//! answer without `Content-Type` is read as a stream (some gateways drop the header).
//!
//! The whole-stream bound ([`RequestOptions::stream_total_timeout`]) starts when the request
//! is first sent and is checked whenever the stream waits for the server; when it passes,
//! the chunks already delivered stay delivered and the stream ends with
//! [`TimeoutKind::StreamTotal`].
//!
//! [`ChatStream`] turns events into [`ChatCompletionChunk`]s, stops at `[DONE]`, and turns a
//! body that ends early, or an error object sent in the stream, into an error.
//! [`ChatStream::next_chunk_with`] lends each chunk as a [`ChatCompletionChunkRef`] whose
//! strings borrow from the read buffer instead, for callers that do not keep chunks.
//!
//! [`RequestOptions::stream_total_timeout`]: crate::RequestOptions::stream_total_timeout
//! [`TimeoutKind::StreamTotal`]: crate::TimeoutKind::StreamTotal

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;
use http::{HeaderMap, StatusCode};
use tracing::Instrument;

use cygnet_types::{ChatCompletionChunk, ChatCompletionChunkRef};

use crate::answer;
use crate::engine::{Answered, Call, StreamDeadline};
use crate::error::{Error, Result, StreamError, TimeoutKind};
use crate::redact::Secrets;
use crate::sse::{Event, OwnedEvent, SseDecoder};
use crate::transport::{Body, BoxFuture, Sleep};

/// A re-send in progress: the wait, then the engine's attempts until a stream's head.
type Reconnecting = BoxFuture<'static, Result<(http::Response<Body>, Instant)>>;

/// The raw server-sent events of a streaming answer.
///
/// Yields [`OwnedEvent`]s; [`SseStream::poll_event_with`] lends each event to a closure
/// instead, without copying it. Dropping the stream drops the body and so releases the
/// connection.
pub struct SseStream {
    /// The call: whole until the first event, then only what is still needed.
    call: CallHold,
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
    decoder: SseDecoder,
    /// The current attempt's idle timer, made when the body first waits.
    idle_timer: Option<Sleep>,
    /// The whole stream's bound, when configured.
    deadline: Option<StreamDeadline>,
    /// Events handed to the caller, for the count of a stream cut short.
    events: u64,
    done: bool,
}

/// A stream's hold on its call.
enum CallHold {
    /// Until the first event reaches the caller: the whole call, to send it again.
    Resendable {
        /// The request and its engine (transport and settings), shared with re-sends.
        call: Arc<Call>,
        /// When the current attempt began; while it is set, a failure may be re-sent.
        /// `None` while a re-send is being opened.
        started: Option<Instant>,
        reconnecting: Option<Reconnecting>,
    },
    /// After: nothing is re-sent, so the request is released (see [`Answered`]).
    Answered(Answered),
}

impl CallHold {
    /// When the current attempt began, while a failure may still be re-sent.
    fn attempt_started(&self) -> Option<Instant> {
        match self {
            Self::Resendable { started, .. } => *started,
            Self::Answered(_) => None,
        }
    }

    fn idle_timeout(&self) -> Duration {
        match self {
            Self::Resendable { call, .. } => call.settings().idle_timeout,
            Self::Answered(answered) => answered.idle_timeout(),
        }
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        match self {
            Self::Resendable { call, .. } => call.sleep(duration),
            Self::Answered(answered) => answered.sleep(duration),
        }
    }

    fn with_context(&self, error: Error) -> Error {
        match self {
            Self::Resendable { call, .. } => call.with_context(error),
            Self::Answered(answered) => answered.with_context(error),
        }
    }

    fn secrets(&self) -> &Secrets {
        match self {
            Self::Resendable { call, .. } => call.secrets(),
            Self::Answered(answered) => answered.secrets(),
        }
    }
}

impl fmt::Debug for SseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseStream")
            .field("status", &self.status)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl SseStream {
    pub(crate) fn new(
        call: Arc<Call>,
        (response, started): (http::Response<Body>, Instant),
        deadline: Option<StreamDeadline>,
    ) -> Self {
        let (parts, body) = response.into_parts();
        let decoder = SseDecoder::with_max_event_size(call.limits().max_event_bytes);
        Self {
            call: CallHold::Resendable {
                call,
                started: Some(started),
                reconnecting: None,
            },
            status: parts.status,
            headers: parts.headers,
            body,
            decoder,
            idle_timer: None,
            deadline,
            events: 0,
            done: false,
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

    /// Polls for the next event and hands it, borrowed from the read buffer, to `f`.
    ///
    /// `Ready(None)` at the end of the body. A body that ends inside an event is
    /// [`StreamError::Incomplete`]; a silence longer than the idle timeout, or a stream that
    /// outlasts its whole-stream bound, is [`Error::Timeout`]. After an error the stream is
    /// finished.
    pub fn poll_event_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(Event<'_>) -> R,
    ) -> Poll<Option<Result<R>>> {
        if self.done {
            return Poll::Ready(None);
        }
        loop {
            if let CallHold::Resendable {
                reconnecting: Some(reconnecting),
                ..
            } = &mut self.call
            {
                match reconnecting.as_mut().poll(cx) {
                    Poll::Pending => {
                        if let Some(error) = self.deadline_passed(cx) {
                            return self.fail(error);
                        }
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(e)) => return self.fail(e),
                    Poll::Ready(Ok(opened)) => self.start_attempt(opened),
                }
            }
            match self.decoder.next_event() {
                Ok(Some(event)) => {
                    let out = f(event);
                    self.events += 1;
                    if let CallHold::Resendable {
                        call,
                        started: Some(started),
                        ..
                    } = &self.call
                    {
                        call.succeeded(*started, self.status);
                        // Nothing is re-sent from now on: release the request.
                        self.call = CallHold::Answered(call.answered());
                    }
                    return Poll::Ready(Some(Ok(out)));
                }
                Ok(None) => {}
                Err(e) => {
                    if let Some(end) = self.attempt_failed(e.into()) {
                        return end;
                    }
                    continue;
                }
            }
            let failure = match self.body.poll_chunk(cx) {
                Poll::Ready(Some(Ok(bytes))) => {
                    self.idle_timer = None;
                    self.decoder.push(bytes);
                    continue;
                }
                Poll::Ready(Some(Err(e))) => Error::Transport(e),
                Poll::Ready(None) => {
                    let cut_short = self.decoder.finish();
                    if self.call.attempt_started().is_none() {
                        self.done = true;
                        if cut_short {
                            return Poll::Ready(Some(Err(StreamError::Incomplete {
                                chunks: self.events,
                            }
                            .into())));
                        }
                        return Poll::Ready(None);
                    }
                    // Nothing reached the caller: an end now is a failed attempt like any
                    // other, whether or not it cut an event short.
                    StreamError::Incomplete { chunks: 0 }.into()
                }
                Poll::Pending => {
                    if let Some(error) = self.deadline_passed(cx) {
                        return self.fail(error);
                    }
                    let idle = self.call.idle_timeout();
                    let call = &self.call;
                    let timer = self.idle_timer.get_or_insert_with(|| call.sleep(idle));
                    if timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.idle_timer = None;
                    TimeoutKind::Idle(idle).into()
                }
            };
            if let Some(end) = self.attempt_failed(failure) {
                return end;
            }
        }
    }

    /// Hands a failure of the current attempt to the engine. Before the first event it may
    /// start a re-send (then `None`: keep polling); otherwise the stream ends with the error.
    fn attempt_failed<T>(&mut self, error: Error) -> Option<Poll<Option<Result<T>>>> {
        let resend = match &mut self.call {
            CallHold::Resendable { call, started, .. } => {
                started.take().map(|started| (Arc::clone(call), started))
            }
            CallHold::Answered(_) => None,
        };
        let Some((call, started)) = resend else {
            let error = self.call.with_context(error).note_delivered(self.events);
            return Some(self.fail(error));
        };
        let wait = match call.after_failure(error, started) {
            Ok(wait) => wait,
            Err(error) => return Some(self.fail(error)),
        };
        // Release the failed attempt's connection and timer now; the next has its own.
        self.body = Body::empty();
        self.idle_timer = None;
        let span = call.span().clone();
        if let CallHold::Resendable { reconnecting, .. } = &mut self.call {
            *reconnecting = Some(Box::pin(
                async move {
                    call.sleep(wait).await;
                    call.open_stream().await
                }
                .instrument(span),
            ));
        }
        None
    }

    /// Takes over the answer of a re-send: fresh body, decoder and timers.
    fn start_attempt(&mut self, (response, started): (http::Response<Body>, Instant)) {
        // Only a resendable stream re-sends.
        let CallHold::Resendable {
            call,
            started: attempt_started,
            reconnecting,
        } = &mut self.call
        else {
            return;
        };
        *reconnecting = None;
        let (parts, body) = response.into_parts();
        self.status = parts.status;
        self.headers = parts.headers;
        self.body = body;
        self.decoder = SseDecoder::with_max_event_size(call.limits().max_event_bytes);
        self.idle_timer = None;
        *attempt_started = Some(started);
    }

    /// The whole-stream timeout, with its context, once it has passed.
    fn deadline_passed(&mut self, cx: &mut Context<'_>) -> Option<Error> {
        let error = self.deadline.as_mut()?.poll_expired(cx)?;
        Some(self.call.with_context(error).note_delivered(self.events))
    }

    fn fail<T>(&mut self, error: Error) -> Poll<Option<Result<T>>> {
        self.close();
        Poll::Ready(Some(Err(error)))
    }

    /// Ends the stream now: drops the body (a finished stream must not hold its
    /// connection), any re-send in progress and the timers.
    pub(crate) fn close(&mut self) {
        self.done = true;
        self.body = Body::empty();
        if let CallHold::Resendable { reconnecting, .. } = &mut self.call {
            *reconnecting = None;
        }
        self.idle_timer = None;
        self.deadline = None;
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
        self.events.done
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
