//! Helpers shared by this crate's tests.

#![allow(dead_code)]

use std::time::Duration;

use atlas_migration_postgres::Database;
use atlas_migration_postgres::testkit::PgServer;

/// A database on `pg` with short retry windows for tests.
pub async fn db(pg: &PgServer) -> Database {
    Database::builder(pg.config())
        .retry_for(Duration::from_secs(15))
        .operation_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect: {e:?}\n{}", pg.log_tail()))
}

use atlas_migration::{
    Client, ClientBuilder, Destination, GroupId, MigrationRequest, OrgId, RateLimits, RetryPolicy,
    Source,
};
use atlas_migration_sim::{Simulator, Timings};

/// The source password every request carries.
pub const SOURCE_PASSWORD: &str = "Src-P4ssw0rd-7f3a9c!";

/// A linked simulator with fast timings, its digest client and project.
pub async fn simulator() -> (Simulator, Client, GroupId) {
    let sim = Simulator::builder()
        .timings(Timings::fast())
        .start()
        .await
        .unwrap();
    let client = builder(&sim.base_url(), sim.public_key(), sim.private_key())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    link(sim, client).await
}

/// A linked simulator with fast timings that does not meter, with a digest client that
/// does not pace itself (crashes and takeovers are the subject, not budgets) and its project.
pub async fn unmetered_simulator() -> (Simulator, Client, GroupId) {
    let sim = Simulator::builder()
        .unmetered()
        .timings(Timings::fast())
        .start()
        .await
        .unwrap();
    let client = unpaced_client(
        &sim.base_url(),
        sim.public_key(),
        sim.private_key(),
        Duration::from_secs(10),
    );
    link(sim, client).await
}

/// A digest client for an unmetered simulator at `base_url`: short backoffs, `timeout` per
/// attempt, no pacing until refused.
pub fn unpaced_client(base_url: &str, public: &str, private: &str, timeout: Duration) -> Client {
    builder(base_url, public, private)
        .timeout(timeout)
        .rate_limits(RateLimits::learned_only())
        .build()
        .unwrap()
}

fn builder(base_url: &str, public: &str, private: &str) -> ClientBuilder {
    Client::builder()
        .base_url(base_url)
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(200))
                .jitter(false),
        )
        .api_key(public, private.to_owned())
}

/// Links the simulator's organization, as a migration needs.
async fn link(sim: Simulator, client: Client) -> (Simulator, Client, GroupId) {
    let org: OrgId = sim.org_id().parse().unwrap();
    client
        .create_link_token(&org, Vec::<String>::new())
        .await
        .unwrap();
    sim.clear_requests();
    let group: GroupId = sim.group_id().parse().unwrap();
    (sim, client, group)
}

/// A valid request from the simulator's first source project into cluster `destination`.
pub fn request(sim: &Simulator, destination: &str) -> MigrationRequest {
    let project = &sim.source_projects()[0];
    MigrationRequest::builder()
        .source(
            Source::new(
                project.deployments[0].name.clone(),
                project.project_id.parse().unwrap(),
            )
            .tls(true)
            .credentials("migrator", SOURCE_PASSWORD.to_owned()),
        )
        .destination(Destination::new(
            destination,
            sim.group_id().parse().unwrap(),
        ))
        .migration_host(project.migration_hosts[0].clone())
        .build()
        .unwrap()
}

/// A record for `key` as the workflow would save it before validating (records are made by
/// the workflow; tests build them from JSON).
pub fn record(key: &str) -> atlas_migration::journal::WorkflowRecord {
    serde_json::from_value(serde_json::json!({
        "format": 1,
        "key": key,
        "group": "32b6e34b3d91647abb20e7b8",
        "updatedAt": "2026-01-01T00:00:00Z",
    }))
    .unwrap()
}

/// Runs `sql` on `pg` as the superuser and returns the rows.
pub async fn query(pg: &PgServer, sql: &str) -> Vec<tokio_postgres::Row> {
    let (client, connection) = pg.config().connect(tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(connection);
    let rows = client
        .query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    drop(client);
    let _ = task.await;
    rows
}

/// Everything `tracing` writes while installed (TRACE level, no colours).
#[derive(Clone, Default)]
pub struct TraceCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl TraceCapture {
    /// A capture installed as the process-wide default subscriber (once per test binary).
    pub fn install() -> Self {
        let capture = Self::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        capture
    }

    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for TraceCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
