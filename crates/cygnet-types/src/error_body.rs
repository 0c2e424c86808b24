//! The JSON body of an error answer, in every shape the servers on the way send.

use std::fmt;

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An error answer's body.
///
/// The shapes read:
///
/// - Gray Swan's envelope: `{"error": true, "message": ..., "detail": ..., "error_code": ...,
///   "details": {...}}` (`error` is a boolean here);
/// - FastAPI's `{"detail": "text"}` and its validation list `{"detail": [{"loc": ["body",
///   "messages"], "msg": "Field required", "type": "missing"}]}`;
/// - the OpenAI-style `{"error": {"message": ..., "type": ..., "code": ...}}`, and `{"error":
///   "text"}`;
/// - a top-level `message`.
///
/// Every member is read on its own: one of an unexpected type reads as absent, so the rest of
/// the body still tells what went wrong. [`ErrorBody::message`], [`ErrorBody::code`] and
/// [`ErrorBody::validation`] find the parts wherever the body put them.
///
/// ```
/// use cygnet::types::ErrorBody;
/// let body = ErrorBody::from_slice(br#"{"error":true,"message":"Invalid model requested",
///   "detail":"Model 'x' is not available","error_code":"invalid_model","details":{"model":"x"}}"#)
///     .unwrap();
/// assert_eq!(body.message().as_deref(), Some("Invalid model requested"));
/// assert_eq!(body.code().as_deref(), Some("invalid_model"));
/// assert_eq!(body.detail_text(), Some("Model 'x' is not available"));
/// assert_eq!(body.details.as_ref().unwrap()["model"], "x");
///
/// let body = ErrorBody::from_slice(br#"{"detail":[{"loc":["body","messages"],
///   "msg":"Field required","type":"missing"}]}"#).unwrap();
/// assert_eq!(body.message().as_deref(), Some("body.messages: Field required"));
/// assert_eq!(body.validation()[0].kind.as_deref(), Some("missing"));
///
/// let body: ErrorBody =
///     serde_json::from_str(r#"{"error":{"message":"Invalid API key","type":"auth"}}"#).unwrap();
/// assert_eq!(body.message(), Some("Invalid API key".to_string()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorBody {
    /// The `error` member: an object, a text, or Gray Swan's `true`.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub error: Option<ErrorField>,
    /// A top-level message, as Gray Swan's envelope and some servers send.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<String>,
    /// FastAPI's `detail`, or the detail of Gray Swan's envelope: a text or a list of
    /// validation errors.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub detail: Option<Detail>,
    /// Gray Swan's machine-readable code (a number is kept as its text).
    #[serde(
        default,
        deserialize_with = "code",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_code: Option<String>,
    /// Gray Swan's structured details, as sent.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub details: Option<Value>,
}

/// The `error` member: an object, a text, or the flag of Gray Swan's envelope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ErrorField {
    /// `{"message": ..., "type": ..., "code": ...}`.
    Object(ErrorObject),
    /// `"error": "text"`.
    Text(String),
    /// `"error": true` (or `false`) in Gray Swan's envelope, whose message and code stand
    /// beside it at the top level.
    Flag(bool),
}

/// The usual error object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorObject {
    /// What went wrong, for people.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<String>,
    /// A machine-readable kind.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
    /// A machine-readable code (string or number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Value>,
    /// The parameter at fault.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub param: Option<String>,
}

/// A `detail` member: a text, FastAPI's list of validation errors, or anything else (kept as
/// sent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Detail {
    /// `"detail": "Not authenticated"`.
    Text(String),
    /// `"detail": [{"loc": [...], "msg": ..., "type": ...}, ...]`.
    Validation(Vec<ValidationError>),
    /// Any other value.
    Other(Value),
}

/// One entry of FastAPI's validation list: where in the request, and what is wrong there.
///
/// Reads as `body.messages: Field required`.
///
/// ```
/// let entry: cygnet::types::ValidationError = serde_json::from_str(
///     r#"{"loc":["body","messages",0,"role"],"msg":"Input should be 'user'","type":"enum"}"#,
/// ).unwrap();
/// assert_eq!(entry.to_string(), "body.messages.0.role: Input should be 'user'");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ValidationError {
    /// The path to the field at fault: `["body", "messages", 0, "content"]`.
    #[serde(default)]
    pub loc: Vec<LocPart>,
    /// What is wrong, for people.
    pub msg: String,
    /// FastAPI's machine-readable kind (`missing`, `string_type`, ...).
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
}

/// One step of a validation error's location: a field name or a list index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LocPart {
    /// A list index.
    Index(u64),
    /// A field name (or `body`, `query`, `header` for the part of the request).
    Name(String),
}

impl fmt::Display for LocPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocPart::Index(index) => write!(f, "{index}"),
            LocPart::Name(name) => f.write_str(name),
        }
    }
}

impl ValidationError {
    /// The location, its parts joined by `.`: `body.messages.0.content`.
    pub fn location(&self) -> String {
        self.loc
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(".")
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.loc.is_empty() {
            f.write_str(&self.msg)
        } else {
            write!(f, "{}: {}", self.location(), self.msg)
        }
    }
}

impl ErrorBody {
    /// Reads `body` when it is a JSON object; `None` for anything else (an HTML page, plain
    /// text, a JSON array).
    pub fn from_slice(body: &[u8]) -> Option<Self> {
        let object = serde_json::from_slice::<serde_json::Map<String, Value>>(body).ok()?;
        serde_json::from_value(Value::Object(object)).ok()
    }

