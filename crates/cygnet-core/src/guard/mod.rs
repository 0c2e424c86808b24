//! Cygnal monitoring around every call and every piece of untrusted data: wrap a client once
//! with a [`GuardPolicy`] and each call is checked at the stages it names.
//!
//! Gray Swan recommends checking a conversation before the model sees it, the model's answer
//! before the user does, and any untrusted content (tool results, fetched pages) before it
//! enters the conversation. [`Client::guarded`](crate::Client::guarded) gives a
//! [`GuardedClient`] that does all three with Cygnal's monitor (`POST /cygnal/monitor`):
//!
//! - [`GuardedClient::chat`] and [`GuardedClient::chat_stream`] check the input and the
//!   answer, and return the answer with a [`GuardReport`] of each stage's [`StageVerdict`];
//! - [`GuardedClient::vet`] checks a piece of content and gives back [`VettedData`], the
//!   only value that turns into a `data` message, so the safe path is the short one.
//!
//! # Failing closed
//!
//! A check the monitor cannot decide (an error, a timeout, an answer without a score) stops
//! the call with [`GuardError::Undecided`], never lets the content through as if it passed.
//! [`GuardPolicy::fail_open`] is the explicit opt-in to let it through, and even then the
//! report says so ([`StageOutcome::FailedOpen`]) and a tracing `warn` event is emitted.
//!
//! # Outcomes without string matching
//!
//! A stopped call is [`Error::Guard`](crate::Error::Guard): [`GuardError::Blocked`] with the
//! blocking verdict (stage, score, [`Reason`]s, rules) or [`GuardError::Undecided`] with the
//! stage and the monitor's error. A violation the policy only observes
//! ([`Action::Observe`]) lets the content through, listed in
//! [`GuardReport::observed`] and traced as a `warn` event. Neither the events nor the errors
//! carry the checked content or any key.
//!
//! # Latency
//!
//! [`CheckMode::BeforeCall`] (the default) sends nothing to the model until the input passed:
//! the monitor's latency plus the model's. [`CheckMode::DuringCall`] sends both at once and
//! withholds the answer until the input passed (cancelling the chat call when it did not):
//! about the slower of the two. The bench workspace measures both (`bench/README.md`).
//!
//! # Example
//!
//! ```no_run
//! # async fn run(client: cygnet::Client, page: String) -> cygnet::Result<()> {
//! use cygnet::guard::{GuardPolicy, Reason, Stage};
//! use cygnet::types::{ChatCompletionRequest, Message};
//!
//! let guarded = client.guarded(GuardPolicy::new());
//! let mut messages = vec![Message::user("Summarise this page.")];
//! match guarded.vet(page).await {
//!     Ok(page) => messages.push(page.into_message()),
//!     Err(error) => match error.as_guard() {
//!         Some(guard) if guard.is_blocked() => {
//!             let verdict = guard.verdict().unwrap();
//!             assert_eq!(verdict.stage, Stage::Data);
//!             eprintln!("page dropped, injection: {}", verdict.reasons.contains(&Reason::Ipi));
//!         }
//!         _ => return Err(error), // undecided, or the monitor failed: fail closed
//!     },
//! }
//! let answer = guarded.chat(&ChatCompletionRequest::new("cygnet", messages)).await?;
//! for verdict in answer.report.verdicts() {
//!     println!("{verdict}");
//! }
//! # Ok(()) }
//! ```

mod check;
mod client;
mod policy;
mod stream;
mod verdict;

pub use client::{GuardedClient, VettedData};
pub use policy::{Action, CheckMode, GuardPolicy};
pub use stream::GuardedStream;
pub use verdict::{GuardError, GuardReport, Guarded, Reason, Stage, StageOutcome, StageVerdict};
