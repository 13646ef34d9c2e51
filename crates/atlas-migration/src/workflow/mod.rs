//! [`PushMigration`]: the whole push-migration lifecycle as one resumable workflow.
//!
//! validate → wait for the validation → create → wait until ready for cutover → either hand
//! back a [`ReadyMigration`] (the default: the caller decides when to cut over) or, with
//! [`auto_cutover`](PushMigration::auto_cutover), cut over and wait until complete.
//! Progress is reported as [`ProgressEvent`]s; a failure names its [`Step`].
//!
//! Every wait is one of the [`wait`](crate::wait) module's waiters, with the same default
//! schedules.

mod cutover_policy;
mod error;
mod events;
mod fleet;
mod governed;
mod outcome;
mod recorder;
mod run;
mod settings;
mod step;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::client::Client;
use crate::ids::{GroupId, LiveMigrationId, OrgId};
use crate::journal::Journal;
use crate::request::MigrationRequest;

pub use cutover_policy::{CutoverPolicy, CutoverWindow};
pub use error::{WorkflowError, WorkflowFailure};
use events::Progress;
pub use events::ProgressEvent;
pub use fleet::{Exclusive, Fleet, FleetEvent, FleetMember, FleetReport};
pub use outcome::{PushOutcome, ReadyMigration};
use settings::Settings;
pub use step::Step;

