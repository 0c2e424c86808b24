//! `from_json` reads the common chunk shape with a hand-written scanner and hands the rest
//! to serde_json; on every input it must give exactly what serde_json gives: the same chunk
//! (with the same strings borrowed) or the same error. The inputs are chunk-like JSON, tool
//! calls and refusals included, with fields in any order or missing and whitespace anywhere: half of them
//! well typed (so the values are compared), half with values of wrong types, repeated fields,
//! required fields missing, `error` members, invalid escapes, control characters and odd
//! numbers, some cut short or changed by one character (so the errors are).

#[path = "support/borrowed_strings.rs"]
mod borrowed_strings;
use borrowed_strings::strings;

use cygnet_types::{ChatCompletionChunk, ChatCompletionChunkRef};
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::FileFailurePersistence;

/// What a generator may produce: well-typed JSON (every value of its field's type, so
/// serde_json mostly accepts it and the values are compared), or anything (mostly errors).
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    WellTyped,
    Any,
}
use Mode::{Any, WellTyped};

/// JSON whitespace, mostly none; anywhere, sometimes a form feed, which JSON does not allow.
fn ws(mode: Mode) -> BoxedStrategy<String> {
    let bad = u32::from(mode == Any);
    prop_oneof![
        30 => Just(String::new()),
        10 => "[ \t\n\r]{1,3}",
        bad => Just("\x0c".to_owned()),
    ]
    .boxed()
}

/// The JSON text of a string: plain, escaped, non-ASCII; anywhere, also invalid escapes and
/// control characters.
fn string(mode: Mode) -> BoxedStrategy<String> {
    let bad = u32::from(mode == Any);
    prop_oneof![
        16 => "[a-zA-Z0-9 .,:-]{0,12}",
        6 => r#"([a-z]{0,3}\\["\\/bfnrt]){1,3}[a-z]{0,3}"#,
        1 => r#"[a-z]{0,3}(\\u00e9|\\ud83d\\ude00)[a-z]{0,3}"#,
        3 => "[é✓😀a]{1,4}",
        1 => Just("[DONE]".to_owned()),
        bad => r#"[a-z]{0,3}(\\ud83d|\\udc00|\\u12|\\x|\\)[a-z]{0,3}"#,
        bad => "[a-z]{0,2}[\x01\x1f\x7f][bfnrt/a]{0,2}",
    ]
    .prop_map(|s| format!("\"{s}\""))
    .boxed()
}

/// Integers that fit a `u32`; anywhere, also long, negative, zero-led, fractional and
/// exponent forms.
fn number(mode: Mode) -> BoxedStrategy<String> {
    let bad = u32::from(mode == Any);
    prop_oneof![
        12 => "0|[1-9][0-9]{0,8}",
        3 * bad => "[1-9][0-9]{9,11}|[1-9][0-9]{17,21}",
        bad => "-[0-9]{1,3}|-0",
        bad => "0[0-9]{1,2}",
        bad => "[0-9]{1,3}\\.[0-9]{0,2}",
        bad => "[1-9][eE][+-]?[0-9]",
    ]
    .boxed()
}

