//! `HyperTransport` over real loopback sockets.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use cygnet_core::error::Report;
use cygnet_core::transport::ConnectTimeout;
use cygnet_core::{Body, Transport, TransportErrorKind};
use cygnet_hyper::HyperTransport;
use tokio::sync::oneshot;

async fn collect(body: &mut Body) -> Result<Vec<u8>, cygnet_core::TransportError> {
    let mut all = Vec::new();
    while let Some(chunk) = body.chunk().await {
        all.extend_from_slice(&chunk?);
    }
    Ok(all)
}

/// A bodiless GET of `url`.
fn get(url: impl AsRef<str>) -> http::Request<Bytes> {
    http::Request::get(url.as_ref()).body(Bytes::new()).unwrap()
}

/// The transport's clock is tokio's, and a sleep until a point on it ends at that point.
#[tokio::test]
async fn sleep_until_ends_at_its_deadline_on_the_transports_clock() {
    bounded(async {
        let transport = HyperTransport::new();
        let start = transport.now();
        let deadline = start + Duration::from_millis(20);
        transport.sleep_until(deadline).await;
        assert!(transport.now() >= deadline);
        // A deadline already passed ends at once.
        transport.sleep_until(start).await;
    })
    .await;
}

#[tokio::test]
async fn request_arrives_intact_and_response_comes_back() {
    bounded(async {
        let (tx, rx) = oneshot::channel();
        let addr = serve_one(|mut stream, received| async move {
            write_response(&mut stream, 201, "application/json", br#"{"ok":true}"#).await;
            tx.send(received).unwrap();
        })
        .await;

        let body = r#"{"messages":[],"model":"cygnet"}"#;
        let request = http::Request::post(format!("http://{addr}/chat/completion?x=1"))
            .header("authorization", "Bearer sk-test-fake")
            .header("content-type", "application/json")
            .header("x-custom", "kept")
            .body(Bytes::from(body))
            .unwrap();
        let transport = HyperTransport::new();
        let response = transport.send(request).await.unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["content-type"], "application/json");
        let mut response_body = response.into_body();
        assert_eq!(
            collect(&mut response_body).await.unwrap(),
            br#"{"ok":true}"#
        );

        let received = rx.await.unwrap();
        assert_eq!(received.request_line, "POST /chat/completion?x=1 HTTP/1.1");
        assert_eq!(
            received.header("authorization"),
            Some("Bearer sk-test-fake")
        );
        assert_eq!(received.header("content-type"), Some("application/json"));
        assert_eq!(received.header("x-custom"), Some("kept"));
        assert_eq!(received.header("host"), Some(addr.as_str()));
        assert_eq!(received.body, body.as_bytes());
    })
    .await;
}

#[tokio::test]
async fn connections_are_reused_from_the_pool() {
    bounded(async {
        let (listener, addr) = listener().await;
        tokio::spawn(async move {
            // One connection serves both requests; a second connection is never accepted.
            let mut stream = accept(&listener).await;
            for _ in 0..2 {
                read_request(&mut stream).await;
                write_response(&mut stream, 200, "text/plain", b"hi").await;
            }
        });
        let transport = HyperTransport::new();
        for _ in 0..2 {
            let request = get(format!("http://{addr}/"));
            let mut body = transport.send(request).await.unwrap().into_body();
            assert_eq!(collect(&mut body).await.unwrap(), b"hi");
        }
    })
    .await;
}

#[tokio::test]
async fn streamed_body_arrives_chunk_by_chunk() {
    bounded(async {
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let addr = serve_one(|mut stream, _| async move {
            write_chunked_head(&mut stream, "text/event-stream").await;
            write_chunk(&mut stream, b"data: one\n\n").await;
            // The second chunk goes out only once the client has seen the first.
            go_rx.await.unwrap();
            write_chunk(&mut stream, b"data: two\n\n").await;
            write_last_chunk(&mut stream).await;
        })
        .await;

        let request = get(format!("http://{addr}/stream"));
        let response = HyperTransport::new().send(request).await.unwrap();
        let mut body = response.into_body();
        let first = body.chunk().await.unwrap().unwrap();
        assert_eq!(first, "data: one\n\n");
        go_tx.send(()).unwrap();
        let second = body.chunk().await.unwrap().unwrap();
        assert_eq!(second, "data: two\n\n");
        assert!(body.chunk().await.is_none());
    })
    .await;
}

