//! [`HyperTransport`]: core's [`Transport`] over hyper, rustls and tokio.
//!
//! # What it is made of
//! - hyper-util's pooled "legacy" client, so connections are kept alive and reused across
//!   requests (HTTP/1.1), or multiplexed (HTTP/2, negotiated with ALPN when the `http2`
//!   feature is on, which it is by default).
//! - hyper-rustls's connector with a rustls configuration on the `ring` provider. Certificates
//!   are verified by default against the roots the cargo features choose: the bundled Mozilla
//!   roots (`webpki-roots`, default) and/or the platform's store (`native-roots`, opt-in; both
//!   together trust the union), or the OS verifier (`platform-verifier`), plus the
//!   certificates `SSL_CERT_FILE`/`SSL_CERT_DIR` name and any added with
//!   [`HyperTransportBuilder::add_root_certificates_pem`]; see [`crate::tls`].
//!   [`HyperTransportBuilder::root_certificates`] and [`HyperTransportBuilder::tls_config`]
//!   replace them.
//! - Proxies from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, or set on the
//!   builder: see [`crate::proxy`].
//! - Plain `http://` is allowed here: whether cleartext is acceptable for a given host is core's
//!   policy, decided before a request reaches the transport.
//!
//! # Connect timeout
//! A request without a [`ConnectTimeout`] extension (core sets one only when the client or
//! the call configures a connect timeout) uses [`HyperTransportBuilder::connect_timeout`],
//! 5 s by default as the contract says. hyper-util opens connections through one connector
//! per client, and a connector sees only the URI, never the request, so it cannot read a
//! per-request value. The transport therefore keeps one pooled client per distinct connect
//! timeout it is asked for, each with a connector that wraps the whole connection setup (DNS,
//! TCP *and* the TLS handshake, which hyper's own `HttpConnector` timeout does not cover) in a
//! tokio timeout and fails with [`TransportErrorKind::Timeout`]. The default timeout's client
//! is used directly, with no lock and no clone, so the common call pays nothing for this; an
//! override opens a second pool. At most [`MAX_POOLS`] pools are kept in all; past that,
//! requests with yet another value use the default timeout rather than growing without
//! bound.
//!
//! # Errors
//! Failures map onto [`TransportErrorKind`] so core can decide on retries: refused
//! connections, DNS failures and other TLS handshake failures are
//! [`Connect`](TransportErrorKind::Connect); a server certificate rustls refuses (untrusted
//! issuer, wrong name, expired, malformed) is [`Certificate`](TransportErrorKind::Certificate),
//! which is not retried, since the same server presents the same certificate again; an
//! expired connect timeout is [`Timeout`](TransportErrorKind::Timeout); a connection reset or
//! closed in the middle of a message is [`Io`](TransportErrorKind::Io); a URI without a host
//! or with a scheme other than `http`/`https` is [`Request`](TransportErrorKind::Request) and
//! never reaches the network, and so is one whose port is not a number from 1 to 65535 (by
//! core's [`UrlParts`](cygnet_core::config::UrlParts) rule), which `http::Uri` would let
//! through as no port at all; a response hyper cannot parse is
//! [`Other`](TransportErrorKind::Other); a proxy that refuses the request (or a proxy setting
//! that cannot be used) is
//! [`Proxy`](TransportErrorKind::Proxy), while a proxy that cannot be reached is
//! [`Connect`](TransportErrorKind::Connect).
//!
//! # Bodies
//! The response body is hyper's `Incoming`, adapted without copying: each data frame's
//! `Bytes` is handed on as it arrives and trailers are skipped. Dropping the [`Body`] drops
//! the `Incoming`, which makes hyper close the connection instead of returning it to the pool
//! (it cannot be reused with an unread body), so the server sees the stream end.
//!
//! # Redirects
//! hyper does not follow redirects and neither does this transport: a 3xx answer is handed to
//! core as it is. The `Authorization` header therefore never travels to another origin.
//!
//! # Runtime
//! The transport must be used from within a tokio runtime with the time and I/O drivers
//! enabled (the pool's connection tasks are spawned on it). The blocking client in
//! [`crate::blocking`] brings its own.
#![cfg_attr(
    not(feature = "blocking"),
    doc = "",
    doc = "[`crate::blocking`]: https://docs.rs/cygnet-hyper/latest/cygnet_hyper/blocking/index.html"
)]

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use cygnet_core::transport::{async_trait, ConnectTimeout, Sleep};
use cygnet_core::{Body, Transport, TransportError, TransportErrorKind};
use futures_core::Stream;
use http_body::Body as _;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::Uri;
use hyper_rustls::MaybeHttpsStream;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::{ClientConfig, RootCertStore};

