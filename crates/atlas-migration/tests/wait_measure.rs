//! Measurement on paused time: a migration that becomes ready after 10 virtual minutes,
//! polled with the migration waiters' schedule capped at 30 s. Prints polls used and the delay
//! between readiness and its detection, and asserts the goals (≤ 30 polls, ≤ the longest
//! pause: max delay plus the jitter added on top of it).
//!
//! Run with `cargo test -p atlas-migration --test wait_measure -- --nocapture` to see the table.

use std::time::Duration;

use atlas_migration::wait::{Acceptance, Poller};
use tokio::time::Instant;

const READY_AFTER: Duration = Duration::from_secs(600);
const MAX_DELAY: Duration = Duration::from_secs(30);
const JITTER: f64 = 0.2;

#[tokio::test(start_paused = true)]
async fn readiness_after_ten_minutes_is_detected_within_goals() {
    let mut worst_polls = 0;
    let mut worst_detection = Duration::ZERO;
    let mut total_polls = 0;
    let mut total_detection = Duration::ZERO;
    let seeds = 0..200u64;
    let runs = seeds.clone().count() as u32;
    for seed in seeds {
        let start = Instant::now();
        let mut polls = 0u32;
        let poller = Poller::new()
            .max_wait(Duration::from_secs(7 * 24 * 3600))
            .min_delay(Duration::from_secs(5))
            .max_delay(MAX_DELAY)
            .jitter(JITTER)
            .seed(seed);
        let detected_at = poller
            .run(
                || {
                    polls += 1;
                    let now = start.elapsed();
                    async move { Ok::<_, atlas_migration::Error>(now) }
                },
                |seen: &Duration| {
                    if *seen >= READY_AFTER {
                        Acceptance::Success
                    } else {
                        Acceptance::Retry
                    }
                },
                |_| {},
            )
            .await
            .unwrap();
        let detection = detected_at - READY_AFTER;
        worst_polls = worst_polls.max(polls);
        worst_detection = worst_detection.max(detection);
        total_polls += polls;
        total_detection += detection;
    }
    println!(
        "ready after {READY_AFTER:?}, min delay 5s, max delay {MAX_DELAY:?}, jitter +{:.0}%, \
         {runs} seeds: polls mean {:.1} worst {worst_polls}; detection delay mean {:?} worst \
         {worst_detection:?}",
        JITTER * 100.0,
        f64::from(total_polls) / f64::from(runs),
        total_detection / runs
    );
    assert!(worst_polls <= 30, "used {worst_polls} polls (goal ≤ 30)");
    // Jitter is added on top of a pause, so the longest pause is max delay plus its share.
    let longest_pause = MAX_DELAY.mul_f64(1.0 + JITTER);
    assert!(
        worst_detection <= longest_pause,
        "detected {worst_detection:?} after readiness (goal ≤ {longest_pause:?})"
    );
}
