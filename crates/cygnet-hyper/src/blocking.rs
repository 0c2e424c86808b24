//! A blocking client, for code that is not async (feature `blocking`, on by default).
//!
//! [`Client`] wraps the async [`cygnet_core::Client`] together with a tokio runtime of its own
//! (shared by all clones), so its caller needs no runtime at all, the way `reqwest::blocking`
//! works. The hyper pool's connection tasks, the sockets and the timers belong to that runtime,
//! so connections are reused across calls and clones.
//!
//! Each call is the async call, driven to its end on the caller's thread: while the call
//! waits, that thread drives the runtime itself (reads the sockets, runs hyper's connection
//! tasks, fires the timers), so a call involves no other thread. A stream is an [`Iterator`]
//! read the same way: a `next()` whose chunk is already decoded or already in the read buffer
//! returns it after one poll, and one that must wait reads the socket on the caller's thread,
//! as an async stream on a current-thread runtime does (`cargo xtask bench` compares the two).
//! Between calls, a thread of the client's own drives the runtime, so idle connections and
//! dropped streams are looked after; while a stream is read, its reader does, and that
//! thread ends until the stream is dropped (see `blocking/runtime.rs`). Driving on the caller's
//! thread is also why the calls borrow their request instead of copying it.
//!
//! # From async code
//! Do not call it from async code: each call blocks the calling thread until the answer
//! arrives, and blocking an async executor's thread stalls every other task on it. Use the
//! async client there. Doing it anyway does not deadlock or panic (unlike `Runtime::block_on`
//! inside a runtime): a thread inside another runtime's context (an async task, or
//! `tokio::task::spawn_blocking`) does not drive the client's runtime, it sleeps while the
//! client's own thread does, and a stream's bytes cross to it in batches. That is slower than
//! a plain thread, but it works. Dropping the client (or a stream) never blocks either: its
//! runtime is shut down in the background.
//!
//! ```no_run
//! use cygnet::types::{ChatCompletionRequest, Message};
//!
//! # fn main() -> Result<(), cygnet::Error> {
//! let client = cygnet::blocking::Client::from_env()?;
//! let request = ChatCompletionRequest::new(
//!     "cygnet",
//!     vec![Message::user("What is a large language model?")],
//! );
//! for chunk in client.chat_stream(&request)? {
//!     print!("{}", chunk?.content().unwrap_or_default());
//! }
//! # Ok(()) }
//! ```

pub(crate) mod relay;
pub(crate) mod runtime;

use runtime::Runtime;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use cygnet_core::cygnal::{CygnalControls, ProviderKey};
use cygnet_core::sse::OwnedEvent;
use cygnet_core::types::{
    Blocked, BlockedAnswer, ChatCompletion, ChatCompletionChunk, ChatCompletionChunkRef,
    ChatCompletionRequest, CygnalRequest, ModerationRequest, ModerationResponse, MonitorRequest,
    MonitorResponse,
};
use cygnet_core::{
    Accumulator, ApiResponse, Error, RawResponse, RequestOptions, Result, TextPiece, Transport,
};
use futures_core::Stream;
use http::{HeaderMap, StatusCode};

