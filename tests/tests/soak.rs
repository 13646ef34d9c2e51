//! Fault-injection soak: 1,000 complete push-migration workflows (validate → create → wait
//! until ready → automatic cutover → wait until complete) against simulators that fault 30 %
//! of API responses with 500, 502, 503, a connection dropped before any response, or a stale
//! digest nonce (429s, which slow a project's pace, are tested in `shared_budget.rs`).
//!
//! Every fault the plan draws is applied by the simulator *before* it processes the request,
//! so a faulted request changed nothing. The client retries reads and the cutover, but
//! never a `POST` answered 5xx or cut off mid-exchange. Such a workflow ends at
//! `Step::Validate` (a validation is harmless to start again) or with
//! `is_create_outcome_unknown()`. The test plays the operator the error message asks for:
//! for an unknown create it looks for an existing migration into the workflow's destination
//! (Atlas has no "list migrations" call; the simulator's records stand in for the Atlas UI),
//! resumes it by id if there is one, and only otherwise runs the workflow again. With these
//! fault kinds there never is one, and the test checks that too.
//!
//! Scripted outcomes make "the right end state" meaningful: every 10th workflow goes to a
//! simulator whose validations all fail, every 10th has its migration failed as soon as it is
//! created, every 20th has it expired; the rest must complete.
//!
//! The fault plans are seeded. Which request draws which fault still depends on how the
//! concurrent workflows interleave, so the exact counts vary a little between runs; the
//! rate, the kinds and every assertion do not.

use atlas_migration_tests as support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use atlas_migration::wait::WaiterError;
use atlas_migration::workflow::{
    ProgressEvent, PushMigration, PushOutcome, Step, WorkflowError, WorkflowFailure,
};
use atlas_migration::{Client, LiveMigrationId, MigrationStatus, RateLimits};
use atlas_migration_sim::{FaultKind, FaultPlan, Simulator, Timings};
use tokio::sync::Semaphore;

const WORKFLOWS: usize = 1_000;
const CONCURRENCY: usize = 50;
const FAULT_RATE: f64 = 0.3;
const SEED: u64 = 0x50a6_2024;
/// Simulators for the workflows whose validation passes.
const ACCEPTING_SIMS: usize = 3;
/// Client attempts per call: a read fails for good only after 10 faults in a row
/// (0.3^10 ≈ 6e-6 per call).
const ATTEMPTS: u32 = 10;
const POLL_MIN: Duration = Duration::from_millis(5);
const POLL_MAX: Duration = Duration::from_millis(20);
/// Per-wait limit, far above the ~300 ms lifecycle: a stuck wait fails instead of hanging.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// Runs of one workflow (the first plus reruns after a POST lost to a fault) before giving up.
const MAX_RUNS: usize = 25;
const BUDGET: Duration = Duration::from_secs(110);
const VALIDATION_FAILURE: &str = "Source cluster unreachable from the migration host (scripted).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Script {
    Complete,
    ValidationFails,
    MigrationFails,
    Expires,
}

fn script(i: usize) -> Script {
    match i % 20 {
        3 | 13 => Script::ValidationFails,
        6 | 16 => Script::MigrationFails,
        9 => Script::Expires,
        _ => Script::Complete,
    }
}

fn fault_kinds() -> Vec<FaultKind> {
    vec![
        // No 429s: Atlas refuses only for want of budget, and the governor answers every
        // refusal by slowing the project's pace, so 429s thrown at random at a share of all
        // requests would slow the run without end. Rate limits are tested against the
        // simulator's metering in `shared_budget.rs` and the `shared_budget` bench.
        FaultKind::status(502),
        FaultKind::status(500),
        FaultKind::status(503),
        FaultKind::DropConnection,
        FaultKind::StaleNonce,
    ]
}

/// One simulator with a digest client and a service-account client sharing it.
struct Target {
    sim: Simulator,
    digest: Client,
    account: Client,
}

