//! `from_json` reads the common chunk shape with a hand-written scanner and hands the rest
//! to serde_json; on every input it must give exactly what serde_json gives: the same chunk
//! (with the same strings borrowed) or the same error. The inputs are chunk-like JSON with
//! fields in any order, duplicated or missing, values of the right and the wrong types,
//! escapes, control characters, odd numbers, whitespace anywhere, then sometimes cut short
//! or mutated by one character.

use std::borrow::Cow;

use cygnet_types::{ChatCompletionChunk, ChatCompletionChunkRef};
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};
use proptest::test_runner::FileFailurePersistence;

/// JSON whitespace, mostly none; sometimes a form feed, which JSON does not allow.
fn ws() -> BoxedStrategy<String> {
    prop_oneof![
        8 => Just(String::new()),
        3 => "[ \t\n\r]{1,3}",
        1 => Just("\x0c".to_owned()),
    ]
    .boxed()
}

/// The JSON text of a string: plain, escaped (validly or not), non-ASCII, or with control
/// characters.
fn string() -> BoxedStrategy<String> {
    prop_oneof![
        8 => "[a-zA-Z0-9 .,:-]{0,12}",
        4 => r#"([a-z]{0,3}\\["\\/bfnrt]){1,3}[a-z]{0,3}"#,
        2 => r#"[a-z]{0,3}(\\u00e9|\\ud83d\\ude00|\\ud83d|\\u12|\\x|\\)[a-z]{0,3}"#,
        2 => "[é✓😀a]{1,4}",
        2 => "[a-z]{0,2}[\x01\x1f\x7f][bfnrt/a]{0,2}",
        1 => Just("[DONE]".to_owned()),
    ]
    .prop_map(|s| format!("\"{s}\""))
    .boxed()
}

/// Numbers valid and invalid for an integer field.
fn number() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "0|[1-9][0-9]{0,9}",
        2 => "[1-9][0-9]{9,11}|[1-9][0-9]{17,21}",
        1 => "-[0-9]{1,3}|-0",
        1 => "0[0-9]{1,2}",
        1 => "[0-9]{1,3}\\.[0-9]{0,2}",
        1 => "[1-9][eE][+-]?[0-9]",
    ]
    .boxed()
}

/// Any other value, mostly of the wrong type for the field it lands in.
fn other() -> BoxedStrategy<String> {
    prop_oneof![
        string(),
        number(),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        Just("nul".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("[1,\"a\"]".to_owned()),
        Just(r#"{"a":{"b":null}}"#.to_owned()),
    ]
    .boxed()
}

fn field(key: &'static str, value: BoxedStrategy<String>) -> BoxedStrategy<(String, String)> {
    (Just(key.to_owned()), value).boxed()
}

/// An object of entries drawn from `fields`, in any order, any of them repeated or missing,
/// with whitespace anywhere.
fn object(fields: Vec<BoxedStrategy<(String, String)>>) -> BoxedStrategy<String> {
    let entry = (Union::new(fields), ws(), ws()).prop_map(|((key, value), before, after)| {
        format!("{before}\"{key}\"{after}:{before}{value}{after}")
    });
    (prop::collection::vec(entry, 0..9), ws())
        .prop_map(|(entries, inside)| format!("{{{inside}{}}}", entries.join(",")))
        .boxed()
}

fn one_of(values: &[&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(values.to_vec())
        .prop_map(str::to_owned)
        .boxed()
}

fn unknown() -> BoxedStrategy<(String, String)> {
    (one_of(&["refusal", "service_tier", "x", ""]), other()).boxed()
}

fn delta() -> BoxedStrategy<String> {
    object(vec![
        field(
            "role",
            prop_oneof![one_of(&["assistant", "user", "data", "critic"]).prop_map(|r| format!("\"{r}\"")), other()].boxed(),
        ),
        field("content", prop_oneof![3 => string(), 1 => other()].boxed()),
        field("content", Just("null".to_owned()).boxed()),
        field(
            "tool_calls",
            prop_oneof![
                Just("null".to_owned()),
                Just(r#"[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]"#.to_owned()),
                other(),
            ]
            .boxed(),
        ),
        unknown(),
    ])
}

fn choice() -> BoxedStrategy<String> {
    object(vec![
        field("index", prop_oneof![3 => number(), 1 => other()].boxed()),
        field("delta", prop_oneof![4 => delta(), 1 => other()].boxed()),
        field(
            "finish_reason",
            prop_oneof![
                one_of(&["stop", "length", "tool_calls", "content_filter", "new"])
                    .prop_map(|r| format!("\"{r}\"")),
                Just("null".to_owned()),
                other(),
            ]
            .boxed(),
        ),
        field(
            "logprobs",
            prop_oneof![
                Just("null".to_owned()),
                Just(r#"{"content":[]}"#.to_owned()),
                other()
            ]
            .boxed(),
        ),
        unknown(),
    ])
}

fn choices() -> BoxedStrategy<String> {
    prop_oneof![
        4 => (prop::collection::vec(choice(), 0..3), ws())
            .prop_map(|(choices, inside)| format!("[{inside}{}]", choices.join(","))),
        1 => other(),
    ]
    .boxed()
}

fn chunk() -> BoxedStrategy<String> {
    let text = || prop_oneof![6 => string(), 1 => other()].boxed();
    object(vec![
        field("id", text()),
        field("object", text()),
        field("model", text()),
        field("created", prop_oneof![3 => number(), 1 => other()].boxed()),
        field(
            "system_fingerprint",
            prop_oneof![text(), Just("null".to_owned())].boxed(),
        ),
        field("choices", choices()),
        field("choices", choices()),
        field(
            "usage",
            prop_oneof![
                Just("null".to_owned()),
                Just(r#"{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}"#.to_owned()),
                other(),
            ]
            .boxed(),
        ),
        unknown(),
    ])
}

/// A chunk's JSON, sometimes cut short, given trailing text, or changed by one character.
fn input() -> BoxedStrategy<String> {
    (
        chunk(),
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
        })
        .boxed()
}

/// Every string of a borrowed chunk, with whether it is borrowed.
fn strings<'c>(chunk: &'c ChatCompletionChunkRef<'_>) -> Vec<(&'c str, bool)> {
    let mut all = vec![&chunk.id, &chunk.object, &chunk.model];
    all.extend(&chunk.system_fingerprint);
    for choice in &chunk.choices {
        all.extend(&choice.delta.content);
        for call in choice.delta.tool_calls.iter().flatten() {
            all.extend(&call.id);
            if let Some(function) = &call.function {
                all.extend(&function.name);
                all.extend(&function.arguments);
            }
        }
    }
    all.into_iter()
        .map(|s| (s.as_ref(), matches!(s, Cow::Borrowed(_))))
        .collect()
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

/// The generator reaches both outcomes often enough to mean something: valid chunks of the
/// common shape (which the scanner reads) and everything else.
#[test]
fn the_generated_inputs_cover_both_paths() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut ok, mut err) = (0, 0);
    for _ in 0..2000 {
        let json = input().new_tree(&mut runner).unwrap().current();
        match serde_json::from_str::<ChatCompletionChunkRef<'_>>(&json) {
            Ok(_) => ok += 1,
            Err(_) => err += 1,
        }
    }
    assert!(ok > 200 && err > 200, "{ok} valid, {err} invalid");
}