/// A blocking client for the Cygnet API; see the [module docs](self).
///
/// Cheap to clone (reference counts); clones share the connection pool and the runtime.
/// `Send + Sync`, and its `Debug` output never shows the API key.
#[derive(Clone)]
pub struct Client {
    inner: cygnet_core::Client,
    runtime: Arc<Runtime>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Client")
            .field("client", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the key from `GRAYSWAN_API_KEY` and the base URL from
    /// `GRAY_SWAN_BASE_URL` (default `https://api.grayswan.ai`), over [`HyperTransport`].
    ///
    /// Fails with [`Error::Config`] when the key is missing, before anything is sent.
    ///
    /// [`HyperTransport`]: crate::HyperTransport
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `GRAYSWAN_API_KEY` is missing or
    /// invalid, the base URL is bad, or the runtime cannot be started.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// A builder preset like [`Client::from_env`], to override what you need.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Wraps an async client; starts the runtime its calls will run on.
    ///
    /// The async client's transport must be one that runs on tokio, such as
    /// [`HyperTransport`](crate::HyperTransport) or an in-process one like `cygnet-mock`'s.
    /// Fails with [`Error::Config`] only if the operating system refuses to start the
    /// runtime's thread.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the client's runtime cannot be started.
    pub fn new(client: cygnet_core::Client) -> Result<Self> {
        Ok(Self {
            inner: client,
            runtime: Arc::new(Runtime::start()?),
        })
    }

    /// The async client underneath, to use from async code.
    pub fn as_async(&self) -> &cygnet_core::Client {
        &self.inner
    }

    /// A client sharing this one's pool and runtime, with `options` laid over its own (see
    /// [`cygnet_core::Client::with_options`]).
    #[must_use]
    pub fn with_options(&self, options: RequestOptions) -> Client {
        Client {
            inner: self.inner.with_options(options),
            runtime: Arc::clone(&self.runtime),
        }
    }

    /// The options every call of this client uses.
    pub fn options(&self) -> &RequestOptions {
        self.inner.options()
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.inner.base_url()
    }

    /// Sends a chat completion request and waits for the whole answer; see
    /// [`cygnet_core::Client::chat`].
    ///
    /// # Blocked answers
    /// An answer Gray Swan blocked is `Ok` and says so:
    /// [`ChatCompletion::blocked`]; `.into_unblocked()?` makes it [`Error::Blocked`].
    ///
    /// # Errors
    /// As [`cygnet_core::Client::chat`].
    pub fn chat(&self, request: &ChatCompletionRequest) -> Result<ChatCompletion> {
        self.call(self.inner.chat(request))
    }

    /// Like [`Client::chat`], with the status and headers of the answer.
    ///
    /// # Errors
    /// As [`cygnet_core::Client::chat_response`].
    pub fn chat_response(
        &self,
        request: &ChatCompletionRequest,
    ) -> Result<ApiResponse<ChatCompletion>> {
        self.call(self.inner.chat_response(request))
    }

    /// Sends a streaming chat completion request and returns, once the response headers have
    /// arrived, an iterator over the chunks; see [`cygnet_core::Client::chat_stream`].
    ///
    /// Each `next()` blocks until the next chunk arrives. Dropping the iterator before the
    /// end closes the connection.
    ///
    /// # Blocked answers
    /// A stream Gray Swan blocks ends with a chunk that says so:
    /// [`ChatCompletionChunk::is_blocked`]; the accumulated and text streams note it too.
    ///
    /// # Errors
    /// As [`cygnet_core::Client::chat_stream`].
    pub fn chat_stream(&self, request: &ChatCompletionRequest) -> Result<ChatStream> {
        let stream = self.call_stream(self.inner.chat_stream(request))?;
        Ok(ChatStream {
            inner: OnRuntime::new(stream, &self.runtime),
        })
    }

    /// Sends a moderation request; see [`cygnet_core::Client::moderate`].
    ///
    /// # Errors
    /// As [`cygnet_core::Client::moderate`].
    pub fn moderate(&self, request: &ModerationRequest) -> Result<ModerationResponse> {
        self.call(self.inner.moderate(request))
    }

    /// Like [`Client::moderate`], with the status and headers of the answer.
    ///
    /// # Errors
    /// As [`cygnet_core::Client::moderate_response`].
    pub fn moderate_response(
        &self,
        request: &ModerationRequest,
    ) -> Result<ApiResponse<ModerationResponse>> {
        self.call(self.inner.moderate_response(request))
    }

    /// Asks the Cygnal monitor to judge a text or a conversation; see
    /// [`cygnet_core::Client::monitor`].
    ///
    /// # Errors
    /// As [`cygnet_core::Client::monitor`].
    pub fn monitor(&self, request: &MonitorRequest) -> Result<MonitorResponse> {
        self.call(self.inner.monitor(request))
    }

    /// Like [`Client::monitor`], with the status and headers of the answer.
    ///
    /// # Errors
    /// As [`cygnet_core::Client::monitor_response`].
    pub fn monitor_response(
        &self,
        request: &MonitorRequest,
    ) -> Result<ApiResponse<MonitorResponse>> {
        self.call(self.inner.monitor_response(request))
    }

    /// Sends a monitor request and returns the successful answer unparsed; see
    /// [`cygnet_core::Client::monitor_raw`].
    ///
    /// # Errors
    /// As [`cygnet_core::Client::monitor_raw`].
    pub fn monitor_raw(&self, request: &MonitorRequest) -> Result<RawResponse> {
        self.call(self.inner.monitor_raw(request))
    }

    /// POSTs any JSON body to `path` and returns the successful answer unparsed; see
    /// [`cygnet_core::Client::post_raw`].
    ///
    /// # Errors
    /// As [`cygnet_core::Client::post_raw`].
    pub fn post_raw(
        &self,
        path: &str,
        body: &(impl serde::Serialize + ?Sized),
    ) -> Result<RawResponse> {
        self.call(self.inner.post_raw(path, body))
    }

    /// POSTs any JSON body to `path` and returns, once the response headers have arrived, the
    /// raw server-sent events of the answer; see [`cygnet_core::Client::post_stream_raw`].
    ///
    /// The escape hatch for streaming calls whose events this SDK has no type for. Error
    /// statuses are still [`Error::Api`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), cygnet::Error> {
    /// let client = cygnet::blocking::Client::from_env()?;
    /// let body = serde_json::json!({
    ///     "model": "cygnet",
    ///     "stream": true,
    ///     "messages": [{"role": "user", "content": "Hello"}],
    /// });
    /// for event in client.post_stream_raw("/chat/completion", &body)? {
    ///     println!("{}", event?.data);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`cygnet_core::Client::post_stream_raw`].
    pub fn post_stream_raw(
        &self,
        path: &str,
        body: &(impl serde::Serialize + ?Sized),
    ) -> Result<SseStream> {
        let stream = self.call_stream(self.inner.post_stream_raw(path, body))?;
        Ok(SseStream {
            inner: OnRuntime::new(stream, &self.runtime),
        })
    }

    /// The one way every call runs: the async call, driven to its end on this thread inside
    /// the client's runtime.
    fn call<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.runtime.block_on(call)?
    }

