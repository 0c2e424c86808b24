//! Fail closed: a 2xx answer that is not the one asked for is an error that says what was
//! wrong, never a value made of defaults. Arbitrary JSON values are fed as 2xx bodies to
//! `chat`, `moderate` and a stream through the mock, and nothing but a well-formed answer may
//! come back `Ok`; the cases a broken gateway or proxy produces are written out by hand.

use std::cell::Cell;

use cygnet_core::{ApiErrorKind, Client, Error};
use cygnet_mock::{MockReply, MockTransport};
use cygnet_types::{ChatCompletionRequest, Message, ModerationRequest};
use futures_executor::block_on;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};

use cygnet_test_support::bounded_thread as bounded;
use cygnet_test_support::{api_error_saying, decode_error_naming, stream_items};

fn request() -> ChatCompletionRequest {
    ChatCompletionRequest::new("cygnet", vec![Message::user("Hi")])
}

fn client(reply: MockReply) -> Client {
    MockTransport::conversation([reply]).client()
}

fn chat(body: Value) -> Result<cygnet_types::ChatCompletion, Error> {
    block_on(client(MockReply::json(200, body)).chat(&request()))
}

fn moderate(body: Value) -> Result<cygnet_types::ModerationResponse, Error> {
    block_on(client(MockReply::json(200, body)).moderate(&ModerationRequest::new("text")))
}

/// The first item of a stream whose events are `data`, read as owned chunks, then the same
/// through the borrowing path (which must agree).
fn stream_first(data: &[String]) -> Vec<Result<cygnet_types::ChatCompletionChunk, Error>> {
    let owned = block_on(stream_items(
        &client(MockReply::sse_events(data)),
        &request(),
    ))
    .expect("the stream opens");
    let borrowed = block_on(async {
        let mut stream = client(MockReply::sse_events(data))
            .chat_stream(&request())
            .await?;
        let mut items = Vec::new();
        while let Some(item) = stream.next_chunk_with(|chunk| chunk.into_owned()).await {
            items.push(item);
        }
        Ok::<_, Error>(items)
    })
    .expect("the stream opens");
    assert_eq!(
        format!("{owned:?}"),
        format!("{borrowed:?}"),
        "owned and borrowed chunks agree"
    );
    owned
}

// What a well-formed answer is, written from the wire contract, independently of the types.

fn is_u32(value: &Value) -> bool {
    value.as_u64().is_some_and(|n| n <= u64::from(u32::MAX))
}

fn absent_null_or(object: &Map<String, Value>, key: &str, ok: impl Fn(&Value) -> bool) -> bool {
    object.get(key).is_none_or(|v| v.is_null() || ok(v))
}

/// No `error` member, and identifying fields of their types when present.
fn is_answer(value: &Value) -> Option<&Map<String, Value>> {
    let object = value.as_object()?;
    let ok = absent_null_or(object, "error", |_| false)
        && ["id", "object", "model"]
            .iter()
            .all(|key| absent_null_or(object, key, Value::is_string))
        && absent_null_or(object, "created", Value::is_i64);
    ok.then_some(object)
}

/// `choices` an array of objects, each with a `u32` `index` and an object under `inner`.
fn has_choices(object: &Map<String, Value>, inner: &str) -> bool {
    object
        .get("choices")
        .and_then(Value::as_array)
        .is_some_and(|choices| {
            choices.iter().all(|choice| {
                choice.as_object().is_some_and(|choice| {
                    choice.get("index").is_some_and(is_u32)
                        && choice.get(inner).is_some_and(Value::is_object)
                })
            })
        })
}

fn is_completion(value: &Value) -> bool {
    is_answer(value).is_some_and(|object| has_choices(object, "message"))
}

fn is_chunk(value: &Value) -> bool {
    is_answer(value).is_some_and(|object| has_choices(object, "delta"))
}

fn is_verdict(value: &Value) -> bool {
    is_answer(value).is_some_and(|object| {
        object.get("flagged").is_some_and(Value::is_boolean)
            && object.get("detected").is_some_and(Value::is_number)
            && object.get("passed").is_some_and(Value::is_number)
    })
}

