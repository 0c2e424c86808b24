//! The mock transport driven directly, as a client would drive it, under
//! `futures_executor` (no tokio).

use std::time::Duration;

use bytes::Bytes;
use cygnet_core::error::Report;
use cygnet_core::transport::{Body, Transport, TransportErrorKind};
use cygnet_mock::{MockClock, MockReply, MockTransport};
use cygnet_types::{ChatCompletion, ChatCompletionChunk, FinishReason, Role, ToolCall};
use futures_executor::block_on;
use futures_util::future::{select, Either};
use futures_util::FutureExt;
use serde_json::json;

use cygnet_test_support::bounded_thread as bounded;

const S: fn(u64) -> Duration = Duration::from_secs;

fn post(body: serde_json::Value) -> http::Request<Bytes> {
    http::Request::post("http://mock.invalid/chat/completion")
        .header("authorization", "Bearer sk-test-fake")
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

fn chat() -> http::Request<Bytes> {
    post(json!({"model": "cygnet", "messages": [{"role": "user", "content": "Hi"}]}))
}

/// Every read of a body, in order.
fn read_all(body: &mut Body) -> Vec<Result<Bytes, TransportErrorKind>> {
    block_on(async {
        let mut out = Vec::new();
        while let Some(read) = body.chunk().await {
            out.push(read.map_err(|e| e.kind()));
        }
        out
    })
}

fn text_of(body: Body) -> String {
    let mut body = body;
    let bytes: Vec<u8> = read_all(&mut body)
        .into_iter()
        .flat_map(|r| r.unwrap().to_vec())
        .collect();
    String::from_utf8(bytes).unwrap()
}

/// The `data` of each event of a body framed the way the mock frames it.
fn event_data(sse: &str) -> Vec<String> {
    sse.split_terminator("\n\n")
        .map(|event| event.strip_prefix("data: ").unwrap().to_owned())
        .collect()
}

fn chunks(data: &[String]) -> Vec<ChatCompletionChunk> {
    data.iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[test]
fn transport_is_send_sync_and_cheap_to_clone() {
    bounded(|| {
        fn check<T: Transport + Clone + Send + Sync>() {}
        check::<MockTransport>();
        fn check_clock<T: Clone + Send + Sync>() {}
        check_clock::<MockClock>();
    });
}

#[test]
fn replies_are_used_in_order_then_unscripted_requests_fail_clearly() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::text("one"), MockReply::text("two")]);
        for expected in ["one", "two"] {
            let response = block_on(mock.send(chat())).unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["content-type"], "application/json");
            let completion: ChatCompletion =
                serde_json::from_str(&text_of(response.into_body())).unwrap();
            assert_eq!(completion.content(), Some(expected));
            assert_eq!(completion.object, "chat.completion");
            assert_eq!(
                completion.choices[0].finish_reason,
                Some(FinishReason::Stop)
            );
            assert!(completion.usage.is_some());
        }
        mock.assert_all_consumed();
        let err = block_on(mock.send(chat())).unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::Other);
        assert!(!err.is_retryable());
        assert!(
            Report::new(&err)
                .to_string()
                .contains("no reply scripted for POST /chat/completion (request #3)"),
            "{err}"
        );
        assert_eq!(mock.request_count(), 3);
    });
}

#[test]
fn fallback_answers_what_the_script_does_not() {
    bounded(|| {
        let mock = MockTransport::new().with_reply(MockReply::text("scripted"));
        mock.set_fallback_fn(|request| MockReply::text(format!("echo {}", request.path())));
        let body = |mock: &MockTransport| {
            let response = block_on(mock.send(chat())).unwrap();
            serde_json::from_str::<ChatCompletion>(&text_of(response.into_body()))
                .unwrap()
                .content()
                .map(str::to_owned)
        };
        assert_eq!(body(&mock).as_deref(), Some("scripted"));
        assert_eq!(body(&mock).as_deref(), Some("echo /chat/completion"));
        assert_eq!(body(&mock).as_deref(), Some("echo /chat/completion"));
        mock.clear_fallback();
        assert!(block_on(mock.send(chat())).is_err());
    });
}

