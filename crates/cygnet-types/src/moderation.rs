//! Moderation: `POST /moderation`.

use serde::{Deserialize, Serialize};

use crate::field::object_only;
use crate::field::{self, or_null, NoError};

/// The body of `POST /moderation`.
///
/// ```
/// let req = cygnet::types::ModerationRequest::new("some text").rewrite(true);
/// assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"input":"some text","rewrite":true}"#);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModerationRequest {
    /// The text to judge.
    pub input: String,
    /// A custom moderation policy, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation_prompt: Option<String>,
    /// Ask for a rewritten, acceptable version of the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<bool>,
}

impl ModerationRequest {
    /// A request to judge `input`.
    pub fn new(input: impl Into<String>) -> Self {
        Self {
            input: input.into(),
            ..Self::default()
        }
    }

    /// Sets `moderation_prompt`.
    #[must_use]
    pub fn moderation_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.moderation_prompt = Some(prompt.into());
        self
    }

    /// Sets `rewrite`.
    #[must_use]
    pub fn rewrite(mut self, rewrite: bool) -> Self {
        self.rewrite = Some(rewrite);
        self
    }
}

object_only! {
#[serde(remote = "ModerationResponse")]
=>
/// The answer to a moderation request.
///
/// `flagged`, `detected` and `passed` must be present and of their type: a verdict that did
/// not arrive never reads as "not flagged". The identifying fields may be absent or `null`.
/// A body with a top-level `error` member (other than `null`) does not parse.
///
/// ```
/// use cygnet::types::ModerationResponse;
/// let ok = r#"{"id":"m1","flagged":true,"detected":0.9,"passed":0.1}"#;
/// assert!(serde_json::from_str::<ModerationResponse>(ok).unwrap().flagged);
/// let err = serde_json::from_str::<ModerationResponse>("{}").unwrap_err();
/// assert!(err.to_string().contains("missing field"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ModerationResponse {
    /// The response's id.
    #[serde(default, deserialize_with = "or_null::id")]
    pub id: String,
    /// Unix time in seconds.
    #[serde(default, deserialize_with = "or_null::created")]
    pub created: i64,
    /// How strongly the input was detected as violating the policy.
    #[serde(deserialize_with = "field::detected")]
    pub detected: f64,
    /// Whether the input was flagged.
    #[serde(deserialize_with = "field::flagged")]
    pub flagged: bool,
    /// The model that judged.
    #[serde(default, deserialize_with = "or_null::model")]
    pub model: String,
    /// How strongly the input passed the policy.
    #[serde(deserialize_with = "field::passed")]
    pub passed: f64,
    /// The categories that applied, as the server sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<serde_json::Value>>,
    /// The rewritten input, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<String>,
    /// The backend configuration that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Token counts, as the server sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<serde_json::Value>,
    /// Refuses a body with an `error` member.
    #[serde(default, skip_serializing, deserialize_with = "NoError::deserialize")]
    pub(crate) error: NoError,
}
}
