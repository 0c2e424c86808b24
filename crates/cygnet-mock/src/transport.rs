//! [`MockTransport`]: scripted replies in, captured requests out.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cygnet_core::cygnal::{Cygnal, ProviderKey};
use cygnet_core::options::RedactedHeaders;
use cygnet_core::transport::{
    async_trait, Body, ConnectTimeout, Sleep, Transport, TransportError, TransportErrorKind,
};
use cygnet_core::{Client, ClientBuilder};
use http::{HeaderMap, Method, Uri};

use crate::clock::{MockClock, MockInstant};
use crate::reply::MockReply;
use crate::scripted_body::BodyGuard;

/// The fake API key of [`MockTransport::client`].
pub const MOCK_API_KEY: &str = "sk-mock";
/// The fake provider key of [`MockTransport::cygnal`].
pub const MOCK_PROVIDER_KEY: &str = "sk-mock-provider";
/// The base URL of [`MockTransport::client`]: `.invalid` can never resolve, so nothing
/// could reach a network even by mistake, and `https` needs no cleartext opt-in.
pub const MOCK_BASE_URL: &str = "https://mock.invalid";

type Responder = Arc<dyn Fn(&CapturedRequest) -> MockReply + Send + Sync>;

/// An in-process [`Transport`] for tests: answers each request with the next scripted
/// [`MockReply`], records every request, and keeps time on a [`MockClock`].
///
/// Cheap to clone; clones share the script, the record and the clock, so a test can hand
/// one clone to the client and keep another to script and assert.
///
/// ```
/// use cygnet::mock::{MockReply, MockTransport};
///
/// let mock = MockTransport::new()
///     .with_reply(MockReply::text("first"))
///     .with_reply(MockReply::text("second"));
/// assert_eq!(mock.remaining(), 2);
/// ```
#[derive(Clone)]
pub struct MockTransport {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    clock: MockClock,
}

#[derive(Default)]
struct State {
    replies: VecDeque<MockReply>,
    fallback: Option<Responder>,
    requests: Vec<CapturedRequest>,
    sleeps: Vec<SleepRecord>,
    /// The id the next [`SleepRecord`] gets; never reused, not even after
    /// `clear_history`.
    next_sleep_id: u64,
    open_bodies: usize,
}

/// One sleep asked of the transport. A pending sleep finds its record again by `id`, not
/// by position: `clear_history` may have emptied the list meanwhile, and a newer record
/// may sit where the old one was.
struct SleepRecord {
    id: u64,
    duration: Duration,
    completed: bool,
}

