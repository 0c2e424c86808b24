//! Client configuration: the API key, the base URL, timeouts, retries and limits.
//!
//! Everything here can be read from the environment as the official client does
//! (`GRAYSWAN_API_KEY`, `GRAY_SWAN_BASE_URL`) and overridden in code. A missing key or a bad
//! base URL is reported by [`ClientBuilder::build`], before any request is sent.
//!
//! # Near misses
//!
//! A variable whose name is one slip away from the right one (`GRAY_SWAN_API_KEY`,
//! `GRAYSWAN_BASE_URL`, LiteLLM's `GRAYSWAN_API_BASE`; the lists are [`API_KEY_NEAR_MISSES`]
//! and [`BASE_URL_NEAR_MISSES`]) would otherwise be ignored without a word: the key would be
//! "missing", or worse, the call (key and `data` content included) would go to
//! `https://api.grayswan.ai` instead of the server meant. So [`ClientBuilder::from_env`]
//! notes it and [`ClientBuilder::build`] fails with [`Error::Config`] naming the variable to
//! use, before anything is sent:
//!
//! - a near miss set while the right variable is unset is an error;
//! - both set to the same value (ignoring surrounding whitespace) is fine: the right one is read;
//! - both set to different values is an error too: which one was meant cannot be told;
//! - a value set in code ([`ClientBuilder::api_key`], [`ClientBuilder::base_url`]) replaces the
//!   environment's, and with it any near miss of that setting.
//!
//! Empty values count as unset, and no message shows a variable's value.
//!
//! This module only collects and checks settings; the client module turns checked settings
//! into a [`Client`](crate::Client), so the dependency runs one way.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::options::RequestOptions;
use crate::transport::Transport;

/// The environment variable holding the API key.
pub const API_KEY_ENV: &str = "GRAYSWAN_API_KEY";
/// The environment variable overriding the base URL.
pub const BASE_URL_ENV: &str = "GRAY_SWAN_BASE_URL";
/// Names easily set instead of [`API_KEY_ENV`]; see the [module docs](self#near-misses).
pub const API_KEY_NEAR_MISSES: &[&str] = &[
    "GRAY_SWAN_API_KEY",
    "GRAYSWAN_KEY",
    "GRAY_SWAN_KEY",
    "GRAYSWAN_APIKEY",
    "GRAYSWAN_API_TOKEN",
    "grayswan_api_key",
];
/// Names easily set instead of [`BASE_URL_ENV`] (`GRAYSWAN_API_BASE` is what LiteLLM's Gray
/// Swan integration reads); see the [module docs](self#near-misses).
pub const BASE_URL_NEAR_MISSES: &[&str] = &[
    "GRAYSWAN_BASE_URL",
    "GRAYSWAN_API_BASE",
    "GRAY_SWAN_API_BASE",
    "GRAYSWAN_API_BASE_URL",
    "GRAY_SWAN_API_BASE_URL",
    "GRAYSWAN_API_URL",
    "GRAY_SWAN_API_URL",
    "GRAYSWAN_URL",
    "GRAY_SWAN_URL",
    "gray_swan_base_url",
];
/// The base URL used when none is configured.
pub const DEFAULT_BASE_URL: &str = "https://api.grayswan.ai";
/// Retries after the first attempt, by default.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// The default time allowed for one attempt of a non-streaming request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The contract's time allowed to open a connection: what transports use for a request that
/// carries no [`ConnectTimeout`](crate::transport::ConnectTimeout).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default time a stream may stay silent between two reads.
pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The default cap on a non-streaming response body (and on an error body), in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// The default cap on one server-sent event, in bytes: the SSE decoder's own default,
/// [`DEFAULT_MAX_EVENT_SIZE`](crate::sse::DEFAULT_MAX_EVENT_SIZE).
pub const DEFAULT_MAX_EVENT_BYTES: usize = crate::sse::DEFAULT_MAX_EVENT_SIZE;

/// An API key. Its `Debug` and `Display` never show the key.
///
/// ```
/// let key = cygnet::ApiKey::new("sk-test-fake");
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(Arc::from(key.into()))
    }

    /// The key itself; handle with care.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Limits that keep a hostile or broken server from growing the client's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest non-streaming or error body read, in bytes.
    pub max_body_bytes: usize,
    /// The largest single server-sent event, in bytes.
    pub max_event_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
        }
    }
}