use crate::lazy_tls::{Connector, Https, LazyTls};

use crate::proxy::{Proxies, ProxyChoice, ProxyConnector, ProxyError, ProxyStream};
use crate::tls::{PemSource, TlsChoice};

/// How many pools, one per distinct connect timeout, a transport keeps at most.
pub const MAX_POOLS: usize = 4;

/// The connect timeout used for requests that carry no [`ConnectTimeout`]: core's, the
/// contract's.
pub use cygnet_core::config::DEFAULT_CONNECT_TIMEOUT;

/// How long an idle pooled connection is kept by default.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

type BoxError = Box<dyn StdError + Send + Sync + 'static>;
type HyperClient = Client<TimeoutConnector, Full<Bytes>>;

/// Core's [`Transport`] over hyper's pooled client, rustls and tokio.
///
/// Cheap to clone: clones share one set of connection pools. See the [module
/// docs](crate::transport) for how it connects, times out and reports errors.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use cygnet::Transport;
/// use cygnet::HyperTransport;
///
/// let transport = HyperTransport::new();
/// let request = cygnet::http::Request::get("https://api.grayswan.ai/").body(cygnet::bytes::Bytes::new())?;
/// let response = transport.send(request).await?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HyperTransport {
    inner: Arc<Inner>,
}

struct Inner {
    /// Configured once; cloned into each pool's client.
    client_builder: hyper_util::client::legacy::Builder,
    connector: Connector,
    /// The proxies, shared with the connector; also adds `Proxy-Authorization` to plain
    /// `http` requests sent through one.
    proxies: Arc<Proxies>,
    default_connect_timeout: Duration,
    http2: bool,
    /// The client for `default_connect_timeout`: the one nearly every request uses.
    default_client: HyperClient,
    /// Clients for other connect timeouts, created on first use; at most `MAX_POOLS - 1`.
    overrides: Mutex<Vec<(Duration, HyperClient)>>,
}

impl HyperTransport {
    /// A transport with the default settings: verified HTTPS against the roots the crate's
    /// features choose (plus `SSL_CERT_FILE`/`SSL_CERT_DIR`), proxies from `HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, HTTP/2 when the `http2` feature is on, a
    /// 5 s connect timeout for requests that do not set one.
    ///
    /// This never fails or panics. With the default `webpki-roots` feature there are always
    /// roots; in a build without it, on a machine whose certificate store cannot be read,
    /// every `https` request fails with a [`TransportErrorKind::Other`] error saying so (plain
    /// `http` still works); the same goes for an `SSL_CERT_FILE` or `SSL_CERT_DIR` that cannot
    /// be read. [`HyperTransportBuilder::build`] reports those problems up front instead.
    /// The root certificates are read when the first `https` request needs them, so a
    /// transport that only sends plain `http` never reads them.
    pub fn new() -> Self {
        Self::builder().build_lenient()
    }

    /// A builder for a transport with custom TLS or pool settings.
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder::new()
    }
}

impl Inner {
    /// The client for a connect timeout other than the default, created on first use.
    fn override_client(&self, connect_timeout: Duration) -> HyperClient {
        // A poisoned lock only means another thread panicked while holding it; the vector
        // is still valid, so keep going rather than propagate the panic.
        let mut overrides = self
            .overrides
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, client)) = overrides.iter().find(|(t, _)| *t == connect_timeout) {
            return client.clone();
        }
        if overrides.len() + 1 >= MAX_POOLS {
            return self.default_client.clone();
        }
        let client = make_client(&self.client_builder, &self.connector, connect_timeout);
        overrides.push((connect_timeout, client.clone()));
        client
    }

    /// How many pools exist: the default one and the overrides.
    fn pools(&self) -> usize {
        1 + self.overrides.lock().map(|o| o.len()).unwrap_or_default()
    }
}

