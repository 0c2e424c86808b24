//! The stream adapters (`accumulate`, `collect_completion`, `text`) over the whole client:
//! an in-test transport answers with a canned server-sent-events body, cut into byte pieces
//! at random, so the SSE decoder, the chunk parser and the fold all take part. No network;
//! the transport's timer fires at once, so no test waits.

mod accumulate_support;

use accumulate_support::{completion, cut, sse_body};
use bytes::Bytes;
use cygnet_core::{ApiErrorKind, ChatStream, Client, Error, StreamError};
use cygnet_test_support::{streamed_completion, Canned, CannedReply};
use cygnet_types::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, FinishReason, Message, ToolCall,
    Usage,
};
use futures_executor::block_on;
use proptest::prelude::*;

/// Every item `$next` (an async read of a stream, e.g. `stream.next_chunk()`) yields, in order,
/// until it yields `None`. A macro: the chat, text and accumulating streams share no trait for
/// their own `next_*` methods, and those, not the `Stream` trait, are what most tests read.
macro_rules! drain {
    ($next:expr) => {
        block_on(async {
            let mut items = Vec::new();
            while let Some(item) = $next.await {
                items.push(item);
            }
            items
        })
    };
}

/// A client whose every request is answered with one SSE body, in the given byte pieces.
fn client(pieces: Vec<Bytes>) -> (Client, Canned) {
    let transport =
        Canned::new().always(CannedReply::sse_reads(pieces).header("x-request-id", "req_123"));
    let client = transport.client_builder().max_retries(0).build().unwrap();
    (client, transport)
}

fn request() -> ChatCompletionRequest {
    ChatCompletionRequest::new("cygnet", vec![Message::user("Weather in Ohio?")])
}

/// Opens a stream whose body is `body`, in one piece.
fn open(body: &str) -> ChatStream {
    let (client, _) = client(vec![Bytes::from(body.to_owned())]);
    block_on(client.chat_stream(&request())).unwrap()
}

/// Two choices, interleaved; choice 0 calls a tool while choice 1 writes text; then usage.
const TWO_CHOICES: &str = concat!(
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":3,\"model\":\"cygnet\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}},{\"index\":1,\"delta\":{\"role\":\"assistant\",\"content\":\"Sun\"}}]}\n\n",
    ": keep-alive comment\n\n",
    "data: {\"id\":\"c1\",\"created\":3,\"model\":\"cygnet\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let me check\"}}]}\n\n",
    "data: {\"id\":\"c1\",\"created\":3,\"model\":\"cygnet\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"loc\"}}]}}]}\n\n",
    "data: {\"id\":\"c1\",\"created\":3,\"model\":\"cygnet\",\"choices\":[{\"index\":1,\"delta\":{\"content\":\"ny 🌞\"},\"finish_reason\":\"stop\"},{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ation\\\":\\\"Ohio\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n",
    "data: {\"id\":\"c1\",\"created\":3,\"model\":\"cygnet\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":9,\"total_tokens\":21}}\n\n",
    "data: [DONE]\n\n",
);

fn two_choices_expected() -> ChatCompletion {
    serde_json::from_value(serde_json::json!({
        "id": "c1", "object": "chat.completion", "created": 3, "model": "cygnet",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Let me check", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Ohio\"}"}}
            ]}, "finish_reason": "tool_calls"},
            {"index": 1, "message": {"role": "assistant", "content": "Sunny 🌞"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}
    }))
    .unwrap()
}

#[test]
fn accumulate_yields_every_chunk_unchanged_and_folds_them() {
    let mut stream = open(TWO_CHOICES);
    let plain: Vec<ChatCompletionChunk> = drain!(stream.next_chunk())
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(plain.len(), 5);

    let mut stream = open(TWO_CHOICES).accumulate();
    assert_eq!(stream.get_ref().status(), 200);
    assert_eq!(stream.get_ref().headers()["x-request-id"], "req_123");
    assert_eq!(stream.completion().choices, []);
    let mut seen = Vec::new();
    block_on(async {
        while let Some(chunk) = stream.next_chunk().await {
            seen.push(chunk.unwrap());
            if seen.len() == 2 {
                // Mid-stream: the text so far, no finish reason yet.
                let so_far = stream.completion();
                assert_eq!(so_far.content(), Some("Let me check"));
                assert_eq!(so_far.choices[1].message.content.as_deref(), Some("Sun"));
                assert_eq!(so_far.finish_reason(), None);
                assert_eq!(stream.accumulator().chunks(), 2);
            }
        }
    });
    assert_eq!(seen, plain);
    let completion = stream.into_completion();
    assert_eq!(completion, two_choices_expected());
    assert_eq!(
        completion.tool_calls(),
        [ToolCall::function(
            "call_1",
            "get_weather",
            r#"{"location":"Ohio"}"#
        )]
    );
}

