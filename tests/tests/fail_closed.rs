//! Fail closed, through cygnet-hyper against a loopback server that writes the bytes a broken
//! gateway or proxy would: a 2xx answer that is not the one asked for is an error that says what
//! was wrong (a decode error naming the field, or the server's own message), never a value made
//! of defaults.

use cygnet::{ApiErrorKind, Client, Error, ModerationRequest};
use cygnet_test_support::{api_error_saying, decode_error_naming, stream_items};
use serde_json::{json, Value};
use tests::{bounded, delta_events, seed_request, ExampleCommand, LoopbackServer, Reply, FAKE_KEY};

fn client(server: &LoopbackServer) -> Client {
    cygnet::ClientBuilder::new()
        .api_key(FAKE_KEY)
        .base_url(server.base_url())
        .transport(cygnet::HyperTransport::new())
        .build()
        .expect("a loopback client")
}

async fn moderate(body: Value) -> Result<cygnet::ModerationResponse, Error> {
    let server = LoopbackServer::start(Reply::json(200, &body)).await;
    let request = ModerationRequest::new("text");
    bounded("moderate", client(&server).moderate(&request)).await
}

async fn chat(body: Value) -> Result<cygnet::ChatCompletion, Error> {
    let server = LoopbackServer::start(Reply::json(200, &body)).await;
    bounded("chat", client(&server).chat(&seed_request())).await
}

/// Every item of a stream whose body is `sse`.
async fn stream(sse: String) -> Vec<Result<cygnet::ChatCompletionChunk, Error>> {
    let server = LoopbackServer::start(Reply {
        status: 200,
        content_type: "text/event-stream".into(),
        body: sse.into_bytes(),
        held: None,
    })
    .await;
    bounded("stream", stream_items(&client(&server), &seed_request()))
        .await
        .expect("the stream opens")
}

#[tokio::test]
async fn a_moderation_verdict_that_did_not_arrive_is_an_error() {
    decode_error_naming(moderate(json!({})).await, "missing field");
    decode_error_naming(
        moderate(json!({"detail": "Not authenticated"})).await,
        "missing field",
    );
    let kind = api_error_saying(
        moderate(json!({"error": {"message": "moderation unavailable"}})).await,
        "moderation unavailable",
    );
    assert_eq!(kind, ApiErrorKind::Other);
    let verdict = moderate(json!({"flagged": true, "detected": 0.9, "passed": 0.1}))
        .await
        .unwrap();
    assert!(verdict.flagged);
}

#[tokio::test]
async fn a_chat_answer_without_choices_or_with_an_error_is_an_error() {
    decode_error_naming(chat(json!({})).await, "missing field `choices`");
    api_error_saying(
        chat(json!({"error": {"message": "model overloaded"}})).await,
        "model overloaded",
    );
}

#[tokio::test]
async fn an_error_or_an_empty_object_mid_stream_ends_the_stream_with_an_error() {
    let error_event = r#"data: {"id":"chatcmpl-test","error":{"message":"quota exceeded"}}"#;
    // Each body: "Hel", the event in between, "lo", [DONE]; the stream ends at the event.
    for (event, in_stream_error) in [(error_event, true), ("data: {}", false)] {
        let sse = format!(
            "{}{event}\n\n{}data: [DONE]\n\n",
            delta_events(&["Hel"], true),
            delta_events(&["lo"], false)
        );
        let items = stream(sse).await;
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap().content(), Some("Hel"));
        let end = items.into_iter().nth(1).unwrap();
        if in_stream_error {
            let kind = api_error_saying(end, "quota exceeded");
            assert_eq!(kind, ApiErrorKind::InStream);
        } else {
            decode_error_naming(end, "missing field `choices`");
        }
    }
}

#[tokio::test]
async fn the_moderation_example_prints_no_verdict_it_did_not_receive() {
    for (body, says) in [
        (json!({}), "missing field"),
        (json!({"detail": "Not authenticated"}), "missing field"),
        (
            json!({"error": {"message": "moderation unavailable"}}),
            "moderation unavailable",
        ),
    ] {
        let server = LoopbackServer::start(Reply::json(200, &body)).await;
        let out = ExampleCommand::against("moderation", &server.base_url())
            .run()
            .await;
        assert_eq!(out.code, Some(1), "{body}: {out:?}");
        assert!(!out.stdout.contains("flagged"), "{body}: {out:?}");
        assert!(
            out.stderr.starts_with("error: ") && out.stderr.contains(says),
            "{body}: {out:?}"
        );
    }
}
