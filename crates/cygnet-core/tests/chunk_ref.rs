//! The borrowed fast path gives exactly what the owned path gives: the same chunks from the
//! same JSON, and the same chunks and errors from the same stream however its bytes are
//! split into reads.

mod accumulate_support;

use cygnet_core::ChatStream;
use cygnet_test_support::{Canned, CannedReply};
use cygnet_types::{ChatCompletionChunk, ChatCompletionChunkRef, ChatCompletionRequest, Message};
use futures_executor::block_on;
use proptest::prelude::*;
use std::borrow::Cow;

/// A stream answered with `body`, cut into reads at `cuts`; no timer fires, as the body
/// never stalls.
fn open(body: &[u8], cuts: Vec<usize>) -> ChatStream {
    let client = Canned::new()
        .always(CannedReply::sse_cut(body, &cuts))
        .timers_never_fire()
        .client_builder()
        .max_retries(0)
        .build()
        .expect("a valid client");
    let request = ChatCompletionRequest::new("cygnet", vec![Message::user("hi")]);
    block_on(client.chat_stream(&request)).expect("the stream opens")
}

/// Every item of a stream read the owned way; errors as their text.
fn owned_items(mut stream: ChatStream) -> Vec<Result<ChatCompletionChunk, String>> {
    block_on(async {
        let mut items = Vec::new();
        while let Some(item) = stream.next_chunk().await {
            items.push(item.map_err(|e| e.to_string()));
        }
        items
    })
}

/// Every item of a stream read through the lending API, made owned afterwards.
fn lent_items(mut stream: ChatStream) -> Vec<Result<ChatCompletionChunk, String>> {
    block_on(async {
        let mut items = Vec::new();
        while let Some(item) = stream.next_chunk_with(|chunk| chunk.into_owned()).await {
            items.push(item.map_err(|e| e.to_string()));
        }
        items
    })
}

/// Event payloads that exercise every branch of the chunk parser.
fn payload() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (accumulate_support::completion(), any::<u64>()).prop_map(|(completion, seed)| {
            let chunks = accumulate_support::cut(&completion, seed);
            serde_json::to_string(&chunks[seed as usize % chunks.len()]).expect("serializable")
        }),
        1 => Just(r#"{"error":{"message":"overloaded"}}"#.to_owned()),
        1 => Just(r#"{"id":"c","choices":[{"delta":{"content":7}}]}"#.to_owned()),
        1 => "[ -~]{0,20}",
    ]
}

fn sse(payloads: &[String], done: bool) -> Vec<u8> {
    let mut body = String::new();
    for payload in payloads {
        body.push_str("data: ");
        body.push_str(payload);
        body.push_str("\n\n");
    }
    if done {
        body.push_str("data: [DONE]\n\n");
    }
    body.into_bytes()
}

proptest! {
    #![proptest_config(accumulate_support::proptest_config(256))]

    /// Parsing JSON into the borrowed chunk and making it owned equals parsing it owned.
    #[test]
    fn borrowed_chunk_into_owned_equals_owned_parse(
        completion in accumulate_support::completion(),
        seed in any::<u64>(),
    ) {
        for chunk in accumulate_support::cut(&completion, seed) {
            let json = serde_json::to_string(&chunk).expect("serializable");
            let owned: ChatCompletionChunk = serde_json::from_str(&json).expect("owned parse");
            let borrowed: ChatCompletionChunkRef<'_> =
                serde_json::from_str(&json).expect("borrowed parse");
            // Text without escapes is borrowed, not copied.
            if let Some(Cow::Owned(content)) =
                borrowed.choices.first().and_then(|c| c.delta.content.as_ref())
            {
                prop_assert!(json.contains('\\'), "copied {content:?} although it needs no unescaping");
            }
            prop_assert_eq!(borrowed.into_owned(), owned);
        }
    }

    /// Any stream, split into reads anywhere, gives the same chunks and the same errors
    /// through `next_chunk_with` as through `next_chunk`.
    #[test]
    fn lending_stream_gives_what_the_owned_stream_gives(
        payloads in prop::collection::vec(payload(), 0..6),
        done in any::<bool>(),
        cuts in prop::collection::vec(0usize..4096, 0..8),
    ) {
        let body = sse(&payloads, done);
        let owned = owned_items(open(&body, cuts.clone()));
        let lent = lent_items(open(&body, cuts));
        prop_assert_eq!(lent, owned);
    }
}

#[test]
fn lent_chunks_borrow_their_text_from_the_read_buffer() {
    let body = sse(
        &[r#"{"id":"c1","choices":[{"index":0,"delta":{"content":"Hello"}}]}"#.to_owned()],
        true,
    );
    let mut stream = open(&body, vec![]);
    let borrowed = block_on(stream.next_chunk_with(|chunk| {
        matches!(chunk.choices[0].delta.content, Some(Cow::Borrowed("Hello")))
            && matches!(chunk.id, Cow::Borrowed("c1"))
    }));
    assert_eq!(borrowed.map(|r| r.ok()), Some(Some(true)));
    assert_eq!(stream.chunks_received(), 1);
    assert!(block_on(stream.next_chunk_with(|_| ())).is_none());
}
