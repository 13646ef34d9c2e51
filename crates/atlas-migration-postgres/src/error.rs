//! [`Error`]: one opaque error for the crate's own operations (connecting, migrating the
//! schema, fleet claims), with predicates instead of a public enum. The journal's methods
//! return the core's [`JournalError`] instead, with the same cases mapped to its kinds.
//!
//! No error, `Debug` or `Display` ever holds the connection's password: messages name the
//! server as `user@host:port/dbname` only, and a connection string that cannot be parsed
//! is not repeated.

use std::fmt;

use atlas_migration::journal::{JournalError, JournalErrorKind};

/// What kind of failure an [`Error`] is; private, asked through the predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The connection configuration is not usable.
    Config,
    /// The server could not be reached, the connection broke, or an operation timed out:
    /// worth trying again.
    Connection,
    /// The schema could not be created or migrated.
    Schema,
    /// A fleet claim is no longer this replica's (expired and taken over, or released).
    ClaimLost,
    /// What a replica says about a fleet disagrees with what the database holds.
    Mismatch,
    /// A stored value cannot be read.
    Corrupt,
    /// The server refused a statement for another reason.
    Database,
}

/// A failed operation on the database: connecting, migrating the schema, or a fleet
/// claim.
///
/// ```
/// # fn f(e: &atlas_migration_postgres::Error) {
/// if e.is_connection() {
///     eprintln!("the database is unreachable; try again later: {e}");
/// } else if e.is_claim_lost() {
///     eprintln!("another replica took this member over");
/// }
/// # }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                source: None,
            }),
        }
    }

    pub(crate) fn caused_by(mut self, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(e));
        self
    }

    pub(crate) fn kind(&self) -> Kind {
        self.inner.kind
    }

    /// A statement or connection failure, classified: the connection's own failures and the
    /// server's shutdown and connection classes are [`is_connection`](Self::is_connection).
    pub(crate) fn postgres(what: impl fmt::Display, e: tokio_postgres::Error) -> Self {
        let kind = if is_transient(&e) {
            Kind::Connection
        } else {
            Kind::Database
        };
        Self::new(kind, what.to_string()).caused_by(e)
    }

    /// The same error, its message prefixed with what was being done.
    pub(crate) fn context(mut self, what: impl fmt::Display) -> Self {
        self.inner.message = format!("{what}: {}", self.inner.message);
        self
    }

    /// Whether the server could not be reached, a connection broke or an operation timed
    /// out: trying again later may succeed.
    ///
    /// ```
    /// # fn f(e: &atlas_migration_postgres::Error) -> bool { e.is_connection() }
    /// ```
    pub fn is_connection(&self) -> bool {
        self.kind() == Kind::Connection
    }

    /// Whether a fleet claim was lost: it expired and another replica took the member, or
    /// it was released.
    ///
    /// ```
    /// # fn f(e: &atlas_migration_postgres::Error) -> bool { e.is_claim_lost() }
    /// ```
    pub fn is_claim_lost(&self) -> bool {
        self.kind() == Kind::ClaimLost
    }

    /// Whether the connection configuration is not usable (a malformed URL, no host).
    ///
    /// ```
    /// # fn f(e: &atlas_migration_postgres::Error) -> bool { e.is_config() }
    /// ```
    pub fn is_config(&self) -> bool {
        self.kind() == Kind::Config
    }

    /// Whether the crate's tables could not be created or migrated.
    ///
    /// ```
    /// # fn f(e: &atlas_migration_postgres::Error) -> bool { e.is_schema() }
    /// ```
    pub fn is_schema(&self) -> bool {
        self.kind() == Kind::Schema
    }

    /// Whether a replica's fleet disagrees with the one the database holds (a member with
    /// other exclusive resources, under the same label).
    ///
    /// ```
    /// # fn f(e: &atlas_migration_postgres::Error) -> bool { e.is_mismatch() }
    /// ```
    pub fn is_mismatch(&self) -> bool {
        self.kind() == Kind::Mismatch
    }

    /// The same failure as a journal error about record `key`.
    pub(crate) fn into_journal(self, key: &str) -> JournalError {
        let kind = match self.kind() {
            Kind::Connection => JournalErrorKind::Io,
            Kind::Corrupt => JournalErrorKind::Corrupt,
            _ => JournalErrorKind::Other,
        };
        let Inner {
            message, source, ..
        } = *self.inner;
        let e = JournalError::new(kind, key, message);
        match source {
            Some(source) => e.caused_by(BoxedSource(source)),
            None => e,
        }
    }
}

/// Whether a statement's failure is the connection's (worth a new connection and another
/// try) rather than the statement's.
fn is_transient(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        // No SQLSTATE: the client's side failed (I/O, closed, timed out, connect).
        None => true,
        Some(code) => {
            let code = code.code();
            // 08: connection exception; 57P01-03: admin or crash shutdown, cannot connect
            // now; 53300: too many connections; 40001/40P01: serialization failure and
            // deadlock, which a retry resolves.
            code.starts_with("08")
                || matches!(
                    code,
                    "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
                )
        }
    }
}

/// A boxed error handed to a `caused_by` that wants a sized one.
struct BoxedSource(Box<dyn std::error::Error + Send + Sync>);

impl fmt::Debug for BoxedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for BoxedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for BoxedSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_kinds_follow_the_failure() {
        let cases = [
            (Kind::Connection, JournalErrorKind::Io),
            (Kind::Corrupt, JournalErrorKind::Corrupt),
            (Kind::Database, JournalErrorKind::Other),
        ];
        for (kind, expected) in cases {
            let e = Error::new(kind, "x").into_journal("orders");
            assert_eq!(e.kind(), expected);
            assert_eq!(e.key(), "orders");
        }
    }

    #[test]
    fn display_does_not_repeat_the_source() {
        let e = Error::new(Kind::Connection, "cannot reach db")
            .caused_by(std::io::Error::other("refused"));
        assert_eq!(e.to_string(), "cannot reach db");
        assert!(std::error::Error::source(&e).is_some());
    }
}
