//! [`GuardedStream`]: a chat stream whose answer is checked at its end, and every N chunks
//! when the policy asks.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use cygnet_types::{ChatCompletion, ChatCompletionChunk, Message, MonitorRequest};

use crate::accumulate::Accumulator;
use crate::error::{Error, Result};
use crate::guard::check::{assistant_turn, decide, monitor_messages, settle, Shared};
use crate::guard::verdict::{GuardReport, Guarded, Stage, StageOutcome, StageVerdict};
use crate::stream::ChatStream;
use crate::text::TextSource;
use crate::transport::BoxFuture;

type Check = BoxFuture<'static, std::result::Result<StageVerdict, (Stage, Error)>>;

/// The chunks of a guarded streaming answer ([`GuardedClient::chat_stream`](crate::guard::GuardedClient::chat_stream)).
///
/// Chunks are passed on as they arrive, and the answer so far is checked every
/// [`stream_check_every`](crate::guard::GuardPolicy::stream_check_every) chunks (the stream
/// waits for each check) and once more after the last chunk. A chunk is only covered by the
/// checks after it: [`GuardedStream::delivered_unverified`] counts those no check has
/// passed yet. When a check blocks, or cannot decide under a fail-closed policy, the
/// stream's last item is [`Error::Guard`], whose verdict's
/// [`at_chunk`](crate::guard::StageVerdict::at_chunk) says how many chunks had been
/// delivered: treat them as withdrawn. A stream that ends without that error passed.
///
/// An answer Gray Swan itself blocked (a chunk with finish reason `violation`) is not
/// checked again: it says so itself.
///
/// ```no_run
/// # async fn run(guarded: cygnet::guard::GuardedClient, request: cygnet::types::ChatCompletionRequest)
/// #     -> cygnet::Result<()> {
/// let mut stream = guarded.chat_stream(&request).await?;
/// while let Some(chunk) = stream.next_chunk().await {
///     match chunk {
///         Ok(chunk) => print!("{}", chunk.text_delta().unwrap_or_default()),
///         Err(error) if error.as_guard().is_some() => {
///             eprintln!("\n[answer withdrawn: {error}]");
///             break;
///         }
///         Err(error) => return Err(error),
///     }
/// }
/// # Ok(()) }
/// ```
pub struct GuardedStream {
    inner: ChatStream,
    shared: Arc<Shared>,
    messages: Arc<Vec<Message>>,
    accumulator: Accumulator,
    report: GuardReport,
    check: Option<Check>,
    /// The inner stream ended; the check in flight is the final one.
    finishing: bool,
    done: bool,
    delivered: u64,
    /// Chunks covered by the last check that passed.
    verified: u64,
}

impl fmt::Debug for GuardedStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedStream")
            .field("inner", &self.inner)
            .field("delivered", &self.delivered)
            .field("verified", &self.verified)
            .field("checking", &self.check.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl GuardedStream {
    pub(crate) fn new(
        inner: ChatStream,
        shared: Arc<Shared>,
        messages: Vec<Message>,
        report: GuardReport,
    ) -> Self {
        Self {
            inner,
            shared,
            messages: Arc::new(monitor_messages(&messages)),
            accumulator: Accumulator::new(),
            report,
            check: None,
            finishing: false,
            done: false,
            delivered: 0,
            verified: 0,
        }
    }

    /// The checks so far: the input's, then each of the answer's.
    pub fn report(&self) -> &GuardReport {
        &self.report
    }

    /// How many chunks have been delivered.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// How many delivered chunks no passed check covers yet (all of them until the first
    /// check of the answer passed; `0` once the final check passed).
    pub fn delivered_unverified(&self) -> u64 {
        self.delivered - self.verified
    }

    /// The answer so far, accumulated.
    pub fn completion(&self) -> ChatCompletion {
        self.accumulator.snapshot()
    }

    /// The inner (unguarded) stream.
    pub fn get_ref(&self) -> &ChatStream {
        &self.inner
    }

    /// Waits for the next chunk (or the guard's verdict); `None` once the stream ended and
    /// passed its checks.
    pub async fn next_chunk(&mut self) -> Option<Result<ChatCompletionChunk>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Reads the stream to its end and returns the whole answer with the report, once every
    /// check passed.
    ///
    /// # Errors
    ///
    /// The stream's first error: [`Error::Guard`] when a check of the answer blocked or
    /// could not decide, or the errors of the stream itself.
    pub async fn collect_completion(mut self) -> Result<Guarded<ChatCompletion>> {
        while let Some(chunk) = self.next_chunk().await {
            chunk?;
        }
        Ok(Guarded {
            value: self.accumulator.snapshot(),
            report: self.report,
        })
    }

    /// Starts a check of the answer so far.
    fn start_check(&mut self) {
        let completion = self.accumulator.snapshot();
        let mut messages = Vec::clone(&self.messages);
        messages.push(assistant_turn(
            completion.content(),
            completion.tool_calls(),
        ));
        let shared = Arc::clone(&self.shared);
        let at_chunk = self.delivered;
        self.check = Some(Box::pin(async move {
            let decided = decide(&shared, Stage::Output, MonitorRequest::messages(messages)).await;
            decided.map(|mut verdict| {
                verdict.at_chunk = Some(at_chunk);
                verdict
            })
        }));
    }

    /// Whether the answer is to be checked after this many chunks.
    fn due(&self) -> bool {
        let every = self.shared.policy.stream_check_interval();
        self.shared.policy.checks_output()
            && every > 0
            && self.delivered % every == 0
            && !self.accumulator.is_blocked()
    }
}

impl Stream for GuardedStream {
    type Item = Result<ChatCompletionChunk>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(check) = this.check.as_mut() {
                let decided = ready!(check.as_mut().poll(cx));
                this.check = None;
                let at_chunk = decided.as_ref().ok().and_then(|v| v.at_chunk);
                match settle(decided, &mut this.report) {
                    Ok(verdict) => {
                        if verdict.outcome == StageOutcome::Passed {
                            this.verified = at_chunk.unwrap_or(this.delivered);
                        }
                    }
                    Err(error) => {
                        this.done = true;
                        return Poll::Ready(Some(Err(error)));
                    }
                }
                if this.finishing {
                    this.done = true;
                }
            }
            if this.done {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.inner).poll_next(cx)) {
                Some(Ok(chunk)) => {
                    this.accumulator.push(&chunk);
                    this.delivered += 1;
                    if this.due() {
                        this.start_check();
                    }
                    return Poll::Ready(Some(Ok(chunk)));
                }
                Some(Err(error)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    this.finishing = true;
                    let checked_already = this.verified == this.delivered && this.delivered > 0;
                    if this.shared.policy.checks_output()
                        && !this.accumulator.is_blocked()
                        && !checked_already
                    {
                        this.start_check();
                    } else {
                        this.done = true;
                    }
                }
            }
        }
    }
}

impl TextSource for GuardedStream {}
