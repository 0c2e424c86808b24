//! The blocking client's tokio runtime, driven by its callers' own threads.
//!
//! The runtime is a current-thread one. Whichever thread drives it reads the sockets, fires the
//! timers and runs the connection tasks. A caller that is outside any runtime drives it itself
//! for as long as its call waits, through tokio's `Runtime::block_on`. So a blocking stream
//! reads its socket, runs hyper's connection task and decodes its chunks on one thread, the
//! way an async stream on a current-thread runtime does, with no hand-over between threads.
//! That hand-over was what kept the blocking stream's CPU and wall time above the async one's
//! (`bench/README.md`).
//!
//! Between calls somebody must still drive the runtime: an idle pooled connection must see
//! its server close, and a dropped stream's connection must close. A driver thread does this.
//! It takes the runtime only after no caller has taken it for [`QUIET`], and gives it back as
//! soon as a caller asks.
//!
//! While a blocking stream is open and read, its reader takes the runtime at every read, and
//! the driver thread, finding the runtime busy after a [`QUIET`] wait, ends. A live second
//! thread is not free: every system call on a file (each `write` of a printed delta, say)
//! costs a multi-threaded process more than a single-threaded one, as the kernel must count
//! the file's users. Between the stream's reads nobody drives the runtime then, which costs
//! nothing: the stream's reader catches up at its next read, and a server's bytes wait in the
//! socket. The driver thread starts again once no stream is open and a call ends, when a
//! stream is dropped, and whenever a guest (below) waits.
//!
//! A caller inside another runtime's context (an async task, `spawn_blocking`) cannot call
//! `Runtime::block_on`; tokio forbids blocking a thread that drives tasks. Such a *guest*
//! polls its call on its own thread and sleeps while the call waits. Whoever drives the runtime
//! wakes it: the driver thread, which takes the runtime at once while a guest waits, or a
//! caller that holds it. This is slower, but it is only the path for code that should not
//! block at all (see the [blocking module docs](super)).
//!
//! Dropping the runtime never blocks. It tells the driver thread to stop, and the last of the
//! two to let go shuts the runtime down in the background.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use bytes::Bytes;
use cygnet_core::{Body, Error, Result, TransportError, TransportErrorKind};
use futures_core::Stream;
use tokio::runtime::Handle;

use super::relay;

/// How long the runtime must go untaken by callers before the driver thread takes it. It is
/// short next to a connection's idle life, and long next to the gap between a fast stream's
/// reads.
const QUIET: Duration = Duration::from_millis(10);

/// The client's runtime and its driver thread. Dropping it never blocks and never panics, even
/// inside another runtime.
pub(crate) struct Runtime {
    runtime: Option<Arc<tokio::runtime::Runtime>>,
    turns: Arc<Turns>,
}

/// Who drives the runtime: the callers, the driver thread or nobody.
#[derive(Default)]
struct Turns {
    state: Mutex<State>,
    /// Wakes the driver thread out of its wait for a turn.
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// Callers that are driving the runtime or about to (in `Runtime::block_on`).
    drivers: usize,
    /// Guests waiting on the runtime: they need somebody else to drive it.
    guests: usize,
    /// Counts the callers' turns, so the driver can tell a quiet runtime from a busy one.
    turns: u64,
    /// The driver thread waits, without a time limit, for the callers to leave.
    driver_waits: bool,
    /// The driver thread's waker while it drives the runtime, to make it hand the runtime over.
    driver: Option<Waker>,
    /// Blocking streams open on this runtime; while one is, the driver thread may end.
    streams: usize,
    /// A driver thread is running (or starting).
    driver_alive: bool,
    /// The client is gone: the driver thread ends.
    stop: bool,
}

impl State {
    /// Whether a driver thread must be started now (and, if so, marks it started).
    fn wants_driver(&mut self) -> bool {
        let wanted = !self.stop && !self.driver_alive;
        self.driver_alive |= wanted;
        wanted
    }
}

impl Turns {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing here panics while holding the lock, and the state is whole at every step.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A caller is about to drive the runtime: the driver thread, if it has the runtime, gives
    /// it up.
    fn caller_takes(&self) {
        let mut state = self.lock();
        state.drivers += 1;
        state.turns = state.turns.wrapping_add(1);
        let driver = state.driver.take();
        drop(state);
        if let Some(driver) = driver {
            driver.wake();
        }
    }

