//! Just the text of a streamed answer, for the common case of printing it as it comes.
//!
//! [`TextStream`] yields the non-empty content deltas of choice 0, as
//! [`ChatCompletionChunk::into_text_delta`] picks them: chunks that carry only a role, a
//! tool-call fragment or usage yield nothing, and other choices (`n` > 1) are ignored. Use
//! [`ChatStream::accumulate`](crate::ChatStream::accumulate) when you need those too.
//!
//! From a [`ChatStream`] it reads each chunk borrowed from the read buffer
//! ([`ChatStream::poll_chunk_with`]) and copies out only the text, rather than building the
//! owned chunk (its id, model and choices) just to take the text out of it.
//!
//! # Blocked answers
//!
//! When Gray Swan blocks the answer, the stream is cut and its last chunk carries the refusal
//! as content, so the pieces read like any others, refusal included. The text stream notes
//! the block: [`TextStream::blocked`] and [`TextStream::is_blocked`] say so once the chunk has
//! arrived, and [`TextStream::collect_text`], whose `String` alone could not say it, fails
//! with [`Error::Blocked`](crate::Error::Blocked) holding the text and the refusal.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use cygnet_types::{Blocked, BlockedAnswer, ChatCompletionChunk, ChatCompletionChunkRef};

use crate::accumulate::AccumulatingStream;
use crate::error::Result;
use crate::stream::ChatStream;

/// What one chunk gives a [`TextStream`]: the text it adds to choice 0 and whether it ends
/// choice 0 blocked, with the part of the refusal it carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TextPiece {
    /// The text the chunk adds to choice 0, as [`ChatCompletionChunk::text_delta`] picks it.
    pub text: Option<String>,
    /// The part of choice 0's `refusal` the chunk carries.
    pub refusal: Option<String>,
    /// Whether the chunk ends choice 0 blocked (`finish_reason: "violation"`).
    pub blocked: bool,
}

impl TextPiece {
    /// The piece of an owned chunk, taking its text out without copying it.
    pub fn from_chunk(chunk: ChatCompletionChunk) -> Self {
        let Some(choice) = chunk.choices.into_iter().find(|choice| choice.index == 0) else {
            return Self::default();
        };
        Self {
            blocked: choice.is_blocked(),
            text: choice.delta.content.filter(|text| !text.is_empty()),
            refusal: choice.delta.refusal.filter(|text| !text.is_empty()),
        }
    }

    /// The piece of a borrowed chunk, copying out only its text.
    pub fn from_chunk_ref(chunk: &ChatCompletionChunkRef<'_>) -> Self {
        let Some(choice) = chunk.choice(0) else {
            return Self::default();
        };
        Self {
            blocked: choice.is_blocked(),
            text: chunk.text_delta().map(str::to_owned),
            refusal: choice
                .delta
                .refusal
                .as_deref()
                .filter(|text| !text.is_empty())
                .map(str::to_owned),
        }
    }
}

