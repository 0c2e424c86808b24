//! [`GuardedClient`]: a [`Client`] whose calls pass the checks of a [`GuardPolicy`], and
//! [`VettedData`], untrusted content that passed its check.

use std::fmt;
use std::sync::Arc;

use futures_util::future;

use cygnet_types::{ChatCompletion, ChatCompletionRequest, Message, MonitorRequest};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::guard::check::{answer_conversation, decide, monitor_messages, settle, Shared};
use crate::guard::policy::{CheckMode, GuardPolicy};
use crate::guard::stream::GuardedStream;
use crate::guard::verdict::{GuardReport, Guarded, Stage, StageVerdict};

/// A [`Client`] wrapped with a [`GuardPolicy`]: every chat call is checked by Cygnal's
/// monitor at the stages the policy names, and [`GuardedClient::vet`] checks untrusted
/// content before it may become a `data` message.
///
/// Made with [`Client::guarded`]. Cheap to clone; clones share the client and the policy.
///
/// ```
/// # fn run(client: cygnet::Client) {
/// use cygnet::guard::{CheckMode, GuardPolicy};
/// let guarded = client.guarded(GuardPolicy::new().mode(CheckMode::DuringCall));
/// assert_eq!(guarded.policy().check_mode(), CheckMode::DuringCall);
/// # }
/// ```
#[derive(Clone)]
pub struct GuardedClient {
    shared: Arc<Shared>,
}

impl fmt::Debug for GuardedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedClient")
            .field("client", &self.shared.client)
            .field("policy", &self.shared.policy)
            .finish()
    }
}

impl Client {
    /// This client with Cygnal's checks around every call, by `policy`; see
    /// [`GuardedClient`] and the [`guard`](crate::guard) module.
    pub fn guarded(&self, policy: GuardPolicy) -> GuardedClient {
        GuardedClient::new(self.clone(), policy)
    }
}

impl GuardedClient {
    /// Wraps `client` with `policy` (the same as [`Client::guarded`]).
    pub fn new(client: Client, policy: GuardPolicy) -> Self {
        Self {
            shared: Arc::new(Shared { client, policy }),
        }
    }

    /// The client underneath (unguarded).
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// The policy.
    pub fn policy(&self) -> &GuardPolicy {
        &self.shared.policy
    }

    /// Sends a chat completion request with the policy's checks around it, and returns the
    /// answer with the report of the checks it passed.
    ///
    /// - Input (when checked): [`CheckMode::BeforeCall`] sends nothing to the model until the
    ///   conversation passed; [`CheckMode::DuringCall`] sends both at once, withholds the
    ///   answer until the input passed, and cancels the chat call when it did not.
    /// - Output (when checked): the conversation with the answer appended. An answer Gray
    ///   Swan itself blocked (finish reason `violation`) is returned as it came, unchecked:
    ///   it says so itself ([`ChatCompletion::blocked`]).
    ///
    /// ```no_run
    /// # async fn run(client: cygnet::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// use cygnet::guard::GuardPolicy;
    /// let guarded = client.guarded(GuardPolicy::new());
    /// match guarded.chat(&request).await {
    ///     Ok(answer) => println!("{}", answer.value.content().unwrap_or_default()),
    ///     Err(error) => match error.as_guard() {
    ///         Some(guard) => eprintln!("stopped at the {} stage: {guard}", guard.stage()),
    ///         None => return Err(error),
    ///     },
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Guard`](crate::Error::Guard) with
    /// [`GuardError::Blocked`](crate::guard::GuardError::Blocked) when a check blocked (its
    /// stage and verdict inside), or
    /// [`GuardError::Undecided`](crate::guard::GuardError::Undecided) when a check could not
    /// decide and the policy fails closed; [`Error::Config`](crate::Error::Config) before
    /// anything is sent for a request of several answers (`n` > 1) under the output check,
    /// which reads one; otherwise the errors of [`Client::chat`].
    pub async fn chat(&self, request: &ChatCompletionRequest) -> Result<Guarded<ChatCompletion>> {
        self.one_answer(request)?;
        let mut report = GuardReport::default();
        let completion = self
            .with_input_check(request, &mut report, self.shared.client.chat(request))
            .await?;
        if self.shared.policy.checks_output() && !completion.is_blocked() {
            let messages = answer_conversation(&request.messages, &completion);
            let verdict = decide(
                &self.shared,
                Stage::Output,
                MonitorRequest::messages(messages),
            )
            .await;
            settle(verdict, &mut report)?;
        }
        Ok(Guarded {
            value: completion,
            report,
        })
    }

    /// Sends a streaming chat completion request with the policy's checks around it.
    ///
    /// The input is checked as for [`GuardedClient::chat`] before the stream is returned.
    /// The answer is checked at the end of the stream and, with
    /// [`GuardPolicy::stream_check_every`], every N chunks on the way; the chunks delivered
    /// before a check are not covered by it, so a blocked answer ends the stream with
    /// [`Error::Guard`](crate::Error::Guard) whose verdict says how many had been delivered
    /// ([`StageVerdict::at_chunk`]); see [`GuardedStream`].
    ///
    /// # Errors
    ///
    /// As [`GuardedClient::chat`] for the input check, and as [`Client::chat_stream`] for the
    /// stream's head. The answer's checks end the stream as its last item.
    pub async fn chat_stream(&self, request: &ChatCompletionRequest) -> Result<GuardedStream> {
        self.one_answer(request)?;
        let mut report = GuardReport::default();
        let stream = self
            .with_input_check(
                request,
                &mut report,
                self.shared.client.chat_stream(request),
            )
            .await?;
        Ok(GuardedStream::new(
            stream,
            Arc::clone(&self.shared),
            request.messages.clone(),
            report,
        ))
    }

    /// Checks a piece of untrusted content (a tool result, a fetched page) before it is
    /// used, and gives it back as [`VettedData`]: the only way to make one, and what turns
    /// into a `data` message. Content that did not pass is an error with the verdict.
    ///
    /// The check runs whatever the policy's stages, with its threshold, triggers and
    /// options. Under [`Action::Observe`](crate::guard::Action::Observe) or
    /// [`GuardPolicy::fail_open`] content that did not pass is let through, saying so in
    /// [`VettedData::verdict`].
    ///
    /// ```no_run
    /// # async fn run(guarded: cygnet::guard::GuardedClient, page: String,
    /// #     mut messages: Vec<cygnet::types::Message>) -> cygnet::Result<()> {
    /// let page = guarded.vet(page).await?; // an injected page stops here
    /// messages.push(page.into_message());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Guard`](crate::Error::Guard) with
    /// [`GuardError::Blocked`](crate::guard::GuardError::Blocked) (stage [`Stage::Data`]) when
    /// the content is a violation,
    /// [`GuardError::Undecided`](crate::guard::GuardError::Undecided) when the check could not
    /// decide.
    pub async fn vet(&self, content: impl Into<String>) -> Result<VettedData> {
        let content = content.into();
        let verdict = decide(
            &self.shared,
            Stage::Data,
            MonitorRequest::text(content.clone()),
        )
        .await;
        let mut report = GuardReport::default();
        let verdict = settle(verdict, &mut report)?;
        Ok(VettedData { content, verdict })
    }

