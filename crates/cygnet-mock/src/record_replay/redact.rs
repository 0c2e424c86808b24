//! What a cassette must never hold: [`Redactions`].
//!
//! Three kinds of secret, each removed before anything is written:
//!
//! - **Headers.** Request headers are not written unless asked for
//!   ([`Redactions::record_header`]); response headers only from a short list (content type,
//!   request id, retry headers) plus those asked for. A header named by
//!   [`Redactions::header`], and always those that carry credentials
//!   ([`cygnet_core::SENSITIVE_HEADERS`]: `Authorization`, `Proxy-Authorization`, `X-Api-Key`,
//!   `Api-Key`, `Cookie`, `Set-Cookie`, `Grayswan-Api-Key`, `X-Grayswan-Api-Key`), is written
//!   as `"<redacted>"` wherever it is written at all.
//! - **Literal values.** The value of each of a request's redacted headers (the API key among
//!   them; for `Bearer <key>` and other `<scheme> <token>` values the token alone too), and
//!   every string given to [`Redactions::text`], are replaced by `<redacted>` wherever they
//!   occur: bodies, streamed chunks, the path and query, header values, error messages. They
//!   are found as they are, percent-encoded (`%2F` or `%2f`, `+` for a space), JSON-escaped
//!   (`\/`, `\"`, `\\`, `\u002F`), split across chunks, and, at the end of a streamed body or
//!   one cut short, even when only their beginning arrived.
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
/// use cygnet::mock::Redactions;
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
        cygnet_core::is_sensitive_header(name) || self.headers.contains(name)
    }

    /// Whether a header is written at all (with its value or redacted).
    pub(crate) fn is_written_header(&self, name: &str, response: bool) -> bool {
        self.headers.contains(name)
            || self.recorded_headers.contains(name)
            || (response && DEFAULT_RESPONSE_HEADERS.contains(&name))
    }

    /// The literal secrets for one request: the configured ones and the values of its
    /// redacted headers (for `<scheme> <token>`, the token alone too).
    pub(crate) fn secrets_for(&self, headers: &HeaderMap) -> Secrets {
        let mut secrets: Vec<&[u8]> = self.texts.iter().map(|s| s.as_bytes()).collect();
        for (name, value) in headers {
            if !self.is_redacted_header(name.as_str()) {
                continue;
            }
            let value = value.as_bytes();
            secrets.push(value);
            // `Bearer <key>`: the key alone may be echoed by a server ("invalid key sk-...").
            if let Some(space) = value.iter().position(|b| *b == b' ') {
                secrets.push(&value[space + 1..]);
            }
        }
        Secrets::new(secrets)
    }

    /// The headers of `headers` that are written, redacted as configured.
    pub(crate) fn written_headers(
        &self,
        headers: &HeaderMap,
        response: bool,
        secrets: &Secrets,
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
                secrets.scrub_str(&joined.join(", "))
            };
            out.insert(name.to_owned(), value);
        }
        out
    }

    /// Redacts the configured fields of `value` and scrubs `secrets` from its strings.
    pub(crate) fn redact_json(&self, value: &mut Value, secrets: &Secrets) {
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
                    map.insert(secrets.scrub_str(&key), member);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.redact_json(item, secrets);
                }
            }
            Value::String(text) => *text = secrets.scrub_str(text),
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
pub(crate) fn scrubbed_target(uri: &http::Uri, secrets: &Secrets) -> String {
    let target = uri
        .path_and_query()
        .map_or_else(|| uri.path(), |p| p.as_str());
    secrets.scrub_str(target)
}

/// The literal values that must never reach a cassette (an API key, a provider's key, the
/// value of a redacted header, a [`Redactions::text`]), found by the client's own rule,
/// [`cygnet_core::redact::Secrets`], in every form they take in what is written: as they
/// are, percent-encoded (`+` for a space), JSON-escaped (surrogate pairs beyond the basic
/// plane), and, here, also split across chunks and, at the very end of a body that may have
/// been cut ([`Secrets::scrub_chunks`] with `cut`), when only their beginning arrived.
///
/// One match of any form is replaced by one [`REDACTED`]. Its `Debug` output counts the
/// values and never shows them.
#[derive(Clone, Default)]
pub(crate) struct Secrets(cygnet_core::redact::Secrets);

impl Secrets {
    /// The rule for `values`; empty and all-whitespace values are left out (they would
    /// match everywhere).
    pub(crate) fn new<V: AsRef<[u8]>>(values: impl IntoIterator<Item = V>) -> Self {
        Self(cygnet_core::redact::Secrets::from_bytes(values))
    }

