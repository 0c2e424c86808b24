//! TLS for the transport: which certificates are trusted, and the rustls configuration.
//!
//! # What is trusted
//! Unless the builder is given its own roots or a whole rustls configuration, the transport
//! trusts:
//! - the roots the cargo features choose: the bundled Mozilla roots (`webpki-roots`, default)
//!   and/or the platform's store (`native-roots`, through rustls-native-certs, which reads
//!   `SSL_CERT_FILE` / `SSL_CERT_DIR` instead of the system store when they are set); with the
//!   `platform-verifier` feature, the operating system's own verifier and store instead
//!   (rustls-platform-verifier), for machines whose corporate CA is installed there;
//! - the certificates in the file `SSL_CERT_FILE` names and in the directories `SSL_CERT_DIR`
//!   names (`:`-separated), as extra roots, in every build, as the official client does;
//! - extra roots given with
//!   [`add_root_certificates_pem`](crate::HyperTransportBuilder::add_root_certificates_pem) or
//!   [`add_root_certificates_pem_file`](crate::HyperTransportBuilder::add_root_certificates_pem_file).
//!
//! A file that cannot be read, or holds no certificate, is an error that names it, never a
//! silently smaller trust store.
//!
//! # Only CA certificates become roots
//! rustls keeps of a root only its name and key, so any certificate given to it as a root can
//! issue certificates, a leaf included. A certificate is therefore taken as a root only if it
//! is a CA certificate: its `basicConstraints` says `CA:TRUE`, and its `keyUsage`, if it has
//! one, allows `keyCertSign`. That is the test OpenSSL (`-CApath`, `curl --capath`) makes of
//! an issuer, without OpenSSL's allowance for version 1 self-signed certificates (which have
//! no extensions): those are refused here too. Without the test, a leaf in `SSL_CERT_DIR`,
//! such as Debian's `/etc/ssl/certs/ssl-cert-snakeoil.pem` whose key the `ssl-cert` group can
//! read, could sign a certificate for any host.
//! - In `SSL_CERT_FILE`, `SSL_CERT_DIR` and the platform's store (`native-roots`), a
//!   certificate that is not a CA is skipped and reported as a `tracing` debug event (target
//!   `cygnet_hyper::tls`) naming where it was and why; an `SSL_CERT_FILE` that holds
//!   certificates but no CA certificate is an error.
//! - Every certificate given to
//!   [`add_root_certificates_pem`](crate::HyperTransportBuilder::add_root_certificates_pem)
//!   or
//!   [`add_root_certificates_pem_file`](crate::HyperTransportBuilder::add_root_certificates_pem_file)
//!   must be a CA certificate; one that is not is an error naming it. A certificate that is
//!   not a CA (say, a self-signed server certificate to pin) can still be trusted on purpose
//!   by putting it in the `RootCertStore` given to
//!   [`root_certificates`](crate::HyperTransportBuilder::root_certificates), which is used as
//!   it is, as is a whole configuration given to
//!   [`tls_config`](crate::HyperTransportBuilder::tls_config).
//! - The bundled Mozilla roots are trusted as they are.
//! - With `platform-verifier` on Windows, Apple systems and Android, the operating system's
//!   verifier decides with its own store and rules. On the other Unix systems
//!   rustls-platform-verifier is webpki over the store rustls-native-certs reads (which is
//!   `SSL_CERT_FILE`/`SSL_CERT_DIR` when they are set); there the transport reads that store
//!   itself, as with `native-roots`, so that the same test applies.
//!
//! The test reads the two extensions with a minimal DER walk of the certificate: rustls and
//! webpki expose no parser for them, and no X.509 parser is otherwise among the dependencies.
//! The walk is bounded, never recurses, and treats anything it cannot read as "not a CA".

mod ca;
#[cfg(test)]
mod openssl_tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cygnet_core::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// Where the builder takes its certificate verification from.
#[derive(Clone, Debug)]
pub(crate) enum TlsChoice {
    /// The roots the cargo features select (or the platform verifier), plus the environment's.
    FeatureRoots,
    /// Exactly these roots.
    Roots(RootCertStore),
    /// This configuration as it is.
    Config(Box<ClientConfig>),
}

