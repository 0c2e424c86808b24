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

#[tokio::main]
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
    // `next_chunk` needs no extension trait; `futures::StreamExt::next` works as well.
    while let Some(chunk) = stream.next_chunk().await {
        if let Some(delta) = chunk?.content() {
            common::print_now(delta)?;
        }
    }
    common::print_now("\n")?;
    Ok(())
}
