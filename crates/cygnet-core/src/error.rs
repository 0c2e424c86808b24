//! The one error type of the client.
//!
//! Every failure a call can end in is an [`Error`]: the server said no ([`Error::Api`]), the
//! network failed ([`Error::Transport`]), a deadline passed ([`Error::Timeout`]), an answer
//! could not be read ([`Error::Decode`]), a stream broke off ([`Error::Stream`]), or the client
//! was set up wrong ([`Error::Config`]). None of them ever carries the API key.
//!
//! A blocked answer is not among them unless the caller asks: it arrives as a successful
//! answer that says so (see the crate's [blocked answers](crate#blocked-answers)), and
//! [`ChatCompletion::into_unblocked`](cygnet_types::ChatCompletion::into_unblocked) with `?`
//! makes it [`Error::Blocked`].
//!
//! An [`ApiError`] reads the server's body in every shape it comes in (Gray Swan's envelope
//! `{"error": true, "message", "detail", "error_code", "details"}`, FastAPI's `detail`, the
//! `{"error": {"message", "code"}}` object, a bare text) and keeps its parts typed: the
//! message, the code, the details and the validation errors, which read as `API error 422
//! Unprocessable Entity: body.messages: Field required`.
//!
//! Transport and timeout errors that end a call also say where it went and how often it
//! tried ([`CallContext`]): `POST api.grayswan.ai:443: could not connect after 3 attempts`,
//! caused by `dns error: ...`. Each kind of failure reads the same whatever the transport.
//!
//! # One rule for every error of the workspace
//!
//! An error's message says what went wrong at its own level, and **never repeats its
//! cause**: a cause is either returned by [`source()`](std::error::Error::source) or written
//! into the message, never both. Every error type of cygnet's crates that has a cause to
//! offer as an error (a transport's, a parser's, the operating system's) returns it from
//! `source()` and leaves it out of its message; one that only has a cause's words (an error
//! rebuilt from a cassette, a cause whose text showed a secret) writes them into its message
//! and has no `source()`. So a reporter that walks the chain (anyhow's `{:#}`, eyre,
//! `tracing`'s error fields, [`Report`]) prints each cause once:
//!
//! ```text
//! POST api.grayswan.ai:443: could not connect after 3 attempts: dns error: failed to lookup address
//! ```
//!
//! This is the rule of the Rust API guidelines and of the AWS SDK (smithy-rs): the message
//! never repeats its source. The price is that an error's own `Display` is not the whole
//! story; [`Report`] (or [`Error::report`]) is, on one line, and it is what the examples
//! and the command-line tool print. Errors that have no cause ([`ApiError`],
//! [`TimeoutError`], [`StreamError`]) read whole either way.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use cygnet_types::{BlockedAnswer, ErrorBody, ValidationError};

use crate::call_context::{CallContext, RequestTarget};
use crate::transport::TransportError;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client is not set up right (no API key, a bad base URL, cleartext to a remote host).
    /// Raised before any request is sent.
    #[error("configuration error: {0}")]
    Config(String),
    /// The server answered with an error: a non-2xx status, or an error object inside a stream.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The request did not get an answer: connecting, TLS or I/O failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A deadline passed.
    #[error(transparent)]
    Timeout(TimeoutError),
    /// An answer arrived but could not be read as what was due.
    #[error(transparent)]
    Decode(Box<DecodeError>),
    /// A stream broke its framing or ended without its terminator.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// Gray Swan blocked the answer, and the caller asked for that to be an error
    /// ([`ChatCompletion::into_unblocked`](cygnet_types::ChatCompletion::into_unblocked) and
    /// `?`, or [`TextStream::collect_text`](crate::TextStream::collect_text), whose text alone
    /// could not say so). The calls themselves return a blocked answer as `Ok`; see the
    /// crate's [blocked answers](crate#blocked-answers).
    #[error(transparent)]
    Blocked(BlockedAnswer),
    /// A [guarded](crate::guard) call was stopped: a Cygnal check blocked it, or could not
    /// decide while the policy fails closed. Branch on it with [`Error::as_guard`].
    #[error(transparent)]
    Guard(Box<crate::guard::GuardError>),
}

