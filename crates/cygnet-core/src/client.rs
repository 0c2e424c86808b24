//! The client: one shared handle that sends chat completions and moderation requests.
//!
//! A call goes: serialize the body once, then for each attempt build the `http::Request`
//! (headers are cheap clones, the body a reference-counted [`Bytes`]), send it through the
//! [`Transport`] under a deadline, read and classify the answer, and on a retryable failure
//! wait (on the transport's clock) and go again. Nothing here names a runtime: deadlines and
//! waits are the transport's [`Transport::sleep`] futures raced against the work.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;

use cygnet_types::{ChatCompletion, ChatCompletionRequest, ModerationRequest, ModerationResponse};

use crate::config::{
    ApiKey, BaseUrl, ClientBuilder, Limits, DEFAULT_MAX_RETRIES, DEFAULT_STREAM_IDLE_TIMEOUT,
    DEFAULT_TIMEOUT,
};
use crate::error::{ApiError, DecodeError, Error, Result, StreamError, TimeoutKind};
use crate::options::RequestOptions;
use crate::retry;
use crate::stream::{ChatStream, SseStream};
use crate::transport::{Body, ConnectTimeout, Transport};

/// The path of chat completions.
pub const CHAT_COMPLETION_PATH: &str = "/chat/completion";
/// The path of moderation.
pub const MODERATION_PATH: &str = "/moderation";
/// The `User-Agent` this crate sends.
pub const USER_AGENT_VALUE: &str = concat!("cygnet-rust/", env!("CARGO_PKG_VERSION"));

/// A client for the Cygnet API.
///
/// Cheap to clone (two reference counts) and `Send + Sync`: make one and share it. Clones and
/// clients derived with [`Client::with_options`] share the transport and its connection pool.
///
/// ```
/// # use cygnet_core::{Client, Transport};
/// fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
/// assert_shareable::<Client>();
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    options: Arc<RequestOptions>,
}

struct Shared {
    transport: Arc<dyn Transport>,
    authorization: HeaderValue,
    base: BaseUrl,
    limits: Limits,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared.base.as_str())
            .field("api_key", &"<redacted>")
            .field("options", &self.options)
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

/// A parsed answer together with its status and headers.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ApiResponse<T> {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers (request ids among them).
    pub headers: HeaderMap,
    /// The parsed body.
    pub value: T,
}

impl<T> ApiResponse<T> {
    /// The parsed body, dropping status and headers.
    pub fn into_value(self) -> T {
        self.value
    }

    /// The `x-request-id` header, when the server sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.headers.get("x-request-id")?.to_str().ok()
    }
}

/// A successful answer as it came: status, headers and the raw body.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RawResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Bytes,
}

impl RawResponse {
    /// Parses the body as JSON into the caller's own type.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        parse_json(self.status, &self.body, std::any::type_name::<T>())
    }
}

/// Options with every default filled in.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) timeout: Duration,
    /// Set only when configured; otherwise the transport's own default applies.
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) headers_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_retries: u32,
}

