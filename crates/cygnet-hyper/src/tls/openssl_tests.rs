//! Which certificates become roots, with certificates made by the `openssl` program: a
//! Debian-style snakeoil leaf (self-signed, `CA:FALSE`), a real CA, and the odd cases between.
//! The environment is injected (`HyperTransportBuilder::environment`), never set on the
//! process.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cygnet_core::{Error, TransportErrorKind};
use cygnet_test_support::wire::{listener, read_request, write_response};
use cygnet_test_support::{bounded, completion_json, seed_request};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::ca::{self, NotCa};
use super::*;
use crate::HyperTransport;

const FAKE_KEY: &str = "sk-test-tls-0123456789";

/// A scratch directory of its own, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "cygnet-hyper-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn text(&self, name: &str) -> String {
        std::fs::read_to_string(self.join(name)).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether the `openssl` program can be run; `false` (said loudly) only when the tests that
/// need installed programs are skipped on purpose.
fn openssl_present() -> bool {
    if Command::new("openssl").arg("version").output().is_ok() {
        return true;
    }
    if std::env::var("CYGNET_SKIP_REAL_SERVERS").as_deref() == Ok("1") {
        eprintln!(
            "\n!!! SKIPPED: openssl is not installed and CYGNET_SKIP_REAL_SERVERS=1; the \
             tests with certificates made by openssl did NOT run !!!\n"
        );
        return false;
    }
    panic!(
        "the openssl program is needed by these tests: install it (as root) with \
         `apt-get install -y openssl`, or set CYGNET_SKIP_REAL_SERVERS=1 to skip them"
    );
}

/// Runs `openssl args...` in `dir`; panics with its output if it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A new P-256 key in `<name>.key` and a request for `/CN=<name>` in `<name>.csr`.
fn key_and_request(dir: &Path, name: &str) {
    let (key, csr, subject) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("/CN={name}"),
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &subject,
        ],
    );
}

/// A self-signed certificate `<name>.pem` (with its key `<name>.key`) whose extensions are
/// `extensions` (openssl's config syntax), or a version 1 one without any when empty.
fn self_signed(dir: &Path, name: &str, extensions: &str) -> String {
    key_and_request(dir, name);
    let (key, csr, pem, ext) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    let mut args = vec![
        "x509", "-req", "-in", &csr, "-key", &key, "-days", "2", "-out", &pem,
    ];
    if !extensions.is_empty() {
        std::fs::write(dir.join(&ext), extensions).unwrap();
        args.extend(["-extfile", &ext]);
    }
    openssl(dir, &args);
    std::fs::read_to_string(dir.join(&pem)).unwrap()
}

/// A server certificate `<name>.pem` for `localhost` and 127.0.0.1, key `<name>.key`, issued
/// by `issuer` (`<issuer>.pem` and `<issuer>.key`).
fn server_certificate(dir: &Path, name: &str, issuer: &str) {
    key_and_request(dir, name);
    let ext = format!("{name}.ext");
    std::fs::write(
        dir.join(&ext),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let (csr, pem, ca, ca_key) = (
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{issuer}.pem"),
        format!("{issuer}.key"),
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &pem,
        ],
    );
}

/// What Debian's `make-ssl-cert` makes: a self-signed leaf that says it is no CA.
const SNAKEOIL: &str = "basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:snakeoil\n";
/// A CA as `openssl req -x509` makes one.
const CA: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n\
                  subjectKeyIdentifier=hash\n";

/// Certificates made by openssl in a scratch directory.
struct Pki {
    dir: Scratch,
}

impl Pki {
    /// The snakeoil leaf, a CA, and a server certificate issued by each.
    fn new() -> Option<Self> {
        if !openssl_present() {
            return None;
        }
        let dir = Scratch::new("pki");
        self_signed(dir.path(), "snakeoil", SNAKEOIL);
        self_signed(dir.path(), "ca", CA);
        server_certificate(dir.path(), "by-snakeoil", "snakeoil");
        server_certificate(dir.path(), "by-ca", "ca");
        Some(Self { dir })
    }

    fn der(&self, name: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(self.dir.text(&format!("{name}.pem")).as_bytes()).unwrap()
    }

    /// A certificate directory as Debian's holds one: `files` (certificates of this PKI)
    /// under their own names plus the hashed names `openssl rehash` links to them.
    fn cert_dir(&self, files: &[&str]) -> Scratch {
        let dir = Scratch::new("certs");
        for name in files {
            std::fs::write(
                dir.join(&format!("{name}.pem")),
                self.dir.text(&format!("{name}.pem")),
            )
            .unwrap();
        }
        openssl(dir.path(), &["rehash", "."]);
        dir
    }

