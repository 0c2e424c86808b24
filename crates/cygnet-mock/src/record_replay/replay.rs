//! [`Replayer`]: a [`Transport`] that answers from a cassette, never from a network.
//!
//! # Which recorded exchange answers a request
//!
//! A request is answered by the **first unused** recorded exchange with the same method,
//! the same path and query, and the same body. Bodies are compared after the redactions the
//! cassette was recorded with (redacted JSON fields, the request's own API key and redacted
//! header values), JSON bodies as values, so the order of object members and whitespace do
//! not matter; headers are not compared. Each exchange answers once. So calls that are made
//! in a different order than when recording still get their own answers, and identical
//! requests (a retry after a 429) get the recorded answers in the recorded order.
//!
//! A request that matches no unused exchange fails with a transport error of kind `Other`
//! (not retried) whose source is a [`ReplayMismatch`]: it names the cassette, the request,
//! the closest recorded request and the first place where the bodies differ, as a JSON path:
//!
//! ```text
//! cygnet-mock: no unused exchange in cassette tests/cassettes/chat.json matches POST
//! /chat/completion (request #2 of this replay); closest recorded: exchange #2, POST
//! /chat/completion, whose body differs at $.messages[1].content: recorded "What is a large
//! language model?", sent "What is an LLM?"
//! ```
//!
//! # Time
//!
//! All time is on a [`MockClock`] (auto-advancing unless you give it another): the client's
//! backoff and timeouts, and, with [`Cassette::replay_timing`](crate::Cassette::replay_timing),
//! the recorded wait before each response head and each streamed chunk. Without it a
//! replay answers at once. An exchange the caller gave up on while recording (its timeout
//! fired) never answers, so the same timeout fires on the virtual clock.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cygnet_core::transport::{
    async_trait, Body, Sleep, Transport, TransportError, TransportErrorKind,
};
use serde_json::Value;

use super::cassette_format::{
    BodyEnd, CassetteError, CassetteFile, RecordedBody, RecordedError, RecordedRequest,
};
use super::redact::Redactions;
use crate::clock::{MockClock, MockInstant};

/// A [`Transport`] that answers every request from a cassette file: the recorded status,
/// headers, body (streamed bodies chunk by chunk, as they arrived when recording) and
/// transport errors. It has no network code at all.
///
/// Cheap to clone; clones share which exchanges are used. See the [module docs](self) for
/// how requests are matched to exchanges.
///
/// ```no_run
/// use cygnet::mock::Replayer;
///
/// let replayer = Replayer::open("tests/cassettes/hello.json")?;
/// let client = cygnet::Client::builder()
///     .api_key("sk-test-fake") // never sent anywhere
///     .transport(replayer.clone())
///     .build()?;
/// // ... the same calls as when recording ...
/// replayer.assert_all_used();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Replayer {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    file: CassetteFile,
    redactions: Redactions,
    timing: bool,
    clock: MockClock,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    used: Vec<bool>,
    requests: usize,
}

