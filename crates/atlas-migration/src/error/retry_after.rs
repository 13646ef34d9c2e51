//! `Retry-After`, read as delay-seconds or an HTTP date.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A `Retry-After` value, resolved when the response arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryAfter {
    pub(crate) delay: Duration,
    pub(crate) at: DateTime<Utc>,
}

impl RetryAfter {
    /// Parses `Retry-After` as delay-seconds or an HTTP date, relative to `now`.
    pub(crate) fn parse(value: &str, now: DateTime<Utc>) -> Option<Self> {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            let delay = Duration::from_secs(seconds.min(86_400 * 365));
            let at = now + chrono::Duration::from_std(delay).ok()?;
            return Some(Self { delay, at });
        }
        let at = DateTime::parse_from_rfc2822(value)
            .ok()?
            .with_timezone(&Utc);
        let delay = (at - now).to_std().unwrap_or(Duration::ZERO);
        Some(Self { delay, at })
    }

    /// A wait of `delay` from now (`None` if the instant is out of the calendar's range).
    pub(crate) fn after(delay: Duration) -> Option<Self> {
        let at = Utc::now().checked_add_signed(chrono::Duration::from_std(delay).ok()?)?;
        Some(Self { delay, at })
    }

    pub(crate) fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
        Self::parse(value, Utc::now())
    }
}