#[test]
#[should_panic(expected = "1 scripted reply was never used (0 requests were sent)")]
fn assert_all_consumed_names_the_leftovers() {
    bounded(|| {
        MockTransport::conversation([MockReply::text("unused")]).assert_all_consumed();
    });
}

#[test]
fn captured_requests_hide_every_credential_header_in_debug() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::text("x")]);
        let mut request = http::Request::post("http://mock.invalid/cygnal/monitor");
        for name in cygnet_core::SENSITIVE_HEADERS {
            request = request.header(name, format!("sk-test-{name}"));
        }
        let request = request
            .header("x-trace", "trace-visible")
            .body(Bytes::from_static(b"{}"))
            .unwrap();
        block_on(mock.send(request)).unwrap();
        let captured = mock.last_request().unwrap();
        let debug = format!("{captured:?}");
        assert!(!debug.contains("sk-test"), "{debug}");
        assert!(debug.contains("trace-visible"), "{debug}");
        for name in cygnet_core::SENSITIVE_HEADERS {
            assert!(
                debug.contains(&format!("\"{name}\": \"***\"")),
                "{name}: {debug}"
            );
            // Hidden from Debug only.
            assert_eq!(
                captured.header(name),
                Some(format!("sk-test-{name}").as_str())
            );
        }
    });
}

#[test]
fn requests_are_captured_whole() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::text("x")]);
        let clone = mock.clone();
        block_on(clone.send(chat())).unwrap();
        let request = mock.last_request().unwrap();
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(request.uri(), "http://mock.invalid/chat/completion");
        assert_eq!(request.path(), "/chat/completion");
        assert_eq!(request.header("Content-Type"), Some("application/json"));
        assert_eq!(request.json()["messages"][0]["content"], "Hi");
        assert_eq!(request.try_json().unwrap()["model"], "cygnet");
        assert!(request.body_text().starts_with('{'));
        let debug = format!("{request:?} {mock:?}");
        assert!(!debug.contains("sk-test-fake"), "{debug}");
        assert!(debug.contains(r#""authorization": "***""#), "{debug}");

        mock.push(MockReply::text("y"));
        block_on(mock.send(post(json!("not an object")).map(|_| Bytes::from_static(b"\xff"))))
            .unwrap();
        assert_eq!(mock.requests()[1].json(), serde_json::Value::Null);
        assert!(mock.requests()[1].try_json().is_err());
        mock.clear_history();
        assert_eq!(mock.request_count(), 0);
    });
}

#[test]
fn json_replies_carry_any_status_and_headers() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::json(429, json!({"error": {"message": "slow down"}}))
                .header("retry-after", "2")
                .header("Retry-After", "3")
                .header("x-request-id", "req_1"),
            MockReply::raw(502, "<html>bad gateway</html>").header("content-type", "text/html"),
        ]);
        let response = block_on(mock.send(chat())).unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers().get_all("retry-after").iter().count(), 1);
        assert_eq!(response.headers()["retry-after"], "3");
        assert_eq!(response.headers()["x-request-id"], "req_1");
        assert_eq!(
            text_of(response.into_body()),
            r#"{"error":{"message":"slow down"}}"#
        );
        let response = block_on(mock.send(chat())).unwrap();
        assert_eq!(response.status(), 502);
        assert_eq!(response.headers()["content-type"], "text/html");
        assert_eq!(text_of(response.into_body()), "<html>bad gateway</html>");
    });
}

#[test]
fn bad_scripted_headers_and_statuses_fail_the_send_instead_of_panicking() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::text("x").header("bad header", "v"),
            MockReply::text("x").header("ok", "line\nbreak"),
            MockReply::json(1000, json!({})),
        ]);
        for needle in ["header name", "value for header ok", "status 1000"] {
            let err = block_on(mock.send(chat())).unwrap_err();
            assert_eq!(err.kind(), TransportErrorKind::Other);
            assert!(Report::new(&err).to_string().contains(needle), "{err}");
        }
    });
}

