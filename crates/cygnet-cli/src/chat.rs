//! `cygnet chat`: one answer, or a conversation that keeps its history.
//!
//! The request is the system message (if any), the user's prompt, then each `--data` text as
//! one `data` message: the untrusted content the model reads but does not obey. An answer is
//! printed as it streams in (each piece flushed), whole (`--no-stream`), or as JSON.
//!
//! An answer Gray Swan blocked (finish reason `violation`) is printed as it came, the refusal
//! being its text (or, when the server sent the refusal alone, the refusal), and the command
//! says on standard error that it was blocked ([`BLOCKED_NOTICE`]) and ends with status 2.

use std::io::Write;

use cygnet::{ChatCompletionRequest, Message};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::args::ChatArgs;
use crate::failure::{Failure, Outcome};
use crate::input::{check_total, InputError, Source, MAX_INPUT_BYTES};
use crate::output::{escape_controls, escape_json, write_now, ControlEscaper};
use crate::route::Route;

/// What a chat request is made of besides its messages, and how answers are printed.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatOptions {
    /// The model.
    pub model: String,
    /// The system message, sent first.
    pub system: Option<String>,
    /// The most tokens to generate.
    pub max_tokens: Option<u32>,
    /// The sampling temperature.
    pub temperature: Option<f64>,
    /// How answers are printed.
    pub style: Style,
}

impl ChatOptions {
    /// The options the command line gives, for answers printed to a terminal or not.
    pub fn from_args(args: &ChatArgs, to_terminal: bool) -> Self {
        Self {
            model: args.model.clone(),
            system: args.system.clone(),
            max_tokens: args.max_tokens,
            temperature: args.temperature,
            style: Style {
                stream: !args.no_stream,
                json: args.json,
                escape_controls: to_terminal && !args.raw,
            },
        }
    }

    /// Options for `model` with nothing else set, streaming text.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            system: None,
            max_tokens: None,
            temperature: None,
            style: Style {
                stream: true,
                json: false,
                escape_controls: false,
            },
        }
    }

    /// The request for `conversation`: the system message first, then the conversation.
    pub fn request(&self, conversation: &[Message]) -> ChatCompletionRequest {
        let mut messages = Vec::with_capacity(conversation.len() + 1);
        if let Some(system) = &self.system {
            messages.push(Message::system(system.as_str()));
        }
        messages.extend_from_slice(conversation);
        let mut request = ChatCompletionRequest::new(self.model.as_str(), messages);
        request.max_tokens = self.max_tokens;
        request.temperature = self.temperature;
        request
    }
}

/// How an answer is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// Ask for a stream and print each piece as it arrives.
    pub stream: bool,
    /// Print JSON: each chunk as one line, or the whole completion.
    pub json: bool,
    /// Show the control characters of the model's text as visible escapes instead of
    /// writing them (see [`crate::output`]): for a terminal, unless `--raw`.
    pub escape_controls: bool,
}

/// What the command says on standard error when Gray Swan blocked an answer.
pub const BLOCKED_NOTICE: &str = "blocked: Gray Swan blocked this answer (finish reason \
     \"violation\"); what was printed is its refusal, not the model's answer";

/// An answer as printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Its text (for the conversation's history): the refusal, for a blocked answer.
    pub text: String,
    /// Whether Gray Swan blocked it.
    pub blocked: bool,
}

/// The user's turn: the prompt, then each data text as one `data` message.
pub fn user_turn(prompt: &str, data: &[String]) -> Vec<Message> {
    let mut messages = Vec::with_capacity(data.len() + 1);
    messages.push(Message::user(prompt));
    messages.extend(data.iter().map(|text| Message::data(text.as_str())));
    messages
}

