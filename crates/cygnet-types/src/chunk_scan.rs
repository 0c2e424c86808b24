//! The fast parse of a stream chunk: `from_json` for [`ChatCompletionChunkRef`] and
//! [`ChatCompletionChunk`], and the single-pass scanner behind it.
//!
//! Why hand-written: parsing each chunk is the biggest share of the CPU a streamed answer
//! costs the client (more than framing and reading it together, and the derived parse's code
//! crowds the instruction cache; `bench/README.md` has the figures). The chunks a server
//! streams are small objects of a few known fields, plain strings and small integers, the
//! same shape every time. This scanner reads exactly that shape, text, refusal and tool-call
//! deltas, borrowing every string that has no escape and unescaping, like serde_json, one with
//! `\n`, `\"` and the other one-letter escapes. It gives up (returns `None`) at anything it
//! does not read exactly: a `\u` escape or a control character in a string, a number other
//! than a plain non-negative integer, a known field twice, a required field missing
//! (`choices`, a choice's `index` or `delta`), an `error` member that is not `null` or
//! `false`, usage counts, log probabilities, an unknown field whose value is not `null`, a
//! boolean or a plain string, or anything malformed. The caller then parses with serde_json,
//! so the result, and every error, is always exactly serde_json's: property-tested in
//! `tests/chunk_scan.rs` against serde_json on generated chunks, half well typed and half
//! broken, and fuzzed on arbitrary bytes (`fuzz/fuzz_targets/chunk_scan.rs`).
//!
//! The scanner cannot fall behind the types: where it fills a chunk type it names every field
//! of it (a destructuring pattern without `..`), so a field added to the struct does not
//! compile here until the scanner reads it or gives up on it. The owned types are built from
//! the borrowed ones by struct literals (`into_owned`), so a field added to an owned type does
//! not compile until the borrowed type, and with it the scanner, has it too.

use std::borrow::Cow;

use crate::chunk::ChatCompletionChunk;
use crate::chunk_ref::{
    ChatCompletionChunkRef, ChunkChoiceRef, DeltaRef, FunctionCallDeltaRef, ToolCallDeltaRef,
};
use crate::completion::FinishReason;
use crate::message::Role;
use crate::tool::ToolType;

impl<'a> ChatCompletionChunkRef<'a> {
    /// Parses one chunk's JSON, borrowing its strings from `json`.
    ///
    /// Gives exactly what `serde_json::from_str` gives, value or error, but reads the
    /// common shape of a streamed chunk (text and tool-call deltas: plain or simply escaped
    /// strings, small integers) in a single hand-written pass; anything else goes to
    /// serde_json.
    ///
    /// ```
    /// use cygnet::types::ChatCompletionChunkRef;
    /// let json = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"cygnet",
    ///   "choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#;
    /// let chunk = ChatCompletionChunkRef::from_json(json).unwrap();
    /// assert_eq!(chunk.content(), Some("Hel"));
    /// assert_eq!(chunk, serde_json::from_str(json).unwrap());
    /// assert!(ChatCompletionChunkRef::from_json(r#"{"id":1}"#).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// serde_json's error when `json` is not a chunk: malformed JSON, a required field
    /// (`choices`, a choice's `index` or `delta`) missing, a field of the wrong type (the
    /// message names it), or an `error` member.
    pub fn from_json(json: &'a str) -> serde_json::Result<Self> {
        let mut chunk = Self::default();
        match scan(json, &mut chunk) {
            Some(()) => Ok(chunk),
            None => serde_json::from_str(json),
        }
    }

    /// The scanner alone: the chunk when `json` has the shape it reads, `None` when
    /// [`ChatCompletionChunkRef::from_json`] would hand it to serde_json. For tests that
    /// check how often the fast path is taken; not part of the stable API.
    #[doc(hidden)]
    pub fn from_json_fast_path_only(json: &'a str) -> Option<Self> {
        let mut chunk = Self::default();
        scan(json, &mut chunk).map(|()| chunk)
    }
}

