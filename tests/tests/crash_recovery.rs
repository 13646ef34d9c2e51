//! Crash injection: a real child process runs a journaled push migration and is killed
//! (SIGKILL) at a seeded random point; the test then recovers the record the way a restarted
//! service would, playing the operator when the journal says a create may have happened
//! (it looks the destination up among the simulator's migrations, as one would in Atlas).
//! A third of the runs have the create's reply dripped slowly, so that many kills land
//! between the create being processed and its reply arriving.
//!
//! Goals: no duplicate migration, every run ends `COMPLETE`, no record left unreadable.
//! Unix only (the child is killed with a signal; the journal's lock is `flock`).
//!
//! The child's create may still land after it is killed; its record says until when (its
//! 1 s call window, 1 s attempt timeout and a 200 ms margin), and the recovered workflow
//! waits that out before asking the operator to look.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use atlas_migration::journal::{DirectoryJournal, Journal};
use atlas_migration::workflow::{PushMigration, PushOutcome, WorkflowFailure};
use atlas_migration::{Client, LiveMigrationId};
use atlas_migration_sim::operations::CREATE_MIGRATION;
use atlas_migration_sim::{Fault, Simulator, Timings};
use atlas_migration_tests::{builder, group, linked, request_named};

const RUNS: u64 = 100;
const PARALLEL: usize = 4;
const SEED: u64 = 0xc4a5_4001;
const MIN: Duration = Duration::from_millis(10);
const MAX: Duration = Duration::from_millis(40);

fn client_for(base_url: &str, public: &str, private: &str) -> Client {
    builder(base_url)
        .api_key(public, private.to_owned())
        .build()
        .unwrap()
}

/// The child's client: attempts time out after 1 s, so its creates land within that.
fn child_client(base_url: &str, public: &str, private: &str) -> Client {
    builder(base_url)
        .timeout(Duration::from_secs(1))
        .api_key(public, private.to_owned())
        .build()
        .unwrap()
}

/// The child's side: one journaled workflow, configured by environment variables. Ignored
/// in a normal run; the crash test starts it in a child process.
#[test]
#[ignore = "a child process of a_hundred_crashes_never_make_a_duplicate"]
fn crash_child() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = child_client(
            &var("CRASH_BASE_URL"),
            &var("CRASH_PUBLIC_KEY"),
            &var("CRASH_PRIVATE_KEY"),
        );
        let request: atlas_migration::MigrationRequest =
            serde_json::from_str(&var("CRASH_REQUEST")).unwrap();
        let request = request.source_password(var("CRASH_SOURCE_PASSWORD"));
        let group = var("CRASH_GROUP").parse().unwrap();
        let journal = Arc::new(DirectoryJournal::open(var("CRASH_JOURNAL")).unwrap());
        let _ = PushMigration::new(&client, &group, request)
            .journal(journal, var("CRASH_KEY"))
            .poll_delays(MIN, MAX)
            .call_max_wait(Duration::from_secs(1))
            .create_landing_margin(Duration::from_millis(200))
            .auto_cutover(true)
            .await;
    });
}

/// How one run ended.
#[derive(Debug, Default)]
struct Tally {
    complete: usize,
    failed: Vec<String>,
    unreadable: usize,
    /// Where the kill left the record: no record, before the intent, intent without id, id.
    killed_at: BTreeMap<&'static str, usize>,
    confirmations: usize,
}

async fn one_run(run: u64, sim: &Simulator, journal_dir: &Path, tally: &tokio::sync::Mutex<Tally>) {
    let key = format!("crash-{run}");
    let g = group(sim);
    let request = request_named(sim, &key);
    let mut rng = fastrand::Rng::with_seed(SEED ^ run);
    let kill_after = Duration::from_millis(rng.u64(0..450));
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--ignored", "--test-threads=1"])
        .env("CRASH_BASE_URL", sim.base_url())
        .env("CRASH_PUBLIC_KEY", sim.public_key())
        .env("CRASH_PRIVATE_KEY", sim.private_key())
        .env("CRASH_REQUEST", serde_json::to_string(&request).unwrap())
        .env(
            "CRASH_SOURCE_PASSWORD",
            atlas_migration_tests::SOURCE_PASSWORD,
        )
        .env("CRASH_GROUP", g.as_str())
        .env("CRASH_JOURNAL", journal_dir)
        .env("CRASH_KEY", &key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::sleep(kill_after).await;
    let _ = child.kill().await;
    let journal = Arc::new(DirectoryJournal::open(journal_dir).unwrap());
    let state = match journal.load(&key).await {
        Ok(None) => "no record",
        Ok(Some(r)) if r.migration_id.is_some() => "migration id recorded",
        Ok(Some(r)) if r.create_may_have_happened() => "create sent, no reply",
        Ok(Some(_)) => "before the create",
        Err(_) => "unreadable",
    };
    // The restarted service: the same workflow under the same key, until it ends.
    let client = client_for(&sim.base_url(), sim.public_key(), sim.private_key());
    let mut confirmation: Option<Option<LiveMigrationId>> = None;
    let mut ended = Err("no attempt".to_owned());
    for _ in 0..6 {
        let mut flow = PushMigration::new(&client, &g, request.clone())
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
            Err(e) if matches!(e.source, WorkflowFailure::CreateMayStillLand { .. }) => {
                // Looked too early: run again unconfirmed, which waits until it may look.
                ended = Err(e.to_string());
            }
            Err(e) if e.is_create_unconfirmed() || e.is_create_outcome_unknown() => {
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
            Err(e) => {
                ended = Err(e.to_string());
                break;
            }
        }
    }
    let readable = journal.load(&key).await.is_ok();
    let mut tally = tally.lock().await;
    *tally.killed_at.entry(state).or_default() += 1;
    tally.unreadable += usize::from(!readable);
    match ended {
        Ok(()) => tally.complete += 1,
        Err(e) => tally.failed.push(format!("{key}: {e}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_crashes_never_make_a_duplicate() {
    // Crashes, not budgets: the simulator does not meter.
    let sim = Arc::new(linked(Simulator::builder().unmetered().timings(Timings::fast())).await);
    let dir: PathBuf = std::env::temp_dir().join(format!("atlas-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tally = Arc::new(tokio::sync::Mutex::new(Tally::default()));
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut runs = Vec::new();
    for run in 0..RUNS {
        if run % 3 == 0 {
            // This run's create (or a neighbour's) answers slowly: kills land mid-reply.
            sim.inject(Fault::on(CREATE_MIGRATION).drip(Duration::from_millis(4)));
        }
        let (sim, dir, tally, permits) = (sim.clone(), dir.clone(), tally.clone(), permits.clone());
        runs.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            one_run(run, &sim, &dir, &tally).await;
        }));
    }
    let all = async {
        for r in runs {
            r.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(600), all)
        .await
        .expect("the crash runs finish");
    let tally = tally.lock().await;
    println!(
        "{RUNS} crash runs: {} complete; kills left the record: {:?}; operator confirmations: {}; \
         migrations {}, duplicates {}; unreadable records {}",
        tally.complete,
        tally.killed_at,
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
    std::fs::remove_dir_all(&dir).unwrap();
}
