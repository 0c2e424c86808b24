//! Cygnal's protected completions: any provider's model, guarded by Gray Swan, through the
//! same client.
//!
//! Cygnal (`POST {base}/cygnal/chat/completions`) takes OpenAI's chat-completions format for
//! a provider's model (`gpt-5`, ...), passes it to the provider, and filters what goes in and
//! what comes out. Such a call holds two secrets: the provider's key, in `Authorization:
//! Bearer`, which Cygnal hands on to the provider, and the Gray Swan key, in
//! `grayswan-api-key` (and *not* in `Authorization`). Both are kept out of `Debug` output,
//! errors, traces and cassettes, exactly as the Gray Swan key is on every other route.
//!
//! [`Client::cygnal`] makes the route's handle, [`Cygnal`], from a [`ProviderKey`]; it shares
//! the client's transport, pool, retries, timeouts and options. [`CygnalControls`] sets the
//! guide's filtering headers, typed. Answers are the usual [`ChatCompletion`] and
//! [`ChatStream`]; a blocked answer is HTTP 200 with finish reason `violation`, and reads as
//! blocked in every form (see the crate's [blocked answers](crate#blocked-answers)).
//!
//! ```no_run
//! # async fn run() -> cygnet::Result<()> {
//! # let client: cygnet::Client = unimplemented!();
//! use cygnet::cygnal::{CygnalControls, ProviderKey};
//! use cygnet::types::{CygnalRequest, Message, Threshold};
//!
//! let guarded = client
//!     .cygnal(ProviderKey::from_env()?) // OPENAI_API_KEY
//!     .with_controls(
//!         CygnalControls::new()
//!             .category("no-finance", "Never give financial advice")
//!             .pre_violation(Threshold::new(0.7).unwrap()),
//!     )?;
//! let request = CygnalRequest::new("gpt-5", vec![Message::user("Hello!")]).policy_id("pol_123");
//! let completion = guarded.chat(&request).await?;
//! match completion.blocked() {
//!     Some(blocked) => eprintln!("Gray Swan blocked it: {}", blocked.refusal().unwrap_or_default()),
//!     None => println!("{}", completion.content().unwrap_or_default()),
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};

use cygnet_types::{ChatCompletion, CygnalRequest, ReasoningMode, Threshold};

use crate::answer;
use crate::client::{ApiResponse, Client};
use crate::engine::Credentials;
use crate::error::{Error, Result};
use crate::options::RequestOptions;
use crate::stream::ChatStream;

/// The path of Cygnal's protected completions.
pub const CYGNAL_CHAT_COMPLETIONS_PATH: &str = "/cygnal/chat/completions";

/// The variable OpenAI's own SDKs read their key from, and [`ProviderKey::from_env`] too.
pub const OPENAI_API_KEY_ENV: &str = "OPENAI_API_KEY";

/// The key of the model's provider (OpenAI's for OpenAI models), which Cygnal passes on.
///
/// Checked when made: an empty key, or one holding anything but visible ASCII, is an
/// [`Error::Config`] before anything is sent. Its `Debug` never shows it, and no error does.
///
/// ```
/// use cygnet::cygnal::ProviderKey;
/// let key = ProviderKey::new("sk-provider-fake")?;
/// assert_eq!(format!("{key:?}"), "ProviderKey(<redacted>)");
/// assert!(ProviderKey::new(" ").is_err());
/// # Ok::<(), cygnet::Error>(())
/// ```
#[derive(Clone)]
pub struct ProviderKey(Arc<str>);

impl ProviderKey {
    /// Wraps a key given in code.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the key is empty or holds a character that is not visible ASCII
    /// (`!` to `~`), which an `Authorization` header cannot carry faithfully.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        check_key(&key, "the provider key")?;
        Ok(Self(Arc::from(key)))
    }

    /// The key from `OPENAI_API_KEY`, the variable OpenAI's SDKs read: for OpenAI models.
    ///
    /// For other providers name their variable with [`ProviderKey::from_env_var`]; this
    /// crate does not guess it from the model name, since a wrong guess would send one
    /// provider's key to another.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming `OPENAI_API_KEY` when it is unset, empty or unusable.
    pub fn from_env() -> Result<Self> {
        Self::from_env_var(OPENAI_API_KEY_ENV)
    }

    /// The key from the environment variable `name` (e.g. `ANTHROPIC_API_KEY`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable when it is unset, empty, not Unicode, or holds
    /// a character that is not visible ASCII. The error never shows the value.
    pub fn from_env_var(name: &str) -> Result<Self> {
        let what = format!("the provider key in {name}");
        match std::env::var(name) {
            Ok(key) => {
                check_key(&key, &what)?;
                Ok(Self(Arc::from(key)))
            }
            Err(std::env::VarError::NotPresent) => Err(Error::Config(format!(
                "{name} is not set; it must hold the model provider's API key for Cygnal"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(Error::Config(format!("{what} is not valid Unicode")))
            }
        }
    }

    /// The key itself; handle with care.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `Bearer <key>`, marked sensitive.
    fn authorization(&self) -> HeaderValue {
        // `check_key` admitted only visible ASCII, which any header value can carry.
        let mut value = HeaderValue::try_from(format!("Bearer {}", self.0))
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
        value.set_sensitive(true);
        value
    }
}

impl fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProviderKey(<redacted>)")
    }
}