    /// A caller's turn ended; `true` when a driver thread must be started (no stream is open
    /// to drive the runtime again soon).
    fn caller_leaves(&self) -> bool {
        let mut state = self.lock();
        state.drivers -= 1;
        if state.drivers == 0 && state.driver_waits {
            // Only an untimed wait needs the news; a timed one looks when it ends.
            self.changed.notify_one();
        }
        state.drivers == 0 && state.streams == 0 && state.wants_driver()
    }

    /// A guest waits; `true` when a driver thread must be started for it.
    fn guest_arrives(&self) -> bool {
        let mut state = self.lock();
        state.guests += 1;
        self.changed.notify_one();
        state.wants_driver()
    }

    fn stream_opened(&self) {
        self.lock().streams += 1;
    }

    /// A stream was dropped; `true` when a driver thread must be started.
    fn stream_closed(&self) -> bool {
        let mut state = self.lock();
        state.streams -= 1;
        state.wants_driver()
    }

    /// Starting the driver thread failed: the next that wants it tries again.
    fn driver_failed(&self) {
        self.lock().driver_alive = false;
    }

    fn guest_leaves(&self) {
        self.lock().guests -= 1;
    }

    fn stop(&self) {
        let mut state = self.lock();
        state.stop = true;
        let driver = state.driver.take();
        drop(state);
        self.changed.notify_one();
        if let Some(driver) = driver {
            driver.wake();
        }
    }

    /// Waits until the driver thread should drive: no caller is driving, and a guest waits or
    /// no caller has taken a turn for [`QUIET`]. `false` when the driver thread should end:
    /// the client is gone, or an open stream's reader drives the runtime.
    fn driver_waits_for_its_turn(&self) -> bool {
        let mut state = self.lock();
        loop {
            if state.stop {
                state.driver_alive = false;
                return false;
            }
            if state.drivers > 0 {
                state.driver_waits = true;
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                state.driver_waits = false;
                continue;
            }
            if state.guests > 0 {
                return true;
            }
            let turns = state.turns;
            state = self
                .changed
                .wait_timeout(state, QUIET)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if state.stop || state.guests > 0 {
                continue;
            }
            if state.turns == turns {
                if state.drivers == 0 {
                    return true;
                }
            } else if state.streams > 0 {
                state.driver_alive = false;
                return false;
            }
        }
    }

    /// The driver thread's hold on the runtime: ready once a caller wants it or the client is
    /// gone.
    fn poll_hand_over(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.stop || state.drivers > 0 {
            state.driver = None;
            return Poll::Ready(());
        }
        match &mut state.driver {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Runtime {
    pub(crate) fn start() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .thread_name("cygnet-blocking")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| cannot_start(&e))?;
        let runtime = Self {
            runtime: Some(Arc::new(runtime)),
            turns: Arc::<Turns>::default(),
        };
        runtime.turns.lock().driver_alive = true;
        runtime.start_driver().map_err(|e| cannot_start(&e))?;
        Ok(runtime)
    }

    /// Starts a driver thread; the caller has marked it alive.
    fn start_driver(&self) -> std::io::Result<()> {
        let Some(runtime) = self.runtime.as_ref().map(Arc::clone) else {
            return Ok(());
        };
        let turns = Arc::clone(&self.turns);
        let started = std::thread::Builder::new()
            .name("cygnet-blocking".into())
            .spawn(move || drive(runtime, &turns));
        if started.is_err() {
            self.turns.driver_failed();
        }
        started.map(drop)
    }

    /// Starts a driver thread when `wanted`; a failure is left to the next that wants one.
    fn start_driver_if(&self, wanted: bool) {
        if wanted {
            let _ = self.start_driver();
        }
    }

    /// A blocking stream is open on this runtime ([`Runtime::stream_closed`] when dropped).
    pub(crate) fn stream_opened(&self) {
        self.turns.stream_opened();
    }

    /// A blocking stream was dropped: the driver thread takes over again.
    pub(crate) fn stream_closed(&self) {
        self.start_driver_if(self.turns.stream_closed());
    }

    pub(crate) fn handle(&self) -> Option<&Handle> {
        self.runtime.as_deref().map(tokio::runtime::Runtime::handle)
    }

    /// Drives `future` to its end on this thread, inside the runtime's context (so the
    /// sockets, timers and tasks it creates belong to the runtime).
    ///
    /// What is ready at once (a chunk already decoded or already read) costs one poll. A
    /// future that has to wait drives the runtime on this thread, or, on a thread inside
    /// another runtime, sleeps while somebody else drives it (see the [module docs](self)).
    /// Either way, tokio's cooperative budget of the caller's task (if any) does not apply:
    /// that task never yields to its own scheduler while this waits.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> Result<F::Output> {
        self.block_on_with(future, false)
    }

