//! The workspace's test kit: what every test crate of cygnet needs and would otherwise write
//! again.
//!
//! - [`fixtures`]: the seed conversation, the exact body Gray Swan's official client sends for
//!   it, and well-formed completion, chunk and server-sent-event bodies.
//! - [`canned`]: [`Canned`], a [`Transport`](cygnet_core::Transport) that answers from a script
//!   and keeps what it was sent, for core's own tests (which cannot use `cygnet-mock` without
//!   testing core through a second client implementation's eyes) and for faults in other crates.
//! - [`collect`]: [`streamed_text`], [`streamed_completion`], [`stream_items`] and
//!   [`chunks_then_error`], a chat stream read whole or to its first error.
//! - [`fail_closed`]: [`decode_error_naming`] and [`api_error_saying`], the errors a 2xx answer
//!   that is not the one asked for must give.
//! - [`blocked`]: [`assert_blocked_completion`] and [`assert_blocked_stream`], what an answer
//!   Gray Swan blocked must read as in every form, and [`assert_api_error`] for its error
//!   envelope.
//! - [`scratch`]: [`fresh_dir`], a directory path of its own for each test that writes files.
//! - [`bound`]: time bounds, so a hang fails its test instead of blocking CI; runtime-agnostic.
//! - [`server`]: [`Server`], a scripted HTTP/1.1 loopback server on a std thread that records
//!   each [`Received`] request and can hold a streamed answer half-way; no runtime needed.
//! - [`wire`] (feature `tokio`): a raw HTTP/1.1 loopback server's building blocks, for tests that
//!   must control every byte on the wire (a half-sent body, a reset, a drip).
//!
//! Not published: test crates depend on it by path.

pub mod blocked;
pub mod bound;
pub mod canned;
pub mod collect;
pub mod fail_closed;
pub mod fixtures;
pub mod received;
pub mod scratch;
pub mod server;
#[cfg(feature = "tokio")]
pub mod wire;

pub use blocked::{
    assert_api_error, assert_blocked_completion, assert_blocked_stream, assert_not_blocked,
};
pub use bound::{bounded, bounded_thread, TEST_TIMEOUT};
pub use canned::{Canned, CannedReply};
pub use collect::{chunks_then_error, stream_items, streamed_completion, streamed_text};
pub use fail_closed::{api_error_saying, decode_error_naming};
pub use fixtures::*;
pub use received::Received;
pub use scratch::fresh_dir;
pub use server::Server;
