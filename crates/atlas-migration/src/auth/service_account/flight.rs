//! [`TokenFlight`]: the cached token, the one token request in flight, and when the next
//! one may go out.
//!
//! Callers that need a token while a request is in flight wait for that request and get
//! its outcome, success or failure alike, instead of sending their own: a failing token
//! endpoint sees one request, not one per caller. The request runs as its own task with
//! its own deadline, so no caller's cancellation or impatience ends it for the others, and
//! no caller waits past its own deadline for it.
//!
//! After a failure the next request is held back: 1 s, doubling with each further failure
//! up to 60 s, plus up to 25 % jitter, and never sooner than the server's `Retry-After`
//! (believed up to 5 minutes). Whatever happens, at most `per_minute` requests are sent in
//! any 60 seconds. Atlas documents no request rate for the token endpoint (the figure of
//! about 10 a minute is this crate's assumption), but does limit a service account to 100
//! live tokens of an hour each, answering 403 `access_denied` beyond that ("Service
//! Account Access Token Limits" in
//! <https://www.mongodb.com/docs/mcp-server/remote-mcp/rate-limits/>): a client fetching a
//! token per call would exhaust them. A caller that finds requests held back waits if the
//! next one is allowed before its deadline, and otherwise fails at once with an error
//! saying how long the hold lasts ([`Error::retry_at`](crate::Error::retry_at)).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::failure::TokenFailure;
use super::token::Token;
use crate::backoff::backoff_delay;
use crate::error::{AuthCause, AuthError};

/// The hold after the first failure.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest hold that failures alone cause.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Jitter added on top of a hold, as a share of it.
const JITTER: f64 = 0.25;
/// The longest `Retry-After` believed.
pub(crate) const MAX_SERVER_WAIT: Duration = Duration::from_secs(300);
/// The window of the per-minute cap.
const WINDOW: Duration = Duration::from_secs(60);

/// What a token request ended with, as every waiter receives it.
pub(crate) type Outcome = Result<Arc<Token>, TokenFailure>;

/// `budget` from now; far in the future if that is past the clock's range.
pub(crate) fn deadline_after(budget: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(budget)
        .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365)))
        .unwrap_or(now)
}

/// The token state shared by all clones of a client.
pub(crate) struct TokenFlight {
    state: Mutex<State>,
    per_minute: usize,
}

#[derive(Default)]
struct State {
    cached: Option<Arc<Token>>,
    /// The request in flight, if any: its outcome arrives here.
    in_flight: Option<watch::Receiver<Option<Outcome>>>,
    /// Failures since the last success.
    failures: u32,
    /// No request before this instant.
    held_until: Option<Instant>,
    last_failure: Option<TokenFailure>,
    /// When the requests of the last minute were sent, oldest first.
    sent: VecDeque<Instant>,
}

/// What a caller does next.
enum Ready {
    /// Use this token.
    Cached(Arc<Token>),
    /// Wait for the request in flight.
    Join(watch::Receiver<Option<Outcome>>),
    /// Send the request; every waiter learns its outcome through the sender.
    Launch(
        watch::Sender<Option<Outcome>>,
        watch::Receiver<Option<Outcome>>,
    ),
}

/// Why no request may be sent yet, and until when.
enum Held {
    Backoff(Instant),
    Cap(Instant),
}

impl TokenFlight {
    /// No token yet; at most `per_minute` token requests a minute (at least 1).
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            state: Mutex::default(),
            per_minute: usize::try_from(per_minute.max(1)).unwrap_or(usize::MAX),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached token, fresh or not.
    pub(crate) fn current(&self) -> Option<Arc<Token>> {
        self.state().cached.clone()
    }

    /// The cached token if it is fresh: the common case, taken without a wait.
    pub(crate) fn fresh(&self) -> Option<Arc<Token>> {
        usable(&self.state(), None)
    }

    /// Forgets `token` (revoked), unless another has replaced it meanwhile.
    pub(crate) fn forget(&self, token: &Arc<Token>) {
        let mut state = self.state();
        if state.cached.as_ref().is_some_and(|t| Arc::ptr_eq(t, token)) {
            state.cached = None;
        }
    }

