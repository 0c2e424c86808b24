//! Recording through a transport into a cassette, and replaying it: the mock transport plays
//! the server here (the hyper round trip is in the workspace's `tests` crate).

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use cygnet_core::error::Report;
use cygnet_core::transport::{Body, Transport};
use cygnet_core::{Error, RequestOptions, TransportErrorKind};
use cygnet_mock::{
    Cassette, CassetteError, MockClock, MockReply, MockTransport, RecordMode, Recorder, Redactions,
    ReplayMismatch, Replayer,
};
use cygnet_types::{ChatCompletionRequest, Message, ToolCall};
use futures_executor::block_on;
use serde_json::{json, Value};

use cygnet_test_support::{bounded_thread as bounded, fresh_dir, streamed_text};

const KEY: &str = "sk-test-fake";

/// A fresh path for a cassette under cargo's scratch directory for integration tests.
fn cassette_path(name: &str) -> PathBuf {
    fresh_dir(env!("CARGO_TARGET_TMPDIR"), "cassettes").join(name)
}

/// A recorder into a fresh cassette called `name`, over a mock answering with `replies`;
/// it records transport failures too, which these tests replay on purpose.
fn recording(name: &str, replies: impl IntoIterator<Item = MockReply>) -> (PathBuf, Recorder) {
    let path = cassette_path(name);
    let recorder = Cassette::new(&path)
        .record_failures(true)
        .recorder(MockTransport::conversation(replies));
    (path, recorder)
}

