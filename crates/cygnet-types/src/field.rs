//! Field readers for the response types: errors that name the field, `null` read as absent,
//! and the `error` member no answer may carry.
//!
//! serde names a missing field ("missing field `choices`") but not one of the wrong type
//! ("invalid type: null, expected a sequence"), so a caller cannot tell which part of the
//! answer was wrong. Each reader here hands the value to its type's own `Deserialize` and, only
//! when that fails, puts the field's name in front of the message (`choices: invalid type:
//! ...`); nested fields give a path (`choices: index: invalid type: ...`). Written by hand
//! because serde has no attribute for it and the crate depends on serde alone.

use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, Visitor};

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

/// The `error` member of an answer, which must be absent, `null` or `false`: a 2xx body or a
/// stream chunk that carries any other (an error object, a message, Gray Swan's
/// `"error": true`) is the server reporting an error, and its other fields are not data.
/// `false` is the flag of Gray Swan's envelope saying there is no error, so it reads as none.
/// The response types hold it as a private field, so that parsing them refuses such a body
/// and the caller (the client) can report the server's message instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NoError;

/// The message a parse gives for a body with an `error` member.
pub(crate) const ERROR_MEMBER: &str = "error: the answer is an error report, not data";

impl NoError {
    /// Reads the `error` field: only `null` and `false` are accepted.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<NoError, D::Error> {
        deserializer.deserialize_any(NoErrorVisitor)
    }
}

/// Accepts `null` and `false`; anything else is read to its end (so that serde_json's error
/// position is after the value, as for any other field) and refused with [`ERROR_MEMBER`].
struct NoErrorVisitor;

impl NoErrorVisitor {
    fn refuse<E: Error>() -> Result<NoError, E> {
        Err(E::custom(ERROR_MEMBER))
    }
}

impl<'de> Visitor<'de> for NoErrorVisitor {
    type Value = NoError;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("null or false")
    }

    fn visit_unit<E: Error>(self) -> Result<NoError, E> {
        Ok(NoError)
    }

    fn visit_none<E: Error>(self) -> Result<NoError, E> {
        Ok(NoError)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<NoError, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E: Error>(self, error: bool) -> Result<NoError, E> {
        if error {
            Self::refuse()
        } else {
            Ok(NoError)
        }
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<NoError, E> {
        Self::refuse()
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<NoError, E> {
        Self::refuse()
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<NoError, E> {
        Self::refuse()
    }

    fn visit_str<E: Error>(self, _: &str) -> Result<NoError, E> {
        Self::refuse()
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NoError, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::refuse()
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NoError, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Self::refuse()
    }
}

/// A deserializer that reads a struct only from a JSON object.
///
/// serde's derived structs also take an array of the field values in order, which no server
/// sends and which would let `[]` read as a message made of defaults. The response types
/// derive their parse on a private twin (`#[serde(remote = "...")]`) and implement
/// `Deserialize` through this wrapper (see [`object_only`]); it hands `deserialize_struct` to
/// `deserialize_map` and everything else on unchanged, so borrowing and errors are serde's.
pub(crate) struct ObjectOnly<D>(pub(crate) D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// A response type, defined as written, with `Deserialize` through [`ObjectOnly`].
///
/// The derived parse lives on a private twin of the type (`#[serde(remote = "...")]` on a
/// copy of its fields with their serde attributes, written out by this macro from the one
/// definition), so the public type shows no inherent `serialize`/`deserialize` functions in
/// the docs; its `Serialize` is an ordinary derive. The attributes before `=>` are the twin's
/// (the `remote` path, `expecting`); after it comes the type as it is documented.
macro_rules! object_only {
    (
        $(#[$twin:meta])*
        =>
        $(#[$outer:meta])*
        $vis:vis struct $name:ident $(<$lt:lifetime>)? {
            $( $(#[$fattr:meta])* $fvis:vis $field:ident : $fty:ty ),* $(,)?
        }
    ) => {
        $(#[$outer])*
        $vis struct $name $(<$lt>)? {
            $( $(#[$fattr])* $fvis $field : $fty ),*
        }

        const _: () = {
            #[derive(::serde::Deserialize)]
            $(#[$twin])*
            #[allow(dead_code)]
            struct Twin $(<$lt>)? {
                $( $(#[$fattr])* $field : $fty ),*
            }

            impl<'de $(: $lt, $lt)?> ::serde::Deserialize<'de> for $name $(<$lt>)? {
                fn deserialize<D: ::serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> Result<Self, D::Error> {
                    Twin::deserialize($crate::field::ObjectOnly(deserializer))
                }
            }
        };
    };
}

pub(crate) use object_only;

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
