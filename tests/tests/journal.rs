//! The workflow journal end to end against the simulator: every step recorded, a create
//! whose reply never arrived never repeated until the caller confirms what Atlas has (and
//! only once it has had time to land), one workflow per record under a lease that a stalled
//! workflow cannot outlive, and unreadable records refused without being touched.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_migration::Client;
use atlas_migration::journal::{
    DirectoryJournal, Journal, JournalErrorKind, JournalFuture, Lease, RecordedOutcome,
    WorkflowRecord,
};
use atlas_migration::workflow::{CutoverPolicy, PushMigration, PushOutcome, Step, WorkflowFailure};
use atlas_migration_sim::operations::{CREATE_MIGRATION, CUTOVER};
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

/// How long after its attempt timed out a create may land, in these tests.
const LANDING_MARGIN: Duration = Duration::from_millis(100);

/// A client whose attempts time out after 500 ms, so that a create whose reply never came
/// has landed (or never will) soon after.
fn quick_client(sim: &Simulator) -> Client {
    atlas_migration_tests::builder(&sim.base_url())
        .timeout(Duration::from_millis(500))
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .build()
        .unwrap()
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
    assert_eq!(sim.count(CREATE_MIGRATION), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_create_whose_reply_was_lost_is_never_repeated_until_confirmed() {
    let dir = scratch("lost");
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = quick_client(&sim);
    // Processed, then the connection drops: Atlas has the migration, the client has no id.
    sim.inject(Fault::on(CREATE_MIGRATION).drop_after_processing());
    let first = flow(&sim, &client, &journal, "lost")
        .create_landing_margin(LANDING_MARGIN)
        .await
        .unwrap_err();
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
    assert_eq!(sim.count(CREATE_MIGRATION), 1);
    // The operator finds it in Atlas and confirms it: the workflow resumes it.
    let existing = sim.migrations();
    assert_eq!(existing.len(), 1);
    let id = existing[0].id.parse().unwrap();
    let done = flow(&sim, &client, &journal, "lost")
        .confirm_migration(id)
        .await
        .unwrap();
    assert!(matches!(done, PushOutcome::Complete(_)));
    assert_eq!(sim.count(CREATE_MIGRATION), 1, "never created twice");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_create_that_never_reached_atlas_is_created_once_after_confirmation() {
    let dir = scratch("unsent");
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = quick_client(&sim);
    // Dropped before processing: nothing exists, but the client cannot know.
    sim.inject(Fault::on(CREATE_MIGRATION).drop_connection());
    let first = flow(&sim, &client, &journal, "unsent")
        .create_landing_margin(LANDING_MARGIN)
        .await
        .unwrap_err();
    assert!(first.is_create_outcome_unknown(), "{first}");
    // Run again: it waits until the request can no longer land, then asks to look.
    let stopped = flow(&sim, &client, &journal, "unsent").await.unwrap_err();
    assert!(stopped.is_create_unconfirmed(), "{stopped}");
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
    let held = journal
        .acquire("busy", "another-workflow", Duration::from_secs(60))
        .await
        .unwrap();
    let e = flow(&sim, &client, &journal, "busy").await.unwrap_err();
    assert!(
        matches!(&e.source, WorkflowFailure::Journal(j) if j.kind() == JournalErrorKind::Locked),
        "{e}"
    );
    assert!(
        e.to_string().contains("another-workflow"),
        "names the holder: {e}"
    );
    journal.release(&held).await.unwrap();
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
    assert_eq!(sim.count(CREATE_MIGRATION), 0, "nothing sent for either");
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

#[tokio::test]
async fn a_save_cut_short_by_a_kill_leaves_no_temporary_file_behind() {
    let dir = scratch("tmp");
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    // What a process killed between writing and renaming leaves.
    std::fs::write(
        dir.join(".orders.json.4242.17.tmp"),
        b"{\"format\": 1, \"ke",
    )
    .unwrap();
    // Another key's leftover, whose name starts like this key's.
    std::fs::write(dir.join(".orders.json.x.json.4242.18.tmp"), b"{").unwrap();
    flow(&sim, &client, &journal, "orders").await.unwrap();
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(
        names,
        [".orders.json.x.json.4242.18.tmp"],
        "only the other key's is left"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_hurried_operator_cannot_make_a_duplicate() {
    let dir = scratch("hurried");
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    // Attempts time out after 300 ms; the create is processed after 1.5 s, long after the
    // client gave up (a load balancer that keeps the request going).
    let client = atlas_migration_tests::builder(&sim.base_url())
        .timeout(Duration::from_millis(300))
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .build()
        .unwrap();
    sim.inject(Fault::on(CREATE_MIGRATION).land_late(Duration::from_millis(1500)));
    let first = flow(&sim, &client, &journal, "hurried")
        .create_landing_margin(Duration::from_millis(1500))
        .await
        .unwrap_err();
    assert!(first.is_create_outcome_unknown(), "{first}");
    let record = journal.load("hurried").await.unwrap().unwrap();
    let until = record
        .create_may_land_until
        .expect("recorded with the create");
    let sent = record.create_intent_at.unwrap();
    assert!(
        until - sent >= chrono::Duration::milliseconds(1800),
        "the timeout and the margin after sending: {sent} .. {until}"
    );
    // The operator looks at once, finds nothing, and confirms: refused, naming the moment.
    assert!(sim.migrations().is_empty());
    let hurried = flow(&sim, &client, &journal, "hurried")
        .confirm_no_migration()
        .await
        .unwrap_err();
    assert!(
        matches!(&hurried.source, WorkflowFailure::CreateMayStillLand { until: named, .. } if *named == until),
        "{hurried}"
    );
    assert!(
        hurried.to_string().contains(&until.to_string()),
        "{hurried}"
    );
    // Run again unconfirmed: the workflow waits until the request has landed, then says
    // that looking is now conclusive.
    let unconfirmed = flow(&sim, &client, &journal, "hurried").await.unwrap_err();
    assert!(unconfirmed.is_create_unconfirmed(), "{unconfirmed}");
    assert!(chrono::Utc::now() >= until, "returned before {until}");
    assert!(
        unconfirmed.to_string().contains("safe to look now"),
        "{unconfirmed}"
    );
    let found = sim.migrations();
    assert_eq!(found.len(), 1, "landed by then");
    let done = flow(&sim, &client, &journal, "hurried")
        .confirm_migration(found[0].id.parse().unwrap())
        .await
        .unwrap();
    assert!(matches!(done, PushOutcome::Complete(_)));
    assert_eq!(sim.migrations_created(), 1);
    assert_eq!(sim.duplicate_creates(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes a record of `group` for `key` holding `request` (its stored form), as a journal
/// shared with another service or a mixed-up file would hold it.
fn write_record(journal: &DirectoryJournal, key: &str, group: &str, request: serde_json::Value) {
    let record = serde_json::json!({
        "format": 1, "key": key, "group": group, "request": request,
        "updatedAt": chrono::Utc::now(),
    });
    std::fs::write(journal.record_path(key), record.to_string()).unwrap();
}

/// Recovers record `key` with the source password, scoped by `scope`, and runs it to its end.
async fn recover_scoped(
    client: &Client,
    journal: &Arc<DirectoryJournal>,
    key: &str,
    scope: impl FnOnce(PushMigration) -> PushMigration,
) -> Result<PushOutcome, atlas_migration::workflow::WorkflowError> {
    let flow = PushMigration::recover(client, journal.clone(), key)
        .await
        .unwrap();
    scope(flow)
        .source_password(atlas_migration_tests::SOURCE_PASSWORD.to_owned())
        .poll_delays(MIN, MAX)
        .auto_cutover(true)
        .await
}

#[tokio::test]
async fn recover_can_be_kept_to_one_project() {
    let dir = scratch("scoped");
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    // A record that names another project (a mixed-up file, a journal shared by mistake).
    let mut request = serde_json::to_value(request_named(&sim, "foreign")).unwrap();
    let other = "6296fb4c7c7aa997cf94e9a8";
    request["destination"]["groupId"] = other.into();
    write_record(&journal, "foreign", other, request);
    let ours = group(&sim);
    let e = recover_scoped(&client, &journal, "foreign", |f| f.expect_project(&ours))
        .await
        .unwrap_err();
    assert!(
        matches!(&e.source, WorkflowFailure::RecordMismatch { key, .. } if key == "foreign"),
        "{e}"
    );
    assert!(e.to_string().contains(other), "{e}");
    assert!(sim.requests().is_empty(), "nothing sent");
    // A record of this project recovers as before under the same restriction.
    flow(&sim, &client, &journal, "ours").await.unwrap();
    let outcome = recover_scoped(&client, &journal, "ours", |f| f.expect_project(&ours))
        .await
        .unwrap();
    assert!(matches!(outcome, PushOutcome::Complete(_)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn recover_can_be_kept_to_one_organization() {
    use atlas_migration_sim::operations::LIST_SOURCE_PROJECTS;

    let dir = scratch("org-scoped");
    let journal = Arc::new(DirectoryJournal::open(&dir).unwrap());
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    let org: atlas_migration::OrgId = sim.org_id().parse().unwrap();
    // A record in this project whose source project is not linked to this organization
    // (another service's record in a shared journal).
    let mut request = serde_json::to_value(request_named(&sim, "elsewhere")).unwrap();
    let stranger = "5e2211c17a3e5a48f5497de3";
    request["source"]["project"] = stranger.into();
    write_record(&journal, "elsewhere", sim.group_id(), request);
    let e = recover_scoped(&client, &journal, "elsewhere", |f| f.expect_org(&org))
        .await
        .unwrap_err();
    assert!(
        matches!(&e.source, WorkflowFailure::RecordMismatch { key, .. } if key == "elsewhere"),
        "{e}"
    );
    assert!(e.to_string().contains(stranger), "{e}");
    assert_eq!(
        sim.count(LIST_SOURCE_PROJECTS),
        1,
        "the organization's projects, once"
    );
    let sent_otherwise = sim
        .requests()
        .iter()
        .filter(|r| {
            r.operation
                .is_some_and(|op| op != LIST_SOURCE_PROJECTS.name)
        })
        .count();
    assert_eq!(sent_otherwise, 0, "nothing else was sent");
    // A record of this organization recovers under the same restriction, whether it holds a
    // migration (resumed) or only its request (created).
    flow(&sim, &client, &journal, "ours").await.unwrap();
    let resumed = recover_scoped(&client, &journal, "ours", |f| f.expect_org(&org))
        .await
        .unwrap();
    assert!(matches!(resumed, PushOutcome::Complete(_)));
    let fresh = serde_json::to_value(request_named(&sim, "fresh")).unwrap();
    write_record(&journal, "fresh", sim.group_id(), fresh);
    let created = recover_scoped(&client, &journal, "fresh", |f| f.expect_org(&org))
        .await
        .unwrap();
    assert!(matches!(created, PushOutcome::Complete(_)));
    // Resumed by id alone, the source project is unknown: refused rather than guessed.
    let id = sim.migrations()[0].id.parse().unwrap();
    let e = PushMigration::resume(&client, &group(&sim), &id)
        .expect_org(&org)
        .await
        .unwrap_err();
    assert!(
        matches!(&e.source, WorkflowFailure::RecordMismatch { .. }),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_directory_journal_meets_the_journal_contract() {
    let root = scratch("contract");
    let base = root.clone();
    atlas_migration::journal::ConformanceKit::new(move || {
        let dir = base.join(format!("{}", fastrand::u64(..)));
        async move { DirectoryJournal::open(dir).unwrap() }
    })
    .corrupt_with(|journal: Arc<DirectoryJournal>, key: String| async move {
        std::fs::write(journal.record_path(&key), b"{\"format\": 1, \"ke").unwrap();
    })
    .run()
    .await;
    std::fs::remove_dir_all(&root).unwrap();
}

/// A journal over a directory that stands still when told to, as a paused process would:
/// its saves and renewals wait until it is resumed.
struct Pausable {
    inner: DirectoryJournal,
    paused: tokio::sync::watch::Sender<bool>,
    /// Pauses before the first save of a record that matches, and says so.
    pause_before: Mutex<Option<PauseBefore>>,
    renewals: std::sync::atomic::AtomicUsize,
}

type PauseBefore = (
    Box<dyn Fn(&WorkflowRecord) -> bool + Send>,
    tokio::sync::oneshot::Sender<()>,
);

impl Pausable {
    fn new(inner: DirectoryJournal) -> Self {
        Self {
            inner,
            paused: tokio::sync::watch::Sender::new(false),
            pause_before: Mutex::new(None),
            renewals: Default::default(),
        }
    }

    fn renewals(&self) -> usize {
        self.renewals.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Pauses before the first save of a record for which `when` holds; the receiver hears
    /// of it.
    fn pause_before_save(
        &self,
        when: impl Fn(&WorkflowRecord) -> bool + Send + 'static,
    ) -> tokio::sync::oneshot::Receiver<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        *self.pause_before.lock().unwrap() = Some((Box::new(when), tx));
        rx
    }

    fn pause(&self) {
        self.paused.send_replace(true);
    }

    fn resume(&self) {
        self.paused.send_replace(false);
    }

    async fn while_paused(&self) {
        let mut paused = self.paused.subscribe();
        while *paused.borrow_and_update() {
            paused.changed().await.unwrap();
        }
    }
}

impl Journal for Pausable {
    fn acquire<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Lease> {
        self.inner.acquire(key, owner, ttl)
    }

    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> JournalFuture<'a, Lease> {
        Box::pin(async move {
            self.while_paused().await;
            self.renewals
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.renew(lease, ttl).await
        })
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> JournalFuture<'a, ()> {
        self.inner.release(lease)
    }

    fn load<'a>(&'a self, key: &'a str) -> JournalFuture<'a, Option<WorkflowRecord>> {
        self.inner.load(key)
    }

    fn save<'a>(&'a self, lease: &'a Lease, record: &'a WorkflowRecord) -> JournalFuture<'a, ()> {
        Box::pin(async move {
            let hit = {
                let mut armed = self.pause_before.lock().unwrap();
                match armed.take() {
                    Some((when, tell)) if when(record) => Some(tell),
                    other => {
                        *armed = other;
                        None
                    }
                }
            };
            if let Some(tell) = hit {
                self.pause();
                let _ = tell.send(());
            }
            self.while_paused().await;
            self.inner.save(lease, record).await
        })
    }

    fn keys(&self) -> JournalFuture<'_, Vec<String>> {
        self.inner.keys()
    }
}

const SHORT_LEASE: Duration = Duration::from_millis(300);

#[tokio::test]
async fn a_paused_replica_whose_record_was_taken_over_never_creates() {
    let dir = scratch("fenced");
    let journal = DirectoryJournal::open(&dir).unwrap();
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    // Replica A stops (a stopped VM) right before it records its intent to create.
    let paused = Arc::new(Pausable::new(journal.clone()));
    let stopped = paused.pause_before_save(|r| r.create_intent_at.is_some());
    let a = tokio::spawn(
        PushMigration::new(&client, &group(&sim), request_named(&sim, "fenced"))
            .journal(paused.clone(), "fenced")
            .lease_ttl(SHORT_LEASE)
            .poll_delays(MIN, MAX)
            .auto_cutover(true)
            .run(),
    );
    stopped.await.unwrap();
    // Its lease runs out unrenewed; replica B takes the record over and completes it.
    tokio::time::sleep(SHORT_LEASE * 2).await;
    let b = flow(&sim, &client, &Arc::new(journal.clone()), "fenced")
        .await
        .unwrap();
    assert!(matches!(b, PushOutcome::Complete(_)));
    assert_eq!(sim.count(CREATE_MIGRATION), 1);
    // A wakes up: its save is refused and it stops before creating.
    paused.resume();
    let e = a.await.unwrap().unwrap_err();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sim.count(CREATE_MIGRATION), 1, "A sent no create");
    assert_eq!(sim.duplicate_creates(), 0);
    assert!(e.is_lease_lost(), "{e}");
    assert_eq!(e.step, Step::Create);
    let record = journal.load("fenced").await.unwrap().unwrap();
    assert_eq!(
        record.outcome,
        Some(RecordedOutcome::Complete),
        "B's record stands"
    );
    assert_eq!(record.migration_id.as_ref(), b.migration_id());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_replica_that_lost_its_record_before_the_cutover_does_not_cut_over() {
    let dir = scratch("fenced-cutover");
    let journal = DirectoryJournal::open(&dir).unwrap();
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    let paused = Arc::new(Pausable::new(journal.clone()));
    let at_hook = Arc::new(tokio::sync::Notify::new());
    let go = Arc::new(tokio::sync::Notify::new());
    let (hook_reached, hook_go) = (at_hook.clone(), go.clone());
    let policy = CutoverPolicy::new().before_cutover(move || {
        let (reached, go) = (hook_reached.clone(), hook_go.clone());
        async move {
            reached.notify_one();
            go.notified().await;
            Ok(())
        }
    });
    let a = tokio::spawn(
        PushMigration::new(&client, &group(&sim), request_named(&sim, "fenced-cutover"))
            .journal(paused.clone(), "fenced-cutover")
            .lease_ttl(SHORT_LEASE)
            .poll_delays(MIN, MAX)
            .cutover_policy(policy)
            .run(),
    );
    // A stops while writes to the source are being stopped; its lease runs out and another
    // takes the record over.
    at_hook.notified().await;
    paused.pause();
    tokio::time::sleep(SHORT_LEASE * 2).await;
    let successor = journal
        .acquire("fenced-cutover", "replica-b", Duration::from_secs(60))
        .await
        .unwrap();
    paused.resume();
    go.notify_one();
    let e = a.await.unwrap().unwrap_err();
    assert!(e.is_lease_lost(), "{e}");
    assert_eq!(e.step, Step::Cutover);
    assert!(
        e.to_string().contains("replica-b"),
        "names the new holder: {e}"
    );
    assert_eq!(sim.count(CUTOVER), 0, "no cutover");
    journal.release(&successor).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_dropped_workflow_stops_renewing_and_gives_its_record_back() {
    let dir = scratch("dropped");
    let journal = Arc::new(Pausable::new(DirectoryJournal::open(&dir).unwrap()));
    let slow = Timings {
        to_ready: Duration::from_secs(30),
        ..Timings::fast()
    };
    let sim = linked(Simulator::builder().timings(slow)).await;
    let client = digest_client(&sim);
    let lease_ttl = Duration::from_millis(1500);
    let run = PushMigration::new(&client, &group(&sim), request_named(&sim, "dropped"))
        .journal(journal.clone(), "dropped")
        .lease_ttl(lease_ttl)
        .poll_delays(MIN, MAX)
        .run();
    // Dropped while it waits for readiness, as by a `select!` that moved on.
    assert!(
        tokio::time::timeout(Duration::from_millis(800), run)
            .await
            .is_err()
    );
    let renewed = journal.renewals();
    assert!(
        renewed >= 1,
        "renewed every third of its lease while it ran: {renewed}"
    );
    // The record is free at once, before the lease (renewed at 500 ms) would have run out.
    let dropped = tokio::time::Instant::now();
    let deadline = dropped + Duration::from_millis(900);
    let next = loop {
        match journal
            .acquire("dropped", "next", Duration::from_secs(60))
            .await
        {
            Ok(lease) => break lease,
            Err(e) => {
                assert!(tokio::time::Instant::now() < deadline, "still held: {e}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    tokio::time::sleep(lease_ttl).await;
    assert_eq!(journal.renewals(), renewed, "no renewal after the drop");
    journal.release(&next).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