impl Replayer {
    /// A replayer answering from the cassette at `path`, with no recorded timing, on an
    /// auto-advancing [`MockClock`].
    ///
    /// It reads only a regular file (or a link to one), of at most
    /// [`MAX_CASSETTE_BYTES`](super::cassette_format::MAX_CASSETTE_BYTES);
    /// [`Cassette::max_size`](crate::Cassette::max_size) sets another limit.
    ///
    /// # Errors
    ///
    /// [`CassetteError::Missing`], [`CassetteError::Read`] (also for a path that is not a
    /// regular file, such as a device), [`CassetteError::TooLarge`],
    /// [`CassetteError::Invalid`] or [`CassetteError::NewerVersion`], each naming the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CassetteError> {
        Self::with_options(
            path.as_ref(),
            Redactions::new(),
            false,
            MockClock::new(),
            super::cassette_format::MAX_CASSETTE_BYTES,
        )
    }

    pub(crate) fn with_options(
        path: &Path,
        redactions: Redactions,
        timing: bool,
        clock: MockClock,
        max_bytes: u64,
    ) -> Result<Self, CassetteError> {
        let file = CassetteFile::load(path, max_bytes)?;
        let redactions = redactions.with_fields(&file.redacted_fields);
        let used = vec![false; file.exchanges.len()];
        Ok(Self {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                file,
                redactions,
                timing,
                clock,
                state: Mutex::new(State { used, requests: 0 }),
            }),
        })
    }

    /// The cassette's path.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The clock this replayer keeps time on.
    pub fn clock(&self) -> MockClock {
        self.shared.clock.clone()
    }

    /// How many exchanges the cassette holds.
    pub fn exchange_count(&self) -> usize {
        self.shared.file.exchanges.len()
    }

    /// How many exchanges have not answered a request yet.
    pub fn unused(&self) -> usize {
        self.shared.state().used.iter().filter(|u| !**u).count()
    }

    /// Checks that every recorded exchange answered a request: the code under test made
    /// all the calls it made when recording.
    ///
    /// # Panics
    ///
    /// When exchanges are left, with how many and the first one's request; this is a test
    /// assertion.
    #[track_caller]
    pub fn assert_all_used(&self) {
        let state = self.shared.state();
        let left: Vec<usize> = (0..state.used.len()).filter(|i| !state.used[*i]).collect();
        if let Some(first) = left.first() {
            let request = &self.shared.file.exchanges[*first].request;
            let message = format!(
                "cygnet-mock: {} of {} recorded exchanges in cassette {} never answered a \
                 request; the first is #{} ({} {})",
                left.len(),
                state.used.len(),
                self.shared.path.display(),
                first + 1,
                request.method,
                request.path
            );
            drop(state);
            panic!("{message}");
        }
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The response for exchange `index`.
    async fn answer(&self, index: usize) -> Result<http::Response<Body>, TransportError> {
        let exchange = &self.file.exchanges[index];
        if exchange.abandoned {
            // The caller gave up on it while recording: let its timeout fire again.
            return std::future::pending().await;
        }
        if let Some(error) = &exchange.error {
            return Err(self.replayed(error));
        }
        let Some(recorded) = &exchange.response else {
            // Load checked that an exchange has a response, an error or is abandoned.
            return Err(self.corrupt(index));
        };
        if self.timing {
            if let Some(ms) = recorded.head_delay_ms {
                self.clock.sleep(Duration::from_millis(ms)).await;
            }
        }
        let mut builder = http::Response::builder().status(recorded.status);
        for (name, value) in &recorded.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let (chunks, delays) = match &recorded.body {
            None => (Vec::new(), Vec::new()),
            Some(RecordedBody::Json(value)) => (vec![Bytes::from(value.to_string())], Vec::new()),
            Some(RecordedBody::Text(text)) => (vec![Bytes::from(text.clone())], Vec::new()),
            Some(RecordedBody::Chunks(chunks)) => {
                let chunks = chunks
                    .iter()
                    .map(|c| c.to_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| self.corrupt(index))?;
                let delays = match (&recorded.chunk_delays_ms, self.timing) {
                    (Some(delays), true) => {
                        delays.iter().map(|ms| Duration::from_millis(*ms)).collect()
                    }
                    _ => Vec::new(),
                };
                (chunks, delays)
            }
        };
        let ending = match &recorded.end {
            BodyEnd::Eof => None,
            BodyEnd::Error(error) => Some(self.replayed(error)),
            BodyEnd::Abandoned => Some(TransportError::new(
                TransportErrorKind::Other,
                format!(
                    "cygnet-mock: cassette {} ends this body after {} chunk{}: the caller \
                     stopped reading it while recording, so what followed was never seen",
                    self.path.display(),
                    chunks.len(),
                    if chunks.len() == 1 { "" } else { "s" }
                ),
            )),
        };
        let body = replay_body(chunks, delays, ending, self.clock.clone());
        builder.body(body).map_err(|_| self.corrupt(index))
    }

    /// A recorded transport failure, as it is replayed: its kind, and its words marked as
    /// coming from this cassette, so that it never passes for a live failure.
    fn replayed(&self, error: &RecordedError) -> TransportError {
        TransportError::new(
            error.kind(),
            format!(
                "{} (replayed from cassette {}, where this failure was recorded)",
                error.message,
                self.path.display()
            ),
        )
    }

    fn corrupt(&self, index: usize) -> TransportError {
        TransportError::new(
            TransportErrorKind::Other,
            format!(
                "cygnet-mock: exchange #{} of cassette {} cannot be replayed",
                index + 1,
                self.path.display()
            ),
        )
    }
}