fn request(body: Value) -> http::Request<Bytes> {
    http::Request::post("https://api.example.invalid/chat/completion?trace=1")
        .header("authorization", format!("Bearer {KEY}"))
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

fn seed(stream: bool) -> Value {
    let mut body = json!({"model": "cygnet", "messages": [{"role": "user", "content": "Hi"}]});
    if stream {
        body["stream"] = json!(true);
    }
    body
}

/// Everything a caller sees of one exchange: status, chosen headers, each chunk, the end.
#[derive(Debug, PartialEq)]
enum Seen {
    Failed(TransportErrorKind, String),
    Answered {
        status: u16,
        headers: Vec<(String, String)>,
        chunks: Vec<Bytes>,
        end: Option<(TransportErrorKind, String)>,
    },
}

async fn exchange(transport: &impl Transport, request: http::Request<Bytes>) -> Seen {
    match transport.send(request).await {
        Err(e) => Seen::Failed(e.kind(), Report::new(&e).to_string()),
        Ok(response) => {
            let (parts, mut body): (_, Body) = response.into_parts();
            let headers = ["content-type", "x-request-id", "retry-after"]
                .iter()
                .filter_map(|n| {
                    Some((
                        n.to_string(),
                        parts.headers.get(*n)?.to_str().ok()?.to_owned(),
                    ))
                })
                .collect();
            let mut chunks = Vec::new();
            let mut end = None;
            while let Some(chunk) = body.chunk().await {
                match chunk {
                    Ok(chunk) => chunks.push(chunk),
                    Err(e) => {
                        end = Some((e.kind(), Report::new(&e).to_string()));
                        break;
                    }
                }
            }
            Seen::Answered {
                status: parts.status.as_u16(),
                headers,
                chunks,
                end,
            }
        }
    }
}

/// The script both sides of the round trip use: a JSON answer with a request id, a rate
/// limit, a stream read in small pieces, a stream cut by a reset, and a refused connection.
fn script() -> Vec<MockReply> {
    vec![
        MockReply::text("Hello!").header("x-request-id", "req_1"),
        MockReply::json(429, json!({"error": {"message": "slow down"}})).header("retry-after", "2"),
        MockReply::stream_text(["Hel", "lo", " there"]).read_sizes([7, 100, 3]),
        MockReply::stream_text(["cut"]).fail_after(1),
        MockReply::error(TransportErrorKind::Connect, "connection refused"),
    ]
}

fn requests() -> Vec<Value> {
    vec![
        seed(false),
        seed(false),
        seed(true),
        seed(true),
        json!({"input": "x"}),
    ]
}

#[test]
fn a_replay_gives_the_same_heads_chunks_and_errors_as_the_recording() {
    bounded(|| {
        let (path, recorder) = recording("round_trip.json", script());
        let recorded: Vec<Seen> = requests()
            .into_iter()
            .map(|body| block_on(exchange(&recorder, request(body))))
            .collect();
        recorder.finish().unwrap();
        assert!(matches!(&recorded[2], Seen::Answered { chunks, .. } if chunks.len() > 3));
        assert!(matches!(
            &recorded[3],
            Seen::Answered {
                end: Some((TransportErrorKind::Io, _)),
                ..
            }
        ));
        assert!(
            matches!(&recorded[4], Seen::Failed(TransportErrorKind::Connect, m) if m.contains("connection refused"))
        );

        let replayer = Replayer::open(&path).unwrap();
        let replayed: Vec<Seen> = requests()
            .into_iter()
            .map(|body| block_on(exchange(&replayer, request(body))))
            .collect();
        // A replayed failure says it came from the cassette; otherwise it reads as recorded.
        let marker = format!(
            " (replayed from cassette {}, where this failure was recorded)",
            path.display()
        );
        let unmarked = |message: &String| {
            assert!(message.ends_with(&marker), "{message}");
            message.replace(&marker, "")
        };
        let replayed: Vec<Seen> = replayed
            .into_iter()
            .map(|seen| match seen {
                Seen::Failed(kind, message) => Seen::Failed(kind, unmarked(&message)),
                Seen::Answered {
                    status,
                    headers,
                    chunks,
                    end,
                } => Seen::Answered {
                    status,
                    headers,
                    chunks,
                    end: end.map(|(kind, message)| (kind, unmarked(&message))),
                },
            })
            .collect();
        // JSON bodies replay as equal JSON, not byte for byte; compare those as values.
        for (i, (a, b)) in recorded.iter().zip(&replayed).enumerate() {
            match (a, b) {
                (
                    Seen::Answered {
                        status,
                        headers,
                        chunks,
                        end,
                    },
                    Seen::Answered {
                        status: s2,
                        headers: h2,
                        chunks: c2,
                        end: e2,
                    },
                ) if headers.iter().any(|(_, v)| v == "application/json") => {
                    assert_eq!((status, headers, end), (s2, h2, e2), "exchange {i}");
                    let whole =
                        |c: &Vec<Bytes>| -> Value { serde_json::from_slice(&c.concat()).unwrap() };
                    assert_eq!(whole(chunks), whole(c2), "exchange {i}");
                }
                _ => assert_eq!(a, b, "exchange {i}"),
            }
        }
        replayer.assert_all_used();
    });
}

#[test]
fn a_client_on_the_replay_sees_the_same_conversation_with_retries_on_virtual_time() {
    bounded(|| {
        let path = cassette_path("client.json");
        let mock = MockTransport::conversation([
            MockReply::json(429, json!({"error": {"message": "slow down"}}))
                .header("retry-after", "3"),
            MockReply::text("Hello!"),
            MockReply::stream_tool_calls(
                vec![ToolCall::function(
                    "call_1",
                    "get_weather",
                    r#"{"location":"Dayton, Ohio"}"#,
                )],
                4,
            ),
        ]);
        let chat = ChatCompletionRequest::new("cygnet", vec![Message::user("Weather?")]);
        let run = |transport: &dyn Fn() -> cygnet_core::Client| {
            block_on(async {
                let client = transport();
                let text = client
                    .chat(&chat)
                    .await?
                    .content()
                    .unwrap_or_default()
                    .to_owned();
                let mut stream = client.chat_stream(&chat).await?;
                let mut calls = cygnet_core::Accumulator::new();
                while let Some(chunk) = stream.next_chunk().await {
                    calls.push(&chunk?);
                }
                let completion = calls.finish();
                Ok::<_, Error>((text, serde_json::to_value(completion.tool_calls()).unwrap()))
            })
            .unwrap()
        };
        let recorder = Recorder::new(&path, mock.clone());
        let recorded = run(&|| {
            mock.client_builder()
                .transport(recorder.clone())
                .build()
                .unwrap()
        });
        drop(recorder); // the last handle writes the cassette
        assert_eq!(recorded.0, "Hello!");
        assert_eq!(
            recorded.1[0]["function"]["arguments"],
            r#"{"location":"Dayton, Ohio"}"#
        );

        let replayer = Replayer::open(&path).unwrap();
        let replayed = run(&|| {
            cygnet_core::ClientBuilder::new()
                .api_key("sk-another-fake")
                .transport(replayer.clone())
                .build()
                .unwrap()
        });
        assert_eq!(replayed, recorded);
        // The 429's retry-after was replayed and waited on the replay's virtual clock.
        assert_eq!(replayer.clock().elapsed(), Duration::from_secs(3));
        replayer.assert_all_used();
    });
}

#[test]
fn requests_match_by_body_in_any_order_and_a_stranger_names_the_closest_and_the_difference() {
    bounded(|| {
        let (path, recorder) = recording(
            "order.json",
            [MockReply::text("first"), MockReply::text("second")],
        );
        let mut one = seed(false);
        one["messages"][0]["content"] = json!("one");
        let mut two = seed(false);
        two["messages"][0]["content"] = json!("two");
        block_on(exchange(&recorder, request(one.clone())));
        block_on(exchange(&recorder, request(two.clone())));
        recorder.finish().unwrap();

        let replayer = Replayer::open(&path).unwrap();
        let content = |seen: Seen| match seen {
            Seen::Answered { chunks, .. } => {
                let v: Value = serde_json::from_slice(&chunks.concat()).unwrap();
                v["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            content(block_on(exchange(&replayer, request(two.clone())))),
            "second"
        );
        assert_eq!(
            content(block_on(exchange(&replayer, request(one.clone())))),
            "first"
        );

        // The same request again: both matches are used up.
        let error = block_on(replayer.send(request(one))).unwrap_err();
        assert_eq!(error.kind(), TransportErrorKind::Other);
        assert!(!error.is_retryable());
        let message = Report::new(&error).to_string();
        assert!(message.contains("already answered"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");

        let mut three = seed(false);
        three["messages"][0]["content"] = json!("three");
        let error = block_on(replayer.send(request(three))).unwrap_err();
        let mismatch = std::error::Error::source(&error)
            .and_then(|e| e.downcast_ref::<ReplayMismatch>())
            .expect("a ReplayMismatch");
        assert_eq!(mismatch.request(), "POST /chat/completion?trace=1");
        assert_eq!(mismatch.closest(), Some(1));
        assert_eq!(
            mismatch.difference(),
            Some(r#"body differs at $.messages[0].content: recorded "one", sent "three""#)
        );
        let message = Report::new(&error).to_string();
        assert!(
            message.contains("closest recorded: exchange #1"),
            "{message}"
        );

        let other_path = http::Request::post("https://x.invalid/moderation")
            .body(Bytes::from_static(b"{}"))
            .unwrap();
        let error = block_on(replayer.send(other_path)).unwrap_err();
        let error = Report::new(&error).to_string();
        assert!(
            error.contains("path is /chat/completion?trace=1 (sent /moderation)"),
            "{error}"
        );
    });
}

#[test]
fn secrets_never_reach_the_file_and_redacted_requests_still_match() {
    bounded(|| {
        let path = cassette_path("secrets.json");
        let mock = MockTransport::conversation([
            // A server that echoes the key, and a header and field the user redacts.
            MockReply::json(
                401,
                json!({"error": {"message": format!("Invalid API key: {KEY}")}}),
            )
            .header("x-login", "login-secret-1")
            .header("set-cookie", "id=cookie-secret"),
            // Read 5 bytes at a time: the echoed key is split across chunks.
            MockReply::stream_text([format!("your key is {KEY} ok")]).read_sizes([5]),
            MockReply::text("ok"),
        ]);
        let redactions = Redactions::new()
            .header("x-tenant-token")
            .header("x-login")
            .record_header("set-cookie")
            .field("user")
            .text("internal-host-7");
        let recorder = Cassette::new(&path)
            .redact(redactions.clone())
            .recorder(mock.clone());
        let options = RequestOptions::new().header("x-tenant-token", "tenant-secret-9");
        let client = mock
            .client_builder()
            .api_key(KEY)
            .transport(recorder.clone())
            .default_options(options.clone())
            .max_retries(0)
            .build()
            .unwrap();
        let chat = ChatCompletionRequest::new("cygnet", vec![Message::user("ask internal-host-7")]);
        let mut body = serde_json::to_value(&chat).unwrap();
        body["user"] = json!("alice@example.com");
        block_on(async {
            let error = client.chat(&chat).await.unwrap_err();
            assert!(error.to_string().contains("401"), "{error}");
            let mut stream = client.chat_stream(&chat).await.unwrap();
            while stream.next_chunk().await.is_some() {}
            // A raw send with a JSON field to redact.
            let sent = request(body.clone());
            let _ = recorder.send(sent).await;
        });
        recorder.finish().unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        for secret in [
            KEY,
            "tenant-secret-9",
            "login-secret-1",
            "cookie-secret",
            "internal-host-7",
            "alice@example.com",
        ] {
            assert!(!text.contains(secret), "{secret} written:\n{text}");
        }
        for kept in [
            "\"x-tenant-token\": \"<redacted>\"",
            "\"x-login\": \"<redacted>\"",
            "\"set-cookie\": \"<redacted>\"",
            "\"user\": \"<redacted>\"",
            "Invalid API key: <redacted>",
        ] {
            assert!(text.contains(kept), "{kept} missing:\n{text}");
        }
        assert!(
            !text.to_ascii_lowercase().contains("authorization"),
            "{text}"
        );

        // Replaying with the same redactions and another key: the redacted requests match.
        let replayer = Cassette::new(&path).redact(redactions).replayer().unwrap();
        let client = cygnet_core::ClientBuilder::new()
            .api_key("sk-other")
            .transport(replayer.clone())
            .default_options(options)
            .max_retries(0)
            .build()
            .unwrap();
        block_on(async {
            let error = client.chat(&chat).await.unwrap_err();
            assert!(
                error.to_string().contains("Invalid API key: <redacted>"),
                "{error}"
            );
            let text = streamed_text(&client, &chat).await.unwrap();
            assert_eq!(text, "your key is <redacted> ok");
            let mut other_user = body.clone();
            other_user["user"] = json!("bob@example.com");
            replayer.send(request(other_user)).await.unwrap();
        });
        replayer.assert_all_used();
    });
}

#[test]
fn a_test_that_panics_mid_stream_leaves_its_exchanges_on_disk() {
    bounded(|| {
        let (path, recorder) = recording(
            "panic.json",
            [
                MockReply::text("done"),
                // The pause keeps the rest of the stream from being there at once.
                MockReply::stream_text(["one ", "two ", "three"])
                    .pause_between(Duration::from_secs(1)),
            ],
        );
        let copy = recorder.clone();
        let panicked = std::thread::spawn(move || {
            block_on(async {
                exchange(&copy, request(seed(false))).await;
                let response = copy.send(request(seed(true))).await.unwrap();
                let mut body = response.into_body();
                body.chunk().await.unwrap().unwrap();
                panic!("the test failed half-way through the stream");
            })
        })
        .join();
        assert!(panicked.is_err());
        // The recorder itself is still alive here: the file was written by the unwinding.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"end\": \"abandoned\""), "{text}");
        let replayer = Replayer::open(&path).unwrap();
        assert_eq!(replayer.exchange_count(), 2);
        block_on(async {
            exchange(&replayer, request(seed(false))).await;
            match exchange(&replayer, request(seed(true))).await {
                Seen::Answered {
                    chunks,
                    end: Some((kind, message)),
                    ..
                } => {
                    assert_eq!(chunks.len(), 1);
                    assert_eq!(kind, TransportErrorKind::Other);
                    assert!(
                        message.contains("stopped reading it while recording"),
                        "{message}"
                    );
                }
                other => panic!("{other:?}"),
            }
        });
        drop(recorder);
    });
}

#[test]
fn a_request_given_up_while_recording_times_out_again_on_replay() {
    bounded(|| {
        let path = cassette_path("timeout.json");
        let mock = MockTransport::conversation([MockReply::hang()]);
        let recorder = Recorder::new(&path, mock.clone());
        let chat = ChatCompletionRequest::new("cygnet", vec![Message::user("Hi")]);
        // One try, given up after five seconds: the error it ends in.
        let give_up = |builder: cygnet_core::ClientBuilder| {
            let client = builder
                .max_retries(0)
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            block_on(client.chat(&chat)).unwrap_err()
        };
        let recorded = give_up(mock.client_builder().transport(recorder.clone()));
        assert!(matches!(recorded, Error::Timeout(_)), "{recorded:?}");
        recorder.finish().unwrap();
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("\"abandoned\": true"));

        let replayer = Replayer::open(&path).unwrap();
        let replayed = give_up(
            cygnet_core::ClientBuilder::new()
                .api_key(KEY)
                .base_url(cygnet_mock::MOCK_BASE_URL)
                .transport(replayer.clone()),
        );
        assert_eq!(replayed.to_string(), recorded.to_string());
        assert_eq!(replayer.clock().elapsed(), Duration::from_secs(5));
    });
}

#[test]
fn recorded_timing_replays_on_the_virtual_clock() {
    bounded(|| {
        let path = cassette_path("timing.json");
        let chunk = |text: &str| {
            format!(
                "data: {}\n\n",
                json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "cygnet",
                       "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
            )
        };
        let cassette = json!({
            "cygnet_cassette": 1,
            "exchanges": [{
                "request": {"method": "POST", "path": "/chat/completion?trace=1", "body": {"json": seed(true)}},
                "response": {
                    "status": 200,
                    "headers": {"content-type": "text/event-stream"},
                    "head_delay_ms": 400,
                    "body": {"chunks": [chunk("a"), chunk("b"), "data: [DONE]\n\n"]},
                    "chunk_delays_ms": [0, 250, 100]
                }
            }]
        });
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&cassette).unwrap()).unwrap();

        let clock = MockClock::new();
        let replayer = Cassette::new(&path)
            .replay_timing(true)
            .clock(clock.clone())
            .replayer()
            .unwrap();
        let times = block_on(async {
            let response = replayer.send(request(seed(true))).await.unwrap();
            let mut times = vec![clock.elapsed()];
            let mut body = response.into_body();
            while let Some(chunk) = body.chunk().await {
                chunk.unwrap();
                times.push(clock.elapsed());
            }
            times
        });
        let ms = Duration::from_millis;
        assert_eq!(times, [ms(400), ms(400), ms(650), ms(750)]);

        // Without replay timing: all at once.
        let replayer = Replayer::open(&path).unwrap();
        block_on(exchange(&replayer, request(seed(true))));
        assert_eq!(replayer.clock().elapsed(), Duration::ZERO);
    });
}

#[test]
fn record_timing_writes_delays_for_each_chunk() {
    bounded(|| {
        let path = cassette_path("timed.json");
        let recorder =
            Cassette::new(&path)
                .record_timing(true)
                .recorder(MockTransport::conversation([MockReply::stream_text([
                    "a", "b",
                ])]));
        block_on(exchange(&recorder, request(seed(true))));
        recorder.finish().unwrap();
        let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let response = &file["exchanges"][0]["response"];
        assert!(response["head_delay_ms"].is_u64(), "{response}");
        let chunks = response["body"]["chunks"].as_array().unwrap().len();
        assert_eq!(
            response["chunk_delays_ms"].as_array().unwrap().len(),
            chunks
        );
    });
}

#[test]
fn auto_records_when_the_cassette_is_missing_and_replays_without_building_the_real_transport() {
    bounded(|| {
        let path = cassette_path("auto.json");
        let first = Cassette::new(&path)
            .mode(RecordMode::WhenMissing)
            // Whatever CI says: this test is about the mode.
            .record_in_ci(true)
            .transport(|| MockTransport::conversation([MockReply::text("recorded")]))
            .unwrap();
        assert!(first.is_recording());
        block_on(exchange(&first, request(seed(false))));
        first.finish().unwrap();
        drop(first);

        let second = Cassette::new(&path)
            .mode(RecordMode::WhenMissing)
            // Whatever CI says: this test is about the mode.
            .record_in_ci(true)
            .transport(|| -> MockTransport {
                panic!("the real transport was built in replay mode")
            })
            .unwrap();
        assert!(!second.is_recording());
        assert!(matches!(
            block_on(exchange(&second, request(seed(false)))),
            Seen::Answered { status: 200, .. }
        ));
        second.finish().unwrap();

        let again = Cassette::new(&path)
            .mode(RecordMode::Always)
            .transport(MockTransport::new)
            .unwrap();
        assert!(again.is_recording());
        drop(again);
        // Recording again replaced the file: it now holds no exchanges.
        assert_eq!(Replayer::open(&path).unwrap().exchange_count(), 0);

        let missing = cassette_path("never.json");
        let error = Cassette::new(&missing)
            .mode(RecordMode::Never)
            .transport(|| -> MockTransport { panic!("never records") })
            .unwrap_err();
        assert!(matches!(error, CassetteError::Missing { .. }), "{error:?}");
        assert!(!missing.exists());
    });
}

#[test]
fn bad_cassettes_are_typed_errors_that_name_the_file() {
    let missing = cassette_path("missing.json");
    let error = Replayer::open(&missing).unwrap_err();
    assert!(matches!(error, CassetteError::Missing { .. }), "{error:?}");
    assert_eq!(error.path(), missing);
    assert!(
        error.to_string().contains(&missing.display().to_string()),
        "{error}"
    );
    assert!(error.to_string().contains("CYGNET_RECORD=1"), "{error}");

    let dir = cassette_path("x").parent().unwrap().to_owned();
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text, check) in [
        (
            "garbage.json",
            "this is not json {",
            (|e: &CassetteError| matches!(e, CassetteError::Invalid { reason, .. } if reason.contains("line 1")))
                as fn(&CassetteError) -> bool,
        ),
        (
            "other.json",
            r#"{"exchanges": []}"#,
            |e| matches!(e, CassetteError::Invalid { reason, .. } if reason.contains("not a cygnet cassette")),
        ),
        (
            "newer.json",
            r#"{"cygnet_cassette": 2, "tracks": {}}"#,
            |e| {
                matches!(
                    e,
                    CassetteError::NewerVersion {
                        found: 2,
                        supported: 1,
                        ..
                    }
                )
            },
        ),
        (
            "field.json",
            r#"{"cygnet_cassette": 1, "exchanges": [{"request": {"method": "POST"}, "error": {"kind": "io", "message": ""}}]}"#,
            |e| matches!(e, CassetteError::Invalid { reason, .. } if reason.contains("path")),
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let error = Replayer::open(&path).unwrap_err();
        assert!(check(&error), "{name}: {error:?}");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{name}: {error}"
        );
    }
    // A directory where the file should be cannot be read.
    let error = Replayer::open(&dir).unwrap_err();
    assert!(matches!(error, CassetteError::Read { .. }), "{error:?}");
    // Nor written: finish reports it.
    let recorder = Recorder::new(&dir, MockTransport::new());
    assert!(matches!(
        recorder.finish(),
        Err(CassetteError::Write { .. })
    ));
}

#[test]
fn non_utf8_chunks_survive_as_hex() {
    bounded(|| {
        let path = cassette_path("hex.json");
        let euro = "data: {\"x\":\"€\"}\n\n".as_bytes();
        let split = euro.iter().position(|b| *b == 0xe2).unwrap() + 1;
        let body = Bytes::copy_from_slice(euro);
        let recorder = Recorder::new(
            &path,
            MockTransport::conversation([MockReply::sse_raw(body).read_sizes([split])]),
        );
        let recorded = block_on(exchange(&recorder, request(seed(true))));
        recorder.finish().unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"hex\""));
        let replayed = block_on(exchange(
            &Replayer::open(&path).unwrap(),
            request(seed(true)),
        ));
        assert_eq!(recorded, replayed);
    });
}

