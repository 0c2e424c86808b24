//! One builder entry point per need, and a misuse that names the right one: a client built
//! without a transport fails at `build()`, before anything is sent, naming
//! `cygnet::builder()` (the hyper one) and `.transport(..)`.

use cygnet::mock::{MockReply, MockTransport};
use cygnet::{Client, ClientBuilder, Error};
use tests::FAKE_KEY;

fn config_message(result: Result<Client, Error>) -> String {
    match result {
        Err(Error::Config(message)) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn client_builder_without_a_transport_names_the_hyper_entry_point() {
    for message in [
        config_message(Client::builder().api_key(FAKE_KEY).build()),
        // No key either: the transport is the first thing to fix, since the right start
        // reads the key from the environment too.
        config_message(Client::builder().build()),
        config_message(ClientBuilder::from_env().api_key(FAKE_KEY).build()),
    ] {
        assert!(message.contains("`cygnet::builder()`"), "{message}");
        assert!(message.contains("`cygnet::from_env()`"), "{message}");
        assert!(message.contains(".transport(..)"), "{message}");
        assert!(!message.contains(FAKE_KEY), "{message}");
    }
}

#[test]
fn a_missing_key_says_how_to_give_one_for_the_way_the_builder_started() {
    let mock = MockTransport::new();
    let in_code = config_message(Client::builder().transport(mock.clone()).build());
    assert!(in_code.contains("ClientBuilder::api_key"), "{in_code}");
    assert!(
        in_code.contains("`ClientBuilder::from_env()`"),
        "a builder that did not read the environment says which one does: {in_code}"
    );
}

#[test]
fn each_entry_point_builds_for_its_need() {
    // The real API: the facade's builder brings the hyper transport.
    let client = cygnet::builder().api_key(FAKE_KEY).build();
    assert!(client.is_ok(), "{client:?}");
    // Your own transport, configured in code.
    let mock = MockTransport::conversation([MockReply::text("hi")]);
    let client = Client::builder()
        .api_key(FAKE_KEY)
        .transport(mock.clone())
        .build();
    assert!(client.is_ok(), "{client:?}");
    // Your own transport, configured from the environment (the key given here stands in).
    let client = ClientBuilder::from_env()
        .api_key(FAKE_KEY)
        .transport(mock)
        .build();
    assert!(client.is_ok(), "{client:?}");
}
