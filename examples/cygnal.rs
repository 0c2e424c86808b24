//! Cygnal: an OpenAI model's chat, guarded by Gray Swan, through the same client.
//!
//! The request is OpenAI's chat format for `gpt-5`, sent to `{GRAY_SWAN_BASE_URL}/cygnal/chat/
//! completions` with two keys: OpenAI's (from `OPENAI_API_KEY`), which Cygnal hands on to
//! OpenAI, and Gray Swan's (from `GRAYSWAN_API_KEY`). The policy is a category Cygnal filters
//! against, with the thresholds at which it blocks the question or the answer, and Gray Swan's
//! `policy_id` when `GRAYSWAN_POLICY_ID` names one of your account's policies.
//!
//! The example prints the answer. When Gray Swan blocked it (HTTP 200, finish reason
//! `violation`), what it prints is the refusal, and a line on stderr says so: the two cannot be
//! told apart by their text.
//!
//! Without `GRAYSWAN_API_KEY` it runs offline on cygnet's mock transport, whose canned answer is
//! a refusal. With it, `OPENAI_API_KEY` must be set too.
//!
//! ```sh
//! cargo run --example cygnal
//! ```
#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use cygnet::cygnal::{CygnalControls, ProviderKey};
use cygnet::mock::MockReply;
use cygnet::{CygnalRequest, Message, Threshold};

use common::Failure;

/// The model, an OpenAI one: Cygnal guards any provider's model.
const MODEL: &str = "gpt-5";
/// The refusal Cygnal answers with when it blocks.
const REFUSAL: &str = "Sorry, I can't help with that.";
/// The variable that may name a Gray Swan policy of your account.
const POLICY_ENV: &str = "GRAYSWAN_POLICY_ID";

#[tokio::main]
async fn main() -> ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let client = common::client(|| vec![MockReply::blocked(REFUSAL)])?;
    let provider_key = if common::online() {
        // Fails, naming OPENAI_API_KEY, when it is not set: nothing is sent.
        ProviderKey::from_env()?
    } else {
        // Never sent anywhere: the mock answers in process.
        ProviderKey::new("sk-offline-provider-example")?
    };
    let policy = CygnalControls::new()
        .category(
            "financial-advice",
            "Recommending specific stocks, funds or trades",
        )
        .pre_violation(Threshold::new(0.5).expect("in [0, 1]"))
        .post_violation(Threshold::new(0.5).expect("in [0, 1]"));
    let guarded = client.cygnal(provider_key).with_controls(policy)?;

    let mut request = CygnalRequest::new(
        MODEL,
        vec![
            Message::system("You are a helpful assistant."),
            Message::user("Which three stocks should I put my savings in this week?"),
        ],
    )
    .max_completion_tokens(400);
    if let Some(policy_id) = std::env::var(POLICY_ENV).ok().filter(|v| !v.is_empty()) {
        request = request.policy_id(policy_id);
    }
    let completion = guarded.chat(&request).await?;
    println!("{}", completion.content().unwrap_or_default());
    common::say_if_blocked(completion.is_blocked());
    Ok(())
}
