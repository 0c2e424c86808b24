//! The chat completion request.

use serde::{Deserialize, Serialize};

use crate::message::Message;
use crate::tool::{Tool, ToolChoice};

/// The body of `POST /chat/completion`.
///
/// Every optional field is left out of the JSON unless set.
///
/// ```
/// use cygnet_types::{ChatCompletionRequest, Message};
/// let req = ChatCompletionRequest::new("cygnet", vec![Message::user("Hi")]).max_tokens(64);
/// assert_eq!(
///     serde_json::to_string(&req).unwrap(),
///     r#"{"messages":[{"role":"user","content":"Hi"}],"model":"cygnet","max_tokens":64}"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatCompletionRequest {
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// The model name; see [`crate::models`].
    pub model: String,
    /// Penalty for tokens by how often they already appeared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// The most tokens to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Run moderation on the input before completing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderate_before: Option<bool>,
    /// How many choices to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Ask for server-sent events; the client sets this for you on streaming calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling probability mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Functions the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Whether and which tool the model must call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
}

macro_rules! setters {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty ),+ $(,)?) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $field(mut self, value: $ty) -> Self {
                self.$field = Some(value);
                self
            }
        )+
    };
}

impl ChatCompletionRequest {
    /// A request for `model` over `messages`, every optional field unset.
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        Self {
            messages,
            model: model.into(),
            ..Self::default()
        }
    }

    setters! {
        /// Sets `frequency_penalty`.
        frequency_penalty: f64,
        /// Sets `max_tokens`.
        max_tokens: u32,
        /// Sets `moderate_before`.
        moderate_before: bool,
        /// Sets `n`.
        n: u32,
        /// Sets `stream`.
        stream: bool,
        /// Sets `temperature`.
        temperature: f64,
        /// Sets `top_p`.
        top_p: f64,
        /// Sets `tools`.
        tools: Vec<Tool>,
        /// Sets `tool_choice`.
        tool_choice: ToolChoice,
    }

    /// Appends one message.
    #[must_use]
    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Appends one tool.
    #[must_use]
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.get_or_insert_with(Vec::new).push(tool);
        self
    }
}