impl ChatCompletionChunk {
    /// Parses one chunk's JSON: exactly what `serde_json::from_str` gives, value or error,
    /// faster for the common shape of a streamed chunk; see
    /// [`ChatCompletionChunkRef::from_json`].
    ///
    /// ```
    /// use cygnet::types::ChatCompletionChunk;
    /// let json = r#"{"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}]}"#;
    /// let chunk = ChatCompletionChunk::from_json(json).unwrap();
    /// assert_eq!(chunk.text_delta(), Some("Hel"));
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ChatCompletionChunkRef::from_json`].
    pub fn from_json(json: &str) -> serde_json::Result<Self> {
        let mut chunk = ChatCompletionChunkRef::default();
        match scan(json, &mut chunk) {
            Some(()) => Ok(chunk.into_owned()),
            None => serde_json::from_str(json),
        }
    }
}

/// Reads the chunk `json` holds into `chunk` (a default one), when it has the common shape;
/// `None` means "ask serde_json" (and `chunk` is then partly filled, to be dropped).
///
/// Filled in place rather than returned: the chunk is big enough that each move is a call
/// to `memcpy`.
fn scan<'a>(json: &'a str, chunk: &mut ChatCompletionChunkRef<'a>) -> Option<()> {
    let mut scanner = Scanner {
        text: json,
        bytes: json.as_bytes(),
        pos: 0,
    };
    scanner.chunk(chunk)?;
    // serde_json allows whitespace after the value, nothing else.
    scanner.skip_whitespace();
    (scanner.pos == json.len()).then_some(())
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

/// The known fields of one object seen so far: serde rejects a duplicate, so the scanner
/// leaves that to it.
#[derive(Default)]
struct Seen(u8);

impl Seen {
    /// Whether `field` was seen: a required field missing is serde's error to give.
    fn has(&self, field: u8) -> bool {
        self.0 & (1 << field) != 0
    }

    fn first(&mut self, field: u8) -> Option<()> {
        let bit = 1 << field;
        if self.0 & bit != 0 {
            return None;
        }
        self.0 |= bit;
        Some(())
    }
}

impl<'a> Scanner<'a> {
    fn chunk(&mut self, chunk: &mut ChatCompletionChunkRef<'a>) -> Option<()> {
        // Every field named: a new one does not compile until it is read here.
        // `usage` is read only as `null` and `error` only as `null` or `false`, which leave
        // them as the default chunk has them: assigning would only run their drop glue.
        let ChatCompletionChunkRef {
            id,
            object,
            created,
            model,
            system_fingerprint,
            choices,
            usage: _,
            error: _,
        } = chunk;
        let mut seen = Seen::default();
        self.object(|s, key| {
            match key {
                "id" => {
                    seen.first(0)?;
                    *id = s.string_or_empty()?;
                }
                "object" => {
                    seen.first(1)?;
                    *object = s.string_or_empty()?;
                }
                "created" => {
                    seen.first(2)?;
                    *created = match s.or_null(Self::integer)? {
                        Some(n) => i64::try_from(n).ok()?,
                        None => 0,
                    };
                }
                "model" => {
                    seen.first(3)?;
                    *model = s.string_or_empty()?;
                }
                "system_fingerprint" => {
                    seen.first(4)?;
                    *system_fingerprint = s.string_or_null()?;
                }
                "choices" => {
                    seen.first(5)?;
                    s.array(|s| {
                        // Read in place: a choice is too big to move cheaply.
                        choices.push(ChunkChoiceRef::default());
                        s.choice(choices.last_mut()?)?;
                        Some(())
                    })?;
                }
                "usage" => {
                    seen.first(6)?;
                    s.null()?;
                }
                "error" => {
                    seen.first(7)?;
                    s.null_or_false()?;
                }
                _ => s.skip_plain_value()?,
            }
            Some(())
        })?;
        seen.has(5).then_some(())
    }

    fn choice(&mut self, choice: &mut ChunkChoiceRef<'a>) -> Option<()> {
        // `logprobs` is read only as `null`, which leaves it as the default choice has it.
        let ChunkChoiceRef {
            index,
            delta,
            finish_reason,
            logprobs: _,
        } = choice;
        let mut seen = Seen::default();
        self.object(|s, key| {
            match key {
                "index" => {
                    seen.first(0)?;
                    *index = s.index()?;
                }
                "delta" => {
                    seen.first(1)?;
                    s.delta(delta)?;
                }
                "finish_reason" => {
                    seen.first(2)?;
                    *finish_reason = s.string_or_null()?.as_deref().map(FinishReason::from);
                }
                "logprobs" => {
                    seen.first(3)?;
                    s.null()?;
                }
                _ => s.skip_plain_value()?,
            }
            Some(())
        })?;
        (seen.has(0) && seen.has(1)).then_some(())
    }

    fn delta(&mut self, delta: &mut DeltaRef<'a>) -> Option<()> {
        let DeltaRef {
            role,
            content,
            tool_calls,
            refusal,
        } = delta;
        let mut seen = Seen::default();
        self.object(|s, key| {
            match key {
                "role" => {
                    seen.first(0)?;
                    *role = s.string_or_null()?.as_deref().map(Role::from);
                }
                "content" => {
                    seen.first(1)?;
                    *content = s.string_or_null()?;
                }
                "tool_calls" => {
                    seen.first(2)?;
                    *tool_calls = s.or_null(|s| {
                        let mut calls = Vec::new();
                        s.array(|s| {
                            calls.push(s.tool_call()?);
                            Some(())
                        })?;
                        Some(calls)
                    })?;
                }
                "refusal" => {
                    seen.first(3)?;
                    *refusal = s.string_or_null()?;
                }
                _ => s.skip_plain_value()?,
            }
            Some(())
        })
    }

    fn tool_call(&mut self) -> Option<ToolCallDeltaRef<'a>> {
        let mut call = ToolCallDeltaRef::default();
        let ToolCallDeltaRef {
            index,
            id,
            kind,
            function,
        } = &mut call;
        let mut seen = Seen::default();
        self.object(|s, key| {
            match key {
                "index" => {
                    seen.first(0)?;
                    *index = s.index()?;
                }
                "id" => {
                    seen.first(1)?;
                    *id = s.string_or_null()?;
                }
                "type" => {
                    seen.first(2)?;
                    *kind = s.string_or_null()?.as_deref().map(ToolType::from);
                }
                "function" => {
                    seen.first(3)?;
                    *function = s.or_null(Self::function)?;
                }
                _ => s.skip_plain_value()?,
            }
            Some(())
        })?;
        Some(call)
    }

    fn function(&mut self) -> Option<FunctionCallDeltaRef<'a>> {
        let mut function = FunctionCallDeltaRef::default();
        let FunctionCallDeltaRef { name, arguments } = &mut function;
        let mut seen = Seen::default();
        self.object(|s, key| {
            match key {
                "name" => {
                    seen.first(0)?;
                    *name = s.string_or_null()?;
                }
                "arguments" => {
                    seen.first(1)?;
                    *arguments = s.string_or_null()?;
                }
                _ => s.skip_plain_value()?,
            }
            Some(())
        })?;
        Some(function)
    }

    /// An object, handing each key to `field`, which reads the value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.list(b'{', b'}', |s| {
            let key = s.key()?;
            s.expect(b':')?;
            field(s, key)
        })
    }

    /// An array, calling `item` to read each element.
    fn array(&mut self, item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.list(b'[', b']', item)
    }

    /// `open`, then elements read by `element` and separated by commas, then `close`.
    fn list(
        &mut self,
        open: u8,
        close: u8,
        mut element: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.expect(open)?;
        if self.peek()? == close {
            self.pos += 1;
            return Some(());
        }
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.pos += 1,
                byte if byte == close => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string: borrowed when it has no escape, unescaped into a new `String` (as serde_json
    /// does) when it has only one-letter escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.expect(b'"')?;
        self.string_after_quote()
    }

    /// The rest of a string whose opening quote was just read.
    fn string_after_quote(&mut self) -> Option<Cow<'a, str>> {
        let open = self.pos;
        let mut start = open;
        let mut unescaped = String::new();
        loop {
            let end = start + self.plain_run(start)?;
            // Both ends of a run sit next to an ASCII byte, so they are character boundaries.
            let run = self.text.get(start..end)?;
            if self.bytes[end] == b'"' {
                self.pos = end + 1;
                if start == open {
                    return Some(Cow::Borrowed(run));
                }
                unescaped.push_str(run);
                return Some(Cow::Owned(unescaped));
            }
            // A backslash.
            unescaped.push_str(run);
            unescaped.push(match self.bytes.get(end + 1)? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                // `\u` (surrogate pairs, lone surrogates) and invalid escapes: serde_json's.
                _ => return None,
            });
            start = end + 2;
        }
    }

    /// A key: a string without escapes, borrowed.
    fn key(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.pos;
        let end = start + self.plain_run(start)?;
        if self.bytes[end] != b'"' {
            return None;
        }
        self.pos = end + 1;
        self.text.get(start..end)
    }

    /// The length of the run of string bytes from `start` up to a quote or a backslash;
    /// `None` at a control character or the end of the input.
    fn plain_run(&self, start: usize) -> Option<usize> {
        let rest = &self.bytes[start..];
        let mut words = rest.chunks_exact(8);
        let mut len = 0;
        // Eight bytes at a time: most strings of a chunk are a few words long.
        for word in words.by_ref() {
            let word = u64::from_le_bytes(word.try_into().ok()?);
            let stops = special_bytes(word);
            if stops != 0 {
                len += stops.trailing_zeros() as usize / 8;
                return (rest[len] >= 0x20).then_some(len);
            }
            len += 8;
        }
        len += words
            .remainder()
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        (rest[len] >= 0x20).then_some(len)
    }

    /// `null` (`None`) or a string.
    fn string_or_null(&mut self) -> Option<Option<Cow<'a, str>>> {
        // Not `or_null(Self::string)`: this one is hot, and written out it inlines better.
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.string_after_quote().map(Some)
            }
            _ => self.null().map(|()| None),
        }
    }

    /// A string, or `null` read as the empty string (the identifying fields), owned as
    /// serde's default is.
    fn string_or_empty(&mut self) -> Option<Cow<'a, str>> {
        // The string first: `null` is the rare case.
        if self.peek()? == b'"' {
            self.pos += 1;
            self.string_after_quote()
        } else {
            self.null().map(|()| Cow::default())
        }
    }

    /// `null` (`None`), or what `read` reads, as an `Option` field takes.
    fn or_null<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.peek()? == b'n' {
            self.null().map(|()| None)
        } else {
            read(self).map(Some)
        }
    }

    /// An `index` field: an integer that fits a `u32`.
    fn index(&mut self) -> Option<u32> {
        u32::try_from(self.integer()?).ok()
    }

    /// A non-negative integer of at most 18 digits, without leading zeros, fraction or
    /// exponent.
    fn integer(&mut self) -> Option<u64> {
        self.skip_whitespace();
        let digits = self.bytes[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || digits > 18 || (digits > 1 && self.bytes[self.pos] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.bytes.get(self.pos + digits) {
            return None;
        }
        let value = self.bytes[self.pos..self.pos + digits]
            .iter()
            .fold(0u64, |n, &b| n * 10 + u64::from(b - b'0'));
        self.pos += digits;
        Some(value)
    }

    fn null(&mut self) -> Option<()> {
        self.literal(b"null")
    }

    /// `null` or `false`: an `error` member that reports no error.
    fn null_or_false(&mut self) -> Option<()> {
        if self.peek()? == b'f' {
            self.literal(b"false")
        } else {
            self.null()
        }
    }

    /// The value of a field the types do not have: serde ignores it, but still checks it is
    /// valid JSON, so only values that are plainly valid are skipped here.
    fn skip_plain_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.skip_whitespace();
        if !self.bytes[self.pos..].starts_with(word) {
            return None;
        }
        self.pos += word.len();
        Some(())
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// The next byte that is not JSON whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }
}

/// The high bit of each byte of `word` (little-endian) that is a quote, a backslash or a
/// control character; exact for the lowest such byte, which is all the caller reads (a
/// borrow can mark a byte above it too).
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(json: &str) -> Option<ChatCompletionChunkRef<'_>> {
        let mut chunk = ChatCompletionChunkRef::default();
        super::scan(json, &mut chunk).map(|()| chunk)
    }

    #[test]
    fn special_bytes_finds_the_first_quote_backslash_or_control_character() {
        for (word, first) in [
            (*b"abcdefgh", None),
            (*b"abc\"efgh", Some(3)),
            (*b"\\bcdefg\"", Some(0)),
            (*b"abcdefg\x1f", Some(7)),
            (*b"\xc3\xa9 ~\x7f\x20!#", None),
            (*b"\x01\"\"\"\"\"\"\"", Some(0)),
        ] {
            let found = special_bytes(u64::from_le_bytes(word));
            let found = (found != 0).then(|| found.trailing_zeros() / 8);
            assert_eq!(found, first, "{word:?}");
        }
    }

    #[test]
    fn reads_the_common_shape_and_leaves_the_rest_to_serde_json() {
        let common = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"cygnet-v0.2","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"logprobs":null,"finish_reason":null}],"usage":null}"#;
        let chunk = scan(common).expect("the common shape is scanned");
        assert_eq!(chunk.content(), Some("Hel"));
        assert_eq!(chunk.choices[0].delta.role, Some(Role::Assistant));
        assert_eq!(chunk, serde_json::from_str(common).unwrap());
        let escaped =
            scan(r#"{"id":"a\"b","choices":[{"index":0,"delta":{"content":"x\n\\y"}}]}"#).unwrap();
        assert!(matches!(escaped.id, Cow::Owned(ref id) if id == "a\"b"));
        assert_eq!(escaped.content(), Some("x\n\\y"));
        let largest =
            scan(r#"{"created":999999999999999999,"choices":[{"index":4294967295,"delta":{}}]}"#);
        assert_eq!(
            largest.map(|c| (c.created, c.choices[0].index)),
            Some((999_999_999_999_999_999, u32::MAX))
        );
        for other in [
            r#"{"choices":[{"index":4294967296,"delta":{}}]}"#,
            r#"{"choices":[],"created":1000000000000000000}"#,
            r#"{"choices":[],"id":"\u00e9"}"#,
            r#"{"choices":[],"id":"a\qb"}"#,
            r#"{"choices":[],"i\"d":"a"}"#,
            r#"{"choices":[],"created":1.5}"#,
            r#"{"choices":[],"created":-1}"#,
            r#"{"choices":[],"created":01}"#,
            r#"{"choices":[],"id":"a","id":"b"}"#,
            r#"{"choices":[],"usage":{"total_tokens":3}}"#,
            r#"{"choices":[],"extra":[1]}"#,
            r#"{"choices":[],"id":"a"} x"#,
            r#"{"choices":[],"id":"a",}"#,
            "{\"choices\":[],\"id\":\"\u{1}n\"}",
            "{\"choices\":[],\"id\":\"abcdefgh\u{1f}ijklmnop\"}",
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop","finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[],"tool_calls":null}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"refusal":"a","refusal":null}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"function":null,"function":null}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"name":"a","name":"b"}}]}}]}"#,
        ] {
            assert!(scan(other).is_none(), "{other}");
        }
        let blocked = r#"{"id":"c","error":false,"choices":[{"index":0,"delta":{"content":"No.","refusal":"No."},"finish_reason":"violation"}]}"#;
        let chunk = scan(blocked).expect("a blocked chunk is scanned");
        assert_eq!(chunk, serde_json::from_str(blocked).unwrap());
        assert!(chunk.is_blocked());
        assert!(matches!(
            chunk.choices[0].delta.refusal,
            Some(Cow::Borrowed("No."))
        ));
        let nulls =
            r#"{"id":null,"object":null,"created":null,"model":null,"error":null,"choices":[]}"#;
        let chunk = scan(nulls).expect("null identifying fields are scanned");
        assert_eq!(chunk, serde_json::from_str(nulls).unwrap());
    }

    #[test]
    fn leaves_missing_required_fields_and_error_members_to_serde_json() {
        for other in [
            r#"{}"#,
            r#"{"id":"x"}"#,
            r#"{"choices":[{"delta":{}}]}"#,
            r#"{"choices":[{"index":0}]}"#,
            r#"{"choices":[],"error":"m"}"#,
            r#"{"choices":[],"error":{"message":"m"}}"#,
            r#"{"choices":[],"error":null,"error":null}"#,
            r#"{"choices":[],"error":true}"#,
            r#"{"choices":[],"error":false,"error":false}"#,
        ] {
            assert!(scan(other).is_none(), "{other}");
            assert!(serde_json::from_str::<ChatCompletionChunkRef<'_>>(other).is_err());
        }
    }

    #[test]
    fn reads_streamed_tool_calls() {
        let json = r#"{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":"}}]},"finish_reason":null}]}"#;
        let chunk = scan(json).expect("a tool-call chunk is scanned");
        assert_eq!(chunk, serde_json::from_str(json).unwrap());
        let call = &chunk.choices[0].delta.tool_calls.as_ref().unwrap()[0];
        assert_eq!(
            (call.index, call.kind.clone()),
            (1, Some(ToolType::Function))
        );
        let function = call.function.as_ref().unwrap();
        assert_eq!(function.arguments.as_deref(), Some("{\"city\":"));
    }
}