fn make_client(
    builder: &hyper_util::client::legacy::Builder,
    connector: &Connector,
    connect_timeout: Duration,
) -> HyperClient {
    builder.build(TimeoutConnector {
        inner: connector.clone(),
        timeout: connect_timeout,
    })
}

impl Default for HyperTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let pools = inner.pools();
        f.debug_struct("HyperTransport")
            .field("default_connect_timeout", &inner.default_connect_timeout)
            .field("http2", &inner.http2)
            .field("proxies", &inner.proxies)
            .field("pools", &pools)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Transport for HyperTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Body>, TransportError> {
        let inner = &self.inner;
        check_uri(request.uri())?;
        // A TLS setup that failed (no root certificates, an unreadable `SSL_CERT_FILE`) fails
        // every `https` request, saying why.
        if request.uri().scheme() == Some(&http::uri::Scheme::HTTPS) {
            if let Err(message) = inner.connector.tls() {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    message.clone(),
                ));
            }
        }
        let override_timeout = request
            .extensions()
            .get::<ConnectTimeout>()
            .map(|t| t.0)
            .filter(|t| *t != inner.default_connect_timeout);
        let (mut parts, body) = request.into_parts();
        // Plain `http` through a proxy carries the proxy's credentials itself (https carries
        // them on the CONNECT instead), and a 407 answer is the proxy's refusal.
        let plain_proxy = inner.proxies.plain_http_route(&parts.uri).map(|target| {
            if let Some(authorization) = target.authorization() {
                parts
                    .headers
                    .entry(http::header::PROXY_AUTHORIZATION)
                    .or_insert(authorization);
            }
            (target, parts.method.clone(), parts.uri.clone())
        });
        let request = http::Request::from_parts(parts, Full::new(body));
        let response = match override_timeout {
            None => inner.default_client.request(request).await,
            Some(timeout) => inner.override_client(timeout).request(request).await,
        }
        .map_err(map_client_error)?;
        if let Some((target, method, uri)) = plain_proxy {
            target
                .check_plain_answer(&method, &uri, response.status())
                .map_err(|e| TransportError::new(TransportErrorKind::Proxy, e))?;
        }
        // The blocking client reads hyper's bodies its own way (see `blocking::runtime`).
        #[cfg(feature = "blocking")]
        let body = |incoming| crate::blocking::runtime::body(IncomingStream { incoming });
        #[cfg(not(feature = "blocking"))]
        let body = |incoming| Body::from_stream(IncomingStream { incoming });
        Ok(response.map(body))
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }

    /// Exact on tokio's clock, paused or not.
    fn sleep_until(&self, deadline: Duration) -> Sleep {
        match tokio_origin().checked_add(deadline) {
            Some(at) => Box::pin(tokio::time::sleep_until(at)),
            None => Box::pin(tokio::time::sleep(deadline)),
        }
    }

    /// tokio's clock, which its timers run on: under a paused runtime
    /// (`tokio::time::pause`) deadlines follow the paused time, as the sleeps do.
    fn now(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(tokio_origin())
    }
}

/// The origin of [`HyperTransport`]'s clock: the first time it was read in this process.
fn tokio_origin() -> tokio::time::Instant {
    static ORIGIN: OnceLock<tokio::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(tokio::time::Instant::now)
}

/// Builds a [`HyperTransport`].
///
/// ```
/// use std::time::Duration;
/// use cygnet::HyperTransport;
/// # if cfg!(not(any(feature = "webpki-roots", feature = "native-roots"))) { return Ok(()); }
///
/// let transport = HyperTransport::builder()
///     .connect_timeout(Duration::from_secs(3))
///     .pool_idle_timeout(Some(Duration::from_secs(30)))
///     .build()?;
/// # Ok::<(), cygnet::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct HyperTransportBuilder {
    env: Env,
    tls: TlsChoice,
    extra_roots: Vec<PemSource>,
    proxy: ProxyChoice,
    connect_timeout: Duration,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    http2: bool,
}