    /// A fresh token other than `rejected`: the cached one, the outcome of the request in
    /// flight, or of a new request made with `fetch`, which runs with `budget` as its
    /// deadline. Never waits past `deadline`.
    pub(crate) async fn get<F, Fut>(
        self: &Arc<Self>,
        rejected: Option<&Arc<Token>>,
        deadline: Instant,
        budget: Duration,
        fetch: F,
    ) -> Outcome
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token, TokenFailure>> + Send + 'static,
    {
        let ready = loop {
            match self.next_step(rejected) {
                Ok(ready) => break ready,
                Err(held) => {
                    let until = match held {
                        Held::Backoff(until) | Held::Cap(until) => until,
                    };
                    if until > deadline {
                        tracing::debug!("token request held back past the caller's deadline");
                        return Err(self.held_error(&held));
                    }
                    tokio::time::sleep_until(until).await;
                }
            }
        };
        let outcome = match ready {
            Ready::Cached(token) => return Ok(token),
            Ready::Join(outcome) => outcome,
            Ready::Launch(report, outcome) => {
                self.launch(report, budget, fetch());
                outcome
            }
        };
        self.wait(outcome, deadline, budget).await
    }

    fn next_step(&self, rejected: Option<&Arc<Token>>) -> Result<Ready, Held> {
        let mut state = self.state();
        if let Some(token) = usable(&state, rejected) {
            return Ok(Ready::Cached(token));
        }
        if let Some(outcome) = &state.in_flight {
            // A closed channel is a request whose task died with its runtime: start anew.
            if outcome.has_changed().is_ok() {
                return Ok(Ready::Join(outcome.clone()));
            }
            state.in_flight = None;
        }
        let now = Instant::now();
        if let Some(until) = state.held_until.filter(|u| *u > now) {
            return Err(Held::Backoff(until));
        }
        while state
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            state.sent.pop_front();
        }
        if state.sent.len() >= self.per_minute {
            let oldest = state.sent.front().copied().unwrap_or(now);
            return Err(Held::Cap(oldest.checked_add(WINDOW).unwrap_or(now)));
        }
        state.sent.push_back(now);
        let (report, outcome) = watch::channel(None);
        state.in_flight = Some(outcome.clone());
        Ok(Ready::Launch(report, outcome))
    }

    /// Runs `request` as its own task, so that it ends only at its own deadline.
    fn launch(
        self: &Arc<Self>,
        report: watch::Sender<Option<Outcome>>,
        budget: Duration,
        request: impl Future<Output = Result<Token, TokenFailure>> + Send + 'static,
    ) {
        let this = Arc::clone(self);
        crate::tasks::spawn(async move {
            let outcome = tokio::time::timeout_at(deadline_after(budget), request)
                .await
                .unwrap_or_else(|_| {
                    Err(TokenFailure::timed_out(
                        "the token endpoint did not answer",
                        budget,
                    ))
                });
            let outcome = this.settle(outcome);
            // Nobody may be waiting any more; the outcome is recorded either way.
            let _ = report.send(Some(outcome));
        });
    }

    /// Records the outcome of the request in flight and ends it.
    fn settle(&self, outcome: Result<Token, TokenFailure>) -> Outcome {
        let mut state = self.state();
        state.in_flight = None;
        match outcome {
            Ok(token) => {
                let token = Arc::new(token);
                state.cached = Some(token.clone());
                state.failures = 0;
                state.held_until = None;
                state.last_failure = None;
                tracing::debug!(expires_at = %token.expires_at, "service account token received");
                Ok(token)
            }
            Err(failure) => {
                state.failures = state.failures.saturating_add(1);
                let backoff = backoff_delay(
                    FIRST_BACKOFF,
                    MAX_BACKOFF,
                    state.failures,
                    JITTER,
                    fastrand::f64(),
                );
                let floor = failure
                    .retry_after()
                    .unwrap_or_default()
                    .min(MAX_SERVER_WAIT);
                let hold = backoff.max(floor);
                state.held_until = Some(deadline_after(hold));
                state.last_failure = Some(failure.clone());
                tracing::debug!(
                    failures = state.failures,
                    hold_ms = u64::try_from(hold.as_millis()).unwrap_or(u64::MAX),
                    "token request failed; the next one is held back"
                );
                Err(failure)
            }
        }
    }

    /// The outcome of the request in flight, or a timeout at `deadline`.
    async fn wait(
        &self,
        mut outcome: watch::Receiver<Option<Outcome>>,
        deadline: Instant,
        budget: Duration,
    ) -> Outcome {
        let arrived = tokio::time::timeout_at(deadline, outcome.wait_for(Option::is_some))
            .await
            .map(|value| value.map(|v| v.clone()));
        match arrived {
            Ok(Ok(value)) => value.unwrap_or_else(|| Err(abandoned())),
            Ok(Err(_)) => {
                // The request's task ended without reporting (the runtime is shutting
                // down): forget it, so the next caller sends a new one.
                let mut state = self.state();
                if state
                    .in_flight
                    .as_ref()
                    .is_some_and(|f| f.same_channel(&outcome))
                {
                    state.in_flight = None;
                }
                Err(abandoned())
            }
            Err(_) => Err(TokenFailure::timed_out(
                "no service account token: the token endpoint did not answer",
                budget,
            )),
        }
    }

    fn held_error(&self, held: &Held) -> TokenFailure {
        let now = Instant::now();
        match held {
            Held::Backoff(until) => {
                let left = until.saturating_duration_since(now);
                match &self.state().last_failure {
                    Some(failure) => failure.repeated(left),
                    None => TokenFailure::Auth(AuthError::without_reply(
                        format!("no token request for another {} s", left.as_secs().max(1)),
                        AuthCause::HeldBack,
                        Some(left),
                    )),
                }
            }
            Held::Cap(until) => {
                let left = until.saturating_duration_since(now);
                TokenFailure::Auth(AuthError::without_reply(
                    format!(
                        "this client sends at most {} token requests a minute \
                         (ClientBuilder::max_token_requests_per_minute); the next may go in {} s",
                        self.per_minute,
                        left.as_secs().max(1)
                    ),
                    AuthCause::HeldBack,
                    Some(left),
                ))
            }
        }
    }
}