/// Refuses a key that is empty or holds anything but visible ASCII, without echoing it.
fn check_key(key: &str, what: &str) -> Result<()> {
    if key.trim().is_empty() {
        return Err(Error::Config(format!("{what} is empty")));
    }
    if let Some(position) = key.bytes().position(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(Error::Config(format!(
            "{what} holds a character that is not visible ASCII (whitespace, a control \
             character or a non-ASCII letter) at byte {position} of {}; check how it was copied",
            key.len()
        )));
    }
    Ok(())
}

/// Cygnal's filtering controls, sent as the request headers Gray Swan's guide names.
///
/// - [`category`](Self::category): `category-<name>: <description>`, one per category;
/// - the thresholds, each a [`Threshold`] (so in `[0, 1]` and finite by construction):
///   `pre-violation`, `pre-jailbreak`, `post-violation`, `post-violation-jb`;
/// - [`reasoning_mode`](Self::reasoning_mode): `reasoning-mode`;
/// - [`policy_id`](Self::policy_id): `policy-id`.
///
/// Names and descriptions are checked by [`Cygnal::with_controls`]: a category name must be
/// a header-name token (letters, digits, `-`, `_`, ...), and every value must be printable
/// ASCII (spaces included): a non-ASCII description is refused rather than sent garbled. Other headers go in through [`RequestOptions::header`].
///
/// ```
/// use cygnet::cygnal::CygnalControls;
/// use cygnet::types::{ReasoningMode, Threshold};
/// let controls = CygnalControls::new()
///     .category("no-finance", "Never give financial advice")
///     .pre_violation(Threshold::new(0.3).unwrap())
///     .post_violation(Threshold::new(0.6).unwrap())
///     .reasoning_mode(ReasoningMode::Hybrid)
///     .policy_id("pol_123");
/// let headers = controls.to_headers()?;
/// assert_eq!(headers["category-no-finance"], "Never give financial advice");
/// assert_eq!(headers["pre-violation"], "0.3");
/// assert_eq!(headers["reasoning-mode"], "hybrid");
/// # Ok::<(), cygnet::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct CygnalControls {
    /// Categories to filter, name and description, in order.
    pub categories: Vec<(String, String)>,
    /// `pre-violation`: the input's violation score at which Cygnal blocks.
    pub pre_violation: Option<Threshold>,
    /// `pre-jailbreak`: the input's jailbreak score at which Cygnal blocks.
    pub pre_jailbreak: Option<Threshold>,
    /// `post-violation`: the output's violation score at which Cygnal blocks.
    pub post_violation: Option<Threshold>,
    /// `post-violation-jb`: the output's violation score, for jailbreaks, at which Cygnal
    /// blocks.
    pub post_violation_jb: Option<Threshold>,
    /// `reasoning-mode`.
    pub reasoning_mode: Option<ReasoningMode>,
    /// `policy-id`.
    pub policy_id: Option<String>,
}

impl CygnalControls {
    /// No controls: Cygnal's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a category: header `category-<name>: <description>`.
    #[must_use]
    pub fn category(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.categories.push((name.into(), description.into()));
        self
    }

    /// Sets `pre-violation`.
    #[must_use]
    pub fn pre_violation(mut self, threshold: Threshold) -> Self {
        self.pre_violation = Some(threshold);
        self
    }

    /// Sets `pre-jailbreak`.
    #[must_use]
    pub fn pre_jailbreak(mut self, threshold: Threshold) -> Self {
        self.pre_jailbreak = Some(threshold);
        self
    }