impl Default for HyperTransportBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl HyperTransportBuilder {
    /// A builder with the defaults of [`HyperTransport::new`].
    pub fn new() -> Self {
        Self {
            env: Env::process(),
            tls: TlsChoice::FeatureRoots,
            extra_roots: Vec::new(),
            proxy: ProxyChoice::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            pool_idle_timeout: Some(DEFAULT_POOL_IDLE_TIMEOUT),
            pool_max_idle_per_host: usize::MAX,
            http2: cfg!(feature = "http2"),
        }
    }

    /// Trusts exactly these root certificates instead of the ones the features choose
    /// (for a private or test CA). Uses rustls's `ring` provider and safe defaults.
    ///
    /// The store is used as it is: unlike the other sources of roots, a certificate in it
    /// need not be a CA certificate (see [`crate::tls`]).
    #[must_use]
    pub fn root_certificates(mut self, roots: RootCertStore) -> Self {
        self.tls = TlsChoice::Roots(roots);
        self
    }

    /// Uses this rustls configuration as it is, for full control (client certificates, a
    /// custom verifier, another crypto provider). Its ALPN protocols are replaced by the ones
    /// this transport speaks (`h2` and `http/1.1`, or `http/1.1` alone).
    #[must_use]
    pub fn tls_config(mut self, config: ClientConfig) -> Self {
        self.tls = TlsChoice::Config(Box::new(config));
        self
    }

