//! The global flags (`--base-url`, `--timeout`, `--allow-insecure-http`, `--offline`) on every
//! subcommand, `moderate --moderation-prompt` and `--rewrite`, and the environment's near
//! misses: what reaches the server, what is refused before anything is sent, and that no key
//! shows in any output.
//!
//! Where a regression would send a request off the machine (a near miss read as "no base
//! URL", so `https://api.grayswan.ai`), `HTTPS_PROXY` points at a loopback server that
//! records what would have gone out, so the test stays on loopback and sees the leak.

mod common;

use std::time::{Duration, Instant};

use common::*;
use cygnet_cli::args::ConnectionArgs;
use cygnet_cli::chat::{self, ChatOptions};
use cygnet_cli::connect::{self, OFFLINE_ANSWER, OFFLINE_NOTICE, OFFLINE_REWRITE};
use cygnet_cli::Outcome;
use serde_json::{json, Value};

/// A base URL nothing listens on: a request sent there fails (on loopback).
const NOWHERE: &str = "http://127.0.0.1:9";

/// Runs `cygnet` with `args`, the fake key and `GRAY_SWAN_BASE_URL` pointing nowhere.
fn run_args(args: &[&str]) -> Run {
    let mut command = cygnet(Some(NOWHERE));
    command.args(args);
    run(command, None)
}

/// Asserts the fake key shows in neither output of `run`.
fn assert_no_key(run: &Run) {
    assert!(
        !run.stdout.contains(FAKE_KEY) && !run.stderr.contains(FAKE_KEY),
        "{run:#?}"
    );
}

/// One answer for each subcommand: chat (whole), moderate, monitor.
fn one_of_each() -> Vec<Reply> {
    vec![
        Reply::json(200, &completion("Hi.")),
        Reply::json(200, &verdict(false, 0.01, 0.99)),
        Reply::json(
            200,
            &json!({"violation": 0.1, "ipi": false, "mutation": false}),
        ),
    ]
}

#[test]
fn base_url_wins_over_the_environment_for_every_subcommand_before_or_after_it() {
    let server = Server::start(one_of_each());
    let url = server.base_url();
    for args in [
        vec!["--base-url", &url, "chat", "--no-stream", "Hi"],
        vec!["moderate", "--base-url", &url, "text"],
        vec!["monitor", "text", "--base-url", &url],
    ] {
        let run = run_args(&args);
        assert_eq!(run.code(), 0, "{args:?}: {run:#?}");
        assert_eq!(run.stderr, "", "{args:?}");
        assert_no_key(&run);
    }
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.request_line.clone())
        .collect();
    assert_eq!(
        paths,
        [
            "POST /chat/completion HTTP/1.1",
            "POST /moderation HTTP/1.1",
            "POST /cygnal/monitor HTTP/1.1"
        ]
    );
}

#[test]
fn timeout_bounds_each_attempt() {
    // The answer's head arrives, its body never: only the timeout ends the attempt; the
    // server answers one connection at a time, so the retries wait for their heads in vain.
    let server = Server::start(vec![Reply::sse(vec![Part::Hold])]);
    let started = Instant::now();
    let run = run_args(&[
        "chat",
        "--no-stream",
        "--timeout",
        "300ms",
        "--base-url",
        &server.base_url(),
        "Hi",
    ]);
    let took = started.elapsed();

    assert_eq!(run.code(), 1, "{run:#?}");
    assert!(
        run.stderr.starts_with("error: ")
            && run.stderr.contains("timed out")
            && run.stderr.contains("300ms")
            && run.stderr.contains("3 attempts"),
        "{run:#?}"
    );
    // Three attempts of 300 ms and two backoffs (at most 1 s and 2 s), far from the default
    // 60 s per attempt.
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_no_key(&run);
}

#[test]
fn a_timeout_needs_a_unit_and_more_than_zero() {
    for (value, says) in [
        ("30", "has no unit"),
        ("0s", "more than zero"),
        ("5d", "use ms, s, m or h"),
    ] {
        let run = run_args(&["--timeout", value, "chat", "Hi"]);
        assert_eq!(run.code(), 1, "{value}: {run:#?}");
        assert!(
            run.stderr.starts_with("error: ") && run.stderr.contains(says),
            "{value}: {run:#?}"
        );
    }
}

