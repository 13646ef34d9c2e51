//! [`PostgresFleet`]: the core's `Fleet` for a service with several replicas. Every replica
//! declares the same members; each claims members from the database, runs their workflows
//! with the PostgreSQL journal (the member's label is the record's key), and renews its
//! claims while they run. A replica that dies leaves its claims to expire, and the others
//! take its members over: the journal record says where each stopped, and its lease keeps a
//! replica that was only paused from acting on a member another has taken.
//!
//! One replica alone behaves like `Fleet`: at most `concurrency` members at once, a
//! resource (a migration host) used by one member at a time, the same events, one result
//! per member.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atlas_migration::journal::JournalErrorKind;
use atlas_migration::workflow::{
    Exclusive, FleetEvent, PushMigration, PushOutcome, WorkflowError, WorkflowFailure,
};
use tokio::task::JoinSet;

use crate::database::Database;
use crate::error::{Error, Kind};
use crate::fleet::store::{FleetStore, MemberClaim, MemberOutcome, MemberSpec};
use crate::journal::PostgresJournal;

type MakeFlow = Arc<dyn Fn() -> PushMigration + Send + Sync>;
type Sink = Arc<Mutex<Box<dyn FnMut(FleetEvent) + Send>>>;

/// One member of a [`PostgresFleet`]: a label (also its journal record's key), how to build
/// its workflow, and what it needs alone. The workflow is built each time a replica claims
/// the member: once, unless a replica died or gave it back.
///
/// ```no_run
/// # fn f(client: atlas_migration::Client, g: atlas_migration::GroupId, request: atlas_migration::MigrationRequest) {
/// use atlas_migration::workflow::{Exclusive, PushMigration};
/// use atlas_migration_postgres::PostgresFleetMember;
///
/// let member = PostgresFleetMember::new("orders-cluster", move || {
///     PushMigration::new(&client, &g, request.clone()).auto_cutover(true)
/// })
/// .exclusive(Exclusive::migration_host("vm001.example.com"));
/// # }
/// ```
#[must_use]
pub struct PostgresFleetMember {
    label: String,
    exclusive: BTreeSet<Exclusive>,
    make: MakeFlow,
}

impl fmt::Debug for PostgresFleetMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresFleetMember")
            .field("label", &self.label)
            .field("exclusive", &self.exclusive)
            .finish_non_exhaustive()
    }
}

impl PostgresFleetMember {
    /// A member named `label` (1 to 128 of `A-Z a-z 0-9 . _ -`, not starting with a dot:
    /// it keys the journal record) whose workflow `make` builds. The fleet sets the
    /// workflow's journal and progress callback itself.
    pub fn new(
        label: impl Into<String>,
        make: impl Fn() -> PushMigration + Send + Sync + 'static,
    ) -> Self {
        Self {
            label: label.into(),
            exclusive: BTreeSet::new(),
            make: Arc::new(make),
        }
    }

    /// Runs only while no other member, on any replica, holds `what`. A member holds it from
    /// its first claim until its workflow returns, across replicas taking it over.
    ///
    /// A member whose workflow stops while its migration may still run
    /// ([`WorkflowError::migration_may_still_run`]: its create unconfirmed, or a failure
    /// before the migration ended) keeps `what`: it finishes as [`MemberOutcome::Held`], and
    /// the members needing `what` stay unstarted ([`MemberReport::blocked_by`]) instead of
    /// starting a second migration on the same host. Resolve it (`atlas-migration-journal
    /// confirm`, or look in Atlas), then run the fleet again: the run drives it on from its
    /// journal record, and the others after it.
    pub fn exclusive(mut self, what: Exclusive) -> Self {
        self.exclusive.insert(what);
        self
    }
}

/// How one member of a [`PostgresFleet`] ended, as the database says, with this replica's
/// workflow result when this replica finished it.
#[derive(Debug)]
#[non_exhaustive]
pub struct MemberReport {
    /// The member.
    pub label: String,
    /// How it ended; `None` if unfinished (the run stopped early).
    pub outcome: Option<MemberOutcome>,
    /// The finishing replica's message (the error, for a failure).
    pub message: Option<String>,
    /// How many times it was claimed, by all replicas.
    pub attempts: i32,
    /// This replica's workflow result, when this replica finished the member.
    pub result: Option<Result<PushOutcome, WorkflowError>>,
    /// For an unfinished member: the [`MemberOutcome::Held`] member keeping a resource it
    /// needs, so it could not start in this run.
    pub blocked_by: Option<String>,
}

