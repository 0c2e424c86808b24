//! The client needs no tokio: core and cygnet-mock under smol and futures-executor, and the
//! ureq + smol transport of the `custom_runtime` example against a loopback std server.
//!
//! Every test is bounded: the mock's virtual clock makes backoff and timeouts instant, and
//! the loopback tests use short real timeouts on smol's timer.

use std::future::Future;
use std::net::TcpListener;
use std::pin::Pin;
use std::time::{Duration, Instant};

use cygnet::mock::{MockReply, MockTransport};
use cygnet::{
    models, ChatCompletion, ChatCompletionRequest, Client, ClientBuilder, Error, Message,
};
use cygnet_test_support::server::{done, Part, Reply, Server};
use serde_json::json;
use tests::streamed_text;

use custom_runtime_example::UreqTransport;

fn request() -> ChatCompletionRequest {
    ChatCompletionRequest::new(models::CYGNET, vec![Message::user("What is an LLM?")])
}

fn mock_client(mock: &MockTransport) -> Client {
    ClientBuilder::new()
        .api_key("sk-test-fake")
        .transport(mock.clone())
        .build()
        .unwrap()
}

/// A chat call, boxed so that any executor's `block_on` can run it.
type ChatCall = Pin<Box<dyn Future<Output = Result<ChatCompletion, Error>>>>;

/// Runs a chat call on the mock with `block_on` and asserts it answers `answer`; returns
/// the mock.
fn assert_chat_on(
    block_on: fn(ChatCall) -> Result<ChatCompletion, Error>,
    answer: &str,
) -> MockTransport {
    let mock = MockTransport::new().with_reply(MockReply::text(answer));
    let client = mock_client(&mock);
    let completion = block_on(Box::pin(async move { client.chat(&request()).await })).unwrap();
    assert_eq!(completion.content(), Some(answer));
    mock
}

#[test]
fn chat_on_smol() {
    let mock = assert_chat_on(smol::block_on, "A language model.");
    assert_eq!(mock.last_request().unwrap().json()["model"], "cygnet");
}

#[test]
fn chat_on_futures_executor() {
    assert_chat_on(futures_executor::block_on, "Hi.");
}

#[test]
fn stream_on_smol() {
    let mock = MockTransport::new().with_reply(MockReply::stream_text(["Hel", "lo", "!"]));
    let client = mock_client(&mock);
    let text = smol::block_on(streamed_text(&client, &request())).unwrap();
    assert_eq!(text, "Hello!");
    assert_eq!(mock.last_request().unwrap().json()["stream"], true);
}

#[test]
fn retry_with_backoff_on_the_mock_clock_under_smol() {
    let mock = MockTransport::new()
        .with_reply(MockReply::json(
            503,
            serde_json::json!({"error": {"message": "busy"}}),
        ))
        .with_reply(MockReply::text("Second time lucky."));
    let client = mock_client(&mock);
    let started = Instant::now();
    let completion = smol::block_on(client.chat(&request())).unwrap();
    assert_eq!(completion.content(), Some("Second time lucky."));
    assert_eq!(mock.request_count(), 2);
    // One backoff sleep, taken on the virtual clock, not in real time.
    let backoffs = mock.completed_sleeps();
    assert_eq!(backoffs.len(), 1, "{backoffs:?}");
    assert!(backoffs[0] > Duration::ZERO);
    assert!(mock.clock().elapsed() >= backoffs[0]);
    assert!(started.elapsed() < Duration::from_secs(5));
    mock.assert_all_consumed();
}

