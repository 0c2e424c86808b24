//! The API behind nginx: a loopback HTTP/1.1 server in the test process that answers like the
//! Cygnet API (chat JSON, SSE streams, moderation), and cuts a stream mid-way on request.
//!
//! Written by hand over tokio (one request per connection, which is what nginx sends upstream
//! by default) because the tests need to control the stream's bytes, chunk by chunk, down to
//! breaking the chunked encoding half-way; a framework would hide exactly that.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The user message that makes the backend cut its stream after two events.
pub const CUT_STREAM: &str = "cut the stream";

/// How many numbered deltas follow the echo in every stream.
pub const DELTAS_PER_STREAM: usize = 20;

/// The text a stream for `user` carries in total.
pub fn streamed_text(user: &str) -> String {
    let mut text = format!("echo:{user}");
    for i in 0..DELTAS_PER_STREAM {
        text.push_str(&format!(" {i}"));
    }
    text
}

/// The answer of a non-streaming chat for `user`.
pub fn chat_answer(user: &str) -> String {
    format!("answer to {user}")
}

/// The backend; stops accepting when dropped.
pub struct Backend {
    port: u16,
    requests: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Backend {
    /// Starts the backend on a free loopback port, on the current tokio runtime.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind backend");
        let port = listener.local_addr().expect("backend address").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    // A connection that breaks only fails the request it carried.
                    let _ = serve(socket, &counter).await;
                });
            }
        });
        Self {
            port,
            requests,
            task,
        }
    }

    /// The port nginx forwards to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many requests reached the backend.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Reads one request and answers it.
async fn serve(mut socket: TcpStream, counter: &AtomicUsize) -> std::io::Result<()> {
    let (head, body) = read_request(&mut socket).await?;
    counter.fetch_add(1, Ordering::SeqCst);
    let path = head
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or_default()
        .to_owned();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if path == "/moderation" {
        let input = request["input"].as_str().unwrap_or_default();
        let flagged = input.contains("ignore previous instructions");
        let verdict = json!({
            "id": "mod-test", "created": 1_700_000_000, "model": "cygnet-v0.2",
            "detected": if flagged { 0.97 } else { 0.02 },
            "passed": if flagged { 0.03 } else { 0.98 },
            "flagged": flagged
        });
        return write_json(&mut socket, &verdict).await;
    }
    if path != "/chat/completion" {
        let body = json!({"error": {"message": format!("no route {path}")}}).to_string();
        let head = format!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).await?;
        return socket.write_all(body.as_bytes()).await;
    }
    let user = request["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .and_then(|message| message["content"].as_str())
        .unwrap_or_default()
        .to_owned();
    if request["stream"] != json!(true) {
        return write_json(&mut socket, &tests::completion_json(&chat_answer(&user))).await;
    }
    socket
        .write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
              Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        )
        .await?;
    let echo = format!("echo:{user}");
    let mut deltas = vec![echo];
    deltas.extend((0..DELTAS_PER_STREAM).map(|i| format!(" {i}")));
    for (i, delta) in deltas.iter().enumerate() {
        let event = tests::delta_events(&[delta.as_str()], i == 0);
        write_chunk(&mut socket, event.as_bytes()).await?;
        if user == CUT_STREAM && i == 1 {
            // Half of a chunk, then the connection goes: the chunked body is broken.
            socket.write_all(b"40\r\ndata: {\"id\"").await?;
            socket.flush().await?;
            return Ok(());
        }
    }
    write_chunk(&mut socket, tests::stream_end().as_bytes()).await?;
    socket.write_all(b"0\r\n\r\n").await?;
    socket.flush().await
}

async fn write_chunk(socket: &mut TcpStream, data: &[u8]) -> std::io::Result<()> {
    socket
        .write_all(format!("{:x}\r\n", data.len()).as_bytes())
        .await?;
    socket.write_all(data).await?;
    socket.write_all(b"\r\n").await?;
    socket.flush().await
}

async fn write_json(socket: &mut TcpStream, value: &Value) -> std::io::Result<()> {
    let body = value.to_string();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body.as_bytes()).await?;
    socket.flush().await
}

/// The request head (as text) and its body (by `Content-Length`).
async fn read_request(socket: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((head, body))
}
