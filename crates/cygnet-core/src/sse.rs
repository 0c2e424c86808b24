//! Incremental server-sent-events decoder, byte-exact to the WHATWG framing.
//!
//! [`SseDecoder`] turns the byte chunks of a response body, split anywhere (inside a line, between
//! the CR and LF of a CRLF, inside a UTF-8 character), into [`Event`]s that borrow from the
//! decoder's buffer.
//!
//! ```
//! use cygnet::sse::SseDecoder;
//!
//! let mut decoder = SseDecoder::new();
//! decoder.push(cygnet::bytes::Bytes::from_static(b"event: greeting\ndata: hel"));
//! assert_eq!(decoder.next_event()?, None); // the event is not complete yet
//! decoder.push(cygnet::bytes::Bytes::from_static(b"lo\nid: 7\n\n"));
//! let event = decoder.next_event()?.expect("a complete event");
//! assert_eq!((event.event, event.data, event.id), ("greeting", "hello", Some("7")));
//! assert_eq!(decoder.next_event()?, None);
//! assert!(!decoder.finish()); // nothing was cut off
//! # Ok::<(), cygnet::StreamError>(())
//! ```
//!
//! # Why it is written by hand
//!
//! This is the hot path of every streaming call, and the available crates do not fit it:
//! `eventsource-stream` allocates owned `String`s for every event, validates UTF-8 over buffered
//! bytes, and runs at a fraction of memory speed (`cargo xtask bench` compares the two side by
//! side; `bench/README.md` has the figures). This decoder:
//!
//! - scans each byte once: the line-end search (`memchr2` for CR/LF) resumes where the previous
//!   read stopped, so an event delivered in many reads costs the same as one delivered at once
//!   (a read that continues a long line is searched before it is copied, while it is warm in
//!   cache, rather than in the freshly grown buffer);
//! - hands out borrowed events: an event with one `data` line borrows its data straight from the
//!   read buffer, and only multi-line data is joined, in a scratch buffer whose capacity is reused,
//!   so a steady stream makes no heap allocation per event;
//! - validates UTF-8 once per value, when the event is dispatched, never the whole buffer again;
//! - compacts its buffer only when a read would not fit, moving just the unconsumed tail, so cost
//!   stays linear even for a single huge event;
//! - bounds memory: an event larger than the configured limit is an error
//!   ([`StreamError::EventTooLarge`]), not unbounded growth.
//!
//! # The rules, and where this decoder is stricter than a browser
//!
//! Lines end with CRLF, LF or CR (a CR that ends one read and an LF that starts the next are one
//! line end). A UTF-8 byte-order mark at the very start is skipped. Lines starting with `:` are
//! comments. `name:value` has one optional space after the colon removed; a line without a colon
//! is a field name with an empty value. `event` sets the event type (reset after every blank
//! line; `"message"` when unset or empty), `data` lines are joined with `"\n"`, `id` sets the
//! last event ID (ignored when it contains NUL; it persists across events, and an empty `id`
//! clears it), `retry` sets the reconnection time when it is only ASCII digits. Other fields are
//! ignored. A blank line dispatches the event; an event with no `data` line is not dispatched.
//! At the end of the body an unterminated event is discarded ([`SseDecoder::finish`]).
//!
//! Where a browser decodes invalid UTF-8 with replacement characters, this decoder reports
//! [`StreamError::InvalidUtf8`] for the event whose `data`, `event` or `id` value is not UTF-8
//! (values it ignores, such as comments and unknown fields, are not checked) and then carries on
//! with the next event.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use memchr::{memchr, memchr2};

use crate::error::StreamError;

/// The default for [`SseDecoder::max_event_size`]: 16 MiB.
///
/// Far above any real chat chunk (a few hundred bytes) or a whole completion sent as one event,
/// yet small enough that a hostile or broken server cannot make the client's memory grow
/// without bound.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// Buffer capacity kept while the decoder waits for more bytes; more is given back once the
/// bytes that needed it are consumed, so an idle stream stays small after a burst of big events.
const IDLE_CAPACITY: usize = 64 * 1024;

