//! The waiter builders returned by `Client::wait_until_*` and `Client::cutover_and_wait`.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use tracing::Instrument;

use crate::client::Client;
use crate::error::Error;
use crate::ids::{GroupId, LiveMigrationId, ValidationId};
use crate::model::{LiveMigration, Validation};
use crate::wait::{Acceptance, PollEvent, Poller, WaiterError, acceptors};

/// Default longest wait for a validation: 30 minutes. Atlas checks connectivity, versions and
/// sizes; this takes seconds to minutes.
pub const DEFAULT_VALIDATION_MAX_WAIT: Duration = Duration::from_secs(30 * 60);

/// Default longest wait for readiness: 7 days. The initial sync of a large deployment can take
/// days; Atlas's own limit on a migration comes after readiness (the 120-hour cutover window).
pub const DEFAULT_READY_MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Default longest wait for completion: 12 days, covering a long initial sync (7 days) plus the
/// whole 120-hour cutover window, so that waiting for completion before anyone has cut over
/// still ends only after Atlas would have expired the migration.
pub const DEFAULT_COMPLETE_MAX_WAIT: Duration = Duration::from_secs(12 * 24 * 3600);

/// Validation polls pause 2 s at first, at most 15 s: it is short and someone usually waits.
const VALIDATION_DELAYS: (Duration, Duration) = (Duration::from_secs(2), Duration::from_secs(15));

/// Migration polls pause 5 s at first, at most 60 s: a state that lasts hours is detected
/// within a minute, at about one request a minute.
const MIGRATION_DELAYS: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(60));

type Callback<T> = Box<dyn for<'a> FnMut(&PollEvent<'a, T>) + Send>;

/// What a waiter waits for.
#[derive(Debug, Clone)]
enum Target {
    Validation(ValidationId),
    Ready(LiveMigrationId),
    Complete(LiveMigrationId),
    CutoverThenComplete(LiveMigrationId),
}

/// A configured wait; finish it with `.await` or [`wait`](Waiter::wait).
///
/// Returned by [`Client::wait_until_validation_done`] (`Waiter<Validation>`),
/// [`Client::wait_until_ready_for_cutover`], [`Client::wait_until_complete`] and
/// [`Client::cutover_and_wait`] (`Waiter<LiveMigration>`). See [`Poller`] for the schedule and
/// how errors are treated; each wait runs in a `wait` tracing span recording `poll_count` and
/// `elapsed_ms`.
///
/// ```no_run
/// use std::time::Duration;
///
/// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
/// #              id: atlas_migration::LiveMigrationId) -> Result<(), Box<dyn std::error::Error>> {
/// let ready = client
///     .wait_until_ready_for_cutover(&g, &id)
///     .max_wait(Duration::from_secs(48 * 3600))
///     .min_delay(Duration::from_secs(10))
///     .max_delay(Duration::from_secs(120))
///     .on_poll(|p| {
///         if let Ok(m) = p.result { eprintln!("{m}") }
///     })
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a waiter does nothing until awaited"]
pub struct Waiter<T> {
    client: Client,
    group: GroupId,
    target: Target,
    poller: Poller,
    on_poll: Option<Callback<T>>,
    _reply: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter")
            .field("group", &self.group)
            .field("target", &self.target)
            .field("poller", &self.poller)
            .finish_non_exhaustive()
    }
}

impl<T> Waiter<T> {
    fn new(client: &Client, group: &GroupId, target: Target, max_wait: Duration) -> Self {
        let (min, max) = match target {
            Target::Validation(_) => VALIDATION_DELAYS,
            _ => MIGRATION_DELAYS,
        };
        Self {
            client: client.clone(),
            group: group.clone(),
            target,
            poller: Poller::new()
                .max_wait(max_wait)
                .min_delay(min)
                .max_delay(max),
            on_poll: None,
            _reply: PhantomData,
        }
    }

