//! HTTP proxies: which requests go through one, and the connector that reaches them.
//!
//! # Which proxy
//! By default the transport reads the environment the way curl and reqwest do:
//! `HTTPS_PROXY` for `https` URLs, `HTTP_PROXY` for `http` URLs, `ALL_PROXY` for both when the
//! specific one is unset, each also in lower case (the upper-case form wins), and `NO_PROXY`
//! (comma-separated host names, which also match their subdomains, `.suffix` forms, IP
//! addresses, CIDR ranges, and `*` for everything). When `REQUEST_METHOD` is set (a CGI
//! program), upper-case `HTTP_PROXY` is ignored, as curl does: a client's `Proxy:` header
//! would arrive there. hyper-util's proxy matcher applies the `NO_PROXY` rules.
//! [`HyperTransportBuilder::proxy`](crate::HyperTransportBuilder::proxy) and
//! [`HyperTransportBuilder::no_proxy`](crate::HyperTransportBuilder::no_proxy) replace the
//! environment.
//!
//! A plain `http` request to a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`: core's
//! [`is_loopback_host`]) never goes through a proxy, whatever the settings say: core lets the
//! key travel in cleartext there only because it stays on the machine. An `https` request to
//! a loopback host follows the settings like any other (the tunnel is encrypted end to end).
//!
//! Only `http://` proxies (or a bare `host:port`) are supported. Proxy URLs are split by core's
//! [`UrlParts`], the rule the base URL follows too: the port is a number from 1 to 65535, an
//! `@` after a `/`, `?` or `#` is refused (a password holding one of those must be
//! percent-encoded), and percent-encoded credentials are decoded. A proxy setting that cannot
//! be used (another scheme, a value that rule refuses) fails every request it would apply to
//! with a [`TransportErrorKind::Proxy`](cygnet_core::TransportErrorKind::Proxy) error, instead of
//! silently connecting directly or to another host.
//!
//! # How
//! An `https` request opens a TCP connection to the proxy and asks for a tunnel with
//! `CONNECT host:port`; TLS then runs end to end with the API through the tunnel, so the proxy
//! sees neither the API key nor the traffic. An `http` request is sent to the proxy in
//! absolute form. Credentials in the proxy URL (`http://user:password@proxy:3128`) become a
//! `Proxy-Authorization: Basic` header: on the `CONNECT` for `https`, on the request itself
//! for `http`.
//!
//! The `CONNECT` exchange is written here rather than taken from hyper-util's `Tunnel`
//! connector because that one reports every refusal other than 407 as "unsuccessful",
//! without the proxy's status, through an error type that cannot be named; a user behind a
//! proxy that answers 403 needs to see the 403.
//!
//! # Errors and secrets
//! A proxy that answers `CONNECT` with anything but 2xx fails the request with
//! [`TransportErrorKind::Proxy`](cygnet_core::TransportErrorKind::Proxy), not retried; a
//! proxy that cannot be reached fails it with
//! [`TransportErrorKind::Connect`](cygnet_core::TransportErrorKind::Connect), retried like any
//! connect failure. Both messages name the proxy as `scheme://host:port`: the credentials of
//! a proxy URL never appear in errors or in `Debug` output, and the header made from them is
//! marked sensitive.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use cygnet_core::config::{is_loopback_host, UrlParts};
use http::HeaderValue;
use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The largest `CONNECT` response head read from a proxy.
const MAX_CONNECT_RESPONSE: usize = 8 * 1024;

/// Where the builder takes its proxies from.
#[derive(Clone, Default)]
pub(crate) enum ProxyChoice {
    /// The environment variables, read when the transport is built.
    #[default]
    Environment,
    /// No proxy at all.
    Direct,
    /// One proxy for `http` and `https`, except for the hosts of a `NO_PROXY`-style list.
    Explicit { url: String, bypass: String },
}

impl fmt::Debug for ProxyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => f.write_str("Environment"),
            Self::Direct => f.write_str("Direct"),
            Self::Explicit { url, bypass } => f
                .debug_struct("Explicit")
                .field("url", &redacted(url))
                .field("bypass", bypass)
                .finish(),
        }
    }
}

impl ProxyChoice {
    /// The proxies this choice stands for; the environment is read through `lookup`.
    pub(crate) fn resolve(&self, lookup: impl Fn(&str) -> Option<String>) -> Proxies {
        match self {
            Self::Environment => Proxies::from_lookup(lookup),
            Self::Direct => Proxies::direct(),
            Self::Explicit { url, bypass } => Proxies {
                http: Some(Setting::parse("the configured proxy", url)),
                https: Some(Setting::parse("the configured proxy", url)),
                bypass: bypass_matcher(bypass),
            },
        }
    }

