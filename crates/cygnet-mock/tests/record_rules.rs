//! What a recording never captures: a request without a real key (the stand-in
//! `REPLAY_API_KEY` of the recipe included) is neither sent nor recorded; transport failures
//! are not recorded unless asked, and when asked they replay saying they came from the
//! cassette; a cassette with nothing recorded is not written. (Not recording in CI is
//! tested in the cassette module, where the `CI` variable's reading can be given.)

use std::path::PathBuf;

use bytes::Bytes;
use cygnet_core::error::Report;
use cygnet_core::transport::Transport;
use cygnet_core::{Error, RequestOptions, TransportErrorKind};
use cygnet_mock::{
    Cassette, CassetteError, MockReply, MockTransport, RecordMode, Replayer, REPLAY_API_KEY,
};
use cygnet_test_support::{bounded_thread as bounded, fresh_dir, seed_request};
use futures_executor::block_on;

fn cassette_path(name: &str) -> PathBuf {
    fresh_dir(env!("CARGO_TARGET_TMPDIR"), "record-rules").join(name)
}

/// A client with `key` on `transport`, with `retries` retries.
fn client(transport: impl Transport, key: &str, retries: u32) -> cygnet_core::Client {
    cygnet_core::ClientBuilder::new()
        .api_key(key)
        .base_url("https://mock.invalid")
        .transport(transport)
        .default_options(RequestOptions::new().max_retries(retries))
        .build()
        .unwrap()
}

#[test]
fn the_recipes_stand_in_key_is_refused_before_anything_is_sent_or_written() {
    bounded(|| {
        let path = cassette_path("stand_in.json");
        let mock = MockTransport::conversation([MockReply::text("never sent")]);
        let transport = Cassette::new(&path)
            .mode(RecordMode::Always)
            .transport(|| mock.clone())
            .unwrap();
        assert!(transport.is_recording());
        let error = block_on(client(transport.clone(), REPLAY_API_KEY, 2).chat(&seed_request()))
            .unwrap_err();
        // A typed refusal, not retried, that says what to set and names the cassette.
        let Error::Transport(refusal) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(refusal.kind(), TransportErrorKind::Request);
        assert!(matches!(
            refusal.cause().downcast_ref::<CassetteError>(),
            Some(CassetteError::NoRealKey { .. })
        ));
        assert_eq!(error.attempts(), Some(1));
        let report = error.report().to_string();
        assert!(report.contains("GRAYSWAN_API_KEY"), "{report}");
        assert!(report.contains(&path.display().to_string()), "{report}");
        assert!(
            !report.contains(REPLAY_API_KEY) || report.contains("stand-in"),
            "{report}"
        );
        assert_eq!(
            mock.request_count(),
            0,
            "nothing reached the real transport"
        );

        let finished = transport.finish().unwrap_err();
        assert!(
            matches!(
                finished,
                CassetteError::NotRecorded {
                    refused: 1,
                    failed: 0,
                    ..
                }
            ),
            "{finished:?}"
        );
        drop(transport);
        assert!(
            !path.exists(),
            "no cassette is written when nothing was recorded"
        );
    });
}

#[test]
fn a_request_with_no_key_at_all_is_refused_too() {
    bounded(|| {
        let path = cassette_path("no_key.json");
        let mock = MockTransport::conversation([MockReply::text("never sent")]);
        let recorder = Cassette::new(&path).recorder(mock.clone());
        for request in [
            http::Request::post("https://mock.invalid/chat/completion")
                .body(Bytes::from_static(b"{}"))
                .unwrap(),
            http::Request::post("https://mock.invalid/chat/completion")
                .header("authorization", "Bearer ")
                .body(Bytes::from_static(b"{}"))
                .unwrap(),
        ] {
            let error = block_on(recorder.send(request)).unwrap_err();
            let report = Report::new(&error).to_string();
            assert!(report.contains("no real API key"), "{report}");
        }
        assert_eq!(mock.request_count(), 0);
        assert!(recorder.finish().is_err());
        drop(recorder);
        assert!(!path.exists());
    });
}