async fn target(n: u64) -> Target {
    // Faults, not budgets: neither side meters.
    let sim = Simulator::builder()
        .unmetered()
        .seed(SEED + n)
        .timings(Timings::fast())
        .faults(FaultPlan::random(SEED + n, FAULT_RATE, fault_kinds()))
        .start()
        .await
        .unwrap();
    let unpaced = |b: atlas_migration::ClientBuilder| {
        b.retry_policy(support::quick_retries(ATTEMPTS))
            .rate_limits(RateLimits::learned_only())
    };
    let digest = unpaced(support::builder(&sim.base_url()))
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .build()
        .unwrap();
    let account = unpaced(support::builder(&sim.base_url()))
        .service_account(sim.client_id(), sim.client_secret().to_owned())
        .build()
        .unwrap();
    Target {
        sim,
        digest,
        account,
    }
}

/// How one workflow ended, after the operator's reruns.
#[derive(Debug)]
struct Ended {
    index: usize,
    script: Script,
    destination: String,
    sim: usize,
    result: Option<Result<PushOutcome, WorkflowError>>,
    runs: usize,
    unknown_creates: usize,
    lost_validations: usize,
    resumed_existing: usize,
}

/// Whether a failed run may simply be run again: a `POST` lost to a transient fault, which
/// (for validate) starts nothing that matters or (for create, answered 429 or never
/// connected) created nothing.
fn rerunnable(e: &WorkflowError) -> bool {
    let WorkflowFailure::Call(call) = &e.source else {
        return false;
    };
    match e.step {
        Step::Validate => {
            call.is_transient() || call.kind() == atlas_migration::ErrorKind::Transport
        }
        Step::Create => call.is_transient(),
        _ => false,
    }
}

async fn drive(index: usize, targets: Arc<Vec<Target>>) -> Ended {
    let script = script(index);
    let sim_index = match script {
        Script::ValidationFails => ACCEPTING_SIMS,
        _ => index % ACCEPTING_SIMS,
    };
    let t = &targets[sim_index];
    let client = if index.is_multiple_of(2) {
        &t.digest
    } else {
        &t.account
    };
    let group = support::group(&t.sim);
    let destination = format!("atlas-target-{index:04}");
    let mut ended = Ended {
        index,
        script,
        destination: destination.clone(),
        sim: sim_index,
        result: None,
        runs: 0,
        unknown_creates: 0,
        lost_validations: 0,
        resumed_existing: 0,
    };
    let mut resume: Option<LiveMigrationId> = None;
    while ended.runs < MAX_RUNS {
        ended.runs += 1;
        let flow = match resume.take() {
            Some(id) => PushMigration::resume(client, &group, &id),
            None => {
                PushMigration::new(client, &group, support::request_named(&t.sim, &destination))
            }
        };
        let sim = t.sim.clone();
        let result = flow
            .auto_cutover(true)
            .poll_delays(POLL_MIN, POLL_MAX)
            .validation_max_wait(MAX_WAIT)
            .ready_max_wait(MAX_WAIT)
            .complete_max_wait(MAX_WAIT)
            .on_progress(move |event| {
                let id = match &event {
                    ProgressEvent::Created { migration_id, .. }
                    | ProgressEvent::Resumed { migration_id, .. } => migration_id,
                    _ => return,
                };
                match script {
                    Script::MigrationFails => {
                        sim.fail_migration(id.as_str());
                    }
                    Script::Expires => {
                        sim.expire_migration(id.as_str());
                    }
                    _ => {}
                }
            })
            .run()
            .await;
        match result {
            Err(e) if e.is_create_outcome_unknown() => {
                ended.unknown_creates += 1;
                let existing = t
                    .sim
                    .migrations()
                    .into_iter()
                    .find(|r| r.destination.1 == destination);
                if let Some(record) = existing {
                    ended.resumed_existing += 1;
                    resume = Some(record.id.parse().unwrap());
                }
            }
            Err(e) if rerunnable(&e) => {
                if e.step == Step::Validate {
                    ended.lost_validations += 1;
                }
            }
            other => {
                ended.result = Some(other);
                return ended;
            }
        }
    }
    panic!("workflow {index} still failing after {MAX_RUNS} runs");
}

