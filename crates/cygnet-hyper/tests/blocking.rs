//! The blocking client over real loopback sockets. The tests themselves run on plain threads
//! with no runtime, as a blocking caller would; the fake server runs on a runtime of its own.
#![cfg(feature = "blocking")]

mod common;

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use cygnet_core::types::ModerationRequest;
use cygnet_core::{ApiErrorKind, Error};
use cygnet_hyper::blocking;
use cygnet_test_support::{bounded_thread, seed_request};

const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"cygnet","choices":[{"index":0,"message":{"role":"assistant","content":"A model of language."},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#;

fn chunk_event(content: &str) -> String {
    format!(
        "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"cygnet\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\"finish_reason\":null}}]}}\n\n"
    )
}

/// A runtime on other threads for the fake server, and its listener's address.
struct Server {
    runtime: tokio::runtime::Runtime,
    addr: String,
}

impl Server {
    /// A server that accepts one connection, reads one request from it, and hands both to
    /// `serve`.
    fn start<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpStream, Received) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        // Bound with std so this works from inside another runtime too (no `block_on`).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener).unwrap()
        };
        runtime.spawn(async move {
            let mut stream = accept(&listener).await;
            let received = read_request(&mut stream).await;
            serve(stream, received).await;
        });
        Server { runtime, addr }
    }

    /// A server that answers one request with `status` and the JSON `body`, and hands the
    /// request it received to the returned channel.
    fn answering_json(status: u16, body: &'static [u8]) -> (Self, mpsc::Receiver<Received>) {
        let (received_tx, received_rx) = mpsc::channel();
        let server = Server::start(move |mut stream, received| async move {
            write_response(&mut stream, status, "application/json", body).await;
            let _ = received_tx.send(received);
        });
        (server, received_rx)
    }

    fn client(&self) -> blocking::Client {
        blocking::Client::builder()
            .api_key("sk-test-fake")
            .base_url(format!("http://{}/", self.addr))
            .max_retries(0)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }
}

#[test]
fn chat_sends_the_request_and_parses_the_answer() {
    bounded_thread(|| {
        let (server, received_rx) = Server::answering_json(200, COMPLETION.as_bytes());
        let client = server.client();
        assert!(!format!("{client:?}").contains("sk-test-fake"));

        let completion = client.chat(&seed_request()).unwrap();
        assert_eq!(completion.content(), Some("A model of language."));

        let received = received_rx.recv().unwrap();
        assert_eq!(received.request_line, "POST /chat/completion HTTP/1.1");
        assert_eq!(
            received.header("authorization"),
            Some("Bearer sk-test-fake")
        );
        assert_eq!(received.header("content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&received.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "messages": [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": "What is a large language model?"}
                ],
                "model": "cygnet"
            })
        );
    });
}

#[test]
fn chat_stream_yields_the_first_chunk_before_the_server_sends_the_rest() {
    bounded_thread(|| {
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let (received_tx, received_rx) = mpsc::channel();
        let server = Server::start(|mut stream, received| async move {
            received_tx.send(received).unwrap();
            write_chunked_head(&mut stream, "text/event-stream").await;
            write_chunk(&mut stream, chunk_event("A model").as_bytes()).await;
            // The rest goes out only after the client has shown the first chunk.
            go_rx.await.unwrap();
            write_chunk(&mut stream, chunk_event(" of language.").as_bytes()).await;
            write_chunk(&mut stream, b"data: [DONE]\n\n").await;
            write_last_chunk(&mut stream).await;
        });
        let client = server.client();

        let mut stream = client.chat_stream(&seed_request()).unwrap();
        assert_eq!(stream.status().map(|s| s.as_u16()), Some(200));
        let first = stream.next().unwrap().unwrap();
        assert_eq!(first.content(), Some("A model"));
        go_tx.send(()).unwrap();
        let rest: Vec<String> = stream
            .by_ref()
            .map(|chunk| chunk.unwrap().content().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(rest, [" of language."]);
        assert_eq!(stream.chunks_received(), 2);
        assert!(stream.next().is_none());

        let received = received_rx.recv().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&received.body).unwrap();
        assert_eq!(body["stream"], true);
    });
}

#[test]
fn dropping_the_stream_closes_the_connection() {
    bounded_thread(|| {
        let (closed_tx, closed_rx) = mpsc::channel();
        let server = Server::start(|mut stream, _| async move {
            write_chunked_head(&mut stream, "text/event-stream").await;
            write_chunk(&mut stream, chunk_event("A model").as_bytes()).await;
            let closed = closed_within(&mut stream, Duration::from_secs(3)).await;
            closed_tx.send(closed).unwrap();
        });
        let client = server.client();
        let mut stream = client.chat_stream(&seed_request()).unwrap();
        stream.next().unwrap().unwrap();
        drop(stream);
        assert!(
            closed_rx.recv().unwrap(),
            "server did not see the connection closed after the stream was dropped"
        );
    });
}

