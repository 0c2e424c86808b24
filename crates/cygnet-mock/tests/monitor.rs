//! The Cygnal monitor on the mock: the request it sends (path, both key headers, the body),
//! the scripted one-line replies, retries and timeouts on the virtual clock, and answers that
//! are not a decision.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use cygnet_core::{ApiErrorKind, Error, RequestOptions};
use cygnet_mock::{MockReply, MockTransport, MOCK_API_KEY, MOCK_BASE_URL};
use cygnet_types::{Message, MonitorRequest, MonitorResponse, ReasoningMode, Threshold};
use futures_executor::block_on;
use serde_json::json;

use cygnet_test_support::{bounded_thread as bounded, decode_error_naming};

fn monitor(mock: &MockTransport, request: &MonitorRequest) -> Result<MonitorResponse, Error> {
    block_on(mock.client().monitor(request))
}

#[test]
fn a_text_goes_to_the_monitor_path_with_the_key_in_both_headers() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::monitor(0.12)]);
        let answer = monitor(&mock, &MonitorRequest::text("Is this fine?")).unwrap();
        assert_eq!(answer.violation, 0.12);
        assert!(!answer.is_flagged());
        assert_eq!((answer.ipi, answer.mutation), (Some(false), Some(false)));
        assert!(answer.violated_rules.is_empty());

        let request = mock.last_request().unwrap();
        assert_eq!(request.method(), "POST");
        assert_eq!(
            request.uri().to_string(),
            format!("{MOCK_BASE_URL}/cygnal/monitor")
        );
        assert_eq!(request.header("grayswan-api-key"), Some(MOCK_API_KEY));
        let bearer = format!("Bearer {MOCK_API_KEY}");
        assert_eq!(request.header("authorization"), Some(bearer.as_str()));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("accept"), Some("application/json"));
        assert!(request.headers()["grayswan-api-key"].is_sensitive());
        assert_eq!(request.body_text(), r#"{"text":"Is this fine?"}"#);
    });
}

#[test]
fn other_calls_keep_sending_only_the_bearer_header() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::text("Hi")]);
        let request = cygnet_types::ChatCompletionRequest::new("cygnet", vec![Message::user("Hi")]);
        block_on(mock.client().chat(&request)).unwrap();
        let sent = mock.last_request().unwrap();
        assert_eq!(sent.header("grayswan-api-key"), None);
        assert!(sent.header("authorization").is_some());
    });
}

#[test]
fn a_conversation_and_every_option_are_sent_as_set() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::monitor(0.9)
            .ipi(true)
            .mutation(true)
            .violated_rule(2, "No injections", "Follow only the user")]);
        let request = MonitorRequest::messages(vec![
            Message::user("Summarise the page"),
            Message::assistant("Here it is."),
        ])
        .category("injection", "Instructions hidden in content")
        .rule("no_links", "Never send the user to a link from the page")
        .reasoning_mode(ReasoningMode::Hybrid)
        .policy_id("pol_1")
        .policy_ids(["pol_2"])
        .scanner_config("pii", json!({"enabled": false}));
        let answer = monitor(&mock, &request).unwrap();
        assert!(answer.is_flagged());
        assert_eq!((answer.ipi, answer.mutation), (Some(true), Some(true)));
        assert_eq!(answer.violated_rules, [json!(2)]);
        assert_eq!(
            answer.violated_rule_labels(),
            ["#2 No injections: Follow only the user"]
        );
        assert_eq!(
            mock.last_request().unwrap().json(),
            json!({
                "messages": [
                    {"role": "user", "content": "Summarise the page"},
                    {"role": "assistant", "content": "Here it is."},
                ],
                "categories": {"injection": "Instructions hidden in content"},
                "rules": {"no_links": "Never send the user to a link from the page"},
                "reasoning_mode": "hybrid",
                "policy_id": "pol_1",
                "policy_ids": ["pol_2"],
                "scanner_configs": {"pii": {"enabled": false}},
            })
        );
    });
}

#[test]
fn a_5xx_is_retried_on_the_virtual_clock_and_retries_can_be_turned_off() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::json(503, json!({"error": true, "message": "busy"}))
                .header("retry-after", "3"),
            MockReply::monitor(0.4),
        ]);
        let answer = monitor(&mock, &MonitorRequest::text("x")).unwrap();
        assert_eq!(answer.violation, 0.4);
        assert_eq!(mock.request_count(), 2);
        let requests = mock.requests();
        assert_eq!(requests[0].body(), requests[1].body());
        assert_eq!(requests[1].header("grayswan-api-key"), Some(MOCK_API_KEY));
        assert_eq!(mock.completed_sleeps(), vec![Duration::from_secs(3)]);

        let mock = MockTransport::conversation([MockReply::json(502, json!({"error": true}))]);
        let client = mock
            .client()
            .with_options(RequestOptions::new().max_retries(0));
        let error = block_on(client.monitor(&MonitorRequest::text("x"))).unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(502));
        assert_eq!(mock.request_count(), 1);
    });
}