/// Builds a [`Client`](crate::Client).
///
/// # Which entry point
///
/// One per need:
///
/// | you want | start from |
/// |---|---|
/// | the real API from async code (the `cygnet` crate's default `hyper` feature) | `cygnet::builder()` (preset from the environment, hyper transport), or `cygnet::from_env()` to build at once |
/// | the real API from code that is not async | `cygnet::blocking::Client::builder()` / `from_env()` |
/// | your own transport, configured in code (the mock in tests, another HTTP stack) | [`Client::builder()`](crate::Client::builder) and [`transport`](ClientBuilder::transport); for the mock, `MockTransport::client_builder()` |
/// | your own transport, configured from the environment | [`ClientBuilder::from_env`] and [`transport`](ClientBuilder::transport) |
///
/// Why `Client::builder()` cannot default to the hyper transport: this crate names no HTTP
/// stack and no runtime (so that `default-features = false` leaves them out of a build), and
/// nothing of the `cygnet` crate runs before a caller's first call into it, so at `build()`
/// there is no transport to fall back on without hidden global state set up before `main`.
/// Instead, building without a transport fails with [`Error::Config`] naming
/// `cygnet::builder()` and [`transport`](ClientBuilder::transport), before anything is sent.
///
/// ```
/// # use std::time::Duration;
/// let mock = cygnet::mock::MockTransport::new(); // or any other `Transport`
/// let client = cygnet::Client::builder()
///     .api_key("sk-test-fake")
///     .base_url("https://api.grayswan.ai/")
///     .max_retries(5)
///     .timeout(Duration::from_secs(30))
///     .transport(mock)
///     .build()
///     .unwrap();
/// assert!(!format!("{client:?}").contains("sk-test-fake"));
///
/// // Without a transport: an error that says where to start instead.
/// let error = cygnet::Client::builder().api_key("sk-test-fake").build().unwrap_err();
/// assert!(error.to_string().contains("cygnet::builder()"));
/// ```
#[derive(Clone, Default)]
pub struct ClientBuilder {
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    transport: Option<Arc<dyn Transport>>,
    options: RequestOptions,
    limits: Limits,
    allow_insecure_http: bool,
    /// What [`ClientBuilder::from_env`] found wrong with the key's variables.
    env_key_problem: Option<String>,
    /// What [`ClientBuilder::from_env`] found wrong with the base URL's variables.
    env_base_url_problem: Option<String>,
    /// Whether the builder read the environment, which decides what a missing key's error
    /// advises.
    from_env: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url.as_deref().map(redact_url))
            .field("transport", &self.transport.as_ref().map(|_| "..."))
            .field("options", &self.options)
            .field("limits", &self.limits)
            .field("allow_insecure_http", &self.allow_insecure_http)
            // Names of variables only, never their values.
            .field("env_key_problem", &self.env_key_problem)
            .field("env_base_url_problem", &self.env_base_url_problem)
            .finish()
    }
}

/// Makes [`ClientBuilder`]'s setters of per-call options from their shared list (see
/// `__shared_option_setters` in the options module): each sets the option in the client's
/// default options.
macro_rules! builder_option_setters {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty);)*) => {$(
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, $arg: $ty) -> Self {
            self.options = self.options.$name($arg);
            self
        }
    )*};
}

impl ClientBuilder {
    /// A builder with nothing set: the same as [`Client::builder()`](crate::Client::builder),
    /// which is the one to use (hidden from the docs so that there is one way to start).
    #[doc(hidden)]
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder with the key from `GRAYSWAN_API_KEY` and the base URL from
    /// `GRAY_SWAN_BASE_URL`, where they are set and not empty.
    ///
    /// A near miss (`GRAY_SWAN_API_KEY`, `GRAYSWAN_BASE_URL`, ...: see the [module
    /// docs](self#near-misses)) makes [`ClientBuilder::build`] fail naming the right variable,
    /// unless the setting is then given in code.
    pub fn from_env() -> Self {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`ClientBuilder::from_env`] with the variables read through `lookup` instead of the
    /// process's environment: a map in tests, or a program's own configuration.
    ///
    /// ```
    /// use cygnet::ClientBuilder;
    ///
    /// let env = |name: &str| (name == "GRAYSWAN_BASE_URL").then(|| "http://localhost:8080".to_owned());
    /// # struct T; #[cygnet::transport::async_trait] impl cygnet::Transport for T {
    /// #   async fn send(&self, _: cygnet::http::Request<cygnet::bytes::Bytes>) -> Result<cygnet::http::Response<cygnet::Body>, cygnet::TransportError> { unimplemented!() }
    /// #   fn sleep(&self, _: std::time::Duration) -> cygnet::transport::Sleep { Box::pin(std::future::pending()) } }
    /// let error = ClientBuilder::from_env_with(env)
    ///     .api_key("sk-test-fake")
    ///     .transport(T)
    ///     .build()
    ///     .unwrap_err();
    /// // Not silently https://api.grayswan.ai: the variable to use is named.
    /// assert!(error.to_string().contains("GRAY_SWAN_BASE_URL"));
    /// ```
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let read = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut builder = Self {
            from_env: true,
            ..Self::default()
        };
        let key = read(API_KEY_ENV);
        let key_problem = near_miss(
            read,
            API_KEY_ENV,
            key.as_deref(),
            API_KEY_NEAR_MISSES,
            "the API key",
        );
        if let Some(key) = key {
            builder = builder.api_key(key);
        }
        let url = read(BASE_URL_ENV);
        let url_problem = near_miss(
            read,
            BASE_URL_ENV,
            url.as_deref(),
            BASE_URL_NEAR_MISSES,
            &format!("the base URL (default {DEFAULT_BASE_URL})"),
        );
        if let Some(url) = url {
            builder = builder.base_url(url);
        }
        builder.env_key_problem = key_problem;
        builder.env_base_url_problem = url_problem;
        builder
    }

    /// Sets the API key (and so sets aside a near miss of `GRAYSWAN_API_KEY` that
    /// [`ClientBuilder::from_env`] found).
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self.env_key_problem = None;
        self
    }

    /// Sets the base URL; a trailing slash and a path prefix (`https://proxy/v1/`) are fine.
    /// It is split by the strict rule of [`UrlParts`] (a port is a number from 1 to 65535; an
    /// `@` after a `/`, `?` or `#` is refused) and must have no credentials, query or fragment.
    /// It sets aside a near miss of `GRAY_SWAN_BASE_URL` that [`ClientBuilder::from_env`]
    /// found.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self.env_base_url_problem = None;
        self
    }

    /// Sets the transport that sends requests.
    #[must_use]
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Sets the transport from a shared handle.
    #[must_use]
    pub fn shared_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    // The setters it shares with `RequestOptions` (and cygnet-hyper's blocking builder),
    // from their one list: each sets the option for every request of the client.
    crate::__shared_option_setters!(builder_option_setters);

    /// Options applied to every request of the client; per-call options override them.
    #[must_use]
    pub fn default_options(mut self, options: RequestOptions) -> Self {
        self.options = self.options.merged_with(&options);
        self
    }

    /// The largest non-streaming or error body read, in bytes (default 32 MiB).
    #[must_use]
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.limits.max_body_bytes = limit;
        self
    }

    /// The largest single server-sent event, in bytes (default 16 MiB).
    #[must_use]
    pub fn max_event_bytes(mut self, limit: usize) -> Self {
        self.limits.max_event_bytes = limit;
        self
    }

    /// Allows sending the key over cleartext `http://` to a host that is not loopback.
    ///
    /// Off by default: over `http://` anyone on the path can read the key. Loopback hosts
    /// (`localhost`, `127.0.0.0/8`, `[::1]`; see [`is_loopback_host`]) are always allowed, for
    /// tests and local proxies, because the key stays on the machine: cygnet-hyper never sends
    /// such a request through a proxy. Names under `.localhost` are not exempt (the system
    /// resolver may send them anywhere).
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Checks the configuration (see [`ClientBuilder::build`]).
    pub(crate) fn into_config(self) -> Result<ClientConfig> {
        if let Some(problem) = self.env_key_problem.or(self.env_base_url_problem) {
            return Err(Error::Config(problem));
        }
        // The transport first: without one, the fix is a different starting point, which
        // sets the key from the environment too.
        let transport = self.transport.ok_or_else(|| {
            Error::Config(
                "no transport: for the real API start from `cygnet::builder()` or \
                 `cygnet::from_env()` (the `cygnet` crate's default `hyper` feature), which set \
                 the hyper transport and read GRAYSWAN_API_KEY; `Client::builder()` is for your \
                 own transport, given with `.transport(..)`"
                    .into(),
            )
        })?;
        let api_key = self.api_key.ok_or_else(|| {
            Error::Config(if self.from_env {
                format!(
                    "no API key: set the {API_KEY_ENV} environment variable or call ClientBuilder::api_key"
                )
            } else {
                format!(
                    "no API key: call ClientBuilder::api_key, or start from \
                     `ClientBuilder::from_env()`, which reads {API_KEY_ENV}"
                )
            })
        })?;
        check_api_key(api_key.expose())?;
        let base_url = self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base = BaseUrl::parse(base_url, self.allow_insecure_http)?;
        Ok(ClientConfig {
            transport,
            api_key,
            base,
            options: self.options,
            limits: self.limits,
        })
    }
}