    /// [`Runtime::block_on`] for a call that opens or reads a stream: on a guest's thread, the
    /// bodies it opens are relayed ([`relay`]), so they cross to this thread in batches.
    pub(crate) fn block_on_stream<F: Future>(&self, future: F) -> Result<F::Output> {
        self.block_on_with(future, true)
    }

    fn block_on_with<F: Future>(&self, future: F, relay_bodies: bool) -> Result<F::Output> {
        let runtime = self.runtime.as_deref().ok_or_else(runtime_gone)?;
        let mut future = std::pin::pin!(future);
        {
            let _context = runtime.enter();
            let _peek = Peek::enter();
            let first =
                THREAD_WAKER.with(|waker| future.as_mut().poll(&mut Context::from_waker(waker)));
            if let Poll::Ready(output) = first {
                return Ok(output);
            }
        }
        // Asked outside this runtime's context, which would answer it. A peek opens no body
        // (a response comes after a wait), so the relay's scope is in time here.
        let guest = Handle::try_current().is_ok();
        let _relay = (guest && relay_bodies).then(relay::Scope::enter);
        let _context = runtime.enter();
        if guest {
            return self.wait_as_guest(tokio::task::unconstrained(future));
        }
        // tokio's `block_on` gives the future a cooperative budget of this runtime's own.
        self.turns.caller_takes();
        let _leave = Leave(self);
        Ok(runtime.block_on(future))
    }

    /// Polls `future` on this thread until it is ready, sleeping in between while the driver
    /// thread (or a caller) drives the runtime.
    fn wait_as_guest<F: Future>(&self, future: F) -> Result<F::Output> {
        let mut future = std::pin::pin!(future);
        THREAD_WAKER.with(|waker| {
            let mut cx = Context::from_waker(waker);
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return Ok(output);
            }
            let _leave = LeaveAsGuest(&self.turns);
            if self.turns.guest_arrives() {
                // Nobody else may drive the runtime: without its thread, the guest would wait
                // for ever.
                self.start_driver().map_err(|e| cannot_start(&e))?;
            }
            loop {
                // A wake-up that came before this park makes it return at once; a spurious
                // return only costs one more poll.
                std::thread::park();
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return Ok(output);
                }
            }
        })
    }
}

thread_local! {
    /// Whether this thread is polling a call without holding the runtime ([`Peek`]).
    static PEEKING: Cell<bool> = const { Cell::new(false) };
}

/// While alive, this thread only peeks: the bodies of hyper's responses read nothing
/// ([`ReadInTurn`]).
///
/// `block_on` first polls its future without taking the runtime, so that a chunk already
/// decoded or already read costs one poll. Taking a frame out of hyper's body then would wake
/// hyper's connection task from outside the runtime, which costs a system call to wake the
/// runtime's driver; inside the runtime it is a queue push. So the peek only looks at what is
/// already read, and the body is read in the runtime, by the `block_on` that follows a
/// `Pending`.
struct Peek {
    previous: bool,
}

impl Peek {
    fn enter() -> Self {
        Self {
            previous: PEEKING.with(|peeking| peeking.replace(true)),
        }
    }
}

impl Drop for Peek {
    fn drop(&mut self) {
        PEEKING.with(|peeking| peeking.set(self.previous));
    }
}

/// `body` as core's [`Body`], the way the blocking client reads hyper's bodies: relayed for a
/// guest's stream ([`relay`]), else read directly, in the runtime's turn ([`ReadInTurn`]).
pub(crate) fn body<S>(body: S) -> Body
where
    S: Stream<Item = std::result::Result<Bytes, TransportError>> + Send + Unpin + 'static,
{
    relay::relayed(body).unwrap_or_else(|body| Body::from_stream(ReadInTurn(body)))
}

/// A body of hyper's that is read only by a thread that holds the runtime (or by any thread
/// not in a [`Peek`]): a peek gets `Pending`, with its waker woken, so it is polled again.
struct ReadInTurn<S>(S);

impl<S: Stream + Unpin> Stream for ReadInTurn<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if PEEKING.with(Cell::get) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Pin::new(&mut self.0).poll_next(cx)
    }
}

/// Ends a caller's turn, also when its future panics.
struct Leave<'a>(&'a Runtime);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.start_driver_if(self.0.turns.caller_leaves());
    }
}

/// Ends a guest's wait, also when its future panics.
struct LeaveAsGuest<'a>(&'a Turns);

impl Drop for LeaveAsGuest<'_> {
    fn drop(&mut self) {
        self.0.guest_leaves();
    }
}