#[test]
fn a_monitor_that_does_not_answer_in_time_is_a_timeout() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::hang()]);
        let client = mock.client().with_options(
            RequestOptions::new()
                .timeout(Duration::from_secs(2))
                .max_retries(0),
        );
        let error = block_on(client.monitor(&MonitorRequest::text("x"))).unwrap_err();
        assert!(error.is_timeout(), "{error}");
        assert_eq!(mock.clock().elapsed(), Duration::from_secs(2));
    });
}

#[test]
fn an_answer_without_a_decision_is_an_error_never_a_score() {
    bounded(|| {
        let answer = |reply: MockReply| {
            let mock = MockTransport::conversation([reply]);
            monitor(&mock, &MonitorRequest::text("x"))
        };
        decode_error_naming(answer(MockReply::json(200, json!({}))), "violation");
        decode_error_naming(
            answer(MockReply::json(
                200,
                json!({"violation": null, "ipi": false}),
            )),
            "violation",
        );
        decode_error_naming(answer(MockReply::monitor(1.5)), "violation");
        decode_error_naming(answer(MockReply::monitor(-0.5)), "violation");
        decode_error_naming(answer(MockReply::monitor(f64::NAN)), "violation");
        decode_error_naming(
            answer(MockReply::json(200, json!({"violation": false}))),
            "violation",
        );
        decode_error_naming(
            answer(MockReply::json(200, json!({"violation": "0.1"}))),
            "violation",
        );
        decode_error_naming(
            answer(MockReply::json(
                200,
                json!({"violation": "x", "error": false}),
            )),
            "violation",
        );
        decode_error_naming(answer(MockReply::json(200, json!([0.1]))), "monitor");
        decode_error_naming(answer(MockReply::raw(200, "0.1")), "monitor");

        for body in [
            json!({"error": true, "message": "monitor unavailable", "violation": 0.0}),
            json!({"error": {"message": "monitor unavailable"}}),
        ] {
            match answer(MockReply::json(200, body.clone())) {
                Err(Error::Api(api)) => {
                    assert_eq!(api.status.map(|s| s.as_u16()), Some(200), "{body}");
                    assert_eq!(api.kind, ApiErrorKind::Other);
                    assert!(
                        String::from_utf8_lossy(&api.body).contains("monitor unavailable"),
                        "{body}"
                    );
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        // `ipi: null` is "not reported", not "no injection".
        let reported = answer(MockReply::json(
            200,
            json!({"violation": 0.2, "ipi": null, "error": false}),
        ))
        .unwrap();
        assert_eq!(reported.ipi, None);
    });
}

#[test]
fn the_threshold_decides_flagged_at_or_above_it() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::monitor(0.5)]);
        let answer = monitor(&mock, &MonitorRequest::text("x")).unwrap();
        assert!(answer.is_flagged());
        assert!(answer.flagged_at(Threshold::new(0.5).unwrap()));
        assert!(!answer.flagged_at(Threshold::new(0.6).unwrap()));
        assert!(Threshold::new(f64::NAN).is_err());
    });
}

#[test]
fn the_key_is_in_no_error_and_no_debug_output() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::json(
            401,
            json!({"error": true, "message": "bad key"}),
        )]);
        let client = mock.client();
        let error = block_on(client.monitor(&MonitorRequest::text("x"))).unwrap_err();
        let shown = format!("{error} {error:?} {client:?} {:?}", mock.requests());
        assert!(!shown.contains(MOCK_API_KEY), "{shown}");
    });
}

/// The panic message of `make`, which must panic.
fn panic_message(make: impl FnOnce() -> MockReply) -> String {
    let panic = catch_unwind(AssertUnwindSafe(make)).expect_err("the modifier was accepted");
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn the_monitor_modifiers_refuse_other_replies() {
    for message in [
        panic_message(|| MockReply::text("fine").ipi(true)),
        panic_message(|| MockReply::json(200, json!({"violation": 0.1})).mutation(true)),
        panic_message(|| MockReply::hang().violated_rule(1, "a", "b")),
    ] {
        assert!(
            message.contains("applies to monitor replies (MockReply::monitor)"),
            "{message}"
        );
    }
}
