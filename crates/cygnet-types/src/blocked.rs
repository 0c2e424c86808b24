//! Blocked answers: a choice that Gray Swan stopped with `finish_reason: "violation"`.
//!
//! Cygnal (and Cygnet with `moderate_before`) answers a request it blocks with HTTP 200 and a
//! choice whose finish reason is `violation`; the message carries the refusal ("Sorry, I can't
//! help with that.") in `refusal` and, as the server sent it, in `content` too. A stream is cut
//! and ends with such a choice. Nothing about it looks like an error on the wire, so a caller
//! that only reads the content would show the refusal as if it were the model's answer.
//!
//! Every answer type has the same question for it, so that no caller needs string matching:
//! `blocked()` gives a [`Blocked`] (which choice, and the refusal) and `is_blocked()` a `bool`,
//! on [`ChatCompletion`], [`ChatCompletionChunk`](crate::ChatCompletionChunk),
//! [`ChatCompletionChunkRef`](crate::ChatCompletionChunkRef) and their choices (and, in
//! `cygnet-core`, on the accumulator and the text stream). [`ChatCompletion::into_unblocked`]
//! turns the outcome into an error, [`BlockedAnswer`], for callers that want a blocked answer
//! on their error path.

use std::fmt;

use crate::completion::{ChatCompletion, Choice, FinishReason, ResponseMessage};

/// A choice Gray Swan blocked (its finish reason is [`FinishReason::Violation`]): which one,
/// and the refusal it carries. Borrowed from the answer it was read from.
///
/// ```
/// use cygnet::types::ChatCompletion;
/// let body = r#"{"choices":[{"index":0,"finish_reason":"violation","message":{
///   "role":"assistant","content":"Sorry, I can't help with that.",
///   "refusal":"Sorry, I can't help with that."}}]}"#;
/// let completion: ChatCompletion = serde_json::from_str(body).unwrap();
/// let blocked = completion.blocked().expect("Gray Swan blocked it");
/// assert_eq!(blocked.choice_index(), 0);
/// assert_eq!(blocked.refusal(), Some("Sorry, I can't help with that."));
/// // The content is the refusal, as the server sent it.
/// assert_eq!(completion.content(), Some("Sorry, I can't help with that."));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocked<'a> {
    choice_index: u32,
    refusal: Option<&'a str>,
    content: Option<&'a str>,
}

impl<'a> Blocked<'a> {
    /// The blocked choice numbered `choice_index`, with the message's `refusal` and `content`
    /// as the server sent them (for types that hold a blocked choice in their own form, such
    /// as an accumulator).
    pub fn new(choice_index: u32, refusal: Option<&'a str>, content: Option<&'a str>) -> Self {
        Self {
            choice_index,
            refusal,
            content,
        }
    }

    /// The `index` of the blocked choice.
    pub fn choice_index(&self) -> u32 {
        self.choice_index
    }

    /// The refusal: the message's `refusal`, or, when the server sent none (Cygnet's
    /// `moderate_before` may put it in `content` alone), its `content`; `None` when neither
    /// carries text. For a stream chunk, the part of the refusal that chunk carries.
    pub fn refusal(&self) -> Option<&'a str> {
        non_empty(self.refusal).or_else(|| non_empty(self.content))
    }

    /// The message's `refusal` field alone, as the server sent it.
    pub fn refusal_field(&self) -> Option<&'a str> {
        self.refusal
    }
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.is_empty())
}

/// Whether a finish reason is Gray Swan's block.
pub(crate) fn is_violation(reason: Option<&FinishReason>) -> bool {
    matches!(reason, Some(FinishReason::Violation))
}

/// The choice `index` as [`Blocked`] when its finish reason is a violation: the one rule every
/// answer type's `blocked()` follows.
pub(crate) fn blocked_if<'a>(
    reason: Option<&FinishReason>,
    index: u32,
    refusal: Option<&'a str>,
    content: Option<&'a str>,
) -> Option<Blocked<'a>> {
    is_violation(reason).then(|| Blocked::new(index, refusal, content))
}

