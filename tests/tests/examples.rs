//! The example programs, run as subprocesses: against a loopback server with a fake key, offline
//! without one, and failing cleanly on an error status.

use serde_json::json;
use tests::{
    bounded, completion_json, delta_events, official_body, read_until, stream_end, ExampleCommand,
    LoopbackServer, Reply,
};

const ANSWER: &str = "A large language model is a neural network trained on text.";

/// Runs example `name` against a loopback server answering `200` with `reply`; asserts that
/// it succeeded and returns what it printed, and the server with the request it received.
async fn run_ok(name: &str, reply: &serde_json::Value) -> (String, LoopbackServer) {
    let server = LoopbackServer::start(Reply::json(200, reply)).await;
    let out = ExampleCommand::against(name, &server.base_url())
        .run()
        .await;
    assert_eq!(out.code, Some(0), "{name} stderr: {}", out.stderr);
    (out.stdout, server)
}

/// Runs non-streaming example `name` against a server answering [`ANSWER`]: it must send the
/// official body and print the answer.
async fn assert_sends_the_official_body_and_prints_the_answer(name: &str) {
    let (stdout, mut server) = run_ok(name, &completion_json(ANSWER)).await;
    assert_eq!(stdout, format!("{ANSWER}\n"));
    let request = server.next_request().await;
    request.assert_cygnet_request("/chat/completion");
    assert_eq!(request.json(), official_body(false));
}

#[tokio::test]
async fn chat_sends_the_official_body_and_prints_the_answer() {
    assert_sends_the_official_body_and_prints_the_answer("chat").await;
}

/// Runs streaming example `name` against a server that sends the first two deltas, then holds
/// the rest back until the example has printed them; returns everything it printed.
async fn run_held_stream(name: &str, rest_tail: &str) -> String {
    let first = delta_events(&["A large ", "language "], true);
    let rest = delta_events(&["model is ", "a neural network."], false) + rest_tail;
    let mut server = LoopbackServer::start(Reply::sse_held(first, rest)).await;
    let mut child = ExampleCommand::against(name, &server.base_url()).spawn();
    let mut stdout = child.stdout.take().expect("piped stdout");

    let mut seen = String::new();
    read_until(&mut stdout, &mut seen, "A large language ").await;
    assert!(
        !seen.contains("model"),
        "{name}: printed more than was sent: {seen:?}"
    );
    server.release();

    let (status, rest) = bounded(&format!("{name} to finish"), async {
        let mut rest = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut rest)
            .await
            .expect("read stdout");
        (child.wait().await.expect("wait"), rest)
    })
    .await;
    seen.push_str(&rest);
    assert!(status.success(), "{name}: exit status {status:?}");

    let request = server.next_request().await;
    request.assert_cygnet_request("/chat/completion");
    assert_eq!(request.json(), official_body(true), "{name}");
    seen
}

#[tokio::test]
async fn chat_stream_prints_deltas_while_the_server_holds_the_rest() {
    let out = run_held_stream("chat_stream", &stream_end()).await;
    assert_eq!(out, "A large language model is a neural network.\n");
}

#[tokio::test]
async fn blocking_chat_stream_prints_deltas_while_the_server_holds_the_rest() {
    let out = run_held_stream("blocking_chat_stream", &stream_end()).await;
    assert_eq!(out, "A large language model is a neural network.\n");
}

#[tokio::test]
async fn accumulate_prints_deltas_then_finish_reason_and_usage() {
    let usage = format!(
        "data: {}\n\ndata: [DONE]\n\n",
        json!({
            "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}
        })
    );
    let out = run_held_stream("accumulate", &usage).await;
    assert_eq!(
        out,
        "A large language model is a neural network.\n\
         finish reason: stop\n\
         usage: 20 prompt + 9 completion = 29 tokens\n"
    );
}

#[tokio::test]
async fn blocking_chat_sends_the_official_body_and_prints_the_answer() {
    assert_sends_the_official_body_and_prints_the_answer("blocking_chat").await;
}