/// A checked configuration, what a client is made of.
pub(crate) struct ClientConfig {
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) api_key: ApiKey,
    pub(crate) base: BaseUrl,
    pub(crate) options: RequestOptions,
    pub(crate) limits: Limits,
}

/// Refuses a key that is empty or holds anything but visible ASCII, without echoing it.
fn check_api_key(key: &str) -> Result<()> {
    if key.trim().is_empty() {
        return Err(Error::Config("the API key is empty".into()));
    }
    if let Some(position) = key.bytes().position(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(Error::Config(format!(
            "the API key holds a character that is not visible ASCII (whitespace, a control \
             character or a non-ASCII letter) at byte {position} of {}; check how it was copied",
            key.len()
        )));
    }
    Ok(())
}

/// `url` with everything between `scheme://` and the last `@` replaced by `***`: a last-resort
/// redaction for text that may not even parse. A password holding `/` or `?` stays hidden, but
/// a query holding an `@` keeps what follows it, so messages about a URL show
/// [`redact_url`] (or [`UrlParts::redacted`]) instead, which shows nothing of a URL that does not
/// parse and never a query. Text without an `@` comes back as it is.
///
/// ```
/// use cygnet::config::redact_userinfo;
/// assert_eq!(redact_userinfo("http://user:pa/ss@proxy:3128"), "http://***@proxy:3128");
/// assert_eq!(redact_userinfo("https://api.grayswan.ai/v1"), "https://api.grayswan.ai/v1");
/// ```
pub fn redact_userinfo(url: &str) -> std::borrow::Cow<'_, str> {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]).into(),
        None => url.into(),
    }
}

/// A URL as messages and `Debug` output show it: [`UrlParts::redacted`] when it splits by the
/// shared rule (credentials as `***`, no query, no fragment), otherwise only why it does not,
/// with none of its text.
///
/// ```
/// use cygnet::config::redact_url;
/// assert_eq!(redact_url("http://user:pw@proxy:3128/"), "http://***@proxy:3128/");
/// assert_eq!(redact_url("https://h/v1?key=sk-test-fake"), "https://h/v1");
/// assert!(!redact_url("https://user:s3cr/et@h").contains("s3cr"));
/// ```
pub fn redact_url(url: &str) -> String {
    match UrlParts::parse(url.trim()) {
        Ok(parts) => parts.redacted(),
        Err(e) => format!("<unusable URL: {e}>"),
    }
}

