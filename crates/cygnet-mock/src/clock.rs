//! A virtual clock that tests control: [`MockClock`].
//!
//! Every timer of a [`MockTransport`](crate::MockTransport) runs on a `MockClock`: the sleeps
//! core asks for (backoff, request, header and idle timeouts), the delay before a scripted
//! reply's head arrives, and the pauses inside a scripted stream. No real time passes.
//!
//! # The two modes
//!
//! **Auto-advance** ([`MockClock::new`], the default) is a tiny discrete-event scheduler,
//! in the spirit of tokio's paused time but without a runtime:
//!
//! 1. A sleep's deadline is fixed when the sleep is *created*: `now + duration`.
//! 2. The first time it is polled, a sleep whose deadline has not passed *registers* with
//!    the clock, wakes its own task (a "tick") and returns `Pending`. The tick gives every
//!    other future polled in the same round (the other side of a `select`, say) the chance
//!    to register its own deadline before time moves.
//! 3. When a registered sleep is polled again, after a tick taken since the clock last
//!    moved, the clock jumps to the earliest deadline still ahead among all registered
//!    sleeps. If that is this sleep's own deadline, it completes. Otherwise the sleep that
//!    is due first is over (its owner finds it complete when it next polls it, even if
//!    that is never) and this one waits. Either way every registered sleep is woken: those
//!    whose deadline has now passed complete, the rest take a new tick before time can move
//!    again.
//! 4. A sleep that is dropped before it completes unregisters and wakes the others, since
//!    the earliest deadline may have changed.
//!
//! So time only ever moves to the earliest pending deadline, never past one: a reply
//! delayed by 5 s raced against a 10 s timeout arrives at virtual 5 s, and one delayed by
//! 20 s loses to the timeout at virtual 10 s. When two deadlines are equal, the future
//! polled first wins; core polls `send` before its timeout, so a reply due exactly at the
//! timeout still arrives.
//!
//! What auto-advance cannot know is whether some *other* work (another thread, a channel
//! fed from outside) is about to finish: like tokio's paused time, it treats "every
//! registered sleep is waiting" as idleness and moves on. A future that waits without a
//! deadline ([`MockReply::hang`](crate::MockReply::hang)) never moves the clock; if nothing
//! else is pending either, the test waits for ever, exactly as it would on a real network.
//!
//! **Manual** ([`MockClock::manual`]): sleeps register and wait; only
//! [`MockClock::advance`] moves time, waking every sleep whose deadline it passes. Use it
//! to step through a scenario and look at the state in between.
//!
//! # The whole truth about time
//!
//! A [`MockTransport`](crate::MockTransport) gives core this clock for everything: its
//! sleeps, its `now` ([`MockClock::elapsed`]), its wall clock ([`MockClock::wall_clock`],
//! which an HTTP-date `Retry-After` is read against: it starts at
//! [`MockClock::WALL_START_UNIX_SECS`] and moves with virtual time) and the backoff jitter
//! ([`MockClock::jitter`], a seeded sequence, the same on every run). So a test can assert
//! exact waits: a `Retry-After` date 7 s ahead of [`MockClock::wall_clock`] is a 7 s wait, and
//! backoff waits follow from the seed.
//!
//! ```
//! use std::time::Duration;
//! use cygnet::mock::MockClock;
//!
//! let clock = MockClock::new(); // auto-advance
//! cygnet::mock::block_on(async {
//!     clock.sleep(Duration::from_secs(3)).await;
//!     clock.sleep(Duration::from_millis(500)).await;
//! });
//! assert_eq!(clock.elapsed(), Duration::from_millis(3500));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::ops::{Add, Sub};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

/// A point on a [`MockClock`]: how far that clock had moved when the point was taken.
///
/// ```
/// use std::time::Duration;
/// use cygnet::mock::MockClock;
///
/// let clock = MockClock::manual();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now() - start, Duration::from_secs(2));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MockInstant(Duration);

