//! [`Recorder`]: a [`Transport`] that passes every exchange through another transport and
//! writes it to a cassette.
//!
//! # When the cassette is written
//!
//! After every exchange ends (a transport error, a body read to its end or to an error, a
//! body dropped unread, a send given up before the head arrived), the exchange is scrubbed
//! and serialised, once, and the cassette is rewritten atomically from the serialised
//! exchanges (see [`cassette_format`](crate::cassette_format)). So a test that
//! panics half-way still leaves every finished exchange on disk, and the exchange it was in
//! the middle of too, marked as abandoned, since unwinding drops its body. It is written once
//! more when the last handle to the recorder (the client's included) is dropped.
//! [`Recorder::finish`] writes it now and returns any error of this or an earlier write;
//! without it, a failed write is reported on stderr when the recorder is dropped, since a
//! `Drop` cannot return it.
//!
//! Writing is plain blocking file I/O on the task that ends the exchange: a recorder is a
//! test tool, and a cassette is small.
//!
//! # What is never recorded
//!
//! A recorder only records answers it could have been meant to record:
//!
//! - A request without a real key is not sent and not recorded: with no `grayswan-api-key`
//!   or `Authorization: Bearer` key, or with the stand-in key [`REPLAY_API_KEY`] (the
//!   fallback a replaying test gives the client), the request fails with a [`CassetteError::NoRealKey`] that names the cassette and
//!   `GRAYSWAN_API_KEY` (a fake key sent to the real API would only record its 401).
//! - A transport failure (no connection, a DNS error, a body cut off) is not recorded unless
//!   [`Cassette::record_failures`](crate::Cassette::record_failures) asks: a cassette of
//!   DNS errors recorded offline would replay them forever as if live. A failure recorded on
//!   purpose replays with words that say it came from the cassette, naming it.
//! - A cassette none of whose requests was recorded is not written at all (so the next run
//!   tries to record again), and [`Recorder::finish`] says why
//!   ([`CassetteError::NotRecorded`]).
//!
//! # One recorder per cassette
//!
//! A recorder takes its cassette when it is made and keeps it until its last handle is
//! dropped. A second recorder on the same file, in this process or another, is refused
//! ([`CassetteError::Locked`]): [`Recorder::try_new`] and
//! [`Cassette::transport`](crate::Cassette::transport) return the error, and a recorder made
//! with [`Recorder::new`] anyway fails every request with it and returns it from
//! [`Recorder::finish`], so no exchange is lost without a word.
//!
//! Within a process a registry of the cassettes being recorded tells; across processes an
//! advisory lock on a file beside the cassette, `<cassette>.lock`, which the operating
//! system releases when its process ends however it ends (so a recording killed half-way
//! blocks no later one). The lock file is removed when the recorder is dropped; it is never
//! followed if it is a link, and never written to.

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use cygnet_core::transport::{
    async_trait, Body, Sleep, Transport, TransportError, TransportErrorKind,
};
use futures_core::Stream;
use http::HeaderMap;
use serde_json::Value;

use super::cassette_format::REPLAY_API_KEY;
use super::cassette_format::{
    exchange_text, save_atomically, write_cassette, BodyEnd, CassetteError, Chunk, Exchange,
    RecordedBody, RecordedError, RecordedRequest, RecordedResponse,
};
use super::lock::{CassetteLock, Refusal};
use super::redact::{Redactions, Secrets};

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
/// use cygnet::mock::{MockReply, MockTransport, Recorder};
///
/// // Any transport can be recorded; a real test records cygnet-hyper's.
/// let inner = MockTransport::conversation([MockReply::text("Hello!")]);
/// let recorder = Recorder::new("tests/cassettes/hello.json", inner);
/// let client = cygnet::Client::builder()
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
    /// Whether transport failures are recorded too.
    failures: bool,
    /// The cassette, held for this recorder alone; or why it could not be had, and then
    /// nothing is sent or written.
    lock: Result<CassetteLock, Refusal>,
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
    /// Whether `finish` returned the refusal to record (else the drop reports it).
    refusal_reported: bool,
    /// Requests refused for want of a real key.
    refused: usize,
}

