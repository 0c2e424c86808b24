//! The transport's connector, whose TLS part is set up when the first `https` connection
//! needs it.
//!
//! Setting up TLS means reading the root certificates: the bundled ones, the platform's
//! store, and the files `SSL_CERT_FILE` and `SSL_CERT_DIR` name (often the system's whole
//! bundle, read and parsed certificate by certificate). That is most of the work of making a
//! transport, and a client that only speaks plain `http` (a local server, a sidecar) never
//! needs it. [`HyperTransport::new`](crate::HyperTransport::new) reports a TLS setup problem
//! on each `https` request anyway, so it defers the setup to the first one; the builder's
//! `build`, which reports such problems up front, sets up TLS at once.
//!
//! Plain `http` URIs go to the proxy connector directly, as hyper-rustls's connector would
//! send them; everything else goes to hyper-rustls's connector, made once and shared.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use hyper::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use tower_service::Service;

use crate::proxy::{ProxyConnector, ProxyStream};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// hyper-rustls's connector over the proxy connector.
pub(crate) type Https = HttpsConnector<ProxyConnector>;

/// Makes the TLS connector, or says why there is none.
type MakeHttps = Box<dyn FnOnce() -> Result<Https, String> + Send>;

/// The TLS connector, made at most once; shared by every pool's connector.
pub(crate) struct LazyTls {
    made: OnceLock<Result<Https, String>>,
    make: Mutex<Option<MakeHttps>>,
}

impl LazyTls {
    /// A TLS connector already made.
    pub(crate) fn ready(https: Result<Https, String>) -> Self {
        Self {
            made: OnceLock::from(https),
            make: Mutex::new(None),
        }
    }

    /// A TLS connector `make` makes on first use.
    pub(crate) fn deferred(make: MakeHttps) -> Self {
        Self {
            made: OnceLock::new(),
            make: Mutex::new(Some(make)),
        }
    }

    /// The TLS connector, made now if it was not yet; `Err` says why TLS cannot be used.
    pub(crate) fn get(&self) -> &Result<Https, String> {
        self.made.get_or_init(|| {
            // A poisoned lock only means a panic while taking the closure; take it anyway.
            let make = self
                .make
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            match make {
                Some(make) => make(),
                // Only when an earlier setup panicked part-way.
                None => Err("the TLS setup failed earlier".to_owned()),
            }
        })
    }
}

/// The connector of every pool: plain `http` through the proxy connector, the rest through
/// the TLS connector, made when first needed.
#[derive(Clone)]
pub(crate) struct Connector {
    plain: ProxyConnector,
    tls: Arc<LazyTls>,
}

impl Connector {
    pub(crate) fn new(plain: ProxyConnector, tls: LazyTls) -> Self {
        Self {
            plain,
            tls: Arc::new(tls),
        }
    }

    /// The TLS connector, made now if it was not yet; see [`LazyTls::get`].
    pub(crate) fn tls(&self) -> &Result<Https, String> {
        self.tls.get()
    }
}

impl Service<Uri> for Connector {
    type Response = MaybeHttpsStream<ProxyStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.plain.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        if uri.scheme() == Some(&http::uri::Scheme::HTTP) {
            let connecting = self.plain.call(uri);
            return Box::pin(async move { Ok(MaybeHttpsStream::Http(connecting.await?)) });
        }
        match self.tls.get() {
            Ok(https) => https.clone().call(uri),
            Err(why) => {
                let why = why.clone();
                Box::pin(async move { Err(why.into()) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn the_tls_connector_is_made_once_on_first_use_and_a_failure_is_kept() {
        let made = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&made);
        let tls = LazyTls::deferred(Box::new(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            Err("no root certificates".to_owned())
        }));
        assert_eq!(made.load(Ordering::Relaxed), 0);
        for _ in 0..2 {
            assert_eq!(
                tls.get().as_ref().err().map(String::as_str),
                Some("no root certificates")
            );
        }
        assert_eq!(made.load(Ordering::Relaxed), 1);
    }
}
