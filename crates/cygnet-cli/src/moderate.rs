//! `cygnet moderate`: a text's moderation verdict, printed, and as an exit status on demand.

use std::io::Write;

use cygnet::{Client, ModerationRequest};

use crate::failure::{Failure, Outcome};
use crate::output::{escape_json, write_now};

/// Judges `text` and prints the verdict to `out`: as three `name: value` lines
/// (`flagged`, `detected`, `passed`), or the whole response as JSON.
///
/// Returns [`Outcome::Flagged`] when the text is flagged and `fail_if_flagged` is set.
///
/// # Errors
/// [`Failure::Api`] when the request fails or the answer cannot be read (no verdict is
/// ever assumed), [`Failure::ClosedOutput`] or [`Failure::Output`] when printing fails.
pub async fn moderate(
    client: &Client,
    text: &str,
    json: bool,
    fail_if_flagged: bool,
    out: &mut impl Write,
) -> Result<Outcome, Failure> {
    let response = client.moderate(&ModerationRequest::new(text)).await?;
    let printed = if json {
        let mut text = serde_json::to_string_pretty(&response)
            .map_err(|e| Failure::Answer(format!("cannot print the verdict as JSON: {e}")))?;
        text.push('\n');
        escape_json(&text).into_owned()
    } else {
        format!(
            "flagged: {}\ndetected: {}\npassed: {}\n",
            response.flagged, response.detected, response.passed
        )
    };
    write_now(out, &printed)?;
    Ok(if fail_if_flagged && response.flagged {
        Outcome::Flagged
    } else {
        Outcome::Success
    })
}
