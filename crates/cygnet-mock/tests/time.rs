//! Time through the real client on the mock's virtual clock: exact backoff waits from the
//! seeded jitter, an HTTP-date `Retry-After` read on the virtual wall clock, one idle timer
//! per stream however many reads wait, and the call's total deadline across retries.

use std::time::Duration;

use cygnet_core::retry::backoff;
use cygnet_core::{Error, RequestOptions, TimeoutKind, TransportErrorKind};
use cygnet_mock::{MockClock, MockReply, MockTransport};
use futures_executor::block_on;
use serde_json::json;

use cygnet_test_support::{
    bounded_thread as bounded, chunks_then_error, seed_request as request, streamed_text,
};

const S: fn(u64) -> Duration = Duration::from_secs;

/// The timeout kind and the attempts an error names; panics on another error.
fn timed_out(error: &Error) -> (TimeoutKind, u32) {
    let kind = error
        .timeout_kind()
        .unwrap_or_else(|| panic!("not a timeout: {error:?}"));
    (kind, error.attempts().expect("a timeout that ended a call"))
}

#[test]
fn backoff_waits_are_exact_on_the_seeded_jitter() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::json(503, json!({})),
            MockReply::error(TransportErrorKind::Connect, "connection refused"),
            MockReply::json(500, json!({})),
            MockReply::text("ok"),
        ]);
        mock.clock().set_jitter_seed(42);
        let client = mock.client_builder().max_retries(3).build().unwrap();
        let completion = block_on(client.chat(&request())).unwrap();
        assert_eq!(completion.content(), Some("ok"));

        // A twin clock with the same seed draws the same jitter: one number per retry.
        let twin = MockClock::new();
        twin.set_jitter_seed(42);
        let expected: Vec<Duration> = (0..3).map(|n| backoff(n, twin.jitter())).collect();
        assert_eq!(mock.completed_sleeps(), expected);
        assert_eq!(mock.clock().elapsed(), expected.iter().sum::<Duration>());
        // The jitter did shorten them: these are not the bare 1 s, 2 s, 4 s.
        assert_ne!(expected, vec![S(1), S(2), S(4)]);
        mock.assert_all_consumed();
    });
}

#[test]
fn an_http_date_retry_after_is_read_on_the_virtual_wall_clock() {
    bounded(|| {
        // The mock's wall clock starts at 2026-01-01 00:00:00 UTC, whatever the real date.
        let mock = MockTransport::conversation([
            MockReply::json(429, json!({"error": {"message": "slow down"}}))
                .header("retry-after", "Thu, 01 Jan 2026 00:00:07 GMT"),
            MockReply::text("ok"),
        ]);
        let completion = block_on(mock.client().chat(&request())).unwrap();
        assert_eq!(completion.content(), Some("ok"));
        assert_eq!(mock.completed_sleeps(), vec![S(7)]);
        assert_eq!(mock.clock().elapsed(), S(7));

        // The wall clock moves with virtual time: 100 s later the same date is 93 s ahead,
        // beyond nothing; a date 7 s after the new now is again exactly 7 s.
        let mock = MockTransport::conversation([
            MockReply::json(503, json!({})).header("retry-after", "Thu, 01 Jan 2026 00:01:47 GMT"),
            MockReply::text("ok"),
        ]);
        mock.clock().advance(S(100));
        block_on(mock.client().chat(&request())).unwrap();
        assert_eq!(mock.completed_sleeps(), vec![S(7)]);
        assert_eq!(mock.clock().elapsed(), S(107));
    });
}

#[test]
fn an_idle_stream_makes_one_timer_however_many_reads_wait() {
    bounded(|| {
        let deltas: Vec<String> = (0..20).map(|i| format!("d{i} ")).collect();
        let mock = MockTransport::conversation([
            MockReply::stream_text(deltas.clone()).pause_between(S(1))
        ]);
        let client = mock
            .client_builder()
            .max_retries(0)
            .timeout(S(30))
            .stream_idle_timeout(S(45))
            .build()
            .unwrap();
        let text = block_on(streamed_text(&client, &request())).unwrap();
        assert_eq!(text, deltas.concat());
        // Every read waited 1 s on the body, yet the stream asked for two timers in all:
        // the head's timeout and one idle timer, kept across the 20 waits.
        assert_eq!(mock.sleeps(), vec![S(30), S(45)]);
        assert!(mock.completed_sleeps().is_empty());
    });
}

#[test]
fn a_stream_longer_than_its_idle_timeout_re_arms_its_timer_once_per_period() {
    bounded(|| {
        let deltas: Vec<String> = (0..100).map(|i| format!("{i},")).collect();
        let mock = MockTransport::conversation([
            MockReply::stream_text(deltas.clone()).pause_between(S(1))
        ]);
        let client = mock
            .client_builder()
            .max_retries(0)
            .stream_idle_timeout(S(45))
            .build()
            .unwrap();
        let text = block_on(streamed_text(&client, &request())).unwrap();
        assert_eq!(text, deltas.concat());
        // About 100 s of steady reads: the first timer, then one re-arm each time it fired
        // before a deadline the reads had moved; never one per read.
        let idle_timers = mock.sleeps().len() - 1; // less the head's timeout
        assert!((2..=3).contains(&idle_timers), "{:?}", mock.sleeps());
        // A pause before every event after the first: 100 deltas, the final chunk, `[DONE]`.
        assert_eq!(mock.clock().elapsed(), S(101));
    });
}

