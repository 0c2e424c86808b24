//! Stream chunks: what each server-sent event of a streaming completion carries.

use serde::{Deserialize, Serialize};

use crate::completion::{FinishReason, Usage};
use crate::message::Role;
use crate::tool::ToolType;

/// One event of a streaming chat completion.
///
/// ```
/// let data = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"cygnet",
///   "choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#;
/// let chunk: cygnet_types::ChatCompletionChunk = serde_json::from_str(data).unwrap();
/// assert_eq!(chunk.content(), Some("Hel"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatCompletionChunk {
    /// The completion's id, the same in every chunk.
    #[serde(default)]
    pub id: String,
    /// Always `chat.completion.chunk`.
    #[serde(default)]
    pub object: String,
    /// Unix time in seconds.
    #[serde(default)]
    pub created: i64,
    /// The model that answers.
    #[serde(default)]
    pub model: String,
    /// The backend configuration that answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// What each choice adds.
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Token counts, when the server sends them (usually in the last chunk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl ChatCompletionChunk {
    /// The content delta of the first choice, the common case of `n` = 1.
    pub fn content(&self) -> Option<&str> {
        self.choices.first()?.delta.content.as_deref()
    }
}

/// What one chunk adds to one choice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChunkChoice {
    /// Which choice this adds to.
    #[serde(default)]
    pub index: u32,
    /// The addition.
    #[serde(default)]
    pub delta: Delta,
    /// Set on the choice's last chunk.
    #[serde(default)]
    pub finish_reason: Option<FinishReason>,
    /// Log probabilities, when asked for; kept as the server sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<serde_json::Value>,
}

/// The part of a message one chunk carries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Delta {
    /// The role, usually only in the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The next piece of text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Fragments of tool calls, told apart by `index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
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