#[test]
fn an_error_status_is_a_typed_api_error() {
    bounded_thread(|| {
        let (server, _) = Server::answering_json(401, br#"{"error":{"message":"bad key"}}"#);
        let error = server.client().chat(&seed_request()).unwrap_err();
        let api = error.as_api().expect("an API error");
        assert_eq!(api.kind, ApiErrorKind::Authentication);
        assert_eq!(api.status.map(|s| s.as_u16()), Some(401));
        assert_eq!(api.message.as_deref(), Some("bad key"));
        assert!(!error.to_string().contains("sk-test-fake"));
    });
}

#[test]
fn moderate_posts_to_the_moderation_path() {
    bounded_thread(|| {
        let (server, received_rx) = Server::answering_json(
            200,
            br#"{"id":"m1","created":1,"detected":0.1,"flagged":false,"model":"cygnet","passed":0.9}"#,
        );
        let response = server
            .client()
            .moderate(&ModerationRequest::new("hello"))
            .unwrap();
        assert!(!response.flagged);
        let received = received_rx.recv().unwrap();
        assert_eq!(received.request_line, "POST /moderation HTTP/1.1");
    });
}

#[test]
fn a_missing_key_is_a_config_error() {
    let error = blocking::Client::builder()
        .map_async(|b| b.api_key("   "))
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error}");
}

/// Wrong but survivable: called from async code it blocks that thread, and neither the call
/// nor dropping the client panics.
#[tokio::test(flavor = "current_thread")]
async fn called_from_inside_a_runtime_it_still_answers_and_drops_cleanly() {
    let (server, _) = Server::answering_json(200, COMPLETION.as_bytes());
    let client = server.client();
    let completion = client.chat(&seed_request()).unwrap();
    assert_eq!(completion.content(), Some("A model of language."));
    drop(client);
    // The server's runtime is dropped in a blocking-safe way too.
    server.runtime.shutdown_background();
}