    /// Sets `post-violation`.
    #[must_use]
    pub fn post_violation(mut self, threshold: Threshold) -> Self {
        self.post_violation = Some(threshold);
        self
    }

    /// Sets `post-violation-jb`.
    #[must_use]
    pub fn post_violation_jb(mut self, threshold: Threshold) -> Self {
        self.post_violation_jb = Some(threshold);
        self
    }

    /// Sets `reasoning-mode`.
    #[must_use]
    pub fn reasoning_mode(mut self, mode: ReasoningMode) -> Self {
        self.reasoning_mode = Some(mode);
        self
    }

    /// Sets `policy-id`.
    #[must_use]
    pub fn policy_id(mut self, id: impl Into<String>) -> Self {
        self.policy_id = Some(id.into());
        self
    }

    /// The headers these controls send, in the order set.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the control when a category name is empty or not a
    /// header-name token, or a value holds a character a header cannot carry (a control
    /// character, a non-ASCII letter).
    pub fn to_headers(&self) -> Result<http::HeaderMap> {
        let mut headers = http::HeaderMap::new();
        for (name, description) in &self.categories {
            let header = format!("category-{name}");
            let valid = !name.is_empty() && HeaderName::try_from(header.as_str()).is_ok();
            if !valid {
                return Err(Error::Config(format!(
                    "the Cygnal category name {name:?} is not a header-name token \
                     (use letters, digits, `-` or `_`)"
                )));
            }
            headers.append(
                HeaderName::try_from(header).expect("checked above"),
                header_value(&format!("category {name:?}"), description)?,
            );
        }
        let thresholds = [
            ("pre-violation", self.pre_violation),
            ("pre-jailbreak", self.pre_jailbreak),
            ("post-violation", self.post_violation),
            ("post-violation-jb", self.post_violation_jb),
        ];
        for (name, threshold) in thresholds {
            if let Some(threshold) = threshold {
                let value = HeaderValue::try_from(threshold.value().to_string())
                    .expect("a number is a header value");
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        if let Some(mode) = &self.reasoning_mode {
            headers.insert(
                HeaderName::from_static("reasoning-mode"),
                header_value("reasoning-mode", mode.as_str())?,
            );
        }
        if let Some(id) = &self.policy_id {
            headers.insert(
                HeaderName::from_static("policy-id"),
                header_value("policy-id", id)?,
            );
        }
        Ok(headers)
    }
}

/// `value` as a header value, when it is printable ASCII (spaces and tabs allowed).
///
/// Stricter than `HeaderValue`, which also takes bytes above 127: a server reads those as
/// Latin-1, so a UTF-8 description would arrive garbled rather than be refused.
fn header_value(what: &str, value: &str) -> Result<HeaderValue> {
    let printable = value
        .bytes()
        .all(|b| b == b'\t' || (0x20..=0x7e).contains(&b));
    let refused = || {
        Error::Config(format!(
            "the Cygnal control {what} holds a character an HTTP header cannot carry \
             (a control character or a non-ASCII letter)"
        ))
    };
    if !printable {
        return Err(refused());
    }
    HeaderValue::try_from(value).map_err(|_| refused())
}

/// Cygnal's protected completions on a client: made by [`Client::cygnal`].
///
/// Shares the client's transport, pool and options (a cheap clone: reference counts), and
/// sends each call to `{base}/cygnal/chat/completions` with the provider key in
/// `Authorization: Bearer` and the Gray Swan key in `grayswan-api-key`. Its `Debug` shows
/// neither key.
///
/// ```
/// # struct T; #[cygnet::transport::async_trait] impl cygnet::Transport for T {
/// #   async fn send(&self, _: cygnet::http::Request<cygnet::bytes::Bytes>) -> Result<cygnet::http::Response<cygnet::Body>, cygnet::TransportError> { unimplemented!() }
/// #   fn sleep(&self, _: std::time::Duration) -> cygnet::transport::Sleep { Box::pin(std::future::pending()) } }
/// use cygnet::cygnal::ProviderKey;
/// let client = cygnet::Client::builder().api_key("gs-test-fake").transport(T).build()?;
/// let guarded = client.cygnal(ProviderKey::new("sk-provider-fake")?);
/// let shown = format!("{guarded:?}");
/// assert!(!shown.contains("gs-test-fake") && !shown.contains("sk-provider-fake"));
/// # Ok::<(), cygnet::Error>(())
/// ```
#[derive(Clone)]
pub struct Cygnal {
    client: Client,
    /// `Bearer <provider key>`, marked sensitive.
    authorization: HeaderValue,
}

impl fmt::Debug for Cygnal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cygnal")
            .field("base_url", &self.client.base_url())
            .field("api_key", &"<redacted>")
            .field("provider_key", &"<redacted>")
            .field("options", self.client.options())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Cygnal's protected completions through this client, with the model provider's `key`:
    /// see [`Cygnal`] and the [module docs](crate::cygnal).
    ///
    /// ```no_run
    /// # fn run(client: cygnet::Client) -> cygnet::Result<()> {
    /// let guarded = client.cygnal(cygnet::cygnal::ProviderKey::from_env()?);
    /// # let _ = guarded; Ok(()) }
    /// ```
    pub fn cygnal(&self, key: ProviderKey) -> Cygnal {
        Cygnal {
            client: self.clone(),
            authorization: key.authorization(),
        }
    }
}

impl Cygnal {
    /// This route with `options` laid over its own (see [`Client::with_options`]).
    #[must_use]
    pub fn with_options(&self, options: RequestOptions) -> Cygnal {
        Cygnal {
            client: self.client.with_options(options),
            authorization: self.authorization.clone(),
        }
    }

