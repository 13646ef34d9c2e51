//! Cached digest challenges, each lent to one request at a time.
//!
//! A nonce's counts must reach a strict server in order (Apache httpd with
//! `AuthDigestNcCheck On` expects exactly the next count), and a server with single-use
//! nonces (RFC 7616 section 5.5) accepts each nonce once. Requests in flight at the same
//! time reach the server in any order, so they never share a nonce: a call takes an idle
//! challenge, answers it and gives it back. With none idle it fetches a new one while fewer
//! than the cap exist (the client's requests in flight at most, so calls do not wait here);
//! past the cap it waits for one to come back, no longer than its deadline.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::Challenge;

/// Idle challenges and a count of those lent out.
pub(crate) struct ChallengePool {
    state: Mutex<State>,
    /// Signalled when a challenge comes back or a lent slot is freed.
    freed: Notify,
    cap: usize,
}

struct State {
    /// Challenges nobody is answering; the most recently used last.
    idle: Vec<Challenge>,
    /// Slots lent out, each holding a challenge in use or one being fetched.
    lent: usize,
}

/// One slot of the pool, held by one request. Dropped without [`Lease::give_back`] (an
/// error, a cancelled call), its challenge is forgotten: whether its last count reached the
/// server is unknown.
pub(crate) struct Lease<'a> {
    pool: &'a ChallengePool,
    challenge: Option<Challenge>,
    keep: bool,
}

impl ChallengePool {
    /// An empty pool keeping at most `cap` challenges (at least one).
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            state: Mutex::new(State {
                idle: Vec::new(),
                lent: 0,
            }),
            freed: Notify::new(),
            cap: cap.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot holding an idle challenge, or an empty slot for a challenge the caller fetches
    /// itself; past the cap, waits for one until `deadline` (`None` when it passes).
    pub(crate) async fn take(&self, deadline: Instant) -> Option<Lease<'_>> {
        loop {
            if let Some(lease) = self.try_take() {
                return Some(lease);
            }
            // Registered before looking again, so a challenge given back in between wakes us
            // (registering costs a lock, so the common case above goes without).
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(lease) = self.try_take() {
                return Some(lease);
            }
            tokio::time::timeout_at(deadline, freed).await.ok()?;
        }
    }

    /// A lease now, if a challenge is idle or a slot is free.
    pub(crate) fn try_take(&self) -> Option<Lease<'_>> {
        let mut state = self.lock();
        let challenge = state.idle.pop();
        if challenge.is_none() && state.lent >= self.cap {
            return None;
        }
        state.lent += 1;
        Some(Lease {
            pool: self,
            challenge,
            keep: false,
        })
    }

    /// Challenges idle and lent out.
    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        let state = self.lock();
        (state.idle.len(), state.lent)
    }
}

impl Lease<'_> {
    /// The challenge held, `None` while the caller has yet to fetch one.
    pub(crate) fn challenge(&mut self) -> Option<&mut Challenge> {
        self.challenge.as_mut()
    }

    /// Holds `challenge` instead of the one held (a fetched or renewed challenge).
    pub(crate) fn hold(&mut self, challenge: Challenge) {
        self.challenge = Some(challenge);
    }

    /// Returns the challenge to the pool for the next request.
    pub(crate) fn give_back(mut self) {
        self.keep = true;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        {
            let mut state = self.pool.lock();
            state.lent = state.lent.saturating_sub(1);
            if let Some(challenge) = self.challenge.take().filter(|_| self.keep) {
                state.idle.push(challenge);
            }
        }
        self.pool.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn challenge(nonce: &str) -> Challenge {
        let header = format!(r#"Digest realm="r", nonce="{nonce}", qop="auth""#);
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::WWW_AUTHENTICATE, header.parse().unwrap());
        super::super::parse_challenge(&headers).unwrap()
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(1)
    }

    #[tokio::test(start_paused = true)]
    async fn a_challenge_is_lent_to_one_request_at_a_time() {
        let pool = ChallengePool::new(4);
        let mut first = pool.take(soon()).await.unwrap();
        assert!(
            first.challenge().is_none(),
            "a cold pool lends an empty slot"
        );
        first.hold(challenge("n1"));
        first.give_back();
        let mut again = pool.take(soon()).await.unwrap();
        assert_eq!(again.challenge().unwrap().nonce, "n1");
        // While n1 is lent out, the next request gets a slot of its own.
        let mut other = pool.take(soon()).await.unwrap();
        assert!(other.challenge().is_none());
        assert_eq!(pool.counts(), (0, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_cap_a_request_waits_for_a_challenge_to_come_back() {
        let pool = ChallengePool::new(1);
        let mut lease = pool.take(soon()).await.unwrap();
        lease.hold(challenge("n1"));
        let waiter = pool.take(Instant::now() + Duration::from_secs(5));
        tokio::pin!(waiter);
        tokio::select! {
            _ = &mut waiter => panic!("the cap was passed"),
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        lease.give_back();
        let mut lease = waiter.await.expect("woken by the challenge coming back");
        assert_eq!(lease.challenge().unwrap().nonce, "n1");
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_for_a_challenge_ends_at_the_deadline() {
        let pool = ChallengePool::new(1);
        let _held = pool.take(soon()).await.unwrap();
        let started = Instant::now();
        assert!(pool.take(soon()).await.is_none());
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_lease_forgets_its_challenge_and_frees_its_slot() {
        let pool = ChallengePool::new(1);
        let mut lease = pool.take(soon()).await.unwrap();
        lease.hold(challenge("n1"));
        drop(lease);
        assert_eq!(pool.counts(), (0, 0));
        let mut next = pool.take(soon()).await.unwrap();
        assert!(
            next.challenge().is_none(),
            "the forgotten nonce is not reused"
        );
    }
}
