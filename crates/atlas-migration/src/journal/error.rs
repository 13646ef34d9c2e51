//! [`JournalError`]: a record that could not be taken, read or written, naming it.

use std::fmt;
use std::path::PathBuf;

use super::Lease;

/// Why a journal operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JournalErrorKind {
    /// Reading or writing failed.
    Io,
    /// The record exists but is not a readable record (truncated, not JSON, wrong shape).
    Corrupt,
    /// The record belongs to another key or to an unknown format version.
    Foreign,
    /// Another process (or another workflow in this one) holds a live lease on the record;
    /// the error names the holder and until when (see [`JournalError::holder`]).
    Locked,
    /// The caller's lease is no longer the record's current one: it expired, was released,
    /// or another holder took the record over. Nothing was written; the caller must stop
    /// driving the record.
    LeaseLost,
    /// A journal of the caller's own failed.
    Other,
}

/// A journal operation that failed; names the record (and the file, for a
/// [`DirectoryJournal`](super::DirectoryJournal)). Nothing was overwritten.
///
/// ```
/// # fn f(e: &atlas_migration::journal::JournalError) {
/// if e.kind() == atlas_migration::journal::JournalErrorKind::Locked {
///     eprintln!("another process is driving {}", e.key());
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct JournalError {
    kind: JournalErrorKind,
    key: String,
    path: Option<PathBuf>,
    message: String,
    holder: Option<Box<Lease>>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl JournalError {
    /// An error of a journal of your own (`kind` is usually [`JournalErrorKind::Other`]).
    ///
    /// ```
    /// use atlas_migration::journal::{JournalError, JournalErrorKind};
    /// let e = JournalError::new(JournalErrorKind::Other, "orders", "the database is read-only");
    /// assert_eq!(e.to_string(), "journal record orders: the database is read-only");
    /// ```
    pub fn new(kind: JournalErrorKind, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            key: key.into(),
            path: None,
            message: message.into(),
            holder: None,
            source: None,
        }
    }

    /// The same error, naming the lease that holds the record (for
    /// [`Locked`](JournalErrorKind::Locked), or the lease that replaced the caller's for
    /// [`LeaseLost`](JournalErrorKind::LeaseLost)); the message then says who holds it and
    /// until when.
    ///
    /// ```
    /// # use atlas_migration::journal::{JournalError, JournalErrorKind, Lease};
    /// let until = atlas_migration::chrono::Utc::now();
    /// let e = JournalError::new(JournalErrorKind::Locked, "orders", "another workflow holds the record")
    ///     .held_by(Lease::new("orders", 4, "worker-3", until));
    /// assert!(e.to_string().contains("worker-3"));
    /// assert_eq!(e.holder().map(|l| l.generation), Some(4));
    /// ```
    pub fn held_by(mut self, lease: Lease) -> Self {
        self.holder = Some(Box::new(lease));
        self
    }

    /// The same error, naming the file it concerns.
    ///
    /// ```
    /// # use atlas_migration::journal::{JournalError, JournalErrorKind};
    /// let e = JournalError::new(JournalErrorKind::Corrupt, "orders", "not JSON").at("/var/lib/m/orders.json");
    /// assert!(e.to_string().contains("/var/lib/m/orders.json"));
    /// ```
    pub fn at(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The same error, with its cause.
    ///
    /// ```
    /// # use atlas_migration::journal::{JournalError, JournalErrorKind};
    /// let io = std::io::Error::other("disk full");
    /// let e = JournalError::new(JournalErrorKind::Io, "orders", "cannot write").caused_by(io);
    /// assert!(std::error::Error::source(&e).is_some());
    /// ```
    pub fn caused_by(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What went wrong.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::journal::JournalError) -> atlas_migration::journal::JournalErrorKind { e.kind() }
    /// ```
    pub fn kind(&self) -> JournalErrorKind {
        self.kind
    }

    /// The record's key.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::journal::JournalError) -> &str { e.key() }
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The file concerned, if the journal keeps files.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::journal::JournalError) -> Option<&std::path::Path> { e.path() }
    /// ```
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// The lease that holds the record, when the journal said (see [`held_by`](Self::held_by)).
    ///
    /// ```
    /// # fn f(e: &atlas_migration::journal::JournalError) {
    /// if let Some(holder) = e.holder() {
    ///     eprintln!("held by {} until {}", holder.owner, holder.expires_at);
    /// }
    /// # }
    /// ```
    pub fn holder(&self) -> Option<&Lease> {
        self.holder.as_deref()
    }
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "journal record {}", self.key)?;
        if let Some(path) = &self.path {
            write!(f, " ({})", path.display())?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(holder) = &self.holder {
            write!(
                f,
                " (held by {}, generation {}, until {})",
                holder.owner, holder.generation, holder.expires_at
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for JournalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