    /// The server's message, wherever in the body it stands: the error object's message, the
    /// error text, the top-level message, the detail text, the validation errors (joined by
    /// `; `), or any other detail as JSON text. Empty texts are passed over.
    pub fn message(&self) -> Option<String> {
        let text = |t: &Option<String>| {
            t.as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(str::to_owned)
        };
        match &self.error {
            Some(ErrorField::Object(object)) => {
                if let Some(message) = text(&object.message) {
                    return Some(message);
                }
            }
            Some(ErrorField::Text(t)) if !t.trim().is_empty() => return Some(t.clone()),
            _ => {}
        }
        if let Some(message) = text(&self.message) {
            return Some(message);
        }
        match &self.detail {
            Some(Detail::Text(t)) if !t.trim().is_empty() => Some(t.clone()),
            Some(Detail::Validation(entries)) if !entries.is_empty() => Some(
                entries
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Some(Detail::Other(other @ (Value::Array(_) | Value::Object(_)))) => {
                Some(other.to_string())
            }
            _ => None,
        }
    }

    /// The machine-readable code: Gray Swan's `error_code`, else the error object's `code`
    /// (a number as its text).
    pub fn code(&self) -> Option<String> {
        if let Some(code) = self.error_code.as_deref().filter(|c| !c.is_empty()) {
            return Some(code.to_owned());
        }
        match &self.error {
            Some(ErrorField::Object(object)) => object.code.as_ref().and_then(code_text),
            _ => None,
        }
    }

    /// The `detail` when it is a text (in Gray Swan's envelope, the specifics beside the
    /// message).
    pub fn detail_text(&self) -> Option<&str> {
        match &self.detail {
            Some(Detail::Text(text)) => Some(text),
            _ => None,
        }
    }

    /// FastAPI's validation errors (empty when the body has none).
    pub fn validation(&self) -> &[ValidationError] {
        match &self.detail {
            Some(Detail::Validation(entries)) => entries,
            _ => &[],
        }
    }
}

/// A code's text: a string as it is, a number as its digits.
fn code_text(code: &Value) -> Option<String> {
    match code {
        Value::String(code) if !code.is_empty() => Some(code.clone()),
        Value::Number(code) => Some(code.to_string()),
        _ => None,
    }
}

/// Reads a member as `T`, or as absent when it has another type: an error body's parts are
/// each worth having on their own.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// Reads `error_code`: a string, or a number kept as its text.
fn code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(code_text(&Value::deserialize(deserializer)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> ErrorBody {
        ErrorBody::from_slice(json.as_bytes()).unwrap_or_else(|| panic!("{json}"))
    }

    #[test]
    fn every_shape_gives_its_message_and_code() {
        for (json, message, code) in [
            (
                r#"{"error":true,"message":"Invalid model requested","error_code":"invalid_model"}"#,
                Some("Invalid model requested"),
                Some("invalid_model"),
            ),
            (
                r#"{"error":true,"detail":"Upstream provider failed","error_code":502}"#,
                Some("Upstream provider failed"),
                Some("502"),
            ),
            (
                r#"{"error":{"message":"slow down","type":"rate","code":"rate_limit"}}"#,
                Some("slow down"),
                Some("rate_limit"),
            ),
            (
                r#"{"error":{"message":"m","code":429}}"#,
                Some("m"),
                Some("429"),
            ),
            (
                r#"{"error":"model overloaded"}"#,
                Some("model overloaded"),
                None,
            ),
            (r#"{"message":"top"}"#, Some("top"), None),
            (
                r#"{"detail":"Not authenticated"}"#,
                Some("Not authenticated"),
                None,
            ),
            (
                r#"{"detail":[{"loc":["body","messages"],"msg":"Field required","type":"missing"},
                   {"loc":["body","model"],"msg":"Input should be a valid string","type":"string_type"}]}"#,
                Some("body.messages: Field required; body.model: Input should be a valid string"),
                None,
            ),
            (r#"{"detail":{"why":"x"}}"#, Some(r#"{"why":"x"}"#), None),
            (r#"{"error":true}"#, None, None),
            (r#"{"error":true,"message":"","detail":""}"#, None, None),
            (
                r#"{"error":{"message":5},"message":"fallback"}"#,
                Some("fallback"),
                None,
            ),
            (
                r#"{"message":["odd"],"detail":"still read"}"#,
                Some("still read"),
                None,
            ),
        ] {
            let parsed = body(json);
            assert_eq!(parsed.message().as_deref(), message, "{json}");
            assert_eq!(parsed.code().as_deref(), code, "{json}");
        }
    }

    #[test]
    fn validation_entries_are_typed_and_odd_lists_are_kept_as_sent() {
        let parsed = body(
            r#"{"detail":[{"loc":["body","messages",0,"content"],"msg":"Field required","type":"missing"}]}"#,
        );
        let entry = &parsed.validation()[0];
        assert_eq!(
            entry.loc,
            [
                LocPart::Name("body".into()),
                LocPart::Name("messages".into()),
                LocPart::Index(0),
                LocPart::Name("content".into())
            ]
        );
        assert_eq!(entry.location(), "body.messages.0.content");
        assert_eq!(entry.msg, "Field required");
        let odd = body(r#"{"detail":["a","b"]}"#);
        assert!(odd.validation().is_empty());
        assert_eq!(odd.message().as_deref(), Some(r#"["a","b"]"#));
        assert_eq!(
            body(r#"{"detail":[{"msg":"no loc"}]}"#)
                .message()
                .as_deref(),
            Some("no loc")
        );
    }

    #[test]
    fn only_objects_are_error_bodies() {
        for not_json in ["<html>", "[1]", "\"text\"", ""] {
            assert_eq!(
                ErrorBody::from_slice(not_json.as_bytes()),
                None,
                "{not_json}"
            );
        }
        assert_eq!(
            body(r#"{"error":true}"#).error,
            Some(ErrorField::Flag(true))
        );
        assert_eq!(body(r#"{"error":5}"#).error, None);
    }
}
