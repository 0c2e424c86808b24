//! What the command's tests share: a loopback HTTP server that records each request and
//! answers from a script (and can hold a stream open half-way until the test releases it),
//! and the `cygnet` binary run as a child process with every wait bounded.
//!
//! The server is a few dozen lines over std's `TcpListener` because the tests need what a
//! ready-made mock server does not offer: a streamed answer paused in the middle, so a test
//! can see the first piece printed, send Ctrl-C or close the pipe, and only then go on.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The fake key every test uses; it never leaves the loopback interface.
pub const FAKE_KEY: &str = "sk-test-fake";

/// The longest any single wait of a test may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `POST /chat/completion`, say.
    pub request_line: String,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }

    /// The value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A piece of a scripted answer.
#[derive(Clone, Debug)]
pub enum Part {
    /// Bytes to write (and flush).
    Bytes(Vec<u8>),
    /// Wait until the test calls [`Server::release`] (or drops the server).
    Hold,
}

/// A scripted answer: the status line and headers, then the parts; the connection closes
/// after the last part.
#[derive(Clone, Debug)]
pub struct Reply {
    head: String,
    parts: Vec<Part>,
}

impl Reply {
    /// A JSON answer with `status`.
    pub fn json(status: u16, body: &Value) -> Self {
        let body = body.to_string();
        Self {
            head: format!(
                "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: req-test-1\r\nconnection: close\r\n\r\n",
                reason(status),
                body.len()
            ),
            parts: vec![Part::Bytes(body.into_bytes())],
        }
    }

    /// A stream of server-sent events, one per part given (`Hold` pauses it), ended by the
    /// connection closing.
    pub fn sse(events: Vec<Part>) -> Self {
        Self {
            head: "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n".into(),
            parts: events,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        _ => "Other",
    }
}

/// One event whose data is `chunk`.
pub fn event(chunk: &Value) -> Part {
    Part::Bytes(format!("data: {chunk}\n\n").into_bytes())
}

/// The terminating `[DONE]` event.
pub fn done() -> Part {
    Part::Bytes(b"data: [DONE]\n\n".to_vec())
}

/// A complete stream chunk carrying `content`, as the API sends one.
pub fn chunk(content: &str) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "cygnet",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": null}]
    })
}

/// The last chunk of a stream: no content, finish reason `stop`.
pub fn last_chunk() -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "cygnet",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    })
}

/// A whole streamed answer: one chunk per piece, the last chunk, `[DONE]`.
pub fn stream_of(pieces: &[&str]) -> Reply {
    let mut parts: Vec<Part> = pieces.iter().map(|p| event(&chunk(p))).collect();
    parts.push(event(&last_chunk()));
    parts.push(done());
    Reply::sse(parts)
}

/// A complete chat completion answering `content`.
pub fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "cygnet",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
            "logprobs": null
        }],
        "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
    })
}

/// A complete moderation answer.
pub fn verdict(flagged: bool, detected: f64, passed: f64) -> Value {
    json!({
        "id": "modr-test",
        "created": 1_700_000_000,
        "detected": detected,
        "flagged": flagged,
        "model": "cygnet-moderation",
        "passed": passed
    })
}

/// A loopback HTTP/1.1 server answering from a script, one reply per connection.
pub struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    release: Sender<()>,
}

impl Server {
    /// Starts a server that answers the requests, in order, with `replies`.
    pub fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (release, released) = mpsc::channel();
        let recorded = Arc::clone(&requests);
        thread::spawn(move || serve(listener, replies.into(), recorded, released));
        Self {
            addr,
            requests,
            release,
        }
    }

    /// The base URL to give the command.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// The only request received; fails the test unless there was exactly one.
    pub fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "requests received: {requests:#?}");
        requests.into_iter().next().unwrap()
    }

    /// Lets a held answer go on.
    pub fn release(&self) {
        let _ = self.release.send(());
    }
}

fn serve(
    listener: TcpListener,
    mut replies: VecDeque<Reply>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    released: Receiver<()>,
) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { return };
        let _ = stream.set_read_timeout(Some(TIMEOUT));
        let Some(recorded) = read_request(&stream) else {
            continue;
        };
        requests.lock().unwrap().push(recorded);
        let reply = replies.pop_front().unwrap_or_else(|| {
            Reply::json(
                400,
                &json!({"error": {"message": "the test server has no reply left"}}),
            )
        });
        let _ = answer(stream, reply, &released);
    }
}

