//! The retry engine: every attempt of every call, whole or streamed, goes through here.
//!
//! An [`Engine`] is what a client and all its clones share: the transport, the
//! authentication headers, the base URL and the limits. A [`Call`] is one request as it will
//! be sent (URL, body, headers, timeouts, retry budget) over an engine. For each attempt the
//! call builds the `http::Request` (headers are cheap clones, the body a reference-counted
//! [`Bytes`]), sends it through the [`Transport`] under the attempt's deadline, classifies
//! the answer, and on a retryable failure waits (on the transport's clock) and goes again,
//! with one trace event per attempt. The error that ends a call names its target and the
//! number of attempts ([`CallContext`]).
//!
//! There is one retry loop, [`Call::run`]. A stream keeps its call in an `Arc`; when its body
//! fails before the first event reached the caller (a reset, a clean end, an idle timeout),
//! it asks for a re-send ([`Call::resend`]), which enters the same loop with that failure:
//! the loop decides exactly as for a failed answer head, waits, and sends again. A re-send is
//! a numbered attempt like any other and spends the same retry budget.
//!
//! Three bounds are [`Deadline`]s raced against the work by one helper, [`race`]: an
//! attempt's (`timeout`, or `stream_headers_timeout` for a stream's head), the whole call's
//! (`total_timeout`, which also covers the waits between attempts, so a retry that would
//! start after it is never made) and a whole stream's (`stream_total_timeout`).
//!
//! Nothing here names a runtime or reads a clock of its own: deadlines, waits, `Retry-After`
//! dates and backoff jitter all come from the transport ([`Transport::sleep`],
//! [`Transport::now`], [`Transport::wall_clock`], [`Transport::jitter`]), so on a virtual
//! clock every wait is exact.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, Method, StatusCode, Uri};
use tracing::Instrument;

use crate::answer::{is_event_stream, not_a_stream, read_body, NOT_A_STREAM_PREFIX};
use crate::call_context::{CallContext, RequestTarget};
use crate::config::{
    ApiKey, BaseUrl, Limits, DEFAULT_MAX_RETRIES, DEFAULT_STREAM_IDLE_TIMEOUT, DEFAULT_TIMEOUT,
};
use crate::error::{ApiError, Error, Result, TimeoutKind};
use crate::options::RequestOptions;
use crate::redact::Secrets;
use crate::retry;
use crate::transport::{Body, BoxFuture, ConnectTimeout, Sleep, Transport};

/// A stream's answer head with the moment (on the transport's clock) its attempt began.
pub(crate) type Opened = (http::Response<Body>, Duration);

/// A re-send in progress ([`Call::resend`]): the wait, then attempts until a stream's head.
pub(crate) type Resend = BoxFuture<'static, Result<Opened>>;

/// The `User-Agent` this crate sends.
pub const USER_AGENT_VALUE: &str = concat!("cygnet-rust/", env!("CARGO_PKG_VERSION"));

/// The header that carries the Gray Swan key on Cygnal's routes.
pub(crate) const GRAYSWAN_API_KEY_HEADER: &str = "grayswan-api-key";

/// Which headers carry the keys on a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// `Authorization: Bearer <key>`: Cygnet's routes.
    Bearer,
    /// `grayswan-api-key: <key>` and `Authorization: Bearer <key>`: the Cygnal monitor, whose
    /// documentation sends both.
    Monitor,
    /// `Authorization: Bearer <provider key>` (this value, marked sensitive) and
    /// `grayswan-api-key: <key>`: Cygnal's protected completions, which pass `Authorization`
    /// on to the model's provider. The Gray Swan key is not in `Authorization` here.
    Cygnal {
        /// `Bearer <provider key>`.
        authorization: HeaderValue,
    },
}

impl Credentials {
    /// The route this call takes, for its trace span.
    fn route(&self) -> &'static str {
        match self {
            Credentials::Bearer => "cygnet",
            Credentials::Monitor => "monitor",
            Credentials::Cygnal { .. } => "cygnal",
        }
    }

    /// `secrets` with the credentials this call adds to the engine's (the provider key, in
    /// its header's form and alone).
    fn add_secrets(&self, secrets: Secrets) -> Secrets {
        let Credentials::Cygnal { authorization } = self else {
            return secrets;
        };
        let Ok(value) = authorization.to_str() else {
            return secrets;
        };
        let secrets = secrets.with(value);
        match value.split_once(' ') {
            Some((_scheme, token)) => secrets.with(token.trim()),
            None => secrets,
        }
    }
}