    /// Checks an explicit proxy URL up front, for the builder's `build`.
    pub(crate) fn check(&self) -> Result<(), String> {
        match self {
            Self::Explicit { url, .. } => match Setting::parse("the configured proxy", url) {
                Setting::Invalid(message) => Err(message),
                Setting::Proxy(_) => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// The proxies of one transport, resolved when it is built.
pub(crate) struct Proxies {
    http: Option<Setting>,
    https: Option<Setting>,
    /// Knows only the `NO_PROXY` rules: it intercepts every destination they do not exclude.
    bypass: Matcher,
}

impl fmt::Debug for Proxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxies")
            .field("http", &self.http)
            .field("https", &self.https)
            .finish_non_exhaustive()
    }
}

impl Proxies {
    /// No proxy.
    pub(crate) fn direct() -> Self {
        Self {
            http: None,
            https: None,
            bypass: bypass_matcher(""),
        }
    }

    /// Proxies from environment variables, read through `lookup` (`std::env::var` in use,
    /// a map in tests). Upper case wins over lower case; empty values count as unset.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|name| {
                lookup(name)
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| (*name, value))
            })
        };
        let cgi = lookup("REQUEST_METHOD").is_some();
        let all = first(&["ALL_PROXY", "all_proxy"]);
        let http = if cgi {
            first(&["http_proxy"])
        } else {
            first(&["HTTP_PROXY", "http_proxy"])
        }
        .or_else(|| all.clone());
        let https = first(&["HTTPS_PROXY", "https_proxy"]).or(all);
        let no = first(&["NO_PROXY", "no_proxy"]).map_or(String::new(), |(_, value)| value);
        Self {
            http: http.map(|(name, value)| Setting::parse(name, &value)),
            https: https.map(|(name, value)| Setting::parse(name, &value)),
            bypass: bypass_matcher(&no),
        }
    }

    /// Whether any request may go through a proxy.
    #[cfg(test)]
    fn any(&self) -> bool {
        self.http.is_some() || self.https.is_some()
    }

    /// The proxy for `dst`, `None` to connect directly, or why the setting cannot be used.
    pub(crate) fn route(&self, dst: &Uri) -> Option<Result<&ProxyTarget, ProxyError>> {
        let setting = match dst.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => self.https.as_ref()?,
            // Core allows cleartext to a loopback host because it stays on the machine; through
            // a proxy the key would leave it in clear.
            Some(s) if s.eq_ignore_ascii_case("http") && is_loopback_host(dst.host()?) => {
                return None
            }
            Some(s) if s.eq_ignore_ascii_case("http") => self.http.as_ref()?,
            _ => return None,
        };
        // The bypass matcher proxies every host `NO_PROXY` does not name; it only knows
        // lower-case `http`/`https` schemes, so ask it with a normalised URI.
        let probe = Uri::builder()
            .scheme("http")
            .authority(dst.authority()?.as_str())
            .path_and_query("/")
            .build()
            .ok()?;
        self.bypass.intercept(&probe)?;
        Some(match setting {
            Setting::Proxy(target) => Ok(target),
            Setting::Invalid(message) => Err(ProxyError::Unusable(message.clone())),
        })
    }

    /// The proxy a plain `http` request to `dst` is sent to, if any.
    pub(crate) fn plain_http_route(&self, dst: &Uri) -> Option<&ProxyTarget> {
        if dst.scheme() != Some(&http::uri::Scheme::HTTP) {
            return None;
        }
        self.route(dst)?.ok()
    }
}

/// A matcher that intercepts every destination except those `no_proxy` names.
fn bypass_matcher(no_proxy: &str) -> Matcher {
    Matcher::builder()
        .all("http://proxy.invalid:1")
        .no(no_proxy)
        .build()
}

/// One proxy setting: usable, or why not.
#[derive(Debug)]
enum Setting {
    Proxy(ProxyTarget),
    Invalid(String),
}

