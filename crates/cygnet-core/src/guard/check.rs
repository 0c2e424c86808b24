//! One monitor check and its settlement: what the guarded client's calls and its streams
//! both run, kept apart from either so neither depends on the other.

use std::pin::pin;

use futures_util::future::{self, Either};

use cygnet_types::{ChatCompletion, Message, MonitorRequest, Role};

use crate::client::Client;
use crate::error::{Error, Result, TimeoutKind};
use crate::guard::policy::GuardPolicy;
use crate::guard::verdict::{GuardError, GuardReport, Stage, StageOutcome, StageVerdict};

/// What a guarded client and its streams share: the client and the policy.
pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) policy: GuardPolicy,
}

/// The conversation as the monitor reads it: OpenAI-format turns, so Cygnet's own `data`
/// role is sent as `user` (the monitor judges its content all the same).
pub(crate) fn monitor_messages(messages: &[Message]) -> Vec<Message> {
    messages
        .iter()
        .map(|message| {
            let mut message = message.clone();
            if message.role == Role::Data {
                message.role = Role::User;
            }
            message
        })
        .collect()
}

/// The conversation with the answer's first choice appended as the assistant's turn.
pub(crate) fn answer_conversation(
    messages: &[Message],
    completion: &ChatCompletion,
) -> Vec<Message> {
    let mut conversation = monitor_messages(messages);
    conversation.push(assistant_turn(
        completion.content(),
        completion.tool_calls(),
    ));
    conversation
}

/// The assistant's turn: its text, or its tool calls when it has no text.
pub(crate) fn assistant_turn(
    content: Option<&str>,
    tool_calls: &[cygnet_types::ToolCall],
) -> Message {
    match content {
        None if !tool_calls.is_empty() => Message::assistant_tool_calls(tool_calls.to_vec()),
        content => Message::assistant(content.unwrap_or_default()),
    }
}

/// Runs one check: the monitor call (within the policy's time limit, on the client's
/// clock), judged by the policy. `Err` is an undecided check under a fail-closed policy.
pub(crate) async fn decide(
    shared: &Shared,
    stage: Stage,
    request: MonitorRequest,
) -> std::result::Result<StageVerdict, (Stage, Error)> {
    let policy = &shared.policy;
    let request = policy.apply(request);
    let monitor = pin!(shared.client.monitor(&request));
    let answer = match policy.monitor_timeout_value() {
        None => monitor.await,
        Some(limit) => {
            let sleep = shared.client.transport().sleep(limit);
            match future::select(monitor, sleep).await {
                Either::Left((answer, _)) => answer,
                Either::Right(((), _)) => Err(Error::from(TimeoutKind::Request(limit))),
            }
        }
    };
    match answer {
        Ok(response) => Ok(StageVerdict::judge(stage, response, policy)),
        Err(cause) if policy.is_fail_open() => Ok(StageVerdict::failed_open(stage, cause, policy)),
        Err(cause) => Err((stage, cause)),
    }
}

/// Records a check's result in `report` (and the trace), and turns a block or an undecided
/// check into the guarded call's error.
pub(crate) fn settle(
    decided: std::result::Result<StageVerdict, (Stage, Error)>,
    report: &mut GuardReport,
) -> Result<StageVerdict> {
    let verdict = match decided {
        Ok(verdict) => verdict,
        Err((stage, cause)) => {
            tracing::warn!(stage = stage.as_str(), error = %cause, "Cygnal guard: check undecided, call stopped");
            return Err(GuardError::Undecided {
                stage,
                cause: Box::new(cause),
                report: report.clone(),
            }
            .into());
        }
    };
    let stage = verdict.stage.as_str();
    match verdict.outcome {
        StageOutcome::Passed => {
            tracing::debug!(stage, score = verdict.score, "Cygnal guard: passed");
        }
        StageOutcome::Observed => {
            tracing::warn!(stage, score = verdict.score, reasons = ?verdict.reasons, "Cygnal guard: violation observed, let through");
        }
        StageOutcome::FailedOpen => {
            let cause = verdict.undecided.as_ref().map(ToString::to_string);
            tracing::warn!(
                stage,
                error = cause.as_deref().unwrap_or_default(),
                "Cygnal guard: check undecided, let through (fail open)"
            );
        }
        StageOutcome::Blocked => {
            tracing::info!(stage, score = verdict.score, reasons = ?verdict.reasons, "Cygnal guard: blocked");
            report.push(verdict.clone());
            return Err(GuardError::Blocked {
                verdict: Box::new(verdict),
                report: report.clone(),
            }
            .into());
        }
    }
    report.push(verdict.clone());
    Ok(verdict)
}
