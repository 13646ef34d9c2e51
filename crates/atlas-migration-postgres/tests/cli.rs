//! The operator's command on both journals: lists records with step and age, shows one with
//! what to do, refuses `--no-migration` while the create may still land and while a
//! workflow holds the record, and records a confirmation the next run acts on.

mod common;

use std::process::Command;
use std::time::Duration;

use atlas_migration::journal::{DirectoryJournal, Journal};
use atlas_migration_postgres::PostgresJournal;
use atlas_migration_postgres::testkit::PgServer;

const LONG: Duration = Duration::from_secs(60);

/// Runs the command on the journal `journal` (its arguments); returns success, stdout and
/// stderr.
fn run(journal: &[&str], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_atlas-migration-journal"))
        .args(journal)
        .args(args)
        .env_remove("ATLAS_MIGRATION_POSTGRES_URL")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Saves two records in `journal`: `done` (complete) and `lost` (a create whose reply never
/// arrived and that may still land for `land` from now).
async fn seed(journal: &dyn Journal, land: chrono::Duration) {
    let lease = journal.acquire("done", "svc", LONG).await.unwrap();
    let mut done = common::record("done");
    done.migration_id = Some("6296fb4c7c7aa997cf94e9a8".parse().unwrap());
    done.outcome = Some(atlas_migration::journal::RecordedOutcome::Complete);
    journal.save(&lease, &done).await.unwrap();
    journal.release(&lease).await.unwrap();
    let lease = journal.acquire("lost", "svc", LONG).await.unwrap();
    let mut lost = common::record("lost");
    lost.create_intent_at = Some(chrono::Utc::now());
    lost.create_may_land_until = Some(chrono::Utc::now() + land);
    journal.save(&lease, &lost).await.unwrap();
    journal.release(&lease).await.unwrap();
}

/// The same session against either journal.
async fn operator_session(args: &[&str], journal: &dyn Journal) {
    seed(journal, chrono::Duration::milliseconds(1500)).await;
    let (ok, out, err) = run(args, &["list"]);
    assert!(ok, "{err}");
    assert!(out.contains("done") && out.contains("complete"), "{out}");
    assert!(
        out.contains("lost") && out.contains("create_unconfirmed"),
        "{out}"
    );
    let (ok, out, _) = run(args, &["show", "lost"]);
    assert!(ok);
    assert!(
        out.contains("\"createIntentAt\"") && out.contains("may still reach Atlas until"),
        "{out}"
    );
    // Too early: looking now proves nothing.
    let (ok, _, err) = run(args, &["confirm", "lost", "--no-migration"]);
    assert!(!ok && err.contains("may still reach Atlas until"), "{err}");
    // Held by a workflow: refused, naming it.
    let held = journal.acquire("lost", "worker-7", LONG).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (ok, _, err) = run(args, &["confirm", "lost", "--no-migration"]);
    assert!(!ok && err.contains("worker-7"), "{err}");
    journal.release(&held).await.unwrap();
    // Nothing to confirm on a finished record.
    let (ok, _, err) = run(args, &["confirm", "done", "--no-migration"]);
    assert!(!ok && err.contains("nothing to confirm"), "{err}");
    let (ok, out, err) = run(
        args,
        &["confirm", "lost", "--migration", "6296fb4c7c7aa997cf94e9b1"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("resumes"), "{out}");
    let record = journal.load("lost").await.unwrap().unwrap();
    assert_eq!(
        record.migration_id.map(|id| id.to_string()).as_deref(),
        Some("6296fb4c7c7aa997cf94e9b1")
    );
    // And --no-migration on another record, once the create can no longer land.
    let lease = journal.acquire("gone", "svc", LONG).await.unwrap();
    let mut gone = common::record("gone");
    gone.create_intent_at = Some(chrono::Utc::now());
    gone.create_may_land_until = Some(chrono::Utc::now());
    journal.save(&lease, &gone).await.unwrap();
    journal.release(&lease).await.unwrap();
    let (ok, out, err) = run(args, &["confirm", "gone", "--no-migration"]);
    assert!(ok, "{err}");
    assert!(out.contains("creates it"), "{out}");
    assert!(
        !journal
            .load("gone")
            .await
            .unwrap()
            .unwrap()
            .create_may_have_happened()
    );
}

#[tokio::test]
async fn the_operator_confirms_a_postgres_record_only_when_it_is_safe() {
    let Some(pg) =
        PgServer::start_or_skip("the_operator_confirms_a_postgres_record_only_when_it_is_safe")
    else {
        return;
    };
    let journal = PostgresJournal::new(&common::db(&pg).await);
    operator_session(&["--postgres", &pg.url()], &journal).await;
    let (ok, _, err) = run(
        &["--postgres", "postgres://x:pw-9c1@127.0.0.1:1/db"],
        &["list"],
    );
    assert!(!ok && !err.contains("pw-9c1"), "{err}");
}

#[tokio::test]
async fn the_operator_confirms_a_directory_record_only_when_it_is_safe() {
    let dir = std::env::temp_dir().join(format!("atlas-cli-journal-{}", fastrand::u64(..)));
    let journal = DirectoryJournal::open(&dir).unwrap();
    operator_session(&["--directory", dir.to_str().unwrap()], &journal).await;
    std::fs::remove_dir_all(&dir).unwrap();
}