#[test]
fn timeout_on_the_mock_clock_under_smol() {
    let mock = MockTransport::new().with_reply(MockReply::hang());
    let client = ClientBuilder::new()
        .api_key("sk-test-fake")
        .transport(mock.clone())
        .max_retries(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = smol::block_on(client.chat(&request())).unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(mock.clock().elapsed() >= Duration::from_secs(30));
    assert!(started.elapsed() < Duration::from_secs(5));
}

// --- the ureq + smol transport over loopback ---------------------------------------------

fn ureq_client(base_url: impl Into<String>) -> ClientBuilder {
    ClientBuilder::new()
        .api_key("sk-test-fake")
        .base_url(base_url)
        .transport(UreqTransport::new())
        .max_retries(0)
}

/// One event whose chunk adds `text`, in the shortest form the client accepts.
fn text_event(text: &str) -> Part {
    Part::Bytes(
        format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n")
            .into_bytes(),
    )
}

#[test]
fn ureq_transport_chat_under_smol() {
    let server = Server::start(vec![Reply::json(
        200,
        &json!({"choices":[{"index":0,"message":{"role":"assistant","content":"Over ureq."},"finish_reason":"stop"}]}),
    )]);
    let client = ureq_client(server.base_url()).build().unwrap();
    let completion = smol::block_on(client.chat(&request())).unwrap();
    assert_eq!(completion.content(), Some("Over ureq."));
    let received = server.only_request();
    assert_eq!(received.method(), "POST");
    assert_eq!(received.path(), "/chat/completion");
    assert_eq!(
        received.header("authorization"),
        Some("Bearer sk-test-fake")
    );
}

#[test]
fn ureq_transport_streams_each_event_as_it_arrives() {
    // The server sends the second event only after the client has handed out the first,
    // so the test passes only if the body really streams.
    let server = Server::start(vec![Reply::sse(vec![
        text_event("one "),
        Part::Hold,
        text_event("two"),
        done(),
    ])]);
    let client = ureq_client(server.base_url()).build().unwrap();
    let text = smol::block_on(async {
        let mut stream = client.chat_stream(&request()).await?;
        let mut text = String::new();
        while let Some(chunk) = stream.next_chunk().await {
            text.push_str(chunk?.content().unwrap_or_default());
            server.release();
        }
        Ok::<_, Error>(text)
    })
    .unwrap();
    assert_eq!(text, "one two");
}

#[test]
fn ureq_transport_error_status_is_an_api_error() {
    let server = Server::start(vec![Reply::json(
        401,
        &json!({"error":{"message":"Invalid API key"}}),
    )]);
    let client = ureq_client(server.base_url()).build().unwrap();
    let error = smol::block_on(client.chat(&request())).unwrap_err();
    let api = error.as_api().expect("an API error");
    assert_eq!(api.status.map(|s| s.as_u16()), Some(401));
    assert_eq!(api.message.as_deref(), Some("Invalid API key"));
    assert!(!format!("{error} {error:?}").contains("sk-test-fake"));
}

#[test]
fn ureq_transport_idle_timeout_fires_on_smols_timer() {
    // Headers and one event, then silence until the client has given up: core's idle
    // timeout must end the stream.
    let server = Server::start(vec![Reply::sse(vec![
        Part::Bytes(b"data: {\"choices\":[]}\n\n".to_vec()),
        Part::Hold,
    ])]);
    let client = ureq_client(server.base_url())
        .stream_idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    let result = smol::block_on(async {
        let mut stream = client.chat_stream(&request()).await?;
        while let Some(chunk) = stream.next_chunk().await {
            chunk?;
        }
        Ok::<_, Error>(())
    });
    let error = result.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    server.release();
}

#[test]
fn ureq_transport_refused_connection_is_a_connect_error() {
    // Bind then drop: nothing listens on this port any more.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = ureq_client(format!("http://{addr}")).build().unwrap();
    match smol::block_on(client.chat(&request())) {
        Err(Error::Transport(e)) => {
            assert_eq!(e.kind(), cygnet::transport::TransportErrorKind::Connect)
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[test]
fn ureq_transport_errors_read_like_every_other_transport() {
    // A loopback port with nothing listening on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = ureq_client(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let error = smol::block_on(client.chat(&request())).unwrap_err();
    let text = error.report().to_string();
    let prefix = format!("POST 127.0.0.1:{port}: could not connect after 1 attempt: ");
    assert!(text.starts_with(&prefix), "{text}");
    assert_eq!(error.attempts(), Some(1));
}
