//! Folding a streamed answer back into the completion a non-streaming call returns.
//!
//! [`Accumulator`] is the fold itself: plain data logic with no I/O, no runtime and no
//! allocation beyond appending each delta's text to the strings it keeps. It lives in core
//! rather than in `cygnet-types` because it is client behaviour over a stream, and every
//! consumer of streams (the async [`ChatStream`], the blocking client of `cygnet-hyper`,
//! the mock) already depends on core; it needs nothing of core but the types, so an
//! iterator adapter or a hand-written loop can drive it as easily as a stream.
//!
//! [`AccumulatingStream`] drives it over a stream: it yields every chunk unchanged, so the
//! caller can show text as it arrives, and answers [`AccumulatingStream::completion`] (the
//! answer so far) at any time and [`AccumulatingStream::into_completion`] at the end.
//!
//! # How chunks are merged
//!
//! The rules are those of OpenAI's official client, whose stream format Cygnet speaks:
//!
//! - `id`, `model`, `created` and `system_fingerprint` come from the first chunk that
//!   carries them; `object` is always `chat.completion`.
//! - Choices are told apart by their `index`, may interleave in any order, and come out
//!   sorted by index.
//! - `content` fragments are concatenated; a choice whose deltas never carried content has
//!   `content: None`, as in a reply made only of tool calls.
//! - `refusal` fragments are concatenated like `content`; a choice whose deltas never carried
//!   one has `refusal: None`.
//! - `role` is the last one sent, `assistant` when none was.
//! - `finish_reason` is the last one sent, except that `violation` stays once sent: a choice
//!   Gray Swan blocked never reads as finished normally, whatever follows.
//! - Tool calls are told apart by their `index` within the choice and come out sorted by
//!   it; their `id`, function `name` and `arguments` fragments are concatenated (a server
//!   may split any of them), `type` is the last one sent, `function` when none was.
//! - `usage` is the last one sent, typically by a final chunk with no choices.
//! - `logprobs` fragments are merged: objects key by key, arrays appended, strings
//!   concatenated, any other value replaced. Per-token log probabilities
//!   (`{"content": [...]}`) thus come out as one list.
//!
//! # Blocked answers
//!
//! A stream Gray Swan blocks is cut and ends with a chunk whose finish reason is `violation`
//! and whose delta carries the refusal (in `refusal` and in `content`). The accumulated
//! completion is then blocked too: [`ChatCompletion::blocked`] and
//! [`ChatCompletion::into_unblocked`] work on it as on a whole answer, and
//! [`Accumulator::blocked`] and [`AccumulatingStream::blocked`] say so without building it.
//! Its content is everything the stream sent as content, the refusal included.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use serde_json::Value;

use cygnet_types::{
    Blocked, ChatCompletion, ChatCompletionChunk, Choice, ChunkChoice, FinishReason, FunctionCall,
    ResponseMessage, Role, ToolCall, ToolCallDelta, ToolType, Usage,
};

use crate::error::Result;
use crate::stream::ChatStream;