    /// Also trusts the CA certificates in `pem` (one or more `-----BEGIN CERTIFICATE-----`
    /// blocks), e.g. a corporate CA that re-signs TLS traffic, on top of the other roots.
    /// Checked by [`build`](Self::build), which fails if they hold no certificate or one that
    /// is not a CA certificate (see [`crate::tls`]).
    ///
    /// ```
    /// # fn run(corporate_ca_pem: &[u8]) -> Result<(), cygnet::Error> {
    /// let transport = cygnet::HyperTransport::builder()
    ///     .add_root_certificates_pem(corporate_ca_pem)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn add_root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.extra_roots
            .push(PemSource::Bytes(pem.as_ref().to_vec()));
        self
    }

    /// Also trusts the CA certificates in the PEM file at `path`, read by
    /// [`build`](Self::build), which fails with an error naming the file if it cannot be read,
    /// holds no certificate, or holds one that is not a CA certificate (see [`crate::tls`]).
    #[must_use]
    pub fn add_root_certificates_pem_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.extra_roots.push(PemSource::File(path.into()));
        self
    }

    /// Sends every request, `http` and `https`, through the HTTP proxy at `url`
    /// (`http://host:port`, credentials as `http://user:password@host:port`) instead of the
    /// proxies the environment names. `https` goes through a `CONNECT` tunnel. See
    /// [`crate::proxy`].
    ///
    /// ```
    /// let transport = cygnet::HyperTransport::builder()
    ///     .proxy("http://proxy.internal:3128")
    ///     .proxy_bypass("localhost, .internal")
    ///     .build()?;
    /// # Ok::<(), cygnet::Error>(())
    /// ```
    #[must_use]
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        let bypass = match self.proxy {
            ProxyChoice::Explicit { bypass, .. } => bypass,
            _ => String::new(),
        };
        self.proxy = ProxyChoice::Explicit {
            url: url.into(),
            bypass,
        };
        self
    }

    /// Hosts reached directly despite [`proxy`](Self::proxy), in `NO_PROXY` syntax:
    /// comma-separated names (which also match their subdomains), IP addresses, CIDR ranges,
    /// or `*`. Only applies to a proxy set with [`proxy`](Self::proxy); the environment's
    /// proxies follow the environment's `NO_PROXY`.
    #[must_use]
    pub fn proxy_bypass(mut self, hosts: impl Into<String>) -> Self {
        if let ProxyChoice::Explicit { bypass, .. } = &mut self.proxy {
            *bypass = hosts.into();
        }
        self
    }

    /// Connects directly, ignoring the proxy environment variables and any proxy set before.
    #[must_use]
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// How long opening a connection (DNS, TCP and TLS) may take for requests that carry no
    /// [`ConnectTimeout`] extension (core sets one only when a connect timeout is configured);
    /// default 5 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an idle connection stays in the pool; `None` keeps it until the server closes
    /// it. Default 90 s.
    #[must_use]
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// How many idle connections per host the pool keeps; 0 disables reuse. Default: no limit.
    #[must_use]
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = max;
        self
    }

    /// Whether to offer HTTP/2 over TLS (by ALPN); HTTP/1.1 is always offered. Default on.
    #[cfg(feature = "http2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http2")))]
    #[must_use]
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    /// Builds the transport.
    ///
    /// # Errors
    /// Fails with [`cygnet_core::Error::Config`] when no root certificates are available
    /// (no feature supplied any and none were given), when a PEM file given to the builder
    /// or named by `SSL_CERT_FILE`/`SSL_CERT_DIR` cannot be read or holds no certificate,
    /// when a certificate given to the builder or every one in `SSL_CERT_FILE` is not a CA
    /// certificate, when extra roots are combined with [`tls_config`](Self::tls_config), or
    /// when the URL given to [`proxy`](Self::proxy) cannot be used.
    pub fn build(self) -> Result<HyperTransport, cygnet_core::Error> {
        self.proxy.check().map_err(cygnet_core::Error::Config)?;
        let config = crate::tls::client_config(&self.tls, &self.extra_roots, self.env.lookup())?;
        Ok(self.assemble(Some(config)))
    }

    /// Builds the transport; TLS is set up on the first `https` request (see
    /// [`crate::lazy_tls`]), and a problem with it is reported on each `https` request.
    fn build_lenient(self) -> HyperTransport {
        self.assemble(None)
    }

    /// The transport, with TLS over `config`, or (`None`) over the configuration the builder's
    /// TLS settings give, made when the first `https` connection needs it.
    fn assemble(self, config: Option<ClientConfig>) -> HyperTransport {
        let mut http = HttpConnector::new();
        // The scheme is checked by the TLS layer and by `check_uri`; `https` URIs must reach it.
        http.enforce_http(false);
        // Server-sent events are many small writes; do not let Nagle's algorithm batch them.
        http.set_nodelay(true);
        let proxies = Arc::new(self.proxy.resolve(self.env.lookup()));
        let plain = ProxyConnector::new(http, Arc::clone(&proxies));

        let http2 = self.http2;
        let tls = match config {
            Some(config) => LazyTls::ready(Ok(https_connector(config, http2, plain.clone()))),
            None => {
                let (choice, extra_roots, plain, env) = (
                    self.tls.clone(),
                    self.extra_roots.clone(),
                    plain.clone(),
                    self.env.clone(),
                );
                LazyTls::deferred(Box::new(move || {
                    crate::tls::client_config(&choice, &extra_roots, env.lookup())
                        .map(|config| https_connector(config, http2, plain))
                        .map_err(|e| e.to_string())
                }))
            }
        };
        let connector = Connector::new(plain, tls);

        let mut client_builder = Client::builder(TokioExecutor::new());
        client_builder
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new());

        let default_client = make_client(&client_builder, &connector, self.connect_timeout);
        let inner = Inner {
            client_builder,
            connector,
            proxies,
            default_connect_timeout: self.connect_timeout,
            http2: self.http2,
            default_client,
            overrides: Mutex::new(Vec::new()),
        };
        HyperTransport {
            inner: Arc::new(inner),
        }
    }
}

/// hyper-rustls's connector over `plain` with TLS over `config`.
fn https_connector(mut config: ClientConfig, http2: bool, plain: ProxyConnector) -> Https {
    // hyper-rustls asserts that ALPN is unset and then sets it itself.
    config.alpn_protocols.clear();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http();
    #[cfg(feature = "http2")]
    if http2 {
        return https.enable_all_versions().wrap_connector(plain);
    }
    #[cfg(not(feature = "http2"))]
    let _ = http2;
    https.enable_http1().wrap_connector(plain)
}