impl MockInstant {
    /// The instant `since_start` after the clock's start.
    ///
    /// ```
    /// use std::time::Duration;
    /// let at = cygnet::mock::MockInstant::from_start(Duration::from_secs(3));
    /// assert_eq!(at.since_start(), Duration::from_secs(3));
    /// ```
    pub fn from_start(since_start: Duration) -> Self {
        Self(since_start)
    }

    /// The virtual time since the clock was created.
    ///
    /// ```
    /// let clock = cygnet::mock::MockClock::manual();
    /// assert_eq!(clock.now().since_start(), std::time::Duration::ZERO);
    /// ```
    pub fn since_start(self) -> Duration {
        self.0
    }

    /// How long after `earlier` this instant is; zero when it is not later.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = cygnet::mock::MockClock::manual();
    /// let a = clock.now();
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(clock.now().saturating_duration_since(a), Duration::from_secs(1));
    /// assert_eq!(a.saturating_duration_since(clock.now()), Duration::ZERO);
    /// ```
    pub fn saturating_duration_since(self, earlier: MockInstant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for MockInstant {
    type Output = MockInstant;

    /// Saturates instead of overflowing: a sleep of `Duration::MAX` ends at the end of time.
    fn add(self, rhs: Duration) -> MockInstant {
        MockInstant(self.0.saturating_add(rhs))
    }
}

impl Sub for MockInstant {
    type Output = Duration;

    /// Saturates at zero, like [`MockInstant::saturating_duration_since`].
    fn sub(self, rhs: MockInstant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

/// A virtual clock shared by a [`MockTransport`](crate::MockTransport) and the test.
///
/// Cheap to clone: clones share one clock. See the [module docs](self) for exactly when
/// time moves.
///
/// ```
/// use std::time::Duration;
/// use cygnet::mock::{MockClock, MockTransport};
///
/// let clock = MockClock::manual();
/// let mock = MockTransport::with_clock(clock.clone());
/// assert!(mock.clock().is_manual());
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(mock.clock().elapsed(), Duration::from_secs(1));
/// ```
#[derive(Clone)]
pub struct MockClock {
    shared: Arc<Mutex<ClockState>>,
}

struct ClockState {
    now: MockInstant,
    auto_advance: bool,
    /// Bumped whenever time moves; a sleep may only jump the clock after a tick taken in
    /// the current epoch, so work unblocked by the last move can register first.
    epoch: u64,
    next_id: u64,
    pending: BTreeMap<u64, Registered>,
    /// The wall clock at virtual zero.
    wall_start: SystemTime,
    /// The state of the jitter sequence (splitmix64).
    jitter_state: u64,
}

struct Registered {
    deadline: MockInstant,
    waker: Waker,
}

impl ClockState {
    /// The earliest deadline still ahead. Registered sleeps whose deadline has passed but
    /// whose owner has not polled them since do not count: they are over.
    fn earliest(&self) -> Option<MockInstant> {
        self.pending
            .values()
            .map(|r| r.deadline)
            .filter(|d| *d > self.now)
            .min()
    }

    fn waiting(&self) -> usize {
        self.pending
            .values()
            .filter(|r| r.deadline > self.now)
            .count()
    }

    /// Moves time to `to` (never backwards) and wakes every registered sleep.
    fn move_to(&mut self, to: MockInstant) {
        if to > self.now {
            self.now = to;
        }
        self.epoch += 1;
        self.wake_all();
    }

    fn wake_all(&self) {
        for registered in self.pending.values() {
            registered.waker.wake_by_ref();
        }
    }
}

impl Default for MockClock {
    fn default() -> Self {
        Self::new()
    }
}

impl MockClock {
    /// A clock at virtual zero that advances by itself to the earliest pending deadline.
    ///
    /// ```
    /// let clock = cygnet::mock::MockClock::new();
    /// assert!(!clock.is_manual());
    /// ```
    pub fn new() -> Self {
        Self::with_mode(true)
    }

    /// A clock at virtual zero that only [`advance`](Self::advance) moves.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let clock = cygnet::mock::MockClock::manual();
    /// let mut sleep = clock.sleep(Duration::from_secs(5));
    /// assert!(cygnet::mock::now_or_never(&mut sleep).is_none());
    /// clock.advance(Duration::from_secs(5));
    /// assert!(cygnet::mock::now_or_never(sleep).is_some());
    /// ```
    pub fn manual() -> Self {
        Self::with_mode(false)
    }

    fn with_mode(auto_advance: bool) -> Self {
        Self {
            shared: Arc::new(Mutex::new(ClockState {
                now: MockInstant::default(),
                auto_advance,
                epoch: 0,
                next_id: 0,
                pending: BTreeMap::new(),
                wall_start: SystemTime::UNIX_EPOCH
                    + Duration::from_secs(Self::WALL_START_UNIX_SECS),
                jitter_state: Self::DEFAULT_JITTER_SEED,
            })),
        }
    }

    /// The seed of the jitter sequence of a new clock.
    pub const DEFAULT_JITTER_SEED: u64 = 0;

    /// What [`wall_clock`](Self::wall_clock) reads at virtual zero, in seconds since the
    /// Unix epoch: 2026-01-01 00:00:00 UTC, a whole second, so an HTTP date (whole seconds)
    /// made from the wall clock is exact.
    pub const WALL_START_UNIX_SECS: u64 = 1_767_225_600;

    fn state(&self) -> MutexGuard<'_, ClockState> {
        // A test that panicked while holding the lock must not make every later call panic.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current virtual time.
    ///
    /// ```
    /// let clock = cygnet::mock::MockClock::manual();
    /// assert_eq!(clock.now(), clock.now());
    /// ```
    pub fn now(&self) -> MockInstant {
        self.state().now
    }

    /// How much virtual time has passed since the clock was created.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = cygnet::mock::MockClock::new();
    /// cygnet::mock::block_on(clock.sleep(Duration::from_secs(2)));
    /// assert_eq!(clock.elapsed(), Duration::from_secs(2));
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.state().now.since_start()
    }

    /// The date and time on this clock: [`MockClock::WALL_START_UNIX_SECS`] (or what
    /// [`set_wall_clock`](Self::set_wall_clock) set) plus the virtual time passed since.
    /// Core reads an HTTP-date `Retry-After` against it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cygnet::mock::MockClock;
    /// let clock = MockClock::manual();
    /// let start = std::time::UNIX_EPOCH + Duration::from_secs(MockClock::WALL_START_UNIX_SECS);
    /// assert_eq!(clock.wall_clock(), start);
    /// clock.advance(Duration::from_secs(90));
    /// assert_eq!(clock.wall_clock(), start + Duration::from_secs(90));
    /// ```
    pub fn wall_clock(&self) -> SystemTime {
        let state = self.state();
        state.wall_start + state.now.since_start()
    }

    /// Sets the wall clock to read `now` at the current virtual time; it moves on with
    /// virtual time from there.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let clock = cygnet::mock::MockClock::manual();
    /// let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    /// clock.set_wall_clock(at);
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(clock.wall_clock(), at + Duration::from_secs(1));
    /// ```
    pub fn set_wall_clock(&self, now: SystemTime) {
        let mut state = self.state();
        let elapsed = state.now.since_start();
        state.wall_start = now.checked_sub(elapsed).unwrap_or(SystemTime::UNIX_EPOCH);
    }

    /// The next number of this clock's jitter sequence, in `[0, 1)`: what core's backoff
    /// asks for once per retry. The sequence follows from the seed
    /// ([`set_jitter_seed`](Self::set_jitter_seed); a new clock starts from
    /// [`DEFAULT_JITTER_SEED`](Self::DEFAULT_JITTER_SEED)), so two clocks with the same seed
    /// give the same numbers: a test can compute the waits it expects from a twin clock.
    ///
    /// ```
    /// use cygnet::mock::MockClock;
    /// let (a, b) = (MockClock::new(), MockClock::new());
    /// a.set_jitter_seed(7);
    /// b.set_jitter_seed(7);
    /// let x = a.jitter();
    /// assert!((0.0..1.0).contains(&x));
    /// assert_eq!(x, b.jitter());
    /// ```
    pub fn jitter(&self) -> f64 {
        let mut state = self.state();
        state.jitter_state = state.jitter_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state.jitter_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits as a fraction: exact in an f64, and below 1.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Restarts the jitter sequence from `seed`.
    ///
    /// ```
    /// let clock = cygnet::mock::MockClock::new();
    /// clock.set_jitter_seed(3);
    /// let first = clock.jitter();
    /// clock.set_jitter_seed(3);
    /// assert_eq!(clock.jitter(), first);
    /// ```
    pub fn set_jitter_seed(&self, seed: u64) {
        self.state().jitter_state = seed;
    }

    /// Whether only [`advance`](Self::advance) moves this clock.
    ///
    /// ```
    /// assert!(cygnet::mock::MockClock::manual().is_manual());
    /// ```
    pub fn is_manual(&self) -> bool {
        !self.state().auto_advance
    }

    /// Turns auto-advance on or off, for every clone of this clock.
    ///
    /// Turning it on wakes the waiting sleeps so they can move time.
    ///
    /// ```
    /// let clock = cygnet::mock::MockClock::new();
    /// clock.set_auto_advance(false);
    /// assert!(clock.is_manual());
    /// ```
    pub fn set_auto_advance(&self, on: bool) {
        let mut state = self.state();
        state.auto_advance = on;
        if on {
            state.epoch += 1;
            state.wake_all();
        }
    }

    /// Moves time forward by `by` and wakes every sleep whose deadline that passes.
    ///
    /// Works in both modes.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = cygnet::mock::MockClock::manual();
    /// clock.advance(Duration::from_millis(1500));
    /// assert_eq!(clock.elapsed(), Duration::from_millis(1500));
    /// ```
    pub fn advance(&self, by: Duration) {
        let mut state = self.state();
        let to = state.now + by;
        state.move_to(to);
    }

    /// How many sleeps are registered and waiting: polled at least once, deadline ahead.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let clock = cygnet::mock::MockClock::manual();
    /// let mut sleep = clock.sleep(Duration::from_secs(1));
    /// assert_eq!(clock.pending_sleeps(), 0); // not polled yet
    /// let _ = cygnet::mock::now_or_never(&mut sleep);
    /// assert_eq!(clock.pending_sleeps(), 1);
    /// drop(sleep);
    /// assert_eq!(clock.pending_sleeps(), 0);
    /// ```
    pub fn pending_sleeps(&self) -> usize {
        self.state().waiting()
    }

    /// The earliest deadline among the waiting sleeps, if any.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let clock = cygnet::mock::MockClock::manual();
    /// let mut sleep = clock.sleep(Duration::from_secs(4));
    /// let _ = cygnet::mock::now_or_never(&mut sleep);
    /// assert_eq!(clock.next_deadline().unwrap().since_start(), Duration::from_secs(4));
    /// ```
    pub fn next_deadline(&self) -> Option<MockInstant> {
        self.state().earliest()
    }

    /// A future that completes once this clock reaches `now + duration`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = cygnet::mock::MockClock::new();
    /// cygnet::mock::block_on(clock.sleep(Duration::from_secs(60)));
    /// assert_eq!(clock.elapsed(), Duration::from_secs(60));
    /// ```
    pub fn sleep(&self, duration: Duration) -> MockSleep {
        let deadline = self.now() + duration;
        self.sleep_until(deadline)
    }

    /// A future that completes once this clock reaches `deadline`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = cygnet::mock::MockClock::new();
    /// let deadline = clock.now() + Duration::from_secs(3);
    /// cygnet::mock::block_on(clock.sleep_until(deadline));
    /// assert_eq!(clock.now(), deadline);
    /// ```
    pub fn sleep_until(&self, deadline: MockInstant) -> MockSleep {
        MockSleep {
            clock: self.clone(),
            deadline,
            id: None,
            ticked_in: None,
        }
    }
}

impl fmt::Debug for MockClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MockClock")
            .field("elapsed", &state.now.since_start())
            .field("auto_advance", &state.auto_advance)
            .field("pending_sleeps", &state.waiting())
            .finish()
    }
}

/// A sleep on a [`MockClock`]; see the [module docs](self) for when it completes.
///
/// ```
/// use std::time::Duration;
/// let clock = cygnet::mock::MockClock::new();
/// let sleep: cygnet::mock::MockSleep = clock.sleep(Duration::from_secs(1));
/// cygnet::mock::block_on(sleep);
/// ```
#[must_use = "a sleep does nothing unless awaited"]
pub struct MockSleep {
    clock: MockClock,
    deadline: MockInstant,
    /// Set while registered with the clock.
    id: Option<u64>,
    /// The clock epoch in which this sleep last woke itself.
    ticked_in: Option<u64>,
}

impl MockSleep {
    /// When this sleep ends.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = cygnet::mock::MockClock::manual();
    /// assert_eq!(clock.sleep(Duration::from_secs(2)).deadline().since_start(), Duration::from_secs(2));
    /// ```
    pub fn deadline(&self) -> MockInstant {
        self.deadline
    }
}

impl Future for MockSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let clock = this.clock.clone();
        let mut state = clock.state();
        if state.now >= this.deadline {
            if let Some(id) = this.id.take() {
                state.pending.remove(&id);
            }
            return Poll::Ready(());
        }
        let id = match this.id {
            Some(id) => {
                if let Some(registered) = state.pending.get_mut(&id) {
                    if !registered.waker.will_wake(cx.waker()) {
                        registered.waker = cx.waker().clone();
                    }
                }
                id
            }
            None => {
                let id = state.next_id;
                state.next_id += 1;
                state.pending.insert(
                    id,
                    Registered {
                        deadline: this.deadline,
                        waker: cx.waker().clone(),
                    },
                );
                this.id = Some(id);
                id
            }
        };
        if !state.auto_advance {
            return Poll::Pending;
        }
        if this.ticked_in != Some(state.epoch) {
            // Let everything polled in this round register before time moves.
            this.ticked_in = Some(state.epoch);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match state.earliest() {
            // Another sleep is due first: move time to it, whoever owns it. Its owner may
            // have stopped polling it (a body kept after a timeout), so waiting for that
            // owner could stall the clock for ever; tokio's timer fires such sleeps too.
            // The move wakes every sleep, this one included, and it takes a new tick.
            Some(earlier) if earlier < this.deadline => {
                state.move_to(earlier);
                Poll::Pending
            }
            _ => {
                state.pending.remove(&id);
                this.id = None;
                let deadline = this.deadline;
                state.move_to(deadline);
                Poll::Ready(())
            }
        }
    }
}

impl Drop for MockSleep {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let mut state = self.clock.state();
            state.pending.remove(&id);
            // The earliest deadline may have changed: let the others look again.
            state.wake_all();
        }
    }
}

