//! [`Waiter`]: the builder returned by `Client::wait_until_*` and `Client::cutover_and_wait`,
//! a [`Poller`] run over one [`PolledResource`] (what a waiter can poll, typed by its own id)
//! with one acceptor (what counts as success, failure or "not yet"). Also the cutover request
//! that `cutover_and_wait` and the workflow start with, made so that repeating it is
//! harmless, and the one-line descriptions of polled resources used in messages.
//!
//! Atlas documents no error code for a cutover requested twice, so a refusal is judged by
//! reading the migration's state, never by its code.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use tracing::Instrument;

use crate::client::Client;
use crate::error::Error;
use crate::ids::{GroupId, LiveMigrationId, ValidationId};
use crate::model::{LiveMigration, Validation};
use crate::status::MigrationStatus;
use crate::wait::error::human;
use crate::wait::poller::Schedule;
use crate::wait::{Acceptance, PollEvent, Poller, WaiterError};

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
///     .poller(|p| {
///         p.max_wait(Duration::from_secs(48 * 3600))
///             .min_delay(Duration::from_secs(10))
///             .max_delay(Duration::from_secs(120))
///     })
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
    pub(crate) fn new(
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
    pub(crate) fn starting_with(
        mut self,
        prelude: impl Future<Output = Result<(), Error>> + Send + 'static,
    ) -> Self {
        self.prelude = Some(Box::pin(prelude));
        self
    }

    /// Adjusts the schedule: `f` gets this wait's [`Poller`] with its defaults (at most 15 min
    /// for a validation, 30 min; until ready, 7 days; until complete, 12 days; pauses from 2 s
    /// to 15 s for validations, 5 s to 60 s for migrations; jitter up to 0.2 of a pause) and
    /// returns the one to use.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # async fn run(c: atlas_migration::Client, g: atlas_migration::GroupId, m: atlas_migration::LiveMigrationId) {
    /// let m = c
    ///     .wait_until_complete(&g, &m)
    ///     .poller(|p| p.max_wait(Duration::from_secs(3600)).max_delay(Duration::from_secs(30)))
    ///     .await;
    /// # }
    /// ```
    pub fn poller(mut self, f: impl FnOnce(Poller) -> Poller) -> Self {
        self.poller = f(self.poller);
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
                .run_until(
                    |deadline| {
                        let (client, group, id) = (client.until(deadline), &group, &id);
                        async move { T::fetch(&client, group, id).await }
                    },
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

/// A resource a [`Waiter`] polls: [`Validation`] or [`LiveMigration`].
///
/// Sealed: the waiters of this crate are the only ones. It lets code handle any waiter
/// generically.
///
/// ```no_run
/// use atlas_migration::wait::{PolledResource, Waiter, WaiterError};
///
/// async fn patiently<T: PolledResource>(waiter: Waiter<T>) -> Result<T, WaiterError<T>> {
///     waiter.poller(|p| p.max_wait(std::time::Duration::from_secs(24 * 3600))).await
/// }
/// ```
pub trait PolledResource: sealed::Fetch {}

impl PolledResource for Validation {}
impl PolledResource for LiveMigration {}

pub(crate) mod sealed {
    use super::*;

    /// How a polled resource is identified and fetched.
    pub trait Fetch: Sized + Send + 'static {
        /// The id naming one such resource.
        type Id: Clone + fmt::Debug + Send + Sync + 'static;

        /// The id as sent in URLs and logs.
        fn id_str(id: &Self::Id) -> &str;

        /// One `GET` of the resource.
        fn fetch<'a>(
            client: &'a Client,
            group: &'a GroupId,
            id: &'a Self::Id,
        ) -> impl Future<Output = Result<Self, Error>> + Send + 'a;
    }

    impl Fetch for Validation {
        type Id = ValidationId;

        fn id_str(id: &ValidationId) -> &str {
            id.as_str()
        }

        fn fetch<'a>(
            client: &'a Client,
            group: &'a GroupId,
            id: &'a ValidationId,
        ) -> impl Future<Output = Result<Self, Error>> + Send + 'a {
            client.get_validation(group, id)
        }
    }

    impl Fetch for LiveMigration {
        type Id = LiveMigrationId;

        fn id_str(id: &LiveMigrationId) -> &str {
            id.as_str()
        }

        fn fetch<'a>(
            client: &'a Client,
            group: &'a GroupId,
            id: &'a LiveMigrationId,
        ) -> impl Future<Output = Result<Self, Error>> + Send + 'a {
            client.get_migration(group, id)
        }
    }
}