/// A JSON object with an `error` member that is neither `null` nor `false` (Gray Swan's
/// envelope says `"error": false` when there is none).
fn reports_an_error(value: &Value) -> bool {
    value
        .get("error")
        .is_some_and(|error| !error.is_null() && *error != Value::Bool(false) && value.is_object())
}

/// An error for `body` must be the server's error when it reports one, a decode error with
/// the status otherwise.
fn check_error(body: &Value, error: &Error, kind: ApiErrorKind) -> Result<(), TestCaseError> {
    if reports_an_error(body) {
        let api = error.as_api();
        prop_assert!(api.is_some_and(|api| api.kind == kind), "{body}: {error}");
    } else {
        prop_assert!(
            matches!(error, Error::Decode(e) if e.status.is_some()),
            "{body}: {error}"
        );
    }
    Ok(())
}

/// Any JSON value, with keys that the answers use so that near-misses are common.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..5).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z ]{0,6}".prop_map(Value::from),
    ];
    let key = prop::sample::select(vec![
        "choices", "index", "message", "delta", "flagged", "detected", "passed", "error",
        "message", "id", "created", "model", "object", "role", "content", "x",
    ]);
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(key.clone().prop_map(str::to_owned), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A well-formed answer with one thing perhaps changed: a key removed, a value replaced by
/// any JSON value, or an `error` member added.
fn near_miss(good: Value) -> impl Strategy<Value = Value> {
    let keys: Vec<String> = good.as_object().unwrap().keys().cloned().collect();
    (
        0..4u8,
        prop::sample::select(keys),
        any_json(),
        prop::sample::select(vec!["choices", "flagged", "error", "id", "created"]),
    )
        .prop_map(move |(change, key, other, added)| {
            let mut value = good.clone();
            let object = value.as_object_mut().unwrap();
            match change {
                0 => {
                    object.remove(&key);
                }
                1 => {
                    object.insert(key, other);
                }
                2 => {
                    object.insert(added.to_owned(), other);
                }
                _ => {}
            }
            value
        })
}

fn good_completion() -> Value {
    json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "cygnet",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
        "finish_reason": "stop"}]})
}

fn good_verdict() -> Value {
    json!({"id": "m1", "created": 1, "model": "cygnet", "flagged": true, "detected": 0.9,
        "passed": 0.1})
}

fn good_chunk() -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "cygnet",
        "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": null}]})
}

fn bodies() -> impl Strategy<Value = Value> {
    prop_oneof![
        any_json(),
        near_miss(good_completion()),
        near_miss(good_verdict()),
        near_miss(good_chunk()),
        // Choices with a field missing or of another type.
        (
            any_json(),
            prop::sample::select(vec!["index", "message", "delta"])
        )
            .prop_map(|(other, key)| {
                let mut choice = json!({"index": 0, "message": {}, "delta": {}});
                choice[key] = other;
                json!({"choices": [choice]})
            }),
    ]
}

#[test]
fn only_well_formed_answers_are_ok() {
    bounded(|| {
        let config = Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        };
        let (completions, verdicts, chunks) = (Cell::new(0), Cell::new(0), Cell::new(0));
        TestRunner::new(config)
            .run(&bodies(), |body| {
                match chat(body.clone()) {
                    Ok(_) => {
                        prop_assert!(is_completion(&body), "chat took {body}");
                        completions.set(completions.get() + 1);
                    }
                    Err(e) => check_error(&body, &e, ApiErrorKind::Other)?,
                }
                match moderate(body.clone()) {
                    Ok(verdict) => {
                        prop_assert!(is_verdict(&body), "moderate took {body}");
                        prop_assert_eq!(Some(verdict.flagged), body["flagged"].as_bool());
                        verdicts.set(verdicts.get() + 1);
                    }
                    Err(e) => check_error(&body, &e, ApiErrorKind::Other)?,
                }
                let items = stream_first(&[body.to_string()]);
                match &items[0] {
                    Ok(_) => {
                        prop_assert!(is_chunk(&body), "the stream took {body}");
                        prop_assert_eq!(items.len(), 1, "then [DONE] ends it");
                        chunks.set(chunks.get() + 1);
                    }
                    Err(e) => {
                        check_error(&body, e, ApiErrorKind::InStream)?;
                        prop_assert_eq!(items.len(), 1, "an error ends the stream");
                    }
                }
                Ok(())
            })
            .unwrap();
        // Well-formed answers were generated too, and taken.
        let counts = (completions.get(), verdicts.get(), chunks.get());
        assert!(
            counts.0 > 3 && counts.1 > 3 && counts.2 > 3,
            "(completions, verdicts, chunks) taken: {counts:?}"
        );
    });
}