/// A line at least this long, still arriving, has each read searched for its end before it
/// is copied (see [`SseDecoder::push_slice`]).
const LONG_LINE: usize = 4 * 1024;

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One server-sent event, borrowed from the decoder that produced it.
///
/// Use [`Event::to_owned`] to keep it past the next call to the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// The event type: the `event` field, or `"message"` when the event had none (or an empty
    /// one).
    pub event: &'a str,
    /// The `data` lines of the event joined with `"\n"` (without a final newline).
    pub data: &'a str,
    /// The last event ID when the event was dispatched (the WHATWG `lastEventId`): set by this
    /// event's `id` field or inherited from an earlier event; `None` when empty.
    pub id: Option<&'a str>,
    /// The `retry` value (milliseconds) given inside this event, if any.
    pub retry: Option<u64>,
}

impl Event<'_> {
    /// An owned copy of the event.
    ///
    /// The id is copied too; a raw [`SseStream`](crate::SseStream) instead hands every event
    /// the one shared copy of the id it inherits, however many events inherit it.
    #[allow(clippy::wrong_self_convention)]
    pub fn to_owned(&self) -> OwnedEvent {
        OwnedEvent {
            event: self.event.to_owned(),
            data: self.data.to_owned(),
            id: self.id.map(Arc::from),
            retry: self.retry,
        }
    }

    /// An owned copy of the event (the same as [`Event::to_owned`]).
    pub fn into_owned(self) -> OwnedEvent {
        self.to_owned()
    }
}

/// A server-sent event that owns its text; see [`Event`] for the meaning of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEvent {
    /// The event type, `"message"` by default.
    pub event: String,
    /// The data lines joined with `"\n"`.
    pub data: String,
    /// The last event ID when the event was dispatched; `None` when empty.
    ///
    /// Shared: the ID persists from event to event until the server sends another, and every
    /// event that inherits it holds the same allocation (cloning it is a reference count), so
    /// a long ID followed by many events costs its length once, not once per event. Like
    /// every field line it is bounded by the decoder's maximum event size.
    pub id: Option<Arc<str>>,
    /// The `retry` value (milliseconds) given inside this event, if any.
    pub retry: Option<u64>,
}

impl OwnedEvent {
    /// The event borrowed as an [`Event`].
    pub fn as_event(&self) -> Event<'_> {
        Event {
            event: &self.event,
            data: &self.data,
            id: self.id.as_deref(),
            retry: self.retry,
        }
    }
}

impl From<Event<'_>> for OwnedEvent {
    fn from(event: Event<'_>) -> Self {
        event.to_owned()
    }
}

/// Where the data of the event being built is.
#[derive(Clone, Copy, Debug)]
enum Data {
    /// No `data` line yet: the event will not be dispatched.
    None,
    /// One `data` line, whose value is `buf[start..end]`.
    Range(usize, usize),
    /// Several `data` lines, joined in `scratch`.
    Scratch,
}

/// What the last dispatch handed over to [`SseDecoder::emit`].
#[derive(Clone, Copy, Debug)]
struct Ready {
    data: Data,
    event_type: Option<(usize, usize)>,
    retry: Option<u64>,
}

