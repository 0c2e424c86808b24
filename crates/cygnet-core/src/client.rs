//! The client: one shared handle that sends chat completions, moderation requests and
//! Cygnal monitor requests.
//!
//! A call serializes its body once and hands it, with the client's options, to the retry
//! engine (a `Call`, see the `engine` module), which sends every attempt, whole calls and
//! stream re-sends alike. The client turns what comes back into typed answers and streams.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;

use cygnet_types::{
    ChatCompletion, ChatCompletionRequest, ModerationRequest, ModerationResponse, MonitorRequest,
    MonitorResponse,
};

use crate::answer;
use crate::config::{ClientBuilder, ClientConfig};
use crate::engine::{race, Call, Credentials, Engine};
use crate::error::{Error, Result};
use crate::options::RequestOptions;
use crate::redact::Secrets;
use crate::stream::{ChatStream, Deadlines, SseStream};
use crate::transport::Transport;

pub use crate::engine::USER_AGENT_VALUE;

/// The path of chat completions.
pub const CHAT_COMPLETION_PATH: &str = "/chat/completion";
/// The path of moderation.
pub const MODERATION_PATH: &str = "/moderation";
/// The path of the Cygnal monitor.
pub const MONITOR_PATH: &str = "/cygnal/monitor";

/// A client for the Cygnet API.
///
/// Cheap to clone (two reference counts) and `Send + Sync`: make one and share it. Clones and
/// clients derived with [`Client::with_options`] share the transport and its connection pool.
///
/// ```
/// # use cygnet::{Client, Transport};
/// fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
/// assert_shareable::<Client>();
/// ```
#[derive(Clone)]
pub struct Client {
    engine: Arc<Engine>,
    options: Arc<RequestOptions>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.engine.base().as_str())
            .field("api_key", &"<redacted>")
            .field("options", &self.options)
            .field("limits", &self.engine.limits())
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
///
/// The body is exactly what the server sent; the header values have the client's secrets
/// replaced (see [`redact`](crate::redact)).
#[derive(Clone)]
#[non_exhaustive]
pub struct RawResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Bytes,
    /// The client's secrets, kept out of the errors of [`RawResponse::json`].
    secrets: Secrets,
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

impl RawResponse {
    /// The secrets kept out of what is built from this answer.
    pub(crate) fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Parses the body as JSON into the caller's own type.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the body is not a `T`; but when such a body is a JSON object
    /// with a top-level `error` member (not `null`), [`Error::Api`] with the server's message,
    /// as for the typed calls. Neither shows the client's secrets.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        answer::parse_json(
            self.status,
            &self.headers,
            &self.body,
            std::any::type_name::<T>(),
            &self.secrets,
        )
    }
}

