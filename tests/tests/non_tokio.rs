//! The client needs no tokio: core and cygnet-mock under smol and futures-executor, and the
//! ureq + smol transport of the `custom_runtime` example against a loopback std server.
//!
//! Every test is bounded: the mock's virtual clock makes backoff and timeouts instant, and
//! the loopback tests use short real timeouts on smol's timer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use cygnet::mock::{MockReply, MockTransport};
use cygnet::{models, ChatCompletionRequest, Client, ClientBuilder, Error, Message};
use tests::streamed_text;

#[path = "../../examples/custom_runtime/transport.rs"]
mod transport;

use transport::UreqTransport;

fn request() -> ChatCompletionRequest {
    ChatCompletionRequest::new(models::CYGNET, vec![Message::user("What is an LLM?")])
}

fn mock_client(mock: &MockTransport) -> Client {
    ClientBuilder::new()
        .api_key("sk-test-fake")
        .transport(mock.clone())
        .build()
        .unwrap()
}

#[test]
fn chat_on_smol() {
    let mock = MockTransport::new().with_reply(MockReply::text("A language model."));
    let client = mock_client(&mock);
    let completion = smol::block_on(client.chat(&request())).unwrap();
    assert_eq!(completion.content(), Some("A language model."));
    assert_eq!(mock.last_request().unwrap().json()["model"], "cygnet");
}

#[test]
fn chat_on_futures_executor() {
    let mock = MockTransport::new().with_reply(MockReply::text("Hi."));
    let client = mock_client(&mock);
    let completion = futures_executor::block_on(client.chat(&request())).unwrap();
    assert_eq!(completion.content(), Some("Hi."));
}

#[test]
fn stream_on_smol() {
    let mock = MockTransport::new().with_reply(MockReply::stream_text(["Hel", "lo", "!"]));
    let client = mock_client(&mock);
    let text = smol::block_on(streamed_text(&client, &request())).unwrap();
    assert_eq!(text, "Hello!");
    assert_eq!(mock.last_request().unwrap().json()["stream"], true);
}

#[test]
fn retry_with_backoff_on_the_mock_clock_under_smol() {
    let mock = MockTransport::new()
        .with_reply(MockReply::json(
            503,
            serde_json::json!({"error": {"message": "busy"}}),
        ))
        .with_reply(MockReply::text("Second time lucky."));
    let client = mock_client(&mock);
    let started = Instant::now();
    let completion = smol::block_on(client.chat(&request())).unwrap();
    assert_eq!(completion.content(), Some("Second time lucky."));
    assert_eq!(mock.request_count(), 2);
    // One backoff sleep, taken on the virtual clock, not in real time.
    let backoffs = mock.completed_sleeps();
    assert_eq!(backoffs.len(), 1, "{backoffs:?}");
    assert!(backoffs[0] > Duration::ZERO);
    assert!(mock.clock().elapsed() >= backoffs[0]);
    assert!(started.elapsed() < Duration::from_secs(5));
    mock.assert_all_consumed();
}

#[test]
fn timeout_on_the_mock_clock_under_smol() {
    let mock = MockTransport::new().with_reply(MockReply::hang());
    let client = ClientBuilder::new()
        .api_key("sk-test-fake")
        .transport(mock.clone())
        .max_retries(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = smol::block_on(client.chat(&request())).unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(mock.clock().elapsed() >= Duration::from_secs(30));
    assert!(started.elapsed() < Duration::from_secs(5));
}

// --- the ureq + smol transport over loopback ---------------------------------------------

/// Reads one request (head and body) and returns its head.
fn read_request(socket: &TcpStream) -> String {
    let mut reader = BufReader::new(socket);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    reader.read_exact(&mut vec![0; length]).unwrap();
    head
}

/// A server on 127.0.0.1 that answers one request with `respond`; its thread returns the
/// request head.
fn serve_once(
    respond: impl FnOnce(&mut TcpStream) + Send + 'static,
) -> (SocketAddr, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let head = read_request(&socket);
        respond(&mut socket);
        head
    });
    (addr, handle)
}

fn ureq_client(addr: SocketAddr) -> ClientBuilder {
    ClientBuilder::new()
        .api_key("sk-test-fake")
        .base_url(format!("http://{addr}"))
        .transport(UreqTransport::new())
        .max_retries(0)
}