#[test]
fn post_stream_raw_yields_the_raw_events() {
    bounded_thread(|| {
        let (received_tx, received_rx) = mpsc::channel();
        let server = Server::start(|mut stream, received| async move {
            received_tx.send(received).unwrap();
            write_chunked_head(&mut stream, "text/event-stream").await;
            // Events this SDK has no type for, cut across chunks of the body.
            write_chunk(&mut stream, b"event: progress\nid: 7\ndata: {\"step\":").await;
            write_chunk(
                &mut stream,
                b"1}\n\n: a comment\ndata: plain\ndata: text\n\n",
            )
            .await;
            write_chunk(&mut stream, b"data: [DONE]\n\n").await;
            write_last_chunk(&mut stream).await;
        });
        let client = server.client();
        let body = serde_json::json!({"model": "custom", "stream": true, "new_field": [1, 2]});

        let mut events = client.post_stream_raw("/custom/stream", &body).unwrap();
        assert_eq!(events.status().map(|s| s.as_u16()), Some(200));
        assert_eq!(
            events
                .headers()
                .and_then(|h| h.get("content-type"))
                .map(|v| v.to_str().unwrap()),
            Some("text/event-stream")
        );
        let first = events.next().unwrap().unwrap();
        assert_eq!(first.event, "progress");
        assert_eq!(first.data, r#"{"step":1}"#);
        assert_eq!(first.id.as_deref(), Some("7"));
        let rest: Vec<_> = events.by_ref().map(|event| event.unwrap()).collect();
        let data: Vec<_> = rest.iter().map(|event| event.data.as_str()).collect();
        assert_eq!(data, ["plain\ntext", "[DONE]"]);
        assert_eq!(rest[0].event, "message");
        assert!(events.next().is_none());
        assert!(!format!("{events:?}").contains("sk-test-fake"));

        let received = received_rx.recv().unwrap();
        assert_eq!(received.request_line, "POST /custom/stream HTTP/1.1");
        let sent: serde_json::Value = serde_json::from_slice(&received.body).unwrap();
        assert_eq!(sent, body);
    });
}

#[test]
fn post_stream_raw_turns_an_error_status_into_a_typed_api_error() {
    bounded_thread(|| {
        let (server, _) = Server::answering_json(400, br#"{"error":{"message":"unknown field"}}"#);
        let error = server
            .client()
            .post_stream_raw("/custom/stream", &serde_json::json!({}))
            .unwrap_err();
        let api = error.as_api().expect("an API error");
        assert_eq!(api.status.map(|s| s.as_u16()), Some(400));
        assert_eq!(api.message.as_deref(), Some("unknown field"));
    });
}

#[test]
fn post_stream_raw_cut_short_yields_the_events_then_an_error() {
    bounded_thread(|| {
        let server = Server::start(|mut stream, _| async move {
            write_chunked_head(&mut stream, "text/event-stream").await;
            write_chunk(&mut stream, b"data: one\n\ndata: half an ev").await;
            write_last_chunk(&mut stream).await;
        });
        let items: Vec<_> = server
            .client()
            .post_stream_raw("/custom/stream", &serde_json::json!({}))
            .unwrap()
            .collect();
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap().data, "one");
        assert!(items[1].is_err(), "{items:?}");
    });
}

/// A stream with a role-only chunk, two text chunks and a usage-only chunk.
async fn serve_toolkit_stream(mut stream: tokio::net::TcpStream, _: Received) {
    write_chunked_head(&mut stream, "text/event-stream").await;
    let role = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"cygnet\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n";
    write_chunk(&mut stream, role.as_bytes()).await;
    write_chunk(&mut stream, chunk_event("A model").as_bytes()).await;
    write_chunk(&mut stream, chunk_event(" of language.").as_bytes()).await;
    let last = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"cygnet\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\n";
    write_chunk(&mut stream, last.as_bytes()).await;
    write_chunk(&mut stream, b"data: [DONE]\n\n").await;
    write_last_chunk(&mut stream).await;
}

#[test]
fn chat_stream_text_yields_only_the_text_pieces() {
    bounded_thread(|| {
        let server = Server::start(serve_toolkit_stream);
        let pieces: Vec<String> = server
            .client()
            .chat_stream(&seed_request())
            .unwrap()
            .text()
            .map(|piece| piece.unwrap())
            .collect();
        assert_eq!(pieces, ["A model", " of language."]);
    });
}

#[test]
fn chat_stream_collect_completion_gives_the_whole_answer() {
    bounded_thread(|| {
        let server = Server::start(serve_toolkit_stream);
        let completion = server
            .client()
            .chat_stream(&seed_request())
            .unwrap()
            .collect_completion()
            .unwrap();
        assert_eq!(completion.id, "c1");
        assert_eq!(completion.content(), Some("A model of language."));
        assert_eq!(completion.usage.map(|u| u.total_tokens), Some(7));
    });
}

#[test]
fn chat_stream_accumulate_yields_every_chunk_and_the_completion_so_far() {
    bounded_thread(|| {
        let server = Server::start(serve_toolkit_stream);
        let mut stream = server
            .client()
            .chat_stream(&seed_request())
            .unwrap()
            .accumulate();
        stream.next().unwrap().unwrap();
        stream.next().unwrap().unwrap();
        assert_eq!(stream.completion().content(), Some("A model"));
        let rest: Vec<_> = stream.by_ref().map(|chunk| chunk.unwrap()).collect();
        assert_eq!(rest.len(), 2);
        assert_eq!(stream.accumulator().chunks(), 4);
        let completion = stream.into_completion();
        assert_eq!(completion.content(), Some("A model of language."));
    });
}

#[test]
fn collect_completion_of_a_stream_cut_short_is_an_error() {
    bounded_thread(|| {
        let server = Server::start(|mut stream, _| async move {
            write_chunked_head(&mut stream, "text/event-stream").await;
            write_chunk(&mut stream, chunk_event("A model").as_bytes()).await;
            write_last_chunk(&mut stream).await;
        });
        let outcome = server
            .client()
            .chat_stream(&seed_request())
            .unwrap()
            .collect_completion();
        assert!(outcome.is_err(), "{outcome:?}");
    });
}

/// The client and its streams go anywhere: shared between threads, read on another thread
/// than the one that opened them.
#[test]
fn the_client_and_its_streams_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<blocking::Client>();
    send::<blocking::ChatStream>();
    send::<blocking::TextStream>();
    send::<blocking::AccumulatingStream>();
    send::<blocking::SseStream>();
}

/// A server that answers one streaming request with `count` chunks, all in one write, then
/// `[DONE]`.
async fn serve_many_chunks(mut stream: tokio::net::TcpStream, count: usize) {
    write_chunked_head(&mut stream, "text/event-stream").await;
    let mut body = String::new();
    for i in 0..count {
        body.push_str(&chunk_event(&format!("{i} ")));
    }
    body.push_str("data: [DONE]\n\n");
    write_chunk(&mut stream, body.as_bytes()).await;
    write_last_chunk(&mut stream).await;
}

#[test]
fn a_stream_opened_on_one_thread_is_read_on_another() {
    bounded_thread(|| {
        let server = Server::start(|stream, _| serve_many_chunks(stream, 3));
        let client = server.client();
        let stream = client.chat_stream(&seed_request()).unwrap();
        let text = std::thread::spawn(move || stream.text().collect_text().unwrap())
            .join()
            .unwrap();
        assert_eq!(text, "0 1 2 ");
        // The client still works from this thread after its stream ended elsewhere.
        drop(server);
        let (server, _) = Server::answering_json(200, COMPLETION.as_bytes());
        let client = server.client();
        let clone = client.clone();
        let answer = std::thread::spawn(move || clone.chat(&seed_request()).unwrap())
            .join()
            .unwrap();
        assert_eq!(answer.content(), Some("A model of language."));
    });
}

