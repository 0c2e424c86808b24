//! [`Cassette`]: record a real conversation once, replay it in every later run.
//!
//! [`Cassette::auto`] is the switch for a test suite: it records through the real transport
//! when the cassette file is missing (or when `CYGNET_RECORD=1` asks to record again), and
//! replays it otherwise, without ever building the real transport, so a replaying test
//! cannot reach the network. The file is the [`cassette_format`](crate::cassette_format);
//! [`Recorder`] and [`Replayer`] document how each side works.
//!
//! # Never a recording that could not have been meant
//!
//! - In CI (the `CI` environment variable set, as CI services do), a missing cassette is
//!   an error ([`CassetteError::RecordInCi`]), not a recording: CI has no real key and
//!   often no network. [`RecordMode::Always`] (`CYGNET_RECORD=1`) or
//!   [`Cassette::record_in_ci`] records there anyway.
//! - A recorder sends no request without a real key, records no transport failure unless
//!   [`Cassette::record_failures`] asks (and then replays it marked as replayed, naming the
//!   file), and writes no cassette when none of its requests was recorded; see the
//!   [recorder's rules](crate::recorder#what-is-never-recorded).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cygnet_core::transport::{async_trait, Body, Sleep, Transport, TransportError};

use super::cassette_format::{CassetteError, MAX_CASSETTE_BYTES};
use super::recorder::Recorder;
use super::redact::Redactions;
use super::replay::Replayer;
use crate::clock::MockClock;

pub use super::cassette_format::RECORD_ENV;

/// When a [`Cassette`] records and when it replays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordMode {
    /// Record when the cassette file does not exist, replay it when it does.
    #[default]
    WhenMissing,
    /// Always record, replacing the file: to refresh a cassette.
    Always,
    /// Always replay; a missing cassette is an error ([`CassetteError::Missing`]). For CI,
    /// where recording could only fail.
    Never,
}

impl RecordMode {
    /// The mode `CYGNET_RECORD` asks for ([`RECORD_ENV`]).
    ///
    /// `path` only names the cassette in the error.
    ///
    /// # Errors
    ///
    /// [`CassetteError::Mode`] when the variable holds anything else than the values listed
    /// at [`RECORD_ENV`].
    pub fn from_env(path: &Path) -> Result<Self, CassetteError> {
        let value = std::env::var_os(RECORD_ENV).map(|v| v.to_string_lossy().into_owned());
        Self::parse(value.as_deref(), path)
    }

    fn parse(value: Option<&str>, path: &Path) -> Result<Self, CassetteError> {
        let value = value.unwrap_or_default();
        match value.trim().to_ascii_lowercase().as_str() {
            "" => Ok(RecordMode::WhenMissing),
            "1" | "true" | "yes" | "always" => Ok(RecordMode::Always),
            "0" | "false" | "no" | "never" => Ok(RecordMode::Never),
            _ => Err(CassetteError::Mode {
                path: path.to_owned(),
                value: value.to_owned(),
            }),
        }
    }
}

/// A cassette file and how to record or replay it.
///
/// ```no_run
/// use cygnet::mock::Cassette;
///
/// # async fn test() -> Result<(), Box<dyn std::error::Error>> {
/// // Records through the real transport the first time (or with CYGNET_RECORD=1), replays
/// // the file in every later run, with no key and no network.
/// # fn real_transport() -> cygnet::mock::MockTransport { cygnet::mock::MockTransport::new() }
/// // `real_transport()` is the one the client normally uses, e.g.
/// // `cygnet::HyperTransport::new()`.
/// let transport = Cassette::auto("tests/cassettes/weather.json", real_transport)?;
/// // Recording needs the real key (a recorder refuses the stand-in); a replay sends nothing.
/// let key = std::env::var("GRAYSWAN_API_KEY")
///     .unwrap_or_else(|_| cygnet::mock::REPLAY_API_KEY.to_owned());
/// let client = cygnet::ClientBuilder::from_env()
///     .api_key(key)
///     .transport(transport.clone())
///     .build()?;
/// // ... the code under test ...
/// transport.finish()?; // when recording: write now and report a failed write
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Cassette {
    path: PathBuf,
    mode: Option<RecordMode>,
    redactions: Redactions,
    record_timing: bool,
    replay_timing: bool,
    clock: Option<MockClock>,
    max_size: u64,
    record_failures: bool,
    record_in_ci: bool,
}