#[tokio::test]
async fn dropping_the_body_mid_stream_closes_the_connection() {
    bounded(async {
        let (closed_tx, closed_rx) = oneshot::channel();
        let addr = serve_one(|mut stream, _| async move {
            write_chunked_head(&mut stream, "text/event-stream").await;
            write_chunk(&mut stream, b"data: one\n\n").await;
            // Never finishes the body; the client must hang up.
            let closed = closed_within(&mut stream, Duration::from_secs(3)).await;
            closed_tx.send(closed).unwrap();
        })
        .await;

        let request = get(format!("http://{addr}/stream"));
        let response = HyperTransport::new().send(request).await.unwrap();
        let mut body = response.into_body();
        assert_eq!(body.chunk().await.unwrap().unwrap(), "data: one\n\n");
        drop(body);
        assert!(
            closed_rx.await.unwrap(),
            "server did not see the connection closed after the body was dropped"
        );
    })
    .await;
}

#[tokio::test]
async fn body_cut_short_is_an_io_error() {
    bounded(async {
        let addr = serve_one(|mut stream, _| async move {
            use tokio::io::AsyncWriteExt;
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten..")
                .await
                .unwrap();
            // Dropping the stream closes the connection 90 bytes early.
        })
        .await;

        let request = get(format!("http://{addr}/"));
        let response = HyperTransport::new().send(request).await.unwrap();
        let mut body = response.into_body();
        let error = collect(&mut body).await.unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Io, "{error}");
    })
    .await;
}

#[tokio::test]
async fn connection_closed_before_the_response_is_an_io_error() {
    bounded(async {
        // Hang up without answering.
        let addr = serve_one(|_, _| async {}).await;
        let request = get(format!("http://{addr}/"));
        let error = HyperTransport::new().send(request).await.unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Io, "{error}");
        assert!(error.is_retryable());
    })
    .await;
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    bounded(async {
        // Take a free port, then free it again so nothing listens there.
        let (listener, addr) = listener().await;
        drop(listener);
        let request = get(format!("http://{addr}/"));
        let error = HyperTransport::new().send(request).await.unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Connect, "{error}");
        // The message names the cause, not just "client error (Connect)".
        assert!(
            Report::new(&error)
                .to_string()
                .to_lowercase()
                .contains("refused"),
            "{error}"
        );
    })
    .await;
}

#[tokio::test]
async fn unsupported_scheme_is_a_request_error() {
    bounded(async {
        let request = get("ftp://127.0.0.1/file");
        let error = HyperTransport::new().send(request).await.unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Request, "{error}");
        assert!(!error.is_retryable());
    })
    .await;
}

#[tokio::test]
async fn a_port_out_of_range_or_not_a_number_is_a_request_error_not_the_default_port() {
    bounded(async {
        // `http::Uri` parses each of these with no port, which would mean 80 or 443.
        for url in [
            "http://127.0.0.1:65536/",
            "https://127.0.0.1:99999/",
            "http://user:pa/ss@127.0.0.1/",
            "http://127.0.0.1:/",
        ] {
            let error = HyperTransport::new().send(get(url)).await.unwrap_err();
            assert_eq!(error.kind(), TransportErrorKind::Request, "{url}: {error}");
            let report = Report::new(&error).to_string();
            assert!(report.contains("port"), "{report}");
            assert!(!report.contains("pa"), "{report}");
        }
    })
    .await;
}

