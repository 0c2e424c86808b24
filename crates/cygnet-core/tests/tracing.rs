//! The client's tracing: one `cygnet.request` span per call and one event per attempt, with
//! method, path, attempt number, status and latency, and never the API key.
//!
//! A hand-written `tracing::Subscriber` records every span and event with its fields as text, so
//! the test needs no subscriber crate; the transport is canned (a 429, then a 200) and its timer
//! fires at once, so the retry costs no wall time.

use std::fmt;
use std::sync::{Arc, Mutex};

use cygnet_core::Client;
use cygnet_test_support::{Canned, CannedReply};
use cygnet_types::{ChatCompletionRequest, Message};
use futures_executor::block_on;
use futures_util::StreamExt;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const KEY: &str = "sk-test-fake-SECRET";
const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"cygnet",
  "choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
const STREAM: &str = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\
\"model\":\"cygnet\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n";

/// One span or event as the subscriber saw it: its name (the message, for events) and fields.
#[derive(Clone, Debug, Default)]
struct Captured {
    name: String,
    fields: Vec<(String, String)>,
    /// For events: the span named as their parent, by id.
    parent: Option<u64>,
}

impl Captured {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Visit for Captured {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.fields
            .push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.fields
            .push((field.name().to_owned(), value.to_owned()));
    }
}

#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<Vec<Captured>>>,
    events: Arc<Mutex<Vec<Captured>>>,
}

impl Subscriber for Recorder {
    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut captured = Captured {
            name: span.metadata().name().to_owned(),
            ..Captured::default()
        };
        span.record(&mut captured);
        let mut spans = self.spans.lock().unwrap();
        spans.push(captured);
        // Ids are 1-based positions in `spans` (an id must not be 0).
        Id::from_u64(spans.len() as u64)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some(captured) = spans.get_mut(span.into_u64() as usize - 1) {
            values.record(captured);
        }
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut captured = Captured {
            parent: event.parent().map(Id::into_u64),
            ..Captured::default()
        };
        event.record(&mut captured);
        captured.name = captured.field("message").unwrap_or_default().to_owned();
        self.events.lock().unwrap().push(captured);
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// A client whose transport answers with `replies` in order, each with a small
/// `retry-after-ms`; a JSON object is served as JSON, any other body as a stream.
fn client(replies: Vec<(u16, &'static str)>) -> Client {
    let replies = replies.into_iter().map(|(status, body)| {
        let reply = if body.starts_with('{') {
            CannedReply::json(status, body)
        } else {
            CannedReply::sse(body)
        };
        reply.header("retry-after-ms", "5")
    });
    Canned::with(replies)
        .client_builder()
        .api_key(KEY)
        .build()
        .unwrap()
}

fn request() -> ChatCompletionRequest {
    ChatCompletionRequest::new("cygnet", vec![Message::user("Hello")])
}

/// Runs `call` under a fresh recorder and returns what it captured.
fn capture(call: impl FnOnce()) -> Recorder {
    let recorder = Recorder::default();
    tracing::subscriber::with_default(recorder.clone(), call);
    recorder
}

/// Traces a chat stream on `client` that must give one good chunk.
fn capture_one_chunk_stream(client: &Client) -> Recorder {
    capture(|| {
        let stream = block_on(client.chat_stream(&request())).unwrap();
        let chunks: Vec<_> = block_on(stream.collect::<Vec<_>>());
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].is_ok());
    })
}

/// The events that name an attempt; fails the test unless there are two.
fn two_attempts(events: &[Captured]) -> Vec<&Captured> {
    let attempts: Vec<_> = events
        .iter()
        .filter(|e| e.field("attempt").is_some())
        .collect();
    assert_eq!(attempts.len(), 2, "two attempt events: {events:?}");
    attempts
}