fn read_request(stream: &TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        request_line: request_line.trim_end().to_owned(),
        headers,
        body,
    })
}

fn answer(mut stream: TcpStream, reply: Reply, released: &Receiver<()>) -> std::io::Result<()> {
    stream.write_all(reply.head.as_bytes())?;
    for part in reply.parts {
        match part {
            Part::Bytes(bytes) => {
                stream.write_all(&bytes)?;
                stream.flush()?;
            }
            Part::Hold => {
                let _ = released.recv_timeout(TIMEOUT);
            }
        }
    }
    Ok(())
}

/// The `cygnet` binary with an environment of its own: the fake key, `base_url` (when
/// given) and nothing else, so no proxy or key of the machine running the tests leaks in.
pub fn cygnet(base_url: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cygnet"));
    command.env_clear().env("GRAYSWAN_API_KEY", FAKE_KEY);
    if let Some(url) = base_url {
        command.env("GRAY_SWAN_BASE_URL", url);
    }
    command
}

/// What a finished run left.
#[derive(Debug)]
pub struct Run {
    /// How it ended.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Run {
    /// The exit code; fails the test when the process was killed by a signal.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {self:#?}"))
    }
}

/// Runs `command` to its end with `stdin` as its standard input (none: `/dev/null`).
pub fn run(mut command: Command, stdin: Option<Vec<u8>>) -> Run {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the cygnet binary starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // The command may stop reading early (an input over the limit): a failed write is
        // its business, not the test's.
        thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let status = wait(&mut child);
    Run {
        status,
        stdout: text(stdout),
        stderr: text(stderr),
    }
}

fn read_all(mut pipe: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

fn text(pipe: Receiver<Vec<u8>>) -> String {
    let bytes = pipe
        .recv_timeout(TIMEOUT)
        .expect("the output closes in time");
    String::from_utf8(bytes).expect("the output is UTF-8")
}

/// Waits for `child` to exit, killing it and failing the test after [`TIMEOUT`].
pub fn wait(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("cygnet did not exit within {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A child's standard output, read on a thread as it arrives, so every wait on it is
/// bounded.
pub struct LiveOutput {
    pieces: Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl LiveOutput {
    /// Reads `pipe`; with `close_after`, closes it (as `head -1` would) once that text has
    /// been read.
    pub fn new(mut pipe: ChildStdout, close_after: Option<&str>) -> Self {
        let (tx, pieces) = mpsc::channel();
        let marker = close_after.map(|m| m.as_bytes().to_vec());
        thread::spawn(move || {
            let mut all = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                match pipe.read(&mut buffer) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        all.extend_from_slice(&buffer[..n]);
                        if tx.send(buffer[..n].to_vec()).is_err() {
                            return;
                        }
                        if let Some(marker) = &marker {
                            if all.windows(marker.len()).any(|w| w == marker) {
                                return; // drops the pipe: its reader is gone
                            }
                        }
                    }
                }
            }
        });
        Self {
            pieces,
            seen: Vec::new(),
        }
    }

    /// Waits until the output so far contains `expected`; returns the output so far.
    pub fn wait_for(&mut self, expected: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        while !self.text().contains(expected) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.pieces.recv_timeout(left) {
                Ok(piece) => self.seen.extend_from_slice(&piece),
                Err(_) => panic!("{expected:?} not printed; output so far: {:?}", self.text()),
            }
        }
        self.text()
    }

    /// Waits until the output ends; returns all of it.
    pub fn until_closed(&mut self) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.pieces.recv_timeout(left) {
                Ok(piece) => self.seen.extend_from_slice(&piece),
                Err(mpsc::RecvTimeoutError::Disconnected) => return self.text(),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the output did not end; so far: {:?}", self.text())
                }
            }
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }
}

/// Waits until the server has received `count` requests.
pub fn wait_for_requests(server: &Server, count: usize) {
    let deadline = Instant::now() + TIMEOUT;
    while server.requests().len() < count {
        assert!(Instant::now() < deadline, "no request arrived in time");
        thread::sleep(Duration::from_millis(5));
    }
}

/// A fresh directory for one test's files, under cargo's scratch directory for tests.
pub fn scratch_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cygnet-cli-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