/// Acceptors: what each waiter considers success, failure or "not yet". Small functions, so
/// they are unit-tested on inline fixtures.
pub(crate) mod acceptors {
    use crate::model::{LiveMigration, Validation};
    use crate::status::{MigrationStatus, ValidationStatus};
    use crate::wait::Acceptance;

    /// A validation is done: `SUCCESS` succeeds, `FAILED` fails, anything else (`PENDING`, no
    /// status yet, a status this client does not know) keeps polling.
    pub(crate) fn validation_done(v: &Validation) -> Acceptance {
        match &v.status {
            Some(ValidationStatus::Success) => Acceptance::Success,
            Some(ValidationStatus::Failed) => Acceptance::Failure,
            _ => Acceptance::Retry,
        }
    }

    /// A migration is ready for cutover: `readyForCutover` while in progress succeeds; any
    /// terminal state (`FAILED`, `EXPIRED`, or `COMPLETE`, after which readiness cannot come)
    /// fails.
    pub(crate) fn ready_for_cutover(m: &LiveMigration) -> Acceptance {
        if m.status.is_terminal() {
            Acceptance::Failure
        } else if m.ready_for_cutover {
            Acceptance::Success
        } else {
            Acceptance::Retry
        }
    }

    /// A migration is complete: `COMPLETE` succeeds, `FAILED` and `EXPIRED` fail.
    pub(crate) fn complete(m: &LiveMigration) -> Acceptance {
        match m.status {
            MigrationStatus::Complete => Acceptance::Success,
            MigrationStatus::Failed | MigrationStatus::Expired => Acceptance::Failure,
            _ => Acceptance::Retry,
        }
    }