fn assert_request_traced(recorder: &Recorder, stream: &str) {
    let spans = recorder.spans.lock().unwrap();
    let requests: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "cygnet.request")
        .collect();
    assert_eq!(requests.len(), 1, "one request span: {spans:?}");
    let span = requests[0];
    assert_eq!(span.field("method"), Some("POST"));
    assert_eq!(span.field("path"), Some("/chat/completion"));
    assert_eq!(span.field("stream"), Some(stream));

    let events = recorder.events.lock().unwrap();
    let attempts = two_attempts(&events);
    assert_eq!(attempts[0].field("attempt"), Some("1"));
    assert_eq!(attempts[0].field("status"), Some("429"));
    assert_eq!(attempts[0].name, "attempt failed; retrying");
    assert!(attempts[0].field("wait_ms").is_some());
    assert_eq!(attempts[1].field("attempt"), Some("2"));
    assert_eq!(attempts[1].field("status"), Some("200"));
    assert_eq!(attempts[1].name, "attempt succeeded");
    for attempt in &attempts {
        let latency: f64 = attempt.field("latency_ms").unwrap().parse().unwrap();
        assert!(latency >= 0.0);
    }

    let everything = spans.iter().chain(events.iter());
    for captured in everything {
        for (name, value) in &captured.fields {
            assert!(
                !value.contains("SECRET") && !value.contains(KEY),
                "the key leaked into {}.{name}: {value}",
                captured.name
            );
        }
    }
}

