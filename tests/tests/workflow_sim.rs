//! The push-migration workflow and the waiters end to end against the simulator (real HTTP,
//! fast timings, 10–50 ms poll delays).

use atlas_migration_tests as support;

use atlas_migration_sim::operations::{CREATE_MIGRATION, CUTOVER, GET_MIGRATION, GET_VALIDATION};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_migration::wait::WaiterError;
use atlas_migration::workflow::{ProgressEvent, PushMigration, PushOutcome, Step, WorkflowFailure};
use atlas_migration::{Client, LiveMigrationId, MigrationRequest, MigrationStatus, RetryPolicy};
use atlas_migration_sim::{Fault, FaultKind, FaultPlan, Simulator, Timings};
use futures::StreamExt;
use support::group;

const MIN: Duration = Duration::from_millis(10);
const MAX: Duration = Duration::from_millis(50);

fn client_with(sim: &Simulator, attempts: u32) -> Client {
    Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .timeout(Duration::from_secs(5))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(attempts)
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

fn client(sim: &Simulator) -> Client {
    client_with(sim, 3)
}

/// A valid request into the simulator's project, with a source password.
fn request(sim: &Simulator) -> MigrationRequest {
    support::request(sim, &group(sim))
}

async fn sim() -> Simulator {
    Simulator::builder()
        .timings(Timings::fast())
        .start()
        .await
        .unwrap()
}

type Events = Arc<Mutex<Vec<ProgressEvent>>>;

fn flow(sim: &Simulator, c: &Client) -> (PushMigration, Events) {
    let events: Events = Arc::default();
    let sink = events.clone();
    let flow = PushMigration::new(c, &group(sim), request(sim))
        .poll_delays(MIN, MAX)
        .ready_max_wait(Duration::from_secs(10))
        .complete_max_wait(Duration::from_secs(10))
        .validation_max_wait(Duration::from_secs(10))
        .on_progress(move |e| sink.lock().unwrap().push(e));
    (flow, events)
}

fn kinds(events: &Events) -> Vec<&'static str> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|e| match e {
            ProgressEvent::Validated { .. } => "validated",
            ProgressEvent::Created { .. } => "created",
            ProgressEvent::Resumed { .. } => "resumed",
            ProgressEvent::StatusChanged { .. } => "status",
            ProgressEvent::Lag { .. } => "lag",
            ProgressEvent::ReadyForCutover { .. } => "ready",
            ProgressEvent::CutoverStarted { .. } => "cutover",
            ProgressEvent::Complete { .. } => "complete",
            _ => "other",
        })
        .collect()
}

/// The milestones in order, without the repeated status/lag events between them.
fn milestones(events: &Events) -> Vec<&'static str> {
    kinds(events)
        .into_iter()
        .filter(|k| !matches!(*k, "status" | "lag"))
        .collect()
}

#[tokio::test]
async fn auto_cutover_runs_the_whole_lifecycle_once() {
    let sim = sim().await;
    let (flow, events) = flow(&sim, &client(&sim));
    let outcome = flow.auto_cutover(true).await.unwrap();
    let PushOutcome::Complete(done) = outcome else {
        panic!("expected Complete, got {outcome:?}")
    };
    assert_eq!(done.status, MigrationStatus::Complete);
    assert_eq!(
        milestones(&events),
        ["validated", "created", "ready", "cutover", "complete"]
    );
    assert!(kinds(&events).contains(&"status"));
    assert!(kinds(&events).contains(&"lag"), "{:?}", kinds(&events));
    assert_eq!(sim.migrations_created(), 1);
    assert_eq!(sim.count(CUTOVER), 1);
    assert_eq!(sim.bodies_sent_without_credentials(), 0);
}

#[tokio::test]
async fn by_default_the_caller_gets_a_ready_handle_and_decides_when_to_cut_over() {
    let sim = sim().await;
    let (flow, events) = flow(&sim, &client(&sim));
    let outcome = flow.await.unwrap();
    let PushOutcome::ReadyForCutover(ready) = outcome else {
        panic!("expected ReadyForCutover, got {outcome:?}")
    };
    assert!(ready.migration().ready_for_cutover);
    assert_eq!(sim.count(CUTOVER), 0, "cut over without being asked");
    let view = sim.migration(ready.id().as_str()).unwrap();
    assert!(view.ready_for_cutover && !view.cutover_requested);
    let done = ready.cutover_and_wait().await.unwrap();
    assert_eq!(done.status, MigrationStatus::Complete);
    assert_eq!(
        milestones(&events),
        ["validated", "created", "ready", "cutover", "complete"]
    );
}

