//! The seed conversation and well-formed answers, as JSON and as server-sent events.
//!
//! Every body here is complete (ids, indexes, deltas, finish reasons) so that tests exercise
//! the strict parse a real answer gets, not a lenient one.

use cygnet_types::{models, ChatCompletionRequest, Message};
use serde_json::{json, Value};

/// The fake API key tests use; it never leaves the machine.
pub const FAKE_KEY: &str = "sk-test-fake";

/// A base URL that is never contacted (canned transports answer for it).
pub const CANNED_BASE_URL: &str = "https://api.example.test/";

/// The seed's system message.
pub const SYSTEM: &str = "You are a helpful assistant.";
/// The seed's user message.
pub const USER: &str = "What is a large language model?";

/// The seed conversation with model `cygnet`, as the examples send it.
pub fn seed_request() -> ChatCompletionRequest {
    ChatCompletionRequest::new(
        models::CYGNET,
        vec![Message::system(SYSTEM), Message::user(USER)],
    )
}

/// The body Gray Swan's official Python client sends for the seed conversation, with
/// `"stream": true` added for streaming calls.
pub fn official_body(stream: bool) -> Value {
    let mut body = json!({
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": USER}
        ],
        "model": "cygnet"
    });
    if stream {
        body["stream"] = json!(true);
    }
    body
}

/// A non-streaming `chat.completion` answering with `text`.
pub fn completion_json(text: &str) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "cygnet-v0.2",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
            "logprobs": null
        }],
        "system_fingerprint": null,
        "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}
    })
}

/// A `chat.completion.chunk` whose first choice carries `delta` and `finish_reason`.
pub fn chunk_json(delta: Value, finish_reason: Value) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "cygnet-v0.2",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    })
}

/// One SSE event carrying [`chunk_json`].
pub fn chunk_event(delta: Value, finish_reason: Value) -> String {
    format!("data: {}\n\n", chunk_json(delta, finish_reason))
}

/// One SSE event carrying a chunk that adds `text` to choice 0.
pub fn text_event(text: &str) -> String {
    chunk_event(json!({ "content": text }), Value::Null)
}

/// SSE events for `deltas`, without a terminator; with `first`, the first also carries the
/// assistant role, as a stream's opening chunk does.
pub fn delta_events(deltas: &[&str], first: bool) -> String {
    deltas
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut delta = json!({ "content": text });
            if first && i == 0 {
                delta["role"] = json!("assistant");
            }
            chunk_event(delta, Value::Null)
        })
        .collect()
}

/// The end of a stream: a chunk with finish reason `stop`, then `[DONE]`.
pub fn stream_end() -> String {
    chunk_event(json!({}), json!("stop")) + "data: [DONE]\n\n"
}

/// A whole, well-formed SSE body streaming `deltas`.
pub fn sse_body(deltas: &[&str]) -> String {
    delta_events(deltas, true) + &stream_end()
}

/// Gray Swan's refusal, as Cygnal sends it for a blocked answer.
pub const REFUSAL: &str = "Sorry, I can't help with that.";

/// A `chat.completion` Gray Swan blocked: HTTP 200, finish reason `violation`, the refusal in
/// both `content` and `refusal`.
pub fn blocked_completion_json(refusal: &str) -> Value {
    let mut completion = completion_json(refusal);
    completion["choices"][0]["finish_reason"] = json!("violation");
    completion["choices"][0]["message"]["refusal"] = json!(refusal);
    completion
}

/// A whole SSE body Gray Swan cut: the deltas of `before`, then a chunk carrying `refusal` in
/// `content` and `refusal` with finish reason `violation`, then `[DONE]`.
pub fn blocked_sse_body(before: &[&str], refusal: &str) -> String {
    delta_events(before, true)
        + &chunk_event(
            json!({"content": refusal, "refusal": refusal}),
            json!("violation"),
        )
        + "data: [DONE]\n\n"
}

/// Gray Swan's error envelope, `{"error": true, "message", "detail", "error_code", "details"}`.
pub fn error_envelope_json(message: &str, detail: &str, code: &str) -> Value {
    json!({
        "error": true,
        "message": message,
        "detail": detail,
        "error_code": code,
        "details": {"request": "chat"}
    })
}

/// FastAPI's validation failure (a 422 body): `body.messages` is missing.
pub fn validation_error_json() -> Value {
    json!({"detail": [
        {"loc": ["body", "messages"], "msg": "Field required", "type": "missing"},
        {"loc": ["body", "model"], "msg": "Input should be a valid string", "type": "string_type"}
    ]})
}