#[test]
fn the_idle_timeout_still_fires_exactly_after_the_last_read() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::stream_text(["a", "b", "c", "d"])
            .pause_between(S(10))
            .stall_after(3)]);
        let client = mock
            .client_builder()
            .max_retries(0)
            .stream_idle_timeout(S(45))
            .build()
            .unwrap();
        let (chunks, error) = block_on(chunks_then_error(&client, &request())).unwrap();
        assert_eq!(chunks, 3);
        assert_eq!(timed_out(&error), (TimeoutKind::Idle(S(45)), 1));
        // Events at 0, 10 and 20 s, then silence: idle from 20 s, so it ends at 65 s. The
        // one timer (armed at 0 s for 45 s) fired early and was re-armed for 65 s.
        assert_eq!(mock.clock().elapsed(), S(65));
        assert_eq!(mock.sleeps().len(), 3, "{:?}", mock.sleeps());
    });
}

#[test]
fn the_total_timeout_ends_a_call_whose_attempts_keep_timing_out() {
    bounded(|| {
        let mock =
            MockTransport::conversation([MockReply::hang(), MockReply::hang(), MockReply::hang()]);
        let client = mock
            .client_builder()
            .timeout(S(10))
            .total_timeout(S(25))
            .build()
            .unwrap();
        let error = block_on(client.chat(&request())).unwrap_err();
        // 10 s, a backoff under 1 s, 10 s, a backoff under 2 s: the third attempt was cut
        // short by the total bound, exactly at 25 s.
        assert_eq!(timed_out(&error), (TimeoutKind::Total(S(25)), 3));
        assert_eq!(mock.clock().elapsed(), S(25));
        assert!(error.to_string().contains("after 3 attempts"), "{error}");
        assert!(error.to_string().contains("25s"), "{error}");
    });
}

#[test]
fn a_retry_that_would_start_after_the_total_timeout_is_not_made() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::json(429, json!({})).header("retry-after", "30"),
            MockReply::text("never sent"),
        ]);
        let client = mock.client_builder().total_timeout(S(10)).build().unwrap();
        let error = block_on(client.chat(&request())).unwrap_err();
        assert_eq!(timed_out(&error), (TimeoutKind::Total(S(10)), 1));
        // The call ends at its bound, not after the 30 s wait, and sends nothing more.
        assert_eq!(mock.clock().elapsed(), S(10));
        assert_eq!(mock.request_count(), 1);
    });
}

#[test]
fn a_call_answered_within_its_total_timeout_is_untouched() {
    bounded(|| {
        let mock = MockTransport::conversation([
            MockReply::json(503, json!({})).header("retry-after", "2"),
            MockReply::text("ok").delay(S(3)),
        ]);
        let client = mock.client_builder().total_timeout(S(10)).build().unwrap();
        let completion = block_on(client.chat(&request())).unwrap();
        assert_eq!(completion.content(), Some("ok"));
        assert_eq!(mock.clock().elapsed(), S(5));
    });
}

#[test]
fn the_total_timeout_covers_a_streams_re_sends_until_its_first_event() {
    bounded(|| {
        // The first attempt's head arrives, then its body breaks before any event: the
        // stream exists and is re-sending when the bound passes, during the backoff.
        let mock = MockTransport::conversation([
            MockReply::stream_text(["never"]).fail_after(0),
            MockReply::stream_text(["too late"]),
        ]);
        let client = mock.client_builder().total_timeout(S(5)).build().unwrap();
        let options = RequestOptions::new().total_timeout(Duration::from_millis(500));
        let client = client.with_options(options);
        let (chunks, error) = block_on(chunks_then_error(&client, &request())).unwrap();
        assert_eq!(chunks, 0);
        // The per-call option wins over the client's; the backoff (at least 750 ms) would
        // end after it, so the call ends at 500 ms with the one attempt made.
        assert_eq!(
            timed_out(&error),
            (TimeoutKind::Total(Duration::from_millis(500)), 1)
        );
        assert_eq!(mock.clock().elapsed(), Duration::from_millis(500));
        assert_eq!(mock.request_count(), 1);
    });
}

#[test]
fn the_total_timeout_bounds_opening_a_stream() {
    bounded(|| {
        let mock = MockTransport::conversation([MockReply::hang()]);
        let client = mock.client_builder().total_timeout(S(3)).build().unwrap();
        let (chunks, error) = block_on(chunks_then_error(&client, &request())).unwrap();
        assert_eq!(chunks, 0);
        assert_eq!(timed_out(&error), (TimeoutKind::Total(S(3)), 1));
        assert_eq!(mock.clock().elapsed(), S(3));
    });
}

#[test]
fn after_the_first_event_only_the_stream_bounds_apply() {
    bounded(|| {
        let deltas: Vec<String> = (0..10).map(|i| format!("{i}")).collect();
        let mock = MockTransport::conversation([
            MockReply::stream_text(deltas.clone()).pause_between(S(2)),
            MockReply::stream_text(deltas.clone()).pause_between(S(2)),
        ]);
        // 22 s of streaming (a pause before each delta after the first, the final chunk and
        // `[DONE]`) under a 5 s total bound: the answer began in time, so it runs.
        let client = mock.client_builder().total_timeout(S(5)).build().unwrap();
        let text = block_on(streamed_text(&client, &request())).unwrap();
        assert_eq!(text, deltas.concat());
        assert_eq!(mock.clock().elapsed(), S(22));

        // The whole stream's bound still ends it: events at 0, 2, 4 and 6 s, then 7 s.
        let client = mock
            .client_builder()
            .total_timeout(S(5))
            .stream_total_timeout(S(7))
            .build()
            .unwrap();
        let (chunks, error) = block_on(chunks_then_error(&client, &request())).unwrap();
        assert_eq!(chunks, 4);
        assert_eq!(timed_out(&error), (TimeoutKind::StreamTotal(S(7)), 1));
    });
}