/// An answer Gray Swan blocked, as an error: made by [`ChatCompletion::into_unblocked`] for
/// callers that want a blocked answer on their error path (`cygnet-core` turns it into its
/// `Error::Blocked` with `?`).
///
/// It keeps the whole completion, so nothing the server sent is lost: the refusal, the usage,
/// the other choices.
///
/// ```
/// use cygnet::types::ChatCompletion;
/// let body = r#"{"choices":[{"index":0,"finish_reason":"violation","message":{
///   "content":"Sorry, I can't help with that.","refusal":"Sorry, I can't help with that."}}]}"#;
/// let completion: ChatCompletion = serde_json::from_str(body).unwrap();
/// let blocked = completion.into_unblocked().unwrap_err();
/// assert_eq!(blocked.refusal(), Some("Sorry, I can't help with that."));
/// assert_eq!(
///     blocked.to_string(),
///     "Gray Swan blocked the answer: Sorry, I can't help with that."
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BlockedAnswer {
    // Boxed: the error stays small on the `Err` path of a `Result`.
    completion: Box<ChatCompletion>,
    choice_index: u32,
}

impl BlockedAnswer {
    /// A blocked answer that arrived as text alone (a stream read for its text): one choice
    /// numbered `choice_index` with `content` and `refusal` as they came and finish reason
    /// `violation`.
    pub fn from_text(choice_index: u32, content: Option<String>, refusal: Option<String>) -> Self {
        let message = ResponseMessage {
            content,
            refusal,
            ..ResponseMessage::default()
        };
        let choice = Choice {
            index: choice_index,
            message,
            finish_reason: Some(FinishReason::Violation),
            ..Choice::default()
        };
        let completion = ChatCompletion {
            object: "chat.completion".to_owned(),
            choices: vec![choice],
            ..ChatCompletion::default()
        };
        Self {
            completion: Box::new(completion),
            choice_index,
        }
    }

    /// The `index` of the (first) blocked choice.
    pub fn choice_index(&self) -> u32 {
        self.choice_index
    }

    /// The refusal, as [`Blocked::refusal`] reads it.
    pub fn refusal(&self) -> Option<&str> {
        self.blocked().refusal()
    }

    /// The blocked choice, borrowed.
    pub fn blocked(&self) -> Blocked<'_> {
        self.completion
            .choice(self.choice_index)
            .and_then(Choice::blocked)
            .unwrap_or(Blocked::new(self.choice_index, None, None))
    }

    /// The completion as it came.
    pub fn completion(&self) -> &ChatCompletion {
        &self.completion
    }

    /// The completion as it came, taken out of the error.
    pub fn into_completion(self) -> ChatCompletion {
        *self.completion
    }
}

impl fmt::Display for BlockedAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Gray Swan blocked the answer")?;
        if self.choice_index != 0 {
            write!(f, " (choice {})", self.choice_index)?;
        }
        match self.refusal() {
            Some(refusal) => write!(f, ": {refusal}"),
            None => f.write_str(" (no refusal text)"),
        }
    }
}

impl std::error::Error for BlockedAnswer {}

