//! The governed cutover against the simulator: lag within bounds for long enough, the
//! window, the hooks around the cutover, the warnings as Atlas's 120-hour window closes, and
//! an expiry named for what it is.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_migration::journal::DirectoryJournal;
use atlas_migration::workflow::{
    CutoverPolicy, CutoverWindow, ProgressEvent, PushMigration, PushOutcome, Step, WorkflowFailure,
};
use atlas_migration_sim::operations::CUTOVER;
use atlas_migration_sim::{Simulator, Timings};
use atlas_migration_tests::{digest_client, group, linked, request_named};
use chrono::Utc;

const MIN: Duration = Duration::from_millis(10);
const MAX: Duration = Duration::from_millis(30);

/// Lag starts at 30 s when ready and falls by 50 s per second.
fn timings() -> Timings {
    Timings {
        lag_drop_per_second: 50.0,
        ..Timings::fast()
    }
}

fn outside_now() -> CutoverWindow {
    let now = Utc::now().time();
    let start = now + chrono::Duration::hours(2);
    CutoverWindow::daily_utc(start, start + chrono::Duration::hours(1))
}

#[tokio::test]
async fn the_cutover_waits_for_low_lag_and_runs_between_the_hooks() {
    let sim = Arc::new(linked(Simulator::builder().timings(timings())).await);
    let client = digest_client(&sim);
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let (before_log, after_log) = (log.clone(), log.clone());
    let (before_sim, after_sim) = (sim.clone(), sim.clone());
    let policy = CutoverPolicy::new()
        .max_lag(Duration::from_secs(5))
        .stable_for(Duration::from_millis(100))
        .before_cutover(move || {
            let (log, sim) = (before_log.clone(), before_sim.clone());
            async move {
                log.lock()
                    .unwrap()
                    .push(format!("before, cutovers {}", sim.count(CUTOVER)));
                Ok(())
            }
        })
        .after_complete(move || {
            let (log, sim) = (after_log.clone(), after_sim.clone());
            async move {
                let m = &sim.migrations()[0];
                let status = sim.migration(&m.id).unwrap().status;
                log.lock().unwrap().push(format!("after, {status:?}"));
                Ok(())
            }
        });
    let lags: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let seen = lags.clone();
    let outcome = PushMigration::new(&client, &group(&sim), request_named(&sim, "governed"))
        .poll_delays(MIN, MAX)
        .cutover_policy(policy)
        .on_progress(move |e| {
            if let ProgressEvent::Lag { lag, .. } = e {
                seen.lock().unwrap().push(lag);
            }
        })
        .await
        .unwrap();
    assert!(matches!(outcome, PushOutcome::Complete(_)));
    assert_eq!(
        *log.lock().unwrap(),
        ["before, cutovers 0", "after, Complete"],
        "stop writes before the cutover, re-point after completion"
    );
    let lags = lags.lock().unwrap();
    assert!(
        lags.iter().any(|l| *l > Duration::from_secs(5)),
        "it did wait through high lag: {lags:?}"
    );
}

#[tokio::test]
async fn a_failing_before_hook_means_no_cutover() {
    let sim = linked(Simulator::builder().timings(timings())).await;
    let client = digest_client(&sim);
    let policy =
        CutoverPolicy::new().before_cutover(|| async { Err("writes could not be stopped".into()) });
    let e = PushMigration::new(&client, &group(&sim), request_named(&sim, "hooked"))
        .poll_delays(MIN, MAX)
        .cutover_policy(policy)
        .await
        .unwrap_err();
    assert_eq!(e.step, Step::BeforeCutover);
    assert!(e.to_string().contains("writes could not be stopped"), "{e}");
    assert_eq!(
        sim.count(CUTOVER),
        0,
        "nothing cut over; the migration keeps syncing"
    );
}

#[tokio::test]
async fn outside_the_window_nothing_is_cut_over() {
    let sim = linked(Simulator::builder().timings(timings())).await;
    let client = digest_client(&sim);
    let e = PushMigration::new(&client, &group(&sim), request_named(&sim, "windowed"))
        .poll_delays(MIN, MAX)
        .ready_max_wait(Duration::from_millis(800))
        .cutover_policy(CutoverPolicy::new().window(outside_now()))
        .await
        .unwrap_err();
    assert_eq!(e.step, Step::WaitReady, "{e}");
    assert_eq!(sim.count(CUTOVER), 0);
}

