//! Borrowed stream chunks: [`ChatCompletionChunkRef`] and its parts.
//!
//! A streaming answer is hundreds of small chunks, and most of each chunk is text (the id, the
//! model, the delta's content) that sits in the read buffer already. The owned
//! [`ChatCompletionChunk`] copies every one of those strings into a new `String`; these
//! types borrow them instead (`Cow::Borrowed`) and copy only a string that JSON escapes
//! (`\n`, `\"`, `\u00e9`), which must be unescaped into new memory (`Cow::Owned`).
//! [`ChatCompletionChunkRef::into_owned`] gives exactly the [`ChatCompletionChunk`] that
//! parsing the same JSON into the owned type gives, and the same fields are required.
//! [`ChatCompletionChunkRef::from_json`] parses like `serde_json::from_str`, faster for the
//! common shape (see `chunk_scan`).
//!
//! Written by hand rather than generated from the owned types because serde's `borrow`
//! attribute only borrows a bare `Cow<str>`: an `Option<Cow<str>>` needs the small visitor
//! in [`opt_cow`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::blocked::{blocked_if, is_violation, Blocked};
use crate::chunk::{ChatCompletionChunk, ChunkChoice, Delta, FunctionCallDelta, ToolCallDelta};
use crate::completion::{FinishReason, Usage};
use crate::field::{self, named, object_only, NoError};
use crate::message::Role;
use crate::tool::ToolType;

object_only! {
#[serde(remote = "ChatCompletionChunkRef")]
// Named as the owned type, so that parse errors read the same on both paths.
#[serde(expecting = "struct ChatCompletionChunk")]
=>
/// One event of a streaming chat completion, borrowing its text from the JSON it was read
/// from; see [`ChatCompletionChunk`] for the owned form and the meaning of each field.
///
/// ```
/// use std::borrow::Cow;
/// let data = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"cygnet",
///   "choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#;
/// let chunk: cygnet::types::ChatCompletionChunkRef<'_> = serde_json::from_str(data).unwrap();
/// assert_eq!(chunk.content(), Some("Hel"));
/// // Borrowed from `data`, not copied.
/// assert!(matches!(chunk.choices[0].delta.content, Some(Cow::Borrowed(_))));
/// let owned = chunk.into_owned();
/// assert_eq!(owned, serde_json::from_str::<cygnet::types::ChatCompletionChunk>(data).unwrap());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChatCompletionChunkRef<'a> {
    /// The completion's id, the same in every chunk.
    #[serde(default, borrow, deserialize_with = "cow_or_null::id")]
    pub id: Cow<'a, str>,
    /// Always `chat.completion.chunk`.
    #[serde(default, borrow, deserialize_with = "cow_or_null::object")]
    pub object: Cow<'a, str>,
    /// Unix time in seconds.
    #[serde(default, deserialize_with = "field::or_null::created")]
    pub created: i64,
    /// The model that answers.
    #[serde(default, borrow, deserialize_with = "cow_or_null::model")]
    pub model: Cow<'a, str>,
    /// The backend configuration that answers.
    #[serde(
        default,
        borrow,
        deserialize_with = "opt_cow::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub system_fingerprint: Option<Cow<'a, str>>,
    /// What each choice adds.
    #[serde(borrow, deserialize_with = "field::choices")]
    pub choices: Vec<ChunkChoiceRef<'a>>,
    /// Token counts, when the server sends them (usually in the last chunk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Refuses a chunk with an `error` member.
    #[serde(default, skip_serializing, deserialize_with = "NoError::deserialize")]
    pub(crate) error: NoError,
}
}

