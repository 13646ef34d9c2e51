//! The simulator's own clock. Lifecycle state, nonce and token expiry are all derived from
//! it, so a manual clock makes every time-dependent behaviour deterministic.

use std::time::{Duration, Instant};

/// Simulated time since the simulator started.
#[derive(Debug)]
pub(crate) struct Clock {
    started: Instant,
    manual: bool,
    offset: Duration,
}

impl Clock {
    /// A clock that follows real time (plus any manual advances) or, when `manual`, only
    /// moves through [`Clock::advance`].
    pub(crate) fn new(manual: bool) -> Self {
        Self {
            started: Instant::now(),
            manual,
            offset: Duration::ZERO,
        }
    }

    pub(crate) fn now(&self) -> Duration {
        if self.manual {
            self.offset
        } else {
            self.started.elapsed() + self.offset
        }
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        self.offset += by;
    }

    pub(crate) fn is_manual(&self) -> bool {
        self.manual
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let mut c = Clock::new(true);
        assert_eq!(c.now(), Duration::ZERO);
        c.advance(Duration::from_secs(3));
        assert_eq!(c.now(), Duration::from_secs(3));
    }
}
