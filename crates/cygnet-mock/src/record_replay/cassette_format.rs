//! The cassette file: recorded exchanges, what they look like on disk, and the errors of
//! reading and writing one.
//!
//! # The format
//!
//! One pretty-printed JSON document, so a cassette reads well and diffs line by line in
//! review. The recorder rewrites it after every exchange, so the file on disk is always a
//! complete, valid cassette: into a new temporary file beside it (created exclusively under a
//! name of its own, never through an existing file or link), renamed over the old one. Each
//! exchange is scrubbed and serialised once, when it ends; a rewrite only concatenates them
//! (JSON Lines would allow appending, but a streamed body would then be one very long line).
//!
//! A replayer reads at most [`MAX_CASSETTE_BYTES`] (see
//! [`Cassette::max_size`](crate::Cassette::max_size)), and only from a regular file.
//!
//! ```json
//! {
//!   "cygnet_cassette": 1,
//!   "redacted_fields": ["user"],
//!   "exchanges": [
//!     {
//!       "request": { "method": "POST", "path": "/chat/completion",
//!                    "body": { "json": { "model": "cygnet", "messages": [] } } },
//!       "response": {
//!         "status": 200,
//!         "headers": { "content-type": "text/event-stream", "x-request-id": "req_1" },
//!         "body": { "chunks": [ "data: {...}\n\n", "data: [DONE]\n\n" ] },
//!         "chunk_delays_ms": [ 120, 35 ]
//!       }
//!     },
//!     {
//!       "request": { "method": "POST", "path": "/moderation", "body": { "json": {} } },
//!       "error": { "kind": "connect", "message": "connection refused" }
//!     }
//!   ]
//! }
//! ```
//!
//! - `cygnet_cassette` is the format version; a reader refuses a newer one
//!   ([`CassetteError::NewerVersion`]).
//! - `redacted_fields` lists the JSON members whose values were replaced by `"<redacted>"`
//!   ([`Redactions::field`]); replay redacts them in its requests too before matching.
//! - `request.path` is the path and query, without scheme and host, so a cassette recorded
//!   against one base URL replays under another with the same path prefix. `request.headers`
//!   appears only for headers asked for with [`Redactions::record_header`] or
//!   [`Redactions::header`].
//! - A body is `{"json": value}` when it is JSON (its bytes are not kept: it replays as
//!   compact JSON), `{"text": "..."}` when it is other UTF-8, and `{"chunks": [...]}` for a
//!   streamed (`text/event-stream`) body or one that did not end cleanly: the exact byte
//!   chunks as they arrived, each a string, or `{"hex": "..."}` for a chunk that is not
//!   UTF-8 on its own (a character split between two reads). An empty body has no `body`.
//! - `response.end` says how a chunked body ended: absent when it ended normally,
//!   `{"error": {"kind", "message"}}` when the connection failed, `"abandoned"` when the
//!   caller stopped reading before its end had arrived (replay then fails at that point,
//!   since what followed was never seen).
//! - With timing recorded ([`Cassette::record_timing`](crate::Cassette::record_timing)),
//!   `head_delay_ms` is the time from sending to the response head and `chunk_delays_ms` the
//!   time before each chunk (the first counted from the head).
//! - An exchange whose request failed below HTTP has `error` instead of `response`; the
//!   `kind` is one of `connect`, `timeout`, `io`, `request`, `certificate`, `other`. One the caller gave up
//!   on before the response head arrived (its timeout fired) has `"abandoned": true`
//!   instead; replay never answers it, so the caller's timeout fires again.
//!
//! Cassettes are meant to be read and, where useful, edited by hand (to trim a long answer,
//! or to write a fault no server produces on demand); replay checks every field when it
//! loads one and names the exchange at fault.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use cygnet_core::TransportErrorKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::redact::{scrubbed_target, Redactions, Secrets};

/// The environment variable that chooses the [`RecordMode`](crate::RecordMode) when the
/// code does not: unset or empty for [`RecordMode::WhenMissing`](crate::RecordMode::WhenMissing),
/// `1` (or `true`, `yes`, `always`) for [`RecordMode::Always`](crate::RecordMode::Always),
/// `0` (or `false`, `no`, `never`) for [`RecordMode::Never`](crate::RecordMode::Never).
///
/// Defined here, with the errors that name it, and re-exported by the cassette module,
/// which reads it: so the format does not depend on the cassette that uses it.
pub const RECORD_ENV: &str = "CYGNET_RECORD";

