//! The command from start to exit status: parse the arguments, build the client from the
//! environment and the global flags (or offline, see [`crate::connect`]), read the inputs,
//! run the subcommand under Ctrl-C, report.
//!
//! Inputs (`--data` files, a prompt on standard input) are read before the request starts,
//! while Ctrl-C still ends the process the ordinary way; from then on the work races
//! Ctrl-C, which drops it at once (closing the connection of a stream in flight), prints a
//! newline and exits with status 130.

use std::future::Future;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use cygnet::cygnal::{Cygnal, ProviderKey};
use cygnet::Client;

use crate::args::{ChatArgs, Cli, Command, ConnectionArgs, ModerateArgs, MonitorArgs};
use crate::chat::{self, ChatOptions};
use crate::connect;
use crate::failure::{exit_status, report, Failure, Outcome};
use crate::input::{read_text, trim_prompt, Source, MAX_INPUT_BYTES};
use crate::moderate::{moderate, ModerateOptions};
use crate::monitor::{monitor, MonitorOptions};
use crate::output::write_now;
use crate::route::Route;

/// Runs the command with the process's arguments and standard streams; returns its exit
/// status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with status 0; usage errors to stderr with
            // status 1 (not clap's 2, which means "flagged" here).
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 1 } else { 0 });
        }
    };
    // `chat --cygnal` reads a second key, kept out of the report too.
    let provider_env = match &cli.command {
        Command::Chat(args) => provider_key_var(args).map(str::to_owned),
        _ => None,
    };
    let result = run(cli);
    if let Err(failure) = &result {
        // The keys as the client read them, to keep out of the report whatever echoed them.
        let mut secrets = connect::secrets();
        if let Some(key) = provider_env.and_then(|name| std::env::var(name).ok()) {
            secrets = secrets.with(key);
        }
        report(failure, &secrets, &mut io::stdout(), &mut io::stderr());
    }
    ExitCode::from(exit_status(&result))
}

/// Runs a parsed command line.
///
/// # Errors
/// Any [`Failure`]; the caller reports it.
pub fn run(cli: Cli) -> Result<Outcome, Failure> {
    match cli.command {
        Command::Completions(args) => {
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "cygnet", &mut script);
            write_now(&mut io::stdout().lock(), &String::from_utf8_lossy(&script))?;
            Ok(Outcome::Success)
        }
        Command::Chat(args) => run_chat(&args, &cli.connection),
        Command::Moderate(args) => run_moderate(&args, &cli.connection),
        Command::Monitor(args) => run_monitor(&args, &cli.connection),
    }
}

fn run_chat(args: &ChatArgs, connection: &ConnectionArgs) -> Result<Outcome, Failure> {
    let runtime = runtime()?;
    let _context = runtime.enter();
    let client = connect::client(connection, &mut io::stderr())?;
    let guarded = cygnal_route(args, &client, connection.offline)?;
    let options = ChatOptions::from_args(args, io::stdout().is_terminal());

    let sources: Vec<Source> = args.data.iter().map(|p| Source::from_arg(p)).collect();
    let data_from_stdin = sources.iter().filter(|s| **s == Source::Stdin).count();
    if data_from_stdin > 1 {
        return Err(Failure::Usage(
            "`--data -` can be given once: standard input is read once".into(),
        ));
    }
    let stdin_is_terminal = io::stdin().is_terminal();
    let prompt = if !args.prompt.is_empty() {
        Some(args.prompt.join(" "))
    } else if stdin_is_terminal {
        if data_from_stdin > 0 {
            return Err(Failure::Usage(
                "`--data -` needs a prompt in the arguments: without one, standard input \
                 (a terminal) holds the conversation"
                    .into(),
            ));
        }
        None
    } else if data_from_stdin > 0 {
        return Err(Failure::Usage(
            "no prompt: give it as arguments when `--data -` reads standard input".into(),
        ));
    } else {
        Some(trim_prompt(read_text(&Source::Stdin, MAX_INPUT_BYTES)?))
    };
    if prompt.as_deref().is_some_and(|p| p.trim().is_empty()) {
        return Err(Failure::Usage(
            "the prompt is empty: give it as arguments or on standard input".into(),
        ));
    }
    let data = sources
        .iter()
        .map(|source| read_text(source, MAX_INPUT_BYTES))
        .collect::<Result<Vec<_>, _>>()?;

    let result = runtime.block_on(until_interrupted(async {
        let mut stdout = io::stdout().lock();
        match &prompt {
            Some(prompt) => {
                let route = chat_route(&client, guarded.as_ref());
                let outcome = chat::single(route, &options, prompt, &data, &mut stdout).await;
                if let Ok(Outcome::Blocked) = outcome {
                    let _ = writeln!(io::stderr(), "{}", chat::BLOCKED_NOTICE);
                }
                outcome
            }
            None => {
                let mut stderr = io::stderr();
                let _ = writeln!(
                    stderr,
                    "Talking to {}; type a message and Enter, /exit or Ctrl-D to end.",
                    options.model
                );
                let lines = tokio::io::BufReader::new(tokio::io::stdin());
                chat::conversation(
                    chat_route(&client, guarded.as_ref()),
                    &options,
                    &data,
                    lines,
                    &mut stdout,
                    Some(&mut stderr),
                )
                .await
            }
        }
    }));
    // A read of the terminal may still be pending on a blocking thread; do not wait for it.
    runtime.shutdown_background();
    result
}

