//! [`Waiter`]: the builder returned by `Client::wait_until_*` and `Client::cutover_and_wait`,
//! a [`Poller`] run over one [`PolledResource`] with one acceptor.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use tracing::Instrument;

use crate::client::Client;
use crate::error::Error;
use crate::ids::{GroupId, LiveMigrationId, ValidationId};
use crate::model::{LiveMigration, Validation};
use crate::wait::schedule::{self, Schedule};
use crate::wait::{Acceptance, PollEvent, PolledResource, Poller, WaiterError, acceptors};

type Callback<T> = Box<dyn for<'a> FnMut(&PollEvent<'a, T>) + Send>;

/// An action a waiter runs once before its first poll (the cutover request).
type Prelude = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

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
pub struct Waiter<T: PolledResource> {
    client: Client,
    group: GroupId,
    id: T::Id,
    /// Names the wait in its tracing span.
    name: &'static str,
    accept: fn(&T) -> Acceptance,
    prelude: Option<Prelude>,
    poller: Poller,
    on_poll: Option<Callback<T>>,
}

impl<T: PolledResource> std::fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter")
            .field("name", &self.name)
            .field("group", &self.group)
            .field("id", &self.id)
            .field("poller", &self.poller)
            .finish_non_exhaustive()
    }
}

impl<T: PolledResource> Waiter<T> {
    fn new(
        client: &Client,
        group: &GroupId,
        id: &T::Id,
        name: &'static str,
        accept: fn(&T) -> Acceptance,
        schedule: Schedule,
    ) -> Self {
        Self {
            client: client.clone(),
            group: group.clone(),
            id: id.clone(),
            name,
            accept,
            prelude: None,
            poller: schedule.poller(),
            on_poll: None,
        }
    }

    /// Runs `prelude` once before the first poll; its failure ends the wait with
    /// [`WaiterError::OperationFailed`].
    fn starting_with(
        mut self,
        prelude: impl Future<Output = Result<(), Error>> + Send + 'static,
    ) -> Self {
        self.prelude = Some(Box::pin(prelude));
        self
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

    /// Waits; the same as `.await`.
    ///
    /// ```no_run
    /// # async fn run(c: atlas_migration::Client, g: atlas_migration::GroupId, m: atlas_migration::LiveMigrationId) {
    /// let m = c.wait_until_complete(&g, &m).wait().await;
    /// # }
    /// ```
    pub async fn wait(self) -> Result<T, WaiterError<T>> {
        let span = tracing::info_span!(
            "wait",
            waiter = self.name,
            group = self.group.as_str(),
            id = T::id_str(&self.id),
            max_wait_s = self.poller.get_max_wait().as_secs(),
            poll_count = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let Self {
            client,
            group,
            id,
            accept,
            prelude,
            poller,
            mut on_poll,
            ..
        } = self;
        async move {
            if let Some(prelude) = prelude {
                prelude.await.map_err(WaiterError::OperationFailed)?;
            }
            poller
                .run(
                    || T::fetch(&client, &group, &id),
                    accept,
                    |event| {
                        if let Some(f) = on_poll.as_mut() {
                            f(event)
                        }
                    },
                )
                .await
        }
        .instrument(span)
        .await
    }
}

impl<T: PolledResource> IntoFuture for Waiter<T> {
    type Output = Result<T, WaiterError<T>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}

impl Client {
    /// Waits until a validation is done: its `SUCCESS` reply, or
    /// [`WaiterError::FailureState`] on `FAILED` (the reply carries the server's
    /// `errorMessage`). At most [`DEFAULT_VALIDATION_MAX_WAIT`](crate::wait::DEFAULT_VALIDATION_MAX_WAIT) unless configured.
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
            validation,
            "validation_done",
            acceptors::validation_done,
            schedule::VALIDATION,
        )
    }

    /// Waits until a migration is ready for cutover. `FAILED`, `EXPIRED` and `COMPLETE` are
    /// failure states. At most [`DEFAULT_READY_MAX_WAIT`](crate::wait::DEFAULT_READY_MAX_WAIT) unless configured.
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
            migration,
            "ready_for_cutover",
            acceptors::ready_for_cutover,
            schedule::READY,
        )
    }

    /// Waits until a migration is `COMPLETE`; `FAILED` and `EXPIRED` are failure states. At
    /// most [`DEFAULT_COMPLETE_MAX_WAIT`](crate::wait::DEFAULT_COMPLETE_MAX_WAIT) unless configured.
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
            migration,
            "complete",
            acceptors::complete,
            schedule::COMPLETE,
        )
    }

    /// Requests the cutover, then waits until the migration is `COMPLETE`. A failed cutover
    /// request ends the wait with [`WaiterError::OperationFailed`]; an answer saying the
    /// cutover was already requested does not. At most [`DEFAULT_COMPLETE_MAX_WAIT`](crate::wait::DEFAULT_COMPLETE_MAX_WAIT) unless
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
        let (client, group_id, id) = (self.clone(), group.clone(), migration.clone());
        Waiter::new(
            self,
            group,
            migration,
            "cutover_and_wait",
            acceptors::complete,
            schedule::COMPLETE,
        )
        .starting_with(async move { client.ensure_cutover_requested(&group_id, &id).await })
    }

    /// Waits until a migration is ready for cutover or already complete, for callers that do
    /// not know whether a cutover was requested (e.g. when resuming); `FAILED` and `EXPIRED`
    /// are failure states. At most [`DEFAULT_READY_MAX_WAIT`](crate::wait::DEFAULT_READY_MAX_WAIT) unless configured.
    pub(crate) fn wait_until_ready_or_complete(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Waiter<LiveMigration> {
        Waiter::new(
            self,
            group,
            migration,
            "ready_or_complete",
            acceptors::ready_or_complete,
            schedule::READY,
        )
    }
}
