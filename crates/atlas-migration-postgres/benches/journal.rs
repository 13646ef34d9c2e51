//! What the crate costs over plain SQL, against one throwaway PostgreSQL server on loopback,
//! each figure beside its baseline measured in the same process on the same server:
//!
//! 1. Journal save latency, one at a time: `PostgresJournal::save` (fenced by the lease's
//!    generation and expiry) against a raw prepared `INSERT … ON CONFLICT DO UPDATE` of the
//!    same JSON. p50 and mean (goal ≤ 1.5×).
//! 2. Fleet claim throughput, several claimers at once: `FleetStore::claim` against a raw
//!    `UPDATE … WHERE (fleet, label) = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING`
//!    on plain tables with the same columns, keys and indexes (goal ≤ 1.5× the time per
//!    claim). Members without exclusive resources against that statement; members with a
//!    migration host each against the same statement inserting the host (holding a
//!    resource is a second row the first baseline does not write).
//! 3. Workflow overhead: the wall time of concurrent push workflows against an unmetered
//!    simulator with the PostgreSQL journal against none.
//!
//! Run with `cargo bench -p atlas-migration-postgres --bench journal` (add `-- 2` to run
//! part 2 only). Without PostgreSQL on the machine it prints one line and ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use atlas_migration::journal::{Journal, WorkflowRecord};
use atlas_migration::workflow::{PushMigration, PushOutcome};
use atlas_migration::{
    Client, Destination, GroupId, MigrationRequest, RateLimits, RetryPolicy, Source,
};
use atlas_migration_postgres::testkit::PgServer;
use atlas_migration_postgres::{Database, FleetStore, MemberSpec, PostgresJournal};
use atlas_migration_sim::{Simulator, Timings};
use tokio_postgres::types::Json;

const GOAL: f64 = 1.5;
const LONG: Duration = Duration::from_secs(3600);

/// Saves per round of part 1, and rounds (each measures both, alternating).
const SAVES: usize = 2_000;
const SAVE_ROUNDS: usize = 3;
/// Part 2: members per fleet (what each claim's label list holds), fleets per round, and
/// claimers at once.
const FLEET_MEMBERS: usize = 300;
const FLEETS: usize = 8;
const CLAIMERS: usize = 4;
const CLAIM_ROUNDS: usize = 3;
/// Part 3: workflows at once, and rounds.
const WORKFLOWS: usize = 50;
const WORKFLOW_ROUNDS: usize = 3;

fn main() {
    let only: Option<u32> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    let Some(pg) = PgServer::start_or_skip("bench journal") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let db = Database::builder(pg.config())
            .max_connections(8)
            .connect()
            .await
            .expect("connect");
        let raw = raw_client(&pg).await;
        if only.is_none_or(|p| p == 1) {
            save_latency(&db, &raw).await;
        }
        if only.is_none_or(|p| p == 2) {
            claim_throughput(&pg, &db).await;
        }
        if only.is_none_or(|p| p == 3) {
            workflow_overhead(&db).await;
        }
    });
}

/// A plain connection of its own, as a caller of a plain table would hold.
async fn raw_client(pg: &PgServer) -> tokio_postgres::Client {
    let (client, connection) = pg
        .config()
        .connect(tokio_postgres::NoTls)
        .await
        .expect("a raw connection");
    tokio::spawn(connection);
    client
}

fn verdict(ratio: f64) -> &'static str {
    if ratio <= GOAL { "ok" } else { "MISSED" }
}

/// The middle and the mean of `samples`.
fn p50_mean(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let sum: Duration = samples.iter().sum();
    (
        samples[samples.len() / 2],
        sum / u32::try_from(samples.len()).expect("few samples"),
    )
}

