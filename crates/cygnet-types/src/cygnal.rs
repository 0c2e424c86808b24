//! The body of Cygnal's protected completions, `POST /cygnal/chat/completions`.
//!
//! Cygnal guards other providers' models (`gpt-5`, ...) in OpenAI's chat-completions format,
//! so [`CygnalRequest`] carries OpenAI's fields (tool loops included: assistant messages with
//! `tool_calls`, `tool` messages with `tool_call_id`) plus Cygnal's own `policy_id`,
//! `monitor_details` and `moderate_before`. It is a type of its own, beside
//! [`ChatCompletionRequest`](crate::ChatCompletionRequest), so that Cygnet's request stays
//! exactly what Gray Swan's official client sends. Answers are the ordinary
//! [`ChatCompletion`](crate::ChatCompletion) and
//! [`ChatCompletionChunk`](crate::ChatCompletionChunk), which read OpenAI's superset (unknown
//! fields are ignored) and tell a blocked answer from an ordinary one.
//!
//! As everywhere in this crate, a field left unset is left out of the JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};

use crate::message::Message;
use crate::tool::{Tool, ToolChoice};

/// The body of `POST /cygnal/chat/completions`: OpenAI's chat format for any provider's
/// model, with Cygnal's fields.
///
/// Every optional field is left out of the JSON unless set. A field this type does not name
/// goes in through the client's extra-body option.
///
/// ```
/// use cygnet::types::{CygnalRequest, Message, Stop};
/// let request = CygnalRequest::new("gpt-5", vec![Message::user("Hi")])
///     .max_completion_tokens(64)
///     .stop(Stop::from("\n\n"))
///     .policy_id("pol_123");
/// assert_eq!(
///     serde_json::to_string(&request).unwrap(),
///     r#"{"messages":[{"role":"user","content":"Hi"}],"model":"gpt-5","max_completion_tokens":64,"stop":"\n\n","policy_id":"pol_123"}"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CygnalRequest {
    /// The conversation so far, `tool` messages and assistant `tool_calls` included.
    pub messages: Vec<Message>,
    /// The provider's model name, e.g. `gpt-5`.
    pub model: String,
    /// Penalty for tokens by how often they already appeared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Bias per token id (as a string), from -100 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<BTreeMap<String, i32>>,
    /// The most tokens to generate, reasoning included (OpenAI's current name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// The most tokens to generate (OpenAI's older name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// How many choices to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Whether the model may call several tools at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Penalty for tokens that already appeared at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// The shape of the answer: text, a JSON object, or JSON matching a schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// A seed, for repeatable sampling where the provider supports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Where to stop: one sequence or several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Ask for server-sent events; the client sets this for you on streaming calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Options of a streamed answer, such as a final usage chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Whether and which tool the model must call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Functions the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Nucleus sampling probability mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// An id of the end user, for the provider's abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Cygnal: the Gray Swan policy to enforce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    /// Cygnal: ask for the monitor's details in the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_details: Option<bool>,
    /// Cygnal: check the input before the model sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderate_before: Option<bool>,
}

impl CygnalRequest {
    /// A request for the provider's `model` over `messages`, every optional field unset.
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
        /// Sets `logit_bias`.
        logit_bias: BTreeMap<String, i32>,
        /// Sets `max_completion_tokens`.
        max_completion_tokens: u32,
        /// Sets `max_tokens`.
        max_tokens: u32,
        /// Sets `n`.
        n: u32,
        /// Sets `parallel_tool_calls`.
        parallel_tool_calls: bool,
        /// Sets `presence_penalty`.
        presence_penalty: f64,
        /// Sets `response_format`.
        response_format: ResponseFormat,
        /// Sets `seed`.
        seed: i64,
        /// Sets `stop`.
        stop: Stop,
        /// Sets `stream`.
        stream: bool,
        /// Sets `stream_options`.
        stream_options: StreamOptions,
        /// Sets `temperature`.
        temperature: f64,
        /// Sets `tool_choice`.
        tool_choice: ToolChoice,
        /// Sets `tools`.
        tools: Vec<Tool>,
        /// Sets `top_p`.
        top_p: f64,
        /// Sets `monitor_details`.
        monitor_details: bool,
        /// Sets `moderate_before`.
        moderate_before: bool,
    }

    /// Sets `user`.
    #[must_use]
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Sets Cygnal's `policy_id`.
    #[must_use]
    pub fn policy_id(mut self, id: impl Into<String>) -> Self {
        self.policy_id = Some(id.into());
        self
    }

    /// Asks a streamed answer to end with a usage chunk (`"stream_options":
    /// {"include_usage": true}`): a chunk with no choices and the token counts.
    #[must_use]
    pub fn include_usage(self) -> Self {
        self.stream_options(StreamOptions::include_usage())
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
    /// use cygnet::types::{CygnalRequest, Message};
    /// let req = CygnalRequest::new("gpt-5", vec![Message::user("Hi")]).include_usage();
    /// assert_eq!(
    ///     serde_json::to_string(&req.as_streaming()).unwrap(),
    ///     r#"{"messages":[{"role":"user","content":"Hi"}],"model":"gpt-5","stream":true,"stream_options":{"include_usage":true}}"#
    /// );
    /// ```
    pub fn as_streaming(&self) -> StreamingCygnalRequest<'_> {
        StreamingCygnalRequest { request: self }
    }
}

