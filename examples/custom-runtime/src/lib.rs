//! `UreqTransport`: `cygnet_core::Transport` on ureq (blocking HTTP, rustls) and smol's
//! blocking-thread pool and timer. No tokio anywhere on this path.
//!
//! The library of the `custom-runtime-example` package, used by its `custom_runtime` example
//! and by `tests/tests/non_tokio.rs`, so the code the example runs is the code the tests run.
//! A package of its own so that ureq and smol are built only for it, never for the other
//! examples.
//!
//! How it maps onto the trait:
//! - `send` runs ureq's blocking call on smol's thread pool (`smol::unblock`) and returns
//!   once the response head has arrived; 4xx/5xx come back as responses (core reads them).
//! - The body streams: each chunk is one `read` of ureq's body reader, again on the pool,
//!   handed out as `Bytes` as soon as it arrives.
//! - `sleep` is an `async-io` timer (`smol::Timer`), so core's backoff and timeouts work on
//!   any executor that polls it.
//! - The clock (`now`, `wall_clock`, `jitter`, `sleep_until`) keeps the trait's defaults:
//!   smol's timer runs on real time, which is what the defaults read. A transport whose
//!   timer ran on another clock would override them to read that clock.
//!
//! Limits, honestly: a blocking read cannot be cancelled. When core gives up (a timeout, or
//! the caller drops the stream) the future is dropped at once, but the pool thread stays in
//! `read` until the server sends something, closes, or ureq's own timeouts fire. Each
//! in-flight request or body read holds one pool thread (smol's pool grows to 500).
#![deny(rustdoc::broken_intra_doc_links)]

use std::io::Read;
use std::time::Duration;

use bytes::Bytes;
use cygnet::config::DEFAULT_CONNECT_TIMEOUT;
use cygnet::transport::{
    async_trait, Body, ConnectTimeout, Sleep, Transport, TransportError, TransportErrorKind,
};

/// How much one body read asks for; SSE events are small, so reads return what has arrived.
const READ_SIZE: usize = 16 * 1024;

/// A cygnet transport over a shared `ureq::Agent` (cheap to clone: the agent is a handle to
/// one connection pool).
#[derive(Clone, Debug)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// A transport with its own connection pool.
    pub fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            // Core decides what an error status means and reads its body.
            .http_status_as_error(false)
            // Like the hyper transport: no redirects, so the key never follows one.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .new_agent();
        Self { agent }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Transport for UreqTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Body>, TransportError> {
        let connect_timeout = request
            .extensions()
            .get::<ConnectTimeout>()
            .map_or(DEFAULT_CONNECT_TIMEOUT, |c| c.0);
        let agent = self.agent.clone();
        // ureq sends a byte slice or Vec; one copy of the (small) JSON request body.
        let request = request.map(|body| body.to_vec());
        let response = smol::unblock(move || {
            let request = agent
                .configure_request(request)
                .timeout_connect(Some(connect_timeout))
                .build();
            agent.run(request)
        })
        .await
        .map_err(map_error)?;
        Ok(response.map(|body| body_stream(body.into_reader())))
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(async move {
            smol::Timer::after(duration).await;
        })
    }
}

/// The body as a stream: one blocking `read` per chunk on smol's pool, the reader moved
/// into the pool and back so no lock is needed.
fn body_stream(reader: ureq::BodyReader<'static>) -> Body {
    let chunks = smol::stream::unfold(Some(reader), |reader| async move {
        let mut reader = reader?; // `None` after an error: the stream has ended
        let (reader, read) = smol::unblock(move || {
            let mut buf = vec![0; READ_SIZE];
            let read = reader.read(&mut buf).map(|n| {
                buf.truncate(n);
                buf
            });
            (reader, read)
        })
        .await;
        match read {
            Ok(buf) if buf.is_empty() => None, // end of body
            Ok(buf) => Some((Ok(Bytes::from(buf)), Some(reader))),
            Err(e) => Some((Err(TransportError::new(TransportErrorKind::Io, e)), None)),
        }
    });
    Body::from_stream(chunks)
}

/// Sorts ureq's errors into the kinds core retries (connect, timeout, I/O) and the rest.
/// Core words each kind and adds where the call went; this only says what failed.
fn map_error(error: ureq::Error) -> TransportError {
    use std::io::ErrorKind;
    let kind = match &error {
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::Io(e)
            if matches!(
                e.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::AddrNotAvailable
            ) =>
        {
            TransportErrorKind::Connect
        }
        // A failed name lookup reaches ureq as an I/O error of a kind std does not name;
        // its message is std's own.
        ureq::Error::Io(e) if e.to_string().contains("failed to lookup address") => {
            TransportErrorKind::Connect
        }
        ureq::Error::Io(_) => TransportErrorKind::Io,
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => TransportErrorKind::Request,
        _ => TransportErrorKind::Other,
    };
    TransportError::new(kind, error)
}
