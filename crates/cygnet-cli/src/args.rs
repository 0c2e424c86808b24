//! The command line, as clap derives it.

use std::path::PathBuf;
use std::time::Duration;

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
  cygnet --offline chat Hello      (a canned answer from the mock transport, no key needed)
  cygnet --base-url http://localhost:8080 --timeout 10s moderate some text
  cygnet completions bash > ~/.local/share/bash-completion/completions/cygnet

Environment:
  GRAYSWAN_API_KEY      the API key (required, except with --offline)
  GRAY_SWAN_BASE_URL    the API's base URL (default https://api.grayswan.ai; --base-url wins)
  OPENAI_API_KEY        the model provider's key for `chat --cygnal` (see --provider-key-env)
  A near miss (GRAY_SWAN_API_KEY, GRAYSWAN_BASE_URL, GRAYSWAN_API_BASE, ...) is an error
  naming the variable to use, before anything is sent.

Output: on a terminal, control characters in the model's text and in server messages show
as escapes (`\\u{1b}`), never act (`chat --raw` prints the text as it came); into a pipe the
text is written byte for byte. Error messages are always escaped, JSON is always safe.

Exit status: 0 success, 1 error, 2 flagged (moderate or monitor --fail-if-flagged) or
blocked (chat: Gray Swan blocked the answer), 130 interrupted.";

/// Gray Swan's Cygnet API from a shell: chat with untrusted files in the `data` role,
/// moderation, and the Cygnal monitor.
#[derive(Debug, Parser)]
#[command(name = "cygnet", version, after_help = EXAMPLES)]
pub struct Cli {
    /// Where and how to reach the API; for every subcommand.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The global flags: where and how the command reaches the API. Each may be given before or
/// after the subcommand.
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "Connection (every subcommand)")]
pub struct ConnectionArgs {
    /// The API's base URL, instead of GRAY_SWAN_BASE_URL or the default (Gray Swan's
    /// api.grayswan.ai over https).
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Time allowed for each attempt (a retry gets its own): for a whole answer, or for a
    /// stream until its response starts; e.g. 30s, 500ms, 2m; default 60s. A stream that has
    /// started may then run longer, as long as it is never silent for 60s.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Allow cleartext http:// to a host that is not loopback: the key can then be read
    /// on the way.
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,
    /// Answer from cygnet's mock transport: canned answers, nothing sent, no key needed
    /// (says so on standard error). For trying the command and scripts out.
    #[arg(long, global = true)]
    pub offline: bool,
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
    /// Judge by this policy, in words, instead of the default one (the request's
    /// `moderation_prompt`).
    #[arg(long, visible_alias = "prompt", value_name = "TEXT")]
    pub moderation_prompt: Option<String>,
    /// Ask for an acceptable rewrite of the text too, printed after the verdict.
    #[arg(long)]
    pub rewrite: bool,
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

/// A duration with its unit: `500ms`, `30s`, `1.5s`, `2m`, `1h`; more than zero.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "" => {
            return Err(format!(
                "{text:?} has no unit: give one, as in 30s or 500ms"
            ))
        }
        _ => {
            return Err(format!(
                "{text:?} is not a duration: use ms, s, m or h, as in 30s or 500ms"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration, such as 30s or 500ms"))?;
    match Duration::try_from_secs_f64(value * scale) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err(format!("{text:?} is not a duration of more than zero")),
        Err(_) => Err(format!("{text:?} is too long a duration")),
    }
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
    fn a_duration_needs_a_unit_and_is_more_than_zero() {
        for (text, expected) in [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("1.5s", Duration::from_millis(1500)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
        ] {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
        for bad in [
            "30", "0s", "-1s", "1e3s", "s", "ten s", "5 d", "1.2.3s", "1e400h", "",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
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