/// The key a replaying test gives its client when `GRAYSWAN_API_KEY` is not set: a
/// replay never sends it anywhere, and a [`Recorder`](crate::Recorder) refuses to send it
/// (see the [recorder's rules](crate::recorder#what-is-never-recorded)), so a recipe that
/// falls back to it can never record with it.
///
/// ```
/// let key = std::env::var("GRAYSWAN_API_KEY")
///     .unwrap_or_else(|_| cygnet::mock::REPLAY_API_KEY.to_owned());
/// # let _ = key;
/// ```
pub const REPLAY_API_KEY: &str = "sk-replay";

/// The cassette format version this crate writes, and the newest it reads.
pub const CASSETTE_FORMAT_VERSION: u64 = 1;

/// The largest cassette a replayer reads by default: 256 MiB. Larger ones are refused with
/// [`CassetteError::TooLarge`]; [`Cassette::max_size`](crate::Cassette::max_size) sets
/// another limit.
pub const MAX_CASSETTE_BYTES: u64 = 256 * 1024 * 1024;

/// The name of the version field, the first member of every cassette.
const VERSION_FIELD: &str = "cygnet_cassette";

/// A whole cassette file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CassetteFile {
    pub(crate) cygnet_cassette: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) redacted_fields: Vec<String>,
    #[serde(default)]
    pub(crate) exchanges: Vec<Exchange>,
}

/// One request and what came back.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Exchange {
    pub(crate) request: RecordedRequest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) response: Option<RecordedResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<RecordedError>,
    /// The caller gave up (a timeout) before the response head arrived.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) abandoned: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordedRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<RecordedBody>,
}

impl RecordedRequest {
    /// `request` as a cassette keeps it, scrubbed of its secrets, and those secrets (to scrub
    /// the answer with). The recorder writes this; the replayer matches on its method, path
    /// and body, so both scrub alike and a secret in the query still matches.
    pub(crate) fn scrubbed(
        request: &http::Request<Bytes>,
        redactions: &Redactions,
    ) -> (Self, Secrets) {
        let secrets = redactions.secrets_for(request.headers());
        let recorded = RecordedRequest {
            method: request.method().as_str().to_owned(),
            path: scrubbed_target(request.uri(), &secrets),
            headers: redactions.written_headers(request.headers(), false, &secrets),
            body: RecordedBody::of_request(request.body(), redactions, &secrets),
        };
        (recorded, secrets)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordedResponse {
    pub(crate) status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) head_delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<RecordedBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) chunk_delays_ms: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "BodyEnd::is_eof")]
    pub(crate) end: BodyEnd,
}

/// A body: JSON, text, or the chunks as they arrived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RecordedBody {
    Json(Value),
    Text(String),
    Chunks(Vec<Chunk>),
}

impl RecordedBody {
    /// How a request body is written, and compared on replay: `None` when empty, JSON
    /// (redacted) when it parses, text (scrubbed) when UTF-8, one hex chunk otherwise.
    pub(crate) fn of_request(
        body: &[u8],
        redactions: &Redactions,
        secrets: &Secrets,
    ) -> Option<Self> {
        if body.is_empty() {
            return None;
        }
        if let Ok(mut value) = serde_json::from_slice::<Value>(body) {
            redactions.redact_json(&mut value, secrets);
            return Some(RecordedBody::Json(value));
        }
        let body = secrets.scrub_bytes(body);
        Some(match String::from_utf8(body) {
            Ok(text) => RecordedBody::Text(text),
            Err(e) => RecordedBody::Chunks(vec![Chunk::from_bytes(e.into_bytes())]),
        })
    }
}

/// One chunk of a streamed body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Chunk {
    Text(String),
    Hex { hex: String },
}

impl Chunk {
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(text) => Chunk::Text(text),
            Err(e) => Chunk::Hex {
                hex: to_hex(e.as_bytes()),
            },
        }
    }

    pub(crate) fn to_bytes(&self) -> Result<Bytes, String> {
        match self {
            Chunk::Text(text) => Ok(Bytes::from(text.clone())),
            Chunk::Hex { hex } => from_hex(hex).map(Bytes::from),
        }
    }
}

