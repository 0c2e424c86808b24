//! Where a call went and how often it tried: the context of the errors that end a call.
//!
//! A transport reports only what failed and why (a
//! [`TransportErrorKind`](crate::TransportErrorKind) and a cause); the
//! retry engine adds, to the error that ends the call, the request's method, host and port
//! ([`RequestTarget`]) and the number of attempts it made ([`CallContext`]). Each kind of
//! failure has one wording (the transport module's for transport failures, "timed out" for the
//! client's deadlines), so the same root cause reads the same whatever the transport:
//!
//! ```text
//! POST api.grayswan.ai:443: could not connect after 3 attempts: dns error: ...
//! POST 127.0.0.1:8080: connection broke after 1 attempt: connection reset
//! POST api.grayswan.ai:443: timed out after 3 attempts: no response headers within 5s
//! ```
//!
//! The target holds the host and port only: never the URL's userinfo, path or query, and so
//! never a credential.

use std::fmt;

use http::{Method, Uri};

/// The words for a deadline that passed, the client's or a transport's.
pub(crate) const TIMED_OUT: &str = "timed out";

/// The method, host and port a request went to; shown as `POST api.grayswan.ai:443`.
///
/// ```
/// use cygnet::RequestTarget;
/// let uri: cygnet::http::Uri = "https://api.grayswan.ai/chat/completion".parse().unwrap();
/// let target = RequestTarget::from_uri(&cygnet::http::Method::POST, &uri);
/// assert_eq!(target.to_string(), "POST api.grayswan.ai:443");
/// assert_eq!(target.port(), Some(443));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestTarget {
    method: Method,
    host: String,
    port: Option<u16>,
}

impl RequestTarget {
    /// The target of a request with `method` to `uri`: its host and port (the scheme's
    /// default port when the URI names none), never its userinfo.
    pub fn from_uri(method: &Method, uri: &Uri) -> Self {
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
            Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
            _ => None,
        });
        Self {
            method: method.clone(),
            host: uri.host().unwrap_or("").to_owned(),
            port,
        }
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The host, as the URL names it (an IPv6 address in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, explicit or the scheme's default; `None` for a URI without a known scheme.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl fmt::Display for RequestTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// Where a call went and how many attempts it made: carried by the transport or timeout
/// error that ended the call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CallContext {
    target: RequestTarget,
    attempts: u32,
}

impl CallContext {
    /// The context of a call to `target` that made `attempts` attempts.
    pub fn new(target: RequestTarget, attempts: u32) -> Self {
        Self { target, attempts }
    }

    /// The method, host and port of the request.
    pub fn target(&self) -> &RequestTarget {
        &self.target
    }

    /// How many attempts the call made, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Writes `POST host:port: <what> after N attempt(s)`.
    pub(crate) fn describe(&self, f: &mut fmt::Formatter<'_>, what: &str) -> fmt::Result {
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "{}: {what} after {} attempt{plural}",
            self.target, self.attempts
        )
    }
}
