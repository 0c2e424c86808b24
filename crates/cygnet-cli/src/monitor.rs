//! `cygnet monitor`: the Cygnal monitor's decision on a text, printed, and as an exit status on
//! demand.
//!
//! A text alone is sent as the monitor's `text`. With data files it is sent as `messages`,
//! OpenAI-format turns (the monitor has no `data` role): the text as a `user` turn, then each
//! file as one more `user` turn, so that an injection hidden in a file is judged as part of
//! what the user brought.
//!
//! Only a decision the server sent is printed: an answer without a valid `violation` score,
//! or one that reports an error, ends the command with the error (status 1), never a score.

use std::io::Write;

use cygnet::{Client, Message, MonitorRequest, MonitorResponse, Threshold};

use crate::failure::{Failure, Outcome};
use crate::input::{check_total, MAX_INPUT_BYTES};
use crate::output::write_now;

/// What `cygnet monitor` sends and how it reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonitorOptions {
    /// Flagged at or above this score.
    pub threshold: Threshold,
    /// Print the answer as it came, instead of the lines for people.
    pub json: bool,
    /// End with [`Outcome::Flagged`] when flagged.
    pub fail_if_flagged: bool,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        Self {
            threshold: Threshold::DEFAULT,
            json: false,
            fail_if_flagged: false,
        }
    }
}

/// The request for `text` and the `data` texts: `text` alone, or `messages` with the text and
/// each data text as `user` turns.
pub fn request(text: &str, data: &[String]) -> MonitorRequest {
    if data.is_empty() {
        return MonitorRequest::text(text);
    }
    let mut messages = Vec::with_capacity(data.len() + 1);
    messages.push(Message::user(text));
    messages.extend(data.iter().map(|file| Message::user(file.as_str())));
    MonitorRequest::messages(messages)
}

/// Monitors `text` with `data` and prints the decision to `out`: the answer as it came
/// (`--json`), or lines for people (see [`describe`]).
///
/// Returns [`Outcome::Flagged`] when the score is at or above the threshold and
/// `fail_if_flagged` is set.
///
/// # Errors
/// [`Failure::Input`] when the texts together are over the request limit, [`Failure::Api`]
/// when the request fails or the answer holds no decision (nothing is printed then),
/// [`Failure::ClosedOutput`] or [`Failure::Output`] when printing fails.
pub async fn monitor(
    client: &Client,
    text: &str,
    data: &[String],
    options: MonitorOptions,
    out: &mut impl Write,
) -> Result<Outcome, Failure> {
    check_total(
        std::iter::once(text).chain(data.iter().map(String::as_str)),
        MAX_INPUT_BYTES,
    )?;
    let raw = client.monitor_raw(&request(text, data)).await?;
    // Read exactly as `Client::monitor` reads it: no decision, no output.
    let response: MonitorResponse = raw.json()?;
    let printed = if options.json {
        let mut body = String::from_utf8_lossy(&raw.body).into_owned();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        body
    } else {
        describe(&response, options.threshold)
    };
    write_now(out, &printed)?;
    Ok(
        if options.fail_if_flagged && response.flagged_at(options.threshold) {
            Outcome::Flagged
        } else {
            Outcome::Success
        },
    )
}

/// The decision for people: `violation`, whether that is flagged at `threshold`, the `ipi`
/// and `mutation` flags (`not reported` when the server sent none), and the violated rules,
/// one line each (`violated rules: none` when there are none).
pub fn describe(response: &MonitorResponse, threshold: Threshold) -> String {
    let flag = |value: Option<bool>| match value {
        Some(true) => "true",
        Some(false) => "false",
        None => "not reported",
    };
    let mut text = format!(
        "violation: {}\nflagged: {} (threshold {threshold})\nipi: {}\nmutation: {}\n",
        response.violation,
        response.flagged_at(threshold),
        flag(response.ipi),
        flag(response.mutation),
    );
    let rules = response.violated_rule_labels();
    if rules.is_empty() {
        text.push_str("violated rules: none\n");
    }
    for rule in rules {
        text.push_str("violated rule: ");
        text.push_str(&rule);
        text.push('\n');
    }
    text
}
