//! The transport-agnostic client for Gray Swan's Cygnet API.
//!
//! This crate builds requests, retries them, times them out, decodes server-sent events and
//! turns them into typed chat streams. It names no async runtime and no HTTP library: those
//! come from a [`Transport`], such as `cygnet-hyper` for real traffic or `cygnet-mock` for
//! tests.
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![forbid(unsafe_code)]

pub mod accumulate;
mod answer;
mod call_context;
pub mod client;
pub mod config;
mod engine;
pub mod error;
pub mod options;
pub mod retry;
pub mod sse;
pub mod stream;
pub mod text;
pub mod transport;

pub use accumulate::{AccumulatingStream, Accumulator};
pub use call_context::{CallContext, RequestTarget};
pub use client::{ApiResponse, Client, RawResponse};
pub use config::{ApiKey, ClientBuilder, Limits};
pub use cygnet_types as types;
pub use error::{
    ApiError, ApiErrorKind, DecodeError, Error, Result, StreamError, TimeoutError, TimeoutKind,
};
pub use options::{is_sensitive_header, RequestOptions, SENSITIVE_HEADERS};
pub use stream::{ChatStream, SseStream};
pub use text::{TextSource, TextStream};
pub use transport::{Body, Transport, TransportError, TransportErrorKind};