/// A body that yields `chunks` (after `delays` on `clock`, where given), then `ending`.
fn replay_body(
    chunks: Vec<Bytes>,
    delays: Vec<Duration>,
    ending: Option<TransportError>,
    clock: MockClock,
) -> Body {
    let steps = chunks
        .into_iter()
        .zip(delays.into_iter().map(Some).chain(std::iter::repeat(None)));
    let state = (steps, ending, clock);
    Body::from_stream(futures_util::stream::unfold(
        state,
        |(mut steps, mut ending, clock)| async move {
            match steps.next() {
                Some((chunk, delay)) => {
                    if let Some(delay) = delay.filter(|d| !d.is_zero()) {
                        clock.sleep(delay).await;
                    }
                    Some((Ok(chunk), (steps, ending, clock)))
                }
                None => ending
                    .take()
                    .map(|error| (Err(error), (steps, ending, clock))),
            }
        },
    ))
}

#[async_trait]
impl Transport for Replayer {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Body>, TransportError> {
        let shared = &self.shared;
        // Scrubbed as the recorder scrubbed it, so a secret in the query still matches.
        let (sent, _) = RecordedRequest::scrubbed(&request, &shared.redactions);
        let (method, path, body) = (sent.method.as_str(), sent.path.as_str(), sent.body);
        let found = {
            let mut state = shared.state();
            state.requests += 1;
            let number = state.requests;
            let found = shared.file.exchanges.iter().enumerate().position(|(i, e)| {
                !state.used[i]
                    && e.request.method == method
                    && e.request.path == path
                    && e.request.body == body
            });
            match found {
                Some(index) => {
                    state.used[index] = true;
                    Ok(index)
                }
                None => Err(mismatch(
                    shared,
                    &state.used,
                    method,
                    path,
                    body.as_ref(),
                    number,
                )),
            }
        };
        match found {
            Ok(index) => shared.answer(index).await,
            Err(mismatch) => Err(TransportError::new(TransportErrorKind::Other, mismatch)),
        }
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(self.shared.clock.sleep(duration))
    }

    fn sleep_until(&self, deadline: Duration) -> Sleep {
        Box::pin(
            self.shared
                .clock
                .sleep_until(MockInstant::from_start(deadline)),
        )
    }

    fn now(&self) -> Duration {
        self.shared.clock.elapsed()
    }

    fn wall_clock(&self) -> SystemTime {
        self.shared.clock.wall_clock()
    }

    fn jitter(&self) -> f64 {
        self.shared.clock.jitter()
    }
}

impl fmt::Debug for Replayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replayer")
            .field("path", &self.shared.path)
            .field("exchanges", &self.exchange_count())
            .field("unused", &self.unused())
            .field("timing", &self.shared.timing)
            .finish()
    }
}

/// A request the cassette has no unused answer for: the source of the transport error
/// that [`Replayer`] returns then.
///
/// ```
/// # fn check(error: &cygnet::TransportError) {
/// use cygnet::mock::ReplayMismatch;
/// if let Some(mismatch) = std::error::Error::source(error)
///     .and_then(|e| e.downcast_ref::<ReplayMismatch>())
/// {
///     eprintln!("not in {}: {}", mismatch.cassette().display(), mismatch.request());
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ReplayMismatch {
    cassette: PathBuf,
    request: String,
    number: usize,
    closest: Option<usize>,
    closest_request: Option<String>,
    difference: Option<String>,
}