/// Folds [`ChatCompletionChunk`]s into the [`ChatCompletion`] they spell out.
///
/// Feed it every chunk with [`Accumulator::push`]; ask for the answer so far with
/// [`Accumulator::snapshot`] or take the final one with [`Accumulator::finish`]. See the
/// [module documentation](self) for how fields are merged.
///
/// ```
/// use cygnet::Accumulator;
/// use cygnet::types::{ChatCompletionChunk, FinishReason};
///
/// let events = [
///     r#"{"id":"c1","created":7,"model":"cygnet","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#,
///     r#"{"id":"c1","created":7,"model":"cygnet","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}"#,
///     r#"{"id":"c1","created":7,"model":"cygnet","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
/// ];
/// let mut accumulator = Accumulator::new();
/// for data in events {
///     let chunk: ChatCompletionChunk = serde_json::from_str(data).unwrap();
///     accumulator.push(&chunk);
///     // The answer so far is available at any point.
///     assert!(accumulator.snapshot().content().unwrap().starts_with("Hel"));
/// }
/// let completion = accumulator.finish();
/// assert_eq!(completion.object, "chat.completion");
/// assert_eq!(completion.content(), Some("Hello"));
/// assert_eq!(completion.finish_reason(), Some(&FinishReason::Stop));
/// assert_eq!(completion.usage.unwrap().total_tokens, 5);
/// ```
///
/// It is also [`Extend`] and [`FromIterator`], which makes folding an iterator one line:
///
/// ```
/// # use cygnet::Accumulator;
/// # let chunks: Vec<cygnet::types::ChatCompletionChunk> = Vec::new();
/// let completion = chunks.iter().collect::<Accumulator>().finish();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Accumulator {
    id: String,
    created: i64,
    model: String,
    system_fingerprint: Option<String>,
    /// By `index`. A map rather than a sorted `Vec`: a server may name choices in any order,
    /// highest first included, and inserting at the front of a `Vec` moves all the others
    /// (quadratic over one chunk with many choices); a map finds and inserts in log time and
    /// still lists them sorted.
    choices: BTreeMap<u32, ChoiceState>,
    usage: Option<Usage>,
    chunks: u64,
}

#[derive(Clone, Debug)]
struct ChoiceState {
    index: u32,
    role: Option<Role>,
    content: Option<String>,
    refusal: Option<String>,
    /// By `index`, as the choices are (and for the same reason).
    tool_calls: BTreeMap<u32, ToolCallState>,
    finish_reason: Option<FinishReason>,
    logprobs: Option<Value>,
}

#[derive(Clone, Debug)]
struct ToolCallState {
    id: String,
    kind: Option<ToolType>,
    name: String,
    arguments: String,
}

impl Accumulator {
    /// An accumulator that has seen no chunk yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one chunk in.
    ///
    /// Costs the length of the chunk's deltas: text is appended to the strings already
    /// held, nothing already accumulated is copied.
    pub fn push(&mut self, chunk: &ChatCompletionChunk) {
        self.chunks += 1;
        if self.id.is_empty() && !chunk.id.is_empty() {
            self.id.clone_from(&chunk.id);
        }
        if self.model.is_empty() && !chunk.model.is_empty() {
            self.model.clone_from(&chunk.model);
        }
        if self.created == 0 {
            self.created = chunk.created;
        }
        if self.system_fingerprint.is_none() {
            self.system_fingerprint
                .clone_from(&chunk.system_fingerprint);
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        for choice in &chunk.choices {
            self.choice_mut(choice.index).push(choice);
        }
    }

    /// How many chunks have been pushed.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// The first choice (by index) Gray Swan blocked so far, with the refusal accumulated for
    /// it; see [`Blocked`] and the [module documentation](self#blocked-answers).
    ///
    /// ```
    /// use cygnet::Accumulator;
    /// use cygnet::types::ChatCompletionChunk;
    ///
    /// let events = [
    ///     r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Step one: "}}]}"#,
    ///     r#"{"choices":[{"index":0,"delta":{"content":"Sorry, I can't help with that.",
    ///        "refusal":"Sorry, I can't help with that."},"finish_reason":"violation"}]}"#,
    /// ];
    /// let accumulator: Accumulator = events
    ///     .iter()
    ///     .map(|data| ChatCompletionChunk::from_json(data).unwrap())
    ///     .collect();
    /// let blocked = accumulator.blocked().expect("Gray Swan blocked it");
    /// assert_eq!(blocked.refusal(), Some("Sorry, I can't help with that."));
    /// let completion = accumulator.finish();
    /// assert!(completion.is_blocked());
    /// assert_eq!(completion.content(), Some("Step one: Sorry, I can't help with that."));
    /// ```
    pub fn blocked(&self) -> Option<Blocked<'_>> {
        self.choices.values().find_map(ChoiceState::blocked)
    }

    /// Whether Gray Swan blocked any choice so far.
    pub fn is_blocked(&self) -> bool {
        self.choices.values().any(ChoiceState::is_blocked)
    }