#[test]
fn transport_errors_are_returned_with_their_kind() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::error(
            TransportErrorKind::Connect,
            "connection refused",
        )]);
        let err = block_on(mock.send(chat())).unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::Connect);
        assert!(err.is_retryable());
        assert!(Report::new(&err).to_string().contains("connection refused"));
    });
}

#[test]
fn sse_events_are_framed_and_terminated() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::sse_events(["{\"a\":1}", "x\ny"])]);
        let response = block_on(mock.send(chat())).unwrap();
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut body = response.into_body();
        let reads = read_all(&mut body);
        // One read per event by default.
        assert_eq!(
            reads,
            vec![
                Ok(Bytes::from("data: {\"a\":1}\n\n")),
                Ok(Bytes::from("data: x\ndata: y\n\n")),
                Ok(Bytes::from("data: [DONE]\n\n")),
            ]
        );
    });
}

#[test]
fn sse_raw_is_sent_untouched_and_can_be_split_anywhere() {
    bounded(|| {
        let raw = "\u{feff}: comment\r\nevent: x\rdata: {}\r\n\r\n";
        let mock = MockTransport::conversation([MockReply::sse_raw(raw).read_sizes([1])]);
        let mut body = block_on(mock.send(chat())).unwrap().into_body();
        let reads = read_all(&mut body);
        assert_eq!(reads.len(), raw.len());
        let joined: Vec<u8> = reads
            .into_iter()
            .flat_map(|r| r.unwrap().to_vec())
            .collect();
        assert_eq!(joined, raw.as_bytes());
    });
}

#[test]
fn stream_text_makes_well_formed_chunks() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::stream_text(["Hel", "lo"])]);
        let sse = text_of(block_on(mock.send(chat())).unwrap().into_body());
        let data = event_data(&sse);
        assert_eq!(data.last().unwrap(), "[DONE]");
        let chunks = chunks(&data);
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| c.object == "chat.completion.chunk"));
        assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
        assert_eq!(chunks[1].choices[0].delta.role, None);
        let text: String = chunks.iter().filter_map(|c| c.content()).collect();
        assert_eq!(text, "Hello");
        assert_eq!(chunks[2].choices[0].finish_reason, Some(FinishReason::Stop));
        assert!(chunks[..2]
            .iter()
            .all(|c| c.choices[0].finish_reason.is_none()));
    });
}

#[test]
fn read_sizes_cut_the_body_regardless_of_events() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::stream_text(["héllo wörld"]).read_sizes([3, 5]),
            MockReply::text("split json").read_sizes([4]),
        ]);
        let mut body = block_on(mock.send(chat())).unwrap().into_body();
        let reads: Vec<Bytes> = read_all(&mut body)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let sizes: Vec<usize> = reads.iter().map(Bytes::len).collect();
        for (i, size) in sizes[..sizes.len() - 1].iter().enumerate() {
            assert_eq!(*size, if i % 2 == 0 { 3 } else { 5 });
        }
        let joined = String::from_utf8(reads.concat()).unwrap();
        assert_eq!(
            chunks(&event_data(&joined))[0].content(),
            Some("héllo wörld")
        );

        let response = block_on(mock.send(chat())).unwrap();
        assert_eq!(response.headers()["content-type"], "application/json");
        let mut body = response.into_body();
        let reads = read_all(&mut body);
        assert!(reads.len() > 10);
        assert!(reads.iter().all(|r| r.as_ref().unwrap().len() <= 4));
    });
}

#[test]
fn truncated_streams_and_in_stream_errors() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::stream_text(["a", "b"]).without_done(),
            MockReply::stream_text(["a", "b"]).error_after(1, "overloaded"),
        ]);
        let data = event_data(&text_of(block_on(mock.send(chat())).unwrap().into_body()));
        assert_eq!(data.len(), 3);
        assert!(data.iter().all(|d| d != "[DONE]"));

        let data = event_data(&text_of(block_on(mock.send(chat())).unwrap().into_body()));
        assert_eq!(data.len(), 5);
        assert_eq!(data[1], r#"{"error":{"message":"overloaded"}}"#);
        assert_eq!(data[4], "[DONE]");
    });
}