    /// Ready for cutover **or** already complete, for callers that do not know whether a cutover
    /// was already requested (e.g. when resuming): both succeed; `FAILED` and `EXPIRED` fail.
    pub(crate) fn ready_or_complete(m: &LiveMigration) -> Acceptance {
        match complete(m) {
            Acceptance::Retry => ready_for_cutover(m),
            done => done,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// `json` with an `_id`, which every reply carries.
        fn with_id(json: &str) -> serde_json::Value {
            let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
            value["_id"] = "507f1f77bcf86cd799439011".into();
            value
        }

        fn m(json: &str) -> LiveMigration {
            serde_json::from_value(with_id(json)).unwrap()
        }

        fn v(json: &str) -> Validation {
            serde_json::from_value(with_id(json)).unwrap()
        }

        #[test]
        fn validation_acceptor_names_both_ends() {
            assert_eq!(
                validation_done(&v(r#"{"status":"SUCCESS"}"#)),
                Acceptance::Success
            );
            assert_eq!(
                validation_done(&v(r#"{"status":"FAILED"}"#)),
                Acceptance::Failure
            );
            for pending in [r#"{"status":"PENDING"}"#, "{}", r#"{"status":"QUEUED"}"#] {
                assert_eq!(validation_done(&v(pending)), Acceptance::Retry, "{pending}");
            }
        }

        #[test]
        fn readiness_acceptor_fails_on_every_terminal_state() {
            let ready = m(r#"{"status":"WORKING","readyForCutover":true}"#);
            assert_eq!(ready_for_cutover(&ready), Acceptance::Success);
            for status in ["NEW", "WORKING", "PAUSED"] {
                let x = m(&format!(r#"{{"status":"{status}"}}"#));
                assert_eq!(ready_for_cutover(&x), Acceptance::Retry, "{status}");
            }
            for status in ["FAILED", "EXPIRED", "COMPLETE"] {
                let x = m(&format!(
                    r#"{{"status":"{status}","readyForCutover":true}}"#
                ));
                assert_eq!(ready_for_cutover(&x), Acceptance::Failure, "{status}");
            }
        }

        #[test]
        fn completion_acceptors() {
            let done = m(r#"{"status":"COMPLETE"}"#);
            assert_eq!(complete(&done), Acceptance::Success);
            assert_eq!(ready_or_complete(&done), Acceptance::Success);
            let ready = m(r#"{"status":"WORKING","readyForCutover":true}"#);
            assert_eq!(complete(&ready), Acceptance::Retry);
            assert_eq!(ready_or_complete(&ready), Acceptance::Success);
            for status in ["FAILED", "EXPIRED"] {
                let x = m(&format!(r#"{{"status":"{status}"}}"#));
                assert_eq!(complete(&x), Acceptance::Failure);
                assert_eq!(ready_or_complete(&x), Acceptance::Failure);
            }
        }
    }
}

impl Client {
    /// Requests the cutover of a migration that was seen ready. If the request fails (after
    /// the client's retries), the migration is read: `COMPLETE`, or in the cutover phase, means
    /// an earlier request (or this one, its answer lost) was accepted, which counts as
    /// success; any other state keeps the error.
    pub(crate) async fn ensure_cutover_requested(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Result<(), Error> {
        let refused = match self.cutover(group, migration).await {
            Ok(()) => return Ok(()),
            Err(e) if !state_may_explain(&e) => return Err(e),
            Err(e) => e,
        };
        let Ok(now) = self.get_migration(group, migration).await else {
            return Err(refused);
        };
        if now.status == MigrationStatus::Complete || in_cutover_phase(&now) {
            tracing::info!(
                migration = migration.as_str(),
                status = %now.status,
                error = %refused,
                "the cutover was refused but the migration's state shows it was requested"
            );
            return Ok(());
        }
        Err(refused)
    }
}

/// Whether the migration's state could show that a refused cutover had in fact been
/// accepted: not when the refusal concerns the caller (credentials, permissions, a wrong id,
/// a redirect, bad input).
fn state_may_explain(error: &Error) -> bool {
    !(error.is_auth()
        || error.is_invalid_input()
        || error.is_redirect()
        || matches!(error.status(), Some(401 | 403 | 404)))
}

/// Whether a migration that was ready is past its cutover: `WORKING` (which the spec says
/// includes "Stopping replication after the cut over"), no longer ready, and without
/// `lagTimeSeconds` (which "Atlas returns … only during an active migration, before the
/// cutover phase"). A migration that lost readiness but still reports lag is not.
fn in_cutover_phase(m: &LiveMigration) -> bool {
    m.status == MigrationStatus::Working && !m.ready_for_cutover && m.lag.is_none()
}

/// `migration 6296fb4c7c7aa997cf94e9a8 WORKING, ready for cutover, lag 12s`
impl fmt::Display for LiveMigration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "migration {} {}", self.id, self.status)?;
        if self.ready_for_cutover {
            f.write_str(", ready for cutover")?;
        }
        if let Some(lag) = self.lag {
            write!(f, ", lag {}", human(lag))?;
        }
        Ok(())
    }
}

/// `validation 507f1f77bcf86cd799439011 FAILED: source unreachable`
impl fmt::Display for Validation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "validation {}", self.id)?;
        match &self.status {
            Some(status) => write!(f, " {status}")?,
            None => f.write_str(" (no status yet)")?,
        }
        if let Some(message) = self.error_message.as_deref().filter(|m| !m.is_empty()) {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod description_tests {
    use super::*;

    #[test]
    fn descriptions_name_status_readiness_lag_and_message() {
        let m: LiveMigration = serde_json::from_str(
            r#"{"_id":"6296fb4c7c7aa997cf94e9a8","status":"WORKING","readyForCutover":true,"lagTimeSeconds":75}"#,
        )
        .unwrap();
        assert_eq!(
            m.to_string(),
            "migration 6296fb4c7c7aa997cf94e9a8 WORKING, ready for cutover, lag 1m 15s"
        );
        let v: Validation = serde_json::from_str(
            r#"{"_id":"507f1f77bcf86cd799439011","status":"FAILED","errorMessage":"source unreachable"}"#,
        )
        .unwrap();
        assert_eq!(
            v.to_string(),
            "validation 507f1f77bcf86cd799439011 FAILED: source unreachable"
        );
    }
}
