//! Time bounds for tests.
//!
//! [`bounded`] wraps a future and [`bounded_thread`] a blocking closure; either fails the test
//! after [`TEST_TIMEOUT`] of real time. The future's bound keeps time on a helper thread rather
//! than a runtime's timer, so the same helper serves tests on tokio, smol or a plain
//! `block_on`.

use std::future::Future;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// The longest any single test step may take. Generous, because CI shares two cores among
/// many test binaries; a step that needs it has hung.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the timer thread and the bounded future share.
#[derive(Default)]
struct Watch {
    state: Mutex<WatchState>,
    finished: Condvar,
}

#[derive(Default)]
struct WatchState {
    expired: bool,
    finished: bool,
    waker: Option<Waker>,
}

/// Stops the timer thread when the bounded future ends (or is dropped).
struct StopOnDrop(Arc<Watch>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        state.finished = true;
        self.0.finished.notify_all();
    }
}

/// Runs `future`, panicking with `what` if it takes longer than [`TEST_TIMEOUT`].
///
/// Works on any executor: the time is kept by a short-lived helper thread, which wakes the
/// task when the bound passes.
pub async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    let watch = Arc::new(Watch::default());
    let timer = Arc::clone(&watch);
    std::thread::spawn(move || {
        let deadline = Instant::now() + TEST_TIMEOUT;
        let mut state = timer.state.lock().unwrap_or_else(|e| e.into_inner());
        while !state.finished {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                state.expired = true;
                if let Some(waker) = state.waker.take() {
                    waker.wake();
                }
                return;
            }
            state = timer
                .finished
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    });
    let _stop = StopOnDrop(Arc::clone(&watch));
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = future.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        let mut state = watch.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.expired {
            panic!("timed out after {TEST_TIMEOUT:?}: {what}");
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    })
    .await
}

/// Runs blocking `work` on its own thread and returns what it returns, failing the test if
/// it takes longer than [`TEST_TIMEOUT`]; a panic inside `work` is passed on as it was (so
/// `#[should_panic]` tests keep their message). A thread that overruns is left behind; the
/// test process ends soon after.
pub fn bounded_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, wait) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let out = work();
        let _ = done.send(());
        out
    });
    match wait.recv_timeout(TEST_TIMEOUT) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(RecvTimeoutError::Timeout) => panic!("test still running after {TEST_TIMEOUT:?}"),
    }
}