/// How a chunked body ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BodyEnd {
    /// The body ended normally.
    #[default]
    Eof,
    /// The connection failed while reading it.
    Error(RecordedError),
    /// The caller stopped reading before the end.
    Abandoned,
}

impl BodyEnd {
    fn is_eof(&self) -> bool {
        *self == BodyEnd::Eof
    }
}

/// A transport failure: its kind and message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordedError {
    pub(crate) kind: String,
    pub(crate) message: String,
}

impl RecordedError {
    pub(crate) fn kind(&self) -> TransportErrorKind {
        // Checked when the cassette is loaded.
        TransportErrorKind::from_name(&self.kind).unwrap_or(TransportErrorKind::Other)
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

fn from_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let bytes = hex.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(format!("hex chunk {hex:?} has an odd number of digits"));
    }
    bytes
        .chunks(2)
        .map(|pair| match (digit(pair[0]), digit(pair[1])) {
            (Some(high), Some(low)) => Ok(high << 4 | low),
            _ => Err(format!(
                "hex chunk {hex:?} holds a character that is not a hex digit"
            )),
        })
        .collect()
}

impl CassetteFile {
    #[cfg(test)]
    pub(crate) fn new(redacted_fields: Vec<String>, exchanges: Vec<Exchange>) -> Self {
        Self {
            cygnet_cassette: CASSETTE_FORMAT_VERSION,
            redacted_fields,
            exchanges,
        }
    }

    /// Reads and checks the cassette at `path`, refusing anything but a regular file and
    /// more than `max_bytes`.
    pub(crate) fn load(path: &Path, max_bytes: u64) -> Result<Self, CassetteError> {
        let text = read_bounded(path, max_bytes)?;
        Self::parse(path, &text)
    }

    /// Parses and checks cassette text; `path` only names it in errors.
    pub(crate) fn parse(path: &Path, text: &[u8]) -> Result<Self, CassetteError> {
        let invalid = |reason: String| CassetteError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let value: Value =
            serde_json::from_slice(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        // The version first: a newer format may differ in anything else.
        let version = value
            .as_object()
            .ok_or_else(|| invalid("not a JSON object".into()))?
            .get(VERSION_FIELD)
            .ok_or_else(|| {
                invalid(format!(
                    "no \"{VERSION_FIELD}\" version field: not a cygnet cassette"
                ))
            })?;
        let version = version.as_u64().ok_or_else(|| {
            invalid(format!(
                "\"{VERSION_FIELD}\" is {version}, not a version number"
            ))
        })?;
        if version > CASSETTE_FORMAT_VERSION {
            return Err(CassetteError::NewerVersion {
                path: path.to_owned(),
                found: version,
                supported: CASSETTE_FORMAT_VERSION,
            });
        }
        if version == 0 {
            return Err(invalid(format!(
                "\"{VERSION_FIELD}\" is 0: no such version"
            )));
        }
        let file: CassetteFile =
            serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
        for (index, exchange) in file.exchanges.iter().enumerate() {
            exchange
                .check()
                .map_err(|reason| invalid(format!("exchange #{}: {reason}", index + 1)))?;
        }
        Ok(file)
    }

    /// The cassette as written to disk: pretty JSON with a final newline.
    #[cfg(test)]
    pub(crate) fn to_text(&self) -> Vec<u8> {
        // Serialising these plain data types cannot fail (string keys only).
        let mut text = serde_json::to_vec_pretty(self).unwrap_or_default();
        text.push(b'\n');
        text
    }
}

/// The text of one exchange as it stands in a cassette (pretty JSON, indented for its place
/// in the `exchanges` array), so that a recorder serialises each exchange once and a
/// cassette is these texts joined ([`write_cassette`]).
pub(crate) fn exchange_text(exchange: &Exchange) -> String {
    // Serialising these plain data types cannot fail (string keys only).
    let text = serde_json::to_string_pretty(exchange).unwrap_or_default();
    indented(&text, "    ")
}

/// `text` with `indent` before every line. JSON strings hold no raw line breaks, so the
/// lines of pretty JSON are its structure.
fn indented(text: &str, indent: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(indent);
        out.push_str(line);
    }
    out
}