impl Cassette {
    /// The cassette at `path`, with the mode from `CYGNET_RECORD`, the default
    /// [`Redactions`] and no timing.
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_owned(),
            mode: None,
            redactions: Redactions::new(),
            record_timing: false,
            replay_timing: false,
            clock: None,
            max_size: MAX_CASSETTE_BYTES,
            record_failures: false,
            record_in_ci: false,
        }
    }

    /// Records through `real()` or replays the cassette at `path`, as `CYGNET_RECORD` says
    /// (by default: record when the file is missing). Short for
    /// `Cassette::new(path).transport(real)`.
    ///
    /// # Errors
    ///
    /// As [`Cassette::transport`].
    pub fn auto<T: Transport>(
        path: impl AsRef<Path>,
        real: impl FnOnce() -> T,
    ) -> Result<CassetteTransport, CassetteError> {
        Self::new(path).transport(real)
    }

    /// Sets the mode instead of reading `CYGNET_RECORD`.
    pub fn mode(mut self, mode: RecordMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// What to keep out of the cassette (and to redact in requests before matching them on
    /// replay). The defaults always apply too.
    pub fn redact(mut self, redactions: Redactions) -> Self {
        self.redactions = redactions;
        self
    }

    /// Records the time to each response head and before each streamed chunk. Off by
    /// default, since the figures change on every recording and make diffs noisy.
    pub fn record_timing(mut self, on: bool) -> Self {
        self.record_timing = on;
        self
    }

    /// Replays the recorded times on the replay's [`MockClock`] (virtual time, so a replay
    /// still takes no real time); off by default: everything answers at once.
    pub fn replay_timing(mut self, on: bool) -> Self {
        self.replay_timing = on;
        self
    }

    /// The clock a replay keeps time on; an auto-advancing one by default.
    pub fn clock(mut self, clock: MockClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The largest cassette a replay reads, in bytes: [`MAX_CASSETTE_BYTES`] (256 MiB) by
    /// default. A larger file is refused with [`CassetteError::TooLarge`] before it is read
    /// whole.
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// Records transport failures too (no connection, a body cut off): off by default, since
    /// a failure recorded by accident (offline, say) would replay forever as if it were
    /// the answer. A failure recorded on purpose replays with the same kind, its words
    /// followed by `(replayed from cassette <path>, ...)`.
    pub fn record_failures(mut self, on: bool) -> Self {
        self.record_failures = on;
        self
    }

    /// Records a missing cassette even when the `CI` environment variable is set, as
    /// [`RecordMode::WhenMissing`] does elsewhere; off by default (see the
    /// [module docs](self#never-a-recording-that-could-not-have-been-meant)).
    pub fn record_in_ci(mut self, on: bool) -> Self {
        self.record_in_ci = on;
        self
    }

    /// The cassette's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records through `real()` or replays, as the mode says. `real` is only called when
    /// recording.
    ///
    /// # Errors
    ///
    /// When replaying, those of [`Cassette::replayer`]; when recording,
    /// [`CassetteError::Locked`] when another recorder is recording the cassette and
    /// [`CassetteError::Write`] when its directory or lock file cannot be made;
    /// [`CassetteError::Mode`] for a `CYGNET_RECORD` value that is not a mode;
    /// [`CassetteError::Read`] when whether the file exists cannot be told;
    /// [`CassetteError::RecordInCi`] when the file is missing, `CI` is set and recording
    /// there was not asked for.
    pub fn transport<T: Transport>(
        self,
        real: impl FnOnce() -> T,
    ) -> Result<CassetteTransport, CassetteError> {
        let mode = match self.mode {
            Some(mode) => mode,
            None => RecordMode::from_env(&self.path)?,
        };
        let exists = || {
            self.path
                .try_exists()
                .map_err(|source| CassetteError::Read {
                    path: self.path.clone(),
                    source,
                })
        };
        let record = should_record(mode, exists, in_ci(), self.record_in_ci, &self.path)?;
        if !record {
            return Ok(CassetteTransport::Replay(self.replayer()?));
        }
        let recorder = self.recorder(real());
        match recorder.refusal() {
            Some(error) => Err(error),
            None => Ok(CassetteTransport::Record(recorder)),
        }
    }

    /// A [`Recorder`] passing requests to `inner` and writing this cassette (replacing the
    /// file). When another recorder is recording it, the recorder records nothing and says
    /// so ([`Recorder::new`]).
    pub fn recorder(self, inner: impl Transport) -> Recorder {
        Recorder::with_options(
            &self.path,
            Arc::new(inner),
            self.redactions,
            self.record_timing,
            self.record_failures,
        )
    }

    /// A [`Replayer`] answering from this cassette.
    ///
    /// # Errors
    ///
    /// [`CassetteError::Missing`], [`CassetteError::Read`] (also for a path that is not a
    /// regular file, such as a device), [`CassetteError::TooLarge`],
    /// [`CassetteError::Invalid`] or [`CassetteError::NewerVersion`], each naming the file.
    pub fn replayer(self) -> Result<Replayer, CassetteError> {
        Replayer::with_options(
            &self.path,
            self.redactions,
            self.replay_timing,
            self.clock.unwrap_or_default(),
            self.max_size,
        )
    }
}

/// The name of the environment variable CI services set, and in whose presence a missing
/// cassette is not recorded unless asked.
pub const CI_ENV: &str = "CI";

/// Whether `CI` is set to anything but empty, `0` or `false`.
fn in_ci() -> bool {
    let value = std::env::var_os(CI_ENV).map(|v| v.to_string_lossy().into_owned());
    means_ci(value.as_deref())
}

fn means_ci(value: Option<&str>) -> bool {
    value.is_some_and(|value| {
        let value = value.trim().to_ascii_lowercase();
        !matches!(value.as_str(), "" | "0" | "false")
    })
}

/// Whether to record: `Always` does; `Never` does not; `WhenMissing` does when the file is
/// missing, except in CI unless `record_in_ci`, where a missing file is an error.
fn should_record(
    mode: RecordMode,
    exists: impl FnOnce() -> Result<bool, CassetteError>,
    ci: bool,
    record_in_ci: bool,
    path: &Path,
) -> Result<bool, CassetteError> {
    match mode {
        RecordMode::Always => Ok(true),
        RecordMode::Never => Ok(false),
        RecordMode::WhenMissing => {
            if exists()? {
                Ok(false)
            } else if ci && !record_in_ci {
                Err(CassetteError::RecordInCi {
                    path: path.to_owned(),
                })
            } else {
                Ok(true)
            }
        }
    }
}

/// What [`Cassette::auto`] and [`Cassette::transport`] return: a recording or a replaying
/// transport. Cheap to clone; clones share the cassette.
#[derive(Clone, Debug)]
pub enum CassetteTransport {
    /// Recording through the real transport.
    Record(Recorder),
    /// Replaying the file.
    Replay(Replayer),
}

impl CassetteTransport {
    /// Whether this records (rather than replays).
    pub fn is_recording(&self) -> bool {
        matches!(self, CassetteTransport::Record(_))
    }

    /// The cassette's path.
    pub fn path(&self) -> &Path {
        match self {
            CassetteTransport::Record(recorder) => recorder.path(),
            CassetteTransport::Replay(replayer) => replayer.path(),
        }
    }

    /// When recording, writes the cassette now ([`Recorder::finish`]); when replaying,
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`CassetteError::Write`] when recording and a write failed.
    pub fn finish(&self) -> Result<(), CassetteError> {
        match self {
            CassetteTransport::Record(recorder) => recorder.finish(),
            CassetteTransport::Replay(_) => Ok(()),
        }
    }
}

