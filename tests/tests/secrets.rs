//! A loopback server that echoes the key it was sent, through cygnet-hyper (async and
//! blocking): in the error message, JSON-escaped in the body, in a request id and another
//! header, and in an error event of a stream. None of it reaches an error, its `Debug`
//! output or the headers the client hands out: every echo reads `***`.

use cygnet::{Client, Error};
use cygnet_test_support::wire::{self, Received};
use futures_util::StreamExt;
use tests::{bounded, bounded_thread, hyper_client, seed_request};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The key; `ECRET` marks it, so a test can tell that no piece of it is left.
const KEY: &str = "sk-test/SECRET+key_0123";

/// The key the client sent, as the server read it.
fn sent_key(received: &Received) -> String {
    let authorization = received
        .header("authorization")
        .expect("an Authorization header");
    authorization
        .strip_prefix("Bearer ")
        .expect("a bearer token")
        .to_owned()
}

/// Answers `status` with a JSON body that quotes the key as it is and JSON-escaped, and
/// headers that carry it.
async fn echo(mut stream: TcpStream, received: Received, status: u16, content_type: &str) {
    let key = sent_key(&received);
    let escaped = key.replace('/', "\\/");
    let body = match content_type {
        "text/event-stream" => format!(
            "event: error\ndata: {{\"error\":{{\"message\":\"Invalid API key: {key} ({escaped})\"}}}}\n\n"
        ),
        _ => format!(r#"{{"error":{{"message":"Invalid API key: {key} ({escaped})"}}}}"#),
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         x-request-id: req-{key}\r\nwww-authenticate: Bearer error=\"{key}\"\r\n\
         connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body.as_bytes()).await.expect("write");
    stream.flush().await.expect("flush");
}

fn client(addr: &str) -> Client {
    hyper_client(format!("http://{addr}"))
        .api_key(KEY)
        .max_retries(0)
        .build()
        .expect("client")
}

/// Fails the test when `text` holds any piece of the key.
fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains("ECRET") && !text.contains("0123"),
        "the key leaked into {what}: {text}"
    );
}

fn assert_error_clean(error: &Error) {
    assert_clean("the error", &error.to_string());
    assert_clean("the error's Debug", &format!("{error:?}"));
    let api = error.as_api().expect("an API error");
    assert_eq!(api.message.as_deref(), Some("Invalid API key: *** (***)"));
    assert_eq!(api.request_id(), Some("req-***"));
    assert_clean("the body", &String::from_utf8_lossy(&api.body));
    assert_clean("the body snippet", &api.body_snippet());
    assert_clean("the headers", &format!("{:?}", api.headers));
}

#[tokio::test]
async fn an_echoed_key_reaches_no_error_through_hyper() {
    let addr = wire::serve_one(|stream, received| async move {
        echo(stream, received, 401, "application/json").await;
    })
    .await;
    let error = bounded("a refused call", client(&addr).chat(&seed_request()))
        .await
        .unwrap_err();
    assert_error_clean(&error);
    assert_eq!(
        error.to_string(),
        "API error 401 Unauthorized: Invalid API key: *** (***)"
    );
}

#[tokio::test]
async fn an_echoed_key_in_an_error_event_reaches_no_error_through_hyper() {
    let addr = wire::serve_one(|stream, received| async move {
        echo(stream, received, 200, "text/event-stream").await;
    })
    .await;
    let items: Vec<_> = bounded("a stream with an error event", async {
        let stream = client(&addr).chat_stream(&seed_request()).await.unwrap();
        assert_eq!(stream.headers()["x-request-id"], "req-***");
        stream.collect().await
    })
    .await;
    assert_eq!(items.len(), 1, "{items:?}");
    let error = items.into_iter().next().unwrap().unwrap_err();
    assert_clean("the error", &error.to_string());
    assert_clean("the error's Debug", &format!("{error:?}"));
    let api = error.as_api().expect("an API error");
    assert_eq!(api.message.as_deref(), Some("Invalid API key: *** (***)"));
}

#[test]
fn an_echoed_key_reaches_no_error_through_the_blocking_client() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let addr = runtime.block_on(wire::serve_one(|stream, received| async move {
        echo(stream, received, 401, "application/json").await;
    }));
    let error = bounded_thread(move || {
        let client = cygnet::blocking::Client::builder()
            .api_key(KEY)
            .base_url(format!("http://{addr}"))
            .max_retries(0)
            .build()
            .expect("client");
        client.chat(&seed_request()).unwrap_err()
    });
    assert_error_clean(&error);
    drop(runtime);
}
