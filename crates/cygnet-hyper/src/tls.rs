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
    /// The certificates in this source; at least one.
    fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, Error> {
        match self {
            Self::Bytes(bytes) => parse_pem(bytes, "the PEM given to add_root_certificates_pem"),
            Self::File(path) => read_pem_file(path, "the root certificate file"),
        }
    }
}

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
            // With `native-roots` alone, rustls-native-certs already reads SSL_CERT_FILE and
            // SSL_CERT_DIR with the OS store; reading them again would add each certificate
            // twice, under a second, stricter policy.
            if !cfg!(all(
                feature = "native-roots",
                not(feature = "platform-verifier")
            )) {
                extra_roots.extend(environment_roots(&lookup)?);
            }
            feature_config(extra_roots)
        }
    }
}

/// The certificates `SSL_CERT_FILE` and `SSL_CERT_DIR` name, if they are set.
fn environment_roots(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let mut found = Vec::new();
    if let Some(file) = lookup("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        found.extend(read_pem_file(Path::new(&file), "SSL_CERT_FILE")?);
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
                // certificates in it count.
                if let Ok(bytes) = std::fs::read(&path) {
                    found.extend(
                        CertificateDer::pem_slice_iter(&bytes)
                            .filter_map(Result::ok)
                            .map(CertificateDer::into_owned),
                    );
                }
            }
        }
    }
    Ok(found)
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

/// Adds every certificate to `roots`; one that is not a usable CA certificate is an error.
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

/// The platform's verifier and store, plus `extra_roots`.
#[cfg(feature = "platform-verifier")]
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
#[cfg(not(feature = "platform-verifier"))]
fn feature_config(extra_roots: Vec<CertificateDer<'static>>) -> Result<ClientConfig, Error> {
    #[allow(unused_mut)]
    let mut roots = RootCertStore::empty();
    #[allow(unused_mut)]
    let mut problems: Vec<String> = Vec::new();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    {
        let found = rustls_native_certs::load_native_certs();
        problems.extend(found.errors.iter().map(|e| e.to_string()));
        roots.add_parsable_certificates(found.certs);
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