/// Where the builder reads `SSL_CERT_FILE`, `SSL_CERT_DIR` and the proxy variables: the
/// process's environment, or (in this crate's tests) a lookup of the test's own, so that tests
/// never change the environment other tests read.
#[derive(Clone)]
struct Env(Option<Arc<Lookup>>);

/// A lookup of environment variables by name.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Env {
    fn process() -> Self {
        Self(None)
    }

    /// A variable's value, `None` when unset or (in the process's environment) not Unicode.
    fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| match &self.0 {
            None => std::env::var(name).ok(),
            Some(lookup) => lookup(name),
        }
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            None => "process environment",
            Some(_) => "given environment",
        })
    }
}

#[cfg(test)]
impl HyperTransportBuilder {
    /// Reads the environment variables through `lookup` instead of the process's environment.
    pub(crate) fn environment(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Env(Some(Arc::new(lookup)));
        self
    }

    /// [`build`](Self::build)'s lenient twin, which [`HyperTransport::new`] uses.
    pub(crate) fn build_deferred(self) -> HyperTransport {
        self.build_lenient()
    }
}

/// Rejects URIs the transport cannot send, before they reach the network.
fn check_uri(uri: &Uri) -> Result<(), TransportError> {
    let scheme_ok = uri
        .scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
    if !scheme_ok {
        return Err(TransportError::new(
            TransportErrorKind::Request,
            format!(
                "unsupported URI scheme {:?}: only http and https are sent",
                uri.scheme_str().unwrap_or_default()
            ),
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(TransportError::new(
            TransportErrorKind::Request,
            "the request's URI has no host".to_owned(),
        ));
    }
    // `http::Uri` takes `host:65536` or `host:https` as a host without a port, which the
    // connector would complete with the scheme's default: refuse them by the rule core checks
    // base URLs with.
    if let Some(Err(e)) = uri
        .authority()
        .map(|authority| cygnet_core::config::UrlParts::parse(authority.as_str()))
    {
        return Err(TransportError::new(
            TransportErrorKind::Request,
            format!("the request's URI cannot be used: {e}"),
        ));
    }
    Ok(())
}

/// The connector of one pool: hyper-rustls's, bounded by a timeout for the whole setup.
#[derive(Clone)]
struct TimeoutConnector {
    inner: Connector,
    timeout: Duration,
}

/// The connection setup took longer than its connect timeout.
#[derive(Debug)]
struct ConnectTimedOut(Duration);

impl fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connecting took longer than {:?}", self.0)
    }
}

impl StdError for ConnectTimedOut {}

impl tower_service::Service<Uri> for TimeoutConnector {
    type Response = MaybeHttpsStream<ProxyStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result,
                Err(_) => Err(Box::new(ConnectTimedOut(timeout)) as BoxError),
            }
        })
    }
}

/// hyper's response body as a stream of data chunks.
struct IncomingStream {
    incoming: Incoming,
}

