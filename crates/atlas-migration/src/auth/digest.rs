//! HTTP Digest (RFC 7616) for API keys, which Atlas requires
//! (<https://www.mongodb.com/docs/atlas/api/api-authentication/>). The steady state costs one
//! exchange per call: challenges are cached and answered preemptively.
//!
//! * A request with a body is never sent without `Authorization`: a cold call first gets a
//!   challenge with a bodiless `GET {base}/api/atlas/v2` (the read-only API root), which
//!   cannot change anything and, unlike the operation's own path, exists for `GET`.
//! * A challenge (its nonce) is answered by one request at a time ([`pool`]): Atlas does not
//!   say how it checks nonce counts, and servers that check them strictly refuse counts
//!   that arrive out of order, which concurrent requests sharing a nonce cannot avoid.
//! * Atlas's nonces are "only valid for a short amount of time", so the server may refuse a
//!   cached one. A 401 carries a fresh challenge; the request answers it once, itself. A
//!   refusal of a request that answered a fresh challenge (one never answered before) means
//!   the key was refused: an authentication error, final. With `stale=true` (RFC 7616 section 3.3:
//!   the answer was right, the nonce is not) the new challenge is answered up to
//!   [`MAX_STALE_RENEWALS`] times; past that the attempt fails as unprocessed, so the retry
//!   policy may send it again. No loop either way.
//! * The body of every 401 and of the probe's reply is read (capped, with a deadline) and
//!   dropped, so the connection that carried it can carry the next request.
//! * A transport failure forgets the challenge: whether its last count reached the server
//!   is unknown.

mod answer;
mod challenge;
mod hash;
mod pool;

