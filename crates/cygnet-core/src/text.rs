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

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use cygnet_types::ChatCompletionChunk;

use crate::accumulate::AccumulatingStream;
use crate::error::Result;
use crate::stream::ChatStream;

/// A stream of chunks whose text a [`TextStream`] can read.
///
/// [`ChatStream`] lends each chunk, so only its text is copied. Any other stream of owned
/// chunks takes the provided method, which reads the owned chunk's text, with an empty impl:
///
/// ```
/// # use std::{pin::Pin, task::{Context, Poll}};
/// # use cygnet_core::{types::ChatCompletionChunk, Result, TextSource, TextStream};
/// struct Replayed(Vec<ChatCompletionChunk>);
///
/// impl futures_core::Stream for Replayed {
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
}

impl TextSource for ChatStream {
    fn poll_text_delta(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Option<String>>>> {
        self.get_mut()
            .poll_chunk_with(cx, |chunk| chunk.text_delta().map(str::to_owned))
    }
}

impl<S> TextSource for AccumulatingStream<S> where S: Stream<Item = Result<ChatCompletionChunk>> {}

pin_project_lite::pin_project! {
    /// A stream of the text pieces of choice 0, made by [`ChatStream::text`].
    ///
    /// Errors pass through unchanged and end the stream, as they end a [`ChatStream`].
    ///
    /// ```no_run
    /// # async fn run(client: cygnet_core::Client, request: cygnet_types::ChatCompletionRequest)
    /// #     -> cygnet_core::Result<()> {
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
    }
}

impl<S> TextStream<S> {
    /// Wraps a stream of chunks; see [`TextSource`].
    pub fn new(inner: S) -> Self {
        Self { inner }
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
    /// # Errors
    ///
    /// The first error of the stream underneath, as [`ChatStream::next_chunk`](crate::ChatStream::next_chunk) gives it.
    pub async fn collect_text(mut self) -> Result<String> {
        let mut text = String::new();
        while let Some(piece) = self.next_text().await {
            text.push_str(&piece?);
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
        let mut inner = self.project().inner;
        // Loop past chunks without text rather than waking ourselves: they are already here.
        loop {
            match inner.as_mut().poll_text_delta(cx) {
                Poll::Ready(Some(Ok(Some(text)))) => return Poll::Ready(Some(Ok(text))),
                Poll::Ready(Some(Ok(None))) => {}
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
    /// # async fn run(client: cygnet_core::Client, request: cygnet_types::ChatCompletionRequest)
    /// #     -> cygnet_core::Result<()> {
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
