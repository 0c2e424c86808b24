//! Field readers for the response types: errors that name the field, `null` read as absent,
//! and the `error` member no answer may carry.
//!
//! serde names a missing field ("missing field `choices`") but not one of the wrong type
//! ("invalid type: null, expected a sequence"), so a caller cannot tell which part of the
//! answer was wrong. Each reader here hands the value to its type's own `Deserialize` and, only
//! when that fails, puts the field's name in front of the message (`choices: invalid type:
//! ...`); nested fields give a path (`choices: index: invalid type: ...`). Written by hand
//! because serde has no attribute for it and the crate depends on serde alone.

use serde::de::{Deserialize, Deserializer, Error, IgnoredAny};

/// Reads a field with `read`; an error names `field`.
#[inline]
pub(crate) fn named<'de, T, D: Deserializer<'de>>(
    field: &'static str,
    deserializer: D,
    read: impl FnOnce(D) -> Result<T, D::Error>,
) -> Result<T, D::Error> {
    read(deserializer).map_err(|error| rename(field, error))
}

/// `error` with `field: ` in front of its message.
#[cold]
fn rename<E: Error>(field: &str, error: E) -> E {
    let text = error.to_string();
    E::custom(format_args!("{field}: {}", without_position(&text)))
}

/// `text` without the ` at line L column C` serde_json ends its messages with: the
/// deserializer adds the position again to the renamed error.
fn without_position(text: &str) -> &str {
    let Some(at) = text.rfind(" at line ") else {
        return text;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match text[at + " at line ".len()..].split_once(" column ") {
        Some((line, column)) if digits(line) && digits(column) => &text[..at],
        _ => text,
    }
}

/// Readers for fields that must be present (no `default` on the field) and of their type.
macro_rules! required {
    ($($field:ident),* $(,)?) => {$(
        #[doc = concat!("Reads the `", stringify!($field), "` field; an error names it.")]
        pub(crate) fn $field<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<T, D::Error> {
            named(stringify!($field), deserializer, T::deserialize)
        }
    )*};
}

required!(
    choices,
    index,
    message,
    delta,
    flagged,
    detected,
    passed,
    finish_reason,
    role
);

/// Readers for identifying fields some gateways drop or send as `null`: absent or `null`
/// reads as the type's default (an empty string, 0), anything else must have the type.
pub(crate) mod or_null {
    use super::named;
    use serde::de::{Deserialize, Deserializer};

    macro_rules! or_null {
        ($($field:ident),* $(,)?) => {$(
            #[doc = concat!("Reads the `", stringify!($field), "` field; `null` is the default.")]
            pub(crate) fn $field<'de, T: Deserialize<'de> + Default, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<T, D::Error> {
                named(stringify!($field), deserializer, |d| {
                    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
                })
            }
        )*};
    }

    or_null!(id, object, created, model);
}

/// The `error` member of an answer, which must be absent or `null`: a 2xx body or a stream
/// chunk that carries one is the server reporting an error, and its other fields are not data.
/// The response types hold it as a private field, so that parsing them refuses such a body
/// and the caller (the client) can report the server's message instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NoError;

/// The message a parse gives for a body with an `error` member.
pub(crate) const ERROR_MEMBER: &str = "error: the answer is an error report, not data";

impl NoError {
    /// Reads the `error` field: only `null` is accepted.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NoError, D::Error> {
        match Option::<IgnoredAny>::deserialize(deserializer)? {
            None => Ok(NoError),
            Some(IgnoredAny) => Err(D::Error::custom(ERROR_MEMBER)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_trailing_position_is_cut() {
        assert_eq!(without_position("bad at line 1 column 20"), "bad");
        assert_eq!(
            without_position("bad at line x column 20"),
            "bad at line x column 20"
        );
        assert_eq!(without_position("bad"), "bad");
        assert_eq!(
            without_position("at line 3 column 4 more"),
            "at line 3 column 4 more"
        );
    }
}
