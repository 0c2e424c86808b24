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
//! spelling where each of its characters is either itself or one of its escapes, mixed
//! freely (`sk-test\/abc%2Bdef` is found for the key `sk-test/abc+def`):
//!
//! - each byte of its UTF-8 as it is, percent-encoded `%XX`, or escaped `\xXX` or `\u00XX`;
//! - JSON's short escapes (`\/`, `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`) and `\uXXXX`
//!   for the whole character, with a surrogate pair beyond the basic plane;
//! - `+` for a space, as in a query;
//!
//! hex digits in either case. A part of a secret (a server quoting the first characters of a
//! key, as some do to help tell keys apart) is not found: it cannot be told apart from
//! ordinary text. The one exception is the very end of a text that may have been cut short,
//! where the rest of the secret may simply not have arrived: [`Secrets::find`] and
//! [`Secrets::replace_slice`] with `cut` find any beginning of a secret there too.
//!
//! ```
//! use cygnet::redact::Secrets;
//! let secrets = Secrets::new(["sk-test/fake"]);
//! assert_eq!(secrets.redact("bad key sk-test/fake"), "bad key ***");
//! assert_eq!(secrets.redact(r#"{"key":"sk-test\/fake"}"#), r#"{"key":"***"}"#);
//! assert_eq!(secrets.redact("nothing here"), "nothing here");
//! ```

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
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
/// use cygnet::redact::Secrets;
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
    secrets: Vec<Pattern>,
    /// The bytes a spelling of a secret can start with: the first byte of each secret, the
    /// escape characters `\` and `%`, and `+` when a secret starts with a space. Most bytes
    /// of a text cannot, and are passed over at the cost of this look-up.
    starts: Starts,
}

struct Starts([bool; 256]);

impl Default for Starts {
    fn default() -> Self {
        Self([false; 256])
    }
}

/// One secret: its bytes, and the units (characters, or bytes that are not UTF-8) its
/// spellings are made of.
struct Pattern {
    bytes: Box<[u8]>,
    units: Vec<Unit>,
    /// Whether `+` can stand for one of its characters.
    has_space: bool,
}

/// One character of a secret (its UTF-8 bytes), or one byte that is not UTF-8 (`ch` none).
#[derive(Clone, Copy)]
struct Unit {
    bytes: [u8; 4],
    len: usize,
    ch: Option<char>,
}

impl Pattern {
    fn new(bytes: &[u8]) -> Self {
        let mut units = Vec::with_capacity(bytes.len());
        for chunk in bytes.utf8_chunks() {
            for ch in chunk.valid().chars() {
                let mut utf8 = [0; 4];
                let len = ch.encode_utf8(&mut utf8).len();
                units.push(Unit {
                    bytes: utf8,
                    len,
                    ch: Some(ch),
                });
            }
            for &byte in chunk.invalid() {
                units.push(Unit {
                    bytes: [byte, 0, 0, 0],
                    len: 1,
                    ch: None,
                });
            }
        }
        Self {
            bytes: Box::from(bytes),
            units,
            has_space: bytes.contains(&b' '),
        }
    }

    /// Matches this secret from `text[start]` on: where the longest whole spelling ends, and
    /// whether a spelling was still under way when `text` ran out (at least one byte in).
    fn probe(&self, text: &[u8], start: usize) -> (Option<usize>, bool) {
        let rest = &text[start..];
        let secret = &self.bytes[..];
        // Without an escape character within reach (no spelling is longer than six bytes
        // for each byte of the secret), only the secret as it is could be there.
        let reach = &rest[..rest.len().min(secret.len() * 6)];
        let escaped = if self.has_space {
            memchr::memchr3(b'\\', b'%', b'+', reach)
        } else {
            memchr::memchr2(b'\\', b'%', reach)
        };
        if escaped.is_none() {
            if rest.starts_with(secret) {
                return (Some(start + secret.len()), false);
            }
            return (None, rest.len() < secret.len() && secret.starts_with(rest));
        }
        // Every end reachable after each unit is followed together (the longest wins), so a
        // run of backslashes costs no more than the secret's length times the few ends it
        // can reach.
        let mut open = false;
        let mut ends = vec![start];
        let mut next = Vec::new();
        for unit in &self.units {
            next.clear();
            for &at in &ends {
                if at == text.len() {
                    open = true;
                } else {
                    unit_ends(text, at, *unit, &mut next, &mut open);
                }
            }
            if next.is_empty() {
                return (None, open);
            }
            std::mem::swap(&mut ends, &mut next);
        }
        (ends.into_iter().max(), open)
    }
}

