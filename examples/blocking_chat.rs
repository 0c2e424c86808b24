//! Blocking chat completion: the same call as `chat`, from plain synchronous code.
//!
//! The blocking client runs its own small runtime, so `main` needs none.
//!
//! ```sh
//! cargo run --example blocking_chat
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
    let client = common::blocking_client(|| vec![MockReply::text(common::OFFLINE_ANSWER)])?;
    let completion = client.chat(&common::seed_request())?;
    println!("{}", completion.content().unwrap_or_default());
    // A blocked answer is `Ok` too, its content the refusal: ask.
    common::say_if_blocked(completion.is_blocked());
    Ok(())
}
