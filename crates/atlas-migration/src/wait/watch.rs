//! [`MigrationWatch`]: a stream of migration snapshots for progress displays, built on the
//! same poll step and change detector as every other wait.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::stream::{self, BoxStream};

use crate::client::Client;
use crate::error::Error;
use crate::ids::{GroupId, LiveMigrationId};
use crate::model::LiveMigration;
use crate::wait::changes::MigrationChanges;
use crate::wait::schedule;
use crate::wait::step::{Outcome, Polling, Step};
use crate::wait::{Acceptance, Poller};

/// A stream of a migration's snapshots: the first one, then each one whose status, readiness
/// or lag differs from the previous. It ends after a terminal state (`COMPLETE`, `FAILED`,
/// `EXPIRED`), after a non-transient error (yielded as `Err`), or once its
/// [`max_wait`](MigrationWatch::max_wait) has passed. Transient errors are not yielded; the
/// watch just polls again. Once ended it stays ended. Created by [`Client::watch_migration`].
///
/// ```no_run
/// use futures_util::StreamExt;
///
/// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
/// #              id: atlas_migration::LiveMigrationId) {
/// let mut watch = client.watch_migration(&g, &id).interval(std::time::Duration::from_secs(10));
/// while let Some(snapshot) = watch.next().await {
///     match snapshot {
///         Ok(m) => println!("{m}"),
///         Err(e) => eprintln!("watch ended: {e}"),
///     }
/// }
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct MigrationWatch {
    client: Client,
    group: GroupId,
    migration: LiveMigrationId,
    schedule: Poller,
    inner: Option<BoxStream<'static, Result<LiveMigration, Error>>>,
}

impl std::fmt::Debug for MigrationWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrationWatch")
            .field("group", &self.group)
            .field("migration", &self.migration)
            .field("schedule", &self.schedule)
            .field("started", &self.inner.is_some())
            .finish()
    }
}

/// A watch has reached what it waits for once the migration can no longer change.
fn terminal(m: &LiveMigration) -> Acceptance {
    if m.status.is_terminal() {
        Acceptance::Success
    } else {
        Acceptance::Retry
    }
}

/// The state a started watch carries from one snapshot to the next.
struct Watching {
    client: Client,
    group: GroupId,
    migration: LiveMigrationId,
    polling: Polling,
    changes: MigrationChanges,
    ended: bool,
}

impl Watching {
    /// Polls until there is something to yield, or `None` once the watch is over.
    async fn next(&mut self) -> Option<Result<LiveMigration, Error>> {
        while !self.ended {
            let Self {
                client,
                group,
                migration,
                polling,
                ..
            } = self;
            let polled = match polling
                .step(|| client.get_migration(group, migration), terminal)
                .await
            {
                Step::Polled(polled) => polled,
                Step::DeadlinePassed { poll_count, .. } => {
                    tracing::debug!(poll_count, "watch reached its max wait");
                    self.ended = true;
                    return None;
                }
            };
            match polled.outcome {
                Outcome::Reply { reply, acceptance } => {
                    let over = acceptance == Acceptance::Success;
                    if self.changes.observe(&reply).any() || over {
                        self.ended = over;
                        return Some(Ok(reply));
                    }
                }
                Outcome::Transient(_) => {}
                Outcome::Fatal(error) => {
                    self.ended = true;
                    return Some(Err(error));
                }
            }
        }
        None
    }
}

impl MigrationWatch {
    /// The pause between polls (default [`DEFAULT_WATCH_INTERVAL`](super::DEFAULT_WATCH_INTERVAL));
    /// only effective before the stream is first polled. A zero interval is raised to 1 ms.
    ///
    /// ```no_run
    /// # fn f(c: atlas_migration::Client, g: atlas_migration::GroupId, m: atlas_migration::LiveMigrationId) {
    /// let watch = c.watch_migration(&g, &m).interval(std::time::Duration::from_secs(5));
    /// # }
    /// ```
    pub fn interval(mut self, interval: Duration) -> Self {
        self.schedule = self.schedule.min_delay(interval).max_delay(interval);
        self
    }

    /// How long the watch lasts at most (default
    /// [`DEFAULT_COMPLETE_MAX_WAIT`](super::DEFAULT_COMPLETE_MAX_WAIT)); the stream ends at
    /// that deadline, a poll in flight included (see [`Poller`](super::Poller)). Only
    /// effective before the stream is first polled.
    ///
    /// ```no_run
    /// # fn f(c: atlas_migration::Client, g: atlas_migration::GroupId, m: atlas_migration::LiveMigrationId) {
    /// let watch = c.watch_migration(&g, &m).max_wait(std::time::Duration::from_secs(3600));
    /// # }
    /// ```
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.schedule = self.schedule.max_wait(max_wait);
        self
    }

    fn start(&self) -> BoxStream<'static, Result<LiveMigration, Error>> {
        let watching = Watching {
            client: self.client.clone(),
            group: self.group.clone(),
            migration: self.migration.clone(),
            polling: Polling::new(&self.schedule),
            changes: MigrationChanges::default(),
            ended: false,
        };
        Box::pin(stream::unfold(watching, |mut w| async move {
            let next = w.next().await?;
            Some((next, w))
        }))
    }
}

impl Stream for MigrationWatch {
    type Item = Result<LiveMigration, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.inner.is_none() {
            let inner = self.start();
            self.inner = Some(inner);
        }
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let next = inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = next {
            // Stay ended: replace the finished stream with an empty one.
            self.inner = Some(Box::pin(stream::empty()));
        }
        next
    }
}

impl Client {
    /// Watches a migration: a [`Stream`] of snapshots emitted whenever its status, readiness
    /// or lag changes, ending at a terminal state. See [`MigrationWatch`].
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    ///
    /// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #              id: atlas_migration::LiveMigrationId) {
    /// let mut watch = client.watch_migration(&g, &id);
    /// while let Some(Ok(m)) = watch.next().await {
    ///     println!("{} ready={} lag={:?}", m.status, m.ready_for_cutover, m.lag);
    /// }
    /// # }
    /// ```
    pub fn watch_migration(&self, group: &GroupId, migration: &LiveMigrationId) -> MigrationWatch {
        MigrationWatch {
            client: self.clone(),
            group: group.clone(),
            migration: migration.clone(),
            schedule: schedule::WATCH.poller(),
            inner: None,
        }
    }
}
