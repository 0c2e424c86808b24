//! Async streaming chat completion: print each piece of the answer the moment it arrives.
//!
//! ```sh
//! cargo run --example chat_stream
//! ```
#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use cygnet::mock::MockReply;

use common::Failure;

// One stream has nothing to run in parallel, so a current-thread runtime suits it: the body's
// reads and the parsing stay on one thread, with no hand-off between threads per read
// (`bench/README.md` compares the two runtimes).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let client = common::client(|| {
        vec![MockReply::stream_text(common::offline_deltas(
            common::OFFLINE_ANSWER,
        ))]
    })?;
    let mut stream = client.chat_stream(&common::seed_request()).await?;
    // `next_chunk_with` lends each chunk with its text borrowed from the bytes just read, so
    // printing a delta copies nothing. `next_chunk` gives owned chunks instead, and
    // `futures::StreamExt::next` works as well. A stream Gray Swan blocks ends with a chunk
    // that says so, its text the refusal.
    let mut blocked = false;
    while let Some(printed) = stream
        .next_chunk_with(|chunk| {
            blocked |= chunk.is_blocked();
            common::print_now(chunk.text_delta().unwrap_or_default())
        })
        .await
    {
        printed??;
    }
    common::print_now("\n")?;
    common::say_if_blocked(blocked);
    Ok(())
}
