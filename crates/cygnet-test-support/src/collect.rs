//! Reading a whole chat stream the way most tests do: chunk by chunk keeping the text or every
//! item, or folded into one completion.

use cygnet_core::{Client, Error};
use cygnet_types::{ChatCompletion, ChatCompletionChunk, ChatCompletionRequest};

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

/// Opens a chat stream for `request` on `client` and returns every item it yields, chunks and
/// errors alike, in order, for tests that check what comes after what.
///
/// # Errors
///
/// The error that opening the stream returned.
pub async fn stream_items(
    client: &Client,
    request: &ChatCompletionRequest,
) -> Result<Vec<Result<ChatCompletionChunk, Error>>, Error> {
    let mut stream = client.chat_stream(request).await?;
    let mut items = Vec::new();
    while let Some(item) = stream.next_chunk().await {
        items.push(item);
    }
    Ok(items)
}

/// Opens a chat stream for `request` on `client` and reads it until its first error: how
/// many chunks came before the error, and the error (an error opening the stream comes
/// after zero chunks). `Err` with the number of chunks if the stream ended without one.
///
/// # Errors
///
/// The number of chunks read, when the stream ended without an error.
pub async fn chunks_then_error(
    client: &Client,
    request: &ChatCompletionRequest,
) -> Result<(usize, Error), usize> {
    let mut stream = match client.chat_stream(request).await {
        Ok(stream) => stream,
        Err(e) => return Ok((0, e)),
    };
    let mut chunks = 0;
    while let Some(item) = stream.next_chunk().await {
        match item {
            Ok(_) => chunks += 1,
            Err(e) => return Ok((chunks, e)),
        }
    }
    Err(chunks)
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
