//! Tool calling end to end: tools and every `tool_choice` form on the wire exactly as the
//! contract spells them, tool calls in replies and in stream deltas, and parsing a call's
//! arguments into the caller's own type with a clear error when they do not fit.

use cygnet_core::Accumulator;
use cygnet_test_support::{Canned, CannedReply};
use cygnet_types::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, FinishReason, FunctionDefinition,
    Message, Role, Tool, ToolCall, ToolChoice, ToolType,
};
use futures_executor::block_on;
use serde::Deserialize;
use serde_json::{json, Value};

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Current weather for a location",
        json!({
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"]
        }),
    )
}

#[derive(Debug, Deserialize, PartialEq)]
struct WeatherArgs {
    location: String,
    #[serde(default)]
    unit: Option<String>,
}

#[test]
fn a_function_tool_serializes_as_the_contract_says() {
    assert_eq!(
        serde_json::to_value(weather_tool()).unwrap(),
        json!({
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a location",
                "parameters": {
                    "type": "object",
                    "properties": {"location": {"type": "string"}},
                    "required": ["location"]
                }
            }
        })
    );
}

#[test]
fn a_tool_built_from_a_definition_leaves_out_what_is_unset() {
    let bare = Tool::new(FunctionDefinition::new("get_time"));
    assert_eq!(
        serde_json::to_string(&bare).unwrap(),
        r#"{"type":"function","function":{"name":"get_time"}}"#
    );
    let described: Tool = FunctionDefinition::new("get_time")
        .description("The time now")
        .into();
    assert_eq!(
        serde_json::to_string(&described).unwrap(),
        r#"{"type":"function","function":{"name":"get_time","description":"The time now"}}"#
    );
    let full = FunctionDefinition::new("get_weather")
        .description("Current weather for a location")
        .parameters(json!({
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"]
        }));
    assert_eq!(Tool::new(full), weather_tool());
}

#[test]
fn every_tool_choice_form_serializes_as_the_contract_says() {
    let cases = [
        (ToolChoice::None, json!("none")),
        (ToolChoice::Auto, json!("auto")),
        (
            ToolChoice::function("get_weather"),
            json!({"type": "function", "function": {"name": "get_weather"}}),
        ),
        (ToolChoice::Other("required".into()), json!("required")),
    ];
    for (choice, wire) in cases {
        assert_eq!(serde_json::to_value(&choice).unwrap(), wire, "{choice:?}");
        let back: ToolChoice = serde_json::from_value(wire).unwrap();
        assert_eq!(back, choice);
    }
}

#[test]
fn a_tool_choice_of_the_wrong_shape_is_refused_clearly() {
    let err = serde_json::from_value::<ToolChoice>(json!(42)).unwrap_err();
    assert!(err.to_string().contains("tool_choice must be"), "{err}");
    let err = serde_json::from_value::<ToolChoice>(json!({"type": "function"})).unwrap_err();
    assert!(err.to_string().contains("tool_choice must be"), "{err}");
}

#[test]
fn a_request_with_tools_has_exactly_the_fields_set() {
    let request = ChatCompletionRequest::new("cygnet", vec![Message::user("Weather in Ohio?")])
        .tool(weather_tool())
        .tool_choice(ToolChoice::function("get_weather"));
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({
            "messages": [{"role": "user", "content": "Weather in Ohio?"}],
            "model": "cygnet",
            "tools": [serde_json::to_value(weather_tool()).unwrap()],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}}
        })
    );
    // `tools` replaces, `tool` appends.
    let request = request
        .tools(vec![Tool::new(FunctionDefinition::new("a"))])
        .tool(Tool::new(FunctionDefinition::new("b")));
    let names: Vec<_> = request
        .tools
        .iter()
        .flatten()
        .map(|t| t.function.name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    let plain = ChatCompletionRequest::new("cygnet", vec![Message::user("Hi")]);
    let json = serde_json::to_value(&plain).unwrap();
    assert!(json.get("tools").is_none() && json.get("tool_choice").is_none());
}

const TOOL_REPLY: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"cygnet",
  "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
    {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Columbus, Ohio\",\"unit\":\"F\"}"}},
    {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Dayton\"}"}}
  ]},"finish_reason":"tool_calls","logprobs":null}],
  "system_fingerprint":null,"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}"#;

#[test]
fn tool_calls_in_a_reply_parse_into_the_callers_type() {
    let completion: ChatCompletion = serde_json::from_str(TOOL_REPLY).unwrap();
    assert_eq!(completion.content(), None);
    assert_eq!(completion.finish_reason(), Some(&FinishReason::ToolCalls));
    let calls = completion.tool_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].id, "call_1");
    assert_eq!(calls[0].kind, ToolType::Function);
    assert_eq!(calls[0].function.name, "get_weather");
    let args: Vec<WeatherArgs> = calls.iter().map(|c| c.parse_arguments().unwrap()).collect();
    assert_eq!(
        args,
        [
            WeatherArgs {
                location: "Columbus, Ohio".into(),
                unit: Some("F".into())
            },
            WeatherArgs {
                location: "Dayton".into(),
                unit: None
            },
        ]
    );
    // Arguments parse into plain JSON too, for callers without a type.
    let value: Value = calls[1].parse_arguments().unwrap();
    assert_eq!(value["location"], "Dayton");
}