/// Extra root certificates in PEM form, read when the transport is built.
#[derive(Clone)]
pub(crate) enum PemSource {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes(bytes) => write!(f, "Pem({} bytes)", bytes.len()),
            Self::File(path) => write!(f, "PemFile({})", path.display()),
        }
    }
}

impl PemSource {
    /// The certificates in this source; at least one, each a CA certificate.
    fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, Error> {
        match self {
            Self::Bytes(bytes) => {
                let what = "the PEM given to add_root_certificates_pem";
                require_cas(parse_pem(bytes, what)?, what)
            }
            Self::File(path) => {
                let what = format!("the root certificate file {}", path.display());
                require_cas(read_pem_file(path, "the root certificate file")?, &what)
            }
        }
    }
}

/// Whether rustls-native-certs reads the roots, and with them `SSL_CERT_FILE` and
/// `SSL_CERT_DIR`: with `native-roots`, and with `platform-verifier` on the systems where
/// that verifier is webpki over rustls-native-certs' store.
const NATIVE_STORE: bool = cfg!(any(
    all(feature = "native-roots", not(feature = "platform-verifier")),
    all(
        feature = "platform-verifier",
        unix,
        not(target_os = "android"),
        not(target_vendor = "apple")
    )
));

/// The rustls configuration for `choice` with `extra` roots, the environment read through
/// `lookup`.
pub(crate) fn client_config(
    choice: &TlsChoice,
    extra: &[PemSource],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<ClientConfig, Error> {
    let mut extra_roots = Vec::new();
    for source in extra {
        extra_roots.extend(source.certificates()?);
    }
    match choice {
        TlsChoice::Config(config) => {
            if !extra_roots.is_empty() {
                return Err(Error::Config(
                    "extra root certificates cannot be added to a complete rustls configuration \
                     given with tls_config: add them to its verifier instead"
                        .into(),
                ));
            }
            Ok((**config).clone())
        }
        TlsChoice::Roots(roots) => {
            let mut roots = roots.clone();
            add_all(&mut roots, extra_roots, "an extra root certificate")?;
            Ok(config_with_roots(roots))
        }
        TlsChoice::FeatureRoots => {
            // rustls-native-certs already reads SSL_CERT_FILE and SSL_CERT_DIR instead of the
            // OS store when they are set; reading them again would add each certificate twice.
            if !NATIVE_STORE {
                extra_roots.extend(environment_roots(&lookup)?);
            }
            feature_config(extra_roots)
        }
    }
}

/// The CA certificates `SSL_CERT_FILE` and `SSL_CERT_DIR` name, if they are set; the others
/// are skipped (see the module docs).
fn environment_roots(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let mut found = Vec::new();
    if let Some(file) = lookup("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        let what = format!("SSL_CERT_FILE {file}");
        let certificates = read_pem_file(Path::new(&file), "SSL_CERT_FILE")?;
        let count = certificates.len();
        let (cas, first_refusal) = only_cas(certificates, &what);
        if let (true, Some(why)) = (cas.is_empty(), first_refusal) {
            return Err(Error::Config(format!(
                "{what} holds no CA certificate: none of its {count} certificate(s) can be \
                 trusted as a root, the first is {why}"
            )));
        }
        found.extend(cas);
    }
    if let Some(dirs) = lookup("SSL_CERT_DIR").filter(|v| !v.is_empty()) {
        for dir in dirs.split(':').filter(|d| !d.is_empty()) {
            let entries = std::fs::read_dir(dir).map_err(|e| {
                Error::Config(format!(
                    "SSL_CERT_DIR names {dir}, which could not be read: {e}"
                ))
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                // A certificate directory also holds CRLs and other files; only the
                // certificates in it count, and of those only the CA certificates.
                if let Ok(bytes) = std::fs::read(&path) {
                    let certificates = CertificateDer::pem_slice_iter(&bytes)
                        .filter_map(Result::ok)
                        .map(CertificateDer::into_owned);
                    let what = format!("SSL_CERT_DIR file {}", path.display());
                    found.extend(only_cas(certificates, &what).0);
                }
            }
        }
    }
    Ok(found)
}

/// The CA certificates of `certificates`, read from `what`; each other one is reported as a
/// debug event and left out. Also the reason the first was left out, if one was.
fn only_cas(
    certificates: impl IntoIterator<Item = CertificateDer<'static>>,
    what: &str,
) -> (Vec<CertificateDer<'static>>, Option<ca::NotCa>) {
    let mut cas = Vec::new();
    let mut first_refusal = None;
    for (index, certificate) in certificates.into_iter().enumerate() {
        match ca::check(&certificate) {
            Ok(()) => cas.push(certificate),
            Err(why) => {
                tracing::debug!(
                    source = what,
                    certificate = index + 1,
                    reason = %why,
                    "certificate {} of {what} is not trusted as a root: it is {why}",
                    index + 1,
                );
                first_refusal.get_or_insert(why);
            }
        }
    }
    (cas, first_refusal)
}

/// `certificates`, read from `what`, if every one is a CA certificate; an error naming the
/// first that is not otherwise.
fn require_cas(
    certificates: Vec<CertificateDer<'static>>,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    for (index, certificate) in certificates.iter().enumerate() {
        ca::check(certificate).map_err(|why| {
            Error::Config(format!(
                "certificate {} of {what} cannot be trusted as a root: it is {why} (a \
                 certificate that is not a CA can only be trusted through root_certificates)",
                index + 1
            ))
        })?;
    }
    Ok(certificates)
}

/// Reads the PEM certificates of `path`; `what` says where the path came from.
fn read_pem_file(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Config(format!("{what} {} could not be read: {e}", path.display())))?;
    parse_pem(&bytes, &format!("{what} {}", path.display()))
}

