//! Options for one call, or for every call of a derived client, and which header names
//! carry credentials ([`is_sensitive_header`]).

use std::fmt;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

/// The names (lower case) of the headers that carry credentials: their values never appear
/// in `Debug` output, and `cygnet-mock` never writes them into a cassette. Check a name with
/// [`is_sensitive_header`].
pub const SENSITIVE_HEADERS: [&str; 8] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "cookie",
    "set-cookie",
    "grayswan-api-key",
    "x-grayswan-api-key",
];

/// Whether header `name` (any case) carries credentials: one of [`SENSITIVE_HEADERS`].
///
/// ```
/// assert!(cygnet::is_sensitive_header("Authorization"));
/// assert!(cygnet::is_sensitive_header("grayswan-api-key"));
/// assert!(!cygnet::is_sensitive_header("x-request-id"));
/// ```
pub fn is_sensitive_header(name: &str) -> bool {
    SENSITIVE_HEADERS
        .iter()
        .any(|sensitive| sensitive.eq_ignore_ascii_case(name))
}

/// Per-call settings: timeouts, retries, extra headers, query parameters and body fields.
///
/// Unset fields fall back to the client's own. Apply them with
/// [`Client::with_options`](crate::Client::with_options), which derives a client that shares
/// the transport (and its connection pool) with the original:
///
/// ```
/// use std::time::Duration;
/// use cygnet::RequestOptions;
///
/// let options = RequestOptions::new()
///     .timeout(Duration::from_secs(5))
///     .max_retries(0)
///     .header("x-trace", "abc")
///     .query("beta", "true")
///     .extra_body("seed", serde_json::json!(7));
/// assert_eq!(options.max_retries, Some(0));
/// ```
///
/// Its `Debug` output shows the value of a header with a [sensitive name](is_sensitive_header),
/// or one marked [sensitive](HeaderValue::set_sensitive), as `***`:
///
/// ```
/// # use cygnet::RequestOptions;
/// let options = RequestOptions::new().header("x-api-key", "sk-test-fake");
/// assert!(!format!("{options:?}").contains("sk-test-fake"));
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Time allowed for one attempt of a non-streaming request (each retry gets it anew; see
    /// [`total_timeout`](Self::total_timeout) for a bound on the whole call).
    pub timeout: Option<Duration>,
    /// Time allowed to open a connection.
    pub connect_timeout: Option<Duration>,
    /// Time allowed for a stream's response headers.
    pub stream_headers_timeout: Option<Duration>,
    /// Time a stream may stay silent between two reads.
    pub stream_idle_timeout: Option<Duration>,
    /// Time a whole stream may take, from sending the request (re-sends included) to its last
    /// event; none unless set. Where the idle timeout stops a server that goes quiet, this
    /// stops one that drips forever.
    pub stream_total_timeout: Option<Duration>,
    /// Time a whole call may take to be answered, across all its attempts and the waits
    /// between them; none unless set. See [`RequestOptions::total_timeout`].
    pub total_timeout: Option<Duration>,
    /// Retries after the first attempt.
    pub max_retries: Option<u32>,
    /// Headers added to the request; they replace headers of the same name.
    pub headers: HeaderMap,
    /// Query parameters appended to the URL.
    pub query: Vec<(String, String)>,
    /// Fields merged into the JSON body; on a clash the extra value wins.
    pub extra_body: serde_json::Map<String, serde_json::Value>,
}

impl fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestOptions")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("stream_headers_timeout", &self.stream_headers_timeout)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .field("stream_total_timeout", &self.stream_total_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("max_retries", &self.max_retries)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("query", &self.query)
            .field("extra_body", &self.extra_body)
            .finish()
    }
}

