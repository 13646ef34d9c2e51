//! [`Fleet`]: many push migrations on one client, at most so many at once, with the
//! exclusivity the caller declares (one migration host serves one migration at a time), one
//! stream of events and a report. All members share the client's rate governor, so the
//! fleet as a whole paces itself to Atlas's rate limits.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedMutexGuard, Semaphore};

use crate::ids::LiveMigrationId;
use crate::workflow::{
    ProgressEvent, PushMigration, PushOutcome, Step, WorkflowError, WorkflowFailure,
};

/// Something only one member of a fleet may use at a time.
///
/// ```
/// use atlas_migration::workflow::Exclusive;
/// let host = Exclusive::migration_host("vm001.example.com");
/// let org = Exclusive::key("org 4888442a3354817a7320eb61");
/// assert_ne!(host, org);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Exclusive(String);

impl Exclusive {
    /// A migration host: Atlas's procedure has one host serve one migration at a time.
    pub fn migration_host(host: impl AsRef<str>) -> Self {
        Self(format!("migration host {}", host.as_ref()))
    }

    /// Any other resource the caller wants used by one member at a time (an organization,
    /// a source deployment, a maintenance window).
    pub fn key(key: impl Into<String>) -> Self {
        Self(key.into())
    }
}

impl fmt::Display for Exclusive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One member of a fleet: a label to report it by, its workflow, and what it needs alone.
///
/// ```no_run
/// # fn f(flow: atlas_migration::workflow::PushMigration) {
/// use atlas_migration::workflow::{Exclusive, FleetMember};
/// let member = FleetMember::new("orders-cluster", flow)
///     .exclusive(Exclusive::migration_host("vm001.example.com"));
/// # }
/// ```
#[must_use]
pub struct FleetMember {
    label: String,
    flow: PushMigration,
    exclusive: BTreeSet<Exclusive>,
}

impl fmt::Debug for FleetMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetMember")
            .field("label", &self.label)
            .field("exclusive", &self.exclusive)
            .finish_non_exhaustive()
    }
}

impl FleetMember {
    /// A member named `label` running `flow`. The fleet reports the workflow's progress
    /// itself, replacing any callback set on `flow`.
    pub fn new(label: impl Into<String>, flow: PushMigration) -> Self {
        Self {
            label: label.into(),
            flow,
            exclusive: BTreeSet::new(),
        }
    }

    /// Runs only while no other member holds `what`. Held until this member's workflow
    /// returns: a workflow that stops at `ReadyForCutover` releases it while its migration
    /// still syncs, so use [`PushMigration::auto_cutover`] where a host must serve one
    /// migration from start to end.
    ///
    /// A workflow that fails while its migration may still run
    /// ([`WorkflowError::migration_may_still_run`]: its create unconfirmed, or a failure
    /// before the migration ended) keeps `what` for the rest of the run: the members still
    /// waiting for it end with
    /// [`WorkflowFailure::ExclusiveStillInUse`](crate::workflow::WorkflowFailure::ExclusiveStillInUse)
    /// instead of starting a second migration on the same host. Resolve the first member,
    /// then run those again. The fleet remembers a kept resource for its own run only: run
    /// again only once the member is resolved, or use the PostgreSQL fleet of
    /// `atlas-migration-postgres`, which records it.
    pub fn exclusive(mut self, what: Exclusive) -> Self {
        self.exclusive.insert(what);
        self
    }
}

/// What a fleet reports while it runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FleetEvent {
    /// The member is waiting for another to release something it needs alone.
    Waiting {
        /// The member.
        label: String,
        /// What it waits for.
        exclusive: Exclusive,
    },
    /// The member's workflow started.
    Started {
        /// The member.
        label: String,
    },
    /// The member's workflow made progress.
    Progress {
        /// The member.
        label: String,
        /// What happened.
        event: ProgressEvent,
    },
    /// The member did not start: `exclusive` may still serve the migration of `held_by`,
    /// which stopped before that migration ended. Its result is
    /// [`WorkflowFailure::ExclusiveStillInUse`](crate::workflow::WorkflowFailure::ExclusiveStillInUse).
    Blocked {
        /// The member.
        label: String,
        /// What it needs alone.
        exclusive: Exclusive,
        /// The member that keeps it.
        held_by: String,
    },
    /// The member's workflow returned.
    Finished {
        /// The member.
        label: String,
        /// Whether it returned an outcome (complete, or ready for cutover) rather than an error.
        ok: bool,
    },
}