    /// [`Client::call`] for a call that opens a stream: on a thread inside another runtime,
    /// its body is read by the client's runtime and relayed to this thread in batches
    /// ([`relay`]).
    fn call_stream<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        self.runtime.block_on_stream(call)?
    }
}

impl Client {
    /// Cygnal's protected completions through this client, with the model provider's `key`;
    /// see [`cygnet_core::Cygnal`]. Shares this client's pool and runtime.
    ///
    /// ```no_run
    /// use cygnet::cygnal::ProviderKey;
    /// use cygnet::types::{CygnalRequest, Message};
    /// # fn main() -> cygnet::Result<()> {
    /// let client = cygnet::blocking::Client::from_env()?;
    /// let guarded = client.cygnal(ProviderKey::from_env()?); // OPENAI_API_KEY
    /// let request = CygnalRequest::new("gpt-5", vec![Message::user("Hello!")]);
    /// let completion = guarded.chat(&request)?;
    /// if completion.is_blocked() {
    ///     eprintln!("Gray Swan blocked the answer");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn cygnal(&self, key: ProviderKey) -> Cygnal {
        Cygnal {
            inner: self.inner.cygnal(key),
            runtime: Arc::clone(&self.runtime),
        }
    }
}

/// Cygnal's protected completions on a blocking [`Client`], made by [`Client::cygnal`]: the
/// calls of [`cygnet_core::Cygnal`], each blocking until its answer arrives.
///
/// Cheap to clone; its `Debug` shows neither key.
#[derive(Clone)]
pub struct Cygnal {
    inner: cygnet_core::Cygnal,
    runtime: Arc<Runtime>,
}

