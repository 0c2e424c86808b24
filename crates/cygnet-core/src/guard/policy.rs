//! [`GuardPolicy`]: which checks a guarded client runs, and what it does with their verdicts.

use std::time::Duration;

use cygnet_types::{MonitorRequest, ReasoningMode, Threshold};

/// What a guarded client does with a violation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Stop: the guarded call fails with [`GuardError::Blocked`](crate::guard::GuardError::Blocked)
    /// (the default).
    #[default]
    Block,
    /// Let the content through, but report the violation
    /// ([`GuardReport::observed`](crate::guard::GuardReport::observed)) and emit a tracing
    /// `warn` event. For trying a policy out before enforcing it.
    Observe,
}

/// When the input is checked, relative to the chat call.
///
/// The two modes of Gray Swan's LiteLLM guardrail (`pre_call` and `during_call`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckMode {
    /// Nothing is sent to the model until the input passed (the default). Costs the
    /// monitor's latency plus the chat call's.
    #[default]
    BeforeCall,
    /// The check and the chat call run at the same time; the answer is withheld until the
    /// input passed, and discarded (the call cancelled) when it did not. Costs about the
    /// slower of the two, but the model sees input that may then be blocked.
    DuringCall,
}

/// Which checks a [`GuardedClient`](crate::guard::GuardedClient) runs and how it acts on
/// them.
///
/// The defaults are Gray Swan's recommended stages, failing closed: the input is checked
/// before anything is sent, the answer after it arrives, a score at or above 0.5 blocks, and
/// so does an indirect prompt injection (`ipi`) or a mutation the monitor reports whatever
/// the score. A check that cannot decide (the monitor fails, is too slow, or sends no
/// score) fails the guarded call with
/// [`GuardError::Undecided`](crate::guard::GuardError::Undecided), unless
/// [`GuardPolicy::fail_open`] says otherwise.
///
/// ```
/// use std::time::Duration;
/// use cygnet::guard::{Action, CheckMode, GuardPolicy};
/// use cygnet::types::{ReasoningMode, Threshold};
///
/// let policy = GuardPolicy::new()
///     .threshold(Threshold::new(0.7).unwrap())
///     .mode(CheckMode::DuringCall)
///     .reasoning_mode(ReasoningMode::Hybrid)
///     .policy_ids(["pol_support_bot"])
///     .monitor_timeout(Duration::from_secs(2))
///     .stream_check_every(20);
/// assert!(policy.checks_input() && policy.checks_output());
/// assert_eq!(policy.action(), Action::Block);
/// assert!(!policy.is_fail_open());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GuardPolicy {
    check_input: bool,
    check_output: bool,
    threshold: Threshold,
    action: Action,
    block_on_ipi: bool,
    block_on_mutation: bool,
    policy_ids: Vec<String>,
    reasoning_mode: Option<ReasoningMode>,
    monitor_timeout: Option<Duration>,
    fail_open: bool,
    mode: CheckMode,
    stream_check_every: u64,
}

impl Default for GuardPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl GuardPolicy {
    /// The default policy: input and answer checked, threshold 0.5, block, `ipi` and
    /// `mutation` block too, before the call, fail closed, no timeout beyond the client's own.
    pub fn new() -> Self {
        Self {
            check_input: true,
            check_output: true,
            threshold: Threshold::DEFAULT,
            action: Action::Block,
            block_on_ipi: true,
            block_on_mutation: true,
            policy_ids: Vec::new(),
            reasoning_mode: None,
            monitor_timeout: None,
            fail_open: false,
            mode: CheckMode::BeforeCall,
            stream_check_every: 0,
        }
    }

    /// Whether the conversation is checked before (or, [`CheckMode::DuringCall`], while) it
    /// is sent (default `true`).
    #[must_use]
    pub fn check_input(mut self, yes: bool) -> Self {
        self.check_input = yes;
        self
    }

    /// Whether the answer is checked once it arrived (default `true`).
    #[must_use]
    pub fn check_output(mut self, yes: bool) -> Self {
        self.check_output = yes;
        self
    }