/// The certificates in `pem`; an error naming `what` when there is none or one is broken.
fn parse_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Config(format!("{what} is not valid PEM: {e}")))?;
    if certificates.is_empty() {
        return Err(Error::Config(format!(
            "{what} holds no certificate (expected -----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(certificates)
}

/// Adds every certificate to `roots`; one that webpki cannot take as a root is an error.
fn add_all(
    roots: &mut RootCertStore,
    certificates: Vec<CertificateDer<'static>>,
    what: &str,
) -> Result<(), Error> {
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|e| Error::Config(format!("{what} cannot be trusted as a root: {e}")))?;
    }
    Ok(())
}

/// The operating system's verifier and store, plus `extra_roots`.
#[cfg(all(
    feature = "platform-verifier",
    not(all(unix, not(target_os = "android"), not(target_vendor = "apple")))
))]
fn feature_config(extra_roots: Vec<CertificateDer<'static>>) -> Result<ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone())
            .map_err(|e| {
                Error::Config(format!(
                    "the platform's certificate verifier could not be set up: {e}"
                ))
            })?;
    Ok(ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        // See `config_with_roots`.
        .expect("the ring provider supports rustls's default protocol versions")
        .dangerous()
        // "dangerous" only because rustls cannot check a custom verifier; this one is the
        // platform's full verification.
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// The roots chosen by the cargo features (bundled, platform's, or both) plus `extra_roots`.
///
/// With `platform-verifier` this is only compiled where that verifier is webpki over
/// rustls-native-certs' store, and then trusts that store alone, as the verifier would.
#[cfg(not(all(
    feature = "platform-verifier",
    not(all(unix, not(target_os = "android"), not(target_vendor = "apple")))
)))]
fn feature_config(extra_roots: Vec<CertificateDer<'static>>) -> Result<ClientConfig, Error> {
    #[allow(unused_mut)]
    let mut roots = RootCertStore::empty();
    #[allow(unused_mut)]
    let mut problems: Vec<String> = Vec::new();
    #[cfg(all(feature = "webpki-roots", not(feature = "platform-verifier")))]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if NATIVE_STORE {
        native_roots(&mut roots, &mut problems);
    }
    add_all(&mut roots, extra_roots, "an extra root certificate")?;
    if roots.is_empty() {
        let mut message = String::from(
            "no TLS root certificates: enable the `webpki-roots`, `native-roots` or \
             `platform-verifier` feature of cygnet-hyper, or give roots with \
             HyperTransportBuilder::root_certificates or add_root_certificates_pem",
        );
        if !problems.is_empty() {
            message.push_str(" (loading the platform's roots failed: ");
            message.push_str(&problems.join("; "));
            message.push(')');
        }
        return Err(Error::Config(message));
    }
    Ok(config_with_roots(roots))
}