/// An incremental decoder of a `text/event-stream` body.
///
/// Feed it the body's chunks with [`push`](Self::push), take events with
/// [`next_event`](Self::next_event) until it returns `Ok(None)`, and call
/// [`finish`](Self::finish) at the end of the body. Memory is bounded by the maximum event
/// size (plus the size of one read), as long as every `push` is followed by draining
/// `next_event`.
///
/// After [`finish`](Self::finish) the same decoder can decode the body of a reconnection: the
/// last event ID and the retry value are kept, everything else starts afresh.
pub struct SseDecoder {
    /// Bytes pushed and not yet released; `buf[pos..]` is not processed yet.
    buf: Vec<u8>,
    /// Start of the first line not processed yet.
    pos: usize,
    /// Where the search for the current line's end resumes (`pos <= scan <= buf.len()`).
    scan: usize,
    /// The maximum event size, in bytes.
    limit: usize,
    /// Nothing has been processed yet: a byte-order mark may come.
    at_start: bool,
    /// The last line ended with a CR that was the last byte pushed: an LF next belongs to it.
    skip_lf: bool,
    /// A field line (not a comment) has come since the last blank line.
    open: bool,
    /// Bytes of the open event so far, from the start of its first field line to the end of the
    /// last processed line, terminators included.
    size: usize,
    /// The data of the event being built.
    data: Data,
    /// The joined data of a multi-line event; its capacity is reused.
    scratch: Vec<u8>,
    /// The `event` value of the event being built, as `buf[start..end]`.
    event_type: Option<(usize, usize)>,
    /// The `retry` value given in the event being built.
    retry_field: Option<u64>,
    /// The WHATWG "last event ID buffer": the latest valid `id` value, not yet checked as UTF-8.
    id_buf: Vec<u8>,
    /// `id_buf` was set since the last dispatch.
    id_dirty: bool,
    /// The WHATWG "last event ID string", updated at each dispatch.
    last_id: String,
    /// `last_id` as shared text, made when first asked for and dropped when it changes.
    shared_id: Option<Arc<str>>,
    /// The last valid `retry` value seen.
    retry: Option<u64>,
    /// What the last dispatch produced, for `emit`.
    ready: Ready,
    /// A fatal error: every later call reports it again.
    error: Option<StreamError>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SseDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the buffer itself: it can be megabytes.
        f.debug_struct("SseDecoder")
            .field("buffered", &(self.buf.len() - self.pos))
            .field("max_event_size", &self.limit)
            .field("last_event_id", &self.last_event_id())
            .field("retry", &self.retry)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl SseDecoder {
    /// A decoder whose maximum event size is [`DEFAULT_MAX_EVENT_SIZE`].
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder that rejects events larger than `limit` bytes.
    ///
    /// An event's size is counted on the wire, from the first byte of its first field line to
    /// the last byte of its last line before the blank line that ends it, line terminators and
    /// comments between its fields included. A single line longer than `limit` (a comment too)
    /// is rejected as well, so the decoder never buffers more than `limit` bytes of one event.
    pub fn with_max_event_size(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            scan: 0,
            limit,
            at_start: true,
            skip_lf: false,
            open: false,
            size: 0,
            data: Data::None,
            scratch: Vec::new(),
            event_type: None,
            retry_field: None,
            id_buf: Vec::new(),
            id_dirty: false,
            last_id: String::new(),
            shared_id: None,
            retry: None,
            ready: Ready {
                data: Data::None,
                event_type: None,
                retry: None,
            },
            error: None,
        }
    }

    /// The maximum event size, in bytes.
    pub fn max_event_size(&self) -> usize {
        self.limit
    }

    /// Appends bytes read from the body, split anywhere.
    ///
    /// After a fatal error ([`StreamError::EventTooLarge`]) the bytes are dropped.
    pub fn push(&mut self, chunk: Bytes) {
        self.push_slice(&chunk);
    }

    /// Appends bytes read from the body, like [`push`](Self::push), from a borrowed slice.
    pub fn push_slice(&mut self, chunk: &[u8]) {
        if chunk.is_empty() || self.error.is_some() {
            return;
        }
        let keep = self.keep();
        // Release the processed bytes only when the read would not fit otherwise (or when there
        // is nothing to move): the move is then of the unprocessed tail alone, at most once per
        // filling of the buffer, which keeps the cost per byte constant.
        if keep == self.buf.len()
            || (keep > 0 && self.buf.len() + chunk.len() > self.buf.capacity())
        {
            self.release(keep);
        }
        // A long line still arriving (a big event in pieces) grows the buffer into fresh
        // memory, where searching the copy for a line end costs about a tenth of the copy
        // again: search the read before copying it, while it is warm in cache, and let
        // `next_event` skip it when it has none. Short lines stay in the warm start of the
        // buffer, where searching after the copy is as cheap and saves a search per read.
        let long_line = self.scan == self.buf.len() && self.buf.len() - self.pos >= LONG_LINE;
        let no_line_end = long_line && memchr2(b'\n', b'\r', chunk).is_none();
        self.buf.extend_from_slice(chunk);
        if no_line_end {
            self.scan = self.buf.len();
        }
    }