impl ReplayMismatch {
    /// The cassette's path.
    pub fn cassette(&self) -> &Path {
        &self.cassette
    }

    /// The request that found no answer: method, path and query.
    pub fn request(&self) -> &str {
        &self.request
    }

    /// The closest recorded exchange, numbered from 1 as in messages, if the cassette has
    /// any.
    pub fn closest(&self) -> Option<usize> {
        self.closest
    }

    /// How the request differs from the closest recorded one, e.g. `body differs at
    /// $.messages[1].content: recorded "a", sent "b"`; `None` when it does not differ (all
    /// matching exchanges were already used).
    pub fn difference(&self) -> Option<&str> {
        self.difference.as_deref()
    }
}

impl fmt::Display for ReplayMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cygnet-mock: no unused exchange in cassette {} matches {} (request #{} of this replay)",
            self.cassette.display(),
            self.request,
            self.number
        )?;
        match (self.closest, &self.closest_request, &self.difference) {
            (Some(index), Some(request), Some(difference)) => write!(
                f,
                "; closest recorded: exchange #{index}, {request}, whose {difference}"
            ),
            (Some(index), Some(request), None) => write!(
                f,
                "; exchange #{index} ({request}) matches but already answered, as did every \
                 other match: the code now makes more calls than when the cassette was \
                 recorded; record it again"
            ),
            _ => write!(f, "; the cassette has no exchanges"),
        }
    }
}

impl std::error::Error for ReplayMismatch {}

/// Explains why a request found no unused exchange.
fn mismatch(
    shared: &Shared,
    used: &[bool],
    method: &str,
    path: &str,
    body: Option<&RecordedBody>,
    number: usize,
) -> ReplayMismatch {
    // Closest: same method and path first, then the fewest body differences, then unused,
    // then the earliest.
    let closest = shared
        .file
        .exchanges
        .iter()
        .enumerate()
        .min_by_key(|(i, e)| {
            let target = usize::from(e.request.method != method || e.request.path != path);
            let differences = body_differences(e.request.body.as_ref(), body);
            (target, differences, used[*i], *i)
        });
    let (closest, closest_request, difference) = match closest {
        None => (None, None, None),
        Some((index, exchange)) => {
            let recorded = &exchange.request;
            let mut differences = Vec::new();
            if recorded.method != method {
                differences.push(format!("method is {} (sent {method})", recorded.method));
            }
            if recorded.path != path {
                differences.push(format!("path is {} (sent {path})", recorded.path));
            }
            if let Some(body) = first_body_difference(recorded.body.as_ref(), body) {
                differences.push(format!("body differs {body}"));
            }
            let difference = (!differences.is_empty()).then(|| differences.join("; "));
            (
                Some(index + 1),
                Some(format!("{} {}", recorded.method, recorded.path)),
                difference,
            )
        }
    };
    ReplayMismatch {
        cassette: shared.path.clone(),
        request: format!("{method} {path}"),
        number,
        closest,
        closest_request,
        difference,
    }
}

fn body_differences(recorded: Option<&RecordedBody>, sent: Option<&RecordedBody>) -> usize {
    match (recorded, sent) {
        (Some(RecordedBody::Json(a)), Some(RecordedBody::Json(b))) => json_differences(a, b),
        (a, b) => usize::from(a != b) * 1000,
    }
}

fn json_differences(a: &Value, b: &Value) -> usize {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut count = 0;
            for (key, value) in x {
                count += y.get(key).map_or(1, |other| json_differences(value, other));
            }
            count + y.keys().filter(|k| !x.contains_key(*k)).count()
        }
        (Value::Array(x), Value::Array(y)) => {
            let common: usize = x.iter().zip(y).map(|(a, b)| json_differences(a, b)).sum();
            common + x.len().abs_diff(y.len())
        }
        (a, b) => usize::from(a != b),
    }
}

