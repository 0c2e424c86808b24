//! When to retry and how long to wait, as the official client decides.
//!
//! Retried: connection failures, timeouts, 408, 409, 429 and every status >= 500, unless the
//! server's `x-should-retry` header says otherwise (it wins either way). The wait is what
//! `retry-after-ms` (milliseconds) or `retry-after` (seconds, fractions allowed, or an HTTP
//! date) asks for when that lies in (0, 60] seconds; otherwise exponential backoff from 1 s,
//! doubling to at most 10 s, shortened by a random jitter of up to 25 %.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

/// The first backoff wait.
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// The longest backoff wait.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The longest server-requested wait that is honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Whether an error answer with `status` and `headers` should be retried.
///
/// ```
/// use cygnet::http::{HeaderMap, StatusCode};
/// use cygnet::retry::should_retry;
/// assert!(should_retry(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new()));
/// assert!(!should_retry(StatusCode::BAD_REQUEST, &HeaderMap::new()));
/// let mut headers = HeaderMap::new();
/// headers.insert("x-should-retry", "true".parse().unwrap());
/// assert!(should_retry(StatusCode::BAD_REQUEST, &headers));
/// ```
pub fn should_retry(status: StatusCode, headers: &HeaderMap) -> bool {
    match headers.get("x-should-retry").map(|v| v.as_bytes()) {
        Some(b"true") => return true,
        Some(b"false") => return false,
        _ => {}
    }
    matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error()
}

/// The wait the server asked for, from `retry-after-ms` or `retry-after`, if it parses.
///
/// The value may be negative, zero or huge; [`retry_delay`] decides whether to honour it.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<f64> {
    if let Some(ms) = header_str(headers, "retry-after-ms").and_then(parse_finite) {
        return Some(ms / 1000.0);
    }
    let value = header_str(headers, "retry-after")?;
    if let Some(seconds) = parse_finite(value) {
        return Some(seconds);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(match date.duration_since(now) {
        Ok(ahead) => ahead.as_secs_f64(),
        Err(behind) => -behind.duration().as_secs_f64(),
    })
}

/// The wait before retry number `retries_done + 1`.
///
/// `jitter` is a number in `[0, 1)`; the backoff is shortened by `jitter * 25 %`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use cygnet::http::HeaderMap;
/// use cygnet::retry::retry_delay;
/// let none = HeaderMap::new();
/// assert_eq!(retry_delay(&none, 0, 0.0, SystemTime::now()), Duration::from_secs(1));
/// assert_eq!(retry_delay(&none, 3, 0.0, SystemTime::now()), Duration::from_secs(8));
/// assert_eq!(retry_delay(&none, 9, 0.0, SystemTime::now()), Duration::from_secs(10));
/// ```
pub fn retry_delay(
    headers: &HeaderMap,
    retries_done: u32,
    jitter: f64,
    now: SystemTime,
) -> Duration {
    if let Some(seconds) = retry_after(headers, now) {
        if seconds > 0.0 && seconds <= MAX_RETRY_AFTER.as_secs_f64() {
            return Duration::from_secs_f64(seconds);
        }
    }
    backoff(retries_done, jitter)
}