impl Setting {
    /// Parses a proxy URL from `source` (an environment variable's name, or a description)
    /// by core's URL rule, the base URL's: a URL that rule refuses (a bad port, an `@` that
    /// makes the host ambiguous) is unusable, and its message shows none of the value.
    fn parse(source: &str, value: &str) -> Self {
        let parts = match UrlParts::parse(value.trim()) {
            Ok(parts) => parts,
            Err(e) => return Self::Invalid(format!("{source} is not a proxy URL: {e}")),
        };
        let shown = parts.redacted();
        if let Some(scheme) = parts.scheme() {
            if !scheme.eq_ignore_ascii_case("http") {
                return Self::Invalid(format!(
                    "{source} names a {scheme}:// proxy ({shown}); only http:// proxies are \
                     supported"
                ));
            }
        }
        let name = format!("http://{}:{}", parts.host(), parts.port().unwrap_or(80));
        let uri = match name.parse::<Uri>() {
            Ok(uri) => uri,
            Err(e) => return Self::Invalid(format!("{source} is not a proxy URL ({shown}): {e}")),
        };
        let authorization = match parts.userinfo().map(basic_authorization).transpose() {
            Ok(authorization) => authorization,
            Err(e) => return Self::Invalid(format!("{source}'s credentials cannot be sent: {e}")),
        };
        Self::Proxy(ProxyTarget {
            name,
            uri,
            authorization,
        })
    }
}

/// A proxy to connect through.
pub(crate) struct ProxyTarget {
    /// `http://host:port`, never with credentials: what errors and `Debug` show.
    name: String,
    /// Where to connect, without credentials.
    uri: Uri,
    /// `Basic …` from the URL's credentials, marked sensitive.
    authorization: Option<HeaderValue>,
}

impl fmt::Debug for ProxyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyTarget")
            .field("proxy", &self.name)
            .field("credentials", &self.authorization.is_some())
            .finish()
    }
}

impl ProxyTarget {
    /// The `Proxy-Authorization` value made from the URL's credentials (marked sensitive).
    pub(crate) fn authorization(&self) -> Option<HeaderValue> {
        self.authorization.clone()
    }

    /// Checks a proxy's answer to a plain `http` request: 407 can only be the proxy's (an API
    /// does not ask for proxy credentials), so it is this proxy refusing, not an API error.
    pub(crate) fn check_plain_answer(
        &self,
        method: &http::Method,
        uri: &Uri,
        status: http::StatusCode,
    ) -> Result<(), ProxyError> {
        if status != http::StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            return Ok(());
        }
        Err(ProxyError::Refused {
            proxy: self.name.clone(),
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or_default().to_owned(),
            request: format!("{method} {uri}"),
        })
    }
}

/// `Proxy-Authorization: Basic` from a URL's `user[:password]`, each percent-decoded to the
/// bytes it stands for; marked sensitive.
fn basic_authorization(userinfo: &str) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
    use base64::Engine as _;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let mut credentials: Vec<u8> = percent_decode_str(user).collect();
    credentials.push(b':');
    credentials.extend(percent_decode_str(password));
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    let mut value = HeaderValue::try_from(format!("Basic {encoded}"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// `url` as messages and `Debug` output show it (core's rule, so both crates redact alike):
/// credentials as `***`, no query, nothing of a URL that does not parse.
fn redacted(url: &str) -> String {
    cygnet_core::config::redact_url(url)
}

/// Why a request could not go through its proxy.
#[derive(Debug)]
pub(crate) enum ProxyError {
    /// The proxy setting cannot be used.
    Unusable(String),
    /// No connection to the proxy could be opened.
    Unreachable { proxy: String, cause: String },
    /// The proxy answered `CONNECT` with a status other than 2xx, or a plain `http` request
    /// with 407.
    Refused {
        proxy: String,
        status: u16,
        reason: String,
        /// `CONNECT host:port`, or the method and URL of a plain `http` request.
        request: String,
    },
    /// The proxy broke the `CONNECT` exchange (closed, sent something that is not HTTP).
    Handshake { proxy: String, what: String },
}

impl ProxyError {
    /// Whether the failure is one of reaching the proxy (retried) rather than its refusal.
    pub(crate) fn is_connect(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Handshake { .. })
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unusable(message) => f.write_str(message),
            Self::Unreachable { proxy, cause } => {
                write!(f, "could not connect to the proxy {proxy}: {cause}")
            }
            Self::Refused {
                proxy,
                status,
                reason,
                request,
            } => {
                write!(
                    f,
                    "the proxy {proxy} answered {status} {reason} to {request}"
                )?;
                if *status == 407 {
                    f.write_str(
                        " (it wants credentials: put them in the proxy URL, \
                         http://user:password@host:port)",
                    )?;
                }
                Ok(())
            }
            Self::Handshake { proxy, what } => {
                write!(f, "the proxy {proxy} broke the CONNECT exchange: {what}")
            }
        }
    }
}

