//! The example programs, run as subprocesses: against a loopback server with a fake key, offline
//! without one, and failing cleanly on an error status.

use serde_json::json;
use tests::{
    bounded, completion_json, delta_events, official_body, read_until, stream_end, ExampleCommand,
    LoopbackServer, Reply,
};

const ANSWER: &str = "A large language model is a neural network trained on text.";

#[tokio::test]
async fn chat_sends_the_official_body_and_prints_the_answer() {
    let mut server = LoopbackServer::start(Reply::json(200, &completion_json(ANSWER))).await;
    let out = ExampleCommand::against("chat", &server.base_url())
        .run()
        .await;
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, format!("{ANSWER}\n"));
    let request = server.next_request().await;
    request.assert_cygnet_request("/chat/completion");
    assert_eq!(request.json(), official_body(false));
}

/// The server sends the first deltas, then waits until the example has printed them.
#[tokio::test]
async fn chat_stream_prints_deltas_while_the_server_holds_the_rest() {
    let first = delta_events(&["A large ", "language "], true);
    let rest = delta_events(&["model is ", "a neural network."], false) + &stream_end();
    let mut server = LoopbackServer::start(Reply::sse_held(first, rest)).await;
    let mut child = ExampleCommand::against("chat_stream", &server.base_url()).spawn();
    let mut stdout = child.stdout.take().expect("piped stdout");

    let mut seen = String::new();
    read_until(&mut stdout, &mut seen, "A large language ").await;
    assert!(
        !seen.contains("model"),
        "printed more than was sent: {seen:?}"
    );
    server.release();

    let output = bounded("chat_stream to finish", async {
        let mut rest = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut rest)
            .await
            .expect("read stdout");
        (child.wait().await.expect("wait"), rest)
    })
    .await;
    seen.push_str(&output.1);
    assert!(output.0.success(), "exit status {:?}", output.0);
    assert_eq!(seen, "A large language model is a neural network.\n");

    let request = server.next_request().await;
    request.assert_cygnet_request("/chat/completion");
    assert_eq!(request.json(), official_body(true));
}

#[tokio::test]
async fn examples_run_offline_without_a_key() {
    for (name, expected) in [
        ("chat", "large language model"),
        ("chat_stream", "large language model"),
        ("data_role", "Columbus"),
        ("tools", "get_weather"),
        ("moderation", "flagged:"),
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
    for name in ["chat", "chat_stream"] {
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