#[test]
fn cleartext_to_a_remote_host_is_refused_naming_the_flag() {
    // 0.0.0.0 is not a loopback name to the URL rule, but Linux connects it to this machine:
    // once allowed, the request reaches the loopback server.
    let server = Server::start(one_of_each());
    let port = server.base_url().rsplit(':').next().unwrap().to_owned();
    let remote = format!("http://0.0.0.0:{port}");
    let refusal = "error: configuration error: refusing to send the API key in cleartext to \
                   0.0.0.0: use https, a loopback host (localhost, 127.0.0.1, [::1]), or \
                   --allow-insecure-http\n";
    for args in [
        vec!["--base-url", &remote, "chat", "Hi"],
        vec!["moderate", "--base-url", &remote, "text"],
        vec!["monitor", "--base-url", &remote, "text"],
    ] {
        let run = run_args(&args);
        assert_eq!(run.code(), 1, "{args:?}: {run:#?}");
        assert_eq!(run.stderr, refusal, "{args:?}");
        assert!(!run.stderr.contains("ClientBuilder"));
        assert_no_key(&run);
    }
    // The environment's URL is refused in the same words.
    let mut command = cygnet(Some(&remote));
    command.args(["chat", "Hi"]);
    assert_eq!(run(command, None).stderr, refusal);
    assert!(server.requests().is_empty());

    for args in [
        vec![
            "--allow-insecure-http",
            "--base-url",
            &remote,
            "chat",
            "--no-stream",
            "Hi",
        ],
        vec![
            "moderate",
            "--base-url",
            &remote,
            "--allow-insecure-http",
            "text",
        ],
        vec![
            "monitor",
            "--base-url",
            &remote,
            "text",
            "--allow-insecure-http",
        ],
    ] {
        let run = run_args(&args);
        assert_eq!(run.code(), 0, "{args:?}: {run:#?}");
        assert_no_key(&run);
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {FAKE_KEY}").as_str())
    );
}

/// Runs `cygnet --offline` with `args` and no key, `GRAY_SWAN_BASE_URL` and `HTTPS_PROXY`
/// pointing at a server that must receive nothing; asserts the offline notice and status 0.
fn offline(args: &[&str]) -> Run {
    let server = Server::start(vec![]);
    let mut command = cygnet(Some(&server.base_url()));
    command
        .env_remove("GRAYSWAN_API_KEY")
        .env("HTTPS_PROXY", server.base_url())
        .args(args);
    let run = run(command, None);
    assert_eq!(run.code(), 0, "{args:?}: {run:#?}");
    assert_eq!(run.stderr, format!("{OFFLINE_NOTICE}\n"), "{args:?}");
    assert!(server.requests().is_empty(), "{args:?}");
    run
}

#[test]
fn offline_chat_answers_canned_without_a_key_and_says_so() {
    for args in [
        &["--offline", "chat", "Hi"][..],
        &["chat", "--offline", "Hi"],
        &["chat", "--no-stream", "Hi", "--offline"],
    ] {
        assert_eq!(
            offline(args).stdout,
            format!("{OFFLINE_ANSWER}\n"),
            "{args:?}"
        );
    }
    let json = offline(&["--offline", "chat", "--no-stream", "--json", "Hi"]);
    let completion: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        completion["choices"][0]["message"]["content"],
        OFFLINE_ANSWER
    );
    let lines = offline(&["--offline", "chat", "--json", "Hi"]);
    assert!(lines.stdout.lines().count() > 3, "{lines:#?}");
}

#[test]
fn offline_chat_through_cygnal_needs_neither_key() {
    for args in [
        &["--offline", "chat", "--cygnal", "-m", "gpt-5", "Hi"][..],
        &[
            "--offline",
            "chat",
            "--cygnal",
            "-m",
            "gpt-5",
            "--no-stream",
            "Hi",
        ],
    ] {
        assert_eq!(
            offline(args).stdout,
            format!("{OFFLINE_ANSWER}\n"),
            "{args:?}"
        );
    }
}

