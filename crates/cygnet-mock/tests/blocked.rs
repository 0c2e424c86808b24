//! Blocked answers and Gray Swan's error envelope on the mock: the scripted replies
//! (`MockReply::blocked`, `stream_blocked`, `error_envelope`) read as the wire contract says, in
//! every form a caller takes an answer in. The same checks run through cygnet-hyper against a
//! loopback server in `tests/tests/blocked.rs`.

use cygnet_core::{ApiErrorKind, Client, Error};
use cygnet_mock::{MockReply, MockTransport};
use cygnet_test_support::{
    assert_api_error, assert_blocked_completion, assert_blocked_stream, assert_not_blocked,
    blocked_completion_json, bounded_thread as bounded, error_envelope_json, seed_request,
    validation_error_json, REFUSAL,
};
use futures_executor::block_on;
use serde_json::json;

/// A client whose every request `reply` answers.
fn always(reply: MockReply) -> Client {
    let mock = MockTransport::new();
    mock.set_fallback(reply);
    mock.client_builder()
        .max_retries(0)
        .build()
        .expect("a mock client")
}

fn chat(reply: MockReply) -> Result<cygnet_types::ChatCompletion, Error> {
    bounded(move || block_on(always(reply).chat(&seed_request())))
}

#[test]
fn a_blocked_answer_is_ok_and_says_it_was_blocked() {
    let completion = chat(MockReply::blocked(REFUSAL)).expect("a blocked answer is Ok");
    assert_blocked_completion(&completion, REFUSAL);
    assert_eq!(completion.content(), Some(REFUSAL));
    // The scripted reply is the JSON the test kit serves over a socket.
    let served = chat(MockReply::json(200, blocked_completion_json(REFUSAL))).unwrap();
    assert_blocked_completion(&served, REFUSAL);
    assert_not_blocked(&chat(MockReply::text("Hi")).unwrap());
}

#[test]
fn a_blocked_stream_says_so_chunk_by_chunk_accumulated_and_as_text() {
    for before in [&["Step ", "one: "][..], &[]] {
        let client = always(MockReply::stream_blocked(before.iter().copied(), REFUSAL));
        bounded(move || {
            block_on(assert_blocked_stream(
                &client,
                &seed_request(),
                before,
                REFUSAL,
            ))
        });
    }
}

#[test]
fn an_ordinary_stream_is_not_blocked_in_any_form() {
    let client = always(MockReply::stream_text(["Hel", "lo"]));
    bounded(move || {
        block_on(async {
            let mut stream = client.chat_stream(&seed_request()).await?.accumulate();
            while let Some(chunk) = stream.next_chunk().await {
                assert!(!chunk?.is_blocked());
            }
            assert!(!stream.is_blocked());
            assert_not_blocked(&stream.into_completion());
            let mut text = client.chat_stream(&seed_request()).await?.text();
            while let Some(piece) = text.next_text().await {
                piece?;
            }
            assert_eq!(text.blocked(), None);
            let text = client.chat_stream(&seed_request()).await?.text();
            assert_eq!(text.collect_text().await?, "Hello");
            Ok::<_, Error>(())
        })
    })
    .unwrap();
}

#[test]
fn a_violation_then_another_finish_reason_stays_blocked() {
    let chunk = |delta: serde_json::Value, finish: &str| {
        json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string()
    };
    let client = always(MockReply::sse_events([
        chunk(json!({"content": "No.", "refusal": "No."}), "violation"),
        chunk(json!({}), "stop"),
    ]));
    let completion = bounded(move || {
        block_on(client.chat_stream(&seed_request())).and_then(|s| block_on(s.collect_completion()))
    })
    .unwrap();
    assert_eq!(
        completion.finish_reason(),
        Some(&cygnet_types::FinishReason::Violation)
    );
    assert_blocked_completion(&completion, "No.");
}

