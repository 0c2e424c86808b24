//! Replies that cannot mean what the test says: refused when the test is written (a
//! panic naming the method), or, for a streaming call answered with JSON, an error the
//! caller sees.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use bytes::Bytes;
use cygnet_core::transport::{Transport, TransportErrorKind};
use cygnet_core::Error;
use cygnet_mock::{MockReply, MockTransport};
use cygnet_types::{ChatCompletionRequest, Message};
use futures_executor::block_on;
use serde_json::json;

use cygnet_test_support::{bounded_thread as bounded, chunks_then_error};

const S: fn(u64) -> Duration = Duration::from_secs;

fn request() -> ChatCompletionRequest {
    ChatCompletionRequest::new("cygnet", vec![Message::user("Hi")])
}

/// The panic message of `make`, which must panic.
fn panic_message(make: impl FnOnce() -> MockReply) -> String {
    let panic = catch_unwind(AssertUnwindSafe(make)).expect_err("the modifier was accepted");
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
#[should_panic(expected = "MockReply::fail_after applies to streamed replies")]
fn fail_after_on_a_json_reply_panics() {
    let _ = MockReply::text("fine").fail_after(0);
}

#[test]
#[should_panic(expected = "MockReply::stall_after applies to streamed replies")]
fn stall_after_on_a_json_reply_panics() {
    let _ = MockReply::json(200, json!({})).stall_after(1);
}

#[test]
#[should_panic(expected = "MockReply::pause_between applies to streamed replies")]
fn pause_between_on_a_raw_reply_panics() {
    let _ = MockReply::raw(200, "x").pause_between(S(1));
}

#[test]
#[should_panic(expected = "MockReply::read_sizes applies to replies with a head and a body")]
fn read_sizes_on_a_transport_error_panics() {
    let _ = MockReply::error(TransportErrorKind::Connect, "refused").read_sizes([1]);
}

#[test]
#[should_panic(expected = "MockReply::status applies to replies with a head and a body")]
fn status_on_a_hang_panics() {
    let _ = MockReply::hang().status(500);
}

#[test]
#[should_panic(expected = "MockReply::delay applies to replies that arrive")]
fn delay_on_a_hang_panics() {
    let _ = MockReply::hang().delay(S(1));
}

#[test]
fn every_stream_only_modifier_refuses_every_reply_that_is_not_a_stream() {
    type Modifier = (&'static str, fn(MockReply) -> MockReply);
    type Maker = (&'static str, fn() -> MockReply);
    let modifiers: [Modifier; 6] = [
        ("without_done", |r| r.without_done()),
        ("pause_between", |r| r.pause_between(S(1))),
        ("pause_before", |r| r.pause_before(0, S(1))),
        ("error_after", |r| r.error_after(0, "overloaded")),
        ("fail_after", |r| r.fail_after(0)),
        ("stall_after", |r| r.stall_after(0)),
    ];
    let not_streams: [Maker; 5] = [
        ("text", || MockReply::text("fine")),
        ("json", || MockReply::json(429, json!({}))),
        ("raw split in reads", || {
            MockReply::raw(200, "x").read_sizes([1])
        }),
        ("error", || {
            MockReply::error(TransportErrorKind::Io, "reset")
        }),
        ("hang", MockReply::hang),
    ];
    for (method, modify) in modifiers {
        for (name, make) in not_streams {
            let message = panic_message(|| modify(make()));
            assert!(
                message.starts_with(&format!("cygnet-mock: MockReply::{method} applies to")),
                "{method} on {name}: {message}"
            );
            // Says what the reply is, and what to use instead.
            assert!(message.contains("but this is "), "{message}");
            assert!(message.contains("; "), "{message}");
        }
        // A stream takes every one of them.
        let _ = modify(MockReply::stream_text(["a"]));
        let _ = modify(MockReply::sse_raw("data: x\n\n"));
    }
}

#[test]
fn the_panic_names_the_content_type_of_a_whole_reply() {
    let message = panic_message(|| MockReply::text("fine").fail_after(0));
    assert!(message.contains("application/json"), "{message}");
    assert!(message.contains("MockReply::error"), "{message}");
}

#[test]
fn modifiers_that_apply_to_whole_bodies_are_still_accepted() {
    let _ = MockReply::text("fine")
        .read_sizes([2])
        .status(201)
        .header("x-request-id", "req_1")
        .delay(S(1));
    let _ = MockReply::error(TransportErrorKind::Connect, "refused").delay(S(1));
}

/// The content type of the head `reply` is served with.
fn content_type(reply: MockReply) -> String {
    let mock = MockTransport::conversation([reply]);
    let request = http::Request::post("http://mock.invalid/chat/completion")
        .body(Bytes::from_static(b"{}"))
        .unwrap();
    let response = block_on(mock.send(request)).unwrap();
    response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn replies_carry_the_content_type_of_what_they_are() {
    let calls = vec![cygnet_types::ToolCall::function("c", "f", "{}")];
    for reply in [
        MockReply::text("fine"),
        MockReply::tool_calls(calls.clone()),
        MockReply::completion(Default::default()),
        MockReply::json(500, json!({})),
        MockReply::text("split").read_sizes([1]),
    ] {
        assert_eq!(content_type(reply), "application/json");
    }
    for reply in [
        MockReply::stream_text(["a"]),
        MockReply::stream_tool_calls(calls, 2),
        MockReply::stream_chunks(vec![]),
        MockReply::sse_events(["{}"]),
        MockReply::sse_raw("data: [DONE]\n\n"),
    ] {
        assert_eq!(content_type(reply), "text/event-stream");
    }
    assert_eq!(content_type(MockReply::raw(502, "<html>")), "text/plain");
}

/// What a streaming call answered by `reply` ends in: the error, and how many chunks
/// came before it (whether the error came when the stream was opened or while reading).
fn stream_error(reply: MockReply) -> (usize, Error) {
    let mock = MockTransport::conversation([reply]);
    let client = mock.client_builder().max_retries(0).build().unwrap();
    block_on(chunks_then_error(&client, &request())).unwrap_or_else(|chunks| {
        panic!("a JSON answer to a streaming call read as a stream of {chunks} chunk(s)")
    })
}

#[test]
fn a_streaming_call_answered_with_json_is_an_error() {
    bounded(|| {
        let (chunks, err) = stream_error(MockReply::text("fine"));
        assert_eq!(chunks, 0, "{err}");
    });
}

#[test]
fn a_streaming_call_answered_with_json_names_the_content_type() {
    bounded(|| {
        let (_, err) = stream_error(MockReply::text("fine"));
        assert!(
            err.report().to_string().contains("application/json"),
            "{err}"
        );
    });
}
