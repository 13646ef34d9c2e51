//! [`TokenFailure`]: why no token came, in a form every caller that waited on the same token
//! request can be handed a copy of.

use std::time::Duration;

use crate::auth::Failure;
use crate::error::{AuthCause, AuthError, Error, RedirectError};

/// Why a token request failed (or was not sent). Cloneable, so that all callers waiting on
/// one request get the same answer.
#[derive(Debug, Clone)]
pub(crate) enum TokenFailure {
    /// Refused, unusable, unanswered or held back.
    Auth(AuthError),
    /// The token endpoint redirected; never followed.
    Redirect(RedirectError),
}

impl TokenFailure {
    /// No reply within `budget`.
    pub(crate) fn timed_out(what: &str, budget: Duration) -> Self {
        Self::Auth(AuthError::without_reply(
            format!("{what} within {budget:?}"),
            AuthCause::TimedOut,
            None,
        ))
    }

    /// How long the server asked to wait before the next request, if it did.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Auth(e) => e.retry_after(),
            Self::Redirect(_) => None,
        }
    }

    /// This failure, repeated to a caller held back because of it for `held_for` more.
    pub(crate) fn repeated(&self, held_for: Duration) -> Self {
        match self {
            Self::Auth(e) => Self::Auth(e.repeated(
                &format!(
                    "no token request for another {} s, the last one failed",
                    held_for.as_secs().max(1)
                ),
                held_for,
            )),
            Self::Redirect(r) => Self::Redirect(r.clone()),
        }
    }

    /// The error for the caller.
    pub(crate) fn into_error(self) -> Error {
        match self {
            Self::Auth(e) => Error::from(e),
            Self::Redirect(r) => Error::from(r),
        }
    }

    /// What the call does about it: the call itself was never sent, so a transient failure
    /// (429, 5xx, no answer, held back) is one the call's retry policy may repeat; the
    /// token layer's backoff keeps those repeats from reaching the token endpoint early.
    pub(crate) fn into_failure(self) -> Failure {
        match self {
            Self::Auth(e) if e.is_transient() => Failure::Unprocessed(Error::from(e)),
            other => Failure::Fatal(other.into_error()),
        }
    }
}