/// How a fleet ended: every member's result, in the order they were added.
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetReport {
    /// Each member's label and its workflow's result, in the order they were added.
    ///
    /// ```no_run
    /// # fn f(report: atlas_migration::workflow::FleetReport) {
    /// for (label, result) in &report.results {
    ///     match result {
    ///         Ok(outcome) => println!("{label}: {outcome:?}"),
    ///         Err(e) => eprintln!("{label}: {e}"),
    ///     }
    /// }
    /// # }
    /// ```
    pub results: Vec<(String, Result<PushOutcome, WorkflowError>)>,
    /// From the start of the run to its end.
    pub elapsed: Duration,
}

impl FleetReport {
    /// Members whose migration is complete.
    ///
    /// ```no_run
    /// # fn f(report: atlas_migration::workflow::FleetReport) {
    /// println!("{} complete, {} failed", report.complete(), report.failed());
    /// # }
    /// ```
    pub fn complete(&self) -> usize {
        self.count(|o| matches!(o, Ok(PushOutcome::Complete(_))))
    }

    /// Members waiting for the caller to cut over.
    ///
    /// ```no_run
    /// # fn f(report: atlas_migration::workflow::FleetReport) -> usize { report.ready_for_cutover() }
    /// ```
    pub fn ready_for_cutover(&self) -> usize {
        self.count(|o| matches!(o, Ok(PushOutcome::ReadyForCutover(_))))
    }

    /// Members that never started because a member that stopped while its migration may
    /// still run keeps a resource they need
    /// ([`WorkflowFailure::ExclusiveStillInUse`]); counted in [`failed`](Self::failed) too.
    ///
    /// ```no_run
    /// # fn f(report: atlas_migration::workflow::FleetReport) -> usize { report.blocked() }
    /// ```
    pub fn blocked(&self) -> usize {
        self.count(|o| {
            matches!(o, Err(e) if matches!(e.source, WorkflowFailure::ExclusiveStillInUse { .. }))
        })
    }

    /// Members whose workflow failed.
    ///
    /// ```no_run
    /// # fn f(report: atlas_migration::workflow::FleetReport) -> usize { report.failed() }
    /// ```
    pub fn failed(&self) -> usize {
        self.count(Result::is_err)
    }

    fn count(&self, f: impl Fn(&Result<PushOutcome, WorkflowError>) -> bool) -> usize {
        self.results.iter().filter(|(_, r)| f(r)).count()
    }
}

type Sink = Arc<Mutex<Box<dyn FnMut(FleetEvent) + Send>>>;

/// A member that keeps a resource because its migration may still run there.
#[derive(Clone)]
struct Keeper {
    label: String,
    migration: Option<LiveMigrationId>,
}

/// Runs many push migrations, at most [`concurrency`](Self::concurrency) at a time; one
/// member's failure never stops the others. Build the members' workflows on one client so
/// that they share its rate governor and connection cap.
///
/// ```no_run
/// use atlas_migration::workflow::{Exclusive, Fleet, FleetMember, PushMigration};
///
/// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
/// #              requests: Vec<(String, String, atlas_migration::MigrationRequest)>) {
/// let mut fleet = Fleet::new().concurrency(20).on_event(|e| println!("{e:?}"));
/// for (label, host, request) in requests {
///     let flow = PushMigration::new(&client, &g, request).auto_cutover(true);
///     fleet = fleet.member(FleetMember::new(label, flow).exclusive(Exclusive::migration_host(host)));
/// }
/// let report = fleet.run().await;
/// println!("{} of {} complete", report.complete(), report.results.len());
/// # }
/// ```
#[must_use = "a fleet does nothing until run"]
pub struct Fleet {
    concurrency: usize,
    members: Vec<FleetMember>,
    sink: Option<Sink>,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("concurrency", &self.concurrency)
            .field("members", &self.members)
            .finish_non_exhaustive()
    }
}

impl Default for Fleet {
    fn default() -> Self {
        Self::new()
    }
}

impl Fleet {
    /// An empty fleet running up to 10 members at a time.
    ///
    /// ```
    /// let fleet = atlas_migration::workflow::Fleet::new();
    /// ```
    pub fn new() -> Self {
        Self {
            concurrency: 10,
            members: Vec::new(),
            sink: None,
        }
    }

    /// Members running at once, at most (at least 1).
    ///
    /// ```
    /// let fleet = atlas_migration::workflow::Fleet::new().concurrency(50);
    /// ```
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Adds a member.
    ///
    /// ```no_run
    /// # fn f(fleet: atlas_migration::workflow::Fleet, m: atlas_migration::workflow::FleetMember) {
    /// let fleet = fleet.member(m);
    /// # }
    /// ```
    pub fn member(mut self, member: FleetMember) -> Self {
        self.members.push(member);
        self
    }

