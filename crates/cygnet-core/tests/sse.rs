//! Tests of the server-sent-events decoder: each WHATWG framing rule, the spec's examples, the
//! size limit, invalid UTF-8, and property tests against a naive reference decoder.

use bytes::Bytes;
use cygnet_core::sse::{Event, OwnedEvent, SseDecoder, DEFAULT_MAX_EVENT_SIZE};
use cygnet_core::StreamError;
use proptest::prelude::*;

/// What a whole decode produced: events and errors in order, `finish()`, and the final state.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    items: Vec<Result<OwnedEvent, StreamError>>,
    truncated: bool,
    last_event_id: Option<String>,
    retry: Option<u64>,
}

impl Outcome {
    /// How the model's decoding ended; an empty `last_id` is no id.
    fn ended(
        items: Vec<Result<OwnedEvent, StreamError>>,
        truncated: bool,
        last_id: String,
        retry: Option<u64>,
    ) -> Self {
        Self {
            items,
            truncated,
            last_event_id: (!last_id.is_empty()).then_some(last_id),
            retry,
        }
    }
}

/// Decodes `input` split into reads at `cuts` (offsets, any order, duplicates allowed).
fn decode_split(input: &[u8], cuts: &[usize], limit: usize) -> Outcome {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    cuts.push(0);
    cuts.push(input.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut decoder = SseDecoder::with_max_event_size(limit);
    let mut items = Vec::new();
    let mut fatal = false;
    for pair in cuts.windows(2) {
        decoder.push(Bytes::copy_from_slice(&input[pair[0]..pair[1]]));
        drain(&mut decoder, &mut items, &mut fatal);
    }
    // Draining again with nothing new must yield nothing new (and the same fatal error).
    let before = items.len();
    drain(&mut decoder, &mut items, &mut fatal);
    if fatal {
        items.truncate(before);
    }
    assert_eq!(items.len(), before, "a second drain produced more");
    let last_event_id = decoder.last_event_id().map(str::to_owned);
    let retry = decoder.retry();
    let truncated = decoder.finish();
    Outcome {
        items,
        truncated,
        last_event_id,
        retry,
    }
}

fn drain(
    decoder: &mut SseDecoder,
    items: &mut Vec<Result<OwnedEvent, StreamError>>,
    fatal: &mut bool,
) {
    if *fatal {
        // A fatal error repeats itself and nothing else.
        assert!(matches!(
            decoder.next_event(),
            Err(StreamError::EventTooLarge { .. })
        ));
        return;
    }
    loop {
        match decoder.next_event() {
            Ok(Some(event)) => items.push(Ok(event.to_owned())),
            Ok(None) => return,
            Err(error) => {
                let is_fatal = matches!(error, StreamError::EventTooLarge { .. });
                items.push(Err(error));
                if is_fatal {
                    *fatal = true;
                    return;
                }
            }
        }
    }
}

fn decode(input: &[u8]) -> Outcome {
    decode_split(input, &[], DEFAULT_MAX_EVENT_SIZE)
}

/// Only the events of a decode, asserting there was no error.
fn events(input: &[u8]) -> Vec<OwnedEvent> {
    decode(input)
        .items
        .into_iter()
        .map(|item| item.expect("no error"))
        .collect()
}

fn ev(event: &str, data: &str, id: Option<&str>, retry: Option<u64>) -> OwnedEvent {
    OwnedEvent {
        event: event.into(),
        data: data.into(),
        id: id.map(Into::into),
        retry,
    }
}

fn msg(data: &str) -> OwnedEvent {
    ev("message", data, None, None)
}

/// The obviously correct decoder: whole input at once, line by line, owned buffers.
mod reference {
    use super::*;

    const BOM: &[u8] = b"\xEF\xBB\xBF";

    pub fn decode(input: &[u8], limit: usize) -> Outcome {
        let mut input = input;
        if let Some(rest) = input.strip_prefix(BOM) {
            input = rest;
        }
        // Split into (content, terminator length); the rest is an unterminated line.
        let mut lines = Vec::new();
        let mut line_start = 0;
        let mut i = 0;
        while i < input.len() {
            match input[i] {
                b'\n' => {
                    lines.push((&input[line_start..i], 1));
                    i += 1;
                    line_start = i;
                }
                b'\r' => {
                    let term = if input.get(i + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                    lines.push((&input[line_start..i], term));
                    i += term;
                    line_start = i;
                }
                _ => i += 1,
            }
        }
        let tail = &input[line_start..];

        let mut items = Vec::new();
        let mut open = false;
        let mut size = 0usize;
        let mut data: Option<Vec<u8>> = None;
        let mut event_type: Option<Vec<u8>> = None;
        let mut retry_field = None;
        let mut id_buf: Vec<u8> = Vec::new();
        let mut id_dirty = false;
        let mut last_id = String::new();
        let mut retry = None;
        let too_large = StreamError::EventTooLarge { limit };

        for (line, term) in lines {
            if line.is_empty() {
                open = false;
                size = 0;
                let event_data = data.take();
                let event_name = event_type.take();
                let event_retry = retry_field.take();
                if id_dirty {
                    id_dirty = false;
                    match String::from_utf8(id_buf.clone()) {
                        Ok(id) => last_id = id,
                        Err(_) => {
                            items.push(Err(StreamError::InvalidUtf8));
                            continue;
                        }
                    }
                }
                let Some(event_data) = event_data else {
                    continue;
                };
                let name = match event_name {
                    Some(name) if !name.is_empty() => String::from_utf8(name),
                    _ => Ok("message".to_owned()),
                };
                match (name, String::from_utf8(event_data)) {
                    (Ok(event), Ok(data)) => items.push(Ok(OwnedEvent {
                        event,
                        data,
                        id: (!last_id.is_empty()).then(|| last_id.as_str().into()),
                        retry: event_retry,
                    })),
                    _ => items.push(Err(StreamError::InvalidUtf8)),
                }
                continue;
            }
            let base = if open { size } else { 0 };
            if base + line.len() > limit {
                items.push(Err(too_large));
                return Outcome::ended(items, true, last_id, retry);
            }
            if line[0] == b':' {
                if open {
                    size += line.len() + term;
                }
                continue;
            }
            if !open {
                open = true;
                size = 0;
            }
            size += line.len() + term;
            let (name, value) = match line.iter().position(|&b| b == b':') {
                Some(colon) => {
                    let value = &line[colon + 1..];
                    (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
                }
                None => (line, &b""[..]),
            };
            match name {
                b"data" => match &mut data {
                    Some(data) => {
                        data.push(b'\n');
                        data.extend_from_slice(value);
                    }
                    None => data = Some(value.to_vec()),
                },
                b"event" => event_type = Some(value.to_vec()),
                b"id" if !value.contains(&0) => {
                    id_buf = value.to_vec();
                    id_dirty = true;
                }
                b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                    // Saturating, like the decoder; parsed through u128 to show it plainly.
                    let n = std::str::from_utf8(value)
                        .unwrap()
                        .parse::<u128>()
                        .map_or(u64::MAX, |n| n.min(u128::from(u64::MAX)) as u64);
                    retry = Some(n);
                    retry_field = Some(n);
                }
                _ => {}
            }
        }
        // An unterminated line is still buffered by the decoder, so it still counts towards the
        // limit; the decoder waits on a lone partial byte-order mark without counting it.
        let partial_bom = lines_empty_and_bom_prefix(input, tail);
        let base = if open { size } else { 0 };
        if !tail.is_empty() && !partial_bom && base + tail.len() > limit {
            items.push(Err(too_large));
            return Outcome::ended(items, true, last_id, retry);
        }
        Outcome::ended(items, !tail.is_empty() || open, last_id, retry)
    }

    fn lines_empty_and_bom_prefix(input: &[u8], tail: &[u8]) -> bool {
        tail.len() == input.len() && tail.len() < BOM.len() && BOM.starts_with(tail)
    }
}

// ---------------------------------------------------------------------------------------------
// The framing rules, one by one.

#[test]
fn line_endings_lf_crlf_cr_and_mixed() {
    for input in [
        &b"data: a\n\ndata: b\n\n"[..],
        b"data: a\r\n\r\ndata: b\r\n\r\n",
        b"data: a\r\rdata: b\r\r",
        b"data: a\r\n\rdata: b\n\r\n",
    ] {
        assert_eq!(events(input), vec![msg("a"), msg("b")], "{input:?}");
    }
}

#[test]
fn crlf_split_across_reads_is_one_line_end() {
    let input = b"data: a\r\n\r\ndata: b\r\n\r\n";
    for cut in 0..=input.len() {
        let outcome = decode_split(input, &[cut], DEFAULT_MAX_EVENT_SIZE);
        assert_eq!(
            outcome.items,
            vec![Ok(msg("a")), Ok(msg("b"))],
            "cut at {cut}"
        );
        assert!(!outcome.truncated);
    }
}

#[test]
fn event_dispatches_at_a_final_cr_without_waiting_for_lf() {
    let mut decoder = SseDecoder::new();
    decoder.push(Bytes::from_static(b"data: now\r\r"));
    assert_eq!(decoder.next_event().unwrap().map(|e| e.data), Some("now"));
    // The LF that follows belongs to the CR before it: it is not another blank line.
    decoder.push(Bytes::from_static(b"\ndata: next\r\n\r\n"));
    assert_eq!(decoder.next_event().unwrap().map(|e| e.data), Some("next"));
    assert_eq!(decoder.next_event().unwrap(), None);
    assert!(!decoder.finish());
}

#[test]
fn byte_order_mark_is_skipped_once_at_the_start() {
    assert_eq!(events(b"\xEF\xBB\xBFdata: a\n\n"), vec![msg("a")]);
    // A second mark is part of the first line: a field named "\u{feff}data", ignored.
    assert_eq!(events(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n"), vec![]);
    // Not at the start: part of the value.
    assert_eq!(events(b"data: \xEF\xBB\xBFa\n\n"), vec![msg("\u{feff}a")]);
    // Split inside the mark.
    for cut in 0..=3 {
        let outcome = decode_split(b"\xEF\xBB\xBFdata: a\n\n", &[cut, 1], 1024);
        assert_eq!(outcome.items, vec![Ok(msg("a"))]);
    }
    // A partial mark at the end of the body is pending bytes.
    assert!(decode(b"\xEF\xBB").truncated);
    assert!(!decode(b"\xEF\xBB\xBF").truncated);
}

#[test]
fn comments_are_ignored() {
    assert_eq!(
        events(b": hello\n:\ndata: a\n: inside\ndata: b\n\n: after\n"),
        vec![msg("a\nb")]
    );
    // Comments alone dispatch nothing and leave nothing pending.
    let outcome = decode(b": keep-alive\n\n:ping\n");
    assert!(outcome.items.is_empty());
    assert!(!outcome.truncated);
}

#[test]
fn one_optional_space_after_the_colon_is_stripped() {
    assert_eq!(
        events(b"data:a\n\ndata: a\n\ndata:  a\n\ndata:\ta\n\n"),
        vec![msg("a"), msg("a"), msg(" a"), msg("\ta")]
    );
}

#[test]
fn a_line_without_colon_is_a_field_with_empty_value() {
    assert_eq!(events(b"data\n\n"), vec![msg("")]);
    assert_eq!(events(b"data\ndata\n\n"), vec![msg("\n")]);
    // "event" with no value: the type stays "message".
    assert_eq!(events(b"event\ndata: x\n\n"), vec![msg("x")]);
}

#[test]
fn colons_after_the_first_belong_to_the_value() {
    assert_eq!(
        events(b"data: {\"a\": \"b:c\"}\n\n"),
        vec![msg("{\"a\": \"b:c\"}")]
    );
}

#[test]
fn multi_line_data_is_joined_with_newlines() {
    assert_eq!(
        events(b"data: YHOO\ndata: +2\ndata: 10\n\n"),
        vec![msg("YHOO\n+2\n10")]
    );
}

#[test]
fn event_type_applies_to_one_event_only() {
    assert_eq!(
        events(b"event: add\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n"),
        vec![ev("add", "1", None, None), msg("2"), msg("3")]
    );
    // An event without data is not dispatched, and its type does not leak into the next one.
    assert_eq!(events(b"event: lost\n\ndata: x\n\n"), vec![msg("x")]);
}

#[test]
fn id_persists_and_is_ignored_with_nul() {
    let outcome = decode(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\nid: x\0y\ndata: d\n\n");
    assert_eq!(
        outcome.items,
        vec![
            Ok(ev("message", "a", Some("1"), None)),
            Ok(ev("message", "b", Some("1"), None)),
            // An event without data still sets the last event ID.
            Ok(ev("message", "c", Some("2"), None)),
            Ok(ev("message", "d", Some("2"), None)),
        ]
    );
    assert_eq!(outcome.last_event_id.as_deref(), Some("2"));
    // An empty id clears it.
    let outcome = decode(b"id: 1\ndata: a\n\nid\ndata: b\n\n");
    assert_eq!(outcome.items[1], Ok(msg("b")));
    assert_eq!(outcome.last_event_id, None);
}

#[test]
fn an_undispatched_id_is_not_the_last_event_id() {
    let mut decoder = SseDecoder::new();
    decoder.push(Bytes::from_static(b"id: 1\ndata: a\n\nid: 2\ndata: b\n"));
    assert_eq!(decoder.next_event().unwrap().unwrap().id, Some("1"));
    assert_eq!(decoder.next_event().unwrap(), None);
    assert_eq!(decoder.last_event_id(), Some("1"));
    assert!(decoder.finish());
    // After finish, a reconnection's body starts afresh but keeps the last event ID.
    decoder.push(Bytes::from_static(b"\xEF\xBB\xBFdata: c\n\n"));
    assert_eq!(decoder.next_event().unwrap().unwrap().id, Some("1"));
}

#[test]
fn retry_only_digits() {
    let outcome = decode(b"retry: 1000\ndata: a\n\ndata: b\n\nretry: 1e3\ndata: c\n\nretry:\nretry: -5\nretry: 2 \ndata: d\n\n");
    assert_eq!(
        outcome.items,
        vec![
            Ok(ev("message", "a", None, Some(1000))),
            Ok(msg("b")),
            Ok(msg("c")),
            Ok(msg("d")),
        ]
    );
    assert_eq!(outcome.retry, Some(1000));
    // Set at once, even by an event that is never dispatched; huge values saturate.
    let outcome = decode(b"retry: 99999999999999999999999999\n\n");
    assert_eq!(outcome.retry, Some(u64::MAX));
    assert!(outcome.items.is_empty());
}

#[test]
fn unknown_fields_are_ignored() {
    assert_eq!(
        events(b"foo: bar\ndata: a\nDATA: b\nData: c\nevent : d\n data: e\n\n"),
        vec![msg("a")]
    );
    // Unknown fields alone dispatch nothing.
    assert_eq!(events(b"foo: bar\n\n"), vec![]);
}

#[test]
fn empty_data_buffer_is_not_dispatched_but_empty_data_line_is() {
    assert_eq!(events(b"event: x\nid: 1\n\n"), vec![]);
    assert_eq!(events(b"data:\n\n"), vec![msg("")]);
    assert_eq!(events(b"data:\ndata:\n\n"), vec![msg("\n")]);
}

#[test]
fn unterminated_event_is_discarded_and_reported() {
    let outcome = decode(b"data: a\n\ndata: b\n");
    assert_eq!(outcome.items, vec![Ok(msg("a"))]);
    assert!(outcome.truncated);
    let outcome = decode(b"data: a\n\ndata: b");
    assert!(outcome.truncated);
    let outcome = decode(b"data: a\n\n");
    assert!(!outcome.truncated);
    // Unknown fields make an open event too.
    assert!(decode(b"foo\n").truncated);
}

#[test]
fn unread_events_count_as_pending_at_finish() {
    let mut decoder = SseDecoder::new();
    decoder.push(Bytes::from_static(b"data: a\n\n"));
    assert!(decoder.finish());
}

#[test]
fn multibyte_characters_split_anywhere() {
    let input = "event: ünï\ndata: 日本語\ndata: 😀é\n\n".as_bytes();
    let expected = vec![Ok(ev("ünï", "日本語\n😀é", None, None))];
    for cut in 0..=input.len() {
        let outcome = decode_split(input, &[cut], 1024);
        assert_eq!(outcome.items, expected, "cut at {cut}");
    }
    let every_byte: Vec<usize> = (0..input.len()).collect();
    assert_eq!(decode_split(input, &every_byte, 1024).items, expected);
}

// ---------------------------------------------------------------------------------------------
// The examples of the WHATWG specification (section "Event stream interpretation").

#[test]
fn whatwg_example_stock_ticker() {
    assert_eq!(
        events(b"data: YHOO\ndata: +2\ndata: 10\n\n"),
        vec![msg("YHOO\n+2\n10")]
    );
}

#[test]
fn whatwg_example_ids_and_comment() {
    let input = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n";
    let outcome = decode(input);
    assert_eq!(
        outcome.items,
        vec![
            Ok(ev("message", "first event", Some("1"), None)),
            Ok(ev("message", "second event", None, None)),
        ]
    );
    assert!(outcome.truncated, "the third event lacks its blank line");
    // With the blank line, the third event fires with one leading space kept.
    assert_eq!(
        events(&[&input[..], b"\n"].concat())[2],
        msg(" third event")
    );
}

#[test]
fn whatwg_example_empty_data() {
    let outcome = decode(b"data\n\ndata\ndata\n\ndata:");
    assert_eq!(outcome.items, vec![Ok(msg("")), Ok(msg("\n"))]);
    assert!(outcome.truncated);
}

#[test]
fn whatwg_example_space_after_colon() {
    assert_eq!(
        events(b"data:test\n\ndata: test\n\n"),
        vec![msg("test"), msg("test")]
    );
}

#[test]
fn whatwg_example_event_types() {
    assert_eq!(
        events(b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n"),
        vec![
            ev("add", "73857293", None, None),
            ev("remove", "2153", None, None),
            ev("add", "113411", None, None),
        ]
    );
}

#[test]
fn whatwg_example_multi_message() {
    assert_eq!(
        events(b"data: This is the first message.\n\ndata: This is the second message, it\ndata: has two lines.\n\ndata: This is the third message.\n\n"),
        vec![
            msg("This is the first message."),
            msg("This is the second message, it\nhas two lines."),
            msg("This is the third message."),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Size limit and invalid UTF-8.

#[test]
fn event_at_the_limit_passes_and_one_byte_more_fails() {
    // "data: " + 10 bytes = 16 bytes of line content.
    let ok = b"data: 0123456789\n\n";
    assert_eq!(decode_split(ok, &[], 16).items, vec![Ok(msg("0123456789"))]);
    let outcome = decode_split(ok, &[], 15);
    assert_eq!(
        outcome.items,
        vec![Err(StreamError::EventTooLarge { limit: 15 })]
    );
    assert!(outcome.truncated);
    // The size covers every line of the event, terminators included.
    let two = b"data: 0123\ndata: 4567\n\n";
    assert!(decode_split(two, &[], 21).items[0].is_ok());
    assert!(decode_split(two, &[], 20).items[0].is_err());
}

#[test]
fn a_crlf_split_across_reads_counts_two_bytes_towards_the_limit() {
    // 7 + 2 (CRLF) + 7 = 16 bytes: fits a limit of 16, not 15, wherever the reads are cut.
    let input = b"data: a\r\ndata: b\r\n\r\n";
    for cut in 0..=input.len() {
        let fits = decode_split(input, &[cut], 16);
        assert_eq!(fits.items, vec![Ok(msg("a\nb"))], "cut at {cut}");
        let too_big = decode_split(input, &[cut], 15);
        assert_eq!(
            too_big.items,
            vec![Err(StreamError::EventTooLarge { limit: 15 })],
            "cut at {cut}"
        );
    }
}

#[test]
fn oversized_event_fails_before_it_is_all_buffered() {
    let mut decoder = SseDecoder::with_max_event_size(1024);
    decoder.push(Bytes::from_static(b"data: "));
    assert_eq!(decoder.next_event(), Ok(None));
    let chunk = Bytes::from(vec![b'x'; 512]);
    decoder.push(chunk.clone());
    assert_eq!(decoder.next_event(), Ok(None));
    decoder.push(chunk.clone());
    assert_eq!(
        decoder.next_event(),
        Err(StreamError::EventTooLarge { limit: 1024 })
    );
    // Fatal: it stays failed, ignores more bytes, and finish reports the cut.
    decoder.push(Bytes::from_static(b"\n\ndata: a\n\n"));
    assert_eq!(
        decoder.next_event(),
        Err(StreamError::EventTooLarge { limit: 1024 })
    );
    assert!(decoder.finish());
    // Then it can decode again.
    decoder.push(Bytes::from_static(b"data: a\n\n"));
    assert_eq!(decoder.next_event().unwrap().unwrap().data, "a");
}

#[test]
fn a_long_comment_line_is_bounded_too() {
    let mut input = b":".to_vec();
    input.extend(std::iter::repeat_n(b'x', 100));
    assert_eq!(
        decode_split(&input, &[50], 64).items,
        vec![Err(StreamError::EventTooLarge { limit: 64 })]
    );
}

#[test]
fn many_small_comments_between_events_are_not_an_event() {
    let input = b": ping\n".repeat(100);
    let outcome = decode_split(&input, &[], 16);
    assert!(outcome.items.is_empty());
    assert!(!outcome.truncated);
}

#[test]
fn big_event_within_limit_in_small_reads() {
    let payload = "y".repeat(1 << 20);
    let input = format!("data: {payload}\ndata: {payload}\n\ndata: {payload}\n\n");
    let cuts: Vec<usize> = (0..input.len()).step_by(1000).collect();
    let outcome = decode_split(input.as_bytes(), &cuts, 2 << 20 | 64);
    assert_eq!(
        outcome.items,
        vec![Ok(msg(&format!("{payload}\n{payload}"))), Ok(msg(&payload))]
    );
}

#[test]
fn invalid_utf8_is_reported_for_that_event_only() {
    let outcome = decode(b"data: a\xFFb\n\ndata: ok\n\n");
    assert_eq!(
        outcome.items,
        vec![Err(StreamError::InvalidUtf8), Ok(msg("ok"))]
    );
    let outcome =
        decode(b"data: a\ndata: \xC3\n\nevent: \xFF\ndata: x\n\nid: \xFF\ndata: y\n\ndata: z\n\n");
    assert_eq!(
        outcome.items,
        vec![
            Err(StreamError::InvalidUtf8),
            Err(StreamError::InvalidUtf8),
            Err(StreamError::InvalidUtf8),
            Ok(msg("z")),
        ]
    );
    // Ignored values are not checked.
    assert_eq!(
        events(b": \xFF\nfoo: \xFF\nretry: \xFF\ndata: a\n\n"),
        vec![msg("a")]
    );
    // A character cut by the end of the event is invalid, even if the next line completes it.
    assert_eq!(
        decode(b"data: \xE2\x82\n\n\xAC\n\n").items,
        vec![Err(StreamError::InvalidUtf8)]
    );
}

#[test]
fn single_line_data_borrows_without_copying() {
    let mut decoder = SseDecoder::new();
    decoder.push(Bytes::from_static(
        b"data: one\n\ndata: two\ndata: lines\n\n",
    ));
    let first: Event<'_> = decoder.next_event().unwrap().unwrap();
    assert_eq!(first.data, "one");
    assert_eq!(first.event, "message");
    let owned = first.to_owned();
    assert_eq!(owned.as_event(), first);
    assert_eq!(decoder.next_event().unwrap().unwrap().data, "two\nlines");
}

#[test]
fn debug_does_not_dump_the_buffer() {
    let mut decoder = SseDecoder::default();
    decoder.push(Bytes::from(vec![b'z'; 4096]));
    let debug = format!("{decoder:?}");
    assert!(!debug.contains("zzz"), "{debug}");
    assert!(debug.contains("buffered"));
}

// ---------------------------------------------------------------------------------------------
// Property tests: any split gives the same outcome as one read, and as the reference decoder.

/// Pieces that make interesting streams when strung together.
const TOKENS: &[&[u8]] = &[
    b"data",
    b"data:",
    b"data: ",
    b"event:",
    b"event: ",
    b"id:",
    b"id: ",
    b"retry:",
    b"retry: ",
    b"foo:",
    b":",
    b" ",
    b"\n",
    b"\n",
    b"\r",
    b"\r\n",
    b"\r\n",
    b"\n\n",
    b"x",
    b"hello",
    b"{\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}",
    b"12",
    b"99999999999999999999999",
    b"\0",
    "é".as_bytes(),
    "€".as_bytes(),
    "😀".as_bytes(),
    b"\xFF",
    b"\xE2\x82",
    b"\xEF\xBB\xBF",
];

fn stream() -> impl Strategy<Value = Vec<u8>> {
    let token = prop::sample::select(TOKENS.to_vec());
    (
        any::<bool>(),
        prop::collection::vec(token, 0..60),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(bom, tokens, noise)| {
            let mut bytes = if bom {
                b"\xEF\xBB\xBF".to_vec()
            } else {
                Vec::new()
            };
            for token in tokens {
                bytes.extend_from_slice(token);
            }
            // A little arbitrary noise at the end too.
            bytes.extend_from_slice(&noise);
            bytes
        })
}

/// Streams of the usual tokens and a few lines of 4-9 KiB: plain, multi-byte (split
/// anywhere by the reads), or with invalid UTF-8 or a CR inside.
fn long_stream() -> impl Strategy<Value = Vec<u8>> {
    let long = (4000usize..9000, 0..4u8).prop_map(|(len, kind)| match kind {
        0 => vec![b'x'; len],
        1 => "é".repeat(len / 2).into_bytes(),
        2 => {
            let mut bytes = vec![b'y'; len];
            bytes[len / 2] = 0xFF;
            bytes
        }
        _ => {
            let mut bytes = vec![b'z'; len];
            bytes[len - 100] = b'\r';
            bytes
        }
    });
    let token = prop_oneof![
        8 => prop::sample::select(TOKENS.to_vec()).prop_map(<[u8]>::to_vec),
        1 => long,
    ];
    prop::collection::vec(token, 0..30).prop_map(|tokens| tokens.concat())
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..400, 0..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_split_matches_one_read_and_the_reference(input in stream(), cuts in cuts(), small in any::<bool>(), limit in 1usize..80) {
        let limit = if small { limit } else { DEFAULT_MAX_EVENT_SIZE };
        let whole = decode_split(&input, &[], limit);
        prop_assert_eq!(&whole, &reference::decode(&input, limit));
        prop_assert_eq!(&decode_split(&input, &cuts, limit), &whole);
    }

    #[test]
    fn one_byte_reads_match_one_read(input in stream(), small in any::<bool>(), limit in 1usize..80) {
        let limit = if small { limit } else { DEFAULT_MAX_EVENT_SIZE };
        let every_byte: Vec<usize> = (0..input.len()).collect();
        prop_assert_eq!(decode_split(&input, &every_byte, limit), reference::decode(&input, limit));
    }

    /// Lines longer than the decoder's long-line threshold (4 KiB), whose reads are searched
    /// for a line end before they are copied, split anywhere or into even reads.
    #[test]
    fn long_lines_split_anywhere_match_the_reference(
        input in long_stream(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        every in 1usize..3000,
        limit in prop_oneof![Just(DEFAULT_MAX_EVENT_SIZE), 4000usize..20_000],
    ) {
        let whole = decode_split(&input, &[], limit);
        prop_assert_eq!(&whole, &reference::decode(&input, limit));
        let cuts: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        prop_assert_eq!(&decode_split(&input, &cuts, limit), &whole);
        let even: Vec<usize> = (every..input.len()).step_by(every).collect();
        prop_assert_eq!(&decode_split(&input, &even, limit), &whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_match(input in prop::collection::vec(any::<u8>(), 0..200), cuts in cuts()) {
        let whole = decode_split(&input, &[], 64);
        prop_assert_eq!(&whole, &reference::decode(&input, 64));
        prop_assert_eq!(&decode_split(&input, &cuts, 64), &whole);
    }
}
