//! Shared helpers for the workspace's end-to-end tests (the test files are in `tests/tests/`).
//!
//! - The seed conversation and the exact JSON body Gray Swan's official Python client sends for
//!   it ([`seed_request`], [`official_body`]), and SSE bodies made of chat chunks ([`sse_body`]).
//! - [`LoopbackServer`]: a tiny HTTP/1.1 server on 127.0.0.1 that records each request and
//!   answers with a scripted reply whose tail it can hold back until the test says so. Written
//!   by hand (a few dozen lines over tokio) because mockito cannot pause a response half-way,
//!   and that pause is how the tests prove a streaming example prints the first deltas while
//!   the server still holds the rest.
//! - [`example_path`] and [`ExampleCommand`]: the example programs, run as subprocesses.
//!
//! # How the tests find the example binaries
//!
//! Cargo offers no `CARGO_BIN_EXE_*` for examples of another package, so [`example_path`]
//! runs `cargo build -p examples -p custom-runtime-example --examples` once per test process
//! (a no-op when they are fresh; `cargo test --workspace` has usually built them already) with
//! the same cargo that runs the tests (`$CARGO`), and then takes them from the `examples/` directory beside the
//! test binary's own `deps/` directory. That keeps them in step with the sources even under
//! `cargo test -p tests`, and works with any `CARGO_TARGET_DIR`.
//!
//! Every wait in these helpers is bounded by [`TEST_TIMEOUT`], so a broken client fails a test
//! instead of hanging it.
#![deny(rustdoc::broken_intra_doc_links)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cygnet::{models, ChatCompletionRequest, Message};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// The fake API key every test uses; it never leaves the loopback interface.
pub const FAKE_KEY: &str = "sk-test-fake";

/// The longest any single test step may take.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The seed's system message.
pub const SYSTEM: &str = "You are a helpful assistant.";
/// The seed's user message.
pub const USER: &str = "What is a large language model?";

/// The seed conversation with model `cygnet`, as the examples send it.
pub fn seed_request() -> ChatCompletionRequest {
    ChatCompletionRequest::new(
        models::CYGNET,
        vec![Message::system(SYSTEM), Message::user(USER)],
    )
}

/// The body Gray Swan's official Python client sends for the seed conversation, with
/// `"stream": true` added for streaming calls.
pub fn official_body(stream: bool) -> Value {
    let mut body = json!({
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is a large language model?"}
        ],
        "model": "cygnet"
    });
    if stream {
        body["stream"] = json!(true);
    }
    body
}

/// A non-streaming `chat.completion` answering with `text`.
pub fn completion_json(text: &str) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "cygnet-v0.2",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
            "logprobs": null
        }],
        "system_fingerprint": null,
        "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}
    })
}

/// One SSE event carrying a `chat.completion.chunk` whose first choice adds `delta`.
pub fn chunk_event(delta: Value, finish_reason: Value) -> String {
    let chunk = json!({
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "cygnet-v0.2",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    });
    format!("data: {chunk}\n\n")
}

/// SSE events for `deltas` (the first also carries the role), without a terminator.
pub fn delta_events(deltas: &[&str], first: bool) -> String {
    deltas
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut delta = json!({"content": text});
            if first && i == 0 {
                delta["role"] = json!("assistant");
            }
            chunk_event(delta, Value::Null)
        })
        .collect()
}

/// The end of a stream: a chunk with finish reason `stop`, then `[DONE]`.
pub fn stream_end() -> String {
    chunk_event(json!({}), json!("stop")) + "data: [DONE]\n\n"
}

/// A whole, well-formed SSE body streaming `deltas`.
pub fn sse_body(deltas: &[&str]) -> String {
    delta_events(deltas, true) + &stream_end()
}

/// Runs `future`, failing the test if it takes longer than [`TEST_TIMEOUT`].
pub async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(TEST_TIMEOUT, future).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {TEST_TIMEOUT:?}: {what}"),
    }
}

