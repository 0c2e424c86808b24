//! Client configuration: the API key, the base URL, timeouts, retries and limits.
//!
//! Everything here can be read from the environment as the official client does
//! (`GRAYSWAN_API_KEY`, `GRAY_SWAN_BASE_URL`) and overridden in code. A missing key or a bad
//! base URL is reported by [`ClientBuilder::build`], before any request is sent.
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
/// let key = cygnet_core::ApiKey::new("sk-test-fake");
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
/// ```
/// # use std::time::Duration;
/// # struct T; #[cygnet_core::transport::async_trait] impl cygnet_core::Transport for T {
/// #   async fn send(&self, _: http::Request<bytes::Bytes>) -> Result<http::Response<cygnet_core::Body>, cygnet_core::TransportError> { unimplemented!() }
/// #   fn sleep(&self, _: Duration) -> cygnet_core::transport::Sleep { Box::pin(std::future::pending()) } }
/// let client = cygnet_core::Client::builder()
///     .api_key("sk-test-fake")
///     .base_url("https://api.grayswan.ai/")
///     .max_retries(5)
///     .timeout(Duration::from_secs(30))
///     .transport(T)
///     .build()
///     .unwrap();
/// assert!(!format!("{client:?}").contains("sk-test-fake"));
/// ```
#[derive(Clone, Default)]
pub struct ClientBuilder {
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    transport: Option<Arc<dyn Transport>>,
    options: RequestOptions,
    limits: Limits,
    allow_insecure_http: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url.as_deref().map(redact_userinfo))
            .field("transport", &self.transport.as_ref().map(|_| "..."))
            .field("options", &self.options)
            .field("limits", &self.limits)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder with the key from `GRAYSWAN_API_KEY` and the base URL from
    /// `GRAY_SWAN_BASE_URL`, where they are set and not empty.
    pub fn from_env() -> Self {
        let mut builder = Self::new();
        if let Some(key) = env_var(API_KEY_ENV) {
            builder = builder.api_key(key);
        }
        if let Some(url) = env_var(BASE_URL_ENV) {
            builder = builder.base_url(url);
        }
        builder
    }

    /// Sets the API key.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// Sets the base URL; a trailing slash and a path prefix (`https://proxy/v1/`) are fine.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
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

    /// Retries after the first attempt (default 2; 0 disables).
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.options.max_retries = Some(retries);
        self
    }

    /// Time allowed for one attempt of a non-streaming request (default 60 s), and for a
    /// stream's response headers unless [`ClientBuilder::stream_headers_timeout`] is set.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// Time allowed to open a connection; enforced by the transport, which otherwise uses
    /// its own default (5 s for cygnet-hyper's, or what its builder sets).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout = Some(timeout);
        self
    }

    /// Time allowed for a stream's response headers (default: the request timeout).
    #[must_use]
    pub fn stream_headers_timeout(mut self, timeout: Duration) -> Self {
        self.options.stream_headers_timeout = Some(timeout);
        self
    }

    /// Time a stream may stay silent between two reads (default 60 s).
    #[must_use]
    pub fn stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.options.stream_idle_timeout = Some(timeout);
        self
    }

    /// Time a whole stream may take, from sending the request (re-sends included) to its
    /// last event; none by default. Where the idle timeout stops a server that goes quiet,
    /// this stops one that drips forever. The chunks that arrived in time stay delivered;
    /// then the stream ends with [`TimeoutKind::StreamTotal`](crate::TimeoutKind::StreamTotal).
    #[must_use]
    pub fn stream_total_timeout(mut self, timeout: Duration) -> Self {
        self.options.stream_total_timeout = Some(timeout);
        self
    }

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
    /// (`localhost`, `127.0.0.0/8`, `[::1]`) are always allowed, for tests and local proxies.
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Checks the configuration (see [`ClientBuilder::build`]).
    pub(crate) fn into_config(self) -> Result<ClientConfig> {
        let api_key = self.api_key.ok_or_else(|| {
            Error::Config(format!(
                "no API key: set the {API_KEY_ENV} environment variable or call ClientBuilder::api_key"
            ))
        })?;
        check_api_key(api_key.expose())?;
        let transport = self.transport.ok_or_else(|| {
            Error::Config(
                "no transport: use cygnet-hyper (the `cygnet` crate's default) or ClientBuilder::transport".into(),
            )
        })?;
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

/// `url` with everything between `scheme://` and the last `@` replaced by `***`, for messages
/// and `Debug` output: the credentials of `user:password@host` whatever characters the
/// password holds (a `/` or `?` in it would end the authority for a URL parser, so looking for
/// the `@` only inside the authority would print the rest of the password). Text without an
/// `@` comes back as it is; a path or query with an `@` is over-redacted, which is harmless.
///
/// ```
/// use cygnet_core::config::redact_userinfo;
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

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A checked base URL: scheme, authority and a path prefix without trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    /// e.g. `https://api.grayswan.ai` or `http://127.0.0.1:8080/v1`.
    prefix: String,
}

impl BaseUrl {
    pub(crate) fn parse(url: &str, allow_insecure_http: bool) -> Result<Self> {
        let url = url.trim();
        // Every message shows the URL without its credentials.
        let trimmed = redact_userinfo(url);
        let uri: http::Uri = url
            .parse()
            .map_err(|e| Error::Config(format!("invalid base URL {trimmed:?}: {e}")))?;
        let scheme = uri.scheme_str().ok_or_else(|| {
            Error::Config(format!(
                "base URL {trimmed:?} has no scheme; use https://host"
            ))
        })?;
        let authority = uri
            .authority()
            .ok_or_else(|| Error::Config(format!("base URL {trimmed:?} has no host")))?;
        if authority.as_str().contains('@') {
            return Err(Error::Config(format!(
                "base URL {trimmed:?} carries credentials (user:password@); remove them: \
                 the API key is the only credential sent"
            )));
        }
        match scheme {
            "https" => {}
            "http" if allow_insecure_http || is_loopback(authority.host()) => {}
            "http" => {
                return Err(Error::Config(format!(
                    "refusing to send the API key in cleartext to {}: use https, a loopback host, \
                     or ClientBuilder::allow_insecure_http(true)",
                    authority.host()
                )))
            }
            other => {
                return Err(Error::Config(format!(
                    "base URL scheme {other:?} is not supported; use https"
                )))
            }
        }
        if uri.query().is_some() {
            return Err(Error::Config(format!(
                "base URL {trimmed:?} must not have a query"
            )));
        }
        let path = uri.path().trim_end_matches('/');
        Ok(Self {
            prefix: format!("{scheme}://{authority}{path}"),
        })
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

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
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
}