    /// The completion as far as the chunks pushed so far spell it out.
    ///
    /// Copies the accumulated text; call it when the caller wants to look, not per chunk.
    pub fn snapshot(&self) -> ChatCompletion {
        self.clone().finish()
    }

    /// The final completion, moving the accumulated text out without copying it.
    pub fn finish(self) -> ChatCompletion {
        let mut completion = ChatCompletion::default();
        completion.id = self.id;
        completion.object = "chat.completion".to_owned();
        completion.created = self.created;
        completion.model = self.model;
        completion.system_fingerprint = self.system_fingerprint;
        completion.usage = self.usage;
        completion.choices = self
            .choices
            .into_values()
            .map(ChoiceState::finish)
            .collect();
        completion
    }

    fn choice_mut(&mut self, index: u32) -> &mut ChoiceState {
        self.choices
            .entry(index)
            .or_insert_with(|| ChoiceState::new(index))
    }
}

impl Extend<ChatCompletionChunk> for Accumulator {
    fn extend<I: IntoIterator<Item = ChatCompletionChunk>>(&mut self, chunks: I) {
        for chunk in chunks {
            self.push(&chunk);
        }
    }
}

impl<'a> Extend<&'a ChatCompletionChunk> for Accumulator {
    fn extend<I: IntoIterator<Item = &'a ChatCompletionChunk>>(&mut self, chunks: I) {
        for chunk in chunks {
            self.push(chunk);
        }
    }
}

impl FromIterator<ChatCompletionChunk> for Accumulator {
    fn from_iter<I: IntoIterator<Item = ChatCompletionChunk>>(chunks: I) -> Self {
        let mut accumulator = Self::new();
        accumulator.extend(chunks);
        accumulator
    }
}

impl<'a> FromIterator<&'a ChatCompletionChunk> for Accumulator {
    fn from_iter<I: IntoIterator<Item = &'a ChatCompletionChunk>>(chunks: I) -> Self {
        let mut accumulator = Self::new();
        accumulator.extend(chunks);
        accumulator
    }
}

impl ChoiceState {
    fn new(index: u32) -> Self {
        Self {
            index,
            role: None,
            content: None,
            refusal: None,
            tool_calls: BTreeMap::new(),
            finish_reason: None,
            logprobs: None,
        }
    }

    fn push(&mut self, choice: &ChunkChoice) {
        let delta = &choice.delta;
        if delta.role.is_some() {
            self.role.clone_from(&delta.role);
        }
        if let Some(content) = &delta.content {
            self.content
                .get_or_insert_with(String::new)
                .push_str(content);
        }
        if let Some(refusal) = &delta.refusal {
            self.refusal
                .get_or_insert_with(String::new)
                .push_str(refusal);
        }
        for call in delta.tool_calls.iter().flatten() {
            self.tool_call_mut(call.index).push(call);
        }
        // A block stays: a later finish reason does not make the choice read as ordinary.
        if choice.finish_reason.is_some() && !self.is_blocked() {
            self.finish_reason.clone_from(&choice.finish_reason);
        }
        if let Some(logprobs) = &choice.logprobs {
            match &mut self.logprobs {
                Some(held) => merge_json(held, logprobs),
                None => self.logprobs = Some(logprobs.clone()),
            }
        }
    }

    fn is_blocked(&self) -> bool {
        matches!(self.finish_reason, Some(FinishReason::Violation))
    }

    fn blocked(&self) -> Option<Blocked<'_>> {
        self.is_blocked()
            .then(|| Blocked::new(self.index, self.refusal.as_deref(), self.content.as_deref()))
    }

    fn tool_call_mut(&mut self, index: u32) -> &mut ToolCallState {
        self.tool_calls
            .entry(index)
            .or_insert_with(ToolCallState::new)
    }

    fn finish(self) -> Choice {
        let tool_calls = (!self.tool_calls.is_empty()).then(|| {
            self.tool_calls
                .into_values()
                .map(ToolCallState::finish)
                .collect()
        });
        choice(
            self.index,
            self.role,
            (self.content, self.refusal),
            tool_calls,
            self.finish_reason,
            self.logprobs,
        )
    }
}

