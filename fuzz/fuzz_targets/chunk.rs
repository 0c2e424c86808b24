//! Fuzzes the chat-completion chunk parsers: arbitrary bytes are parsed both as the owned
//! `ChatCompletionChunk` and as the borrowing `ChatCompletionChunkRef`. Neither may panic, they
//! must agree on whether the input is a chunk, and when both parse, `into_owned()` of the
//! borrowed one must equal the owned one (what `chunk_ref`'s module docs promise).
#![no_main]

use cygnet_types::{ChatCompletionChunk, ChatCompletionChunkRef};
use libfuzzer_sys::fuzz_target;

fn check(
    owned: serde_json::Result<ChatCompletionChunk>,
    borrowed: serde_json::Result<ChatCompletionChunkRef<'_>>,
) {
    match (owned, borrowed) {
        (Ok(owned), Ok(borrowed)) => assert_eq!(borrowed.into_owned(), owned),
        (Err(_), Err(_)) => {}
        (owned, borrowed) => panic!("the parsers disagree: owned {owned:?}, borrowed {borrowed:?}"),
    }
}

fuzz_target!(|input: &[u8]| {
    check(serde_json::from_slice(input), serde_json::from_slice(input));
    // The stream path parses each event's data as `&str`: fuzz that entry point too.
    if let Ok(text) = std::str::from_utf8(input) {
        check(serde_json::from_str(text), serde_json::from_str(text));
    }
});