/// A [`CygnalRequest`] that serializes with `"stream": true`, made by
/// [`CygnalRequest::as_streaming`]; nothing is copied.
#[derive(Clone, Copy, Debug)]
pub struct StreamingCygnalRequest<'a> {
    request: &'a CygnalRequest,
}

impl Serialize for StreamingCygnalRequest<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The request's fields in its order, under its names and skip rules.
        #[derive(Serialize)]
        struct Streaming<'a> {
            messages: &'a [Message],
            model: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            frequency_penalty: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            logit_bias: Option<&'a BTreeMap<String, i32>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            max_completion_tokens: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            max_tokens: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            n: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            parallel_tool_calls: Option<bool>,
            #[serde(skip_serializing_if = "Option::is_none")]
            presence_penalty: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            response_format: Option<&'a ResponseFormat>,
            #[serde(skip_serializing_if = "Option::is_none")]
            seed: Option<i64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            stop: Option<&'a Stop>,
            stream: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            stream_options: Option<&'a StreamOptions>,
            #[serde(skip_serializing_if = "Option::is_none")]
            temperature: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            tool_choice: Option<&'a ToolChoice>,
            #[serde(skip_serializing_if = "Option::is_none")]
            tools: Option<&'a [Tool]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            top_p: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            user: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            policy_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            monitor_details: Option<bool>,
            #[serde(skip_serializing_if = "Option::is_none")]
            moderate_before: Option<bool>,
        }
        // Every field named, no `..`: a field added to the request does not compile until it
        // is sent here too.
        let CygnalRequest {
            messages,
            model,
            frequency_penalty,
            logit_bias,
            max_completion_tokens,
            max_tokens,
            n,
            parallel_tool_calls,
            presence_penalty,
            response_format,
            seed,
            stop,
            stream: _,
            stream_options,
            temperature,
            tool_choice,
            tools,
            top_p,
            user,
            policy_id,
            monitor_details,
            moderate_before,
        } = self.request;
        Streaming {
            messages,
            model,
            frequency_penalty: *frequency_penalty,
            logit_bias: logit_bias.as_ref(),
            max_completion_tokens: *max_completion_tokens,
            max_tokens: *max_tokens,
            n: *n,
            parallel_tool_calls: *parallel_tool_calls,
            presence_penalty: *presence_penalty,
            response_format: response_format.as_ref(),
            seed: *seed,
            stop: stop.as_ref(),
            stream: true,
            stream_options: stream_options.as_ref(),
            temperature: *temperature,
            tool_choice: tool_choice.as_ref(),
            tools: tools.as_deref(),
            top_p: *top_p,
            user: user.as_deref(),
            policy_id: policy_id.as_deref(),
            monitor_details: *monitor_details,
            moderate_before: *moderate_before,
        }
        .serialize(serializer)
    }
}

/// Where the model stops: one sequence, or several.
///
/// ```
/// use cygnet::types::Stop;
/// assert_eq!(serde_json::to_string(&Stop::from("END")).unwrap(), r#""END""#);
/// assert_eq!(serde_json::to_string(&Stop::from(vec!["a", "b"])).unwrap(), r#"["a","b"]"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Stop {
    /// One stop sequence, sent as a string.
    One(String),
    /// Several stop sequences, sent as an array.
    Many(Vec<String>),
}

impl From<&str> for Stop {
    fn from(stop: &str) -> Self {
        Stop::One(stop.to_owned())
    }
}

impl From<String> for Stop {
    fn from(stop: String) -> Self {
        Stop::One(stop)
    }
}

impl<S: Into<String>> From<Vec<S>> for Stop {
    fn from(stops: Vec<S>) -> Self {
        Stop::Many(stops.into_iter().map(Into::into).collect())
    }
}

/// Options of a streamed answer (`stream_options`).
///
/// ```
/// use cygnet::types::StreamOptions;
/// assert_eq!(
///     serde_json::to_string(&StreamOptions::include_usage()).unwrap(),
///     r#"{"include_usage":true}"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StreamOptions {
    /// End the stream with a chunk that has no choices and the usage of the whole answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
}

impl StreamOptions {
    /// `{"include_usage": true}`.
    pub fn include_usage() -> Self {
        Self {
            include_usage: Some(true),
        }
    }
}