fn first_body_difference(
    recorded: Option<&RecordedBody>,
    sent: Option<&RecordedBody>,
) -> Option<String> {
    match (recorded, sent) {
        (Some(RecordedBody::Json(a)), Some(RecordedBody::Json(b))) => {
            first_json_difference(a, b, "$")
        }
        (a, b) if a == b => None,
        (None, _) => Some("(recorded without a body, sent one)".into()),
        (_, None) => Some("(recorded with a body, sent without)".into()),
        (Some(RecordedBody::Json(_)), Some(_)) => {
            Some("(recorded a JSON body, sent one that is not JSON)".into())
        }
        (Some(_), Some(RecordedBody::Json(_))) => {
            Some("(recorded a body that is not JSON, sent JSON)".into())
        }
        (Some(a), Some(b)) => Some(format!(
            "(recorded {}, sent {})",
            short(&format!("{a:?}")),
            short(&format!("{b:?}"))
        )),
    }
}

/// The first place, in document order, where `sent` differs from `recorded`.
fn first_json_difference(recorded: &Value, sent: &Value, at: &str) -> Option<String> {
    match (recorded, sent) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x
                .keys()
                .chain(y.keys().filter(|k| !x.contains_key(*k)))
                .collect();
            keys.dedup();
            for key in keys {
                let here = format!("{at}.{key}");
                match (x.get(key), y.get(key)) {
                    (Some(a), Some(b)) => {
                        if let Some(found) = first_json_difference(a, b, &here) {
                            return Some(found);
                        }
                    }
                    (Some(a), None) => {
                        return Some(format!(
                            "at {here}: recorded {}, sent nothing",
                            short(&a.to_string())
                        ))
                    }
                    (None, Some(b)) => {
                        return Some(format!(
                            "at {here}: recorded nothing, sent {}",
                            short(&b.to_string())
                        ))
                    }
                    (None, None) => {}
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (a, b)) in x.iter().zip(y).enumerate() {
                if let Some(found) = first_json_difference(a, b, &format!("{at}[{i}]")) {
                    return Some(found);
                }
            }
            (x.len() != y.len()).then(|| {
                format!(
                    "at {at}: recorded {} item{}, sent {}",
                    x.len(),
                    if x.len() == 1 { "" } else { "s" },
                    y.len()
                )
            })
        }
        (a, b) if a == b => None,
        (a, b) => Some(format!(
            "at {at}: recorded {}, sent {}",
            short(&a.to_string()),
            short(&b.to_string())
        )),
    }
}

/// `text`, cut to a length that reads in one line.
fn short(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_json_difference_names_its_path() {
        let recorded = json!({"model": "cygnet", "messages": [{"role": "user", "content": "a"}]});
        let sent = json!({"model": "cygnet", "messages": [{"role": "user", "content": "b"}]});
        assert_eq!(
            first_json_difference(&recorded, &sent, "$").unwrap(),
            r#"at $.messages[0].content: recorded "a", sent "b""#
        );
        let longer = json!({"model": "cygnet", "messages": [{"role": "user", "content": "a"}, {}]});
        assert_eq!(
            first_json_difference(&recorded, &longer, "$").unwrap(),
            "at $.messages: recorded 1 item, sent 2"
        );
        let extra = json!({"model": "cygnet", "messages": [{"role": "user", "content": "a"}], "stream": true});
        assert_eq!(
            first_json_difference(&recorded, &extra, "$").unwrap(),
            "at $.stream: recorded nothing, sent true"
        );
        assert_eq!(
            first_json_difference(&recorded, &recorded.clone(), "$"),
            None
        );
        assert_eq!(json_differences(&recorded, &extra), 1);
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(200);
        assert_eq!(short(&long).len(), 83);
        assert_eq!(short("é"), "é");
    }
}
