//! The transport-agnostic client for Gray Swan's Cygnet API.
//!
//! This crate builds requests, retries them, times them out, decodes server-sent events and
//! turns them into typed chat streams. It names no async runtime and no HTTP library: those
//! come from a [`Transport`], such as `cygnet-hyper` for real traffic or `cygnet-mock` for
//! tests.
//!
//! # Blocked answers
//!
//! Gray Swan answers a request it blocks (Cygnal's guard, or Cygnet with `moderate_before`)
//! with HTTP 200: the choice's finish reason is `violation` and its content is the refusal
//! ("Sorry, I can't help with that."), which the message also carries as `refusal`; a stream
//! is cut and ends the same way. [`Client::chat`] and [`Client::chat_stream`] return such an
//! answer as `Ok`, because it is the answer the server sent, whole, with its usage, and its
//! content is the refusal an application may want to show. But it must not be taken for the
//! model's answer, so every form of it says so, without string matching:
//!
//! - a completion (whole or accumulated): [`ChatCompletion::blocked`](types::ChatCompletion::blocked)
//!   and `is_blocked()`, giving the blocked choice's index and the refusal;
//! - a chunk: [`ChatCompletionChunk::blocked`](types::ChatCompletionChunk::blocked) and
//!   `is_blocked()` (the borrowed chunk too);
//! - a stream being read: [`AccumulatingStream::blocked`] and [`TextStream::blocked`].
//!
//! To have a blocked answer on the error path instead, add
//! [`into_unblocked`](types::ChatCompletion::into_unblocked) and `?`: it gives
//! [`Error::Blocked`], which keeps the completion. [`TextStream::collect_text`], which returns
//! bare text that could not say it was blocked, fails that way by itself.
//!
//! ```
//! # async fn run(client: cygnet::Client, request: cygnet::types::ChatCompletionRequest)
//! #     -> cygnet::Result<()> {
//! let completion = client.chat(&request).await?;
//! if let Some(blocked) = completion.blocked() {
//!     eprintln!("Gray Swan blocked the answer: {}", blocked.refusal().unwrap_or_default());
//! }
//! // Or: a blocked answer is an error.
//! let completion = client.chat(&request).await?.into_unblocked()?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![forbid(unsafe_code)]

pub mod accumulate;
mod answer;
mod call_context;
pub mod client;
pub mod config;
pub mod cygnal;
mod engine;
pub mod error;
pub mod guard;
pub mod options;
pub mod redact;
pub mod retry;
pub mod sse;
pub mod stream;
pub mod text;
pub mod transport;

pub use accumulate::{AccumulatingStream, Accumulator};
pub use call_context::{CallContext, RequestTarget};
pub use client::{ApiResponse, Client, RawResponse};
pub use config::{ApiKey, ClientBuilder, Limits};
pub use cygnal::{Cygnal, CygnalControls, ProviderKey, CYGNAL_CHAT_COMPLETIONS_PATH};
pub use cygnet_types as types;
pub use error::{
    ApiError, ApiErrorKind, DecodeError, Error, Result, StreamError, TimeoutError, TimeoutKind,
};
pub use options::{is_sensitive_header, RequestOptions, SENSITIVE_HEADERS};
pub use stream::{ChatStream, SseStream};
pub use text::{TextPiece, TextSource, TextStream};
pub use transport::{Body, Transport, TransportError, TransportErrorKind};