impl fmt::Debug for Cygnal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Cygnal")
            .field("cygnal", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Cygnal {
    /// The async route underneath, to use from async code.
    pub fn as_async(&self) -> &cygnet_core::Cygnal {
        &self.inner
    }

    /// This route with `options` laid over its own.
    #[must_use]
    pub fn with_options(&self, options: RequestOptions) -> Cygnal {
        Cygnal {
            inner: self.inner.with_options(options),
            runtime: Arc::clone(&self.runtime),
        }
    }

    /// This route with `controls`' headers on every call; see
    /// [`cygnet_core::Cygnal::with_controls`].
    ///
    /// # Errors
    /// As [`cygnet_core::Cygnal::with_controls`].
    pub fn with_controls(&self, controls: CygnalControls) -> Result<Cygnal> {
        Ok(Cygnal {
            inner: self.inner.with_controls(controls)?,
            runtime: Arc::clone(&self.runtime),
        })
    }

    /// Sends `request` to Cygnal and waits for the whole answer; see
    /// [`cygnet_core::Cygnal::chat`]. A blocked answer is `Ok` and says so
    /// ([`ChatCompletion::blocked`]).
    ///
    /// # Errors
    /// As [`cygnet_core::Cygnal::chat`].
    pub fn chat(&self, request: &CygnalRequest) -> Result<ChatCompletion> {
        self.runtime.block_on(self.inner.chat(request))?
    }

    /// Like [`Cygnal::chat`], with the status and headers of the answer.
    ///
    /// # Errors
    /// As [`cygnet_core::Cygnal::chat_response`].
    pub fn chat_response(&self, request: &CygnalRequest) -> Result<ApiResponse<ChatCompletion>> {
        self.runtime.block_on(self.inner.chat_response(request))?
    }

    /// Sends `request` with `stream: true` and returns an iterator over the chunks; see
    /// [`cygnet_core::Cygnal::chat_stream`]. A stream Cygnal cuts ends with a chunk that says
    /// so ([`ChatCompletionChunk::is_blocked`]).
    ///
    /// # Errors
    /// As [`cygnet_core::Cygnal::chat_stream`].
    pub fn chat_stream(&self, request: &CygnalRequest) -> Result<ChatStream> {
        let stream = self.runtime.block_on(self.inner.chat_stream(request))??;
        Ok(ChatStream {
            inner: OnRuntime::new(stream, &self.runtime),
        })
    }
}

impl TryFrom<cygnet_core::Client> for Client {
    type Error = Error;

    fn try_from(client: cygnet_core::Client) -> Result<Self> {
        Self::new(client)
    }
}

/// An async stream read one blocking `next()` at a time, on the caller's thread.
///
/// Shared by every blocking stream type here. Its connection and timers belong to the
/// client's runtime, which is kept alive as long as the stream, and it is dropped inside that
/// runtime's context, so it can be read and dropped from any thread.
struct OnRuntime<S> {
    /// Always `Some` until dropped: taken only by `Drop`, to drop it inside the runtime.
    stream: Option<S>,
    runtime: Arc<Runtime>,
}

impl<S> OnRuntime<S> {
    fn new(stream: S, runtime: &Arc<Runtime>) -> Self {
        runtime.stream_opened();
        Self {
            stream: Some(stream),
            runtime: Arc::clone(runtime),
        }
    }

    /// Polls the stream with `poll` until it is ready, on this thread.
    ///
    /// What is already decoded or already read comes back from the first poll; only an empty
    /// read buffer makes this thread wait, driving the runtime until the socket has more
    /// bytes (see [`Runtime::block_on`]).
    fn next_with<T>(
        &mut self,
        mut poll: impl FnMut(&mut S, &mut Context<'_>) -> Poll<Option<Result<T>>>,
    ) -> Option<Result<T>> {
        let stream = self.stream.as_mut()?;
        // `block_on_stream`: a re-send made while reading the stream opens a body too.
        match self
            .runtime
            .block_on_stream(std::future::poll_fn(|cx| poll(stream, cx)))
        {
            Ok(item) => item,
            Err(error) => Some(Err(error)),
        }
    }
}

impl<S, T> OnRuntime<S>
where
    S: Stream<Item = Result<T>> + Unpin,
{
    fn next(&mut self) -> Option<Result<T>> {
        self.next_with(|stream, cx| Pin::new(stream).poll_next(cx))
    }
}

impl<S> Drop for OnRuntime<S> {
    fn drop(&mut self) {
        // Timers and connection handles deregister from their runtime as they drop; enter it
        // so that works from any thread.
        if let Some(runtime) = self.runtime.handle() {
            let _guard = runtime.enter();
            self.stream.take();
        }
        // The client's own thread looks after the connection from here.
        self.runtime.stream_closed();
    }
}

/// The chunks of a streaming chat completion, one blocking `next()` at a time.
///
/// Ends after the server's `[DONE]`; a stream cut short yields the chunks that came and then
/// an error. Dropping it drops the async stream and closes the connection.
pub struct ChatStream {
    inner: OnRuntime<cygnet_core::ChatStream>,
}

impl ChatStream {
    /// Waits for the next chunk and lends it to `f`, borrowed from the read buffer; returns
    /// what `f` returns. `None` after `[DONE]` or after an error.
    ///
    /// The blocking twin of [`cygnet_core::ChatStream::next_chunk_with`]: for a caller that
    /// looks at each chunk and moves on, it skips building the owned chunk that `next()`
    /// gives, with the same chunks and the same errors.
    ///
    /// ```no_run
    /// # fn run(client: cygnet::blocking::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// let mut stream = client.chat_stream(&request)?;
    /// while let Some(printed) = stream.next_chunk_with(|chunk| {
    ///     print!("{}", chunk.text_delta().unwrap_or_default())
    /// }) {
    ///     printed?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn next_chunk_with<R>(
        &mut self,
        mut f: impl FnMut(ChatCompletionChunkRef<'_>) -> R,
    ) -> Option<Result<R>> {
        self.inner
            .next_with(|stream, cx| stream.poll_chunk_with(cx, &mut f))
    }

    /// The status of the response.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner
            .stream
            .as_ref()
            .map(cygnet_core::ChatStream::status)
    }

    /// The headers of the response (request ids among them).
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.inner
            .stream
            .as_ref()
            .map(cygnet_core::ChatStream::headers)
    }

    /// How many chunks have arrived so far.
    pub fn chunks_received(&self) -> u64 {
        self.inner
            .stream
            .as_ref()
            .map_or(0, cygnet_core::ChatStream::chunks_received)
    }

    /// Just the text of choice 0, piece by piece, as [`cygnet_core::TextStream`] picks it.
    ///
    /// ```no_run
    /// # fn run(client: cygnet::blocking::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// for piece in client.chat_stream(&request)?.text() {
    ///     print!("{}", piece?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn text(self) -> TextStream {
        TextStream {
            inner: self,
            blocked: false,
            refusal: None,
        }
    }

    /// Folds every chunk into the completion while still yielding each one; see
    /// [`AccumulatingStream`].
    ///
    /// ```no_run
    /// # fn run(client: cygnet::blocking::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// let mut stream = client.chat_stream(&request)?.accumulate();
    /// for chunk in &mut stream {
    ///     print!("{}", chunk?.text_delta().unwrap_or_default());
    /// }
    /// println!("\n{:?}", stream.into_completion().usage);
    /// # Ok(())
    /// # }
    /// ```
    pub fn accumulate(self) -> AccumulatingStream {
        AccumulatingStream {
            inner: self,
            accumulator: Accumulator::new(),
        }
    }

    /// Reads the stream to its end and returns the completion a non-streaming call would
    /// have returned; the first error ends it.
    ///
    /// ```no_run
    /// # fn run(client: cygnet::blocking::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// let completion = client.chat_stream(&request)?.collect_completion()?;
    /// println!("{}", completion.content().unwrap_or_default());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As the async [`ChatStream::collect_completion`](cygnet_core::ChatStream::collect_completion).
    pub fn collect_completion(self) -> Result<ChatCompletion> {
        self.accumulate().collect_completion()
    }
}

