//! Whether a certificate may be a trust anchor: a minimal DER walk to its `basicConstraints`
//! and `keyUsage` extensions.
//!
//! rustls and webpki take any certificate as a trust anchor (a root keeps only its name and
//! key) and expose no parser for the extensions, and no X.509 parser is otherwise in the
//! dependency tree. The walk reads only what the check needs: the outer `Certificate` and
//! `TBSCertificate` sequences, skips the fields before the extensions by their tags, and
//! reads two extensions. It never recurses, reads only single-byte tags and definite lengths
//! of at most four bytes, checks every length against the bytes left, and indexes only
//! through checked slice access: garbage gives [`NotCa::Unparsable`], never a panic, in time
//! linear in the input. The signature is not checked here; webpki checks the chain.

use std::fmt;

/// Why a certificate is not taken as a trust anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotCa {
    /// It says `CA:FALSE`, or has no `basicConstraints` extension at all (a leaf, or a
    /// version 1 certificate, which has no extensions).
    NotMarkedCa,
    /// Its `keyUsage` does not include `keyCertSign`.
    CannotSignCertificates,
    /// Its DER is not an X.509 certificate this walk can read.
    Unparsable,
}

impl fmt::Display for NotCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotMarkedCa => "not a CA certificate (its basicConstraints does not say CA:TRUE)",
            Self::CannotSignCertificates => {
                "not a CA certificate (its keyUsage does not allow signing certificates)"
            }
            Self::Unparsable => "not a readable X.509 certificate",
        })
    }
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BOOLEAN: u8 = 0x01;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
/// `[0] EXPLICIT Version` of a `TBSCertificate`.
const VERSION: u8 = 0xA0;
/// `[3] EXPLICIT Extensions` of a `TBSCertificate`.
const EXTENSIONS: u8 = 0xA3;
/// `id-ce-basicConstraints`, 2.5.29.19.
const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1D, 0x13];
/// `id-ce-keyUsage`, 2.5.29.15.
const KEY_USAGE: &[u8] = &[0x55, 0x1D, 0x0F];
/// `keyCertSign` is bit 5 of `KeyUsage`, counted from the first octet's top bit.
const KEY_CERT_SIGN: u8 = 0x80 >> 5;

/// `Ok` when `der` is a certificate that says `basicConstraints` `CA:TRUE` and, if it has
/// a `keyUsage`, allows `keyCertSign`: the test OpenSSL applies to an issuer, without its
/// allowance for version 1 self-signed certificates.
pub(crate) fn check(der: &[u8]) -> Result<(), NotCa> {
    let (ca, key_cert_sign) = read_extensions(der).ok_or(NotCa::Unparsable)?;
    if ca != Some(true) {
        return Err(NotCa::NotMarkedCa);
    }
    if key_cert_sign == Some(false) {
        return Err(NotCa::CannotSignCertificates);
    }
    Ok(())
}

/// The `cA` flag of `basicConstraints` and the `keyCertSign` bit of `keyUsage`, each `None`
/// when the extension is absent; `None` overall when `der` cannot be read.
fn read_extensions(der: &[u8]) -> Option<(Option<bool>, Option<bool>)> {
    let mut outer = Reader(der);
    let certificate = outer.expect(SEQUENCE)?;
    if !outer.is_empty() {
        return None;
    }
    let mut certificate = Reader(certificate);
    let mut tbs = Reader(certificate.expect(SEQUENCE)?);
    if tbs.peek() == Some(VERSION) {
        tbs.next()?;
    }
    // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo.
    for tag in [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE] {
        tbs.expect(tag)?;
    }
    // What is left: the optional issuerUniqueID [1], subjectUniqueID [2] and extensions [3].
    let mut extensions = None;
    while !tbs.is_empty() {
        let (tag, content) = tbs.next()?;
        if tag == EXTENSIONS {
            extensions = Some(content);
        }
    }
    let (mut ca, mut key_cert_sign) = (None, None);
    let Some(extensions) = extensions else {
        return Some((ca, key_cert_sign));
    };
    let mut list = Reader(Reader(extensions).expect_all(SEQUENCE)?);
    while !list.is_empty() {
        let mut extension = Reader(list.expect(SEQUENCE)?);
        let id = extension.expect(OID)?;
        if extension.peek() == Some(BOOLEAN) {
            extension.next()?;
        }
        let value = extension.expect(OCTET_STRING)?;
        if !extension.is_empty() {
            return None;
        }
        // A repeated extension makes the certificate invalid (RFC 5280, 4.2).
        if id == BASIC_CONSTRAINTS {
            if ca.is_some() {
                return None;
            }
            ca = Some(basic_constraints_ca(value)?);
        } else if id == KEY_USAGE {
            if key_cert_sign.is_some() {
                return None;
            }
            key_cert_sign = Some(key_usage_cert_sign(value)?);
        }
    }
    Some((ca, key_cert_sign))
}

/// `BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER
/// OPTIONAL }`.
fn basic_constraints_ca(value: &[u8]) -> Option<bool> {
    let mut constraints = Reader(Reader(value).expect_all(SEQUENCE)?);
    if constraints.peek() != Some(BOOLEAN) {
        return Some(false);
    }
    let flag = constraints.expect(BOOLEAN)?;
    match flag {
        [0x00] => Some(false),
        [_] => Some(true),
        _ => None,
    }
}

/// `KeyUsage ::= BIT STRING`: its first content octet counts the unused bits.
fn key_usage_cert_sign(value: &[u8]) -> Option<bool> {
    let bits = Reader(value).expect_all(BIT_STRING)?;
    match bits {
        [] => None,
        [_unused] => Some(false),
        [_unused, first, ..] => Some(first & KEY_CERT_SIGN != 0),
    }
}

/// DER elements one after another in a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    /// The next element's tag and content.
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        // High tag numbers (low five bits all set) never occur in the fields read here.
        if tag & 0x1F == 0x1F {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let length = if first < 0x80 {
            usize::from(first)
        } else {
            // Long form with one to four length octets; 0x80 (indefinite) is not DER.
            let count = usize::from(first & 0x7F);
            if count == 0 || count > 4 {
                return None;
            }
            let (octets, after) = rest.split_at_checked(count)?;
            rest = after;
            octets
                .iter()
                .fold(0usize, |length, &octet| (length << 8) | usize::from(octet))
        };
        let (content, after) = rest.split_at_checked(length)?;
        self.0 = after;
        Some((tag, content))
    }

    /// The next element's content, if its tag is `tag`.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (found, content) if found == tag => Some(content),
            _ => None,
        }
    }

    /// The content of the only element, if its tag is `tag`.
    fn expect_all(mut self, tag: u8) -> Option<&'a [u8]> {
        let content = self.expect(tag)?;
        self.is_empty().then_some(content)
    }
}
