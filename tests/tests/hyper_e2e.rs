//! The async client over the hyper transport against a mockito server on loopback: what goes
//! on the wire, how every error status comes back, retries, broken streams and proxy pages.

use cygnet::{Client, Error, StreamError};
use cygnet_test_support::stream_items;
use futures_util::StreamExt;
use mockito::{Matcher, Server, ServerGuard};
use serde_json::json;
use tests::{
    bounded, chat_answer, completion_json, delta_events, hyper_client, official_body, seed_request,
    sse_body, FAKE_KEY,
};

const ANSWER: &str = "A large language model is a neural network trained on text.";

fn client(server: &ServerGuard) -> Client {
    hyper_client(server.url()).build().expect("client")
}

/// A mock of `POST /chat/completion` that matches only the official client's headers and
/// body for the seed conversation.
fn chat_mock(server: &mut ServerGuard, stream: bool) -> mockito::Mock {
    server
        .mock("POST", "/chat/completion")
        .match_header("authorization", format!("Bearer {FAKE_KEY}").as_str())
        .match_header("content-type", "application/json")
        .match_header("accept", "application/json")
        .match_header("user-agent", Matcher::Regex("^cygnet-rust/".into()))
        .match_body(Matcher::Json(official_body(stream)))
}

/// The error of one call that must fail, with retries off: `chat`, or `chat_stream` when
/// `stream` (which fails before its first chunk).
async fn failing_call(server: &ServerGuard, stream: bool, what: &str) -> Error {
    let client = client(server).with_options(cygnet::RequestOptions::new().max_retries(0));
    bounded(what, async {
        if stream {
            client.chat_stream(&seed_request()).await.map(|_| ())
        } else {
            client.chat(&seed_request()).await.map(|_| ())
        }
    })
    .await
    .expect_err(what)
}

#[tokio::test]
async fn async_chat_sends_the_official_request() {
    let mut server = Server::new_async().await;
    let mock = chat_mock(&mut server, false)
        .with_header("content-type", "application/json")
        .with_body(completion_json(ANSWER).to_string())
        .create_async()
        .await;
    let completion = bounded("chat", client(&server).chat(&seed_request()))
        .await
        .expect("completion");
    assert_eq!(completion.content(), Some(ANSWER));
    mock.assert_async().await;
}

#[tokio::test]
async fn async_stream_sends_the_official_request_and_yields_every_delta() {
    let mut server = Server::new_async().await;
    let mock = chat_mock(&mut server, true)
        .with_header("content-type", "text/event-stream")
        .with_body(sse_body(&["A large ", "language ", "model."]))
        .create_async()
        .await;
    let text = bounded("stream", async {
        let mut stream = client(&server).chat_stream(&seed_request()).await?;
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            text.push_str(chunk?.content().unwrap_or_default());
        }
        Ok::<_, Error>(text)
    })
    .await
    .expect("stream");
    assert_eq!(text, "A large language model.");
    mock.assert_async().await;
}

#[tokio::test]
async fn every_error_status_reaches_the_caller_with_message_and_body() {
    for status in [400u16, 401, 403, 404, 409, 422, 429, 500] {
        for stream in [false, true] {
            let mut server = Server::new_async().await;
            let body = json!({"error": {"message": format!("nope {status}"), "type": "x"}});
            let _mock = server
                .mock("POST", "/chat/completion")
                .with_status(usize::from(status))
                .with_header("content-type", "application/json")
                .with_header("x-request-id", "req-42")
                .with_body(body.to_string())
                .create_async()
                .await;
            // No retries: 409, 429 and 500 would otherwise be retried.
            let error = failing_call(&server, stream, "an error status must fail").await;
            let api = error
                .as_api()
                .unwrap_or_else(|| panic!("{status} stream={stream}: not an API error: {error:?}"));
            assert_eq!(api.status.map(|s| s.as_u16()), Some(status));
            assert_eq!(
                api.message.as_deref(),
                Some(format!("nope {status}").as_str())
            );
            assert_eq!(api.body.as_ref(), body.to_string().as_bytes());
            assert_eq!(api.request_id(), Some("req-42"));
            let shown = error.to_string();
            assert!(shown.contains(&status.to_string()), "{shown}");
            assert!(shown.contains(&format!("nope {status}")), "{shown}");
            assert!(!format!("{error:?}").contains(FAKE_KEY));
        }
    }
}

/// A 429 with a 10 ms `retry-after-ms`, expected once.
async fn slow_down_once(server: &mut ServerGuard) -> mockito::Mock {
    server
        .mock("POST", "/chat/completion")
        .with_status(429)
        .with_header("retry-after-ms", "10")
        .with_body(r#"{"error": {"message": "slow down"}}"#)
        .expect(1)
        .create_async()
        .await
}

#[tokio::test]
async fn a_429_is_retried_and_the_retry_succeeds() {
    let mut server = Server::new_async().await;
    let limited = slow_down_once(&mut server).await;
    let ok = chat_mock(&mut server, false)
        .with_body(completion_json(ANSWER).to_string())
        .expect(1)
        .create_async()
        .await;
    let client = hyper_client(server.url())
        .max_retries(1)
        .build()
        .expect("client");
    let completion = bounded("retried chat", client.chat(&seed_request()))
        .await
        .expect("the retry succeeds");
    assert_eq!(completion.content(), Some(ANSWER));
    limited.assert_async().await;
    ok.assert_async().await;
}

#[tokio::test]
async fn with_retries_disabled_the_429_comes_back() {
    let mut server = Server::new_async().await;
    let limited = slow_down_once(&mut server).await;
    let error = failing_call(&server, false, "429").await;
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429));
    limited.assert_async().await;
}

