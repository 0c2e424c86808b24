//! Cygnal's protected completions, through cygnet-hyper on loopback and on the mock: the exact
//! request (path, both keys, the control headers, the body), OpenAI's superset in answers, a
//! tool loop, a blocked answer whole and streamed, the `include_usage` chunk, the blocking
//! twin, record and replay, and neither key in `Debug`, errors or cassettes. Cygnet's own
//! request stays as it was (the wire tests guard the seed's bytes).

use cygnet::cygnal::{CygnalControls, ProviderKey};
use cygnet::mock::{Cassette, MockReply, MockTransport, RecordMode, MOCK_API_KEY};
use cygnet::{
    ChatCompletion, CygnalRequest, Error, FinishReason, Message, ReasoningMode, RequestOptions,
    ResponseFormat, Stop, Threshold, Tool, ToolCall, ToolChoice,
};
use serde_json::{json, Value};
use tests::{
    bounded, completion_json, fresh_dir, hyper_client, official_body, seed_request, LoopbackServer,
    Reply, FAKE_KEY,
};

/// The provider's key in these tests: fake, and unlike the Gray Swan key.
const PROVIDER_KEY: &str = "sk-proj-provider-fake";
const REFUSAL: &str = "Sorry, I can't help with that.";

fn provider_key() -> ProviderKey {
    ProviderKey::new(PROVIDER_KEY).unwrap()
}

/// A completion as OpenAI answers today, fields this crate does not name included.
fn openai_completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-openai", "object": "chat.completion", "created": 1_760_000_000,
        "model": "gpt-5-2025-08-07", "service_tier": "default", "system_fingerprint": null,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": null,
                        "annotations": [], "audio": null},
            "logprobs": null, "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
        }
    })
}

/// One event of an OpenAI stream, with the fields OpenAI adds.
fn openai_event(delta: Value, finish_reason: Value) -> String {
    let chunk = json!({
        "id": "chatcmpl-openai", "object": "chat.completion.chunk", "created": 1_760_000_000,
        "model": "gpt-5-2025-08-07", "service_tier": "default", "system_fingerprint": null,
        "obfuscation": "x1",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]
    });
    format!("data: {chunk}\n\n")
}

/// The usage chunk `include_usage` ends a stream with: no choices.
fn usage_event() -> String {
    let chunk = json!({
        "id": "chatcmpl-openai", "object": "chat.completion.chunk", "created": 1_760_000_000,
        "model": "gpt-5-2025-08-07", "choices": [],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15,
                  "completion_tokens_details": {"reasoning_tokens": 0}}
    });
    format!("data: {chunk}\n\n")
}

fn controls() -> CygnalControls {
    CygnalControls::new()
        .category("no-finance", "Never give financial advice")
        .category("no_medical", "No medical diagnoses")
        .pre_violation(Threshold::new(0.3).unwrap())
        .pre_jailbreak(Threshold::new(0.4).unwrap())
        .post_violation(Threshold::new(0.6).unwrap())
        .post_violation_jb(Threshold::new(0.7).unwrap())
        .reasoning_mode(ReasoningMode::Hybrid)
        .policy_id("pol_header")
}