#[test]
fn a_moderation_verdict_that_did_not_arrive_is_an_error() {
    bounded(|| {
        decode_error_naming(moderate(json!({})), "missing field `detected`");
        decode_error_naming(
            moderate(json!({"detail": "Not authenticated"})),
            "missing field",
        );
        decode_error_naming(
            moderate(json!({"flagged": "false", "detected": 0, "passed": 1})),
            "flagged: invalid type",
        );
        let kind = api_error_saying(
            moderate(json!({"error": {"message": "moderation unavailable"}})),
            "moderation unavailable",
        );
        assert_eq!(kind, ApiErrorKind::Other);
        // Gateways that drop the identifying fields or send them as null still get through.
        let verdict =
            moderate(json!({"id": null, "flagged": true, "detected": 1, "passed": 0})).unwrap();
        assert!(verdict.flagged);
    });
}

#[test]
fn a_chat_answer_without_choices_or_with_an_error_is_an_error() {
    bounded(|| {
        decode_error_naming(chat(json!({})), "missing field `choices`");
        decode_error_naming(
            chat(json!({"choices": [{"message": {"content": "x"}}]})),
            "choices: missing field `index`",
        );
        api_error_saying(
            chat(json!({"error": {"message": "model overloaded"}})),
            "model overloaded",
        );
        api_error_saying(
            chat(json!({"id": "c1", "choices": [], "error": {"message": "model overloaded"}})),
            "model overloaded",
        );
        // The official client's shape with every optional field null still parses.
        let completion = chat(
            json!({"id": "c1", "object": "chat.completion", "created": 1,
            "model": "cygnet", "choices": [{"index": 0, "message": {"role": "assistant",
            "content": null, "tool_calls": null}, "finish_reason": null, "logprobs": null}],
            "system_fingerprint": null, "usage": null}),
        )
        .unwrap();
        assert_eq!(completion.content(), None);
    });
}

#[test]
fn an_error_or_an_empty_object_mid_stream_ends_the_stream_with_an_error() {
    bounded(|| {
        let good = good_chunk().to_string();
        let items = stream_first(&[
            good.clone(),
            r#"{"id":"c1","error":{"message":"quota exceeded"}}"#.to_owned(),
            good.clone(),
        ]);
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap().content(), Some("Hi"));
        let kind = api_error_saying(items.into_iter().nth(1).unwrap(), "quota exceeded");
        assert_eq!(kind, ApiErrorKind::InStream);

        let items = stream_first(&[good.clone(), "{}".to_owned(), good]);
        assert_eq!(items.len(), 2, "{items:?}");
        decode_error_naming(items.into_iter().nth(1).unwrap(), "missing field `choices`");
    });
}

#[test]
fn keys_and_urls_with_secrets_are_refused_before_sending_without_showing_them() {
    let mock = MockTransport::new();
    for key in ["", "sk-fäke-secret", "sk-fake-secret\n", "sk fake-secret"] {
        let error = mock.client_builder().api_key(key).build().unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }
    let builder = mock
        .client_builder()
        .base_url("https://user:s3cr3t@example.com/v1");
    assert!(!format!("{builder:?}").contains("s3cr3t"));
    let error = builder.build().unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error}");
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains("s3cr3t") && text.contains("***@example.com"),
        "{text}"
    );
    assert_eq!(mock.request_count(), 0);
}
