//! Moderation: `POST /moderation`.

use serde::{Deserialize, Serialize};

/// The body of `POST /moderation`.
///
/// ```
/// let req = cygnet_types::ModerationRequest::new("some text").rewrite(true);
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

/// The answer to a moderation request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModerationResponse {
    /// The response's id.
    #[serde(default)]
    pub id: String,
    /// Unix time in seconds.
    #[serde(default)]
    pub created: i64,
    /// How strongly the input was detected as violating the policy.
    #[serde(default)]
    pub detected: f64,
    /// Whether the input was flagged.
    #[serde(default)]
    pub flagged: bool,
    /// The model that judged.
    #[serde(default)]
    pub model: String,
    /// How strongly the input passed the policy.
    #[serde(default)]
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
}