impl Error {
    /// The HTTP status, for errors that came with one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => e.status,
            Error::Decode(e) => e.status,
            _ => None,
        }
    }

    /// The API error, when the server answered with one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The blocked answer, for [`Error::Blocked`]: its refusal and the completion as it came.
    pub fn as_blocked(&self) -> Option<&BlockedAnswer> {
        match self {
            Error::Blocked(blocked) => Some(blocked),
            _ => None,
        }
    }

    /// The guard's decision, for [`Error::Guard`]: which stage stopped the call, and why.
    pub fn as_guard(&self) -> Option<&crate::guard::GuardError> {
        match self {
            Error::Guard(guard) => Some(guard),
            _ => None,
        }
    }

    /// Whether this is a timeout, of any kind.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
            || matches!(self, Error::Transport(e) if e.kind() == crate::transport::TransportErrorKind::Timeout)
    }

    /// Which of the client's deadlines passed, for [`Error::Timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use cygnet::{Error, TimeoutKind};
    /// let error = Error::from(TimeoutKind::Idle(Duration::from_secs(7)));
    /// assert_eq!(error.timeout_kind(), Some(TimeoutKind::Idle(Duration::from_secs(7))));
    /// ```
    pub fn timeout_kind(&self) -> Option<TimeoutKind> {
        match self {
            Error::Timeout(e) => Some(e.kind()),
            _ => None,
        }
    }

    /// Where the call went and how often it tried, for transport and timeout errors that
    /// ended a call.
    pub fn context(&self) -> Option<&CallContext> {
        match self {
            Error::Transport(e) => e.context(),
            Error::Timeout(e) => e.context(),
            _ => None,
        }
    }

    /// How many attempts the call made before this error ended it (transport, timeout and
    /// API errors that ended a call).
    pub fn attempts(&self) -> Option<u32> {
        self.context()
            .or_else(|| self.as_api().and_then(ApiError::context))
            .map(CallContext::attempts)
    }

    /// The method, host and port of the request this error ended (transport, timeout and API
    /// errors that ended a call).
    pub fn target(&self) -> Option<&RequestTarget> {
        self.context()
            .or_else(|| self.as_api().and_then(ApiError::context))
            .map(CallContext::target)
    }

    /// Whether trying the same call again may succeed: the rule the client's own retries
    /// follow, for a caller's retry logic on top of them.
    ///
    /// Retryable are connection failures, I/O errors and the transport's timeouts; the
    /// client's own timeouts except [`TimeoutKind::StreamTotal`] (the bound of a whole stream,
    /// re-sends included); a body that ended before its first event; and API errors with
    /// status 408, 409, 429 or 500 and above, unless the server's `x-should-retry` header says
    /// otherwise (it wins either way; see [`retry::should_retry`](crate::retry::should_retry)).
    /// Never retryable: configuration errors, decode errors, blocked answers, other statuses,
    /// and an error sent inside a stream.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cygnet::{ApiError, Error, TimeoutKind};
    /// use cygnet::http::{HeaderMap, StatusCode};
    ///
    /// let busy = ApiError::from_response(StatusCode::TOO_MANY_REQUESTS, HeaderMap::new(), "{}".into());
    /// assert!(Error::from(busy).is_retryable());
    /// let bad = ApiError::from_response(StatusCode::BAD_REQUEST, HeaderMap::new(), "{}".into());
    /// assert!(!Error::from(bad).is_retryable());
    /// assert!(Error::from(TimeoutKind::Request(Duration::from_secs(60))).is_retryable());
    /// assert!(!Error::Config("no API key".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_retryable(),
            // A call's or a whole stream's bound covers its retries: once it passed, nothing
            // is left.
            Error::Timeout(e) => !matches!(
                e.kind(),
                TimeoutKind::StreamTotal(_) | TimeoutKind::Total(_)
            ),
            Error::Stream(StreamError::Incomplete { .. }) => true,
            Error::Api(api) => api.is_retryable(),
            _ => false,
        }
    }

    /// The wait the server asked for before a retry, for an API error (see
    /// [`ApiError::retry_after`]).
    pub fn retry_after(&self) -> Option<Duration> {
        self.as_api().and_then(ApiError::retry_after)
    }

    /// Notes, on a transport or timeout error that ends a stream, that `chunks` chunks had
    /// reached the caller (nothing when none had).
    pub(crate) fn note_delivered(mut self, chunks: u64) -> Self {
        let context = match &mut self {
            Error::Transport(e) => e.context_mut(),
            Error::Timeout(e) => e.context_mut(),
            _ => None,
        };
        if let (Some(context), true) = (context, chunks > 0) {
            context.set_delivered(chunks);
        }
        self
    }

    /// The whole story on one line: this error's message and each of its causes, joined by
    /// `: ` (see the [module docs](self) for why the message alone does not repeat them).
    ///
    /// ```
    /// use cygnet::transport::{TransportError, TransportErrorKind};
    /// let error = cygnet::Error::from(TransportError::new(
    ///     TransportErrorKind::Connect,
    ///     "connection refused",
    /// ));
    /// assert_eq!(error.to_string(), "could not connect");
    /// assert_eq!(error.report().to_string(), "could not connect: connection refused");
    /// ```
    pub fn report(&self) -> Report<'_> {
        Report::new(self)
    }
}

