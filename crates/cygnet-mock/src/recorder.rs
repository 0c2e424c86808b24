//! [`Recorder`]: a [`Transport`] that passes every exchange through another transport and
//! writes it to a cassette.
//!
//! # When the cassette is written
//!
//! After every exchange ends (a transport error, a body read to its end or to an error, a
//! body dropped unread, a send given up before the head arrived), the whole cassette is
//! rewritten atomically (see [`cassette_format`](crate::cassette_format)). So a test that
//! panics half-way still leaves every finished exchange on disk, and the exchange it was in
//! the middle of too, marked as abandoned, since unwinding drops its body. It is written once
//! more when the last handle to the recorder (the client's included) is dropped.
//! [`Recorder::finish`] writes it now and returns any error of this or an earlier write;
//! without it, a failed write is reported on stderr when the recorder is dropped, since a
//! `Drop` cannot return it.
//!
//! Writing is plain blocking file I/O on the task that ends the exchange: a recorder is a
//! test tool, and a cassette is small.

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cygnet_core::transport::{async_trait, Body, Sleep, Transport, TransportError};
use futures_core::Stream;
use http::HeaderMap;
use serde_json::Value;

use crate::cassette_format::{
    kind_name, BodyEnd, CassetteError, CassetteFile, Chunk, Exchange, RecordedBody, RecordedError,
    RecordedRequest, RecordedResponse,
};
use crate::redact::{scrub_chunks, scrub_str, Redactions};

/// A [`Transport`] that records every exchange with an inner transport into a cassette
/// file, and otherwise changes nothing: the caller gets the inner transport's response
/// head, each body chunk as it arrives, and its errors, as they are.
///
/// Cheap to clone; clones share one cassette. Build one with [`Recorder::new`] or
/// [`Cassette::recorder`](crate::Cassette::recorder) (to redact more or record timing), or
/// let [`Cassette::auto`](crate::Cassette::auto) choose between recording and replaying.
/// See the [module docs](self) for when the file is written, and
/// [`cassette_format`](crate::cassette_format) for what it holds.
///
/// ```no_run
/// use cygnet_mock::{MockReply, MockTransport, Recorder};
///
/// // Any transport can be recorded; a real test records cygnet-hyper's.
/// let inner = MockTransport::conversation([MockReply::text("Hello!")]);
/// let recorder = Recorder::new("tests/cassettes/hello.json", inner);
/// let client = cygnet_core::ClientBuilder::new()
///     .api_key("sk-test-fake")
///     .transport(recorder.clone())
///     .build()?;
/// // ... use the client ...
/// recorder.finish()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Recorder {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    inner: Arc<dyn Transport>,
    redactions: Redactions,
    timing: bool,
    state: Mutex<State>,
    /// Held while a snapshot is taken and written, so writes land in snapshot order.
    write: Mutex<()>,
}

struct State {
    slots: Vec<Slot>,
    /// Something changed since the last write (initially true: an empty cassette is
    /// written too).
    dirty: bool,
    /// The first failed write not yet returned by `finish`.
    write_error: Option<CassetteError>,
}

/// An exchange as it is being recorded.
struct Slot {
    request: RecordedRequest,
    /// Literal values to scrub from the response (never written).
    secrets: Vec<Vec<u8>>,
    outcome: Outcome,
}

enum Outcome {
    /// Sent; no head yet. Written as abandoned if nothing more happens.
    Waiting,
    Abandoned,
    Failed(RecordedError),
    Response(Box<ResponseRecord>),
}

struct ResponseRecord {
    status: u16,
    headers: HeaderMap,
    head_delay: Duration,
    chunks: Vec<Bytes>,
    delays: Vec<Duration>,
    /// `None` while the body is still being read.
    end: Option<BodyEnd>,
}

impl Recorder {
    /// A recorder writing to `path` (replacing any file there), passing requests to
    /// `inner`, with the default [`Redactions`] and no timing.
    pub fn new(path: impl AsRef<Path>, inner: impl Transport) -> Self {
        Self::with_options(path.as_ref(), Arc::new(inner), Redactions::new(), false)
    }

