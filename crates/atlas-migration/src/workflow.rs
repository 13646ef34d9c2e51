//! [`PushMigration`]: the whole push-migration lifecycle as one resumable workflow.
//!
//! validate → wait for the validation → create → wait until ready for cutover → either hand
//! back a [`ReadyMigration`] (the default: the caller decides when to cut over) or, with
//! [`auto_cutover`](PushMigration::auto_cutover), cut over and wait until complete.
//! Progress is reported as [`ProgressEvent`]s; a failure names its [`Step`].

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::client::Client;
use crate::error::Error;
use crate::ids::{GroupId, LiveMigrationId, ValidationId};
use crate::model::{LiveMigration, Validation};
use crate::request::MigrationRequest;
use crate::status::MigrationStatus;
use crate::wait::{
    Acceptance, DEFAULT_COMPLETE_MAX_WAIT, DEFAULT_READY_MAX_WAIT, DEFAULT_VALIDATION_MAX_WAIT,
    PollEvent, Poller, WaiterError, acceptors,
};

/// A step of the workflow, named in [`WorkflowError`].
///
/// ```
/// assert_eq!(atlas_migration::workflow::Step::WaitReady.to_string(), "wait until ready for cutover");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Starting the validation (`POST .../validate`).
    Validate,
    /// Waiting for the validation to pass.
    WaitValidation,
    /// Creating the migration (`POST .../liveMigrations`).
    Create,
    /// Waiting until the migration is ready for cutover (or, when resuming, complete).
    WaitReady,
    /// Requesting the cutover.
    Cutover,
    /// Waiting until the migration is complete.
    WaitComplete,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Validate => "validate",
            Step::WaitValidation => "wait for validation",
            Step::Create => "create",
            Step::WaitReady => "wait until ready for cutover",
            Step::Cutover => "cutover",
            Step::WaitComplete => "wait until complete",
        })
    }
}

/// Progress of a [`PushMigration`], each event stamped with the time it was observed.
///
/// ```
/// use atlas_migration::workflow::ProgressEvent;
///
/// fn show(event: &ProgressEvent) {
///     match event {
///         ProgressEvent::Lag { lag, .. } => println!("lag {lag:?}"),
///         ProgressEvent::Complete { migration_id, .. } => println!("{migration_id} done"),
///         other => println!("{other:?}"),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// The validation passed.
    Validated {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The validation.
        validation_id: ValidationId,
    },
    /// The migration was created.
    Created {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The new migration.
        migration_id: LiveMigrationId,
    },
    /// A resumed workflow found its migration.
    Resumed {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
        /// Its status then.
        status: MigrationStatus,
    },
    /// The migration's status or readiness changed (first observation included).
    StatusChanged {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
        /// The new status.
        status: MigrationStatus,
        /// Whether it is ready for cutover.
        ready_for_cutover: bool,
    },
    /// The migration's lag changed.
    Lag {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
        /// How far the destination trails the source.
        lag: Duration,
    },
    /// The migration is ready for cutover.
    ReadyForCutover {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
        /// The lag at that time, when known.
        lag: Option<Duration>,
    },
    /// The cutover was requested and accepted.
    CutoverStarted {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
    },
    /// The migration is complete.
    Complete {
        /// When it was observed.
        at: DateTime<Utc>,
        /// The migration.
        migration_id: LiveMigrationId,
    },
}

/// What went wrong in a step of a [`WorkflowError`].
///
/// ```
/// # fn f(e: &atlas_migration::workflow::WorkflowError) {
/// use atlas_migration::workflow::WorkflowFailure;
/// if let WorkflowFailure::CreateOutcomeUnknown(_) = &e.source {
///     eprintln!("look for an existing migration before creating another");
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum WorkflowFailure {
    /// A call failed (after the client's retries).
    Call(Error),
    /// Waiting for the validation ended without success (`FAILED` carries the server's
    /// message).
    Validation(WaiterError<Validation>),
    /// Waiting for the migration ended without success (`FAILED`, `EXPIRED`, timeout, ...).
    Migration(WaiterError<LiveMigration>),
    /// The create request may or may not have created a migration: the connection broke after
    /// it was sent, the server answered 5xx, or the reply could not be read. The workflow does
    /// not create again; look for an existing migration in the destination project (Atlas UI or
    /// support) and [`resume`](PushMigration::resume) it by id, or create again only once you
    /// know there is none.
    CreateOutcomeUnknown(Error),
}

