//! Whole workflows on the simulator with the PostgreSQL journal: completed and never created
//! twice, through backends ended mid-workflow and a server restart.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use atlas_migration::workflow::{PushMigration, PushOutcome};
use atlas_migration_postgres::PostgresJournal;
use atlas_migration_postgres::testkit::PgServer;
use atlas_migration_sim::Simulator;
use atlas_migration_sim::operations::CREATE_MIGRATION;

const MIN: Duration = Duration::from_millis(10);
const MAX: Duration = Duration::from_millis(40);

fn flow(
    sim: &Simulator,
    client: &atlas_migration::Client,
    journal: &Arc<PostgresJournal>,
    key: &str,
) -> PushMigration {
    PushMigration::new(
        client,
        &sim.group_id().parse().unwrap(),
        common::request(sim, key),
    )
    .journal(journal.clone(), key)
    .poll_delays(MIN, MAX)
    .auto_cutover(true)
}

/// Every migration the simulator holds goes to a destination of its own.
fn no_duplicates(sim: &Simulator) {
    let migrations = sim.migrations();
    let destinations: BTreeSet<_> = migrations.iter().map(|m| m.destination.clone()).collect();
    assert_eq!(
        destinations.len(),
        migrations.len(),
        "a destination migrated twice"
    );
}

#[tokio::test]
async fn a_journaled_workflow_completes_and_a_rerun_creates_nothing() {
    let Some(pg) =
        PgServer::start_or_skip("a_journaled_workflow_completes_and_a_rerun_creates_nothing")
    else {
        return;
    };
    let journal = Arc::new(PostgresJournal::new(&common::db(&pg).await));
    let (sim, client, _) = common::simulator().await;
    let done = flow(&sim, &client, &journal, "orders").await.unwrap();
    assert!(matches!(done, PushOutcome::Complete(_)));
    let again = flow(&sim, &client, &journal, "orders").await.unwrap();
    assert!(matches!(again, PushOutcome::Complete(_)));
    assert_eq!(sim.count(CREATE_MIGRATION), 1);
    let rows = common::query(
        &pg,
        "SELECT step, migration_id, lease_expires_at IS NULL, record::text FROM atlas_migration.records",
    )
    .await;
    assert_eq!(rows[0].get::<_, String>(0), "complete");
    assert_eq!(
        rows[0].get::<_, Option<String>>(1).as_deref(),
        done.migration_id().map(|id| id.as_str())
    );
    assert!(rows[0].get::<_, bool>(2), "the lease was released");
    assert!(
        !rows[0]
            .get::<_, String>(3)
            .contains(common::SOURCE_PASSWORD)
    );
}

/// Runs `n` journaled workflows at once while `fault` strikes the server, then recovers
/// any that stopped (as a restarted service would); returns how each first ended.
async fn workflows_through(
    pg: &PgServer,
    n: usize,
    fault: impl AsyncFnMut(&PgServer),
) -> (
    Simulator,
    Vec<Result<PushOutcome, atlas_migration::workflow::WorkflowError>>,
) {
    let journal = Arc::new(PostgresJournal::new(&common::db(pg).await));
    let (sim, client, _) = common::simulator().await;
    let runs: Vec<_> = (0..n)
        .map(|i| {
            let flow = flow(&sim, &client, &journal, &format!("m{i}"));
            tokio::spawn(flow.run())
        })
        .collect();
    let mut fault = fault;
    fault(pg).await;
    let mut first = Vec::new();
    for run in runs {
        first.push(
            tokio::time::timeout(Duration::from_secs(60), run)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    // Whatever stopped with a typed error is run again, as after a restart.
    for (i, result) in first.iter().enumerate() {
        if let Err(e) = result {
            assert!(!e.is_create_unconfirmed(), "m{i}: {e}");
            let again = flow(&sim, &client, &journal, &format!("m{i}"))
                .await
                .unwrap();
            assert!(matches!(again, PushOutcome::Complete(_)), "m{i}");
        }
    }
    assert_eq!(sim.migrations_created(), n, "one migration per workflow");
    no_duplicates(&sim);
    (sim, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_ended_mid_workflow_leave_one_migration_each() {
    let Some(pg) = PgServer::start_or_skip("backends_ended_mid_workflow_leave_one_migration_each")
    else {
        return;
    };
    let (_, first) = workflows_through(&pg, 8, async |pg: &PgServer| {
        let mut ended = 0;
        for _ in 0..15 {
            tokio::time::sleep(Duration::from_millis(40)).await;
            ended += pg.terminate_backends().await;
        }
        assert!(ended > 0, "the workflows' connections were ended");
    })
    .await;
    let complete = first.iter().filter(|r| r.is_ok()).count();
    assert_eq!(complete, 8, "every workflow rode the ended connections out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_workflow_leaves_one_migration_each() {
    let Some(pg) =
        PgServer::start_or_skip("a_server_restart_mid_workflow_leaves_one_migration_each")
    else {
        return;
    };
    workflows_through(&pg, 8, async |pg: &PgServer| {
        tokio::time::sleep(Duration::from_millis(150)).await;
        tokio::task::block_in_place(|| pg.restart());
    })
    .await;
}