use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{HeaderMap, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

pub(crate) use answer::authorization_for;
use challenge::Challenge;
pub(crate) use challenge::parse_challenge;
use pool::ChallengePool;

use super::{Failure, Recipe};
use crate::body::{self, MAX_ERROR_BODY};
use crate::error::{AuthError, BudgetError, Error, refuse_redirect};

/// How many stale-nonce challenges one attempt answers before giving up.
pub(crate) const MAX_STALE_RENEWALS: usize = 3;

/// How long a call waits for a free challenge when it has neither a timeout (or one too
/// long to add to the clock) nor a deadline.
const WAIT_WITHOUT_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest time spent reading the body of a 401 or probe reply before dropping it (and with
/// it the connection).
const DISCARD_DEADLINE: Duration = Duration::from_secs(2);

/// Pause after a discarded body. The HTTP client puts a connection back into its pool from a
/// task of its own once the reply has ended; without the pause the next request often
/// starts before that task has run and opens another connection (when the body came after
/// the headers, 1 cold client in 6 did on 2 cores; yielding to the scheduler was not
/// enough).
const POOL_RETURN_PAUSE: Duration = Duration::from_millis(1);

/// The message of a refused key.
const KEY_REFUSED: &str =
    "the API key was refused (check the public and private key and the IP access list)";

/// The message when the server declared nonce after nonce stale: the key was right.
const KEPT_REJECTING_NONCES: &str =
    "the server kept rejecting the digest nonces as stale; the request was not processed";

pub(crate) struct DigestAuth {
    username: String,
    password: SecretString,
    /// Where challenges are fetched: the read-only API root.
    probe_url: reqwest::Url,
    /// Cached challenges, each answered by one request at a time.
    challenges: ChallengePool,
}

/// What a 401 to an answered challenge means.
enum Verdict {
    /// The key was right, the nonce stale: answer the new challenge.
    Stale,
    /// A nonce answered before was refused and the server offered another: answer it once.
    Renewed,
    /// The key was refused.
    Refused,
}

impl Verdict {
    /// Judges a 401 whose `renewed` challenge replaces `answered` (its nonce), which was
    /// `fresh` (never answered before this request).
    fn of(answered: &str, fresh: bool, renewed: &Challenge) -> Self {
        if renewed.stale {
            Verdict::Stale
        } else if fresh || renewed.nonce == answered {
            Verdict::Refused
        } else {
            Verdict::Renewed
        }
    }
}

impl DigestAuth {
    /// Digest authentication keeping at most `max_challenges` challenges: as many as the
    /// client keeps requests in flight, so that no call waits for one.
    pub(crate) fn new(
        username: String,
        password: SecretString,
        probe_url: reqwest::Url,
        max_challenges: usize,
    ) -> Self {
        Self {
            username,
            password,
            probe_url,
            challenges: ChallengePool::new(max_challenges),
        }
    }

    /// Fetches a challenge with a bodiless GET of the API root.
    async fn fetch_challenge(
        &self,
        http: &reqwest::Client,
        request: &reqwest::Request,
    ) -> Result<Challenge, Failure> {
        let mut probe = reqwest::Request::new(Method::GET, self.probe_url.clone());
        *probe.timeout_mut() = request.timeout().copied();
        for name in [http::header::ACCEPT, http::header::USER_AGENT] {
            if let Some(v) = request.headers().get(&name) {
                probe.headers_mut().insert(name, v.clone());
            }
        }
        tracing::debug!("fetching a digest challenge");
        let reply = http.execute(probe).await.map_err(Failure::Transport)?;
        let reply = refuse_redirect(&self.probe_url, reply, "digest challenge probe")
            .map_err(|e| Failure::Fatal(Error::from(e)))?;
        let status = reply.status();
        let headers = reply.headers().clone();
        discard_body(reply, request.timeout().copied()).await;
        if status != StatusCode::UNAUTHORIZED {
            return Err(Failure::Fatal(Error::from(AuthError::from_status(
                "expected a digest challenge (HTTP 401) from a bodiless GET",
                status.as_u16(),
                None,
                &headers,
            ))));
        }
        parse_challenge(&headers).map_err(|why| unusable(why, &headers))
    }

    /// Sends `request` (for the operation `during`) with `Authorization`.
    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        recipe: &Recipe<'_>,
        during: &'static str,
        deadline: Option<Instant>,
    ) -> Result<reqwest::Response, Failure> {
        let timeout = recipe.timeout;
        let now = Instant::now();
        let own = timeout
            .and_then(|t| now.checked_add(t))
            .unwrap_or(now + WAIT_WITHOUT_TIMEOUT);
        let wait_until = deadline.map_or(own, |caller| caller.min(own));
        let lease = match self.challenges.try_take() {
            Some(lease) => Some(lease),
            None => Box::pin(self.challenges.take(wait_until)).await,
        };
        let Some(mut lease) = lease else {
            // Nothing was sent: as when no request slot comes free in time.
            return Err(Failure::Unprocessed(Error::from(BudgetError::new(
                during, None, wait_until,
            ))));
        };
        let mut pending = recipe.make();
        if lease.challenge().is_none() {
            // Boxed, as is every path a call rarely takes: inline, its state would enlarge
            // every call's future.
            lease.hold(Box::pin(self.fetch_challenge(http, &pending)).await?);
        }
        let url = recipe.url;
        let uri = match url.query() {
            Some(q) => format!("{}?{}", url.path(), q),
            None => url.path().to_owned(),
        };
        let mut stale_renewals = 0;
        loop {
            let challenge = lease
                .challenge()
                .ok_or_else(|| Error::auth("no digest challenge available"))?;
            let fresh = challenge.count == 0;
            let header = authorization_for(
                challenge,
                &self.username,
                self.password.expose_secret(),
                pending.method().as_str(),
                &uri,
            )?;
            pending.headers_mut().insert(AUTHORIZATION, header);
            let reply = http.execute(pending).await.map_err(Failure::Transport)?;
            if reply.status() != StatusCode::UNAUTHORIZED {
                lease.give_back();
                return Ok(reply);
            }
            let headers = reply.headers().clone();
            Box::pin(discard_body(reply, timeout)).await;
            let renewed = parse_challenge(&headers).map_err(|why| unusable(why, &headers))?;
            // The lease still holds the challenge just answered.
            let answered = lease
                .challenge()
                .map(|c| c.nonce.as_str())
                .unwrap_or_default();
            let verdict = Verdict::of(answered, fresh, &renewed);
            // The renewed challenge is fresh, whatever the verdict: keep it for the next call.
            lease.hold(renewed);
            let refusal = |message: &str| {
                Error::from(AuthError::from_status(
                    message,
                    StatusCode::UNAUTHORIZED.as_u16(),
                    None,
                    &headers,
                ))
            };
            match verdict {
                Verdict::Refused => {
                    lease.give_back();
                    return Err(Failure::Fatal(refusal(KEY_REFUSED)));
                }
                Verdict::Stale => {
                    stale_renewals += 1;
                    if stale_renewals > MAX_STALE_RENEWALS {
                        lease.give_back();
                        return Err(Failure::Unprocessed(refusal(KEPT_REJECTING_NONCES)));
                    }
                }
                Verdict::Renewed => {}
            }
            tracing::debug!(
                stale = matches!(verdict, Verdict::Stale),
                "digest challenge renewed; answering it"
            );
            pending = recipe.make();
        }
    }
}

/// The error for a 401 whose challenge cannot be used.
fn unusable(why: String, headers: &HeaderMap) -> Failure {
    Failure::Fatal(Error::from(AuthError::from_status(
        why,
        StatusCode::UNAUTHORIZED.as_u16(),
        None,
        headers,
    )))
}

/// Reads and drops what is left of `reply`'s body (at most [`MAX_ERROR_BODY`] bytes, for at
/// most [`DISCARD_DEADLINE`] or the request's `timeout` if shorter), so that its connection
/// goes back to the pool instead of being closed.
async fn discard_body(reply: reqwest::Response, timeout: Option<Duration>) {
    let limit = timeout.map_or(DISCARD_DEADLINE, |t| t.min(DISCARD_DEADLINE));
    let read = tokio::time::timeout(limit, body::read_capped(reply, MAX_ERROR_BODY)).await;
    if read.is_ok() {
        tokio::time::sleep(POOL_RETURN_PAUSE).await;
    }
}
