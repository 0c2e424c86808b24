//! Fail closed, through cygnet-hyper against a loopback server that writes the bytes a broken
//! gateway or proxy would: a 2xx answer that is not the one asked for is an error that says what
//! was wrong (a decode error naming the field, or the server's own message), never a value made
//! of defaults.

use cygnet::{ApiErrorKind, Client, Error, ModerationRequest};
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
    bounded("stream", async {
        let mut stream = client(&server).chat_stream(&seed_request()).await?;
        let mut items = Vec::new();
        while let Some(item) = stream.next_chunk().await {
            items.push(item);
        }
        Ok::<_, Error>(items)
    })
    .await
    .expect("the stream opens")
}

fn decode_error_naming<T: std::fmt::Debug>(result: Result<T, Error>, field: &str) {
    match result {
        Err(Error::Decode(e)) => {
            assert_eq!(e.status.map(|s| s.as_u16()), Some(200));
            assert!(e.to_string().contains(field), "{e}");
            assert!(!e.snippet.is_empty());
        }
        other => panic!("expected a decode error naming {field}, got {other:?}"),
    }
}

fn api_error_saying<T: std::fmt::Debug>(result: Result<T, Error>, message: &str) -> ApiErrorKind {
    match result {
        Err(Error::Api(api)) => {
            assert_eq!(api.message.as_deref(), Some(message));
            api.kind
        }
        other => panic!("expected the server's error {message:?}, got {other:?}"),
    }
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
    let sse = format!(
        "{}{error_event}\n\n{}data: [DONE]\n\n",
        delta_events(&["Hel"], true),
        delta_events(&["lo"], false)
    );
    let items = stream(sse).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().content(), Some("Hel"));
    let kind = api_error_saying(items.into_iter().nth(1).unwrap(), "quota exceeded");
    assert_eq!(kind, ApiErrorKind::InStream);

    let sse = format!(
        "{}data: {{}}\n\n{}data: [DONE]\n\n",
        delta_events(&["Hel"], true),
        delta_events(&["lo"], false)
    );
    let items = stream(sse).await;
    assert_eq!(items.len(), 2, "{items:?}");
    decode_error_naming(items.into_iter().nth(1).unwrap(), "missing field `choices`");
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
