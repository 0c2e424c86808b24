//! The seam between the client and an HTTP stack.
//!
//! Core builds requests, decides on retries and decodes answers; it never opens a socket
//! and never names an async runtime. A [`Transport`] does both: it sends one
//! `http::Request` and hands back the response with its body as a stream of byte chunks,
//! and it supplies the clock core runs on: the timer ([`Transport::sleep`],
//! [`Transport::sleep_until`]) for backoff and timeouts, the time ([`Transport::now`],
//! [`Transport::wall_clock`]) for deadlines and `Retry-After` dates, and the jitter
//! ([`Transport::jitter`]) that shortens a backoff wait. Core reads no other clock and no
//! other randomness, so a transport with a virtual clock (`cygnet-mock`'s) is the whole truth
//! about time in a test: waits and deadlines can be asserted exactly.
//! `cygnet-hyper` implements it over hyper and tokio; `cygnet-mock` in process, with a clock
//! the test controls; any other stack can implement it in a few lines.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

pub use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;

use crate::call_context::{CallContext, TIMED_OUT};

/// A boxed, sendable future, as transports return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A timer future from [`Transport::sleep`].
pub type Sleep = BoxFuture<'static, ()>;

/// Sends HTTP requests and supplies a timer and a clock.
///
/// Implementations must be cheap to share (`Send + Sync`); the client keeps one behind an
/// `Arc` and calls it from any task.
///
/// When the client or the call configures a connect timeout, the request carries it as a
/// [`ConnectTimeout`] extension: a transport that opens connections should give up
/// connecting after that long and report [`TransportErrorKind::Connect`] or
/// [`TransportErrorKind::Timeout`]. Without one it uses its own default, which should be
/// [`DEFAULT_CONNECT_TIMEOUT`](crate::config::DEFAULT_CONNECT_TIMEOUT) (the contract's 5 s) unless its
/// user configured another. Whole-request and idle timeouts are enforced by core.
///
/// # The clock
///
/// A transport must supply [`send`](Transport::send) and [`sleep`](Transport::sleep). The
/// clock methods have defaults on the real clocks: [`now`](Transport::now) reads
/// [`Instant`], [`wall_clock`](Transport::wall_clock) [`SystemTime::now`],
/// [`jitter`](Transport::jitter) a random number, and [`sleep_until`](Transport::sleep_until)
/// sleeps for the time left on `now`. A transport whose `sleep` runs on real time needs
/// nothing more. One whose `sleep` runs on another clock (virtual time, a runtime's paused
/// clock) must also override `now` (and `wall_clock`, for `Retry-After` dates) to read that
/// same clock, and should override `sleep_until` to wait for the exact point; one that wants
/// repeatable waits overrides `jitter`. Core never mixes clocks: every deadline it computes
/// comes from `now` and is handed back to `sleep_until`.
///
/// ```
/// use std::time::Duration;
/// use cygnet::bytes::Bytes;
/// use cygnet::transport::{async_trait, Body, Sleep, Transport, TransportError};
///
/// /// A transport that answers every request with the same JSON.
/// struct Canned;
///
/// #[async_trait]
/// impl Transport for Canned {
///     async fn send(&self, _request: cygnet::http::Request<Bytes>)
///         -> Result<cygnet::http::Response<Body>, TransportError>
///     {
///         let answer = r#"{"id":"c1","choices":[{"index":0,
///             "message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
///         Ok(cygnet::http::Response::new(Body::from(answer)))
///     }
///
///     fn sleep(&self, _duration: Duration) -> Sleep {
///         Box::pin(std::future::pending()) // this transport never times out
///     }
/// }
/// ```
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends one request and resolves once the response head has arrived.
    ///
    /// The body is read later through [`Body`]; dropping the body (or this future) must
    /// release the connection.
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Body>, TransportError>;

    /// A future that completes after `duration`, on this transport's clock.
    fn sleep(&self, duration: Duration) -> Sleep;

    /// A future that completes once [`now`](Transport::now) reads `deadline` (at once when it
    /// already has).
    ///
    /// Core makes one per idle stream and keeps it across reads, arming a new one only when
    /// it fired before a deadline that moved meanwhile; so a stream that waits on every read
    /// allocates no timer per read. The default sleeps for the time left on `now`.
    fn sleep_until(&self, deadline: Duration) -> Sleep {
        self.sleep(deadline.saturating_sub(self.now()))
    }

    /// The time on this transport's clock: how long since a fixed origin of its choice.
    /// Never goes backwards; only differences and deadlines matter.
    ///
    /// The default is [`Instant`]-based: the time since core first read the clock in this
    /// process.
    fn now(&self) -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }

    /// The date and time on this transport's clock, against which a `Retry-After` date is
    /// read. The default is [`SystemTime::now`].
    fn wall_clock(&self) -> SystemTime {
        SystemTime::now()
    }

    /// A number in `[0, 1)` that shortens the next backoff wait by up to a quarter
    /// ([`retry::backoff`](crate::retry::backoff)). The default is random; a test transport
    /// returns a seeded sequence so waits repeat exactly.
    fn jitter(&self) -> f64 {
        fastrand::f64()
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Body>, TransportError> {
        (**self).send(request).await
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        (**self).sleep(duration)
    }

    fn sleep_until(&self, deadline: Duration) -> Sleep {
        (**self).sleep_until(deadline)
    }

    fn now(&self) -> Duration {
        (**self).now()
    }

    fn wall_clock(&self) -> SystemTime {
        (**self).wall_clock()
    }

    fn jitter(&self) -> f64 {
        (**self).jitter()
    }
}

