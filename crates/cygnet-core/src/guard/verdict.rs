//! What the checks decided: each stage's [`StageVerdict`], a call's [`GuardReport`], and the
//! [`GuardError`] of a call that was stopped or could not be checked.

use std::fmt;
use std::sync::Arc;

use cygnet_types::{MonitorResponse, Threshold};

use crate::error::Error;
use crate::guard::policy::{Action, GuardPolicy};

/// Which check a verdict belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// The conversation, before (or while) it was sent to the model.
    Input,
    /// The model's answer (for a stream: the answer so far, or the whole of it).
    Output,
    /// A piece of untrusted content (a tool result, a fetched page) checked with
    /// [`GuardedClient::vet`](crate::guard::GuardedClient::vet).
    Data,
}

impl Stage {
    /// The stage's name: `input`, `output` or `data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Input => "input",
            Stage::Output => "output",
            Stage::Data => "data",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a check is a violation; a verdict may have several reasons.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Reason {
    /// The score reached the threshold.
    Score {
        /// The monitor's `violation` score.
        score: f64,
        /// The policy's threshold.
        threshold: Threshold,
    },
    /// The monitor saw an indirect prompt injection (`ipi: true`) and the policy blocks on it.
    Ipi,
    /// The monitor saw a mutation (`mutation: true`) and the policy blocks on it.
    Mutation,
}

/// What the guard did at one stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StageOutcome {
    /// No violation: the content went through.
    Passed,
    /// A violation, and the policy blocks: the content was stopped.
    Blocked,
    /// A violation, but the policy only observes: the content went through anyway.
    Observed,
    /// The monitor could not decide and the policy fails open: the content went through
    /// unchecked.
    FailedOpen,
}

/// One stage's verdict: the score, the reasons, the rules, and what the guard did.
///
/// A verdict with [`StageOutcome::FailedOpen`] has no score ([`StageVerdict::score`] is
/// `None`): nothing decided it, and it must not be read as "not flagged".
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StageVerdict {
    /// The stage checked.
    pub stage: Stage,
    /// What the guard did.
    pub outcome: StageOutcome,
    /// The monitor's `violation` score; `None` when the check was undecided.
    pub score: Option<f64>,
    /// The threshold the score was compared with.
    pub threshold: Threshold,
    /// Why it is a violation; empty when it is none.
    pub reasons: Vec<Reason>,
    /// The `ipi` flag as the monitor sent it (`None`: not reported).
    pub ipi: Option<bool>,
    /// The `mutation` flag as the monitor sent it (`None`: not reported).
    pub mutation: Option<bool>,
    /// The violated rules in words ([`MonitorResponse::violated_rule_labels`]).
    pub rules: Vec<String>,
    /// For a stream's answer: how many chunks had been delivered when this check ran
    /// (delivered before its verdict, so unverified by it).
    pub at_chunk: Option<u64>,
    /// The monitor's whole answer, when there was one.
    pub response: Option<MonitorResponse>,
    /// Why the check was undecided, for [`StageOutcome::FailedOpen`].
    pub undecided: Option<Arc<Error>>,
}

impl StageVerdict {
    /// Judges `response` by `policy`.
    pub(crate) fn judge(stage: Stage, response: MonitorResponse, policy: &GuardPolicy) -> Self {
        let threshold = policy.threshold_value();
        let mut reasons = Vec::new();
        if response.flagged_at(threshold) {
            reasons.push(Reason::Score {
                score: response.violation,
                threshold,
            });
        }
        if policy.blocks_on_ipi() && response.ipi == Some(true) {
            reasons.push(Reason::Ipi);
        }
        if policy.blocks_on_mutation() && response.mutation == Some(true) {
            reasons.push(Reason::Mutation);
        }
        let outcome = match (reasons.is_empty(), policy.action()) {
            (true, _) => StageOutcome::Passed,
            (false, Action::Block) => StageOutcome::Blocked,
            (false, Action::Observe) => StageOutcome::Observed,
        };
        Self {
            stage,
            outcome,
            score: Some(response.violation),
            threshold,
            reasons,
            ipi: response.ipi,
            mutation: response.mutation,
            rules: response.violated_rule_labels(),
            at_chunk: None,
            response: Some(response),
            undecided: None,
        }
    }

    /// A check that could not decide, let through by a fail-open policy.
    pub(crate) fn failed_open(stage: Stage, cause: Error, policy: &GuardPolicy) -> Self {
        Self {
            stage,
            outcome: StageOutcome::FailedOpen,
            score: None,
            threshold: policy.threshold_value(),
            reasons: Vec::new(),
            ipi: None,
            mutation: None,
            rules: Vec::new(),
            at_chunk: None,
            response: None,
            undecided: Some(Arc::new(cause)),
        }
    }

    /// Whether the check found a violation (blocked or only observed).
    pub fn is_violation(&self) -> bool {
        !self.reasons.is_empty()
    }

    /// Whether the content was stopped.
    pub fn is_blocked(&self) -> bool {
        self.outcome == StageOutcome::Blocked
    }

    /// Whether the content passed a check that decided (not failed open, no violation).
    pub fn is_passed(&self) -> bool {
        self.outcome == StageOutcome::Passed
    }
}

