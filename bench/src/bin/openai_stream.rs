//! The async-openai contender of the end-to-end benchmark: stream the seed conversation from
//! `GRAY_SWAN_BASE_URL` (its `/chat/completions`) and print each delta as it arrives, flushed,
//! exactly as cygnet's `chat_stream` example does.

use std::io::Write;

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequestArgs,
};
use futures::StreamExt;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    cygnet_bench::contender_runtime().block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // reqwest is built without a default crypto provider here; the loopback run is plain HTTP.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let base = std::env::var("GRAY_SWAN_BASE_URL")?;
    let key = std::env::var("GRAYSWAN_API_KEY")?;
    let client = async_openai::Client::with_config(
        OpenAIConfig::new().with_api_base(base).with_api_key(key),
    );
    let request = CreateChatCompletionRequestArgs::default()
        .model("cygnet")
        .messages([
            ChatCompletionRequestSystemMessage::from("You are a helpful assistant.").into(),
            ChatCompletionRequestUserMessage::from("What is a large language model?").into(),
        ])
        .build()?;
    let mut stream = client.chat().create_stream(request).await?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if let Some(delta) = chunk
            .choices
            .first()
            .and_then(|c| c.delta.content.as_deref())
        {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(delta.as_bytes())?;
            stdout.flush()?;
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(b"\n")?;
    stdout.flush()?;
    Ok(())
}