impl Default for MockTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl MockTransport {
    /// A transport with nothing scripted and an auto-advancing clock.
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::new();
    /// assert_eq!(mock.request_count(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_clock(MockClock::new())
    }

    /// A transport on `clock`, e.g. a [`MockClock::manual`] one, or one shared with other
    /// transports.
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::with_clock(cygnet::mock::MockClock::manual());
    /// assert!(mock.clock().is_manual());
    /// ```
    pub fn with_clock(clock: MockClock) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                clock,
            }),
        }
    }

    /// A transport that answers with `replies`, in order.
    ///
    /// ```
    /// use cygnet::mock::{MockReply, MockTransport};
    /// let mock = MockTransport::conversation([
    ///     MockReply::json(429, serde_json::json!({})).header("retry-after", "1"),
    ///     MockReply::text("ok"),
    /// ]);
    /// assert_eq!(mock.remaining(), 2);
    /// ```
    pub fn conversation(replies: impl IntoIterator<Item = MockReply>) -> Self {
        let mock = Self::new();
        mock.state().replies.extend(replies);
        mock
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not make every later call panic.
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Scripts `reply` as the answer to the next request not yet answered (after those
    /// already scripted).
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::new();
    /// mock.push(cygnet::mock::MockReply::text("hi"));
    /// assert_eq!(mock.remaining(), 1);
    /// ```
    pub fn push(&self, reply: MockReply) -> &Self {
        self.state().replies.push_back(reply);
        self
    }

    /// [`push`](Self::push), builder style.
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::new().with_reply(cygnet::mock::MockReply::text("hi"));
    /// assert_eq!(mock.remaining(), 1);
    /// ```
    #[must_use]
    pub fn with_reply(self, reply: MockReply) -> Self {
        self.push(reply);
        self
    }

    /// Answers every request the script does not cover with a copy of `reply`.
    ///
    /// Without a fallback such a request fails with a transport error of kind `Other`
    /// saying `no reply scripted for POST /chat/completion (request #3)`.
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::new();
    /// mock.set_fallback(cygnet::mock::MockReply::text("always this"));
    /// ```
    pub fn set_fallback(&self, reply: MockReply) -> &Self {
        self.state().fallback = Some(Arc::new(move |_| reply.clone()));
        self
    }

    /// Answers every request the script does not cover with what `responder` makes of it.
    ///
    /// ```
    /// use cygnet::mock::{MockReply, MockTransport};
    /// let echo = MockTransport::new();
    /// echo.set_fallback_fn(|request| {
    ///     let question = request.json()["messages"][0]["content"].as_str().unwrap_or("").to_owned();
    ///     MockReply::text(format!("you said: {question}"))
    /// });
    /// ```
    pub fn set_fallback_fn(
        &self,
        responder: impl Fn(&CapturedRequest) -> MockReply + Send + Sync + 'static,
    ) -> &Self {
        self.state().fallback = Some(Arc::new(responder));
        self
    }

    /// Removes the fallback: unscripted requests fail again.
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::new();
    /// mock.set_fallback(cygnet::mock::MockReply::text("x")).clear_fallback();
    /// ```
    pub fn clear_fallback(&self) -> &Self {
        self.state().fallback = None;
        self
    }

    /// A client builder already set up with this transport (a clone of it), the key
    /// [`MOCK_API_KEY`] and the base URL [`MOCK_BASE_URL`]; add options and build.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mock = cygnet::mock::MockTransport::new();
    /// let client = mock.client_builder().max_retries(0).timeout(Duration::from_secs(5)).build()?;
    /// # let _ = client;
    /// # Ok::<(), cygnet::Error>(())
    /// ```
    pub fn client_builder(&self) -> ClientBuilder {
        ClientBuilder::new()
            .api_key(MOCK_API_KEY)
            .base_url(MOCK_BASE_URL)
            .transport(self.clone())
    }

    /// A client on this transport with the default options, the key [`MOCK_API_KEY`] and
    /// the base URL [`MOCK_BASE_URL`].
    ///
    /// ```
    /// use cygnet::mock::{MockReply, MockTransport};
    /// use cygnet::types::{ChatCompletionRequest, Message};
    ///
    /// let mock = MockTransport::conversation([MockReply::text("Hello!")]);
    /// let request = ChatCompletionRequest::new("cygnet", vec![Message::user("Hi")]);
    /// let completion = cygnet::mock::block_on(mock.client().chat(&request))?;
    /// assert_eq!(completion.content(), Some("Hello!"));
    /// assert_eq!(mock.last_request().unwrap().header("authorization"), Some("Bearer sk-mock"));
    /// # Ok::<(), cygnet::Error>(())
    /// ```
    pub fn client(&self) -> Client {
        match self.client_builder().build() {
            Ok(client) => client,
            // Unreachable: the key, URL and transport above are fixed and valid.
            Err(e) => {
                unreachable!("cygnet-mock: the mock client's fixed settings were refused: {e}")
            }
        }
    }

    /// Cygnal's protected completions on [`MockTransport::client`], with the provider key
    /// [`MOCK_PROVIDER_KEY`]. A Cygnal answer is one scripted line: [`MockReply::text`],
    /// [`MockReply::blocked`], [`MockReply::stream_blocked`], [`MockReply::tool_calls`], or
    /// a stream [`with_usage`](MockReply::with_usage); [`CapturedRequest::provider_key`] and
    /// [`CapturedRequest::grayswan_key`] check that both keys arrived.
    ///
    /// ```
    /// use cygnet::mock::{MockReply, MockTransport, MOCK_API_KEY, MOCK_PROVIDER_KEY};
    /// use cygnet::types::{CygnalRequest, Message};
    ///
    /// let mock = MockTransport::conversation([MockReply::blocked("Sorry, I can't help with that.")]);
    /// let request = CygnalRequest::new("gpt-5", vec![Message::user("Hi")]);
    /// let completion = cygnet::mock::block_on(mock.cygnal().chat(&request))?;
    /// assert!(completion.is_blocked());
    /// let sent = mock.last_request().unwrap();
    /// assert_eq!(sent.path(), "/cygnal/chat/completions");
    /// assert_eq!(sent.provider_key(), Some(MOCK_PROVIDER_KEY));
    /// assert_eq!(sent.grayswan_key(), Some(MOCK_API_KEY));
    /// # Ok::<(), cygnet::Error>(())
    /// ```
    pub fn cygnal(&self) -> Cygnal {
        match ProviderKey::new(MOCK_PROVIDER_KEY) {
            Ok(key) => self.client().cygnal(key),
            // Unreachable: the key above is fixed and valid.
            Err(e) => unreachable!("cygnet-mock: the mock provider key was refused: {e}"),
        }
    }

    /// The clock this transport keeps time on (a handle to the same clock).
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::new();
    /// assert_eq!(mock.clock().elapsed(), std::time::Duration::ZERO);
    /// ```
    pub fn clock(&self) -> MockClock {
        self.shared.clock.clone()
    }

    /// Every request sent so far, oldest first.
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::new();
    /// assert!(mock.requests().is_empty());
    /// ```
    pub fn requests(&self) -> Vec<CapturedRequest> {
        self.state().requests.clone()
    }

    /// The most recent request, if any.
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::new();
    /// assert!(mock.last_request().is_none());
    /// ```
    pub fn last_request(&self) -> Option<CapturedRequest> {
        self.state().requests.last().cloned()
    }

    /// How many requests have been sent.
    ///
    /// ```
    /// assert_eq!(cygnet::mock::MockTransport::new().request_count(), 0);
    /// ```
    pub fn request_count(&self) -> usize {
        self.state().requests.len()
    }

    /// How many scripted replies are still waiting for a request.
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::conversation([cygnet::mock::MockReply::text("x")]);
    /// assert_eq!(mock.remaining(), 1);
    /// ```
    pub fn remaining(&self) -> usize {
        self.state().replies.len()
    }

    /// Checks that every scripted reply was used.
    ///
    /// # Panics
    ///
    /// When replies are left, with how many and how many requests came; this is a test
    /// assertion.
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::new();
    /// mock.assert_all_consumed(); // nothing scripted, nothing left
    /// ```
    #[track_caller]
    pub fn assert_all_consumed(&self) {
        let state = self.state();
        let left = state.replies.len();
        if left > 0 {
            let sent = state.requests.len();
            drop(state);
            panic!(
                "cygnet-mock: {left} scripted repl{} never used ({sent} request{} sent)",
                if left == 1 { "y was" } else { "ies were" },
                if sent == 1 { " was" } else { "s were" },
            );
        }
    }

    /// Every sleep asked of this transport through [`Transport::sleep`] (backoff waits and
    /// timeouts alike) or [`Transport::sleep_until`] (a re-armed idle timer, recorded as the
    /// time it had left), in the order asked. Reply delays and stream pauses are not
    /// included: they are the mock's doing, not the client's.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cygnet::Transport;
    ///
    /// let mock = cygnet::mock::MockTransport::new();
    /// cygnet::mock::block_on(mock.sleep(Duration::from_secs(1)));
    /// assert_eq!(mock.sleeps(), vec![Duration::from_secs(1)]);
    /// ```
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state().sleeps.iter().map(|s| s.duration).collect()
    }

    /// The sleeps of [`sleeps`](Self::sleeps) that ran to their end. A timeout that lost
    /// its race is dropped unfinished and does not appear, so for a call that ended well
    /// this is its backoff schedule.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cygnet::Transport;
    ///
    /// let mock = cygnet::mock::MockTransport::new();
    /// let mut timeout = mock.sleep(Duration::from_secs(60));
    /// let _ = cygnet::mock::now_or_never(&mut timeout); // started, then abandoned
    /// drop(timeout);
    /// cygnet::mock::block_on(mock.sleep(Duration::from_secs(2)));
    /// assert_eq!(mock.sleeps(), vec![Duration::from_secs(60), Duration::from_secs(2)]);
    /// assert_eq!(mock.completed_sleeps(), vec![Duration::from_secs(2)]);
    /// ```
    pub fn completed_sleeps(&self) -> Vec<Duration> {
        self.state()
            .sleeps
            .iter()
            .filter(|s| s.completed)
            .map(|s| s.duration)
            .collect()
    }

    /// How many streamed response bodies are alive (handed out and not yet dropped): a
    /// client that releases its connections brings this back to zero.
    ///
    /// ```
    /// assert_eq!(cygnet::mock::MockTransport::new().open_bodies(), 0);
    /// ```
    pub fn open_bodies(&self) -> usize {
        self.state().open_bodies
    }

    /// Forgets the recorded requests and sleeps; the script, fallback and clock stay.
    ///
    /// ```
    /// let mock = cygnet::mock::MockTransport::new();
    /// mock.clear_history();
    /// assert_eq!(mock.request_count(), 0);
    /// ```
    pub fn clear_history(&self) {
        let mut state = self.state();
        state.requests.clear();
        state.sleeps.clear();
    }

    fn body_guard(&self) -> BodyGuard {
        self.state().open_bodies += 1;
        let shared = Arc::downgrade(&self.shared);
        BodyGuard(Some(Box::new(move || {
            if let Some(shared) = shared.upgrade() {
                let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
                state.open_bodies = state.open_bodies.saturating_sub(1);
            }
        })))
    }
}

