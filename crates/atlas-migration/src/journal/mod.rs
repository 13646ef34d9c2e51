//! A durable record of each push-migration workflow, written before every step that creates
//! something, so that a service that crashes, restarts or is redeployed never creates a
//! migration twice and never loses one.
//!
//! [`Journal`] is the storage seam: [`DirectoryJournal`] (one JSON file per workflow in a
//! directory, written atomically, leased per record) needs no server. A service with its own
//! database implements the trait (see its docs) and passes it to
//! [`PushMigration::journal`](crate::workflow::PushMigration::journal).
//!
//! Each record is driven by one workflow at a time, under a [`Lease`] whose generation every
//! save presents: a workflow that stalled past its lease and lost the record to another
//! cannot overwrite it, and stops before it would create a migration or cut one over.

#[cfg(any(test, feature = "journal-conformance"))]
mod conformance;
mod directory;
mod error;
mod lease;
pub(crate) mod lock;
mod record;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

#[cfg(any(test, feature = "journal-conformance"))]
pub use conformance::ConformanceKit;
pub use directory::DirectoryJournal;
pub use error::{JournalError, JournalErrorKind};
pub use lease::Lease;
pub(crate) use lease::{DEFAULT_TTL, process_owner};
pub use record::{RecordedOutcome, WorkflowRecord};

/// What a journal's methods return.
pub type JournalFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, JournalError>> + Send + 'a>>;

