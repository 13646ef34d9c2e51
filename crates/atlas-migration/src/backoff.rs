//! The one backoff formula of the crate, used by the retry policy between attempts and by
//! the polling schedule between polls: exponential, capped, with jitter added on top.

use std::time::Duration;

/// The shortest pause, so that a zero `min_delay` cannot turn a wait into a busy loop.
pub(crate) const FLOOR: Duration = Duration::from_millis(1);

/// The pause after attempt (or poll) number `attempt` (from 1): exponential backoff with jitter **added**.
///
/// `base = min(max_delay, min_delay × 2^(attempt−1))`, then `base × (1 + jitter × draw)`, where
/// `draw` is a random number in `[0, 1]` (0 adds nothing). Jitter only ever lengthens a pause,
/// for the retry backoff and the polling schedule alike, so no pause is shorter than its base and
/// none is longer than `max_delay × (1 + jitter)`. `min_delay` is raised to 1 ms and
/// `max_delay` to `min_delay`; out-of-range or non-finite `jitter` and `draw` are clamped to
/// `[0, 1]` (non-finite as 0). All arithmetic saturates.
pub(crate) fn backoff_delay(
    min_delay: Duration,
    max_delay: Duration,
    attempt: u32,
    jitter: f64,
    draw: f64,
) -> Duration {
    let min = min_delay.max(FLOOR);
    let max = max_delay.max(min);
    let doublings = attempt.saturating_sub(1).min(31);
    let base = min.saturating_mul(1u32 << doublings).min(max);
    let share = unit(jitter) * unit(draw);
    // `share` is at most 1, so the extra is at most `base`; the fallback only guards rounding.
    let extra = Duration::try_from_secs_f64(base.as_secs_f64() * share).unwrap_or(base);
    base.saturating_add(extra)
}

/// `x` clamped to `[0, 1]`; anything not finite counts as 0.
pub(crate) fn unit(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}