#[test]
fn accumulate_works_through_the_stream_trait() {
    use futures_util::StreamExt;
    let mut stream = open(TWO_CHOICES).accumulate();
    let count = block_on(async {
        let mut count = 0;
        while let Some(chunk) = stream.next().await {
            chunk.unwrap();
            count += 1;
        }
        count
    });
    assert_eq!(count, 5);
    assert_eq!(stream.into_completion(), two_choices_expected());
}

#[test]
fn collect_completion_drains_and_folds() {
    let completion = block_on(open(TWO_CHOICES).collect_completion()).unwrap();
    assert_eq!(completion, two_choices_expected());
    assert_eq!(completion.usage, Some(Usage::new(12, 9, 21)));
}

#[test]
fn the_request_asks_for_a_stream() {
    let (client, transport) = client(vec![Bytes::from_static(TWO_CHOICES.as_bytes())]);
    block_on(streamed_completion(&client, &request())).unwrap();
    let requests = transport.requests();
    let body: serde_json::Value = serde_json::from_slice(requests[0].body()).unwrap();
    assert_eq!(body["stream"], true);
}

#[test]
fn text_yields_only_the_non_empty_pieces_of_choice_zero() {
    let mut text = open(TWO_CHOICES).text();
    let pieces: Vec<_> = drain!(text.next_text())
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // The empty first delta, choice 1's text, tool fragments and usage yield nothing.
    assert_eq!(pieces, ["Let me check"]);

    let body = concat!(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Large \"}}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"}}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"language\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    assert_eq!(
        block_on(open(body).text().collect_text()).unwrap(),
        "Large language"
    );
}

const CUT_OFF: &str = concat!(
    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n",
    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n",
);

#[test]
fn a_stream_cut_off_before_done_is_an_error_and_keeps_the_partial_answer() {
    let mut stream = open(CUT_OFF).accumulate();
    let items = drain!(stream.next_chunk());
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[1].is_ok());
    assert!(matches!(
        items[2],
        Err(Error::Stream(StreamError::Incomplete { chunks: 2 }))
    ));
    let partial = stream.into_completion();
    assert_eq!(partial.content(), Some("Hello"));
    assert_eq!(partial.finish_reason(), None);

    let err = block_on(open(CUT_OFF).collect_completion()).unwrap_err();
    assert!(matches!(
        err,
        Error::Stream(StreamError::Incomplete { chunks: 2 })
    ));
    let err = block_on(open(CUT_OFF).text().collect_text()).unwrap_err();
    assert!(matches!(err, Error::Stream(StreamError::Incomplete { .. })));
}

#[test]
fn an_error_object_in_the_stream_reaches_the_caller() {
    let body = concat!(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
        "data: {\"error\":{\"message\":\"model overloaded\"}}\n\n",
    );
    let err = block_on(open(body).collect_completion()).unwrap_err();
    let api = err.as_api().expect("an API error");
    assert_eq!(api.kind, ApiErrorKind::InStream);
    assert_eq!(api.message.as_deref(), Some("model overloaded"));

    let mut text = open(body).text();
    block_on(async {
        assert_eq!(text.next_text().await.unwrap().unwrap(), "Hi");
        assert!(text.next_text().await.unwrap().is_err());
        assert!(text.next_text().await.is_none());
    });
}

#[test]
fn an_empty_stream_gives_an_empty_completion() {
    let completion = block_on(open("data: [DONE]\n\n").collect_completion()).unwrap();
    assert_eq!(completion.object, "chat.completion");
    assert_eq!(completion.choices, []);
    assert_eq!(completion.finish_reason(), None::<&FinishReason>);
}

/// Cuts `body` into byte pieces at random positions, UTF-8 sequences and line endings
/// included.
fn byte_pieces(body: &str, seed: u64) -> Vec<Bytes> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let bytes = body.as_bytes();
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let len = rng.usize(1..=(bytes.len() - start).min(64));
        pieces.push(Bytes::copy_from_slice(&bytes[start..start + len]));
        start += len;
    }
    pieces
}

proptest! {
    #![proptest_config(accumulate_support::proptest_config(64))]

    /// Any completion, streamed in any chunking over any byte cutting and any line ending,
    /// comes back equal through the client, and its text stream is choice 0's content.
    #[test]
    fn any_streamed_completion_comes_back_through_the_client(
        original in completion(),
        seed in any::<u64>(),
        eol in prop::sample::select(vec!["\n", "\r\n", "\r"]),
    ) {
        let body = sse_body(&cut(&original, seed), eol);
        let (client, _) = client(byte_pieces(&body, seed));
        let completion = block_on(streamed_completion(&client, &request()));
        prop_assert_eq!(completion.unwrap(), original.clone());

        let text = block_on(async { client.chat_stream(&request()).await?.text().collect_text().await });
        let expected = original.choice(0).and_then(|c| c.message.content.clone()).unwrap_or_default();
        prop_assert_eq!(text.unwrap(), expected);
    }
}