/// A record as a workflow saves it once its migration is created (request included).
fn record(key: &str) -> WorkflowRecord {
    let mut record: WorkflowRecord = serde_json::from_value(serde_json::json!({
        "format": 1,
        "key": key,
        "group": "32b6e34b3d91647abb20e7b8",
        "updatedAt": "2026-01-01T00:00:00Z",
        "validationId": "6296fb4c7c7aa997cf94e9a7",
        "createIntentAt": "2026-01-01T00:00:01Z",
        "createMayLandUntil": "2026-01-01T00:16:01Z",
        "migrationId": "6296fb4c7c7aa997cf94e9a8",
    }))
    .expect("a record");
    let group: GroupId = "32b6e34b3d91647abb20e7b8".parse().expect("an id");
    record.request = Some(
        MigrationRequest::builder()
            .source(
                Source::new(
                    "Cluster0",
                    "5f4e3d2c1b0a998877665544".parse().expect("an id"),
                )
                .tls(true)
                .credentials("migrator", "not-saved".to_owned()),
            )
            .destination(Destination::new(key, group))
            .migration_host("migration-host-0.example.net")
            .build()
            .expect("a request"),
    );
    record
}

async fn save_latency(db: &Database, raw: &tokio_postgres::Client) {
    println!("1. journal save, one at a time, {SAVES} per round:");
    let journal = PostgresJournal::new(db);
    let lease = journal
        .acquire("bench-save", "bench", LONG)
        .await
        .expect("lease");
    let record = record("bench-save");
    raw.batch_execute(
        "CREATE TABLE IF NOT EXISTS raw_records (key text PRIMARY KEY, record jsonb)",
    )
    .await
    .expect("raw table");
    let upsert = raw
        .prepare(
            "INSERT INTO raw_records (key, record) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record",
        )
        .await
        .expect("prepare");
    // Warm both paths (connections, caches, the rows).
    for _ in 0..200 {
        journal.save(&lease, &record).await.expect("save");
        let json = serde_json::to_value(&record).expect("json");
        raw.execute(&upsert, &[&"bench-save", &Json(&json)])
            .await
            .expect("upsert");
    }
    let (mut raws, mut saves) = (Vec::new(), Vec::new());
    for _ in 0..SAVE_ROUNDS {
        for _ in 0..SAVES {
            let started = Instant::now();
            // The same work a caller of a plain table does: serialize, then one statement.
            let json = serde_json::to_value(&record).expect("json");
            raw.execute(&upsert, &[&"bench-save", &Json(&json)])
                .await
                .expect("upsert");
            raws.push(started.elapsed());
        }
        for _ in 0..SAVES {
            let started = Instant::now();
            journal.save(&lease, &record).await.expect("save");
            saves.push(started.elapsed());
        }
    }
    let (raw_p50, raw_mean) = p50_mean(&mut raws);
    let (save_p50, save_mean) = p50_mean(&mut saves);
    let p50 = save_p50.as_secs_f64() / raw_p50.as_secs_f64();
    let mean = save_mean.as_secs_f64() / raw_mean.as_secs_f64();
    println!("   raw upsert    p50 {raw_p50:>10.1?}  mean {raw_mean:>10.1?}");
    println!("   journal save  p50 {save_p50:>10.1?}  mean {save_mean:>10.1?}");
    println!(
        "   ratio p50 {p50:.2}x ({}), mean {mean:.2}x ({}); goal <= {GOAL}x",
        verdict(p50),
        verdict(mean)
    );
}