/// A URL split into scheme, credentials, host, port, path, query and fragment by the one rule
/// the base URL and proxy URLs share.
///
/// The rule is stricter than a general URI parser on purpose: where a string could be read in
/// two ways it is refused, never guessed at.
///
/// - `scheme://` may be missing (a proxy is often given as `host:port`); when `://` is there,
///   what precedes it must be a scheme (a letter, then letters, digits, `+`, `-` or `.`).
/// - The authority runs up to the first `/`, `?` or `#`, and no `@` may come after that point.
///   RFC 3986, and so `http::Uri`, ends the authority at the `/` of
///   `https://user:pa/ss@api.grayswan.ai`: the host would be `user`, the "port" `pa`, and the
///   real host a path; the writer meant a password `pa/ss`. So an `@` after a `/`, `?` or `#`
///   is refused: a `/`, `?`, `#` or `@` in a password must be percent-encoded (`%2F`, `%3F`,
///   `%23`, `%40`), and so must an `@` in a path.
/// - The authority holds at most one `@`; the credentials before it use only the characters
///   RFC 3986 allows there (letters, digits, `-._~!$&'()*+,;=:` and `%XX` escapes).
/// - The host is a name of ASCII letters, digits, `-`, `.` and `_`, or an IPv6 address in
///   brackets (without a zone).
/// - After a `:` comes a port: a decimal number from 1 to 65535. `host:`, `host:https`,
///   `host:+80` and `host:65536` are refused, not read as the default port.
///
/// Neither [`UrlError`] nor this type's `Debug` output shows the credentials, the query or the
/// fragment; [`UrlParts::redacted`] is the form messages show.
///
/// ```
/// use cygnet::config::{UrlError, UrlParts};
///
/// let parts = UrlParts::parse("http://user:p%2Fss@proxy.internal:3128").unwrap();
/// assert_eq!(parts.host(), "proxy.internal");
/// assert_eq!(parts.port(), Some(3128));
/// assert_eq!(parts.userinfo(), Some("user:p%2Fss"));
/// assert_eq!(parts.redacted(), "http://***@proxy.internal:3128");
///
/// let error = UrlParts::parse("https://user:pa/ss@api.grayswan.ai").unwrap_err();
/// assert_eq!(error, UrlError::AtAfterAuthority);
/// assert_eq!(UrlParts::parse("https://api.grayswan.ai:65536").unwrap_err(), UrlError::Port);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    scheme: Option<&'a str>,
    userinfo: Option<&'a str>,
    host: &'a str,
    port: Option<u16>,
    path: &'a str,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    /// Splits `url` (already trimmed) by the rule above.
    ///
    /// # Errors
    ///
    /// A [`UrlError`] naming the first part that breaks the rule; it holds none of `url`.
    pub fn parse(url: &'a str) -> std::result::Result<Self, UrlError> {
        let (scheme, rest) = match url.find("://") {
            Some(end) => {
                let scheme = &url[..end];
                if !is_scheme(scheme) {
                    return Err(UrlError::Scheme);
                }
                (Some(scheme), &url[end + 3..])
            }
            None => (None, url),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if tail.contains('@') {
            return Err(UrlError::AtAfterAuthority);
        }
        let (userinfo, host_port) = match authority.split_once('@') {
            Some((_, host_port)) if host_port.contains('@') => return Err(UrlError::SeveralAts),
            Some((userinfo, host_port)) => {
                check_userinfo(userinfo)?;
                (Some(userinfo), host_port)
            }
            None => (None, authority),
        };
        let (host, port) = split_host_port(host_port)?;
        let (before_fragment, fragment) = match tail.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (tail, None),
        };
        let (path, query) = match before_fragment.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (before_fragment, None),
        };
        Ok(Self {
            scheme,
            userinfo,
            host,
            port,
            path,
            query,
            fragment,
        })
    }

    /// The scheme, as written (`https`, `HTTP`), if the URL has one.
    pub fn scheme(&self) -> Option<&'a str> {
        self.scheme
    }

    /// The credentials before the `@`, still percent-encoded (`user:password`); handle with
    /// care, they are never shown.
    pub fn userinfo(&self) -> Option<&'a str> {
        self.userinfo
    }

    /// The host as written: a name, an IPv4 address or a bracketed IPv6 address (`[::1]`).
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The port, if the URL names one.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The path: empty or starting with `/`.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The query after `?`, if any; may hold secrets, so it is never shown.
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// The fragment after `#`, if any; never shown either.
    pub fn fragment(&self) -> Option<&'a str> {
        self.fragment
    }

    /// The URL for messages: `scheme://***@host:port/path`, the credentials replaced by `***`,
    /// query and fragment left out.
    pub fn redacted(&self) -> String {
        let mut shown = String::with_capacity(self.host.len() + self.path.len() + 16);
        if let Some(scheme) = self.scheme {
            shown.push_str(scheme);
            shown.push_str("://");
        }
        if self.userinfo.is_some() {
            shown.push_str("***@");
        }
        shown.push_str(self.host);
        if let Some(port) = self.port {
            shown.push(':');
            shown.push_str(&port.to_string());
        }
        shown.push_str(self.path);
        shown
    }
}

impl fmt::Debug for UrlParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlParts")
            .field("scheme", &self.scheme)
            .field("userinfo", &self.userinfo.map(|_| "***"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path)
            .field("query", &self.query.map(|_| "***"))
            .field("fragment", &self.fragment.map(|_| "***"))
            .finish()
    }
}

/// Why a URL breaks the rule of [`UrlParts`]. The message names the problem and holds none of
/// the URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// What precedes `://` is not a scheme.
    Scheme,
    /// An `@` follows a `/`, `?` or `#`: the host would come from what looks like credentials.
    AtAfterAuthority,
    /// The authority holds more than one `@`.
    SeveralAts,
    /// The credentials hold a character that must be percent-encoded, or a broken `%` escape.
    Userinfo,
    /// No host.
    NoHost,
    /// The host is neither a host name nor a bracketed IPv6 address.
    Host,
    /// The port is not a decimal number from 1 to 65535.
    Port,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Scheme => "what precedes :// is not a URL scheme",
            Self::AtAfterAuthority => {
                "an @ follows a /, ? or #, so the host would be read from inside what looks like \
                 credentials; percent-encode /, ?, # and @ in a password (%2F, %3F, %23, %40) \
                 and @ in a path (%40)"
            }
            Self::SeveralAts => {
                "more than one @ before the host; percent-encode an @ in a user name or \
                 password as %40"
            }
            Self::Userinfo => {
                "the credentials hold a character that must be percent-encoded, or a broken \
                 %-escape"
            }
            Self::NoHost => "it names no host",
            Self::Host => "the host is neither a host name nor a bracketed IPv6 address",
            Self::Port => "the port is not a number from 1 to 65535",
        })
    }
}

