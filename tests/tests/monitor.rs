//! The Cygnal monitor through cygnet-hyper against loopback servers: the exact request (path,
//! headers, body, the key in both headers), retries on 5xx, the blocking twin, and answers
//! that are not a decision.

use cygnet::{Error, Message, MonitorRequest, RequestOptions, Threshold};
use serde_json::json;
use tests::{bounded, hyper_client, LoopbackServer, Reply, FAKE_KEY};

const DECISION: &str = r#"{"violation":0.93,"ipi":true,"mutation":null,"violated_rules":[2],
  "violated_rule_descriptions":[{"rule":2,"name":"No injections","description":"d"}],
  "activity_id":"act_1"}"#;

fn decision() -> serde_json::Value {
    serde_json::from_str(DECISION).unwrap()
}

#[tokio::test]
async fn the_monitor_request_is_exactly_what_the_contract_says() {
    let mut server = LoopbackServer::start(Reply::json(200, &decision())).await;
    let client = hyper_client(server.base_url()).build().unwrap();
    let request = MonitorRequest::messages(vec![
        Message::user("What does the page say?"),
        Message::assistant("It says to ignore you."),
    ]);
    let verdict = bounded("monitor", client.monitor(&request))
        .await
        .expect("a decision");
    assert_eq!(verdict.violation, 0.93);
    assert!(verdict.flagged_at(Threshold::DEFAULT));
    assert_eq!((verdict.ipi, verdict.mutation), (Some(true), None));
    assert_eq!(verdict.activity_id.as_deref(), Some("act_1"));

    let received = server.next_request().await;
    received.assert_cygnet_request("/cygnal/monitor");
    assert_eq!(received.header("grayswan-api-key"), Some(FAKE_KEY));
    let mut names: Vec<&str> = received.headers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "accept",
            "authorization",
            "content-length",
            "content-type",
            "grayswan-api-key",
            "host",
            "user-agent"
        ]
    );
    assert_eq!(
        String::from_utf8(received.body.clone()).unwrap(),
        r#"{"messages":[{"role":"user","content":"What does the page say?"},{"role":"assistant","content":"It says to ignore you."}]}"#
    );
}

#[tokio::test]
async fn a_5xx_is_retried_with_both_headers_and_the_same_body() {
    let mut server = mockito::Server::new_async().await;
    let busy = server
        .mock("POST", "/cygnal/monitor")
        .match_header("grayswan-api-key", FAKE_KEY)
        .match_header("authorization", format!("Bearer {FAKE_KEY}").as_str())
        .match_body(mockito::Matcher::Json(json!({"text": "hello"})))
        .with_status(502)
        .with_header("content-type", "application/json")
        .with_header("retry-after-ms", "10")
        .with_body(r#"{"error":true,"message":"upstream failed"}"#)
        .expect(1)
        .create_async()
        .await;
    let good = server
        .mock("POST", "/cygnal/monitor")
        .match_header("grayswan-api-key", FAKE_KEY)
        .match_header("authorization", format!("Bearer {FAKE_KEY}").as_str())
        .match_body(mockito::Matcher::Json(json!({"text": "hello"})))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(r#"{"violation":0.01}"#)
        .expect(1)
        .create_async()
        .await;
    let client = hyper_client(server.url()).build().unwrap();
    let verdict = bounded("the retry", client.monitor(&MonitorRequest::text("hello")))
        .await
        .expect("the retry succeeds");
    assert_eq!(verdict.violation, 0.01);
    busy.assert_async().await;
    good.assert_async().await;

    // Without retries the 502 comes back, with the server's words.
    let mut server = mockito::Server::new_async().await;
    server
        .mock("POST", "/cygnal/monitor")
        .with_status(502)
        .with_header("content-type", "application/json")
        .with_body(r#"{"error":true,"message":"upstream failed"}"#)
        .expect(1)
        .create_async()
        .await;
    let client = hyper_client(server.url())
        .build()
        .unwrap()
        .with_options(RequestOptions::new().max_retries(0));
    let error = bounded("no retry", client.monitor(&MonitorRequest::text("hello")))
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(502));
    assert!(error.to_string().contains("upstream failed"), "{error}");
    assert!(!format!("{error} {error:?}").contains(FAKE_KEY));
}

#[tokio::test]
async fn an_answer_without_a_decision_is_an_error_over_the_wire_too() {
    for (body, api) in [
        (json!({"violation": null, "ipi": false}), false),
        (json!({"violation": 2}), false),
        (json!({"ipi": true}), false),
        (json!({"error": true, "message": "no"}), true),
    ] {
        let server = LoopbackServer::start(Reply::json(200, &body)).await;
        let client = hyper_client(server.base_url()).build().unwrap();
        let result = bounded("monitor", client.monitor(&MonitorRequest::text("x"))).await;
        match result {
            Err(Error::Api(e)) if api => assert_eq!(e.status.map(|s| s.as_u16()), Some(200)),
            Err(Error::Decode(e)) if !api => {
                let report = cygnet::error::Report::new(&*e).to_string();
                assert!(report.contains("violation"), "{body}: {report}")
            }
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn monitor_raw_keeps_the_body_as_it_came_and_reads_it_like_monitor() {
    let server = LoopbackServer::start(Reply::json(200, &json!({"violation": 1}))).await;
    let client = hyper_client(server.base_url()).build().unwrap();
    let raw = bounded(
        "monitor_raw",
        client.monitor_raw(&MonitorRequest::text("x")),
    )
    .await
    .unwrap();
    assert_eq!(&raw.body[..], br#"{"violation":1}"#);
    let verdict: cygnet::MonitorResponse = raw.json().unwrap();
    assert_eq!(verdict.violation, 1.0);
}

#[test]
fn the_blocking_client_monitors_too() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut server = runtime.block_on(LoopbackServer::start(Reply::json(200, &decision())));
    let client =
        cygnet::blocking::Client::new(hyper_client(server.base_url()).build().unwrap()).unwrap();
    let verdict = client.monitor(&MonitorRequest::text("hi")).unwrap();
    assert_eq!(verdict.violation, 0.93);
    assert_eq!(
        verdict.violated_rule_labels(),
        ["#2 No injections: d".to_owned()]
    );
    let response = client
        .monitor_response(&MonitorRequest::text("hi"))
        .unwrap();
    assert_eq!(response.status, 200);
    let received = runtime.block_on(server.next_request());
    received.assert_cygnet_request("/cygnal/monitor");
    assert_eq!(received.header("grayswan-api-key"), Some(FAKE_KEY));
}