/// Pushes onto `out` where each spelling of `unit` that starts at `text[at]` ends; sets
/// `open` when one was under way when `text` ran out.
fn unit_ends(text: &[u8], at: usize, unit: Unit, out: &mut Vec<usize>, open: &mut bool) {
    // Each of its bytes as it is or escaped.
    if unit.len == 1 {
        byte_ends(text, at, unit.bytes[0], out, open);
    } else {
        let mut ends = vec![at];
        let mut next = Vec::new();
        for &byte in &unit.bytes[..unit.len] {
            next.clear();
            for &at in &ends {
                if at == text.len() {
                    *open = true;
                } else {
                    byte_ends(text, at, byte, &mut next, open);
                }
            }
            std::mem::swap(&mut ends, &mut next);
        }
        for end in ends {
            push_new(out, end);
        }
    }
    let Some(ch) = unit.ch else { return };
    // The character's own escapes.
    let short = match ch {
        '"' => Some(b'"'),
        '\\' => Some(b'\\'),
        '/' => Some(b'/'),
        '\u{8}' => Some(b'b'),
        '\u{c}' => Some(b'f'),
        '\n' => Some(b'n'),
        '\r' => Some(b'r'),
        '\t' => Some(b't'),
        _ => None,
    };
    if let Some(escape) = short {
        form_ends(text, at, &Form::exact(&[b'\\', escape]), out, open);
    }
    if ch == ' ' {
        form_ends(text, at, &Form::exact(b"+"), out, open);
    }
    // `\uXXXX` for a character beyond ASCII (for ASCII it is the `\u00XX` of its byte).
    if !ch.is_ascii() {
        let mut units = [0; 2];
        let mut form = Form::default();
        for unit in ch.encode_utf16(&mut units) {
            form.push_escape(b"\\u", u32::from(*unit), 4);
        }
        form_ends(text, at, &form, out, open);
    }
}

/// [`unit_ends`] for one byte: itself, `%XX`, `\xXX` or `\u00XX`.
fn byte_ends(text: &[u8], at: usize, byte: u8, out: &mut Vec<usize>, open: &mut bool) {
    form_ends(text, at, &Form::exact(&[byte]), out, open);
    for (prefix, digits) in [(&b"%"[..], 2), (b"\\x", 2), (b"\\u", 4)] {
        let mut form = Form::default();
        form.push_escape(prefix, u32::from(byte), digits);
        form_ends(text, at, &form, out, open);
    }
}

/// One way to write a unit: up to twelve bytes, those marked in `hex` upper-case hex digits
/// that match in either case.
#[derive(Default)]
struct Form {
    bytes: [u8; 12],
    len: usize,
    hex: u16,
}

impl Form {
    fn exact(bytes: &[u8]) -> Self {
        let mut form = Self::default();
        form.bytes[..bytes.len()].copy_from_slice(bytes);
        form.len = bytes.len();
        form
    }

    /// Appends `prefix` and `value` in `digits` hex digits.
    fn push_escape(&mut self, prefix: &[u8], value: u32, digits: usize) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        self.bytes[self.len..self.len + prefix.len()].copy_from_slice(prefix);
        self.len += prefix.len();
        for i in (0..digits).rev() {
            self.bytes[self.len] = HEX[((value >> (4 * i)) & 15) as usize];
            self.hex |= 1 << self.len;
            self.len += 1;
        }
    }
}