#[test]
fn gray_swans_envelope_reads_as_message_and_code() {
    let error = chat(MockReply::error_envelope(
        400,
        "Invalid model requested",
        "invalid_model",
    ))
    .unwrap_err();
    let kind = assert_api_error(
        &error,
        Some(400),
        "API error 400 Bad Request: Invalid model requested (invalid_model)",
        Some("invalid_model"),
    );
    assert_eq!(kind, ApiErrorKind::BadRequest);

    let error = chat(MockReply::json(
        502,
        error_envelope_json("Upstream provider failed", "openai: 503", "upstream_error"),
    ))
    .unwrap_err();
    assert_api_error(
        &error,
        Some(502),
        "API error 502 Bad Gateway: Upstream provider failed (upstream_error)",
        Some("upstream_error"),
    );
    let api = error.as_api().unwrap();
    assert_eq!(api.detail(), Some("openai: 503"));
    assert_eq!(api.details().unwrap()["request"], "chat");
}

#[test]
fn a_validation_failure_reads_as_its_entries() {
    let error = chat(MockReply::json(422, validation_error_json())).unwrap_err();
    assert_api_error(
        &error,
        Some(422),
        "API error 422 Unprocessable Entity: body.messages: Field required; \
         body.model: Input should be a valid string",
        None,
    );
    let api = error.as_api().unwrap();
    let entries: Vec<_> = api
        .validation()
        .iter()
        .map(|e| (e.location(), e.kind.as_deref()))
        .collect();
    assert_eq!(
        entries,
        [
            ("body.messages".to_owned(), Some("missing")),
            ("body.model".to_owned(), Some("string_type"))
        ]
    );
    let error = chat(MockReply::json(401, json!({"detail": "Not authenticated"}))).unwrap_err();
    assert_api_error(
        &error,
        Some(401),
        "API error 401 Unauthorized: Not authenticated",
        None,
    );
}

#[test]
fn the_envelope_in_a_2xx_answer_or_a_chunk_is_the_servers_error() {
    let envelope = error_envelope_json("Quota exceeded", "", "quota_exceeded");
    let error = chat(MockReply::json(200, envelope.clone())).unwrap_err();
    assert_api_error(
        &error,
        Some(200),
        "API error 200 OK: Quota exceeded (quota_exceeded)",
        Some("quota_exceeded"),
    );

    let client = always(MockReply::sse_events([
        json!({"choices": [{"index": 0, "delta": {"content": "Hel"}}]}).to_string(),
        envelope.to_string(),
    ]));
    let items =
        bounded(move || block_on(cygnet_test_support::stream_items(&client, &seed_request())))
            .expect("the stream opens");
    assert_eq!(items.len(), 2, "{items:?}");
    let error = items[1].as_ref().unwrap_err();
    let kind = assert_api_error(
        error,
        None,
        "API error in stream: Quota exceeded (quota_exceeded)",
        Some("quota_exceeded"),
    );
    assert_eq!(kind, ApiErrorKind::InStream);

    // `"error": false` says there is no error.
    let mut fine = cygnet_test_support::completion_json("Hi");
    fine["error"] = json!(false);
    assert_eq!(
        chat(MockReply::json(200, fine)).unwrap().content(),
        Some("Hi")
    );
}

#[test]
fn every_other_error_shape_keeps_its_message_and_code() {
    for (body, display, code) in [
        (
            json!({"error": {"message": "slow down", "code": "rate_limit_exceeded"}}),
            "API error 429 Too Many Requests: slow down (rate_limit_exceeded)",
            Some("rate_limit_exceeded"),
        ),
        (
            json!({"error": "model overloaded"}),
            "API error 429 Too Many Requests: model overloaded",
            None,
        ),
        (
            json!({"message": "try later"}),
            "API error 429 Too Many Requests: try later",
            None,
        ),
    ] {
        let error = chat(MockReply::json(429, body)).unwrap_err();
        assert_api_error(&error, Some(429), display, code);
    }
}