fn abandoned() -> TokenFailure {
    TokenFailure::Auth(AuthError::without_reply(
        "the token request was abandoned",
        AuthCause::Unreachable,
        None,
    ))
}

/// The cached token, if it is fresh and not `rejected` (one the server just refused).
fn usable(state: &State, rejected: Option<&Arc<Token>>) -> Option<Arc<Token>> {
    state
        .cached
        .as_ref()
        .filter(|t| t.is_fresh() && rejected.is_none_or(|r| !Arc::ptr_eq(r, t)))
        .cloned()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::future::join_all;

    use super::*;
    use crate::error::Error;

    const BUDGET: Duration = Duration::from_secs(10);

    fn token(lifetime: Duration) -> Result<Token, TokenFailure> {
        Ok(Token::new("tok".into(), lifetime, Duration::ZERO).unwrap())
    }

    fn refused(status: u16, retry_after: Option<&str>) -> TokenFailure {
        let mut headers = http::HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(http::header::RETRY_AFTER, value.parse().unwrap());
        }
        TokenFailure::Auth(AuthError::from_status("refused", status, None, &headers))
    }

    /// A flight whose requests are counted in the returned counter.
    fn counted() -> (Arc<TokenFlight>, Arc<AtomicUsize>) {
        (Arc::new(TokenFlight::new(10)), Arc::default())
    }

    async fn get_with(
        flight: &Arc<TokenFlight>,
        sent: &Arc<AtomicUsize>,
        deadline: Duration,
        answer: impl Future<Output = Result<Token, TokenFailure>> + Send + 'static,
    ) -> Outcome {
        let sent = sent.clone();
        flight
            .get(None, deadline_after(deadline), BUDGET, move || {
                sent.fetch_add(1, Ordering::SeqCst);
                answer
            })
            .await
    }

    fn error(outcome: Outcome) -> Error {
        match outcome {
            Ok(_) => panic!("a token"),
            Err(failure) => failure.into_error(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_share_one_request_and_its_failure() {
        let (flight, sent) = counted();
        let calls = (0..200).map(|_| {
            get_with(&flight, &sent, BUDGET, async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err(refused(503, None))
            })
        });
        let outcomes = join_all(calls).await;
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        for outcome in outcomes {
            assert_eq!(error(outcome).status(), Some(503));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_request_releases_each_waiter_at_its_own_deadline() {
        let (flight, sent) = counted();
        let started = Instant::now();
        let waits = [100, 300, 5_000, 20_000].map(Duration::from_millis);
        let calls = waits.map(|deadline| {
            let (flight, sent) = (flight.clone(), sent.clone());
            tokio::spawn(async move {
                let outcome = get_with(&flight, &sent, deadline, std::future::pending()).await;
                (error(outcome), started.elapsed())
            })
        });
        for (call, deadline) in join_all(calls).await.into_iter().zip(waits) {
            let (error, took) = call.unwrap();
            assert!(error.is_timeout(), "{error}");
            // The request itself ends at its budget (10 s): nobody waits longer.
            assert_eq!(took, deadline.min(BUDGET), "{error}");
        }
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        assert!(flight.state().in_flight.is_none());
        // The next caller is held back: transient, but it did not time out itself.
        let held = error(get_with(&flight, &sent, Duration::ZERO, std::future::pending()).await);
        assert!(held.is_transient() && !held.is_timeout(), "{held}");
        assert!(held.to_string().contains("did not answer"), "{held}");
    }

    #[tokio::test(start_paused = true)]
    async fn failures_hold_the_next_request_back_exponentially() {
        let (flight, sent) = counted();
        let _ = get_with(&flight, &sent, BUDGET, async { Err(refused(500, None)) }).await;
        // Held 1 to 1.25 s: a caller with 500 ms left fails at once, saying so.
        let started = Instant::now();
        let early = error(
            get_with(&flight, &sent, Duration::from_millis(500), async {
                token(BUDGET)
            })
            .await,
        );
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        assert!(
            early.is_transient() && early.status() == Some(500),
            "{early}"
        );
        let hold = early.retry_after().unwrap();
        assert!(hold > Duration::from_millis(999) && hold <= Duration::from_millis(1250));
        assert!(early.to_string().contains("the last one failed"), "{early}");
        // A caller with time to spare waits for the hold, then sends; it fails again, and
        // the next hold is about twice as long.
        let _ = get_with(&flight, &sent, BUDGET, async { Err(refused(503, None)) }).await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(1) && waited <= Duration::from_millis(1250));
        assert_eq!(sent.load(Ordering::SeqCst), 2);
        let second = error(get_with(&flight, &sent, Duration::ZERO, async { token(BUDGET) }).await);
        let hold = second.retry_after().unwrap();
        assert!(hold >= Duration::from_secs(2) && hold <= Duration::from_millis(2500));
        // A success ends the backoff.
        tokio::time::sleep(hold).await;
        assert!(
            get_with(&flight, &sent, BUDGET, async { token(BUDGET) })
                .await
                .is_ok()
        );
        assert!(flight.state().held_until.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_a_floor_on_the_hold_but_capped() {
        for (hint, hold) in [("30", 30), ("86400", 300)] {
            let (flight, sent) = counted();
            let _ = get_with(&flight, &sent, BUDGET, async move {
                Err(refused(429, Some(hint)))
            })
            .await;
            let held_until = flight.state().held_until.unwrap();
            assert_eq!(
                held_until - Instant::now(),
                Duration::from_secs(hold),
                "{hint}"
            );
            let error = error(get_with(&flight, &sent, BUDGET, async { token(BUDGET) }).await);
            assert!(error.is_rate_limited(), "{error}");
            assert_eq!(sent.load(Ordering::SeqCst), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_the_cap_of_requests_go_out_a_minute() {
        let flight = Arc::new(TokenFlight::new(3));
        let sent = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        for _ in 0..3 {
            // A token that is stale at once: every call wants a new one.
            get_with(&flight, &sent, BUDGET, async { token(Duration::ZERO) })
                .await
                .unwrap();
        }
        let error = error(get_with(&flight, &sent, BUDGET, async { token(Duration::ZERO) }).await);
        assert!(
            error.is_transient() && error.retry_at().is_some(),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains("at most 3 token requests a minute"),
            "{error}"
        );
        assert_eq!(sent.load(Ordering::SeqCst), 3);
        get_with(&flight, &sent, Duration::from_secs(90), async {
            token(Duration::ZERO)
        })
        .await
        .unwrap();
        assert_eq!(started.elapsed(), WINDOW);
        assert_eq!(sent.load(Ordering::SeqCst), 4);
        assert_eq!(TokenFlight::new(0).per_minute, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rejected_token_is_replaced_and_a_fresh_one_reused() {
        let (flight, sent) = counted();
        let first = get_with(&flight, &sent, BUDGET, async { token(BUDGET) })
            .await
            .unwrap();
        let again = get_with(&flight, &sent, BUDGET, async { token(BUDGET) })
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let sent_before = sent.load(Ordering::SeqCst);
        let replaced = flight
            .get(Some(&first), deadline_after(BUDGET), BUDGET, || async {
                token(BUDGET)
            })
            .await
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &replaced));
        assert_eq!(sent_before, 1);
        flight.forget(&first);
        assert!(flight.current().is_some(), "only the forgotten token goes");
        flight.forget(&replaced);
        assert!(flight.current().is_none());
    }

    #[test]
    fn a_request_whose_runtime_died_is_not_waited_for() {
        let (flight, sent) = counted();
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap()
        };
        let first = runtime();
        let gave_up = first.block_on(get_with(
            &flight,
            &sent,
            Duration::from_millis(10),
            std::future::pending(),
        ));
        assert!(error(gave_up).is_timeout());
        drop(first);
        let token = runtime().block_on(get_with(&flight, &sent, BUDGET, async { token(BUDGET) }));
        assert!(token.is_ok());
        assert_eq!(sent.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn deadlines_saturate() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            assert!(deadline_after(Duration::MAX) > Instant::now());
        });
    }
}