async fn claim_throughput(pg: &PgServer, db: &Database) {
    println!(
        "2. fleet claims: {CLAIMERS} claimers at once, {FLEETS} fleets of {FLEET_MEMBERS} \
         members per round, median of {CLAIM_ROUNDS} rounds:"
    );
    let schema = db.schema().to_owned();
    let setup = raw_client(pg).await;
    // The store's two tables as plain tables: the same columns, keys and indexes.
    setup
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS raw_members (
                 fleet text NOT NULL, label text NOT NULL, position integer NOT NULL,
                 exclusive text[] NOT NULL,
                 generation bigint NOT NULL DEFAULT 0, claim_owner text,
                 claim_expires_at timestamptz, attempts integer NOT NULL DEFAULT 0,
                 started_at timestamptz, finished_at timestamptz,
                 PRIMARY KEY (fleet, label));
             CREATE INDEX IF NOT EXISTS raw_members_open ON raw_members (fleet, position)
                 WHERE finished_at IS NULL;
             CREATE TABLE IF NOT EXISTS raw_holds (
                 resource text PRIMARY KEY, fleet text NOT NULL, label text NOT NULL,
                 claimed_at timestamptz NOT NULL DEFAULT now(),
                 FOREIGN KEY (fleet, label) REFERENCES raw_members (fleet, label)
                     ON DELETE CASCADE);
             CREATE INDEX IF NOT EXISTS raw_holds_member ON raw_holds (fleet, label);",
        )
        .await
        .expect("raw tables");
    let store = FleetStore::new(db);
    let labels: Vec<String> = (0..FLEET_MEMBERS).map(|i| format!("m{i:03}")).collect();
    let fleets: Vec<String> = (0..FLEETS).map(|f| format!("f{f}")).collect();
    let members = i32::try_from(FLEET_MEMBERS).expect("few");
    for fleet in &fleets {
        let plain: Vec<MemberSpec> = labels.iter().map(MemberSpec::new).collect();
        store
            .register(&format!("plain-{fleet}"), &plain)
            .await
            .expect("register");
        let hosted: Vec<MemberSpec> = labels
            .iter()
            .map(|l| MemberSpec::new(l).exclusive(format!("host hosted-{fleet} {l}")))
            .collect();
        store
            .register(&format!("hosted-{fleet}"), &hosted)
            .await
            .expect("register");
        setup
            .execute(
                "INSERT INTO raw_members (fleet, label, position, exclusive)
                 SELECT f, 'm' || lpad(i::text, 3, '0'), i,
                        CASE WHEN f LIKE 'hosted-%'
                             THEN ARRAY['host ' || f || ' m' || lpad(i::text, 3, '0')]
                             ELSE '{}' END
                 FROM generate_series(0, $2 - 1) i,
                      unnest(ARRAY['plain-' || $1, 'hosted-' || $1]) f
                 ON CONFLICT DO NOTHING",
                &[&fleet, &members],
            )
            .await
            .expect("raw members");
    }
    let mut raw_clients = Vec::new();
    for _ in 0..CLAIMERS {
        let client = raw_client(pg).await;
        let claim = client.prepare(RAW_CLAIM).await.expect("prepare");
        let claim_and_hold = client.prepare(RAW_CLAIM_AND_HOLD).await.expect("prepare");
        raw_clients.push(Arc::new((client, claim, claim_and_hold)));
    }
    let raw_clients = Arc::new(raw_clients);
    let labels = Arc::new(labels);
    // Raw claims, raw claims holding a host, the store's claims without and with a host.
    let mut rates: [Vec<f64>; 4] = Default::default();
    for round in 0..=CLAIM_ROUNDS {
        // Every member claimable again (round 0 warms up). The tables keep the statistics
        // taken when they were full, as autovacuum leaves them during a long rollout: a table
        // analyzed empty gets plans that scan it whole until it is analyzed again.
        for sql in [
            "DELETE FROM raw_holds".to_owned(),
            "UPDATE raw_members SET claim_owner = NULL, claim_expires_at = NULL".to_owned(),
            format!("DELETE FROM {schema}.exclusive_claims"),
            format!(
                "UPDATE {schema}.fleet_members SET claim_owner = NULL, claim_expires_at = NULL"
            ),
        ] {
            setup.batch_execute(&sql).await.expect("reset");
        }
        let mut measured = [0.0; 4];
        for (kind, rate) in measured.iter_mut().enumerate() {
            let (clients, store, labels) = (raw_clients.clone(), store.clone(), labels.clone());
            *rate = claim_all(&fleets, move |fleet, n| {
                let (raw, store, labels) = (clients[n].clone(), store.clone(), labels.clone());
                async move {
                    let (client, claim, claim_and_hold) = &*raw;
                    let owner = format!("c{n}");
                    match kind {
                        0 | 1 => {
                            let (statement, fleet) = if kind == 0 {
                                (claim, format!("plain-{fleet}"))
                            } else {
                                (claim_and_hold, format!("hosted-{fleet}"))
                            };
                            client
                                .query_opt(statement, &[&fleet, &owner])
                                .await
                                .expect("claim")
                                .is_some()
                        }
                        _ => {
                            let fleet = if kind == 2 {
                                format!("plain-{fleet}")
                            } else {
                                format!("hosted-{fleet}")
                            };
                            store
                                .claim(&fleet, &labels, &owner, LONG)
                                .await
                                .expect("claim")
                                .is_some()
                        }
                    }
                }
            })
            .await;
        }
        if round > 0 {
            for (rates, rate) in rates.iter_mut().zip(measured) {
                rates.push(rate);
            }
        } else {
            for table in [
                "raw_members".to_owned(),
                "raw_holds".to_owned(),
                format!("{schema}.fleet_members"),
                format!("{schema}.exclusive_claims"),
            ] {
                setup
                    .batch_execute(&format!(
                        "ALTER TABLE {table} SET (autovacuum_enabled = false); ANALYZE {table}"
                    ))
                    .await
                    .expect("analyze");
            }
        }
    }
    let [raw, raw_hold, plain, hosted] = rates.map(|mut rates| {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    });
    println!("   raw UPDATE … SKIP LOCKED                 {raw:>8.0} claims/s");
    println!("   the same, inserting the member's host    {raw_hold:>8.0} claims/s");
    for (what, rate, baseline) in [
        ("FleetStore::claim, no resources", plain, raw),
        ("FleetStore::claim, a host each", hosted, raw_hold),
    ] {
        let ratio = baseline / rate;
        println!(
            "   {what:<40} {rate:>8.0} claims/s: {ratio:.2}x the time of its raw claim ({}); \
             goal <= {GOAL}x",
            verdict(ratio)
        );
    }
}

