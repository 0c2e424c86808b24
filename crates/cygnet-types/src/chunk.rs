//! Stream chunks: what each server-sent event of a streaming completion carries.

use serde::{Deserialize, Serialize};

use crate::blocked::{blocked_if, is_violation, Blocked};
use crate::completion::{FinishReason, Usage};
use crate::field::object_only;
use crate::field::{self, or_null, NoError};
use crate::message::Role;
use crate::tool::ToolType;

object_only! {
#[serde(remote = "ChatCompletionChunk")]
=>
/// One event of a streaming chat completion.
///
/// `choices`, and each choice's `index` and `delta`, must be present; the identifying fields
/// may be absent or `null` (read as empty) but must have their type when present. A chunk
/// with a top-level `error` member (other than `null`) does not parse: it is the server
/// reporting an error.
///
/// ```
/// let data = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"cygnet",
///   "choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#;
/// let chunk: cygnet::types::ChatCompletionChunk = serde_json::from_str(data).unwrap();
/// assert_eq!(chunk.content(), Some("Hel"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChatCompletionChunk {
    /// The completion's id, the same in every chunk.
    #[serde(default, deserialize_with = "or_null::id")]
    pub id: String,
    /// Always `chat.completion.chunk`.
    #[serde(default, deserialize_with = "or_null::object")]
    pub object: String,
    /// Unix time in seconds.
    #[serde(default, deserialize_with = "or_null::created")]
    pub created: i64,
    /// The model that answers.
    #[serde(default, deserialize_with = "or_null::model")]
    pub model: String,
    /// The backend configuration that answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// What each choice adds.
    #[serde(deserialize_with = "field::choices")]
    pub choices: Vec<ChunkChoice>,
    /// Token counts, when the server sends them (usually in the last chunk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Refuses a chunk with an `error` member.
    #[serde(default, skip_serializing, deserialize_with = "NoError::deserialize")]
    pub(crate) error: NoError,
}
}

impl ChatCompletionChunk {
    /// The content delta of the first choice, the common case of `n` = 1.
    pub fn content(&self) -> Option<&str> {
        self.choices.first()?.delta.content.as_deref()
    }

    /// The part of this chunk that adds to the choice numbered `index`, if any.
    ///
    /// With several choices (`n` > 1) a chunk may carry any subset of them in any order,
    /// so look a choice up by its `index` rather than by its position.
    pub fn choice(&self, index: u32) -> Option<&ChunkChoice> {
        self.choices.iter().find(|choice| choice.index == index)
    }

    /// The text this chunk adds to choice 0, when it adds any.
    ///
    /// Empty deltas (a role-only first chunk, a tool-call fragment, a usage-only last chunk)
    /// give `None`, so a caller that prints text can print every `Some` as it comes. Other
    /// choices are ignored; use [`ChatCompletionChunk::choice`] for them.
    ///
    /// ```
    /// let data = r#"{"id":"c1","choices":[{"index":1,"delta":{"content":"B"}},
    ///   {"index":0,"delta":{"content":"A"}}]}"#;
    /// let chunk: cygnet::types::ChatCompletionChunk = serde_json::from_str(data).unwrap();
    /// assert_eq!(chunk.text_delta(), Some("A"));
    /// ```
    pub fn text_delta(&self) -> Option<&str> {
        self.choice(0)?
            .delta
            .content
            .as_deref()
            .filter(|text| !text.is_empty())
    }

    /// The first choice this chunk ends blocked (`finish_reason: "violation"`), with the
    /// part of the refusal the chunk carries; see [`Blocked`].
    ///
    /// A blocked stream is cut and ends with such a chunk; its text deltas (the refusal among
    /// them) read like any others, so this is how to tell. The accumulated completion has the
    /// whole refusal.
    ///
    /// ```
    /// let data = r#"{"choices":[{"index":0,"finish_reason":"violation",
    ///   "delta":{"content":"Sorry, I can't help with that.","refusal":"Sorry, I can't help with that."}}]}"#;
    /// let chunk = cygnet::types::ChatCompletionChunk::from_json(data).unwrap();
    /// assert!(chunk.is_blocked());
    /// assert_eq!(chunk.blocked().unwrap().refusal(), Some("Sorry, I can't help with that."));
    /// ```
    pub fn blocked(&self) -> Option<Blocked<'_>> {
        self.choices.iter().find_map(ChunkChoice::blocked)
    }

    /// Whether this chunk ends any choice blocked.
    pub fn is_blocked(&self) -> bool {
        self.choices.iter().any(ChunkChoice::is_blocked)
    }

    /// Like [`ChatCompletionChunk::text_delta`], but takes the text out of the chunk
    /// without copying it.
    pub fn into_text_delta(self) -> Option<String> {
        self.choices
            .into_iter()
            .find(|choice| choice.index == 0)?
            .delta
            .content
            .filter(|text| !text.is_empty())
    }
}

impl ChunkChoice {
    /// This choice as [`Blocked`], when this chunk ends it blocked.
    pub fn blocked(&self) -> Option<Blocked<'_>> {
        blocked_if(
            self.finish_reason.as_ref(),
            self.index,
            self.delta.refusal.as_deref(),
            self.delta.content.as_deref(),
        )
    }

    /// Whether this chunk ends the choice blocked (`finish_reason: "violation"`).
    pub fn is_blocked(&self) -> bool {
        is_violation(self.finish_reason.as_ref())
    }
}

object_only! {
#[serde(remote = "ChunkChoice")]
=>
/// What one chunk adds to one choice.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChunkChoice {
    /// Which choice this adds to.
    #[serde(deserialize_with = "field::index")]
    pub index: u32,
    /// The addition.
    #[serde(deserialize_with = "field::delta")]
    pub delta: Delta,
    /// Set on the choice's last chunk.
    #[serde(default, deserialize_with = "field::finish_reason")]
    pub finish_reason: Option<FinishReason>,
    /// Log probabilities, when asked for; kept as the server sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<serde_json::Value>,
}
}

object_only! {
#[serde(remote = "Delta")]
=>
/// The part of a message one chunk carries.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Delta {
    /// The role, usually only in the first chunk.
    #[serde(
        default,
        deserialize_with = "field::role",
        skip_serializing_if = "Option::is_none"
    )]
    pub role: Option<Role>,
    /// The next piece of text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Fragments of tool calls, told apart by `index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// The next piece of the refusal: Gray Swan's block message, in the chunk that ends a
    /// blocked choice (which carries it in `content` too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}
}

/// A fragment of a tool call; fragments with the same `index` make one call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCallDelta {
    /// Which call of the choice this fragment belongs to.
    #[serde(default)]
    pub index: u32,
    /// The call's id, usually in its first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Always `function` when present.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ToolType>,
    /// The function name and a piece of its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
}

/// A piece of a function call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionCallDelta {
    /// The function's name, usually in the first fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The next piece of the arguments' JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}
