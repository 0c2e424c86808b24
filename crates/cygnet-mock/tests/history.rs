//! The mock's record of sleeps across [`MockTransport::clear_history`]: a sleep asked
//! before the history was cleared must never mark a record made after it.

use std::time::Duration;

use cygnet_core::Transport;
use cygnet_mock::{MockClock, MockTransport};
use futures_util::FutureExt;

const S: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn a_sleep_from_before_clear_history_does_not_complete_a_newer_record() {
    let clock = MockClock::manual();
    let mock = MockTransport::with_clock(clock.clone());

    let mut old = mock.sleep(S(1));
    assert!((&mut old).now_or_never().is_none());
    mock.clear_history();

    // Recorded after the clear, in the place the old record had.
    let mut newer = mock.sleep(S(60));
    assert!((&mut newer).now_or_never().is_none());

    clock.advance(S(1));
    assert!(old.now_or_never().is_some(), "the old sleep is due");

    assert_eq!(mock.sleeps(), vec![S(60)]);
    assert!(
        mock.completed_sleeps().is_empty(),
        "the 60 s sleep has not ended, yet reads as completed: {:?}",
        mock.completed_sleeps()
    );

    clock.advance(S(59));
    assert!(newer.now_or_never().is_some());
    assert_eq!(mock.completed_sleeps(), vec![S(60)]);
}

#[test]
fn sleeps_complete_their_own_records_in_any_order() {
    let clock = MockClock::manual();
    let mock = MockTransport::with_clock(clock.clone());
    let mut long = mock.sleep(S(5));
    let mut short = mock.sleep(S(2));
    assert!((&mut long).now_or_never().is_none());
    assert!((&mut short).now_or_never().is_none());

    clock.advance(S(2));
    assert!((&mut short).now_or_never().is_some());
    assert!((&mut long).now_or_never().is_none());
    assert_eq!(mock.completed_sleeps(), vec![S(2)]);

    clock.advance(S(3));
    assert!(long.now_or_never().is_some());
    assert_eq!(mock.sleeps(), vec![S(5), S(2)]);
    assert_eq!(mock.completed_sleeps(), vec![S(5), S(2)]);
}