impl std::error::Error for UrlError {}

/// RFC 3986: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// RFC 3986 userinfo: unreserved, sub-delims, `:` and well-formed `%XX` escapes.
fn check_userinfo(userinfo: &str) -> std::result::Result<(), UrlError> {
    let bytes = userinfo.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let escape = bytes.get(i + 1..i + 3).ok_or(UrlError::Userinfo)?;
                if !escape.iter().all(u8::is_ascii_hexdigit) {
                    return Err(UrlError::Userinfo);
                }
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:".contains(&b) => i += 1,
            _ => return Err(UrlError::Userinfo),
        }
    }
    Ok(())
}

/// Splits `host[:port]` or `[v6][:port]`, checking both.
fn split_host_port(text: &str) -> std::result::Result<(&str, Option<u16>), UrlError> {
    let (host, port) = if text.starts_with('[') {
        let close = text.find(']').ok_or(UrlError::Host)?;
        if text[1..close].parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UrlError::Host);
        }
        let port = match &text[close + 1..] {
            "" => None,
            after => Some(after.strip_prefix(':').ok_or(UrlError::Host)?),
        };
        (&text[..=close], port)
    } else {
        let (host, port) = match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        };
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            return Err(UrlError::Host);
        }
        (host, port)
    };
    let port = port.map(parse_port).transpose()?;
    Ok((host, port))
}

/// A port: one to five decimal digits, 1 to 65535.
fn parse_port(text: &str) -> std::result::Result<u16, UrlError> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::Port);
    }
    match text.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(UrlError::Port),
    }
}

/// Whether `host` (as a URL writes it, IPv6 in brackets or not) names this machine:
/// `localhost` in any case, an address in `127.0.0.0/8`, or `::1`. Cleartext `http` to such a
/// host needs no opt-in, and cygnet-hyper never sends it through a proxy.
///
/// Names under `.localhost` do not count: most resolvers answer them with loopback, but the
/// system resolver is free to send them anywhere, so they need `https` or
/// [`ClientBuilder::allow_insecure_http`] like any other name.
///
/// ```
/// use cygnet::config::is_loopback_host;
/// assert!(is_loopback_host("localhost") && is_loopback_host("127.0.0.2") && is_loopback_host("[::1]"));
/// assert!(!is_loopback_host("api.localhost") && !is_loopback_host("localhost.example"));
/// ```
pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// What is wrong with the near misses of variable `right` (whose value is `value`), read
/// through `read` (which leaves out empty values), for `what` it sets: see the [module
/// docs](self#near-misses). Names the variables, never shows a value.
fn near_miss(
    read: impl Fn(&str) -> Option<String>,
    right: &str,
    value: Option<&str>,
    misses: &[&str],
    what: &str,
) -> Option<String> {
    let set: Vec<(&str, String)> = misses
        .iter()
        .filter_map(|name| read(name).map(|v| (*name, v)))
        .collect();
    let (names, are) = match value {
        None => (
            set.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            set.len() > 1,
        ),
        Some(value) => {
            let differ: Vec<&str> = set
                .iter()
                .filter(|(_, v)| v.trim() != value.trim())
                .map(|(name, _)| *name)
                .collect();
            let plural = differ.len() > 1;
            (differ, plural)
        }
    };
    if names.is_empty() {
        return None;
    }
    let names = names.join(", ");
    let (is, it) = if are { ("are", "them") } else { ("is", "it") };
    Some(match value {
        None => format!(
            "{names} {is} set, but {what} is read from {right}, which is not: rename {it} to \
             {right}; nothing was sent"
        ),
        Some(_) => format!(
            "{right} and {names} are set to different values, and {what} is read from {right} \
             alone: unset {names}, or give {it} the same value; nothing was sent"
        ),
    })
}

/// A checked base URL: scheme, authority and a path prefix without trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    /// e.g. `https://api.grayswan.ai` or `http://127.0.0.1:8080/v1`.
    prefix: String,
}

impl BaseUrl {
    /// Checks `url` by the rule of [`UrlParts`], then the base URL's own: `https` (or `http`
    /// to a loopback host, or anywhere with `allow_insecure_http`), no credentials, no query,
    /// no fragment. Messages show the URL only as [`UrlParts::redacted`] gives it, and nothing of
    /// it when it does not split.
    pub(crate) fn parse(url: &str, allow_insecure_http: bool) -> Result<Self> {
        let url = url.trim();
        if !url.contains("://") {
            return Err(Error::Config(
                "the base URL has no scheme; use https://host".into(),
            ));
        }
        let parts = UrlParts::parse(url)
            .map_err(|e| Error::Config(format!("the base URL cannot be used: {e}")))?;
        let shown = parts.redacted();
        if parts.userinfo().is_some() {
            return Err(Error::Config(format!(
                "base URL {shown} carries credentials (user:password@); remove them: \
                 the API key is the only credential sent"
            )));
        }
        let scheme = parts.scheme().unwrap_or_default().to_ascii_lowercase();
        let host = parts.host();
        match scheme.as_str() {
            "https" => {}
            "http" if allow_insecure_http || is_loopback_host(host) => {}
            "http" => {
                return Err(Error::Config(format!(
                    "refusing to send the API key in cleartext to {host}: use https, a loopback \
                     host (localhost, 127.0.0.1, [::1]), or ClientBuilder::allow_insecure_http(true)"
                )))
            }
            other => {
                return Err(Error::Config(format!(
                    "base URL scheme {other:?} is not supported; use https"
                )))
            }
        }
        if parts.query().is_some() {
            return Err(Error::Config(format!(
                "base URL {shown} must not have a query (a ?… part); per-request query \
                 parameters go in RequestOptions::query"
            )));
        }
        if parts.fragment().is_some() {
            return Err(Error::Config(format!(
                "base URL {shown} must not have a fragment (a #… part)"
            )));
        }
        let port = parts.port().map(|p| format!(":{p}")).unwrap_or_default();
        let path = parts.path().trim_end_matches('/');
        let prefix = format!("{scheme}://{host}{port}{path}");
        // The transport must accept every URL joined onto the prefix (no spaces or control
        // characters in the path).
        if let Err(e) = format!("{prefix}/").parse::<http::Uri>() {
            return Err(Error::Config(format!(
                "base URL {shown} is not a valid URI: {e}"
            )));
        }
        Ok(Self { prefix })
    }