impl fmt::Display for WorkflowFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Call(e) => e.fmt(f),
            Self::Validation(e) => e.fmt(f),
            Self::Migration(e) => e.fmt(f),
            Self::CreateOutcomeUnknown(e) => write!(
                f,
                "the migration may or may not have been created ({e}); look for an existing \
                 migration in the destination project and resume it instead of creating another"
            ),
        }
    }
}

impl std::error::Error for WorkflowFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Call(e) | Self::CreateOutcomeUnknown(e) => Some(e),
            Self::Validation(e) => Some(e),
            Self::Migration(e) => Some(e),
        }
    }
}

/// A failed step of a [`PushMigration`].
///
/// ```no_run
/// # async fn run(flow: atlas_migration::workflow::PushMigration) {
/// if let Err(e) = flow.run().await {
///     eprintln!("step {} failed: {e}", e.step);
///     if let Some(message) = e.server_message() {
///         eprintln!("Atlas says: {message}");
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct WorkflowError {
    /// The step that failed.
    pub step: Step,
    /// What went wrong.
    pub source: WorkflowFailure,
    /// The migration, once created or when resuming.
    pub migration: Option<LiveMigrationId>,
}

impl WorkflowError {
    fn new(step: Step, source: WorkflowFailure, migration: Option<&LiveMigrationId>) -> Self {
        Self {
            step,
            source,
            migration: migration.cloned(),
        }
    }

    /// What the server said: a failed validation's `errorMessage`, an API error's detail, or
    /// the final status of a failed or expired migration.
    ///
    /// ```no_run
    /// # fn f(e: &atlas_migration::workflow::WorkflowError) {
    /// println!("{:?}", e.server_message());
    /// # }
    /// ```
    pub fn server_message(&self) -> Option<String> {
        let from_call = |e: &Error| match e {
            Error::Api(api) => api.detail().map(str::to_owned),
            _ => None,
        };
        match &self.source {
            WorkflowFailure::Call(e) | WorkflowFailure::CreateOutcomeUnknown(e) => from_call(e),
            WorkflowFailure::Validation(WaiterError::FailureState { last }) => {
                last.error_message.clone()
            }
            WorkflowFailure::Validation(e) => e.operation_error().and_then(from_call),
            WorkflowFailure::Migration(WaiterError::FailureState { last }) => {
                Some(format!("migration is {}", last.status))
            }
            WorkflowFailure::Migration(e) => e.operation_error().and_then(from_call),
        }
    }

    /// Whether the create request's outcome is unknown, so a migration may exist; see
    /// [`WorkflowFailure::CreateOutcomeUnknown`].
    ///
    /// ```no_run
    /// # fn f(e: &atlas_migration::workflow::WorkflowError) {
    /// if e.is_create_outcome_unknown() { /* do not create again blindly */ }
    /// # }
    /// ```
    pub fn is_create_outcome_unknown(&self) -> bool {
        matches!(self.source, WorkflowFailure::CreateOutcomeUnknown(_))
    }
}

impl fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "push migration failed at step \"{}\"", self.step)?;
        if let Some(id) = &self.migration {
            write!(f, " (migration {id})")?;
        }
        write!(f, ": {}", self.source)
    }
}

impl std::error::Error for WorkflowError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

type Sink = Arc<Mutex<Box<dyn FnMut(ProgressEvent) + Send>>>;

/// Shared by the workflow and its ready handle.
#[derive(Clone)]
struct Settings {
    validation: Poller,
    ready: Poller,
    complete: Poller,
    sink: Option<Sink>,
}

impl Settings {
    fn emit(&self, event: ProgressEvent) {
        tracing::debug!(?event, "push migration progress");
        if let Some(sink) = &self.sink {
            let mut f = sink.lock().unwrap_or_else(|p| p.into_inner());
            f(event);
        }
    }
}

