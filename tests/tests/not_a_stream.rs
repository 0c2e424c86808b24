//! A streaming request answered 2xx with something other than an event stream, through
//! cygnet-hyper against a real HTTP server (mockito) on loopback: a gateway's JSON error is
//! an API error with the server's message; a proxy's HTML page a decode error naming the
//! content type; an event stream whose `Content-Type` is missing is still read as a stream.

use cygnet::{Client, Error, RequestOptions};
use mockito::{Server, ServerGuard};
use tests::{bounded, chat_answer, hyper_client, seed_request, sse_body, streamed_completion};

fn client(server: &ServerGuard) -> Client {
    hyper_client(server.url())
        .max_retries(0)
        .build()
        .expect("client")
}

#[tokio::test]
async fn json_with_an_error_is_an_api_error_with_the_servers_message() {
    let mut server = Server::new_async().await;
    let _mock = chat_answer(
        &mut server,
        200,
        Some("Application/JSON; charset=utf-8"),
        r#"{"error":{"message":"quota exceeded","type":"insufficient_quota"}}"#,
    )
    .await;
    let error = bounded("stream", client(&server).chat_stream(&seed_request()))
        .await
        .unwrap_err();
    let api = error.as_api().expect("an API error");
    assert_eq!(api.status.map(|s| s.as_u16()), Some(200));
    assert_eq!(api.message.as_deref(), Some("quota exceeded"));
    assert_eq!(
        api.headers["content-type"],
        "Application/JSON; charset=utf-8"
    );
    assert!(error.to_string().contains("quota exceeded"), "{error}");
}

#[tokio::test]
async fn an_html_page_is_a_decode_error_naming_status_content_type_and_snippet() {
    let mut server = Server::new_async().await;
    let page = format!(
        "<html><body><h1>Bad gateway</h1>{}</body></html>",
        "<p>padding</p>".repeat(4096)
    );
    let _mock = chat_answer(&mut server, 200, Some("text/html"), page).await;
    let error = bounded("stream", client(&server).chat_stream(&seed_request()))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Decode(_)), "{error:?}");
    let text = error.report().to_string();
    assert!(text.contains("200 OK"), "{text}");
    assert!(text.contains("\"text/html\""), "{text}");
    assert!(text.contains("Bad gateway"), "{text}");
}

#[tokio::test]
async fn an_event_stream_without_content_type_is_read_as_a_stream() {
    let mut server = Server::new_async().await;
    let _mock = chat_answer(&mut server, 200, None, sse_body(&["Hel", "lo"])).await;
    let client = client(&server).with_options(RequestOptions::new());
    let completion = bounded("stream", streamed_completion(&client, &seed_request()))
        .await
        .expect("a completion");
    assert_eq!(completion.content(), Some("Hello"));
}
