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
    // `for chunk in stream { ... }`.
    while let Some(printed) =
        stream.next_chunk_with(|chunk| common::print_now(chunk.text_delta().unwrap_or_default()))
    {
        printed??;
    }
    common::print_now("\n")?;
    Ok(())
}
