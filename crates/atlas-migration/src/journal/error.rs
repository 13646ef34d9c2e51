//! [`JournalError`]: a record that could not be locked, read or written, naming it.

use std::fmt;
use std::path::PathBuf;

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
    /// Another process (or another workflow in this one) is driving the record.
    Locked,
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
            source: None,
        }
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
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "journal record {}", self.key)?;
        if let Some(path) = &self.path {
            write!(f, " ({})", path.display())?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for JournalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
