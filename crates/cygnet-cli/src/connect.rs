//! The client the command talks through: the real API, configured from the environment and
//! the global flags, or (`--offline`) cygnet's mock transport with canned answers.
//!
//! Online, the client is read from the environment exactly as the library reads it
//! (`GRAYSWAN_API_KEY`, `GRAY_SWAN_BASE_URL`, the proxy and certificate variables; a near
//! miss such as `GRAYSWAN_BASE_URL` is an error naming the variable to use), then the flags
//! override it: `--base-url`, `--timeout` (per attempt), `--allow-insecure-http`. Every check
//! is done before anything is sent. The library's errors name its own methods
//! (`ClientBuilder::allow_insecure_http(true)`); here they name the flag instead.
//!
//! Offline, nothing is read from the environment and nothing leaves the process: each request
//! is answered in process with a canned answer of its kind (chat, streamed or whole; a
//! moderation verdict; a monitor score), and [`OFFLINE_NOTICE`] says so on standard error.

use std::io::Write;

use cygnet::config::{API_KEY_ENV, API_KEY_NEAR_MISSES};
use cygnet::mock::{CapturedRequest, MockReply, MockTransport};
use cygnet::redact::Secrets;
use cygnet::{Client, ClientBuilder};
use serde_json::json;

use crate::args::ConnectionArgs;
use crate::failure::Failure;

/// What the command says on standard error when it runs `--offline`.
pub const OFFLINE_NOTICE: &str = "offline: answers come from cygnet's mock transport (canned; \
     nothing is sent and no key is read); drop --offline to call the Cygnet API";

/// The canned chat answer of `--offline`.
pub const OFFLINE_ANSWER: &str = "This is a canned answer from cygnet's mock transport: \
     the command ran offline, so no model read your prompt.";

/// The canned rewrite `moderate --offline --rewrite` answers with.
pub const OFFLINE_REWRITE: &str = "(offline: a canned rewrite; no model read the text)";

/// The client for `connection`: [`offline_client`] with `--offline` (after writing
/// [`OFFLINE_NOTICE`] to `notes`), otherwise [`online_client`].
///
/// # Errors
/// As [`online_client`] and [`offline_client`].
pub fn client(connection: &ConnectionArgs, notes: &mut impl Write) -> Result<Client, Failure> {
    if connection.offline {
        let _ = writeln!(notes, "{OFFLINE_NOTICE}");
        return offline_client(connection);
    }
    online_client(connection)
}

/// The client of the real API: the environment as the library reads it, then the flags.
///
/// # Errors
/// [`Failure::MissingKey`] when `GRAYSWAN_API_KEY` is unset or blank (and no near miss of it
/// is set: that is the library's error naming the variable); [`Failure::Api`] with
/// [`cygnet::Error::Config`] when the configuration is wrong (a near miss, a bad base URL,
/// cleartext to a remote host without `--allow-insecure-http`).
pub fn online_client(connection: &ConnectionArgs) -> Result<Client, Failure> {
    let set =
        |name: &str| std::env::var_os(name).is_some_and(|v| !v.to_string_lossy().trim().is_empty());
    if !set(API_KEY_ENV) && !API_KEY_NEAR_MISSES.iter().any(|name| set(name)) {
        return Err(Failure::MissingKey);
    }
    build(cygnet::builder(), connection)
}

/// The offline client: the mock transport answering every request with
/// [`offline_reply`], its fixed fake key, and the flags applied (so they are checked as
/// online).
///
/// # Errors
/// [`Failure::Api`] with [`cygnet::Error::Config`] when a flag is wrong (`--base-url`).
pub fn offline_client(connection: &ConnectionArgs) -> Result<Client, Failure> {
    let mock = MockTransport::new();
    mock.set_fallback_fn(offline_reply);
    build(mock.client_builder(), connection)
}

/// The canned answer to `request`, by its path: a monitor score of 0.02 (nothing seen), a
/// moderation verdict (not flagged; with [`OFFLINE_REWRITE`] when a rewrite was asked
/// for), or [`OFFLINE_ANSWER`], streamed word by word when the request asked for a stream.
pub fn offline_reply(request: &CapturedRequest) -> MockReply {
    let body = request.try_json().unwrap_or_default();
    let path = request.path();
    if path.ends_with(cygnet::client::MONITOR_PATH) {
        MockReply::monitor(0.02)
    } else if path.ends_with(cygnet::client::MODERATION_PATH) {
        let mut verdict = json!({
            "id": "modr-offline",
            "created": 1_700_000_000,
            "model": "cygnet-moderation",
            "flagged": false,
            "detected": 0.02,
            "passed": 0.98
        });
        if body["rewrite"] == json!(true) {
            verdict["rewrite"] = json!(OFFLINE_REWRITE);
        }
        MockReply::json(200, verdict)
    } else if body["stream"] == json!(true) {
        MockReply::stream_text(OFFLINE_ANSWER.split_inclusive(' '))
    } else {
        MockReply::text(OFFLINE_ANSWER)
    }
}

/// `builder` with the flags of `connection`, built; errors name the flags, not the methods.
fn build(mut builder: ClientBuilder, connection: &ConnectionArgs) -> Result<Client, Failure> {
    if let Some(url) = &connection.base_url {
        builder = builder.base_url(url.as_str());
    }
    if let Some(timeout) = connection.timeout {
        builder = builder.timeout(timeout);
    }
    if connection.allow_insecure_http {
        builder = builder.allow_insecure_http(true);
    }
    builder.build().map_err(|error| match error {
        cygnet::Error::Config(message) => {
            Failure::Api(cygnet::Error::Config(for_the_shell(&message)))
        }
        other => Failure::Api(other),
    })
}

/// A library message for a shell user: the builder methods it names become the flags that
/// do the same.
fn for_the_shell(message: &str) -> String {
    message.replace(
        "ClientBuilder::allow_insecure_http(true)",
        "--allow-insecure-http",
    )
}

/// What no report may show: the key, and what a near miss of its variable holds.
pub fn secrets() -> Secrets {
    let values: Vec<String> = std::iter::once(API_KEY_ENV)
        .chain(API_KEY_NEAR_MISSES.iter().copied())
        .filter_map(|name| std::env::var(name).ok())
        .collect();
    Secrets::new(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_messages_name_the_flags() {
        assert_eq!(
            for_the_shell("refusing ...: use https, or ClientBuilder::allow_insecure_http(true)"),
            "refusing ...: use https, or --allow-insecure-http"
        );
    }
}