/// Shows an error and every cause in its [`source()`](std::error::Error::source) chain on
/// one line, joined by `: `: what the examples and the command-line tool print.
///
/// Works for any error, not just cygnet's; since every cygnet error keeps its cause out of
/// its own message (see the [module docs](self)), each cause shows once.
///
/// ```
/// use cygnet::error::Report;
/// let io = std::io::Error::other("disk full");
/// assert_eq!(Report::new(&io).to_string(), "disk full");
/// ```
#[derive(Clone, Copy)]
pub struct Report<'a> {
    error: &'a (dyn std::error::Error + 'static),
}

impl<'a> Report<'a> {
    /// A report of `error` and its causes.
    pub fn new(error: &'a (dyn std::error::Error + 'static)) -> Self {
        Self { error }
    }

    /// The error and its causes, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
        std::iter::successors(Some(self.error), |e| (*e).source())
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.chain().enumerate() {
            if i > 0 {
                f.write_str(": ")?;
            }
            fmt::Display::fmt(error, f)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Which deadline passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// One attempt of a non-streaming request took longer than allowed.
    Request(Duration),
    /// A stream's response headers took longer than allowed.
    Headers(Duration),
    /// A stream went quiet for longer than allowed between two reads.
    Idle(Duration),
    /// A whole stream, from sending its request to its last event, took longer than
    /// allowed (see [`RequestOptions::stream_total_timeout`](crate::RequestOptions::stream_total_timeout)).
    StreamTotal(Duration),
    /// A call found no answer within its total time, all attempts and the waits between
    /// them included (see [`RequestOptions::total_timeout`](crate::RequestOptions::total_timeout)).
    Total(Duration),
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeoutKind::Request(d) => write!(f, "no complete answer within {d:?}"),
            TimeoutKind::Headers(d) => write!(f, "no response headers within {d:?}"),
            TimeoutKind::Idle(d) => write!(f, "stream idle for more than {d:?}"),
            TimeoutKind::StreamTotal(d) => write!(f, "stream not finished within {d:?}"),
            TimeoutKind::Total(d) => write!(f, "no answer within {d:?}, retries included"),
        }
    }
}

/// A deadline of the client passed: which one, and (once it ended a call) where the call went
/// and how often it tried.
///
/// Reads `POST api.grayswan.ai:443: timed out after 3 attempts: no response headers within
/// 5s` when it ended a call; just the kind's words otherwise.
///
/// ```
/// use std::time::Duration;
/// use cygnet::{TimeoutError, TimeoutKind};
/// let error = TimeoutError::new(TimeoutKind::Headers(Duration::from_secs(5)));
/// assert_eq!(error.to_string(), "no response headers within 5s");
/// assert!(error.context().is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeoutError {
    kind: TimeoutKind,
    context: Option<CallContext>,
}