/// Writes a whole cassette whose exchanges are already serialised ([`exchange_text`]): the
/// same bytes as serialising the whole file at once.
pub(crate) fn write_cassette<S: AsRef<str>>(
    out: &mut (impl Write + ?Sized),
    redacted_fields: &[String],
    exchanges: &[S],
) -> io::Result<()> {
    write!(
        out,
        "{{\n  \"{VERSION_FIELD}\": {CASSETTE_FORMAT_VERSION},\n"
    )?;
    if !redacted_fields.is_empty() {
        let fields = serde_json::to_string_pretty(redacted_fields).unwrap_or_default();
        let fields = indented(&fields, "  ");
        writeln!(out, "  \"redacted_fields\": {},", fields.trim_start())?;
    }
    out.write_all(b"  \"exchanges\": [")?;
    for (i, exchange) in exchanges.iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        out.write_all(exchange.as_ref().as_bytes())?;
    }
    if !exchanges.is_empty() {
        out.write_all(b"\n  ")?;
    }
    out.write_all(b"]\n}\n")
}

/// Replaces the file at `path` with what `write` writes, atomically: into a new temporary
/// file in the same directory, created exclusively (so never through an existing file or a
/// link planted under its name), then renamed over `path`. On failure the temporary file is
/// removed and `path` is left as it was.
pub(crate) fn save_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), CassetteError> {
    let write_error = |source| CassetteError::Write {
        path: path.to_owned(),
        source,
    };
    let (temporary, file) = create_temporary(path).map_err(write_error)?;
    let written = (|| {
        let mut out = io::BufWriter::with_capacity(64 * 1024, file);
        write(&mut out)?;
        out.into_inner().map_err(io::IntoInnerError::into_error)?;
        std::fs::rename(&temporary, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        write_error(e)
    })
}

/// The directory (created if missing; `.` for a bare file name) and the file name of the
/// cassette at `path`.
pub(crate) fn cassette_dir_and_name(path: &Path) -> io::Result<(&Path, &std::ffi::OsStr)> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the cassette path does not end in a file name",
        )
    })?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    Ok((dir, name))
}

/// A new, empty file beside `path` with a name no other writer uses.
fn create_temporary(path: &Path) -> io::Result<(PathBuf, File)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let (dir, name) = cassette_dir_and_name(path)?;
    let mut last = None;
    for _ in 0..16 {
        let mut temporary = std::ffi::OsString::from(".");
        temporary.push(name);
        temporary.push(format!(
            ".{}-{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let temporary = dir.join(temporary);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)
        {
            Ok(file) => return Ok((temporary, file)),
            // Taken (a leftover of another process with the same id, or something planted):
            // the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary file name")))
}

/// The bytes of the cassette at `path`: a regular file (or a link to one) of at most
/// `max_bytes`.
fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>, CassetteError> {
    let read_error = |source| CassetteError::Read {
        path: path.to_owned(),
        source,
    };
    // Checked before opening too: opening a FIFO would wait for a writer.
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CassetteError::Missing {
                path: path.to_owned(),
            })
        }
        Err(e) => return Err(read_error(e)),
    };
    check_regular(&meta).map_err(read_error)?;
    let file = File::open(path).map_err(read_error)?;
    // And after: what was opened is what is read.
    let meta = file.metadata().map_err(read_error)?;
    check_regular(&meta).map_err(read_error)?;
    let too_large = || CassetteError::TooLarge {
        path: path.to_owned(),
        limit: max_bytes,
    };
    if meta.len() > max_bytes {
        return Err(too_large());
    }
    let mut text = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // One byte more than allowed tells a file that grew past the limit.
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut text)
        .map_err(read_error)?;
    if u64::try_from(text.len()).unwrap_or(u64::MAX) > max_bytes {
        return Err(too_large());
    }
    Ok(text)
}

fn check_regular(meta: &std::fs::Metadata) -> io::Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    let what = if meta.is_dir() {
        "a directory"
    } else {
        "a device, pipe or socket"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file"),
    ))
}

