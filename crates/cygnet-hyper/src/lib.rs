//! The hyper + rustls + tokio transport for the cygnet client.
//!
//! [`HyperTransport`] implements [`cygnet_core::Transport`] over hyper-util's pooled client
//! with verified HTTPS (rustls), HTTP/1.1 and HTTP/2.
//!
//! # Features
//! - `webpki-roots` (default): trust the Mozilla roots bundled with the crate.
//! - `native-roots`: also trust the platform's certificate store.
//! - `http2` (default): offer HTTP/2 by ALPN.
//! - `blocking` (default): the blocking client, which runs its own tokio runtime.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod transport;

pub use transport::{HyperTransport, HyperTransportBuilder};