impl ChatCompletion {
    /// The first choice Gray Swan blocked (`finish_reason: "violation"`), if any: which one,
    /// and its refusal. See [`Blocked`].
    ///
    /// A blocked answer is a successful answer (HTTP 200, the refusal as its content), so
    /// parsing it succeeds; this is how to tell it from an ordinary one.
    pub fn blocked(&self) -> Option<Blocked<'_>> {
        self.choices.iter().find_map(Choice::blocked)
    }

    /// Whether Gray Swan blocked any choice.
    pub fn is_blocked(&self) -> bool {
        self.choices.iter().any(Choice::is_blocked)
    }

    /// Every blocked choice, in the order of `choices`.
    pub fn blocked_choices(&self) -> impl Iterator<Item = Blocked<'_>> {
        self.choices.iter().filter_map(Choice::blocked)
    }

    /// The completion, or, when Gray Swan blocked a choice of it, the [`BlockedAnswer`] error
    /// (which still holds the completion).
    ///
    /// ```
    /// # fn run(completion: cygnet::types::ChatCompletion) -> Result<(), Box<dyn std::error::Error>> {
    /// let completion = completion.into_unblocked()?;
    /// println!("{}", completion.content().unwrap_or_default());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`BlockedAnswer`] when [`ChatCompletion::is_blocked`].
    pub fn into_unblocked(self) -> Result<ChatCompletion, BlockedAnswer> {
        match self.blocked().map(|blocked| blocked.choice_index()) {
            Some(choice_index) => Err(BlockedAnswer {
                completion: Box::new(self),
                choice_index,
            }),
            None => Ok(self),
        }
    }
}

impl Choice {
    /// This choice as [`Blocked`], when Gray Swan blocked it.
    pub fn blocked(&self) -> Option<Blocked<'_>> {
        blocked_if(
            self.finish_reason.as_ref(),
            self.index,
            self.message.refusal.as_deref(),
            self.message.content.as_deref(),
        )
    }

    /// Whether Gray Swan blocked this choice (`finish_reason: "violation"`).
    pub fn is_blocked(&self) -> bool {
        is_violation(self.finish_reason.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(body: &str) -> ChatCompletion {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn only_a_violation_is_blocked_and_the_refusal_falls_back_to_the_content() {
        let ordinary = completion(
            r#"{"choices":[{"index":0,"finish_reason":"stop","message":{"content":"Hi","refusal":"no"}}]}"#,
        );
        assert!(!ordinary.is_blocked());
        assert_eq!(ordinary.blocked(), None);
        assert_eq!(ordinary.clone().into_unblocked(), Ok(ordinary));

        let content_only = completion(
            r#"{"choices":[{"index":0,"finish_reason":"violation","message":{"content":"Blocked."}}]}"#,
        );
        let blocked = content_only.blocked().unwrap();
        assert_eq!(blocked.refusal(), Some("Blocked."));
        assert_eq!(blocked.refusal_field(), None);

        let nothing = completion(
            r#"{"choices":[{"index":0,"finish_reason":"violation","message":{"content":null,"refusal":""}}]}"#,
        );
        assert_eq!(nothing.blocked().unwrap().refusal(), None);
        assert_eq!(
            nothing.into_unblocked().unwrap_err().to_string(),
            "Gray Swan blocked the answer (no refusal text)"
        );
    }

    #[test]
    fn any_blocked_choice_counts_and_the_error_names_it() {
        let two = completion(
            r#"{"choices":[{"index":0,"finish_reason":"stop","message":{"content":"fine"}},
               {"index":1,"finish_reason":"violation","message":{"content":"No.","refusal":"No."}}]}"#,
        );
        assert!(two.is_blocked());
        assert_eq!(two.blocked().unwrap().choice_index(), 1);
        assert_eq!(two.blocked_choices().count(), 1);
        let error = two.clone().into_unblocked().unwrap_err();
        assert_eq!(error.choice_index(), 1);
        assert_eq!(
            error.to_string(),
            "Gray Swan blocked the answer (choice 1): No."
        );
        assert_eq!(error.into_completion(), two);
    }

    #[test]
    fn a_blocked_text_answer_keeps_content_and_refusal() {
        let answer =
            BlockedAnswer::from_text(0, Some("Part. Sorry.".into()), Some("Sorry.".into()));
        assert_eq!(answer.refusal(), Some("Sorry."));
        assert_eq!(answer.completion().content(), Some("Part. Sorry."));
        assert!(answer.completion().is_blocked());
    }
}
