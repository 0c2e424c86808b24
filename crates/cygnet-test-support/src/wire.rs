//! A raw HTTP/1.1 loopback server's building blocks, over tokio.
//!
//! Hand-rolled rather than a hyper server so that each test controls the bytes on the wire
//! exactly: when each chunk goes out, when the connection closes, what a half-sent body looks
//! like. Every read and write here panics on failure: these are test helpers, and a failed
//! write is the test's failure.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::fixtures::FAKE_KEY;

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    /// The request line, e.g. `POST /chat/completion HTTP/1.1`.
    pub request_line: String,
    /// Header names in lower case, values as sent, in order.
    pub headers: Vec<(String, String)>,
    /// The body, read by `content-length`.
    pub body: Vec<u8>,
}

impl Received {
    /// The method, e.g. `POST`.
    pub fn method(&self) -> &str {
        self.request_line.split(' ').next().unwrap_or_default()
    }

    /// The request target, e.g. `/chat/completion`.
    pub fn path(&self) -> &str {
        self.request_line.split(' ').nth(1).unwrap_or_default()
    }

    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts what every cygnet request carries: POST to `path`, the bearer [`FAKE_KEY`], JSON
    /// content type and accept, and a `cygnet-rust/` user agent.
    pub fn assert_cygnet_request(&self, path: &str) {
        assert_eq!(self.method(), "POST");
        assert_eq!(self.path(), path);
        let bearer = format!("Bearer {FAKE_KEY}");
        assert_eq!(self.header("authorization"), Some(bearer.as_str()));
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("accept"), Some("application/json"));
        let agent = self.header("user-agent").unwrap_or_default();
        assert!(agent.starts_with("cygnet-rust/"), "user agent {agent:?}");
    }

    /// The body parsed as JSON (panics with the body shown if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "request body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Binds a listener on 127.0.0.1 with a free port; also returns `127.0.0.1:<port>`.
pub async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    (listener, format!("127.0.0.1:{}", addr.port()))
}

/// Accepts one connection.
pub async fn accept(listener: &TcpListener) -> TcpStream {
    listener.accept().await.expect("accept a connection").0
}

/// Reads one request (head and `content-length` body) from `stream`.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Received {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read a request");
        assert!(n > 0, "client closed before sending a whole request head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("a UTF-8 request head");
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().expect("a numeric content-length"));
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read a request body");
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
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    stream.flush().await.expect("flush");
}

/// Writes a `200` response head announcing a chunked body.
pub async fn write_chunked_head<S: AsyncWrite + Unpin>(stream: &mut S, content_type: &str) {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.flush().await.expect("flush");
}

/// Writes one chunk of a chunked body (nothing for empty `data`, which would end the body).
pub async fn write_chunk<S: AsyncWrite + Unpin>(stream: &mut S, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    stream
        .write_all(format!("{:x}\r\n", data.len()).as_bytes())
        .await
        .expect("write");
    stream.write_all(data).await.expect("write");
    stream.write_all(b"\r\n").await.expect("write");
    stream.flush().await.expect("flush");
}

/// Ends a chunked body.
pub async fn write_last_chunk<S: AsyncWrite + Unpin>(stream: &mut S) {
    stream.write_all(b"0\r\n\r\n").await.expect("write");
    stream.flush().await.expect("flush");
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
