//! Keeping the client's secrets out of what it derives from a server's answers.
//!
//! The client sends its secrets (the API key) to the server, and a server, or a gateway in
//! front of it, may send them back: `Invalid API key: sk-...`, a request id made of the key,
//! a body that quotes the request. Whatever the client builds from an answer and hands on,
//! where it could end up in a log, goes through [`Secrets`] first, which replaces every
//! occurrence of a secret with [`REDACTED`]:
//!
//! - the headers of every answer (so [`ApiError::headers`](crate::ApiError::headers),
//!   [`ApiError::request_id`](crate::ApiError::request_id), the headers of a
//!   [`ChatStream`](crate::ChatStream), an [`ApiResponse`](crate::ApiResponse) or a
//!   [`RawResponse`](crate::RawResponse), and their `Debug` output);
//! - the body of an error answer, and of an error sent inside a stream, before anything is
//!   read from it ([`ApiError::body`](crate::ApiError::body), its message, its snippet);
//! - the snippet and the parser's complaint of a [`DecodeError`](crate::DecodeError);
//! - so every error's `Display` and `Debug`, and the trace events that show them.
//!
//! A successful answer's body (the completion, the verdict, a raw body) is left as it came:
//! it is the caller's data.
//!
//! Answers are JSON, and headers and URLs have their own escapes, so a secret is found in any
//! spelling where each of its characters is either itself or one of its escapes: JSON's
//! `\/`, `\"` and `\\`, `\uXXXX` and `\xXX` (any case of hex digits), and URL percent-encoding
//! `%XX`, mixed freely (`sk-test\/abc%2Bdef` is found for the key `sk-test/abc+def`). A part of
//! a secret (a server quoting the first characters of a key, as some do to help tell keys
//! apart) is not found: it cannot be told apart from ordinary text.
//!
//! ```
//! use cygnet_core::redact::Secrets;
//! let secrets = Secrets::new(["sk-test/fake"]);
//! assert_eq!(secrets.redact("bad key sk-test/fake"), "bad key ***");
//! assert_eq!(secrets.redact(r#"{"key":"sk-test\/fake"}"#), r#"{"key":"***"}"#);
//! assert_eq!(secrets.redact("nothing here"), "nothing here");
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

/// What every occurrence of a secret is replaced with.
pub const REDACTED: &str = "***";

/// The secrets a client holds (its API key, and any other credential it sends), to replace
/// in text that came from a server; see the [module documentation](self).
///
/// Cheap to clone (one reference count). Its `Debug` output shows how many secrets it holds,
/// never one of them.
///
/// ```
/// use cygnet_core::redact::Secrets;
/// let secrets = Secrets::new(["sk-test-one"]).with("sk-test-two");
/// assert_eq!(secrets.redact("sk-test-two, then sk-test-one"), "***, then ***");
/// assert_eq!(format!("{secrets:?}"), "Secrets(2 redacted)");
/// ```
#[derive(Clone, Default)]
pub struct Secrets {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Longest first, so that a secret that contains another is replaced whole.
    secrets: Vec<Box<[u8]>>,
    /// The bytes a spelling of a secret can start with: the first byte of each secret, and
    /// the escape characters `\` and `%`.
    starts: Starts,
}

struct Starts([bool; 256]);

impl Default for Starts {
    fn default() -> Self {
        Self([false; 256])
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} redacted)", self.inner.secrets.len())
    }
}