impl Exchange {
    fn check(&self) -> Result<(), String> {
        http::Method::from_bytes(self.request.method.as_bytes())
            .map_err(|_| format!("{:?} is not an HTTP method", self.request.method))?;
        match (&self.response, &self.error) {
            (Some(_), Some(_)) => {
                return Err("has both a \"response\" and an \"error\"".into());
            }
            (Some(_), None) | (None, Some(_)) if self.abandoned => {
                return Err("is \"abandoned\" but has a \"response\" or an \"error\"".into());
            }
            (None, None) if self.abandoned => {}
            (None, None) => {
                return Err("has none of \"response\", \"error\" and \"abandoned\"".into())
            }
            (None, Some(error)) => check_kind(error)?,
            (Some(response), None) => {
                http::StatusCode::from_u16(response.status)
                    .map_err(|_| format!("status {} is not an HTTP status", response.status))?;
                for (name, value) in &response.headers {
                    http::HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("{name:?} is not a header name"))?;
                    http::HeaderValue::from_str(value)
                        .map_err(|_| format!("header {name} has an invalid value {value:?}"))?;
                }
                let chunks = match &response.body {
                    Some(RecordedBody::Chunks(chunks)) => {
                        for chunk in chunks {
                            chunk.to_bytes()?;
                        }
                        Some(chunks.len())
                    }
                    _ => None,
                };
                if let Some(delays) = &response.chunk_delays_ms {
                    if Some(delays.len()) != chunks {
                        return Err(format!(
                            "\"chunk_delays_ms\" has {} entries for {} chunks",
                            delays.len(),
                            chunks.unwrap_or(0)
                        ));
                    }
                }
                if let BodyEnd::Error(error) = &response.end {
                    check_kind(error)?;
                }
            }
        }
        Ok(())
    }
}

fn check_kind(error: &RecordedError) -> Result<(), String> {
    match TransportErrorKind::from_name(&error.kind) {
        Some(_) => Ok(()),
        None => {
            let names: Vec<&str> = TransportErrorKind::ALL.iter().map(|k| k.name()).collect();
            Err(format!(
                "error kind {:?} is not one of {}",
                error.kind,
                names.join(", ")
            ))
        }
    }
}