#[test]
fn a_reply_without_tool_calls_has_none() {
    let body = r#"{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":"Sunny"},"finish_reason":"stop"}]}"#;
    let completion: ChatCompletion = serde_json::from_str(body).unwrap();
    assert!(completion.tool_calls().is_empty());
    assert_eq!(completion.choices[0].message.tool_calls, None);
}

#[test]
fn tool_calls_in_stream_deltas_parse_and_accumulate() {
    let events = [
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"cygnet","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"cygnet","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"cygnet","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Ohio\"}"}}]},"finish_reason":"tool_calls"}]}"#,
    ];
    let chunks: Vec<ChatCompletionChunk> = events
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let first = &chunks[0].choice(0).unwrap().delta;
    assert_eq!(first.role, Some(Role::Assistant));
    let call = &first.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.index, 0);
    assert_eq!(call.id.as_deref(), Some("call_1"));
    assert_eq!(call.kind, Some(ToolType::Function));
    assert_eq!(
        call.function.as_ref().unwrap().name.as_deref(),
        Some("get_weather")
    );
    // A fragment carries only what it adds.
    let later = &chunks[1]
        .choice(0)
        .unwrap()
        .delta
        .tool_calls
        .as_ref()
        .unwrap()[0];
    assert_eq!(later.id, None);
    assert_eq!(later.function.as_ref().unwrap().name, None);
    assert_eq!(chunks[1].text_delta(), None);

    let completion = chunks.iter().collect::<Accumulator>().finish();
    let args: WeatherArgs = completion.tool_calls()[0].parse_arguments().unwrap();
    assert_eq!(args.location, "Ohio");
}

#[test]
fn arguments_that_do_not_fit_give_an_error_naming_the_function_and_showing_them() {
    let call = ToolCall::function("call_1", "get_weather", r#"{"city":"Ohio"}"#);
    let err = call.parse_arguments::<WeatherArgs>().unwrap_err();
    assert_eq!(err.function, "get_weather");
    assert_eq!(err.arguments, r#"{"city":"Ohio"}"#);
    // The parser's complaint is the source, shown once by a report (the error rule).
    let message = cygnet_core::error::Report::new(&err).to_string();
    assert!(!err.to_string().contains("missing field"), "{err}");
    assert!(message.contains("`get_weather`"), "{message}");
    assert!(message.contains("missing field `location`"), "{message}");
    assert!(message.contains(r#"{"city":"Ohio"}"#), "{message}");
    assert!(std::error::Error::source(&err).is_some());

    // Arguments cut short (the model hit max_tokens) are not JSON at all.
    let cut = ToolCall::function("call_2", "get_weather", r#"{"location":"Oh"#);
    let error = cut.parse_arguments::<WeatherArgs>().unwrap_err();
    let message = cygnet_core::error::Report::new(&error).to_string();
    assert!(message.contains("EOF"), "{message}");
    assert!(message.contains(r#"{"location":"Oh"#), "{message}");
}

#[test]
fn long_arguments_are_shortened_in_the_message_at_a_char_boundary() {
    let long = format!(r#"{{"note":"{}"}}"#, "🦢".repeat(300));
    let call = ToolCall::function("call_1", "get_weather", long.clone());
    let err = call.parse_arguments::<WeatherArgs>().unwrap_err();
    let message = err.to_string();
    assert!(message.contains("...)"), "{message}");
    assert!(message.len() < 400, "{} bytes", message.len());
    // The whole text stays available on the error.
    assert_eq!(err.arguments, long);
}

#[test]
fn tool_results_are_sent_back_as_the_wire_expects() {
    let completion: ChatCompletion = serde_json::from_str(TOOL_REPLY).unwrap();
    let calls = completion.tool_calls().to_vec();
    let answer = Message::tool(&calls[0].id, r#"{"temperature_f":71}"#);
    let replay = Message::assistant_tool_calls(calls);
    let replay_json = serde_json::to_value(&replay).unwrap();
    assert_eq!(replay_json["role"], "assistant");
    assert_eq!(replay_json["content"], Value::Null);
    assert_eq!(replay_json["tool_calls"][0]["id"], "call_1");
    assert_eq!(replay_json["tool_calls"][0]["type"], "function");
    assert_eq!(
        serde_json::to_value(&answer).unwrap(),
        json!({"role": "tool", "content": "{\"temperature_f\":71}", "tool_call_id": "call_1"})
    );
}

#[test]
fn tools_go_out_and_tool_calls_come_back_through_the_client() {
    let transport = Canned::with([CannedReply::json(200, TOOL_REPLY)]);
    let client = transport.client();
    let request = ChatCompletionRequest::new("cygnet", vec![Message::user("Weather in Ohio?")])
        .tool(weather_tool())
        .tool_choice(ToolChoice::Auto);
    let completion = block_on(client.chat(&request)).unwrap();
    let args: WeatherArgs = completion.tool_calls()[0].parse_arguments().unwrap();
    assert_eq!(args.location, "Columbus, Ohio");

    let requests = transport.requests();
    let sent: Value = serde_json::from_slice(requests[0].body()).unwrap();
    assert_eq!(sent["tool_choice"], "auto");
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        sent["tools"][0]["function"]["parameters"]["required"][0],
        "location"
    );
}