impl Iterator for ChatStream {
    type Item = Result<ChatCompletionChunk>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::ChatStream")
            .field("stream", &self.inner.stream)
            .finish_non_exhaustive()
    }
}

/// The text pieces of choice 0, made by [`ChatStream::text`]: the non-empty content deltas,
/// as [`cygnet_core::TextStream`] yields them (chunks with only a role, a tool-call fragment
/// or usage yield nothing; other choices are ignored).
///
/// Errors pass through unchanged and end the stream. A block by Gray Swan is noted as it
/// passes, as by [`cygnet_core::TextStream`]: see [`TextStream::blocked`].
#[derive(Debug)]
pub struct TextStream {
    inner: ChatStream,
    blocked: bool,
    refusal: Option<String>,
}

impl TextStream {
    /// The chunk stream underneath (for its status and headers).
    pub fn get_ref(&self) -> &ChatStream {
        &self.inner
    }

    /// The chunk stream underneath, to read the rest of it chunk by chunk.
    pub fn into_inner(self) -> ChatStream {
        self.inner
    }

    /// Whether Gray Swan blocked choice 0, as far as the stream has been read; then the
    /// refusal the chunks carried. As [`cygnet_core::TextStream::blocked`].
    pub fn blocked(&self) -> Option<Blocked<'_>> {
        self.blocked
            .then(|| Blocked::new(0, self.refusal.as_deref(), None))
    }

    /// Whether Gray Swan blocked choice 0, as far as the stream has been read.
    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// Reads the stream to its end and returns all of choice 0's text; the first error
    /// ends it. A blocked stream fails, as [`cygnet_core::TextStream::collect_text`] does.
    ///
    /// # Errors
    ///
    /// The first error of the stream underneath; [`Error::Blocked`] when Gray Swan blocked
    /// choice 0.
    pub fn collect_text(mut self) -> Result<String> {
        let text = (&mut self).collect::<Result<String>>()?;
        if self.blocked {
            let content = (!text.is_empty()).then_some(text);
            return Err(BlockedAnswer::from_text(0, content, self.refusal.take()).into());
        }
        Ok(text)
    }
}

