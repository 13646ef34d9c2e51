//! [`MigrationWatch`]: a stream of migration snapshots for progress displays.

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
use crate::wait::poller::is_transient_for_polling;

/// Default pause between the polls of a watch.
pub const DEFAULT_WATCH_INTERVAL: Duration = Duration::from_secs(30);

/// A stream of a migration's snapshots: the first one, then each one whose status, readiness
/// or lag differs from the previous. It ends after a terminal state (`COMPLETE`, `FAILED`,
/// `EXPIRED`) or after a non-transient error (yielded as `Err`). Transient errors are not
/// yielded; the watch just polls again. Once ended it stays ended. Created by
/// [`Client::watch_migration`].
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
    interval: Duration,
    inner: Option<BoxStream<'static, Result<LiveMigration, Error>>>,
}

impl std::fmt::Debug for MigrationWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MigrationWatch")
            .field("group", &self.group)
            .field("migration", &self.migration)
            .field("interval", &self.interval)
            .field("started", &self.inner.is_some())
            .finish()
    }
}

impl MigrationWatch {
    /// The pause between polls (default [`DEFAULT_WATCH_INTERVAL`]); only effective before
    /// the stream is first polled.
    ///
    /// ```no_run
    /// # fn f(c: atlas_migration::Client, g: atlas_migration::GroupId, m: atlas_migration::LiveMigrationId) {
    /// let watch = c.watch_migration(&g, &m).interval(std::time::Duration::from_secs(5));
    /// # }
    /// ```
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    fn start(&self) -> BoxStream<'static, Result<LiveMigration, Error>> {
        struct State {
            client: Client,
            group: GroupId,
            migration: LiveMigrationId,
            interval: Duration,
            seen: Option<(MigrationStatus, bool, Option<Duration>)>,
            first: bool,
            done: bool,
        }
        let state = State {
            client: self.client.clone(),
            group: self.group.clone(),
            migration: self.migration.clone(),
            interval: self.interval,
            seen: None,
            first: true,
            done: false,
        };
        Box::pin(stream::unfold(state, |mut s| async move {
            if s.done {
                return None;
            }
            loop {
                if !s.first {
                    tokio::time::sleep(s.interval).await;
                }
                s.first = false;
                match s.client.get_migration(&s.group, &s.migration).await {
                    Ok(m) => {
                        let key = (m.status.clone(), m.ready_for_cutover, m.lag);
                        let terminal = m.status.is_terminal();
                        if terminal || s.seen.as_ref() != Some(&key) {
                            s.seen = Some(key);
                            s.done = terminal;
                            return Some((Ok(m), s));
                        }
                    }
                    Err(e) if is_transient_for_polling(&e) => {
                        tracing::warn!(error = %e, "watch poll failed; polling again later");
                    }
                    Err(e) => {
                        s.done = true;
                        return Some((Err(e), s));
                    }
                }
            }
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
            interval: DEFAULT_WATCH_INTERVAL,
            inner: None,
        }
    }
}