    /// Whether there is nothing to scrub.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub(crate) fn scrub_str(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_owned();
        }
        #[cfg(test)]
        tests::note_scanned(text.len());
        // A secret that is not itself UTF-8 could cut a character, hence lossy.
        self.0.replace(text, REDACTED).into_owned()
    }

    /// `bytes` with every secret replaced by [`REDACTED`].
    pub(crate) fn scrub_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        if self.is_empty() {
            return bytes.to_vec();
        }
        #[cfg(test)]
        tests::note_scanned(bytes.len());
        self.0
            .replace_slice(bytes, REDACTED.as_bytes(), false)
            .into_owned()
    }

    /// Replaces every secret in the concatenation of `chunks` with [`REDACTED`], keeping the
    /// chunk boundaries elsewhere: a secret split across chunks is replaced in the chunk where
    /// it starts and its rest removed from the chunks after. With `cut` (a body that may
    /// have been cut short), a beginning of a secret at the very end is removed too.
    pub(crate) fn scrub_chunks(&self, chunks: &mut [Vec<u8>], cut: bool) {
        if self.is_empty() {
            return;
        }
        let whole: Vec<u8> = chunks.concat();
        #[cfg(test)]
        tests::note_scanned(whole.len());
        let matches = self.0.find(&whole, cut);
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
                    Some(&m) if m.start < end => {
                        if m.start >= pos {
                            out.extend_from_slice(&whole[pos..m.start]);
                            out.extend_from_slice(REDACTED.as_bytes());
                        }
                        if m.end <= end {
                            pos = m.end.max(pos);
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
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets(<{} redacted>)", self.0.len())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    fn secrets(list: &[&str]) -> Secrets {
        Secrets::new(list)
    }

    thread_local! {
        /// Bytes looked through for secrets on this thread, for tests that count the work.
        static SCANNED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    pub(crate) fn note_scanned(bytes: usize) {
        SCANNED.with(|s| s.set(s.get() + bytes));
    }

    /// Bytes looked through for secrets on this thread so far.
    pub(crate) fn scanned() -> usize {
        SCANNED.with(std::cell::Cell::get)
    }

    #[test]
    fn a_secret_split_across_chunks_is_removed_from_every_chunk() {
        let mut chunks = vec![
            b"key: sk-te".to_vec(),
            b"st-fa".to_vec(),
            b"ke rest sk-test-fake".to_vec(),
        ];
        secrets(&["sk-test-fake"]).scrub_chunks(&mut chunks, false);
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
            assert_eq!(found.scrub_str(s), REDACTED, "{s}");
        }
        assert_eq!(found.scrub_str("visible"), "visible");
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

    const KEY: &str = "sk-test/fa+ke=\"q\\x";

    #[test]
    fn an_encoded_secret_split_across_chunks_is_removed_from_every_chunk() {
        let mut chunks = vec![
            b"data: {\"e\":\"sk-test\\".to_vec(),
            b"/fa+ke=\\\"q\\\\".to_vec(),
            b"x\"}\n\n".to_vec(),
        ];
        secrets(&[KEY]).scrub_chunks(&mut chunks, false);
        assert_eq!(
            chunks,
            vec![
                b"data: {\"e\":\"<redacted>".to_vec(),
                b"".to_vec(),
                b"\"}\n\n".to_vec()
            ]
        );
    }

    #[test]
    fn the_beginning_of_a_secret_at_the_end_of_a_cut_body_is_removed() {
        let rule = secrets(&["sk-test-fake", "other-secret"]);
        for (body, cut) in [
            ("key sk-test-f", "key <redacted>"),
            ("key sk-test%2", "key <redacted>"),
            ("key sk\\u002", "key <redacted>"),
            ("key s", "key <redacted>"),
            ("no secret here", "no secret here"),
        ] {
            let mut chunks = vec![b"data: ".to_vec(), body.as_bytes().to_vec()];
            rule.scrub_chunks(&mut chunks, true);
            assert_eq!(chunks[1], cut.as_bytes(), "{body}");
            // A body that ended normally keeps its last bytes.
            let mut whole = vec![body.as_bytes().to_vec()];
            rule.scrub_chunks(&mut whole, false);
            assert_eq!(whole[0], body.as_bytes(), "{body}");
        }
        // Split over chunks, cut in the middle.
        let mut chunks = vec![b"echo sk-".to_vec(), b"te".to_vec()];
        rule.scrub_chunks(&mut chunks, true);
        assert_eq!(chunks, vec![b"echo <redacted>".to_vec(), b"".to_vec()]);
    }

    #[test]
    fn several_secrets_share_one_rule_and_the_longest_wins() {
        let rule = secrets(&[
            "sk-test-fake",
            "Bearer sk-test-fake",
            "prov-key-1",
            "",
            "  ",
        ]);
        assert_eq!(
            rule.scrub_str("Bearer sk-test-fake, sk-test-fake and prov%2Dkey-1"),
            "<redacted>, <redacted> and <redacted>"
        );
        assert_eq!(format!("{rule:?}"), "Secrets(<3 redacted>)");
        assert!(secrets(&["", " \t"]).is_empty());
    }

    #[test]
    fn one_scrub_looks_through_the_text_once() {
        let rule = secrets(&[KEY, "prov-key-1"]);
        let text =
            "data: {\"choices\":[{\"delta\":{\"content\":\"a \\\"quoted\\\" 100% s\"}}]}\n\n"
                .repeat(1000);
        let before = scanned();
        assert_eq!(rule.scrub_str(&text), text);
        assert_eq!(scanned() - before, text.len());
    }
}