/// Where a workflow begins.
pub(crate) enum Start {
    /// Validate and create from a request.
    Request(Box<MigrationRequest>),
    /// Continue an existing migration.
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
    journal: Option<recorder::Binding>,
    lease_ttl: Duration,
    expected_project: Option<GroupId>,
    expected_org: Option<OrgId>,
    /// The source project of the request recorded for a recovered migration.
    recorded_source: Option<GroupId>,
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

impl PushMigration {
    fn with_start(client: &Client, group: &GroupId, start: Start) -> Self {
        Self {
            client: client.clone(),
            group: group.clone(),
            start,
            auto_cutover: false,
            settings: Settings::default(),
            journal: None,
            lease_ttl: crate::journal::DEFAULT_TTL,
            expected_project: None,
            expected_org: None,
            recorded_source: None,
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
    /// `COMPLETE` is done; `FAILED` is an error at [`Step::WaitReady`], and `EXPIRED` is
    /// [`WorkflowFailure::CutoverWindowExpired`] there.
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

    /// The workflow of record `key` in `journal`, continued from where it stopped: for a
    /// service that lost track of its workflows (list them with
    /// [`Journal::keys`]). A record with a migration resumes
    /// it; one without is validated and created from the recorded request, whose source
    /// password must be given again with [`source_password`](Self::source_password). Run it
    /// like any workflow; a create that may have happened still needs a confirmation.
    ///
    /// The project comes from the record; a service that must touch only its own project
    /// says so with [`expect_project`](Self::expect_project), and a record of another project
    /// (a mixed-up file, a journal shared with another service) is then refused before
    /// anything is sent.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use atlas_migration::journal::{DirectoryJournal, Journal};
    /// use atlas_migration::workflow::PushMigration;
    ///
    /// # async fn f(client: atlas_migration::Client, ours: atlas_migration::GroupId) -> Result<(), Box<dyn std::error::Error>> {
    /// let journal = Arc::new(DirectoryJournal::open("/var/lib/my-service/migrations")?);
    /// for key in journal.keys().await? {
    ///     let flow = PushMigration::recover(&client, journal.clone(), &key).await?;
    ///     let flow = flow.expect_project(&ours).source_password("from-the-vault".to_owned());
    ///     tokio::spawn(flow.auto_cutover(true).run());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn recover(
        client: &Client,
        journal: Arc<dyn Journal>,
        key: &str,
    ) -> Result<Self, WorkflowError> {
        let fail = |source| WorkflowError::new(Step::Journal, source, None);
        crate::journal::check_key(key).map_err(|e| fail(WorkflowFailure::Call(e)))?;
        let record = journal
            .load(key)
            .await
            .map_err(|e| fail(WorkflowFailure::Journal(e)))?
            .ok_or_else(|| {
                WorkflowError::record_mismatch(key, "there is no such record".to_owned())
            })?;
        let recorded_source = record.request.as_ref().map(|r| r.source.project.clone());
        let start = match (record.migration_id, record.request) {
            (Some(id), _) => Start::Resume(id),
            (None, Some(request)) => Start::Request(Box::new(request)),
            (None, None) => {
                return Err(WorkflowError::record_mismatch(
                    key,
                    "the record has neither a migration nor a request".to_owned(),
                ));
            }
        };
        let mut flow = Self::with_start(client, &record.group, start).journal(journal, key);
        flow.recorded_source = recorded_source;
        Ok(flow)
    }

    /// Refuses to run unless the workflow's destination project is `group`: for a workflow
    /// from [`recover`](Self::recover), whose project comes from its journal record. A record
    /// of another project stops the workflow with [`WorkflowFailure::RecordMismatch`] before
    /// anything is sent.
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration, ours: atlas_migration::GroupId) {
    /// let flow = flow.expect_project(&ours);
    /// # }
    /// ```
    pub fn expect_project(mut self, group: &GroupId) -> Self {
        self.expected_project = Some(group.clone());
        self
    }

    /// Refuses to run unless the migration's source project is linked to organization `org`
    /// (among its [`list_source_projects`](crate::Client::list_source_projects)): for a
    /// service that drives only its own organization's migrations from a shared journal.
    /// The check reads that list once, before anything else is sent; a workflow of another
    /// organization's project stops with [`WorkflowFailure::RecordMismatch`], and so does one
    /// whose source project is unknown (a [`resume`](Self::resume) by id: use
    /// [`recover`](Self::recover), which reads it from the record).
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration, org: atlas_migration::OrgId) {
    /// let flow = flow.expect_org(&org);
    /// # }
    /// ```
    pub fn expect_org(mut self, org: &OrgId) -> Self {
        self.expected_org = Some(org.clone());
        self
    }

    /// Gives the source password again to a workflow whose request came back from storage
    /// (see [`recover`](Self::recover)); nothing changes otherwise.
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.source_password("s3cr3t".to_owned());
    /// # }
    /// ```
    pub fn source_password(mut self, password: impl Into<secrecy::SecretString>) -> Self {
        if let Start::Request(request) = self.start {
            self.start = Start::Request(Box::new(request.source_password(password)));
        }
        self
    }

    /// Records the workflow in `journal` under `key` (1 to 128 of `A-Z a-z 0-9 . _ -`): each
    /// step is saved, the intent to create strictly before the create request is sent, so a
    /// process that crashes and runs the same workflow again continues where it stopped and
    /// never creates a second migration.
    ///
    /// One workflow drives a record at a time, under a lease of the journal (see
    /// [`lease_ttl`](Self::lease_ttl)) that it renews while it runs and presents with every
    /// save. Another workflow on the same record is refused
    /// ([`JournalErrorKind::Locked`](crate::journal::JournalErrorKind::Locked)); a workflow
    /// that stalled past its lease and lost the record to another stops with
    /// [`JournalErrorKind::LeaseLost`](crate::journal::JournalErrorKind::LeaseLost) at its
    /// next save, and checks its lease before it creates the migration or cuts it over.
    ///
    /// Run again with the same key after a restart: a known migration is resumed; a create
    /// whose reply never arrived stops the workflow with
    /// [`WorkflowFailure::CreateUnconfirmed`] until [`confirm_migration`](Self::confirm_migration)
    /// or [`confirm_no_migration`](Self::confirm_no_migration) says what Atlas has. If that
    /// request may still be on its way to Atlas, the workflow first waits until it has landed
    /// (the moment recorded with the create), so that looking afterwards is conclusive.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use atlas_migration::journal::DirectoryJournal;
    /// use atlas_migration::workflow::PushMigration;
    ///
    /// # async fn f(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #            request: atlas_migration::MigrationRequest) -> Result<(), Box<dyn std::error::Error>> {
    /// let journal = Arc::new(DirectoryJournal::open("/var/lib/my-service/migrations")?);
    /// let outcome = PushMigration::new(&client, &g, request)
    ///     .journal(journal, "orders-cluster")
    ///     .auto_cutover(true)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn journal(mut self, journal: Arc<dyn Journal>, key: impl Into<String>) -> Self {
        self.journal = Some(recorder::Binding {
            journal,
            key: key.into(),
            confirmation: None,
        });
        self
    }