/// An exchange as it is being recorded.
struct Slot {
    request: RecordedRequest,
    /// Literal values to scrub from the response (never written).
    secrets: Secrets,
    outcome: Outcome,
}

enum Outcome {
    /// Sent; no head yet. Written as abandoned if nothing more happens.
    Waiting,
    Abandoned,
    Failed(RecordedError),
    /// Ended in a transport failure that is not recorded: left out of the cassette.
    Skipped,
    Response(Box<ResponseRecord>),
    /// Over, and scrubbed and serialised: its text in the cassette.
    Written(Arc<str>),
}

impl Outcome {
    /// Whether nothing more can happen to the exchange.
    fn is_over(&self) -> bool {
        match self {
            Outcome::Waiting => false,
            Outcome::Response(response) => response.end.is_some(),
            Outcome::Abandoned | Outcome::Failed(_) | Outcome::Skipped | Outcome::Written(_) => {
                true
            }
        }
    }
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
    ///
    /// When another recorder is recording `path` (see the [module docs](self)), this one
    /// records nothing: it fails every request and [`finish`](Self::finish) with
    /// [`CassetteError::Locked`]. [`Recorder::try_new`] returns that error at once.
    pub fn new(path: impl AsRef<Path>, inner: impl Transport) -> Self {
        Self::with_options(
            path.as_ref(),
            Arc::new(inner),
            Redactions::new(),
            false,
            false,
        )
    }

    /// As [`Recorder::new`], failing when the cassette cannot be taken.
    ///
    /// # Errors
    ///
    /// [`CassetteError::Locked`] when another recorder is recording `path`;
    /// [`CassetteError::Write`] when its directory or lock file cannot be made.
    pub fn try_new(path: impl AsRef<Path>, inner: impl Transport) -> Result<Self, CassetteError> {
        let recorder = Self::new(path, inner);
        match recorder.refusal() {
            Some(error) => Err(error),
            None => Ok(recorder),
        }
    }