/// A server that accepts TCP connections and never says a word: a TLS handshake with it
/// never completes. (A listener that never accepts would not do: the kernel completes the
/// TCP handshake into the backlog, so only the TLS part would hang.)
async fn silent_server() -> String {
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

#[tokio::test]
async fn connect_timeout_extension_bounds_the_tls_handshake() {
    bounded(async {
        let addr = silent_server().await;
        let mut request = get(format!("https://{addr}/"));
        request
            .extensions_mut()
            .insert(ConnectTimeout(Duration::from_millis(200)));
        // A long default proves the extension, not the builder's value, applies.
        let transport = HyperTransport::builder()
            .root_certificates(rustls::RootCertStore::empty())
            .connect_timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let started = Instant::now();
        let error = transport.send(request).await.unwrap_err();
        let elapsed = started.elapsed();
        assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    })
    .await;
}

#[tokio::test]
async fn builder_connect_timeout_applies_without_the_extension() {
    bounded(async {
        let addr = silent_server().await;
        let request = get(format!("https://{addr}/"));
        let transport = HyperTransport::builder()
            .root_certificates(rustls::RootCertStore::empty())
            .connect_timeout(Duration::from_millis(150))
            .build()
            .unwrap();
        let error = transport.send(request).await.unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
    })
    .await;
}

#[tokio::test]
async fn many_distinct_connect_timeouts_do_not_grow_pools_without_bound() {
    bounded(async {
        let addr = silent_server().await;
        let transport = HyperTransport::builder()
            .root_certificates(rustls::RootCertStore::empty())
            .connect_timeout(Duration::from_millis(50))
            .build()
            .unwrap();
        for ms in 1..=10u64 {
            let mut request = get(format!("https://{addr}/"));
            request
                .extensions_mut()
                .insert(ConnectTimeout(Duration::from_millis(ms * 10)));
            let error = transport.send(request).await.unwrap_err();
            assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
        }
        let debug = format!("{transport:?}");
        assert!(
            debug.contains(&format!("pools: {}", cygnet_hyper::transport::MAX_POOLS)),
            "{debug}"
        );
    })
    .await;
}

mod tls {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType,
    };
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::RootCertStore;
    use tokio_rustls::TlsAcceptor;

    /// A CA and a server certificate for 127.0.0.1 signed by it, generated fresh.
    struct TestPki {
        ca: CertificateDer<'static>,
        server_cert: CertificateDer<'static>,
        server_key: PrivateKeyDer<'static>,
    }

    impl TestPki {
        /// A root store holding only the test CA.
        fn roots(&self) -> RootCertStore {
            let mut roots = RootCertStore::empty();
            roots.add(self.ca.clone()).unwrap();
            roots
        }

        /// A TLS acceptor serving the test certificate, offering `alpn` (none if empty).
        fn acceptor(&self, alpn: Vec<Vec<u8>>) -> TlsAcceptor {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![self.server_cert.clone()], self.server_key.clone_key())
                .unwrap();
            config.alpn_protocols = alpn;
            TlsAcceptor::from(Arc::new(config))
        }
    }

    /// Sends a GET of `https://{addr}/` on `transport`; the response and its whole body.
    async fn get_https(transport: &HyperTransport, addr: &str) -> (http::Response<()>, Vec<u8>) {
        let response = transport
            .send(get(format!("https://{addr}/")))
            .await
            .unwrap();
        let (parts, mut body) = response.into_parts();
        let body = collect(&mut body).await.unwrap();
        (http::Response::from_parts(parts, ()), body)
    }

    fn generate_pki() -> TestPki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "cygnet test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let server_cert = params.signed_by(&server_key, &ca_cert, &ca_key).unwrap();

        TestPki {
            ca: ca_cert.der().clone(),
            server_cert: server_cert.der().clone(),
            server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        }
    }

    /// Serves HTTPS on 127.0.0.1, answering each request with "secure"; reports each
    /// handshake's outcome.
    async fn tls_server(pki: &TestPki) -> (String, tokio::sync::mpsc::UnboundedReceiver<bool>) {
        let acceptor = pki.acceptor(Vec::new());
        let (listener, addr) = listener().await;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(mut tls) => {
                            let _ = tx.send(true);
                            read_request(&mut tls).await;
                            write_response(&mut tls, 200, "text/plain", b"secure").await;
                        }
                        Err(_) => {
                            let _ = tx.send(false);
                        }
                    }
                });
            }
        });
        (addr, rx)
    }

    #[tokio::test]
    async fn https_succeeds_with_the_test_root_configured() {
        bounded(async {
            let pki = generate_pki();
            let (addr, mut handshakes) = tls_server(&pki).await;
            let transport = HyperTransport::builder()
                .root_certificates(pki.roots())
                .build()
                .unwrap();
            let (response, body) = get_https(&transport, &addr).await;
            assert_eq!(response.status(), 200);
            assert_eq!(body, b"secure");
            assert_eq!(handshakes.recv().await, Some(true));
        })
        .await;
    }

    /// Serves HTTP/2 only (ALPN `h2`) with hyper, answering with the request's version.
    #[cfg(feature = "http2")]
    async fn h2_server(pki: &TestPki) -> String {
        use http_body_util::Full;
        use hyper_util::rt::{TokioExecutor, TokioIo};

        let acceptor = pki.acceptor(vec![b"h2".to_vec()]);
        let (listener, addr) = listener().await;
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(
                        |request: http::Request<hyper::body::Incoming>| async move {
                            let version = format!("{:?}", request.version());
                            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                Bytes::from(version),
                            )))
                        },
                    );
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        addr
    }

    #[cfg(feature = "http2")]
    #[tokio::test]
    async fn http2_is_negotiated_by_alpn() {
        bounded(async {
            let pki = generate_pki();
            let addr = h2_server(&pki).await;
            let transport = HyperTransport::builder()
                .root_certificates(pki.roots())
                .build()
                .unwrap();
            let (response, body) = get_https(&transport, &addr).await;
            assert_eq!(response.version(), http::Version::HTTP_2);
            assert_eq!(body, b"HTTP/2.0");

            // With HTTP/2 switched off no ALPN is offered and the client speaks HTTP/1.1; the
            // server's HTTP/2 preface then does not parse as an HTTP/1.1 answer.
            let http1_only = HyperTransport::builder()
                .root_certificates(pki.roots())
                .http2(false)
                .build()
                .unwrap();
            let request = get(format!("https://{addr}/"));
            let error = http1_only.send(request).await.unwrap_err();
            assert_eq!(error.kind(), TransportErrorKind::Other, "{error}");
            assert!(
                Report::new(&error).to_string().contains("HTTP version"),
                "{error}"
            );
        })
        .await;
    }

    #[cfg(any(feature = "webpki-roots", feature = "native-roots"))]
    #[tokio::test]
    async fn https_with_an_unknown_ca_is_rejected_by_the_default_roots() {
        bounded(async {
            let pki = generate_pki();
            let (addr, mut handshakes) = tls_server(&pki).await;
            let request = get(format!("https://{addr}/"));
            let error = HyperTransport::new().send(request).await.unwrap_err();
            assert_eq!(error.kind(), TransportErrorKind::Certificate, "{error}");
            assert!(!error.is_retryable(), "{error}");
            assert!(
                Report::new(&error).to_string().contains("certificate"),
                "message should name the certificate problem: {error}"
            );
            assert_eq!(handshakes.recv().await, Some(false));
        })
        .await;
    }

    #[cfg(not(any(feature = "webpki-roots", feature = "native-roots")))]
    #[tokio::test]
    async fn without_root_features_build_fails_and_new_refuses_https() {
        bounded(async {
            let error = HyperTransport::builder().build().unwrap_err();
            assert!(matches!(error, cygnet_core::Error::Config(_)), "{error}");
            let request = get("https://127.0.0.1:9/");
            let error = HyperTransport::new().send(request).await.unwrap_err();
            assert_eq!(error.kind(), TransportErrorKind::Other, "{error}");
            assert!(
                Report::new(&error)
                    .to_string()
                    .contains("root certificates"),
                "{error}"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn a_custom_client_config_with_preset_alpn_does_not_panic() {
        bounded(async {
            let pki = generate_pki();
            let (addr, _handshakes) = tls_server(&pki).await;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(pki.roots())
                .with_no_client_auth();
            config.alpn_protocols = vec![b"spdy/3".to_vec()];
            let transport = HyperTransport::builder()
                .tls_config(config)
                .build()
                .unwrap();
            let request = get(format!("https://{addr}/"));
            let response = transport.send(request).await.unwrap();
            assert_eq!(response.status(), 200);
        })
        .await;
    }
}
