//! A replica stopped with SIGSTOP past its journal lease, while a successor takes its
//! workflow over and completes it, then continued with SIGCONT: it stops with a typed error
//! and creates nothing; Atlas holds one migration.
//!
//! The stopped replica is this test binary run again as a child process (the ignored test
//! `child_replica`, told what to do through the environment).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use atlas_migration::workflow::{PushMigration, PushOutcome};
use atlas_migration_postgres::testkit::PgServer;
use atlas_migration_postgres::{Database, PostgresJournal};
use atlas_migration_sim::operations::CREATE_MIGRATION;

const LEASE: Duration = Duration::from_millis(800);

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.0.id()).unwrap();
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// The child's side: runs the workflow `orders` against the simulator and database named in
/// the environment, printing each progress event, then how it ended.
#[tokio::test]
#[ignore = "run by paused_replica's parent test as a child process"]
async fn child_replica() {
    let Ok(url) = std::env::var("CHILD_DATABASE_URL") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap();
    let client = atlas_migration::Client::builder()
        .base_url(var("CHILD_SIM_URL"))
        .timeout(Duration::from_secs(10))
        .api_key(var("CHILD_SIM_PUBLIC"), var("CHILD_SIM_PRIVATE"))
        .build()
        .unwrap();
    let request: atlas_migration::MigrationRequest =
        serde_json::from_str(&var("CHILD_REQUEST")).unwrap();
    let request = request.source_password(common::SOURCE_PASSWORD.to_owned());
    let db = Database::connect(&url).await.unwrap();
    let journal = Arc::new(PostgresJournal::new(&db));
    let group = var("CHILD_GROUP").parse().unwrap();
    let outcome = PushMigration::new(&client, &group, request)
        .journal(journal, "orders")
        .poll_delays(Duration::from_millis(10), Duration::from_millis(40))
        .lease_ttl(LEASE)
        .auto_cutover(true)
        .on_progress({
            let mut first = true;
            move |event| {
                println!("CHILD-EVENT {event:?}");
                if std::mem::take(&mut first) {
                    // Stopped here, as a VM is paused: holding the record, nothing created.
                    use std::io::Write;
                    std::io::stdout().flush().unwrap();
                    // SAFETY: raise has no memory-safety preconditions.
                    unsafe { libc::raise(libc::SIGSTOP) };
                }
            }
        })
        .await;
    match outcome {
        Ok(done) => println!("CHILD-END ok {}", matches!(done, PushOutcome::Complete(_))),
        Err(e) => println!("CHILD-END error {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_stopped_past_its_lease_creates_nothing_when_continued() {
    let Some(pg) =
        PgServer::start_or_skip("a_replica_stopped_past_its_lease_creates_nothing_when_continued")
    else {
        return;
    };
    let db = common::db(&pg).await;
    let (sim, client, group) = common::simulator().await;
    let request = common::request(&sim, "orders");
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_replica",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CHILD_DATABASE_URL", pg.url())
        .env("CHILD_SIM_URL", sim.base_url())
        .env("CHILD_SIM_PUBLIC", sim.public_key())
        .env("CHILD_SIM_PRIVATE", sim.private_key())
        .env("CHILD_GROUP", sim.group_id())
        .env("CHILD_REQUEST", serde_json::to_string(&request).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Child(child);
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    // It stops itself at its first event (validation started): it holds the record, and
    // nothing is created yet.
    let first = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            for line in lines.by_ref() {
                let line = line.unwrap();
                // The harness may print its own text on the same line first.
                if let Some(at) = line.find("CHILD-EVENT ") {
                    return (line[at..].to_owned(), lines);
                }
            }
            panic!("the child ended without an event");
        }),
    )
    .await
    .expect("the child reports its first event")
    .unwrap();
    let stat = format!("/proc/{}/stat", child.0.id());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&stat).unwrap().contains(") T ") {
        assert!(
            std::time::Instant::now() < deadline,
            "the child did not stop"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (_, mut lines) = first;
    // The successor waits out the stopped replica's lease, takes over, and completes.
    tokio::time::sleep(LEASE + Duration::from_millis(300)).await;
    let journal = Arc::new(PostgresJournal::new(&db));
    let successor = PushMigration::new(&client, &group, request)
        .journal(journal.clone(), "orders")
        .poll_delays(Duration::from_millis(10), Duration::from_millis(40))
        .auto_cutover(true);
    let done = tokio::time::timeout(Duration::from_secs(60), successor)
        .await
        .expect("the successor finishes")
        .unwrap();
    assert!(matches!(done, PushOutcome::Complete(_)));
    // Continued, the stopped replica finds its lease lost and stops.
    signal(&child, libc::SIGCONT);
    let end = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            lines
                .by_ref()
                .map(Result::unwrap)
                .find_map(|l| l.find("CHILD-END ").map(|at| l[at + 10..].to_owned()))
                .expect("the child says how it ended")
        }),
    )
    .await
    .expect("the continued child ends")
    .unwrap();
    eprintln!("the continued replica: {end}");
    assert!(end.starts_with("error"), "{end}");
    assert!(end.contains("lease"), "a typed lease error: {end}");
    assert_eq!(sim.count(CREATE_MIGRATION), 1, "one create in all");
    assert_eq!(sim.migrations().len(), 1);
    let record = atlas_migration::journal::Journal::load(&*journal, "orders")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.migration_id.as_ref(), done.migration_id());
    let _ = child.0.wait();
}
