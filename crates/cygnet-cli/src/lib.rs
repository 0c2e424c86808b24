//! The `cygnet` command: Gray Swan's Cygnet API from a shell.
//!
//! This library is the command's logic, kept apart from `main` so that its tests can drive it
//! on cygnet's mock transport. It follows the binary: it is not meant as an API of its own.
//!
//! - [`args`]: the command line (clap).
//! - [`connect`]: the client, online from the environment and the global flags, or offline.
//! - [`input`]: reading prompts and `--data` files, bounded and UTF-8 only.
//! - [`chat`]: one answer (streamed, whole or as JSON) and the interactive conversation.
//! - [`moderate`]: a moderation verdict and its exit status.
//! - [`monitor`]: the Cygnal monitor's decision and its exit status.
//! - [`route`]: Cygnet's chat completions or Cygnal's protected ones (`chat --cygnal`).
//! - [`output`]: writing to standard output, where a closed pipe is a quiet end.
//! - [`failure`]: what can end the command, its exit status and how it is reported.
//! - [`app`]: ties them together for `main`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod app;
pub mod args;
pub mod chat;
pub mod connect;
pub mod failure;
// Below `output` and `failure` alike; its items are re-exported by `output`.
mod escape;
pub mod input;
pub mod moderate;
pub mod monitor;
pub mod output;
pub mod route;

pub use failure::{Failure, Outcome};