/// A stream of chunks whose text a [`TextStream`] can read.
///
/// [`ChatStream`] lends each chunk, so only its text is copied. Any other stream of owned
/// chunks takes the provided methods, which read the owned chunk, with an empty impl:
///
/// ```
/// # use std::{pin::Pin, task::{Context, Poll}};
/// # use cygnet::{types::ChatCompletionChunk, Result, TextSource, TextStream};
/// struct Replayed(Vec<ChatCompletionChunk>);
///
/// impl cygnet::Stream for Replayed {
///     type Item = Result<ChatCompletionChunk>;
///     fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
///         Poll::Ready(self.0.pop().map(Ok))
///     }
/// }
///
/// impl TextSource for Replayed {}
///
/// let text = TextStream::new(Replayed(Vec::new()));
/// # let _ = text;
/// ```
pub trait TextSource: Stream<Item = Result<ChatCompletionChunk>> {
    /// Polls for the next chunk and gives the text it adds to choice 0 (`Ok(None)` for a
    /// chunk without any), as [`ChatCompletionChunk::text_delta`] picks it.
    fn poll_text_delta(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Option<String>>>> {
        self.poll_next(cx)
            .map(|item| item.map(|chunk| chunk.map(ChatCompletionChunk::into_text_delta)))
    }

    /// Polls for the next chunk and gives its [`TextPiece`]: the text it adds to choice 0, and
    /// whether it ends choice 0 blocked. This is what [`TextStream`] reads.
    fn poll_text_piece(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<TextPiece>>> {
        self.poll_next(cx)
            .map(|item| item.map(|chunk| chunk.map(TextPiece::from_chunk)))
    }
}

impl TextSource for ChatStream {
    fn poll_text_delta(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Option<String>>>> {
        self.get_mut()
            .poll_chunk_with(cx, |chunk| chunk.text_delta().map(str::to_owned))
    }

    fn poll_text_piece(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<TextPiece>>> {
        self.get_mut()
            .poll_chunk_with(cx, |chunk| TextPiece::from_chunk_ref(&chunk))
    }
}

impl<S> TextSource for AccumulatingStream<S> where S: Stream<Item = Result<ChatCompletionChunk>> {}

pin_project_lite::pin_project! {
    /// A stream of the text pieces of choice 0, made by [`ChatStream::text`].
    ///
    /// Errors pass through unchanged and end the stream, as they end a [`ChatStream`]. A block
    /// is noted as it passes: see [`TextStream::blocked`] and the
    /// [module documentation](self#blocked-answers).
    ///
    /// ```no_run
    /// # async fn run(client: cygnet::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// let mut text = client.chat_stream(&request).await?.text();
    /// while let Some(piece) = text.next_text().await {
    ///     print!("{}", piece?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct TextStream<S = ChatStream> {
        #[pin]
        inner: S,
        blocked: bool,
        refusal: Option<String>,
    }
}

impl<S> TextStream<S> {
    /// Wraps a stream of chunks; see [`TextSource`].
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            blocked: false,
            refusal: None,
        }
    }

    /// Whether Gray Swan blocked choice 0, as far as the stream has been read; then the
    /// refusal the chunks carried (the text pieces included it as content).
    pub fn blocked(&self) -> Option<Blocked<'_>> {
        self.blocked
            .then(|| Blocked::new(0, self.refusal.as_deref(), None))
    }

    /// Whether Gray Swan blocked choice 0, as far as the stream has been read.
    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// The stream underneath (for [`ChatStream::status`] and [`ChatStream::headers`]).
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The stream underneath, to read the rest of it chunk by chunk.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> TextStream<S>
where
    S: TextSource + Unpin,
{
    /// Waits for the next piece of text; `None` at the end.
    pub async fn next_text(&mut self) -> Option<Result<String>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Reads the stream to its end and returns all of choice 0's text; the first error
    /// ends it.
    ///
    /// # Blocked answers
    ///
    /// A `String` cannot say that Gray Swan blocked the answer, and the text of a blocked
    /// stream is (or ends with) the refusal, so a blocked stream is an error here:
    /// [`Error::Blocked`](crate::Error::Blocked), whose completion holds the text as its
    /// content and the refusal. Read the pieces with [`TextStream::next_text`] and ask
    /// [`TextStream::blocked`] to have the text either way.
    ///
    /// # Errors
    ///
    /// The first error of the stream underneath, as [`ChatStream::next_chunk`](crate::ChatStream::next_chunk) gives it;
    /// [`Error::Blocked`](crate::Error::Blocked) when Gray Swan blocked choice 0.
    pub async fn collect_text(mut self) -> Result<String> {
        let mut text = String::new();
        while let Some(piece) = self.next_text().await {
            text.push_str(&piece?);
        }
        if self.blocked {
            let content = (!text.is_empty()).then_some(text);
            return Err(BlockedAnswer::from_text(0, content, self.refusal.take()).into());
        }
        Ok(text)
    }
}

impl<S> Stream for TextStream<S>
where
    S: TextSource,
{
    type Item = Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        // Loop past chunks without text rather than waking ourselves: they are already here.
        loop {
            match this.inner.as_mut().poll_text_piece(cx) {
                Poll::Ready(Some(Ok(piece))) => {
                    *this.blocked |= piece.blocked;
                    if let Some(refusal) = piece.refusal {
                        this.refusal
                            .get_or_insert_with(String::new)
                            .push_str(&refusal);
                    }
                    if let Some(text) = piece.text {
                        return Poll::Ready(Some(Ok(text)));
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Any chunk may carry no text, so nothing is known below.
        (0, self.inner.size_hint().1)
    }
}

/// How a chat stream becomes text; here rather than in the stream module, so the stream
/// knows nothing of what is built on it.
impl ChatStream {
    /// Just the text of choice 0, piece by piece; see [`TextStream`].
    ///
    /// ```no_run
    /// # async fn run(client: cygnet::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// let mut text = client.chat_stream(&request).await?.text();
    /// while let Some(piece) = text.next_text().await {
    ///     print!("{}", piece?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn text(self) -> TextStream {
        TextStream::new(self)
    }
}
