//! Fixtures: the canned wire content the mock's replies are made of.
//!
//! Well-formed `chat.completion` bodies and `chat.completion.chunk` events, framed the
//! way the server frames server-sent events, with fixed ids and timestamps
//! ([`MOCK_COMPLETION_ID`], [`MOCK_MODEL`], [`MOCK_CREATED`]) so tests are deterministic.
//! Every completion has `choices` with each choice's `index` and `message`, every chunk
//! `choices` with `index` and `delta`, as the wire contract requires, so a strict parser
//! reads them as a real server's.
//!
//! Kept apart from the reply builder ([`MockReply`](crate::MockReply)) so the one place
//! that knows what the server's JSON looks like is this file, and from the scripted body
//! because the body only plays bytes, whatever they say.

use bytes::Bytes;
use cygnet_types::{ChatCompletionChunk, ToolCall};
use serde_json::{json, Value};

/// The id every generated completion and chunk carries.
pub const MOCK_COMPLETION_ID: &str = "chatcmpl-mock";
/// The model every generated completion and chunk names.
pub const MOCK_MODEL: &str = "cygnet";
/// The `created` timestamp of every generated completion and chunk (fixed, so tests are
/// deterministic).
pub const MOCK_CREATED: i64 = 1_700_000_000;

/// A `chat.completion` whose assistant message is `text` (finish reason `stop`).
pub(crate) fn text_completion(text: String) -> Value {
    let tokens = token_estimate(&text);
    completion(
        json!({"role": "assistant", "content": text}),
        "stop",
        tokens,
    )
}

/// A `chat.completion` Gray Swan blocked: finish reason `violation`, the refusal in both
/// `content` and `refusal`, as Cygnal sends it.
pub(crate) fn blocked_completion(refusal: String) -> Value {
    let tokens = token_estimate(&refusal);
    completion(
        json!({"role": "assistant", "content": refusal, "refusal": refusal}),
        "violation",
        tokens,
    )
}

/// The events of a stream Gray Swan cut: one chunk per delta of `before` (the first with
/// role `assistant`), then the chunk that ends it, the refusal in both `content` and
/// `refusal` with finish reason `violation` (and the role, when it is the first). No
/// `[DONE]`: the scripted body adds it.
pub(crate) fn blocked_chunk_events(
    before: impl IntoIterator<Item = String>,
    refusal: String,
) -> Vec<Bytes> {
    let mut events = delta_chunk_events(before);
    let mut delta = json!({"content": refusal, "refusal": refusal});
    if events.is_empty() {
        delta["role"] = json!("assistant");
    }
    events.push(chunk_event(delta, json!("violation")));
    events
}

/// Gray Swan's error envelope: `{"error": true, "message", "detail", "error_code",
/// "details"}`.
pub(crate) fn error_envelope(message: &str, code: &str) -> Value {
    json!({
        "error": true,
        "message": message,
        "detail": message,
        "error_code": code,
        "details": {},
    })
}

/// A `chat.completion` whose assistant message calls `calls` (content null, finish
/// reason `tool_calls`).
pub(crate) fn tool_calls_completion(calls: &[ToolCall]) -> Value {
    let tokens = calls
        .iter()
        .map(|c| token_estimate(&c.function.arguments))
        .sum();
    let calls = serde_json::to_value(calls).unwrap_or(Value::Null);
    completion(
        json!({"role": "assistant", "content": null, "tool_calls": calls}),
        "tool_calls",
        tokens,
    )
}

/// The events of a streamed text answer: one chunk per delta (the first with role
/// `assistant`; a role-only chunk when there are no deltas), then an empty delta with
/// finish reason `stop`. No `[DONE]`: the scripted body adds it.
pub(crate) fn text_chunk_events(deltas: impl IntoIterator<Item = String>) -> Vec<Bytes> {
    let mut events = delta_chunk_events(deltas);
    if events.is_empty() {
        events.push(chunk_event(json!({"role": "assistant"}), Value::Null));
    }
    events.push(chunk_event(json!({}), json!("stop")));
    events
}

/// One chunk per text delta, the first with role `assistant`.
fn delta_chunk_events(deltas: impl IntoIterator<Item = String>) -> Vec<Bytes> {
    deltas
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let mut delta = json!({"content": text});
            if i == 0 {
                delta["role"] = json!("assistant");
            }
            chunk_event(delta, Value::Null)
        })
        .collect()
}

/// The events of a streamed tool-call answer, as a server streams them: the role, then
/// per call one delta with its `index`, `id`, type and name followed by its arguments
/// cut into `pieces` fragments (at least one), then finish reason `tool_calls`.
pub(crate) fn tool_call_chunk_events(calls: &[ToolCall], pieces: usize) -> Vec<Bytes> {
    let mut events = vec![chunk_event(
        json!({"role": "assistant", "content": null}),
        Value::Null,
    )];
    for (index, call) in calls.iter().enumerate() {
        events.push(chunk_event(
            json!({"tool_calls": [{
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": ""},
            }]}),
            Value::Null,
        ));
        for piece in split_str(&call.function.arguments, pieces.max(1)) {
            events.push(chunk_event(
                json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                Value::Null,
            ));
        }
    }
    events.push(chunk_event(json!({}), json!("tool_calls")));
    events
}

