//! Text that came from the model or the server, made safe to show: every control character
//! a terminal could obey shown as a visible escape (see the output module's docs for when
//! each applies).
//!
//! A module of its own, below both the output module and the failure report (which escapes
//! error messages), so that neither has to reach into the other: the output module depends
//! on the failure type, and the failure report on these functions only.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is a control character a terminal may act on: C0, DEL and C1, but not newline
/// and tab (a carriage return is decided by what follows it).
fn is_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// Writes the visible escape of the control character `c`: `\u{1b}` for ESC.
fn push_escaped(out: &mut String, c: char) {
    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
}

/// Escapes the control characters of text that arrives in pieces (see the [output
/// module's docs](crate::output)); a carriage return at the end of a piece is held until the
/// next piece shows whether a newline follows it.
#[derive(Debug, Default)]
pub struct ControlEscaper {
    pending_cr: bool,
}

impl ControlEscaper {
    /// A new escaper, with nothing held.
    pub fn new() -> Self {
        Self::default()
    }

    /// `piece`, escaped; borrowed when it needs no escape.
    pub fn escape<'a>(&mut self, piece: &'a str) -> Cow<'a, str> {
        if !self.pending_cr && !piece.chars().any(is_control) {
            return Cow::Borrowed(piece);
        }
        let mut out = String::with_capacity(piece.len() + 8);
        if std::mem::take(&mut self.pending_cr) {
            if piece.starts_with('\n') {
                out.push('\r');
            } else {
                push_escaped(&mut out, '\r');
            }
        }
        let mut chars = piece.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => match chars.peek() {
                    Some('\n') => out.push('\r'),
                    Some(_) => push_escaped(&mut out, c),
                    None => self.pending_cr = true,
                },
                c if is_control(c) => push_escaped(&mut out, c),
                c => out.push(c),
            }
        }
        Cow::Owned(out)
    }

    /// The end of the text: a carriage return still held, escaped (nothing follows it).
    pub fn finish(&mut self) -> &'static str {
        if std::mem::take(&mut self.pending_cr) {
            "\\u{d}"
        } else {
            ""
        }
    }
}

/// Whole `text`, escaped as [`ControlEscaper`] escapes a stream.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    let mut escaper = ControlEscaper::new();
    let escaped = escaper.escape(text);
    match escaper.finish() {
        "" => escaped,
        held => Cow::Owned(escaped.into_owned() + held),
    }
}

/// `text` for one line of a report: every control character escaped, newline and tab too,
/// so that text from the server can neither drive a terminal nor start a line of its own.
pub fn escape_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Serialized JSON with DEL and the C1 controls escaped as `\u007f` to `\u009f`, as the
/// serializer already escapes C0: the same JSON value, nothing a terminal acts on. (Outside
/// strings JSON has no such character, and the serializer's newlines are kept.)
pub fn escape_json(json: &str) -> Cow<'_, str> {
    if !json
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed_and_newlines_tabs_and_crlf_kept() {
        assert_eq!(
            escape_controls("a\x1b]52;c;SGk=\x07b\u{9b}2J\x1b[2J\x7f\x08\0"),
            "a\\u{1b}]52;c;SGk=\\u{7}b\\u{9b}2J\\u{1b}[2J\\u{7f}\\u{8}\\u{0}"
        );
        assert_eq!(
            escape_controls("one\r\ntwo\tthree\n"),
            "one\r\ntwo\tthree\n"
        );
        assert_eq!(escape_controls("safe\rforged"), "safe\\u{d}forged");
        assert_eq!(escape_controls("end\r"), "end\\u{d}");
        assert!(matches!(escape_controls("plain 🦢\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_stream_cut_anywhere_is_escaped_as_a_whole() {
        let text = "x\x1b]0;title\x07\r\ny\rz\u{9b}\r";
        for cut in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let mut escaper = ControlEscaper::new();
            let mut out = escaper.escape(&text[..cut]).into_owned();
            out.push_str(&escaper.escape(&text[cut..]));
            out.push_str(escaper.finish());
            assert_eq!(out, escape_controls(text), "cut at {cut}");
        }
        assert_eq!(
            escape_controls(text),
            "x\\u{1b}]0;title\\u{7}\r\ny\\u{d}z\\u{9b}\\u{d}"
        );
    }

    #[test]
    fn json_keeps_its_value_with_del_and_c1_escaped() {
        let value = serde_json::json!({"content": "a\x1b[2J\u{9b}0;x\x07\x7fé"});
        let json = serde_json::to_string_pretty(&value).unwrap();
        let escaped = escape_json(&json);
        assert!(
            !escaped.chars().any(|c| c.is_control() && c != '\n'),
            "{escaped}"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&escaped).unwrap(),
            value
        );
        assert!(matches!(escape_json("{\n  \"a\": 1\n}"), Cow::Borrowed(_)));
    }
}