#[test]
fn offline_moderate_and_monitor_answer_canned_without_a_key() {
    assert_eq!(
        offline(&["--offline", "moderate", "some", "text"]).stdout,
        "flagged: false\ndetected: 0.02\npassed: 0.98\n"
    );
    assert_eq!(
        offline(&["moderate", "--offline", "--rewrite", "text"]).stdout,
        format!("flagged: false\ndetected: 0.02\npassed: 0.98\nrewrite: {OFFLINE_REWRITE}\n")
    );
    let monitor = offline(&["monitor", "--offline", "--fail-if-flagged", "text"]);
    assert!(
        monitor
            .stdout
            .starts_with("violation: 0.02\nflagged: false"),
        "{monitor:#?}"
    );
}

#[test]
fn offline_with_a_key_set_shows_no_key() {
    let mut command = cygnet(Some(NOWHERE));
    command.args([
        "--offline",
        "--base-url",
        "http://example.com",
        "chat",
        "Hi",
    ]);
    let refused = run(command, None);
    // The flags are checked offline too.
    assert_eq!(refused.code(), 1, "{refused:#?}");
    assert!(
        refused.stderr.contains("--allow-insecure-http"),
        "{refused:#?}"
    );
    assert_no_key(&refused);

    let mut command = cygnet(Some(NOWHERE));
    command.args(["--offline", "moderate", "--json", "text"]);
    let run = run(command, None);
    assert_eq!(run.code(), 0, "{run:#?}");
    assert_no_key(&run);
}

#[tokio::test]
async fn an_offline_conversation_answers_every_turn() {
    let connection = ConnectionArgs {
        offline: true,
        ..ConnectionArgs::default()
    };
    let mut notes = Vec::new();
    let client = connect::client(&connection, &mut notes).unwrap();
    assert_eq!(
        String::from_utf8(notes).unwrap(),
        format!("{OFFLINE_NOTICE}\n")
    );
    let lines: &[u8] = b"Hello\nAnd again?\n";
    let mut out = Vec::new();
    let outcome = cygnet_test_support::bounded(
        "the offline conversation ends",
        chat::conversation(
            &client,
            &ChatOptions::new("cygnet"),
            &[],
            lines,
            &mut out,
            None,
        ),
    )
    .await
    .unwrap();
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("{OFFLINE_ANSWER}\n{OFFLINE_ANSWER}\n")
    );
}

#[test]
fn moderate_sends_the_moderation_prompt_and_asks_for_a_rewrite() {
    let mut answer = verdict(true, 0.91, 0.09);
    answer["rewrite"] = json!("Buy our product.");
    let server = Server::start(vec![
        Reply::json(200, &answer),
        Reply::json(200, &answer),
        Reply::json(200, &verdict(false, 0.01, 0.99)),
    ]);
    let url = server.base_url();
    let run = run_args(&[
        "--base-url",
        &url,
        "moderate",
        "--moderation-prompt",
        "No advertising.",
        "--rewrite",
        "BUY",
        "NOW",
    ]);
    assert_eq!(run.code(), 0, "{run:#?}");
    assert_eq!(
        run.stdout,
        "flagged: true\ndetected: 0.91\npassed: 0.09\nrewrite: Buy our product.\n"
    );
    // `--prompt` is the same flag; `--json` prints the rewrite as it came.
    let run = run_args(&[
        "--base-url",
        &url,
        "moderate",
        "--prompt",
        "No advertising.",
        "--rewrite",
        "--json",
        "BUY NOW",
    ]);
    assert_eq!(run.code(), 0, "{run:#?}");
    let printed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(printed["rewrite"], "Buy our product.");
    // A rewrite asked for and not sent is said, not left out.
    let run = run_args(&["--base-url", &url, "moderate", "--rewrite", "kind words"]);
    assert_eq!(
        run.stdout,
        "flagged: false\ndetected: 0.01\npassed: 0.99\nrewrite: none returned\n"
    );

    let requests = server.requests();
    let expected =
        json!({"input": "BUY NOW", "moderation_prompt": "No advertising.", "rewrite": true});
    assert_eq!(requests[0].json(), expected);
    assert_eq!(requests[1].json(), expected);
    assert_eq!(
        requests[2].json(),
        json!({"input": "kind words", "rewrite": true})
    );
}