    /// The URL of `path` (which starts with `/`), with `query` pairs appended.
    pub(crate) fn join(&self, path: &str, query: &[(String, String)]) -> String {
        let mut url = String::with_capacity(self.prefix.len() + path.len() + 16);
        url.push_str(&self.prefix);
        url.push_str(path);
        for (i, (key, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            percent_encode_into(&mut url, key);
            url.push('=');
            percent_encode_into(&mut url, value);
        }
        url
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.prefix
    }
}

/// Percent-encodes a query component: everything but RFC 3986 unreserved characters.
fn percent_encode_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_tolerates_trailing_slashes_and_prefixes() {
        for (input, joined) in [
            (
                "https://api.grayswan.ai",
                "https://api.grayswan.ai/chat/completion",
            ),
            (
                "https://api.grayswan.ai/",
                "https://api.grayswan.ai/chat/completion",
            ),
            (
                "https://proxy.example/v1//",
                "https://proxy.example/v1/chat/completion",
            ),
            (
                "http://127.0.0.1:8080/",
                "http://127.0.0.1:8080/chat/completion",
            ),
            ("http://localhost:1", "http://localhost:1/chat/completion"),
            ("http://[::1]:9/x/", "http://[::1]:9/x/chat/completion"),
        ] {
            let base = BaseUrl::parse(input, false).unwrap();
            assert_eq!(base.join("/chat/completion", &[]), joined, "{input}");
        }
    }

    #[test]
    fn query_pairs_are_encoded() {
        let base = BaseUrl::parse("https://h", false).unwrap();
        let q = vec![
            ("a b".to_string(), "x&y=é".to_string()),
            ("k".into(), "v".into()),
        ];
        assert_eq!(base.join("/m", &q), "https://h/m?a%20b=x%26y%3D%C3%A9&k=v");
    }

    #[test]
    fn bad_base_urls_are_config_errors() {
        for bad in [
            "",
            "api.grayswan.ai",
            "ftp://h",
            "https://user:pw@h",
            "https://h/?q=1",
            "http://example.com",
        ] {
            assert!(
                matches!(BaseUrl::parse(bad, false), Err(Error::Config(_))),
                "{bad}"
            );
        }
        assert!(BaseUrl::parse("http://example.com", true).is_ok());
    }

    #[test]
    fn url_credentials_never_appear_in_errors_or_debug() {
        for bad in [
            "https://user:s3cr3t-pw@h",
            "https://s3cr3t-pw@h/v1",
            "https://user:s3cr3t-pw@h/?q=1",
            "ftp://user:s3cr3t-pw@h",
            "http://user:s3cr3t-pw@example.com",
            "user:s3cr3t-pw@h",
            "https://user:s3cr3t-pw@h:99999999",
        ] {
            let error = BaseUrl::parse(bad, false).unwrap_err().to_string();
            assert!(!error.contains("s3cr3t"), "{bad}: {error}");
            assert!(error.starts_with("configuration error"), "{error}");
        }
        let error = BaseUrl::parse("https://user:s3cr3t-pw@h/v1", false).unwrap_err();
        assert!(error.to_string().contains("https://***@h/v1"), "{error}");
        assert!(error.to_string().contains("credentials"), "{error}");
        let builder = ClientBuilder::new().base_url("https://user:s3cr3t-pw@h");
        let debug = format!("{builder:?}");
        assert!(
            !debug.contains("s3cr3t") && debug.contains("***@h"),
            "{debug}"
        );
    }

    /// The base URL's error for `url`, checked to be a configuration error that does not
    /// contain `secret`.
    fn base_url_error(url: &str, secret: &str) -> String {
        let error = match BaseUrl::parse(url, false) {
            Err(error @ Error::Config(_)) => error.to_string(),
            other => panic!("{url}: {other:?}"),
        };
        assert!(!error.contains(secret), "{url}: {error}");
        error
    }

    #[test]
    fn a_slash_question_mark_or_hash_in_a_password_is_refused_not_read_as_the_host() {
        // `http::Uri` reads each of these with host `user` and the real host in the path; a
        // numeric "password" even makes a valid port.
        for url in [
            "https://user:s3cr3t/pw@api.grayswan.ai",
            "https://user:4433/s3cr3t@api.grayswan.ai",
            "https://user:s3cr3t?pw@api.grayswan.ai",
            "https://user:s3cr3t#pw@api.grayswan.ai/v1",
            "https://s3cr3t/pw@api.grayswan.ai",
            "https://user:s3cr3t@pw@api.grayswan.ai",
            "https://api.grayswan.ai/v1/@s3cr3t",
        ] {
            let error = base_url_error(url, "s3cr3t");
            assert!(error.contains('@'), "{url}: {error}");
        }
        let builder = ClientBuilder::new().base_url("https://user:s3cr3t/pw@h");
        let debug = format!("{builder:?}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("pw@"),
            "{debug}"
        );
    }