#[tokio::test]
async fn warnings_come_as_the_window_closes_and_an_expiry_says_so() {
    let dir = std::env::temp_dir().join(format!("atlas-window-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(timings())).await;
    let client = digest_client(&sim);
    let g = group(&sim);
    let m = client
        .create_migration(&g, &request_named(&sim, "late"))
        .await
        .unwrap();
    // A record from an earlier process: first seen ready almost 120 hours ago.
    let first_ready = Utc::now() - chrono::Duration::minutes(120 * 60 - 30);
    let record = serde_json::json!({
        "format": 1, "key": "late", "group": g.as_str(),
        "migrationId": m.id.as_str(), "firstReadyAt": first_ready, "updatedAt": first_ready,
    });
    std::fs::write(journal.record_path("late"), record.to_string()).unwrap();
    let events: Arc<Mutex<Vec<ProgressEvent>>> = Arc::default();
    let sink = events.clone();
    let expire = {
        let sim_id = m.id.as_str().to_owned();
        let sim = &sim;
        async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            assert!(sim.expire_migration(&sim_id));
        }
    };
    let run = PushMigration::resume(&client, &g, &m.id)
        .journal(journal, "late")
        .poll_delays(MIN, MAX)
        .cutover_policy(CutoverPolicy::new().window(outside_now()))
        .on_progress(move |e| sink.lock().unwrap().push(e))
        .run();
    let (result, ()) = tokio::join!(run, expire);
    let e = result.unwrap_err();
    assert!(
        matches!(e.source, WorkflowFailure::CutoverWindowExpired { first_ready_at, .. } if first_ready_at == Some(first_ready)),
        "{e}"
    );
    assert!(e.to_string().contains("120-hour window"), "{e}");
    let warnings = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, ProgressEvent::CutoverDeadline { .. }))
        .count();
    assert_eq!(warnings, 3, "24 h, 6 h and 1 h, each once");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A record whose migration is `id`, first seen ready at `first_ready`.
fn write_record(
    journal: &DirectoryJournal,
    key: &str,
    g: &atlas_migration::GroupId,
    id: &atlas_migration::LiveMigrationId,
    first_ready: chrono::DateTime<Utc>,
) {
    let record = serde_json::json!({
        "format": 1, "key": key, "group": g.as_str(),
        "migrationId": id.as_str(), "firstReadyAt": first_ready, "updatedAt": first_ready,
    });
    std::fs::write(journal.record_path(key), record.to_string()).unwrap();
}

#[tokio::test]
async fn a_migration_that_expired_before_a_restart_is_named_an_expiry() {
    let dir = std::env::temp_dir().join(format!("atlas-expired-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(timings())).await;
    let client = digest_client(&sim);
    let g = group(&sim);
    let m = client
        .create_migration(&g, &request_named(&sim, "expired"))
        .await
        .unwrap();
    // The process stopped while the window ran; Atlas expired the migration meanwhile.
    let first_ready = Utc::now() - chrono::Duration::hours(121);
    write_record(&journal, "expired", &g, &m.id, first_ready);
    assert!(sim.expire_migration(m.id.as_str()));
    let e = PushMigration::resume(&client, &g, &m.id)
        .journal(journal, "expired")
        .poll_delays(MIN, MAX)
        .auto_cutover(true)
        .await
        .unwrap_err();
    assert!(
        matches!(e.source, WorkflowFailure::CutoverWindowExpired { first_ready_at, .. } if first_ready_at == Some(first_ready)),
        "{e}"
    );
    assert_eq!(e.step, Step::WaitReady);
    assert!(e.to_string().contains("120-hour window"), "{e}");
    // Resumed by id alone, without a record of when it was ready: an expiry all the same.
    let e = PushMigration::resume(&client, &g, &m.id)
        .poll_delays(MIN, MAX)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.source,
            WorkflowFailure::CutoverWindowExpired {
                first_ready_at: None,
                deadline: None
            }
        ),
        "{e}"
    );
    assert_eq!(sim.count(CUTOVER), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn no_warning_comes_for_a_window_that_has_already_closed() {
    let dir = std::env::temp_dir().join(format!("atlas-closed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(timings())).await;
    let client = digest_client(&sim);
    let g = group(&sim);
    let m = client
        .create_migration(&g, &request_named(&sim, "closed"))
        .await
        .unwrap();
    // First seen ready 121 hours ago: the window closed an hour ago (the simulator has not
    // expired the migration yet).
    let first_ready = Utc::now() - chrono::Duration::hours(121);
    write_record(&journal, "closed", &g, &m.id, first_ready);
    let events: Arc<Mutex<Vec<ProgressEvent>>> = Arc::default();
    let sink = events.clone();
    let e = PushMigration::resume(&client, &g, &m.id)
        .journal(journal, "closed")
        .poll_delays(MIN, MAX)
        .cutover_policy(CutoverPolicy::new().window(outside_now()))
        .on_progress(move |e| sink.lock().unwrap().push(e))
        .await
        .unwrap_err();
    assert!(
        matches!(e.source, WorkflowFailure::CutoverWindowExpired { .. }),
        "{e}"
    );
    let warnings: Vec<_> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, ProgressEvent::CutoverDeadline { .. }))
        .cloned()
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
