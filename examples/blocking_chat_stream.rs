//! Blocking streaming chat completion: print each piece of the answer the moment it arrives.
//!
//! ```sh
//! cargo run --example blocking_chat_stream
//! ```
#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use cygnet::mock::MockReply;

use common::Failure;

fn main() -> ExitCode {
    common::exit(run())
}

fn run() -> Result<(), Failure> {
    let client = common::blocking_client(|| {
        vec![MockReply::stream_text(common::offline_deltas(
            common::OFFLINE_ANSWER,
        ))]
    })?;
    let mut stream = client.chat_stream(&common::seed_request())?;
    // `next_chunk_with` lends each chunk with its text borrowed from the bytes just read, so
    // printing a delta copies nothing. The stream is also an `Iterator` of owned chunks:
    // `for chunk in stream { ... }`. A stream Gray Swan blocks ends with a chunk that says so,
    // its text the refusal.
    let mut blocked = false;
    while let Some(printed) = stream.next_chunk_with(|chunk| {
        blocked |= chunk.is_blocked();
        common::print_now(chunk.text_delta().unwrap_or_default())
    }) {
        printed??;
    }
    common::print_now("\n")?;
    common::say_if_blocked(blocked);
    Ok(())
}