/// Checks that `e` ended as `script` says, returning a description of any mismatch.
fn check(e: &Ended, targets: &[Target]) -> Result<(), String> {
    let sim = &targets[e.sim].sim;
    let created: Vec<_> = sim
        .migrations()
        .into_iter()
        .filter(|r| r.destination.1 == e.destination)
        .collect();
    let expect_created = usize::from(e.script != Script::ValidationFails);
    if created.len() != expect_created {
        return Err(format!(
            "{} migrations created, expected {expect_created}; ended with {:?}",
            created.len(),
            e.result
        ));
    }
    let failure_state = |err: &WorkflowError| match &err.source {
        WorkflowFailure::Migration(WaiterError::FailureState { last }) => Some(last.status.clone()),
        WorkflowFailure::CutoverWindowExpired { .. } => Some(MigrationStatus::Expired),
        _ => None,
    };
    let Some(result) = &e.result else {
        return Err("no result".into());
    };
    match (e.script, result) {
        (Script::Complete, Ok(PushOutcome::Complete(m))) => {
            let view = sim.migration(created[0].id.as_str()).unwrap();
            if m.status == MigrationStatus::Complete
                && m.id.as_str() == created[0].id.as_str()
                && view.status == atlas_migration_sim::MigrationStatus::Complete
                && view.cutover_requested
            {
                Ok(())
            } else {
                Err(format!("completed wrongly: {m:?} / {view:?}"))
            }
        }
        (Script::ValidationFails, Err(err))
            if err.step == Step::WaitValidation
                && err.server_message().as_deref() == Some(VALIDATION_FAILURE) =>
        {
            Ok(())
        }
        (Script::MigrationFails, Err(err))
            if err.step == Step::WaitReady
                && failure_state(err) == Some(MigrationStatus::Failed) =>
        {
            Ok(())
        }
        (Script::Expires, Err(err))
            if err.step == Step::WaitReady
                && failure_state(err) == Some(MigrationStatus::Expired) =>
        {
            Ok(())
        }
        (_, Ok(outcome)) => Err(format!("ended with {outcome:?}")),
        (_, Err(err)) => Err(format!("ended with {err} / {err:?}")),
    }
}