/// Pushes onto `out` where `form` ends if `text[at..]` starts with it; sets `open` when
/// `text` ran out part-way through it.
fn form_ends(text: &[u8], at: usize, form: &Form, out: &mut Vec<usize>, open: &mut bool) {
    for i in 0..form.len {
        let Some(&byte) = text.get(at + i) else {
            *open = true;
            return;
        };
        let want = form.bytes[i];
        let same = if form.hex & (1 << i) == 0 {
            byte == want
        } else {
            byte.to_ascii_uppercase() == want
        };
        if !same {
            return;
        }
    }
    push_new(out, at + form.len);
}

fn push_new(list: &mut Vec<usize>, item: usize) {
    if !list.contains(&item) {
        list.push(item);
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} redacted)", self.inner.secrets.len())
    }
}

impl Secrets {
    /// The secrets in `secrets`; empty ones and ones of only whitespace are left out (there
    /// is nothing to find, or they would be found everywhere).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        Self::from_bytes(secrets.into_iter().map(|s| s.as_ref().as_bytes().to_vec()))
    }

    /// [`Secrets::new`] for secrets that need not be UTF-8, such as header values: a byte
    /// that is not part of a UTF-8 character is found as it is or escaped.
    ///
    /// ```
    /// use cygnet::redact::Secrets;
    /// let secrets = Secrets::from_bytes([&b"tok\xff"[..]]);
    /// assert_eq!(secrets.redact("a tok%FF b"), "a *** b");
    /// ```
    pub fn from_bytes<V: AsRef<[u8]>>(secrets: impl IntoIterator<Item = V>) -> Self {
        let mut list: Vec<Vec<u8>> = secrets
            .into_iter()
            .map(|s| s.as_ref().to_vec())
            .filter(|s| !s.iter().all(u8::is_ascii_whitespace))
            .collect();
        list.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        list.dedup();
        let mut starts = Starts::default();
        if !list.is_empty() {
            starts.0[usize::from(b'\\')] = true;
            starts.0[usize::from(b'%')] = true;
        }
        for secret in &list {
            starts.0[usize::from(secret[0])] = true;
            if secret[0] == b' ' {
                starts.0[usize::from(b'+')] = true;
            }
        }
        Self {
            inner: Arc::new(Inner {
                secrets: list.iter().map(|s| Pattern::new(s)).collect(),
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
            .map(|s| &s.bytes[..])
            .chain(std::iter::once(secret.as_ref().as_bytes()));
        Self::from_bytes(list)
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
        self.next_match(text, 0, false).is_some()
    }

    /// Where the secrets are in `text`, in any spelling: leftmost first, each as long as any
    /// secret makes it, none overlapping. With `cut` (a text that may have been cut short),
    /// a beginning of a secret at the very end of `text` is found too, up to the end.
    ///
    /// Does not allocate when there is none.
    ///
    /// ```
    /// use cygnet::redact::Secrets;
    /// let secrets = Secrets::new(["sk-test-fake"]);
    /// assert_eq!(secrets.find(b"key sk-test%2Dfake!", false), vec![4..18]);
    /// assert_eq!(secrets.find(b"key sk-te", false), vec![]);
    /// assert_eq!(secrets.find(b"key sk-te", true), vec![4..9]);
    /// ```
    pub fn find(&self, text: &[u8], cut: bool) -> Vec<Range<usize>> {
        let mut found = Vec::new();
        let mut from = 0;
        while let Some((start, end)) = self.next_match(text, from, cut) {
            found.push(start..end);
            from = end;
        }
        found
    }

    /// `text` with every secret, in any spelling, replaced by [`REDACTED`]; borrowed when it
    /// held none.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.replace(text, REDACTED)
    }

    /// [`Secrets::redact`] with `replacement` in place of [`REDACTED`].
    ///
    /// ```
    /// use cygnet::redact::Secrets;
    /// let secrets = Secrets::new(["pass word"]);
    /// assert_eq!(secrets.replace("q=pass+word", "<redacted>"), "q=<redacted>");
    /// ```
    pub fn replace<'a>(&self, text: &'a str, replacement: &str) -> Cow<'a, str> {
        match self.replace_slice(text.as_bytes(), replacement.as_bytes(), false) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Only whole characters were replaced (a secret and its escapes start and end on
            // character boundaries), so this stays UTF-8 unless a secret was not.
            Cow::Owned(bytes) => Cow::Owned(
                String::from_utf8(bytes)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
        }
    }

    /// [`Secrets::redact`] for bytes.
    pub fn redact_slice<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        self.replace_slice(text, REDACTED.as_bytes(), false)
    }

    /// `text` with every secret [`Secrets::find`] finds (with `cut`, a beginning of one at
    /// the very end too) replaced by `replacement`; borrowed when it held none.
    ///
    /// ```
    /// use cygnet::redact::Secrets;
    /// let secrets = Secrets::new(["sk-test-fake"]);
    /// assert_eq!(&*secrets.replace_slice(b"echo sk-test\\u002dfa", b"<cut>", true), b"echo <cut>");
    /// ```
    pub fn replace_slice<'a>(
        &self,
        text: &'a [u8],
        replacement: &[u8],
        cut: bool,
    ) -> Cow<'a, [u8]> {
        let Some((mut start, mut end)) = self.next_match(text, 0, cut) else {
            return Cow::Borrowed(text);
        };
        let mut out = Vec::with_capacity(text.len());
        let mut copied = 0;
        loop {
            out.extend_from_slice(&text[copied..start]);
            out.extend_from_slice(replacement);
            copied = end;
            match self.next_match(text, end, cut) {
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

    /// `cause` as it is, or, when its text or that of any error in its `source()` chain
    /// shows a secret, one error whose message is the whole chain, joined by `: ` with the
    /// secrets replaced, and which has no source (the original types are then lost: what
    /// they carried was the secret).
    pub fn redact_cause(
        &self,
        cause: Box<dyn std::error::Error + Send + Sync>,
    ) -> Box<dyn std::error::Error + Send + Sync> {
        if self.is_empty() {
            return cause;
        }
        // The chain as a report shows it (the error module's `Report`, spelt out here so
        // that this module stays below the error module).
        let first: &(dyn std::error::Error + 'static) = &*cause;
        let shown = std::iter::successors(Some(first), |e| e.source())
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ");
        let debug = format!("{cause:?}");
        if !self.found_in(shown.as_bytes()) && !self.found_in(debug.as_bytes()) {
            return cause;
        }
        Box::new(RedactedCause(self.redact(&shown).into_owned()))
    }

    /// The first match at or after `from`: where it starts and ends.
    fn next_match(&self, text: &[u8], from: usize, cut: bool) -> Option<(usize, usize)> {
        if self.is_empty() {
            return None;
        }
        let starts = &self.inner.starts.0;
        (from..text.len())
            .filter(|&i| starts[usize::from(text[i])])
            .find_map(|i| self.longest_at(text, i, cut).map(|end| (i, end)))
    }

    /// The end of the longest spelling of a secret that starts at `start` (with `cut`, the
    /// end of `text` when one is still under way there).
    fn longest_at(&self, text: &[u8], start: usize, cut: bool) -> Option<usize> {
        self.inner
            .secrets
            .iter()
            .filter_map(|secret| match secret.probe(text, start) {
                (_, true) if cut => Some(text.len()),
                (longest, _) => longest,
            })
            .max()
    }
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
    /// What a cassette writes in place of a secret.
    const CASSETTE: &str = "<redacted>";

    fn scrub(secrets: &Secrets, text: &str) -> String {
        secrets.replace(text, CASSETTE).into_owned()
    }

    const CASSETTE_KEY: &str = "sk-test/fa+ke=\"q\\x";

    #[test]
    fn every_encoded_form_of_a_secret_is_one_match() {
        let rule = Secrets::new([CASSETTE_KEY]);
        for form in [
            CASSETTE_KEY,
            "sk-test%2Ffa%2Bke%3D%22q%5Cx",
            "sk-test%2ffa%2bke%3d%22q%5cx",
            "%73k-test%2Ffa+ke=\"q\\x",
            r#"sk-test\/fa+ke=\"q\\x"#,
            r#"sk-test\u002Ffa+ke=\u0022q\u005cx"#,
            r#"\u0073\u006B-test/fa\u002bke=\"q\\x"#,
        ] {
            let text = format!("before {form} after");
            assert_eq!(scrub(&rule, &text), "before <redacted> after", "{form}");
        }
        // Not the key: a character missing, another one changed, a wrong escape.
        for near in [
            "sk-test/fa+ke=\"q\\",
            "sk-test/fa+ke=\"q\\y",
            "sk-test%2Gfa+ke=\"q\\x",
            r#"sk-test\ufa+ke=\"q\\x"#,
        ] {
            assert_eq!(scrub(&rule, near), near, "{near}");
        }
    }

    #[test]
    fn a_space_may_be_a_plus_and_other_characters_escapes() {
        let rule = Secrets::new(["pass word\té"]);
        for form in [
            "pass word\té",
            "pass+word%09%C3%A9",
            "pass%20word\\t\\u00e9",
            "pass word\\u0009%c3%a9",
        ] {
            assert_eq!(scrub(&rule, form), CASSETTE, "{form}");
        }
        let astral = Secrets::new(["k😀y"]);
        assert_eq!(scrub(&astral, r"k\ud83d\ude00y"), CASSETTE);
        assert_eq!(scrub(&astral, "k%F0%9F%98%80y"), CASSETTE);
        // `+` stands for a space only: a secret with a `+` is not found with a space.
        assert_eq!(scrub(&Secrets::new(["a+b"]), "a b"), "a b");
    }

    #[test]
    fn the_beginning_of_a_secret_at_the_end_of_a_cut_text_is_found() {
        let rule = Secrets::new(["sk-test-fake", "other-secret"]);
        for (body, cut) in [
            ("key sk-test-f", "key <redacted>"),
            ("key sk-test%2", "key <redacted>"),
            ("key sk\\u002", "key <redacted>"),
            ("key s", "key <redacted>"),
            ("no secret here", "no secret here"),
        ] {
            let found = rule.replace_slice(body.as_bytes(), CASSETTE.as_bytes(), true);
            assert_eq!(&*found, cut.as_bytes(), "{body}");
            // A text that ended normally keeps its last bytes.
            assert!(
                matches!(
                    rule.replace_slice(body.as_bytes(), b"x", false),
                    Cow::Borrowed(_)
                ),
                "{body}"
            );
        }
        assert_eq!(
            rule.find(b"sk-test-fake and sk-", true),
            vec![0..12, 17..20]
        );
        assert_eq!(rule.find(b"sk-test-fake and sk-", false), vec![0..12]);
    }

    #[test]
    fn several_secrets_share_one_rule_and_the_longest_wins() {
        let rule = Secrets::new([
            "sk-test-fake",
            "Bearer sk-test-fake",
            "prov-key-1",
            "",
            "  ",
        ]);
        assert_eq!(
            scrub(&rule, "Bearer sk-test-fake, sk-test-fake and prov%2Dkey-1"),
            "<redacted>, <redacted> and <redacted>"
        );
        assert_eq!(format!("{rule:?}"), "Secrets(3 redacted)");
        assert!(Secrets::new(["", " \t"]).is_empty());
        assert_eq!(Secrets::new(["b", "a", "b"]).len(), 2);
    }

    #[test]
    fn a_byte_that_is_not_utf8_is_found_plain_or_escaped() {
        let rule = Secrets::from_bytes([&b"t\xffk"[..]]);
        for form in [&b"t\xffk"[..], b"t%ffk", b"t\\xFFk", b"t\\u00ffk"] {
            assert_eq!(&*rule.replace_slice(form, b"-", false), b"-");
        }
    }

    #[test]
    fn a_run_of_escape_characters_is_looked_through_quickly() {
        let rule = Secrets::new([CASSETTE_KEY, "pass word"]);
        let text = "\\%+".repeat(20_000);
        assert!(matches!(rule.redact(&text), Cow::Borrowed(_)));
    }
}