    /// This route with `controls`' headers on every call (laid over any set before).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a control a header cannot carry; see
    /// [`CygnalControls::to_headers`]. Nothing is sent.
    pub fn with_controls(&self, controls: CygnalControls) -> Result<Cygnal> {
        let mut options = RequestOptions::new();
        options.headers = controls.to_headers()?;
        Ok(self.with_options(options))
    }

    /// The client underneath (for Cygnet's own routes).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The options every call of this route uses.
    pub fn options(&self) -> &RequestOptions {
        self.client.options()
    }

    /// Sends `request` to Cygnal and waits for the whole answer.
    ///
    /// `request.stream` is sent as given; use [`Cygnal::chat_stream`] for streaming.
    ///
    /// # Blocked answers
    ///
    /// An answer Cygnal blocked (HTTP 200, finish reason `violation`, the refusal as its
    /// content) is `Ok`: check
    /// [`ChatCompletion::blocked`](cygnet_types::ChatCompletion::blocked), or add
    /// [`into_unblocked`](cygnet_types::ChatCompletion::into_unblocked)`()?` to make it
    /// [`Error::Blocked`].
    ///
    /// # Errors
    ///
    /// As [`Client::chat`]: [`Error::Api`] for an error status (Gray Swan's envelope, a
    /// provider's failure as 502) or an error in the answer, [`Error::Decode`] for an answer
    /// that is not a chat completion, [`Error::Transport`] or [`Error::Timeout`] when no
    /// answer came after the retries, [`Error::Config`] when the request cannot be encoded.
    /// None shows either key.
    pub async fn chat(&self, request: &CygnalRequest) -> Result<ChatCompletion> {
        Ok(self.chat_response(request).await?.value)
    }

    /// Like [`Cygnal::chat`], with the status and headers of the answer.
    ///
    /// # Errors
    ///
    /// As [`Cygnal::chat`].
    pub async fn chat_response(
        &self,
        request: &CygnalRequest,
    ) -> Result<ApiResponse<ChatCompletion>> {
        let raw = self
            .client
            .send_raw(CYGNAL_CHAT_COMPLETIONS_PATH, request, self.credentials())
            .await?;
        let value = answer::parse_json(
            raw.status,
            &raw.headers,
            &raw.body,
            "chat completion JSON",
            raw.secrets(),
        )?;
        Ok(ApiResponse {
            status: raw.status,
            headers: raw.headers,
            value,
        })
    }

    /// Sends `request` with `stream: true` and returns the stream of chunks once the answer's
    /// head has arrived, as [`Client::chat_stream`] does.
    ///
    /// A stream Cygnal cuts ends with a chunk whose finish reason is `violation`, its text so
    /// far delivered before it; the usage chunk that `include_usage` asks for (no choices,
    /// the counts) reaches the accumulator.
    ///
    /// # Errors
    ///
    /// As [`Client::chat_stream`].
    pub async fn chat_stream(&self, request: &CygnalRequest) -> Result<ChatStream> {
        let body = self.client.body_bytes(&request.as_streaming())?;
        let stream = self
            .client
            .open_stream(CYGNAL_CHAT_COMPLETIONS_PATH, body, self.credentials())
            .await?;
        Ok(ChatStream::new(stream))
    }

    fn credentials(&self) -> Credentials {
        Credentials::Cygnal {
            authorization: self.authorization.clone(),
        }
    }
}