/// Storage for workflow records, each driven by one workflow at a time under a fenced
/// [`Lease`].
///
/// A workflow [`acquire`](Self::acquire)s its record's lease, [`renew`](Self::renew)s it
/// every third of its time to live while it runs, presents it with every
/// [`save`](Self::save), and [`release`](Self::release)s it when it ends. The lease's
/// generation is the fencing token: a holder that stalled past its lease (a stopped VM, a
/// partition) and wakes up after another took the record over is refused on its first save
/// or renewal, so it can never overwrite its successor's record, and the workflow checks its
/// lease before it creates a migration or cuts one over.
///
/// # Implementing it on a database
///
/// Keep two things per key: the record, and the lease (generation, owner, expiry, in the
/// database's own clock so that replicas with skewed clocks agree). In SQL, for instance:
///
/// ```sql
/// CREATE TABLE migration_journal (
///     key        text PRIMARY KEY,
///     generation bigint NOT NULL DEFAULT 0,
///     owner      text,
///     expires_at timestamptz,      -- NULL or past: free
///     record     jsonb             -- NULL until the first save
/// );
/// ```
///
/// - [`acquire`](Self::acquire): in one statement or transaction, take the key if it has no
///   lease or its lease ran out (`expires_at <= now()`), raising the generation by one; else
///   return [`JournalErrorKind::Locked`] naming the holder and its expiry (see
///   [`JournalError::held_by`]). Concurrent takers must not both win (`INSERT … ON CONFLICT
///   DO UPDATE … WHERE expires_at IS NULL OR expires_at <= now() RETURNING …`, or a row
///   lock). The generation never goes down, not even across a release.
/// - [`renew`](Self::renew): move the expiry to now plus `ttl` where the generation is the
///   lease's and the lease was not released; else [`JournalErrorKind::LeaseLost`]. A lease
///   that ran out but that nobody took over may be renewed.
/// - [`release`](Self::release): free the key (`expires_at = NULL`) where the generation is
///   the lease's; a lease that is no longer current changes nothing.
/// - [`save`](Self::save): replace the record only where the lease is the key's current,
///   unexpired one, in the same statement or transaction as the check (`UPDATE … SET record
///   = $3 WHERE key = $1 AND generation = $2 AND expires_at > now()`), and durably (committed
///   before the future resolves): the workflow sends its create request only after the save
///   that records the intent has returned. No row updated is
///   [`JournalErrorKind::LeaseLost`], with nothing written.
/// - [`load`](Self::load): the record saved last under `key`, or `None`. A record that cannot
///   be read is [`JournalErrorKind::Corrupt`], never `None`: `None` lets the workflow start
///   from the beginning.
/// - [`keys`](Self::keys): every key with a saved record, for recovering them after a
///   restart.
///
/// The `journal-conformance` feature provides a test kit, [`ConformanceKit`], that checks
/// all of this against an implementation.
///
/// # Example
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use atlas_migration::chrono;
/// use atlas_migration::journal::{
///     Journal, JournalError, JournalErrorKind, JournalFuture, Lease, WorkflowRecord,
/// };
///
/// /// Keeps records in memory: for tests only, as nothing survives the process.
/// #[derive(Default)]
/// struct InMemory(Mutex<HashMap<String, Entry>>);
///
/// #[derive(Default)]
/// struct Entry {
///     lease: Option<Lease>,
///     generation: u64,
///     record: Option<WorkflowRecord>,
/// }
///
/// fn until(ttl: Duration) -> chrono::DateTime<chrono::Utc> {
///     chrono::Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
/// }
///
/// /// Whether `lease` is `entry`'s current one (and, if `live`, has not run out).
/// fn current(entry: Option<&Entry>, lease: &Lease, live: bool) -> Result<(), JournalError> {
///     let now = chrono::Utc::now();
///     match entry.and_then(|e| e.lease.as_ref()) {
///         Some(l) if l.generation == lease.generation && !(live && l.is_expired_at(now)) => Ok(()),
///         _ => Err(JournalError::new(JournalErrorKind::LeaseLost, &lease.key, "the lease is not current")),
///     }
/// }
///
/// impl Journal for InMemory {
///     fn acquire<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> JournalFuture<'a, Lease> {
///         Box::pin(async move {
///             let mut all = self.0.lock().unwrap();
///             let entry = all.entry(key.to_owned()).or_default();
///             if let Some(held) = entry.lease.as_ref().filter(|l| !l.is_expired_at(chrono::Utc::now())) {
///                 return Err(JournalError::new(JournalErrorKind::Locked, key, "the record is taken")
///                     .held_by(held.clone()));
///             }
///             entry.generation += 1;
///             let lease = Lease::new(key, entry.generation, owner, until(ttl));
///             entry.lease = Some(lease.clone());
///             Ok(lease)
///         })
///     }
///     fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> JournalFuture<'a, Lease> {
///         Box::pin(async move {
///             let mut all = self.0.lock().unwrap();
///             current(all.get(&lease.key), lease, false)?;
///             let renewed = Lease::new(&lease.key, lease.generation, &lease.owner, until(ttl));
///             all.get_mut(&lease.key).unwrap().lease = Some(renewed.clone());
///             Ok(renewed)
///         })
///     }
///     fn release<'a>(&'a self, lease: &'a Lease) -> JournalFuture<'a, ()> {
///         Box::pin(async move {
///             let mut all = self.0.lock().unwrap();
///             if current(all.get(&lease.key), lease, false).is_ok() {
///                 all.get_mut(&lease.key).unwrap().lease = None;
///             }
///             Ok(())
///         })
///     }
///     fn load<'a>(&'a self, key: &'a str) -> JournalFuture<'a, Option<WorkflowRecord>> {
///         Box::pin(async move { Ok(self.0.lock().unwrap().get(key).and_then(|e| e.record.clone())) })
///     }
///     fn save<'a>(&'a self, lease: &'a Lease, record: &'a WorkflowRecord) -> JournalFuture<'a, ()> {
///         Box::pin(async move {
///             let mut all = self.0.lock().unwrap();
///             if lease.key != record.key {
///                 return Err(JournalError::new(JournalErrorKind::LeaseLost, &record.key, "another record's lease"));
///             }
///             current(all.get(&record.key), lease, true)?;
///             all.get_mut(&record.key).unwrap().record = Some(record.clone());
///             Ok(())
///         })
///     }
///     fn keys(&self) -> JournalFuture<'_, Vec<String>> {
///         Box::pin(async move {
///             let all = self.0.lock().unwrap();
///             Ok(all.iter().filter(|(_, e)| e.record.is_some()).map(|(k, _)| k.clone()).collect())
///         })
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let journal = InMemory::default();
/// let first = journal.acquire("orders", "replica-a", Duration::from_secs(60)).await.unwrap();
/// let refused = journal.acquire("orders", "replica-b", Duration::from_secs(60)).await.unwrap_err();
/// assert_eq!(refused.kind(), JournalErrorKind::Locked);
/// journal.release(&first).await.unwrap();
/// let second = journal.acquire("orders", "replica-b", Duration::from_secs(60)).await.unwrap();
/// assert!(second.generation > first.generation);
/// # });
/// ```
pub trait Journal: Send + Sync + 'static {
    /// Takes the record `key` for `owner` until `ttl` from now (the store's clock), with a
    /// generation above every earlier one of the key. [`JournalErrorKind::Locked`], naming the
    /// holder and its expiry, while another live lease holds it; a lease that ran out is taken
    /// over.
    fn acquire<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Lease>;
    /// Extends `lease` to `ttl` from now, keeping its generation;
    /// [`JournalErrorKind::LeaseLost`] when it is no longer the record's current lease.
    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> JournalFuture<'a, Lease>;
    /// Frees the record for the next taker at once (best effort); does nothing when `lease`
    /// is no longer current.
    fn release<'a>(&'a self, lease: &'a Lease) -> JournalFuture<'a, ()>;
    /// The record saved last under `key`, if any.
    fn load<'a>(&'a self, key: &'a str) -> JournalFuture<'a, Option<WorkflowRecord>>;
    /// Saves `record` (under `record.key`), atomically and durably, only if `lease` is the
    /// current, unexpired lease of `record.key`; else [`JournalErrorKind::LeaseLost`] and
    /// nothing is written.
    fn save<'a>(&'a self, lease: &'a Lease, record: &'a WorkflowRecord) -> JournalFuture<'a, ()>;
    /// Every key with a saved record.
    fn keys(&self) -> JournalFuture<'_, Vec<String>>;
}

/// Whether `key` can name a record: 1 to 128 of `A-Z a-z 0-9 . _ -`, not starting with a
/// dot (so that it is a safe file name everywhere).
pub(crate) fn check_key(key: &str) -> Result<(), crate::Error> {
    let ok = (1..=128).contains(&key.len())
        && !key.starts_with('.')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(crate::Error::invalid_input(
            "journal key",
            Some(key),
            "must be 1 to 128 of A-Z a-z 0-9 . _ - and not start with a dot",
        ))
    }
}