impl StageVerdict {
    /// What decided the verdict, in words: `score 0.93 >= 0.5, ipi, rules #2`; empty for a
    /// check that could not decide.
    fn details(&self) -> String {
        let mut parts = Vec::new();
        if let Some(score) = self.score {
            if self
                .reasons
                .iter()
                .any(|r| matches!(r, Reason::Score { .. }))
            {
                parts.push(format!("score {score} >= {}", self.threshold));
            } else {
                parts.push(format!("score {score}"));
            }
        }
        for reason in &self.reasons {
            match reason {
                Reason::Ipi => parts.push("ipi".into()),
                Reason::Mutation => parts.push("mutation".into()),
                Reason::Score { .. } => {}
            }
        }
        if !self.rules.is_empty() {
            parts.push(format!("rules {}", self.rules.join("; ")));
        }
        parts.join(", ")
    }
}

impl fmt::Display for StageVerdict {
    /// `input: blocked (score 0.93 >= 0.5, ipi)`, `output: passed (score 0.02)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = match self.outcome {
            StageOutcome::Passed => "passed",
            StageOutcome::Blocked => "blocked",
            StageOutcome::Observed => "violation observed",
            StageOutcome::FailedOpen => "undecided, let through (fail open)",
        };
        write!(f, "{}: {outcome}", self.stage)?;
        let details = self.details();
        if !details.is_empty() {
            write!(f, " ({details})")?;
        }
        Ok(())
    }
}

/// Every check a guarded call ran, in order.
#[derive(Clone, Debug, Default)]
pub struct GuardReport {
    verdicts: Vec<StageVerdict>,
}

impl GuardReport {
    pub(crate) fn push(&mut self, verdict: StageVerdict) {
        self.verdicts.push(verdict);
    }

    /// The verdicts, in the order the checks ran.
    pub fn verdicts(&self) -> &[StageVerdict] {
        &self.verdicts
    }

    /// The last verdict of `stage`, if it was checked.
    pub fn stage(&self, stage: Stage) -> Option<&StageVerdict> {
        self.verdicts.iter().rev().find(|v| v.stage == stage)
    }

    /// Whether every check ran, decided, and found no violation.
    pub fn all_passed(&self) -> bool {
        self.verdicts.iter().all(StageVerdict::is_passed)
    }

    /// The violations let through because the policy only observes.
    pub fn observed(&self) -> impl Iterator<Item = &StageVerdict> {
        self.verdicts
            .iter()
            .filter(|v| v.outcome == StageOutcome::Observed)
    }

    /// The checks that could not decide and were let through (fail open).
    pub fn failed_open(&self) -> impl Iterator<Item = &StageVerdict> {
        self.verdicts
            .iter()
            .filter(|v| v.outcome == StageOutcome::FailedOpen)
    }
}

/// A guarded call's value, with the report of the checks it passed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Guarded<T> {
    /// What the call returned.
    pub value: T,
    /// The checks, including any violation only observed and any check failed open.
    pub report: GuardReport,
}

impl<T> Guarded<T> {
    /// The value, dropping the report.
    pub fn into_value(self) -> T {
        self.value
    }
}

/// Why a guarded call did not return its value: a check blocked it, or could not decide.
///
/// Arrives as [`Error::Guard`](crate::Error::Guard); [`Error::as_guard`](crate::Error::as_guard)
/// gives it back. Neither form carries the content that was checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// A check found a violation and the policy blocks.
    #[error("Cygnal guard blocked the {} ({})", stage_noun(verdict.stage), verdict.details())]
    Blocked {
        /// The blocking verdict (its stage, score, reasons and rules).
        verdict: Box<StageVerdict>,
        /// Every check that ran before and including it.
        report: GuardReport,
    },
    /// A check could not decide (the monitor failed, timed out, or sent no score) and the
    /// policy fails closed.
    #[error("Cygnal guard could not check the {}, so it was not let through: {cause}", stage_noun(*stage))]
    Undecided {
        /// The stage that could not be checked.
        stage: Stage,
        /// Why: the monitor call's error.
        cause: Box<Error>,
        /// Every check that ran before it.
        report: GuardReport,
    },
}

fn stage_noun(stage: Stage) -> &'static str {
    match stage {
        Stage::Input => "input",
        Stage::Output => "answer",
        Stage::Data => "data",
    }
}

impl GuardError {
    /// The stage that stopped the call.
    pub fn stage(&self) -> Stage {
        match self {
            GuardError::Blocked { verdict, .. } => verdict.stage,
            GuardError::Undecided { stage, .. } => *stage,
        }
    }

    /// The blocking verdict, for [`GuardError::Blocked`].
    pub fn verdict(&self) -> Option<&StageVerdict> {
        match self {
            GuardError::Blocked { verdict, .. } => Some(verdict),
            GuardError::Undecided { .. } => None,
        }
    }

    /// Whether a check blocked (rather than could not decide).
    pub fn is_blocked(&self) -> bool {
        matches!(self, GuardError::Blocked { .. })
    }

    /// Whether a check could not decide.
    pub fn is_undecided(&self) -> bool {
        matches!(self, GuardError::Undecided { .. })
    }

    /// The checks that ran.
    pub fn report(&self) -> &GuardReport {
        match self {
            GuardError::Blocked { report, .. } | GuardError::Undecided { report, .. } => report,
        }
    }
}

impl From<GuardError> for Error {
    fn from(error: GuardError) -> Self {
        Error::Guard(Box::new(error))
    }
}