/// Runs blocking `work` on its own thread, failing the test if it takes longer than
/// [`TEST_TIMEOUT`] (the thread is left behind; the test process ends soon after).
pub fn bounded_blocking<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    match rx.recv_timeout(TEST_TIMEOUT) {
        Ok(out) => out,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("timed out after {TEST_TIMEOUT:?}: {what}")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

/// A request as [`LoopbackServer`] received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `POST`, ...
    pub method: String,
    /// The request target, e.g. `/chat/completion`.
    pub path: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
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

    /// Asserts what every cygnet request carries: POST to `path`, the bearer fake key, JSON
    /// content type and accept, and a `cygnet-rust/` user agent.
    pub fn assert_cygnet_request(&self, path: &str) {
        assert_eq!(self.method, "POST");
        assert_eq!(self.path, path);
        let bearer = format!("Bearer {FAKE_KEY}");
        assert_eq!(self.header("authorization"), Some(bearer.as_str()));
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("accept"), Some("application/json"));
        let agent = self.header("user-agent").unwrap_or_default();
        assert!(agent.starts_with("cygnet-rust/"), "user agent {agent:?}");
    }
}

/// What [`LoopbackServer`] answers to every request.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: String,
    /// Sent at once after the head.
    pub body: Vec<u8>,
    /// Sent only after [`LoopbackServer::release`]; `None` ends the body after `body`.
    pub held: Option<Vec<u8>>,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            content_type: "application/json".into(),
            body: body.to_string().into_bytes(),
            held: None,
        }
    }

    /// A 200 event stream: `now` at once, `later` once the test releases it.
    pub fn sse_held(now: impl Into<String>, later: impl Into<String>) -> Self {
        Self {
            status: 200,
            content_type: "text/event-stream".into(),
            body: now.into().into_bytes(),
            held: Some(later.into().into_bytes()),
        }
    }
}

/// A scripted HTTP/1.1 server on 127.0.0.1 (see the crate docs for why it is hand-written).
///
/// It answers every connection's one request with the same [`Reply`], in chunked transfer
/// encoding, then closes the connection. Dropping it stops the server.
pub struct LoopbackServer {
    addr: std::net::SocketAddr,
    requests: mpsc::UnboundedReceiver<Recorded>,
    release: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl LoopbackServer {
    /// Starts a server answering `reply`.
    pub async fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let (requests_tx, requests) = mpsc::unbounded_channel();
        let (release, released) = watch::channel(false);
        let reply = Arc::new(reply);
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let reply = Arc::clone(&reply);
                let requests_tx = requests_tx.clone();
                let released = released.clone();
                tokio::spawn(async move {
                    // A client that hangs up early is not the server's failure.
                    let _ = serve(socket, &reply, requests_tx, released).await;
                });
            }
        });
        Self {
            addr,
            requests,
            release,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next request the server received (bounded by [`TEST_TIMEOUT`]).
    pub async fn next_request(&mut self) -> Recorded {
        bounded("waiting for a request", self.requests.recv())
            .await
            .expect("server stopped")
    }

    /// Lets the held part of the reply go out.
    pub fn release(&self) {
        let _ = self.release.send(true);
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    socket: TcpStream,
    reply: &Reply,
    requests: mpsc::UnboundedSender<Recorded>,
    mut released: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(socket);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    let _ = requests.send(Recorded {
        method,
        path,
        headers,
        body,
    });

    let mut socket = reader.into_inner();
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        reply.status,
        if reply.status < 400 { "OK" } else { "Error" },
        reply.content_type
    );
    socket.write_all(head.as_bytes()).await?;
    write_chunk(&mut socket, &reply.body).await?;
    if let Some(held) = &reply.held {
        // Hold the rest back until the test has seen what it waits for.
        released
            .wait_for(|go| *go)
            .await
            .map_err(std::io::Error::other)?;
        write_chunk(&mut socket, held).await?;
    }
    socket.write_all(b"0\r\n\r\n").await?;
    socket.flush().await?;
    socket.shutdown().await
}

