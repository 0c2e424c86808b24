//! The JSON body of an error answer.

use serde::{Deserialize, Serialize};

/// An error answer's body: `{"error": {"message": ...}}`.
///
/// Servers and proxies vary; [`ErrorBody::message`] also finds a top-level `message` or a
/// FastAPI-style `detail`.
///
/// ```
/// let body: cygnet_types::ErrorBody =
///     serde_json::from_str(r#"{"error":{"message":"Invalid API key","type":"auth"}}"#).unwrap();
/// assert_eq!(body.message(), Some("Invalid API key".to_string()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorBody {
    /// The error object, in the usual shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorField>,
    /// A top-level message, as some servers send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A FastAPI-style detail: a string or a list of validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

/// The `error` member: an object, or, from some servers, a bare string.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorField {
    /// `{"message": ..., "type": ..., "code": ...}`.
    Object(ErrorObject),
    /// `"error": "text"`.
    Text(String),
}

/// The usual error object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorObject {
    /// What went wrong, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A machine-readable kind.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A machine-readable code (string or number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<serde_json::Value>,
    /// The parameter at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

impl ErrorBody {
    /// The server's message, wherever in the body it stands.
    pub fn message(&self) -> Option<String> {
        match &self.error {
            Some(ErrorField::Object(ErrorObject {
                message: Some(m), ..
            })) => return Some(m.clone()),
            Some(ErrorField::Text(t)) => return Some(t.clone()),
            _ => {}
        }
        if let Some(m) = &self.message {
            return Some(m.clone());
        }
        match &self.detail {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(other @ (serde_json::Value::Array(_) | serde_json::Value::Object(_))) => {
                Some(other.to_string())
            }
            _ => None,
        }
    }
}