#[test]
fn transport_failures_are_not_recorded_unless_asked() {
    bounded(|| {
        // Offline: three DNS errors, and nothing else.
        let path = cassette_path("offline.json");
        let dns = || MockReply::error(TransportErrorKind::Connect, "dns error: no such host");
        let mock = MockTransport::conversation([dns(), dns(), dns()]);
        let recorder = Cassette::new(&path).recorder(mock.clone());
        let error = block_on(client(recorder.clone(), "sk-test-fake", 2).chat(&seed_request()))
            .unwrap_err();
        assert_eq!(error.attempts(), Some(3));
        // The caller sees the live failure as it is...
        assert!(!error.report().to_string().contains("cassette"), "{error}");
        // ...and the cassette is not written, so the next run records again.
        let finished = recorder.finish().unwrap_err();
        assert!(
            matches!(
                finished,
                CassetteError::NotRecorded {
                    refused: 0,
                    failed: 3,
                    ..
                }
            ),
            "{finished:?}"
        );
        assert!(
            finished.to_string().contains("record_failures"),
            "{finished}"
        );
        drop(recorder);
        assert!(!path.exists());

        // A failure, then the answer of a retry, then a stream cut short: only the answer
        // is kept.
        let path = cassette_path("flaky.json");
        let mock = MockTransport::conversation([
            dns(),
            MockReply::text("Hello!"),
            MockReply::stream_text(["a", "b"]).fail_after(1),
        ]);
        let recorder = Cassette::new(&path).recorder(mock);
        let client = client(recorder.clone(), "sk-test-fake", 1);
        let completion = block_on(client.chat(&seed_request())).unwrap();
        assert_eq!(completion.content(), Some("Hello!"));
        let streamed = block_on(async {
            let mut stream = client
                .with_options(RequestOptions::new().max_retries(0))
                .chat_stream(&seed_request())
                .await?;
            while let Some(chunk) = stream.next_chunk().await {
                chunk?;
            }
            Ok::<_, Error>(())
        });
        assert!(streamed.is_err());
        recorder.finish().unwrap();
        drop(recorder);
        assert_eq!(Replayer::open(&path).unwrap().exchange_count(), 1);
    });
}

#[test]
fn every_transport_error_kind_recorded_on_purpose_replays_as_itself_marked_as_replayed() {
    bounded(|| {
        let path = cassette_path("kinds.json");
        let replies = TransportErrorKind::ALL
            .iter()
            .map(|&kind| MockReply::error(kind, format!("the {} cause", kind.name())));
        let recorder = Cassette::new(&path)
            .record_failures(true)
            .recorder(MockTransport::conversation(replies));
        let request = |i: usize| {
            http::Request::post(format!("https://mock.invalid/chat/completion?n={i}"))
                .header("authorization", "Bearer sk-test-fake")
                .body(Bytes::from_static(b"{}"))
                .unwrap()
        };
        for (i, &kind) in TransportErrorKind::ALL.iter().enumerate() {
            let live = block_on(recorder.send(request(i))).unwrap_err();
            assert_eq!(live.kind(), kind);
        }
        recorder.finish().unwrap();
        drop(recorder);

        let replayer = Replayer::open(&path).unwrap();
        for (i, &kind) in TransportErrorKind::ALL.iter().enumerate() {
            let replayed = block_on(replayer.send(request(i))).unwrap_err();
            // The same kind (a proxy refusal does not come back as `Other`)...
            assert_eq!(replayed.kind(), kind, "{replayed}");
            assert_eq!(replayed.is_retryable(), kind_is_retried(kind), "{kind:?}");
            // ...and words that say where it came from.
            let report = Report::new(&replayed).to_string();
            assert!(
                report.contains(&format!("the {} cause", kind.name())),
                "{report}"
            );
            assert!(
                report.contains(&format!("replayed from cassette {}", path.display())),
                "{report}"
            );
        }
        replayer.assert_all_used();
    });
}

fn kind_is_retried(kind: TransportErrorKind) -> bool {
    matches!(
        kind,
        TransportErrorKind::Connect | TransportErrorKind::Timeout | TransportErrorKind::Io
    )
}