async fn write_chunk(socket: &mut TcpStream, data: &[u8]) -> std::io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    socket
        .write_all(format!("{:x}\r\n", data.len()).as_bytes())
        .await?;
    socket.write_all(data).await?;
    socket.write_all(b"\r\n").await?;
    socket.flush().await
}

/// The root of the workspace.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
}

/// The path of the compiled example `name`, built first if needed (see the crate docs).
pub fn example_path(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<Option<Result<PathBuf, String>>>> = OnceLock::new();
    let cell = BUILT.get_or_init(|| Mutex::new(None));
    let mut built = cell.lock().unwrap_or_else(|e| e.into_inner());
    let dir = built.get_or_insert_with(build_examples).clone();
    match dir {
        Ok(dir) => {
            let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
            assert!(path.exists(), "example binary {} missing", path.display());
            path
        }
        Err(e) => panic!("{e}"),
    }
}

fn build_examples() -> Result<PathBuf, String> {
    // The test binary is <target>/<profile dir>/deps/<name>-<hash>.
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("unexpected test binary location {}", exe.display()))?;
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| format!("unexpected profile directory {}", profile_dir.display()))?;
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev".to_string(),
        Some(other) => other.to_string(),
        None => "dev".to_string(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "examples",
            "-p",
            "custom-runtime-example",
            "--examples",
            "--profile",
        ])
        .arg(&profile)
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run cargo to build the examples: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the examples failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(profile_dir.join("examples"))
}

/// How to run an example: offline (no key) or against a loopback base URL with [`FAKE_KEY`].
#[derive(Clone, Debug)]
pub struct ExampleCommand {
    name: String,
    base_url: Option<String>,
}

/// What an example printed and how it ended.
#[derive(Debug)]
pub struct ExampleOutput {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl ExampleCommand {
    /// Example `name` without an API key: it must run on the mock.
    pub fn offline(name: &str) -> Self {
        Self {
            name: name.into(),
            base_url: None,
        }
    }

    /// Example `name` with `GRAYSWAN_API_KEY=sk-test-fake` and `GRAY_SWAN_BASE_URL=base_url`.
    pub fn against(name: &str, base_url: &str) -> Self {
        Self {
            name: name.into(),
            base_url: Some(base_url.into()),
        }
    }

    /// The child process, with stdout and stderr piped and killed when dropped.
    pub fn spawn(&self) -> tokio::process::Child {
        let mut command = tokio::process::Command::new(example_path(&self.name));
        // Whatever the developer's shell has set must not reach the real API.
        command
            .env_remove("GRAYSWAN_API_KEY")
            .env_remove("GRAY_SWAN_BASE_URL")
            .env_remove("RUST_LOG");
        if let Some(base) = &self.base_url {
            command
                .env("GRAYSWAN_API_KEY", FAKE_KEY)
                .env("GRAY_SWAN_BASE_URL", base);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start example {}: {e}", self.name))
    }

    /// Runs the example to the end (bounded by [`TEST_TIMEOUT`]).
    pub async fn run(&self) -> ExampleOutput {
        let child = self.spawn();
        let output = bounded(&format!("example {}", self.name), child.wait_with_output())
            .await
            .expect("example output");
        ExampleOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Reads `child`'s stdout into `seen` until it contains `wanted` (bounded by [`TEST_TIMEOUT`]).
pub async fn read_until(stdout: &mut tokio::process::ChildStdout, seen: &mut String, wanted: &str) {
    bounded(&format!("waiting for {wanted:?} on stdout"), async {
        let mut buf = [0u8; 1024];
        while !seen.contains(wanted) {
            let n = stdout.read(&mut buf).await.expect("read stdout");
            assert!(n > 0, "stdout closed before {wanted:?}; got {seen:?}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await
}