#[tokio::test]
async fn failed_validation_names_the_step_and_the_server_message() {
    let sim = sim().await;
    sim.fail_next_validation("Source cluster unreachable from the migration host.");
    let (flow, _) = flow(&sim, &client(&sim));
    let err = flow.auto_cutover(true).await.unwrap_err();
    assert_eq!(err.step, Step::WaitValidation);
    assert_eq!(
        err.server_message().as_deref(),
        Some("Source cluster unreachable from the migration host.")
    );
    assert!(
        matches!(
            &err.source,
            WorkflowFailure::Validation(WaiterError::FailureState { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("unreachable"), "{err}");
    assert_eq!(
        sim.migrations_created(),
        0,
        "created despite a failed validation"
    );
}

#[tokio::test]
async fn failed_migration_ends_the_wait_for_readiness() {
    let sim = sim().await;
    sim.fail_next_migration();
    let (flow, _) = flow(&sim, &client(&sim));
    let err = flow.auto_cutover(true).await.unwrap_err();
    assert_eq!(err.step, Step::WaitReady);
    match &err.source {
        WorkflowFailure::Migration(WaiterError::FailureState { last }) => {
            assert_eq!(last.status, MigrationStatus::Failed)
        }
        other => panic!("expected FailureState, got {other:?}"),
    }
    assert!(err.migration.is_some());
    assert_eq!(err.server_message().as_deref(), Some("migration is FAILED"));
    assert_eq!(sim.count(CUTOVER), 0);
}

#[tokio::test]
async fn an_expired_migration_is_named_an_expiry() {
    let sim = sim().await;
    let (flow, events) = flow(&sim, &client(&sim));
    // Expire the migration as soon as it is created.
    let handle = sim.clone();
    let flow = flow.on_progress(move |e| {
        if let ProgressEvent::Created { migration_id, .. } = &e {
            assert!(handle.expire_migration(migration_id.as_str()));
        }
        events.lock().unwrap().push(e);
    });
    let err = flow.auto_cutover(true).await.unwrap_err();
    assert_eq!(err.step, Step::WaitReady);
    // Atlas expires a migration only when its cutover window closes; without a journal the
    // workflow does not know when the window opened.
    assert!(
        matches!(
            err.source,
            WorkflowFailure::CutoverWindowExpired {
                first_ready_at: None,
                deadline: None
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.server_message().as_deref(),
        Some("migration is EXPIRED")
    );
}

#[tokio::test]
async fn a_429_storm_slows_the_workflow_but_does_not_break_it() {
    let sim = sim().await;
    sim.set_fault_plan(Some(FaultPlan::random(
        7,
        0.4,
        [FaultKind::too_many_requests(0)],
    )));
    let (flow, _) = flow(&sim, &client_with(&sim, 10));
    let outcome = flow.auto_cutover(true).await.unwrap();
    assert!(matches!(outcome, PushOutcome::Complete(_)));
    assert!(
        sim.faults_injected() >= 3,
        "storm too weak: {}",
        sim.faults_injected()
    );
    assert_eq!(sim.migrations_created(), 1);
    assert_eq!(sim.duplicate_creates(), 0);
}

#[tokio::test]
async fn dropped_connections_while_polling_do_not_end_the_waits() {
    let sim = sim().await;
    sim.set_fault_plan(Some(
        FaultPlan::random(11, 0.4, [FaultKind::DropConnection])
            .only([GET_VALIDATION, GET_MIGRATION]),
    ));
    let (flow, _) = flow(&sim, &client(&sim));
    let outcome = flow.auto_cutover(true).await.unwrap();
    assert!(matches!(outcome, PushOutcome::Complete(_)));
    assert!(sim.faults_injected() >= 2, "{}", sim.faults_injected());
    assert_eq!(sim.migrations_created(), 1);
}

#[tokio::test]
async fn an_ambiguous_create_is_reported_and_never_repeated() {
    let sim = sim().await;
    sim.inject(Fault::on(CREATE_MIGRATION).drop_after_processing().times(1));
    let (flow, events) = flow(&sim, &client(&sim));
    let err = flow.auto_cutover(true).await.unwrap_err();
    assert_eq!(err.step, Step::Create);
    assert!(err.is_create_outcome_unknown(), "{err:?}");
    assert!(
        err.to_string().contains("look for an existing migration"),
        "{err}"
    );
    assert_eq!(sim.count(CREATE_MIGRATION), 1, "create was repeated");
    assert_eq!(sim.migrations_created(), 1);
    assert_eq!(sim.duplicate_creates(), 0);
    assert_eq!(milestones(&events), ["validated"]);
}

#[tokio::test]
async fn resume_after_a_restart_continues_without_a_second_migration() {
    let sim = sim().await;
    // First process: runs until the migration is created, then "crashes".
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let first = {
        let c = client(&sim);
        let flow = PushMigration::new(&c, &group(&sim), request(&sim))
            .poll_delays(MIN, MAX)
            .auto_cutover(true)
            .on_progress(move |event| {
                let _ = tx.send(event);
            });
        tokio::spawn(flow.run())
    };
    let id: LiveMigrationId = loop {
        match rx.recv().await.expect("workflow ended before creating") {
            ProgressEvent::Created { migration_id, .. } => break migration_id,
            _ => continue,
        }
    };
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    assert_ne!(
        sim.migration(id.as_str()).unwrap().status,
        atlas_migration_sim::MigrationStatus::Complete
    );

    // Second process: a new client resumes by id.
    let events: Events = Arc::default();
    let sink = events.clone();
    let outcome = PushMigration::resume(&client(&sim), &group(&sim), &id)
        .poll_delays(MIN, MAX)
        .auto_cutover(true)
        .on_progress(move |e| sink.lock().unwrap().push(e))
        .await
        .unwrap();
    assert_eq!(outcome.migration_id(), Some(&id));
    assert!(matches!(outcome, PushOutcome::Complete(_)));
    assert_eq!(
        milestones(&events),
        ["resumed", "ready", "cutover", "complete"]
    );
    assert_eq!(sim.migrations_created(), 1);
    assert_eq!(sim.count(CREATE_MIGRATION), 1);

    // Resuming a complete migration is done at once; nothing is cut over again.
    let cutovers = sim.count(CUTOVER);
    let again = PushMigration::resume(&client(&sim), &group(&sim), &id)
        .auto_cutover(true)
        .await
        .unwrap();
    assert!(matches!(again, PushOutcome::Complete(_)));
    assert_eq!(sim.count(CUTOVER), cutovers);
}

#[tokio::test]
async fn resume_after_the_cutover_waits_for_completion() {
    let sim = sim().await;
    let c = client(&sim);
    let g = group(&sim);
    let m = c.create_migration(&g, &request(&sim)).await.unwrap();
    let id = m.id;
    c.wait_until_ready_for_cutover(&g, &id)
        .poller(|p| p.min_delay(MIN).max_delay(MAX))
        .await
        .unwrap();
    c.cutover(&g, &id).await.unwrap();
    // Crash here; a new process resumes without auto cutover and still sees completion.
    let outcome = PushMigration::resume(&client(&sim), &g, &id)
        .poll_delays(MIN, MAX)
        .await
        .unwrap();
    assert!(matches!(outcome, PushOutcome::Complete(_)), "{outcome:?}");
    assert_eq!(sim.count(CUTOVER), 1);
}

#[tokio::test]
async fn resume_rides_out_a_transient_error_on_its_first_read() {
    let sim = sim().await;
    let c = client_with(&sim, 1);
    let g = group(&sim);
    let id = c.create_migration(&g, &request(&sim)).await.unwrap().id;
    // The first two reads fail and the client does not retry them itself.
    sim.inject(Fault::on(GET_MIGRATION).status(503).times(2));
    let outcome = PushMigration::resume(&c, &g, &id)
        .poll_delays(MIN, MAX)
        .auto_cutover(true)
        .await
        .unwrap();
    assert!(matches!(outcome, PushOutcome::Complete(_)), "{outcome:?}");
}

#[tokio::test]
async fn resume_of_a_failed_or_unknown_migration_is_an_error() {
    let sim = sim().await;
    let c = client(&sim);
    let g = group(&sim);
    let id = c.create_migration(&g, &request(&sim)).await.unwrap().id;
    assert!(sim.fail_migration(id.as_str()));
    let err = PushMigration::resume(&c, &g, &id).await.unwrap_err();
    assert_eq!(err.step, Step::WaitReady);
    assert_eq!(err.server_message().as_deref(), Some("migration is FAILED"));

    let unknown: LiveMigrationId = "0123456789abcdef01234567".parse().unwrap();
    let err = PushMigration::resume(&c, &g, &unknown).await.unwrap_err();
    assert!(
        matches!(&err.source, WorkflowFailure::Call(e) if e.is_not_found()),
        "{err:?}"
    );
    assert_eq!(sim.migrations_created(), 1);
}

#[tokio::test]
async fn waiters_stop_at_once_on_a_permanent_error() {
    let sim = sim().await;
    let c = client(&sim);
    let unknown: LiveMigrationId = "0123456789abcdef01234567".parse().unwrap();
    let err = c
        .wait_until_complete(&group(&sim), &unknown)
        .poller(|p| p.min_delay(MIN))
        .await
        .unwrap_err();
    assert!(matches!(&err, WaiterError::OperationFailed(e) if e.status() == Some(404)));
    assert_eq!(sim.count(GET_MIGRATION), 1);
}

#[tokio::test]
async fn validation_waiter_carries_the_error_message() {
    let sim = sim().await;
    sim.fail_next_validation("Oplog too small.");
    let c = client(&sim);
    let g = group(&sim);
    let v = c.validate_migration(&g, &request(&sim)).await.unwrap();
    let polls = Arc::new(Mutex::new(0));
    let seen = polls.clone();
    let err = c
        .wait_until_validation_done(&g, &v.id)
        .poller(|p| p.min_delay(MIN).max_delay(MAX))
        .on_poll(move |_| *seen.lock().unwrap() += 1)
        .await
        .unwrap_err();
    let WaiterError::FailureState { last } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(last.error_message.as_deref(), Some("Oplog too small."));
    assert!(
        err.to_string().ends_with("FAILED: Oplog too small."),
        "{err}"
    );
    assert!(*polls.lock().unwrap() >= 2);
}

#[tokio::test]
async fn watch_emits_each_change_and_ends_at_the_terminal_state() {
    let sim = sim().await;
    let c = client(&sim);
    let g = group(&sim);
    let id = c.create_migration(&g, &request(&sim)).await.unwrap().id;
    let mut watch = c.watch_migration(&g, &id).interval(MIN);
    let mut seen = Vec::new();
    let mut cut = false;
    while let Some(snapshot) = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("watch stalled")
    {
        let m = snapshot.unwrap();
        if m.ready_for_cutover && !cut {
            c.cutover(&g, &id).await.unwrap();
            cut = true;
        }
        seen.push(m);
    }
    assert_eq!(seen.last().unwrap().status, MigrationStatus::Complete);
    assert!(seen.iter().any(|m| m.ready_for_cutover));
    for pair in seen.windows(2) {
        let key =
            |m: &atlas_migration::LiveMigration| (m.status.clone(), m.ready_for_cutover, m.lag);
        assert_ne!(key(&pair[0]), key(&pair[1]), "unchanged snapshot emitted");
    }
    assert!(watch.next().await.is_none(), "stream did not end");
}

#[tokio::test]
async fn a_cutover_whose_reply_was_lost_is_not_an_error_when_the_state_shows_it_was_accepted() {
    let sim = sim().await;
    let c = client(&sim);
    let g = group(&sim);
    let id = c.create_migration(&g, &request(&sim)).await.unwrap().id;
    c.wait_until_ready_for_cutover(&g, &id)
        .poller(|p| p.min_delay(MIN).max_delay(MAX))
        .await
        .unwrap();
    // Accepted, then the connection drops: the client repeats the (idempotent) cutover and
    // the repeat is refused with a 400 whose error code means nothing to the client (Atlas
    // documents none for a repeated cutover).
    sim.inject(Fault::on(CUTOVER).drop_after_processing());
    sim.inject(Fault::on(CUTOVER).status(400));
    let done = c
        .cutover_and_wait(&g, &id)
        .poller(|p| p.min_delay(MIN).max_delay(MAX))
        .await
        .unwrap();
    assert_eq!(done.status, MigrationStatus::Complete);
    assert_eq!(sim.count(CUTOVER), 2, "sent, then repeated once");
}

#[tokio::test]
async fn a_refused_cutover_of_a_migration_still_syncing_is_an_error() {
    let sim = sim().await;
    let c = client(&sim);
    let g = group(&sim);
    let id = c.create_migration(&g, &request(&sim)).await.unwrap().id;
    // Not ready yet: the refusal stands, whatever its error code.
    let error = c
        .cutover_and_wait(&g, &id)
        .poller(|p| p.min_delay(MIN))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, WaiterError::OperationFailed(e) if e.status() == Some(400)),
        "{error:?}"
    );
}
