//! The chat completion request.

use serde::{Deserialize, Serialize, Serializer};

use crate::message::Message;
use crate::tool::{Tool, ToolChoice};

/// The body of `POST /chat/completion`.
///
/// Every optional field is left out of the JSON unless set.
///
/// ```
/// use cygnet::types::{ChatCompletionRequest, Message};
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

    /// This request as a streaming call sends it: `"stream": true` whatever `stream` holds,
    /// every other field as it is, borrowed rather than copied.
    ///
    /// ```
    /// use cygnet::types::{ChatCompletionRequest, Message};
    /// let req = ChatCompletionRequest::new("cygnet", vec![Message::user("Hi")]);
    /// assert_eq!(
    ///     serde_json::to_string(&req.as_streaming()).unwrap(),
    ///     r#"{"messages":[{"role":"user","content":"Hi"}],"model":"cygnet","stream":true}"#
    /// );
    /// ```
    pub fn as_streaming(&self) -> StreamingRequest<'_> {
        StreamingRequest { request: self }
    }
}

/// A [`ChatCompletionRequest`] that serializes with `"stream": true`, made by
/// [`ChatCompletionRequest::as_streaming`]; the messages and tools are not copied.
#[derive(Clone, Copy, Debug)]
pub struct StreamingRequest<'a> {
    request: &'a ChatCompletionRequest,
}

impl Serialize for StreamingRequest<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The request's fields in its order, under its names and skip rules.
        #[derive(Serialize)]
        struct Streaming<'a> {
            messages: &'a [Message],
            model: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            frequency_penalty: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            max_tokens: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            moderate_before: Option<bool>,
            #[serde(skip_serializing_if = "Option::is_none")]
            n: Option<u32>,
            stream: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            temperature: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            top_p: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            tools: Option<&'a [Tool]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            tool_choice: Option<&'a ToolChoice>,
        }
        // Every field named, no `..`: a field added to the request does not compile until it
        // is sent here too.
        let ChatCompletionRequest {
            messages,
            model,
            frequency_penalty,
            max_tokens,
            moderate_before,
            n,
            stream: _,
            temperature,
            top_p,
            tools,
            tool_choice,
        } = self.request;
        Streaming {
            messages,
            model,
            frequency_penalty: *frequency_penalty,
            max_tokens: *max_tokens,
            moderate_before: *moderate_before,
            n: *n,
            stream: true,
            temperature: *temperature,
            top_p: *top_p,
            tools: tools.as_deref(),
            tool_choice: tool_choice.as_ref(),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::Tool;

    /// What a copy with `stream = Some(true)` would send.
    fn copied(request: &ChatCompletionRequest) -> String {
        let mut copy = request.clone();
        copy.stream = Some(true);
        serde_json::to_string(&copy).unwrap()
    }

    #[test]
    fn as_streaming_sends_what_a_streaming_copy_sends() {
        let bare = ChatCompletionRequest::new("cygnet", vec![Message::user("Hi")]);
        let full = ChatCompletionRequest::new("cygnet", vec![Message::system("Be brief.")])
            .message(Message::data("<p>page</p>"))
            .frequency_penalty(0.5)
            .max_tokens(64)
            .moderate_before(true)
            .n(2)
            .stream(false)
            .temperature(0.2)
            .top_p(0.9)
            .tool(Tool::function(
                "get_weather",
                "The weather",
                serde_json::json!({}),
            ))
            .tool_choice(ToolChoice::Auto);
        for request in [bare.clone(), bare.stream(true), full] {
            assert_eq!(
                serde_json::to_string(&request.as_streaming()).unwrap(),
                copied(&request)
            );
        }
    }
}