/// What a client and its clones share: transport, authorization, the secrets to keep out of
/// what answers bring back, base URL and limits.
pub(crate) struct Engine {
    transport: Arc<dyn Transport>,
    /// `Bearer <key>`, marked sensitive.
    authorization: HeaderValue,
    /// The credentials every call sends (the API key): replaced in the headers and error
    /// bodies of every answer before anything is built from them. A call adds those of its
    /// own headers ([`call_secrets`]).
    secrets: Secrets,
    /// The key alone, for `grayswan-api-key`, marked sensitive.
    grayswan_key: HeaderValue,
    base: BaseUrl,
    limits: Limits,
}

impl Engine {
    pub(crate) fn new(
        transport: Arc<dyn Transport>,
        api_key: &ApiKey,
        base: BaseUrl,
        limits: Limits,
    ) -> Result<Self> {
        let mut authorization = HeaderValue::try_from(format!("Bearer {}", api_key.expose()))
            .map_err(|_| {
                Error::Config(
                    "the API key contains characters not allowed in an HTTP header".into(),
                )
            })?;
        authorization.set_sensitive(true);
        // The builder admits only visible ASCII in a key, which any header value can carry.
        let mut grayswan_key = HeaderValue::try_from(api_key.expose()).map_err(|_| {
            Error::Config("the API key contains characters not allowed in an HTTP header".into())
        })?;
        grayswan_key.set_sensitive(true);
        Ok(Self {
            transport,
            authorization,
            secrets: Secrets::new([api_key.expose()]),
            grayswan_key,
            base,
            limits,
        })
    }

    pub(crate) fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    pub(crate) fn base(&self) -> &BaseUrl {
        &self.base
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn secrets(&self) -> &Secrets {
        &self.secrets
    }
}

/// A call's options with every default filled in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) timeout: Duration,
    /// Set only when configured; otherwise the transport's own default applies.
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) headers_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    /// A whole stream's bound; none by default.
    pub(crate) stream_total_timeout: Option<Duration>,
    /// The bound on a call up to its answer, across attempts; none by default.
    pub(crate) total_timeout: Option<Duration>,
    pub(crate) max_retries: u32,
}

impl Settings {
    pub(crate) fn resolve(o: &RequestOptions) -> Self {
        let timeout = o.timeout.unwrap_or(DEFAULT_TIMEOUT);
        Self {
            timeout,
            connect_timeout: o.connect_timeout,
            headers_timeout: o.stream_headers_timeout.unwrap_or(timeout),
            idle_timeout: o.stream_idle_timeout.unwrap_or(DEFAULT_STREAM_IDLE_TIMEOUT),
            stream_total_timeout: o.stream_total_timeout,
            total_timeout: o.total_timeout,
            max_retries: o.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
        }
    }
}

/// One request and everything needed to send it again: the engine, the options, the URL
/// and the encoded body. Attempts are counted here, so every error that ends the call can
/// say how many were made.
pub(crate) struct Call {
    engine: Arc<Engine>,
    options: Arc<RequestOptions>,
    settings: Settings,
    credentials: Credentials,
    uri: Uri,
    body: Bytes,
    target: RequestTarget,
    /// The engine's secrets and the credentials among the call's own headers.
    secrets: Secrets,
    span: tracing::Span,
    attempts: AtomicU32,
}

impl Call {
    /// A POST of `body` to `path` (with the options' query) over `engine`, with the keys in
    /// the headers `credentials` names; the span's `route` field says which.
    pub(crate) fn with_route(
        engine: &Arc<Engine>,
        options: &Arc<RequestOptions>,
        path: &str,
        body: Bytes,
        stream: bool,
        credentials: Credentials,
    ) -> Result<Self> {
        // A path that does not start with `/` would be glued onto the host and could move the
        // request, and the key with it, to another authority (`@evil.example/x`).
        if !path.starts_with('/') {
            return Err(Error::Config(format!(
                "the request path {path:?} must start with `/`"
            )));
        }
        let url = engine.base.join(path, &options.query);
        let uri: Uri = url
            .parse()
            .map_err(|e| Error::Config(format!("cannot build a request for path {path:?}: {e}")))?;
        let route = credentials.route();
        let span = tracing::debug_span!("cygnet.request", method = "POST", path, stream, route);
        Ok(Self {
            engine: Arc::clone(engine),
            options: Arc::clone(options),
            settings: Settings::resolve(options),
            target: RequestTarget::from_uri(&Method::POST, &uri),
            secrets: credentials.add_secrets(call_secrets(&engine.secrets, &options.headers)),
            credentials,
            uri,
            body,
            span,
            attempts: AtomicU32::new(0),
        })
    }