impl ChatCompletionChunkRef<'_> {
    /// The content delta of the first choice, the common case of `n` = 1.
    pub fn content(&self) -> Option<&str> {
        self.choices.first()?.delta.content.as_deref()
    }

    /// The part of this chunk that adds to the choice numbered `index`, if any.
    pub fn choice(&self, index: u32) -> Option<&ChunkChoiceRef<'_>> {
        self.choices.iter().find(|choice| choice.index == index)
    }

    /// The text this chunk adds to choice 0, when it adds any; the same rules as
    /// [`ChatCompletionChunk::text_delta`].
    pub fn text_delta(&self) -> Option<&str> {
        self.choice(0)?
            .delta
            .content
            .as_deref()
            .filter(|text| !text.is_empty())
    }

    /// The first choice this chunk ends blocked; as [`ChatCompletionChunk::blocked`].
    pub fn blocked(&self) -> Option<Blocked<'_>> {
        self.choices.iter().find_map(ChunkChoiceRef::blocked)
    }

    /// Whether this chunk ends any choice blocked; as [`ChatCompletionChunk::is_blocked`].
    pub fn is_blocked(&self) -> bool {
        self.choices.iter().any(ChunkChoiceRef::is_blocked)
    }

    /// The owned chunk, equal to what parsing the same JSON as a [`ChatCompletionChunk`]
    /// gives.
    pub fn into_owned(self) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: self.id.into_owned(),
            object: self.object.into_owned(),
            created: self.created,
            model: self.model.into_owned(),
            system_fingerprint: self.system_fingerprint.map(Cow::into_owned),
            choices: self
                .choices
                .into_iter()
                .map(ChunkChoiceRef::into_owned)
                .collect(),
            usage: self.usage,
            error: self.error,
        }
    }
}

impl From<ChatCompletionChunkRef<'_>> for ChatCompletionChunk {
    fn from(chunk: ChatCompletionChunkRef<'_>) -> Self {
        chunk.into_owned()
    }
}

object_only! {
#[serde(remote = "ChunkChoiceRef")]
// Named as the owned type, so that parse errors read the same on both paths.
#[serde(expecting = "struct ChunkChoice")]
=>
/// What one chunk adds to one choice, borrowed; see [`ChunkChoice`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChunkChoiceRef<'a> {
    /// Which choice this adds to.
    #[serde(deserialize_with = "field::index")]
    pub index: u32,
    /// The addition.
    #[serde(borrow, deserialize_with = "field::delta")]
    pub delta: DeltaRef<'a>,
    /// Set on the choice's last chunk.
    #[serde(default, deserialize_with = "field::finish_reason")]
    pub finish_reason: Option<FinishReason>,
    /// Log probabilities, when asked for; kept as the server sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<serde_json::Value>,
}
}

impl ChunkChoiceRef<'_> {
    /// This choice as [`Blocked`], when this chunk ends it blocked.
    pub fn blocked(&self) -> Option<Blocked<'_>> {
        blocked_if(
            self.finish_reason.as_ref(),
            self.index,
            self.delta.refusal.as_deref(),
            self.delta.content.as_deref(),
        )
    }

    /// Whether this chunk ends the choice blocked (`finish_reason: "violation"`).
    pub fn is_blocked(&self) -> bool {
        is_violation(self.finish_reason.as_ref())
    }

    /// The owned choice.
    pub fn into_owned(self) -> ChunkChoice {
        ChunkChoice {
            index: self.index,
            delta: self.delta.into_owned(),
            finish_reason: self.finish_reason,
            logprobs: self.logprobs,
        }
    }
}

object_only! {
#[serde(remote = "DeltaRef")]
// Named as the owned type, so that parse errors read the same on both paths.
#[serde(expecting = "struct Delta")]
=>
/// The part of a message one chunk carries, borrowed; see [`Delta`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DeltaRef<'a> {
    /// The role, usually only in the first chunk.
    #[serde(
        default,
        deserialize_with = "field::role",
        skip_serializing_if = "Option::is_none"
    )]
    pub role: Option<Role>,
    /// The next piece of text; borrowed unless it contained JSON escapes.
    #[serde(
        default,
        borrow,
        deserialize_with = "opt_cow::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub content: Option<Cow<'a, str>>,
    /// Fragments of tool calls, told apart by `index`.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDeltaRef<'a>>>,
    /// The next piece of the refusal; borrowed unless it contained JSON escapes.
    #[serde(
        default,
        borrow,
        deserialize_with = "opt_cow::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub refusal: Option<Cow<'a, str>>,
}
}

