//! [`Canned`]: a transport that answers from a script.
//!
//! Replies are taken in order; when the script runs out, the reply set with
//! [`Canned::always`] answers (or the test fails, naming the request). Every request is kept
//! for assertions, and every timer the client asks for is noted and, by default, fires at
//! once, so retry waits and deadlines cost a test no time. [`Canned::timers_never_fire`]
//! makes them never fire instead, for tests that must not time out.
//!
//! This is deliberately smaller than `cygnet-mock`: no clock, no pacing. It exists for core's
//! own tests and for one-off faults; users' tests want the mock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use cygnet_core::transport::{async_trait, Body, Sleep, Transport, TransportError};
use cygnet_core::{Client, ClientBuilder, TransportErrorKind};

use crate::fixtures::{CANNED_BASE_URL, FAKE_KEY};

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum CannedReply {
    /// A response: status, headers, and the body in the given reads.
    Response {
        /// The status code.
        status: u16,
        /// Header names and values.
        headers: Vec<(String, String)>,
        /// The body, one element per read the client gets.
        reads: Vec<Bytes>,
    },
    /// The transport fails with this kind of error.
    Fail(TransportErrorKind),
    /// The transport never answers.
    Hang,
}

impl CannedReply {
    /// A JSON response with `status` and `body`.
    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        Self::Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            reads: vec![body.into()],
        }
    }

    /// A `200 text/event-stream` response whose body is `body`, in one read.
    pub fn sse(body: impl Into<Bytes>) -> Self {
        Self::sse_reads(vec![body.into()])
    }

    /// A `200 text/event-stream` response whose body arrives in `reads`.
    pub fn sse_reads(reads: Vec<Bytes>) -> Self {
        Self::Response {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            reads,
        }
    }

    /// A `200 text/event-stream` response whose `body` is cut into reads at the byte offsets
    /// `cuts` (sorted or not; offsets past the end are clamped).
    pub fn sse_cut(body: &[u8], cuts: &[usize]) -> Self {
        let mut cuts = cuts.to_vec();
        cuts.sort_unstable();
        let mut reads = Vec::with_capacity(cuts.len() + 1);
        let mut start = 0;
        for cut in cuts.into_iter().chain(std::iter::once(body.len())) {
            let cut = cut.clamp(start, body.len());
            reads.push(Bytes::copy_from_slice(&body[start..cut]));
            start = cut;
        }
        Self::sse_reads(reads)
    }

    /// The same reply with one more header (a response's only; ignored on faults).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Self::Response { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    fn into_response(self) -> Result<http::Response<Body>, TransportError> {
        match self {
            Self::Response {
                status,
                headers,
                reads,
            } => {
                let mut response = http::Response::builder().status(status);
                for (name, value) in headers {
                    response = response.header(name, value);
                }
                let body = if reads.len() == 1 {
                    Body::from(reads.into_iter().next().unwrap_or_default())
                } else {
                    let reads: Vec<Result<Bytes, TransportError>> =
                        reads.into_iter().map(Ok).collect();
                    Body::from_stream(futures_util::stream::iter(reads))
                };
                Ok(response
                    .body(body)
                    .expect("a canned reply is a valid response"))
            }
            Self::Fail(kind) => Err(TransportError::new(kind, "scripted failure")),
            Self::Hang => unreachable!("handled before the response is built"),
        }
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<CannedReply>,
    always: Option<CannedReply>,
    requests: Vec<http::Request<Bytes>>,
    sleeps: Vec<Duration>,
    timers_never_fire: bool,
}

/// A transport that answers from a script; see the module docs. Clones share the script.
#[derive(Clone, Default)]
pub struct Canned {
    script: Arc<Mutex<Script>>,
}

impl Canned {
    /// A transport with an empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// A transport that answers with `replies`, in order.
    pub fn with(replies: impl IntoIterator<Item = CannedReply>) -> Self {
        let canned = Self::new();
        canned.lock().replies.extend(replies);
        canned
    }

    /// Adds `reply` to the end of the script.
    pub fn push(&self, reply: CannedReply) -> &Self {
        self.lock().replies.push_back(reply);
        self
    }

    /// Answers with `reply` whenever the script has run out.
    #[must_use]
    pub fn always(self, reply: CannedReply) -> Self {
        self.lock().always = Some(reply);
        self
    }

    /// Timers never fire: no deadline or idle timeout can pass.
    #[must_use]
    pub fn timers_never_fire(self) -> Self {
        self.lock().timers_never_fire = true;
        self
    }

    /// The requests sent so far.
    pub fn requests(&self) -> Vec<http::Request<Bytes>> {
        self.lock().requests.clone()
    }

    /// The body of request `index`, parsed as JSON.
    pub fn request_json(&self, index: usize) -> serde_json::Value {
        let script = self.lock();
        let request = script
            .requests
            .get(index)
            .unwrap_or_else(|| panic!("no request {index} was sent"));
        serde_json::from_slice(request.body()).expect("the request body is JSON")
    }

    /// The durations of every timer asked for so far (retry waits and deadlines).
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    /// A client builder on this transport with [`FAKE_KEY`] and [`CANNED_BASE_URL`].
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .api_key(FAKE_KEY)
            .base_url(CANNED_BASE_URL)
            .transport(self.clone())
    }

    /// A client on this transport with [`FAKE_KEY`] and [`CANNED_BASE_URL`].
    pub fn client(&self) -> Client {
        self.client_builder()
            .build()
            .expect("a canned client builds")
    }

    fn lock(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Transport for Canned {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Body>, TransportError> {
        let reply = {
            let mut script = self.lock();
            let reply = script.replies.pop_front().or_else(|| script.always.clone());
            let reply = reply.unwrap_or_else(|| {
                panic!(
                    "no reply scripted for request {} ({} {})",
                    script.requests.len(),
                    request.method(),
                    request.uri()
                )
            });
            script.requests.push(request);
            reply
        };
        if let CannedReply::Hang = reply {
            return std::future::pending().await;
        }
        reply.into_response()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        let mut script = self.lock();
        script.sleeps.push(duration);
        if script.timers_never_fire {
            Box::pin(std::future::pending())
        } else {
            Box::pin(std::future::ready(()))
        }
    }
}
