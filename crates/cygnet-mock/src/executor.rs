//! A minimal executor for tests on the mock: [`block_on`] runs a future to completion on the
//! current thread, [`now_or_never`] polls one once.
//!
//! The mock keeps all time on its virtual [`MockClock`](crate::MockClock), so a test needs no
//! runtime's timers: any executor works (`#[tokio::test]`, smol, futures' `block_on`), and
//! these two let a test, or a doc example, run the client without adding one.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

/// Wakes the thread blocked in [`block_on`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on the current thread, parking it while the future waits.
///
/// For futures that need no runtime: the client over the mock (or over a replayed cassette)
/// is one. A future that needs tokio's reactor or timers (cygnet-hyper's transport) does not
/// run here.
///
/// ```
/// use cygnet::mock::{block_on, MockReply, MockTransport};
/// use cygnet::{ChatCompletionRequest, Message};
///
/// let mock = MockTransport::conversation([MockReply::text("Hello!")]);
/// let request = ChatCompletionRequest::new("cygnet", vec![Message::user("Hi")]);
/// let completion = block_on(mock.client().chat(&request))?;
/// assert_eq!(completion.content(), Some("Hello!"));
/// # Ok::<(), cygnet::Error>(())
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// Polls `future` once: its output if it is ready, `None` if it would wait. Pass `&mut` a
/// future to poll it again later.
///
/// ```
/// use std::time::Duration;
/// use cygnet::mock::{now_or_never, MockClock};
///
/// let clock = MockClock::manual();
/// let mut sleep = clock.sleep(Duration::from_secs(1));
/// assert!(now_or_never(&mut sleep).is_none());
/// clock.advance(Duration::from_secs(1));
/// assert!(now_or_never(&mut sleep).is_some());
/// ```
pub fn now_or_never<F: Future>(future: F) -> Option<F::Output> {
    let future = pin!(future);
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}
