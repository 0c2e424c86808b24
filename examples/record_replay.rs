//! Record a conversation with the API once, then replay it offline as often as you like.
//!
//! ```sh
//! GRAYSWAN_API_KEY=... cargo run --example record_replay -- seed.json   # records
//! cargo run --example record_replay -- seed.json                        # replays, no network
//! ```
//!
//! With `GRAYSWAN_API_KEY` set it runs the seed conversation (one chat call, one streamed
//! call) against the API (`GRAY_SWAN_BASE_URL`, by default `https://api.grayswan.ai`) through
//! a recorder, which writes every exchange into the cassette file: the streamed answer as
//! the exact chunks that arrived. Without the key it answers the same calls from the file
//! and prints the same output. The key is never written to the file.
//!
//! A test suite usually lets `cygnet::mock::Cassette::auto` choose instead: record when the
//! file is missing (or `CYGNET_RECORD=1`), replay otherwise.
#[path = "common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cygnet::error::Report;
use cygnet::mock::{Cassette, CassetteError, CassetteTransport};
use cygnet::{ClientBuilder, HyperTransport};

use common::Failure;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: cargo run --example record_replay -- CASSETTE.json");
        return ExitCode::FAILURE;
    };
    let transport = match open(&path) {
        Ok(transport) => transport,
        Err(CassetteError::Missing { path }) => {
            eprintln!(
                "error: there is no cassette at {} to replay, and {} is not set to record one.\n\
                 Record it once with the key set:\n  \
                 {}=... cargo run --example record_replay -- {}\n\
                 then run again without the key to replay it offline.",
                path.display(),
                common::API_KEY_ENV,
                common::API_KEY_ENV,
                path.display()
            );
            return ExitCode::FAILURE;
        }
        Err(error) => return common::report(&Failure::Other(Report::new(&error).to_string())),
    };
    common::exit(run(transport).await)
}

/// Records through the real transport when a key is set, replays the file otherwise.
fn open(path: &Path) -> Result<CassetteTransport, CassetteError> {
    let cassette = Cassette::new(path);
    if common::online() {
        eprintln!("note: recording the conversation into {}", path.display());
        Ok(CassetteTransport::Record(
            cassette.recorder(HyperTransport::new()),
        ))
    } else {
        let replayer = cassette.replayer()?;
        eprintln!(
            "note: {} is not set, so this replays {} (no network)",
            common::API_KEY_ENV,
            path.display()
        );
        Ok(CassetteTransport::Replay(replayer))
    }
}

async fn run(transport: CassetteTransport) -> Result<(), Failure> {
    let mut builder = ClientBuilder::from_env().transport(transport.clone());
    if !transport.is_recording() {
        // Never sent anywhere: the replay answers in process.
        builder = builder.api_key(cygnet::mock::REPLAY_API_KEY);
    }
    let client = builder.build()?;

    let completion = client.chat(&common::seed_request()).await?;
    println!("{}", completion.content().unwrap_or_default());
    common::say_if_blocked(completion.is_blocked());

    let mut stream = client.chat_stream(&common::seed_request()).await?;
    let mut blocked = false;
    while let Some(chunk) = stream.next_chunk().await {
        let chunk = chunk?;
        blocked |= chunk.is_blocked();
        common::print_now(chunk.content().unwrap_or_default())?;
    }
    common::print_now("\n")?;
    common::say_if_blocked(blocked);

    transport
        .finish()
        .map_err(|e| Failure::Other(Report::new(&e).to_string()))
}