impl Secrets {
    /// The secrets in `secrets`; empty ones are left out (there is nothing to find).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let mut list: Vec<Box<[u8]>> = secrets
            .into_iter()
            .filter(|s| !s.as_ref().is_empty())
            .map(|s| Box::from(s.as_ref().as_bytes()))
            .collect();
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        list.dedup();
        let mut starts = Starts::default();
        if !list.is_empty() {
            starts.0[usize::from(b'\\')] = true;
            starts.0[usize::from(b'%')] = true;
        }
        for secret in &list {
            starts.0[usize::from(secret[0])] = true;
        }
        Self {
            inner: Arc::new(Inner {
                secrets: list,
                starts,
            }),
        }
    }

    /// These secrets and one more (a second credential the client sends).
    #[must_use]
    pub fn with(&self, secret: impl AsRef<str>) -> Self {
        let list = self
            .inner
            .secrets
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .chain(std::iter::once(secret.as_ref().to_owned()));
        Self::new(list)
    }

    /// How many secrets there are.
    pub fn len(&self) -> usize {
        self.inner.secrets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.inner.secrets.is_empty()
    }

    /// Whether `text` holds a secret, in any spelling.
    pub fn found_in(&self, text: &[u8]) -> bool {
        self.next_match(text, 0).is_some()
    }

    /// `text` with every secret, in any spelling, replaced by [`REDACTED`]; borrowed when it
    /// held none.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redact_slice(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Only ASCII was replaced, and only whole characters (a secret and its
            // escapes start and end on character boundaries), so this stays UTF-8.
            Cow::Owned(bytes) => Cow::Owned(
                String::from_utf8(bytes)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
        }
    }

    /// [`Secrets::redact`] for bytes.
    pub fn redact_slice<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        let Some((mut start, mut end)) = self.next_match(text, 0) else {
            return Cow::Borrowed(text);
        };
        let mut out = Vec::with_capacity(text.len());
        let mut copied = 0;
        loop {
            out.extend_from_slice(&text[copied..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            copied = end;
            match self.next_match(text, end) {
                Some(next) => (start, end) = next,
                None => break,
            }
        }
        out.extend_from_slice(&text[copied..]);
        Cow::Owned(out)
    }

    /// [`Secrets::redact`] for a body: the same `Bytes` (no copy) when it held no secret.
    pub fn redact_bytes(&self, body: &Bytes) -> Bytes {
        match self.redact_slice(body) {
            Cow::Borrowed(_) => body.clone(),
            Cow::Owned(clean) => Bytes::from(clean),
        }
    }

    /// Replaces the secrets in every header value.
    pub fn redact_headers(&self, headers: &mut HeaderMap) {
        if self.is_empty() {
            return;
        }
        for value in headers.values_mut() {
            if let Cow::Owned(clean) = self.redact_slice(value.as_bytes()) {
                // What is left of a valid value, with `***` in place of its secrets, is valid.
                if let Ok(mut clean) = HeaderValue::from_bytes(&clean) {
                    clean.set_sensitive(value.is_sensitive());
                    *value = clean;
                }
            }
        }
    }

    /// `cause` as it is, or, when its text shows a secret, an error that reads the same
    /// with the secrets replaced (the original type is then lost: what it carried was the
    /// secret).
    pub fn redact_cause(
        &self,
        cause: Box<dyn std::error::Error + Send + Sync>,
    ) -> Box<dyn std::error::Error + Send + Sync> {
        if self.is_empty() {
            return cause;
        }
        let shown = cause.to_string();
        let debug = format!("{cause:?}");
        if !self.found_in(shown.as_bytes()) && !self.found_in(debug.as_bytes()) {
            return cause;
        }
        Box::new(RedactedCause(self.redact(&shown).into_owned()))
    }

    /// The first match at or after `from`: where it starts and ends.
    fn next_match(&self, text: &[u8], from: usize) -> Option<(usize, usize)> {
        if self.is_empty() {
            return None;
        }
        let starts = &self.inner.starts.0;
        (from..text.len())
            .filter(|&i| starts[usize::from(text[i])])
            .find_map(|i| self.longest_at(text, i).map(|end| (i, end)))
    }

    /// The end of the longest spelling of a secret that starts at `start`.
    fn longest_at(&self, text: &[u8], start: usize) -> Option<usize> {
        self.inner
            .secrets
            .iter()
            .filter_map(|secret| spelled_at(text, start, secret))
            .max()
    }
}

