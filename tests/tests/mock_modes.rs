//! The four modes (async and blocking, plain and streaming) through cygnet-mock's in-process
//! transport: the same requests as over the network, and the scripted answers come back.

use cygnet::mock::{CapturedRequest, MockReply, MockTransport};
use cygnet::{Client, ClientBuilder};
use tests::{bounded, official_body, seed_request, streamed_text, FAKE_KEY};

const ANSWER: &str = "A large language model is a neural network trained on text.";
const DELTAS: [&str; 3] = ["A large ", "language ", "model."];

fn client(mock: &MockTransport) -> Client {
    ClientBuilder::new()
        .api_key(FAKE_KEY)
        .transport(mock.clone())
        .build()
        .expect("client")
}

fn assert_official(request: &CapturedRequest, stream: bool) {
    assert_eq!(request.method(), "POST");
    assert_eq!(request.path(), "/chat/completion");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {FAKE_KEY}").as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert!(request
        .header("user-agent")
        .is_some_and(|ua| ua.starts_with("cygnet-rust/")));
    assert_eq!(request.json(), official_body(stream));
}

#[tokio::test]
async fn async_chat_over_the_mock() {
    let mock = MockTransport::new().with_reply(MockReply::text(ANSWER));
    let completion = bounded("chat", client(&mock).chat(&seed_request()))
        .await
        .expect("completion");
    assert_eq!(completion.content(), Some(ANSWER));
    assert_official(&mock.last_request().expect("a request"), false);
    mock.assert_all_consumed();
}

#[tokio::test]
async fn async_stream_over_the_mock() {
    let mock = MockTransport::new().with_reply(MockReply::stream_text(DELTAS));
    let text = bounded("stream", streamed_text(&client(&mock), &seed_request()))
        .await
        .expect("stream");
    assert_eq!(text, DELTAS.concat());
    assert_official(&mock.last_request().expect("a request"), true);
}

#[test]
fn blocking_chat_over_the_mock() {
    let mock = MockTransport::new().with_reply(MockReply::text(ANSWER));
    let client = cygnet::blocking::Client::new(client(&mock)).expect("blocking client");
    let completion = client.chat(&seed_request()).expect("completion");
    assert_eq!(completion.content(), Some(ANSWER));
    assert_official(&mock.last_request().expect("a request"), false);
}

#[test]
fn blocking_stream_over_the_mock() {
    let mock = MockTransport::new().with_reply(MockReply::stream_text(DELTAS));
    let client = cygnet::blocking::Client::new(client(&mock)).expect("blocking client");
    let text = client
        .chat_stream(&seed_request())
        .expect("stream")
        .map(|chunk| chunk.map(|c| c.content().unwrap_or_default().to_string()))
        .collect::<Result<String, _>>()
        .expect("every chunk");
    assert_eq!(text, DELTAS.concat());
    assert_official(&mock.last_request().expect("a request"), true);
}

#[tokio::test]
async fn a_scripted_error_reaches_the_caller_like_a_real_one() {
    let mock = MockTransport::new().with_reply(MockReply::json(
        422,
        serde_json::json!({"error": {"message": "messages must not be empty"}}),
    ));
    let error = bounded("chat", client(&mock).chat(&seed_request()))
        .await
        .expect_err("422");
    let api = error.as_api().expect("API error");
    assert_eq!(api.status.map(|s| s.as_u16()), Some(422));
    assert_eq!(api.message.as_deref(), Some("messages must not be empty"));
}