    /// Reports every member's events to `f` (from many tasks, one call at a time).
    ///
    /// ```
    /// let fleet = atlas_migration::workflow::Fleet::new().on_event(|e| eprintln!("{e:?}"));
    /// ```
    pub fn on_event(mut self, f: impl FnMut(FleetEvent) + Send + 'static) -> Self {
        self.sink = Some(Arc::new(Mutex::new(Box::new(f))));
        self
    }

    /// Runs every member to its end and reports how each ended.
    ///
    /// ```no_run
    /// # async fn f(fleet: atlas_migration::workflow::Fleet) {
    /// let report = fleet.run().await;
    /// # }
    /// ```
    pub async fn run(self) -> FleetReport {
        let started = Instant::now();
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let locks: Arc<Mutex<HashMap<Exclusive, Arc<tokio::sync::Mutex<()>>>>> = Arc::default();
        // Resources kept by members that stopped while their migration may still run.
        let kept: Arc<Mutex<HashMap<Exclusive, Keeper>>> = Arc::default();
        let emit = {
            let sink = self.sink.clone();
            move |event: FleetEvent| {
                if let Some(sink) = &sink {
                    let mut f = sink.lock().unwrap_or_else(|p| p.into_inner());
                    f(event);
                }
            }
        };
        let mut tasks = Vec::with_capacity(self.members.len());
        for member in self.members {
            let (permits, locks, kept, emit) =
                (permits.clone(), locks.clone(), kept.clone(), emit.clone());
            tasks.push(tokio::spawn(async move {
                let label = member.label;
                // Exclusivity first, in a fixed order (no deadlock), then a running slot.
                let mut held: Vec<OwnedMutexGuard<()>> = Vec::new();
                for what in member.exclusive.iter().cloned() {
                    let lock = {
                        let mut map = locks.lock().unwrap_or_else(|p| p.into_inner());
                        map.entry(what.clone()).or_default().clone()
                    };
                    let guard = match lock.clone().try_lock_owned() {
                        Ok(guard) => guard,
                        Err(_) => {
                            emit(FleetEvent::Waiting {
                                label: label.clone(),
                                exclusive: what.clone(),
                            });
                            lock.lock_owned().await
                        }
                    };
                    held.push(guard);
                    let keeper = kept
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&what)
                        .cloned();
                    if let Some(keeper) = keeper {
                        drop(held);
                        emit(FleetEvent::Blocked {
                            label: label.clone(),
                            exclusive: what.clone(),
                            held_by: keeper.label.clone(),
                        });
                        let failure = WorkflowFailure::ExclusiveStillInUse {
                            exclusive: what,
                            held_by: keeper.label,
                            migration: keeper.migration,
                        };
                        let outcome = Err(WorkflowError::new(Step::Validate, failure, None));
                        return (label, outcome);
                    }
                }
                let _running = permits.acquire_owned().await;
                emit(FleetEvent::Started {
                    label: label.clone(),
                });
                let progress = {
                    let (emit, label) = (emit.clone(), label.clone());
                    move |event| {
                        emit(FleetEvent::Progress {
                            label: label.clone(),
                            event,
                        })
                    }
                };
                let outcome = member.flow.on_progress(progress).run().await;
                emit(FleetEvent::Finished {
                    label: label.clone(),
                    ok: outcome.is_ok(),
                });
                if let Err(e) = &outcome
                    && e.migration_may_still_run()
                {
                    // Marked before the locks go, so a waiter that takes one sees the mark.
                    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                    for what in &member.exclusive {
                        let keeper = Keeper {
                            label: label.clone(),
                            migration: e.migration.clone(),
                        };
                        kept.insert(what.clone(), keeper);
                    }
                }
                drop(held);
                (label, outcome)
            }));
        }
        let mut results = Vec::with_capacity(tasks.len());
        let mut panicked = None;
        for task in tasks {
            match task.await {
                Ok(result) => results.push(result),
                Err(e) if e.is_panic() => panicked = panicked.or(Some(e.into_panic())),
                Err(_) => {}
            }
        }
        // A panic (in a caller's callback) is passed on, but only once every other member
        // has finished.
        if let Some(panic) = panicked {
            std::panic::resume_unwind(panic);
        }
        FleetReport {
            results,
            elapsed: started.elapsed(),
        }
    }
}