/// How long a transport may spend opening a connection: a request extension, set when the
/// client ([`ClientBuilder::connect_timeout`](crate::ClientBuilder::connect_timeout)) or the
/// call ([`RequestOptions::connect_timeout`](crate::RequestOptions::connect_timeout))
/// configures one. A request without it gets the transport's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectTimeout(pub Duration);

type BoxStream = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send + 'static>>;

/// A response body: a stream of byte chunks as they arrive.
///
/// Dropping it closes the stream and, for network transports, releases the connection.
pub struct Body {
    inner: BodyInner,
}

enum BodyInner {
    Full(Option<Bytes>),
    Stream(BoxStream),
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Self {
            inner: BodyInner::Full(None),
        }
    }

    /// A body from a stream of chunks.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, TransportError>> + Send + 'static,
    {
        Self {
            inner: BodyInner::Stream(Box::pin(stream)),
        }
    }

    /// The next chunk, `None` at the end of the body.
    pub fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, TransportError>>> {
        match &mut self.inner {
            BodyInner::Full(bytes) => Poll::Ready(bytes.take().filter(|b| !b.is_empty()).map(Ok)),
            BodyInner::Stream(stream) => stream.as_mut().poll_next(cx),
        }
    }

    /// Waits for the next chunk, `None` at the end of the body.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, TransportError>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }
}

impl Stream for Body {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self {
            inner: BodyInner::Full(Some(bytes)),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes::from(bytes).into()
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Bytes::from(text).into()
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Bytes::from_static(text.as_bytes()).into()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            BodyInner::Full(bytes) => f
                .debug_struct("Body")
                .field("len", &bytes.as_ref().map_or(0, Bytes::len))
                .finish(),
            BodyInner::Stream(_) => f.debug_struct("Body").field("streaming", &true).finish(),
        }
    }
}

/// What kind of failure a transport reports; it decides whether core retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made (refused, DNS, a TLS handshake that failed for another
    /// reason than the server's certificate). Retried.
    Connect,
    /// The transport's own timeout fired. Retried.
    Timeout,
    /// The connection broke while sending or receiving. Retried before any event reached
    /// the caller.
    Io,
    /// The request could not be sent as given (bad URI, refused scheme). Not retried.
    Request,
    /// A proxy between the client and the API refused the request: it demanded credentials
    /// (407) or denied the destination (403, or another answer to `CONNECT`), or its URL
    /// cannot be used. The message names the proxy (without its credentials) and what it
    /// answered. Not retried: the same proxy gives the same answer. A proxy that cannot be
    /// reached at all is [`Connect`](Self::Connect), which is retried.
    Proxy,
    /// The server's certificate was refused: not issued by a trusted root, not valid for the
    /// host, expired or malformed. The message says which. Not retried: the same server
    /// presents the same certificate again.
    Certificate,
    /// Anything else. Not retried.
    Other,
}

