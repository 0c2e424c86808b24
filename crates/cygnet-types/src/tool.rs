//! Function tools: their definitions, the model's choice among them, and the calls it makes.

use std::fmt;

use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::open_enum::open_enum;

open_enum! {
    /// The kind of a tool; `function` is the only one the API defines.
    #[derive(Default)]
    pub enum ToolType {
        /// A function the caller runs.
        #[default]
        Function => "function",
    }
}

/// A tool the model may call.
///
/// ```
/// use cygnet::types::Tool;
/// let tool = Tool::function(
///     "get_weather",
///     "Current weather for a location",
///     serde_json::json!({
///         "type": "object",
///         "properties": {"location": {"type": "string"}},
///         "required": ["location"]
///     }),
/// );
/// assert_eq!(serde_json::to_value(&tool).unwrap()["function"]["name"], "get_weather");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tool {
    /// Always `function` today.
    #[serde(rename = "type", default)]
    pub kind: ToolType,
    /// The function's name, description and parameter schema.
    pub function: FunctionDefinition,
}

impl Tool {
    /// A function tool from its name, a description and a JSON Schema for its parameters.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: serde_json::Value,
    ) -> Self {
        Self {
            kind: ToolType::Function,
            function: FunctionDefinition {
                name: name.into(),
                description: Some(description.into()),
                parameters: Some(parameters),
            },
        }
    }

    /// A function tool from a [`FunctionDefinition`], for functions without a description
    /// or without parameters.
    ///
    /// ```
    /// use cygnet::types::{FunctionDefinition, Tool};
    /// let tool = Tool::new(FunctionDefinition::new("get_time"));
    /// assert_eq!(
    ///     serde_json::to_string(&tool).unwrap(),
    ///     r#"{"type":"function","function":{"name":"get_time"}}"#
    /// );
    /// ```
    pub fn new(function: FunctionDefinition) -> Self {
        Self {
            kind: ToolType::Function,
            function,
        }
    }
}

impl From<FunctionDefinition> for Tool {
    fn from(function: FunctionDefinition) -> Self {
        Tool::new(function)
    }
}

/// A function's name, description and parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionDefinition {
    /// The name the model calls it by.
    pub name: String,
    /// What the function does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON Schema object describing the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<serde_json::Value>,
}

impl FunctionDefinition {
    /// A function with only a name; add the rest with the setters.
    ///
    /// ```
    /// use cygnet::types::FunctionDefinition;
    /// let function = FunctionDefinition::new("get_weather")
    ///     .description("Current weather for a location")
    ///     .parameters(serde_json::json!({"type": "object", "properties": {}}));
    /// assert_eq!(function.description.as_deref(), Some("Current weather for a location"));
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            parameters: None,
        }
    }

    /// Sets what the function does, for the model.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the JSON Schema object describing the arguments.
    #[must_use]
    pub fn parameters(mut self, parameters: serde_json::Value) -> Self {
        self.parameters = Some(parameters);
        self
    }
}

/// Whether the model must, may or must not call a tool.
///
/// Serializes as `"none"`, `"auto"` or `{"type": "function", "function": {"name": ...}}`.
///
/// ```
/// use cygnet::types::ToolChoice;
/// assert_eq!(serde_json::to_string(&ToolChoice::Auto).unwrap(), r#""auto""#);
/// assert_eq!(
///     serde_json::to_string(&ToolChoice::function("get_weather")).unwrap(),
///     r#"{"type":"function","function":{"name":"get_weather"}}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model must not call a tool.
    None,
    /// The model decides.
    Auto,
    /// The model must call this function.
    Function(FunctionName),
    /// A string choice this version does not know (for example `"required"`).
    Other(String),
}

impl ToolChoice {
    /// The model must call the function `name`.
    pub fn function(name: impl Into<String>) -> Self {
        ToolChoice::Function(FunctionName { name: name.into() })
    }
}

/// The name of a function, as used in a named [`ToolChoice`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionName {
    /// The function's name.
    pub name: String,
}

impl Serialize for ToolChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ToolChoice::None => serializer.serialize_str("none"),
            ToolChoice::Auto => serializer.serialize_str("auto"),
            ToolChoice::Other(s) => serializer.serialize_str(s),
            ToolChoice::Function(function) => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "function")?;
                map.serialize_entry("function", function)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Str(String),
            Named { function: FunctionName },
        }
        Ok(match Wire::deserialize(deserializer).map_err(|_| {
            D::Error::custom("tool_choice must be a string or {\"type\":\"function\",\"function\":{\"name\":...}}")
        })? {
            Wire::Str(s) if s == "none" => ToolChoice::None,
            Wire::Str(s) if s == "auto" => ToolChoice::Auto,
            Wire::Str(s) => ToolChoice::Other(s),
            Wire::Named { function } => ToolChoice::Function(function),
        })
    }
}

/// A call the model made to one of the request's tools.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCall {
    /// The call's id, to answer it with [`crate::Message::tool`].
    #[serde(default)]
    pub id: String,
    /// Always `function` today.
    #[serde(rename = "type", default)]
    pub kind: ToolType,
    /// The function called and its arguments.
    pub function: FunctionCall,
}

impl ToolCall {
    /// A function call, as the server would send it.
    pub fn function(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            kind: ToolType::Function,
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.into(),
            },
        }
    }

    /// Parses the call's arguments into the caller's own type.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Args { location: String }
    /// let call = cygnet::types::ToolCall::function("call_1", "get_weather", r#"{"location":"Ohio"}"#);
    /// assert_eq!(call.parse_arguments::<Args>().unwrap().location, "Ohio");
    /// ```
    ///
    /// # Errors
    ///
    /// [`ArgumentsError`] naming the function and showing the arguments, when they are not
    /// JSON or do not fit `T`.
    pub fn parse_arguments<T: DeserializeOwned>(&self) -> Result<T, ArgumentsError> {
        self.function.parse_arguments()
    }
}

/// The function a tool call names and the JSON text of its arguments.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionCall {
    /// The function's name.
    #[serde(default)]
    pub name: String,
    /// The arguments, as a JSON text.
    #[serde(default)]
    pub arguments: String,
}

impl FunctionCall {
    /// Parses the arguments into the caller's own type.
    ///
    /// # Errors
    ///
    /// As [`ToolCall::parse_arguments`].
    pub fn parse_arguments<T: DeserializeOwned>(&self) -> Result<T, ArgumentsError> {
        serde_json::from_str(&self.arguments).map_err(|source| ArgumentsError {
            function: self.name.clone(),
            arguments: self.arguments.clone(),
            source,
        })
    }
}

/// A tool call's arguments did not fit the type asked for.
#[derive(Debug)]
pub struct ArgumentsError {
    /// The function whose arguments failed to parse.
    pub function: String,
    /// The arguments as the model wrote them.
    pub arguments: String,
    /// What serde_json said: the error's `source()`, not repeated in its message.
    pub source: serde_json::Error,
}

impl fmt::Display for ArgumentsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 200;
        let mut shown = self.arguments.as_str();
        let mut cut = "";
        if shown.len() > MAX {
            let mut end = MAX;
            while !shown.is_char_boundary(end) {
                end -= 1;
            }
            shown = &shown[..end];
            cut = "...";
        }
        // What serde_json said is the source, not repeated here (a message never repeats
        // its source: cygnet-core's error rule).
        write!(
            f,
            "arguments of tool call `{}` ({shown}{cut}) do not fit the expected type",
            self.function
        )
    }
}

impl std::error::Error for ArgumentsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