fn choice(
    index: u32,
    role: Option<Role>,
    (content, refusal): (Option<String>, Option<String>),
    tool_calls: Option<Vec<ToolCall>>,
    finish_reason: Option<FinishReason>,
    logprobs: Option<Value>,
) -> Choice {
    // The wire types are `#[non_exhaustive]`, so they are built field by field.
    let mut message = ResponseMessage::default();
    message.role = role.unwrap_or(Role::Assistant);
    message.content = content;
    message.refusal = refusal;
    message.tool_calls = tool_calls;
    let mut choice = Choice::default();
    choice.index = index;
    choice.message = message;
    choice.finish_reason = finish_reason;
    choice.logprobs = logprobs;
    choice
}

impl ToolCallState {
    fn new() -> Self {
        Self {
            id: String::new(),
            kind: None,
            name: String::new(),
            arguments: String::new(),
        }
    }

    fn push(&mut self, delta: &ToolCallDelta) {
        if let Some(id) = &delta.id {
            self.id.push_str(id);
        }
        if delta.kind.is_some() {
            self.kind.clone_from(&delta.kind);
        }
        if let Some(function) = &delta.function {
            if let Some(name) = &function.name {
                self.name.push_str(name);
            }
            if let Some(arguments) = &function.arguments {
                self.arguments.push_str(arguments);
            }
        }
    }

    fn finish(self) -> ToolCall {
        tool_call(self.id, self.kind, self.name, self.arguments)
    }
}

fn tool_call(id: String, kind: Option<ToolType>, name: String, arguments: String) -> ToolCall {
    let mut function = FunctionCall::default();
    function.name = name;
    function.arguments = arguments;
    let mut call = ToolCall::default();
    call.id = id;
    call.kind = kind.unwrap_or_default();
    call.function = function;
    call
}