    /// How long to wait at most (see the `DEFAULT_*_MAX_WAIT` constants for defaults).
    ///
    /// ```no_run
    /// # async fn run(c: atlas_migration::Client, g: atlas_migration::GroupId, v: atlas_migration::ValidationId) {
    /// let v = c.wait_until_validation_done(&g, &v).max_wait(std::time::Duration::from_secs(600)).await;
    /// # }
    /// ```
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.poller = self.poller.max_wait(max_wait);
        self
    }

    /// The first and shortest pause between polls (default 2 s for validations, 5 s for
    /// migrations).
    ///
    /// ```no_run
    /// # async fn run(c: atlas_migration::Client, g: atlas_migration::GroupId, v: atlas_migration::ValidationId) {
    /// let v = c.wait_until_validation_done(&g, &v).min_delay(std::time::Duration::from_secs(1)).await;
    /// # }
    /// ```
    pub fn min_delay(mut self, delay: Duration) -> Self {
        self.poller = self.poller.min_delay(delay);
        self
    }

    /// The longest pause between polls, before jitter (default 15 s for validations, 60 s for
    /// migrations).
    ///
    /// ```no_run
    /// # async fn run(c: atlas_migration::Client, g: atlas_migration::GroupId, m: atlas_migration::LiveMigrationId) {
    /// let m = c.wait_until_complete(&g, &m).max_delay(std::time::Duration::from_secs(30)).await;
    /// # }
    /// ```
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.poller = self.poller.max_delay(delay);
        self
    }

    /// The largest share of a pause that jitter may add on top of it (default 0.2).
    ///
    /// ```no_run
    /// # async fn run(c: atlas_migration::Client, g: atlas_migration::GroupId, m: atlas_migration::LiveMigrationId) {
    /// let m = c.wait_until_complete(&g, &m).jitter(0.5).await;
    /// # }
    /// ```
    pub fn jitter(mut self, share: f64) -> Self {
        self.poller = self.poller.jitter(share);
        self
    }

    /// Seeds the jitter, to reproduce a schedule.
    ///
    /// ```no_run
    /// # async fn run(c: atlas_migration::Client, g: atlas_migration::GroupId, m: atlas_migration::LiveMigrationId) {
    /// let m = c.wait_until_complete(&g, &m).seed(42).await;
    /// # }
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.poller = self.poller.seed(seed);
        self
    }

    /// Replaces the whole schedule.
    ///
    /// ```no_run
    /// # async fn run(c: atlas_migration::Client, g: atlas_migration::GroupId, m: atlas_migration::LiveMigrationId) {
    /// let schedule = atlas_migration::wait::Poller::new().max_wait(std::time::Duration::from_secs(3600));
    /// let m = c.wait_until_complete(&g, &m).poller(schedule).await;
    /// # }
    /// ```
    pub fn poller(mut self, poller: Poller) -> Self {
        self.poller = poller;
        self
    }

    /// Called after every poll, e.g. to show progress.
    ///
    /// ```no_run
    /// # async fn run(c: atlas_migration::Client, g: atlas_migration::GroupId, m: atlas_migration::LiveMigrationId) {
    /// let m = c.wait_until_complete(&g, &m)
    ///     .on_poll(|p| println!("poll {}: {:?}", p.attempt, p.result.map(|m| &m.status)))
    ///     .await;
    /// # }
    /// ```
    pub fn on_poll(mut self, f: impl for<'a> FnMut(&PollEvent<'a, T>) + Send + 'static) -> Self {
        self.on_poll = Some(Box::new(f));
        self
    }

    fn span(&self, waiter: &'static str, id: &str) -> tracing::Span {
        tracing::info_span!(
            "wait",
            waiter,
            group = self.group.as_str(),
            id,
            max_wait_s = self.poller.get_max_wait().as_secs(),
            poll_count = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        )
    }
}

/// Runs `poller` with an optional callback.
async fn drive<T, F, Fut>(
    poller: &Poller,
    poll: F,
    accept: fn(&T) -> Acceptance,
    mut on_poll: Option<Callback<T>>,
) -> Result<T, WaiterError<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    poller
        .run(poll, accept, |event| {
            if let Some(f) = on_poll.as_mut() {
                f(event)
            }
        })
        .await
}

impl Waiter<Validation> {
    /// Waits; the same as `.await`.
    ///
    /// ```no_run
    /// # async fn run(c: atlas_migration::Client, g: atlas_migration::GroupId, v: atlas_migration::ValidationId) {
    /// let v = c.wait_until_validation_done(&g, &v).wait().await;
    /// # }
    /// ```
    pub async fn wait(self) -> Result<Validation, WaiterError<Validation>> {
        let Target::Validation(id) = self.target.clone() else {
            unreachable!("validation waiters are built with a validation id")
        };
        let span = self.span("validation_done", id.as_str());
        let Self {
            client,
            group,
            poller,
            on_poll,
            ..
        } = self;
        drive(
            &poller,
            || client.get_validation(&group, &id),
            acceptors::validation_done,
            on_poll,
        )
        .instrument(span)
        .await
    }
}