/// `Debug` for a header map with credentials shown as `***`: the values of headers with a
/// [sensitive name](is_sensitive_header) and of those marked sensitive.
///
/// ```
/// let mut headers = cygnet::http::HeaderMap::new();
/// headers.insert("cookie", "id=s3cret".parse().unwrap());
/// headers.insert("x-trace", "abc".parse().unwrap());
/// let debug = format!("{:?}", cygnet::options::RedactedHeaders(&headers));
/// assert_eq!(debug, r#"{"cookie": "***", "x-trace": "abc"}"#);
/// ```
pub struct RedactedHeaders<'a>(pub &'a HeaderMap);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if value.is_sensitive() || is_sensitive_header(name.as_str()) {
                map.entry(name, &format_args!("\"***\""));
            } else {
                map.entry(name, value);
            }
        }
        map.finish()
    }
}

/// Lists, once, every setter that per-call [`RequestOptions`] and the client builders
/// share, by calling `$callback!` with each one's docs, name and argument; each setter sets
/// the [`RequestOptions`] field of its name. [`RequestOptions`] and
/// [`ClientBuilder`](crate::ClientBuilder) make their setters from this list, and so does
/// cygnet-hyper's blocking builder: a setter added here is on all three, and none can be
/// on one and missing from another. Not part of the public API (hence hidden); to add a
/// per-call option, add its field to [`RequestOptions`] and its line here.
#[doc(hidden)]
#[macro_export]
macro_rules! __shared_option_setters {
    ($callback:ident) => {
        $callback! {
            /// Time allowed for one attempt of a non-streaming request (default 60 s), and
            /// for a stream's response headers unless `stream_headers_timeout` is set.
            timeout(timeout: ::core::time::Duration);
            /// Time allowed to open a connection; enforced by the transport, which
            /// otherwise uses its own default (5 s for cygnet-hyper's, or what its builder
            /// sets).
            connect_timeout(timeout: ::core::time::Duration);
            /// Time allowed for a stream's response headers (default: the request timeout).
            stream_headers_timeout(timeout: ::core::time::Duration);
            /// Time a stream may stay silent between two reads (default 60 s).
            stream_idle_timeout(timeout: ::core::time::Duration);
            /// Time a whole stream may take, from sending the request (re-sends included)
            /// to its last event; none by default. Where the idle timeout stops a server
            /// that goes quiet, this stops one that drips forever. The chunks that arrived
            /// in time stay delivered; then the stream ends with the `StreamTotal` timeout.
            stream_total_timeout(timeout: ::core::time::Duration);
            /// Time a whole call may take to be answered, every attempt and every wait
            /// between attempts included; none by default (a default bound would end calls
            /// that succeed today, so the worst case is yours to choose). `timeout` bounds
            /// one attempt and a timed-out attempt is retried, so without this bound a call
            /// may take up to `(max_retries + 1) × timeout` plus the backoff waits (about
            /// three minutes by default). When it passes, the call ends with the `Total`
            /// timeout naming the bound and the attempts made; a retry whose wait would end
            /// after it is not made. For a stream it covers everything up to the first
            /// event (opening, re-sends and their waits); from then on only the idle timeout
            /// and `stream_total_timeout` apply, so one client-wide bound does not cut short
            /// a long answer that is flowing.
            total_timeout(timeout: ::core::time::Duration);
            /// Retries after the first attempt (default 2; 0 disables).
            max_retries(retries: u32);
        }
    };
}

/// Makes [`RequestOptions`]' setters from the shared list: each sets its field.
macro_rules! option_setters {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty);)*) => {$(
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, $arg: $ty) -> Self {
            self.$name = Some($arg);
            self
        }
    )*};
}

impl RequestOptions {
    /// Options with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    crate::__shared_option_setters!(option_setters);

    /// Adds a header. A header with a [sensitive name](is_sensitive_header) is marked
    /// [sensitive](HeaderValue::set_sensitive), so transports keep it out of compression
    /// tables too.
    ///
    /// # Panics
    /// Panics if the name or value is not a valid header; use [`RequestOptions::try_header`]
    /// for values that come from outside the program.
    #[must_use]
    pub fn header(self, name: &'static str, value: &str) -> Self {
        self.try_header(name, value)
            .expect("RequestOptions::header: invalid header name or value")
    }