// No `source`: the message already carries the cause, and reports that walk the chain would
// print it twice.
impl StdError for ProxyError {}

/// The plain (TCP) connector under TLS: straight to the destination, or through its proxy.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    http: HttpConnector,
    proxies: Arc<Proxies>,
}

impl ProxyConnector {
    pub(crate) fn new(http: HttpConnector, proxies: Arc<Proxies>) -> Self {
        Self { http, proxies }
    }
}

/// A TCP connection, maybe to a proxy: for plain `http` through a proxy, hyper must send
/// requests in absolute form, which [`Connection::connected`] tells it.
pub(crate) struct ProxyStream {
    io: TokioIo<TcpStream>,
    via_http_proxy: bool,
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.via_http_proxy)
    }
}

impl hyper::rt::Read for ProxyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for ProxyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut http = self.http.clone();
        let proxies = Arc::clone(&self.proxies);
        Box::pin(async move {
            let target = match proxies.route(&dst) {
                None => {
                    let io = http.call(dst).await?;
                    return Ok(ProxyStream {
                        io,
                        via_http_proxy: false,
                    });
                }
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(target)) => target,
            };
            let io =
                http.call(target.uri.clone())
                    .await
                    .map_err(|source| ProxyError::Unreachable {
                        proxy: target.name.clone(),
                        cause: chain_message(&*BoxError::from(source)),
                    })?;
            if dst.scheme() == Some(&http::uri::Scheme::HTTPS) {
                let tcp = connect_tunnel(io.into_inner(), target, &dst).await?;
                Ok(ProxyStream {
                    io: TokioIo::new(tcp),
                    via_http_proxy: false,
                })
            } else {
                Ok(ProxyStream {
                    io,
                    via_http_proxy: true,
                })
            }
        })
    }
}

