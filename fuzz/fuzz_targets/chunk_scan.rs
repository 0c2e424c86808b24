//! Fuzzes the fast chunk parse against serde_json: on arbitrary bytes, `from_json` (the
//! hand-written scanner, serde_json for the rest) must give exactly what `serde_json::from_str`
//! gives, the same chunk with the same strings borrowed, or the same error text, for the
//! borrowing `ChatCompletionChunkRef` and the owned `ChatCompletionChunk` alike. Whatever the
//! scanner reads by itself must be what serde_json reads.
#![no_main]

use cygnet_types::{ChatCompletionChunk, ChatCompletionChunkRef};
use libfuzzer_sys::fuzz_target;

#[path = "../../crates/cygnet-types/tests/support/borrowed_strings.rs"]
mod borrowed_strings;
use borrowed_strings::strings;

fuzz_target!(|input: &[u8]| {
    let Ok(json) = std::str::from_utf8(input) else {
        return;
    };
    let serde = serde_json::from_str::<ChatCompletionChunkRef<'_>>(json);
    match (ChatCompletionChunkRef::from_json(json), &serde) {
        (Ok(fast), Ok(serde)) => {
            assert_eq!(strings(&fast), strings(serde));
            assert_eq!(&fast, serde);
        }
        (Err(fast), Err(serde)) => assert_eq!(fast.to_string(), serde.to_string()),
        (fast, serde) => panic!("from_json: {fast:?}\nserde_json: {serde:?}"),
    }
    if let Some(scanned) = ChatCompletionChunkRef::from_json_fast_path_only(json) {
        assert_eq!(Some(&scanned), serde.as_ref().ok(), "the scanner read {json:?}");
    }
    match (
        ChatCompletionChunk::from_json(json),
        serde_json::from_str::<ChatCompletionChunk>(json),
    ) {
        (Ok(fast), Ok(serde)) => assert_eq!(fast, serde),
        (Err(fast), Err(serde)) => assert_eq!(fast.to_string(), serde.to_string()),
        (fast, serde) => panic!("owned from_json: {fast:?}\nserde_json: {serde:?}"),
    }
});
