//! The scripted body: how a reply's body reaches the client, read by read, on the mock
//! clock.
//!
//! A [`ReplyBody`] is the plan: a whole body (JSON, text), or a stream of events with
//! its faults and timing ([`StreamScript`]: pauses, in-stream error events, a reset, a
//! stall, a missing `[DONE]`). [`ReplyBody::into_body`] turns the plan into the
//! [`Body`] that `send` returns. A streamed plan is laid out once as a queue of steps
//! (bytes, pause, fail, stall), re-cut into the chosen read sizes, and then played by
//! [`ScriptedBody`], whose pauses are [`MockSleep`]s, so a stream that takes a minute
//! on the server takes no real time in a test.
//!
//! Hand-written because the faults must happen at exact event boundaries and the timing
//! must follow the mock clock; a channel fed by a task would need a runtime.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cygnet_core::transport::{Body, TransportError, TransportErrorKind};
use futures_core::Stream;

use crate::clock::{MockClock, MockSleep};
use crate::fixtures::{done_event, error_event};

/// What a reply's body is made of, and how it is handed out.
#[derive(Clone, Debug)]
pub(crate) enum ReplyBody {
    /// A body sent whole (JSON, text, HTML): one read, or reads of `read_sizes` in turn.
    Whole {
        bytes: Bytes,
        read_sizes: Vec<usize>,
    },
    /// A `text/event-stream` body, played event by event.
    Events(StreamScript),
}

/// The plan of a streamed body, event by event.
#[derive(Clone, Debug, Default)]
pub(crate) struct StreamScript {
    /// Each event's bytes, framing included.
    pub(crate) events: Vec<Bytes>,
    /// Whether `data: [DONE]` follows the events.
    pub(crate) done: bool,
    /// Read sizes, in turn, cycling; empty means one read per event.
    pub(crate) read_sizes: Vec<usize>,
    /// Waited before every event after the first.
    pub(crate) pause_between: Duration,
    /// Extra waits before the event at each position.
    pub(crate) pauses: Vec<(usize, Duration)>,
    /// Error events to send before the event at each position.
    pub(crate) errors: Vec<(usize, String)>,
    /// The position at which the body fails with a reset.
    pub(crate) fail_after: Option<usize>,
    /// The position at which the body goes quiet for ever.
    pub(crate) stall_after: Option<usize>,
}

impl StreamScript {
    /// `events`, then `[DONE]` when `done`, with no faults and no pauses.
    pub(crate) fn new(events: Vec<Bytes>, done: bool) -> Self {
        Self {
            events,
            done,
            ..Self::default()
        }
    }
}

impl ReplyBody {
    /// The body `send` hands out. `guard` counts it as open while it lives: a body sent
    /// in one read releases it at once.
    pub(crate) fn into_body(self, clock: &MockClock, guard: BodyGuard) -> Body {
        let script = match self {
            Self::Whole { bytes, read_sizes } if read_sizes.is_empty() => {
                drop(guard);
                return Body::from(bytes);
            }
            // A whole body to be cut up is played as a one-event stream.
            Self::Whole { bytes, read_sizes } => StreamScript {
                read_sizes,
                ..StreamScript::new(vec![bytes], false)
            },
            Self::Events(script) => script,
        };
        Body::from_stream(ScriptedBody::new(script, clock, guard))
    }
}

/// Counts a live body for [`MockTransport::open_bodies`](crate::MockTransport::open_bodies).
pub(crate) struct BodyGuard(pub(crate) Option<Box<dyn FnOnce() + Send>>);

impl Drop for BodyGuard {
    fn drop(&mut self) {
        if let Some(release) = self.0.take() {
            release();
        }
    }
}

enum Step {
    Bytes(Bytes),
    Pause(Duration),
    Fail,
    Stall,
}

/// A streamed body playing a [`StreamScript`] on the mock clock.
struct ScriptedBody {
    steps: VecDeque<Step>,
    clock: MockClock,
    pause: Option<MockSleep>,
    _guard: BodyGuard,
}