    #[test]
    fn a_port_must_be_a_number_from_1_to_65535() {
        for url in [
            "https://api.grayswan.ai:65536",
            "https://api.grayswan.ai:0",
            "https://api.grayswan.ai:",
            "https://api.grayswan.ai:https",
            "https://api.grayswan.ai:+443",
            "https://api.grayswan.ai:443:1",
            "https://[::1]:99999/",
            "http://localhost:8080x",
        ] {
            let error = base_url_error(url, "s3cr3t");
            assert!(error.contains("port"), "{url}: {error}");
        }
        for (url, joined) in [
            ("https://h:65535/", "https://h:65535/m"),
            ("https://h:1", "https://h:1/m"),
            ("HTTPS://H:00443/v1", "https://H:443/v1/m"),
        ] {
            assert_eq!(BaseUrl::parse(url, false).unwrap().join("/m", &[]), joined);
        }
    }

    #[test]
    fn hosts_must_be_names_or_addresses() {
        for url in [
            "https://",
            "https://:443",
            "https://h!x",
            "https://[v1.x]",
            "https://[::1",
        ] {
            base_url_error(url, "s3cr3t");
        }
        let error = base_url_error("https://[fe80::1%25s3cr3t]/", "s3cr3t");
        assert!(error.contains("host"), "{error}");
    }

    #[test]
    fn base_url_errors_never_quote_the_query_or_fragment() {
        let query = base_url_error("https://h/v1?key=sk-test-s3cr3t", "s3cr3t");
        assert!(
            query.contains("query") && query.contains("https://h/v1"),
            "{query}"
        );
        let error = base_url_error("https://h/v1?email=a@b&key=sk-test-s3cr3t", "s3cr3t");
        assert!(error.contains('@'), "{error}");
        // A fragment is refused too, rather than silently dropped.
        let fragment = base_url_error("https://h/v1#sk-test-s3cr3t", "s3cr3t");
        assert!(fragment.contains("fragment"), "{fragment}");
        for url in [
            "https://h/?key=sk-test-s3cr3t",
            "https://h/?e=a@b&key=sk-test-s3cr3t",
        ] {
            let builder = ClientBuilder::new().base_url(url);
            let debug = format!("{builder:?}");
            assert!(!debug.contains("s3cr3t"), "{debug}");
        }
    }

    #[test]
    fn cleartext_is_exempt_only_for_localhost_and_loopback_addresses() {
        for url in [
            "http://localhost:1",
            "http://LocalHost:1/v1",
            "http://127.0.0.1:1",
            "http://127.9.8.7",
            "http://[::1]:1",
        ] {
            assert!(BaseUrl::parse(url, false).is_ok(), "{url}");
        }
        // The system resolver answers names under `.localhost` as it likes, and a trailing dot
        // or a shortened address is another name to it.
        for url in [
            "http://api.localhost:1",
            "http://localhost.:1",
            "http://localhost.example:1",
            "http://127.1:1",
            "http://[::ffff:127.0.0.1]:1",
            "http://0.0.0.0:1",
        ] {
            let error = base_url_error(url, "s3cr3t");
            assert!(error.contains("cleartext"), "{url}: {error}");
            assert!(BaseUrl::parse(url, true).is_ok(), "{url}");
        }
    }

    #[test]
    fn url_parts_split_strictly_and_never_show_credentials_or_query() {
        let parts =
            UrlParts::parse("http://us%3Aer:p%2F%40ss@[::1]:3128/x?key=s3cr3t#s3cr3t").unwrap();
        assert_eq!(parts.scheme(), Some("http"));
        assert_eq!(parts.userinfo(), Some("us%3Aer:p%2F%40ss"));
        assert_eq!((parts.host(), parts.port()), ("[::1]", Some(3128)));
        assert_eq!(parts.path(), "/x");
        assert_eq!(
            (parts.query(), parts.fragment()),
            (Some("key=s3cr3t"), Some("s3cr3t"))
        );
        assert_eq!(parts.redacted(), "http://***@[::1]:3128/x");
        let debug = format!("{parts:?}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("p%2F"),
            "{debug}"
        );

        let bare = UrlParts::parse("proxy.internal:8080").unwrap();
        assert_eq!(
            (bare.scheme(), bare.host(), bare.port()),
            (None, "proxy.internal", Some(8080))
        );
        for (bad, why) in [
            ("user:pa/ss@proxy:3128", UrlError::AtAfterAuthority),
            ("http://u:p@ss@proxy:3128", UrlError::SeveralAts),
            ("http://u:p ss@proxy", UrlError::Userinfo),
            ("http://u:p%2@proxy", UrlError::Userinfo),
            ("http://u:p%zz@proxy", UrlError::Userinfo),
            ("ht tp://proxy", UrlError::Scheme),
            ("http://u@", UrlError::NoHost),
            ("http://exa mple:1", UrlError::Host),
            ("http://proxy:65536", UrlError::Port),
        ] {
            assert_eq!(UrlParts::parse(bad), Err(why), "{bad}");
            assert!(!why.to_string().contains("proxy"));
        }
        assert_eq!(
            redact_url("http://u:s3cr3t/x@proxy:1"),
            format!("<unusable URL: {}>", UrlError::AtAfterAuthority)
        );
    }

    #[test]
    fn api_keys_must_be_visible_ascii_and_errors_do_not_echo_them() {
        for bad in [
            "",
            "   ",
            "sk-fäke-key",
            "sk-fake key",
            "sk-fake-key\n",
            "sk-\u{7f}fake",
        ] {
            let error = check_api_key(bad).unwrap_err().to_string();
            assert!(error.starts_with("configuration error"), "{error}");
            assert!(!error.contains("fake"), "{error}");
        }
        assert!(check_api_key("sk-test-FAKE_key.0123~!").is_ok());
    }

