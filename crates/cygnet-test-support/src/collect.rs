//! Reading a whole chat stream the way most tests do: chunk by chunk keeping the text, or
//! folded into one completion.

use cygnet_core::{Client, Error};
use cygnet_types::{ChatCompletion, ChatCompletionRequest};

/// Opens a chat stream for `request` on `client` and returns the text of all its chunks, or
/// the first error (opening the stream, or any chunk).
///
/// # Errors
///
/// The error that opening the stream or reading a chunk returned.
pub async fn streamed_text(
    client: &Client,
    request: &ChatCompletionRequest,
) -> Result<String, Error> {
    let mut stream = client.chat_stream(request).await?;
    let mut text = String::new();
    while let Some(chunk) = stream.next_chunk().await {
        text.push_str(chunk?.content().unwrap_or_default());
    }
    Ok(text)
}

/// Opens a chat stream for `request` on `client` and folds it into one completion.
///
/// # Errors
///
/// The error that opening the stream or collecting it returned.
pub async fn streamed_completion(
    client: &Client,
    request: &ChatCompletionRequest,
) -> Result<ChatCompletion, Error> {
    client
        .chat_stream(request)
        .await?
        .collect_completion()
        .await
}
