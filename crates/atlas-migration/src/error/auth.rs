//! [`AuthError`]: authentication failed.

use std::fmt;

use super::{Error, RetryAfter};

/// Authentication failed.
///
/// ```
/// # fn check(err: atlas_migration::Error) {
/// if let atlas_migration::Error::Auth(auth) = &err {
///     eprintln!("authentication failed: {auth}");
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AuthError {
    pub(super) message: String,
    pub(super) status: Option<u16>,
    pub(super) code: Option<String>,
    pub(super) retry_after: Option<RetryAfter>,
}

impl AuthError {
    pub(crate) fn from_status(
        message: impl Into<String>,
        status: u16,
        code: Option<String>,
        headers: &http::HeaderMap,
    ) -> Self {
        Self {
            message: message.into(),
            status: Some(status),
            code,
            retry_after: RetryAfter::from_headers(headers),
        }
    }

    /// What went wrong, free of secrets.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::AuthError) { println!("{}", e.message()); }
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status of the refusal, if a response carried it.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::AuthError) { println!("{:?}", e.status()); }
    /// ```
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "authentication failed: {}", self.message)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status}")?;
            if let Some(code) = &self.code {
                write!(f, ", {code}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for AuthError {}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::Auth(e)
    }
}