impl ScriptedBody {
    fn new(script: StreamScript, clock: &MockClock, guard: BodyGuard) -> Self {
        Self {
            steps: resize_reads(lay_out(&script), &script.read_sizes),
            clock: clock.clone(),
            pause: None,
            _guard: guard,
        }
    }
}

/// The script's steps in order: per event, its pauses, then a possible failure or stall,
/// then its bytes.
fn lay_out(script: &StreamScript) -> Vec<Step> {
    let original = script.events.len();
    // Insert the error events at their positions, counted in the original list; a
    // position of `None` marks an inserted event, which takes no pause of its own.
    let mut errors: Vec<(usize, Bytes)> = script
        .errors
        .iter()
        .map(|(at, message)| ((*at).min(original), error_event(message)))
        .collect();
    errors.sort_by_key(|(at, _)| *at);
    let mut list: Vec<(Option<usize>, Bytes)> = Vec::new();
    let mut errors = errors.into_iter().peekable();
    for (i, event) in script.events.iter().enumerate() {
        while let Some((_, e)) = errors.next_if(|(at, _)| *at == i) {
            list.push((None, e));
        }
        list.push((Some(i), event.clone()));
    }
    list.extend(errors.map(|(_, e)| (None, e)));
    if script.done {
        list.push((Some(original), done_event()));
    }

    let mut steps = Vec::new();
    let mut first = true;
    for (position, bytes) in list {
        if let Some(position) = position {
            if script.fail_after == Some(position) {
                steps.push(Step::Fail);
                return steps;
            }
            if script.stall_after == Some(position) {
                steps.push(Step::Stall);
                return steps;
            }
            let mut pause = if first {
                Duration::ZERO
            } else {
                script.pause_between
            };
            for (at, extra) in &script.pauses {
                if *at == position {
                    pause = pause.saturating_add(*extra);
                }
            }
            if !pause.is_zero() {
                steps.push(Step::Pause(pause));
            }
        }
        first = false;
        steps.push(Step::Bytes(bytes));
    }
    // Positions past the last event (e.g. fail_after(len) without [DONE]).
    let end = original + usize::from(script.done);
    if script.fail_after.is_some_and(|n| n >= end) {
        steps.push(Step::Fail);
    } else if script.stall_after.is_some_and(|n| n >= end) {
        steps.push(Step::Stall);
    }
    steps
}

/// Merges runs of bytes between pauses and re-cuts them into the chosen read sizes.
fn resize_reads(steps: Vec<Step>, sizes: &[usize]) -> VecDeque<Step> {
    if sizes.is_empty() {
        return steps.into();
    }
    let mut out = VecDeque::new();
    let mut run = BytesMut::new();
    let mut next_size = sizes.iter().copied().cycle();
    let mut flush = |run: &mut BytesMut, out: &mut VecDeque<Step>| {
        while !run.is_empty() {
            let n = next_size.next().unwrap_or(1).min(run.len());
            out.push_back(Step::Bytes(run.split_to(n).freeze()));
        }
    };
    for step in steps {
        match step {
            Step::Bytes(bytes) => run.extend_from_slice(&bytes),
            other => {
                flush(&mut run, &mut out);
                out.push_back(other);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

impl Stream for ScriptedBody {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.steps.front() {
                None => return Poll::Ready(None),
                Some(Step::Bytes(_)) => {
                    if let Some(Step::Bytes(bytes)) = this.steps.pop_front() {
                        return Poll::Ready(Some(Ok(bytes)));
                    }
                }
                Some(Step::Pause(pause)) => {
                    let pause = *pause;
                    let sleep = this.pause.get_or_insert_with(|| this.clock.sleep(pause));
                    if Pin::new(sleep).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.pause = None;
                    this.steps.pop_front();
                }
                Some(Step::Fail) => {
                    this.steps.clear();
                    return Poll::Ready(Some(Err(TransportError::new(
                        TransportErrorKind::Io,
                        "connection reset mid-stream (scripted by cygnet-mock)",
                    ))));
                }
                // Quiet for ever, with no deadline: only the reader's timeout ends it.
                Some(Step::Stall) => return Poll::Pending,
            }
        }
    }
}

impl fmt::Debug for ScriptedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedBody")
            .field("steps_left", &self.steps.len())
            .finish()
    }
}
