//! Bring your own transport: cygnet on ureq and smol, with no tokio at all.
//!
//! `examples/custom-runtime/src/lib.rs` implements `cygnet::transport::Transport` over ureq
//! (blocking HTTP + rustls) run on smol's thread pool, with smol's timer for backoff and
//! timeouts; `smol::block_on` drives the whole call. The answer is streamed and printed as it
//! arrives.
//!
//! ```sh
//! cargo run --example custom_runtime                        # offline: a loopback server
//! GRAYSWAN_API_KEY=... cargo run --example custom_runtime   # against the Cygnet API
//! ```
//!
//! Offline there is no mock here (the point is the HTTP path): a tiny HTTP/1.1 server on
//! 127.0.0.1 answers the one request with a canned stream.
#[path = "../../common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::ExitCode;

use common::Failure;
use custom_runtime_example::UreqTransport;
use cygnet::ClientBuilder;

fn main() -> ExitCode {
    common::exit(smol::block_on(run()))
}

async fn run() -> Result<(), Failure> {
    let builder = if common::online() {
        // GRAYSWAN_API_KEY and GRAY_SWAN_BASE_URL, as with every other transport.
        ClientBuilder::from_env()
    } else {
        let addr = serve_once(common::offline_deltas(common::OFFLINE_ANSWER))?;
        eprintln!(
            "note: {} is not set, so this talks to a canned server on {addr}; \
             set it to call the Cygnet API",
            common::API_KEY_ENV
        );
        ClientBuilder::new()
            .api_key("sk-offline-example") // only ever sent to the loopback server
            .base_url(format!("http://{addr}"))
    };
    let client = builder.transport(UreqTransport::new()).build()?;

    let mut stream = client.chat_stream(&common::seed_request()).await?;
    let mut blocked = false;
    while let Some(chunk) = stream.next_chunk().await {
        let chunk = chunk?;
        blocked |= chunk.is_blocked();
        common::print_now(chunk.content().unwrap_or_default())?;
    }
    println!();
    common::say_if_blocked(blocked);
    Ok(())
}

/// Starts a one-shot HTTP/1.1 server on 127.0.0.1 that answers a single request with
/// `deltas` as a chat-completion event stream, and returns its address.
fn serve_once(deltas: Vec<String>) -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || -> std::io::Result<()> {
        let (socket, _) = listener.accept()?;
        let mut reader = BufReader::new(socket.try_clone()?);
        // Read the head and the JSON body, so closing does not reset the connection.
        let mut content_length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 || line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        reader.read_exact(&mut vec![0; content_length])?;

        let mut socket = socket;
        socket.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
        )?;
        for delta in deltas {
            let chunk = serde_json::json!({
                "object": "chat.completion.chunk",
                "model": "cygnet",
                "choices": [{"index": 0, "delta": {"content": delta}, "finish_reason": null}],
            });
            socket.write_all(format!("data: {chunk}\n\n").as_bytes())?;
            socket.flush()?;
        }
        socket.write_all(b"data: [DONE]\n\n")
    });
    Ok(addr)
}
