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

/// `check::<T>()` for each type `T` listed.
macro_rules! each {
    ($check:ident: $($t:ty),+ $(,)?) => {
        $($check::<$t>();)+
    };
}

#[test]
fn clients_are_cheap_to_share() {
    each!(shareable: Client, ClientBuilder, RequestOptions);
}

#[test]
fn errors_are_std_errors_that_cross_threads() {
    each!(error: Error, ApiError, DecodeError, StreamError, TransportError);
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Error::Config("x".into()));
    assert_eq!(boxed.to_string(), "configuration error: x");
}

#[test]
fn streams_move_between_tasks() {
    sendable::<ChatStream>();
    each!(stream: ChatStream, SseStream, AccumulatingStream, TextStream);
}
