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
//! POST 127.0.0.1:8080: connection broke after 1 attempt, once 12 chunks were delivered: connection reset
//! POST api.grayswan.ai:443: timed out after 3 attempts: no response headers within 5s
//! ```
//!
//! (A transport error's cause, after the last `: `, is its `source()`, shown by a reporter
//! that walks the chain; see the error module's rule.) A stream that fails after some of its
//! chunks reached the caller says how many: those chunks stay delivered, and the call is not
//! re-sent.
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
    delivered: Option<u64>,
}

impl CallContext {
    /// The context of a call to `target` that made `attempts` attempts.
    pub fn new(target: RequestTarget, attempts: u32) -> Self {
        Self {
            target,
            attempts,
            delivered: None,
        }
    }

    /// The method, host and port of the request.
    pub fn target(&self) -> &RequestTarget {
        &self.target
    }

    /// How many attempts the call made, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// How many chunks of a stream reached the caller before the stream failed; `None` for
    /// a call that failed before any did (and for non-streaming calls).
    pub fn delivered(&self) -> Option<u64> {
        self.delivered
    }

    /// Notes that `chunks` chunks reached the caller before the failure.
    pub(crate) fn set_delivered(&mut self, chunks: u64) {
        self.delivered = Some(chunks);
    }

    /// Writes `POST host:port: <what> after N attempt(s)`, and `, once K chunk(s) were
    /// delivered` for a stream that failed after some of its chunks reached the caller.
    pub(crate) fn describe(&self, f: &mut fmt::Formatter<'_>, what: &str) -> fmt::Result {
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "{}: {what} after {} attempt{plural}",
            self.target, self.attempts
        )?;
        match self.delivered {
            Some(1) => f.write_str(", once 1 chunk was delivered"),
            Some(chunks) => write!(f, ", once {chunks} chunks were delivered"),
            None => Ok(()),
        }
    }
}
