//! Shared helpers for the workspace's end-to-end tests (the test files are in `tests/tests/`).
//!
//! - Re-exported from the workspace's test kit (`cygnet-test-support`): the seed conversation,
//!   the exact JSON body Gray Swan's official Python client sends for it ([`seed_request`],
//!   [`official_body`]), SSE bodies made of chat chunks ([`sse_body`]) and time bounds.
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

use cygnet_test_support::wire;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

pub use cygnet_test_support::wire::Received as Recorded;
pub use cygnet_test_support::{
    bounded, bounded_thread, chunk_event, completion_json, delta_events, fresh_dir, official_body,
    seed_request, sse_body, stream_end, streamed_completion, streamed_text, FAKE_KEY, SYSTEM,
    TEST_TIMEOUT, USER,
};

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
        Self::start_sequence(vec![reply]).await
    }

    /// Starts a server answering its first connection with `replies[0]`, the second with
    /// `replies[1]`, and so on; the last reply answers every connection after it.
    pub async fn start_sequence(replies: Vec<Reply>) -> Self {
        assert!(!replies.is_empty(), "a server needs a reply");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let (requests_tx, requests) = mpsc::unbounded_channel();
        let (release, released) = watch::channel(false);
        let replies = Arc::new(replies);
        let task = tokio::spawn(async move {
            let mut accepted = 0;
            while let Ok((socket, _)) = listener.accept().await {
                let replies = Arc::clone(&replies);
                let index = accepted.min(replies.len() - 1);
                accepted += 1;
                let requests_tx = requests_tx.clone();
                let released = released.clone();
                tokio::spawn(async move {
                    // A client that hangs up early is not the server's failure.
                    let _ = serve(socket, &replies[index], requests_tx, released).await;
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
    mut socket: TcpStream,
    reply: &Reply,
    requests: mpsc::UnboundedSender<Recorded>,
    mut released: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let _ = requests.send(wire::read_request(&mut socket).await);
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        reply.status,
        if reply.status < 400 { "OK" } else { "Error" },
        reply.content_type
    );
    socket.write_all(head.as_bytes()).await?;
    wire::write_chunk(&mut socket, &reply.body).await;
    if let Some(held) = &reply.held {
        // Hold the rest back until the test has seen what it waits for.
        released
            .wait_for(|go| *go)
            .await
            .map_err(std::io::Error::other)?;
        wire::write_chunk(&mut socket, held).await;
    }
    wire::write_last_chunk(&mut socket).await;
    socket.shutdown().await
}

/// A client builder for `base_url` over cygnet-hyper with the fake key; the caller sets the
/// rest.
pub fn hyper_client(base_url: impl Into<String>) -> cygnet::ClientBuilder {
    cygnet::ClientBuilder::new()
        .api_key(FAKE_KEY)
        .base_url(base_url)
        .transport(cygnet::HyperTransport::new())
}

/// A mock of `POST /chat/completion` on `server` answering `status` with `body`, with a
/// `content-type` header when one is given.
pub async fn chat_answer(
    server: &mut mockito::ServerGuard,
    status: u16,
    content_type: Option<&str>,
    body: impl AsRef<[u8]>,
) -> mockito::Mock {
    let mock = server
        .mock("POST", "/chat/completion")
        .with_status(usize::from(status));
    let mock = match content_type {
        Some(content_type) => mock.with_header("content-type", content_type),
        None => mock,
    };
    mock.with_body(body).create_async().await
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
    args: Vec<std::ffi::OsString>,
    envs: Vec<(String, String)>,
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
            args: Vec::new(),
            envs: Vec::new(),
        }
    }

    /// Example `name` with `GRAYSWAN_API_KEY=sk-test-fake` and `GRAY_SWAN_BASE_URL=base_url`.
    pub fn against(name: &str, base_url: &str) -> Self {
        Self {
            name: name.into(),
            base_url: Some(base_url.into()),
            args: Vec::new(),
            envs: Vec::new(),
        }
    }

    /// Adds a command-line argument.
    pub fn arg(mut self, arg: impl Into<std::ffi::OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable of the child (e.g. a fake `OPENAI_API_KEY`).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.envs.push((name.into(), value.into()));
        self
    }

    /// The child process, with stdout and stderr piped and killed when dropped.
    pub fn spawn(&self) -> tokio::process::Child {
        let mut command = tokio::process::Command::new(example_path(&self.name));
        // Whatever the developer's shell has set must not reach the real API.
        command
            .env_remove("GRAYSWAN_API_KEY")
            .env_remove("GRAY_SWAN_BASE_URL")
            .env_remove("OPENAI_API_KEY")
            .env_remove("GRAYSWAN_POLICY_ID")
            .env_remove("RUST_LOG");
        if let Some(base) = &self.base_url {
            command
                .env("GRAYSWAN_API_KEY", FAKE_KEY)
                .env("GRAY_SWAN_BASE_URL", base);
        }
        command.envs(self.envs.iter().map(|(n, v)| (n, v)));
        command
            .args(&self.args)
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
