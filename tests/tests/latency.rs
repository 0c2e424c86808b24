//! No added latency: a chunk reaches the caller as soon as its last byte is read.
//!
//! The loopback server here writes one event and then waits until the test says it has
//! received that event's chunk before it writes the next. A client that held a chunk back
//! (waiting for more bytes, a fuller buffer, or the end of the body) would never get the
//! signal sent, and the test would fail at its timeout instead. No timing is asserted.

use std::time::Duration;

use cygnet::{ChatCompletionChunk, Client};
use tests::{chunk_event, seed_request, FAKE_KEY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The bound on the whole test: generous, since a correct client never waits on the server.
const LIMIT: Duration = Duration::from_secs(30);

const DELTAS: &[&str] = &["One ", "chunk ", "at ", "a ", "time", ""];

/// Reads one HTTP request (head and `content-length` body) from `socket`.
async fn read_request(socket: &mut TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    let head_end = loop {
        let n = socket.read(&mut byte).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&byte[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut byte).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&byte[..n]);
    }
    Ok(())
}

/// Serves one streaming answer, one event per chunked-encoding frame, each written only after
/// `received` says the previous one reached the caller.
async fn pausing_server(listener: TcpListener, mut received: mpsc::Receiver<()>) {
    let (mut socket, _) = listener.accept().await.expect("the client connects");
    socket.set_nodelay(true).expect("nodelay");
    read_request(&mut socket).await.expect("a request");
    socket
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
              transfer-encoding: chunked\r\n\r\n",
        )
        .await
        .expect("write the head");
    let mut events: Vec<String> = DELTAS
        .iter()
        .map(|d| chunk_event(serde_json::json!({ "content": d }), serde_json::Value::Null))
        .collect();
    events.push("data: [DONE]\n\n".to_owned());
    let last = events.len() - 1;
    for (i, event) in events.into_iter().enumerate() {
        let frame = format!("{:x}\r\n{event}\r\n", event.len());
        socket
            .write_all(frame.as_bytes())
            .await
            .expect("write an event");
        socket.flush().await.expect("flush");
        if i < last {
            // Pause until the test has the chunk just sent; only then send the next.
            received.recv().await.expect("the test signals each chunk");
        }
    }
    socket.write_all(b"0\r\n\r\n").await.expect("end the body");
}

/// A pausing server on loopback, a client of it, and the sender that lets the server go on.
async fn start() -> (Client, mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (signal, received) = mpsc::channel(1);
    let server = tokio::spawn(pausing_server(listener, received));
    let client = cygnet::ClientBuilder::new()
        .api_key(FAKE_KEY)
        .base_url(base)
        .transport(cygnet::HyperTransport::new())
        .build()
        .expect("client");
    (client, signal, server)
}

/// Waits for the server to have sent everything.
async fn finish(server: tokio::task::JoinHandle<()>) {
    tokio::time::timeout(LIMIT, server)
        .await
        .expect("the server finishes")
        .expect("the server task");
}

#[tokio::test]
async fn each_chunk_is_delivered_before_the_server_sends_the_next() {
    let (client, signal, server) = start().await;

    let run = async {
        let mut stream = client.chat_stream(&seed_request()).await.expect("stream");
        let mut got: Vec<ChatCompletionChunk> = Vec::new();
        while let Some(chunk) = stream.next_chunk().await {
            got.push(chunk.expect("a chunk"));
            // Only now may the server send the next event.
            let _ = signal.send(()).await;
        }
        got
    };
    let got = tokio::time::timeout(LIMIT, run)
        .await
        .expect("a chunk was held back until more bytes came: the stream stalled");
    let texts: Vec<&str> = got.iter().map(|c| c.content().unwrap_or("")).collect();
    assert_eq!(texts, DELTAS);
    finish(server).await;
}

#[tokio::test]
async fn each_lent_chunk_is_delivered_before_the_server_sends_the_next() {
    let (client, signal, server) = start().await;

    let run = async {
        let mut stream = client.chat_stream(&seed_request()).await.expect("stream");
        let mut texts = Vec::new();
        while let Some(text) = stream
            .next_chunk_with(|chunk| chunk.content().unwrap_or("").to_owned())
            .await
        {
            texts.push(text.expect("a chunk"));
            let _ = signal.send(()).await;
        }
        texts
    };
    let texts = tokio::time::timeout(LIMIT, run)
        .await
        .expect("a chunk was held back until more bytes came: the stream stalled");
    assert_eq!(texts, DELTAS);
    finish(server).await;
}