impl Waiter<LiveMigration> {
    /// Waits; the same as `.await`.
    ///
    /// ```no_run
    /// # async fn run(c: atlas_migration::Client, g: atlas_migration::GroupId, m: atlas_migration::LiveMigrationId) {
    /// let m = c.wait_until_complete(&g, &m).wait().await;
    /// # }
    /// ```
    pub async fn wait(self) -> Result<LiveMigration, WaiterError<LiveMigration>> {
        let (name, id, accept, cutover): (_, _, fn(&LiveMigration) -> Acceptance, _) = match &self
            .target
        {
            Target::Ready(id) => ("ready_for_cutover", id, acceptors::ready_for_cutover, false),
            Target::Complete(id) => ("complete", id, acceptors::complete, false),
            Target::CutoverThenComplete(id) => ("cutover_and_wait", id, acceptors::complete, true),
            Target::Validation(_) => unreachable!("migration waiters carry a migration id"),
        };
        let id = id.clone();
        let span = self.span(name, id.as_str());
        let Self {
            client,
            group,
            poller,
            on_poll,
            ..
        } = self;
        async move {
            if cutover {
                start_cutover(&client, &group, &id)
                    .await
                    .map_err(WaiterError::OperationFailed)?;
            }
            drive(
                &poller,
                || client.get_migration(&group, &id),
                accept,
                on_poll,
            )
            .await
        }
        .instrument(span)
        .await
    }
}

/// Requests the cutover. A `409 CUTOVER_ALREADY_REQUESTED` counts as success: it is what a
/// repeated request gets when an earlier one was accepted but its answer lost.
pub(crate) async fn start_cutover(
    client: &Client,
    group: &GroupId,
    id: &LiveMigrationId,
) -> Result<(), Error> {
    match client.cutover(group, id).await {
        Err(e) if e.error_code() == Some("CUTOVER_ALREADY_REQUESTED") => {
            tracing::info!(migration = id.as_str(), "cutover was already requested");
            Ok(())
        }
        other => other,
    }
}

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, WaiterError<T>>> + Send>>;

impl IntoFuture for Waiter<Validation> {
    type Output = Result<Validation, WaiterError<Validation>>;
    type IntoFuture = Boxed<Validation>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}

impl IntoFuture for Waiter<LiveMigration> {
    type Output = Result<LiveMigration, WaiterError<LiveMigration>>;
    type IntoFuture = Boxed<LiveMigration>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}

impl Client {
    /// Waits until a validation is done: its `SUCCESS` reply, or
    /// [`WaiterError::FailureState`] on `FAILED` (the reply carries the server's
    /// `errorMessage`). At most [`DEFAULT_VALIDATION_MAX_WAIT`] unless configured.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #              request: atlas_migration::MigrationRequest) -> Result<(), Box<dyn std::error::Error>> {
    /// let started = client.validate_migration(&g, &request).await?;
    /// let passed = client.wait_until_validation_done(&g, &started.id).await?;
    /// # Ok(()) }
    /// ```
    pub fn wait_until_validation_done(
        &self,
        group: &GroupId,
        validation: &ValidationId,
    ) -> Waiter<Validation> {
        Waiter::new(
            self,
            group,
            Target::Validation(validation.clone()),
            DEFAULT_VALIDATION_MAX_WAIT,
        )
    }

    /// Waits until a migration is ready for cutover. `FAILED`, `EXPIRED` and `COMPLETE` are
    /// failure states. At most [`DEFAULT_READY_MAX_WAIT`] unless configured.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #              id: atlas_migration::LiveMigrationId) -> Result<(), Box<dyn std::error::Error>> {
    /// let ready = client.wait_until_ready_for_cutover(&g, &id).await?;
    /// println!("ready; lag {:?}", ready.lag);
    /// # Ok(()) }
    /// ```
    pub fn wait_until_ready_for_cutover(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Waiter<LiveMigration> {
        Waiter::new(
            self,
            group,
            Target::Ready(migration.clone()),
            DEFAULT_READY_MAX_WAIT,
        )
    }

    /// Waits until a migration is `COMPLETE`; `FAILED` and `EXPIRED` are failure states. At
    /// most [`DEFAULT_COMPLETE_MAX_WAIT`] unless configured.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #              id: atlas_migration::LiveMigrationId) -> Result<(), Box<dyn std::error::Error>> {
    /// let done = client.wait_until_complete(&g, &id).await?;
    /// # Ok(()) }
    /// ```
    pub fn wait_until_complete(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Waiter<LiveMigration> {
        Waiter::new(
            self,
            group,
            Target::Complete(migration.clone()),
            DEFAULT_COMPLETE_MAX_WAIT,
        )
    }

    /// Requests the cutover, then waits until the migration is `COMPLETE`. A failed cutover
    /// request ends the wait with [`WaiterError::OperationFailed`]; an answer saying the
    /// cutover was already requested does not. At most [`DEFAULT_COMPLETE_MAX_WAIT`] unless
    /// configured.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #              id: atlas_migration::LiveMigrationId) -> Result<(), Box<dyn std::error::Error>> {
    /// let done = client.cutover_and_wait(&g, &id).await?;
    /// assert!(done.status.is_success());
    /// # Ok(()) }
    /// ```
    pub fn cutover_and_wait(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Waiter<LiveMigration> {
        Waiter::new(
            self,
            group,
            Target::CutoverThenComplete(migration.clone()),
            DEFAULT_COMPLETE_MAX_WAIT,
        )
    }
}