#[async_trait]
impl Transport for CassetteTransport {
    async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Body>, TransportError> {
        match self {
            CassetteTransport::Record(recorder) => recorder.send(request).await,
            CassetteTransport::Replay(replayer) => replayer.send(request).await,
        }
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        match self {
            CassetteTransport::Record(recorder) => recorder.sleep(duration),
            CassetteTransport::Replay(replayer) => replayer.sleep(duration),
        }
    }

    fn sleep_until(&self, deadline: Duration) -> Sleep {
        match self {
            CassetteTransport::Record(recorder) => recorder.sleep_until(deadline),
            CassetteTransport::Replay(replayer) => replayer.sleep_until(deadline),
        }
    }

    fn now(&self) -> Duration {
        match self {
            CassetteTransport::Record(recorder) => recorder.now(),
            CassetteTransport::Replay(replayer) => replayer.now(),
        }
    }

    fn wall_clock(&self) -> SystemTime {
        match self {
            CassetteTransport::Record(recorder) => recorder.wall_clock(),
            CassetteTransport::Replay(replayer) => replayer.wall_clock(),
        }
    }

    fn jitter(&self) -> f64 {
        match self {
            CassetteTransport::Record(recorder) => recorder.jitter(),
            CassetteTransport::Replay(replayer) => replayer.jitter(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_modes_parse_and_bad_values_name_the_cassette() {
        let path = Path::new("c.json");
        for (value, mode) in [
            (None, RecordMode::WhenMissing),
            (Some(""), RecordMode::WhenMissing),
            (Some("1"), RecordMode::Always),
            (Some("Always"), RecordMode::Always),
            (Some("0"), RecordMode::Never),
            (Some("never"), RecordMode::Never),
        ] {
            assert_eq!(RecordMode::parse(value, path).unwrap(), mode, "{value:?}");
        }
        let error = RecordMode::parse(Some("sometimes"), path).unwrap_err();
        assert!(error.to_string().contains("c.json"), "{error}");
        assert!(error.to_string().contains("\"sometimes\""), "{error}");
    }

    #[test]
    fn in_ci_a_missing_cassette_is_recorded_only_when_asked() {
        let path = Path::new("c.json");
        let missing = || Ok(false);
        let present = || Ok(true);
        // Outside CI: as before.
        assert!(should_record(RecordMode::WhenMissing, missing, false, false, path).unwrap());
        assert!(!should_record(RecordMode::WhenMissing, present, false, false, path).unwrap());
        // In CI: a missing cassette is an error that says what to do...
        let error = should_record(RecordMode::WhenMissing, missing, true, false, path).unwrap_err();
        assert!(
            matches!(error, CassetteError::RecordInCi { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("c.json") && message.contains("CYGNET_RECORD=1"),
            "{message}"
        );
        // ...a present one replays, and recording happens only when asked.
        assert!(!should_record(RecordMode::WhenMissing, present, true, false, path).unwrap());
        assert!(should_record(RecordMode::WhenMissing, missing, true, true, path).unwrap());
        assert!(should_record(RecordMode::Always, missing, true, false, path).unwrap());
        assert!(!should_record(RecordMode::Never, present, true, false, path).unwrap());
    }

    #[test]
    fn ci_counts_as_set_unless_unset_empty_zero_or_false() {
        for value in ["true", "1", "yes", "github-actions"] {
            assert!(means_ci(Some(value)), "{value}");
        }
        for value in [None, Some(""), Some("0"), Some("false"), Some(" FALSE ")] {
            assert!(!means_ci(value), "{value:?}");
        }
    }
}