    pub(crate) fn with_options(
        path: &Path,
        inner: Arc<dyn Transport>,
        redactions: Redactions,
        timing: bool,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                inner,
                redactions,
                timing,
                state: Mutex::new(State {
                    slots: Vec::new(),
                    dirty: true,
                    write_error: None,
                }),
                write: Mutex::new(()),
            }),
        }
    }

    /// The cassette's path.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// How many exchanges have started so far.
    pub fn exchange_count(&self) -> usize {
        self.shared.state().slots.len()
    }

    /// Writes the cassette now.
    ///
    /// Exchanges still under way are written as they stand (a body being read as
    /// abandoned at this point); they are written again when they end.
    ///
    /// # Errors
    ///
    /// [`CassetteError::Write`] when this write, or an earlier one made after an exchange
    /// ended, failed.
    pub fn finish(&self) -> Result<(), CassetteError> {
        self.shared.write();
        match self.shared.state().write_error.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not lose the recording.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the cassette as it stands; a failure is kept for `finish`.
    fn write(&self) {
        let _order = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let file = {
            let mut state = self.state();
            state.dirty = false;
            CassetteFile::new(
                self.redactions.field_names(),
                state.slots.iter().map(|s| self.exchange(s)).collect(),
            )
        };
        if let Err(error) = file.save(&self.path) {
            let mut state = self.state();
            state.dirty = true;
            state.write_error.get_or_insert(error);
        }
    }

    /// Updates slot `index` and writes the cassette when the exchange is over.
    fn update(&self, index: usize, change: impl FnOnce(&mut Outcome) -> bool) {
        let ended = {
            let mut state = self.state();
            let ended = state
                .slots
                .get_mut(index)
                .is_some_and(|slot| change(&mut slot.outcome));
            state.dirty |= ended;
            ended
        };
        if ended {
            self.write();
        }
    }

    /// The slot as it is written.
    fn exchange(&self, slot: &Slot) -> Exchange {
        let secrets = &slot.secrets;
        let mut exchange = Exchange {
            request: slot.request.clone(),
            response: None,
            error: None,
            abandoned: false,
        };
        match &slot.outcome {
            Outcome::Waiting | Outcome::Abandoned => exchange.abandoned = true,
            Outcome::Failed(error) => exchange.error = Some(scrub_error(error, secrets)),
            Outcome::Response(response) => {
                exchange.response = Some(self.response(response, secrets));
            }
        }
        exchange
    }

    fn response(&self, record: &ResponseRecord, secrets: &[Vec<u8>]) -> RecordedResponse {
        let end = match &record.end {
            Some(BodyEnd::Error(error)) => BodyEnd::Error(scrub_error(error, secrets)),
            Some(end) => end.clone(),
            None => BodyEnd::Abandoned,
        };
        let streamed = record
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
        let mut response = RecordedResponse {
            status: record.status,
            headers: self
                .redactions
                .written_headers(&record.headers, true, secrets),
            head_delay_ms: self.timing.then(|| millis(record.head_delay)),
            body: None,
            chunk_delays_ms: None,
            end: BodyEnd::Eof,
        };
        if !streamed && end == BodyEnd::Eof {
            let whole: Vec<u8> = record.chunks.concat();
            if whole.is_empty() {
                return response;
            }
            if let Ok(mut value) = serde_json::from_slice::<Value>(&whole) {
                self.redactions.redact_json(&mut value, secrets);
                response.body = Some(RecordedBody::Json(value));
                return response;
            }
            if let Ok(text) = std::str::from_utf8(&whole) {
                response.body = Some(RecordedBody::Text(scrub_str(text, secrets)));
                return response;
            }
        }
        let mut chunks: Vec<Vec<u8>> = record.chunks.iter().map(|c| c.to_vec()).collect();
        scrub_chunks(&mut chunks, secrets);
        let mut kept = Vec::with_capacity(chunks.len());
        let mut delays = Vec::with_capacity(chunks.len());
        let mut carried = Duration::ZERO;
        for (chunk, delay) in chunks.into_iter().zip(&record.delays) {
            // A chunk that held nothing but (part of) a secret: its wait moves to the next.
            carried += *delay;
            if !chunk.is_empty() {
                kept.push(Chunk::from_bytes(chunk));
                delays.push(millis(carried));
                carried = Duration::ZERO;
            }
        }
        if !kept.is_empty() {
            response.body = Some(RecordedBody::Chunks(kept));
            response.chunk_delays_ms = self.timing.then_some(delays);
        }
        response.end = end;
        response
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        let unreported = state.write_error.take();
        if state.dirty || unreported.is_some() {
            self.write();
        }
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        // Drop cannot return the error, and losing a recording silently is worse.
        if let Some(error) = state.write_error.take().or(unreported) {
            eprintln!("cygnet-mock: {error}");
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn scrub_error(error: &RecordedError, secrets: &[Vec<u8>]) -> RecordedError {
    RecordedError {
        kind: error.kind.clone(),
        message: scrub_str(&error.message, secrets),
    }
}

/// The kind and message of a transport error, so that replay rebuilds the same error: the
/// message is the source's, which `TransportError`'s `Display` prefixes by kind.
fn record_error(error: &TransportError) -> RecordedError {
    let message = match std::error::Error::source(error) {
        Some(source) => source.to_string(),
        None => error.to_string(),
    };
    RecordedError {
        kind: kind_name(error.kind()).to_owned(),
        message,
    }
}

/// Marks a send given up before its head (its future dropped) as abandoned.
struct SendGuard {
    shared: Arc<Shared>,
    index: usize,
}

impl Drop for SendGuard {
    fn drop(&mut self) {
        self.shared.update(self.index, |outcome| {
            if matches!(outcome, Outcome::Waiting) {
                *outcome = Outcome::Abandoned;
                true
            } else {
                false
            }
        });
    }
}

#[async_trait]
impl Transport for Recorder {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Body>, TransportError> {
        let shared = &self.shared;
        let (recorded, secrets) = RecordedRequest::scrubbed(&request, &shared.redactions);
        let index = {
            let mut state = shared.state();
            state.slots.push(Slot {
                request: recorded,
                secrets,
                outcome: Outcome::Waiting,
            });
            state.slots.len() - 1
        };
        let guard = SendGuard {
            shared: Arc::clone(shared),
            index,
        };
        let started = Instant::now();
        let result = shared.inner.send(request).await;
        let head_delay = started.elapsed();
        match result {
            Err(error) => {
                let recorded = record_error(&error);
                shared.update(index, |outcome| {
                    *outcome = Outcome::Failed(recorded);
                    true
                });
                drop(guard);
                Err(error)
            }
            Ok(response) => {
                let (parts, body) = response.into_parts();
                shared.update(index, |outcome| {
                    *outcome = Outcome::Response(Box::new(ResponseRecord {
                        status: parts.status.as_u16(),
                        headers: parts.headers.clone(),
                        head_delay,
                        chunks: Vec::new(),
                        delays: Vec::new(),
                        end: None,
                    }));
                    false
                });
                drop(guard);
                let body = RecordingBody {
                    inner: body,
                    shared: Arc::clone(shared),
                    index,
                    last: Instant::now(),
                    ended: false,
                };
                Ok(http::Response::from_parts(parts, Body::from_stream(body)))
            }
        }
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.shared.inner.sleep(duration)
    }
}

/// The inner body, passed through chunk by chunk, each chunk recorded on its way.
struct RecordingBody {
    inner: Body,
    shared: Arc<Shared>,
    index: usize,
    last: Instant,
    ended: bool,
}

impl RecordingBody {
    fn end(&mut self, end: BodyEnd) {
        self.ended = true;
        self.shared.update(self.index, |outcome| {
            if let Outcome::Response(response) = outcome {
                response.end = Some(end);
            }
            true
        });
    }
}

impl Stream for RecordingBody {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let item = match this.inner.poll_chunk(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        match &item {
            Some(Ok(chunk)) => {
                let now = Instant::now();
                let delay = now.duration_since(this.last);
                this.last = now;
                let chunk = chunk.clone();
                this.shared.update(this.index, |outcome| {
                    if let Outcome::Response(response) = outcome {
                        response.chunks.push(chunk);
                        response.delays.push(delay);
                    }
                    false
                });
            }
            Some(Err(error)) => this.end(BodyEnd::Error(record_error(error))),
            None => this.end(BodyEnd::Eof),
        }
        Poll::Ready(item)
    }
}

impl Drop for RecordingBody {
    /// A body dropped before its end is recorded as abandoned, unless what is left of it
    /// is already there to read: a client stops reading a stream at its `[DONE]`, and the
    /// end of the body has usually arrived with it.
    fn drop(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        while !self.ended {
            match Pin::new(&mut *self).poll_next(&mut cx) {
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(_) => break,
                Poll::Pending => self.end(BodyEnd::Abandoned),
            }
        }
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.shared.path)
            .field("exchanges", &self.exchange_count())
            .field("timing", &self.shared.timing)
            .finish()
    }
}