/// Where a spelling of `secret` that starts at `start` ends, if there is one.
///
/// The secret as it is is checked first, without allocating; escapes are looked for only
/// when an escape character is within reach. Then each byte of the secret is the byte itself
/// or one of its escapes, and the ends reachable after each byte are followed together (the
/// longest wins), so a run of backslashes costs no more than the secret's length times the
/// few ends it can reach.
fn spelled_at(text: &[u8], start: usize, secret: &[u8]) -> Option<usize> {
    let rest = &text[start..];
    if rest.starts_with(secret) {
        return Some(start + secret.len());
    }
    // Without an escape character within reach, only the secret itself could be there.
    let reach = rest.len().min(secret.len() * 6);
    memchr::memchr2(b'\\', b'%', &rest[..reach])?;
    let mut ends = vec![start];
    let mut next = Vec::new();
    for &byte in secret {
        next.clear();
        for &at in &ends {
            for len in spellings(&text[at..], byte).into_iter().flatten() {
                if !next.contains(&(at + len)) {
                    next.push(at + len);
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        std::mem::swap(&mut ends, &mut next);
    }
    ends.into_iter().max()
}

/// The lengths of the spellings of `byte` that `text` starts with: the byte itself, a JSON
/// short escape (`\/`, `\"`, `\\`), `\uXXXX`, `\xXX` or `%XX`.
fn spellings(text: &[u8], byte: u8) -> [Option<usize>; 2] {
    let literal = (text.first() == Some(&byte)).then_some(1);
    let escaped = match text {
        [b'\\', escaped, ..] if *escaped == byte && matches!(byte, b'/' | b'"' | b'\\') => Some(2),
        [b'\\', b'u', a, b, c, d, ..] => {
            (hex(&[*a, *b, *c, *d]) == Some(u32::from(byte))).then_some(6)
        }
        [b'\\', b'x', a, b, ..] | [b'%', a, b, ..] => {
            let len = if text[0] == b'%' { 3 } else { 4 };
            (hex(&[*a, *b]) == Some(u32::from(byte))).then_some(len)
        }
        _ => None,
    };
    [literal, escaped]
}

/// The value of ASCII hex digits, any case.
fn hex(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &digit| {
        Some(value * 16 + char::from(digit).to_digit(16)?)
    })
}

/// An error whose text showed a secret: the same text with the secrets replaced.
#[derive(Debug)]
struct RedactedCause(String);

impl fmt::Display for RedactedCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedactedCause {}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = r#"sk-test/a+b"c\d_0"#;

    fn secrets() -> Secrets {
        Secrets::new([KEY])
    }

    #[test]
    fn every_spelling_of_a_secret_is_replaced() {
        for spelling in [
            KEY.to_owned(),
            serde_json::to_string(KEY)
                .unwrap()
                .trim_matches('"')
                .to_owned(),
            r#"sk-test\/a+b\"c\\d_0"#.to_owned(),
            r#"\u0073k-test\u002Fa\u002bb\u0022c\u005cd\u005F0"#.to_owned(),
            "sk-test%2Fa%2Bb%22c%5Cd_0".to_owned(),
            r#"sk-test\x2fa%2bb\"c\\d\u005f0"#.to_owned(),
        ] {
            let text = format!("before {spelling} after");
            assert_eq!(secrets().redact(&text), "before *** after", "{spelling}");
        }
    }

    #[test]
    fn text_without_a_secret_is_borrowed_and_untouched() {
        for text in [
            "",
            "plain",
            r#"sk-test/a+b"c\d_"#,
            r#"\u00"#,
            "%",
            r#"\"#,
            "sk-test%2",
        ] {
            assert!(
                matches!(secrets().redact(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
        assert!(matches!(Secrets::default().redact(KEY), Cow::Borrowed(_)));
        assert!(matches!(Secrets::new([""]).redact("a"), Cow::Borrowed(_)));
    }

    #[test]
    fn several_occurrences_and_several_secrets_are_all_replaced() {
        let both = secrets().with("sk-test");
        assert_eq!(both.len(), 2);
        // The longer secret wins where both match; the shorter is found on its own too.
        assert_eq!(
            both.redact(&format!("{KEY}{KEY} and sk-test and é{KEY}é")),
            "****** and *** and é***é"
        );
        assert_eq!(format!("{both:?}"), "Secrets(2 redacted)");
    }

    #[test]
    fn header_values_keep_their_sensitivity() {
        let mut headers = HeaderMap::new();
        let mut value = HeaderValue::from_str(&format!("req-{KEY}")).unwrap();
        value.set_sensitive(true);
        headers.insert("x-request-id", value);
        headers.insert("other", HeaderValue::from_static("fine"));
        secrets().redact_headers(&mut headers);
        assert_eq!(headers["x-request-id"], "req-***");
        assert!(headers["x-request-id"].is_sensitive());
        assert_eq!(headers["other"], "fine");
    }

    #[test]
    fn a_cause_that_shows_a_secret_is_replaced_by_its_clean_text() {
        let error = serde_json::from_str::<u32>(&serde_json::to_string(KEY).unwrap()).unwrap_err();
        let clean = secrets().redact_cause(Box::new(error));
        assert!(
            clean
                .to_string()
                .starts_with("invalid type: string \"***\""),
            "{clean}"
        );
        assert!(!format!("{clean:?}").contains("sk-test"), "{clean:?}");
        let harmless = serde_json::from_str::<u32>("true").unwrap_err();
        let kept = secrets().redact_cause(Box::new(harmless));
        assert!(kept.downcast_ref::<serde_json::Error>().is_some());
    }
}