fn run_moderate(args: &ModerateArgs, connection: &ConnectionArgs) -> Result<Outcome, Failure> {
    let runtime = runtime()?;
    let _context = runtime.enter();
    let client = connect::client(connection, &mut io::stderr())?;
    let text = if !args.text.is_empty() {
        args.text.join(" ")
    } else if io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "no text to moderate: give it as arguments or on standard input".into(),
        ));
    } else {
        trim_prompt(read_text(&Source::Stdin, MAX_INPUT_BYTES)?)
    };
    if text.trim().is_empty() {
        return Err(Failure::Usage(
            "the text to moderate is empty: give it as arguments or on standard input".into(),
        ));
    }
    let options = ModerateOptions::from_args(args, io::stdout().is_terminal());
    let result = runtime.block_on(until_interrupted(async {
        let mut stdout = io::stdout().lock();
        moderate(&client, &text, &options, &mut stdout).await
    }));
    runtime.shutdown_background();
    result
}

fn run_monitor(args: &MonitorArgs, connection: &ConnectionArgs) -> Result<Outcome, Failure> {
    let runtime = runtime()?;
    let _context = runtime.enter();
    let client = connect::client(connection, &mut io::stderr())?;
    let sources: Vec<Source> = args.data.iter().map(|p| Source::from_arg(p)).collect();
    let data_from_stdin = sources.iter().filter(|s| **s == Source::Stdin).count();
    if data_from_stdin > 1 {
        return Err(Failure::Usage(
            "`--data -` can be given once: standard input is read once".into(),
        ));
    }
    let text = if !args.text.is_empty() {
        args.text.join(" ")
    } else if data_from_stdin > 0 {
        return Err(Failure::Usage(
            "no text to monitor: give it as arguments when `--data -` reads standard input".into(),
        ));
    } else if io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "no text to monitor: give it as arguments or on standard input".into(),
        ));
    } else {
        trim_prompt(read_text(&Source::Stdin, MAX_INPUT_BYTES)?)
    };
    if text.trim().is_empty() {
        return Err(Failure::Usage(
            "the text to monitor is empty: give it as arguments or on standard input".into(),
        ));
    }
    let data = sources
        .iter()
        .map(|source| read_text(source, MAX_INPUT_BYTES))
        .collect::<Result<Vec<_>, _>>()?;
    let options = MonitorOptions {
        threshold: args.threshold,
        json: args.json,
        fail_if_flagged: args.fail_if_flagged,
    };
    let result = runtime.block_on(until_interrupted(async {
        let mut stdout = io::stdout().lock();
        monitor(&client, &text, &data, options, &mut stdout).await
    }));
    runtime.shutdown_background();
    result
}

/// The runtime of one command: one thread is all a command needs.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::Runtime)
}

/// The variable `chat --cygnal` reads the provider's key from: `--provider-key-env`, or
/// `OPENAI_API_KEY`; `None` without `--cygnal`.
fn provider_key_var(args: &ChatArgs) -> Option<&str> {
    let default = cygnet::cygnal::OPENAI_API_KEY_ENV;
    args.cygnal
        .then(|| args.provider_key_env.as_deref().unwrap_or(default))
}

/// Cygnal's route for `chat --cygnal` (the provider's key read from its variable before
/// anything is sent; the mock's fake key when `offline`), or `None` for Cygnet's own.
fn cygnal_route(
    args: &ChatArgs,
    client: &Client,
    offline: bool,
) -> Result<Option<Cygnal>, Failure> {
    let Some(name) = provider_key_var(args) else {
        return Ok(None);
    };
    if args.model == cygnet::models::CYGNET {
        return Err(Failure::Usage(
            "--cygnal guards another provider's model: name it with --model (e.g. gpt-5)".into(),
        ));
    }
    let key = if offline {
        ProviderKey::new(cygnet::mock::MOCK_PROVIDER_KEY)?
    } else {
        ProviderKey::from_env_var(name)?
    };
    Ok(Some(client.cygnal(key)))
}

/// The route a chat takes: Cygnal's when `guarded`, Cygnet's otherwise.
fn chat_route<'a>(client: &'a Client, guarded: Option<&'a Cygnal>) -> Route<'a> {
    match guarded {
        Some(cygnal) => Route::Cygnal(cygnal),
        None => Route::Cygnet(client),
    }
}

/// `work`, or [`Failure::Interrupted`] as soon as Ctrl-C is pressed (then `work` is dropped
/// where it stands).
async fn until_interrupted(
    work: impl Future<Output = Result<Outcome, Failure>>,
) -> Result<Outcome, Failure> {
    let interrupted = async {
        // Without a signal handler the command still runs; Ctrl-C then ends it the
        // ordinary way.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        biased;
        () = interrupted => Err(Failure::Interrupted),
        result = work => result,
    }
}
