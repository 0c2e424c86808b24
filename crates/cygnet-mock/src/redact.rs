//! What a cassette must never hold: [`Redactions`].
//!
//! Three kinds of secret, each removed before anything is written:
//!
//! - **Headers.** Request headers are not written unless asked for
//!   ([`Redactions::record_header`]); response headers only from a short list (content type,
//!   request id, retry headers) plus those asked for. A header named by
//!   [`Redactions::header`], and always `Authorization`, `Proxy-Authorization`, `Cookie`,
//!   `Set-Cookie`, `X-Api-Key`, `Api-Key` and `Grayswan-Api-Key`, is written as
//!   `"<redacted>"` wherever it is written at all.
//! - **Literal values.** The bearer token of each request's `Authorization` header (the API
//!   key), the value of every redacted header, and every string given to
//!   [`Redactions::text`] are replaced by `<redacted>` wherever they occur: bodies, streamed
//!   chunks (also when a value is split across two chunks), header values, error messages.
//! - **JSON fields.** Every object member named by [`Redactions::field`], at any depth of a
//!   JSON request or response body, gets the value `"<redacted>"`. Streamed (server-sent
//!   event) bodies are kept byte for byte, so fields are not looked for inside them; literal
//!   values are.
//!
//! The replaying transport applies the same field and literal redactions to the requests it
//! receives before comparing them with the recorded ones, so a redacted request still
//! matches. The cassette lists the redacted field names, so replay needs only the literal
//! values (and only when they occur in request bodies).

use std::collections::BTreeSet;
use std::fmt;

use http::HeaderMap;
use serde_json::Value;

/// What replaces a redacted value in a cassette.
pub const REDACTED: &str = "<redacted>";

/// Headers that are never written with their value, whatever the configuration says.
const ALWAYS_REDACTED: [&str; 7] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "grayswan-api-key",
];

/// Response headers a cassette keeps by default: the ones the client reads.
pub(crate) const DEFAULT_RESPONSE_HEADERS: [&str; 5] = [
    "content-type",
    "x-request-id",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
];

/// What to keep out of a cassette, and which extra headers to keep in it.
///
/// The defaults already keep the API key, `Authorization` and cookies out; add what your
/// own requests carry. See the [module docs](self) for the exact rules.
///
/// ```
/// use cygnet_mock::Redactions;
///
/// let redactions = Redactions::new()
///     .header("x-tenant-token") // written as "<redacted>"
///     .record_header("x-trace-id") // written as sent
///     .field("user") // any JSON member "user" becomes "<redacted>"
///     .text("acme-internal-hostname.example"); // scrubbed wherever it occurs
/// # let _ = redactions;
/// ```
///
/// Its `Debug` output counts the literal values but never shows them.
#[derive(Clone, Default)]
#[must_use]
pub struct Redactions {
    headers: BTreeSet<String>,
    recorded_headers: BTreeSet<String>,
    fields: BTreeSet<String>,
    texts: Vec<String>,
}

impl Redactions {
    /// The defaults: no request headers, the client's response headers, the API key and
    /// the authentication headers redacted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes header `name` (request or response, case-insensitive) as `"<redacted>"`, and
    /// scrubs its value from everything else written.
    pub fn header(mut self, name: impl AsRef<str>) -> Self {
        self.headers.insert(name.as_ref().to_ascii_lowercase());
        self
    }

    /// Writes header `name` (request or response, case-insensitive) with its value, in
    /// addition to the default response headers. Redacted headers stay redacted.
    pub fn record_header(mut self, name: impl AsRef<str>) -> Self {
        self.recorded_headers
            .insert(name.as_ref().to_ascii_lowercase());
        self
    }

    /// Replaces the value of every JSON object member called `name`, at any depth of a
    /// request or (non-streamed) response body, with `"<redacted>"`.
    pub fn field(mut self, name: impl Into<String>) -> Self {
        self.fields.insert(name.into());
        self
    }

    /// Replaces every occurrence of `secret` in what is written with `<redacted>`. Empty
    /// strings are ignored.
    pub fn text(mut self, secret: impl Into<String>) -> Self {
        let secret = secret.into();
        if !secret.is_empty() && !self.texts.contains(&secret) {
            self.texts.push(secret);
        }
        self
    }