#[test]
fn a_secret_in_the_query_is_redacted_and_still_matches_on_replay() {
    bounded(|| {
        let path = cassette_path("query.json");
        let redactions = Redactions::new().text("tok-in-query-1");
        let with_query = |token: &str| {
            http::Request::get(format!("https://x.invalid/models?token={token}&key={KEY}"))
                .header("authorization", format!("Bearer {KEY}"))
                .body(Bytes::new())
                .unwrap()
        };
        let recorder = Cassette::new(&path)
            .redact(redactions.clone())
            .recorder(MockTransport::conversation([MockReply::text("listed")]));
        block_on(exchange(&recorder, with_query("tok-in-query-1")));
        recorder.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"path\": \"/models?token=<redacted>&key=<redacted>\""),
            "{text}"
        );

        let replayer = Cassette::new(&path).redact(redactions).replayer().unwrap();
        let seen = block_on(exchange(&replayer, with_query("tok-in-query-1")));
        assert!(
            matches!(seen, Seen::Answered { status: 200, .. }),
            "{seen:?}"
        );
    });
}

#[test]
fn concurrent_exchanges_are_written_in_the_order_they_were_sent() {
    bounded(|| {
        let (path, recorder) = recording(
            "concurrent.json",
            [
                // The first answer is slow, so the second exchange ends first.
                MockReply::text("slow").delay(Duration::from_secs(2)),
                MockReply::text("fast"),
            ],
        );
        let mut slow = seed(false);
        slow["messages"][0]["content"] = json!("slow");
        let mut fast = seed(false);
        fast["messages"][0]["content"] = json!("fast");
        block_on(futures_util::future::join(
            exchange(&recorder, request(slow)),
            exchange(&recorder, request(fast)),
        ));
        recorder.finish().unwrap();
        let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let asked: Vec<&Value> = file["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["request"]["body"]["json"]["messages"][0]["content"])
            .collect();
        assert_eq!(asked, [&json!("slow"), &json!("fast")]);
    });
}

/// A key with every character a query or a JSON string has to encode.
const ODD_KEY: &str = r#"sk-test/fa+ke="q\x"#;

fn odd_key_request(target: &str) -> http::Request<Bytes> {
    http::Request::get(format!("https://x.invalid{target}"))
        .header("authorization", format!("Bearer {ODD_KEY}"))
        .body(Bytes::new())
        .unwrap()
}

#[test]
fn a_secret_percent_encoded_json_escaped_split_or_cut_short_never_reaches_the_file() {
    bounded(|| {
        let path = cassette_path("encoded.json");
        // The key as a JSON encoder writes it inside a string (`/` escaped too, as some do).
        let escaped = r#"sk-test\/fa+ke=\"q\\x"#;
        let unicode = r#"sk-test\u002ffa\u002Bke=\u0022q\u005Cx"#;
        let upper = "/models?key=sk-test%2Ffa%2Bke%3D%22q%5Cx&q=two+words+secret";
        let lower = "/models?key=sk-test%2ffa%2bke%3d%22q%5cx";
        let replies = [
            MockReply::text("listed"),
            // Echoed escaped, in 7-byte reads: every echo is split across chunks.
            MockReply::sse_raw(format!(
                "data: {{\"error\":{{\"message\":\"bad key {escaped} or {unicode}\"}}}}\n\n"
            ))
            .read_sizes([7]),
            // A stream cut (connection reset) in the middle of the echoed key.
            MockReply::sse_raw(format!("data: {{\"echo\":\"{}", &escaped[..12]))
                .read_sizes([5])
                .fail_after(1),
            // And one that simply stops there.
            MockReply::sse_raw("data: your key is sk-test/f").read_sizes([4]),
        ];
        let redactions = Redactions::new().text("two words secret");
        let recorder = Cassette::new(&path)
            .redact(redactions.clone())
            .record_failures(true)
            .recorder(MockTransport::conversation(replies));
        let targets = [upper, lower, "/stream", "/stream"];
        let recorded: Vec<Seen> = targets
            .iter()
            .map(|t| block_on(exchange(&recorder, odd_key_request(t))))
            .collect();
        recorder.finish().unwrap();
        drop(recorder);

        let text = std::fs::read_to_string(&path).unwrap();
        for leak in [
            "sk-test", "sk-te", "fa+ke", "fa%2", "%2Bke", "ke=", "words", "\\u002", "q\\\\x",
        ] {
            assert!(!text.contains(leak), "{leak:?} written:\n{text}");
        }
        let file: Value = serde_json::from_str(&text).unwrap();
        let written: Vec<(String, String)> = file["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let chunks = e["response"]["body"]["chunks"].as_array();
                let body: String = chunks
                    .into_iter()
                    .flatten()
                    .map(|c| c.as_str().unwrap())
                    .collect();
                (e["request"]["path"].as_str().unwrap().to_owned(), body)
            })
            .collect();
        assert_eq!(written[0].0, "/models?key=<redacted>&q=<redacted>");
        assert_eq!(written[1].0, "/models?key=<redacted>");
        assert_eq!(
            written[1].1,
            "data: {\"error\":{\"message\":\"bad key <redacted> or <redacted>\"}}\n\n"
        );
        assert_eq!(written[2].1, "data: {\"echo\":\"<redacted>");
        assert_eq!(written[3].1, "data: your key is <redacted>");

        // The scrubbed requests still match on replay, under another key.
        let replayer = Cassette::new(&path).redact(redactions).replayer().unwrap();
        let seen = block_on(exchange(&replayer, odd_key_request(upper)));
        assert!(
            matches!(seen, Seen::Answered { status: 200, .. }),
            "{seen:?}"
        );
        let seen = block_on(exchange(&replayer, odd_key_request(lower)));
        assert!(
            matches!(seen, Seen::Answered { status: 200, .. }),
            "{seen:?}"
        );
        match (
            &recorded[2],
            block_on(exchange(&replayer, odd_key_request("/stream"))),
        ) {
            (
                Seen::Answered {
                    end: Some((TransportErrorKind::Io, _)),
                    ..
                },
                Seen::Answered {
                    end: Some((TransportErrorKind::Io, _)),
                    chunks,
                    ..
                },
            ) => assert_eq!(chunks.concat(), b"data: {\"echo\":\"<redacted>".as_slice()),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn every_credential_header_is_redacted_and_its_value_scrubbed() {
    bounded(|| {
        let path = cassette_path("credential_headers.json");
        let headers = [
            ("x-api-key", "xk-test-value-1"),
            ("api-key", "ak-test-value-2"),
            ("cookie", "ck-test-value-3"),
            ("grayswan-api-key", "gs-test-value-4"),
            ("x-grayswan-api-key", "xg-test-value-5"),
            ("proxy-authorization", "Basic px-test-value-6"),
        ];
        let echo = headers
            .iter()
            .map(|(_, v)| *v)
            .collect::<Vec<_>>()
            .join(" ");
        let mut redactions = Redactions::new();
        for (name, _) in headers {
            // Asked to be written: written redacted, whatever is asked.
            redactions = redactions.record_header(name);
        }
        let recorder =
            Cassette::new(&path)
                .redact(redactions)
                .recorder(MockTransport::conversation([MockReply::json(
                    401,
                    json!({"error": {"message": format!("bad credentials {echo}")}}),
                )]));
        let mut sent = http::Request::post("https://x.invalid/cygnal/monitor");
        for (name, value) in headers {
            sent = sent.header(name, value);
        }
        block_on(exchange(
            &recorder,
            sent.body(Bytes::from_static(b"{}")).unwrap(),
        ));
        recorder.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("-test-value-"), "{text}");
        let file: Value = serde_json::from_str(&text).unwrap();
        for (name, _) in headers {
            assert_eq!(
                file["exchanges"][0]["request"]["headers"][name], "<redacted>",
                "{name}: {text}"
            );
        }
    });
}

#[cfg(unix)]
#[test]
fn a_link_planted_at_the_temporary_name_is_never_followed() {
    bounded(|| {
        let path = cassette_path("planted.json");
        let dir = path.parent().unwrap().to_owned();
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let planted = dir.join("planted.json.tmp");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();

        let recorder = Recorder::new(&path, MockTransport::conversation([MockReply::text("ok")]));
        block_on(exchange(&recorder, request(seed(false))));
        recorder.finish().unwrap();
        drop(recorder);

        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&planted)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(Replayer::open(&path).unwrap().exchange_count(), 1);
        // Nothing else left behind: no temporary file, no lock file.
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["planted.json", "planted.json.tmp", "victim.txt"]);
    });
}

#[test]
fn a_second_recorder_on_one_cassette_is_refused_and_no_exchange_is_lost() {
    bounded(|| {
        let path = cassette_path("shared.json");
        let first = Recorder::new(
            &path,
            MockTransport::conversation([MockReply::text("one"), MockReply::text("two")]),
        );
        let other = || MockTransport::conversation([MockReply::text("other")]);

        // Refused at once where an error can be returned...
        let error = Recorder::try_new(&path, other()).unwrap_err();
        assert!(
            matches!(
                &error,
                CassetteError::Locked {
                    in_this_process: true,
                    ..
                }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("already being recorded"), "{message}");
        let error = Cassette::new(&path)
            .mode(RecordMode::Always)
            .transport(other)
            .unwrap_err();
        assert!(matches!(error, CassetteError::Locked { .. }), "{error:?}");
        // ...and otherwise on every request and every finish.
        let second = Recorder::new(&path, other());
        let failed = block_on(second.send(request(seed(false)))).unwrap_err();
        assert!(
            Report::new(&failed)
                .to_string()
                .contains("already being recorded"),
            "{failed}"
        );
        for _ in 0..2 {
            assert!(matches!(second.finish(), Err(CassetteError::Locked { .. })));
        }

        // The first one records as if the others had never been.
        block_on(exchange(&first, request(seed(false))));
        drop(second);
        block_on(exchange(&first, request(seed(true))));
        first.finish().unwrap();
        assert_eq!(Replayer::open(&path).unwrap().exchange_count(), 2);

        // Once it is gone, the cassette can be recorded again.
        drop(first);
        assert!(!cygnet_mock_lock(&path).exists());
        let again = Recorder::try_new(&path, other()).unwrap();
        block_on(exchange(&again, request(seed(false))));
        again.finish().unwrap();
        drop(again);
        assert_eq!(Replayer::open(&path).unwrap().exchange_count(), 1);
    });
}

/// The lock file a recorder holds beside its cassette.
fn cygnet_mock_lock(path: &std::path::Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

#[test]
fn a_cassette_locked_by_another_process_is_refused_and_a_stale_lock_file_is_not() {
    bounded(|| {
        let path = cassette_path("other_process.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let lock = cygnet_mock_lock(&path);
        // What a recorder in another process holds: the lock on the lock file.
        let held = std::fs::File::create(&lock).unwrap();
        held.lock().unwrap();
        let error = Recorder::try_new(&path, MockTransport::new()).unwrap_err();
        assert!(
            matches!(
                &error,
                CassetteError::Locked {
                    in_this_process: false,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("another process"), "{error}");
        assert!(!path.exists());

        // That process ended without removing the file: the lock went with it.
        drop(held);
        let recorder =
            Recorder::try_new(&path, MockTransport::conversation([MockReply::text("ok")])).unwrap();
        block_on(exchange(&recorder, request(seed(false))));
        recorder.finish().unwrap();
        drop(recorder);
        assert!(!lock.exists());
        assert_eq!(Replayer::open(&path).unwrap().exchange_count(), 1);
    });
}

#[test]
fn a_cassette_over_the_size_limit_is_refused_before_it_is_read() {
    assert_eq!(cygnet_mock::MAX_CASSETTE_BYTES, 256 * 1024 * 1024);
    let path = cassette_path("large.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let cassette = json!({
        "cygnet_cassette": 1,
        "exchanges": [{
            "request": {"method": "POST", "path": "/chat/completion", "body": {"text": "x".repeat(4096)}},
            "error": {"kind": "connect", "message": "refused"}
        }]
    });
    std::fs::write(&path, cassette.to_string()).unwrap();
    let error = Cassette::new(&path).max_size(1024).replayer().unwrap_err();
    assert!(
        matches!(error, CassetteError::TooLarge { limit: 1024, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("1024 bytes"), "{message}");
    let replayer = Cassette::new(&path).max_size(8192).replayer().unwrap();
    assert_eq!(replayer.exchange_count(), 1);
}

#[cfg(unix)]
#[test]
fn a_device_or_a_link_to_one_is_refused_without_reading_it() {
    bounded(|| {
        let link = cassette_path("zero.json");
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        for path in [std::path::Path::new("/dev/zero"), link.as_path()] {
            let error = Replayer::open(path).unwrap_err();
            assert!(matches!(error, CassetteError::Read { .. }), "{error:?}");
            let message = Report::new(&error).to_string();
            assert!(message.contains("not a regular file"), "{message}");
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
    });
}
