//! Incremental server-sent-events decoder.
//!
//! TEMPORARY STUB written by the lead so that the crate compiles while the real decoder is
//! being written; the SSE engineer replaces this whole file. It decodes nothing.
#![allow(missing_docs, dead_code)]
use bytes::Bytes;
#[derive(Debug, Default)]
pub struct SseDecoder;
impl SseDecoder {
    pub fn new() -> Self {
        SseDecoder
    }
    pub fn with_max_event_size(_limit: usize) -> Self {
        SseDecoder
    }
    pub fn push(&mut self, _chunk: Bytes) {}
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, crate::error::StreamError> {
        Ok(None)
    }
    pub fn finish(&mut self) -> bool {
        false
    }
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event<'a> {
    pub event: &'a str,
    pub data: &'a str,
    pub id: Option<&'a str>,
    pub retry: Option<u64>,
}
impl Event<'_> {
    pub fn to_owned(&self) -> OwnedEvent {
        OwnedEvent::default()
    }
}
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedEvent {
    pub event: String,
    pub data: String,
    pub id: Option<String>,
    pub retry: Option<u64>,
}
