//! `cygnet chat --cygnal`: a provider's model through Cygnal, against a loopback server: the
//! route, both keys, the OpenAI-format body, a blocked answer's exit status, and neither key
//! in what the command prints.

mod common;

use common::*;
use serde_json::json;

const PROVIDER_KEY: &str = "sk-proj-cli-fake";

/// `cygnet` against `server` with the provider key in `OPENAI_API_KEY`.
fn cygnal_command(server: &Server) -> std::process::Command {
    let mut command = cygnet(Some(&server.base_url()));
    command.env("OPENAI_API_KEY", PROVIDER_KEY);
    command
}

#[test]
fn chat_cygnal_sends_the_openai_request_with_both_keys_and_prints_the_answer() {
    let dir = fresh_dir(env!("CARGO_TARGET_TMPDIR"), "cli-cygnal");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("page.html");
    std::fs::write(&page, "<p>untrusted</p>").unwrap();
    let server = Server::start(vec![Reply::json(200, &completion("Hello from gpt-5"))]);
    let mut command = cygnal_command(&server);
    command
        .args([
            "chat",
            "--cygnal",
            "-m",
            "gpt-5",
            "--no-stream",
            "--max-tokens",
            "50",
        ])
        .arg("-d")
        .arg(&page)
        .args(["-s", "Be brief.", "Hi"]);
    let run = run(command, None);
    assert_eq!(run.code(), 0, "{run:#?}");
    assert_eq!(run.stdout, "Hello from gpt-5\n");
    let request = server.only_request();
    assert_eq!(request.path(), "/cygnal/chat/completions");
    let bearer = format!("Bearer {PROVIDER_KEY}");
    assert_eq!(request.header("authorization"), Some(bearer.as_str()));
    assert_eq!(request.header("grayswan-api-key"), Some(FAKE_KEY));
    assert_eq!(
        request.json(),
        json!({
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "user", "content": "<p>untrusted</p>"}
            ],
            "model": "gpt-5",
            "max_completion_tokens": 50
        })
    );
}

#[test]
fn a_stream_cygnal_cuts_prints_its_text_says_it_was_blocked_and_exits_2() {
    let refusal = "Sorry, I can't help with that.";
    let cut = json!({
        "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-5",
        "choices": [{"index": 0, "delta": {"content": refusal, "refusal": refusal},
                     "finish_reason": "violation"}]
    });
    let server = Server::start(vec![Reply::sse(vec![
        event(&chunk("Step one: ")),
        event(&cut),
        done(),
    ])]);
    let mut command = cygnet(Some(&server.base_url()));
    command
        .env("MY_PROVIDER_KEY", PROVIDER_KEY)
        .args(["chat", "--cygnal", "--model", "gpt-5"])
        .args(["--provider-key-env", "MY_PROVIDER_KEY", "Something bad"]);
    let run = run(command, None);
    assert_eq!(run.code(), 2, "{run:#?}");
    assert_eq!(run.stdout, format!("Step one: {refusal}\n"));
    assert!(run.stderr.contains("Gray Swan blocked"), "{}", run.stderr);
    let request = server.only_request();
    assert_eq!(request.path(), "/cygnal/chat/completions");
    let bearer = format!("Bearer {PROVIDER_KEY}");
    assert_eq!(request.header("authorization"), Some(bearer.as_str()));
    assert_eq!(request.json()["stream"], true);
}

#[test]
fn without_the_provider_key_or_a_provider_model_nothing_is_sent() {
    let server = Server::start(vec![]);
    let cases: [(&[&str], &str); 4] = [
        (&["chat", "--cygnal", "-m", "gpt-5", "Hi"], "OPENAI_API_KEY"),
        (
            &[
                "chat",
                "--cygnal",
                "-m",
                "gpt-5",
                "--provider-key-env",
                "NOT_SET_HERE",
                "Hi",
            ],
            "NOT_SET_HERE",
        ),
        (&["chat", "--cygnal", "Hi"], "--model"),
        (&["chat", "--provider-key-env", "X", "Hi"], "--cygnal"),
    ];
    for (args, named) in cases {
        let mut command = cygnet(Some(&server.base_url()));
        command.args(args);
        let run = run(command, None);
        assert_eq!(run.code(), 1, "{args:?}: {run:#?}");
        assert!(run.stderr.contains(named), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "");
    }
    assert!(server.requests().is_empty());
}

#[test]
fn neither_key_shows_when_the_server_echoes_both() {
    let echo = json!({
        "error": true,
        "message": format!("bad keys {PROVIDER_KEY} / {FAKE_KEY}"),
        "error_code": "invalid_key"
    });
    let server = Server::start(vec![Reply::json(401, &echo)]);
    let mut command = cygnal_command(&server);
    command.args(["chat", "--cygnal", "-m", "gpt-5", "--no-stream", "Hi"]);
    let run = run(command, None);
    assert_eq!(run.code(), 1, "{run:#?}");
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    let shown = format!("{}{}", run.stdout, run.stderr);
    assert!(!shown.contains(PROVIDER_KEY), "{shown}");
    assert!(!shown.contains(FAKE_KEY), "{shown}");
}

#[test]
fn help_describes_cygnal() {
    let mut command = cygnet(None);
    command.args(["chat", "--help"]);
    let run = run(command, None);
    assert_eq!(run.code(), 0, "{run:#?}");
    for text in ["--cygnal", "--provider-key-env", "OPENAI_API_KEY", "gpt-5"] {
        assert!(run.stdout.contains(text), "{text}: {}", run.stdout);
    }
}
