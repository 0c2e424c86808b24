//! The streaming bodies of a blocking call made from inside another runtime's context, read
//! on the client's runtime and handed to the caller's thread in batches.
//!
//! A caller on a plain thread drives the client's runtime itself and reads its bodies
//! directly ([`super::runtime`]). A *guest*, a thread inside another runtime's context, must
//! not block on the client's runtime, so the client's own thread drives it while the guest
//! sleeps. hyper's body channel holds one data frame, so reading hyper's body straight from
//! the guest's thread would make the two threads take turns frame by frame: the guest takes a
//! frame and wakes the driving thread, which reads the next one and wakes the guest, two
//! cross-thread wake-ups (each a system call and a context switch) per frame.
//!
//! Instead, a relay task on the runtime reads the body next to hyper's connection task (on
//! the same thread, where a wake-up is a queue push) and queues the frames, as they are
//! (`Bytes`, no copy), up to [`READ_AHEAD`] bytes ahead of the guest. The guest takes the
//! queued frames one by one under a lock that is held for a push or a pop only, and sleeps
//! only when the queue is empty; the relay, once the queue is full, sleeps until the guest
//! has taken half of it. A guest that keeps up with a slow server is woken once per frame, as
//! before; a fast server's frames cross in batches, with one wake-up per [`RESUME_BELOW`]
//! bytes.
//!
//! Only hyper's bodies made while a guest drives a blocking stream call are relayed
//! ([`Scope`]); every other body is read directly, in the runtime's turn
//! ([`ReadInTurn`]). Dropping the relayed body aborts the relay task without waiting for it;
//! the task then drops hyper's body on the runtime, which closes the connection.

use std::cell::Cell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Waker};

use bytes::Bytes;
use cygnet_core::{Body, TransportError, TransportErrorKind};
use futures_core::Stream;
use tokio::runtime::Handle;
use tokio::task::AbortHandle;

/// How many bytes the relay reads ahead of the caller at most (plus one frame): enough for
/// the frames of a fast server to cross in large batches, small against a stream's other
/// buffers.
pub(crate) const READ_AHEAD: usize = 256 * 1024;

/// The relay, stopped by a full queue, resumes once the caller has left this much or less.
pub(crate) const RESUME_BELOW: usize = READ_AHEAD / 2;

thread_local! {
    /// Whether this thread is a guest driving a blocking stream call, inside its client's
    /// runtime.
    static RELAYING: Cell<bool> = const { Cell::new(false) };
}

/// While alive, hyper's bodies made on this thread are relayed through the runtime whose
/// context the thread is in (see the [module docs](self)). Restores what was set before when
/// dropped. Cheap (one thread-local flag), as it is entered once per `next()`.
pub(crate) struct Scope {
    previous: bool,
}