#[test]
fn streams_fail_mid_way_with_an_io_error() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::stream_text(["a", "b", "c"]).fail_after(2),
            MockReply::stream_text(["a"]).fail_after(2), // just before [DONE]
        ]);
        let mut body = block_on(mock.send(chat())).unwrap().into_body();
        let reads = read_all(&mut body);
        assert_eq!(reads.len(), 3);
        assert!(reads[..2].iter().all(Result::is_ok));
        assert_eq!(reads[2], Err(TransportErrorKind::Io));

        let mut body = block_on(mock.send(chat())).unwrap().into_body();
        let reads = read_all(&mut body);
        assert_eq!(reads.len(), 3);
        assert_eq!(reads[2], Err(TransportErrorKind::Io));
        assert!(!String::from_utf8_lossy(&reads[1].clone().unwrap()).contains("[DONE]"));
    });
}

#[test]
fn tool_calls_plain_and_streamed() {
    bounded(|| {
        let calls = vec![
            ToolCall::function("call_1", "get_weather", r#"{"location":"Ohio"}"#),
            ToolCall::function("call_2", "get_time", r#"{"tz":"America/New_York"}"#),
        ];
        let mock = MockTransport::conversation([
            MockReply::tool_calls(calls.clone()),
            MockReply::stream_tool_calls(calls.clone(), 4),
        ]);
        let completion: ChatCompletion =
            serde_json::from_str(&text_of(block_on(mock.send(chat())).unwrap().into_body()))
                .unwrap();
        assert_eq!(completion.tool_calls(), &calls[..]);
        assert_eq!(completion.content(), None);
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );

        let data = event_data(&text_of(block_on(mock.send(chat())).unwrap().into_body()));
        assert_eq!(data.last().unwrap(), "[DONE]");
        let chunks = chunks(&data);
        // Role, then per call: a head and 4 argument pieces, then the finish chunk.
        assert_eq!(chunks.len(), 1 + 2 * 5 + 1);
        assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
        for (index, call) in calls.iter().enumerate() {
            let mut id = None;
            let mut name = None;
            let mut arguments = String::new();
            for chunk in &chunks {
                for delta in chunk.choices[0].delta.tool_calls.iter().flatten() {
                    if delta.index as usize != index {
                        continue;
                    }
                    id = id.or(delta.id.clone());
                    if let Some(function) = &delta.function {
                        name = name.or(function.name.clone());
                        arguments.push_str(function.arguments.as_deref().unwrap_or(""));
                    }
                }
            }
            assert_eq!(id.as_deref(), Some(call.id.as_str()));
            assert_eq!(name.as_deref(), Some(call.function.name.as_str()));
            assert_eq!(arguments, call.function.arguments);
        }
        assert_eq!(
            chunks.last().unwrap().choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );
    });
}

/// Core's race: `send` polled first, against a timeout on the transport's clock.
fn send_with_timeout(mock: &MockTransport, timeout: Duration) -> Option<http::Response<Body>> {
    block_on(async {
        let send = mock.send(chat());
        let timer = mock.sleep(timeout);
        match select(send, timer).await {
            Either::Left((response, _)) => Some(response.unwrap()),
            Either::Right(_) => None,
        }
    })
}

#[test]
fn a_delayed_reply_wins_or_loses_against_a_timeout_by_virtual_time() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::text("fast").delay(S(5)),
            MockReply::text("slow").delay(S(20)),
            MockReply::text("just in time").delay(S(10)),
        ]);
        let start = std::time::Instant::now();
        assert!(send_with_timeout(&mock, S(10)).is_some());
        assert_eq!(mock.clock().elapsed(), S(5));
        assert!(send_with_timeout(&mock, S(10)).is_none());
        assert_eq!(mock.clock().elapsed(), S(15));
        // A tie goes to `send`, which is polled first.
        assert!(send_with_timeout(&mock, S(10)).is_some());
        assert_eq!(mock.clock().elapsed(), S(25));
        assert!(start.elapsed() < S(5), "no real waiting");
        assert_eq!(mock.sleeps(), vec![S(10); 3]);
        assert_eq!(mock.completed_sleeps(), vec![S(10)]);
        assert_eq!(mock.clock().pending_sleeps(), 0);
        mock.assert_all_consumed();
    });
}

