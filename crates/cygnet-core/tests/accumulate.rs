//! The accumulator: the merge rules one by one, then the property that any completion,
//! cut into chunks in any way and accumulated, comes back equal.

mod accumulate_support;

use accumulate_support::{completion, cut};
use cygnet_core::Accumulator;
use cygnet_types::{
    ChatCompletion, ChatCompletionChunk, FinishReason, Role, ToolCall, ToolType, Usage,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn chunk(data: Value) -> ChatCompletionChunk {
    serde_json::from_value(data).expect("test chunk must parse")
}

fn accumulate(chunks: &[Value]) -> ChatCompletion {
    chunks
        .iter()
        .map(|c| chunk(c.clone()))
        .collect::<Vec<_>>()
        .iter()
        .collect::<Accumulator>()
        .finish()
}

#[test]
fn joins_content_and_takes_the_header_from_the_chunks() {
    let completion = accumulate(&[
        json!({"id":"c1","object":"chat.completion.chunk","created":42,"model":"cygnet","system_fingerprint":"fp_1",
               "choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}),
        json!({"id":"c1","created":42,"model":"cygnet","choices":[{"index":0,"delta":{"content":"Large "}}]}),
        json!({"id":"c1","created":42,"model":"cygnet","choices":[{"index":0,"delta":{"content":"language 🦢"}}]}),
        json!({"id":"c1","created":42,"model":"cygnet","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}),
    ]);
    assert_eq!(completion.id, "c1");
    assert_eq!(completion.object, "chat.completion");
    assert_eq!(completion.created, 42);
    assert_eq!(completion.model, "cygnet");
    assert_eq!(completion.system_fingerprint.as_deref(), Some("fp_1"));
    assert_eq!(completion.content(), Some("Large language 🦢"));
    assert_eq!(completion.choices[0].message.role, Role::Assistant);
    assert_eq!(completion.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(completion.usage, None);
}

#[test]
fn the_role_defaults_to_assistant_and_absent_content_stays_absent() {
    let completion = accumulate(&[
        json!({"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}),
    ]);
    assert_eq!(completion.choices[0].message.role, Role::Assistant);
    assert_eq!(completion.choices[0].message.content, None);
    assert_eq!(completion.choices[0].message.tool_calls, None);
    assert_eq!(completion.finish_reason(), Some(&FinishReason::Length));
}

#[test]
fn tells_interleaved_choices_apart_by_index_and_sorts_them() {
    let completion = accumulate(&[
        json!({"id":"c1","choices":[{"index":2,"delta":{"role":"assistant","content":"C"}}]}),
        json!({"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":"A"}},
                                    {"index":2,"delta":{"content":"c"}}]}),
        json!({"id":"c1","choices":[{"index":1,"delta":{"content":"B"}},{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}),
        json!({"id":"c1","choices":[{"index":2,"delta":{},"finish_reason":"length"},{"index":1,"delta":{"content":"b"},"finish_reason":"stop"}]}),
    ]);
    let got: Vec<_> = completion
        .choices
        .iter()
        .map(|c| {
            (
                c.index,
                c.message.content.as_deref().unwrap(),
                c.finish_reason.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (0, "Aa", FinishReason::Stop),
            (1, "Bb", FinishReason::Stop),
            (2, "Cc", FinishReason::Length)
        ]
    );
    assert_eq!(
        completion.choice(2).unwrap().message.content.as_deref(),
        Some("Cc")
    );
}

#[test]
fn merges_tool_call_fragments_by_index() {
    let completion = accumulate(&[
        json!({"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[
            {"index":0,"id":"call_a","type":"function","function":{"name":"get_","arguments":""}}]}}]}),
        json!({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[
            {"index":0,"function":{"name":"weather","arguments":"{\"loc"}},
            {"index":1,"id":"call_","type":"function","function":{"name":"get_time"}}]}}]}),
        json!({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[
            {"index":1,"id":"b","function":{"arguments":"{}"}},
            {"index":0,"function":{"arguments":"ation\":\"Ohio\"}"}}]}}]}),
        json!({"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}),
    ]);
    assert_eq!(completion.content(), None);
    assert_eq!(completion.finish_reason(), Some(&FinishReason::ToolCalls));
    assert_eq!(
        completion.tool_calls(),
        [
            ToolCall::function("call_a", "get_weather", r#"{"location":"Ohio"}"#),
            ToolCall::function("call_b", "get_time", "{}"),
        ]
    );
    #[derive(serde::Deserialize)]
    struct Args {
        location: String,
    }
    let args: Args = completion.tool_calls()[0].parse_arguments().unwrap();
    assert_eq!(args.location, "Ohio");
}

#[test]
fn tool_calls_out_of_index_order_come_out_sorted_and_type_defaults_to_function() {
    let completion = accumulate(&[
        json!({"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[
        {"index":5,"id":"late","function":{"name":"second","arguments":"[]"}},
        {"index":3,"id":"early","function":{"name":"first","arguments":"{}"}}]}}]}),
    ]);
    let calls = completion.tool_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].id, "early");
    assert_eq!(calls[1].id, "late");
    assert_eq!(calls[1].kind, ToolType::Function);
}

