//! The non-streaming chat completion.

use serde::{Deserialize, Serialize};

use crate::field::object_only;
use crate::field::{self, or_null, NoError};
use crate::message::Role;
use crate::open_enum::open_enum;
use crate::tool::ToolCall;

object_only! {
#[serde(remote = "ChatCompletion")]
=>
/// The answer to a non-streaming chat completion request.
///
/// A choice Gray Swan blocked arrives as a successful answer whose content is the refusal;
/// [`ChatCompletion::blocked`] tells it from an ordinary one (see the crate's
/// [blocked answers](crate#blocked-answers)).
///
/// `choices`, and each choice's `index` and `message`, must be present; the identifying
/// fields may be absent or `null` (read as empty) but must have their type when present. A
/// body with a top-level `error` member (other than `null`) does not parse: it is the server
/// reporting an error.
///
/// ```
/// let body = r#"{"id":"c1","object":"chat.completion","created":1,"model":"cygnet",
///   "choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],
///   "future_field":true}"#;
/// let completion: cygnet::types::ChatCompletion = serde_json::from_str(body).unwrap();
/// assert_eq!(completion.content(), Some("Hi"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChatCompletion {
    /// The completion's id.
    #[serde(default, deserialize_with = "or_null::id")]
    pub id: String,
    /// Always `chat.completion`.
    #[serde(default, deserialize_with = "or_null::object")]
    pub object: String,
    /// Unix time in seconds.
    #[serde(default, deserialize_with = "or_null::created")]
    pub created: i64,
    /// The model that answered.
    #[serde(default, deserialize_with = "or_null::model")]
    pub model: String,
    /// One entry per generated choice.
    #[serde(deserialize_with = "field::choices")]
    pub choices: Vec<Choice>,
    /// The backend configuration that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Token counts, when the server sends them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Refuses a body with an `error` member.
    #[serde(default, skip_serializing, deserialize_with = "NoError::deserialize")]
    pub(crate) error: NoError,
}
}

impl ChatCompletion {
    /// The content of the first choice, the common case of `n` = 1.
    ///
    /// For a choice Gray Swan blocked, this is the refusal, as the server sent it: check
    /// [`ChatCompletion::blocked`] before showing it as the model's answer.
    pub fn content(&self) -> Option<&str> {
        self.choices.first()?.message.content.as_deref()
    }

    /// The tool calls of the first choice (empty when there are none).
    pub fn tool_calls(&self) -> &[ToolCall] {
        self.choices
            .first()
            .and_then(|c| c.message.tool_calls.as_deref())
            .unwrap_or(&[])
    }

    /// Why the first choice stopped, the common case of `n` = 1.
    ///
    /// ```
    /// use cygnet::types::{ChatCompletion, FinishReason};
    /// let body = r#"{"choices":[{"index":0,"message":{"content":null,"tool_calls":[
    ///   {"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},
    ///   "finish_reason":"tool_calls"}]}"#;
    /// let completion: ChatCompletion = serde_json::from_str(body).unwrap();
    /// assert_eq!(completion.finish_reason(), Some(&FinishReason::ToolCalls));
    /// assert_eq!(completion.tool_calls()[0].function.name, "f");
    /// ```
    pub fn finish_reason(&self) -> Option<&FinishReason> {
        self.choices.first()?.finish_reason.as_ref()
    }

    /// The choice numbered `index`, if the completion has it.
    pub fn choice(&self, index: u32) -> Option<&Choice> {
        self.choices.iter().find(|choice| choice.index == index)
    }
}

object_only! {
#[serde(remote = "Choice")]
=>
/// One generated answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Choice {
    /// Which choice this is, from 0.
    #[serde(deserialize_with = "field::index")]
    pub index: u32,
    /// The generated message.
    #[serde(deserialize_with = "field::message")]
    pub message: ResponseMessage,
    /// Why generation stopped.
    #[serde(default, deserialize_with = "field::finish_reason")]
    pub finish_reason: Option<FinishReason>,
    /// Log probabilities, when asked for; kept as the server sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<serde_json::Value>,
}
}

object_only! {
#[serde(remote = "ResponseMessage")]
=>
/// The message the model generated.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ResponseMessage {
    /// Normally `assistant`; absent or `null` reads as `assistant`.
    #[serde(default = "assistant", deserialize_with = "role_or_assistant")]
    pub role: Role,
    /// The text, absent when the model only called tools.
    #[serde(default)]
    pub content: Option<String>,
    /// The calls the model made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The refusal, when the answer was refused: Gray Swan's block message ("Sorry, I can't
    /// help with that.") on a choice it blocked, which then carries it in `content` too; see
    /// [`Choice::blocked`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}
}

fn assistant() -> Role {
    Role::Assistant
}

fn role_or_assistant<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Role, D::Error> {
    field::role::<Option<Role>, D>(deserializer).map(|role| role.unwrap_or_else(assistant))
}

impl Default for ResponseMessage {
    fn default() -> Self {
        Self {
            role: Role::Assistant,
            content: None,
            tool_calls: None,
            refusal: None,
        }
    }
}

open_enum! {
    /// Why the model stopped generating.
    pub enum FinishReason {
        /// A natural end or a stop sequence.
        Stop => "stop",
        /// `max_tokens` was reached.
        Length => "length",
        /// Content was withheld by a filter.
        ContentFilter => "content_filter",
        /// The model called tools.
        ToolCalls => "tool_calls",
        /// Gray Swan blocked the answer (Cygnal, or Cygnet with `moderate_before`): the
        /// message is the refusal. See [`ChatCompletion::blocked`].
        Violation => "violation",
    }
}

/// Token counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens in the prompt.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens generated.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Both together.
    #[serde(default)]
    pub total_tokens: u64,
}

impl Usage {
    /// Usage from its three counts.
    pub fn new(prompt_tokens: u64, completion_tokens: u64, total_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens,
        }
    }
}
