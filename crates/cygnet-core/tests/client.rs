//! The client's request building, error mapping, retries and deadlines, over an in-test
//! transport whose replies are canned and whose timer fires at once (so no test waits).

use std::time::Duration;

use cygnet_core::{ApiErrorKind, Client, Error, RequestOptions, TimeoutKind, TransportErrorKind};
use cygnet_test_support::{seed_request as seed, Canned, CannedReply};
use cygnet_types::ModerationRequest;
use futures_executor::block_on;

const KEY: &str = "sk-test-fake-0123456789";
const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"cygnet",
  "choices":[{"index":0,"message":{"role":"assistant","content":"An LLM is..."},"finish_reason":"stop"}],
  "usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#;

fn setup(replies: Vec<CannedReply>) -> (Client, Canned) {
    setup_with(replies, |builder| builder)
}

/// [`setup`], with more settings on the builder.
fn setup_with(
    replies: Vec<CannedReply>,
    configure: impl FnOnce(cygnet_core::ClientBuilder) -> cygnet_core::ClientBuilder,
) -> (Client, Canned) {
    let transport = Canned::with(replies);
    let builder = transport.client_builder().api_key(KEY);
    let client = configure(builder).build().unwrap();
    (client, transport)
}

#[test]
fn sends_the_official_body_and_headers() {
    let (client, transport) = setup(vec![CannedReply::json(200, COMPLETION)]);
    let completion = block_on(client.chat(&seed())).unwrap();
    assert_eq!(completion.content(), Some("An LLM is..."));

    let requests = transport.requests();
    let request = &requests[0];
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri(), "https://api.example.test/chat/completion");
    let h = request.headers();
    assert_eq!(h["authorization"], format!("Bearer {KEY}").as_str());
    assert!(h["authorization"].is_sensitive());
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["accept"], "application/json");
    assert!(h["user-agent"]
        .to_str()
        .unwrap()
        .starts_with("cygnet-rust/"));
    let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
    let official: serde_json::Value = serde_json::from_str(
        r#"{"messages": [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "What is a large language model?"}], "model": "cygnet"}"#,
    )
    .unwrap();
    assert_eq!(body, official);
}

#[test]
fn missing_key_is_a_config_error_before_sending() {
    let transport = Canned::new();
    let err = Client::builder()
        .transport(transport.clone())
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("GRAYSWAN_API_KEY")),
        "{err}"
    );
    assert!(transport.requests().is_empty());
}

#[test]
fn cleartext_to_a_remote_host_needs_opt_in() {
    let build = |url: &str, allow: bool| {
        Client::builder()
            .api_key(KEY)
            .base_url(url)
            .allow_insecure_http(allow)
            .transport(Canned::new())
            .build()
    };
    let err = build("http://api.example.test", false).unwrap_err();
    assert!(err.to_string().contains("cleartext"), "{err}");
    assert!(!err.to_string().contains(KEY));
    assert!(build("http://api.example.test", true).is_ok());
    assert!(build("http://127.0.0.1:9", false).is_ok());
    assert!(build("http://localhost:9", false).is_ok());
    assert!(build("http://[::1]:9", false).is_ok());
}

#[test]
fn the_key_never_shows_in_debug_or_errors() {
    let (client, _) = setup(vec![CannedReply::json(
        401,
        r#"{"error":{"message":"bad key"}}"#,
    )]);
    assert!(!format!("{client:?}").contains(KEY));
    let err = block_on(
        client
            .with_options(RequestOptions::new().max_retries(0))
            .chat(&seed()),
    )
    .unwrap_err();
    assert!(!format!("{err:?}").contains(KEY));
    assert!(!err.to_string().contains(KEY));
}