#[async_trait]
impl Transport for MockTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Body>, TransportError> {
        let captured = CapturedRequest::from_request(request);
        let reply = {
            let mut state = self.state();
            state.requests.push(captured.clone());
            let number = state.requests.len();
            let fitting = state.replies.iter().position(|r| r.fits(&captured.path));
            match fitting.and_then(|at| state.replies.remove(at)) {
                Some(reply) => Ok(reply),
                None => match state.fallback.clone() {
                    // Called without the lock: the responder may look at the mock.
                    Some(responder) => Err(responder),
                    None => {
                        return Err(TransportError::new(
                            TransportErrorKind::Other,
                            format!(
                                "cygnet-mock: no reply scripted for {} {} (request #{number})",
                                captured.method, captured.path
                            ),
                        ))
                    }
                },
            }
        };
        let reply = reply.unwrap_or_else(|responder| responder(&captured));
        let delay = reply.head_delay();
        if !delay.is_zero() {
            self.shared.clock.sleep(delay).await;
        }
        match reply.into_outcome(&self.shared.clock, self.body_guard()) {
            Some(outcome) => outcome,
            None => std::future::pending().await,
        }
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        let deadline = self.shared.clock.now() + duration;
        self.sleep_on_clock(duration, deadline)
    }

    fn sleep_until(&self, deadline: Duration) -> Sleep {
        let deadline = MockInstant::from_start(deadline);
        let duration = deadline - self.shared.clock.now();
        self.sleep_on_clock(duration, deadline)
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

impl MockTransport {
    /// A sleep until `deadline` on the clock, recorded (as `duration`) in the history.
    fn sleep_on_clock(&self, duration: Duration, deadline: MockInstant) -> Sleep {
        let id = {
            let mut state = self.state();
            let id = state.next_sleep_id;
            state.next_sleep_id += 1;
            state.sleeps.push(SleepRecord {
                id,
                duration,
                completed: false,
            });
            id
        };
        let sleep = self.shared.clock.sleep_until(deadline);
        let shared = Arc::downgrade(&self.shared);
        Box::pin(async move {
            sleep.await;
            if let Some(shared) = shared.upgrade() {
                let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
                // Ids grow in push order, so the list is sorted by id. The record is
                // gone when `clear_history` ran meanwhile.
                if let Ok(at) = state.sleeps.binary_search_by_key(&id, |r| r.id) {
                    state.sleeps[at].completed = true;
                }
            }
        })
    }
}

impl fmt::Debug for MockTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MockTransport")
            .field("remaining", &state.replies.len())
            .field("requests", &state.requests.len())
            .field("fallback", &state.fallback.is_some())
            .field("clock", &self.shared.clock)
            .finish()
    }
}

