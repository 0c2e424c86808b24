//! Helpers shared by the integration tests.

use std::time::Duration;

/// Runs a test body on its own thread and fails it if it takes more than 10 real seconds,
/// so a scheduling bug fails the run instead of hanging it.
pub fn bounded(body: impl FnOnce() + Send + 'static) {
    let (done, wait) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match wait.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => handle.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The body panicked: pass its panic on (for `should_panic` tests too).
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("test still running after 10 s"),
    }
}
