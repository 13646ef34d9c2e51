//! The workflow journal end to end against the simulator: every step recorded, a create
//! whose reply never arrived never repeated until the caller confirms what Atlas has, one
//! process per record, and unreadable records refused without being touched.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use atlas_migration::Client;
use atlas_migration::journal::{DirectoryJournal, Journal, JournalErrorKind, RecordedOutcome};
use atlas_migration::workflow::{PushMigration, PushOutcome, WorkflowFailure};
use atlas_migration_sim::operations::CREATE_PUSH_MIGRATION;
use atlas_migration_sim::{Fault, Simulator, Timings};
use atlas_migration_tests::{digest_client, group, linked, request_named};

const MIN: Duration = Duration::from_millis(10);
const MAX: Duration = Duration::from_millis(40);

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "atlas-journal-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn flow(
    sim: &Simulator,
    client: &Client,
    journal: &Arc<DirectoryJournal>,
    key: &str,
) -> PushMigration {
    PushMigration::new(client, &group(sim), request_named(sim, key))
        .journal(journal.clone(), key)
        .poll_delays(MIN, MAX)
        .auto_cutover(true)
}

#[tokio::test]
async fn every_step_is_recorded_and_a_rerun_creates_nothing() {
    let dir = scratch("steps");
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    let outcome = flow(&sim, &client, &journal, "orders").await.unwrap();
    assert!(matches!(outcome, PushOutcome::Complete(_)));
    let record = journal.load("orders").await.unwrap().unwrap();
    assert_eq!(record.migration_id.as_ref(), outcome.migration_id());
    assert!(record.validation_id.is_some() && record.create_intent_at.is_some());
    assert!(record.first_ready_at.is_some() && record.cutover_requested_at.is_some());
    assert_eq!(record.outcome, Some(RecordedOutcome::Complete));
    let text = std::fs::read_to_string(journal.record_path("orders")).unwrap();
    assert!(
        !text.contains(atlas_migration_tests::SOURCE_PASSWORD),
        "no secret on disk"
    );
    // The same workflow again (a restarted service): it picks the record up, creates nothing.
    let again = flow(&sim, &client, &journal, "orders").await.unwrap();
    assert!(matches!(again, PushOutcome::Complete(_)));
    assert_eq!(sim.count(CREATE_PUSH_MIGRATION), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_create_whose_reply_was_lost_is_never_repeated_until_confirmed() {
    let dir = scratch("lost");
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    // Processed, then the connection drops: Atlas has the migration, the client has no id.
    sim.inject(Fault::on(CREATE_PUSH_MIGRATION).drop_after_processing());
    let first = flow(&sim, &client, &journal, "lost").await.unwrap_err();
    assert!(first.is_create_outcome_unknown(), "{first}");
    // Every later run stops before creating, naming what to look up.
    for _ in 0..3 {
        let stopped = flow(&sim, &client, &journal, "lost").await.unwrap_err();
        assert!(stopped.is_create_unconfirmed(), "{stopped}");
        let text = stopped.to_string();
        assert!(
            text.contains("lost") && text.contains(sim.group_id()),
            "{text}"
        );
    }
    assert_eq!(sim.count(CREATE_PUSH_MIGRATION), 1);
    // The operator finds it in Atlas and confirms it: the workflow resumes it.
    let existing = sim.migrations();
    assert_eq!(existing.len(), 1);
    let id = existing[0].id.parse().unwrap();
    let done = flow(&sim, &client, &journal, "lost")
        .confirm_migration(id)
        .await
        .unwrap();
    assert!(matches!(done, PushOutcome::Complete(_)));
    assert_eq!(sim.count(CREATE_PUSH_MIGRATION), 1, "never created twice");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_create_that_never_reached_atlas_is_created_once_after_confirmation() {
    let dir = scratch("unsent");
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    // Dropped before processing: nothing exists, but the client cannot know.
    sim.inject(Fault::on(CREATE_PUSH_MIGRATION).drop_connection());
    let first = flow(&sim, &client, &journal, "unsent").await.unwrap_err();
    assert!(first.is_create_outcome_unknown(), "{first}");
    assert!(sim.migrations().is_empty());
    let done = flow(&sim, &client, &journal, "unsent")
        .confirm_no_migration()
        .await
        .unwrap();
    assert!(matches!(done, PushOutcome::Complete(_)));
    assert_eq!(sim.migrations_created(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn one_process_drives_a_record_and_bad_records_are_refused_untouched() {
    let dir = scratch("lock");
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    let held = journal.lock("busy").await.unwrap();
    let e = flow(&sim, &client, &journal, "busy").await.unwrap_err();
    assert!(
        matches!(&e.source, WorkflowFailure::Journal(j) if j.kind() == JournalErrorKind::Locked),
        "{e}"
    );
    drop(held);
    std::fs::write(
        journal.record_path("broken"),
        b"{\"format\": 1, \"key\": \"bro",
    )
    .unwrap();
    let e = flow(&sim, &client, &journal, "broken").await.unwrap_err();
    assert!(
        matches!(&e.source, WorkflowFailure::Journal(j) if j.kind() == JournalErrorKind::Corrupt),
        "{e}"
    );
    assert!(e.to_string().contains("broken.json"), "{e}");
    assert_eq!(
        std::fs::read(journal.record_path("broken")).unwrap(),
        b"{\"format\": 1, \"key\": \"bro"
    );
    assert_eq!(
        sim.count(CREATE_PUSH_MIGRATION),
        0,
        "nothing sent for either"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn recover_continues_every_record_of_the_journal() {
    let dir = scratch("recover");
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    // One record stopped before creating (its validation failed), one with its migration.
    sim.fail_next_validation("Oplog window too short (scripted).");
    assert!(flow(&sim, &client, &journal, "early").await.is_err());
    let created = flow(&sim, &client, &journal, "created").await.unwrap();
    assert_eq!(journal.keys().await.unwrap(), ["created", "early"]);
    // A restarted service that kept nothing but the journal.
    for key in journal.keys().await.unwrap() {
        let recovered = PushMigration::recover(&client, journal.clone(), &key)
            .await
            .unwrap();
        // Without the password the early one cannot validate: a typed error, nothing sent.
        if key == "early" {
            let sent = sim.requests().len();
            let e = PushMigration::recover(&client, journal.clone(), &key)
                .await
                .unwrap()
                .poll_delays(MIN, MAX)
                .await
                .unwrap_err();
            assert!(e.to_string().contains("source.password"), "{e}");
            assert_eq!(sim.requests().len(), sent, "nothing sent");
        }
        let outcome = recovered
            .source_password(atlas_migration_tests::SOURCE_PASSWORD.to_owned())
            .poll_delays(MIN, MAX)
            .auto_cutover(true)
            .await
            .unwrap();
        assert!(matches!(outcome, PushOutcome::Complete(_)), "{key}");
        if key == "created" {
            assert_eq!(outcome.migration_id(), created.migration_id());
        }
    }
    assert_eq!(sim.migrations_created(), 2);
    assert_eq!(sim.duplicate_creates(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