/// A request as the mock received it.
///
/// Its `Debug` output shows the values of the headers that carry credentials
/// ([`cygnet_core::is_sensitive_header`]: `Authorization`, `X-Api-Key`, `Cookie`, ...) as
/// `***`; [`header`](Self::header) still returns them, for tests that check them.
///
/// ```
/// use cygnet::Transport;
/// use cygnet::mock::{MockReply, MockTransport};
///
/// let mock = MockTransport::conversation([MockReply::text("hi")]);
/// let request = cygnet::http::Request::post("http://mock.invalid/chat/completion")
///     .header("authorization", "Bearer sk-test-fake")
///     .body(cygnet::bytes::Bytes::from(r#"{"model":"cygnet","messages":[]}"#))
///     .unwrap();
/// cygnet::mock::block_on(mock.send(request)).unwrap();
///
/// let sent = mock.last_request().unwrap();
/// assert_eq!(sent.method(), "POST");
/// assert_eq!(sent.path(), "/chat/completion");
/// assert_eq!(sent.json()["model"], "cygnet");
/// assert_eq!(sent.header("authorization"), Some("Bearer sk-test-fake"));
/// assert!(!format!("{sent:?}").contains("sk-test-fake"));
/// ```
#[derive(Clone)]
pub struct CapturedRequest {
    method: Method,
    uri: Uri,
    path: String,
    headers: HeaderMap,
    body: Bytes,
    connect_timeout: Option<Duration>,
}