/// The shape the answer must take (`response_format`).
///
/// Open: the JSON object is sent as given, so a format this version does not name still
/// goes through [`ResponseFormat::from_value`].
///
/// ```
/// use cygnet::types::ResponseFormat;
/// assert_eq!(
///     serde_json::to_string(&ResponseFormat::json_object()).unwrap(),
///     r#"{"type":"json_object"}"#
/// );
/// let schema = serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}});
/// let format = ResponseFormat::json_schema("weather", schema);
/// assert_eq!(format.kind(), Some("json_schema"));
/// assert_eq!(format.as_value()["json_schema"]["name"], "weather");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResponseFormat(serde_json::Value);

impl ResponseFormat {
    /// `{"type": "text"}`: plain text, the default.
    pub fn text() -> Self {
        Self(serde_json::json!({"type": "text"}))
    }

    /// `{"type": "json_object"}`: any JSON object.
    pub fn json_object() -> Self {
        Self(serde_json::json!({"type": "json_object"}))
    }

    /// `{"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict":
    /// true}}`: JSON that matches `schema`.
    pub fn json_schema(name: impl Into<String>, schema: serde_json::Value) -> Self {
        Self(serde_json::json!({
            "type": "json_schema",
            "json_schema": {"name": name.into(), "schema": schema, "strict": true},
        }))
    }

    /// Any format object, sent as given.
    pub fn from_value(value: serde_json::Value) -> Self {
        Self(value)
    }

    /// The format's `type`, when it has one.
    pub fn kind(&self) -> Option<&str> {
        self.0.get("type")?.as_str()
    }

    /// The format object as it is sent.
    pub fn as_value(&self) -> &serde_json::Value {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::{Tool, ToolCall};

    /// What a copy with `stream = Some(true)` would send.
    fn copied(request: &CygnalRequest) -> String {
        let mut copy = request.clone();
        copy.stream = Some(true);
        serde_json::to_string(&copy).unwrap()
    }

    fn full() -> CygnalRequest {
        CygnalRequest::new("gpt-5", vec![Message::system("Be brief.")])
            .message(Message::user("Weather?"))
            .message(Message::assistant_tool_calls(vec![ToolCall::function(
                "call_1",
                "get_weather",
                "{}",
            )]))
            .message(Message::tool("call_1", "sunny"))
            .frequency_penalty(0.5)
            .logit_bias(BTreeMap::from([("50256".to_owned(), -100)]))
            .max_completion_tokens(64)
            .max_tokens(32)
            .n(1)
            .parallel_tool_calls(false)
            .presence_penalty(0.1)
            .response_format(ResponseFormat::json_object())
            .seed(7)
            .stop(Stop::from(vec!["a", "b"]))
            .stream(false)
            .include_usage()
            .temperature(0.2)
            .tool_choice(ToolChoice::Auto)
            .tool(Tool::function(
                "get_weather",
                "The weather",
                serde_json::json!({}),
            ))
            .top_p(0.9)
            .user("user-1")
            .policy_id("pol_1")
            .monitor_details(true)
            .moderate_before(true)
    }

    #[test]
    fn as_streaming_sends_what_a_streaming_copy_sends() {
        let bare = CygnalRequest::new("gpt-5", vec![Message::user("Hi")]);
        for request in [bare.clone(), bare.stream(true), full()] {
            assert_eq!(
                serde_json::to_string(&request.as_streaming()).unwrap(),
                copied(&request)
            );
        }
    }

    #[test]
    fn every_field_has_its_wire_name_and_unset_fields_are_left_out() {
        let json = serde_json::to_value(full()).unwrap();
        let mut names: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "frequency_penalty",
                "logit_bias",
                "max_completion_tokens",
                "max_tokens",
                "messages",
                "model",
                "moderate_before",
                "monitor_details",
                "n",
                "parallel_tool_calls",
                "policy_id",
                "presence_penalty",
                "response_format",
                "seed",
                "stop",
                "stream",
                "stream_options",
                "temperature",
                "tool_choice",
                "tools",
                "top_p",
                "user",
            ]
        );
        assert_eq!(
            json["stream_options"],
            serde_json::json!({"include_usage": true})
        );
        assert_eq!(json["messages"][2]["tool_calls"][0]["id"], "call_1");
        assert_eq!(json["messages"][3]["role"], "tool");
        assert_eq!(json["messages"][3]["tool_call_id"], "call_1");
        let bare = CygnalRequest::new("gpt-5", vec![]);
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            r#"{"messages":[],"model":"gpt-5"}"#
        );
    }

    #[test]
    fn a_request_reads_back_what_it_sent() {
        let request = full();
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(
            serde_json::from_str::<CygnalRequest>(&json).unwrap(),
            request
        );
    }
}