/// A Cygnal monitor answer with score `violation`, nothing seen and no rule violated.
pub(crate) fn monitor_verdict(violation: f64) -> Value {
    json!({
        "violation": violation,
        "violated_rules": [],
        "violated_rule_descriptions": [],
        "mutation": false,
        "ipi": false,
    })
}

/// One event per chunk, each serialized as is.
pub(crate) fn chunk_events(chunks: &[ChatCompletionChunk]) -> Vec<Bytes> {
    chunks
        .iter()
        .map(|c| frame(&serde_json::to_string(c).unwrap_or_default()))
        .collect()
}

/// The chunk `stream_options.include_usage` ends a stream with: no choices, the counts.
pub(crate) fn usage_chunk_event(prompt_tokens: u64, completion_tokens: u64) -> Bytes {
    let chunk = json!({
        "id": MOCK_COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": MOCK_CREATED,
        "model": MOCK_MODEL,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    });
    frame(&chunk.to_string())
}

/// The in-stream error event the server sends: `data: {"error":{"message": ...}}`.
pub(crate) fn error_event(message: &str) -> Bytes {
    frame(&json!({"error": {"message": message}}).to_string())
}

/// The stream's terminator, `data: [DONE]`.
pub(crate) fn done_event() -> Bytes {
    frame("[DONE]")
}

/// `data: <data>` framed as one event, each line of `data` its own `data:` field.
pub(crate) fn frame(data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + 8);
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

fn chunk_event(delta: Value, finish_reason: Value) -> Bytes {
    let chunk = json!({
        "id": MOCK_COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": MOCK_CREATED,
        "model": MOCK_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    });
    frame(&chunk.to_string())
}

fn completion(message: Value, finish_reason: &str, completion_tokens: u64) -> Value {
    const PROMPT_TOKENS: u64 = 10;
    json!({
        "id": MOCK_COMPLETION_ID,
        "object": "chat.completion",
        "created": MOCK_CREATED,
        "model": MOCK_MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": null}],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": completion_tokens,
            "total_tokens": PROMPT_TOKENS + completion_tokens,
        },
    })
}

/// A stand-in token count: one per whitespace-separated word, at least one.
fn token_estimate(text: &str) -> u64 {
    (text.split_whitespace().count() as u64).max(1)
}

/// Cuts `s` into at most `pieces` non-empty parts of about equal length, on character
/// boundaries (an empty string gives one empty part).
fn split_str(s: &str, pieces: usize) -> Vec<&str> {
    let chars: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    if chars.is_empty() {
        return vec![s];
    }
    let pieces = pieces.min(chars.len());
    let mut out = Vec::with_capacity(pieces);
    let mut start = 0;
    for k in 1..=pieces {
        let end = if k == pieces {
            s.len()
        } else {
            chars[k * chars.len() / pieces]
        };
        out.push(&s[start..end]);
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_str_keeps_characters_whole_and_covers_everything() {
        let s = "{\"city\":\"Zürich 🌧\"}";
        for pieces in 1..30 {
            let parts = split_str(s, pieces);
            assert_eq!(parts.concat(), s);
            assert!(parts.len() <= pieces);
            assert!(parts.iter().all(|p| !p.is_empty()));
        }
        assert_eq!(split_str("", 3), vec![""]);
    }

    #[test]
    fn frame_splits_multi_line_data() {
        assert_eq!(&frame("a\nb")[..], b"data: a\ndata: b\n\n");
        assert_eq!(&done_event()[..], b"data: [DONE]\n\n");
    }

    #[test]
    fn canned_answers_have_what_a_strict_parser_requires() {
        let completion = text_completion("hi".into());
        assert_eq!(completion["choices"][0]["index"], 0);
        assert_eq!(completion["choices"][0]["message"]["content"], "hi");
        let calls = [ToolCall::function("call_1", "f", "{}")];
        let completion = tool_calls_completion(&calls);
        assert_eq!(completion["choices"][0]["index"], 0);
        assert!(completion["choices"][0]["message"].is_object());

        let blocked = blocked_completion("No.".into());
        assert_eq!(blocked["choices"][0]["finish_reason"], "violation");
        assert_eq!(blocked["choices"][0]["message"]["refusal"], "No.");
        assert_eq!(blocked["choices"][0]["message"]["content"], "No.");

        let text = text_chunk_events(["a".to_owned()]);
        let tools = tool_call_chunk_events(&calls, 2);
        let cut = blocked_chunk_events(["a".to_owned()], "No.".into());
        let whole_refusal = blocked_chunk_events([], "No.".into());
        assert_eq!((cut.len(), whole_refusal.len()), (2, 1));
        for event in text.iter().chain(&tools).chain(&cut).chain(&whole_refusal) {
            let data = std::str::from_utf8(event).unwrap();
            let data = data.strip_prefix("data: ").unwrap().trim_end();
            let chunk: Value = serde_json::from_str(data).unwrap();
            assert_eq!(chunk["choices"][0]["index"], 0, "{data}");
            assert!(chunk["choices"][0]["delta"].is_object(), "{data}");
        }
    }
}
