//! Async chat completion: ask the seed question and print the answer.
//!
//! ```sh
//! cargo run --example chat                         # offline, on the mock transport
//! GRAYSWAN_API_KEY=... cargo run --example chat    # against the Cygnet API
//! ```
#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use common::Failure;

#[tokio::main]
async fn main() -> ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), Failure> {
    let client = common::client(|| vec![cygnet::mock::MockReply::text(common::OFFLINE_ANSWER)])?;
    let completion = client.chat(&common::seed_request()).await?;
    println!("{}", completion.content().unwrap_or_default());
    // A blocked answer is `Ok` too, its content the refusal: ask.
    common::say_if_blocked(completion.is_blocked());
    Ok(())
}
