//! Shared pieces of the benchmarks: the inputs (chat chunks as SSE), a loopback server that
//! streams them, an in-memory transport, and memory readings.
//!
//! Every figure compares contenders on the same bytes: the inputs are generated once,
//! deterministically, and handed to each contender in the same reads.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cygnet_core::transport::{async_trait, Sleep};
use cygnet_core::{Body, Transport, TransportError};
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;

/// The API key every benchmark uses; it never leaves the loopback interface.
pub const FAKE_KEY: &str = "sk-test-fake";

const WORDS: &[&str] = &[
    "A ",
    "large ",
    "language ",
    "model ",
    "(LLM) ",
    "is ",
    "a ",
    "neural ",
    "network ",
    "trained ",
    "on ",
    "vast ",
    "amounts ",
    "of ",
    "text ",
    "to ",
    "predict ",
    "the ",
    "next ",
    "word. ",
    "It ",
    "can ",
    "answer ",
    "questions, ",
    "summarise ",
    "and ",
    "translate. ",
];

/// The JSON of chunk number `i` of a stream: one content delta, as the API sends it.
pub fn chunk_json(i: usize) -> String {
    let word = WORDS[i % WORDS.len()];
    let role = if i == 0 { r#""role":"assistant","# } else { "" };
    format!(
        r#"{{"id":"chatcmpl-8f1c2a9b7d","object":"chat.completion.chunk","created":1700000000,"model":"cygnet-v0.2","system_fingerprint":null,"choices":[{{"index":0,"delta":{{{role}"content":"{word}"}},"logprobs":null,"finish_reason":null}}]}}"#
    )
}

/// `n` chunk events, without the terminator.
pub fn sse_events(n: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(n * 230);
    for i in 0..n {
        body.extend_from_slice(b"data: ");
        body.extend_from_slice(chunk_json(i).as_bytes());
        body.extend_from_slice(b"\n\n");
    }
    body
}

/// A whole streaming answer: `n` chunk events, a final chunk with `stop`, then `[DONE]`.
pub fn sse_body(n: usize) -> Vec<u8> {
    let mut body = sse_events(n);
    body.extend_from_slice(
        br#"data: {"id":"chatcmpl-8f1c2a9b7d","object":"chat.completion.chunk","created":1700000000,"model":"cygnet-v0.2","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"#,
    );
    body.extend_from_slice(b"\n\ndata: [DONE]\n\n");
    body
}

/// The text all deltas of [`sse_body`]`(n)` add up to.
pub fn expected_text(n: usize) -> String {
    (0..n).map(|i| WORDS[i % WORDS.len()]).collect()
}

/// A non-streaming completion, as the API answers one.
pub fn completion_json() -> Bytes {
    Bytes::from_static(
        br#"{"id":"chatcmpl-8f1c2a9b7d","object":"chat.completion","created":1700000000,"model":"cygnet-v0.2","choices":[{"index":0,"message":{"role":"assistant","content":"A large language model (LLM) is a neural network trained on vast amounts of text to predict the next word."},"finish_reason":"stop","logprobs":null}],"system_fingerprint":null,"usage":{"prompt_tokens":20,"completion_tokens":24,"total_tokens":44}}"#,
    )
}

/// `bytes` cut into reads of `size` bytes (the last may be shorter), sharing its memory.
pub fn reads(bytes: &Bytes, size: usize) -> Vec<Bytes> {
    (0..bytes.len())
        .step_by(size)
        .map(|start| bytes.slice(start..(start + size).min(bytes.len())))
        .collect()
}

/// A transport that answers every request with the same reads, from memory.
#[derive(Clone)]
pub struct MemoryTransport {
    reads: Arc<Vec<Bytes>>,
    /// After the reads, never end (an idle stream) instead of ending the body.
    hold: bool,
}

impl MemoryTransport {
    /// Answers with `reads`, then ends the body.
    pub fn new(reads: Vec<Bytes>) -> Self {
        Self {
            reads: Arc::new(reads),
            hold: false,
        }
    }

    /// Answers with `reads`, then keeps the body open without sending anything.
    pub fn holding(reads: Vec<Bytes>) -> Self {
        Self {
            reads: Arc::new(reads),
            hold: true,
        }
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    async fn send(
        &self,
        _request: http::Request<Bytes>,
    ) -> Result<http::Response<Body>, TransportError> {
        let reads = Arc::clone(&self.reads);
        let stream = futures::stream::iter((0..reads.len()).map(move |i| Ok(reads[i].clone())));
        let body = if self.hold {
            use futures::StreamExt;
            Body::from_stream(stream.chain(futures::stream::pending()))
        } else {
            Body::from_stream(stream)
        };
        Ok(http::Response::builder()
            .header("content-type", "text/event-stream")
            .body(body)
            .expect("a valid response"))
    }

    fn sleep(&self, _duration: Duration) -> Sleep {
        Box::pin(std::future::pending())
    }
}

/// A client over `transport` with the fake key.
pub fn client(transport: impl Transport) -> cygnet_core::Client {
    cygnet_core::Client::builder()
        .api_key(FAKE_KEY)
        .base_url("http://127.0.0.1:1/")
        .transport(transport)
        .build()
        .expect("a valid client")
}

/// The seed request.
pub fn request() -> cygnet_types::ChatCompletionRequest {
    use cygnet_types::Message;
    cygnet_types::ChatCompletionRequest::new(
        "cygnet",
        vec![
            Message::system("You are a helpful assistant."),
            Message::user("What is a large language model?"),
        ],
    )
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
pub fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// What the loopback server answers.
#[derive(Clone)]
pub struct ServerConfig {
    /// The body of a streaming answer.
    pub stream_body: Bytes,
    /// The size of the body frames the server writes.
    pub frame: usize,
    /// The body of a non-streaming answer.
    pub completion: Bytes,
}

/// The runtime an end-to-end contender runs on: tokio's default multi-thread runtime (what
/// `#[tokio::main]` builds, as in the peers' own examples), or a current-thread one when
/// `CYGNET_BENCH_RUNTIME=current_thread`, so the bench can compare like with like.
pub fn contender_runtime() -> tokio::runtime::Runtime {
    let mut builder = match std::env::var("CYGNET_BENCH_RUNTIME").as_deref() {
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build().expect("a runtime")
}

/// A loopback HTTP/1.1 server on its own thread and runtime, serving `POST /chat/completion`
/// (cygnet) and `/chat/completions` (async-openai) alike: an SSE answer when the request
/// body asks for `"stream":true`, else the completion. Runs until the process ends.
pub fn spawn_server(config: ServerConfig, threads: usize) -> SocketAddr {
    let config = Arc::new(config);
    spawn_loopback(threads, move |request| {
        let config = Arc::clone(&config);
        async move { serve(&config, request).await }
    })
}

/// The answer of a loopback server's handler.
type Answer = Result<http::Response<BoxBody<Bytes, Infallible>>, Infallible>;

/// A loopback HTTP/1.1 server on its own thread and a runtime of `threads` workers, answering
/// every request with `handle`; returns its address once it listens. Runs until the process
/// ends.
fn spawn_loopback<F, Fut>(threads: usize, handle: F) -> SocketAddr
where
    F: Fn(http::Request<hyper::body::Incoming>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Answer> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            tx.send(listener.local_addr().expect("local addr"))
                .expect("report the address");
            let handle = Arc::new(handle);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let handle = Arc::clone(&handle);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| handle(request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    rx.recv().expect("the server starts")
}

async fn serve(
    config: &ServerConfig,
    request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<BoxBody<Bytes, Infallible>>, Infallible> {
    let path = request.uri().path().to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if !(path.ends_with("/chat/completion") || path.ends_with("/chat/completions")) {
        return Ok(http::Response::builder()
            .status(404)
            .body(
                Full::new(Bytes::from_static(
                    b"{\"error\":{\"message\":\"no such path\"}}",
                ))
                .boxed(),
            )
            .expect("a valid response"));
    }
    let streaming = memchr::memmem::find(&body, b"\"stream\":true").is_some();
    if !streaming {
        return Ok(http::Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(config.completion.clone()).boxed())
            .expect("a valid response"));
    }
    let frames = reads(&config.stream_body, config.frame)
        .into_iter()
        .map(|b| Ok::<_, Infallible>(Frame::data(b)));
    Ok(http::Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(StreamBody::new(futures::stream::iter(frames)).boxed())
        .expect("a valid response"))
}

/// A loopback HTTP/1.1 server for the guard's latency rows: `POST /cygnal/monitor` answers a
/// passing verdict after `monitor`, `POST /chat/completion` the completion after `chat`, each
/// delay on the server's own timer, as a slow monitor or model would. Runs until the process
/// ends.
pub fn spawn_guard_server(monitor: std::time::Duration, chat: std::time::Duration) -> SocketAddr {
    spawn_loopback(
        1,
        move |request: http::Request<hyper::body::Incoming>| async move {
            let path = request.uri().path().to_owned();
            let _ = request.into_body().collect().await;
            let (delay, body) = if path.ends_with("/cygnal/monitor") {
                (monitor, Bytes::from_static(br#"{"violation":0.01}"#))
            } else {
                (chat, completion_json())
            };
            tokio::time::sleep(delay).await;
            Ok(http::Response::builder()
                .header("content-type", "application/json")
                .body(Full::new(body).boxed())
                .expect("a valid response"))
        },
    )
}
