//! What every example shares: choosing between the real API and the offline mock, the seed
//! conversation, and printing errors the way a user wants to read them.
//!
//! Included into each example with `#[path = "common/mod.rs"] mod common;` so an example stays
//! one self-contained program to read; not every example uses every item, hence the
//! `dead_code` allowance below.
#![allow(dead_code)]

use std::io::Write;
use std::process::ExitCode;

use cygnet::mock::{MockReply, MockTransport};
use cygnet::{models, ChatCompletionRequest, Client, ClientBuilder, Message};

/// The environment variable that holds the API key.
pub const API_KEY_ENV: &str = "GRAYSWAN_API_KEY";

/// The answer the offline mock gives to the seed question.
pub const OFFLINE_ANSWER: &str = "A large language model (LLM) is a neural network trained on \
     vast amounts of text to predict the next word. That simple objective teaches it grammar, \
     facts and patterns of reasoning, so it can answer questions, summarise, translate and \
     write code from a prompt.";

/// The seed conversation of Gray Swan's documentation, with model `cygnet`.
pub fn seed_request() -> ChatCompletionRequest {
    ChatCompletionRequest::new(
        models::CYGNET,
        vec![
            Message::system("You are a helpful assistant."),
            Message::user("What is a large language model?"),
        ],
    )
}

/// The offline answer cut into word-sized deltas, as a server would stream it.
pub fn offline_deltas(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_owned).collect()
}

/// Whether an API key is set (and not blank): then the examples talk to the real API.
pub fn online() -> bool {
    std::env::var(API_KEY_ENV).is_ok_and(|key| !key.trim().is_empty())
}

/// A client for the example.
///
/// With `GRAYSWAN_API_KEY` set: the hyper transport, to `GRAY_SWAN_BASE_URL` (default
/// `https://api.grayswan.ai`). Without it: says so on stderr and answers from a
/// [`MockTransport`] scripted with `offline`, so the example runs anywhere.
pub fn client(offline: impl FnOnce() -> Vec<MockReply>) -> cygnet::Result<Client> {
    if online() {
        cygnet::from_env()
    } else {
        offline_builder(offline).build()
    }
}

/// The blocking client for the example, chosen like [`client`].
pub fn blocking_client(
    offline: impl FnOnce() -> Vec<MockReply>,
) -> cygnet::Result<cygnet::blocking::Client> {
    if online() {
        cygnet::blocking::Client::from_env()
    } else {
        // The mock needs no network; the blocking client only lends it its runtime.
        cygnet::blocking::Client::new(offline_builder(offline).build()?)
    }
}

/// The builder of the offline client (prints the notice); the blocking examples build their
/// client from it too.
pub fn offline_builder(offline: impl FnOnce() -> Vec<MockReply>) -> ClientBuilder {
    eprintln!(
        "note: {API_KEY_ENV} is not set, so this runs offline on cygnet's mock transport \
         with a canned answer; set it to call the Cygnet API"
    );
    ClientBuilder::new()
        // Never sent anywhere: the mock answers in process.
        .api_key("sk-offline-example")
        .transport(MockTransport::conversation(offline()))
}

/// Says on stderr that Gray Swan blocked the answer just printed, when it did: the text is then
/// its refusal ("Sorry, I can't help with that."), not the model's answer. A blocked answer
/// arrives as a successful one (HTTP 200), so only asking tells it apart.
pub fn say_if_blocked(blocked: bool) {
    if blocked {
        eprintln!(
            "note: Gray Swan blocked this answer; what was printed is its refusal, not the \
             model's answer"
        );
    }
}

/// Writes `text` to stdout and flushes at once, so a streamed delta shows as it arrives.
pub fn print_now(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// What can end an example early.
#[derive(Debug)]
pub enum Failure {
    /// The client or the API failed.
    Api(cygnet::Error),
    /// Anything else, e.g. stdout closed or an answer not in the expected shape.
    Other(String),
}

impl From<cygnet::Error> for Failure {
    fn from(error: cygnet::Error) -> Self {
        Failure::Api(error)
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Other(format!("cannot write the answer: {error}"))
    }
}

/// Prints `failure` on stderr (status and the server's message where there is one, and a
/// hint for a rejected key) and returns exit status 1.
///
/// The error is printed with every cause in its chain, on one line (`error.report()`):
/// cygnet's errors keep their causes out of their own messages, so each shows once.
pub fn report(failure: &Failure) -> ExitCode {
    match failure {
        Failure::Api(error) => {
            eprintln!("error: {}", error.report());
            if let cygnet::Error::Api(api) = error {
                if let Some(id) = api.request_id() {
                    eprintln!("request id: {id}");
                }
                if api.status.is_some_and(|s| s.as_u16() == 401) {
                    eprintln!("hint: check the key in {API_KEY_ENV}");
                }
            }
        }
        Failure::Other(message) => eprintln!("error: {message}"),
    }
    ExitCode::FAILURE
}

/// Runs `result` to an exit status: success, or the error reported on stderr.
pub fn exit(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure),
    }
}
