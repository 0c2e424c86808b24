//! Blocking streaming chat completion: the stream is an `Iterator` of chunks.
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
    for chunk in client.chat_stream(&common::seed_request())? {
        if let Some(delta) = chunk?.content() {
            common::print_now(delta)?;
        }
    }
    common::print_now("\n")?;
    Ok(())
}