impl Client {
    /// A builder; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    pub(crate) fn from_parts(
        transport: Arc<dyn Transport>,
        api_key: ApiKey,
        base: BaseUrl,
        options: RequestOptions,
        limits: Limits,
    ) -> Result<Self> {
        let mut authorization = HeaderValue::try_from(format!("Bearer {}", api_key.expose()))
            .map_err(|_| {
                Error::Config(
                    "the API key contains characters not allowed in an HTTP header".into(),
                )
            })?;
        authorization.set_sensitive(true);
        Ok(Self {
            shared: Arc::new(Shared {
                transport,
                authorization,
                base,
                limits,
            }),
            options: Arc::new(options),
        })
    }

    /// A client that shares this one's transport and pool, with `options` laid over its own.
    ///
    /// This is how per-call options are given:
    /// `client.with_options(RequestOptions::new().max_retries(0)).chat(&request)`.
    pub fn with_options(&self, options: RequestOptions) -> Client {
        Client {
            shared: Arc::clone(&self.shared),
            options: Arc::new(self.options.merged_with(&options)),
        }
    }

    /// The options every call of this client uses.
    pub fn options(&self) -> &RequestOptions {
        &self.options
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.shared.base.as_str()
    }

    /// The transport this client sends through.
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.shared.transport
    }

    /// Sends a chat completion request and waits for the whole answer.
    ///
    /// `request.stream` is sent as given; use [`Client::chat_stream`] for streaming.
    pub async fn chat(&self, request: &ChatCompletionRequest) -> Result<ChatCompletion> {
        Ok(self.chat_response(request).await?.value)
    }

    /// Like [`Client::chat`], with the status and headers of the answer.
    pub async fn chat_response(
        &self,
        request: &ChatCompletionRequest,
    ) -> Result<ApiResponse<ChatCompletion>> {
        self.post_parsed(CHAT_COMPLETION_PATH, request, "chat completion JSON")
            .await
    }

    /// Sends a chat completion request with `stream: true` and returns the stream of chunks
    /// once the response headers have arrived.
    ///
    /// An error status gives the same [`Error::Api`] as [`Client::chat`]. The stream ends at
    /// the server's `[DONE]`; a body that ends before it yields
    /// [`StreamError::Incomplete`] after the chunks that did arrive.
    pub async fn chat_stream(&self, request: &ChatCompletionRequest) -> Result<ChatStream> {
        let body = self.body_bytes(&request.as_streaming())?;
        let stream = self.open_stream(CHAT_COMPLETION_PATH, body).await?;
        Ok(ChatStream::new(stream))
    }

    /// Sends a moderation request.
    pub async fn moderate(&self, request: &ModerationRequest) -> Result<ModerationResponse> {
        Ok(self.moderate_response(request).await?.value)
    }

    /// Like [`Client::moderate`], with the status and headers of the answer.
    pub async fn moderate_response(
        &self,
        request: &ModerationRequest,
    ) -> Result<ApiResponse<ModerationResponse>> {
        self.post_parsed(MODERATION_PATH, request, "moderation JSON")
            .await
    }

    /// [`Client::post_raw`], then the body parsed as `T` (`expected` names it in errors).
    async fn post_parsed<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &(impl Serialize + ?Sized),
        expected: &'static str,
    ) -> Result<ApiResponse<T>> {
        let raw = self.post_raw(path, body).await?;
        let value = parse_json(raw.status, &raw.body, expected)?;
        Ok(ApiResponse {
            status: raw.status,
            headers: raw.headers,
            value,
        })
    }

    /// POSTs any JSON body to `path` (e.g. `/chat/completion`) with this client's retries,
    /// timeouts and headers, and returns the successful answer unparsed.
    ///
    /// The escape hatch for callers who bring their own types. Error statuses are still
    /// [`Error::Api`].
    pub async fn post_raw(
        &self,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<RawResponse> {
        let body = self.body_bytes(body)?;
        let resolved = self.resolved();
        let url = self.shared.base.join(path, &self.options.query);
        let span = tracing::debug_span!("cygnet.request", method = "POST", path, stream = false);
        self.with_retries(&url, body, &resolved, |request| {
            self.attempt_full(request, &resolved)
        })
        .instrument(span)
        .await
    }

    /// POSTs any JSON body to `path` and returns the raw server-sent events of the answer.
    pub async fn post_stream_raw(
        &self,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<SseStream> {
        let body = self.body_bytes(body)?;
        self.open_stream(path, body).await
    }

    async fn open_stream(&self, path: &str, body: Bytes) -> Result<SseStream> {
        let resolved = self.resolved();
        let url = self.shared.base.join(path, &self.options.query);
        let span = tracing::debug_span!("cygnet.request", method = "POST", path, stream = true);
        let response = self
            .with_retries(&url, body.clone(), &resolved, |request| {
                self.attempt_stream(request, &resolved)
            })
            .instrument(span)
            .await?;
        Ok(SseStream::new(self.clone(), url, body, resolved, response))
    }

    pub(crate) fn resolved(&self) -> Resolved {
        let o = &self.options;
        let timeout = o.timeout.unwrap_or(DEFAULT_TIMEOUT);
        Resolved {
            timeout,
            connect_timeout: o.connect_timeout,
            headers_timeout: o.stream_headers_timeout.unwrap_or(timeout),
            idle_timeout: o.stream_idle_timeout.unwrap_or(DEFAULT_STREAM_IDLE_TIMEOUT),
            max_retries: o.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
        }
    }

    pub(crate) fn limits(&self) -> Limits {
        self.shared.limits
    }

    /// Serializes `body` once, merging the options' extra fields (the extra value wins).
    fn body_bytes(&self, body: &(impl Serialize + ?Sized)) -> Result<Bytes> {
        let encoded = if self.options.extra_body.is_empty() {
            serde_json::to_vec(body)
        } else {
            let mut value = serde_json::to_value(body).map_err(encode_error)?;
            let object = value.as_object_mut().ok_or_else(|| {
                Error::Config("extra body fields need a request that is a JSON object".into())
            })?;
            for (key, extra) in &self.options.extra_body {
                object.insert(key.clone(), extra.clone());
            }
            serde_json::to_vec(&value)
        };
        encoded.map(Bytes::from).map_err(encode_error)
    }

    pub(crate) fn build_request(
        &self,
        url: &str,
        body: Bytes,
        resolved: &Resolved,
    ) -> Result<http::Request<Bytes>> {
        let mut request = http::Request::post(url)
            .body(body)
            .map_err(|e| Error::Config(format!("cannot build a request for {url}: {e}")))?;
        let len = request.body().len();
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, self.shared.authorization.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        for (name, value) in &self.options.headers {
            headers.insert(name.clone(), value.clone());
        }
        // Only when configured: inserting an extension allocates, and a transport without
        // one uses its own default (the contract's 5 s for cygnet-hyper's).
        if let Some(timeout) = resolved.connect_timeout {
            request.extensions_mut().insert(ConnectTimeout(timeout));
        }
        Ok(request)
    }

    /// Runs `attempt` until it succeeds, fails for good, or retries run out.
    pub(crate) async fn with_retries<T, F, Fut>(
        &self,
        url: &str,
        body: Bytes,
        resolved: &Resolved,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut(http::Request<Bytes>) -> Fut,
        Fut: Future<Output = Result<T>>,
        T: AttemptStatus,
    {
        let mut retries_done = 0;
        loop {
            let request = self.build_request(url, body.clone(), resolved)?;
            let started = Instant::now();
            let outcome = attempt(request).await;
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            let error = match outcome {
                Ok(value) => {
                    tracing::debug!(
                        attempt = retries_done + 1,
                        latency_ms,
                        status = value.status_code(),
                        "attempt succeeded"
                    );
                    return Ok(value);
                }
                Err(error) => error,
            };
            let status = error.status().map(|s| s.as_u16());
            let Some(wait) = self.retry_wait(&error, retries_done, resolved.max_retries) else {
                tracing::debug!(attempt = retries_done + 1, latency_ms, status, error = %error, "attempt failed");
                return Err(error);
            };
            tracing::debug!(
                attempt = retries_done + 1,
                latency_ms,
                status,
                error = %error,
                wait_ms = wait.as_millis() as u64,
                "attempt failed; retrying"
            );
            self.shared.transport.sleep(wait).await;
            retries_done += 1;
        }
    }

    /// How long to wait before retrying after `error`, or `None` to give up.
    pub(crate) fn retry_wait(
        &self,
        error: &Error,
        retries_done: u32,
        max_retries: u32,
    ) -> Option<Duration> {
        if retries_done >= max_retries {
            return None;
        }
        let empty = HeaderMap::new();
        let headers = match error {
            Error::Transport(e) if e.is_retryable() => &empty,
            Error::Timeout(_) => &empty,
            Error::Api(api) => match api.status {
                Some(status) if retry::should_retry(status, &api.headers) => &api.headers,
                _ => return None,
            },
            _ => return None,
        };
        Some(retry::retry_delay(
            headers,
            retries_done,
            fastrand::f64(),
            SystemTime::now(),
        ))
    }

    /// One attempt of a non-streaming call: send and read the whole body, under one deadline.
    async fn attempt_full(
        &self,
        request: http::Request<Bytes>,
        resolved: &Resolved,
    ) -> Result<RawResponse> {
        let limit = self.shared.limits.max_body_bytes;
        let work = async {
            let response = self.shared.transport.send(request).await?;
            tracing::debug!(status = response.status().as_u16(), "response head");
            let (parts, body) = response.into_parts();
            let bytes = read_body(body, &parts.headers, limit).await?;
            if !parts.status.is_success() {
                return Err(ApiError::from_response(parts.status, parts.headers, bytes).into());
            }
            Ok(RawResponse {
                status: parts.status,
                headers: parts.headers,
                body: bytes,
            })
        };
        self.deadline(
            resolved.timeout,
            TimeoutKind::Request(resolved.timeout),
            work,
        )
        .await
    }

    /// One attempt of a streaming call: send and wait for the head; read an error body whole.
    pub(crate) async fn attempt_stream(
        &self,
        request: http::Request<Bytes>,
        resolved: &Resolved,
    ) -> Result<http::Response<Body>> {
        let limit = self.shared.limits.max_body_bytes;
        let work = async {
            let response = self.shared.transport.send(request).await?;
            tracing::debug!(status = response.status().as_u16(), "response head");
            if response.status().is_success() {
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            let bytes = read_body(body, &parts.headers, limit).await?;
            Err(ApiError::from_response(parts.status, parts.headers, bytes).into())
        };
        let limit = resolved.headers_timeout;
        self.deadline(limit, TimeoutKind::Headers(limit), work)
            .await
    }

    /// Runs `work`, failing with `Error::Timeout(kind)` if it takes longer than `limit`.
    pub(crate) async fn deadline<T>(
        &self,
        limit: Duration,
        kind: TimeoutKind,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let mut work = std::pin::pin!(work);
        let mut timer = self.shared.transport.sleep(limit);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = work.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(Error::Timeout(kind))),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

fn encode_error(e: serde_json::Error) -> Error {
    Error::Config(format!("the request could not be encoded as JSON: {e}"))
}

/// Reads a whole body, failing once it grows past `limit` bytes.
async fn read_body(mut body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(StreamError::BodyTooLarge { limit }.into());
    }
    // The common case is one chunk: keep it without copying.
    let Some(first) = body.chunk().await.transpose()? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(StreamError::BodyTooLarge { limit }.into());
    }
    let Some(second) = body.chunk().await.transpose()? else {
        return Ok(first);
    };
    let capacity = declared.map_or(first.len() + second.len(), |len| len as usize);
    let mut buffer = BytesMut::with_capacity(capacity.min(limit));
    buffer.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if buffer.len() + chunk.len() > limit {
            return Err(StreamError::BodyTooLarge { limit }.into());
        }
        buffer.extend_from_slice(&chunk);
        next = body.chunk().await.transpose()?;
    }
    Ok(buffer.freeze())
}

fn parse_json<T: DeserializeOwned>(
    status: StatusCode,
    body: &[u8],
    expected: &'static str,
) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| DecodeError::new(Some(status), expected, body, Some(Box::new(e))).into())
}

/// The status an attempt's success reports in its trace event, so every attempt event carries
/// one (failed attempts take it from the error).
pub(crate) trait AttemptStatus {
    fn status_code(&self) -> u16;
}

impl AttemptStatus for RawResponse {
    fn status_code(&self) -> u16 {
        self.status.as_u16()
    }
}

impl AttemptStatus for http::Response<Body> {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}