impl Iterator for TextStream {
    type Item = Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // The borrowed chunk: only the text is copied out of the read buffer.
            let piece = self.inner.inner.next_with(|stream, cx| {
                stream.poll_chunk_with(cx, |chunk| TextPiece::from_chunk_ref(&chunk))
            });
            match piece? {
                Ok(piece) => {
                    self.blocked |= piece.blocked;
                    if let Some(refusal) = piece.refusal {
                        self.refusal
                            .get_or_insert_with(String::new)
                            .push_str(&refusal);
                    }
                    if let Some(text) = piece.text {
                        return Some(Ok(text));
                    }
                }
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

/// The chunks of a stream, each folded into a [`cygnet_core::Accumulator`] before it is
/// yielded, made by [`ChatStream::accumulate`]; the blocking twin of
/// [`cygnet_core::AccumulatingStream`].
///
/// Iterate it by `&mut` to keep it, then take [`into_completion`](Self::into_completion).
#[derive(Debug)]
pub struct AccumulatingStream {
    inner: ChatStream,
    accumulator: Accumulator,
}

impl AccumulatingStream {
    /// The completion as far as the chunks yielded so far spell it out.
    pub fn completion(&self) -> ChatCompletion {
        self.accumulator.snapshot()
    }

    /// The accumulated completion, final once the stream has ended.
    ///
    /// Called earlier (after an error, or to stop reading), it is the part received so far.
    pub fn into_completion(self) -> ChatCompletion {
        self.accumulator.finish()
    }

    /// The accumulator, to inspect it without copying a snapshot.
    pub fn accumulator(&self) -> &Accumulator {
        &self.accumulator
    }

    /// The first choice Gray Swan blocked in the chunks yielded so far; see
    /// [`Accumulator::blocked`].
    pub fn blocked(&self) -> Option<Blocked<'_>> {
        self.accumulator.blocked()
    }

    /// Whether Gray Swan blocked any choice in the chunks yielded so far.
    pub fn is_blocked(&self) -> bool {
        self.accumulator.is_blocked()
    }

    /// The chunk stream underneath (for its status and headers).
    pub fn get_ref(&self) -> &ChatStream {
        &self.inner
    }

    /// Reads the stream to its end and returns the completion; the first error ends it.
    ///
    /// # Errors
    ///
    /// The first error of the stream underneath.
    pub fn collect_completion(mut self) -> Result<ChatCompletion> {
        for chunk in &mut self {
            chunk?;
        }
        Ok(self.into_completion())
    }
}

impl Iterator for AccumulatingStream {
    type Item = Result<ChatCompletionChunk>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next();
        if let Some(Ok(chunk)) = &item {
            self.accumulator.push(chunk);
        }
        item
    }
}

/// The raw server-sent events of a streaming answer, one blocking `next()` at a time, made by
/// [`Client::post_stream_raw`]; the blocking twin of [`cygnet_core::SseStream`].
///
/// A body that ends inside an event yields an error; a silence longer than the idle timeout
/// yields [`Error::Timeout`]; after an error it ends. Dropping it closes the connection.
pub struct SseStream {
    inner: OnRuntime<cygnet_core::SseStream>,
}