    /// The redacted JSON field names, as a cassette lists them.
    pub(crate) fn field_names(&self) -> Vec<String> {
        self.fields.iter().cloned().collect()
    }

    /// Adds field names read from a cassette.
    pub(crate) fn with_fields(mut self, names: &[String]) -> Self {
        self.fields.extend(names.iter().cloned());
        self
    }

    pub(crate) fn is_redacted_header(&self, name: &str) -> bool {
        ALWAYS_REDACTED.contains(&name) || self.headers.contains(name)
    }

    /// Whether a header is written at all (with its value or redacted).
    pub(crate) fn is_written_header(&self, name: &str, response: bool) -> bool {
        self.headers.contains(name)
            || self.recorded_headers.contains(name)
            || (response && DEFAULT_RESPONSE_HEADERS.contains(&name))
    }

    /// The literal secrets for one request: the configured ones, the bearer token and the
    /// values of its redacted headers. Longest first, so a secret that contains another is
    /// replaced whole.
    pub(crate) fn secrets_for(&self, headers: &HeaderMap) -> Vec<Vec<u8>> {
        let mut secrets: Vec<Vec<u8>> = self.texts.iter().map(|s| s.clone().into_bytes()).collect();
        for (name, value) in headers {
            if !self.is_redacted_header(name.as_str()) {
                continue;
            }
            let value = value.as_bytes();
            secrets.push(value.to_vec());
            // `Bearer <key>`: the key alone may be echoed by a server ("invalid key sk-...").
            if let Some(space) = value.iter().position(|b| *b == b' ') {
                secrets.push(value[space + 1..].to_vec());
            }
        }
        secrets.retain(|s| !s.iter().all(u8::is_ascii_whitespace));
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        secrets
    }

    /// The headers of `headers` that are written, redacted as configured.
    pub(crate) fn written_headers(
        &self,
        headers: &HeaderMap,
        response: bool,
        secrets: &[Vec<u8>],
    ) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        for name in headers.keys() {
            let name = name.as_str();
            if !self.is_written_header(name, response) || out.contains_key(name) {
                continue;
            }
            let value = if self.is_redacted_header(name) {
                REDACTED.to_owned()
            } else {
                let joined: Vec<String> = headers
                    .get_all(name)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect();
                scrub_str(&joined.join(", "), secrets)
            };
            out.insert(name.to_owned(), value);
        }
        out
    }

    /// Redacts the configured fields of `value` and scrubs `secrets` from its strings.
    pub(crate) fn redact_json(&self, value: &mut Value, secrets: &[Vec<u8>]) {
        match value {
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    let Some(mut member) = map.remove(&key) else {
                        continue;
                    };
                    if self.fields.contains(&key) {
                        member = Value::String(REDACTED.to_owned());
                    } else {
                        self.redact_json(&mut member, secrets);
                    }
                    map.insert(scrub_str(&key, secrets), member);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.redact_json(item, secrets);
                }
            }
            Value::String(text) => *text = scrub_str(text, secrets),
            _ => {}
        }
    }
}

impl fmt::Debug for Redactions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactions")
            .field("headers", &self.headers)
            .field("recorded_headers", &self.recorded_headers)
            .field("fields", &self.fields)
            .field("texts", &format_args!("<{} redacted>", self.texts.len()))
            .finish()
    }
}

/// A request's target (path and query) with every secret replaced by [`REDACTED`]: what the
/// recorder writes, and what the replayer matches against it.
pub(crate) fn scrubbed_target(uri: &http::Uri, secrets: &[Vec<u8>]) -> String {
    let target = uri
        .path_and_query()
        .map_or_else(|| uri.path(), |p| p.as_str());
    scrub_str(target, secrets)
}