/// Claims every member of every fleet with `CLAIMERS` claimers, fleet after fleet; returns
/// claims per second.
async fn claim_all<F, Fut>(fleets: &[String], claim: F) -> f64
where
    F: Fn(String, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let mut claims = 0usize;
    for fleet in fleets {
        let mut claimers = tokio::task::JoinSet::new();
        for n in 0..CLAIMERS {
            let (claim, fleet) = (claim.clone(), fleet.clone());
            claimers.spawn(async move {
                let mut mine = 0usize;
                while claim(fleet.clone(), n).await {
                    mine += 1;
                }
                mine
            });
        }
        while let Some(mine) = claimers.join_next().await {
            claims += mine.expect("a claimer");
        }
        assert_eq!(claims % FLEET_MEMBERS, 0, "every member claimed once");
    }
    claims as f64 / started.elapsed().as_secs_f64()
}

/// The plain table's claim: one statement, the lease's columns set as the store sets them.
const RAW_CLAIM: &str = "UPDATE raw_members m
     SET generation = m.generation + 1, claim_owner = $2,
         claim_expires_at = now() + make_interval(secs => 3600),
         attempts = m.attempts + 1, started_at = coalesce(m.started_at, now())
     WHERE (m.fleet, m.label) = (
         SELECT fleet, label FROM raw_members
         WHERE fleet = $1 AND finished_at IS NULL
           AND (claim_expires_at IS NULL OR claim_expires_at <= now())
         ORDER BY position LIMIT 1
         FOR UPDATE SKIP LOCKED)
     RETURNING m.label, m.exclusive, m.generation, m.claim_expires_at, m.attempts";