#[test]
fn ureq_transport_chat_under_smol() {
    let (addr, server) = serve_once(|socket| {
        let body = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Over ureq."},"finish_reason":"stop"}]}"#;
        write!(
            socket,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    let client = ureq_client(addr).build().unwrap();
    let completion = smol::block_on(client.chat(&request())).unwrap();
    assert_eq!(completion.content(), Some("Over ureq."));
    let head = server.join().unwrap().to_ascii_lowercase();
    assert!(head.starts_with("post /chat/completion "), "{head}");
    assert!(
        head.contains("authorization: bearer sk-test-fake"),
        "{head}"
    );
}

#[test]
fn ureq_transport_streams_each_event_as_it_arrives() {
    // The server sends the second event only after the client has handed out the first,
    // so the test passes only if the body really streams.
    let (first_seen_tx, first_seen_rx) = std::sync::mpsc::channel::<()>();
    let (addr, server) = serve_once(move |socket| {
        let event = |text: &str| {
            format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n"
            )
        };
        write!(
            socket,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{}",
            event("one ")
        )
        .unwrap();
        socket.flush().unwrap();
        first_seen_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        write!(socket, "{}data: [DONE]\n\n", event("two")).unwrap();
    });
    let client = ureq_client(addr).build().unwrap();
    let text = smol::block_on(async {
        let mut stream = client.chat_stream(&request()).await?;
        let mut text = String::new();
        while let Some(chunk) = stream.next_chunk().await {
            text.push_str(chunk?.content().unwrap_or_default());
            let _ = first_seen_tx.send(());
        }
        Ok::<_, Error>(text)
    })
    .unwrap();
    assert_eq!(text, "one two");
    server.join().unwrap();
}

#[test]
fn ureq_transport_error_status_is_an_api_error() {
    let (addr, server) = serve_once(|socket| {
        let body = r#"{"error":{"message":"Invalid API key"}}"#;
        write!(
            socket,
            "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    let client = ureq_client(addr).build().unwrap();
    let error = smol::block_on(client.chat(&request())).unwrap_err();
    let api = error.as_api().expect("an API error");
    assert_eq!(api.status.map(|s| s.as_u16()), Some(401));
    assert_eq!(api.message.as_deref(), Some("Invalid API key"));
    assert!(!format!("{error} {error:?}").contains("sk-test-fake"));
    server.join().unwrap();
}

#[test]
fn ureq_transport_idle_timeout_fires_on_smols_timer() {
    // Headers and one event, then silence: core's idle timeout must end the stream.
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let (addr, server) = serve_once(move |socket| {
        write!(socket, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\ndata: {{\"choices\":[]}}\n\n").unwrap();
        socket.flush().unwrap();
        // Hold the connection open until the client has given up (bounded either way).
        let _ = release_rx.recv_timeout(Duration::from_secs(10));
    });
    let client = ureq_client(addr)
        .stream_idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    let result = smol::block_on(async {
        let mut stream = client.chat_stream(&request()).await?;
        while let Some(chunk) = stream.next_chunk().await {
            chunk?;
        }
        Ok::<_, Error>(())
    });
    let error = result.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    release_tx.send(()).unwrap();
    server.join().unwrap();
}

#[test]
fn ureq_transport_refused_connection_is_a_connect_error() {
    // Bind then drop: nothing listens on this port any more.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = ureq_client(addr).build().unwrap();
    match smol::block_on(client.chat(&request())) {
        Err(Error::Transport(e)) => {
            assert_eq!(e.kind(), cygnet::transport::TransportErrorKind::Connect)
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[test]
fn ureq_transport_errors_read_like_every_other_transport() {
    // A loopback port with nothing listening on it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = ureq_client(SocketAddr::from(([127, 0, 0, 1], port)))
        .build()
        .unwrap();
    let error = smol::block_on(client.chat(&request())).unwrap_err();
    let text = error.to_string();
    let prefix = format!("POST 127.0.0.1:{port}: could not connect after 1 attempt: ");
    assert!(text.starts_with(&prefix), "{text}");
    assert_eq!(error.attempts(), Some(1));
}