impl SseStream {
    /// The status of the response.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner
            .stream
            .as_ref()
            .map(cygnet_core::SseStream::status)
    }

    /// The headers of the response (request ids among them).
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.inner
            .stream
            .as_ref()
            .map(cygnet_core::SseStream::headers)
    }
}

impl Iterator for SseStream {
    type Item = Result<OwnedEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

impl fmt::Debug for SseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::SseStream")
            .field("stream", &self.inner.stream)
            .finish_non_exhaustive()
    }
}

/// Builds a blocking [`Client`]: the async [`cygnet_core::ClientBuilder`], preset from the
/// environment with [`HyperTransport`](crate::HyperTransport).
///
/// ```
/// use std::time::Duration;
///
/// let client = cygnet::blocking::Client::builder()
///     .api_key("sk-test-fake")
///     .base_url("http://127.0.0.1:8080")
///     .max_retries(0)
///     .timeout(Duration::from_secs(10))
///     .build()?;
/// assert!(!format!("{client:?}").contains("sk-test-fake"));
/// # Ok::<(), cygnet::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    inner: cygnet_core::ClientBuilder,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl From<cygnet_core::ClientBuilder> for ClientBuilder {
    fn from(inner: cygnet_core::ClientBuilder) -> Self {
        Self { inner }
    }
}

/// Forwards builder methods to the async builder.
macro_rules! forward {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty);)*) => {$(
        $(#[$doc])*
        #[must_use]
        pub fn $name(self, $arg: $ty) -> Self {
            Self { inner: self.inner.$name($arg) }
        }
    )*};
}

impl ClientBuilder {
    /// A builder preset from the environment with the hyper transport.
    pub fn new() -> Self {
        Self {
            inner: crate::builder(),
        }
    }

    /// [`ClientBuilder::new`] with the variables read through `lookup` instead of the
    /// process's environment; see [`cygnet_core::ClientBuilder::from_env_with`].
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            inner: cygnet_core::ClientBuilder::from_env_with(lookup)
                .transport(crate::HyperTransport::new()),
        }
    }

    forward! {
        /// Sets the API key; see [`cygnet_core::ClientBuilder::api_key`].
        api_key(key: impl Into<String>);
        /// Sets the base URL; see [`cygnet_core::ClientBuilder::base_url`].
        base_url(url: impl Into<String>);
        /// Sets the transport (it must run on tokio); see
        /// [`cygnet_core::ClientBuilder::transport`].
        transport(transport: impl Transport);
        /// Sets the transport from a shared handle (it must run on tokio); see
        /// [`cygnet_core::ClientBuilder::shared_transport`].
        shared_transport(transport: Arc<dyn Transport>);
        /// Options for every request; see [`cygnet_core::ClientBuilder::default_options`].
        default_options(options: RequestOptions);
        /// The largest body read; see [`cygnet_core::ClientBuilder::max_body_bytes`].
        max_body_bytes(limit: usize);
        /// The largest single event; see [`cygnet_core::ClientBuilder::max_event_bytes`].
        max_event_bytes(limit: usize);
        /// Allows cleartext to remote hosts; see
        /// [`cygnet_core::ClientBuilder::allow_insecure_http`].
        allow_insecure_http(allow: bool);
    }

    // Every setter of a per-call option, from the one list the async builder and
    // `RequestOptions` make theirs from: none can be missing here.
    cygnet_core::__shared_option_setters!(forward);

    /// Changes the underlying async builder with `f`, for settings not forwarded here.
    #[must_use]
    pub fn map_async(
        self,
        f: impl FnOnce(cygnet_core::ClientBuilder) -> cygnet_core::ClientBuilder,
    ) -> Self {
        Self {
            inner: f(self.inner),
        }
    }

    /// Checks the configuration and builds the client; see
    /// [`cygnet_core::ClientBuilder::build`].
    ///
    /// # Errors
    ///
    /// [`Error::Config`] as the async builder's `build` gives it (no
    /// key, a bad base URL, a bad key), or when the client's runtime cannot be started.
    pub fn build(self) -> Result<Client> {
        Client::new(self.inner.build()?)
    }
}