/// A short classification of how a workflow ended: step, and the kind of error.
fn category(e: &Ended) -> String {
    let Some(Err(err)) = &e.result else {
        return format!("{:?} outcome", e.result.as_ref().map(|r| r.is_ok()));
    };
    let call = match &err.source {
        WorkflowFailure::Call(c) | WorkflowFailure::CreateOutcomeUnknown(c) => Some(c),
        WorkflowFailure::Validation(w) => w.operation_error(),
        WorkflowFailure::Migration(w) => w.operation_error(),
        _ => None,
    };
    let kind = match call {
        Some(e) if e.is_auth() => format!("auth error {:?}", e.status()),
        Some(e) if e.kind() == atlas_migration::ErrorKind::Transport => {
            "transport error".to_owned()
        }
        Some(other) => format!("error status {:?}", other.status()),
        None => "no call error".to_owned(),
    };
    format!("step \"{}\", {kind}", err.step)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_workflows_survive_thirty_percent_faults() {
    let started = Instant::now();
    let mut targets = Vec::new();
    for n in 0..=ACCEPTING_SIMS as u64 {
        targets.push(target(n).await);
    }
    // The last simulator fails every validation (one queued failure per validation it will
    // ever create; reruns create more than one per workflow).
    for _ in 0..WORKFLOWS {
        targets[ACCEPTING_SIMS]
            .sim
            .fail_next_validation(VALIDATION_FAILURE);
    }
    let targets = Arc::new(targets);

    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let finished = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(WORKFLOWS);
    for i in 0..WORKFLOWS {
        let permits = permits.clone();
        let targets = targets.clone();
        let finished = finished.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            let ended = drive(i, targets).await;
            finished.fetch_add(1, Ordering::Relaxed);
            ended
        }));
    }
    let mut ended = Vec::with_capacity(WORKFLOWS);
    let all = async {
        for task in tasks {
            ended.push(task.await.unwrap());
        }
    };
    if tokio::time::timeout(BUDGET, all).await.is_err() {
        panic!(
            "only {} of {WORKFLOWS} workflows finished within {BUDGET:?}",
            finished.load(Ordering::Relaxed)
        );
    }
    let elapsed = started.elapsed();

    let mut by_script = BTreeMap::new();
    for e in &ended {
        *by_script.entry(e.script).or_insert(0usize) += 1;
    }

    // No duplicates, one migration per successful create, no body without credentials.
    let mut requests = 0;
    let mut faults = 0;
    let mut successful_creates = 0;
    let mut created = 0;
    let mut fault_names: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (n, t) in targets.iter().enumerate() {
        let log = t.sim.requests();
        requests += log.len();
        faults += t.sim.faults_injected();
        for r in &log {
            if let Some(f) = r.fault {
                *fault_names.entry(f).or_default() += 1;
            }
        }
        let creates = log
            .iter()
            .filter(|r| r.operation == Some("create_migration") && r.status == Some(201))
            .count();
        successful_creates += creates;
        created += t.sim.migrations_created();
        assert_eq!(t.sim.duplicate_creates(), 0, "simulator {n}: duplicates");
        assert_eq!(
            t.sim.migrations_created(),
            creates,
            "simulator {n}: migrations created vs successful creates"
        );
        assert_eq!(
            t.sim.bodies_sent_without_credentials(),
            0,
            "simulator {n}: a body went out without credentials"
        );
    }
    let expected_migrations = WORKFLOWS - by_script[&Script::ValidationFails];
    let unknown: usize = ended.iter().map(|e| e.unknown_creates).sum();
    let resumed: usize = ended.iter().map(|e| e.resumed_existing).sum();
    let lost_validations: usize = ended.iter().map(|e| e.lost_validations).sum();
    let reruns: usize = ended.iter().map(|e| e.runs - 1).sum();
    assert_eq!(
        resumed, 0,
        "a create answered with a pre-processing fault created a migration"
    );
    assert!(
        faults as f64 > 0.2 * requests as f64,
        "fault plan too weak: {faults} of {requests}"
    );

    // Every workflow ended as scripted. Wrong endings are grouped by step and error so that a
    // failure reads as a diagnosis; the first few are shown in full.
    let mut wrong: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut examples = Vec::new();
    for e in &ended {
        if let Err(why) = check(e, &targets) {
            wrong.entry(category(e)).or_default().push(e.index);
            if examples.len() < 5 {
                examples.push(format!("workflow {} ({:?}): {why}", e.index, e.script));
            }
        }
    }
    let wrong_total: usize = wrong.values().map(Vec::len).sum();

    println!(
        "soak: {WORKFLOWS} workflows ({by_script:?}), {faults} faults injected \
         ({fault_names:?}) in {requests} requests, {successful_creates} migrations created, \
         0 duplicates, {unknown} unknown create outcomes and {lost_validations} lost \
         validations rerun ({reruns} reruns), {CONCURRENCY} concurrent on {} simulators, \
         elapsed {:.1} s",
        targets.len(),
        elapsed.as_secs_f64()
    );
    for (what, who) in &wrong {
        println!("soak: {} ended wrongly with {what}", who.len());
    }
    assert!(
        wrong.is_empty(),
        "{wrong_total} of {WORKFLOWS} workflows ended wrongly: {:?}\n{}",
        wrong.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>(),
        examples.join("\n")
    );
    assert_eq!(created, expected_migrations);
    assert!(elapsed < BUDGET);
}
