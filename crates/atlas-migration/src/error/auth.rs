//! [`AuthError`]: authentication failed.

use std::fmt;
use std::time::Duration;

use super::RetryAfter;

/// Why authentication failed, beyond what a status says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum AuthCause {
    /// A server refused the credentials or the request, or sent a reply that cannot be used.
    #[default]
    Refused,
    /// The token or revoke endpoint could not be reached, or the exchange broke off.
    Unreachable,
    /// No answer within the deadline.
    TimedOut,
    /// This client held a token request back: it backs off after a failure and sends a
    /// limited number a minute.
    HeldBack,
}

/// Authentication failed.
#[derive(Debug, Clone)]
pub(crate) struct AuthError {
    pub(super) message: String,
    pub(super) status: Option<u16>,
    pub(super) code: Option<String>,
    pub(super) retry_after: Option<RetryAfter>,
    pub(super) cause: AuthCause,
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
            cause: AuthCause::Refused,
        }
    }

    /// A failure without a reply: `cause` says whether nothing answered in time, the
    /// exchange broke off, or the request was held back (then `retry_after` says until when).
    pub(crate) fn without_reply(
        message: impl Into<String>,
        cause: AuthCause,
        retry_after: Option<Duration>,
    ) -> Self {
        Self {
            message: message.into(),
            status: None,
            code: None,
            retry_after: retry_after.and_then(RetryAfter::after),
            cause,
        }
    }

    /// This failure, repeated to a caller whose token request was held back because of it:
    /// `context` goes in front of the message; `retry_after` is the server's hint when it
    /// gave one, else `held_for`. A refusal stays one; a failure without a reply becomes a
    /// held-back request (this caller did not wait for anything).
    pub(crate) fn repeated(&self, context: &str, held_for: Duration) -> Self {
        Self {
            message: format!("{context}: {}", self.message),
            retry_after: self.retry_after.or_else(|| RetryAfter::after(held_for)),
            cause: match self.cause {
                AuthCause::Refused => AuthCause::Refused,
                _ => AuthCause::HeldBack,
            },
            ..self.clone()
        }
    }

    /// Whether waiting may help: 429, a 5xx, no reply, a deadline, or a held-back request.
    pub(crate) fn is_transient(&self) -> bool {
        self.status.is_some_and(|s| s == 429 || s >= 500) || self.cause != AuthCause::Refused
    }

    /// How long the server asked to wait before the next token request, if it did.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        self.retry_after.map(|r| r.delay)
    }

    /// The endpoint refused with a status outside 2xx: it answered, and with no token.
    pub(crate) fn refused_with_status(&self) -> bool {
        self.status.is_some_and(|s| !(200..300).contains(&s))
    }

    /// Whether authentication ran out of time: the token or revoke endpoint did not answer
    /// within the client's timeout (or, without one, 30 seconds).
    pub(crate) fn is_timeout(&self) -> bool {
        self.cause == AuthCause::TimedOut
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
