//! [`WaiterError`]: why a wait ended without reaching the state it waited for.

use std::fmt;
use std::time::Duration;

use crate::error::Error;

/// Why a wait ended without reaching the state it waited for.
///
/// `T` is what each poll returns: [`Validation`](crate::Validation) or
/// [`LiveMigration`](crate::LiveMigration) for the waiters of this crate.
///
/// ```no_run
/// use atlas_migration::wait::WaiterError;
///
/// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
/// #              id: atlas_migration::LiveMigrationId) {
/// match client.wait_until_ready_for_cutover(&g, &id).await {
///     Ok(m) => println!("ready, lag {:?}", m.lag),
///     Err(WaiterError::FailureState { last }) => eprintln!("migration ended: {}", last.status),
///     Err(WaiterError::ExceededMaxWait { poll_count, .. }) => eprintln!("gave up after {poll_count} polls"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum WaiterError<T> {
    /// The deadline passed (after one last poll shortly before it) without reaching the state.
    ExceededMaxWait {
        /// The configured limit.
        max_wait: Duration,
        /// Time from the start of the wait to the last poll's reply.
        elapsed: Duration,
        /// Polls made, including failed ones.
        poll_count: u32,
        /// The last successful poll's reply, if any poll succeeded.
        last: Option<T>,
    },
    /// A state was reached from which the one waited for cannot follow (a validation or
    /// migration `FAILED`, a migration `EXPIRED`, ...).
    FailureState {
        /// The reply showing that state; for a validation it carries the server's
        /// `errorMessage`.
        last: T,
    },
    /// A call failed with an error that polling again would not fix (401, 403, 404, ...), or
    /// the action the waiter starts with (e.g. the cutover) failed.
    OperationFailed(Error),
}

impl<T> WaiterError<T> {
    /// The last reply seen, if any.
    ///
    /// ```
    /// use atlas_migration::wait::WaiterError;
    /// let e: WaiterError<u32> = WaiterError::FailureState { last: 7 };
    /// assert_eq!(e.last(), Some(&7));
    /// ```
    pub fn last(&self) -> Option<&T> {
        match self {
            Self::ExceededMaxWait { last, .. } => last.as_ref(),
            Self::FailureState { last } => Some(last),
            Self::OperationFailed(_) => None,
        }
    }

    /// Whether the wait ended because the deadline passed.
    ///
    /// ```
    /// use atlas_migration::wait::WaiterError;
    /// let e: WaiterError<u32> = WaiterError::FailureState { last: 7 };
    /// assert!(!e.is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::ExceededMaxWait { .. })
    }

    /// Whether the wait ended in a failure state.
    ///
    /// ```
    /// use atlas_migration::wait::WaiterError;
    /// let e: WaiterError<u32> = WaiterError::FailureState { last: 7 };
    /// assert!(e.is_failure_state());
    /// ```
    pub fn is_failure_state(&self) -> bool {
        matches!(self, Self::FailureState { .. })
    }

    /// The call error that ended the wait, if one did.
    ///
    /// ```
    /// use atlas_migration::wait::WaiterError;
    /// let e: WaiterError<u32> = WaiterError::FailureState { last: 7 };
    /// assert!(e.operation_error().is_none());
    /// ```
    pub fn operation_error(&self) -> Option<&Error> {
        match self {
            Self::OperationFailed(e) => Some(e),
            _ => None,
        }
    }

    /// Maps the reply type, keeping everything else.
    ///
    /// ```
    /// use atlas_migration::wait::WaiterError;
    /// let e: WaiterError<u32> = WaiterError::FailureState { last: 7 };
    /// assert_eq!(e.map(|n| n * 2).last(), Some(&14));
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> WaiterError<U> {
        match self {
            Self::ExceededMaxWait {
                max_wait,
                elapsed,
                poll_count,
                last,
            } => WaiterError::ExceededMaxWait {
                max_wait,
                elapsed,
                poll_count,
                last: last.map(f),
            },
            Self::FailureState { last } => WaiterError::FailureState { last: f(last) },
            Self::OperationFailed(e) => WaiterError::OperationFailed(e),
        }
    }
}

/// Durations as people read them: `45s`, `12m 5s`, `120h`.
pub(crate) fn human(d: Duration) -> String {
    let total = d.as_secs();
    if total == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let mut out = String::new();
    for (value, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if value > 0 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!("{value}{unit}"));
        }
    }
    out
}

impl<T: fmt::Display> fmt::Display for WaiterError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExceededMaxWait {
                max_wait,
                elapsed,
                poll_count,
                last,
            } => {
                write!(
                    f,
                    "gave up waiting after {} (max wait {}, {poll_count} polls)",
                    human(*elapsed),
                    human(*max_wait)
                )?;
                match last {
                    Some(last) => write!(f, "; last seen: {last}"),
                    None => write!(f, "; no poll succeeded"),
                }
            }
            Self::FailureState { last } => write!(f, "reached a failure state: {last}"),
            Self::OperationFailed(e) => write!(f, "waiting failed: {e}"),
        }
    }
}

impl<T: fmt::Display + fmt::Debug> std::error::Error for WaiterError<T> {
    /// Below the failed operation's error, whose message this one includes.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::OperationFailed(e) => e.source(),
            _ => None,
        }
    }
}
