//! Crash injection on the PostgreSQL journal: a real child process runs a journaled push
//! migration and is killed (SIGKILL) at a seeded random point; the test then recovers the
//! record the way a restarted service would, playing the operator when the journal says a
//! create may have happened (it looks the destination up among the simulator's migrations,
//! as one would in Atlas). A third of the runs have the create's reply dripped slowly, so
//! that many kills land between the create being processed and its reply arriving.
//!
//! Unlike a directory journal's lock, which the kernel drops with the process, the killed
//! child's lease on its record stays until it runs out: the recovering workflow is refused
//! (`Locked`, naming the dead holder) until then, and waits for it.
//!
//! Goals: no duplicate migration, every run ends `COMPLETE`, every record readable.
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atlas_migration::journal::{Journal, JournalErrorKind};
use atlas_migration::workflow::{PushMigration, PushOutcome, WorkflowFailure};
use atlas_migration::{GroupId, LiveMigrationId};
use atlas_migration_postgres::testkit::PgServer;
use atlas_migration_postgres::{Database, PostgresJournal};
use atlas_migration_sim::operations::CREATE_MIGRATION;
use atlas_migration_sim::{Fault, Simulator};

const RUNS: u64 = 100;
const PARALLEL: usize = 6;
const SEED: u64 = 0xc4a5_4002;
/// Kills fall this long at most after the child is ready: past a whole workflow.
const KILL_WITHIN: u64 = 450;
const MIN: Duration = Duration::from_millis(10);
const MAX: Duration = Duration::from_millis(40);
/// The child's journal lease: how long its record stays held after it dies.
const CHILD_LEASE: Duration = Duration::from_millis(800);

/// The child's side: one journaled workflow, configured by environment variables. Ignored
/// in a normal run; the crash test starts it in a child process.
#[tokio::test]
#[ignore = "a child process of a_hundred_crashes_never_make_a_duplicate"]
async fn crash_child() {
    let Ok(url) = std::env::var("CRASH_DATABASE_URL") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    // Attempts time out after 1 s, so its creates land within that.
    let client = common::unpaced_client(
        &var("CRASH_SIM_URL"),
        &var("CRASH_SIM_PUBLIC"),
        &var("CRASH_SIM_PRIVATE"),
        Duration::from_secs(1),
    );
    let request: atlas_migration::MigrationRequest =
        serde_json::from_str(&var("CRASH_REQUEST")).unwrap();
    let request = request.source_password(common::SOURCE_PASSWORD.to_owned());
    let group: GroupId = var("CRASH_GROUP").parse().unwrap();
    // The parent made the schema.
    let db = Database::builder(url.parse().unwrap())
        .max_connections(2)
        .migrate(false)
        .connect()
        .await
        .unwrap();
    let journal = Arc::new(PostgresJournal::new(&db));
    // The parent's random delay counts from here, so that kills fall across the workflow
    // rather than into the process's start.
    println!("CRASH-CHILD-READY");
    let _ = PushMigration::new(&client, &group, request)
        .journal(journal, var("CRASH_KEY"))
        .poll_delays(MIN, MAX)
        .lease_ttl(CHILD_LEASE)
        .call_max_wait(Duration::from_secs(1))
        .create_landing_margin(Duration::from_millis(200))
        .auto_cutover(true)
        .await;
}

/// A child process, killed and reaped when dropped (also when the test panics).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How the runs ended.
#[derive(Debug, Default)]
struct Tally {
    complete: usize,
    failed: Vec<String>,
    unreadable: usize,
    /// Where the kill left the record: no record, before the intent, intent without id, id.
    killed_at: BTreeMap<&'static str, usize>,
    confirmations: usize,
    /// Recoveries refused at first because the dead child's lease had not run out.
    waited_for_lease: usize,
    /// The longest run, from spawning the child to the recovered workflow's end.
    slowest: Duration,
}