    /// Adds a header, failing on an invalid name or value.
    ///
    /// # Errors
    ///
    /// The [`http::Error`] of a name or value that is not a valid header.
    pub fn try_header(mut self, name: &str, value: &str) -> Result<Self, http::Error> {
        let name = HeaderName::try_from(name)?;
        let mut value = HeaderValue::try_from(value)?;
        if is_sensitive_header(name.as_str()) {
            value.set_sensitive(true);
        }
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Appends a query parameter.
    #[must_use]
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Merges a field into the JSON body (the extra value wins over the typed one).
    #[must_use]
    pub fn extra_body(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.extra_body.insert(key.into(), value);
        self
    }

    /// These options with `other`'s set fields laid over them.
    #[must_use]
    pub fn merged_with(&self, other: &RequestOptions) -> RequestOptions {
        let mut merged = self.clone();
        merged.timeout = other.timeout.or(self.timeout);
        merged.connect_timeout = other.connect_timeout.or(self.connect_timeout);
        merged.stream_headers_timeout =
            other.stream_headers_timeout.or(self.stream_headers_timeout);
        merged.stream_idle_timeout = other.stream_idle_timeout.or(self.stream_idle_timeout);
        merged.stream_total_timeout = other.stream_total_timeout.or(self.stream_total_timeout);
        merged.total_timeout = other.total_timeout.or(self.total_timeout);
        merged.max_retries = other.max_retries.or(self.max_retries);
        for (name, value) in &other.headers {
            merged.headers.insert(name.clone(), value.clone());
        }
        merged.query.extend(other.query.iter().cloned());
        for (key, value) in &other.extra_body {
            merged.extra_body.insert(key.clone(), value.clone());
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRETS: [(&str, &str); 8] = [
        ("authorization", "Bearer sk-test-auth"),
        ("proxy-authorization", "Basic cHJveHk6c2stdGVzdA=="),
        ("x-api-key", "sk-test-x-api"),
        ("api-key", "sk-test-api"),
        ("cookie", "session=sk-test-cookie"),
        ("set-cookie", "id=sk-test-set-cookie"),
        ("grayswan-api-key", "sk-test-grayswan"),
        ("x-grayswan-api-key", "sk-test-x-grayswan"),
    ];

    #[test]
    fn every_sensitive_header_is_hidden_in_the_debug_of_options() {
        let mut options = RequestOptions::new().header("x-trace", "trace-visible");
        for (name, value) in SECRETS {
            assert!(is_sensitive_header(name), "{name}");
            assert!(is_sensitive_header(&name.to_ascii_uppercase()), "{name}");
            options = options.try_header(name, value).unwrap();
            assert!(options.headers[name].is_sensitive(), "{name}");
        }
        // A sensitive value under a name not on the list stays hidden too.
        let mut marked = HeaderValue::from_static("sk-test-marked");
        marked.set_sensitive(true);
        options.headers.insert("x-custom-token", marked);
        let merged = options.merged_with(&RequestOptions::new().header("cookie", "c=sk-test-call"));
        for debug in [format!("{options:?}"), format!("{merged:?}")] {
            assert!(!debug.contains("sk-test"), "{debug}");
            assert!(!debug.contains("cHJveHk"), "{debug}");
            assert!(debug.contains("trace-visible"), "{debug}");
            assert!(debug.contains(r#""x-api-key": "***""#), "{debug}");
        }
    }

    #[test]
    fn names_not_on_the_list_are_shown() {
        for name in [
            "x-request-id",
            "content-type",
            "x-api-keys",
            "authorizations",
        ] {
            assert!(!is_sensitive_header(name), "{name}");
        }
        let options = RequestOptions::new().header("x-request-id", "req_1");
        assert!(!options.headers["x-request-id"].is_sensitive());
        assert!(format!("{options:?}").contains(r#""x-request-id": "req_1""#));
    }
}