/// The driver thread: drives the runtime in its turns until the client is gone, then shuts
/// the runtime down if it holds the last reference.
fn drive(runtime: Arc<tokio::runtime::Runtime>, turns: &Turns) {
    while turns.driver_waits_for_its_turn() {
        runtime.block_on(std::future::poll_fn(|cx| turns.poll_hand_over(cx)));
    }
    shut_down(runtime);
}

/// Shuts `runtime` down without waiting for its blocking tasks, if this is its last
/// reference. `Arc::into_inner` hands the runtime to exactly one of the two that let go at
/// the same time, so it is never dropped the ordinary way, which could wait.
fn shut_down(runtime: Arc<tokio::runtime::Runtime>) {
    if let Some(runtime) = Arc::into_inner(runtime) {
        runtime.shutdown_background();
    }
}

thread_local! {
    /// This thread's waker for [`Runtime::block_on`], made once per thread rather than once
    /// per poll.
    static THREAD_WAKER: Waker = Waker::from(Arc::new(Unpark(std::thread::current())));
}

/// Wakes a thread sleeping in [`Runtime::block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

fn cannot_start(error: &std::io::Error) -> Error {
    Error::Config(format!(
        "could not start the blocking client's runtime: {error}"
    ))
}

fn runtime_gone() -> Error {
    Error::Transport(TransportError::new(
        TransportErrorKind::Other,
        "the blocking client's runtime stopped before the call finished",
    ))
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.turns.stop();
        if let Some(runtime) = self.runtime.take() {
            shut_down(runtime);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread::ThreadId;
    use std::time::Instant;

    use super::*;

    /// Whatever a test waits for, it waits no longer than this.
    const BOUND: Duration = Duration::from_secs(10);

    /// The thread a task of `runtime` runs on, when it is spawned while `caller` is still
    /// polling.
    fn thread_of_a_task(runtime: &Runtime) -> (ThreadId, String) {
        let handle = runtime.handle().unwrap().clone();
        runtime
            .block_on(async move {
                let task = handle.spawn(async {
                    let thread = std::thread::current();
                    (thread.id(), thread.name().unwrap_or_default().to_owned())
                });
                task.await.unwrap()
            })
            .unwrap()
    }

    #[test]
    fn a_caller_outside_any_runtime_drives_it_on_its_own_thread() {
        let runtime = Runtime::start().unwrap();
        let (thread, _) = thread_of_a_task(&runtime);
        assert_eq!(thread, std::thread::current().id());
    }

    #[test]
    fn a_ready_call_is_answered_by_its_first_poll() {
        let runtime = Runtime::start().unwrap();
        let before = runtime.turns.lock().turns;
        assert_eq!(runtime.block_on(async { 7 }).unwrap(), 7);
        assert_eq!(
            runtime.turns.lock().turns,
            before,
            "a ready call took a turn"
        );
    }

    #[test]
    fn the_driver_thread_runs_tasks_once_the_callers_are_away() {
        let runtime = Runtime::start().unwrap();
        // A call first, so the driver thread has given the runtime up once.
        thread_of_a_task(&runtime);
        let (tx, rx) = mpsc::channel();
        runtime.handle().unwrap().spawn(async move {
            let thread = std::thread::current();
            let _ = tx.send((thread.id(), thread.name().map(str::to_owned)));
        });
        let (thread, name) = rx.recv_timeout(BOUND).expect("nobody ran the task");
        assert_ne!(thread, std::thread::current().id());
        assert_eq!(name.as_deref(), Some("cygnet-blocking"));
    }

    #[test]
    fn a_caller_gets_the_runtime_back_from_the_driver_thread() {
        let runtime = Runtime::start().unwrap();
        // Long enough for the driver thread to have taken the runtime.
        std::thread::sleep(QUIET * 5);
        let (thread, _) = thread_of_a_task(&runtime);
        assert_eq!(thread, std::thread::current().id());
    }

    #[test]
    fn a_guest_inside_another_runtime_is_answered_with_the_driver_thread_driving() {
        let runtime = Runtime::start().unwrap();
        let outer = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = Instant::now();
        let answer = outer.block_on(async {
            runtime
                .block_on(async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    std::thread::current().id()
                })
                .unwrap()
        });
        // The guest polls its own future; the timer fired on the runtime's driver.
        assert_eq!(answer, std::thread::current().id());
        assert!(started.elapsed() < BOUND);
        assert_eq!(runtime.turns.lock().guests, 0);
    }

    #[test]
    fn many_threads_share_the_runtime() {
        let runtime = Arc::new(Runtime::start().unwrap());
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let runtime = Arc::clone(&runtime);
                std::thread::spawn(move || {
                    for round in 0..20 {
                        let handle = runtime.handle().unwrap().clone();
                        let got = runtime
                            .block_on(async move {
                                tokio::time::sleep(Duration::from_millis(1)).await;
                                handle.spawn(async move { i * 100 + round }).await.unwrap()
                            })
                            .unwrap();
                        assert_eq!(got, i * 100 + round);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(runtime.turns.lock().drivers, 0);
    }

    /// Drops `runtime` with a task that never ends on it: the drop returns at once, and the
    /// task is dropped soon after.
    fn assert_drop_returns_at_once_and_drops_the_tasks(runtime: Runtime) {
        let (dropped_tx, dropped_rx) = mpsc::channel();
        let dropped = DropSignal(dropped_tx);
        runtime.handle().unwrap().spawn(async move {
            // Never completes: only the runtime's shutdown drops it.
            let _held = dropped;
            std::future::pending::<()>().await;
        });
        let started = Instant::now();
        drop(runtime);
        assert!(started.elapsed() < Duration::from_secs(1), "drop waited");
        dropped_rx
            .recv_timeout(BOUND)
            .expect("the runtime's tasks were never dropped");
    }

    #[test]
    fn dropping_the_runtime_returns_at_once_and_drops_its_tasks() {
        assert_drop_returns_at_once_and_drops_the_tasks(Runtime::start().unwrap());
    }

    /// Sends once when dropped.
    struct DropSignal(mpsc::Sender<()>);

    impl Drop for DropSignal {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }

    /// Takes turns as a stream's reader does, until the driver thread has ended.
    fn read_until_the_driver_thread_ends(runtime: &Runtime) {
        let started = Instant::now();
        while runtime.turns.lock().driver_alive {
            assert!(started.elapsed() < BOUND, "the driver thread stayed");
            // Pending once, so each call takes a turn.
            runtime.block_on(tokio::task::yield_now()).unwrap();
        }
    }

    #[test]
    fn while_a_stream_is_read_the_driver_thread_ends_and_a_dropped_stream_brings_it_back() {
        let runtime = Runtime::start().unwrap();
        runtime.stream_opened();
        read_until_the_driver_thread_ends(&runtime);
        // A call ending while the stream is open leaves the driving to the stream's reader.
        thread_of_a_task(&runtime);
        assert!(!runtime.turns.lock().driver_alive);
        runtime.stream_closed();
        let (tx, rx) = mpsc::channel();
        runtime.handle().unwrap().spawn(async move {
            let _ = tx.send(std::thread::current().name().map(str::to_owned));
        });
        let name = rx.recv_timeout(BOUND).expect("nobody ran the task");
        assert_eq!(name.as_deref(), Some("cygnet-blocking"));
    }

    #[test]
    fn a_guest_starts_the_driver_thread_when_none_runs() {
        let runtime = Runtime::start().unwrap();
        runtime.stream_opened();
        read_until_the_driver_thread_ends(&runtime);
        let outer = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let slept = outer.block_on(async {
            // The timer is made inside the call, so it is the client runtime's.
            runtime
                .block_on(async { tokio::time::sleep(Duration::from_millis(20)).await })
                .is_ok()
        });
        assert!(slept);
        assert_eq!(runtime.turns.lock().guests, 0);
        runtime.stream_closed();
    }

    #[test]
    fn dropping_the_runtime_without_a_driver_thread_returns_at_once() {
        let runtime = Runtime::start().unwrap();
        runtime.stream_opened();
        read_until_the_driver_thread_ends(&runtime);
        assert_drop_returns_at_once_and_drops_the_tasks(runtime);
    }

    #[test]
    fn a_peek_reads_no_body_and_asks_to_be_polled_again() {
        use std::sync::atomic::{AtomicBool, Ordering};

        struct Counted(Arc<AtomicBool>);
        impl Wake for Counted {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }

        let woken = Arc::new(AtomicBool::new(false));
        let waker = Waker::from(Arc::new(Counted(Arc::clone(&woken))));
        let mut cx = Context::from_waker(&waker);
        let mut body = ReadInTurn(futures_util::stream::iter([1, 2]));
        {
            let _peek = Peek::enter();
            assert!(Pin::new(&mut body).poll_next(&mut cx).is_pending());
            assert!(
                woken.load(Ordering::SeqCst),
                "a peek left its waker unwoken"
            );
        }
        assert_eq!(Pin::new(&mut body).poll_next(&mut cx), Poll::Ready(Some(1)));
    }
}
