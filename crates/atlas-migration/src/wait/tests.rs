//! The poller's schedule and stopping rules, on paused tokio time with scripted polls.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::error::{ApiError, Error};

/// A scripted poll reply: a state number or an HTTP error status.
#[derive(Clone, Copy, Debug)]
enum Step {
    State(u32),
    Http(u16),
}

fn api(status: u16) -> Error {
    Error::from(ApiError::from_reply(status, &http::HeaderMap::new(), b""))
}

/// State 9 is success, state 13 a failure state; everything else retries.
fn accept(v: &u32) -> Acceptance {
    match v {
        9 => Acceptance::Success,
        13 => Acceptance::Failure,
        _ => Acceptance::Retry,
    }
}

struct Run {
    result: Result<u32, WaiterError<u32>>,
    /// Virtual time of each poll since the start.
    at: Vec<Duration>,
    events: usize,
}

impl Run {
    fn gaps(&self) -> Vec<Duration> {
        self.at.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

/// Runs `poller` over `script`; once the script runs out every poll answers state 0.
async fn run(poller: Poller, script: &[Step]) -> Run {
    let start = Instant::now();
    let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
    let at = Arc::new(Mutex::new(Vec::new()));
    let mut events = 0;
    let result = poller
        .run(
            || {
                at.lock().unwrap().push(start.elapsed());
                let next = script.lock().unwrap().pop_front().unwrap_or(Step::State(0));
                async move {
                    match next {
                        Step::State(v) => Ok(v),
                        Step::Http(s) => Err(api(s)),
                    }
                }
            },
            accept,
            |_| events += 1,
        )
        .await;
    let at = at.lock().unwrap().clone();
    Run { result, at, events }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn schedule(max_wait: u64) -> Poller {
    Poller::new()
        .max_wait(secs(max_wait))
        .min_delay(secs(1))
        .max_delay(secs(8))
        .jitter(0.0)
}

#[tokio::test(start_paused = true)]
async fn backoff_doubles_up_to_max_delay_and_polls_last_at_the_deadline() {
    let r = run(schedule(40), &[]).await;
    assert_eq!(
        r.gaps(),
        [1, 2, 4, 8, 8, 8, 7].map(secs),
        "doubling from min_delay, capped at max_delay, last pause clamped to the reserve"
    );
    assert_eq!(
        *r.at.last().unwrap(),
        secs(38),
        "one last poll 2 s (a twentieth of 40 s) before the deadline"
    );
    match r.result {
        Err(WaiterError::ExceededMaxWait {
            max_wait,
            elapsed,
            poll_count,
            last,
        }) => {
            assert_eq!(max_wait, secs(40));
            assert_eq!(elapsed, secs(38));
            assert_eq!(poll_count, 8);
            assert_eq!(last, Some(0));
        }
        other => panic!("expected ExceededMaxWait, got {other:?}"),
    }
    assert_eq!(r.events, 8, "the callback sees every poll");
}

#[tokio::test(start_paused = true)]
async fn success_at_the_final_poll_counts() {
    // Polls at 0,1,3,7 then the clamped one at 9.5 (half a second, a twentieth of the wait,
    // before the deadline): the fifth reply is the success state.
    let script = [0, 0, 0, 0, 9].map(Step::State);
    let r = run(schedule(10), &script).await;
    assert_eq!(r.result.unwrap(), 9);
    assert_eq!(
        r.at,
        [0, 1, 3, 7]
            .map(secs)
            .into_iter()
            .chain([Duration::from_millis(9500)])
            .collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn jitter_only_lengthens_pauses_by_at_most_its_share() {
    for seed in 0..50 {
        let p = Poller::new()
            .max_wait(secs(3600))
            .min_delay(secs(2))
            .max_delay(secs(30))
            .jitter(0.2)
            .seed(seed);
        let r = run(p, &[]).await;
        let gaps = r.gaps();
        let n = gaps.len();
        let mut jittered = 0;
        for (i, gap) in gaps[..n - 1].iter().enumerate() {
            let base = (secs(2) * (1u32 << i.min(20))).min(secs(30));
            assert!(*gap >= base, "seed {seed}: pause {i} {gap:?} < {base:?}");
            assert!(
                *gap <= base.mul_f64(1.2),
                "seed {seed}: pause {i} {gap:?} above 120% of {base:?}"
            );
            jittered += usize::from(*gap > base);
        }
        assert!(jittered > 0, "seed {seed}: jitter never applied");
        assert_eq!(
            *r.at.last().unwrap(),
            secs(3598),
            "2 s reserve for the final poll"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn same_seed_same_schedule() {
    let p = || Poller::new().max_wait(secs(600)).seed(99);
    assert_eq!(run(p(), &[]).await.at, run(p(), &[]).await.at);
}

#[tokio::test(start_paused = true)]
async fn failure_state_stops_at_once() {
    let r = run(schedule(3600), &[Step::State(0), Step::State(13)]).await;
    match r.result {
        Err(WaiterError::FailureState { last }) => assert_eq!(last, 13),
        other => panic!("expected FailureState, got {other:?}"),
    }
    assert_eq!(
        r.at,
        [0, 1].map(secs),
        "no poll and no pause after the failure state"
    );
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_stop_at_once() {
    for status in [400, 401, 403, 404, 409] {
        let started = Instant::now();
        let r = run(schedule(3600), &[Step::Http(status)]).await;
        match &r.result {
            Err(WaiterError::OperationFailed(e)) => assert_eq!(e.status(), Some(status)),
            other => panic!("{status}: expected OperationFailed, got {other:?}"),
        }
        assert_eq!(r.at.len(), 1, "{status}: polled again");
        assert_eq!(started.elapsed(), Duration::ZERO, "{status}: slept");
    }
}

#[tokio::test(start_paused = true)]
async fn transient_errors_do_not_end_the_wait() {
    let script = [
        Step::Http(503),
        Step::Http(429),
        Step::State(0),
        Step::Http(500),
        Step::Http(502),
        Step::Http(504),
        Step::State(9),
    ];
    let r = run(schedule(3600), &script).await;
    assert_eq!(r.result.as_ref().unwrap(), &9);
    assert_eq!(r.at.len(), 7);
    assert_eq!(r.events, 7);
    // Failed polls advance the backoff like any other.
    assert_eq!(r.gaps(), [1, 2, 4, 8, 8, 8].map(secs));
}

#[tokio::test(start_paused = true)]
async fn exceeded_wait_without_any_successful_poll_has_no_last() {
    let script = [Step::Http(503); 20];
    let r = run(schedule(5), &script).await;
    match r.result {
        Err(WaiterError::ExceededMaxWait {
            poll_count, last, ..
        }) => {
            assert_eq!(poll_count, 4, "polls at 0, 1, 3 and 5");
            assert_eq!(last, None);
        }
        other => panic!("expected ExceededMaxWait, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_poll_that_never_answers_ends_at_max_wait() {
    let start = Instant::now();
    let mut polls = 0;
    let result = schedule(5)
        .run(
            || {
                polls += 1;
                std::future::pending::<Result<u32, Error>>()
            },
            accept,
            |_| {},
        )
        .await;
    assert_eq!(
        start.elapsed(),
        secs(5),
        "the deadline bounds the poll in flight"
    );
    assert_eq!(polls, 1);
    match result {
        Err(WaiterError::ExceededMaxWait {
            elapsed,
            poll_count,
            last,
            ..
        }) => {
            assert_eq!((elapsed, poll_count, last), (secs(5), 1, None));
        }
        other => panic!("expected ExceededMaxWait, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_poll_is_cut_at_the_deadline_not_after() {
    // Each poll takes 3 s: polls at 0 and 4 (3 s + 1 s pause); the second is cut at 5.
    let start = Instant::now();
    let result = schedule(5)
        .run(
            || async {
                tokio::time::sleep(secs(3)).await;
                Ok(0u32)
            },
            accept,
            |_| {},
        )
        .await;
    assert_eq!(start.elapsed(), secs(5));
    assert!(result.unwrap_err().is_timeout());
}

#[tokio::test(start_paused = true)]
async fn zero_max_wait_polls_exactly_once() {
    let r = run(schedule(0), &[]).await;
    assert_eq!(r.at, [Duration::ZERO]);
    assert!(r.result.unwrap_err().is_timeout());
}

#[test]
fn delays_are_clamped_to_sane_bounds() {
    let p = Poller::new()
        .min_delay(Duration::ZERO)
        .max_delay(Duration::ZERO)
        .jitter(f64::NAN);
    assert_eq!(p.delay(1, 0.5), Duration::from_millis(1));
    let p = Poller::new().min_delay(secs(10)).max_delay(secs(1));
    assert_eq!(p.delay(40, 0.0), secs(10), "max below min is raised to min");
    let p = Poller::new()
        .min_delay(secs(1))
        .max_delay(secs(60))
        .jitter(1.0);
    assert_eq!(
        p.delay(u32::MAX, 0.5),
        secs(90),
        "jitter adds its share on top of max_delay"
    );
    assert_eq!(
        Poller::new().jitter(7.0).delay(1, 2.0),
        secs(4),
        "jitter and draw clamped to 1: at most double"
    );
}

#[test]
fn errors_display_what_happened() {
    let e: WaiterError<u32> = WaiterError::ExceededMaxWait {
        max_wait: secs(1800),
        elapsed: secs(1800),
        poll_count: 70,
        last: Some(3),
    };
    assert_eq!(
        e.to_string(),
        "gave up waiting after 30m (max wait 30m, 70 polls); last seen: 3"
    );
    let e: WaiterError<u32> = WaiterError::FailureState { last: 13 };
    assert_eq!(e.to_string(), "reached a failure state: 13");
    let e: WaiterError<u32> = WaiterError::OperationFailed(api(404));
    assert!(e.to_string().starts_with("waiting failed: "), "{e}");
    assert!(
        e.to_string().contains("404"),
        "the operation's error is in the message: {e}"
    );
    assert!(
        std::error::Error::source(&e).is_none(),
        "and not repeated as the source (an API error has none below it)"
    );
}
