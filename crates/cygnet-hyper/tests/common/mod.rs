//! A tiny hand-rolled HTTP/1.1 server for loopback tests.
//!
//! Hand-rolled rather than a hyper server so each test controls the bytes on the wire
//! exactly: when each chunk goes out, when the connection closes, what a half-sent body
//! looks like.
#![allow(dead_code)] // each test binary uses a different part

use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Upper bound for every test, so a hang fails instead of blocking CI.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `test` under [`TEST_TIMEOUT`].
pub async fn bounded<F: Future>(test: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("test took longer than its time bound")
}

/// A request as the server received it.
#[derive(Debug)]
pub struct Received {
    /// The request line, e.g. `POST /chat/completion HTTP/1.1`.
    pub request_line: String,
    /// Header names lowercased, values as sent.
    pub headers: Vec<(String, String)>,
    /// The body, read by `content-length`.
    pub body: Vec<u8>,
}

impl Received {
    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Binds a listener on 127.0.0.1 with a free port.
pub async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, format!("127.0.0.1:{}", addr.port()))
}

/// Reads one request (head and `content-length` body) from `stream`.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Received {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "client closed before sending a whole request head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap().to_string();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_string())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "client closed before sending the whole body");
        body.extend_from_slice(&chunk[..n]);
    }
    Received {
        request_line,
        headers,
        body,
    }
}

/// Writes a whole response with a `content-length` body.
pub async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    content_type: &str,
    body: &[u8],
) {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    stream.flush().await.unwrap();
}

/// Writes a response head announcing a chunked body.
pub async fn write_chunked_head<S: AsyncWrite + Unpin>(stream: &mut S, content_type: &str) {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
}

/// Writes one chunk of a chunked body.
pub async fn write_chunk<S: AsyncWrite + Unpin>(stream: &mut S, data: &[u8]) {
    stream
        .write_all(format!("{:x}\r\n", data.len()).as_bytes())
        .await
        .unwrap();
    stream.write_all(data).await.unwrap();
    stream.write_all(b"\r\n").await.unwrap();
    stream.flush().await.unwrap();
}

/// Ends a chunked body.
pub async fn write_last_chunk<S: AsyncWrite + Unpin>(stream: &mut S) {
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    stream.flush().await.unwrap();
}

/// Waits until the peer closes `stream` (read returns 0 or an error); `true` if it did
/// within `limit`.
pub async fn closed_within<S: AsyncRead + Unpin>(stream: &mut S, limit: Duration) -> bool {
    let wait = async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    tokio::time::timeout(limit, wait).await.is_ok()
}

/// Accepts one connection.
pub async fn accept(listener: &TcpListener) -> TcpStream {
    listener.accept().await.unwrap().0
}
