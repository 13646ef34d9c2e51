//! The PostgreSQL journal against a real server: the core's conformance kit, records an
//! operator reads with plain SQL, no password anywhere, and the faults of a shared database
//! (a backend ended by an administrator, a restart, an outage longer than the retry window,
//! a holder paused past its lease).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use atlas_migration::journal::{ConformanceKit, Journal, JournalErrorKind};
use atlas_migration_postgres::testkit::PgServer;
use atlas_migration_postgres::{Database, PostgresJournal};

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_passes_the_core_conformance_kit() {
    let Some(pg) = PgServer::start_or_skip("the_journal_passes_the_core_conformance_kit") else {
        return;
    };
    let config = pg.config();
    let schemas = Arc::new(AtomicUsize::new(0));
    let corrupt_config = config.clone();
    ConformanceKit::new(move || {
        let (config, n) = (config.clone(), schemas.fetch_add(1, Ordering::SeqCst));
        async move {
            // Each check over an empty store of its own: a schema of its own.
            let db = Database::builder(config)
                .schema(format!("kit_{n}"))
                .connect()
                .await
                .unwrap();
            PostgresJournal::new(&db)
        }
    })
    .corrupt_with(move |journal, key| {
        let config = corrupt_config.clone();
        async move {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            // Valid JSON of the wrong shape: what a hand edit or a foreign writer leaves.
            client
                .execute(
                    &format!(
                        "UPDATE {}.records SET record = jsonb_set(record, '{{group}}', '42') \
                         WHERE key = $1",
                        journal.database().schema()
                    ),
                    &[&key],
                )
                .await
                .unwrap();
        }
    })
    .run()
    .await;
}

#[tokio::test]
async fn records_are_readable_with_plain_sql_and_foreign_ones_are_refused() {
    let Some(pg) =
        PgServer::start_or_skip("records_are_readable_with_plain_sql_and_foreign_ones_are_refused")
    else {
        return;
    };
    let journal = PostgresJournal::new(&common::db(&pg).await);
    let lease = journal.acquire("orders", "replica-a", LONG).await.unwrap();
    let mut record = common::record("orders");
    record.create_intent_at = Some(chrono::Utc::now());
    journal.save(&lease, &record).await.unwrap();
    let rows = common::query(
        &pg,
        "SELECT key, step, group_id, lease_owner, generation, lease_expires_at > now(), \
                record->>'createIntentAt' IS NOT NULL, updated_at >= created_at \
         FROM atlas_migration.records",
    )
    .await;
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.get::<_, String>(0), "orders");
    assert_eq!(r.get::<_, String>(1), "create_unconfirmed");
    assert_eq!(r.get::<_, String>(2), "32b6e34b3d91647abb20e7b8");
    assert_eq!(r.get::<_, String>(3), "replica-a");
    assert_eq!(r.get::<_, i64>(4), 1);
    assert!(r.get::<_, bool>(5) && r.get::<_, bool>(6) && r.get::<_, bool>(7));
    let summaries = journal.summaries().await.unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].step, "create_unconfirmed");
    assert_eq!(summaries[0].lease.as_ref().map(|l| l.generation), Some(1));
    // A record of another key or format is refused, and left as it is.
    pg.execute(
        "INSERT INTO atlas_migration.records (key, generation, record) VALUES \
         ('moved', 1, '{\"format\": 1, \"key\": \"other\", \"group\": \"32b6e34b3d91647abb20e7b8\", \
           \"updatedAt\": \"2026-01-01T00:00:00Z\"}'), \
         ('future', 1, '{\"format\": 9, \"key\": \"future\"}')",
    )
    .await;
    for key in ["moved", "future"] {
        let e = journal.load(key).await.unwrap_err();
        assert_eq!(e.kind(), JournalErrorKind::Foreign, "{key}: {e}");
    }
}

#[tokio::test]
async fn the_password_never_appears_in_debug_errors_or_traces() {
    let Some(pg) = PgServer::start_or_skip("the_password_never_appears_in_debug_errors_or_traces")
    else {
        return;
    };
    const PASSWORD: &str = "Pg-S3cret-9d1e7b";
    let capture = common::TraceCapture::install();
    // Trust authentication accepts any password: the connection works, the password is sent.
    let url = format!(
        "postgres://postgres:{PASSWORD}@127.0.0.1:{}/postgres",
        pg.port()
    );
    let db = Database::connect(&url).await.unwrap();
    let journal = PostgresJournal::new(&db);
    let mut seen = format!("{db:?} {journal:?} {}", db.target());
    // A server that is not there: the error names the target, never the password.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let e = Database::builder(
        format!("postgres://postgres:{PASSWORD}@127.0.0.1:{closed}/postgres")
            .parse()
            .unwrap(),
    )
    .retry_for(Duration::from_millis(200))
    .connect()
    .await
    .unwrap_err();
    assert!(e.is_connection(), "{e:?}");
    seen += &format!("{e} {e:?}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        seen += &format!(" {s} {s:?}");
        source = s.source();
    }
    // A refused save and a locked record, as errors.
    let lease = journal.acquire("k", "a", LONG).await.unwrap();
    let e = journal.acquire("k", "b", LONG).await.unwrap_err();
    seen += &format!("{e} {e:?}");
    journal.release(&lease).await.unwrap();
    let e = journal
        .save(&lease, &common::record("k"))
        .await
        .unwrap_err();
    seen += &format!("{e} {e:?}");
    seen += &capture.text();
    assert!(seen.contains("127.0.0.1"), "the target is named: {seen}");
    assert!(!seen.contains(PASSWORD), "the password leaked: {seen}");
}

