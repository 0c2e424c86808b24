//! The monitor fails closed: arbitrary JSON values are fed as 200 bodies to `monitor`
//! through the mock, and nothing but a well-formed decision (a `violation` from 0 to 1, no
//! error reported, every known field of its type) may come back `Ok`, with the score that
//! was sent. Everything else is the server's error (when the body reports one) or a decode
//! error, never a score.

use std::cell::Cell;

use cygnet_core::{ApiErrorKind, Error};
use cygnet_mock::{MockReply, MockTransport};
use cygnet_types::{MonitorRequest, MonitorResponse};
use futures_executor::block_on;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};

use cygnet_test_support::bounded_thread as bounded;

fn monitor(body: Value) -> Result<MonitorResponse, Error> {
    let mock = MockTransport::conversation([MockReply::json(200, body)]);
    block_on(mock.client().monitor(&MonitorRequest::text("text")))
}

// What a decision is, written from the wire contract, independently of the types.

fn absent_null_or(object: &Map<String, Value>, key: &str, ok: impl Fn(&Value) -> bool) -> bool {
    object.get(key).is_none_or(|v| v.is_null() || ok(v))
}

fn is_decision(value: &Value) -> bool {
    let Some(object) = value.as_object() else {
        return false;
    };
    let score = object.get("violation").and_then(Value::as_f64);
    score.is_some_and(|s| s.is_finite() && (0.0..=1.0).contains(&s))
        && absent_null_or(object, "error", |e| *e == Value::Bool(false))
        && absent_null_or(object, "observe_violation", Value::is_number)
        && absent_null_or(object, "violated_rules", Value::is_array)
        && absent_null_or(object, "violated_rule_descriptions", Value::is_array)
        && absent_null_or(object, "ipi", Value::is_boolean)
        && absent_null_or(object, "mutation", Value::is_boolean)
        && ["reasoning", "activity_id", "block_message"]
            .iter()
            .all(|key| absent_null_or(object, key, Value::is_string))
}

/// A JSON object with an `error` member that is neither `null` nor `false`.
fn reports_an_error(value: &Value) -> bool {
    value.is_object()
        && value
            .get("error")
            .is_some_and(|e| !e.is_null() && *e != Value::Bool(false))
}

/// Whether `read` is the score `sent`, up to the last bits: serde_json's default float
/// parsing is not always correctly rounded (more so for tiny numbers), so the same text may
/// read a few units in the last place apart.
fn same_score(read: f64, sent: f64) -> bool {
    read == sent || (read - sent).abs() <= 1e-12 * sent.abs()
}

fn check_error(body: &Value, error: &Error) -> Result<(), TestCaseError> {
    if reports_an_error(body) {
        prop_assert!(
            error
                .as_api()
                .is_some_and(|api| api.kind == ApiErrorKind::Other
                    && api.status.map(|s| s.as_u16()) == Some(200)),
            "{body}: {error}"
        );
    } else {
        prop_assert!(
            matches!(error, Error::Decode(e) if e.status.is_some()),
            "{body}: {error}"
        );
    }
    Ok(())
}

/// Scores around and outside `[0, 1]`, and numbers of every kind.
fn scores() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0.0f64..=1.0).prop_map(Value::from),
        (-2.0f64..3.0).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (0u64..3).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
    ]
}

/// Any JSON value, with the monitor's keys so that near-misses are common.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        scores(),
        "[a-z ]{0,6}".prop_map(Value::from),
    ];
    let key = prop::sample::select(vec![
        "violation",
        "observe_violation",
        "violated_rules",
        "violated_rule_descriptions",
        "ipi",
        "mutation",
        "reasoning",
        "activity_id",
        "block_message",
        "error",
        "message",
        "x",
    ]);
    leaf.prop_recursive(3, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(key.clone().prop_map(str::to_owned), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn good_decision() -> Value {
    json!({"violation": 0.93, "observe_violation": 0.1, "violated_rules": [2],
        "violated_rule_descriptions": [{"rule": 2, "name": "n", "description": "d"}],
        "ipi": true, "mutation": false, "reasoning": "r", "activity_id": "a",
        "block_message": "b", "input_tokens": 7})
}

/// A good decision with one thing perhaps changed: a key removed, a value replaced, a
/// member added (an `error` among them), or the score replaced by another number.
fn near_miss() -> impl Strategy<Value = Value> {
    let good = good_decision();
    let keys: Vec<String> = good.as_object().unwrap().keys().cloned().collect();
    (
        0..5u8,
        prop::sample::select(keys),
        any_json(),
        prop::sample::select(vec!["error", "violation", "ipi", "x"]),
        scores(),
    )
        .prop_map(move |(change, key, other, added, score)| {
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
                3 => {
                    object.insert("violation".to_owned(), score);
                }
                _ => {}
            }
            value
        })
}

fn bodies() -> impl Strategy<Value = Value> {
    prop_oneof![
        any_json(),
        near_miss(),
        // A bare score and an error flag, the envelope's two halves.
        (
            scores(),
            prop_oneof![Just(None), any::<bool>().prop_map(Some)]
        )
            .prop_map(|(score, error)| {
                let mut body = json!({"violation": score});
                if let Some(error) = error {
                    body["error"] = Value::Bool(error);
                }
                body
            }),
    ]
}

#[test]
fn only_a_well_formed_decision_is_ok() {
    bounded(|| {
        let config = Config {
            cases: 512,
            failure_persistence: None,
            ..Config::default()
        };
        let (decisions, refused) = (Cell::new(0), Cell::new(0));
        TestRunner::new(config)
            .run(&bodies(), |body| {
                // The body as the client reads the bytes sent (see `same_score`).
                let body: Value = serde_json::from_str(&body.to_string()).unwrap();
                match monitor(body.clone()) {
                    Ok(answer) => {
                        prop_assert!(is_decision(&body), "monitor took {body}");
                        let sent = body["violation"].as_f64().unwrap_or(f64::NAN);
                        prop_assert!(
                            same_score(answer.violation, sent),
                            "{body}: read {}",
                            answer.violation
                        );
                        decisions.set(decisions.get() + 1);
                    }
                    Err(error) => {
                        prop_assert!(!is_decision(&body), "refused {body}: {error}");
                        check_error(&body, &error)?;
                        refused.set(refused.get() + 1);
                    }
                }
                Ok(())
            })
            .unwrap();
        // Both sides were generated.
        let counts = (decisions.get(), refused.get());
        assert!(
            counts.0 > 20 && counts.1 > 20,
            "(decisions, refused): {counts:?}"
        );
    });
}
