//! Examples; see examples/*.rs
