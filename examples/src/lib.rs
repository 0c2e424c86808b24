//! The runnable examples are the `[[example]]` targets of this crate (`examples/*.rs`, run them
//! with `cargo run --example <name>`). This library only exists to compile and run the code
//! blocks of the repository's README as doctests, so the README cannot drift from the API.
#![deny(rustdoc::broken_intra_doc_links)]

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
