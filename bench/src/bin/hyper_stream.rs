//! The floor of the end-to-end benchmark: a bare hyper HTTP/1.1 connection, memchr framing
//! of the SSE body and serde_json borrowing from the read buffer, printing each delta as it
//! arrives, flushed, like cygnet's `chat_stream` example. No retries, timeouts, error types,
//! or WHATWG edge cases (CR line ends, multi-line data): the least work the job can take.

use std::borrow::Cow;
use std::io::Write;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde::Deserialize;

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    choices: Vec<Choice<'a>>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    delta: Delta<'a>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    cygnet_bench::contender_runtime().block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::var("GRAY_SWAN_BASE_URL")?;
    let key = std::env::var("GRAYSWAN_API_KEY")?;
    let uri: http::Uri = format!("{}/chat/completion", base.trim_end_matches('/')).parse()?;
    let authority = uri.authority().ok_or("no host")?.clone();
    let tcp = tokio::net::TcpStream::connect(authority.as_str()).await?;
    tcp.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
    tokio::spawn(connection);
    let body = serde_json::to_vec(&serde_json::json!({
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is a large language model?"}
        ],
        "model": "cygnet",
        "stream": true
    }))?;
    let request = http::Request::post(uri)
        .header(http::header::HOST, authority.as_str())
        .header(http::header::AUTHORIZATION, format!("Bearer {key}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "text/event-stream")
        .body(Full::new(Bytes::from(body)))?;
    let mut response = sender.send_request(request).await?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()).into());
    }
    let body = response.body_mut();
    let mut buffer: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut start = 0;
    'read: while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        if start > 0 && buffer.len() + data.len() > buffer.capacity() {
            buffer.drain(..start);
            start = 0;
        }
        buffer.extend_from_slice(&data);
        while let Some(end) = memchr::memmem::find(&buffer[start..], b"\n\n") {
            let event = &buffer[start..start + end];
            start += end + 2;
            let Some(data) = event.strip_prefix(b"data: ") else {
                continue;
            };
            if data == b"[DONE]" {
                break 'read;
            }
            let chunk: Chunk<'_> = serde_json::from_slice(data)?;
            if let Some(content) = chunk
                .choices
                .first()
                .and_then(|c| c.delta.content.as_deref())
            {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(content.as_bytes())?;
                stdout.flush()?;
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(b"\n")?;
    stdout.flush()?;
    Ok(())
}