impl fmt::Debug for MockSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockSleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.id.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::future::{select, Either};
    use futures_util::FutureExt;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn auto_advance_runs_sleeps_in_order_without_real_time() {
        let clock = MockClock::new();
        let started = std::time::Instant::now();
        cygnet::mock::block_on(async {
            clock.sleep(S(3600)).await;
            clock.sleep(S(1)).await;
        });
        assert_eq!(clock.elapsed(), S(3601));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(clock.pending_sleeps(), 0);
    }

    #[test]
    fn race_is_won_by_the_earlier_deadline_whichever_is_polled_first() {
        for (a, b, a_wins) in [(5, 10, true), (20, 10, false), (10, 10, true)] {
            let clock = MockClock::new();
            let winner = cygnet::mock::block_on(async {
                match select(clock.sleep(S(a)), clock.sleep(S(b))).await {
                    Either::Left(_) => true,
                    Either::Right(_) => false,
                }
            });
            assert_eq!(winner, a_wins, "{a} vs {b}");
            assert_eq!(clock.elapsed(), S(a.min(b)));
            // The loser was dropped and unregistered.
            assert_eq!(clock.pending_sleeps(), 0);
        }
    }

    #[test]
    fn join_completes_each_at_its_own_deadline() {
        let clock = MockClock::new();
        let c = clock.clone();
        let times = cygnet::mock::block_on(async {
            let a = async {
                c.sleep(S(2)).await;
                c.elapsed()
            };
            let b = async {
                c.sleep(S(1)).await;
                let first = c.elapsed();
                // Registered after the first jump, due before `a`.
                c.sleep(Duration::from_millis(500)).await;
                (first, c.elapsed())
            };
            futures_util::future::join(a, b).await
        });
        assert_eq!(times, (S(2), (S(1), Duration::from_millis(1500))));
    }

    #[test]
    fn a_registered_sleep_nobody_polls_does_not_stall_the_clock() {
        let clock = MockClock::new();
        // Registered, then abandoned without being dropped (a body kept after a timeout).
        let mut abandoned = clock.sleep(S(5));
        assert!(cygnet::mock::now_or_never(&mut abandoned).is_none());
        cygnet::mock::block_on(clock.sleep(S(30)));
        assert_eq!(clock.elapsed(), S(30));
        assert_eq!(clock.pending_sleeps(), 0);
        assert!(cygnet::mock::now_or_never(abandoned).is_some());
    }

    #[test]
    fn zero_and_past_deadlines_complete_at_once() {
        let clock = MockClock::manual();
        assert!(clock.sleep(Duration::ZERO).now_or_never().is_some());
        let deadline = clock.now() + S(1);
        clock.advance(S(2));
        assert!(clock.sleep_until(deadline).now_or_never().is_some());
    }

    #[test]
    fn manual_clock_moves_only_on_advance() {
        let clock = MockClock::manual();
        let mut long = clock.sleep(S(10));
        let mut short = clock.sleep(S(3));
        for _ in 0..5 {
            assert!(cygnet::mock::now_or_never(&mut long).is_none());
            assert!(cygnet::mock::now_or_never(&mut short).is_none());
        }
        assert_eq!(clock.elapsed(), Duration::ZERO);
        assert_eq!(clock.next_deadline(), Some(MockInstant(S(3))));
        clock.advance(S(3));
        assert!(cygnet::mock::now_or_never(&mut short).is_some());
        assert!(cygnet::mock::now_or_never(&mut long).is_none());
        clock.advance(S(7));
        assert!(cygnet::mock::now_or_never(long).is_some());
        assert_eq!(clock.pending_sleeps(), 0);
    }

    #[test]
    fn huge_sleeps_saturate_instead_of_overflowing() {
        let clock = MockClock::new();
        cygnet::mock::block_on(clock.sleep(Duration::MAX));
        assert_eq!(clock.elapsed(), Duration::MAX);
        cygnet::mock::block_on(clock.sleep(S(1)));
        assert_eq!(clock.elapsed(), Duration::MAX);
    }

    #[test]
    fn switching_to_auto_releases_waiting_sleeps() {
        let clock = MockClock::manual();
        let c = clock.clone();
        let handle = std::thread::spawn(move || cygnet::mock::block_on(c.sleep(S(30))));
        let give_up = std::time::Instant::now() + Duration::from_secs(10);
        while clock.pending_sleeps() == 0 {
            assert!(
                std::time::Instant::now() < give_up,
                "the sleep never registered"
            );
            std::thread::yield_now();
        }
        clock.set_auto_advance(true);
        handle.join().unwrap();
        assert_eq!(clock.elapsed(), S(30));
    }
}
