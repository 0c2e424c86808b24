//! `cygnet moderate`: a text's moderation verdict, printed, and as an exit status on demand.
//!
//! The request can carry a policy of the caller's own (`--moderation-prompt`, the wire's
//! `moderation_prompt`) and ask for an acceptable rewrite of the text (`--rewrite`).

use std::io::Write;

use cygnet::{Client, ModerationRequest};

use crate::args::ModerateArgs;
use crate::failure::{Failure, Outcome};
use crate::output::{escape_controls, escape_json, write_now};

/// What `cygnet moderate` sends besides the text, and how it reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModerateOptions {
    /// The policy to judge by, in words (`moderation_prompt`); the server's own when `None`.
    pub moderation_prompt: Option<String>,
    /// Ask for a rewrite of the text (`rewrite: true`).
    pub rewrite: bool,
    /// Print the response as JSON instead of lines.
    pub json: bool,
    /// End with [`Outcome::Flagged`] when flagged.
    pub fail_if_flagged: bool,
    /// Show the control characters of the server's rewrite as escapes (for a terminal).
    pub escape_controls: bool,
}

impl ModerateOptions {
    /// The options the command line gives, for a verdict printed to a terminal or not.
    pub fn from_args(args: &ModerateArgs, to_terminal: bool) -> Self {
        Self {
            moderation_prompt: args.moderation_prompt.clone(),
            rewrite: args.rewrite,
            json: args.json,
            fail_if_flagged: args.fail_if_flagged,
            escape_controls: to_terminal,
        }
    }

    /// The request for `text`: `moderation_prompt` and `rewrite` only when given.
    pub fn request(&self, text: &str) -> ModerationRequest {
        let mut request = ModerationRequest::new(text);
        if let Some(policy) = &self.moderation_prompt {
            request = request.moderation_prompt(policy.as_str());
        }
        if self.rewrite {
            request = request.rewrite(true);
        }
        request
    }
}

/// Judges `text` and prints the verdict to `out`: as three `name: value` lines
/// (`flagged`, `detected`, `passed`), then `rewrite: ...` when the server sent a rewrite (or
/// `rewrite: none returned` when one was asked for and none came), or the whole response as
/// JSON.
///
/// Returns [`Outcome::Flagged`] when the text is flagged and `fail_if_flagged` is set.
///
/// # Errors
/// [`Failure::Api`] when the request fails or the answer cannot be read (no verdict is
/// ever assumed), [`Failure::ClosedOutput`] or [`Failure::Output`] when printing fails.
pub async fn moderate(
    client: &Client,
    text: &str,
    options: &ModerateOptions,
    out: &mut impl Write,
) -> Result<Outcome, Failure> {
    let response = client.moderate(&options.request(text)).await?;
    let printed = if options.json {
        let mut text = serde_json::to_string_pretty(&response)
            .map_err(|e| Failure::Answer(format!("cannot print the verdict as JSON: {e}")))?;
        text.push('\n');
        escape_json(&text).into_owned()
    } else {
        let mut lines = format!(
            "flagged: {}\ndetected: {}\npassed: {}\n",
            response.flagged, response.detected, response.passed
        );
        match &response.rewrite {
            Some(rewrite) if options.escape_controls => {
                lines.push_str(&format!("rewrite: {}\n", escape_controls(rewrite)));
            }
            Some(rewrite) => lines.push_str(&format!("rewrite: {rewrite}\n")),
            None if options.rewrite => lines.push_str("rewrite: none returned\n"),
            None => {}
        }
        lines
    };
    write_now(out, &printed)?;
    Ok(if options.fail_if_flagged && response.flagged {
        Outcome::Flagged
    } else {
        Outcome::Success
    })
}