enum Start {
    Request(Box<MigrationRequest>),
    Resume(LiveMigrationId),
}

/// The push-migration workflow. Build it with [`new`](Self::new) (validate and create) or
/// [`resume`](Self::resume) (continue an existing migration), then `.await` it or call
/// [`run`](Self::run).
///
/// Creation is never repeated: when the create request fails in a way that leaves its outcome
/// unknown, the workflow stops with [`WorkflowFailure::CreateOutcomeUnknown`]. A process that
/// restarts mid-migration should store the migration id (see [`ProgressEvent::Created`]) and
/// [`resume`](Self::resume) with it.
///
/// ```no_run
/// use atlas_migration::workflow::{PushMigration, PushOutcome};
///
/// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
/// #              request: atlas_migration::MigrationRequest) -> Result<(), Box<dyn std::error::Error>> {
/// let outcome = PushMigration::new(&client, &g, request)
///     .on_progress(|event| println!("{event:?}"))
///     .await?;
/// if let PushOutcome::ReadyForCutover(ready) = outcome {
///     // ... stop writes to the source, then:
///     let done = ready.cutover_and_wait().await?;
///     println!("{done}");
/// }
/// # Ok(()) }
/// ```
#[must_use = "a workflow does nothing until awaited"]
pub struct PushMigration {
    client: Client,
    group: GroupId,
    start: Start,
    auto_cutover: bool,
    settings: Settings,
}

impl fmt::Debug for PushMigration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let start = match &self.start {
            Start::Request(_) => "new".to_owned(),
            Start::Resume(id) => format!("resume {id}"),
        };
        f.debug_struct("PushMigration")
            .field("group", &self.group)
            .field("start", &start)
            .field("auto_cutover", &self.auto_cutover)
            .finish_non_exhaustive()
    }
}

/// How a [`PushMigration`] ended.
///
/// ```no_run
/// # async fn f(outcome: atlas_migration::workflow::PushOutcome) {
/// use atlas_migration::workflow::PushOutcome;
/// match outcome {
///     PushOutcome::ReadyForCutover(ready) => println!("{} ready", ready.id()),
///     PushOutcome::Complete(done) => println!("{done}"),
///     _ => {}
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum PushOutcome {
    /// Ready for cutover; the caller decides when (the default).
    ReadyForCutover(ReadyMigration),
    /// Complete (after an automatic cutover, or found complete when resuming).
    Complete(LiveMigration),
}

impl PushOutcome {
    /// The migration's id.
    ///
    /// ```no_run
    /// # fn f(o: &atlas_migration::workflow::PushOutcome) { println!("{:?}", o.migration_id()); }
    /// ```
    pub fn migration_id(&self) -> Option<&LiveMigrationId> {
        match self {
            Self::ReadyForCutover(r) => Some(&r.id),
            Self::Complete(m) => Some(&m.id),
        }
    }
}

/// A migration ready for cutover, handed back by a [`PushMigration`].
///
/// ```no_run
/// # async fn f(ready: atlas_migration::workflow::ReadyMigration) -> Result<(), atlas_migration::workflow::WorkflowError> {
/// println!("lag {:?}", ready.migration().lag);
/// let done = ready.cutover_and_wait().await?;
/// # Ok(()) }
/// ```
pub struct ReadyMigration {
    client: Client,
    group: GroupId,
    id: LiveMigrationId,
    snapshot: LiveMigration,
    settings: Arc<Settings>,
}

impl fmt::Debug for ReadyMigration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadyMigration")
            .field("group", &self.group)
            .field("id", &self.id)
            .field("snapshot", &self.snapshot)
            .finish_non_exhaustive()
    }
}

impl ReadyMigration {
    /// The migration's id.
    ///
    /// ```no_run
    /// # fn f(r: &atlas_migration::workflow::ReadyMigration) { println!("{}", r.id()); }
    /// ```
    pub fn id(&self) -> &LiveMigrationId {
        &self.id
    }

