//! Blocked answers and Gray Swan's error envelope through cygnet-hyper against a loopback
//! server: the same bodies and checks as on the mock (`crates/cygnet-mock/tests/blocked.rs`),
//! over a real socket, for the async and the blocking client. The request sent stays the
//! official body.

use cygnet::{ApiErrorKind, Client, Error};
use cygnet_test_support::{
    assert_api_error, assert_blocked_completion, assert_blocked_stream, assert_not_blocked,
    blocked_completion_json, blocked_sse_body, error_envelope_json, stream_items,
    validation_error_json, REFUSAL,
};
use serde_json::{json, Value};
use tests::{
    bounded, bounded_thread, completion_json, delta_events, hyper_client, official_body,
    seed_request, LoopbackServer, Reply,
};

fn client(server: &LoopbackServer) -> Client {
    hyper_client(server.base_url())
        .max_retries(0)
        .build()
        .expect("a loopback client")
}

fn sse(body: String) -> Reply {
    Reply {
        status: 200,
        content_type: "text/event-stream".into(),
        body: body.into_bytes(),
        held: None,
    }
}

async fn chat(status: u16, body: &Value) -> Result<cygnet::ChatCompletion, Error> {
    let server = LoopbackServer::start(Reply::json(status, body)).await;
    bounded("chat", client(&server).chat(&seed_request())).await
}

#[tokio::test]
async fn a_blocked_answer_is_ok_says_it_was_blocked_and_the_request_is_the_official_one() {
    let mut server =
        LoopbackServer::start(Reply::json(200, &blocked_completion_json(REFUSAL))).await;
    let completion = bounded("chat", client(&server).chat(&seed_request()))
        .await
        .expect("a blocked answer is Ok");
    assert_blocked_completion(&completion, REFUSAL);
    assert_eq!(server.next_request().await.json(), official_body(false));
    assert_not_blocked(&chat(200, &completion_json("Hi")).await.unwrap());
}

#[tokio::test]
async fn a_blocked_stream_says_so_in_every_form() {
    for before in [&["A large ", "language "][..], &[]] {
        let mut server = LoopbackServer::start(sse(blocked_sse_body(before, REFUSAL))).await;
        bounded(
            "a blocked stream",
            assert_blocked_stream(&client(&server), &seed_request(), before, REFUSAL),
        )
        .await;
        assert_eq!(server.next_request().await.json(), official_body(true));
    }
}

// Multi-threaded: the loopback servers run on the runtime's workers while the blocking client
// waits on this thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_client_says_so_too() {
    let whole = LoopbackServer::start(Reply::json(200, &blocked_completion_json(REFUSAL))).await;
    let streamed = LoopbackServer::start(sse(blocked_sse_body(&["A large "], REFUSAL))).await;
    let (whole_url, streamed_url) = (whole.base_url(), streamed.base_url());
    bounded_thread(move || {
        let blocking = |url: &str| {
            cygnet::blocking::Client::new(hyper_client(url).max_retries(0).build().unwrap())
                .unwrap()
        };
        let completion = blocking(&whole_url).chat(&seed_request()).unwrap();
        assert_blocked_completion(&completion, REFUSAL);

        let client = blocking(&streamed_url);
        let mut stream = client.chat_stream(&seed_request()).unwrap().accumulate();
        for chunk in &mut stream {
            chunk.unwrap();
        }
        assert!(stream.is_blocked());
        assert_eq!(stream.blocked().unwrap().refusal(), Some(REFUSAL));
        assert!(stream.into_completion().is_blocked());

        let mut text = client.chat_stream(&seed_request()).unwrap().text();
        let pieces: String = (&mut text).map(Result::unwrap).collect();
        assert_eq!(pieces, format!("A large {REFUSAL}"));
        assert_eq!(text.blocked().unwrap().refusal(), Some(REFUSAL));
        let error = client
            .chat_stream(&seed_request())
            .unwrap()
            .text()
            .collect_text()
            .unwrap_err();
        assert_eq!(error.as_blocked().unwrap().refusal(), Some(REFUSAL));
    });
}

#[tokio::test]
async fn gray_swans_envelope_and_validation_errors_read_as_their_parts() {
    let error = chat(
        400,
        &error_envelope_json("Invalid model requested", "No model nope", "invalid_model"),
    )
    .await
    .unwrap_err();
    let kind = assert_api_error(
        &error,
        Some(400),
        "API error 400 Bad Request: Invalid model requested (invalid_model)",
        Some("invalid_model"),
    );
    assert_eq!(kind, ApiErrorKind::BadRequest);
    let api = error.as_api().unwrap();
    assert_eq!(api.detail(), Some("No model nope"));
    assert_eq!(api.details(), Some(&json!({"request": "chat"})));

    let error = chat(422, &validation_error_json()).await.unwrap_err();
    assert_api_error(
        &error,
        Some(422),
        "API error 422 Unprocessable Entity: body.messages: Field required; \
         body.model: Input should be a valid string",
        None,
    );
    assert_eq!(error.as_api().unwrap().validation().len(), 2);

    // The same for a streaming request.
    let server = LoopbackServer::start(Reply::json(
        502,
        &error_envelope_json("Upstream provider failed", "", "upstream_error"),
    ))
    .await;
    let error = bounded("stream", client(&server).chat_stream(&seed_request()))
        .await
        .unwrap_err();
    assert_api_error(
        &error,
        Some(502),
        "API error 502 Bad Gateway: Upstream provider failed (upstream_error)",
        Some("upstream_error"),
    );
}

#[tokio::test]
async fn the_envelope_in_a_2xx_answer_or_mid_stream_is_the_servers_error() {
    let envelope = error_envelope_json("Quota exceeded", "", "quota_exceeded");
    let error = chat(200, &envelope).await.unwrap_err();
    assert_api_error(
        &error,
        Some(200),
        "API error 200 OK: Quota exceeded (quota_exceeded)",
        Some("quota_exceeded"),
    );

    let body = delta_events(&["Hel"], true) + &format!("data: {envelope}\n\n");
    let server = LoopbackServer::start(sse(body)).await;
    let items = bounded("stream", stream_items(&client(&server), &seed_request()))
        .await
        .expect("the stream opens");
    assert_eq!(items.len(), 2, "{items:?}");
    let kind = assert_api_error(
        items[1].as_ref().unwrap_err(),
        None,
        "API error in stream: Quota exceeded (quota_exceeded)",
        Some("quota_exceeded"),
    );
    assert_eq!(kind, ApiErrorKind::InStream);

    let mut fine = completion_json("Hi");
    fine["error"] = json!(false);
    assert_eq!(chat(200, &fine).await.unwrap().content(), Some("Hi"));
}
