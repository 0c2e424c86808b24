//! The hyper + rustls + tokio transport for the cygnet client, and a blocking client.
//!
//! - [`HyperTransport`] implements [`cygnet_core::Transport`] over hyper-util's pooled client
//!   with verified HTTPS (rustls), HTTP/1.1 and HTTP/2; see [`transport`].
//! - [`from_env`] and [`builder`] give an async [`cygnet_core::Client`] over it in one call.
//! - [`blocking::Client`] is the same client for code that is not async; it needs no runtime
//!   from its caller.
//!
//! ```no_run
//! use cygnet::types::{ChatCompletionRequest, Message};
//!
//! # async fn run() -> Result<(), cygnet::Error> {
//! let client = cygnet::from_env()?; // GRAYSWAN_API_KEY, optional GRAY_SWAN_BASE_URL
//! let request = ChatCompletionRequest::new(
//!     "cygnet",
//!     vec![
//!         Message::system("You are a helpful assistant."),
//!         Message::user("What is a large language model?"),
//!     ],
//! );
//! let completion = client.chat(&request).await?;
//! println!("{}", completion.content().unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! # Features
//! - `webpki-roots` (default): trust the Mozilla roots bundled with the crate.
//! - `native-roots`: also trust the platform's certificate store.
//! - `platform-verifier`: verify certificates with the operating system's verifier and store
//!   instead (rustls-platform-verifier), for a corporate CA installed there.
//! - `http2` (default): offer HTTP/2 by ALPN.
//! - `blocking` (default): the [`blocking`] client, which runs its own tokio runtime.
//!
//! Links to items behind a feature that is off lead to docs.rs, which documents every feature.
//!
#![cfg_attr(
    not(feature = "blocking"),
    doc = "[`blocking`]: https://docs.rs/cygnet-hyper/latest/cygnet_hyper/blocking/index.html",
    doc = "[`blocking::Client`]: https://docs.rs/cygnet-hyper/latest/cygnet_hyper/blocking/struct.Client.html"
)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
mod lazy_tls;
pub mod proxy;
pub mod tls;
pub mod transport;

pub use transport::{HyperTransport, HyperTransportBuilder};

/// An async client configured from the environment (`GRAYSWAN_API_KEY`, and
/// `GRAY_SWAN_BASE_URL` defaulting to `https://api.grayswan.ai`) over [`HyperTransport`].
///
/// Use it from within a tokio runtime; see [`blocking::Client::from_env`] otherwise.
///
/// # Errors
///
/// [`cygnet_core::Error::Config`] when `GRAYSWAN_API_KEY` is missing or invalid, or
/// `GRAY_SWAN_BASE_URL` is not a usable URL; nothing is sent before.
#[cfg_attr(
    not(feature = "blocking"),
    doc = "",
    doc = "[`blocking::Client::from_env`]: https://docs.rs/cygnet-hyper/latest/cygnet_hyper/blocking/struct.Client.html#method.from_env"
)]
pub fn from_env() -> Result<cygnet_core::Client, cygnet_core::Error> {
    builder().build()
}

/// A client builder preset from the environment with [`HyperTransport::new`]; override what
/// you need before [`build`](cygnet_core::ClientBuilder::build).
///
/// This is where to start for the real API from async code (`cygnet::builder()`):
/// `Client::builder()` has no transport, since the core crate names no HTTP stack (see
/// [which entry point](cygnet_core::ClientBuilder#which-entry-point)).
///
/// ```
/// let client = cygnet::builder()
///     .api_key("sk-test-fake")
///     .max_retries(5)
///     .build()?;
/// # Ok::<(), cygnet::Error>(())
/// ```
pub fn builder() -> cygnet_core::ClientBuilder {
    cygnet_core::ClientBuilder::from_env().transport(HyperTransport::new())
}
