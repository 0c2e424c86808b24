//! [`Server`]: a scripted HTTP/1.1 loopback server on a std thread, for tests that run no
//! async runtime (a child process under test, a blocking client).
//!
//! It records each request and answers from a script, one reply per connection, and can
//! hold an answer open half-way ([`Part::Hold`]) until the test calls [`Server::release`], so
//! a test can see the first piece of a stream arrive, interrupt its reader, and only then go
//! on. A ready-made mock server offers no such pause; that is why this is hand-written.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::{json, Value};

use crate::bound::TEST_TIMEOUT;
use crate::received::{Partial, Received};

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
    /// A JSON answer with `status` and the request id `req-test-1`.
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

    /// The same answer with the header `name` set to `value` (replacing one of that name):
    /// a server echoing what it was sent, say.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let mut lines: Vec<String> = self
            .head
            .split("\r\n")
            .filter(|line| !line.to_ascii_lowercase().starts_with(&prefix))
            .map(str::to_owned)
            .collect();
        // The head ends with an empty line, which splits into two empty strings.
        let at = lines.len() - 2;
        lines.insert(at, format!("{name}: {value}"));
        self.head = lines.join("\r\n");
        self
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

/// A loopback HTTP/1.1 server answering from a script, one reply per connection; once the
/// script runs out, every request gets a `400` saying so.
pub struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Received>>>,
    release: Sender<()>,
}

impl Server {
    /// Starts a server that answers the requests, in order, with `replies`.
    pub fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
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

    /// The base URL to give the client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }

    /// The only request received; fails the test unless there was exactly one.
    pub fn only_request(&self) -> Received {
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
    requests: Arc<Mutex<Vec<Received>>>,
    released: Receiver<()>,
) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { return };
        let _ = stream.set_read_timeout(Some(TEST_TIMEOUT));
        let Ok(received) = read_request(&mut stream) else {
            continue;
        };
        requests.lock().unwrap().push(received);
        let reply = replies.pop_front().unwrap_or_else(|| {
            Reply::json(
                400,
                &json!({"error": {"message": "the test server has no reply left"}}),
            )
        });
        let _ = answer(stream, reply, &released);
    }
}

/// Reads one request (head and `content-length` body) from `stream`; an error when the
/// client closes or a read fails before the request is whole.
pub fn read_request(stream: &mut impl Read) -> std::io::Result<Received> {
    let mut partial = Partial::default();
    loop {
        if let Some(request) = partial.complete() {
            return Ok(request);
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => partial.extend(&chunk[..n]),
        }
    }
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
                let _ = released.recv_timeout(TEST_TIMEOUT);
            }
        }
    }
    Ok(())
}