/// An error and its causes on one line ("tcp connect error: Connection refused").
fn chain_message(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Asks the proxy on `tcp` for a tunnel to `dst` and reads its answer.
async fn connect_tunnel(
    mut tcp: TcpStream,
    target: &ProxyTarget,
    dst: &Uri,
) -> Result<TcpStream, ProxyError> {
    let handshake = |what: String| ProxyError::Handshake {
        proxy: target.name.clone(),
        what,
    };
    let host = dst
        .host()
        .ok_or_else(|| handshake("the destination has no host".into()))?;
    let port = dst.port_u16().unwrap_or(443);
    let destination = format!("{host}:{port}");
    let mut head =
        format!("CONNECT {destination} HTTP/1.1\r\nHost: {destination}\r\n").into_bytes();
    if let Some(authorization) = &target.authorization {
        head.extend_from_slice(b"Proxy-Authorization: ");
        head.extend_from_slice(authorization.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    tcp.write_all(&head)
        .await
        .map_err(|e| handshake(format!("sending CONNECT failed: {e}")))?;

    // Read exactly the response head: the TLS client speaks first, so nothing follows it
    // until then, but reading past it would swallow the start of the tunnel.
    let mut buf = Vec::with_capacity(512);
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() >= MAX_CONNECT_RESPONSE {
            return Err(handshake(format!(
                "its answer's head is longer than {MAX_CONNECT_RESPONSE} bytes"
            )));
        }
        let n = tcp
            .read(&mut byte)
            .await
            .map_err(|e| handshake(format!("reading its answer failed: {e}")))?;
        if n == 0 {
            return Err(handshake(if buf.is_empty() {
                "it closed the connection without answering".into()
            } else {
                "it closed the connection in the middle of its answer".into()
            }));
        }
        buf.push(byte[0]);
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&buf) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(handshake("its answer is not an HTTP response".into())),
    }
    let status = response.code.unwrap_or_default();
    if (200..300).contains(&status) {
        return Ok(tcp);
    }
    Err(ProxyError::Refused {
        proxy: target.name.clone(),
        status,
        reason: response.reason.unwrap_or_default().to_owned(),
        request: format!("CONNECT {destination}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Proxies {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Proxies::from_lookup(|name| map.get(name).cloned())
    }

    fn proxy_for(proxies: &Proxies, url: &str) -> Option<String> {
        proxies
            .route(&url.parse().unwrap())
            .map(|r| r.map(|t| t.name.clone()).unwrap_or_else(|e| e.to_string()))
    }

    /// Asserts, for each `(url, proxy)`, that with the variables `vars` set `url` goes
    /// through `proxy` (by name), or directly when it is `None`.
    fn assert_routes(vars: &[(&str, &str)], routes: &[(&str, Option<&str>)]) {
        let proxies = env(vars);
        for &(url, proxy) in routes {
            let route = proxy_for(&proxies, url);
            assert_eq!(route.as_deref(), proxy, "{url} with {vars:?}");
        }
    }

    #[test]
    fn https_proxy_applies_to_https_and_http_proxy_to_http() {
        let (secure, plain) = ("http://secure.proxy:3128", "http://plain.proxy:8080");
        let vars = [("HTTPS_PROXY", secure), ("HTTP_PROXY", "plain.proxy:8080")];
        let routes = [
            ("https://api.grayswan.ai/", Some(secure)),
            ("http://api.grayswan.ai/", Some(plain)),
        ];
        assert_routes(&vars, &routes);
    }

    #[test]
    fn all_proxy_fills_in_and_lower_case_is_read_upper_case_wins() {
        let (all, lower, upper) = ("http://all:1", "http://lower:2", "http://upper:1");
        let vars = [("all_proxy", all), ("https_proxy", lower)];
        assert_routes(
            &vars,
            &[("https://a.b/", Some(lower)), ("http://a.b/", Some(all))],
        );
        let vars = [("HTTPS_PROXY", upper), ("https_proxy", lower)];
        assert_routes(&vars, &[("https://a.b/", Some(upper))]);
        assert!(env(&[]).route(&"https://a.b/".parse().unwrap()).is_none());
        assert!(!env(&[("HTTPS_PROXY", "  ")]).any());
    }

    #[test]
    fn no_proxy_matches_hosts_suffixes_ips_cidr_and_star() {
        let p = env(&[
            ("HTTPS_PROXY", "http://proxy:3128"),
            (
                "NO_PROXY",
                "internal.example, .corp.test,10.1.2.3, 192.168.0.0/16, ::1",
            ),
        ]);
        for direct in [
            "https://internal.example/",
            "https://api.internal.example/",
            "https://x.corp.test:8443/",
            "https://10.1.2.3/",
            "https://192.168.44.5/",
            "https://[::1]:8443/",
        ] {
            assert_eq!(proxy_for(&p, direct), None, "{direct}");
        }
        for proxied in [
            "https://notinternal.example/",
            "https://10.1.2.4/",
            "https://api.grayswan.ai/",
        ] {
            assert!(proxy_for(&p, proxied).is_some(), "{proxied}");
        }
        let p = env(&[("HTTPS_PROXY", "http://proxy:3128"), ("no_proxy", "*")]);
        assert_eq!(proxy_for(&p, "https://api.grayswan.ai/"), None);
    }

    #[test]
    fn cgi_programs_ignore_upper_case_http_proxy() {
        let p = env(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1")]);
        assert_eq!(proxy_for(&p, "http://a.b/"), None);
    }

    #[test]
    fn unusable_settings_fail_instead_of_connecting_directly() {
        let p = env(&[("HTTPS_PROXY", "socks5://user:hunter2@proxy:1080")]);
        let message = proxy_for(&p, "https://a.b/").unwrap();
        assert!(message.contains("HTTPS_PROXY"), "{message}");
        assert!(message.contains("socks5"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let p = env(&[("HTTPS_PROXY", "http://exa mple:1")]);
        assert!(proxy_for(&p, "https://a.b/")
            .unwrap()
            .contains("not a proxy URL"));
    }

    #[test]
    fn credentials_become_basic_auth_and_never_show() {
        let p = env(&[
            ("HTTP_PROXY", "http://user:p%40ss-hunter2@proxy:3128"),
            ("HTTPS_PROXY", "http://user:p%40ss-hunter2@proxy:3128"),
        ]);
        let auth = p
            .plain_http_route(&"http://a.b/".parse().unwrap())
            .and_then(ProxyTarget::authorization)
            .unwrap();
        // base64("user:p@ss-hunter2")
        assert_eq!(auth, "Basic dXNlcjpwQHNzLWh1bnRlcjI=");
        assert!(auth.is_sensitive());
        assert!(p
            .plain_http_route(&"https://a.b/".parse().unwrap())
            .is_none());
        let debug = format!("{p:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("dXNlcj"),
            "{debug}"
        );
        assert!(debug.contains("http://proxy:3128"), "{debug}");
        let choice = ProxyChoice::Explicit {
            url: "http://user:hunter2@proxy:3128".into(),
            bypass: String::new(),
        };
        assert!(!format!("{choice:?}").contains("hunter2"));
    }

    #[test]
    fn ambiguous_credentials_or_bad_ports_fail_the_requests_instead_of_picking_another_proxy() {
        // `http::Uri` reads the first four with host `user` (port 80, or 3128 for the second)
        // and the bad ports as no port at all (80).
        for value in [
            "http://user:hunt/er2@proxy:3128",
            "http://user:3128/hunter2@proxy:3128",
            "user:hunt?er2@proxy:3128",
            "http://user:hunt#er2@proxy:3128",
            "http://user:p@hunter2@proxy:3128",
            "http://proxy:65536",
            "http://proxy:0",
            "http://proxy:",
            "http://proxy:+3128",
        ] {
            for (var, url) in [
                ("HTTPS_PROXY", "https://a.b/"),
                ("HTTP_PROXY", "http://a.b/"),
            ] {
                let p = env(&[(var, value)]);
                let route = p.route(&url.parse().unwrap()).expect("the setting applies");
                let message = route.map(|t| t.name.clone()).expect_err(value).to_string();
                assert!(message.contains(var), "{message}");
                assert!(message.contains("not a proxy URL"), "{message}");
                assert!(!message.contains("hunt"), "{message}");
                assert!(!format!("{p:?}").contains("hunt"));
            }
            let choice = ProxyChoice::Explicit {
                url: value.into(),
                bypass: String::new(),
            };
            let message = choice.check().expect_err(value);
            assert!(!message.contains("hunt"), "{message}");
            assert!(!format!("{choice:?}").contains("hunt"));
        }
    }

    #[test]
    fn percent_encoded_credentials_are_decoded_to_their_bytes() {
        for (value, basic) in [
            (
                "http://user:hunt%2Fer2@proxy:3128",
                "Basic dXNlcjpodW50L2VyMg==",
            ),
            ("http://user@proxy:3128", "Basic dXNlcjo="),
            ("us%3Aer:p%FF@proxy:3128", "Basic dXM6ZXI6cP8="),
        ] {
            let p = env(&[("HTTP_PROXY", value)]);
            let target = p.plain_http_route(&"http://a.b/".parse().unwrap()).unwrap();
            assert_eq!(target.name, "http://proxy:3128");
            assert_eq!(target.authorization().unwrap(), basic, "{value}");
        }
    }

    #[test]
    fn plain_http_to_loopback_never_goes_through_a_proxy() {
        let proxy = "http://proxy:3128";
        let routes = [
            ("http://localhost:8080/", None),
            ("http://LocalHost/", None),
            ("http://127.0.0.1:8080/", None),
            ("http://127.3.2.1/", None),
            ("http://[::1]:8080/", None),
            // Encrypted end to end: as configured.
            ("https://localhost:8443/", Some(proxy)),
            ("https://127.0.0.1:8443/", Some(proxy)),
            // Not loopback by the rule core's cleartext exemption uses.
            ("http://api.localhost/", Some(proxy)),
            ("http://api.grayswan.ai/", Some(proxy)),
        ];
        assert_routes(&[("HTTP_PROXY", proxy), ("HTTPS_PROXY", proxy)], &routes);
        assert_routes(&[("ALL_PROXY", proxy)], &routes);
        assert_routes(&[("http_proxy", proxy), ("https_proxy", proxy)], &routes);
        let explicit = ProxyChoice::Explicit {
            url: proxy.into(),
            bypass: String::new(),
        }
        .resolve(|_| None);
        for &(url, expected) in &routes {
            assert_eq!(proxy_for(&explicit, url).as_deref(), expected, "{url}");
        }
        // An unusable setting does not apply to them either.
        let p = env(&[("HTTP_PROXY", "socks5://proxy:1080")]);
        assert_eq!(proxy_for(&p, "http://localhost:1/"), None);
        assert!(p
            .plain_http_route(&"http://127.0.0.1:1/".parse().unwrap())
            .is_none());
    }

    #[test]
    fn redaction_keeps_scheme_host_and_port() {
        assert_eq!(redacted("http://u:p@h:1/x"), "http://***@h:1/x");
        assert_eq!(redacted("u:p@h:1"), "***@h:1");
        assert_eq!(redacted("http://h:1"), "http://h:1");
    }
}
