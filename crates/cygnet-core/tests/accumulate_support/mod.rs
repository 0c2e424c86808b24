//! Shared by the accumulator tests: arbitrary completions, and a cutter that turns one into
//! the chunks of a stream in any way a server could.
#![allow(dead_code)] // Each test binary uses part of it.

use std::collections::VecDeque;

use cygnet_types::{
    ChatCompletion, ChatCompletionChunk, Choice, ChunkChoice, FinishReason, FunctionCallDelta,
    ResponseMessage, Role, ToolCall, ToolCallDelta, ToolType, Usage,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Value};

/// The accumulator property tests' configuration: `cases` cases, failures kept in a
/// `proptest-regressions` file next to the test's source.
pub fn proptest_config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

pub fn finish_reason() -> impl Strategy<Value = Option<FinishReason>> {
    prop_oneof![
        Just(None),
        Just(Some(FinishReason::Stop)),
        Just(Some(FinishReason::Length)),
        Just(Some(FinishReason::ContentFilter)),
        Just(Some(FinishReason::ToolCalls)),
        "[a-z_]{1,8}".prop_map(|s| Some(FinishReason::from(s.as_str()))),
    ]
}

pub fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        4 => Just(Role::Assistant),
        1 => Just(Role::Tool),
        1 => "[a-z]{1,6}".prop_map(|s| Role::from(s.as_str())),
    ]
}

/// Argument text that looks like what models write: a JSON object with unicode strings,
/// sometimes cut short (a model may stop mid-arguments when it hits `max_tokens`).
pub fn arguments() -> impl Strategy<Value = String> {
    (
        prop::collection::btree_map("[a-z_]{1,6}", "\\PC{0,12}", 0..4),
        any::<bool>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(map, truncate, at)| {
            let text = serde_json::to_string(&map).unwrap();
            if truncate {
                let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
                text[..boundaries[at.index(boundaries.len())]].to_owned()
            } else {
                text
            }
        })
}

pub fn tool_call() -> impl Strategy<Value = ToolCall> {
    ("call_[A-Za-z0-9]{1,10}", "[a-z_]{1,16}", arguments())
        .prop_map(|(id, name, arguments)| ToolCall::function(id, name, arguments))
}

pub fn logprobs() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        1 => prop::collection::vec(("\\PC{1,4}", -20i32..0), 0..5).prop_map(|tokens| {
            let content: Vec<Value> = tokens
                .into_iter()
                .map(|(token, logprob)| json!({"token": token, "logprob": logprob}))
                .collect();
            Some(json!({ "content": content }))
        }),
    ]
}

pub fn response_choice(index: u32) -> impl Strategy<Value = Choice> {
    (
        role(),
        prop::option::weighted(0.85, "\\PC{0,40}"),
        prop::collection::vec(tool_call(), 0..=2),
        finish_reason(),
        logprobs(),
    )
        .prop_map(
            move |(role, content, tool_calls, finish_reason, logprobs)| {
                let mut message = ResponseMessage::default();
                message.role = role;
                message.content = content;
                message.tool_calls = (!tool_calls.is_empty()).then_some(tool_calls);
                let mut choice = Choice::default();
                choice.index = index;
                choice.message = message;
                choice.finish_reason = finish_reason;
                choice.logprobs = logprobs;
                choice
            },
        )
}

pub fn completion() -> impl Strategy<Value = ChatCompletion> {
    // 1 to 3 choices with distinct, possibly non-contiguous indices.
    let choices = prop::sample::subsequence(vec![0u32, 1, 2, 3, 7], 1..=3)
        .prop_flat_map(|indices| indices.into_iter().map(response_choice).collect::<Vec<_>>());
    (
        "chatcmpl-[A-Za-z0-9]{1,12}",
        1i64..2_000_000_000,
        prop_oneof![Just("cygnet".to_owned()), "[a-z0-9.-]{1,16}"],
        prop::option::of("fp_[a-f0-9]{4,8}"),
        choices,
        prop::option::of((0u64..10_000, 0u64..10_000)),
    )
        .prop_map(|(id, created, model, fingerprint, choices, usage)| {
            let mut completion = ChatCompletion::default();
            completion.id = id;
            completion.object = "chat.completion".to_owned();
            completion.created = created;
            completion.model = model;
            completion.system_fingerprint = fingerprint;
            completion.choices = choices;
            completion.usage = usage.map(|(p, c)| Usage::new(p, c, p + c));
            completion
        })
}

/// Splits `text` into pieces at random char boundaries; pieces may be empty. Gives at
/// least one piece, so `Some("")` content still reaches the accumulator.
pub fn split(rng: &mut fastrand::Rng, text: &str) -> Vec<String> {
    let mut cuts: Vec<usize> = (0..rng.usize(0..=text.chars().count().min(12)))
        .map(|_| {
            let boundaries: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .collect();
            boundaries[rng.usize(..boundaries.len())]
        })
        .collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain(std::iter::once(text.len())) {
        pieces.push(text[start..cut].to_owned());
        start = cut;
    }
    pieces
}

/// Merges queues into one sequence in a random order that keeps each queue's own order.
pub fn interleave<T>(rng: &mut fastrand::Rng, mut queues: Vec<VecDeque<T>>) -> Vec<T> {
    let mut out = Vec::new();
    loop {
        let live: Vec<usize> = (0..queues.len())
            .filter(|&i| !queues[i].is_empty())
            .collect();
        if live.is_empty() {
            return out;
        }
        let pick = live[rng.usize(..live.len())];
        out.extend(queues[pick].pop_front());
    }
}

/// One fragment of one choice's stream.
enum Fragment {
    Content(String),
    Tool(ToolCallDelta),
    Logprobs(Value),
}

