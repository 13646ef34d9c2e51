//! Retry behaviour over real HTTP with short real delays (the retry schedule itself is
//! unit-tested on paused time in `src/retry.rs`).

use atlas_migration_tests as support;

use atlas_migration_sim::operations::{CREATE_MIGRATION, DELETE_LINK_TOKENS, LIST_SOURCE_PROJECTS};
use std::time::{Duration, Instant};

use atlas_migration::RetryPolicy;
use atlas_migration_sim::{Fault, Simulator};

async fn linked_sim(builder: atlas_migration_sim::SimulatorBuilder) -> Simulator {
    support::linked(builder).await
}

#[tokio::test]
async fn get_is_retried_on_503_until_it_succeeds() {
    let sim = linked_sim(
        Simulator::builder().fault(Fault::on(LIST_SOURCE_PROJECTS).status(503).times(2)),
    )
    .await;
    let client = support::digest_client(&sim);
    client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap();
    assert_eq!(sim.count(LIST_SOURCE_PROJECTS), 3);
}

#[tokio::test]
async fn retries_stop_at_max_attempts_with_the_last_error() {
    let sim = linked_sim(
        Simulator::builder().fault(Fault::on(LIST_SOURCE_PROJECTS).status(500).always()),
    )
    .await;
    let client = support::digest_client(&sim);
    let err = client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.is_transient());
    assert_eq!(sim.count(LIST_SOURCE_PROJECTS), 3);
}

#[tokio::test]
async fn post_is_not_retried_on_500() {
    let sim =
        linked_sim(Simulator::builder().fault(Fault::on(CREATE_MIGRATION).status(500).times(1)))
            .await;
    let client = support::digest_client(&sim);
    let group = support::group(&sim);
    let err = client
        .create_migration(&group, &support::request(&sim, &group))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(sim.count(CREATE_MIGRATION), 1);
    assert_eq!(sim.migrations_created(), 0);
}

#[tokio::test]
async fn post_is_retried_on_429_honouring_retry_after() {
    let sim = linked_sim(
        Simulator::builder().fault(Fault::on(CREATE_MIGRATION).too_many_requests(1).times(1)),
    )
    .await;
    let client = support::builder(&sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_secs(5))
                .jitter(false),
        )
        .build()
        .unwrap();
    let group = support::group(&sim);
    let start = Instant::now();
    client
        .create_migration(&group, &support::request(&sim, &group))
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(sim.count(CREATE_MIGRATION), 2);
    assert_eq!(sim.migrations_created(), 1);
}

#[tokio::test]
async fn retry_after_is_a_floor_stretched_by_repeats_never_cut_by_max_backoff() {
    let sim = linked_sim(
        Simulator::builder().fault(
            Fault::on(LIST_SOURCE_PROJECTS)
                .too_many_requests(1)
                .times(2),
        ),
    )
    .await;
    let client = support::digest_client(&sim); // max backoff 200 ms, 3 attempts
    let start = Instant::now();
    client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap();
    let took = start.elapsed();
    // 1 s, then 2 s after the second 429 (each with up to as long again of jitter).
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(client.throttle_status().refusals, 2);
}

/// Creates one migration against a simulator that applies `fault` once to the create;
/// returns the simulator and the create's error.
async fn create_with_fault(fault: Fault) -> (Simulator, atlas_migration::Error) {
    let sim = linked_sim(Simulator::builder().fault(fault.times(1))).await;
    let client = support::digest_client(&sim);
    let group = support::group(&sim);
    let err = client
        .create_migration(&group, &support::request(&sim, &group))
        .await
        .unwrap_err();
    (sim, err)
}

#[tokio::test]
async fn post_is_not_repeated_when_the_connection_drops_after_processing() {
    let (sim, err) = create_with_fault(Fault::on(CREATE_MIGRATION).drop_after_processing()).await;
    assert_eq!(err.kind(), atlas_migration::ErrorKind::Transport, "{err}");
    assert_eq!(sim.count(CREATE_MIGRATION), 1);
    assert_eq!(sim.duplicate_creates(), 0);
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = support::builder(&url)
        .api_key("pub", "priv".to_owned())
        .build()
        .unwrap();
    let err = client
        .list_source_projects(&"4888442a3354817a7320eb61".parse().unwrap())
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().starts_with("transport error"), "{err}");
}

#[tokio::test]
async fn idempotent_calls_are_retried_when_the_connection_drops_before_a_reply() {
    let sim = linked_sim(
        Simulator::builder()
            .fault(Fault::on(LIST_SOURCE_PROJECTS).drop_connection().times(1))
            .fault(Fault::on(DELETE_LINK_TOKENS).drop_connection().times(1)),
    )
    .await;
    let client = support::digest_client(&sim);
    let org = support::org(&sim);
    client.list_source_projects(&org).await.unwrap();
    assert_eq!(sim.count(LIST_SOURCE_PROJECTS), 2);
    client.delete_link_tokens(&org).await.unwrap();
    assert_eq!(sim.count(DELETE_LINK_TOKENS), 2);
}

#[tokio::test]
async fn post_is_not_repeated_when_the_connection_drops_before_a_reply() {
    let (sim, err) = create_with_fault(Fault::on(CREATE_MIGRATION).drop_connection()).await;
    assert_eq!(err.kind(), atlas_migration::ErrorKind::Transport, "{err}");
    assert_eq!(sim.count(CREATE_MIGRATION), 1);
}

#[tokio::test]
async fn a_handle_with_its_own_timeout_and_retries_leaves_the_client_alone() {
    let sim = linked_sim(Simulator::builder()).await;
    sim.inject(
        Fault::on(LIST_SOURCE_PROJECTS)
            .latency(Duration::from_millis(400))
            .times(2),
    );
    let client = support::digest_client(&sim); // 10 s per attempt, retries
    let hasty = client
        .with_timeout(Duration::from_millis(100))
        .with_retry_policy(RetryPolicy::never());
    let started = Instant::now();
    let error = hasty
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The original handle keeps its own settings: it waits out the slow reply.
    client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap();
}
