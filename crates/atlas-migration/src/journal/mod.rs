//! A durable record of each push-migration workflow, written before every step that creates
//! something, so that a service that crashes, restarts or is redeployed never creates a
//! migration twice and never loses one.
//!
//! [`Journal`] is the storage seam: [`DirectoryJournal`] (one JSON file per workflow in a
//! directory, written atomically, locked per record) needs no server. A service with its own
//! database implements the trait (see its docs) and passes it to
//! [`PushMigration::journal`](crate::workflow::PushMigration::journal).

mod directory;
mod error;
mod lock;
mod record;

use std::future::Future;
use std::pin::Pin;

pub use directory::DirectoryJournal;
pub use error::{JournalError, JournalErrorKind};
pub use record::{RecordedOutcome, WorkflowRecord};

/// What a journal's methods return.
pub type JournalFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, JournalError>> + Send + 'a>>;

/// Held while a workflow drives a record; dropping it lets another process take the record.
pub trait RecordLock: Send + Sync {}

/// Storage for workflow records.
///
/// To keep records in your own database, implement the four methods:
/// - [`lock`](Self::lock): make sure one process at a time drives a record (a row lock held
///   by a transaction, a lease with an owner and an expiry, an advisory lock). Return
///   [`JournalErrorKind::Locked`] at once when another holds it; release it when the
///   returned guard drops, and also when the process dies.
/// - [`load`](Self::load): the record saved last under `key`, or `None`. A record that cannot
///   be read is [`JournalErrorKind::Corrupt`], never `None`: `None` lets the workflow start
///   from the beginning.
/// - [`save`](Self::save): replace the record atomically and durably (committed before the
///   future resolves): the workflow sends its create request only after the save that
///   records the intent has returned.
/// - [`keys`](Self::keys): every saved key, for recovering all records after a restart.
///
/// ```
/// use atlas_migration::journal::{Journal, JournalError, JournalFuture, RecordLock, WorkflowRecord};
///
/// /// Keeps records in memory: for tests only, as nothing survives the process.
/// #[derive(Default)]
/// struct InMemory(std::sync::Mutex<std::collections::HashMap<String, WorkflowRecord>>);
/// struct NoLock;
/// impl RecordLock for NoLock {}
///
/// impl Journal for InMemory {
///     fn lock<'a>(&'a self, _key: &'a str) -> JournalFuture<'a, Box<dyn RecordLock>> {
///         Box::pin(async { Ok(Box::new(NoLock) as Box<dyn RecordLock>) })
///     }
///     fn load<'a>(&'a self, key: &'a str) -> JournalFuture<'a, Option<WorkflowRecord>> {
///         Box::pin(async move { Ok(self.0.lock().unwrap().get(key).cloned()) })
///     }
///     fn save<'a>(&'a self, record: &'a WorkflowRecord) -> JournalFuture<'a, ()> {
///         Box::pin(async move {
///             self.0.lock().unwrap().insert(record.key.clone(), record.clone());
///             Ok(())
///         })
///     }
///     fn keys(&self) -> JournalFuture<'_, Vec<String>> {
///         Box::pin(async move { Ok(self.0.lock().unwrap().keys().cloned().collect()) })
///     }
/// }
/// ```
pub trait Journal: Send + Sync + 'static {
    /// Takes the record `key` for this process until the guard drops.
    fn lock<'a>(&'a self, key: &'a str) -> JournalFuture<'a, Box<dyn RecordLock>>;
    /// The record saved last under `key`, if any.
    fn load<'a>(&'a self, key: &'a str) -> JournalFuture<'a, Option<WorkflowRecord>>;
    /// Saves `record` (under `record.key`), atomically and durably.
    fn save<'a>(&'a self, record: &'a WorkflowRecord) -> JournalFuture<'a, ()>;
    /// Every saved key.
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