#[test]
fn takes_usage_from_a_final_usage_only_chunk() {
    let completion = accumulate(&[
        json!({"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]}),
        json!({"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}),
    ]);
    assert_eq!(completion.usage, Some(Usage::new(9, 1, 10)));
    assert_eq!(completion.choices.len(), 1);
}

#[test]
fn the_last_usage_sent_wins() {
    let completion = accumulate(&[
        json!({"id":"c1","choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}),
        json!({"id":"c1","choices":[{"index":0,"delta":{"content":"b"}}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}),
        json!({"id":"c1","choices":[{"index":0,"delta":{"content":"c"}}]}),
    ]);
    assert_eq!(completion.usage, Some(Usage::new(9, 2, 11)));
}

#[test]
fn keeps_logprobs_and_joins_per_token_lists() {
    let completion = accumulate(&[
        json!({"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"},
            "logprobs":{"content":[{"token":"Hi","logprob":-0.1}]}}]}),
        json!({"id":"c1","choices":[{"index":0,"delta":{"content":"!"},"logprobs":null}]}),
        json!({"id":"c1","choices":[{"index":0,"delta":{"content":"!"},
            "logprobs":{"content":[{"token":"!","logprob":-0.2}],"refusal":null}}]}),
    ]);
    assert_eq!(
        completion.choices[0].logprobs,
        Some(
            json!({"content":[{"token":"Hi","logprob":-0.1},{"token":"!","logprob":-0.2}],"refusal":null})
        )
    );
    let strings = accumulate(&[
        json!({"id":"c1","choices":[{"index":0,"delta":{},"logprobs":"ab"}]}),
        json!({"id":"c1","choices":[{"index":0,"delta":{},"logprobs":"cd"}]}),
    ]);
    assert_eq!(strings.choices[0].logprobs, Some(json!("abcd")));
}

#[test]
fn the_header_comes_from_the_first_chunk_that_has_it() {
    let completion = accumulate(&[
        json!({"choices":[{"index":0,"delta":{"content":"a"}}]}),
        json!({"id":"c1","created":5,"model":"cygnet","system_fingerprint":"fp","choices":[]}),
        json!({"id":"other","created":6,"model":"other","system_fingerprint":"fp2","choices":[]}),
    ]);
    assert_eq!(
        (
            completion.id.as_str(),
            completion.created,
            completion.model.as_str()
        ),
        ("c1", 5, "cygnet")
    );
    assert_eq!(completion.system_fingerprint.as_deref(), Some("fp"));
}

#[test]
fn snapshots_show_the_answer_so_far_and_do_not_disturb_it() {
    let mut accumulator = Accumulator::new();
    assert_eq!(accumulator.snapshot().choices, []);
    assert_eq!(accumulator.snapshot().object, "chat.completion");
    accumulator.push(&chunk(
        json!({"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}]}),
    ));
    assert_eq!(accumulator.snapshot().content(), Some("Hel"));
    accumulator.push(&chunk(
        json!({"id":"c1","choices":[{"index":0,"delta":{"content":"lo"}}]}),
    ));
    assert_eq!(accumulator.snapshot().content(), Some("Hello"));
    assert_eq!(accumulator.chunks(), 2);
    assert_eq!(accumulator.finish().content(), Some("Hello"));
}

#[test]
fn hostile_indices_do_not_panic() {
    let completion = accumulate(&[json!({"choices":[
        {"index":4294967295u32,"delta":{"content":"x","tool_calls":[{"index":4294967295u32}]}},
        {"index":0,"delta":{}}]})]);
    assert_eq!(completion.choices.len(), 2);
    assert_eq!(completion.choices[1].index, u32::MAX);
    assert_eq!(
        completion.choices[1]
            .message
            .tool_calls
            .as_ref()
            .unwrap()
            .len(),
        1
    );
}

/// Choices (and tool calls) named in descending index order, as a hostile server may send
/// them, each in one chunk: every one is found again by its index, in time that grows with
/// their number, not its square.
#[test]
fn many_choices_and_tool_calls_in_descending_order_accumulate_in_time() {
    const N: u32 = 200_000;
    // One chunk's JSON whose `choices` are `choice(i)` for every index, highest first.
    fn descending(choice: impl Fn(u32) -> String) -> ChatCompletionChunk {
        let choices: Vec<String> = (0..N).rev().map(choice).collect();
        let data = format!(r#"{{"id":"c1","choices":[{}]}}"#, choices.join(","));
        ChatCompletionChunk::from_json(&data).expect("test chunk must parse")
    }
    let completion = cygnet_test_support::bounded_thread(|| {
        let mut accumulator = Accumulator::new();
        // Every choice begins, highest index first; then each gets a second piece, in the
        // same order.
        for piece in ["a", "b"] {
            accumulator.push(&descending(|i| {
                format!(r#"{{"index":{i},"delta":{{"content":"{piece}{i}"}}}}"#)
            }));
        }
        // One choice with as many tool calls, highest index first, each sent twice.
        let calls: Vec<String> = (0..N)
            .rev()
            .map(|i| format!(r#"{{"index":{i},"function":{{"arguments":"{i},"}}}}"#))
            .collect();
        let data = format!(
            r#"{{"choices":[{{"index":{N},"delta":{{"tool_calls":[{}]}}}}]}}"#,
            calls.join(",")
        );
        let chunk = ChatCompletionChunk::from_json(&data).expect("test chunk must parse");
        accumulator.push(&chunk);
        accumulator.push(&chunk);
        accumulator.finish()
    });
    assert_eq!(completion.choices.len(), N as usize + 1);
    for (position, choice) in completion.choices.iter().enumerate() {
        assert_eq!(choice.index, position as u32);
    }
    for i in [0, 1, N / 2, N - 1] {
        let content = completion.choices[i as usize].message.content.as_deref();
        assert_eq!(content, Some(format!("a{i}b{i}").as_str()));
    }
    let calls = completion.choices[N as usize]
        .message
        .tool_calls
        .as_ref()
        .expect("the tool calls");
    assert_eq!(calls.len(), N as usize);
    for i in [0, 1, N / 2, N - 1] {
        assert_eq!(calls[i as usize].function.arguments, format!("{i},{i},"));
    }
}

// Property: cut any completion into chunks in any way; accumulating gives it back.

/// Whether `prefix`'s choices are, field by field, a prefix of `full`'s.
fn assert_prefix(prefix: &ChatCompletion, full: &ChatCompletion) {
    for choice in &prefix.choices {
        let whole = full
            .choice(choice.index)
            .expect("a choice appeared that the completion lacks");
        let content = choice.message.content.as_deref().unwrap_or("");
        assert!(whole
            .message
            .content
            .as_deref()
            .unwrap_or("")
            .starts_with(content));
        // A snapshot lists the tool calls begun so far, in index order; a later one may
        // have begun before an earlier one, so they are a subsequence of the whole's calls,
        // each a prefix of its counterpart.
        let mut whole_calls = whole.message.tool_calls.iter().flatten();
        for part in choice.message.tool_calls.iter().flatten() {
            let found = whole_calls.any(|call| {
                call.id.starts_with(&part.id)
                    && call.function.name.starts_with(&part.function.name)
                    && call
                        .function
                        .arguments
                        .starts_with(&part.function.arguments)
            });
            assert!(
                found,
                "{part:?} is not a prefix of a tool call in {whole:?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(accumulate_support::proptest_config(256))]

    #[test]
    fn any_completion_cut_into_chunks_accumulates_back(original in completion(), seed in any::<u64>()) {
        let chunks = cut(&original, seed);
        let mut accumulator = Accumulator::new();
        for chunk in &chunks {
            // Through the wire format, as a stream would deliver it.
            let chunk: ChatCompletionChunk =
                serde_json::from_str(&serde_json::to_string(chunk).unwrap()).unwrap();
            accumulator.push(&chunk);
            assert_prefix(&accumulator.snapshot(), &original);
        }
        prop_assert_eq!(accumulator.chunks(), chunks.len() as u64);
        prop_assert_eq!(&accumulator.snapshot(), &original);
        prop_assert_eq!(&accumulator.finish(), &original);
    }
}