impl Scope {
    pub(crate) fn enter() -> Self {
        Self {
            previous: RELAYING.with(|relaying| relaying.replace(true)),
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        RELAYING.with(|relaying| relaying.set(self.previous));
    }
}

/// `body` relayed, when this thread is inside a [`Scope`] and a runtime's context; else
/// `body` back, to be read directly.
pub(crate) fn relayed<S>(body: S) -> std::result::Result<Body, S>
where
    S: Stream<Item = Result<Bytes, TransportError>> + Send + Unpin + 'static,
{
    if RELAYING.with(Cell::get) {
        if let Ok(handle) = Handle::try_current() {
            return Ok(Body::from_stream(relay(body, &handle)));
        }
    }
    Err(body)
}

/// What the relay task and the caller share.
#[derive(Default)]
struct Queue {
    /// The frames read and not yet taken, then the body's error if it failed.
    items: VecDeque<Result<Bytes, TransportError>>,
    /// The bytes in `items`.
    bytes: usize,
    /// The body has ended (or failed): nothing comes after `items`.
    finished: bool,
    /// The relay task is gone (finished, or dropped with its runtime).
    gone: bool,
    /// The caller, waiting for a frame.
    reader: Option<Waker>,
    /// The relay task, waiting for room.
    relay: Option<Waker>,
}

type Shared = Arc<Mutex<Queue>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Queue> {
    // Nothing here can panic while holding the lock, but a poisoned queue is still whole.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the relay task for `body` on `handle`'s runtime; the caller's end of its queue.
fn relay<S>(mut body: S, handle: &Handle) -> Relayed
where
    S: Stream<Item = Result<Bytes, TransportError>> + Send + Unpin + 'static,
{
    let shared = Shared::default();
    let gone = Gone(Arc::clone(&shared));
    let task = handle.spawn(async move {
        std::future::poll_fn(|cx| pump(&mut body, &gone.0, cx)).await;
    });
    Relayed {
        shared,
        task: task.abort_handle(),
    }
}

/// Moves every frame `body` has ready into the queue, until it is full, the body waits or
/// the body ends.
fn pump<S>(body: &mut S, shared: &Shared, cx: &mut Context<'_>) -> Poll<()>
where
    S: Stream<Item = Result<Bytes, TransportError>> + Unpin,
{
    loop {
        // Checked before every read, not only after a push: hyper wakes this task when it has
        // the next frame, also while the queue is full.
        {
            let mut queue = lock(shared);
            if queue.bytes >= READ_AHEAD {
                queue.relay = Some(cx.waker().clone());
                return Poll::Pending;
            }
        }
        let item = ready!(Pin::new(&mut *body).poll_next(cx));
        let mut queue = lock(shared);
        let last = match item {
            Some(Ok(frame)) => {
                queue.bytes += frame.len();
                queue.items.push_back(Ok(frame));
                false
            }
            Some(Err(error)) => {
                queue.items.push_back(Err(error));
                true
            }
            None => true,
        };
        queue.finished |= last;
        let reader = queue.reader.take();
        drop(queue);
        if let Some(reader) = reader {
            reader.wake();
        }
        if last {
            return Poll::Ready(());
        }
    }
}

/// Marks the queue's relay task gone when it ends or is dropped (also with its runtime), so
/// a caller waiting for a body that can no longer come gets an error instead of waiting on.
struct Gone(Shared);

impl Drop for Gone {
    fn drop(&mut self) {
        let mut queue = lock(&self.0);
        queue.gone = true;
        let reader = queue.reader.take();
        drop(queue);
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

/// The caller's end of a relayed body.
struct Relayed {
    shared: Shared,
    task: AbortHandle,
}

impl Stream for Relayed {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut queue = lock(&self.shared);
        if let Some(item) = queue.items.pop_front() {
            if let Ok(frame) = &item {
                queue.bytes -= frame.len();
            }
            let relay = if queue.bytes <= RESUME_BELOW {
                queue.relay.take()
            } else {
                None
            };
            drop(queue);
            if let Some(relay) = relay {
                relay.wake();
            }
            return Poll::Ready(Some(item));
        }
        if queue.finished {
            return Poll::Ready(None);
        }
        if queue.gone {
            // Fail closed: a body cut off by its runtime stopping is not a body that ended.
            queue.finished = true;
            return Poll::Ready(Some(Err(TransportError::new(
                TransportErrorKind::Other,
                "the blocking client's runtime stopped while the body was being read",
            ))));
        }
        match &mut queue.reader {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Relayed {
    fn drop(&mut self) {
        // Never waits: the task is dropped on its runtime, and hyper's body with it.
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::{mpsc, oneshot};

    use super::*;
    use crate::blocking::Runtime;

    /// A body fed by a channel; drops `dropped` with itself, so a test sees it go.
    ///
    /// Like hyper's body, it makes its reader wait between frames and wakes it when the next
    /// one is there: every other poll is `Pending` with the waker already woken.
    struct Fed {
        frames: mpsc::Receiver<Result<Bytes, TransportError>>,
        _dropped: Option<oneshot::Sender<()>>,
        wait: bool,
    }

    impl Stream for Fed {
        type Item = Result<Bytes, TransportError>;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.wait = !self.wait;
            if self.wait {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.frames.poll_recv(cx)
        }
    }

    fn fed(capacity: usize) -> (mpsc::Sender<Result<Bytes, TransportError>>, Fed) {
        let (tx, frames) = mpsc::channel(capacity);
        let body = Fed {
            frames,
            _dropped: None,
            wait: false,
        };
        (tx, body)
    }

    #[test]
    fn the_relay_reads_no_further_ahead_than_its_limit_while_the_caller_is_away() {
        let runtime = Runtime::start().unwrap();
        let handle = runtime.handle().unwrap().clone();
        let frames = 4 * READ_AHEAD / 1024;
        let (tx, source) = fed(frames);
        for _ in 0..frames {
            tx.try_send(Ok(Bytes::from(vec![b'x'; 1024]))).unwrap();
        }
        drop(tx);
        let body = relay(source, &handle);
        // Time for the relay to read everything it would.
        std::thread::sleep(Duration::from_millis(200));
        let queued = lock(&body.shared).bytes;
        assert!(
            (READ_AHEAD..=READ_AHEAD + 1024).contains(&queued),
            "{queued} bytes read ahead"
        );
        let items = read_all(&runtime, body);
        assert_eq!(items.len(), frames);
    }

    /// Reads `body` to its end on this thread, as the blocking client does.
    fn read_all(runtime: &Runtime, mut body: Relayed) -> Vec<Result<Bytes, TransportError>> {
        runtime
            .block_on(async move {
                let mut items = Vec::new();
                while let Some(item) =
                    std::future::poll_fn(|cx| Pin::new(&mut body).poll_next(cx)).await
                {
                    items.push(item);
                }
                items
            })
            .unwrap()
    }

    #[test]
    fn frames_cross_whole_and_in_order_past_the_read_ahead_then_the_end() {
        let runtime = Runtime::start().unwrap();
        let handle = runtime.handle().unwrap().clone();
        // Eight times the read-ahead in 1 KiB frames, so the relay fills the queue, stops
        // and resumes many times.
        let frames = 8 * READ_AHEAD / 1024;
        let (tx, source) = fed(16);
        handle.spawn(async move {
            for i in 0..frames {
                let frame = Bytes::from(vec![(i % 251) as u8; 1024]);
                tx.send(Ok(frame)).await.unwrap();
            }
        });
        let items = read_all(&runtime, relay(source, &handle));
        assert_eq!(items.len(), frames);
        for (i, item) in items.into_iter().enumerate() {
            let frame = item.unwrap();
            assert_eq!(frame.len(), 1024);
            assert!(
                frame.iter().all(|&b| b == (i % 251) as u8),
                "frame {i} out of order"
            );
        }
    }

    #[test]
    fn a_body_error_crosses_after_the_frames_before_it_and_ends_the_body() {
        let runtime = Runtime::start().unwrap();
        let handle = runtime.handle().unwrap().clone();
        let (tx, source) = fed(4);
        handle.spawn(async move {
            tx.send(Ok(Bytes::from_static(b"data: 1\n\n")))
                .await
                .unwrap();
            tx.send(Err(TransportError::new(TransportErrorKind::Io, "reset")))
                .await
                .unwrap();
            // Never relayed: the body ended at its error.
            let _ = tx.send(Ok(Bytes::from_static(b"data: 2\n\n"))).await;
        });
        let items = read_all(&runtime, relay(source, &handle));
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(
            items[0].as_ref().unwrap(),
            &Bytes::from_static(b"data: 1\n\n")
        );
        assert_eq!(
            items[1].as_ref().unwrap_err().kind(),
            TransportErrorKind::Io
        );
    }

    #[test]
    fn a_relay_stopped_with_its_runtime_is_an_error_not_the_end_of_the_body() {
        let reader = Runtime::start().unwrap();
        let relay_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let (tx, source) = fed(4);
        tx.try_send(Ok(Bytes::from_static(b"data: 1\n\n"))).unwrap();
        let body = relay(source, relay_runtime.handle());
        // Let the first frame cross, then stop the relay's runtime while the body waits.
        let mut body = body;
        let first = reader
            .block_on(std::future::poll_fn(|cx| Pin::new(&mut body).poll_next(cx)))
            .unwrap();
        assert_eq!(first.unwrap().unwrap(), Bytes::from_static(b"data: 1\n\n"));
        relay_runtime.shutdown_background();
        let items = read_all(&reader, body);
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(
            items[0].as_ref().unwrap_err().kind(),
            TransportErrorKind::Other
        );
        drop(tx);
    }

    #[test]
    fn dropping_the_body_stops_the_relay_and_drops_the_source_without_waiting() {
        let runtime = Runtime::start().unwrap();
        let handle = runtime.handle().unwrap().clone();
        let (tx, mut source) = fed(4);
        let (dropped_tx, dropped_rx) = oneshot::channel();
        source._dropped = Some(dropped_tx);
        let body = relay(source, &handle);
        // The source never ends on its own: only the abort can drop it.
        drop(body);
        let dropped = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), dropped_rx).await })
            .unwrap();
        assert!(
            matches!(dropped, Ok(Err(_))),
            "the relay still holds the source: {dropped:?}"
        );
        drop(tx);
    }

    #[test]
    fn bodies_are_relayed_only_inside_a_scope_and_a_runtime() {
        let runtime = Runtime::start().unwrap();
        assert!(!RELAYING.with(Cell::get));
        {
            let _outer = Scope::enter();
            assert!(RELAYING.with(Cell::get));
            {
                let _inner = Scope::enter();
            }
            // The inner scope restores the outer one's flag.
            assert!(RELAYING.with(Cell::get));
            // Outside any runtime's context a body is handed on as it is, never lost.
            let (tx, source) = fed(1);
            tx.try_send(Ok(Bytes::from_static(b"x"))).unwrap();
            drop(tx);
            let Err(source) = relayed(source) else {
                panic!("relayed outside a runtime's context");
            };
            let mut direct = Body::from_stream(source);
            let item = runtime
                .block_on(std::future::poll_fn(|cx| direct.poll_chunk(cx)))
                .unwrap();
            assert_eq!(item.unwrap().unwrap(), Bytes::from_static(b"x"));
        }
        assert!(!RELAYING.with(Cell::get));
    }
}