    /// The migration as last seen (ready for cutover).
    ///
    /// ```no_run
    /// # fn f(r: &atlas_migration::workflow::ReadyMigration) { println!("{}", r.migration()); }
    /// ```
    pub fn migration(&self) -> &LiveMigration {
        &self.snapshot
    }

    /// Requests the cutover and waits until the migration is complete.
    ///
    /// ```no_run
    /// # async fn f(r: atlas_migration::workflow::ReadyMigration) {
    /// match r.cutover_and_wait().await {
    ///     Ok(done) => println!("{done}"),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # }
    /// ```
    pub async fn cutover_and_wait(self) -> Result<LiveMigration, WorkflowError> {
        let id = Some(&self.id);
        crate::wait::start_cutover(&self.client, &self.group, &self.id)
            .await
            .map_err(|e| WorkflowError::new(Step::Cutover, WorkflowFailure::Call(e), id))?;
        self.settings.emit(ProgressEvent::CutoverStarted {
            at: Utc::now(),
            migration_id: self.id.clone(),
        });
        let done = wait_migration(
            &self.client,
            &self.group,
            &self.id,
            &self.settings.complete,
            acceptors::complete,
            &self.settings,
            Some(&self.snapshot),
        )
        .await
        .map_err(|e| WorkflowError::new(Step::WaitComplete, WorkflowFailure::Migration(e), id))?;
        self.settings.emit(ProgressEvent::Complete {
            at: Utc::now(),
            migration_id: self.id.clone(),
        });
        Ok(done)
    }
}

/// Polls a migration, reporting status, readiness and lag changes as progress events.
async fn wait_migration(
    client: &Client,
    group: &GroupId,
    id: &LiveMigrationId,
    poller: &Poller,
    accept: fn(&LiveMigration) -> Acceptance,
    settings: &Settings,
    seen: Option<&LiveMigration>,
) -> Result<LiveMigration, WaiterError<LiveMigration>> {
    let mut last_state = seen.map(|m| (m.status.clone(), m.ready_for_cutover));
    let mut last_lag = seen.and_then(|m| m.lag);
    let report = |event: &PollEvent<'_, LiveMigration>| {
        let Ok(m) = event.result else { return };
        let state = (m.status.clone(), m.ready_for_cutover);
        if last_state.as_ref() != Some(&state) {
            settings.emit(ProgressEvent::StatusChanged {
                at: Utc::now(),
                migration_id: id.clone(),
                status: state.0.clone(),
                ready_for_cutover: state.1,
            });
            last_state = Some(state);
        }
        if let Some(lag) = m.lag.filter(|lag| last_lag != Some(*lag)) {
            settings.emit(ProgressEvent::Lag {
                at: Utc::now(),
                migration_id: id.clone(),
                lag,
            });
            last_lag = Some(lag);
        }
    };
    poller
        .run(|| client.get_migration(group, id), accept, report)
        .await
}

/// Whether a failed create may nevertheless have created a migration (decided in
/// `classify.rs`, like every other "may this be repeated?").
fn create_outcome_unknown(error: &Error) -> bool {
    error.may_have_been_processed()
}

impl PushMigration {
    fn with_start(client: &Client, group: &GroupId, start: Start) -> Self {
        Self {
            client: client.clone(),
            group: group.clone(),
            start,
            auto_cutover: false,
            settings: Settings {
                validation: Poller::new()
                    .max_wait(DEFAULT_VALIDATION_MAX_WAIT)
                    .min_delay(Duration::from_secs(2))
                    .max_delay(Duration::from_secs(15)),
                ready: Poller::new()
                    .max_wait(DEFAULT_READY_MAX_WAIT)
                    .min_delay(Duration::from_secs(5))
                    .max_delay(Duration::from_secs(60)),
                complete: Poller::new()
                    .max_wait(DEFAULT_COMPLETE_MAX_WAIT)
                    .min_delay(Duration::from_secs(5))
                    .max_delay(Duration::from_secs(60)),
                sink: None,
            },
        }
    }

