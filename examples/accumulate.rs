//! Accumulate a stream: print the deltas as they arrive, then the completion they add up to.
//!
//! ```sh
//! cargo run --example accumulate
//! ```
#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use cygnet::mock::MockReply;
use serde_json::json;

use common::Failure;

#[tokio::main]
async fn main() -> ExitCode {
    common::exit(run().await)
}

/// The offline stream: the answer in word-sized deltas, then a finish reason and usage.
fn offline_stream() -> Vec<MockReply> {
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        json!({
            "id": "chatcmpl-offline",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": "cygnet",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        })
    };
    let mut events: Vec<String> = common::offline_deltas(common::OFFLINE_ANSWER)
        .into_iter()
        .map(|text| chunk(json!({"role": "assistant", "content": text}), json!(null)).to_string())
        .collect();
    let mut last = chunk(json!({}), json!("stop"));
    last["usage"] = json!({"prompt_tokens": 24, "completion_tokens": 52, "total_tokens": 76});
    events.push(last.to_string());
    vec![MockReply::sse_events(events)]
}

async fn run() -> Result<(), Failure> {
    let client = common::client(offline_stream)?;
    // `accumulate` yields every chunk unchanged and folds it into the completion as it goes.
    let mut stream = client
        .chat_stream(&common::seed_request())
        .await?
        .accumulate();
    while let Some(chunk) = stream.next_chunk().await {
        if let Some(delta) = chunk?.content() {
            common::print_now(delta)?;
        }
    }
    common::print_now("\n")?;
    // The accumulated stream knows whether Gray Swan blocked it (the refusal apart, too).
    common::say_if_blocked(stream.is_blocked());

    let completion = stream.into_completion();
    let finish = completion
        .finish_reason()
        .map_or_else(|| "none".to_string(), ToString::to_string);
    println!("finish reason: {finish}");
    match &completion.usage {
        Some(usage) => println!(
            "usage: {} prompt + {} completion = {} tokens",
            usage.prompt_tokens, usage.completion_tokens, usage.total_tokens
        ),
        None => println!("usage: not sent by the server"),
    }
    Ok(())
}
