//! [`MigrationWatch`]: a stream of migration snapshots for progress displays, built on the
//! same poll step as every other wait, and the one change detector: what differs between a
//! migration's consecutive snapshots as far as someone following it cares (status,
//! readiness, lag). The watch yields a snapshot when anything changed; the workflow turns
//! changes into progress events.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::stream::{self, BoxStream};

use crate::client::Client;
use crate::error::Error;
use crate::ids::{GroupId, LiveMigrationId};
use crate::model::LiveMigration;
use crate::status::MigrationStatus;
use crate::wait::poller::{self as schedule, Outcome, Polling, Step};
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

impl MigrationWatch {
    /// A watch of `migration` on the default schedule; nothing is polled until it is.
    pub(crate) fn new(client: &Client, group: &GroupId, migration: &LiveMigrationId) -> Self {
        Self {
            client: client.clone(),
            group: group.clone(),
            migration: migration.clone(),
            schedule: schedule::WATCH.poller(),
            inner: None,
        }
    }
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
                .step(
                    |deadline| async move {
                        client.until(deadline).get_migration(group, migration).await
                    },
                    terminal,
                )
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
    /// The pause between polls (default 30 s);
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
    /// 12 days); the stream ends at
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

/// Remembers the last snapshot seen and compares each new one with it.
#[derive(Debug, Clone, Default)]
pub(crate) struct MigrationChanges {
    last: Option<Seen>,
}

/// The parts of a snapshot that count as a change.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    status: MigrationStatus,
    ready_for_cutover: bool,
    lag: Option<Duration>,
}

impl Seen {
    fn of(m: &LiveMigration) -> Self {
        Self {
            status: m.status.clone(),
            ready_for_cutover: m.ready_for_cutover,
            lag: m.lag,
        }
    }
}

/// What changed in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    /// The status or the readiness for cutover (always true for the first snapshot).
    pub(crate) state: bool,
    /// The lag, including its appearing or disappearing (for the first snapshot: whether it
    /// has one).
    pub(crate) lag: bool,
}

impl Change {
    /// Whether anything changed.
    pub(crate) fn any(self) -> bool {
        self.state || self.lag
    }
}

impl MigrationChanges {
    /// A detector that has already seen `snapshot` (or nothing).
    pub(crate) fn after(snapshot: Option<&LiveMigration>) -> Self {
        Self {
            last: snapshot.map(Seen::of),
        }
    }

    /// Compares `m` with the last snapshot seen, then remembers `m`.
    pub(crate) fn observe(&mut self, m: &LiveMigration) -> Change {
        let now = Seen::of(m);
        let change = match &self.last {
            None => Change {
                state: true,
                lag: now.lag.is_some(),
            },
            Some(before) => Change {
                state: before.status != now.status
                    || before.ready_for_cutover != now.ready_for_cutover,
                lag: before.lag != now.lag,
            },
        };
        self.last = Some(now);
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(json: &str) -> LiveMigration {
        let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
        value["_id"] = "507f1f77bcf86cd799439011".into();
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn first_snapshot_is_a_change_and_repeats_are_not() {
        let mut changes = MigrationChanges::default();
        let working = m(r#"{"status":"WORKING"}"#);
        assert_eq!(
            changes.observe(&working),
            Change {
                state: true,
                lag: false
            }
        );
        assert!(!changes.observe(&working).any());
    }

    #[test]
    fn status_readiness_and_lag_each_count() {
        let mut changes = MigrationChanges::after(Some(&m(r#"{"status":"WORKING"}"#)));
        let ready = m(r#"{"status":"WORKING","readyForCutover":true}"#);
        assert!(changes.observe(&ready).state);
        let lagging = m(r#"{"status":"WORKING","readyForCutover":true,"lagTimeSeconds":3}"#);
        assert_eq!(
            changes.observe(&lagging),
            Change {
                state: false,
                lag: true
            }
        );
        assert!(changes.observe(&ready).lag, "a lag that disappears changed");
        assert!(changes.observe(&m(r#"{"status":"COMPLETE"}"#)).state);
    }
}