/// Lists every kind once, with its name: `ALL` and `name` are made from the one list, and
/// `name`'s match has no wildcard, so a kind missing from the list does not compile.
macro_rules! kinds_and_names {
    ($($kind:ident => $name:literal,)*) => {
        impl TransportErrorKind {
            /// Every kind, in declaration order: for code that must handle each one (a
            /// cassette writes each by its [`name`](Self::name)).
            pub const ALL: &'static [TransportErrorKind] = &[$(TransportErrorKind::$kind),*];

            /// A stable lowercase name for this kind (`connect`, `timeout`, `io`, `request`,
            /// `proxy`, `certificate`, `other`), as files such as cassettes write it.
            ///
            /// ```
            /// use cygnet::TransportErrorKind;
            /// for &kind in TransportErrorKind::ALL {
            ///     assert_eq!(TransportErrorKind::from_name(kind.name()), Some(kind));
            /// }
            /// ```
            pub fn name(self) -> &'static str {
                match self {
                    $(TransportErrorKind::$kind => $name,)*
                }
            }
        }
    };
}

kinds_and_names! {
    Connect => "connect",
    Timeout => "timeout",
    Io => "io",
    Request => "request",
    Proxy => "proxy",
    Certificate => "certificate",
    Other => "other",
}

impl TransportErrorKind {
    /// The kind whose [`name`](Self::name) is `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.name() == name)
    }

    /// The words for this kind of failure, the same whatever the transport.
    fn describe(self) -> &'static str {
        match self {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => TIMED_OUT,
            TransportErrorKind::Io => "connection broke",
            TransportErrorKind::Request => "could not send the request",
            TransportErrorKind::Proxy => "the proxy refused the request",
            TransportErrorKind::Certificate => "could not verify the server's certificate",
            TransportErrorKind::Other => "transport failed",
        }
    }
}

/// A failure below HTTP: connecting, TLS, I/O.
///
/// A transport reports the kind and the cause; the client adds, to the error that ends a
/// call, where it went and how often it tried ([`TransportError::context`]). It then reads
/// `POST api.grayswan.ai:443: could not connect after 3 attempts`, and `could not connect`
/// before; the cause is its [`source()`](std::error::Error::source), never repeated in the
/// message (see [the error rule](crate::error#one-rule-for-every-error-of-the-workspace)),
/// so [`Report`](crate::error::Report) shows `...after 3 attempts: <cause>`.
///
/// ```
/// use cygnet::error::Report;
/// use cygnet::transport::{TransportError, TransportErrorKind};
/// let error = TransportError::new(TransportErrorKind::Io, "connection reset");
/// assert_eq!(error.to_string(), "connection broke");
/// assert_eq!(Report::new(&error).to_string(), "connection broke: connection reset");
/// ```
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
    context: Option<CallContext>,
}

impl TransportError {
    /// A transport error of `kind` caused by `source`.
    pub fn new(
        kind: TransportErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind,
            source: source.into(),
            context: None,
        }
    }

    /// Where the call went and how often it tried, once this error ended a call.
    pub fn context(&self) -> Option<&CallContext> {
        self.context.as_ref()
    }

    pub(crate) fn set_context(&mut self, context: CallContext) {
        self.context = Some(context);
    }

    pub(crate) fn context_mut(&mut self) -> Option<&mut CallContext> {
        self.context.as_mut()
    }

    /// Replaces the cause by its text with `secrets` replaced, when it shows one (a proxy's
    /// or a server's words quoted in the cause may echo a key).
    pub(crate) fn redact(&mut self, secrets: &crate::redact::Secrets) {
        let cause = std::mem::replace(&mut self.source, Box::from(""));
        self.source = secrets.redact_cause(cause);
    }

    /// The transport's cause (also the error's `source()`).
    pub fn cause(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether core may retry the request after this failure.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            TransportErrorKind::Connect | TransportErrorKind::Timeout | TransportErrorKind::Io
        )
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.context {
            Some(context) => context.describe(f, self.kind.describe())?,
            None => f.write_str(self.kind.describe())?,
        }
        // The cause is the source: not repeated here (see the error module's rule).
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name_that_reads_back() {
        let names: std::collections::BTreeSet<_> =
            TransportErrorKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), TransportErrorKind::ALL.len());
        for &kind in TransportErrorKind::ALL {
            assert_eq!(TransportErrorKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(TransportErrorKind::from_name("nonsense"), None);
    }
}