impl CapturedRequest {
    fn from_request(request: http::Request<Bytes>) -> Self {
        let (parts, body) = request.into_parts();
        Self {
            path: parts.uri.path().to_owned(),
            connect_timeout: parts.extensions.get::<ConnectTimeout>().map(|c| c.0),
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
        }
    }

    /// The method, e.g. `POST`.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The full URI, e.g. `http://mock.invalid/chat/completion`.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The URI's path, e.g. `/chat/completion`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// All request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive), when present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The token of `Authorization: Bearer <token>`: on Cygnal's protected completions the
    /// provider's key, elsewhere the Gray Swan key.
    pub fn provider_key(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }

    /// The `grayswan-api-key` header: the Gray Swan key on Cygnal's routes.
    pub fn grayswan_key(&self) -> Option<&str> {
        self.header("grayswan-api-key")
    }

    /// The body's bytes, exactly as sent.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body as text, lossily.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; `Value::Null` when it is not JSON (see
    /// [`try_json`](Self::try_json) to tell the two apart).
    pub fn json(&self) -> serde_json::Value {
        self.try_json().unwrap_or(serde_json::Value::Null)
    }

    /// The body parsed as JSON, or why it could not be.
    ///
    /// # Errors
    ///
    /// The parser's error when the body is not JSON.
    pub fn try_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The connect timeout core set on the request ([`ConnectTimeout`]), if any.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }
}

impl fmt::Debug for CapturedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapturedRequest")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}