    /// A workflow that validates `request`, creates the migration in the destination project
    /// `group`, and waits until it is ready for cutover.
    ///
    /// ```no_run
    /// # fn f(client: atlas_migration::Client, g: atlas_migration::GroupId, request: atlas_migration::MigrationRequest) {
    /// let flow = atlas_migration::workflow::PushMigration::new(&client, &g, request);
    /// # }
    /// ```
    pub fn new(client: &Client, group: &GroupId, request: MigrationRequest) -> Self {
        Self::with_start(client, group, Start::Request(Box::new(request)))
    }

    /// A workflow that continues an existing migration from whatever state it is in: `NEW` or
    /// `WORKING` waits until ready for cutover (or complete, if a cutover was already
    /// requested); ready hands back a [`ReadyMigration`] or cuts over automatically;
    /// `COMPLETE` is done; `FAILED` and `EXPIRED` are errors at [`Step::WaitReady`].
    /// Nothing is ever created.
    ///
    /// ```no_run
    /// # async fn f(client: atlas_migration::Client, g: atlas_migration::GroupId) -> Result<(), Box<dyn std::error::Error>> {
    /// let id = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let outcome = atlas_migration::workflow::PushMigration::resume(&client, &g, &id)
    ///     .auto_cutover(true)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn resume(client: &Client, group: &GroupId, migration: &LiveMigrationId) -> Self {
        Self::with_start(client, group, Start::Resume(migration.clone()))
    }

    /// Whether to cut over as soon as the migration is ready (default `false`: the workflow
    /// ends with [`PushOutcome::ReadyForCutover`]).
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.auto_cutover(true);
    /// # }
    /// ```
    pub fn auto_cutover(mut self, auto: bool) -> Self {
        self.auto_cutover = auto;
        self
    }

    /// Reports progress to a callback (replacing any earlier callback or channel).
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.on_progress(|event| eprintln!("{event:?}"));
    /// # }
    /// ```
    pub fn on_progress(mut self, f: impl FnMut(ProgressEvent) + Send + 'static) -> Self {
        self.settings.sink = Some(Arc::new(Mutex::new(Box::new(f))));
        self
    }

    /// Reports progress to a channel (replacing any earlier callback or channel); events
    /// are dropped once the receiver is gone.
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    /// let flow = flow.progress_channel(tx);
    /// # }
    /// ```
    pub fn progress_channel(
        self,
        sender: tokio::sync::mpsc::UnboundedSender<ProgressEvent>,
    ) -> Self {
        self.on_progress(move |event| {
            let _ = sender.send(event);
        })
    }

    /// Pause bounds between polls for every wait (defaults: 2–15 s for the validation,
    /// 5–60 s for the migration).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.poll_delays(Duration::from_secs(10), Duration::from_secs(120));
    /// # }
    /// ```
    pub fn poll_delays(mut self, min: Duration, max: Duration) -> Self {
        let s = &mut self.settings;
        for p in [&mut s.validation, &mut s.ready, &mut s.complete] {
            *p = p.clone().min_delay(min).max_delay(max);
        }
        self
    }

    /// Longest wait for the validation (default
    /// [`crate::wait::DEFAULT_VALIDATION_MAX_WAIT`]).
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.validation_max_wait(std::time::Duration::from_secs(600));
    /// # }
    /// ```
    pub fn validation_max_wait(mut self, max_wait: Duration) -> Self {
        self.settings.validation = self.settings.validation.max_wait(max_wait);
        self
    }

    /// Longest wait for readiness (default
    /// [`crate::wait::DEFAULT_READY_MAX_WAIT`]).
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.ready_max_wait(std::time::Duration::from_secs(48 * 3600));
    /// # }
    /// ```
    pub fn ready_max_wait(mut self, max_wait: Duration) -> Self {
        self.settings.ready = self.settings.ready.max_wait(max_wait);
        self
    }

    /// Longest wait for completion after the cutover (default
    /// [`crate::wait::DEFAULT_COMPLETE_MAX_WAIT`]).
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.complete_max_wait(std::time::Duration::from_secs(3600));
    /// # }
    /// ```
    pub fn complete_max_wait(mut self, max_wait: Duration) -> Self {
        self.settings.complete = self.settings.complete.max_wait(max_wait);
        self
    }

    /// Runs the workflow; the same as `.await`.
    ///
    /// ```no_run
    /// # async fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let outcome = flow.run().await;
    /// # }
    /// ```
    pub async fn run(self) -> Result<PushOutcome, WorkflowError> {
        let span = tracing::info_span!(
            "push_migration",
            group = self.group.as_str(),
            auto_cutover = self.auto_cutover
        );
        tracing::Instrument::instrument(self.run_inner(), span).await
    }

    async fn run_inner(self) -> Result<PushOutcome, WorkflowError> {
        let Self {
            client,
            group,
            start,
            auto_cutover,
            settings,
        } = self;
        let (id, seen) = match start {
            Start::Request(request) => {
                let id = validate_and_create(&client, &group, &request, &settings).await?;
                (id, None)
            }
            Start::Resume(id) => {
                let m = client.get_migration(&group, &id).await.map_err(|e| {
                    WorkflowError::new(Step::WaitReady, WorkflowFailure::Call(e), Some(&id))
                })?;
                settings.emit(ProgressEvent::Resumed {
                    at: Utc::now(),
                    migration_id: id.clone(),
                    status: m.status.clone(),
                });
                (id, None::<LiveMigration>)
            }
        };
        let m = wait_migration(
            &client,
            &group,
            &id,
            &settings.ready,
            acceptors::ready_or_complete,
            &settings,
            seen.as_ref(),
        )
        .await
        .map_err(|e| {
            WorkflowError::new(Step::WaitReady, WorkflowFailure::Migration(e), Some(&id))
        })?;
        if m.status.is_success() {
            settings.emit(ProgressEvent::Complete {
                at: Utc::now(),
                migration_id: id.clone(),
            });
            return Ok(PushOutcome::Complete(m));
        }
        settings.emit(ProgressEvent::ReadyForCutover {
            at: Utc::now(),
            migration_id: id.clone(),
            lag: m.lag,
        });
        let ready = ReadyMigration {
            client,
            group,
            id,
            snapshot: m,
            settings: Arc::new(settings),
        };
        if auto_cutover {
            Ok(PushOutcome::Complete(ready.cutover_and_wait().await?))
        } else {
            Ok(PushOutcome::ReadyForCutover(ready))
        }
    }
}