#[test]
fn credentials_in_request_options_never_show_in_debug_but_are_sent() {
    let headers = [
        ("authorization", "Bearer sk-test-opt-auth"),
        ("x-api-key", "sk-test-opt-x-api"),
        ("cookie", "session=sk-test-opt-cookie"),
        ("grayswan-api-key", "sk-test-opt-grayswan"),
    ];
    let mut options = RequestOptions::new().header("x-trace", "trace-visible");
    for (name, value) in headers {
        options = options.header(name, value);
    }
    let (client, transport) = setup_with(vec![CannedReply::json(200, COMPLETION)], |builder| {
        builder.default_options(options.clone())
    });
    let derived =
        client.with_options(RequestOptions::new().header("x-api-key", "sk-test-opt-derived"));
    let builder = cygnet_core::ClientBuilder::new().default_options(options);
    for debug in [
        format!("{client:?}"),
        format!("{derived:?}"),
        format!("{builder:?}"),
    ] {
        assert!(!debug.contains("sk-test"), "{debug}");
        assert!(debug.contains(r#""cookie": "***""#), "{debug}");
        assert!(debug.contains("trace-visible"), "{debug}");
    }
    // Hidden from Debug only: the request carries them as given.
    block_on(derived.chat(&seed())).unwrap();
    let sent = &transport.requests()[0];
    assert_eq!(sent.headers()["x-api-key"], "sk-test-opt-derived");
    assert_eq!(sent.headers()["cookie"], "session=sk-test-opt-cookie");
}

#[test]
fn error_statuses_map_to_kinds_with_message_and_body() {
    for (status, kind) in [
        (400, ApiErrorKind::BadRequest),
        (401, ApiErrorKind::Authentication),
        (403, ApiErrorKind::PermissionDenied),
        (404, ApiErrorKind::NotFound),
        (409, ApiErrorKind::Conflict),
        (422, ApiErrorKind::UnprocessableEntity),
        (429, ApiErrorKind::RateLimit),
        (500, ApiErrorKind::InternalServer),
        (503, ApiErrorKind::InternalServer),
        (418, ApiErrorKind::Other),
    ] {
        let body = r#"{"error":{"message":"nope","type":"x"}}"#;
        let (client, _) = setup(vec![
            CannedReply::json(status, body).header("x-request-id", "req-1")
        ]);
        let client = client.with_options(RequestOptions::new().max_retries(0));
        let err = block_on(client.chat(&seed())).unwrap_err();
        let api = err.as_api().unwrap_or_else(|| panic!("{status}: {err:?}"));
        assert_eq!(api.kind, kind);
        assert_eq!(api.status.unwrap().as_u16(), status);
        assert_eq!(api.message.as_deref(), Some("nope"));
        assert_eq!(api.body, body.as_bytes());
        assert_eq!(api.request_id(), Some("req-1"));
        assert!(err.to_string().contains("nope"), "{err}");
    }
}

#[test]
fn non_json_bodies_give_a_decode_error_with_status_and_snippet() {
    let html = "<html><body>502 Bad Gateway</body></html>";
    let (client, _) = setup(vec![
        CannedReply::json(200, "<html>oops</html>"),
        CannedReply::json(502, html),
    ]);
    let err = block_on(client.chat(&seed())).unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert!(
        err.to_string().contains("200") && err.to_string().contains("<html>oops"),
        "{err}"
    );

    let err = block_on(
        client
            .with_options(RequestOptions::new().max_retries(0))
            .chat(&seed()),
    )
    .unwrap_err();
    let api = err.as_api().unwrap();
    assert_eq!(api.message, None);
    assert!(
        err.to_string().contains("502") && err.to_string().contains("Bad Gateway"),
        "{err}"
    );
}

#[test]
fn retries_honour_retry_after_and_then_succeed() {
    let (client, transport) = setup(vec![
        CannedReply::json(429, "{}").header("retry-after", "2"),
        CannedReply::json(503, "{}").header("retry-after-ms", "250"),
        CannedReply::json(200, COMPLETION),
    ]);
    block_on(client.chat(&seed())).unwrap();
    assert_eq!(transport.requests().len(), 3);
    let sleeps = transport.sleeps();
    // Each attempt arms its deadline timer; the waits between attempts are what the server said.
    let waits: Vec<_> = sleeps
        .iter()
        .filter(|d| **d != Duration::from_secs(60))
        .collect();
    assert_eq!(
        waits,
        vec![&Duration::from_secs(2), &Duration::from_millis(250)]
    );
}

#[test]
fn retries_stop_after_max_and_report_the_last_error() {
    let (client, transport) = setup(vec![
        CannedReply::Fail(TransportErrorKind::Connect),
        CannedReply::json(500, r#"{"error":{"message":"boom"}}"#),
        CannedReply::json(500, r#"{"error":{"message":"boom again"}}"#),
    ]);
    let err = block_on(client.chat(&seed())).unwrap_err();
    assert_eq!(err.as_api().unwrap().message.as_deref(), Some("boom again"));
    assert_eq!(transport.requests().len(), 3);
    // Backoff without retry-after: 1 s then 2 s, each shortened by at most 25 % jitter.
    let sleeps = transport.sleeps();
    let waits: Vec<_> = sleeps
        .iter()
        .filter(|d| **d != Duration::from_secs(60))
        .copied()
        .collect();
    assert_eq!(waits.len(), 2);
    assert!(waits[0] >= Duration::from_millis(750) && waits[0] <= Duration::from_secs(1));
    assert!(waits[1] >= Duration::from_millis(1500) && waits[1] <= Duration::from_secs(2));
}

#[test]
fn x_should_retry_overrides_the_status() {
    let (client, transport) = setup(vec![
        CannedReply::json(400, "{}").header("x-should-retry", "true"),
        CannedReply::json(200, COMPLETION),
    ]);
    block_on(client.chat(&seed())).unwrap();
    assert_eq!(transport.requests().len(), 2);

    let (client, transport) = setup(vec![
        CannedReply::json(503, "{}").header("x-should-retry", "false")
    ]);
    assert!(block_on(client.chat(&seed())).is_err());
    assert_eq!(transport.requests().len(), 1);
}

#[test]
fn non_retryable_failures_are_not_retried() {
    let (client, transport) = setup(vec![
        CannedReply::Fail(TransportErrorKind::Request),
        CannedReply::json(400, "{}"),
    ]);
    let err = block_on(client.chat(&seed())).unwrap_err();
    assert!(matches!(&err, Error::Transport(e) if e.kind() == TransportErrorKind::Request));
    assert_eq!(transport.requests().len(), 1);
}

#[test]
fn zero_retries_per_request_disables_retrying() {
    let (client, transport) = setup(vec![CannedReply::json(429, "{}")]);
    let err = block_on(
        client
            .with_options(RequestOptions::new().max_retries(0))
            .chat(&seed()),
    )
    .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 429);
    assert_eq!(transport.requests().len(), 1);
}

#[test]
fn a_hanging_request_times_out_and_is_retried() {
    let (client, transport) = setup(vec![CannedReply::Hang, CannedReply::json(200, COMPLETION)]);
    let client = client.with_options(RequestOptions::new().timeout(Duration::from_secs(3)));
    block_on(client.chat(&seed())).unwrap();
    assert_eq!(transport.requests().len(), 2);

    let (client, _) = client_hanging();
    let err = block_on(client.chat(&seed())).unwrap_err();
    assert!(
        matches!(err.timeout_kind(), Some(TimeoutKind::Request(d)) if d == Duration::from_secs(3)),
        "{err:?}"
    );
    assert!(err.is_timeout());
}

fn client_hanging() -> (Client, Canned) {
    let (client, transport) = setup(vec![CannedReply::Hang]);
    (
        client.with_options(
            RequestOptions::new()
                .timeout(Duration::from_secs(3))
                .max_retries(0),
        ),
        transport,
    )
}

#[test]
fn a_connect_timeout_travels_only_when_configured() {
    use cygnet_core::transport::ConnectTimeout;
    let connect_timeout = |request: &http::Request<bytes::Bytes>| {
        request.extensions().get::<ConnectTimeout>().copied()
    };

    // Unset: no extension, so the transport's own default (or its builder's) applies.
    let (client, transport) = setup(vec![
        CannedReply::json(200, COMPLETION),
        CannedReply::json(200, COMPLETION),
    ]);
    block_on(client.chat(&seed())).unwrap();
    let per_call = RequestOptions::new().connect_timeout(Duration::from_millis(250));
    block_on(client.with_options(per_call).chat(&seed())).unwrap();
    let requests = transport.requests();
    assert_eq!(connect_timeout(&requests[0]), None);
    assert_eq!(
        connect_timeout(&requests[1]),
        Some(ConnectTimeout(Duration::from_millis(250)))
    );

    // Set on the client: every request carries it.
    let (client, transport) = setup_with(vec![CannedReply::json(200, COMPLETION)], |b| {
        b.connect_timeout(Duration::from_secs(2))
    });
    block_on(client.chat(&seed())).unwrap();
    assert_eq!(
        connect_timeout(&transport.requests()[0]),
        Some(ConnectTimeout(Duration::from_secs(2)))
    );
}

#[test]
fn per_request_options_add_headers_query_and_body_fields() {
    let (client, transport) = setup(vec![CannedReply::json(200, COMPLETION)]);
    let options = RequestOptions::new()
        .header("x-trace", "t-1")
        .query("beta", "on")
        .extra_body("model", serde_json::json!("cygnet-v0.2"))
        .extra_body("seed", serde_json::json!(7));
    block_on(client.with_options(options).chat(&seed())).unwrap();
    let requests = transport.requests();
    let request = &requests[0];
    assert_eq!(
        request.uri(),
        "https://api.example.test/chat/completion?beta=on"
    );
    assert_eq!(request.headers()["x-trace"], "t-1");
    let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
    assert_eq!(body["model"], "cygnet-v0.2", "the extra value wins");
    assert_eq!(body["seed"], 7);
    assert_eq!(
        body["messages"][1]["content"],
        "What is a large language model?"
    );
}

#[test]
fn derived_clients_share_the_transport_and_keep_their_own_options() {
    let (client, transport) = setup(vec![
        CannedReply::json(200, COMPLETION),
        CannedReply::json(200, COMPLETION),
    ]);
    let tagged = client.with_options(RequestOptions::new().header("x-tag", "a"));
    block_on(tagged.chat(&seed())).unwrap();
    block_on(client.chat(&seed())).unwrap();
    let requests = transport.requests();
    assert_eq!(requests[0].headers()["x-tag"], "a");
    assert!(requests[1].headers().get("x-tag").is_none());
}

#[test]
fn raw_responses_keep_status_and_headers() {
    let (client, _) = setup(vec![
        CannedReply::json(200, COMPLETION).header("x-request-id", "req-9"),
        CannedReply::json(200, r#"{"anything":1}"#),
    ]);
    let response = block_on(client.chat_response(&seed())).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.request_id(), Some("req-9"));
    let raw = block_on(client.post_raw("/chat/completion", &serde_json::json!({"x": 1}))).unwrap();
    assert_eq!(raw.body, r#"{"anything":1}"#.as_bytes());
    let value: serde_json::Value = raw.json().unwrap();
    assert_eq!(value["anything"], 1);
}

#[test]
fn moderation_posts_to_its_path() {
    let (client, transport) = setup(vec![CannedReply::json(
        200,
        r#"{"id":"m1","created":1,"detected":0.9,"flagged":true,"model":"cygnet","passed":0.1}"#,
    )]);
    let verdict = block_on(client.moderate(&ModerationRequest::new("some text"))).unwrap();
    assert!(verdict.flagged);
    assert_eq!(verdict.detected, 0.9);
    let requests = transport.requests();
    assert_eq!(requests[0].uri().path(), "/moderation");
    assert_eq!(requests[0].body().as_ref(), br#"{"input":"some text"}"#);
}

#[test]
fn oversized_bodies_are_refused() {
    let (client, _) = setup_with(vec![CannedReply::json(200, COMPLETION)], |b| {
        b.max_body_bytes(16)
    });
    let err = block_on(client.chat(&seed())).unwrap_err();
    assert!(
        err.to_string()
            .contains("larger than the limit of 16 bytes"),
        "{err}"
    );
}

#[test]
fn a_raw_path_cannot_move_the_request_to_another_host() {
    for path in ["@evil.example/x", "v1/x", ".evil.example/x"] {
        let (client, transport) = setup(vec![]);
        let err = block_on(client.post_raw(path, &serde_json::json!({}))).unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains("must start with `/`")),
            "{path}: {err}"
        );
        assert!(
            transport.requests().is_empty(),
            "{path}: a request was sent"
        );
    }
}

#[test]
fn a_raw_event_stream_cut_short_counts_the_events_it_delivered() {
    use futures_util::StreamExt;
    let (client, _) = setup(vec![CannedReply::sse(
        "data: one\n\ndata: two\n\ndata: thr",
    )]);
    let items: Vec<_> = block_on(async {
        let stream = client
            .post_stream_raw("/chat/completion", &serde_json::json!({}))
            .await
            .unwrap();
        stream.collect().await
    });
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().data, "one");
    assert_eq!(items[1].as_ref().unwrap().data, "two");
    assert!(
        matches!(
            &items[2],
            Err(Error::Stream(cygnet_core::StreamError::Incomplete {
                chunks: 2
            }))
        ),
        "{:?}",
        items[2]
    );
}

#[test]
fn a_long_inherited_event_id_is_shared_by_the_events_not_copied_into_each() {
    use futures_util::StreamExt;
    use std::sync::Arc;
    const EVENTS: usize = 20_000;
    // Just under the default event limit: one id line, then many tiny events inheriting it.
    let id = "7".repeat(15 * 1024 * 1024);
    let mut body = format!("id: {id}\n");
    body.push_str(&"data: d\n\n".repeat(EVENTS));
    let (client, _) = setup(vec![CannedReply::sse(body)]);
    let (events, shared) = cygnet_test_support::bounded_thread(move || {
        block_on(async move {
            let mut stream = client
                .post_stream_raw("/chat/completion", &serde_json::json!({}))
                .await
                .unwrap();
            let first = stream.next().await.unwrap().unwrap();
            let first_id = first.id.clone().expect("the first event has the id");
            assert_eq!(*first_id, *id);
            let (mut events, mut shared) = (1, true);
            while let Some(event) = stream.next().await {
                let event = event.unwrap();
                assert_eq!(event.data, "d");
                shared &= event.id.is_some_and(|each| Arc::ptr_eq(&each, &first_id));
                events += 1;
            }
            (events, shared)
        })
    });
    assert_eq!(events, EVENTS);
    assert!(shared, "every event holds the one id, not a copy of it");
}
