//! What a service sees of each call: OpenTelemetry-shaped spans (a client span per call, a
//! child span per attempt) and interceptors that add headers and observe every attempt.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use atlas_migration::{AttemptRequest, AttemptResponse, Client, Interceptor};
use atlas_migration_sim::operations::LIST_SOURCE_PROJECTS;
use atlas_migration_sim::{Fault, Simulator};
use atlas_migration_tests::{TraceCapture, builder, linked, org};
use httpmock::MockServer;
use serde_json::json;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// One attempt as the interceptor saw it: number, status, error type.
type Seen = (u32, Option<u16>, Option<String>);

#[derive(Default)]
struct Recorder {
    attempts: AtomicU32,
    seen: Mutex<Vec<Seen>>,
    refused: Mutex<Vec<String>>,
}

struct Shared(Arc<Recorder>);

impl Interceptor for Shared {
    fn on_request(&self, request: &mut AttemptRequest<'_>) {
        request.insert_header("traceparent", TRACEPARENT).unwrap();
        for owned in ["authorization", "Accept", "content-type"] {
            if let Err(e) = request.insert_header(owned, "x") {
                assert_eq!(e.input_field(), Some("header"), "{e}");
                self.0.refused.lock().unwrap().push(e.to_string());
            }
        }
    }

    fn on_response(&self, response: &AttemptResponse<'_>) {
        self.0.attempts.fetch_add(1, Ordering::Relaxed);
        self.0.seen.lock().unwrap().push((
            response.attempt(),
            response.status(),
            response.error_type().map(str::to_owned),
        ));
    }
}

fn client_with(base_url: &str, recorder: &Arc<Recorder>, sim: Option<&Simulator>) -> Client {
    let b = builder(base_url).interceptor(Shared(recorder.clone()));
    match sim {
        Some(sim) => b.api_key(sim.public_key(), sim.private_key().to_owned()),
        None => b.service_account("mdb_sa_id_trace", "mdb_sa_sk_trace".to_owned()),
    }
    .build()
    .unwrap()
}

#[tokio::test]
async fn an_interceptor_adds_traceparent_and_sees_every_attempt() {
    // The header reaches the server (the mock answers only when it is there).
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/oauth/token");
            then.status(200)
                .json_body(json!({"access_token": "t", "expires_in": 3600}));
        })
        .await;
    let listed = server
        .mock_async(|when, then| {
            when.path(
                "/api/atlas/v2/orgs/4888442a3354817a7320eb61/liveMigrations/availableProjects",
            )
            .header("traceparent", TRACEPARENT)
            .header_missing("x");
            then.status(200)
                .header("content-type", "application/vnd.atlas.2023-01-01+json")
                .json_body(json!([]));
        })
        .await;
    let recorder = Arc::new(Recorder::default());
    let client = client_with(&server.base_url(), &recorder, None);
    client
        .list_source_projects(&"4888442a3354817a7320eb61".parse().unwrap())
        .await
        .unwrap();
    listed.assert_async().await;
    assert_eq!(
        recorder.refused.lock().unwrap().len(),
        3,
        "the client's own headers are refused: {:?}",
        recorder.refused.lock().unwrap()
    );

    // Every attempt is seen, retries included.
    let sim = linked(Simulator::builder()).await;
    sim.inject(Fault::on(LIST_SOURCE_PROJECTS).status(503));
    let recorder = Arc::new(Recorder::default());
    let client = client_with(&sim.base_url(), &recorder, Some(&sim));
    client.list_source_projects(&org(&sim)).await.unwrap();
    assert_eq!(recorder.attempts.load(Ordering::Relaxed), 2);
    assert_eq!(
        *recorder.seen.lock().unwrap(),
        [(1, Some(503), Some("503".to_owned())), (2, Some(200), None)]
    );
}

#[tokio::test]
async fn spans_carry_the_http_client_conventions() {
    let sim = linked(Simulator::builder()).await;
    let client = builder(&sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .build()
        .unwrap();
    sim.inject(Fault::on(LIST_SOURCE_PROJECTS).status(503));
    let (capture, guard) = TraceCapture::install_with_spans();
    client.list_source_projects(&org(&sim)).await.unwrap();
    let missing = client
        .get_migration(
            &sim.group_id().parse().unwrap(),
            &"0123456789abcdef01234567".parse().unwrap(),
        )
        .await
        .unwrap_err();
    drop(guard);
    assert_eq!(missing.status(), Some(404));
    let text = capture.text();
    let port = sim.addr().port();
    for expected in [
        "atlas_migration.call{otel.name=GET /api/atlas/v2/orgs/{orgId}/liveMigrations/availableProjects",
        "otel.kind=\"client\"",
        "http.request.method=\"GET\"",
        "url.template=\"/api/atlas/v2/orgs/{orgId}/liveMigrations/availableProjects\"",
        "server.address=127.0.0.1",
        &format!("server.port={port}"),
        "http.request.resend_count=1",
        "http.response.status_code=200",
        "atlas_migration.attempt{",
        "error.type=\"503\"",
        "error.type=\"404\"",
        "otel.status_code=\"ERROR\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

/// A reply that arrives but cannot be used is a failed call in telemetry too: a body that
/// does not decode, one over the size cap, one describing another migration. Each leaves the
/// call span with `error.type` and the ERROR status, and its error names the 200 it came in.
#[tokio::test]
async fn replies_that_cannot_be_used_are_failed_calls_in_spans() {
    const GROUP: &str = "32b6e34b3d91647abb20e7b8";
    const ASKED: &str = "507f1f77bcf86cd799439011";
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/api/oauth/token");
            then.status(200)
                .json_body(json!({"access_token": "t", "expires_in": 3600}));
        })
        .await;
    let path = |id: &str| format!("/api/atlas/v2/groups/{GROUP}/liveMigrations/{id}");
    let reply = |id: &str| json!({"_id": id, "status": "WORKING", "readyForCutover": false});
    let cases = [
        (
            "malformed",
            reply("not-an-object-id"),
            "error.type=\"decode\"",
        ),
        (
            "mismatched",
            reply("0123456789abcdef01234567"),
            "error.type=\"identity_mismatch\"",
        ),
        (
            "oversized",
            json!({"_id": ASKED, "status": "WORKING", "padding": "x".repeat(4096)}),
            "error.type=\"reply_too_large\"",
        ),
    ];
    let client = builder(&server.base_url())
        .service_account("mdb_sa_id_trace", "mdb_sa_sk_trace".to_owned())
        .max_reply_size(2048)
        .build()
        .unwrap();
    let group = GROUP.parse().unwrap();
    for (case, body, expected) in cases {
        let mock = server
            .mock_async(|when, then| {
                when.path(path(ASKED));
                then.status(200)
                    .header("content-type", "application/vnd.atlas.2023-01-01+json")
                    .json_body(body);
            })
            .await;
        let (capture, guard) = TraceCapture::install_with_spans();
        let error = client
            .get_migration(&group, &ASKED.parse().unwrap())
            .await
            .unwrap_err();
        drop(guard);
        mock.delete_async().await;
        assert_eq!(error.status(), Some(200), "{case}: {error}");
        let text = capture.text();
        for wanted in [
            expected,
            "otel.status_code=\"ERROR\"",
            "http.response.status_code=200",
        ] {
            assert!(
                text.contains(wanted),
                "{case}: missing {wanted:?} in:\n{text}"
            );
        }
    }
}