/// Any JSON value, for fields the types do not have (serde ignores them, valid or not... as
/// long as they are valid JSON); anywhere, also malformed ones.
fn other(mode: Mode) -> BoxedStrategy<String> {
    let bad = u32::from(mode == Any);
    prop_oneof![
        2 => string(mode),
        2 => number(mode),
        1 => Just("null".to_owned()),
        1 => Just("true".to_owned()),
        1 => Just("false".to_owned()),
        1 => Just("[]".to_owned()),
        1 => Just("{}".to_owned()),
        1 => Just("[1,\"a\"]".to_owned()),
        1 => Just(r#"{"a":{"b":null}}"#.to_owned()),
        bad => Just("nul".to_owned()),
    ]
    .boxed()
}

/// A value for a field whose type `right` gives; anywhere, 1 in 12 of another type.
fn typed(right: BoxedStrategy<String>, mode: Mode) -> BoxedStrategy<String> {
    let bad = u32::from(mode == Any);
    prop_oneof![11 => right, bad => other(mode)].boxed()
}

/// A key, the strategy for its value, and how often the key is present.
struct Field {
    key: BoxedStrategy<String>,
    value: BoxedStrategy<String>,
    presence: f64,
}

/// A field the types may go without: present 6 times in 10.
fn field(key: &'static str, value: BoxedStrategy<String>) -> Field {
    rare(key, value, 0.6)
}

/// A field the types require: always present when well typed, now and then missing otherwise.
fn required(key: &'static str, value: BoxedStrategy<String>, mode: Mode) -> Field {
    rare(key, value, if mode == WellTyped { 1.0 } else { 0.85 })
}

/// A field present `presence` of the time.
fn rare(key: &'static str, value: BoxedStrategy<String>, presence: f64) -> Field {
    Field {
        key: Just(key.to_owned()).boxed(),
        value,
        presence,
    }
}

/// An object of some of `fields`, in any order, with whitespace anywhere, now and then one of
/// them twice (serde rejects a repeated known field and ignores a repeated unknown one).
fn object(fields: Vec<Field>, mode: Mode) -> BoxedStrategy<String> {
    let entries: Vec<_> = fields
        .into_iter()
        .map(
            |Field {
                 key,
                 value,
                 presence,
             }| {
                let entry =
                    (key, value, ws(mode), ws(mode)).prop_map(|(key, value, before, after)| {
                        format!("{before}\"{key}\"{after}:{before}{value}{after}")
                    });
                if presence >= 1.0 {
                    entry.prop_map(Some).boxed()
                } else {
                    prop::option::weighted(presence, entry).boxed()
                }
            },
        )
        .collect();
    let repeat = if mode == Any { 0.1 } else { 0.04 };
    (
        entries.prop_shuffle(),
        prop::option::weighted(repeat, any::<prop::sample::Index>()),
        ws(mode),
    )
        .prop_map(|(entries, repeat, inside)| {
            let mut entries: Vec<String> = entries.into_iter().flatten().collect();
            if let (Some(repeat), false) = (repeat, entries.is_empty()) {
                let again = entries[repeat.index(entries.len())].clone();
                entries.push(again);
            }
            format!("{{{inside}{}}}", entries.join(","))
        })
        .boxed()
}

/// A JSON array of 0 to 2 of `item`.
fn array(item: BoxedStrategy<String>, mode: Mode) -> BoxedStrategy<String> {
    (prop::collection::vec(item, 0..3), ws(mode))
        .prop_map(|(items, inside)| format!("[{inside}{}]", items.join(",")))
        .boxed()
}

/// `null` or a string, as an optional string field takes.
fn text_or_null(mode: Mode) -> BoxedStrategy<String> {
    prop_oneof![4 => string(mode), 1 => Just("null".to_owned())].boxed()
}

fn one_of(values: &[&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(values.to_vec())
        .prop_map(|value| format!("\"{value}\""))
        .boxed()
}

/// A field the types do not have.
fn unknown(mode: Mode) -> Field {
    let key =
        prop::sample::select(vec!["annotations", "service_tier", "x", ""]).prop_map(str::to_owned);
    Field {
        key: key.boxed(),
        value: other(mode),
        presence: 0.6,
    }
}

fn delta(mode: Mode) -> BoxedStrategy<String> {
    let role = prop_oneof![
        4 => one_of(&["assistant", "user", "data", "critic"]),
        1 => Just("null".to_owned()),
    ];
    object(
        vec![
            field("role", typed(role.boxed(), mode)),
            field("content", typed(text_or_null(mode), mode)),
            field("tool_calls", typed(tool_calls(mode), mode)),
            // Gray Swan's block message, in the chunk that ends a blocked choice.
            field("refusal", typed(text_or_null(mode), mode)),
            unknown(mode),
        ],
        mode,
    )
}

fn tool_calls(mode: Mode) -> BoxedStrategy<String> {
    let arguments = prop_oneof![
        2 => text_or_null(mode),
        1 => Just(r#""{\"city\":\"Paris\"}""#.to_owned()),
    ];
    let function = object(
        vec![
            field("name", typed(text_or_null(mode), mode)),
            field("arguments", typed(arguments.boxed(), mode)),
            unknown(mode),
        ],
        mode,
    );
    let kind = prop_oneof![one_of(&["function"]), text_or_null(mode)];
    let function = prop_oneof![4 => function, 1 => Just("null".to_owned())];
    let call = object(
        vec![
            field("index", typed(number(mode), mode)),
            field("id", typed(text_or_null(mode), mode)),
            field("type", typed(kind.boxed(), mode)),
            field("function", typed(function.boxed(), mode)),
            unknown(mode),
        ],
        mode,
    );
    prop_oneof![4 => array(call, mode), 1 => Just("null".to_owned())].boxed()
}

fn choice(mode: Mode) -> BoxedStrategy<String> {
    let reason = prop_oneof![
        one_of(&[
            "stop",
            "length",
            "tool_calls",
            "content_filter",
            "violation",
            "new"
        ]),
        Just("null".to_owned()),
    ];
    let logprobs = prop_oneof![
        3 => Just("null".to_owned()),
        1 => Just(r#"{"content":[]}"#.to_owned()),
    ];
    object(
        vec![
            required("index", typed(number(mode), mode), mode),
            required("delta", typed(delta(mode), mode), mode),
            field("finish_reason", typed(reason.boxed(), mode)),
            field("logprobs", typed(logprobs.boxed(), mode)),
            unknown(mode),
        ],
        mode,
    )
}

fn chunk(mode: Mode) -> BoxedStrategy<String> {
    let usage = prop_oneof![
        3 => Just("null".to_owned()),
        1 => Just(r#"{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}"#.to_owned()),
    ];
    let created = prop_oneof![
        4 => number(mode),
        1 => Just("999999999999999999".to_owned()),
        1 => Just("null".to_owned()),
    ];
    // A well-typed chunk's `error` is `null` or `false` (Gray Swan's flag for no error);
    // otherwise, also what a server reports, Gray Swan's `true` among it.
    let error = prop_oneof![
        Just("null".to_owned()),
        Just("false".to_owned()),
        Just(if mode == WellTyped { "false" } else { "true" }.to_owned()),
        Just(
            if mode == WellTyped {
                "null"
            } else {
                r#"{"message":"m"}"#
            }
            .to_owned()
        ),
        Just(if mode == WellTyped { "null" } else { r#""m""# }.to_owned()),
    ];
    object(
        vec![
            field("id", typed(text_or_null(mode), mode)),
            field("object", typed(text_or_null(mode), mode)),
            field("model", typed(text_or_null(mode), mode)),
            field("created", typed(created.boxed(), mode)),
            field("system_fingerprint", typed(text_or_null(mode), mode)),
            required("choices", typed(array(choice(mode), mode), mode), mode),
            field("usage", typed(usage.boxed(), mode)),
            rare("error", error.boxed(), 0.1),
            unknown(mode),
            unknown(mode),
        ],
        mode,
    )
}

/// Half well-typed chunks, half anything: cut short, given trailing text, changed by one
/// character, or not.
fn input() -> BoxedStrategy<String> {
    let any = (
        chunk(Any),
        0..6u8,
        any::<prop::sample::Index>(),
        prop::sample::select(vec!['"', '\\', '{', '}', ',', ':', ' ', '0', 'n', 'é']),
    )
        .prop_map(|(json, change, at, c)| {
            let boundaries: Vec<usize> = json
                .char_indices()
                .map(|(i, _)| i)
                .chain([json.len()])
                .collect();
            let at = boundaries[at.index(boundaries.len())];
            match change {
                0 => json[..at].to_owned(),
                1 => format!("{}{c}{}", &json[..at], &json[at..]),
                2 => format!("{json}{c}"),
                _ => json,
            }
        });
    prop_oneof![chunk(WellTyped), any].boxed()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 4096,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn from_json_gives_what_serde_json_gives(json in input()) {
        match (ChatCompletionChunkRef::from_json(&json), serde_json::from_str::<ChatCompletionChunkRef<'_>>(&json)) {
            (Ok(fast), Ok(serde)) => {
                prop_assert_eq!(strings(&fast), strings(&serde));
                prop_assert_eq!(fast, serde);
            }
            (Err(fast), Err(serde)) => prop_assert_eq!(fast.to_string(), serde.to_string()),
            (fast, serde) => prop_assert!(false, "from_json: {fast:?}\nserde_json: {serde:?}"),
        }
        match (ChatCompletionChunk::from_json(&json), serde_json::from_str::<ChatCompletionChunk>(&json)) {
            (Ok(fast), Ok(serde)) => prop_assert_eq!(fast, serde),
            (Err(fast), Err(serde)) => prop_assert_eq!(fast.to_string(), serde.to_string()),
            (fast, serde) => prop_assert!(false, "owned from_json: {fast:?}\nserde_json: {serde:?}"),
        }
    }
}

/// The generator reaches every outcome often enough to mean something: valid chunks, most of
/// a good share of them read by the scanner itself (the fast path is taken, not just agreed with), and
/// everything else, required fields missing and `error` members among it.
#[test]
fn the_generated_inputs_cover_both_paths() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut ok, mut fast, mut err, mut missing, mut error_member) = (0, 0, 0, 0, 0);
    for _ in 0..2000 {
        let json = input().new_tree(&mut runner).unwrap().current();
        if let Some(chunk) = ChatCompletionChunkRef::from_json_fast_path_only(&json) {
            fast += 1;
            assert_eq!(chunk, serde_json::from_str(&json).unwrap(), "{json}");
        }
        match serde_json::from_str::<ChatCompletionChunkRef<'_>>(&json) {
            Ok(_) => ok += 1,
            Err(e) => {
                err += 1;
                let e = e.to_string();
                missing += usize::from(e.contains("missing field"));
                error_member += usize::from(e.starts_with("error: "));
            }
        }
    }
    assert!(
        ok > 200 && fast > 100 && err > 200 && missing > 20 && error_member > 5,
        "{ok} valid ({fast} on the fast path), {err} invalid ({missing} missing a field, \
         {error_member} with an error member)"
    );
}