/// Why a cassette could not be read or written, or a mode not chosen. Every variant names
/// the file.
#[derive(Debug)]
#[non_exhaustive]
pub enum CassetteError {
    /// There is no cassette at `path` (and it was asked to replay).
    Missing {
        /// The cassette's path.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    Read {
        /// The cassette's path.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not a cassette this crate understands: not JSON, no version field, or a
    /// field that does not fit the format.
    Invalid {
        /// The cassette's path.
        path: PathBuf,
        /// What was wrong, with the JSON parser's line and column where there is one.
        reason: String,
    },
    /// The cassette was written in a newer format than this crate reads.
    NewerVersion {
        /// The cassette's path.
        path: PathBuf,
        /// The cassette's format version.
        found: u64,
        /// The newest version this crate reads ([`CASSETTE_FORMAT_VERSION`]).
        supported: u64,
    },
    /// The cassette could not be written.
    Write {
        /// The cassette's path.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The cassette is larger than a replayer reads
    /// ([`MAX_CASSETTE_BYTES`] unless [`Cassette::max_size`](crate::Cassette::max_size) says
    /// otherwise).
    TooLarge {
        /// The cassette's path.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Another [`Recorder`](crate::Recorder) is recording this cassette, in this process or
    /// another: two would overwrite each other's exchanges, so the second records nothing.
    Locked {
        /// The cassette's path.
        path: PathBuf,
        /// The lock file the other recorder holds.
        lock: PathBuf,
        /// Whether the other recorder is in this process (rather than another).
        in_this_process: bool,
    },
    /// The record-mode environment variable holds a value that means nothing.
    Mode {
        /// The cassette's path.
        path: PathBuf,
        /// The variable's value.
        value: String,
    },
    /// A recorder was asked to send a request with no real API key (none, or a stand-in
    /// such as [`REPLAY_API_KEY`]): it sent nothing and recorded
    /// nothing, since the real API could only have answered 401.
    NoRealKey {
        /// The cassette's path.
        path: PathBuf,
    },
    /// Requests were made while recording but none was recorded, so no cassette was
    /// written: each was refused for want of a real key, or ended in a transport failure,
    /// which is not recorded unless [`Cassette::record_failures`](crate::Cassette::record_failures)
    /// asks.
    NotRecorded {
        /// The cassette's path.
        path: PathBuf,
        /// Requests refused for want of a real key.
        refused: usize,
        /// Requests that ended in a transport failure.
        failed: usize,
    },
    /// The cassette is missing and the `CI` environment variable is set: a cassette is not
    /// recorded in CI unless asked ([`RecordMode::Always`](crate::RecordMode::Always), that is
    /// `CYGNET_RECORD=1`, or [`Cassette::record_in_ci`](crate::Cassette::record_in_ci)).
    RecordInCi {
        /// The cassette's path.
        path: PathBuf,
    },
}

impl CassetteError {
    /// The cassette file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            CassetteError::Missing { path }
            | CassetteError::Read { path, .. }
            | CassetteError::Invalid { path, .. }
            | CassetteError::NewerVersion { path, .. }
            | CassetteError::Write { path, .. }
            | CassetteError::TooLarge { path, .. }
            | CassetteError::Locked { path, .. }
            | CassetteError::Mode { path, .. }
            | CassetteError::NoRealKey { path }
            | CassetteError::NotRecorded { path, .. }
            | CassetteError::RecordInCi { path } => path,
        }
    }
}

impl fmt::Display for CassetteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CassetteError::Missing { path } => write!(
                f,
                "cassette {} does not exist; record it first (run with {}=1 and a real transport)",
                path.display(),
                RECORD_ENV
            ),
            // The operating system's words are the source (the error rule of cygnet-core's
            // error module: a message never repeats its source).
            CassetteError::Read { path, .. } => {
                write!(f, "cannot read cassette {}", path.display())
            }
            CassetteError::Invalid { path, reason } => {
                write!(f, "cassette {} is not valid: {reason}", path.display())
            }
            CassetteError::NewerVersion {
                path,
                found,
                supported,
            } => write!(
                f,
                "cassette {} has format version {found}, newer than the {supported} this \
                 cygnet-mock reads; update cygnet-mock or record it again",
                path.display()
            ),
            CassetteError::Write { path, .. } => {
                write!(f, "cannot write cassette {}", path.display())
            }
            CassetteError::TooLarge { path, limit } => write!(
                f,
                "cassette {} is larger than the {limit} bytes a replayer reads; trim it or \
                 raise the limit with Cassette::max_size",
                path.display()
            ),
            CassetteError::Locked {
                path,
                lock,
                in_this_process,
            } => write!(
                f,
                "cassette {} is already being recorded by another recorder {} (it holds {}); \
                 two recorders on one cassette would overwrite each other's exchanges, so this \
                 one records nothing: give each test its own cassette",
                path.display(),
                if *in_this_process {
                    "in this process"
                } else {
                    "in another process"
                },
                lock.display()
            ),
            CassetteError::Mode { path, value } => write!(
                f,
                "{}={value:?} (for cassette {}) is not a record mode; use 1 (record again), \
                 0 (replay only) or leave it unset (record when missing)",
                RECORD_ENV,
                path.display()
            ),
            CassetteError::NoRealKey { path } => write!(
                f,
                "refusing to record cassette {}: the request has no real API key (none, or \
                 the stand-in REPLAY_API_KEY), and the real API would only answer 401; set \
                 {} to a real key to record, or commit the cassette to replay it",
                path.display(),
                cygnet_core::config::API_KEY_ENV
            ),
            CassetteError::NotRecorded {
                path,
                refused,
                failed,
            } => write!(
                f,
                "cassette {} was not written: of its {} request(s), {refused} had no real API \
                 key and {failed} ended in a transport failure, and failures are not recorded \
                 (Cassette::record_failures records them on purpose)",
                path.display(),
                refused + failed
            ),
            CassetteError::RecordInCi { path } => write!(
                f,
                "cassette {} does not exist, and CI is set: cassettes are not recorded in CI \
                 (there is no real key or network there); record it locally and commit it, \
                 or set {}=1 to record in CI anyway",
                path.display(),
                RECORD_ENV
            ),
        }
    }
}