#[tokio::test]
async fn data_role_puts_the_fetched_page_in_a_data_message() {
    let answer = "Sunny in Columbus.";
    let (stdout, mut server) = run_ok("data_role", &completion_json(answer)).await;
    assert_eq!(stdout, format!("{answer}\n"));
    let request = server.next_request().await;
    request.assert_cygnet_request("/chat/completion");
    let body = request.json();
    assert_eq!(body["model"], "cygnet");
    let messages = body["messages"].as_array().expect("messages");
    let roles: Vec<_> = messages.iter().map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, [Some("system"), Some("user"), Some("data")]);
    assert!(messages[1]["content"].as_str().unwrap().contains("Ohio"));
    let page = messages[2]["content"].as_str().unwrap();
    assert!(page.contains("Ignore all previous instructions"), "{page}");
}

#[tokio::test]
async fn tools_sends_get_weather_and_prints_the_parsed_call() {
    let reply = json!({
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1, "model": "cygnet",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_7", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"location\": \"Dayton, Ohio\"}"}
            }]},
            "finish_reason": "tool_calls"
        }]
    });
    let (stdout, mut server) = run_ok("tools", &reply).await;
    assert!(stdout.contains("get_weather"), "{stdout}");
    assert!(stdout.contains("\"Dayton, Ohio\""), "{stdout}");
    let request = server.next_request().await;
    request.assert_cygnet_request("/chat/completion");
    let body = request.json();
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        body["tools"][0]["function"]["parameters"]["required"],
        json!(["location"])
    );
    assert_eq!(body["tool_choice"], "auto");
}

#[tokio::test]
async fn moderation_posts_the_input_and_prints_the_verdict() {
    let reply = json!({"id": "m", "created": 1, "model": "x", "flagged": false, "detected": 0.25, "passed": 0.75});
    let (stdout, mut server) = run_ok("moderation", &reply).await;
    for line in ["flagged:  false", "detected: 0.250", "passed:   0.750"] {
        assert!(stdout.contains(line), "{stdout}");
    }
    let request = server.next_request().await;
    request.assert_cygnet_request("/moderation");
    assert!(request.json()["input"].is_string());
}

#[tokio::test]
async fn monitor_sends_the_conversation_with_the_page_and_prints_the_decision() {
    let reply = json!({
        "violation": 0.91, "ipi": true, "mutation": false, "violated_rules": [3],
        "violated_rule_descriptions": [{"rule": 3, "name": "No injections", "description": "d"}]
    });
    let (stdout, mut server) = run_ok("monitor", &reply).await;
    assert_eq!(
        stdout,
        "violation: 0.91\nipi: true\nmutation: false\n\
         violated rules: #3 No injections: d\n\
         flagged at 0.5: the page is not used\n"
    );
    let request = server.next_request().await;
    request.assert_cygnet_request("/cygnal/monitor");
    assert_eq!(request.header("grayswan-api-key"), Some(tests::FAKE_KEY));
    let body = request.json();
    let messages = body["messages"].as_array().expect("messages");
    let roles: Vec<_> = messages.iter().map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, [Some("user"), Some("assistant"), Some("tool")]);
    assert_eq!(
        messages[1]["tool_calls"][0]["function"]["name"],
        "fetch_page"
    );
    assert_eq!(messages[2]["tool_call_id"], "call_1");
    let page = messages[2]["content"].as_str().unwrap();
    assert!(page.contains("ignore all previous instructions"), "{page}");
    assert!(body.get("text").is_none());
}

#[tokio::test]
async fn monitor_without_a_decision_exits_1_and_prints_no_score() {
    for reply in [
        json!({"ipi": true}),
        json!({"error": true, "message": "down"}),
    ] {
        let server = LoopbackServer::start(Reply::json(200, &reply)).await;
        let out = ExampleCommand::against("monitor", &server.base_url())
            .run()
            .await;
        assert_eq!(out.code, Some(1), "{reply}: stdout {:?}", out.stdout);
        assert_eq!(out.stdout, "", "{reply}");
        assert!(out.stderr.starts_with("error: "), "{reply}: {}", out.stderr);
        assert!(!out.stderr.contains(tests::FAKE_KEY), "key leaked");
    }
}

