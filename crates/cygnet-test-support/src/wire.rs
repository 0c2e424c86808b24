//! A raw HTTP/1.1 loopback server's building blocks, over tokio.
//!
//! Hand-rolled rather than a hyper server so that each test controls the bytes on the wire
//! exactly: when each chunk goes out, when the connection closes, what a half-sent body looks
//! like. Every read and write here panics on failure: these are test helpers, and a failed
//! write is the test's failure.

use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::received::Partial;
pub use crate::received::Received;

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

/// Binds a listener and spawns a task that accepts one connection, reads one request from
/// it, and hands both to `answer`; returns `127.0.0.1:<port>`.
pub async fn serve_one<F, Fut>(answer: F) -> String
where
    F: FnOnce(TcpStream, Received) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        let mut stream = accept(&listener).await;
        let received = read_request(&mut stream).await;
        answer(stream, received).await;
    });
    addr
}

/// Reads one request (head and `content-length` body) from `stream`.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Received {
    let mut partial = Partial::default();
    loop {
        if let Some(request) = partial.complete() {
            return request;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read a request");
        assert!(n > 0, "client closed before sending a whole request");
        partial.extend(&chunk[..n]);
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