impl TimeoutError {
    /// A timeout of `kind`, not yet tied to a call.
    pub fn new(kind: TimeoutKind) -> Self {
        Self {
            kind,
            context: None,
        }
    }

    /// Which deadline passed.
    pub fn kind(&self) -> TimeoutKind {
        self.kind
    }

    /// Where the call went and how often it tried, once the timeout ended a call.
    pub fn context(&self) -> Option<&CallContext> {
        self.context.as_ref()
    }

    pub(crate) fn set_context(&mut self, context: CallContext) {
        self.context = Some(context);
    }

    pub(crate) fn context_mut(&mut self) -> Option<&mut CallContext> {
        self.context.as_mut()
    }
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(context) = &self.context {
            context.describe(f, crate::call_context::TIMED_OUT)?;
            f.write_str(": ")?;
        }
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for TimeoutError {}

impl From<TimeoutKind> for TimeoutError {
    fn from(kind: TimeoutKind) -> Self {
        Self::new(kind)
    }
}

impl From<TimeoutKind> for Error {
    fn from(kind: TimeoutKind) -> Self {
        Error::Timeout(TimeoutError::new(kind))
    }
}

impl From<TimeoutError> for Error {
    fn from(e: TimeoutError) -> Self {
        Error::Timeout(e)
    }
}

/// Broad classes of API errors, by status, as the official client names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400.
    BadRequest,
    /// 401.
    Authentication,
    /// 403.
    PermissionDenied,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 422.
    UnprocessableEntity,
    /// 429.
    RateLimit,
    /// 500 and above.
    InternalServer,
    /// An error object sent inside a successful stream.
    InStream,
    /// Any other status.
    Other,
}

impl ApiErrorKind {
    /// The class of `status`.
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::BadRequest,
            401 => Self::Authentication,
            403 => Self::PermissionDenied,
            404 => Self::NotFound,
            409 => Self::Conflict,
            422 => Self::UnprocessableEntity,
            429 => Self::RateLimit,
            s if s >= 500 => Self::InternalServer,
            _ => Self::Other,
        }
    }
}

/// The server answered with an error.
///
/// The body is read in every shape servers send it (see [`ErrorBody`]): Gray Swan's envelope,
/// FastAPI's `detail` (a text or a validation list), an `error` object or text, a top-level
/// message. [`ApiError::message`] is the server's message; [`ApiError::code`],
/// [`ApiError::details`] and [`ApiError::validation`] are the other parts; [`ApiError::body`]
/// is the body exactly as it came.
///
/// It reads `API error 400 Bad Request: Invalid model requested (invalid_model)`, with the
/// code in brackets when there is one, and validation errors joined by `; `: `API error 422
/// Unprocessable Entity: body.messages: Field required`.
///
/// ```
/// use cygnet::ApiError;
/// use cygnet::http::{HeaderMap, StatusCode};
///
/// let body = r#"{"error":true,"message":"Invalid model requested","detail":"No model x",
///   "error_code":"invalid_model","details":{"model":"x"}}"#;
/// let error = ApiError::from_response(StatusCode::BAD_REQUEST, HeaderMap::new(), body.into());
/// assert_eq!(error.to_string(), "API error 400 Bad Request: Invalid model requested (invalid_model)");
/// assert_eq!(error.code(), Some("invalid_model"));
/// assert_eq!(error.detail(), Some("No model x"));
/// assert_eq!(error.details().unwrap()["model"], "x");
///
/// let body = r#"{"detail":[{"loc":["body","messages"],"msg":"Field required","type":"missing"}]}"#;
/// let error = ApiError::from_response(StatusCode::UNPROCESSABLE_ENTITY, HeaderMap::new(), body.into());
/// assert_eq!(error.to_string(), "API error 422 Unprocessable Entity: body.messages: Field required");
/// assert_eq!(error.validation()[0].location(), "body.messages");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ApiError {
    /// The class of error.
    pub kind: ApiErrorKind,
    /// The HTTP status; `None` for an error sent inside a stream.
    pub status: Option<StatusCode>,
    /// The server's message, when its body had one (for a validation list, its entries
    /// joined by `; `).
    pub message: Option<String>,
    /// The response headers (request ids among them), each value with the client's secrets
    /// replaced by `***`.
    pub headers: HeaderMap,
    /// The body as it came (bounded by the client's body limit), except that every
    /// occurrence of the client's secrets, the API key, in any spelling, is replaced by `***`
    /// (see [`redact`](crate::redact)); the message is read from it.
    pub body: Bytes,
    /// The typed parts of the body besides the message.
    parts: BodyParts,
    /// Where the call went and how often it tried, once this error ended a call.
    context: Option<CallContext>,
}