/// Adds the CA certificates of the platform's store (or of `SSL_CERT_FILE`/`SSL_CERT_DIR`,
/// which rustls-native-certs reads instead when they are set) to `roots`.
#[cfg(any(feature = "native-roots", feature = "platform-verifier"))]
fn native_roots(roots: &mut RootCertStore, problems: &mut Vec<String>) {
    let found = rustls_native_certs::load_native_certs();
    problems.extend(found.errors.iter().map(|e| e.to_string()));
    let (cas, _) = only_cas(found.certs, "the platform's certificate store");
    roots.add_parsable_certificates(cas);
}

#[cfg(not(any(feature = "native-roots", feature = "platform-verifier")))]
fn native_roots(_: &mut RootCertStore, _: &mut Vec<String>) {}

/// A rustls configuration on the `ring` provider that trusts `roots`.
///
/// The provider is named explicitly: rustls's process-wide default is ambiguous (and
/// `ClientConfig::builder` panics) when another crate in the tree also enables aws-lc-rs.
pub(crate) fn config_with_roots(roots: RootCertStore) -> ClientConfig {
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        // Independent of any input: ring implements every version rustls enables by default,
        // and rustls's own tests pin that.
        .expect("the ring provider supports rustls's default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut params = params;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn pem_bytes_add_roots_to_given_ones() {
        let pem = ca_pem();
        let config = client_config(
            &TlsChoice::Roots(RootCertStore::empty()),
            &[PemSource::Bytes(pem.clone().into_bytes())],
            no_env,
        );
        assert!(config.is_ok());
    }

    #[test]
    fn missing_or_empty_files_are_errors_naming_them() {
        let missing = PemSource::File("/nonexistent/corp-ca.pem".into());
        let error = client_config(&TlsChoice::FeatureRoots, &[missing], no_env).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/corp-ca.pem"),
            "{error}"
        );

        let error = client_config(
            &TlsChoice::FeatureRoots,
            &[PemSource::Bytes(b"not a certificate".to_vec())],
            no_env,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("holds no certificate"),
            "{error}"
        );
    }

    #[test]
    fn ssl_cert_file_is_read_and_an_unreadable_one_is_an_error() {
        let dir = std::env::temp_dir().join(format!("cygnet-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ca.pem");
        std::fs::write(&file, ca_pem()).unwrap();
        let path = file.to_string_lossy().into_owned();
        let roots =
            environment_roots(&|name: &str| (name == "SSL_CERT_FILE").then(|| path.clone()))
                .unwrap();
        assert_eq!(roots.len(), 1);
        let dir_path = dir.to_string_lossy().into_owned();
        let roots =
            environment_roots(&|name: &str| (name == "SSL_CERT_DIR").then(|| dir_path.clone()))
                .unwrap();
        assert_eq!(roots.len(), 1);
        let error = environment_roots(&|name: &str| {
            (name == "SSL_CERT_FILE").then(|| "/nonexistent/ca.pem".to_owned())
        })
        .unwrap_err();
        assert!(error.to_string().contains("SSL_CERT_FILE"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn extra_roots_cannot_be_added_to_a_full_config() {
        let config = config_with_roots(RootCertStore::empty());
        let error = client_config(
            &TlsChoice::Config(Box::new(config)),
            &[PemSource::Bytes(ca_pem().into_bytes())],
            no_env,
        )
        .unwrap_err();
        assert!(error.to_string().contains("tls_config"), "{error}");
    }
}