    /// A lookup of `pairs`, as `from_env_with` takes it.
    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    /// A transport that is never asked: configuration fails before anything is sent.
    struct Unused;

    #[crate::transport::async_trait]
    impl Transport for Unused {
        async fn send(
            &self,
            _: http::Request<bytes::Bytes>,
        ) -> std::result::Result<http::Response<crate::Body>, crate::TransportError> {
            unreachable!("nothing is sent when the configuration is wrong")
        }
        fn sleep(&self, _: Duration) -> crate::transport::Sleep {
            Box::pin(std::future::pending())
        }
    }

    /// What `build` says for the environment `pairs`: `Ok` with the base URL, or the error.
    fn built(pairs: &[(&str, &str)]) -> std::result::Result<String, String> {
        ClientBuilder::from_env_with(env(pairs))
            .transport(Unused)
            .into_config()
            .map(|config| config.base.as_str().to_owned())
            .map_err(|error| {
                assert!(matches!(error, Error::Config(_)), "{error:?}");
                error.to_string()
            })
    }

    const KEY: (&str, &str) = (API_KEY_ENV, "sk-test-fake");

    #[test]
    fn a_near_miss_of_the_base_url_is_an_error_naming_the_right_variable() {
        for miss in BASE_URL_NEAR_MISSES {
            let error = built(&[KEY, (miss, "http://localhost:8080")]).unwrap_err();
            assert!(error.contains(&format!("{miss} is set")), "{error}");
            assert!(error.contains("rename it to GRAY_SWAN_BASE_URL"), "{error}");
            assert!(error.contains("nothing was sent"), "{error}");
            assert!(
                !error.contains("localhost") && !error.contains("sk-test-fake"),
                "{error}"
            );
        }
        // LiteLLM's and the one-word spellings together: both named.
        let error = built(&[
            KEY,
            ("GRAYSWAN_API_BASE", "https://a"),
            ("GRAYSWAN_BASE_URL", "https://b"),
        ])
        .unwrap_err();
        assert!(
            error.contains("GRAYSWAN_BASE_URL, GRAYSWAN_API_BASE are set")
                && error.contains("rename them"),
            "{error}"
        );
    }

    #[test]
    fn a_near_miss_of_the_key_is_an_error_naming_the_right_variable_not_the_key() {
        for miss in API_KEY_NEAR_MISSES {
            let error = built(&[(miss, "sk-test-fake")]).unwrap_err();
            assert!(error.contains(&format!("{miss} is set")), "{error}");
            assert!(error.contains("rename it to GRAYSWAN_API_KEY"), "{error}");
            assert!(!error.contains("sk-test-fake"), "{error}");
        }
        let debug = format!(
            "{:?}",
            ClientBuilder::from_env_with(env(&[("GRAY_SWAN_API_KEY", "sk-test-fake")]))
        );
        assert!(
            debug.contains("GRAY_SWAN_API_KEY") && !debug.contains("sk-test-fake"),
            "{debug}"
        );
    }

    #[test]
    fn both_set_the_right_one_wins_if_equal_else_it_is_an_error() {
        let url = (BASE_URL_ENV, "https://staging.example/v1");
        assert_eq!(
            built(&[
                KEY,
                url,
                ("GRAYSWAN_BASE_URL", " https://staging.example/v1 ")
            ]),
            Ok("https://staging.example/v1".to_owned())
        );
        assert_eq!(
            built(&[KEY, ("GRAY_SWAN_API_KEY", "sk-test-fake")]),
            Ok(DEFAULT_BASE_URL.into())
        );

        let error = built(&[KEY, url, ("GRAYSWAN_API_BASE", "https://other.example")]).unwrap_err();
        assert!(
            error.contains("GRAY_SWAN_BASE_URL and GRAYSWAN_API_BASE are set to different values")
                && error.contains("unset GRAYSWAN_API_BASE"),
            "{error}"
        );
        assert!(!error.contains("example"), "{error}");
        let error = built(&[KEY, ("GRAY_SWAN_API_KEY", "sk-test-other")]).unwrap_err();
        assert!(
            error.contains("GRAYSWAN_API_KEY and GRAY_SWAN_API_KEY"),
            "{error}"
        );
        assert!(!error.contains("sk-test"), "{error}");
    }

    #[test]
    fn empty_values_are_unset_and_a_setting_in_code_sets_the_near_miss_aside() {
        assert_eq!(
            built(&[KEY, ("GRAYSWAN_BASE_URL", "  ")]),
            Ok(DEFAULT_BASE_URL.into())
        );
        // An empty right variable with a near miss set is still a near miss.
        assert!(built(&[KEY, (BASE_URL_ENV, ""), ("GRAYSWAN_BASE_URL", "https://x")]).is_err());

        let config = ClientBuilder::from_env_with(env(&[
            ("GRAY_SWAN_API_KEY", "sk-test-fake"),
            ("GRAYSWAN_BASE_URL", "http://localhost:1"),
        ]))
        .api_key("sk-test-code")
        .base_url("https://code.example")
        .transport(Unused)
        .into_config()
        .unwrap();
        assert_eq!(config.base.as_str(), "https://code.example");
        assert_eq!(config.api_key.expose(), "sk-test-code");

        // The key's near miss is reported before its absence.
        let error = built(&[("GRAY_SWAN_API_KEY", "sk-test-fake")]).unwrap_err();
        assert!(!error.contains("no API key"), "{error}");
    }
}