    /// The next complete event from what was pushed; `Ok(None)` when more bytes are needed.
    ///
    /// # Errors
    ///
    /// - [`StreamError::EventTooLarge`] when an event (or a line) grows past the maximum event
    ///   size. This is fatal: the decoder drops its buffer and reports the same error from then on
    ///   (until [`finish`](Self::finish)).
    /// - [`StreamError::InvalidUtf8`] when the `data`, `event` or `id` value of the event just
    ///   completed is not UTF-8. That event is skipped; the next call carries on after it.
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, StreamError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        if self.at_start && !self.skip_bom() {
            return Ok(None);
        }
        loop {
            let Some((start, end, next)) = self.next_line()? else {
                return self.need_more();
            };
            if end == start {
                if self.dispatch()? {
                    return self.emit().map(Some);
                }
                continue;
            }
            self.take_line(start, end, next)?;
        }
    }

    /// Skips a UTF-8 byte-order mark at the very start of the body; `false` while the bytes
    /// so far could still become one.
    fn skip_bom(&mut self) -> bool {
        let available = &self.buf[self.pos..];
        if available.len() < BOM.len() && BOM.starts_with(available) {
            return false;
        }
        if available.starts_with(BOM) {
            self.pos += BOM.len();
            self.scan = self.scan.max(self.pos);
        }
        self.at_start = false;
        true
    }

    /// The next complete line as `(start, end of its content, start of the next line)`,
    /// consumed; `None` when more bytes are needed. A partial line is never rescanned, but
    /// it must not outgrow the limit.
    #[inline]
    fn next_line(&mut self) -> Result<Option<(usize, usize, usize)>, StreamError> {
        if self.skip_lf {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Ok(None);
            };
            if byte == b'\n' {
                self.pos += 1;
                self.scan = self.scan.max(self.pos);
                if self.open {
                    self.size += 1;
                }
            }
            self.skip_lf = false;
        }
        let len = self.buf.len();
        let Some(found) = memchr2(b'\n', b'\r', &self.buf[self.scan..]) else {
            self.scan = len;
            let partial = len - self.pos;
            if partial > 0 && self.open_size().saturating_add(partial) > self.limit {
                return Err(self.fail_too_large());
            }
            return Ok(None);
        };
        let start = self.pos;
        let end = self.scan + found;
        let next = if self.buf[end] == b'\n' {
            end + 1
        } else if end + 1 < len {
            end + 1 + usize::from(self.buf[end + 1] == b'\n')
        } else {
            // A CR as the last byte: dispatch now (no added latency), skip an LF that follows.
            self.skip_lf = true;
            end + 1
        };
        self.pos = next;
        self.scan = next;
        Ok(Some((start, end, next)))
    }

    /// Takes a line that is not blank: a comment, or a field of the open event.
    #[inline]
    fn take_line(&mut self, start: usize, end: usize, next: usize) -> Result<(), StreamError> {
        if self.open_size().saturating_add(end - start) > self.limit {
            return Err(self.fail_too_large());
        }
        if self.buf[start] == b':' {
            // A comment: ignored, but it counts towards the size of an open event.
            if self.open {
                self.size += next - start;
            }
            return Ok(());
        }
        if !self.open {
            self.open = true;
            self.size = 0;
        }
        self.size += next - start;
        self.field(start, end);
        Ok(())
    }

    /// Ends the body: discards an unterminated event (as WHATWG requires) and returns whether
    /// anything was pending, so the caller can report a truncated stream.
    ///
    /// Pending means: bytes not yet taken by [`next_event`](Self::next_event) (an unterminated
    /// line, or lines not read yet), fields of an event with no blank line after them, or a
    /// fatal error. Comments after the last event do not count.
    ///
    /// The decoder is then ready for the body of a reconnection: it keeps the last event ID and
    /// the retry value, and clears the rest (an error too).
    pub fn finish(&mut self) -> bool {
        if self.skip_lf && self.buf.get(self.pos) == Some(&b'\n') {
            self.pos += 1;
        }
        let pending = self.error.is_some() || self.pos < self.buf.len() || self.open;
        self.buf.clear();
        if self.buf.capacity() > IDLE_CAPACITY {
            self.buf = Vec::new();
        }
        if self.scratch.capacity() > IDLE_CAPACITY {
            self.scratch = Vec::new();
        }
        self.pos = 0;
        self.scan = 0;
        self.at_start = true;
        self.skip_lf = false;
        self.reset_event();
        // The last event ID buffer goes back to what was last dispatched.
        self.id_buf.clear();
        self.id_buf.extend_from_slice(self.last_id.as_bytes());
        self.id_dirty = false;
        self.error = None;
        pending
    }

    /// The last event ID (the WHATWG "last event ID string", as of the last blank line), to send
    /// as `Last-Event-ID` when reconnecting; `None` when empty.
    pub fn last_event_id(&self) -> Option<&str> {
        (!self.last_id.is_empty()).then_some(self.last_id.as_str())
    }

    /// [`last_event_id`](Self::last_event_id) as shared text: the same allocation until the
    /// ID changes, so each owned event that inherits it costs a reference count.
    pub(crate) fn shared_last_event_id(&mut self) -> Option<Arc<str>> {
        if self.last_id.is_empty() {
            return None;
        }
        Some(Arc::clone(
            self.shared_id
                .get_or_insert_with(|| Arc::from(self.last_id.as_str())),
        ))
    }

    /// The last valid `retry` value seen (milliseconds), in any event, dispatched or not.
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// The size of the open event so far, or 0 between events.
    fn open_size(&self) -> usize {
        if self.open {
            self.size
        } else {
            0
        }
    }

    /// The first byte that must stay in the buffer: the next line, or an earlier value of the
    /// event being built.
    fn keep(&self) -> usize {
        let mut keep = self.pos;
        if let Data::Range(start, _) = self.data {
            keep = keep.min(start);
        }
        if let Some((start, _)) = self.event_type {
            keep = keep.min(start);
        }
        keep
    }

    /// Drops `buf[..keep]`, moving the rest to the front.
    fn release(&mut self, keep: usize) {
        if keep == self.buf.len() {
            self.buf.clear();
        } else {
            self.buf.copy_within(keep.., 0);
            self.buf.truncate(self.buf.len() - keep);
        }
        self.pos -= keep;
        self.scan -= keep;
        if let Data::Range(start, end) = &mut self.data {
            *start -= keep;
            *end -= keep;
        }
        if let Some((start, end)) = &mut self.event_type {
            *start -= keep;
            *end -= keep;
        }
    }

    /// `Ok(None)`, after giving back memory that a burst of big events left behind.
    fn need_more(&mut self) -> Result<Option<Event<'_>>, StreamError> {
        if self.buf.capacity() > IDLE_CAPACITY {
            let keep = self.keep();
            // Only when little is left to move: a big event still arriving keeps its buffer.
            if self.buf.len() - keep <= IDLE_CAPACITY / 2 {
                self.release(keep);
                self.buf.shrink_to(IDLE_CAPACITY);
            }
        }
        if self.scratch.capacity() > IDLE_CAPACITY && !matches!(self.data, Data::Scratch) {
            self.scratch = Vec::new();
        }
        Ok(None)
    }

    /// Handles the field line `buf[start..end]` (not blank, not a comment).
    fn field(&mut self, start: usize, end: usize) {
        let line = &self.buf[start..end];
        // `data:` is by far the most common line: skip the colon search for it.
        let (name_len, mut value) = if line.starts_with(b"data:") {
            (4, start + 5)
        } else {
            match memchr(b':', line) {
                Some(colon) => (colon, start + colon + 1),
                None => (line.len(), end),
            }
        };
        if value < end && self.buf[value] == b' ' {
            value += 1;
        }
        match &self.buf[start..start + name_len] {
            b"data" => self.push_data(value, end),
            b"event" => self.event_type = Some((value, end)),
            b"id" => {
                let id = &self.buf[value..end];
                if memchr(0, id).is_none() {
                    self.id_buf.clear();
                    self.id_buf.extend_from_slice(id);
                    self.id_dirty = true;
                }
            }
            b"retry" => {
                if let Some(retry) = parse_retry(&self.buf[value..end]) {
                    self.retry = Some(retry);
                    self.retry_field = Some(retry);
                }
            }
            _ => {}
        }
    }

    /// Adds the data line value `buf[start..end]` to the event being built.
    fn push_data(&mut self, start: usize, end: usize) {
        match self.data {
            Data::None => self.data = Data::Range(start, end),
            Data::Range(first_start, first_end) => {
                self.scratch.clear();
                self.scratch
                    .extend_from_slice(&self.buf[first_start..first_end]);
                self.scratch.push(b'\n');
                self.scratch.extend_from_slice(&self.buf[start..end]);
                self.data = Data::Scratch;
            }
            Data::Scratch => {
                self.scratch.push(b'\n');
                self.scratch.extend_from_slice(&self.buf[start..end]);
            }
        }
    }

    /// Forgets the event being built.
    fn reset_event(&mut self) {
        self.open = false;
        self.size = 0;
        self.data = Data::None;
        self.event_type = None;
        self.retry_field = None;
    }

    /// A blank line: updates the last event ID and hands the event, if it has data, to `emit`.
    fn dispatch(&mut self) -> Result<bool, StreamError> {
        let ready = Ready {
            data: self.data,
            event_type: self.event_type,
            retry: self.retry_field,
        };
        self.reset_event();
        if self.id_dirty {
            self.id_dirty = false;
            let id = std::str::from_utf8(&self.id_buf).map_err(|_| StreamError::InvalidUtf8)?;
            if self.last_id != id {
                self.last_id.clear();
                self.last_id.push_str(id);
                self.shared_id = None;
            }
        }
        if matches!(ready.data, Data::None) {
            return Ok(false);
        }
        self.ready = ready;
        Ok(true)
    }

    /// The event the last dispatch made ready; its bytes stay put until the next `push`.
    fn emit(&self) -> Result<Event<'_>, StreamError> {
        let data = match self.ready.data {
            Data::Range(start, end) => &self.buf[start..end],
            Data::Scratch => &self.scratch[..],
            Data::None => &[][..],
        };
        let data = std::str::from_utf8(data).map_err(|_| StreamError::InvalidUtf8)?;
        let event = match self.ready.event_type {
            Some((start, end)) if start < end => {
                std::str::from_utf8(&self.buf[start..end]).map_err(|_| StreamError::InvalidUtf8)?
            }
            _ => "message",
        };
        Ok(Event {
            event,
            data,
            id: self.last_event_id(),
            retry: self.ready.retry,
        })
    }

    /// Records the fatal size error and drops the buffers.
    fn fail_too_large(&mut self) -> StreamError {
        let error = StreamError::EventTooLarge { limit: self.limit };
        self.error = Some(error.clone());
        self.buf = Vec::new();
        self.scratch = Vec::new();
        self.pos = 0;
        self.scan = 0;
        self.skip_lf = false;
        self.reset_event();
        error
    }
}

/// A `retry` value: one or more ASCII digits, as milliseconds (saturating at `u64::MAX`).
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0u64, |n, &digit| {
        n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
    }))
}
