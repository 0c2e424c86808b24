//! The test kit's raw loopback server, and its time bound in the one-argument form these tests
//! use.
#![allow(dead_code)] // each test binary uses a different part

pub use cygnet_test_support::wire::*;

/// Runs `test`, failing it after the kit's `TEST_TIMEOUT`.
pub async fn bounded<F: std::future::Future>(test: F) -> F::Output {
    cygnet_test_support::bounded("test", test).await
}