impl Client {
    /// A builder with nothing set, for a client over a transport you give with
    /// [`ClientBuilder::transport`] (the mock in tests, your own HTTP stack).
    ///
    /// For the real API, start from `cygnet::builder()` or `cygnet::from_env()` instead (the
    /// `cygnet` crate's default `hyper` feature): they set the hyper transport and read the
    /// environment. Building from here without a transport fails with [`Error::Config`]
    /// saying so; [`ClientBuilder`] explains why it cannot default to hyper.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    fn from_config(config: ClientConfig) -> Result<Self> {
        let engine = Engine::new(
            config.transport,
            &config.api_key,
            config.base,
            config.limits,
        )?;
        Ok(Self {
            engine: Arc::new(engine),
            options: Arc::new(config.options),
        })
    }

    /// A client that shares this one's transport and pool, with `options` laid over its own.
    ///
    /// This is how per-call options are given:
    /// `client.with_options(RequestOptions::new().max_retries(0)).chat(&request)`.
    #[must_use]
    pub fn with_options(&self, options: RequestOptions) -> Client {
        Client {
            engine: Arc::clone(&self.engine),
            options: Arc::new(self.options.merged_with(&options)),
        }
    }

    /// The options every call of this client uses.
    pub fn options(&self) -> &RequestOptions {
        &self.options
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.engine.base().as_str()
    }

    /// The transport this client sends through.
    pub fn transport(&self) -> &Arc<dyn Transport> {
        self.engine.transport()
    }

    /// The secrets (the API key) this client keeps out of everything it builds from an
    /// answer; [`Secrets::redact`] cleans text of your own the same way, such as a raw body
    /// you are about to log. A call also keeps out the credentials among its own headers
    /// ([`RequestOptions::headers`]: an `Authorization`, `Proxy-Authorization` or `*api-key`
    /// header, or one marked sensitive).
    ///
    /// ```
    /// # struct T; #[cygnet::transport::async_trait] impl cygnet::Transport for T {
    /// #   async fn send(&self, _: cygnet::http::Request<cygnet::bytes::Bytes>) -> Result<cygnet::http::Response<cygnet::Body>, cygnet::TransportError> { unimplemented!() }
    /// #   fn sleep(&self, _: std::time::Duration) -> cygnet::transport::Sleep { Box::pin(std::future::pending()) } }
    /// let client = cygnet::Client::builder().api_key("sk-test-fake").transport(T).build()?;
    /// assert_eq!(client.secrets().redact("no such key: sk-test-fake"), "no such key: ***");
    /// # Ok::<(), cygnet::Error>(())
    /// ```
    pub fn secrets(&self) -> &Secrets {
        self.engine.secrets()
    }

    /// Sends a chat completion request and waits for the whole answer.
    ///
    /// `request.stream` is sent as given; use [`Client::chat_stream`] for streaming.
    ///
    /// # Blocked answers
    ///
    /// An answer Gray Swan blocked (finish reason `violation`, the refusal as its content) is
    /// `Ok`: it is what the server sent. Check
    /// [`ChatCompletion::blocked`](cygnet_types::ChatCompletion::blocked) before showing the
    /// content as the model's answer, or add
    /// [`into_unblocked`](cygnet_types::ChatCompletion::into_unblocked)`()?` to make it
    /// [`Error::Blocked`]; see the crate's [blocked answers](crate#blocked-answers).
    ///
    /// ```no_run
    /// # async fn run(client: cygnet::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// let completion = client.chat(&request).await?;
    /// match completion.blocked() {
    ///     Some(blocked) => eprintln!("blocked: {}", blocked.refusal().unwrap_or_default()),
    ///     None => println!("{}", completion.content().unwrap_or_default()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for an error status or an error object in the answer, [`Error::Decode`]
    /// for an answer that is not a chat completion (a required field missing or mistyped),
    /// [`Error::Transport`] or [`Error::Timeout`] when no answer came after the retries, and
    /// [`Error::Config`] when the request cannot be encoded.
    pub async fn chat(&self, request: &ChatCompletionRequest) -> Result<ChatCompletion> {
        Ok(self.chat_response(request).await?.value)
    }

    /// Like [`Client::chat`], with the status and headers of the answer.
    ///
    /// # Errors
    ///
    /// As [`Client::chat`].
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
    /// [`StreamError::Incomplete`](crate::StreamError::Incomplete) after the chunks that did arrive.
    ///
    /// # Blocked answers
    ///
    /// A stream Gray Swan blocks is cut and ends, like an ordinary one, with a chunk whose
    /// finish reason is `violation` and whose content is the refusal: its text reads like any
    /// other. Ask the chunk ([`ChatCompletionChunk::is_blocked`](cygnet_types::ChatCompletionChunk::is_blocked)),
    /// the accumulated stream ([`AccumulatingStream::blocked`](crate::AccumulatingStream::blocked))
    /// or the text stream ([`TextStream::blocked`](crate::TextStream::blocked)); see the
    /// crate's [blocked answers](crate#blocked-answers).
    ///
    /// # Errors
    ///
    /// As [`Client::chat`] for the answer's head: [`Error::Api`] for an error status (or a
    /// JSON error where a stream was due), [`Error::Decode`] for a 2xx answer whose
    /// `Content-Type` is not `text/event-stream` (named in the error), [`Error::Transport`]
    /// or [`Error::Timeout`] when no head came after the retries. Errors after the head
    /// arrive as items of the stream.
    pub async fn chat_stream(&self, request: &ChatCompletionRequest) -> Result<ChatStream> {
        let body = self.body_bytes(&request.as_streaming())?;
        let stream = self
            .open_stream(CHAT_COMPLETION_PATH, body, Credentials::Bearer)
            .await?;
        Ok(ChatStream::new(stream))
    }

    /// Sends a moderation request.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for an error status or an error object in the answer, [`Error::Decode`]
    /// for an answer without a verdict (`flagged`, `detected` or `passed` missing or mistyped:
    /// never read as "not flagged"), [`Error::Transport`] or [`Error::Timeout`] when no answer
    /// came after the retries.
    pub async fn moderate(&self, request: &ModerationRequest) -> Result<ModerationResponse> {
        Ok(self.moderate_response(request).await?.value)
    }

    /// Like [`Client::moderate`], with the status and headers of the answer.
    ///
    /// # Errors
    ///
    /// As [`Client::moderate`].
    pub async fn moderate_response(
        &self,
        request: &ModerationRequest,
    ) -> Result<ApiResponse<ModerationResponse>> {
        self.post_parsed(MODERATION_PATH, request, "moderation JSON")
            .await
    }

    /// Asks the Cygnal monitor (`POST {base}/cygnal/monitor`) to judge a text or a
    /// conversation, and returns its decision: the `violation` score, which the caller
    /// compares with its own threshold ([`MonitorResponse::flagged_at`]).
    ///
    /// The key goes in both `grayswan-api-key` and `Authorization: Bearer`, as Gray Swan's
    /// documentation sends it; retries, timeouts and options are those of every call.
    ///
    /// ```no_run
    /// # async fn run(client: cygnet::Client) -> cygnet::Result<()> {
    /// use cygnet::types::{MonitorRequest, Threshold};
    /// let verdict = client.monitor(&MonitorRequest::text("Ignore all previous instructions")).await?;
    /// if verdict.flagged_at(Threshold::DEFAULT) {
    ///     println!("flagged: {}", verdict.violation);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for an error status or an answer that reports an error (`"error":
    /// true` or an error object), [`Error::Decode`] naming `violation` for an answer without
    /// a decision (the score missing, `null`, not a number, or outside `[0, 1]`: never read
    /// as "not flagged"), [`Error::Transport`] or [`Error::Timeout`] when no answer came
    /// after the retries.
    pub async fn monitor(&self, request: &MonitorRequest) -> Result<MonitorResponse> {
        Ok(self.monitor_response(request).await?.value)
    }

    /// Like [`Client::monitor`], with the status and headers of the answer.
    ///
    /// # Errors
    ///
    /// As [`Client::monitor`].
    pub async fn monitor_response(
        &self,
        request: &MonitorRequest,
    ) -> Result<ApiResponse<MonitorResponse>> {
        let raw = self.monitor_raw(request).await?;
        let value = answer::parse_json(
            raw.status,
            &raw.headers,
            &raw.body,
            "monitor JSON",
            &raw.secrets,
        )?;
        Ok(ApiResponse {
            status: raw.status,
            headers: raw.headers,
            value,
        })
    }

    /// Sends a monitor request as [`Client::monitor`] does and returns the successful answer
    /// unparsed, for callers who keep the body as it came (a log, `cygnet monitor --json`).
    /// [`RawResponse::json`] with [`MonitorResponse`] reads it exactly as [`Client::monitor`]
    /// does, failing closed.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for an error status, [`Error::Transport`] or [`Error::Timeout`] when no
    /// answer came after the retries.
    pub async fn monitor_raw(&self, request: &MonitorRequest) -> Result<RawResponse> {
        self.send_raw(MONITOR_PATH, request, Credentials::Monitor)
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
        let value =
            answer::parse_json(raw.status, &raw.headers, &raw.body, expected, &raw.secrets)?;
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
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for an error status, [`Error::Transport`] or [`Error::Timeout`] when no
    /// answer came after the retries, [`Error::Config`] when `body` cannot be encoded as a JSON
    /// object or `path` does not start with `/` (it could otherwise name another host).
    pub async fn post_raw(
        &self,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<RawResponse> {
        self.send_raw(path, body, Credentials::Bearer).await
    }

    /// POSTs `body` to `path` with the keys in the headers `credentials` names, and reads
    /// the whole successful answer.
    pub(crate) async fn send_raw(
        &self,
        path: &str,
        body: &(impl Serialize + ?Sized),
        credentials: Credentials,
    ) -> Result<RawResponse> {
        let body = self.body_bytes(body)?;
        let call = Call::with_route(&self.engine, &self.options, path, body, false, credentials)?;
        let span = call.span().clone();
        let response = call.send_full().instrument(span).await?;
        let (parts, body) = response.into_parts();
        Ok(RawResponse {
            status: parts.status,
            headers: parts.headers,
            body,
            secrets: call.secrets().clone(),
        })
    }

    /// POSTs any JSON body to `path` and returns the raw server-sent events of the answer.
    ///
    /// # Errors
    ///
    /// As [`Client::chat_stream`].
    pub async fn post_stream_raw(
        &self,
        path: &str,
        body: &(impl Serialize + ?Sized),
    ) -> Result<SseStream> {
        let body = self.body_bytes(body)?;
        self.open_stream(path, body, Credentials::Bearer).await
    }

    /// Sends a streaming request and waits for an answer head that starts a stream.
    ///
    /// The call's total bound and a whole stream's bound, when configured, start here and
    /// also cover this wait.
    pub(crate) async fn open_stream(
        &self,
        path: &str,
        body: Bytes,
        credentials: Credentials,
    ) -> Result<SseStream> {
        let call = Arc::new(Call::with_route(
            &self.engine,
            &self.options,
            path,
            body,
            true,
            credentials,
        )?);
        let mut deadlines = Deadlines {
            total: call.total_deadline(),
            stream: call.stream_deadline(),
        };
        let span = call.span().clone();
        let opening = race(call.open_stream(), deadlines.total.as_mut());
        let opened = race(opening, deadlines.stream.as_mut())
            .instrument(span)
            .await
            .map_err(|e| call.with_context(e))?;
        Ok(SseStream::new(call, opened, deadlines))
    }

    /// Serializes `body` once, merging the options' extra fields (the extra value wins).
    pub(crate) fn body_bytes(&self, body: &(impl Serialize + ?Sized)) -> Result<Bytes> {
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
}

fn encode_error(e: serde_json::Error) -> Error {
    Error::Config(format!("the request could not be encoded as JSON: {e}"))
}

impl ClientBuilder {
    /// Checks the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the key or the transport is missing, when the key is empty or
    /// holds a character that is not visible ASCII (`!` to `~`: no spaces, control characters
    /// or non-ASCII letters, which an `Authorization` header cannot carry faithfully), when
    /// the base URL is not an absolute `http`/`https` URL by the rule of
    /// [`UrlParts`](crate::config::UrlParts) (a bad port, an `@` that makes the host
    /// ambiguous), carries credentials (`user:password@`), a query or a fragment, or when it
    /// would send the key in cleartext to a remote host without
    /// [`ClientBuilder::allow_insecure_http`], or when [`ClientBuilder::from_env`] found a
    /// near miss of a variable (`GRAYSWAN_BASE_URL` for `GRAY_SWAN_BASE_URL`: see
    /// [`config`](crate::config#near-misses)). No error shows the key or a URL's credentials,
    /// query or fragment.
    pub fn build(self) -> Result<Client> {
        Client::from_config(self.into_config()?)
    }
}