    /// A TLS server on 127.0.0.1 presenting `<name>.pem`, answering each request with a chat
    /// completion; also how many connections it accepted.
    async fn serve(&self, name: &str) -> (String, Arc<AtomicUsize>) {
        let chain = vec![self.der(name)];
        let key = PrivateKeyDer::from_pem_slice(self.dir.text(&format!("{name}.key")).as_bytes())
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let (listener, addr) = listener().await;
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(stream).await {
                        read_request(&mut tls).await;
                        let body = completion_json("trusted").to_string();
                        write_response(&mut tls, 200, "application/json", body.as_bytes()).await;
                    }
                });
            }
        });
        (addr, connections)
    }
}

/// An environment in which only `SSL_CERT_DIR` is set, to `dir`.
fn cert_dir_env(dir: &Path) -> impl Fn(&str) -> Option<String> + Clone + Send + Sync + 'static {
    let dir = dir.display().to_string();
    move |name: &str| (name == "SSL_CERT_DIR").then(|| dir.clone())
}

/// The two ways a default transport is made, over an injected environment: as
/// `HyperTransport::new` makes it (TLS set up on first use) and with `builder().build()`.
fn default_transports(
    env: impl Fn(&str) -> Option<String> + Clone + Send + Sync + 'static,
) -> [(&'static str, HyperTransport); 2] {
    [
        (
            "new",
            HyperTransport::builder()
                .environment(env.clone())
                .build_deferred(),
        ),
        (
            "builder().build()",
            HyperTransport::builder().environment(env).build().unwrap(),
        ),
    ]
}

/// A client of `https://<addr>` over `transport` that retries twice (three attempts).
fn client(addr: &str, transport: HyperTransport) -> cygnet_core::Client {
    cygnet_core::Client::builder()
        .api_key(FAKE_KEY)
        .base_url(format!("https://{addr}"))
        .transport(transport)
        .max_retries(2)
        .build()
        .unwrap()
}

#[test]
fn a_ca_is_a_root_and_a_leaf_v1_or_unmarked_certificate_is_not() {
    let Some(pki) = Pki::new() else {
        return;
    };
    let dir = pki.dir.path();
    let cases = [
        ("ca", None),
        ("snakeoil", Some(NotCa::NotMarkedCa)),
        ("by-ca", Some(NotCa::NotMarkedCa)),
        // OpenSSL takes a version 1 self-signed certificate as a CA; this is stricter.
        ("v1", Some(NotCa::NotMarkedCa)),
        ("unmarked", Some(NotCa::NotMarkedCa)),
        ("cannot-sign", Some(NotCa::CannotSignCertificates)),
        ("pathlen", None),
    ];
    self_signed(dir, "v1", "");
    self_signed(dir, "unmarked", "subjectAltName=DNS:unmarked\n");
    self_signed(
        dir,
        "cannot-sign",
        "basicConstraints=CA:TRUE\nkeyUsage=digitalSignature\n",
    );
    self_signed(dir, "pathlen", "basicConstraints=CA:TRUE,pathlen:0\n");
    for (name, refusal) in cases {
        assert_eq!(ca::check(&pki.der(name)).err(), refusal, "{name}");
    }
}

#[test]
fn garbage_and_damaged_certificates_are_refused_without_panicking() {
    let Some(pki) = Pki::new() else {
        return;
    };
    let der = pki.der("ca").to_vec();
    assert_eq!(ca::check(&der), Ok(()));
    for cut in 0..der.len() {
        assert!(ca::check(&der[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = der.clone();
    longer.push(0);
    assert_eq!(ca::check(&longer), Err(NotCa::Unparsable));
    // Every byte changed in a few ways: whatever it gives, it must not panic.
    for index in 0..der.len() {
        for flip in [0x01, 0x80, 0xFF] {
            let mut damaged = der.clone();
            damaged[index] ^= flip;
            let _ = ca::check(&damaged);
        }
    }
    for garbage in [
        &[][..],
        &[0x30],
        &[0x30, 0x80],
        &[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF],
        &[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        &[0x1F, 0x00],
        b"-----BEGIN CERTIFICATE-----",
    ] {
        assert_eq!(ca::check(garbage), Err(NotCa::Unparsable), "{garbage:?}");
    }
}

/// Events as text, recorded by a minimal subscriber.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<String>>>);

struct Text<'a>(&'a mut String);

impl tracing::field::Visit for Text<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl tracing::Subscriber for Events {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = format!("{} {}", event.metadata().level(), event.metadata().target());
        event.record(&mut Text(&mut text));
        self.0.lock().unwrap().push(text);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn ssl_cert_dir_keeps_its_cas_and_skips_a_leaf_with_a_debug_event() {
    let Some(pki) = Pki::new() else {
        return;
    };
    let certs = pki.cert_dir(&["snakeoil", "ca"]);
    let events = Events::default();
    let roots = tracing::subscriber::with_default(events.clone(), || {
        environment_roots(&cert_dir_env(certs.path())).unwrap()
    });
    // The CA twice, under its own name and its hashed name; the snakeoil leaf not at all.
    let ca = pki.der("ca");
    assert_eq!(roots.len(), 2, "{} roots", roots.len());
    assert!(roots.iter().all(|root| *root == ca));
    let events = events.0.lock().unwrap();
    let skipped: Vec<_> = events
        .iter()
        .filter(|event| event.contains("snakeoil"))
        .collect();
    assert!(!skipped.is_empty(), "{events:?}");
    for event in skipped {
        assert!(event.starts_with("DEBUG cygnet_hyper::tls"), "{event}");
        assert!(event.contains("not a CA certificate"), "{event}");
    }
}

#[test]
fn an_ssl_cert_file_without_a_ca_and_a_leaf_given_to_the_builder_are_errors() {
    let Some(pki) = Pki::new() else {
        return;
    };
    let snakeoil = pki.dir.join("snakeoil.pem").display().to_string();
    let file = snakeoil.clone();
    let error =
        environment_roots(&move |name: &str| (name == "SSL_CERT_FILE").then(|| file.clone()))
            .unwrap_err()
            .to_string();
    assert!(
        error.contains(&snakeoil) && error.contains("no CA certificate"),
        "{error}"
    );

    for source in [
        PemSource::File(snakeoil.clone().into()),
        PemSource::Bytes(pki.dir.text("snakeoil.pem").into_bytes()),
    ] {
        let error = client_config(&TlsChoice::FeatureRoots, &[source], |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("certificate 1 of") && error.contains("not a CA certificate"),
            "{error}"
        );
    }
    // A CA and a leaf in one file: the leaf is named, nothing is trusted.
    let both = format!("{}{}", pki.dir.text("ca.pem"), pki.dir.text("snakeoil.pem"));
    let error = client_config(
        &TlsChoice::FeatureRoots,
        &[PemSource::Bytes(both.into_bytes())],
        |_| None,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("certificate 2 of"), "{error}");
}

#[tokio::test]
async fn a_server_certificate_signed_by_a_leaf_in_ssl_cert_dir_is_refused_once() {
    let Some(pki) = Pki::new() else {
        return;
    };
    if NATIVE_STORE {
        eprintln!("rustls-native-certs reads SSL_CERT_DIR in this build; nothing to inject");
        return;
    }
    // Debian's /etc/ssl/certs: the snakeoil leaf and real CAs (here one that issued nothing
    // this server presents).
    let certs = pki.cert_dir(&["snakeoil", "ca"]);
    let (addr, connections) = pki.serve("by-snakeoil").await;
    for (made_by, transport) in default_transports(cert_dir_env(certs.path())) {
        let before = connections.load(Ordering::SeqCst);
        let client = client(&addr, transport);
        let result = bounded(
            "a chat to the snakeoil server",
            client.chat(&seed_request()),
        )
        .await;
        let Err(Error::Transport(error)) = result else {
            panic!("{made_by}: the snakeoil-signed certificate was not refused: {result:?}");
        };
        assert_eq!(error.kind(), TransportErrorKind::Certificate, "{made_by}");
        assert!(!error.is_retryable(), "{made_by}");
        let message = cygnet_core::error::Report::new(&error).to_string();
        assert!(
            message.contains("could not verify the server's certificate after 1 attempt")
                && message.contains("invalid peer certificate")
                && message.contains("UnknownIssuer"),
            "{made_by}: {message}"
        );
        assert!(!message.contains(FAKE_KEY), "{message}");
        assert_eq!(
            connections.load(Ordering::SeqCst) - before,
            1,
            "{made_by}: a refused certificate must not be retried"
        );
    }
}

#[tokio::test]
async fn a_server_certificate_signed_by_a_ca_in_ssl_cert_dir_is_trusted() {
    let Some(pki) = Pki::new() else {
        return;
    };
    if NATIVE_STORE {
        eprintln!("rustls-native-certs reads SSL_CERT_DIR in this build; nothing to inject");
        return;
    }
    let certs = pki.cert_dir(&["snakeoil", "ca"]);
    let (addr, connections) = pki.serve("by-ca").await;
    for (made_by, transport) in default_transports(cert_dir_env(certs.path())) {
        let client = client(&addr, transport);
        let completion = bounded("a chat to the CA's server", client.chat(&seed_request()))
            .await
            .unwrap_or_else(|e| panic!("{made_by}: {e}"));
        assert_eq!(completion.content(), Some("trusted"), "{made_by}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}