#[test]
fn a_retried_call_is_one_span_with_an_event_per_attempt() {
    let client = client(vec![(429, r#"{"error":"slow down"}"#), (200, COMPLETION)]);
    let recorder = capture(|| {
        let completion = block_on(client.chat(&request())).unwrap();
        assert_eq!(completion.content(), Some("Hi"));
    });
    assert_request_traced(&recorder, "false");
}

#[test]
fn a_retried_stream_is_one_span_with_an_event_per_attempt() {
    let client = client(vec![(429, r#"{"error":"slow down"}"#), (200, STREAM)]);
    let recorder = capture_one_chunk_stream(&client);
    assert_request_traced(&recorder, "true");
}

#[test]
fn a_stream_resent_before_its_first_event_logs_a_numbered_attempt_in_its_span() {
    // The first answer is a stream that ends before any event: it is sent again.
    let client = client(vec![(200, ""), (200, STREAM)]);
    let recorder = capture_one_chunk_stream(&client);
    let spans = recorder.spans.lock().unwrap();
    let request_span = spans
        .iter()
        .position(|s| s.name == "cygnet.request")
        .expect("a request span") as u64
        + 1;
    let events = recorder.events.lock().unwrap();
    let attempts = two_attempts(&events);
    assert_eq!(attempts[0].field("attempt"), Some("1"));
    assert_eq!(attempts[0].name, "attempt failed; retrying");
    assert!(attempts[0]
        .field("error")
        .unwrap()
        .contains("without [DONE]"));
    assert_eq!(attempts[1].field("attempt"), Some("2"));
    assert_eq!(attempts[1].field("status"), Some("200"));
    assert_eq!(attempts[1].name, "attempt succeeded");
    for attempt in attempts {
        assert_eq!(attempt.parent, Some(request_span), "{attempt:?}");
    }
}

#[test]
fn a_key_the_server_echoes_stays_out_of_every_span_and_event() {
    // As a gateway may answer a rejected key: in the message, JSON-escaped, and in a header.
    let escaped = KEY.replace('-', "\\u002d");
    let echo = format!(r#"{{"error":{{"message":"Invalid API key: {KEY} ({escaped})"}}}}"#);
    let reply = |status| {
        CannedReply::json(status, echo.clone())
            .header("retry-after-ms", "5")
            .header("x-request-id", &format!("req-{KEY}"))
    };
    let client = Canned::with([reply(429), reply(401)])
        .client_builder()
        .api_key(KEY)
        .build()
        .unwrap();
    let recorder = capture(|| {
        let error = block_on(client.chat(&request())).unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
    });
    let events = recorder.events.lock().unwrap();
    let attempts = two_attempts(&events);
    for attempt in &attempts {
        let error = attempt.field("error").unwrap();
        assert!(error.ends_with("Invalid API key: *** (***)"), "{error}");
    }
    let spans = recorder.spans.lock().unwrap();
    for captured in spans.iter().chain(events.iter()) {
        for (name, value) in &captured.fields {
            assert!(
                !value.contains("SECRET"),
                "the key leaked into {}.{name}: {value}",
                captured.name
            );
        }
    }
}

#[test]
fn a_monitor_call_is_a_request_span_on_its_path_and_never_shows_the_key() {
    let client = client(vec![
        (503, r#"{"error":true,"message":"busy"}"#),
        (200, r#"{"violation":0.25}"#),
    ]);
    let recorder = capture(|| {
        let request = cygnet_types::MonitorRequest::text("Hello");
        let verdict = block_on(client.monitor(&request)).unwrap();
        assert_eq!(verdict.violation, 0.25);
    });
    let spans = recorder.spans.lock().unwrap();
    let requests: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "cygnet.request")
        .collect();
    assert_eq!(requests.len(), 1, "one request span: {spans:?}");
    assert_eq!(requests[0].field("path"), Some("/cygnal/monitor"));
    assert_eq!(requests[0].field("stream"), Some("false"));
    let events = recorder.events.lock().unwrap();
    let attempts = two_attempts(&events);
    assert_eq!(attempts[0].field("status"), Some("503"));
    assert_eq!(attempts[1].name, "attempt succeeded");
    for captured in spans.iter().chain(events.iter()) {
        for (name, value) in &captured.fields {
            assert!(
                !value.contains("SECRET") && !value.contains(KEY),
                "the key leaked into {}.{name}: {value}",
                captured.name
            );
        }
    }
}

/// The provider key of the Cygnal tests: a second secret, in a different shape.
const PROVIDER_KEY: &str = "sk-proj-PROVIDER-fake";

#[test]
fn every_span_names_its_route_and_a_cygnal_call_shows_neither_key() {
    use cygnet_core::cygnal::ProviderKey;
    use cygnet_types::CygnalRequest;

    // The server echoes both keys in the error it answers first (and in a header).
    let echo = format!(
        r#"{{"error":true,"message":"bad keys {KEY} and {PROVIDER_KEY}","detail":"Bearer {PROVIDER_KEY}"}}"#
    );
    let canned = Canned::with([
        CannedReply::json(503, echo)
            .header("retry-after-ms", "5")
            .header("x-echo", &format!("{KEY} {PROVIDER_KEY}")),
        CannedReply::json(200, COMPLETION),
        CannedReply::sse(STREAM),
        CannedReply::json(200, COMPLETION),
        CannedReply::json(200, r#"{"violation":0.1}"#),
    ]);
    let client = canned.client_builder().api_key(KEY).build().unwrap();
    let guarded = client.cygnal(ProviderKey::new(PROVIDER_KEY).unwrap());
    let request = CygnalRequest::new("gpt-5", vec![Message::user("Hello")]);
    let recorder = capture(|| {
        let completion = block_on(guarded.chat(&request)).unwrap();
        assert_eq!(completion.content(), Some("Hi"));
        let stream = block_on(guarded.chat_stream(&request)).unwrap();
        assert_eq!(block_on(stream.collect::<Vec<_>>()).len(), 1);
        block_on(client.chat(&self::request())).unwrap();
        block_on(client.monitor(&cygnet_types::MonitorRequest::text("Hello"))).unwrap();
    });
    let spans = recorder.spans.lock().unwrap();
    let routes: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "cygnet.request")
        .map(|s| (s.field("route"), s.field("path"), s.field("stream")))
        .collect();
    assert_eq!(
        routes,
        [
            (
                Some("cygnal"),
                Some("/cygnal/chat/completions"),
                Some("false")
            ),
            (
                Some("cygnal"),
                Some("/cygnal/chat/completions"),
                Some("true")
            ),
            (Some("cygnet"), Some("/chat/completion"), Some("false")),
            (Some("monitor"), Some("/cygnal/monitor"), Some("false")),
        ]
    );
    let events = recorder.events.lock().unwrap();
    let failed = events
        .iter()
        .find(|e| e.name == "attempt failed; retrying")
        .expect("the 503 was traced");
    assert!(
        failed
            .field("error")
            .unwrap()
            .contains("bad keys *** and ***"),
        "{failed:?}"
    );
    for captured in spans.iter().chain(events.iter()) {
        for (name, value) in &captured.fields {
            assert!(
                !value.contains("SECRET") && !value.contains("PROVIDER"),
                "a key leaked into {}.{name}: {value}",
                captured.name
            );
        }
    }
}
