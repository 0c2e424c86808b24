//! The guard's pieces inside core, over a canned transport: the policy's defaults, how a
//! verdict is judged and reads, and what the guard traces (observed violations and failed-open
//! checks as `warn` events, never the checked content or the key).

use std::fmt;
use std::sync::{Arc, Mutex};

use cygnet_core::guard::{Action, CheckMode, GuardPolicy, Reason, Stage, StageOutcome};
use cygnet_core::Client;
use cygnet_test_support::{Canned, CannedReply};
use cygnet_types::{ChatCompletionRequest, Message, Threshold};
use futures_executor::block_on;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

const KEY: &str = "sk-test-fake-SECRET";
const SECRET_TEXT: &str = "my card number is 4111";
const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"cygnet",
  "choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;

fn client(replies: Vec<CannedReply>) -> (Canned, Client) {
    let canned = Canned::with(replies);
    let client = canned
        .client_builder()
        .api_key(KEY)
        .max_retries(0)
        .build()
        .unwrap();
    (canned, client)
}

fn request() -> ChatCompletionRequest {
    ChatCompletionRequest::new("cygnet", vec![Message::user(SECRET_TEXT)])
}

#[test]
fn the_default_policy_is_the_recommended_stages_failing_closed() {
    let policy = GuardPolicy::default();
    assert!(policy.checks_input() && policy.checks_output());
    assert_eq!(policy.threshold_value(), Threshold::DEFAULT);
    assert_eq!(policy.action(), Action::Block);
    assert!(policy.blocks_on_ipi() && policy.blocks_on_mutation());
    assert!(!policy.is_fail_open());
    assert_eq!(policy.check_mode(), CheckMode::BeforeCall);
    assert_eq!(policy.stream_check_interval(), 0);
    assert_eq!(policy.monitor_timeout_value(), None);
    assert!(GuardPolicy::new().fail_open().is_fail_open());
}

#[test]
fn a_score_at_the_threshold_blocks_and_the_verdict_reads_in_words() {
    let (canned, client) = client(vec![CannedReply::json(
        200,
        r#"{"violation":0.5,"ipi":true,"violated_rules":[3]}"#,
    )]);
    let error = block_on(client.guarded(GuardPolicy::new()).chat(&request())).unwrap_err();
    let verdict = error.as_guard().unwrap().verdict().unwrap().clone();
    assert_eq!(verdict.stage, Stage::Input);
    assert_eq!(
        verdict.reasons,
        [
            Reason::Score {
                score: 0.5,
                threshold: Threshold::DEFAULT
            },
            Reason::Ipi
        ]
    );
    assert_eq!(
        verdict.to_string(),
        "input: blocked (score 0.5 >= 0.5, ipi, rules #3)"
    );
    assert_eq!(
        error.to_string(),
        "Cygnal guard blocked the input (score 0.5 >= 0.5, ipi, rules #3)"
    );
    assert_eq!(canned.requests().len(), 1);
}

#[test]
fn observed_violations_and_failed_open_checks_are_traced_without_content_or_key() {
    let (_, client) = client(vec![
        CannedReply::json(200, r#"{"violation":0.9}"#),
        CannedReply::json(200, COMPLETION),
        CannedReply::json(503, r#"{"error":true,"message":"monitor down"}"#),
    ]);
    let policy = GuardPolicy::new().on_violation(Action::Observe).fail_open();
    let recorder = Recorder::default();
    let answer = tracing::subscriber::with_default(recorder.clone(), || {
        block_on(client.guarded(policy).chat(&request()))
    })
    .expect("observed and failed open");
    let outcomes: Vec<_> = answer.report.verdicts().iter().map(|v| v.outcome).collect();
    assert_eq!(outcomes, [StageOutcome::Observed, StageOutcome::FailedOpen]);

    let events = recorder.events.lock().unwrap();
    let warnings: Vec<&String> = events
        .iter()
        .filter(|(level, _)| *level == Level::WARN)
        .map(|(_, text)| text)
        .collect();
    assert_eq!(warnings.len(), 2, "{events:?}");
    assert!(warnings[0].contains("violation observed") && warnings[0].contains("stage=input"));
    assert!(warnings[1].contains("fail open") && warnings[1].contains("stage=output"));
    for (_, text) in events.iter() {
        assert!(!text.contains(KEY), "key in a trace: {text}");
        assert!(!text.contains(SECRET_TEXT), "content in a trace: {text}");
    }
}

/// Every event's level and fields as text (`name=value ...`).
#[derive(Clone, Default)]
struct Recorder {
    events: Arc<Mutex<Vec<(Level, String)>>>,
}

struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push_str(&format!("{}={value} ", field.name()));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut text = Text(String::new());
        event.record(&mut text);
        self.events
            .lock()
            .unwrap()
            .push((*event.metadata().level(), text.0));
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

#[test]
fn the_guard_types_cross_threads_like_the_rest_of_the_client() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    fn stream<T: futures_core::Stream + Send + Unpin + 'static>() {}
    shareable::<cygnet_core::guard::GuardedClient>();
    shareable::<cygnet_core::guard::GuardPolicy>();
    shareable::<cygnet_core::guard::GuardReport>();
    shareable::<cygnet_core::guard::VettedData>();
    error::<cygnet_core::guard::GuardError>();
    stream::<cygnet_core::guard::GuardedStream>();
}