impl Stream for IncomingStream {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let frame = match Pin::new(&mut self.incoming).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(map_body_error(e)))),
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            // Trailers carry nothing core reads; empty data frames carry nothing at all.
            if let Ok(data) = frame.into_data() {
                if !data.is_empty() {
                    return Poll::Ready(Some(Ok(data)));
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

/// An error read from a response body: the connection broke, or hyper's own timer fired.
fn map_body_error(error: hyper::Error) -> TransportError {
    let kind = if error.is_timeout() {
        TransportErrorKind::Timeout
    } else {
        TransportErrorKind::Io
    };
    TransportError::new(kind, Described::new(error))
}

/// Sorts a failure of hyper-util's client into core's kinds (see the module docs).
fn map_client_error(error: hyper_util::client::legacy::Error) -> TransportError {
    let kind = classify(&error);
    TransportError::new(kind, Described::new(error))
}

fn classify(error: &hyper_util::client::legacy::Error) -> TransportErrorKind {
    let chain = || std::iter::successors(error.source(), |e| (*e).source());
    let io_kind = chain().find_map(|e| e.downcast_ref::<std::io::Error>().map(|e| e.kind()));
    if let Some(proxy_error) = chain().find_map(|e| e.downcast_ref::<ProxyError>()) {
        return if proxy_error.is_connect() {
            TransportErrorKind::Connect
        } else {
            TransportErrorKind::Proxy
        };
    }
    if chain().any(is_certificate_refusal) {
        return TransportErrorKind::Certificate;
    }
    if chain().any(|e| e.is::<ConnectTimedOut>()) || io_kind == Some(std::io::ErrorKind::TimedOut) {
        return TransportErrorKind::Timeout;
    }
    if error.is_connect() {
        return TransportErrorKind::Connect;
    }
    if let Some(hyper_error) = chain().find_map(|e| e.downcast_ref::<hyper::Error>()) {
        return if hyper_error.is_timeout() {
            TransportErrorKind::Timeout
        } else if hyper_error.is_user() {
            TransportErrorKind::Request
        } else if hyper_error.is_parse() || hyper_error.is_parse_status() {
            TransportErrorKind::Other
        } else {
            // Closed, canceled, incomplete message, reset: the connection broke.
            TransportErrorKind::Io
        };
    }
    if io_kind.is_some() {
        return TransportErrorKind::Io;
    }
    TransportErrorKind::Other
}

/// Whether `error` is rustls refusing the server's certificate, as it is or inside the
/// `io::Error` tokio-rustls wraps it in (whose `source()` skips it).
fn is_certificate_refusal(error: &(dyn StdError + 'static)) -> bool {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return matches!(tls, rustls::Error::InvalidCertificate(_));
    }
    match error
        .downcast_ref::<std::io::Error>()
        .and_then(|e| e.get_ref())
    {
        Some(inner) => is_certificate_refusal(inner),
        None => false,
    }
}

/// hyper-util's error, shown from its first useful link on.
///
/// hyper-util's own message is only "client error (Connect)", which says less than the
/// kind's words ("could not connect") already do; the useful part ("tcp connect error",
/// "Connection refused", "invalid peer certificate: UnknownIssuer") sits further down the
/// chain. This error stands in for the wrapper: its message is the first link's that is not
/// the wrapper, and its `source()` is that link's source, so a reporter that walks the chain
/// shows each cause once (the workspace's error rule: a message never repeats its source)
/// and the causes below stay reachable, as they are, for `downcast_ref`.
struct Described {
    error: BoxError,
}

impl Described {
    fn new(error: impl StdError + Send + Sync + 'static) -> Self {
        Self {
            error: Box::new(error),
        }
    }

    /// The first link of the chain that is not hyper-util's generic wrapper (the error
    /// itself when every link is).
    fn shown(&self) -> &(dyn StdError + 'static) {
        let first: &(dyn StdError + 'static) = &*self.error;
        std::iter::successors(Some(first), |e| (*e).source())
            .find(|e| !e.to_string().starts_with("client error ("))
            .unwrap_or(first)
    }
}

impl fmt::Debug for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.error, f)
    }
}

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.shown(), f)
    }
}

impl StdError for Described {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.shown().source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_without_http_scheme_or_host_are_request_errors() {
        for uri in ["ftp://example.com/", "/relative/path", "localhost:8080"] {
            let uri: Uri = uri.parse().unwrap();
            let error = check_uri(&uri).unwrap_err();
            assert_eq!(error.kind(), TransportErrorKind::Request, "{uri}");
        }
        check_uri(&"https://api.grayswan.ai/chat/completion".parse().unwrap()).unwrap();
        check_uri(&"HTTP://127.0.0.1:8080/".parse().unwrap()).unwrap();
    }

    #[test]
    fn debug_names_settings() {
        let transport = HyperTransport::builder()
            .connect_timeout(Duration::from_secs(2))
            .root_certificates(RootCertStore::empty())
            .build()
            .unwrap();
        let debug = format!("{transport:?}");
        assert!(debug.contains("2s"), "{debug}");
    }
}