#[tokio::test]
async fn a_guarded_request_is_exactly_what_the_contract_says() {
    let mut server = LoopbackServer::start(Reply::json(200, &openai_completion("Hi!"))).await;
    let client = hyper_client(server.base_url()).build().unwrap();
    let guarded = client
        .cygnal(provider_key())
        .with_controls(controls())
        .unwrap();
    let request = CygnalRequest::new(
        "gpt-5",
        vec![Message::system("Be brief."), Message::user("Hello")],
    )
    .max_completion_tokens(100)
    .stop(Stop::from(vec!["\n\n"]))
    .seed(42)
    .response_format(ResponseFormat::text())
    .user("user-7")
    .parallel_tool_calls(false)
    .presence_penalty(0.5)
    .logit_bias([("50256".to_owned(), -100)].into())
    .policy_id("pol_body")
    .monitor_details(true)
    .moderate_before(true);
    let completion = bounded("cygnal chat", guarded.chat(&request))
        .await
        .unwrap();
    assert_eq!(completion.content(), Some("Hi!"));
    assert_eq!(completion.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(completion.usage.unwrap().total_tokens, 29);
    assert!(!completion.is_blocked());

    let received = server.next_request().await;
    assert_eq!(received.method(), "POST");
    assert_eq!(received.path(), "/cygnal/chat/completions");
    // The provider's key in Authorization (Cygnal hands it on); Gray Swan's in its own header.
    let bearer = format!("Bearer {PROVIDER_KEY}");
    assert_eq!(received.header("authorization"), Some(bearer.as_str()));
    assert_eq!(received.header("grayswan-api-key"), Some(FAKE_KEY));
    assert_eq!(received.header("content-type"), Some("application/json"));
    assert_eq!(received.header("accept"), Some("application/json"));
    assert!(received
        .header("user-agent")
        .unwrap()
        .starts_with("cygnet-rust/"));
    for (name, value) in [
        ("category-no-finance", "Never give financial advice"),
        ("category-no_medical", "No medical diagnoses"),
        ("pre-violation", "0.3"),
        ("pre-jailbreak", "0.4"),
        ("post-violation", "0.6"),
        ("post-violation-jb", "0.7"),
        ("reasoning-mode", "hybrid"),
        ("policy-id", "pol_header"),
    ] {
        assert_eq!(received.header(name), Some(value), "{name}");
    }
    let mut names: Vec<&str> = received.headers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "accept",
            "authorization",
            "category-no-finance",
            "category-no_medical",
            "content-length",
            "content-type",
            "grayswan-api-key",
            "host",
            "policy-id",
            "post-violation",
            "post-violation-jb",
            "pre-jailbreak",
            "pre-violation",
            "reasoning-mode",
            "user-agent",
        ]
    );
    assert_eq!(
        String::from_utf8(received.body.clone()).unwrap(),
        concat!(
            r#"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}],"#,
            r#""model":"gpt-5","logit_bias":{"50256":-100},"max_completion_tokens":100,"#,
            r#""parallel_tool_calls":false,"presence_penalty":0.5,"response_format":{"type":"text"},"#,
            r#""seed":42,"stop":["\n\n"],"user":"user-7","policy_id":"pol_body","#,
            r#""monitor_details":true,"moderate_before":true}"#
        )
    );
}

#[tokio::test]
async fn a_guarded_stream_sends_stream_true_and_its_usage_chunk_reaches_the_accumulator() {
    let body = openai_event(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    ) + &openai_event(json!({"content": "Hel"}), Value::Null)
        + &openai_event(json!({"content": "lo"}), Value::Null)
        + &openai_event(json!({}), json!("stop"))
        + &usage_event()
        + "data: [DONE]\n\n";
    let mut server = LoopbackServer::start(Reply::sse_held(body, "")).await;
    server.release();
    let client = hyper_client(server.base_url()).build().unwrap();
    let guarded = client.cygnal(provider_key());
    let request = CygnalRequest::new("gpt-5", vec![Message::user("Hi")]).include_usage();
    let stream = bounded("open", guarded.chat_stream(&request))
        .await
        .unwrap();
    let completion = bounded("collect", stream.collect_completion())
        .await
        .unwrap();
    assert_eq!(completion.content(), Some("Hello"));
    assert_eq!(completion.finish_reason(), Some(&FinishReason::Stop));
    let usage = completion
        .usage
        .expect("the usage chunk reached the accumulator");
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (12, 3, 15)
    );
    assert!(!completion.is_blocked());

    let received = server.next_request().await;
    assert_eq!(received.path(), "/cygnal/chat/completions");
    let bearer = format!("Bearer {PROVIDER_KEY}");
    assert_eq!(received.header("authorization"), Some(bearer.as_str()));
    assert_eq!(received.header("grayswan-api-key"), Some(FAKE_KEY));
    assert_eq!(
        String::from_utf8(received.body.clone()).unwrap(),
        r#"{"messages":[{"role":"user","content":"Hi"}],"model":"gpt-5","stream":true,"stream_options":{"include_usage":true}}"#
    );
}