/// Validates, waits for the validation, and creates the migration (once).
async fn validate_and_create(
    client: &Client,
    group: &GroupId,
    request: &MigrationRequest,
    settings: &Settings,
) -> Result<LiveMigrationId, WorkflowError> {
    let fail = |step, source| WorkflowError::new(step, source, None);
    let started = client
        .validate_migration(group, request)
        .await
        .map_err(|e| fail(Step::Validate, WorkflowFailure::Call(e)))?;
    let validation_id = started.id;
    settings
        .validation
        .run(
            || client.get_validation(group, &validation_id),
            acceptors::validation_done,
            |_| {},
        )
        .await
        .map_err(|e| fail(Step::WaitValidation, WorkflowFailure::Validation(e)))?;
    settings.emit(ProgressEvent::Validated {
        at: Utc::now(),
        validation_id,
    });
    let created = client.create_migration(group, request).await.map_err(|e| {
        if create_outcome_unknown(&e) {
            tracing::error!(error = %e, "create failed after sending; a migration may exist");
            fail(Step::Create, WorkflowFailure::CreateOutcomeUnknown(e))
        } else {
            fail(Step::Create, WorkflowFailure::Call(e))
        }
    })?;
    let id = created.id;
    settings.emit(ProgressEvent::Created {
        at: Utc::now(),
        migration_id: id.clone(),
    });
    Ok(id)
}

impl IntoFuture for PushMigration {
    type Output = Result<PushOutcome, WorkflowError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_after_sending_leave_the_create_outcome_unknown() {
        let api = |s| {
            Error::Api(crate::error::ApiError::from_reply(
                s,
                &http::HeaderMap::new(),
                b"",
            ))
        };
        assert!(create_outcome_unknown(&api(500)));
        assert!(create_outcome_unknown(&api(503)));
        for definite in [400, 401, 403, 404, 409, 429] {
            assert!(!create_outcome_unknown(&api(definite)), "{definite}");
        }
    }
}
