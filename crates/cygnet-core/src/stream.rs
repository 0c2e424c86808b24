//! Streams of server-sent events and of typed chat chunks.
//!
//! [`SseStream`] reads the response body, feeds the [`SseDecoder`]
//! and enforces the idle timeout between reads. Until the first event has reached the caller
//! it may also re-send the request after a retryable failure (a broken connection, a stall);
//! after that it never does, so a caller never sees an answer start twice.
//! [`ChatStream`] turns events into [`ChatCompletionChunk`]s, stops at `[DONE]`, and turns a
//! body that ends early, or an error object sent in the stream, into an error.
//! [`ChatStream::next_chunk_with`] lends each chunk as a [`ChatCompletionChunkRef`] whose
//! strings borrow from the read buffer instead, for callers that do not keep chunks.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderMap, StatusCode};

use cygnet_types::{ChatCompletionChunk, ChatCompletionChunkRef};

use crate::answer;
use crate::client::{Client, Resolved};
use crate::error::{Error, Result, StreamError, TimeoutKind};
use crate::sse::{Event, OwnedEvent, SseDecoder};
use crate::transport::{Body, BoxFuture, Sleep};

/// The raw server-sent events of a streaming answer.
///
/// Yields [`OwnedEvent`]s; [`SseStream::poll_event_with`] lends each event to a closure
/// instead, without copying it. Dropping the stream drops the body and so releases the
/// connection.
pub struct SseStream {
    client: Client,
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
    decoder: SseDecoder,
    resolved: Resolved,
    idle_timer: Option<Sleep>,
    /// Present until the first event reaches the caller: what is needed to send again.
    resend: Option<Resend>,
    reconnecting: Option<BoxFuture<'static, Result<http::Response<Body>>>>,
    done: bool,
}