async fn one_run(
    run: u64,
    pg: &PgServer,
    sim: &Simulator,
    client: &atlas_migration::Client,
    journal: &Arc<PostgresJournal>,
    tally: &tokio::sync::Mutex<Tally>,
) {
    let started = Instant::now();
    let key = format!("crash-{run}");
    let group: GroupId = sim.group_id().parse().unwrap();
    let request = common::request(sim, &key);
    let mut rng = fastrand::Rng::with_seed(SEED ^ run);
    let kill_after = Duration::from_millis(rng.u64(0..KILL_WITHIN));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CRASH_DATABASE_URL", pg.url())
        .env("CRASH_SIM_URL", sim.base_url())
        .env("CRASH_SIM_PUBLIC", sim.public_key())
        .env("CRASH_SIM_PRIVATE", sim.private_key())
        .env("CRASH_REQUEST", serde_json::to_string(&request).unwrap())
        .env("CRASH_GROUP", group.as_str())
        .env("CRASH_KEY", &key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Child(child);
    // Ends when the child says it is ready, or with its output (if it is killed on time-out,
    // its pipe closes).
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("CRASH-CHILD-READY"))
    });
    let ready = tokio::time::timeout(Duration::from_secs(30), ready)
        .await
        .expect("the child starts in time")
        .unwrap();
    assert!(ready, "{key}: the child ended before it was ready");
    tokio::time::sleep(kill_after).await;
    // Killed and reaped (or already ended by itself).
    tokio::task::spawn_blocking(move || drop(child))
        .await
        .unwrap();
    let state = match journal.load(&key).await {
        Ok(None) => "no record",
        Ok(Some(r)) if r.migration_id.is_some() => "migration id recorded",
        Ok(Some(r)) if r.create_may_have_happened() => "create sent, no reply",
        Ok(Some(_)) => "before the create",
        Err(_) => "unreadable",
    };
    // The restarted service: the same workflow under the same key, until it ends.
    let mut confirmation: Option<Option<LiveMigrationId>> = None;
    let mut ended = Err("no attempt".to_owned());
    let mut waited_for_lease = false;
    for _ in 0..8 {
        let mut flow = PushMigration::new(client, &group, request.clone())
            .journal(journal.clone(), key.clone())
            .poll_delays(MIN, MAX)
            .auto_cutover(true);
        flow = match confirmation.take() {
            Some(Some(id)) => flow.confirm_migration(id),
            Some(None) => flow.confirm_no_migration(),
            None => flow,
        };
        match flow.await {
            Ok(PushOutcome::Complete(_)) => {
                ended = Ok(());
                break;
            }
            Ok(other) => ended = Err(format!("ended {other:?}")),
            Err(e) => match &e.source {
                // The dead child's lease has not run out: wait until it has.
                WorkflowFailure::Journal(j) if j.kind() == JournalErrorKind::Locked => {
                    waited_for_lease = true;
                    let left = j
                        .holder()
                        .and_then(|h| (h.expires_at - chrono::Utc::now()).to_std().ok())
                        .unwrap_or_default()
                        .min(CHILD_LEASE);
                    tokio::time::sleep(left + Duration::from_millis(20)).await;
                    ended = Err(e.to_string());
                }
                // Looked too early: run again unconfirmed, which waits until it may look.
                WorkflowFailure::CreateMayStillLand { .. } => ended = Err(e.to_string()),
                _ if e.is_create_unconfirmed() || e.is_create_outcome_unknown() => {
                    // The operator looks for a migration into this run's destination cluster.
                    let found = sim
                        .migrations()
                        .into_iter()
                        .find(|m| m.destination.1 == key)
                        .map(|m| m.id.parse().unwrap());
                    confirmation = Some(found);
                    tally.lock().await.confirmations += 1;
                    ended = Err(e.to_string());
                }
                _ => {
                    ended = Err(e.to_string());
                    break;
                }
            },
        }
    }
    let readable = journal.load(&key).await.is_ok();
    let mut tally = tally.lock().await;
    *tally.killed_at.entry(state).or_default() += 1;
    tally.unreadable += usize::from(!readable);
    tally.waited_for_lease += usize::from(waited_for_lease);
    tally.slowest = tally.slowest.max(started.elapsed());
    match ended {
        Ok(()) => tally.complete += 1,
        Err(e) => tally.failed.push(format!("{key}: {e}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_crashes_never_make_a_duplicate() {
    let Some(pg) = PgServer::start_or_skip("a_hundred_crashes_never_make_a_duplicate") else {
        return;
    };
    let pg = Arc::new(pg);
    let started = Instant::now();
    let journal = Arc::new(PostgresJournal::new(&common::db(&pg).await));
    // Crashes, not budgets: the simulator does not meter.
    let (sim, client, _) = common::unmetered_simulator().await;
    let sim = Arc::new(sim);
    let tally = Arc::new(tokio::sync::Mutex::new(Tally::default()));
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut runs = Vec::new();
    for run in 0..RUNS {
        if run % 3 == 0 {
            // This run's create (or a neighbour's) answers slowly: kills land mid-reply.
            sim.inject(Fault::on(CREATE_MIGRATION).drip(Duration::from_millis(4)));
        }
        let (pg, sim, client, journal, tally, permits) = (
            pg.clone(),
            sim.clone(),
            client.clone(),
            journal.clone(),
            tally.clone(),
            permits.clone(),
        );
        runs.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            one_run(run, &pg, &sim, &client, &journal, &tally).await;
        }));
    }
    let all = async {
        for r in runs {
            r.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(300), all)
        .await
        .expect("the crash runs finish");
    let tally = tally.lock().await;
    println!(
        "{RUNS} crash runs on the PostgreSQL journal in {:?} (slowest {:?}): {} complete; kills \
         left the record: {:?}; recoveries that waited out the dead child's lease: {}; operator \
         confirmations: {}; migrations {}, duplicates {}; unreadable records {}",
        started.elapsed(),
        tally.slowest,
        tally.complete,
        tally.killed_at,
        tally.waited_for_lease,
        tally.confirmations,
        sim.migrations_created(),
        sim.duplicate_creates(),
        tally.unreadable
    );
    assert_eq!(sim.duplicate_creates(), 0, "a duplicate migration");
    assert!(tally.failed.is_empty(), "{:#?}", tally.failed);
    assert_eq!(tally.complete as u64, RUNS);
    assert_eq!(tally.unreadable, 0);
    assert_eq!(
        sim.migrations_created() as u64,
        RUNS,
        "one migration per run"
    );
}