impl DeltaRef<'_> {
    /// The owned delta.
    pub fn into_owned(self) -> Delta {
        Delta {
            role: self.role,
            content: self.content.map(Cow::into_owned),
            tool_calls: self.tool_calls.map(|calls| {
                calls
                    .into_iter()
                    .map(ToolCallDeltaRef::into_owned)
                    .collect()
            }),
            refusal: self.refusal.map(Cow::into_owned),
        }
    }
}

/// A fragment of a tool call, borrowed; see [`ToolCallDelta`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
// Named as the owned type, so that parse errors read the same on both paths.
#[serde(expecting = "struct ToolCallDelta")]
#[non_exhaustive]
pub struct ToolCallDeltaRef<'a> {
    /// Which call of the choice this fragment belongs to.
    #[serde(default)]
    pub index: u32,
    /// The call's id, usually in its first fragment.
    #[serde(
        default,
        borrow,
        deserialize_with = "opt_cow::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<Cow<'a, str>>,
    /// Always `function` when present.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ToolType>,
    /// The function name and a piece of its arguments.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDeltaRef<'a>>,
}

impl ToolCallDeltaRef<'_> {
    /// The owned fragment.
    pub fn into_owned(self) -> ToolCallDelta {
        ToolCallDelta {
            index: self.index,
            id: self.id.map(Cow::into_owned),
            kind: self.kind,
            function: self.function.map(FunctionCallDeltaRef::into_owned),
        }
    }
}

/// A piece of a function call, borrowed; see [`FunctionCallDelta`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
// Named as the owned type, so that parse errors read the same on both paths.
#[serde(expecting = "struct FunctionCallDelta")]
#[non_exhaustive]
pub struct FunctionCallDeltaRef<'a> {
    /// The function's name, usually in the first fragment.
    #[serde(
        default,
        borrow,
        deserialize_with = "opt_cow::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<Cow<'a, str>>,
    /// The next piece of the arguments' JSON text.
    #[serde(
        default,
        borrow,
        deserialize_with = "opt_cow::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Cow<'a, str>>,
}

impl FunctionCallDeltaRef<'_> {
    /// The owned piece.
    pub fn into_owned(self) -> FunctionCallDelta {
        FunctionCallDelta {
            name: self.name.map(Cow::into_owned),
            arguments: self.arguments.map(Cow::into_owned),
        }
    }
}

/// The identifying strings of a borrowed chunk: absent or `null` reads as empty, like the
/// owned chunk's `String`s, and an error names the field.
mod cow_or_null {
    use std::borrow::Cow;

    use serde::de::Deserializer;

    use super::{named, opt_cow};

    macro_rules! cow_or_null {
        ($($field:ident),*) => {$(
            pub(super) fn $field<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Cow<'de, str>, D::Error> {
                named(stringify!($field), deserializer, |d| {
                    opt_cow::deserialize(d).map(Option::unwrap_or_default)
                })
            }
        )*};
    }

    cow_or_null!(id, object, model);
}