    /// Runs `call` with the input check the policy asks for, in its mode.
    /// The output check reads one answer (the first choice): a request for several (`n` >
    /// 1) would let the others through unchecked, so it is refused before anything is sent.
    fn one_answer(&self, request: &ChatCompletionRequest) -> Result<()> {
        match request.n {
            Some(n) if n > 1 && self.shared.policy.checks_output() => Err(Error::Config(format!(
                "a guarded call checks one answer, but the request asks for n = {n}: leave n \
                 unset (or 1), or turn the output check off"
            ))),
            _ => Ok(()),
        }
    }

    async fn with_input_check<T>(
        &self,
        request: &ChatCompletionRequest,
        report: &mut GuardReport,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let policy = &self.shared.policy;
        if !policy.checks_input() {
            return call.await;
        }
        let check = async {
            let monitor = MonitorRequest::messages(monitor_messages(&request.messages));
            settle(decide(&self.shared, Stage::Input, monitor).await, report).map(drop)
        };
        match policy.check_mode() {
            CheckMode::DuringCall => {
                // The check is polled first, so it is sent first; a block ends the join at
                // once and drops (cancels) the chat call.
                let ((), value) = future::try_join(check, call).await?;
                Ok(value)
            }
            _ => {
                check.await?;
                call.await
            }
        }
    }
}

/// Untrusted content that passed its check ([`GuardedClient::vet`]), ready to become a
/// `data` message.
///
/// Only a check makes one, so code that takes a `VettedData` cannot be handed content that
/// skipped it.
///
/// ```no_run
/// # async fn run(guarded: cygnet::guard::GuardedClient) -> cygnet::Result<()> {
/// use cygnet::types::Message;
/// let page: Message = guarded.vet("<p>It is sunny in Ohio.</p>").await?.into();
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct VettedData {
    content: String,
    verdict: StageVerdict,
}

impl VettedData {
    /// The content.
    pub fn content(&self) -> &str {
        &self.content
    }

    /// The check's verdict: [`StageOutcome::Passed`](crate::guard::StageOutcome::Passed), or, when the policy allowed it,
    /// [`StageOutcome::Observed`](crate::guard::StageOutcome::Observed) or [`StageOutcome::FailedOpen`](crate::guard::StageOutcome::FailedOpen).
    pub fn verdict(&self) -> &StageVerdict {
        &self.verdict
    }

    /// The content as a `data` message: read by the model, not obeyed.
    pub fn into_message(self) -> Message {
        Message::data(self.content)
    }

    /// The content as the result of the tool call `tool_call_id`.
    pub fn into_tool_message(self, tool_call_id: impl Into<String>) -> Message {
        Message::tool(tool_call_id, self.content)
    }
}

impl From<VettedData> for Message {
    fn from(data: VettedData) -> Self {
        data.into_message()
    }
}