    /// Says that Atlas has migration `id` for this workflow's journal record, whose create
    /// request's reply never arrived: the workflow records it and resumes it. Only acts on
    /// such a record (see [`journal`](Self::journal)).
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration, id: atlas_migration::LiveMigrationId) {
    /// let flow = flow.confirm_migration(id);
    /// # }
    /// ```
    pub fn confirm_migration(mut self, id: LiveMigrationId) -> Self {
        if let Some(binding) = self.journal.as_mut() {
            binding.confirmation = Some(recorder::Confirmation::Migration(id));
        }
        self
    }

    /// Says that Atlas has no migration for this workflow's journal record (you looked for
    /// one into the destination cluster and found none): the workflow may create it. Only
    /// acts on a record whose create may have happened (see [`journal`](Self::journal)).
    ///
    /// A create request may reach Atlas well after its client gave up on it (a load balancer
    /// keeps it going), so the record says until when it may still land: the request's
    /// timeout (30 s for a client without one) plus
    /// [`create_landing_margin`](Self::create_landing_margin) after it was sent. Before that
    /// moment, looking proves nothing and this confirmation is refused with
    /// [`WorkflowFailure::CreateMayStillLand`], which names the moment.
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.confirm_no_migration();
    /// # }
    /// ```
    pub fn confirm_no_migration(mut self) -> Self {
        if let Some(binding) = self.journal.as_mut() {
            binding.confirmation = Some(recorder::Confirmation::NoMigration);
        }
        self
    }

    /// How long a workflow's journal lease lasts without renewal (default 60 s); the workflow
    /// renews it every third of that while it runs. Shorter lets another process take over a
    /// record sooner after this one stalls; longer rides out longer stalls of the journal.
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.lease_ttl(std::time::Duration::from_secs(30));
    /// # }
    /// ```
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// How long after a create attempt's timeout the request may still reach Atlas (default
    /// 30 s): a load balancer may keep a request going after its client gave up. Recorded in
    /// the journal with the create (see
    /// [`confirm_no_migration`](Self::confirm_no_migration)).
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.create_landing_margin(std::time::Duration::from_secs(120));
    /// # }
    /// ```
    pub fn create_landing_margin(mut self, margin: Duration) -> Self {
        self.settings.landing_margin = margin;
        self
    }

    /// Cuts over automatically under `policy`: only when ready with the lag within bounds
    /// for long enough, inside the allowed window, after the `before_cutover` hook succeeded;
    /// then waits until complete and runs the `after_complete` hook. See [`CutoverPolicy`].
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// use std::time::Duration;
    /// let flow = flow.cutover_policy(
    ///     atlas_migration::workflow::CutoverPolicy::new().max_lag(Duration::from_secs(5)),
    /// );
    /// # }
    /// ```
    pub fn cutover_policy(mut self, policy: CutoverPolicy) -> Self {
        self.settings.cutover_policy = Some(Arc::new(policy));
        self
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

    /// Reports progress to a callback (replacing any earlier one); to a channel, send from
    /// it: `move |event| { let _ = tx.send(event); }`.
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.on_progress(|event| eprintln!("{event:?}"));
    /// # }
    /// ```
    pub fn on_progress(mut self, f: impl FnMut(ProgressEvent) + Send + 'static) -> Self {
        self.settings.progress = Progress::to(f);
        self
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

    /// Longest a single call of the workflow (validate, create, cutover) rides out Atlas's
    /// rate limit (default 15 minutes). A 429 is documented as not processed, so until then
    /// the call waits for budget and tries again, whatever the client's retry policy allows;
    /// past it the step fails with a [budget error](crate::ErrorKind::Budget) that counts the
    /// refusals. Polls are bounded by their wait's `max_wait` instead.
    ///
    /// ```no_run
    /// # fn f(flow: atlas_migration::workflow::PushMigration) {
    /// let flow = flow.call_max_wait(std::time::Duration::from_secs(3600));
    /// # }
    /// ```
    pub fn call_max_wait(mut self, max_wait: Duration) -> Self {
        self.settings.call_max_wait = max_wait;
        self
    }

    /// Longest wait for the validation (default
    /// 30 minutes).
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
    /// 7 days).
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
    /// 12 days).
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
        tracing::Instrument::instrument(run::push(self), span).await
    }
}

impl IntoFuture for PushMigration {
    type Output = Result<PushOutcome, WorkflowError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