struct Resend {
    url: String,
    body: Bytes,
    retries_done: u32,
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
        client: Client,
        url: String,
        body: Bytes,
        resolved: Resolved,
        response: http::Response<Body>,
    ) -> Self {
        let (parts, response_body) = response.into_parts();
        let decoder = SseDecoder::with_max_event_size(client.limits().max_event_bytes);
        Self {
            client,
            status: parts.status,
            headers: parts.headers,
            body: response_body,
            decoder,
            resolved,
            idle_timer: None,
            resend: Some(Resend {
                url,
                body,
                retries_done: 0,
            }),
            reconnecting: None,
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
    /// [`StreamError::Incomplete`]; a silence longer than the idle timeout is
    /// [`Error::Timeout`]. After an error the stream is finished.
    pub fn poll_event_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut f: impl FnMut(Event<'_>) -> R,
    ) -> Poll<Option<Result<R>>> {
        if self.done {
            return Poll::Ready(None);
        }
        loop {
            if let Some(reconnecting) = self.reconnecting.as_mut() {
                match reconnecting.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return self.fail(e),
                    Poll::Ready(Ok(response)) => {
                        self.reconnecting = None;
                        let (parts, body) = response.into_parts();
                        self.status = parts.status;
                        self.headers = parts.headers;
                        self.body = body;
                        self.decoder =
                            SseDecoder::with_max_event_size(self.client.limits().max_event_bytes);
                    }
                }
            }
            match self.decoder.next_event() {
                Ok(Some(event)) => {
                    let out = f(event);
                    self.resend = None;
                    return Poll::Ready(Some(Ok(out)));
                }
                Ok(None) => {}
                Err(e) => return self.fail(e.into()),
            }
            match self.body.poll_chunk(cx) {
                Poll::Ready(Some(Ok(bytes))) => {
                    self.idle_timer = None;
                    self.decoder.push(bytes);
                }
                Poll::Ready(Some(Err(e))) => {
                    let error = Error::Transport(e);
                    if !self.try_resend(&error) {
                        return self.fail(error);
                    }
                }
                Poll::Ready(None) => {
                    self.done = true;
                    if self.decoder.finish() {
                        return Poll::Ready(Some(
                            Err(StreamError::Incomplete { chunks: 0 }.into()),
                        ));
                    }
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    let idle = self.resolved.idle_timeout;
                    let transport = self.client.transport();
                    let timer = self.idle_timer.get_or_insert_with(|| transport.sleep(idle));
                    if timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.idle_timer = None;
                    let error = Error::Timeout(TimeoutKind::Idle(idle));
                    if !self.try_resend(&error) {
                        return self.fail(error);
                    }
                }
            }
        }
    }

    /// Starts sending the request again if no event has reached the caller yet and the
    /// error and retry budget allow it.
    fn try_resend(&mut self, error: &Error) -> bool {
        let Some(resend) = self.resend.as_mut() else {
            return false;
        };
        let Some(wait) =
            self.client
                .retry_wait(error, resend.retries_done, self.resolved.max_retries)
        else {
            return false;
        };
        resend.retries_done += 1;
        tracing::debug!(retry = resend.retries_done, error = %error, wait_ms = wait.as_millis() as u64, "stream failed before its first event; sending again");
        let client = self.client.clone();
        let url = resend.url.clone();
        let body = resend.body.clone();
        let resolved = client.resolved();
        self.reconnecting = Some(Box::pin(async move {
            client.transport().sleep(wait).await;
            let request = client.build_request(&url, body, &resolved)?;
            client.attempt_stream(request, &resolved).await
        }));
        true
    }

    fn fail<T>(&mut self, error: Error) -> Poll<Option<Result<T>>> {
        self.done = true;
        self.reconnecting = None;
        // Drop the body now: a failed stream must not hold its connection.
        self.body = Body::empty();
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for SseStream {
    type Item = Result<OwnedEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event_with(cx, |event| event.to_owned())
    }
}

/// A stream of [`ChatCompletionChunk`]s, ending at the server's `[DONE]`.
///
/// Use it with `futures::StreamExt::next`, or [`ChatStream::next_chunk`] without any
/// extension trait.
pub struct ChatStream {
    events: SseStream,
    chunks: u64,
    finished: bool,
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("status", &self.events.status)
            .field("chunks", &self.chunks)
            .field("finished", &self.finished)
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
        Self {
            events,
            chunks: 0,
            finished: false,
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
        if self.finished {
            return Poll::Ready(None);
        }
        let status = self.events.status();
        let polled = self
            .events
            .poll_event_with(cx, |event| parse_event(status, &event));
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
    /// # async fn run(client: cygnet_core::Client, request: cygnet_types::ChatCompletionRequest)
    /// #     -> cygnet_core::Result<()> {
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
        if self.finished {
            return Poll::Ready(None);
        }
        let status = self.events.status();
        let polled = self.events.poll_event_with(cx, |event| {
            match parse_event::<ChatCompletionChunkRef<'_>>(status, &event) {
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

    fn finish(&mut self) {
        self.finished = true;
        // Release the connection at once rather than when the caller drops the stream.
        self.events.body = Body::empty();
        self.events.done = true;
    }

    /// Folds every chunk into the completion while still yielding each one; see
    /// [`AccumulatingStream`](crate::AccumulatingStream).
    ///
    /// ```no_run
    /// # async fn run(client: cygnet_core::Client, request: cygnet_types::ChatCompletionRequest)
    /// #     -> cygnet_core::Result<()> {
    /// let mut stream = client.chat_stream(&request).await?.accumulate();
    /// while let Some(chunk) = stream.next_chunk().await {
    ///     print!("{}", chunk?.text_delta().unwrap_or_default());
    /// }
    /// println!("\n{:?}", stream.into_completion().usage);
    /// # Ok(())
    /// # }
    /// ```
    pub fn accumulate(self) -> crate::AccumulatingStream {
        crate::AccumulatingStream::new(self)
    }

    /// Reads the stream to its end and returns the completion a non-streaming call would
    /// have returned; the first error ends it.
    ///
    /// ```no_run
    /// # async fn run(client: cygnet_core::Client, request: cygnet_types::ChatCompletionRequest)
    /// #     -> cygnet_core::Result<()> {
    /// let completion = client.chat_stream(&request).await?.collect_completion().await?;
    /// println!("{}", completion.content().unwrap_or_default());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn collect_completion(self) -> Result<cygnet_types::ChatCompletion> {
        self.accumulate().collect_completion().await
    }

    /// Just the text of choice 0, piece by piece; see [`TextStream`](crate::TextStream).
    ///
    /// ```no_run
    /// # async fn run(client: cygnet_core::Client, request: cygnet_types::ChatCompletionRequest)
    /// #     -> cygnet_core::Result<()> {
    /// let mut text = client.chat_stream(&request).await?.text();
    /// while let Some(piece) = text.next_text().await {
    ///     print!("{}", piece?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn text(self) -> crate::TextStream {
        crate::TextStream::new(self)
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
/// see `answer`.
fn parse_event<'a, T: ChunkData<'a>>(status: StatusCode, event: &Event<'a>) -> Parsed<T> {
    let data = event.data;
    if data == "[DONE]" {
        return Parsed::Done;
    }
    if event.event == "error" {
        return Parsed::Error(answer::in_stream_error(data));
    }
    match T::from_json(data) {
        Ok(chunk) => Parsed::Chunk(chunk),
        Err(e) => Parsed::Error(answer::chunk_error(status, data, e)),
    }
}

impl Stream for ChatStream {
    type Item = Result<ChatCompletionChunk>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}
