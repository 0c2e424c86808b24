//! No added latency: a chunk reaches the caller as soon as its last byte is read.
//!
//! The loopback server here writes one event and then waits until the test says it has
//! received that event's chunk before it writes the next. A client that held a chunk back
//! (waiting for more bytes, a fuller buffer, or the end of the body) would never get the
//! signal sent, and the test would fail at its timeout instead. No timing is asserted.

use std::time::Duration;

use cygnet::types::ChatCompletionChunkRef;
use cygnet::{ChatCompletionChunk, Client};
use cygnet_test_support::wire;
use tests::{chunk_event, hyper_client, seed_request};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The bound on the whole test: generous, since a correct client never waits on the server.
const LIMIT: Duration = Duration::from_secs(30);

const DELTAS: &[&str] = &["One ", "chunk ", "at ", "a ", "time", ""];

/// Serves one streaming answer, one event per chunked-encoding frame, each written only after
/// `received` says the previous one reached the caller.
async fn pausing_server(listener: TcpListener, mut received: mpsc::Receiver<()>) {
    let mut socket = wire::accept(&listener).await;
    socket.set_nodelay(true).expect("nodelay");
    wire::read_request(&mut socket).await;
    wire::write_chunked_head(&mut socket, "text/event-stream").await;
    let mut events: Vec<String> = DELTAS
        .iter()
        .map(|d| chunk_event(serde_json::json!({ "content": d }), serde_json::Value::Null))
        .collect();
    events.push("data: [DONE]\n\n".to_owned());
    let last = events.len() - 1;
    for (i, event) in events.into_iter().enumerate() {
        wire::write_chunk(&mut socket, event.as_bytes()).await;
        if i < last {
            // Pause until the test has the chunk just sent; only then send the next.
            received.recv().await.expect("the test signals each chunk");
        }
    }
    wire::write_last_chunk(&mut socket).await;
}

/// A pausing server on loopback, a client of it, and the sender that lets the server go on.
async fn start() -> (Client, mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
    let (listener, addr) = wire::listener().await;
    let (signal, received) = mpsc::channel(1);
    let server = tokio::spawn(pausing_server(listener, received));
    let client = hyper_client(format!("http://{addr}"))
        .build()
        .expect("client");
    (client, signal, server)
}

/// Streams the pausing server's answer, reading each chunk with `next_chunk_with` (`lent`)
/// or `next_chunk`, and signals the server after each; asserts within [`LIMIT`] that the
/// texts are [`DELTAS`], then waits for the server to have sent everything.
async fn assert_delivered_one_by_one(lent: bool) {
    let (client, signal, server) = start().await;
    let run = async {
        let mut stream = client.chat_stream(&seed_request()).await.expect("stream");
        let mut texts = Vec::new();
        loop {
            let next = if lent {
                let text = |c: ChatCompletionChunkRef<'_>| c.content().unwrap_or("").to_owned();
                stream.next_chunk_with(text).await
            } else {
                let text = |c: ChatCompletionChunk| c.content().unwrap_or("").to_owned();
                stream.next_chunk().await.map(|chunk| chunk.map(text))
            };
            let Some(next) = next else { break };
            texts.push(next.expect("a chunk"));
            // Only now may the server send the next event.
            let _ = signal.send(()).await;
        }
        texts
    };
    let texts = tokio::time::timeout(LIMIT, run)
        .await
        .expect("a chunk was held back until more bytes came: the stream stalled");
    assert_eq!(texts, DELTAS);
    tokio::time::timeout(LIMIT, server)
        .await
        .expect("the server finishes")
        .expect("the server task");
}

#[tokio::test]
async fn each_chunk_is_delivered_before_the_server_sends_the_next() {
    assert_delivered_one_by_one(false).await;
}

#[tokio::test]
async fn each_lent_chunk_is_delivered_before_the_server_sends_the_next() {
    assert_delivered_one_by_one(true).await;
}
