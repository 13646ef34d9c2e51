//! [`Lease`]: a journal record taken by one workflow, with the fencing token that every save
//! presents.
//!
//! A lock that only says "someone holds this" is not enough once the holder can stall: a
//! process paused past its lease (a stopped VM, a partition, a GC pause of a neighbour) wakes
//! up believing it still holds the record. The store therefore numbers every take of a record
//! (the generation) and accepts a save or a renewal only under the newest number, so the
//! stale holder's first write is refused instead of overwriting its successor's record.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A record taken by one workflow: the proof, on every save, that it still holds it.
///
/// A journal grants it with [`Journal::acquire`](super::Journal::acquire) and checks it on
/// every [`save`](super::Journal::save) and [`renew`](super::Journal::renew).
///
/// ```
/// use atlas_migration::journal::Lease;
/// let lease = Lease::new("orders", 7, "db-host/4242/9f3a", atlas_migration::chrono::Utc::now());
/// assert_eq!(lease.generation, 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lease {
    /// The record's key.
    pub key: String,
    /// The fencing token: higher with every take (and takeover) of the record; a save or
    /// renewal under an older one is refused.
    pub generation: u64,
    /// Who holds it, for operators (e.g. host, process id and a random suffix).
    pub owner: String,
    /// Until when the store honours it without renewal (the store's clock).
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// A lease, as a journal implementation grants it.
    ///
    /// ```
    /// # use atlas_migration::journal::Lease;
    /// use atlas_migration::chrono::{TimeDelta, Utc};
    /// let until = Utc::now() + TimeDelta::seconds(60);
    /// let lease = Lease::new("orders", 1, "worker-3", until);
    /// ```
    pub fn new(
        key: impl Into<String>,
        generation: u64,
        owner: impl Into<String>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            key: key.into(),
            generation,
            owner: owner.into(),
            expires_at,
        }
    }

    /// Whether the lease has run out at `now` (on the store's clock).
    ///
    /// ```
    /// # use atlas_migration::journal::Lease;
    /// let now = atlas_migration::chrono::Utc::now();
    /// let lease = Lease::new("orders", 1, "worker-3", now);
    /// assert!(lease.is_expired_at(now));
    /// ```
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}

/// How long a workflow's lease lasts without renewal unless configured otherwise; it is
/// renewed every third of that.
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// `now + ttl`, saturating.
pub(crate) fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// This process's name for leases: host, process id and a random suffix (so that a process
/// that reuses a pid is told apart).
pub(crate) fn process_owner() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| {
        format!(
            "{}/{}/{:08x}",
            host_name(),
            std::process::id(),
            fastrand::u32(..)
        )
    })
}

#[cfg(unix)]
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its whole length, which is passed; the name is cut at
    // the first NUL (or at the buffer's end when the system truncated it without one).
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if ok && !name.is_empty() => name.to_owned(),
        _ => "unknown-host".to_owned(),
    }
}

#[cfg(not(unix))]
fn host_name() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "unknown-host".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_owner_names_host_and_pid_and_stays_the_same() {
        let owner = process_owner();
        assert!(
            owner.contains(&format!("/{}/", std::process::id())),
            "{owner}"
        );
        assert_eq!(owner, process_owner());
    }

    #[test]
    fn an_expiry_past_the_calendar_saturates() {
        assert_eq!(expiry(Utc::now(), Duration::MAX), DateTime::<Utc>::MAX_UTC);
    }
}