/// Sends `request` and prints the answer to `out` in `style`; returns the answer's text
/// (for the conversation's history) and whether Gray Swan blocked it.
///
/// Streamed text ends with a newline when it did not bring one. A stream that breaks off
/// leaves what arrived printed, ends the line, and fails. A blocked answer prints its text,
/// or its refusal when it brought no text.
///
/// # Errors
/// [`Failure::Api`] when the request or the stream fails, [`Failure::Answer`] when an
/// answer (whole or streamed) that was not blocked has no text to print,
/// [`Failure::ClosedOutput`] or [`Failure::Output`] when printing fails.
pub async fn answer<'a>(
    client: impl Into<Route<'a>>,
    request: &ChatCompletionRequest,
    style: Style,
    out: &mut impl Write,
) -> Result<Answer, Failure> {
    check_total(
        request.messages.iter().filter_map(|m| m.content.as_deref()),
        MAX_INPUT_BYTES,
    )?;
    let client = client.into();
    if style.stream {
        stream_answer(client, request, style, out).await
    } else {
        whole_answer(client, request, style, out).await
    }
}

async fn whole_answer(
    client: Route<'_>,
    request: &ChatCompletionRequest,
    style: Style,
    out: &mut impl Write,
) -> Result<Answer, Failure> {
    let completion = client.chat(request).await?;
    if style.json {
        let mut text = serde_json::to_string_pretty(&completion)
            .map_err(|e| Failure::Answer(format!("cannot print the completion as JSON: {e}")))?;
        text.push('\n');
        write_now(out, &escape_json(&text))?;
        return Ok(Answer {
            text: completion.content().unwrap_or_default().to_owned(),
            blocked: completion.is_blocked(),
        });
    }
    let choice = completion
        .choice(0)
        .ok_or_else(|| Failure::Answer("the answer has no choice with index 0".into()))?;
    let blocked = choice.is_blocked();
    let text = match choice.blocked() {
        // The refusal, as the content the server sent, or on its own.
        Some(block) => choice.message.content.as_deref().or(block.refusal()),
        None => choice.message.content.as_deref(),
    };
    let Some(text) = text else {
        if blocked {
            return Ok(Answer {
                text: String::new(),
                blocked,
            });
        }
        return Err(no_text(
            choice.finish_reason.as_ref().map(ToString::to_string),
        ));
    };
    if style.escape_controls {
        write_now(out, &escape_controls(text))?;
    } else {
        write_now(out, text)?;
    }
    if !text.ends_with('\n') {
        write_now(out, "\n")?;
    }
    Ok(Answer {
        text: text.to_owned(),
        blocked,
    })
}

async fn stream_answer(
    client: Route<'_>,
    request: &ChatCompletionRequest,
    style: Style,
    out: &mut impl Write,
) -> Result<Answer, Failure> {
    let json = style.json;
    let mut escaper = style.escape_controls.then(ControlEscaper::new);
    let mut stream = client.chat_stream(request).await?;
    let mut text = String::new();
    // As for a whole answer: one that brought no text at all (only tool calls, or a content
    // filter) is said, not printed as nothing.
    let mut got_text = false;
    let mut finish_reason = None;
    // Whether Gray Swan blocked choice 0, and the refusal its chunks carried.
    let mut blocked = false;
    let mut refusal = String::new();
    while let Some(chunk) = stream.next_chunk().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                if !json {
                    end_text(escaper.as_mut(), &text, out)?;
                }
                return Err(error.into());
            }
        };
        if json {
            let mut line = serde_json::to_string(&chunk)
                .map_err(|e| Failure::Answer(format!("cannot print a chunk as JSON: {e}")))?;
            line.push('\n');
            write_now(out, &escape_json(&line))?;
        }
        if let Some(reason) = chunk.choices.first().and_then(|c| c.finish_reason.as_ref()) {
            finish_reason = Some(reason.to_string());
        }
        if let Some(choice) = chunk.choice(0) {
            blocked |= choice.is_blocked();
            refusal.push_str(choice.delta.refusal.as_deref().unwrap_or_default());
        }
        if let Some(delta) = chunk.text_delta() {
            got_text = true;
            if !json {
                match escaper.as_mut() {
                    Some(escaper) => write_now(out, &escaper.escape(delta))?,
                    None => write_now(out, delta)?,
                }
            }
            text.push_str(delta);
        }
    }
    if blocked && !got_text && !refusal.is_empty() {
        // The refusal came on its own, not as content: it is what the answer says.
        if !json {
            match escaper.as_mut() {
                Some(escaper) => write_now(out, &escaper.escape(&refusal))?,
                None => write_now(out, &refusal)?,
            }
        }
        text = refusal;
    } else if !json && !got_text && !blocked {
        return Err(no_text(finish_reason));
    }
    if !json {
        end_text(escaper.as_mut(), &text, out)?;
    }
    Ok(Answer { text, blocked })
}