#[test]
fn a_hanging_reply_ends_only_by_timeout() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::hang(),
            MockReply::error(TransportErrorKind::Timeout, "late").delay(S(90)),
        ]);
        assert!(send_with_timeout(&mock, S(60)).is_none());
        assert_eq!(mock.clock().elapsed(), S(60));
        assert!(send_with_timeout(&mock, S(60)).is_none());
        assert_eq!(mock.clock().elapsed(), S(120));
    });
}

/// Reads a body as core does: each read raced against an idle timeout.
fn read_with_idle(mock: &MockTransport, body: &mut Body, idle: Duration) -> Vec<&'static str> {
    block_on(async {
        let mut out = Vec::new();
        loop {
            let read = body.chunk();
            let timer = mock.sleep(idle);
            match select(Box::pin(read), timer).await {
                Either::Left((Some(Ok(_)), _)) => out.push("data"),
                Either::Left((Some(Err(_)), _)) => out.push("error"),
                Either::Left((None, _)) => {
                    out.push("end");
                    break;
                }
                Either::Right(_) => {
                    out.push("idle");
                    break;
                }
            }
        }
        out
    })
}

#[test]
fn stream_pauses_and_stalls_run_on_the_mock_clock() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::stream_text(["a", "b"]).pause_between(S(2)),
            MockReply::stream_text(["a", "b"]).pause_before(1, S(45)),
            MockReply::stream_text(["a", "b"]).stall_after(1),
        ]);
        let mut body = block_on(mock.send(chat())).unwrap().into_body();
        let got = read_with_idle(&mock, &mut body, S(30));
        assert_eq!(got, ["data", "data", "data", "data", "end"]);
        assert_eq!(mock.clock().elapsed(), S(6)); // 3 pauses of 2 s (4 events)

        let mut body = block_on(mock.send(chat())).unwrap().into_body();
        let got = read_with_idle(&mock, &mut body, S(30));
        assert_eq!(got, ["data", "idle"]);
        assert_eq!(mock.clock().elapsed(), S(36));

        let mut body = block_on(mock.send(chat())).unwrap().into_body();
        let got = read_with_idle(&mock, &mut body, S(30));
        assert_eq!(got, ["data", "idle"]);
        assert_eq!(mock.clock().elapsed(), S(66));
    });
}

#[test]
fn open_bodies_counts_live_streams() {
    bounded(|| {
        let mock =
            MockTransport::conversation([MockReply::stream_text(["a"]), MockReply::text("plain")]);
        let response = block_on(mock.send(chat())).unwrap();
        assert_eq!(mock.open_bodies(), 1);
        drop(response);
        assert_eq!(mock.open_bodies(), 0);
        let _plain = block_on(mock.send(chat())).unwrap();
        assert_eq!(mock.open_bodies(), 0);
    });
}

#[test]
fn a_manual_clock_holds_replies_until_advanced() {
    bounded(|| {
        let clock = MockClock::manual();
        let mock = MockTransport::with_clock(clock.clone());
        mock.push(MockReply::text("later").delay(S(3)));
        let mut send = mock.send(chat());
        assert!((&mut send).now_or_never().is_none());
        assert_eq!(mock.request_count(), 1);
        clock.advance(S(2));
        assert!((&mut send).now_or_never().is_none());
        clock.advance(S(1));
        let response = send.now_or_never().unwrap().unwrap();
        assert_eq!(response.status(), 200);
    });
}

#[test]
fn a_dropped_send_still_uses_up_its_reply() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::hang(), MockReply::text("retry")]);
        assert!(send_with_timeout(&mock, S(1)).is_none());
        assert_eq!(mock.remaining(), 1);
        assert!(send_with_timeout(&mock, S(1)).is_some());
    });
}
