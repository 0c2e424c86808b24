//! With `HTTP_PROXY` set, cleartext to a loopback base URL still goes straight to it: the
//! exemption that lets the key travel in clear holds only while it stays on the machine.
//!
//! The only test of its binary, because it sets the process's proxy variables.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use cygnet_core::types::{ChatCompletionRequest, Message};
use cygnet_core::Client;
use cygnet_hyper::HyperTransport;
use cygnet_test_support::fixtures::completion_json;

const KEY: &str = "sk-test-loopback-fake-key";

/// A "proxy" that counts the connections it accepts and closes each at once.
async fn counting_proxy() -> (String, Arc<AtomicUsize>) {
    let (listener, addr) = listener().await;
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (format!("http://proxyuser:proxy-s3cr3t@{addr}"), count)
}

/// A backend answering one chat; returns its port.
async fn backend() -> u16 {
    let addr = serve_one(|mut stream, received| async move {
        assert_eq!(
            received.header("authorization"),
            Some("Bearer sk-test-loopback-fake-key")
        );
        assert_eq!(received.header("proxy-authorization"), None);
        let body = completion_json("direct").to_string();
        write_response(&mut stream, 200, "application/json", body.as_bytes()).await;
    })
    .await;
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

fn client(base_url: &str, allow_insecure_http: bool) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base_url)
        .allow_insecure_http(allow_insecure_http)
        .max_retries(0)
        .transport(HyperTransport::new())
        .build()
        .expect("client")
}

#[tokio::test]
async fn http_to_loopback_never_reaches_the_proxy_the_environment_names() {
    bounded(async {
        let (proxy, connections) = counting_proxy().await;
        // The only test of this binary: nothing else reads the environment meanwhile.
        for name in ["NO_PROXY", "no_proxy", "REQUEST_METHOD"] {
            std::env::remove_var(name);
        }
        for name in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
            std::env::set_var(name, &proxy);
        }
        let request = ChatCompletionRequest::new("cygnet", vec![Message::user("hi")]);

        for host in ["localhost", "127.0.0.1", "LocalHost"] {
            let port = backend().await;
            let client = client(&format!("http://{host}:{port}"), false);
            let completion = client.chat(&request).await.expect(host);
            assert_eq!(completion.content(), Some("direct"), "{host}");
            assert_eq!(
                connections.load(Ordering::SeqCst),
                0,
                "{host} went to the proxy"
            );
        }

        // The control: the variables are in effect, for a host that is not loopback.
        let client = client("http://api.example.test:1", true);
        let error = client
            .chat(&request)
            .await
            .expect_err("the proxy closes at once");
        assert_eq!(connections.load(Ordering::SeqCst), 1);
        for shown in [
            error.to_string(),
            format!("{error:?}"),
            format!("{client:?}"),
        ] {
            assert!(!shown.contains(KEY) && !shown.contains("s3cr3t"), "{shown}");
        }
    })
    .await;
}