    /// The score at and above which a check is a violation (default 0.5).
    #[must_use]
    pub fn threshold(mut self, threshold: Threshold) -> Self {
        self.threshold = threshold;
        self
    }

    /// What a violation does (default [`Action::Block`]).
    #[must_use]
    pub fn on_violation(mut self, action: Action) -> Self {
        self.action = action;
        self
    }

    /// Whether an indirect prompt injection the monitor reports (`ipi: true`) is a violation
    /// whatever the score (default `true`).
    #[must_use]
    pub fn block_on_ipi(mut self, yes: bool) -> Self {
        self.block_on_ipi = yes;
        self
    }

    /// Whether a mutation the monitor reports (`mutation: true`) is a violation whatever the
    /// score (default `true`).
    #[must_use]
    pub fn block_on_mutation(mut self, yes: bool) -> Self {
        self.block_on_mutation = yes;
        self
    }

    /// The Cygnal policies every check is judged by (`policy_ids`).
    #[must_use]
    pub fn policy_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.policy_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// How much the monitor reasons (`reasoning_mode`; the server's default when unset).
    #[must_use]
    pub fn reasoning_mode(mut self, mode: ReasoningMode) -> Self {
        self.reasoning_mode = Some(mode);
        self
    }

    /// How long one check may take, retries included, on the client's clock; past it the
    /// check is undecided. Unset, only the client's own timeouts apply.
    #[must_use]
    pub fn monitor_timeout(mut self, timeout: Duration) -> Self {
        self.monitor_timeout = Some(timeout);
        self
    }

    /// **Fails open**: a check that cannot decide lets the content through, recorded as
    /// [`StageOutcome::FailedOpen`](crate::guard::StageOutcome::FailedOpen) in the report and
    /// as a tracing `warn` event. Without it (the default) an undecided check fails the
    /// guarded call with [`GuardError::Undecided`](crate::guard::GuardError::Undecided).
    ///
    /// Only for applications that would rather answer unguarded than not answer while the
    /// monitor is down.
    #[must_use]
    pub fn fail_open(mut self) -> Self {
        self.fail_open = true;
        self
    }

    /// When the input is checked (default [`CheckMode::BeforeCall`]).
    #[must_use]
    pub fn mode(mut self, mode: CheckMode) -> Self {
        self.mode = mode;
        self
    }

    /// For streams: also check the answer so far after every `chunks` chunks, not only at
    /// the end (`0`, the default: only at the end). Each check holds the stream until it
    /// decided.
    #[must_use]
    pub fn stream_check_every(mut self, chunks: u64) -> Self {
        self.stream_check_every = chunks;
        self
    }

    /// Whether the input is checked.
    pub fn checks_input(&self) -> bool {
        self.check_input
    }

    /// Whether the answer is checked.
    pub fn checks_output(&self) -> bool {
        self.check_output
    }

    /// The threshold.
    pub fn threshold_value(&self) -> Threshold {
        self.threshold
    }

    /// What a violation does.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Whether `ipi: true` is a violation by itself.
    pub fn blocks_on_ipi(&self) -> bool {
        self.block_on_ipi
    }

    /// Whether `mutation: true` is a violation by itself.
    pub fn blocks_on_mutation(&self) -> bool {
        self.block_on_mutation
    }

    /// Whether an undecided check lets content through.
    pub fn is_fail_open(&self) -> bool {
        self.fail_open
    }

    /// When the input is checked.
    pub fn check_mode(&self) -> CheckMode {
        self.mode
    }

    /// How many chunks between two checks of a stream (`0`: only at the end).
    pub fn stream_check_interval(&self) -> u64 {
        self.stream_check_every
    }

    /// The time limit of one check, when set.
    pub fn monitor_timeout_value(&self) -> Option<Duration> {
        self.monitor_timeout
    }

    /// Adds the policy's monitor options to `request`.
    pub(crate) fn apply(&self, mut request: MonitorRequest) -> MonitorRequest {
        if !self.policy_ids.is_empty() {
            request = request.policy_ids(self.policy_ids.iter().cloned());
        }
        if let Some(mode) = &self.reasoning_mode {
            request = request.reasoning_mode(mode.clone());
        }
        request
    }
}