    pub(crate) fn with_options(
        path: &Path,
        inner: Arc<dyn Transport>,
        redactions: Redactions,
        timing: bool,
        failures: bool,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                inner,
                redactions,
                timing,
                failures,
                lock: CassetteLock::acquire(path),
                state: Mutex::new(State {
                    slots: Vec::new(),
                    dirty: true,
                    write_error: None,
                    refusal_reported: false,
                    refused: 0,
                }),
                write: Mutex::new(()),
            }),
        }
    }

    /// Why this recorder records nothing, if it does not.
    pub(crate) fn refusal(&self) -> Option<CassetteError> {
        let refusal = self.shared.lock.as_ref().err()?;
        self.shared.state().refusal_reported = true;
        Some(refusal.error(&self.shared.path))
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
    /// ended, failed; [`CassetteError::Locked`] (every time) when another recorder was
    /// recording this cassette when this one was made, so this one recorded nothing;
    /// [`CassetteError::NotRecorded`] when requests were made but none was recorded (each
    /// was refused for want of a real key, or failed), so no cassette was written.
    pub fn finish(&self) -> Result<(), CassetteError> {
        if let Some(refusal) = self.refusal() {
            return Err(refusal);
        }
        self.shared.write();
        if let Some(error) = self.shared.not_recorded() {
            return Err(error);
        }
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

    /// Why no cassette is written: requests were made, and none of them is recorded.
    fn not_recorded(&self) -> Option<CassetteError> {
        let state = self.state();
        let skipped = state
            .slots
            .iter()
            .filter(|slot| matches!(slot.outcome, Outcome::Skipped))
            .count();
        let nothing = skipped == state.slots.len();
        (nothing && skipped + state.refused > 0).then(|| CassetteError::NotRecorded {
            path: self.path.clone(),
            refused: state.refused,
            failed: skipped,
        })
    }

    /// Writes the cassette as it stands; a failure is kept for `finish`. Writes nothing
    /// when requests were made and none is recorded (see [`Shared::not_recorded`]).
    fn write(&self) {
        if self.lock.is_err() {
            return;
        }
        let _order = self.write.lock().unwrap_or_else(|e| e.into_inner());
        if self.not_recorded().is_some() {
            self.state().dirty = false;
            return;
        }
        let exchanges: Vec<Arc<str>> = {
            let mut state = self.state();
            state.dirty = false;
            state
                .slots
                .iter()
                .filter(|slot| !matches!(slot.outcome, Outcome::Skipped))
                .map(|slot| match &slot.outcome {
                    Outcome::Written(text) => Arc::clone(text),
                    // Under way: as it stands, scrubbed now and again when it ends.
                    _ => Arc::from(exchange_text(&self.exchange(slot))),
                })
                .collect()
        };
        let fields = self.redactions.field_names();
        let saved = save_atomically(&self.path, |out| write_cassette(out, &fields, &exchanges));
        if let Err(error) = saved {
            let mut state = self.state();
            state.dirty = true;
            state.write_error.get_or_insert(error);
        }
    }

    /// Updates slot `index`; once the exchange is over, scrubs and serialises it (once) and
    /// writes the cassette.
    fn update(&self, index: usize, change: impl FnOnce(&mut Outcome) -> bool) {
        let ended = {
            let mut state = self.state();
            let Some(slot) = state.slots.get_mut(index) else {
                return;
            };
            if matches!(slot.outcome, Outcome::Written(_)) || !change(&mut slot.outcome) {
                return;
            }
            if slot.outcome.is_over() && !matches!(slot.outcome, Outcome::Skipped) {
                let text = exchange_text(&self.exchange(slot));
                // The raw exchange (its secrets, its chunks) is not needed any more.
                slot.outcome = Outcome::Written(Arc::from(text));
                slot.secrets = Secrets::default();
            }
            state.dirty = true;
            true
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
            // Skipped exchanges are left out before this is asked.
            Outcome::Waiting | Outcome::Abandoned | Outcome::Skipped => exchange.abandoned = true,
            Outcome::Failed(error) => exchange.error = Some(scrub_error(error, secrets)),
            Outcome::Response(response) => {
                exchange.response = Some(self.response(response, secrets));
            }
            // Never asked for: a written slot's text is used as it is.
            Outcome::Written(_) => exchange.abandoned = true,
        }
        exchange
    }

    fn response(&self, record: &ResponseRecord, secrets: &Secrets) -> RecordedResponse {
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
                response.body = Some(RecordedBody::Text(secrets.scrub_str(text)));
                return response;
            }
        }
        let mut chunks: Vec<Vec<u8>> = record.chunks.iter().map(|c| c.to_vec()).collect();
        // Kept as chunks: a stream, or a body that did not end cleanly. Either may stop in
        // the middle of an echoed secret, so a beginning of one at the end goes too.
        secrets.scrub_chunks(&mut chunks, true);
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
        if let Err(refusal) = &self.lock {
            let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
            if !state.refusal_reported {
                // Drop cannot return the error, and losing a recording silently is worse.
                eprintln!("cygnet-mock: {}", refusal.error(&self.path));
            }
            return;
        }
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

fn scrub_error(error: &RecordedError, secrets: &Secrets) -> RecordedError {
    RecordedError {
        kind: error.kind.clone(),
        message: secrets.scrub_str(&error.message),
    }
}

/// The kind and the cause of a transport error, so that replay rebuilds the same error: the
/// message is the cause's whole chain on one line (what a report would show after the kind's
/// words), since a replay has only its words to give back.
fn record_error(error: &TransportError) -> RecordedError {
    let cause: &(dyn std::error::Error + 'static) = error.cause();
    RecordedError {
        kind: error.kind().name().to_owned(),
        message: cygnet_core::error::Report::new(cause).to_string(),
    }
}

/// Whether `headers` carry a key that could be real: Gray Swan's key header, else a bearer
/// token, that is neither empty nor the stand-in [`REPLAY_API_KEY`]. (A test's own fake
/// key, the mock's included, is its business: only the real API must not see a stand-in.)
fn has_real_key(headers: &HeaderMap) -> bool {
    let key = headers
        .get("grayswan-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .or_else(|| {
            let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    matches!(key, Some(key) if !key.is_empty() && key != REPLAY_API_KEY)
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
        if let Err(refusal) = &shared.lock {
            return Err(TransportError::new(
                TransportErrorKind::Other,
                format!("cygnet-mock: {}", refusal.error(&shared.path)),
            ));
        }
        if !has_real_key(request.headers()) {
            shared.state().refused += 1;
            return Err(TransportError::new(
                TransportErrorKind::Request,
                CassetteError::NoRealKey {
                    path: shared.path.clone(),
                },
            ));
        }
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
                let failures = shared.failures;
                shared.update(index, |outcome| {
                    *outcome = if failures {
                        Outcome::Failed(recorded)
                    } else {
                        Outcome::Skipped
                    };
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

    fn sleep_until(&self, deadline: Duration) -> Sleep {
        self.shared.inner.sleep_until(deadline)
    }

    fn now(&self) -> Duration {
        self.shared.inner.now()
    }

    fn wall_clock(&self) -> SystemTime {
        self.shared.inner.wall_clock()
    }

    fn jitter(&self) -> f64 {
        self.shared.inner.jitter()
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
        let skip = matches!(end, BodyEnd::Error(_)) && !self.shared.failures;
        self.shared.update(self.index, |outcome| {
            if skip {
                *outcome = Outcome::Skipped;
            } else if let Outcome::Response(response) = outcome {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MockReply, MockTransport, Replayer};

    /// Records `count` streamed exchanges of about `size` bytes each, one after the other;
    /// returns the bytes looked through for secrets and the bytes of the answers.
    fn record_streams(count: usize, size: usize) -> (usize, usize) {
        let dir = cygnet_test_support::fresh_dir(std::env::temp_dir(), "cygnet-recorder");
        let path = dir.join("linear.json");
        let delta = "x".repeat(size / 16);
        let replies = (0..count).map(|_| MockReply::stream_text(vec![delta.as_str(); 16]));
        let recorder = Recorder::new(&path, MockTransport::conversation(replies));
        let before = crate::record_replay::redact::tests::scanned();
        let mut answered = 0;
        cygnet::mock::block_on(async {
            for _ in 0..count {
                let request = http::Request::post("http://mock.invalid/chat/completion")
                    .header("authorization", "Bearer sk-test-fake")
                    .body(Bytes::from_static(br#"{"model":"cygnet","stream":true}"#))
                    .unwrap();
                let mut body = recorder.send(request).await.unwrap().into_body();
                while let Some(chunk) = body.chunk().await {
                    answered += chunk.unwrap().len();
                }
            }
        });
        recorder.finish().unwrap();
        let scanned = crate::record_replay::redact::tests::scanned() - before;
        // Every exchange was written, and the cassette still replays.
        assert_eq!(Replayer::open(&path).unwrap().exchange_count(), count);
        drop(recorder);
        let _ = std::fs::remove_dir_all(dir);
        (scanned, answered)
    }

    #[test]
    fn each_exchange_is_scrubbed_once_however_many_come_after_it() {
        cygnet_test_support::bounded_thread(|| {
            let (scanned, answered) = record_streams(60, 16 * 1024);
            // Each answer once, plus the requests' few bytes: not once per later rewrite,
            // which would be about thirty times the answers here.
            assert!(scanned >= answered, "{scanned} < {answered}");
            assert!(
                scanned < answered + 60 * 1024,
                "{scanned} bytes looked through for {answered} bytes of answers"
            );
        });
    }
}