/// The same claim, also inserting the member's resources: what holding a host costs in
/// plain SQL, checking nothing.
const RAW_CLAIM_AND_HOLD: &str = "WITH claimed AS (
         UPDATE raw_members m
         SET generation = m.generation + 1, claim_owner = $2,
             claim_expires_at = now() + make_interval(secs => 3600),
             attempts = m.attempts + 1, started_at = coalesce(m.started_at, now())
         WHERE (m.fleet, m.label) = (
             SELECT fleet, label FROM raw_members
             WHERE fleet = $1 AND finished_at IS NULL
               AND (claim_expires_at IS NULL OR claim_expires_at <= now())
             ORDER BY position LIMIT 1
             FOR UPDATE SKIP LOCKED)
         RETURNING m.label, m.exclusive, m.generation, m.claim_expires_at, m.attempts),
     held AS (
         INSERT INTO raw_holds (resource, fleet, label)
         SELECT r, $1, claimed.label FROM claimed, unnest(claimed.exclusive) AS r)
     SELECT label, exclusive, generation, claim_expires_at, attempts FROM claimed";

fn request(sim: &Simulator, group: &GroupId, destination: &str) -> MigrationRequest {
    let project = &sim.source_projects()[0];
    MigrationRequest::builder()
        .source(
            Source::new(
                project.deployments[0].name.clone(),
                project.project_id.parse().expect("an id"),
            )
            .tls(true)
            .credentials("migrator", "Src-P4ssw0rd-7f3a9c!".to_owned()),
        )
        .destination(Destination::new(destination, group.clone()))
        .migration_host(project.migration_hosts[0].clone())
        .build()
        .expect("a request")
}

async fn workflow_overhead(db: &Database) {
    println!("3. {WORKFLOWS} push workflows at once against an unmetered simulator:");
    let sim = Simulator::builder()
        .unmetered()
        .timings(Timings::fast())
        .start()
        .await
        .expect("simulator");
    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .rate_limits(RateLimits::learned_only())
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(200)),
        )
        .build()
        .expect("client");
    let org = sim.org_id().parse().expect("an id");
    client
        .create_link_token(&org, Vec::<String>::new())
        .await
        .expect("link");
    let group: GroupId = sim.group_id().parse().expect("an id");
    let journal = Arc::new(PostgresJournal::new(db));
    let (mut bare, mut journaled) = (Vec::new(), Vec::new());
    for round in 0..=WORKFLOW_ROUNDS {
        for with_journal in [false, true] {
            let started = Instant::now();
            let mut flows = tokio::task::JoinSet::new();
            for i in 0..WORKFLOWS {
                let key = format!("r{round}-{with_journal}-{i}");
                let mut flow = PushMigration::new(&client, &group, request(&sim, &group, &key))
                    .poll_delays(Duration::from_millis(10), Duration::from_millis(40))
                    .auto_cutover(true);
                if with_journal {
                    flow = flow.journal(journal.clone(), key);
                }
                flows.spawn(flow.run());
            }
            while let Some(outcome) = flows.join_next().await {
                let outcome = outcome.expect("a workflow").expect("complete");
                assert!(matches!(outcome, PushOutcome::Complete(_)));
            }
            // Round 0 warms up.
            if round > 0 {
                let took = started.elapsed();
                if with_journal {
                    journaled.push(took);
                } else {
                    bare.push(took);
                }
            }
        }
    }
    let (bare, _) = p50_mean(&mut bare);
    let (journaled, _) = p50_mean(&mut journaled);
    let ratio = journaled.as_secs_f64() / bare.as_secs_f64();
    println!("   no journal          {bare:>10.1?} (median of {WORKFLOW_ROUNDS} rounds)");
    println!("   PostgreSQL journal  {journaled:>10.1?}");
    println!("   ratio {ratio:.2}x ({}); goal <= {GOAL}x", verdict(ratio));
}
