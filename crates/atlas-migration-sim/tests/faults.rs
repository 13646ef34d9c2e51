//! Injected faults: decided before processing (except drop-after-processing).

mod common;

use atlas_migration_sim::operations::{CREATE_MIGRATION, GET_MIGRATION};
use std::time::{Duration, Instant};

use atlas_migration_sim::{Fault, FaultKind, FaultPlan, Simulator, Timings};
use common::*;
use reqwest::StatusCode;

async fn sim_with(fault: Fault) -> Simulator {
    Simulator::builder()
        .timings(Timings::manual())
        .manual_clock()
        .fault(fault)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn status_429_carries_retry_after_and_creates_nothing() {
    let sim = sim_with(Fault::on(CREATE_MIGRATION).too_many_requests(7)).await;
    let c = DigestClient::new(&sim);
    let group = sim.group_id();
    let resp = c
        .create_migration(group, migration_body(group))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_eq!(json(resp).await["error"], 429);
    assert_eq!(sim.migrations_created(), 0);
    // Fires once by default; the retry goes through.
    let resp = c
        .create_migration(group, migration_body(group))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(sim.migrations_created(), 1);
    assert_eq!(sim.faults_injected(), 1);
    assert_eq!(
        sim.requests()
            .iter()
            .filter(|r| r.fault == Some("status_429"))
            .count(),
        1
    );
}

#[tokio::test]
async fn status_500_and_503_hit_only_the_named_operation_the_given_times() {
    let sim = sim_with(Fault::on(GET_MIGRATION).status(503).times(2)).await;
    sim.inject(Fault::on(CREATE_MIGRATION).status(500));
    let c = DigestClient::new(&sim);
    let group = sim.group_id();
    let resp = c
        .create_migration(group, migration_body(group))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json(resp).await["errorCode"], "UNEXPECTED_ERROR");
    assert_eq!(sim.migrations_created(), 0);
    let id = json(
        c.create_migration(group, migration_body(group))
            .await
            .unwrap(),
    )
    .await["_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        c.get_migration(group, &id).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        c.get_migration(group, &id).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(c.get_migration(group, &id).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn stale_nonce_fault_answers_401_stale_true_to_a_valid_digest() {
    let sim = sim_with(Fault::on(GET_MIGRATION).stale_nonce()).await;
    let c = DigestClient::new(&sim);
    let group = sim.group_id();
    let id = json(
        c.create_migration(group, migration_body(group))
            .await
            .unwrap(),
    )
    .await["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/atlas/v2/groups/{group}/liveMigrations/{id}");
    let resp = c
        .send_once(reqwest::Method::GET, &path, V2023, None)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let challenge = www_authenticate(&resp);
    assert_eq!(
        challenge_param(&challenge, "stale").as_deref(),
        Some("true")
    );
    // The old nonce is retired: reusing it is stale too; a new one works.
    let resp = c
        .send_once(reqwest::Method::GET, &path, V2023, None)
        .await
        .unwrap();
    assert_eq!(
        challenge_param(&www_authenticate(&resp), "stale").as_deref(),
        Some("true")
    );
    assert_eq!(c.get_migration(group, &id).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn latency_delays_the_answer() {
    let sim = sim_with(Fault::on(GET_MIGRATION).latency(Duration::from_millis(150))).await;
    let c = DigestClient::new(&sim);
    let group = sim.group_id();
    let started = Instant::now();
    let resp = c.get_migration(group, "0123456789abcdef01234567").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn dropped_connection_gives_no_status_and_creates_nothing() {
    let sim = sim_with(Fault::on(CREATE_MIGRATION).drop_connection()).await;
    let c = DigestClient::new(&sim);
    let group = sim.group_id();
    let err = c
        .create_migration(group, migration_body(group))
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    assert_eq!(sim.migrations_created(), 0);
    let last = sim.requests().pop().unwrap();
    assert_eq!((last.status, last.fault), (None, Some("drop_connection")));
    // The server keeps serving other connections.
    assert_eq!(
        c.create_migration(group, migration_body(group))
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn drop_after_processing_creates_the_migration_but_answers_nothing() {
    let sim = sim_with(Fault::on(CREATE_MIGRATION).drop_after_processing()).await;
    let c = DigestClient::new(&sim);
    let group = sim.group_id();
    let err = c
        .create_migration(group, migration_body(group))
        .await
        .unwrap_err();
    assert!(err.status().is_none());
    assert_eq!(sim.migrations_created(), 1);
    // A blind retry makes a duplicate, which the simulator reports.
    c.create_migration(group, migration_body(group))
        .await
        .unwrap();
    assert_eq!(sim.duplicate_creates(), 1);
    let records = sim.migrations();
    let requests = sim.requests();
    assert_eq!(
        requests[records[0].request_index].created_id.as_deref(),
        Some(records[0].id.as_str())
    );
    assert_eq!(requests[records[0].request_index].status, None);
}

#[tokio::test]
async fn random_plan_with_a_seed_is_reproducible() {
    async fn outcomes() -> Vec<u16> {
        let sim = Simulator::builder()
            .manual_clock()
            .faults(
                FaultPlan::random(
                    7,
                    0.5,
                    vec![FaultKind::status(503), FaultKind::too_many_requests(1)],
                )
                .only([GET_MIGRATION]),
            )
            .start()
            .await
            .unwrap();
        let c = DigestClient::new(&sim);
        let mut out = vec![];
        for _ in 0..20 {
            out.push(
                c.get_migration(sim.group_id(), "0123456789abcdef01234567")
                    .await
                    .status()
                    .as_u16(),
            );
        }
        out
    }
    let a = outcomes().await;
    assert_eq!(a, outcomes().await);
    assert!(
        a.contains(&404) && (a.contains(&503) || a.contains(&429)),
        "{a:?}"
    );
}
