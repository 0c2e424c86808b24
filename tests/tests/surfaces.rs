//! Surfaces that cannot drift: the blocking `ClientBuilder` has every setter of the async
//! one, and the setters of per-call options are the same on `RequestOptions` and on both
//! builders. The per-call ones come from one list (`__shared_option_setters!`), which each
//! of the three expands; the rest of the blocking builder is forwarded by hand, so this test
//! reads both builders' sources and fails when a setter is on one and not the other.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use cygnet::RequestOptions;

fn source(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::read_to_string(root.join(path)).expect("a readable source file")
}

/// The bodies of every `impl ClientBuilder {` block of `text`.
fn builder_impls(text: &str) -> Vec<&str> {
    text.match_indices("\nimpl ClientBuilder {\n")
        .map(|(start, _)| {
            let body = &text[start + 1..];
            &body[..body.find("\n}\n").expect("the impl block ends")]
        })
        .collect()
}

/// The names of `pub fn`s in `block`, and of entries of `forward!` lists (`name(arg: T);`).
fn setters(block: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_forward = false;
    for line in block.lines().map(str::trim) {
        if line.starts_with("forward! {") {
            in_forward = true;
            continue;
        }
        if in_forward && line == "}" {
            in_forward = false;
            continue;
        }
        let name = if let Some(rest) = line.strip_prefix("pub fn ") {
            rest
        } else if in_forward && !line.starts_with("//") {
            line
        } else {
            continue;
        };
        let name: String = name
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            names.insert(name);
        }
    }
    names
}

#[test]
fn the_blocking_builder_has_every_setter_of_the_async_builder() {
    let core = source("crates/cygnet-core/src/config.rs");
    let blocking = source("crates/cygnet-hyper/src/blocking.rs");
    let core_impls = builder_impls(&core);
    let blocking_impls = builder_impls(&blocking);
    assert!(!core_impls.is_empty() && !blocking_impls.is_empty());
    // Both make the per-call setters from the one shared list.
    assert!(core_impls
        .iter()
        .any(|b| b.contains("__shared_option_setters!(")));
    assert!(blocking_impls
        .iter()
        .any(|b| b.contains("__shared_option_setters!(forward)")));

    let mut core_setters: BTreeSet<String> = core_impls.iter().flat_map(|b| setters(b)).collect();
    let mut blocking_setters: BTreeSet<String> =
        blocking_impls.iter().flat_map(|b| setters(b)).collect();
    assert!(core_setters.contains("api_key") && core_setters.contains("shared_transport"));
    // What each has of its own: making a builder, and reaching the async builder.
    for own in ["new", "from_env", "build"] {
        core_setters.remove(own);
    }
    for own in ["new", "build", "map_async"] {
        blocking_setters.remove(own);
    }
    assert_eq!(
        core_setters
            .difference(&blocking_setters)
            .collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "setters of cygnet_core::ClientBuilder missing from blocking::ClientBuilder"
    );
    assert_eq!(
        blocking_setters
            .difference(&core_setters)
            .collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "setters of blocking::ClientBuilder with no async counterpart"
    );
}

#[test]
fn the_shared_setters_set_the_same_options_everywhere() {
    let second = Duration::from_secs(1);
    let options = RequestOptions::new()
        .timeout(second)
        .connect_timeout(2 * second)
        .stream_headers_timeout(3 * second)
        .stream_idle_timeout(4 * second)
        .stream_total_timeout(5 * second)
        .max_retries(6);
    assert_eq!(options.timeout, Some(second));
    assert_eq!(options.connect_timeout, Some(2 * second));
    assert_eq!(options.stream_headers_timeout, Some(3 * second));
    assert_eq!(options.stream_idle_timeout, Some(4 * second));
    assert_eq!(options.stream_total_timeout, Some(5 * second));
    assert_eq!(options.max_retries, Some(6));

    // The same calls compile on both builders (the blocking one gained
    // `stream_total_timeout` and `shared_transport` from this), and set the defaults.
    let mock = cygnet::mock::MockTransport::new();
    let shared: std::sync::Arc<dyn cygnet::Transport> = std::sync::Arc::new(mock.clone());
    let client = cygnet::ClientBuilder::new()
        .api_key(tests::FAKE_KEY)
        .shared_transport(std::sync::Arc::clone(&shared))
        .timeout(second)
        .connect_timeout(2 * second)
        .stream_headers_timeout(3 * second)
        .stream_idle_timeout(4 * second)
        .stream_total_timeout(5 * second)
        .max_retries(6)
        .build()
        .unwrap();
    let debug = format!("{:?}", client.options());
    for shown in ["1s", "2s", "3s", "4s", "5s", "Some(6)"] {
        assert!(debug.contains(shown), "{debug}");
    }
    let _blocking = cygnet::blocking::Client::builder()
        .api_key(tests::FAKE_KEY)
        .shared_transport(shared)
        .timeout(second)
        .connect_timeout(2 * second)
        .stream_headers_timeout(3 * second)
        .stream_idle_timeout(4 * second)
        .stream_total_timeout(5 * second)
        .max_retries(6);
}