#[tokio::test]
async fn a_stream_without_done_yields_its_chunks_then_an_error() {
    let mut server = Server::new_async().await;
    let body = delta_events(&["A large ", "language "], true);
    let _mock = chat_answer(&mut server, 200, Some("text/event-stream"), body).await;
    let items = bounded(
        "cut-off stream",
        stream_items(&client(&server), &seed_request()),
    )
    .await
    .expect("the stream opens");
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().content(), Some("A large "));
    assert_eq!(items[1].as_ref().unwrap().content(), Some("language "));
    assert!(
        matches!(
            items[2],
            Err(Error::Stream(StreamError::Incomplete { chunks: 2 }))
        ),
        "{:?}",
        items[2]
    );
}

#[tokio::test]
async fn an_html_page_from_a_proxy_is_a_clear_error() {
    let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    for stream in [false, true] {
        let mut server = Server::new_async().await;
        let _mock = chat_answer(&mut server, 502, Some("text/html"), page).await;
        let error = failing_call(&server, stream, "502").await;
        assert_eq!(error.status().map(|s| s.as_u16()), Some(502));
        let shown = error.to_string();
        assert!(shown.contains("502"), "{shown}");
        assert!(shown.contains("Bad Gateway"), "{shown}");
    }
}

#[tokio::test]
async fn html_where_json_was_due_on_a_200_is_a_decode_error_with_a_snippet() {
    let mut server = Server::new_async().await;
    let body = "<html>captive portal</html>";
    let _mock = chat_answer(&mut server, 200, Some("text/html"), body).await;
    let error = bounded("portal", client(&server).chat(&seed_request()))
        .await
        .expect_err("not JSON");
    assert!(matches!(error, Error::Decode(_)), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(200));
    assert!(error.to_string().contains("captive portal"), "{error}");
}

#[tokio::test]
async fn moderation_goes_to_its_path() {
    let mut server = Server::new_async().await;
    let mock = server
        .mock("POST", "/moderation")
        .match_header("authorization", format!("Bearer {FAKE_KEY}").as_str())
        .match_body(Matcher::Json(json!({"input": "hello"})))
        .with_body(
            r#"{"id":"m","created":1,"detected":0.1,"flagged":false,"model":"x","passed":0.9}"#,
        )
        .create_async()
        .await;
    let verdict = bounded(
        "moderate",
        client(&server).moderate(&cygnet::ModerationRequest::new("hello")),
    )
    .await
    .expect("moderation");
    assert!(!verdict.flagged);
    assert!((verdict.passed - 0.9).abs() < 1e-9);
    mock.assert_async().await;
}

fn blocking_client(server: &ServerGuard) -> cygnet::blocking::Client {
    cygnet::blocking::Client::builder()
        .api_key(FAKE_KEY)
        .base_url(server.url())
        .build()
        .expect("blocking client")
}

#[test]
fn blocking_chat_sends_the_official_request() {
    let mut server = Server::new();
    let mock = chat_mock(&mut server, false)
        .with_header("content-type", "application/json")
        .with_body(completion_json(ANSWER).to_string())
        .create();
    let client = blocking_client(&server);
    let completion =
        tests::bounded_thread(move || client.chat(&seed_request())).expect("completion");
    assert_eq!(completion.content(), Some(ANSWER));
    mock.assert();
}

#[test]
fn blocking_stream_sends_the_official_request_and_iterates_every_delta() {
    let mut server = Server::new();
    let mock = chat_mock(&mut server, true)
        .with_header("content-type", "text/event-stream")
        .with_body(sse_body(&["A large ", "language ", "model."]))
        .create();
    let client = blocking_client(&server);
    let text = tests::bounded_thread(move || {
        client
            .chat_stream(&seed_request())?
            .map(|chunk| chunk.map(|c| c.content().unwrap_or_default().to_string()))
            .collect::<Result<String, Error>>()
    })
    .expect("stream");
    assert_eq!(text, "A large language model.");
    mock.assert();
}

#[test]
fn blocking_errors_carry_status_message_and_body() {
    for stream in [false, true] {
        let mut server = Server::new();
        let body = r#"{"error": {"message": "Invalid API key"}}"#;
        let _mock = server
            .mock("POST", "/chat/completion")
            .with_status(401)
            .with_body(body)
            .create();
        let client = blocking_client(&server);
        let error = tests::bounded_thread(move || {
            if stream {
                client.chat_stream(&seed_request()).map(|_| ())
            } else {
                client.chat(&seed_request()).map(|_| ())
            }
        })
        .expect_err("401");
        let api = error.as_api().expect("API error");
        assert_eq!(api.status.map(|s| s.as_u16()), Some(401));
        assert_eq!(api.message.as_deref(), Some("Invalid API key"));
        assert_eq!(api.body.as_ref(), body.as_bytes());
    }
}

#[test]
fn a_blocking_stream_without_done_ends_in_an_error() {
    let mut server = Server::new();
    let _mock = server
        .mock("POST", "/chat/completion")
        .with_header("content-type", "text/event-stream")
        .with_body(delta_events(&["A large "], true))
        .create();
    let client = blocking_client(&server);
    let items: Vec<_> = tests::bounded_thread(move || {
        client
            .chat_stream(&seed_request())
            .map(|stream| stream.collect::<Vec<_>>())
    })
    .expect("the stream opens");
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().content(), Some("A large "));
    assert!(matches!(
        items[1],
        Err(Error::Stream(StreamError::Incomplete { chunks: 1 }))
    ));
}
