//! Fuzzes the server-sent-events decoder: the input is cut into reads at points the fuzzer
//! picks, decoded, and must give exactly what decoding it in one read gives; every event's data
//! is also parsed as a chat-completion chunk, whose errors are ignored (it must not panic).
//!
//! Input layout: byte 0 picks the size limit (0 means the default), byte 1 the number of cuts
//! (at most 31), then two bytes per cut (little-endian offsets into the stream), then the
//! stream itself.
#![no_main]

use bytes::Bytes;
use cygnet_core::sse::{OwnedEvent, SseDecoder, DEFAULT_MAX_EVENT_SIZE};
use cygnet_core::StreamError;
use libfuzzer_sys::fuzz_target;

/// Everything a decode produced, for comparison.
#[derive(Debug, PartialEq)]
struct Outcome {
    items: Vec<Result<OwnedEvent, StreamError>>,
    truncated: bool,
    last_event_id: Option<String>,
    retry: Option<u64>,
}

fn decode(stream: &[u8], cuts: &[usize], limit: usize) -> Outcome {
    let mut decoder = SseDecoder::with_max_event_size(limit);
    let mut items = Vec::new();
    let mut start = 0;
    let mut failed = false;
    for &end in cuts.iter().chain(std::iter::once(&stream.len())) {
        if failed {
            break;
        }
        decoder.push(Bytes::copy_from_slice(&stream[start..end]));
        start = end;
        loop {
            match decoder.next_event() {
                Ok(Some(event)) => {
                    let _ = serde_json::from_str::<cygnet_types::ChatCompletionChunk>(event.data);
                    items.push(Ok(event.to_owned()));
                }
                Ok(None) => break,
                Err(error) => {
                    failed = matches!(error, StreamError::EventTooLarge { .. });
                    items.push(Err(error));
                    if failed {
                        break;
                    }
                }
            }
        }
    }
    let last_event_id = decoder.last_event_id().map(str::to_owned);
    let retry = decoder.retry();
    Outcome {
        items,
        truncated: decoder.finish(),
        last_event_id,
        retry,
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&limit, rest)) = input.split_first() else {
        return;
    };
    let Some((&count, rest)) = rest.split_first() else {
        return;
    };
    let count = usize::from(count % 32);
    if rest.len() < count * 2 {
        return;
    }
    let (cut_bytes, stream) = rest.split_at(count * 2);
    let mut cuts: Vec<usize> = cut_bytes
        .chunks_exact(2)
        .map(|pair| usize::from(u16::from_le_bytes([pair[0], pair[1]])) % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();
    let limit = if limit == 0 {
        DEFAULT_MAX_EVENT_SIZE
    } else {
        usize::from(limit)
    };
    let whole = decode(stream, &[], limit);
    let split = decode(stream, &cuts, limit);
    assert_eq!(whole, split, "cuts {cuts:?}");
});