#[tokio::test]
async fn a_tool_loop_runs_through_cygnal() {
    let call = ToolCall::function("call_1", "get_weather", r#"{"location":"Ohio"}"#);
    let mut tool_answer = openai_completion("");
    tool_answer["choices"][0]["message"] = json!({
        "role": "assistant", "content": null, "refusal": null,
        "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": r#"{"location":"Ohio"}"#}}]
    });
    tool_answer["choices"][0]["finish_reason"] = json!("tool_calls");
    let mut server = LoopbackServer::start_sequence(vec![
        Reply::json(200, &tool_answer),
        Reply::json(200, &openai_completion("Sunny in Ohio.")),
    ])
    .await;
    let client = hyper_client(server.base_url()).build().unwrap();
    let guarded = client.cygnal(provider_key());
    let weather = Tool::function(
        "get_weather",
        "Current weather",
        json!({"type": "object", "properties": {"location": {"type": "string"}}}),
    );
    let mut messages = vec![Message::user("Weather in Ohio?")];
    let request = CygnalRequest::new("gpt-5", messages.clone())
        .tools(vec![weather.clone()])
        .tool_choice(ToolChoice::Auto)
        .parallel_tool_calls(false);
    let first = bounded("first turn", guarded.chat(&request)).await.unwrap();
    assert_eq!(first.finish_reason(), Some(&FinishReason::ToolCalls));
    assert_eq!(first.tool_calls(), [call]);

    messages.push(Message::assistant_tool_calls(first.tool_calls().to_vec()));
    messages.push(Message::tool("call_1", r#"{"sky":"sunny"}"#));
    let request = CygnalRequest::new("gpt-5", messages).tools(vec![weather]);
    let second = bounded("second turn", guarded.chat(&request))
        .await
        .unwrap();
    assert_eq!(second.content(), Some("Sunny in Ohio."));

    let first_sent = server.next_request().await.json();
    assert_eq!(first_sent["tool_choice"], "auto");
    assert_eq!(first_sent["tools"][0]["function"]["name"], "get_weather");
    let second_sent = server.next_request().await;
    assert_eq!(second_sent.path(), "/cygnal/chat/completions");
    let messages = &second_sent.json()["messages"];
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
            "type": "function", "function": {"name": "get_weather",
            "arguments": r#"{"location":"Ohio"}"#}}]})
    );
    assert_eq!(
        messages[2],
        json!({"role": "tool", "content": r#"{"sky":"sunny"}"#, "tool_call_id": "call_1"})
    );
}

/// A stream Cygnal cuts: "Step one: " arrives, then the violation chunk.
fn cut_stream() -> String {
    openai_event(
        json!({"role": "assistant", "content": "Step one: "}),
        Value::Null,
    ) + &openai_event(
        json!({"content": REFUSAL, "refusal": REFUSAL}),
        json!("violation"),
    ) + "data: [DONE]\n\n"
}

#[tokio::test]
async fn a_cut_stream_ends_blocked_with_its_text_so_far_delivered() {
    let server = LoopbackServer::start(Reply::sse_held(cut_stream(), "")).await;
    server.release();
    let client = hyper_client(server.base_url()).build().unwrap();
    let guarded = client.cygnal(provider_key());
    let request = CygnalRequest::new("gpt-5", vec![Message::user("How do I pick a lock?")]);

    // Chunk by chunk: the text so far is delivered, the last chunk says it is blocked.
    let mut stream = bounded("open", guarded.chat_stream(&request))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while let Some(chunk) = bounded("chunk", stream.next_chunk()).await {
        let chunk = chunk.unwrap();
        seen.push((chunk.content().map(str::to_owned), chunk.is_blocked()));
    }
    assert_eq!(
        seen,
        [
            (Some("Step one: ".to_owned()), false),
            (Some(REFUSAL.to_owned()), true)
        ]
    );

    // Accumulated: blocked, the refusal apart from the content.
    let stream = guarded.chat_stream(&request).await.unwrap().accumulate();
    let completion = bounded("collect", stream.collect_completion())
        .await
        .unwrap();
    let blocked = completion.blocked().expect("blocked");
    assert_eq!(blocked.refusal(), Some(REFUSAL));
    assert_eq!(completion.finish_reason(), Some(&FinishReason::Violation));
    assert_eq!(
        completion.content(),
        Some(format!("Step one: {REFUSAL}").as_str())
    );

    // As text alone it could not say so: collecting it is Error::Blocked.
    let text = guarded.chat_stream(&request).await.unwrap().text();
    let error = bounded("text", text.collect_text()).await.unwrap_err();
    assert_eq!(error.as_blocked().unwrap().refusal(), Some(REFUSAL));
}

#[tokio::test]
async fn a_blocked_whole_answer_is_unmistakable() {
    let mut blocked = openai_completion(REFUSAL);
    blocked["choices"][0]["finish_reason"] = json!("violation");
    blocked["choices"][0]["message"]["refusal"] = json!(REFUSAL);
    let server = LoopbackServer::start(Reply::json(200, &blocked)).await;
    let client = hyper_client(server.base_url()).build().unwrap();
    let guarded = client.cygnal(provider_key());
    let request = CygnalRequest::new("gpt-5", vec![Message::user("Something bad")]);
    let completion = bounded("chat", guarded.chat(&request)).await.unwrap();
    cygnet_test_support::assert_blocked_completion(&completion, REFUSAL);
    let error = guarded
        .chat(&request)
        .await
        .and_then(|c| Ok(c.into_unblocked()?))
        .unwrap_err();
    assert!(matches!(error, Error::Blocked(_)), "{error:?}");
}

#[tokio::test]
async fn both_keys_stay_out_of_errors_and_debug_when_the_server_echoes_them() {
    let echo = json!({
        "error": true,
        "message": format!("provider rejected Bearer {PROVIDER_KEY} for {FAKE_KEY}"),
        "detail": format!("key {PROVIDER_KEY}"),
        "error_code": "upstream_error",
        "details": {"authorization": format!("Bearer {PROVIDER_KEY}"), "grayswan": FAKE_KEY}
    });
    let server = LoopbackServer::start(Reply::json(502, &echo)).await;
    let client = hyper_client(server.base_url()).build().unwrap();
    let guarded = client
        .cygnal(provider_key())
        .with_options(RequestOptions::new().max_retries(0));
    let request = CygnalRequest::new("gpt-5", vec![Message::user("Hi")]);
    let error = bounded("chat", guarded.chat(&request)).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(502));
    let api = error.as_api().unwrap();
    assert_eq!(api.code(), Some("upstream_error"));
    let shown = format!(
        "{error} {error:?} {} {guarded:?} {client:?} {:?}",
        String::from_utf8_lossy(&api.body),
        provider_key()
    );
    assert!(shown.contains("provider rejected *** for ***"), "{shown}");
    assert!(
        !shown.contains(PROVIDER_KEY),
        "provider key leaked: {shown}"
    );
    assert!(!shown.contains(FAKE_KEY), "Gray Swan key leaked: {shown}");

    // The stream's error too.
    let error = bounded("stream", guarded.chat_stream(&request))
        .await
        .unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(
        !shown.contains(PROVIDER_KEY) && !shown.contains(FAKE_KEY),
        "{shown}"
    );
}

#[tokio::test]
async fn a_cygnet_call_on_the_same_client_is_unchanged() {
    let mut server = LoopbackServer::start(Reply::json(200, &completion_json("Hi"))).await;
    let client = hyper_client(server.base_url()).build().unwrap();
    let _guarded = client.cygnal(provider_key());
    bounded("chat", client.chat(&seed_request())).await.unwrap();
    let received = server.next_request().await;
    received.assert_cygnet_request("/chat/completion");
    assert_eq!(received.header("grayswan-api-key"), None);
    assert_eq!(received.json(), official_body(false));
}

#[test]
fn bad_keys_and_controls_are_config_errors_before_anything_is_sent() {
    let unset = "CYGNET_TEST_CYGNAL_KEY_THAT_IS_NEVER_SET";
    let error = ProviderKey::from_env_var(unset).unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    assert!(error.to_string().contains(unset), "{error}");

    for key in [
        "",
        "   ",
        "sk-with space-fake",
        "sk-\u{e9}-fake",
        "sk-\n-fake",
    ] {
        let error = ProviderKey::new(key).unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{key:?}: {error:?}");
        if key.trim().len() > 3 {
            assert!(!error.to_string().contains(key.trim()), "{error}");
        }
    }

    let mock = MockTransport::new();
    let guarded = mock.cygnal();
    for controls in [
        CygnalControls::new().category("", "empty name"),
        CygnalControls::new().category("has space", "d"),
        CygnalControls::new().category("ok", "line\nbreak"),
        CygnalControls::new().category("ok", "caf\u{e9}"),
        CygnalControls::new().policy_id("pol\r\n"),
    ] {
        let error = guarded.with_controls(controls.clone()).unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{controls:?}: {error:?}");
    }
    assert_eq!(mock.request_count(), 0);
}

#[test]
fn on_the_mock_a_cygnal_reply_is_one_line_and_both_keys_arrive() {
    let mock = MockTransport::conversation([
        MockReply::text("Hello from gpt-5"),
        MockReply::stream_blocked(["Step one: "], REFUSAL).with_usage(20, 4),
        MockReply::blocked(REFUSAL),
    ]);
    let guarded = mock.cygnal();
    let request = CygnalRequest::new("gpt-5", vec![Message::user("Hi")]);
    futures_executor::block_on(async {
        let completion = guarded.chat(&request).await.unwrap();
        assert_eq!(completion.content(), Some("Hello from gpt-5"));
        let streamed = guarded
            .chat_stream(&request.clone().include_usage())
            .await
            .unwrap()
            .collect_completion()
            .await
            .unwrap();
        assert_eq!(streamed.blocked().unwrap().refusal(), Some(REFUSAL));
        assert_eq!(streamed.usage.unwrap().total_tokens, 24);
        assert!(guarded.chat(&request).await.unwrap().is_blocked());
    });
    for sent in mock.requests() {
        assert_eq!(sent.path(), "/cygnal/chat/completions");
        assert_eq!(sent.provider_key(), Some(cygnet::mock::MOCK_PROVIDER_KEY));
        assert_eq!(sent.grayswan_key(), Some(MOCK_API_KEY));
    }
    assert_eq!(mock.requests()[1].json()["stream"], true);
    mock.assert_all_consumed();
}

#[test]
fn a_recorded_cygnal_conversation_replays_and_its_cassette_holds_neither_key() {
    let path = fresh_dir(env!("CARGO_TARGET_TMPDIR"), "cygnal-cassette").join("cygnal.json");
    // The "real" server echoes both keys back, in a whole answer and in a stream.
    let echo = format!("you sent {PROVIDER_KEY} and {FAKE_KEY}");
    let real = || {
        MockTransport::conversation([
            MockReply::text(echo.clone()),
            MockReply::stream_text([echo.clone()]).with_usage(5, 5),
        ])
    };
    let request = CygnalRequest::new("gpt-5", vec![Message::user("Hi")]);
    let mut answers: Vec<(ChatCompletion, ChatCompletion)> = Vec::new();
    for mode in [RecordMode::Always, RecordMode::Never] {
        let transport = Cassette::new(&path).mode(mode).transport(real).unwrap();
        let client = cygnet::ClientBuilder::new()
            .api_key(FAKE_KEY)
            .transport(transport.clone())
            .build()
            .unwrap();
        let guarded = client.cygnal(provider_key());
        answers.push(futures_executor::block_on(async {
            let whole = guarded.chat(&request).await.unwrap();
            let streamed = guarded
                .chat_stream(&request)
                .await
                .unwrap()
                .collect_completion()
                .await
                .unwrap();
            (whole, streamed)
        }));
        transport.finish().unwrap();
    }
    // The replay gives what was recorded, the echoed keys redacted.
    let redacted = "you sent <redacted> and <redacted>";
    for (whole, streamed) in &answers[1..] {
        assert_eq!(whole.content(), Some(redacted));
        assert_eq!(streamed.content(), Some(redacted));
        assert_eq!(streamed.usage, answers[0].1.usage);
        assert_eq!(streamed.usage.unwrap().total_tokens, 10);
    }
    let cassette = std::fs::read_to_string(&path).unwrap();
    assert!(cassette.contains("/cygnal/chat/completions"), "{cassette}");
    assert!(
        !cassette.contains(PROVIDER_KEY),
        "provider key written:\n{cassette}"
    );
    assert!(
        !cassette.contains(FAKE_KEY),
        "Gray Swan key written:\n{cassette}"
    );
}

#[test]
fn the_blocking_client_goes_through_cygnal_too() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut server = runtime.block_on(LoopbackServer::start_sequence(vec![
        Reply::json(200, &openai_completion("Hi!")),
        Reply::sse_held(cut_stream(), ""),
    ]));
    server.release();
    let client =
        cygnet::blocking::Client::new(hyper_client(server.base_url()).build().unwrap()).unwrap();
    let guarded = client
        .cygnal(provider_key())
        .with_controls(CygnalControls::new().policy_id("pol_1"))
        .unwrap();
    assert!(!format!("{guarded:?}").contains(PROVIDER_KEY));
    let request = CygnalRequest::new("gpt-5", vec![Message::user("Hi")]);
    assert_eq!(guarded.chat(&request).unwrap().content(), Some("Hi!"));
    let chunks: Vec<_> = guarded
        .chat_stream(&request)
        .unwrap()
        .map(|chunk| chunk.unwrap().is_blocked())
        .collect();
    assert_eq!(chunks, [false, true]);
    for _ in 0..2 {
        let received = runtime.block_on(server.next_request());
        assert_eq!(received.path(), "/cygnal/chat/completions");
        let bearer = format!("Bearer {PROVIDER_KEY}");
        assert_eq!(received.header("authorization"), Some(bearer.as_str()));
        assert_eq!(received.header("grayswan-api-key"), Some(FAKE_KEY));
        assert_eq!(received.header("policy-id"), Some("pol_1"));
    }
}

#[tokio::test]
async fn a_guarded_request_goes_through_an_http_proxy_with_both_keys() {
    // The loopback server plays the proxy: an http:// request reaches it in absolute form.
    let mut proxy = LoopbackServer::start(Reply::json(200, &openai_completion("via proxy"))).await;
    let transport = cygnet::HyperTransport::builder()
        .proxy(proxy.base_url())
        .build()
        .unwrap();
    let client = cygnet::ClientBuilder::new()
        .api_key(FAKE_KEY)
        .base_url("http://cygnal.invalid")
        .allow_insecure_http(true)
        .transport(transport)
        .build()
        .unwrap();
    let guarded = client.cygnal(provider_key());
    let request = CygnalRequest::new("gpt-5", vec![Message::user("Hi")]);
    let completion = bounded("via proxy", guarded.chat(&request)).await.unwrap();
    assert_eq!(completion.content(), Some("via proxy"));
    let received = proxy.next_request().await;
    assert_eq!(
        received.path(),
        "http://cygnal.invalid/cygnal/chat/completions"
    );
    let bearer = format!("Bearer {PROVIDER_KEY}");
    assert_eq!(received.header("authorization"), Some(bearer.as_str()));
    assert_eq!(received.header("grayswan-api-key"), Some(FAKE_KEY));
    assert_eq!(received.header("proxy-authorization"), None);
}

#[test]
fn a_cygnal_answer_that_is_not_a_completion_fails_closed() {
    let mock = MockTransport::conversation([
        MockReply::json(200, json!({"id": "x", "object": "chat.completion"})),
        MockReply::json(
            200,
            json!({"error": true, "message": "quota", "error_code": "q"}),
        ),
        MockReply::sse_events([r#"{"id":"x","object":"chat.completion.chunk"}"#]),
    ]);
    let guarded = mock
        .cygnal()
        .with_options(RequestOptions::new().max_retries(0));
    let request = CygnalRequest::new("gpt-5", vec![Message::user("Hi")]);
    futures_executor::block_on(async {
        let error = guarded.chat(&request).await.unwrap_err();
        assert!(
            matches!(&error, Error::Decode(e) if cygnet::error::Report::new(e).to_string().contains("choices")),
            "{error:?}"
        );
        let error = guarded.chat(&request).await.unwrap_err();
        assert_eq!(
            error.as_api().and_then(|e| e.code()),
            Some("q"),
            "{error:?}"
        );
        let mut stream = guarded.chat_stream(&request).await.unwrap();
        let first = stream.next_chunk().await.expect("an item");
        assert!(
            first.is_err(),
            "a chunk without choices is an error: {first:?}"
        );
    });
}
