//! The command line, as clap derives it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;
use cygnet::Threshold;

/// Examples shown at the end of `cygnet --help`.
const EXAMPLES: &str = "\
Examples:
  cygnet chat What is a large language model?
  cygnet chat -d page.html Summarise this page
  curl -s https://example.com | cygnet chat -d - What is this page about?
  cygnet chat --no-stream --json -s 'Answer in French' Hello
  cygnet chat --cygnal -m gpt-5 Hello  (OpenAI's model, guarded by Gray Swan's Cygnal)
  cygnet chat                      (a conversation, one answer per line typed)
  cygnet moderate --fail-if-flagged < comment.txt
  cygnet monitor -d page.html --fail-if-flagged Summarise this page
  cygnet completions bash > ~/.local/share/bash-completion/completions/cygnet

Environment:
  GRAYSWAN_API_KEY      the API key (required)
  GRAY_SWAN_BASE_URL    the API's base URL (default https://api.grayswan.ai)
  OPENAI_API_KEY        the model provider's key for `chat --cygnal` (see --provider-key-env)

Output: on a terminal, control characters in the model's text and in server messages show
as escapes (`\u{1b}`), never act (`chat --raw` prints the text as it came); into a pipe the
text is written byte for byte. Error messages are always escaped, JSON is always safe.

Exit status: 0 success, 1 error, 2 flagged (moderate or monitor --fail-if-flagged) or
blocked (chat: Gray Swan blocked the answer), 130 interrupted.";

/// Gray Swan's Cygnet API from a shell: chat with untrusted files in the `data` role,
/// moderation, and the Cygnal monitor.
#[derive(Debug, Parser)]
#[command(name = "cygnet", version, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask the model; with no prompt and a terminal on standard input, hold a conversation.
    #[command(after_help = EXAMPLES)]
    Chat(ChatArgs),
    /// Judge a text: whether it is flagged, and the detected and passed scores.
    #[command(after_help = EXAMPLES)]
    Moderate(ModerateArgs),
    /// Ask the Cygnal monitor how likely a text (and files) violates the policy: a score from
    /// 0 to 1, the prompt-injection and mutation flags and the violated rules.
    #[command(after_help = EXAMPLES)]
    Monitor(MonitorArgs),
    /// Print shell completions for the `cygnet` command.
    Completions(CompletionsArgs),
}

/// `cygnet chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The prompt, its words joined by spaces; read from standard input when none is given
    /// and standard input is not a terminal.
    pub prompt: Vec<String>,
    /// A system message, sent before the prompt.
    #[arg(short, long, value_name = "TEXT")]
    pub system: Option<String>,
    /// A file whose text is sent as one `data` message after the prompt (untrusted content the
    /// model reads but does not obey); repeatable; `-` reads standard input.
    #[arg(short, long = "data", value_name = "FILE")]
    pub data: Vec<PathBuf>,
    /// The model.
    #[arg(short, long, default_value = cygnet::models::CYGNET)]
    pub model: String,
    /// The most tokens to generate.
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// The sampling temperature (a finite number, 0 or more).
    #[arg(long, value_name = "T", value_parser = parse_temperature)]
    pub temperature: Option<f64>,
    /// Wait for the whole answer instead of printing it as it arrives.
    #[arg(long)]
    pub no_stream: bool,
    /// Print JSON: the completion (with --no-stream), or each chunk as one line.
    #[arg(long)]
    pub json: bool,
    /// Go through Cygnal, Gray Swan's guard for other providers' models: the request goes in
    /// OpenAI's format to `{GRAY_SWAN_BASE_URL}/cygnal/chat/completions` for the provider's
    /// model named by --model (e.g. `gpt-5`), with the provider's key from OPENAI_API_KEY (or
    /// --provider-key-env) and the Gray Swan key. `--data` files are sent as `user` messages
    /// (OpenAI's format has no `data` role). A blocked answer ends with status 2.
    #[arg(long)]
    pub cygnal: bool,
    /// With --cygnal: the name of the environment variable that holds the model provider's
    /// key (default OPENAI_API_KEY). The key itself is never given on the command line.
    #[arg(long, value_name = "NAME", requires = "cygnal")]
    pub provider_key_env: Option<String>,
    /// Print the model's text exactly as it came, even on a terminal. Without it, control
    /// characters in the text (escape sequences that could set the window title, write the
    /// clipboard or clear the screen) show on a terminal as escapes such as `\u{1b}`; into a
    /// pipe or a file the text is always written as it came.
    #[arg(long)]
    pub raw: bool,
}

/// `cygnet moderate`.
#[derive(Debug, Args)]
pub struct ModerateArgs {
    /// The text, its words joined by spaces; read from standard input when none is given.
    pub text: Vec<String>,
    /// Print the moderation response as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit with status 2 when the text is flagged, for scripts and CI.
    #[arg(long)]
    pub fail_if_flagged: bool,
}

/// `cygnet monitor`.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The text, its words joined by spaces; read from standard input when none is given
    /// and standard input is not a terminal.
    pub text: Vec<String>,
    /// A file whose text is judged with the text (a fetched page, a document); repeatable;
    /// `-` reads standard input. With files the request is the monitor's OpenAI-format
    /// `messages` (it has no `data` role): the text as a `user` message, then each file as
    /// one more `user` message. Without, the text is sent as the monitor's `text`.
    #[arg(short, long = "data", value_name = "FILE")]
    pub data: Vec<PathBuf>,
    /// Flagged when the score is at or above this number, from 0 to 1.
    #[arg(long, value_name = "T", default_value = "0.5", value_parser = parse_threshold)]
    pub threshold: Threshold,
    /// Print the monitor's answer as it came, as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit with status 2 when the score is at or above the threshold, for scripts and CI.
    #[arg(long)]
    pub fail_if_flagged: bool,
}

/// `cygnet completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print completions for.
    pub shell: Shell,
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    text.parse()
        .map_err(|e: cygnet::ThresholdError| e.to_string())
}

fn parse_temperature(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(format!("{text:?} is not a finite number of 0 or more"))
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_threshold_is_a_number_from_0_to_1() {
        assert_eq!(parse_threshold("0.8").map(Threshold::value), Ok(0.8));
        for bad in ["-0.1", "1.5", "NaN", "inf", "high", ""] {
            assert!(parse_threshold(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn temperature_must_be_finite_and_not_negative() {
        assert_eq!(parse_temperature("0.5"), Ok(0.5));
        for bad in ["-1", "NaN", "inf", "warm"] {
            assert!(parse_temperature(bad).is_err(), "{bad}");
        }
    }
}