    /// The call's trace span, `cygnet.request`.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn limits(&self) -> Limits {
        self.engine.limits
    }

    /// The secrets to keep out of what the answers bring back.
    pub(crate) fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The transport: its timers and clock.
    pub(crate) fn transport(&self) -> &dyn Transport {
        &*self.engine.transport
    }

    /// The attempts made so far.
    fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// The time on the transport's clock.
    fn now(&self) -> Duration {
        self.engine.transport.now()
    }

    /// Sends the request, retrying as allowed, and reads the whole successful answer, all
    /// within the call's total bound when one is set.
    pub(crate) async fn send_full(&self) -> Result<http::Response<Bytes>> {
        let mut total = self.total_deadline();
        let run = self.run(None, |request| self.attempt_full(request));
        let (response, started) = race(run, total.as_mut())
            .await
            .map_err(|e| self.with_context(e))?;
        self.succeeded(started, response.status());
        Ok(response)
    }

    /// Sends the request, retrying as allowed, until an answer's head says a stream
    /// follows; returns it with the moment its attempt began. Its success is traced by the
    /// stream, when the first event arrives ([`Call::succeeded`]). The stream's bounds are
    /// the caller's to race it against.
    pub(crate) async fn open_stream(&self) -> Result<Opened> {
        self.run(None, |request| self.attempt_stream(request)).await
    }

    /// Sends a stream's request again after its body failed with `failure` (in the attempt
    /// begun at `started`) before any event reached the caller: the retry loop decides on
    /// that failure as on any other, waits, and runs attempts until a stream's head.
    pub(crate) fn resend(self: &Arc<Self>, failure: Error, started: Duration) -> Resend {
        let call = Arc::clone(self);
        let span = self.span.clone();
        Box::pin(
            async move {
                let attempt = |request| call.attempt_stream(request);
                call.run(Some((failure, started)), attempt).await
            }
            .instrument(span),
        )
    }

    /// The call's one retry loop: runs attempts until one succeeds or the call fails for
    /// good. `failed` is a failure already seen (a stream's body that broke), decided on
    /// before the first attempt made here.
    async fn run<T, F, Fut>(
        &self,
        mut failed: Option<(Error, Duration)>,
        mut attempt: F,
    ) -> Result<(T, Duration)>
    where
        F: FnMut(http::Request<Bytes>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        loop {
            if let Some((error, started)) = failed.take() {
                let wait = self.after_failure(error, started)?;
                self.engine.transport.sleep(wait).await;
            }
            let started = self.now();
            self.attempts.fetch_add(1, Ordering::Relaxed);
            match attempt(self.request()).await {
                Ok(value) => return Ok((value, started)),
                Err(error) => failed = Some((error, started)),
            }
        }
    }

    /// Decides after a failed attempt (started at `started`): the wait before the next one,
    /// or the error that ends the call, with its context. Traces the attempt either way.
    fn after_failure(&self, error: Error, started: Duration) -> Result<Duration> {
        let error = without_secrets(error, &self.secrets);
        let attempt = self.attempts();
        let latency_ms = self.latency_ms(started);
        let status = error.status().map(|s| s.as_u16());
        let retries_done = attempt.saturating_sub(1);
        let transport = &*self.engine.transport;
        let max_retries = self.settings.max_retries;
        let Some(wait) = retry_wait(&error, retries_done, max_retries, transport) else {
            tracing::debug!(parent: &self.span, attempt, latency_ms, status, error = %error, "attempt failed");
            return Err(self.with_context(error));
        };
        tracing::debug!(
            parent: &self.span,
            attempt,
            latency_ms,
            status,
            error = %error,
            wait_ms = wait.as_millis() as u64,
            "attempt failed; retrying"
        );
        Ok(wait)
    }

    /// Traces the success of the current attempt, started at `started`.
    pub(crate) fn succeeded(&self, started: Duration, status: StatusCode) {
        tracing::debug!(
            parent: &self.span,
            attempt = self.attempts(),
            latency_ms = self.latency_ms(started),
            status = status.as_u16(),
            "attempt succeeded"
        );
    }

    /// The milliseconds since `started`, on the transport's clock.
    fn latency_ms(&self, started: Duration) -> f64 {
        self.now().saturating_sub(started).as_secs_f64() * 1000.0
    }

    /// `error`, as the end of this call: a transport or timeout error learns the call's
    /// target and how many attempts were made.
    pub(crate) fn with_context(&self, error: Error) -> Error {
        let error = without_secrets(error, &self.secrets);
        add_context(error, || {
            CallContext::new(self.target.clone(), self.attempts())
        })
    }

    /// What a stream keeps of this call once its first event has reached the caller.
    pub(crate) fn answered(&self) -> Answered {
        Answered {
            engine: Arc::clone(&self.engine),
            secrets: self.secrets.clone(),
            context: CallContext::new(self.target.clone(), self.attempts()),
            _span: self.span.clone(),
        }
    }

    /// The request of one attempt.
    fn request(&self) -> http::Request<Bytes> {
        let mut request = http::Request::new(self.body.clone());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        let len = request.body().len();
        let headers = request.headers_mut();
        match &self.credentials {
            Credentials::Bearer => {
                headers.insert(AUTHORIZATION, self.engine.authorization.clone());
            }
            Credentials::Monitor => {
                headers.insert(AUTHORIZATION, self.engine.authorization.clone());
                headers.insert(GRAYSWAN_API_KEY_HEADER, self.engine.grayswan_key.clone());
            }
            Credentials::Cygnal { authorization } => {
                headers.insert(AUTHORIZATION, authorization.clone());
                headers.insert(GRAYSWAN_API_KEY_HEADER, self.engine.grayswan_key.clone());
            }
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        for (name, value) in &self.options.headers {
            headers.insert(name.clone(), value.clone());
        }
        // Only when configured: inserting an extension allocates, and a transport without
        // one uses its own default (the contract's 5 s for cygnet-hyper's).
        if let Some(timeout) = self.settings.connect_timeout {
            request.extensions_mut().insert(ConnectTimeout(timeout));
        }
        request
    }

    /// One attempt of a non-streaming call: send and read the whole body, under one deadline.
    async fn attempt_full(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>> {
        let limit = self.engine.limits.max_body_bytes;
        let work = async {
            let response = self.answer_head(request).await?;
            let (parts, body) = response.into_parts();
            let bytes = read_body(body, &parts.headers, limit).await?;
            if !parts.status.is_success() {
                return Err(self.api_error(parts, &bytes));
            }
            Ok(http::Response::from_parts(parts, bytes))
        };
        let timeout = self.settings.timeout;
        let mut deadline = self.deadline(timeout, TimeoutKind::Request(timeout));
        race(work, Some(&mut deadline)).await
    }

    /// One attempt of a streaming call: send and wait for the head. An error status's body
    /// is read whole; a 2xx answer that is not an event stream is an error too.
    async fn attempt_stream(&self, request: http::Request<Bytes>) -> Result<http::Response<Body>> {
        let limit = self.engine.limits.max_body_bytes;
        let work = async {
            let response = self.answer_head(request).await?;
            if response.status().is_success() && is_event_stream(response.headers()) {
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            if parts.status.is_success() {
                let prefix = NOT_A_STREAM_PREFIX.min(limit);
                let secrets = &self.secrets;
                return Err(not_a_stream(parts.status, parts.headers, body, prefix, secrets).await);
            }
            let bytes = read_body(body, &parts.headers, limit).await?;
            Err(self.api_error(parts, &bytes))
        };
        let timeout = self.settings.headers_timeout;
        let mut deadline = self.deadline(timeout, TimeoutKind::Headers(timeout));
        race(work, Some(&mut deadline)).await
    }

    /// Sends one attempt's request and returns the answer's head, its header values cleaned
    /// of the client's secrets: whatever is built from them later (an error, a request id, a
    /// `Debug` of the headers) cannot show what the server echoed.
    async fn answer_head(&self, request: http::Request<Bytes>) -> Result<http::Response<Body>> {
        let mut response = self.engine.transport.send(request).await?;
        tracing::debug!(status = response.status().as_u16(), "response head");
        self.secrets.redact_headers(response.headers_mut());
        Ok(response)
    }

    /// The error for an error status: its body cleaned of the client's secrets before the
    /// message, or anything else, is read from it.
    fn api_error(&self, parts: http::response::Parts, body: &Bytes) -> Error {
        let body = self.secrets.redact_bytes(body);
        ApiError::from_response(parts.status, parts.headers, body).into()
    }

    /// A bound of `kind` that passes `limit` from now.
    fn deadline(&self, limit: Duration, kind: TimeoutKind) -> Deadline {
        Deadline {
            timer: self.engine.transport.sleep(limit),
            kind,
        }
    }

    /// The bound on the call up to its answer, when one is configured; it starts now.
    pub(crate) fn total_deadline(&self) -> Option<Deadline> {
        let limit = self.settings.total_timeout?;
        Some(self.deadline(limit, TimeoutKind::Total(limit)))
    }

    /// The bound on the whole stream, when one is configured; it starts now.
    pub(crate) fn stream_deadline(&self) -> Option<Deadline> {
        let limit = self.settings.stream_total_timeout?;
        Some(self.deadline(limit, TimeoutKind::StreamTotal(limit)))
    }
}

/// `error` with `context` when it is a transport, timeout or API error (the kinds that end a
/// call for want of a usable answer).
fn add_context(mut error: Error, context: impl FnOnce() -> CallContext) -> Error {
    match &mut error {
        Error::Transport(e) => e.set_context(context()),
        Error::Timeout(e) => e.set_context(context()),
        Error::Api(e) => e.set_context(context()),
        _ => {}
    }
    error
}

/// The secrets of a call: the engine's, and the credentials among the call's own headers
/// (one marked sensitive, or an `Authorization`, `Proxy-Authorization` or `*api-key` header,
/// such as the provider's key a guarded route sends in `Authorization`). For a header with
/// an auth scheme (`Bearer <token>`) the token counts as well, since that is what a server
/// would quote.
fn call_secrets(engine: &Secrets, headers: &HeaderMap) -> Secrets {
    let credentials = headers.iter().filter(|(name, value)| {
        value.is_sensitive()
            || crate::options::is_sensitive_header(name.as_str())
            || name.as_str().ends_with("api-key")
    });
    let mut secrets = engine.clone();
    for (_, value) in credentials {
        let Ok(value) = value.to_str() else { continue };
        secrets = secrets.with(value);
        if let Some((_scheme, token)) = value.split_once(' ') {
            secrets = secrets.with(token.trim());
        }
    }
    secrets
}

/// `error` with `secrets` replaced in a transport error's cause. API and decode errors are
/// built clean (see [`Call::answer_head`]); a transport's cause is the transport's own text,
/// which may quote what a proxy or server said.
fn without_secrets(mut error: Error, secrets: &Secrets) -> Error {
    if let Error::Transport(e) = &mut error {
        e.redact(secrets);
    }
    error
}

/// What a stream keeps of its call once the first event has reached the caller.
///
/// Nothing is re-sent after that, so the request itself (URL, body, options) is released
/// with the [`Call`]; the stream keeps only what its timers (the transport) and the context
/// of its errors need, and the call's span, which stays open until the stream is dropped.
pub(crate) struct Answered {
    engine: Arc<Engine>,
    secrets: Secrets,
    /// The attempts are final: the call made its last one.
    context: CallContext,
    /// Held, not read: keeps the span open for the stream's life.
    _span: tracing::Span,
}

impl Answered {
    /// The transport: its timers and clock.
    pub(crate) fn transport(&self) -> &dyn Transport {
        &*self.engine.transport
    }

    /// The secrets to keep out of what the stream's events bring back.
    pub(crate) fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// `error`, as the end of the call; see [`Call::with_context`].
    pub(crate) fn with_context(&self, error: Error) -> Error {
        let error = without_secrets(error, &self.secrets);
        add_context(error, || self.context.clone())
    }
}

/// How long to wait before retrying after `error`, or `None` to give up. Which errors are
/// retried is [`Error::is_retryable`], the rule callers see; the jitter and the date a
/// `Retry-After` date is read against come from the transport's clock.
fn retry_wait(
    error: &Error,
    retries_done: u32,
    max_retries: u32,
    clock: &dyn Transport,
) -> Option<Duration> {
    if retries_done >= max_retries || !error.is_retryable() {
        return None;
    }
    let empty = HeaderMap::new();
    let headers = error.as_api().map_or(&empty, |api| &api.headers);
    let jitter = clock.jitter();
    Some(retry::retry_delay(
        headers,
        retries_done,
        jitter,
        clock.wall_clock(),
    ))
}

/// A bound on some work: a timer on the transport's clock and the timeout it means when it
/// fires. One per attempt, one for the call's total and one for a whole stream, each made
/// once and polled beside the work ([`race`], or a stream's own poll).
pub(crate) struct Deadline {
    timer: Sleep,
    kind: TimeoutKind,
}

impl Deadline {
    /// `Some(timeout)` once the deadline has passed.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Option<Error> {
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Some(self.kind.into()),
            Poll::Pending => None,
        }
    }
}

/// Runs `work` until it finishes or `deadline` (when there is one) passes, whichever comes
/// first. The work is polled first, so an answer due exactly at the deadline still counts.
pub(crate) async fn race<T>(
    work: impl Future<Output = Result<T>>,
    deadline: Option<&mut Deadline>,
) -> Result<T> {
    let Some(deadline) = deadline else {
        return work.await;
    };
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        match deadline.poll_expired(cx) {
            Some(error) => Poll::Ready(Err(error)),
            None => Poll::Pending,
        }
    })
    .await
}