/// Read from a task of another runtime (wrong, but survivable), a stream keeps its timers
/// working through many waits: that task's cooperative budget is not refilled while it
/// blocks, so the client must not let it decide whether its idle timer has fired.
#[test]
fn a_stream_read_from_inside_a_runtime_still_times_out_after_many_waits() {
    bounded_thread(|| {
        const CHUNKS: usize = 300;
        let server = Server::start(|mut stream, _| async move {
            write_chunked_head(&mut stream, "text/event-stream").await;
            // One chunk per write with a pause, so the client waits (and polls its idle
            // timer) before each one; then silence, without `[DONE]`.
            for i in 0..CHUNKS {
                write_chunk(&mut stream, chunk_event(&format!("{i} ")).as_bytes()).await;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let client = blocking::Client::builder()
            .api_key("sk-test-fake")
            .base_url(format!("http://{}/", server.addr))
            .max_retries(0)
            .stream_idle_timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let caller = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (chunks, last) = caller.block_on(async {
            let mut stream = client.chat_stream(&seed_request()).unwrap();
            let mut chunks = 0;
            for chunk in stream.by_ref().take(CHUNKS) {
                chunk.unwrap();
                chunks += 1;
            }
            (chunks, stream.next())
        });
        assert_eq!(chunks, CHUNKS);
        assert!(
            matches!(last, Some(Err(Error::Timeout(_)))),
            "expected the idle timeout, got {last:?}"
        );
        drop(client);
        server.runtime.shutdown_background();
    });
}

#[test]
fn next_chunk_with_lends_every_chunk_then_ends() {
    bounded_thread(|| {
        let server = Server::start(|stream, _| serve_many_chunks(stream, 3));
        let client = server.client();
        let mut stream = client.chat_stream(&seed_request()).unwrap();
        let mut text = String::new();
        while let Some(piece) =
            stream.next_chunk_with(|chunk| chunk.text_delta().unwrap_or_default().to_owned())
        {
            text.push_str(&piece.unwrap());
        }
        assert_eq!(text, "0 1 2 ");
        assert_eq!(stream.chunks_received(), 3);
        assert!(stream.next().is_none());
    });
}

/// Several times the relay's read-ahead, read with pauses so the relay fills its queue, stops
/// and resumes: every chunk arrives once and in order.
#[test]
fn a_long_stream_read_slowly_arrives_whole_and_in_order() {
    bounded_thread(|| {
        const CHUNKS: usize = 10_000;
        let server = Server::start(|stream, _| serve_many_chunks(stream, CHUNKS));
        let client = server.client();
        let mut stream = client.chat_stream(&seed_request()).unwrap();
        let mut text = String::new();
        let mut read = 0;
        while let Some(piece) =
            stream.next_chunk_with(|chunk| chunk.text_delta().unwrap_or_default().to_owned())
        {
            text.push_str(&piece.unwrap());
            read += 1;
            if read % 2_000 == 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let expected: String = (0..CHUNKS).map(|i| format!("{i} ")).collect();
        assert!(text == expected, "the text arrived changed");
        assert_eq!(stream.chunks_received(), CHUNKS as u64);
    });
}

/// A stream dropped while the server still has much to send: the relay, waiting for room,
/// is stopped, and the connection closes.
#[test]
fn dropping_a_stream_the_server_keeps_filling_closes_the_connection() {
    bounded_thread(|| {
        use tokio::io::AsyncWriteExt;

        let (closed_tx, closed_rx) = mpsc::channel();
        let server = Server::start(|mut stream, _| async move {
            write_chunked_head(&mut stream, "text/event-stream").await;
            let event = chunk_event("more ");
            let chunk = format!("{:x}\r\n{event}\r\n", event.len());
            // Writes until the client goes away (or 10 s, whichever comes first).
            let closed = tokio::time::timeout(Duration::from_secs(10), async {
                while stream.write_all(chunk.as_bytes()).await.is_ok() {}
            })
            .await
            .is_ok();
            closed_tx.send(closed).unwrap();
        });
        let client = server.client();
        let mut stream = client.chat_stream(&seed_request()).unwrap();
        stream.next().unwrap().unwrap();
        // Let the relay fill its queue and wait for room.
        std::thread::sleep(Duration::from_millis(100));
        drop(stream);
        assert!(
            closed_rx.recv().unwrap(),
            "the server could write on after the stream was dropped"
        );
    });
}