/// Ends streamed text: a carriage return the escaper still holds, then a newline unless the
/// text brought one.
fn end_text(
    escaper: Option<&mut ControlEscaper>,
    text: &str,
    out: &mut impl Write,
) -> Result<(), Failure> {
    if let Some(escaper) = escaper {
        write_now(out, escaper.finish())?;
    }
    if !text.is_empty() && !text.ends_with('\n') {
        write_now(out, "\n")?;
    }
    Ok(())
}

/// The failure of an answer without text, naming its finish reason.
fn no_text(finish_reason: Option<String>) -> Failure {
    let reason = finish_reason.unwrap_or_else(|| "none given".to_owned());
    Failure::Answer(format!("the answer has no text (finish reason: {reason})"))
}

/// One answer to `prompt` with `data`, printed to `out`: [`Outcome::Blocked`] when Gray Swan
/// blocked it (the caller says so, see [`BLOCKED_NOTICE`]).
///
/// # Errors
/// As [`answer`].
pub async fn single<'a>(
    client: impl Into<Route<'a>>,
    options: &ChatOptions,
    prompt: &str,
    data: &[String],
    out: &mut impl Write,
) -> Result<Outcome, Failure> {
    let request = options.request(&user_turn(prompt, data));
    let answer = answer(client, &request, options.style, out).await?;
    Ok(if answer.blocked {
        Outcome::Blocked
    } else {
        Outcome::Success
    })
}

/// A conversation: each line read from `lines` is the user's next message, answered in
/// turn; the history (assistant answers included) goes with every request. The data texts
/// follow the first message. Ends at the end of input or at a line `/exit`; blank lines are
/// skipped. When `prompt` is given, `> ` is written to it before each line is read, and
/// [`BLOCKED_NOTICE`] after each answer Gray Swan blocked. Ends in [`Outcome::Blocked`] when
/// any answer was blocked.
///
/// # Errors
/// As [`answer`], and [`Failure::Input`] when a line cannot be read (or is not UTF-8).
pub async fn conversation<'a, R: AsyncBufRead + Unpin>(
    client: impl Into<Route<'a>>,
    options: &ChatOptions,
    data: &[String],
    mut lines: R,
    out: &mut impl Write,
    mut prompt: Option<&mut dyn Write>,
) -> Result<Outcome, Failure> {
    let client = client.into();
    let mut history: Vec<Message> = Vec::new();
    let mut line = String::new();
    let mut outcome = Outcome::Success;
    loop {
        if let Some(prompt) = prompt.as_deref_mut() {
            // The prompt is a courtesy on the terminal; losing it loses nothing.
            let _ = prompt.write_all(b"> ").and_then(|()| prompt.flush());
        }
        line.clear();
        let read = lines
            .read_line(&mut line)
            .await
            .map_err(|error| InputError::Read {
                source_name: Source::Stdin,
                error,
            })?;
        if read == 0 {
            if let Some(prompt) = prompt.as_deref_mut() {
                let _ = prompt.write_all(b"\n");
            }
            return Ok(outcome);
        }
        let said = line.trim();
        if said.is_empty() {
            continue;
        }
        if said == "/exit" {
            return Ok(outcome);
        }
        if history.is_empty() {
            history = user_turn(said, data);
        } else {
            history.push(Message::user(said));
        }
        let answer = answer(client, &options.request(&history), options.style, out).await?;
        if answer.blocked {
            outcome = Outcome::Blocked;
            if let Some(notes) = prompt.as_deref_mut() {
                let _ = writeln!(notes, "{BLOCKED_NOTICE}");
            }
        }
        history.push(Message::assistant(answer.text));
    }
}
