//! What a blocked answer must read as, in every form a caller can take it in, and what Gray
//! Swan's error envelope must read as. Shared by the tests over the mock and over a real
//! socket, which serve the same bodies.
//!
//! Each check takes a client whose every chat request is answered the same way (a mock with a
//! fallback reply, a loopback server with one reply), since it reads the answer several ways.

use cygnet_core::{ApiErrorKind, Client, Error, TextStream};
use cygnet_types::{ChatCompletion, ChatCompletionRequest};

/// Asserts that `completion` is blocked, choice 0, with `refusal` as its refusal and (as the
/// server sent it) its content, and that `into_unblocked` and `?` make it [`Error::Blocked`].
///
/// # Panics
///
/// When it is not.
pub fn assert_blocked_completion(completion: &ChatCompletion, refusal: &str) {
    assert!(completion.is_blocked(), "{completion:?}");
    let blocked = completion.blocked().expect("a blocked choice");
    assert_eq!(blocked.choice_index(), 0);
    assert_eq!(blocked.refusal(), Some(refusal));
    assert_eq!(
        completion.choices[0].message.refusal.as_deref(),
        Some(refusal)
    );
    let unblocked =
        || -> Result<ChatCompletion, Error> { Ok(completion.clone().into_unblocked()?) };
    let error = unblocked().expect_err("a blocked answer is an error on demand");
    let answer = error.as_blocked().expect("Error::Blocked");
    assert_eq!(answer.refusal(), Some(refusal));
    assert_eq!(answer.completion(), completion);
    assert_eq!(
        error.to_string(),
        format!("Gray Swan blocked the answer: {refusal}")
    );
}

/// Asserts that an ordinary answer reads as not blocked, in whole and through
/// `into_unblocked`.
///
/// # Panics
///
/// When it does not.
pub fn assert_not_blocked(completion: &ChatCompletion) {
    assert!(!completion.is_blocked(), "{completion:?}");
    assert_eq!(completion.blocked(), None);
    assert_eq!(completion.clone().into_unblocked().as_ref(), Ok(completion));
}

/// Reads a blocked stream of `client` (the deltas `before`, then the chunk with `refusal`) in
/// every way a caller can, and asserts that each says it was blocked: chunk by chunk (owned and
/// borrowed), accumulated (as it goes and collected), as text (pieces, then `collect_text`,
/// which fails with [`Error::Blocked`]).
///
/// # Panics
///
/// When a form of the stream fails or reads as an ordinary answer.
pub async fn assert_blocked_stream(
    client: &Client,
    request: &ChatCompletionRequest,
    before: &[&str],
    refusal: &str,
) {
    // Chunk by chunk: only the last says it is blocked, and its refusal is in the chunk.
    let mut stream = client.chat_stream(request).await.expect("the stream opens");
    let mut blocked_chunks = Vec::new();
    let mut text = String::new();
    while let Some(chunk) = stream.next_chunk().await {
        let chunk = chunk.expect("a chunk");
        text.push_str(chunk.content().unwrap_or_default());
        blocked_chunks.push(chunk.blocked().map(|b| b.refusal().map(str::to_owned)));
    }
    let last = blocked_chunks.pop().expect("at least one chunk");
    assert_eq!(last, Some(Some(refusal.to_owned())));
    assert!(
        blocked_chunks.iter().all(Option::is_none),
        "{blocked_chunks:?}"
    );
    // The text helpers keep the refusal as content, as the server sent it.
    assert_eq!(text, format!("{}{refusal}", before.concat()));

    // Borrowed chunks say the same.
    let mut stream = client.chat_stream(request).await.expect("the stream opens");
    let mut borrowed = Vec::new();
    while let Some(item) = stream
        .next_chunk_with(|chunk| chunk.blocked().map(|b| b.refusal().map(str::to_owned)))
        .await
    {
        borrowed.push(item.expect("a chunk"));
    }
    assert_eq!(borrowed.last(), Some(&Some(Some(refusal.to_owned()))));

    // Accumulated: blocked as soon as the last chunk is folded in, and in the completion.
    let mut stream = client
        .chat_stream(request)
        .await
        .expect("the stream opens")
        .accumulate();
    while let Some(chunk) = stream.next_chunk().await {
        let chunk = chunk.expect("a chunk");
        assert_eq!(stream.is_blocked(), chunk.is_blocked());
    }
    assert_eq!(
        stream
            .blocked()
            .and_then(|b| b.refusal().map(str::to_owned)),
        Some(refusal.to_owned())
    );
    let completion = stream.into_completion();
    assert_blocked_completion_streamed(&completion, before, refusal);
    let collected = client
        .chat_stream(request)
        .await
        .expect("the stream opens")
        .collect_completion()
        .await
        .expect("a blocked stream is collected");
    assert_eq!(collected, completion);

    // As text: the pieces are the content, refusal included; the stream notes the block.
    let mut pieces: TextStream = client.chat_stream(request).await.expect("opens").text();
    let mut text = String::new();
    while let Some(piece) = pieces.next_text().await {
        text.push_str(&piece.expect("a piece"));
    }
    assert_eq!(text, format!("{}{refusal}", before.concat()));
    assert_eq!(
        pieces
            .blocked()
            .and_then(|b| b.refusal().map(str::to_owned)),
        Some(refusal.to_owned())
    );
    // Collected text alone could not say it: an error holding the text and the refusal.
    let error = client
        .chat_stream(request)
        .await
        .expect("opens")
        .text()
        .collect_text()
        .await
        .expect_err("collected text of a blocked stream is an error");
    let answer = error.as_blocked().unwrap_or_else(|| panic!("{error:?}"));
    assert_eq!(answer.refusal(), Some(refusal));
    assert_eq!(answer.completion().content(), Some(text.as_str()));
}

/// A completion accumulated from a blocked stream: blocked, the refusal apart, the content all
/// the stream sent.
fn assert_blocked_completion_streamed(completion: &ChatCompletion, before: &[&str], refusal: &str) {
    assert!(completion.is_blocked(), "{completion:?}");
    let blocked = completion.blocked().expect("a blocked choice");
    assert_eq!(blocked.refusal(), Some(refusal));
    assert_eq!(blocked.refusal_field(), Some(refusal));
    let content = format!("{}{refusal}", before.concat());
    assert_eq!(completion.content(), Some(content.as_str()));
    assert!(completion.clone().into_unblocked().is_err());
}

/// Asserts that `error` is the server's error with `status` (`None` inside a stream), which
/// reads exactly `display`, with `code` as its code.
///
/// # Panics
///
/// When it is not.
pub fn assert_api_error(
    error: &Error,
    status: Option<u16>,
    display: &str,
    code: Option<&str>,
) -> ApiErrorKind {
    let api = error
        .as_api()
        .unwrap_or_else(|| panic!("an API error, got {error:?}"));
    assert_eq!(api.status.map(|s| s.as_u16()), status);
    assert_eq!(error.to_string(), display);
    assert_eq!(api.code(), code);
    assert!(!api.body.is_empty(), "the raw body stays available");
    api.kind
}