#[tokio::test]
async fn a_backend_ended_by_an_administrator_is_ridden_out() {
    let Some(pg) = PgServer::start_or_skip("a_backend_ended_by_an_administrator_is_ridden_out")
    else {
        return;
    };
    let journal = PostgresJournal::new(&common::db(&pg).await);
    let lease = journal.acquire("orders", "replica-a", LONG).await.unwrap();
    journal
        .save(&lease, &common::record("orders"))
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(
            pg.terminate_backends().await >= 1,
            "the pool's connection was ended"
        );
        let mut record = common::record("orders");
        record.create_intent_at = Some(chrono::Utc::now());
        journal.save(&lease, &record).await.unwrap();
        let lease = journal.renew(&lease, LONG).await.unwrap();
        assert_eq!(lease.generation, 1);
        assert!(
            journal
                .load("orders")
                .await
                .unwrap()
                .unwrap()
                .create_may_have_happened()
        );
    }
}

#[tokio::test]
async fn a_server_restart_is_ridden_out_and_a_longer_outage_is_a_typed_error() {
    let Some(pg) = PgServer::start_or_skip(
        "a_server_restart_is_ridden_out_and_a_longer_outage_is_a_typed_error",
    ) else {
        return;
    };
    let journal = PostgresJournal::new(&common::db(&pg).await);
    let lease = journal.acquire("orders", "replica-a", LONG).await.unwrap();
    journal
        .save(&lease, &common::record("orders"))
        .await
        .unwrap();
    pg.restart();
    let lease = journal.renew(&lease, LONG).await.unwrap();
    journal
        .save(&lease, &common::record("orders"))
        .await
        .unwrap();
    assert_eq!(journal.keys().await.unwrap(), ["orders"]);
    // Down for longer than the retry window: an I/O error naming the record, nothing else.
    let short = PostgresJournal::new(
        &Database::builder(pg.config())
            .retry_for(Duration::from_millis(500))
            .operation_timeout(Duration::from_secs(2))
            .connect()
            .await
            .unwrap(),
    );
    pg.stop();
    let e = short
        .save(&lease, &common::record("orders"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), JournalErrorKind::Io, "{e}");
    assert_eq!(e.key(), "orders");
    pg.start_again();
    short.save(&lease, &common::record("orders")).await.unwrap();
}

#[tokio::test]
async fn a_holder_paused_past_its_lease_cannot_save_over_its_successor() {
    let Some(pg) =
        PgServer::start_or_skip("a_holder_paused_past_its_lease_cannot_save_over_its_successor")
    else {
        return;
    };
    // Two replicas, each with its own pool.
    let a = PostgresJournal::new(&common::db(&pg).await);
    let b = PostgresJournal::new(&common::db(&pg).await);
    let ttl = Duration::from_millis(500);
    let stale = a.acquire("orders", "replica-a", ttl).await.unwrap();
    a.save(&stale, &common::record("orders")).await.unwrap();
    // A stops renewing (paused); B waits for the lease to run out and takes over.
    let e = b.acquire("orders", "replica-b", LONG).await.unwrap_err();
    assert_eq!(e.kind(), JournalErrorKind::Locked);
    assert_eq!(e.holder().map(|l| l.owner.as_str()), Some("replica-a"));
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    let current = b.acquire("orders", "replica-b", LONG).await.unwrap();
    assert_eq!(current.generation, stale.generation + 1);
    let mut successors = common::record("orders");
    successors.migration_id = Some("6296fb4c7c7aa997cf94e9a8".parse().unwrap());
    b.save(&current, &successors).await.unwrap();
    // A wakes up: its save and its renewal are refused, naming the successor.
    let mut stale_record = common::record("orders");
    stale_record.create_intent_at = Some(chrono::Utc::now());
    let e = a.save(&stale, &stale_record).await.unwrap_err();
    assert_eq!(e.kind(), JournalErrorKind::LeaseLost, "{e}");
    assert_eq!(e.holder().map(|l| l.owner.as_str()), Some("replica-b"));
    assert_eq!(
        a.renew(&stale, LONG).await.unwrap_err().kind(),
        JournalErrorKind::LeaseLost
    );
    a.release(&stale).await.unwrap();
    let kept = b.load("orders").await.unwrap().unwrap();
    assert_eq!(
        kept.migration_id, successors.migration_id,
        "the successor's record stands"
    );
    b.save(&current, &successors).await.unwrap();
}