/// How a [`PostgresFleet`] ended: every member, in the order declared.
#[derive(Debug)]
#[non_exhaustive]
pub struct PostgresFleetReport {
    /// One entry per member.
    pub members: Vec<MemberReport>,
    /// From the start of this replica's run to its end.
    pub elapsed: Duration,
}

impl PostgresFleetReport {
    /// Members whose migration is complete (whichever replica finished them).
    ///
    /// ```no_run
    /// # fn f(report: atlas_migration_postgres::PostgresFleetReport) {
    /// println!("{} complete, {} failed", report.complete(), report.failed());
    /// # }
    /// ```
    pub fn complete(&self) -> usize {
        self.count(MemberOutcome::Complete)
    }

    /// Members waiting for the caller to cut over.
    ///
    /// ```no_run
    /// # fn f(report: atlas_migration_postgres::PostgresFleetReport) -> usize { report.ready_for_cutover() }
    /// ```
    pub fn ready_for_cutover(&self) -> usize {
        self.count(MemberOutcome::ReadyForCutover)
    }

    /// Members whose workflow failed.
    ///
    /// ```no_run
    /// # fn f(report: atlas_migration_postgres::PostgresFleetReport) -> usize { report.failed() }
    /// ```
    pub fn failed(&self) -> usize {
        self.count(MemberOutcome::Failed)
    }

    /// Members that keep their resources because their migration may still run
    /// ([`MemberOutcome::Held`]).
    ///
    /// ```no_run
    /// # fn f(report: atlas_migration_postgres::PostgresFleetReport) -> usize { report.held() }
    /// ```
    pub fn held(&self) -> usize {
        self.count(MemberOutcome::Held)
    }

    /// Members that could not start because a held member keeps a resource they need.
    ///
    /// ```no_run
    /// # fn f(report: atlas_migration_postgres::PostgresFleetReport) -> usize { report.blocked() }
    /// ```
    pub fn blocked(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.blocked_by.is_some())
            .count()
    }

    fn count(&self, outcome: MemberOutcome) -> usize {
        self.members
            .iter()
            .filter(|m| m.outcome == Some(outcome))
            .count()
    }
}

/// Runs a fleet's members across the replicas of a service, at most
/// [`concurrency`](Self::concurrency) at a time on this replica; returns when every member
/// has finished, on whichever replica.
///
/// ```no_run
/// use std::sync::Arc;
/// use atlas_migration::workflow::{Exclusive, PushMigration};
/// use atlas_migration_postgres::{Database, PostgresFleet, PostgresFleetMember};
///
/// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
/// #              requests: Vec<(String, String, atlas_migration::MigrationRequest)>) -> Result<(), atlas_migration_postgres::Error> {
/// let db = Database::connect("postgres://migrator@db.internal/service").await?;
/// // Every replica runs this with the same members.
/// let mut fleet = PostgresFleet::new(&db, "eu-rollout").concurrency(20);
/// for (label, host, request) in requests {
///     let (client, g) = (client.clone(), g.clone());
///     let make = move || PushMigration::new(&client, &g, request.clone()).auto_cutover(true);
///     fleet = fleet.member(
///         PostgresFleetMember::new(label, make).exclusive(Exclusive::migration_host(host)),
///     );
/// }
/// let report = fleet.run().await?;
/// println!("{} of {} complete", report.complete(), report.members.len());
/// # Ok(()) }
/// ```
#[must_use = "a fleet does nothing until run"]
pub struct PostgresFleet {
    db: Database,
    name: String,
    owner: String,
    concurrency: usize,
    claim_ttl: Duration,
    poll_interval: Duration,
    members: Vec<PostgresFleetMember>,
    sink: Option<Sink>,
}

impl fmt::Debug for PostgresFleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresFleet")
            .field("name", &self.name)
            .field("owner", &self.owner)
            .field("concurrency", &self.concurrency)
            .field("members", &self.members)
            .finish_non_exhaustive()
    }
}

/// This process's name for claims: host, process id and a random suffix.
fn default_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_owned());
    format!("{host}/{}/{:08x}", std::process::id(), fastrand::u32(..))
}

