//! Compile-time checks of the API guidelines the crate promises: shareable clients, errors
//! that cross threads and box into `dyn Error`, streams that move between tasks.

use cygnet_core::{
    AccumulatingStream, ApiError, ChatStream, Client, ClientBuilder, DecodeError, Error,
    RequestOptions, SseStream, StreamError, TextStream, TransportError,
};

fn shareable<T: Clone + Send + Sync + 'static>() {}
fn error<T: std::error::Error + Send + Sync + 'static>() {}
fn sendable<T: Send + 'static>() {}
fn stream<T: futures_core::Stream + Send + Unpin + 'static>() {}

#[test]
fn clients_are_cheap_to_share() {
    shareable::<Client>();
    shareable::<ClientBuilder>();
    shareable::<RequestOptions>();
}

#[test]
fn errors_are_std_errors_that_cross_threads() {
    error::<Error>();
    error::<ApiError>();
    error::<DecodeError>();
    error::<StreamError>();
    error::<TransportError>();
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Error::Config("x".into()));
    assert_eq!(boxed.to_string(), "configuration error: x");
}

#[test]
fn streams_move_between_tasks() {
    sendable::<ChatStream>();
    stream::<ChatStream>();
    stream::<SseStream>();
    stream::<AccumulatingStream>();
    stream::<TextStream>();
}
