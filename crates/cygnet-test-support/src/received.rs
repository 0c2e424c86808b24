//! [`Received`]: a request as a loopback test server read it off the wire, and the parsing
//! both servers of the kit share (the tokio `wire` helpers and the std-thread
//! [`server`](crate::server)).

use serde_json::Value;

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

/// What a server's read loop has so far: the bytes read, until a whole request is there.
#[derive(Default)]
pub(crate) struct Partial {
    buf: Vec<u8>,
}

impl Partial {
    /// Adds bytes read off the socket.
    pub(crate) fn extend(&mut self, read: &[u8]) {
        self.buf.extend_from_slice(read);
    }

    /// The whole request, once its head and all `content-length` bytes of its body are in.
    /// Panics on a head that is not UTF-8 or a content length that is not a number.
    pub(crate) fn complete(&self) -> Option<Received> {
        let head_end = self.buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&self.buf[..head_end]).expect("a UTF-8 request head");
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
        let body = &self.buf[head_end + 4..];
        (body.len() >= length).then(|| Received {
            request_line,
            headers,
            body: body[..length].to_vec(),
        })
    }
}