/// `Option<Cow<str>>` that borrows when the deserializer can lend the string: serde's own
/// impl for `Cow<str>` always copies, and its `borrow` attribute only reaches a bare `Cow`.
/// Accepts exactly what `Option<String>` accepts (a string or `null`).
mod opt_cow {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{Deserializer, Error, Visitor};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Cow<'de, str>>, D::Error> {
        deserializer.deserialize_option(OptVisitor)
    }

    struct OptVisitor;

    impl<'de> Visitor<'de> for OptVisitor {
        type Value = Option<Cow<'de, str>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or null")
        }

        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_string(CowVisitor).map(Some)
        }
    }

    struct CowVisitor;

    impl<'de> Visitor<'de> for CowVisitor {
        type Value = Cow<'de, str>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_borrowed_str<E: Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }

        fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_owned()))
        }

        fn visit_string<E: Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_copies_escaped_ones() {
        let data = r#"{"id":"c1","model":"m","system_fingerprint":"fp",
            "choices":[{"index":0,"delta":{"content":"a\nb","tool_calls":[
            {"index":0,"id":"call","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}"#;
        let chunk: ChatCompletionChunkRef<'_> = serde_json::from_str(data).unwrap();
        assert!(matches!(chunk.id, Cow::Borrowed("c1")));
        assert!(matches!(
            chunk.system_fingerprint,
            Some(Cow::Borrowed("fp"))
        ));
        let delta = &chunk.choices[0].delta;
        assert!(matches!(&delta.content, Some(Cow::Owned(s)) if s == "a\nb"));
        let call = &delta.tool_calls.as_ref().unwrap()[0];
        assert!(matches!(call.id, Some(Cow::Borrowed("call"))));
        let function = call.function.as_ref().unwrap();
        assert!(matches!(function.name, Some(Cow::Borrowed("f"))));
        assert!(matches!(function.arguments, Some(Cow::Borrowed("{}"))));
        let owned: ChatCompletionChunk = serde_json::from_str(data).unwrap();
        assert_eq!(chunk.into_owned(), owned);
    }

    #[test]
    fn null_and_missing_optional_strings_are_none_and_wrong_types_fail_like_owned() {
        let data =
            r#"{"system_fingerprint":null,"choices":[{"index":0,"delta":{"content":null}}]}"#;
        let chunk: ChatCompletionChunkRef<'_> = serde_json::from_str(data).unwrap();
        assert_eq!(chunk.system_fingerprint, None);
        assert_eq!(chunk.choices[0].delta.content, None);
        for bad in [
            r#"{"choices":[{"index":0,"delta":{"content":5}}]}"#,
            r#"{"system_fingerprint":[],"choices":[]}"#,
            r#"{"id":5,"choices":[]}"#,
            r#"{"id":"a"}"#,
            r#"{"choices":[{"delta":{}}]}"#,
            r#"{"choices":[],"error":{"message":"m"}}"#,
        ] {
            let borrowed = serde_json::from_str::<ChatCompletionChunkRef<'_>>(bad).unwrap_err();
            let owned = serde_json::from_str::<ChatCompletionChunk>(bad).unwrap_err();
            assert_eq!(borrowed.to_string(), owned.to_string(), "{bad}");
        }
    }

    #[test]
    fn identifying_fields_may_be_null_and_errors_name_the_field() {
        let data = r#"{"id":null,"object":null,"created":null,"model":null,"choices":[]}"#;
        let chunk: ChatCompletionChunkRef<'_> = serde_json::from_str(data).unwrap();
        assert_eq!((chunk.id.as_ref(), chunk.created), ("", 0));
        for (bad, named) in [
            (r#"{"choices":null}"#, "choices: invalid type: null"),
            (
                r#"{"choices":[{"index":"0","delta":{}}]}"#,
                "choices: index: invalid type",
            ),
            (
                r#"{"choices":[{"index":0,"delta":5}]}"#,
                "choices: delta: invalid type",
            ),
            (
                r#"{"choices":[{"index":0}]}"#,
                "choices: missing field `delta`",
            ),
            (r#"{"choices":[],"model":5}"#, "model: invalid type"),
            (r#"{"choices":[],"created":"1"}"#, "created: invalid type"),
            (
                r#"{"id":"x","choices":[],"error":{"message":"m"}}"#,
                "error: ",
            ),
            (r#"{}"#, "missing field `choices`"),
        ] {
            let error = serde_json::from_str::<ChatCompletionChunkRef<'_>>(bad).unwrap_err();
            assert!(error.to_string().starts_with(named), "{bad}: {error}");
        }
    }
}