/// `text` with every secret replaced by [`REDACTED`].
pub(crate) fn scrub_str(text: &str, secrets: &[Vec<u8>]) -> String {
    let bytes = scrub_bytes(text.as_bytes(), secrets);
    // Secrets are replaced whole; a secret that is not itself whole UTF-8 could cut a
    // character, hence lossy.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `bytes` with every secret replaced by [`REDACTED`].
pub(crate) fn scrub_bytes(bytes: &[u8], secrets: &[Vec<u8>]) -> Vec<u8> {
    let mut chunks = vec![bytes.to_vec()];
    scrub_chunks(&mut chunks, secrets);
    chunks.pop().unwrap_or_default()
}

/// Replaces every secret in the concatenation of `chunks` with [`REDACTED`], keeping the
/// chunk boundaries elsewhere: a secret split across chunks is replaced in the chunk where
/// it starts and its rest removed from the chunks after.
pub(crate) fn scrub_chunks(chunks: &mut [Vec<u8>], secrets: &[Vec<u8>]) {
    if secrets.is_empty() {
        return;
    }
    let whole: Vec<u8> = chunks.concat();
    // Matches as (start, end) in `whole`, leftmost first, longest secret first at a start.
    let mut matches = Vec::new();
    let mut at = 0;
    while at < whole.len() {
        match secrets
            .iter()
            .find(|s| !s.is_empty() && whole[at..].starts_with(s))
        {
            Some(secret) => {
                matches.push((at, at + secret.len()));
                at += secret.len();
            }
            None => at += 1,
        }
    }
    if matches.is_empty() {
        return;
    }
    let mut offset = 0;
    let mut next = matches.iter().peekable();
    for chunk in chunks.iter_mut() {
        let start = offset;
        let end = offset + chunk.len();
        offset = end;
        let mut out = Vec::with_capacity(chunk.len());
        let mut pos = start;
        while pos < end {
            match next.peek() {
                Some(&&(m_start, m_end)) if m_start < end => {
                    if m_start >= pos {
                        out.extend_from_slice(&whole[pos..m_start]);
                        out.extend_from_slice(REDACTED.as_bytes());
                    }
                    if m_end <= end {
                        pos = m_end.max(pos);
                        next.next();
                    } else {
                        pos = end;
                    }
                }
                _ => {
                    out.extend_from_slice(&whole[pos..end]);
                    pos = end;
                }
            }
        }
        *chunk = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secrets(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn a_secret_split_across_chunks_is_removed_from_every_chunk() {
        let mut chunks = vec![
            b"key: sk-te".to_vec(),
            b"st-fa".to_vec(),
            b"ke rest sk-test-fake".to_vec(),
        ];
        scrub_chunks(&mut chunks, &secrets(&["sk-test-fake"]));
        assert_eq!(
            chunks,
            vec![
                b"key: <redacted>".to_vec(),
                b"".to_vec(),
                b" rest <redacted>".to_vec()
            ]
        );
    }

    #[test]
    fn bearer_token_and_redacted_header_values_become_secrets() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer sk-test-fake".parse().unwrap());
        headers.insert("x-tenant", "tenant-42".parse().unwrap());
        headers.insert("x-trace", "visible".parse().unwrap());
        let redactions = Redactions::new().header("X-Tenant");
        let found = redactions.secrets_for(&headers);
        for s in ["Bearer sk-test-fake", "sk-test-fake", "tenant-42"] {
            assert!(found.contains(&s.as_bytes().to_vec()), "{s}");
        }
        assert!(!found.contains(&b"visible".to_vec()));
        let written = Redactions::new()
            .header("x-tenant")
            .record_header("authorization")
            .written_headers(&headers, false, &found);
        assert_eq!(written.get("authorization").unwrap(), REDACTED);
        assert_eq!(written.get("x-tenant").unwrap(), REDACTED);
        assert!(!written.contains_key("x-trace"));
    }

    #[test]
    fn debug_output_never_shows_the_literal_values() {
        let redactions = Redactions::new().header("x-tenant").text("s3cret-value");
        let debug = format!("{redactions:?}");
        assert!(!debug.contains("s3cret-value"), "{debug}");
        assert!(
            debug.contains("x-tenant") && debug.contains("<1 redacted>"),
            "{debug}"
        );
    }

    #[test]
    fn fields_are_redacted_at_any_depth_and_strings_scrubbed() {
        let mut value = json!({"user": "alice", "messages": [{"content": "my key is sk-1", "user": {"id": 1}}]});
        Redactions::new()
            .field("user")
            .redact_json(&mut value, &secrets(&["sk-1"]));
        assert_eq!(
            value,
            json!({"user": REDACTED, "messages": [{"content": "my key is <redacted>", "user": REDACTED}]})
        );
    }
}
