//! The client: one shared handle that sends chat completions and moderation requests.
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

use cygnet_types::{ChatCompletion, ChatCompletionRequest, ModerationRequest, ModerationResponse};

use crate::answer;
use crate::config::{ClientBuilder, ClientConfig};
use crate::engine::{Call, Engine, StreamDeadline};
use crate::error::{Error, Result};
use crate::options::RequestOptions;
use crate::stream::{ChatStream, SseStream};
use crate::transport::Transport;

pub use crate::engine::USER_AGENT_VALUE;

/// The path of chat completions.
pub const CHAT_COMPLETION_PATH: &str = "/chat/completion";
/// The path of moderation.
pub const MODERATION_PATH: &str = "/moderation";

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
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the body is not a `T`; but when such a body is a JSON object
    /// with a top-level `error` member (not `null`), [`Error::Api`] with the server's message,
    /// as for the typed calls.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        answer::parse_json(
            self.status,
            &self.headers,
            &self.body,
            std::any::type_name::<T>(),
        )
    }
}

impl Client {
    /// A builder; see [`ClientBuilder`].
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

    /// Sends a chat completion request and waits for the whole answer.
    ///
    /// `request.stream` is sent as given; use [`Client::chat_stream`] for streaming.
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
    /// # Errors
    ///
    /// As [`Client::chat`] for the answer's head: [`Error::Api`] for an error status (or a
    /// JSON error where a stream was due), [`Error::Decode`] for a 2xx answer whose
    /// `Content-Type` is not `text/event-stream` (named in the error), [`Error::Transport`]
    /// or [`Error::Timeout`] when no head came after the retries. Errors after the head
    /// arrive as items of the stream.
    pub async fn chat_stream(&self, request: &ChatCompletionRequest) -> Result<ChatStream> {
        let body = self.body_bytes(&request.as_streaming())?;
        let stream = self.open_stream(CHAT_COMPLETION_PATH, body).await?;
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

    /// [`Client::post_raw`], then the body parsed as `T` (`expected` names it in errors).
    async fn post_parsed<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &(impl Serialize + ?Sized),
        expected: &'static str,
    ) -> Result<ApiResponse<T>> {
        let raw = self.post_raw(path, body).await?;
        let value = answer::parse_json(raw.status, &raw.headers, &raw.body, expected)?;
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
        let body = self.body_bytes(body)?;
        let call = Call::new(&self.engine, &self.options, path, body, false)?;
        let span = call.span().clone();
        let response = call.send_full().instrument(span).await?;
        let (parts, body) = response.into_parts();
        Ok(RawResponse {
            status: parts.status,
            headers: parts.headers,
            body,
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
        self.open_stream(path, body).await
    }

    /// Sends a streaming request and waits for an answer head that starts a stream.
    ///
    /// A whole stream's bound, when configured, starts here and also covers this wait.
    async fn open_stream(&self, path: &str, body: Bytes) -> Result<SseStream> {
        let call = Arc::new(Call::new(&self.engine, &self.options, path, body, true)?);
        let mut deadline = call.stream_deadline();
        let span = call.span().clone();
        let opened = StreamDeadline::race(deadline.as_mut(), call.open_stream())
            .instrument(span)
            .await
            .map_err(|e| call.with_context(e))?;
        Ok(SseStream::new(call, opened, deadline))
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
    /// [`ClientBuilder::allow_insecure_http`]. No error shows the key or a URL's credentials,
    /// query or fragment.
    pub fn build(self) -> Result<Client> {
        Client::from_config(self.into_config()?)
    }
}