/// The journal's key rule: 1 to 128 of `A-Z a-z 0-9 . _ -`, not starting with a dot.
fn valid_label(label: &str) -> bool {
    (1..=128).contains(&label.len())
        && !label.starts_with('.')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// What a member's run came to on this replica.
struct Ran {
    label: String,
    /// The workflow's result, when it ran to one this replica recorded as the member's end.
    result: Option<Result<PushOutcome, WorkflowError>>,
}

impl PostgresFleet {
    /// An empty fleet `name` in `db` (the same name on every replica), running up to 10
    /// members at a time on this replica.
    ///
    /// ```no_run
    /// # fn f(db: &atlas_migration_postgres::Database) {
    /// let fleet = atlas_migration_postgres::PostgresFleet::new(db, "eu-rollout");
    /// # }
    /// ```
    pub fn new(db: &Database, name: impl Into<String>) -> Self {
        Self {
            db: db.clone(),
            name: name.into(),
            owner: default_owner(),
            concurrency: 10,
            claim_ttl: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            members: Vec::new(),
            sink: None,
        }
    }

    /// This replica's name in claims (default: host, process id and a random suffix); it
    /// must differ between replicas.
    ///
    /// ```no_run
    /// # fn f(fleet: atlas_migration_postgres::PostgresFleet) {
    /// let fleet = fleet.owner("pod-7f9c");
    /// # }
    /// ```
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// Members running at once on this replica, at most (at least 1).
    ///
    /// ```no_run
    /// # fn f(fleet: atlas_migration_postgres::PostgresFleet) {
    /// let fleet = fleet.concurrency(50);
    /// # }
    /// ```
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How long a claim lasts without renewal (default 30 s; renewed every third of it):
    /// how soon the others take a dead replica's members over.
    ///
    /// ```no_run
    /// # fn f(fleet: atlas_migration_postgres::PostgresFleet) {
    /// let fleet = fleet.claim_ttl(std::time::Duration::from_secs(10));
    /// # }
    /// ```
    pub fn claim_ttl(mut self, ttl: Duration) -> Self {
        self.claim_ttl = ttl.max(Duration::from_millis(30));
        self
    }

    /// How often a replica with room looks for members to claim (default 1 s); it also looks
    /// whenever one of its own members finishes.
    ///
    /// ```no_run
    /// # fn f(fleet: atlas_migration_postgres::PostgresFleet) {
    /// let fleet = fleet.poll_interval(std::time::Duration::from_millis(250));
    /// # }
    /// ```
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Adds a member.
    ///
    /// ```no_run
    /// # fn f(fleet: atlas_migration_postgres::PostgresFleet, m: atlas_migration_postgres::PostgresFleetMember) {
    /// let fleet = fleet.member(m);
    /// # }
    /// ```
    pub fn member(mut self, member: PostgresFleetMember) -> Self {
        self.members.push(member);
        self
    }

    /// Reports this replica's members' events to `f` (from many tasks, one call at a time).
    ///
    /// ```no_run
    /// # fn f(fleet: atlas_migration_postgres::PostgresFleet) {
    /// let fleet = fleet.on_event(|e| eprintln!("{e:?}"));
    /// # }
    /// ```
    pub fn on_event(mut self, f: impl FnMut(FleetEvent) + Send + 'static) -> Self {
        self.sink = Some(Arc::new(Mutex::new(Box::new(f))));
        self
    }

    /// Registers the members (opening [`MemberOutcome::Held`] ones again), then claims and
    /// runs them until every member has finished on some replica, or waits only for a held
    /// member's resources; reports how each ended.
    ///
    /// # Errors
    /// An invalid or repeated label, a member declared with other resources than the
    /// database holds, or a database failure that outlasts the retry window while nothing
    /// runs. Failures of members' workflows are in the report, not errors.
    ///
    /// ```no_run
    /// # async fn f(fleet: atlas_migration_postgres::PostgresFleet) -> Result<(), atlas_migration_postgres::Error> {
    /// let report = fleet.run().await?;
    /// # Ok(()) }
    /// ```
    pub async fn run(self) -> Result<PostgresFleetReport, Error> {
        let started = Instant::now();
        let Self {
            db,
            name,
            owner,
            concurrency,
            claim_ttl,
            poll_interval,
            members,
            sink,
        } = self;
        let mut seen = HashSet::new();
        for m in &members {
            if !valid_label(&m.label) || !seen.insert(m.label.clone()) {
                return Err(Error::new(
                    Kind::Config,
                    format!(
                        "fleet {name}: member label {:?} is repeated or not a journal key \
                         (1 to 128 of A-Z a-z 0-9 . _ -, not starting with a dot)",
                        m.label
                    ),
                ));
            }
        }
        let store = FleetStore::new(&db);
        let journal = Arc::new(PostgresJournal::new(&db));
        let specs: Vec<MemberSpec> = members
            .iter()
            .map(|m| {
                m.exclusive
                    .iter()
                    .fold(MemberSpec::new(&m.label), |s, e| s.exclusive(e.to_string()))
            })
            .collect();
        store.register(&name, &specs).await?;
        let labels: Vec<String> = members.iter().map(|m| m.label.clone()).collect();
        let makers: HashMap<String, MakeFlow> = members
            .iter()
            .map(|m| (m.label.clone(), m.make.clone()))
            .collect();
        let emit = Emit(sink);
        let mut running: JoinSet<Ran> = JoinSet::new();
        let mut results: HashMap<String, Result<PushOutcome, WorkflowError>> = HashMap::new();
        let mut waiting_told: HashSet<(String, String)> = HashSet::new();
        let mut panicked = None;
        let mut blocked_by: HashMap<String, String> = loop {
            // Fill the free slots with whatever can be claimed.
            let mut claimed_none = false;
            while running.len() < concurrency {
                match store.claim(&name, &labels, &owner, claim_ttl).await {
                    Ok(Some(claim)) => {
                        let make = makers[&claim.label].clone();
                        let run = MemberRun {
                            store: store.clone(),
                            journal: journal.clone(),
                            emit: emit.clone(),
                            claim_ttl,
                            retry_after: poll_interval,
                        };
                        running.spawn(run.run(claim, make));
                    }
                    Ok(None) => {
                        claimed_none = true;
                        break;
                    }
                    Err(e) if e.is_connection() && !running.is_empty() => {
                        tracing::warn!(fleet = name, error = %e, "cannot claim members now");
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            if claimed_none {
                let blocked = store.blocked(&name, &labels).await;
                if running.is_empty() {
                    let unfinished = store.unfinished(&name, &labels).await?;
                    // Done when nothing is left but members a held member keeps waiting.
                    let stuck: HashMap<String, String> = blocked
                        .as_ref()
                        .map(|b| {
                            b.iter()
                                .filter(|b| b.until_resolved)
                                .map(|b| (b.label.clone(), b.held_by.clone()))
                                .collect()
                        })
                        .unwrap_or_default();
                    if unfinished == u64::try_from(stuck.len()).unwrap_or(u64::MAX) {
                        break stuck;
                    }
                }
                // Say once which members wait for a resource another member holds.
                for b in blocked.unwrap_or_default() {
                    if waiting_told.insert((b.label.clone(), b.resource.clone())) {
                        emit.send(FleetEvent::Waiting {
                            label: b.label,
                            exclusive: Exclusive::key(b.resource),
                        });
                    }
                }
            }
            tokio::select! {
                Some(joined) = running.join_next() => match joined {
                    Ok(ran) => {
                        if let Some(result) = ran.result {
                            results.insert(ran.label, result);
                        }
                    }
                    Err(e) if e.is_panic() => panicked = panicked.or(Some(e.into_panic())),
                    Err(_) => {}
                },
                () = tokio::time::sleep(poll_interval) => {}
            }
        };
        // A panic (in a caller's callback) is passed on once every other member has finished.
        if let Some(panic) = panicked {
            std::panic::resume_unwind(panic);
        }
        let status = store.status(&name).await?;
        let mut by_label: HashMap<String, _> =
            status.into_iter().map(|s| (s.label.clone(), s)).collect();
        let members = labels
            .into_iter()
            .map(|label| {
                let status = by_label.remove(&label);
                MemberReport {
                    outcome: status.as_ref().and_then(|s| s.outcome),
                    message: status.as_ref().and_then(|s| s.message.clone()),
                    attempts: status.as_ref().map_or(0, |s| s.attempts),
                    result: results.remove(&label),
                    blocked_by: blocked_by.remove(&label),
                    label,
                }
            })
            .collect();
        Ok(PostgresFleetReport {
            members,
            elapsed: started.elapsed(),
        })
    }
}

/// The event sink, shared by the members' tasks.
#[derive(Clone)]
struct Emit(Option<Sink>);

impl Emit {
    fn send(&self, event: FleetEvent) {
        if let Some(sink) = &self.0 {
            let mut f = sink.lock().unwrap_or_else(|p| p.into_inner());
            f(event);
        }
    }
}

/// One claimed member's run on this replica.
struct MemberRun {
    store: FleetStore,
    journal: Arc<PostgresJournal>,
    emit: Emit,
    claim_ttl: Duration,
    retry_after: Duration,
}

/// Whether a workflow stopped because its record belongs to another run for now (held,
/// taken over, or the journal unreachable): the member is not finished, only given back.
fn not_ours(e: &WorkflowError) -> bool {
    matches!(
        &e.source,
        WorkflowFailure::Journal(j) if matches!(
            j.kind(),
            JournalErrorKind::Locked | JournalErrorKind::LeaseLost | JournalErrorKind::Io
        )
    )
}

impl MemberRun {
    async fn run(self, claim: MemberClaim, make: MakeFlow) -> Ran {
        let label = claim.label.clone();
        self.emit.send(FleetEvent::Started {
            label: label.clone(),
        });
        let progress = {
            let (emit, label) = (self.emit.clone(), label.clone());
            move |event| {
                emit.send(FleetEvent::Progress {
                    label: label.clone(),
                    event,
                })
            }
        };
        let flow = make()
            .journal(self.journal.clone(), label.clone())
            .on_progress(progress);
        // The claim is renewed while the workflow runs; a lost claim is only logged: the
        // workflow's journal lease decides whether it may go on.
        let mut claim = claim;
        let outcome = {
            let workflow = flow.run();
            tokio::pin!(workflow);
            let mut renewing = true;
            loop {
                tokio::select! {
                    outcome = &mut workflow => break outcome,
                    () = tokio::time::sleep(self.claim_ttl / 3), if renewing => {
                        match self.store.renew(&claim, self.claim_ttl).await {
                            Ok(renewed) => claim = renewed,
                            Err(e) if e.is_claim_lost() => {
                                tracing::warn!(member = label, error = %e, "fleet claim lost");
                                renewing = false;
                            }
                            Err(e) => tracing::warn!(member = label, error = %e, "cannot renew the fleet claim"),
                        }
                    }
                }
            }
        };
        self.emit.send(FleetEvent::Finished {
            label: label.clone(),
            ok: outcome.is_ok(),
        });
        let finish = match &outcome {
            Ok(PushOutcome::Complete(_)) => Some((MemberOutcome::Complete, String::new())),
            Ok(_) => Some((MemberOutcome::ReadyForCutover, String::new())),
            Err(e) if not_ours(e) => None,
            Err(e) if e.migration_may_still_run() => Some((MemberOutcome::Held, e.to_string())),
            Err(e) => Some((MemberOutcome::Failed, e.to_string())),
        };
        match finish {
            Some((member_outcome, message)) => {
                match self.store.complete(&claim, member_outcome, &message).await {
                    Ok(()) => Ran {
                        label,
                        result: Some(outcome),
                    },
                    Err(e) => {
                        // Another replica took the member over; it finishes it from the journal.
                        tracing::warn!(member = label, error = %e, "cannot record the member's end");
                        Ran {
                            label,
                            result: None,
                        }
                    }
                }
            }
            None => {
                if let Err(e) = self.store.release(&claim, self.retry_after).await {
                    tracing::debug!(member = label, error = %e, "the claim was already gone");
                }
                tracing::info!(
                    member = label,
                    error = %outcome.as_ref().err().map(ToString::to_string).unwrap_or_default(),
                    "member given back: its journal record is held elsewhere or unreachable"
                );
                Ran {
                    label,
                    result: None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_journal_key_rule() {
        for good in ["orders", "a.b_c-1", &"x".repeat(128)] {
            assert!(valid_label(good), "{good}");
        }
        for bad in ["", ".hidden", "a b", "a/b", &"x".repeat(129)] {
            assert!(!valid_label(bad), "{bad}");
        }
    }

    #[test]
    fn owners_name_the_process() {
        let owner = default_owner();
        assert!(
            owner.contains(&format!("/{}/", std::process::id())),
            "{owner}"
        );
        assert_ne!(owner, default_owner());
    }
}
