//! What the command's tests share: the answers the kit's scripted loopback server gives
//! (it records each request and can hold a stream open half-way until the test releases
//! it), and the `cygnet` binary run as a child process with every wait bounded.
// Each test file uses a part of what is here.
#![allow(dead_code, unused_imports)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

pub use cygnet_test_support::server::{done, event, Part, Reply, Server};
pub use cygnet_test_support::{fresh_dir, FAKE_KEY, TEST_TIMEOUT as TIMEOUT};

use serde_json::{json, Value};

/// The body of a streamed chat request to model `cygnet` carrying `messages`.
pub fn streamed_chat(messages: Value) -> Value {
    json!({"messages": messages, "model": "cygnet", "stream": true})
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
    held_stream_of(pieces, &[])
}

/// A whole streamed answer that the server holds after the chunks of `before` until the
/// test calls [`Server::release`]; then the chunks of `after`, the last chunk, `[DONE]`.
/// Without `after`, nothing is held.
pub fn held_stream_of(before: &[&str], after: &[&str]) -> Reply {
    let events = |pieces: &[&str]| pieces.iter().map(|p| event(&chunk(p))).collect::<Vec<_>>();
    let mut parts = events(before);
    if !after.is_empty() {
        parts.push(Part::Hold);
        parts.extend(events(after));
    }
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

/// A fresh directory for one test's files, under cargo's scratch directory for tests.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = fresh_dir(env!("CARGO_TARGET_TMPDIR"), &format!("cygnet-cli-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