/// Merges a streamed JSON fragment into what has been held so far: objects key by key,
/// arrays appended, strings concatenated, anything else (numbers, booleans, a change of
/// shape) replaced. `null` fragments carry nothing and are skipped.
fn merge_json(held: &mut Value, fragment: &Value) {
    match (held, fragment) {
        (_, Value::Null) => {}
        (Value::Object(held), Value::Object(fragment)) => {
            for (key, value) in fragment {
                match held.get_mut(key) {
                    Some(slot) => merge_json(slot, value),
                    None => {
                        held.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(held), Value::Array(fragment)) => held.extend(fragment.iter().cloned()),
        (Value::String(held), Value::String(fragment)) => held.push_str(fragment),
        (held, fragment) => *held = fragment.clone(),
    }
}

pin_project_lite::pin_project! {
    /// A chunk stream that also folds every chunk into an [`Accumulator`].
    ///
    /// Made by [`ChatStream::accumulate`] (or [`AccumulatingStream::new`] over any stream of
    /// chunks). It yields each chunk and each error unchanged, so the caller can show text
    /// as it arrives; [`AccumulatingStream::completion`] is the answer so far and
    /// [`AccumulatingStream::into_completion`] the final one.
    ///
    /// ```no_run
    /// # async fn run(client: cygnet::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// let mut stream = client.chat_stream(&request).await?.accumulate();
    /// while let Some(chunk) = stream.next_chunk().await {
    ///     if let Some(text) = chunk?.text_delta() {
    ///         print!("{text}");
    ///     }
    /// }
    /// let completion = stream.into_completion();
    /// println!("\nfinish reason: {:?}, usage: {:?}", completion.finish_reason(), completion.usage);
    /// # Ok(())
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct AccumulatingStream<S = ChatStream> {
        #[pin]
        inner: S,
        accumulator: Accumulator,
    }
}

impl<S> AccumulatingStream<S> {
    /// Wraps any stream of chunks.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            accumulator: Accumulator::new(),
        }
    }

    /// The completion as far as the chunks yielded so far spell it out.
    pub fn completion(&self) -> ChatCompletion {
        self.accumulator.snapshot()
    }

    /// The accumulated completion, final once the stream has ended.
    ///
    /// Called earlier (after an error, or to stop reading), it is the part received so far.
    pub fn into_completion(self) -> ChatCompletion {
        self.accumulator.finish()
    }

    /// The accumulator, to inspect it without copying a snapshot.
    pub fn accumulator(&self) -> &Accumulator {
        &self.accumulator
    }

    /// The first choice Gray Swan blocked in the chunks yielded so far; see
    /// [`Accumulator::blocked`].
    pub fn blocked(&self) -> Option<Blocked<'_>> {
        self.accumulator.blocked()
    }

    /// Whether Gray Swan blocked any choice in the chunks yielded so far.
    pub fn is_blocked(&self) -> bool {
        self.accumulator.is_blocked()
    }

    /// The stream underneath (for [`ChatStream::status`] and [`ChatStream::headers`]).
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S> AccumulatingStream<S>
where
    S: Stream<Item = Result<ChatCompletionChunk>> + Unpin,
{
    /// Waits for the next chunk, folded in before it is returned; `None` at the end.
    pub async fn next_chunk(&mut self) -> Option<Result<ChatCompletionChunk>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Reads the stream to its end and returns the completion; the first error ends it.
    ///
    /// A stream Gray Swan blocked gives a blocked completion, `Ok`: check
    /// [`ChatCompletion::blocked`], or add [`ChatCompletion::into_unblocked`] and `?` to make
    /// it [`Error::Blocked`](crate::Error::Blocked).
    ///
    /// ```no_run
    /// # async fn run(client: cygnet::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// let completion = client.chat_stream(&request).await?.accumulate().collect_completion().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// Every error the stream yields ([`Error::Api`](crate::Error::Api) for an error sent in the stream,
    /// [`Error::Stream`](crate::Error::Stream) for one that ends without `[DONE]`, a timeout or a transport failure); the first one
    /// ends the read.
    pub async fn collect_completion(mut self) -> Result<ChatCompletion> {
        while let Some(chunk) = self.next_chunk().await {
            chunk?;
        }
        Ok(self.into_completion())
    }
}

impl<S> Stream for AccumulatingStream<S>
where
    S: Stream<Item = Result<ChatCompletionChunk>>,
{
    type Item = Result<ChatCompletionChunk>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let polled = this.inner.poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            this.accumulator.push(chunk);
        }
        polled
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// How a chat stream becomes a completion; here rather than in the stream module, so the
/// stream knows nothing of what is built on it.
impl ChatStream {
    /// Folds every chunk into the completion while still yielding each one; see
    /// [`AccumulatingStream`].
    ///
    /// ```no_run
    /// # async fn run(client: cygnet::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// let mut stream = client.chat_stream(&request).await?.accumulate();
    /// while let Some(chunk) = stream.next_chunk().await {
    ///     print!("{}", chunk?.text_delta().unwrap_or_default());
    /// }
    /// println!("\n{:?}", stream.into_completion().usage);
    /// # Ok(())
    /// # }
    /// ```
    pub fn accumulate(self) -> AccumulatingStream {
        AccumulatingStream::new(self)
    }

    /// Reads the stream to its end and returns the completion a non-streaming call would
    /// have returned; the first error ends it.
    ///
    /// A blocked stream gives a blocked completion, as [`AccumulatingStream::collect_completion`]
    /// does.
    ///
    /// ```no_run
    /// # async fn run(client: cygnet::Client, request: cygnet::types::ChatCompletionRequest)
    /// #     -> cygnet::Result<()> {
    /// let completion = client.chat_stream(&request).await?.collect_completion().await?;
    /// println!("{}", completion.content().unwrap_or_default());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`AccumulatingStream::collect_completion`]: the first error of the stream.
    pub async fn collect_completion(self) -> Result<cygnet_types::ChatCompletion> {
        self.accumulate().collect_completion().await
    }
}