/// What an error body says besides its message.
#[derive(Clone, Debug, Default)]
struct BodyParts {
    code: Option<String>,
    detail: Option<String>,
    details: Option<serde_json::Value>,
    validation: Vec<ValidationError>,
}

impl ApiError {
    /// An API error from a status, headers and raw body; finds the message and the other
    /// parts in the body.
    pub fn from_response(status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        let (message, parts) = read_body(&body);
        Self {
            kind: ApiErrorKind::from_status(status),
            status: Some(status),
            message,
            headers,
            body,
            parts,
            context: None,
        }
    }

    /// An error object that arrived inside a stream, as the raw JSON of the event.
    pub fn in_stream(body: Bytes) -> Self {
        let (message, parts) = read_body(&body);
        Self {
            kind: ApiErrorKind::InStream,
            status: None,
            message,
            headers: HeaderMap::new(),
            body,
            parts,
            context: None,
        }
    }

    /// The body as text, lossily, bounded to a readable snippet.
    pub fn body_snippet(&self) -> String {
        snippet(&self.body)
    }

    /// The `x-request-id` header, when the server sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.headers.get("x-request-id")?.to_str().ok()
    }

    /// The machine-readable code: Gray Swan's `error_code` (`invalid_model`), else the error
    /// object's `code` (a number as its text).
    pub fn code(&self) -> Option<&str> {
        self.parts.code.as_deref()
    }

    /// The `detail` text of Gray Swan's envelope (the specifics beside its message), or
    /// FastAPI's `detail` when it is a text.
    pub fn detail(&self) -> Option<&str> {
        self.parts.detail.as_deref()
    }

    /// The `details` object of Gray Swan's envelope, as sent.
    pub fn details(&self) -> Option<&serde_json::Value> {
        self.parts.details.as_ref()
    }

    /// FastAPI's validation errors (a 422's `detail` list): where in the request, and what
    /// is wrong there. Empty when the body has none.
    pub fn validation(&self) -> &[ValidationError] {
        &self.parts.validation
    }

    /// Where the call went and how often it tried, once this error ended a call (the client
    /// fills it in; `None` for an error built by hand).
    pub fn context(&self) -> Option<&CallContext> {
        self.context.as_ref()
    }

    pub(crate) fn set_context(&mut self, context: CallContext) {
        self.context = Some(context);
    }

    /// Whether the client retries this answer: status 408, 409, 429 or 500 and above, unless
    /// the server's `x-should-retry` header says otherwise; never an error sent inside a
    /// stream. See [`Error::is_retryable`].
    pub fn is_retryable(&self) -> bool {
        self.status
            .is_some_and(|status| crate::retry::should_retry(status, &self.headers))
    }

    /// The wait the server asked for before a retry, read as the client's retries read it:
    /// `retry-after-ms` (milliseconds) first, else `retry-after` (seconds, fractions allowed,
    /// or an HTTP date). `None` when neither parses or the wait is not within (0, 60] seconds,
    /// where the client's retries fall back to their own backoff.
    ///
    /// An HTTP-date `Retry-After` is read against the system clock; under a virtual clock
    /// (the mock's) use [`ApiError::retry_after_at`] with that clock's wall time, which is
    /// what the client's own retries read it against.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cygnet::ApiError;
    /// use cygnet::http::{HeaderMap, StatusCode};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("retry-after", "2".parse().unwrap());
    /// let error = ApiError::from_response(StatusCode::TOO_MANY_REQUESTS, headers, "{}".into());
    /// assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_at(std::time::SystemTime::now())
    }

    /// [`ApiError::retry_after`] with an HTTP-date `Retry-After` read against `now`, such as
    /// a transport's [`wall_clock`](crate::Transport::wall_clock).
    pub fn retry_after_at(&self, now: std::time::SystemTime) -> Option<Duration> {
        let seconds = crate::retry::retry_after(&self.headers, now)?;
        (seconds > 0.0 && seconds <= crate::retry::MAX_RETRY_AFTER.as_secs_f64())
            .then(|| Duration::from_secs_f64(seconds))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "API error {status}")?,
            None => f.write_str("API error in stream")?,
        }
        match &self.message {
            Some(message) => {
                write!(f, ": {message}")?;
                match self.code() {
                    Some(code) => write!(f, " ({code})"),
                    None => Ok(()),
                }
            }
            None if self.body.is_empty() => Ok(()),
            None => write!(f, ": {}", self.body_snippet()),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl From<BlockedAnswer> for Error {
    fn from(blocked: BlockedAnswer) -> Self {
        Error::Blocked(blocked)
    }
}

/// An answer could not be read as what was due.
///
/// Reads `could not read chat completion JSON (status 200 OK) from a body that starts
/// "<html>"`; the parser's complaint is its [`source()`](std::error::Error::source).
#[derive(Debug)]
#[non_exhaustive]
pub struct DecodeError {
    /// The HTTP status of the answer.
    pub status: Option<StatusCode>,
    /// What was expected, e.g. "chat completion JSON".
    pub expected: &'static str,
    /// The start of what came, lossily as text, with the client's secrets replaced by `***`.
    pub snippet: String,
    /// The parser's complaint (when it quoted one of the client's secrets, an error with
    /// its text, the secret replaced by `***`): the error's
    /// [`source()`](std::error::Error::source), not repeated in its message.
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl DecodeError {
    /// A decode error for `body`, which should have been `expected`.
    pub fn new(
        status: Option<StatusCode>,
        expected: &'static str,
        body: &[u8],
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            status,
            expected,
            snippet: snippet(body),
            source,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not read {}", self.expected)?;
        if let Some(status) = self.status {
            write!(f, " (status {status})")?;
        }
        // The parser's complaint is the source (see the module docs): not repeated here.
        write!(f, " from a body that starts {:?}", self.snippet)
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(Box::new(e))
    }
}

/// A stream failed in a way that is neither the network's nor the server's stated error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The body ended before the `[DONE]` event.
    #[error("stream ended without [DONE] after {chunks} chunk(s)")]
    Incomplete {
        /// How many chunks arrived before the end (events, for a raw
        /// [`SseStream`](crate::SseStream)).
        chunks: u64,
    },
    /// One event grew past the configured limit.
    #[error("server-sent event larger than the limit of {limit} bytes")]
    EventTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A non-streaming body grew past the configured limit.
    #[error("response body larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The event stream was not valid UTF-8.
    #[error("server-sent events are not valid UTF-8")]
    InvalidUtf8,
}

/// How many bytes of a body an error shows.
pub const SNIPPET_LEN: usize = 512;

/// The start of `body` as text, lossily, at most [`SNIPPET_LEN`] bytes.
pub(crate) fn snippet(body: &[u8]) -> String {
    let cut = body.len().min(SNIPPET_LEN);
    let mut text = String::from_utf8_lossy(&body[..cut]).into_owned();
    if body.len() > cut {
        text.push_str("...");
    }
    text
}

/// The message and the other parts of an error body; nothing for a body that is not a JSON
/// object (an HTML page, plain text), whose snippet the error shows instead.
fn read_body(body: &[u8]) -> (Option<String>, BodyParts) {
    let Some(body) = ErrorBody::from_slice(body) else {
        return (None, BodyParts::default());
    };
    let parts = BodyParts {
        code: body.code(),
        detail: body.detail_text().map(str::to_owned),
        details: body.details.clone(),
        validation: body.validation().to_vec(),
    };
    (body.message(), parts)
}
