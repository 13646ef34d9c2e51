//! The default schedules, all in one place, and the one formula that turns a schedule into a
//! pause between polls.

use std::time::Duration;

use crate::wait::Poller;

/// Default longest wait for a validation: 30 minutes. Atlas checks connectivity, versions and
/// sizes; this takes seconds to minutes.
///
/// ```
/// assert_eq!(atlas_migration::wait::DEFAULT_VALIDATION_MAX_WAIT.as_secs(), 30 * 60);
/// ```
pub const DEFAULT_VALIDATION_MAX_WAIT: Duration = Duration::from_secs(30 * 60);

/// Default longest wait for readiness: 7 days. The initial sync of a large deployment can take
/// days; Atlas's own limit on a migration comes after readiness (the 120-hour cutover window).
///
/// ```
/// assert_eq!(atlas_migration::wait::DEFAULT_READY_MAX_WAIT.as_secs(), 7 * 24 * 3600);
/// ```
pub const DEFAULT_READY_MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Default longest wait for completion: 12 days, covering a long initial sync (7 days) plus the
/// whole 120-hour cutover window, so that waiting for completion before anyone has cut over
/// still ends only after Atlas would have expired the migration.
///
/// ```
/// assert_eq!(atlas_migration::wait::DEFAULT_COMPLETE_MAX_WAIT.as_secs(), 12 * 24 * 3600);
/// ```
pub const DEFAULT_COMPLETE_MAX_WAIT: Duration = Duration::from_secs(12 * 24 * 3600);

/// Default pause between the polls of a [`MigrationWatch`](crate::wait::MigrationWatch).
///
/// ```
/// assert_eq!(atlas_migration::wait::DEFAULT_WATCH_INTERVAL.as_secs(), 30);
/// ```
pub const DEFAULT_WATCH_INTERVAL: Duration = Duration::from_secs(30);

/// How long a wait lasts at most and how its pauses grow; [`Poller`] is its public,
/// configurable form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Schedule {
    pub(crate) max_wait: Duration,
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    /// The largest share (0.0 to 1.0) jitter may add to a pause.
    pub(crate) jitter: f64,
}

/// Spreads waiters that started together, so that they do not poll in lockstep.
const JITTER: f64 = 0.2;

/// [`Poller::new`]: a general-purpose half hour, pauses from 2 s to 30 s.
pub(crate) const GENERAL: Schedule = Schedule {
    max_wait: Duration::from_secs(30 * 60),
    min_delay: Duration::from_secs(2),
    max_delay: Duration::from_secs(30),
    jitter: JITTER,
};

/// Validation polls pause 2 s at first, at most 15 s: it is short and someone usually waits.
pub(crate) const VALIDATION: Schedule = Schedule {
    max_wait: DEFAULT_VALIDATION_MAX_WAIT,
    min_delay: Duration::from_secs(2),
    max_delay: Duration::from_secs(15),
    jitter: JITTER,
};

/// Migration polls pause 5 s at first, at most 60 s: a state that lasts hours is detected
/// within about a minute, at about one request a minute.
const MIGRATION_MIN_DELAY: Duration = Duration::from_secs(5);
const MIGRATION_MAX_DELAY: Duration = Duration::from_secs(60);

/// Waiting until a migration is ready for cutover.
pub(crate) const READY: Schedule = Schedule {
    max_wait: DEFAULT_READY_MAX_WAIT,
    min_delay: MIGRATION_MIN_DELAY,
    max_delay: MIGRATION_MAX_DELAY,
    jitter: JITTER,
};

/// Waiting until a migration is complete.
pub(crate) const COMPLETE: Schedule = Schedule {
    max_wait: DEFAULT_COMPLETE_MAX_WAIT,
    min_delay: MIGRATION_MIN_DELAY,
    max_delay: MIGRATION_MAX_DELAY,
    jitter: JITTER,
};

/// A watch polls at a steady interval, without jitter (a display refreshes evenly), for as
/// long as a migration can last.
pub(crate) const WATCH: Schedule = Schedule {
    max_wait: DEFAULT_COMPLETE_MAX_WAIT,
    min_delay: DEFAULT_WATCH_INTERVAL,
    max_delay: DEFAULT_WATCH_INTERVAL,
    jitter: 0.0,
};

impl Schedule {
    /// This schedule as a configurable [`Poller`].
    pub(crate) fn poller(self) -> Poller {
        Poller::from_schedule(self)
    }
}

pub(crate) use crate::backoff::{backoff_delay, unit};

/// How long before the deadline the final poll starts, so that it has time to answer: a
/// twentieth of the wait, at most 2 s. No poll runs past the deadline.
pub(crate) fn final_poll_reserve(max_wait: Duration) -> Duration {
    (max_wait / 20).min(Duration::from_secs(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::FLOOR;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn base_doubles_from_min_up_to_max() {
        let d: Vec<_> = (1..=6)
            .map(|n| backoff_delay(secs(1), secs(8), n, 0.2, 0.0))
            .collect();
        assert_eq!(d, [1, 2, 4, 8, 8, 8].map(secs));
    }

    #[test]
    fn jitter_is_added_on_top_of_the_base() {
        assert_eq!(
            backoff_delay(secs(10), secs(10), 1, 0.2, 0.5),
            Duration::from_millis(11_000)
        );
        assert_eq!(
            backoff_delay(secs(10), secs(10), 1, 0.2, 1.0),
            secs(12),
            "never more than the jitter share on top"
        );
        for draw in [0.0, 0.3, 0.999] {
            assert!(backoff_delay(secs(10), secs(10), 1, 0.2, draw) >= secs(10));
        }
    }

    #[test]
    fn hostile_inputs_neither_panic_nor_overflow() {
        for jitter in [f64::NAN, f64::INFINITY, -1.0, 7.0] {
            for draw in [f64::NAN, f64::NEG_INFINITY, -0.5, 2.0] {
                let d = backoff_delay(Duration::MAX, Duration::MAX, u32::MAX, jitter, draw);
                assert_eq!(d, Duration::MAX);
                let d = backoff_delay(Duration::ZERO, Duration::ZERO, 0, jitter, draw);
                assert!(d >= FLOOR && d <= FLOOR * 2, "{d:?}");
            }
        }
    }
}
