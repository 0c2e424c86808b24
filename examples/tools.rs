//! Tool calling: offer a `get_weather(location)` function and print the calls the model makes.
//!
//! ```sh
//! cargo run --example tools
//! ```
#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use cygnet::mock::MockReply;
use cygnet::{models, ChatCompletionRequest, Message, Tool, ToolCall, ToolChoice};
use serde_json::json;

use common::Failure;

/// The arguments of `get_weather`, parsed into our own type.
#[derive(Debug, serde::Deserialize)]
struct WeatherArgs {
    location: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let client = common::client(|| {
        vec![MockReply::tool_calls(vec![ToolCall::function(
            "call_0",
            "get_weather",
            r#"{"location": "Columbus, Ohio"}"#,
        )])]
    })?;
    let get_weather = Tool::function(
        "get_weather",
        "Get the current weather for a location.",
        json!({
            "type": "object",
            "properties": {
                "location": {
                    "type": "string",
                    "description": "The city and state, e.g. Columbus, Ohio"
                }
            },
            "required": ["location"]
        }),
    );
    let request = ChatCompletionRequest::new(
        models::CYGNET,
        vec![
            Message::system("You are a helpful assistant."),
            Message::user("What is the weather like in Columbus, Ohio?"),
        ],
    )
    .tool(get_weather)
    .tool_choice(ToolChoice::Auto);

    let completion = client.chat(&request).await?;
    let calls = completion.tool_calls();
    if calls.is_empty() {
        println!(
            "no tool call; the model answered: {}",
            completion.content().unwrap_or_default()
        );
        common::say_if_blocked(completion.is_blocked());
    }
    for call in calls {
        let args: WeatherArgs = call
            .parse_arguments()
            .map_err(|e| Failure::Other(e.to_string()))?;
        println!(
            "{}(location = {:?})  [call id {}]",
            call.function.name, args.location, call.id
        );
    }
    Ok(())
}
