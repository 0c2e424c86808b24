//! Record and replay: a [`Recorder`](recorder::Recorder) that writes real exchanges into a
//! cassette file, a [`Replayer`](replay::Replayer) that answers from one, and the
//! [`Cassette`](cassette::Cassette) switch between them.
//!
//! It is half of this crate and a world of its own: a file format, a lock between
//! processes, redaction of secrets and a matching of requests, none of which the scripted
//! mock ([`MockTransport`](crate::MockTransport), [`MockReply`](crate::MockReply)) needs. So
//! it lives in this folder, where its modules see each other as siblings (`super::`) and the
//! rest of the crate as the crate; the scripted mock never reaches in here. Its modules
//! depend on each other one way only (the workspace's module-circle test checks):
//!
//! - `cassette` (the switch) uses `recorder`, `replay`, `cassette_format` and `redact`;
//! - `recorder` uses `lock`, `cassette_format` and `redact`; `replay` uses
//!   `cassette_format` and `redact`;
//! - `lock` uses `cassette_format`, which uses `redact`, which uses nothing of the crate.
//!
//! Every public item is re-exported where it was before this folder existed
//! (`cygnet_mock::cassette`, `cygnet_mock::cassette_format`, `cygnet_mock::recorder`,
//! `cygnet_mock::replay`, `cygnet_mock::redact`, and the crate root), so no user's path
//! changed.

pub mod cassette;
pub mod cassette_format;
mod lock;
pub mod recorder;
pub mod redact;
pub mod replay;