/// The blocking twin of [`cygnet_core::guard::GuardedClient`]: Cygnal's checks around every
/// call, by a [`GuardPolicy`](cygnet_core::guard::GuardPolicy); made with
/// [`Client::guarded`]. Each call blocks until its checks decided.
///
/// ```no_run
/// # fn run(client: cygnet::blocking::Client, request: cygnet::types::ChatCompletionRequest)
/// #     -> cygnet::Result<()> {
/// use cygnet::guard::GuardPolicy;
/// let guarded = client.guarded(GuardPolicy::new());
/// let answer = guarded.chat(&request)?;
/// for verdict in answer.report.verdicts() {
///     eprintln!("{verdict}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GuardedClient {
    inner: cygnet_core::guard::GuardedClient,
    runtime: Arc<Runtime>,
}

impl fmt::Debug for GuardedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::GuardedClient")
            .field(&self.inner)
            .finish()
    }
}

impl Client {
    /// This client with Cygnal's checks around every call, by `policy`; see
    /// [`cygnet_core::Client::guarded`].
    pub fn guarded(&self, policy: cygnet_core::guard::GuardPolicy) -> GuardedClient {
        GuardedClient {
            inner: self.inner.guarded(policy),
            runtime: Arc::clone(&self.runtime),
        }
    }
}

impl GuardedClient {
    /// The async guarded client underneath.
    pub fn as_async(&self) -> &cygnet_core::guard::GuardedClient {
        &self.inner
    }

    /// A guarded chat call; see [`cygnet_core::guard::GuardedClient::chat`].
    ///
    /// # Errors
    /// As [`cygnet_core::guard::GuardedClient::chat`]: [`Error::Guard`] when a check blocked
    /// or could not decide.
    pub fn chat(
        &self,
        request: &ChatCompletionRequest,
    ) -> Result<cygnet_core::guard::Guarded<ChatCompletion>> {
        self.runtime.block_on(self.inner.chat(request))?
    }

    /// A guarded streaming chat call; see
    /// [`cygnet_core::guard::GuardedClient::chat_stream`]. Each `next()` blocks until the next
    /// chunk, or the guard's verdict, arrives.
    ///
    /// # Errors
    /// As [`cygnet_core::guard::GuardedClient::chat_stream`].
    pub fn chat_stream(&self, request: &ChatCompletionRequest) -> Result<GuardedStream> {
        let stream = self.runtime.block_on(self.inner.chat_stream(request))??;
        Ok(GuardedStream {
            inner: OnRuntime::new(stream, &self.runtime),
        })
    }

    /// Checks untrusted content before use; see [`cygnet_core::guard::GuardedClient::vet`].
    ///
    /// # Errors
    /// As [`cygnet_core::guard::GuardedClient::vet`].
    pub fn vet(&self, content: impl Into<String>) -> Result<cygnet_core::guard::VettedData> {
        self.runtime.block_on(self.inner.vet(content))?
    }
}

/// The chunks of a guarded streaming answer, one blocking `next()` at a time; see
/// [`cygnet_core::guard::GuardedStream`]: a check that blocks ends it with [`Error::Guard`].
pub struct GuardedStream {
    inner: OnRuntime<cygnet_core::guard::GuardedStream>,
}

impl GuardedStream {
    fn get(&self) -> Option<&cygnet_core::guard::GuardedStream> {
        self.inner.stream.as_ref()
    }

    /// The checks so far; see [`cygnet_core::guard::GuardedStream::report`].
    pub fn report(&self) -> Option<&cygnet_core::guard::GuardReport> {
        self.get().map(cygnet_core::guard::GuardedStream::report)
    }

    /// How many chunks have been delivered.
    pub fn delivered(&self) -> u64 {
        self.get()
            .map_or(0, cygnet_core::guard::GuardedStream::delivered)
    }

    /// How many delivered chunks no passed check covers yet; see
    /// [`cygnet_core::guard::GuardedStream::delivered_unverified`].
    pub fn delivered_unverified(&self) -> u64 {
        self.get()
            .map_or(0, cygnet_core::guard::GuardedStream::delivered_unverified)
    }

    /// The answer so far, accumulated.
    pub fn completion(&self) -> Option<ChatCompletion> {
        self.get()
            .map(cygnet_core::guard::GuardedStream::completion)
    }
}

impl Iterator for GuardedStream {
    type Item = Result<ChatCompletionChunk>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

impl fmt::Debug for GuardedStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::GuardedStream")
            .field("stream", &self.inner.stream)
            .finish_non_exhaustive()
    }
}