impl std::error::Error for CassetteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CassetteError::Read { source, .. } | CassetteError::Write { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let bytes = vec![0xe2, 0x82, 0x00, 0xff];
        assert_eq!(from_hex(&to_hex(&bytes)).unwrap(), bytes);
        assert!(from_hex("abc").is_err());
        assert!(from_hex("zz").is_err());
        assert_eq!(
            Chunk::from_bytes(vec![0xe2, 0x82]),
            Chunk::Hex { hex: "e282".into() }
        );
        assert_eq!(Chunk::from_bytes(b"ok".to_vec()), Chunk::Text("ok".into()));
    }

    #[test]
    fn a_written_cassette_parses_back() {
        let file = CassetteFile::new(
            vec!["user".into()],
            vec![Exchange {
                request: RecordedRequest {
                    method: "POST".into(),
                    path: "/chat/completion".into(),
                    headers: BTreeMap::new(),
                    body: Some(RecordedBody::Json(serde_json::json!({"model": "cygnet"}))),
                },
                response: None,
                error: Some(RecordedError {
                    kind: "connect".into(),
                    message: "refused".into(),
                }),
                abandoned: false,
            }],
        );
        let text = file.to_text();
        let back = CassetteFile::parse(Path::new("c.json"), &text).unwrap();
        assert_eq!(back.to_text(), text);
        assert!(String::from_utf8(text)
            .unwrap()
            .starts_with("{\n  \"cygnet_cassette\": 1,"));
    }

    #[test]
    fn every_transport_error_kind_passes_the_load_check() {
        for &kind in TransportErrorKind::ALL {
            let error = RecordedError {
                kind: kind.name().to_owned(),
                message: "m".into(),
            };
            check_kind(&error).unwrap();
            assert_eq!(error.kind(), kind);
        }
        let unknown = RecordedError {
            kind: "gremlins".into(),
            message: "m".into(),
        };
        assert!(check_kind(&unknown).unwrap_err().contains("proxy"));
    }

    #[test]
    fn a_cassette_joined_from_serialised_exchanges_is_the_whole_file_serialised() {
        let exchange = |path: &str, body: Option<RecordedBody>| Exchange {
            request: RecordedRequest {
                method: "POST".into(),
                path: path.into(),
                headers: BTreeMap::from([("x-trace".into(), "t".into())]),
                body,
            },
            response: Some(RecordedResponse {
                status: 200,
                headers: BTreeMap::new(),
                head_delay_ms: Some(3),
                body: Some(RecordedBody::Chunks(vec![
                    Chunk::Text("data: {\"a\": [1, {}]}\n\n".into()),
                    Chunk::Hex { hex: "e282".into() },
                ])),
                chunk_delays_ms: Some(vec![1, 2]),
                end: BodyEnd::Abandoned,
            }),
            error: None,
            abandoned: false,
        };
        let exchanges = [
            exchange(
                "/a",
                Some(RecordedBody::Json(serde_json::json!({"m": [], "n": {}}))),
            ),
            exchange("/b", None),
            exchange("/c", Some(RecordedBody::Text("line\nbreak".into()))),
        ];
        for fields in [vec![], vec!["user".to_owned(), "key".to_owned()]] {
            for count in 0..=exchanges.len() {
                let file = CassetteFile::new(fields.clone(), exchanges[..count].to_vec());
                let texts: Vec<String> = file.exchanges.iter().map(exchange_text).collect();
                let mut joined = Vec::new();
                write_cassette(&mut joined, &fields, &texts).unwrap();
                assert_eq!(
                    String::from_utf8(joined).unwrap(),
                    String::from_utf8(file.to_text()).unwrap(),
                    "{count} exchanges, fields {fields:?}"
                );
            }
        }
    }

    #[test]
    fn bad_exchanges_are_refused_with_their_number() {
        for (text, wanted) in [
            (
                r#"{"cygnet_cassette":1,"exchanges":[{"request":{"method":"POST","path":"/"}}]}"#,
                "exchange #1: has none of",
            ),
            (
                r#"{"cygnet_cassette":1,"exchanges":[{"request":{"method":"POST","path":"/"},"error":{"kind":"gone","message":""}}]}"#,
                "error kind \"gone\"",
            ),
            (
                r#"{"cygnet_cassette":1,"exchanges":[{"request":{"method":"POST","path":"/"},"response":{"status":200,"body":{"chunks":["a"]},"chunk_delays_ms":[1,2]}}]}"#,
                "2 entries for 1 chunks",
            ),
            (
                r#"{"cygnet_cassette":1,"exchanges":[{"request":{"method":"POST","path":"/"},"response":{"status":1000}}]}"#,
                "status 1000",
            ),
            (r#"{"cygnet_cassette":"1"}"#, "not a version number"),
            (r#"[1]"#, "not a JSON object"),
        ] {
            let error = CassetteFile::parse(Path::new("bad.json"), text.as_bytes()).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(wanted), "{message}");
            assert!(message.contains("bad.json"), "{message}");
        }
    }
}