/// Exponential backoff for retry number `retries_done + 1`, with jitter in `[0, 1)`.
pub fn backoff(retries_done: u32, jitter: f64) -> Duration {
    let exponent = retries_done.min(16) as i32;
    let seconds =
        (INITIAL_BACKOFF.as_secs_f64() * 2f64.powi(exponent)).min(MAX_BACKOFF.as_secs_f64());
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    Duration::from_secs_f64(seconds * (1.0 - 0.25 * jitter))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn parse_finite(text: &str) -> Option<f64> {
    // Only plain decimal numbers: `f64::from_str` would also take "inf" and "NaN".
    if text.is_empty()
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    const NOW: u64 = 1_700_000_000;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn date(offset: i64) -> String {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs((NOW as i64 + offset) as u64);
        httpdate::fmt_http_date(t)
    }

    /// The same table the official client tests its wait computation with: a value either
    /// is honoured (Some(seconds)) or falls back to backoff (None).
    #[test]
    fn retry_after_table() {
        let in_20 = date(20);
        let past = date(-10);
        let in_61 = date(61);
        let cases: Vec<(&str, &str, Option<f64>)> = vec![
            ("retry-after", "20", Some(20.0)),
            ("retry-after", "0", None),
            ("retry-after", "-10", None),
            ("retry-after", "60", Some(60.0)),
            ("retry-after", "61", None),
            ("retry-after", "0.5", Some(0.5)),
            ("retry-after", "1.25", Some(1.25)),
            ("retry-after", &in_20, Some(20.0)),
            ("retry-after", &past, None),
            ("retry-after", &in_61, None),
            ("retry-after", "Fri, 29 Sep 2023 16:26:57 GMT", None),
            ("retry-after", "garbage", None),
            ("retry-after", "", None),
            ("retry-after", "inf", None),
            ("retry-after", "NaN", None),
            ("retry-after", "99999999999999999999999999999999999", None),
            ("retry-after", "1e400", None),
            ("retry-after-ms", "10", Some(0.01)),
            ("retry-after-ms", "2000", Some(2.0)),
            ("retry-after-ms", "60000", Some(60.0)),
            ("retry-after-ms", "60001", None),
            ("retry-after-ms", "0", None),
            ("retry-after-ms", "-5", None),
            ("retry-after-ms", "junk", None),
        ];
        for (name, value, expected) in cases {
            let delay = retry_delay(&headers(&[(name, value)]), 0, 0.0, now());
            match expected {
                Some(seconds) => {
                    assert_eq!(delay, Duration::from_secs_f64(seconds), "{name}: {value}")
                }
                None => assert_eq!(
                    delay, INITIAL_BACKOFF,
                    "{name}: {value:?} should fall back to backoff"
                ),
            }
        }
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let h = headers(&[("retry-after-ms", "1500"), ("retry-after", "30")]);
        assert_eq!(retry_delay(&h, 0, 0.0, now()), Duration::from_millis(1500));
        // An unparseable retry-after-ms falls through to retry-after.
        let h = headers(&[("retry-after-ms", "x"), ("retry-after", "3")]);
        assert_eq!(retry_delay(&h, 0, 0.0, now()), Duration::from_secs(3));
    }

    #[test]
    fn backoff_grows_then_caps() {
        let seconds: Vec<f64> = (0..7).map(|n| backoff(n, 0.0).as_secs_f64()).collect();
        assert_eq!(seconds, vec![1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]);
        assert_eq!(backoff(u32::MAX, 0.0), MAX_BACKOFF);
    }

    #[test]
    fn jitter_shortens_by_at_most_a_quarter() {
        for n in 0..6 {
            let full = backoff(n, 0.0);
            for jitter in [0.0, 0.1, 0.5, 0.999_999, f64::NAN, -3.0, 7.0] {
                let d = backoff(n, jitter);
                assert!(
                    d <= full && d >= full.mul_f64(0.75),
                    "n={n} jitter={jitter} d={d:?}"
                );
            }
        }
    }

    #[test]
    fn should_retry_follows_status_and_header() {
        for (status, expected) in [
            (408, true),
            (409, true),
            (429, true),
            (500, true),
            (503, true),
            (599, true),
            (400, false),
            (401, false),
            (403, false),
            (404, false),
            (422, false),
        ] {
            assert_eq!(
                should_retry(StatusCode::from_u16(status).unwrap(), &HeaderMap::new()),
                expected,
                "{status}"
            );
        }
        let no = headers(&[("x-should-retry", "false")]);
        assert!(!should_retry(StatusCode::SERVICE_UNAVAILABLE, &no));
        let yes = headers(&[("x-should-retry", "true")]);
        assert!(should_retry(StatusCode::BAD_REQUEST, &yes));
        let other = headers(&[("x-should-retry", "maybe")]);
        assert!(should_retry(StatusCode::TOO_MANY_REQUESTS, &other));
    }
}