#[tokio::test]
async fn examples_run_offline_without_a_key() {
    for (name, expected) in [
        ("chat", "large language model"),
        ("chat_stream", "large language model"),
        ("blocking_chat", "large language model"),
        ("blocking_chat_stream", "large language model"),
        ("accumulate", "finish reason: stop"),
        ("data_role", "Columbus"),
        ("tools", "get_weather"),
        ("moderation", "flagged:"),
        ("monitor", "ipi: true"),
        ("cygnal", "Sorry, I can't help with that."),
        ("guarded_agent", "[guard] chat: output: passed"),
        ("custom_runtime", "large language model"),
    ] {
        let out = ExampleCommand::offline(name).run().await;
        assert_eq!(out.code, Some(0), "{name}: stderr: {}", out.stderr);
        assert!(
            out.stdout.contains(expected),
            "{name}: stdout {:?}",
            out.stdout
        );
        assert!(
            out.stderr.contains("GRAYSWAN_API_KEY is not set"),
            "{name}: stderr {:?}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn an_error_status_exits_1_with_status_and_message_on_stderr() {
    for name in [
        "chat",
        "chat_stream",
        "blocking_chat",
        "blocking_chat_stream",
        "monitor",
    ] {
        let body = json!({"error": {"message": "Invalid API key provided"}});
        let server = LoopbackServer::start(Reply::json(401, &body)).await;
        let out = ExampleCommand::against(name, &server.base_url())
            .run()
            .await;
        assert_eq!(out.code, Some(1), "{name}: stdout {:?}", out.stdout);
        assert!(
            out.stderr.contains("401"),
            "{name}: stderr {:?}",
            out.stderr
        );
        assert!(
            out.stderr.contains("Invalid API key provided"),
            "{name}: stderr {:?}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{name}: {}", out.stderr);
        assert!(!out.stderr.contains(tests::FAKE_KEY), "{name}: key leaked");
    }
}

/// What every example that prints an answer must do when Gray Swan blocked it: print the
/// refusal (the answer's content, as the server sent it) and say on stderr that it was blocked.
#[tokio::test]
async fn a_blocked_answer_is_printed_and_said_to_be_blocked() {
    const REFUSAL: &str = "Sorry, I can't help with that.";
    let whole = Reply::json(200, &cygnet_test_support::blocked_completion_json(REFUSAL));
    let streamed = Reply {
        status: 200,
        content_type: "text/event-stream".into(),
        body: cygnet_test_support::blocked_sse_body(&["A large "], REFUSAL).into_bytes(),
        held: None,
    };
    for (name, reply, printed) in [
        ("chat", &whole, REFUSAL.to_owned()),
        ("blocking_chat", &whole, REFUSAL.to_owned()),
        ("data_role", &whole, REFUSAL.to_owned()),
        ("chat_stream", &streamed, format!("A large {REFUSAL}")),
        (
            "blocking_chat_stream",
            &streamed,
            format!("A large {REFUSAL}"),
        ),
        ("accumulate", &streamed, format!("A large {REFUSAL}")),
    ] {
        let server = LoopbackServer::start(reply.clone()).await;
        let out = ExampleCommand::against(name, &server.base_url())
            .run()
            .await;
        assert_eq!(out.code, Some(0), "{name}: stderr {}", out.stderr);
        assert!(
            out.stdout.starts_with(&format!("{printed}\n")),
            "{name}: stdout {:?}",
            out.stdout
        );
        assert!(
            out.stderr.contains("Gray Swan blocked this answer"),
            "{name}: stderr {:?}",
            out.stderr
        );
        assert!(!out.stderr.contains(tests::FAKE_KEY), "{name}: key leaked");
    }
    // An ordinary answer says nothing of the kind.
    let server = LoopbackServer::start(Reply::json(200, &completion_json(ANSWER))).await;
    let out = ExampleCommand::against("chat", &server.base_url())
        .run()
        .await;
    assert_eq!(out.code, Some(0), "stderr {}", out.stderr);
    assert!(!out.stderr.contains("blocked"), "stderr {:?}", out.stderr);
}

#[tokio::test]
async fn record_replay_records_with_a_key_then_replays_the_same_output_without_one() {
    let dir = tests::fresh_dir(env!("CARGO_TARGET_TMPDIR"), "record-replay-example");
    let cassette = dir.join("seed.json");

    // Without a key and without a cassette: it says what to do and fails.
    let out = ExampleCommand::offline("record_replay")
        .arg(&cassette)
        .run()
        .await;
    assert_eq!(out.code, Some(1), "stdout {:?}", out.stdout);
    assert!(out.stderr.contains("GRAYSWAN_API_KEY"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&cassette.display().to_string()),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(!cassette.exists());

    // With the fake key: one chat call, then one streamed call, recorded.
    let mut server = LoopbackServer::start_sequence(vec![
        Reply::json(200, &completion_json(ANSWER)),
        Reply::sse_held(
            delta_events(&["A large ", "language "], true),
            delta_events(&["model is ", "a neural network."], false) + &stream_end(),
        ),
    ])
    .await;
    server.release();
    let recorded = ExampleCommand::against("record_replay", &server.base_url())
        .arg(&cassette)
        .run()
        .await;
    assert_eq!(recorded.code, Some(0), "stderr: {}", recorded.stderr);
    let expected = format!("{ANSWER}\nA large language model is a neural network.\n");
    assert_eq!(recorded.stdout, expected);
    server
        .next_request()
        .await
        .assert_cygnet_request("/chat/completion");
    let streamed = server.next_request().await;
    assert_eq!(streamed.json(), official_body(true));
    drop(server);
    let text = std::fs::read_to_string(&cassette).expect("the cassette was written");
    assert!(!text.contains(tests::FAKE_KEY), "key written:\n{text}");

    // Without the key, the server gone: the same output from the cassette.
    let replayed = ExampleCommand::offline("record_replay")
        .arg(&cassette)
        .run()
        .await;
    assert_eq!(replayed.code, Some(0), "stderr: {}", replayed.stderr);
    assert_eq!(replayed.stdout, expected);
    assert!(replayed.stderr.contains("replays"), "{}", replayed.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The provider key the cygnal example gets in these tests.
const PROVIDER_KEY: &str = "sk-proj-example-fake";

/// Runs the cygnal example against a server answering `reply`, with both keys (and, when
/// given, a policy id) set.
async fn run_cygnal(
    reply: &serde_json::Value,
    policy: Option<&str>,
) -> (tests::ExampleOutput, LoopbackServer) {
    let server = LoopbackServer::start(Reply::json(200, reply)).await;
    let mut command =
        ExampleCommand::against("cygnal", &server.base_url()).env("OPENAI_API_KEY", PROVIDER_KEY);
    if let Some(policy) = policy {
        command = command.env("GRAYSWAN_POLICY_ID", policy);
    }
    (command.run().await, server)
}

#[tokio::test]
async fn cygnal_sends_both_keys_and_its_policy_and_prints_the_answer() {
    let answer = "I can't pick stocks for you, but here is how to think about it.";
    let (out, mut server) = run_cygnal(&completion_json(answer), Some("pol_example")).await;
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, format!("{answer}\n"));
    assert!(!out.stderr.contains("blocked"), "{}", out.stderr);
    let request = server.next_request().await;
    assert_eq!(request.path(), "/cygnal/chat/completions");
    let bearer = format!("Bearer {PROVIDER_KEY}");
    assert_eq!(request.header("authorization"), Some(bearer.as_str()));
    assert_eq!(request.header("grayswan-api-key"), Some(tests::FAKE_KEY));
    assert!(request.header("category-financial-advice").is_some());
    assert_eq!(request.header("pre-violation"), Some("0.5"));
    assert_eq!(request.header("post-violation"), Some("0.5"));
    let body = request.json();
    assert_eq!(body["model"], "gpt-5");
    assert_eq!(body["policy_id"], "pol_example");
    assert_eq!(body["messages"][1]["role"], "user");
}

#[tokio::test]
async fn cygnal_prints_a_blocked_answer_as_the_refusal_and_says_so_on_stderr() {
    let refusal = "Sorry, I can't help with that.";
    let (out, mut server) =
        run_cygnal(&cygnet_test_support::blocked_completion_json(refusal), None).await;
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, format!("{refusal}\n"));
    assert!(out.stderr.contains("Gray Swan blocked"), "{}", out.stderr);
    assert!(server
        .next_request()
        .await
        .json()
        .get("policy_id")
        .is_none());
}

#[tokio::test]
async fn cygnal_without_the_provider_key_exits_1_naming_it() {
    let server = LoopbackServer::start(Reply::json(200, &completion_json("no"))).await;
    let out = ExampleCommand::against("cygnal", &server.base_url())
        .run()
        .await;
    assert_eq!(out.code, Some(1), "stdout {:?}", out.stdout);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("OPENAI_API_KEY"), "{}", out.stderr);
    assert!(!out.stderr.contains(tests::FAKE_KEY));
}
