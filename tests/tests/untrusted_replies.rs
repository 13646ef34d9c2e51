//! Replies from a server that cannot be trusted, served by the simulator's hostile fault
//! kinds over real loopback HTTP: another resource's reply, a reply far larger than any real
//! one, an operation that never answers and one that drips a byte at a time. Each ends in a
//! typed error within the caller's bounds, never in a wrong answer or a hang; a reply that is
//! merely slow and split is read whole.

use std::time::{Duration, Instant};

use atlas_migration::wait::WaiterError;
use atlas_migration::{Client, GroupId, LiveMigrationId};
use atlas_migration_sim::operations::{GET_MIGRATION, GET_VALIDATION, VALIDATE_MIGRATION};
use atlas_migration_sim::{Fault, Simulator};
use atlas_migration_tests::{builder, digest_client, group, linked, quick_retries, request};

/// Nothing here may take longer than this.
const NO_HANG: Duration = Duration::from_secs(20);

/// A linked simulator, `client` (the kit's digest client unless given), the project and a
/// migration created in it.
async fn with_migration(
    client: Option<fn(&Simulator) -> Client>,
) -> (Simulator, Client, GroupId, LiveMigrationId) {
    let sim = linked(Simulator::builder()).await;
    let client = client.map_or_else(|| digest_client(&sim), |make| make(&sim));
    let group = group(&sim);
    let id = client
        .create_migration(&group, &request(&sim, &group))
        .await
        .unwrap()
        .id;
    (sim, client, group, id)
}

#[tokio::test]
async fn another_migrations_reply_is_refused_not_returned() {
    let (sim, client, group, migration_id) = with_migration(None).await;
    sim.inject(Fault::on(GET_MIGRATION).foreign_id());
    let error = client
        .get_migration(&group, &migration_id)
        .await
        .unwrap_err();
    assert!(error.is_identity_mismatch(), "{error:?}");
    assert!(error.to_string().contains(migration_id.as_str()), "{error}");
    assert!(!error.is_transient());
    // The next, honest reply is accepted.
    assert_eq!(
        client
            .get_migration(&group, &migration_id)
            .await
            .unwrap()
            .id,
        migration_id
    );
}

#[tokio::test]
async fn a_wait_never_ends_on_another_migrations_state() {
    let (sim, client, group, migration_id) = with_migration(None).await;
    sim.inject(Fault::on(GET_MIGRATION).foreign_id().always());
    let result = tokio::time::timeout(
        NO_HANG,
        client
            .wait_until_ready_for_cutover(&group, &migration_id)
            .poller(|p| {
                p.min_delay(Duration::from_millis(5))
                    .max_wait(Duration::from_secs(5))
            })
            .wait(),
    )
    .await
    .expect("bounded");
    match result {
        Err(WaiterError::OperationFailed(e)) => {
            assert!(e.to_string().contains("describes migration"), "{e}")
        }
        other => panic!("expected the wait to fail on the mismatched reply, got {other:?}"),
    }
}

#[tokio::test]
async fn a_validation_of_another_project_is_refused() {
    let sim = linked(Simulator::builder()).await;
    let client = digest_client(&sim);
    let group = group(&sim);
    sim.inject(Fault::on(VALIDATE_MIGRATION).foreign_project());
    let error = client
        .validate_migration(&group, &request(&sim, &group))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("describes project"), "{error}");
    let validation = client
        .validate_migration(&group, &request(&sim, &group))
        .await
        .unwrap();
    sim.inject(Fault::on(GET_VALIDATION).foreign_id());
    let error = client
        .get_validation(&group, &validation.id)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("describes validation"),
        "{error}"
    );
}

#[tokio::test]
async fn an_oversize_reply_is_refused_while_streaming() {
    let (sim, client, group, migration_id) = with_migration(Some(|sim| {
        builder(&sim.base_url())
            .api_key(sim.public_key(), sim.private_key().to_owned())
            .max_reply_size(64 * 1024)
            .build()
            .unwrap()
    }))
    .await;
    // 1 GiB, streamed without a length: only the cap stops it.
    sim.inject(Fault::on(GET_MIGRATION).oversize(1 << 30));
    let started = Instant::now();
    let error = tokio::time::timeout(NO_HANG, client.get_migration(&group, &migration_id))
        .await
        .expect("refused long before the body ends")
        .unwrap_err();
    assert!(error.is_reply_too_large(), "{error:?}");
    assert!(error.to_string().contains("65536 bytes"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_reply_in_many_chunks_reads_as_in_one() {
    let (sim, client, group, migration_id) = with_migration(None).await;
    let whole = client.get_migration(&group, &migration_id).await.unwrap();
    // A byte per chunk (sent with a millisecond between, so they are not joined on the way).
    sim.inject(Fault::on(GET_MIGRATION).drip(Duration::from_millis(1)));
    let dripped = tokio::time::timeout(NO_HANG, client.get_migration(&group, &migration_id))
        .await
        .expect("a slow reply still ends")
        .unwrap();
    assert_eq!(dripped, whole);
}

#[tokio::test]
async fn max_wait_bounds_a_poll_that_never_answers() {
    // Three attempts of 10 s each would take 30 s; the wait's 1 s bound wins.
    let (sim, client, group, migration_id) = with_migration(Some(|sim| {
        builder(&sim.base_url())
            .api_key(sim.public_key(), sim.private_key().to_owned())
            .retry_policy(quick_retries(3))
            .build()
            .unwrap()
    }))
    .await;
    sim.inject(Fault::on(GET_MIGRATION).hang().always());
    let started = Instant::now();
    let result = tokio::time::timeout(
        NO_HANG,
        client
            .wait_until_ready_for_cutover(&group, &migration_id)
            .poller(|p| p.max_wait(Duration::from_secs(1)))
            .wait(),
    )
    .await
    .expect("bounded by max_wait");
    assert!(
        matches!(result, Err(WaiterError::ExceededMaxWait { .. })),
        "{result:?}"
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "max_wait 1 s took {took:?}");
}

#[tokio::test]
async fn max_wait_bounds_a_reply_that_drips() {
    let (sim, client, group, migration_id) = with_migration(None).await;
    sim.inject(
        Fault::on(GET_MIGRATION)
            .drip(Duration::from_millis(200))
            .always(),
    );
    let started = Instant::now();
    let mut watch = client
        .watch_migration(&group, &migration_id)
        .max_wait(Duration::from_secs(1));
    let first = tokio::time::timeout(NO_HANG, futures::StreamExt::next(&mut watch))
        .await
        .expect("bounded by max_wait");
    assert!(
        first.is_none() || first.as_ref().is_some_and(Result::is_err),
        "{first:?}"
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "max_wait 1 s took {took:?}");
}