pub fn tool_delta(
    index: usize,
    id: Option<String>,
    kind: Option<ToolType>,
    name: Option<String>,
    arguments: Option<String>,
) -> ToolCallDelta {
    let mut delta = ToolCallDelta::default();
    delta.index = index as u32;
    delta.id = id;
    delta.kind = kind;
    if name.is_some() || arguments.is_some() {
        let mut function = FunctionCallDelta::default();
        function.name = name;
        function.arguments = arguments;
        delta.function = Some(function);
    }
    delta
}

/// The deltas of one choice, cut at random: every string split at random char boundaries,
/// content, each tool call and the log probabilities interleaved at random (each keeping
/// its own order), neighbouring fragments sometimes sharing a delta; the role in the first
/// delta and the finish reason in the last, as servers send them.
pub fn choice_deltas(rng: &mut fastrand::Rng, choice: &Choice) -> VecDeque<ChunkChoice> {
    let mut queues: Vec<VecDeque<Fragment>> = Vec::new();
    if let Some(content) = &choice.message.content {
        queues.push(
            split(rng, content)
                .into_iter()
                .map(Fragment::Content)
                .collect(),
        );
    }
    for (index, call) in choice.message.tool_calls.iter().flatten().enumerate() {
        let mut queue = VecDeque::new();
        queue.push_back(Fragment::Tool(tool_delta(
            index,
            None,
            Some(call.kind.clone()),
            None,
            None,
        )));
        queue.extend(
            split(rng, &call.id)
                .into_iter()
                .map(|id| Fragment::Tool(tool_delta(index, Some(id), None, None, None))),
        );
        queue.extend(
            split(rng, &call.function.name)
                .into_iter()
                .map(|name| Fragment::Tool(tool_delta(index, None, None, Some(name), None))),
        );
        queue.extend(
            split(rng, &call.function.arguments)
                .into_iter()
                .map(|piece| Fragment::Tool(tool_delta(index, None, None, None, Some(piece)))),
        );
        queues.push(queue);
    }
    if let Some(logprobs) = &choice.logprobs {
        let tokens = logprobs["content"].as_array().cloned().unwrap_or_default();
        let mut queue = VecDeque::new();
        let mut rest = &tokens[..];
        loop {
            let take = rng.usize(0..=rest.len());
            queue.push_back(Fragment::Logprobs(
                json!({ "content": rest[..take].to_vec() }),
            ));
            rest = &rest[take..];
            if rest.is_empty() {
                break;
            }
        }
        queues.push(queue);
    }

    let mut deltas: VecDeque<ChunkChoice> = VecDeque::new();
    let mut current = ChunkChoice::default();
    let mut used = false;
    for fragment in interleave(rng, queues) {
        let fits = match &fragment {
            Fragment::Content(_) => current.delta.content.is_none(),
            Fragment::Tool(_) => true,
            Fragment::Logprobs(_) => current.logprobs.is_none(),
        };
        if used && !(fits && rng.u8(..3) == 0) {
            deltas.push_back(std::mem::take(&mut current));
        }
        match fragment {
            Fragment::Content(text) => current.delta.content = Some(text),
            Fragment::Tool(tool) => current
                .delta
                .tool_calls
                .get_or_insert_with(Vec::new)
                .push(tool),
            Fragment::Logprobs(value) => current.logprobs = Some(value),
        }
        used = true;
    }
    deltas.push_back(current);
    for delta in &mut deltas {
        delta.index = choice.index;
    }
    deltas.front_mut().unwrap().delta.role = Some(choice.message.role.clone());
    deltas.back_mut().unwrap().finish_reason = choice.finish_reason.clone();
    deltas
}

/// Cuts `completion` into the chunks of a stream, at random as `seed` says: the choices'
/// deltas interleaved at random, several choices sometimes sharing a chunk, now and then
/// a chunk with no choices, and the usage in a final usage-only chunk.
pub fn cut(completion: &ChatCompletion, seed: u64) -> Vec<ChatCompletionChunk> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let header = || {
        let mut chunk = ChatCompletionChunk::default();
        chunk.id.clone_from(&completion.id);
        chunk.object = "chat.completion.chunk".to_owned();
        chunk.created = completion.created;
        chunk.model.clone_from(&completion.model);
        chunk
            .system_fingerprint
            .clone_from(&completion.system_fingerprint);
        chunk
    };
    let mut per_choice: Vec<VecDeque<ChunkChoice>> = completion
        .choices
        .iter()
        .map(|c| choice_deltas(&mut rng, c))
        .collect();
    let mut chunks = Vec::new();
    while per_choice.iter().any(|q| !q.is_empty()) {
        let mut chunk = header();
        if rng.u8(..20) != 0 {
            let mut live: Vec<usize> = (0..per_choice.len())
                .filter(|&i| !per_choice[i].is_empty())
                .collect();
            rng.shuffle(&mut live);
            let take = rng.usize(1..=live.len());
            for &i in &live[..take] {
                chunk.choices.push(per_choice[i].pop_front().unwrap());
            }
        }
        chunks.push(chunk);
    }
    if let Some(usage) = completion.usage {
        let mut chunk = header();
        chunk.usage = Some(usage);
        chunks.push(chunk);
    }
    chunks
}

/// The body of a `text/event-stream` answer carrying `chunks` and then `[DONE]`, with the
/// line ending `eol` (servers may use any of CRLF, LF or CR).
pub fn sse_body(chunks: &[ChatCompletionChunk], eol: &str) -> String {
    let mut body = String::new();
    for chunk in chunks {
        body.push_str("data: ");
        body.push_str(&serde_json::to_string(chunk).unwrap());
        body.push_str(eol);
        body.push_str(eol);
    }
    body.push_str("data: [DONE]");
    body.push_str(eol);
    body.push_str(eol);
    body
}