#[test]
fn help_shows_every_flag_on_every_subcommand() {
    let global = [
        "--base-url",
        "--timeout",
        "--allow-insecure-http",
        "--offline",
    ];
    for args in [
        &["--help"][..],
        &["chat", "--help"],
        &["moderate", "--help"],
        &["monitor", "--help"],
    ] {
        let help = run_args(args);
        assert_eq!(help.code(), 0, "{args:?}");
        for flag in global {
            assert!(help.stdout.contains(flag), "{args:?}: {flag}");
        }
        assert!(help.stdout.contains("per attempt") || help.stdout.contains("each attempt"));
    }
    let moderate = run_args(&["moderate", "--help"]);
    for flag in ["--moderation-prompt", "--prompt", "--rewrite"] {
        assert!(moderate.stdout.contains(flag), "{flag}");
    }
    // The examples' text shows the escape, not an escape character.
    assert!(!run_args(&["--help"]).stdout.contains('\x1b'));
}

/// Runs `cygnet chat --no-stream Hi` with the fake key only in `key_env` (when given) and
/// the variables `vars`, `HTTPS_PROXY` at `guard` (so a call meant for api.grayswan.ai lands
/// on loopback).
fn with_env(guard: &Server, key_env: Option<&str>, vars: &[(&str, &str)]) -> Run {
    let mut command = cygnet(None);
    command
        .env_remove("GRAYSWAN_API_KEY")
        .env("HTTPS_PROXY", guard.base_url());
    if let Some(name) = key_env {
        command.env(name, FAKE_KEY);
    }
    command
        .envs(vars.iter().copied())
        .args(["chat", "--no-stream", "Hi"]);
    run(command, None)
}

#[test]
fn a_near_miss_of_a_variable_is_an_error_naming_the_right_one_before_sending() {
    let guard = Server::start(vec![]);
    let target = Server::start(vec![
        Reply::json(200, &completion("Hi.")),
        Reply::json(200, &verdict(false, 0.0, 1.0)),
    ]);
    let url = target.base_url();

    for miss in ["GRAYSWAN_BASE_URL", "GRAYSWAN_API_BASE"] {
        let refused = with_env(&guard, Some("GRAYSWAN_API_KEY"), &[(miss, &url)]);
        assert_eq!(refused.code(), 1, "{miss}: {refused:#?}");
        assert!(
            refused.stderr.contains(&format!("{miss} is set"))
                && refused.stderr.contains("rename it to GRAY_SWAN_BASE_URL"),
            "{miss}: {refused:#?}"
        );
        assert_no_key(&refused);
    }
    let refused = with_env(
        &guard,
        Some("GRAY_SWAN_API_KEY"),
        &[("GRAY_SWAN_BASE_URL", &url)],
    );
    assert_eq!(refused.code(), 1, "{refused:#?}");
    assert!(
        refused.stderr.contains("rename it to GRAYSWAN_API_KEY"),
        "{refused:#?}"
    );
    assert!(!refused.stderr.contains("no API key"), "{refused:#?}");
    assert_no_key(&refused);

    // Both set, to different values: which was meant cannot be told.
    let refused = with_env(
        &guard,
        Some("GRAYSWAN_API_KEY"),
        &[("GRAY_SWAN_BASE_URL", &url), ("GRAYSWAN_BASE_URL", NOWHERE)],
    );
    assert_eq!(refused.code(), 1, "{refused:#?}");
    assert!(refused.stderr.contains("different values"), "{refused:#?}");
    assert!(guard.requests().is_empty() && target.requests().is_empty());

    // Both set to the same value: the right one is read. `--base-url` sets a near miss aside.
    let same = with_env(
        &guard,
        Some("GRAYSWAN_API_KEY"),
        &[("GRAY_SWAN_BASE_URL", &url), ("GRAYSWAN_BASE_URL", &url)],
    );
    assert_eq!(same.code(), 0, "{same:#?}");
    let mut command = cygnet(None);
    command
        .env("GRAYSWAN_BASE_URL", NOWHERE)
        .env("HTTPS_PROXY", guard.base_url())
        .args(["--base-url", &url, "moderate", "text"]);
    let overridden = run(command, None);
    assert_eq!(overridden.code(), 0, "{overridden:#?}");
    assert_no_key(&overridden);
    assert!(guard.requests().is_empty());
    assert_eq!(target.requests().len(), 2, "{:#?}", target.requests());
}
