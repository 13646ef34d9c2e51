//! OAuth2 client credentials for service accounts: one cached bearer token shared by all
//! clones of a client, refreshed shortly before it expires, fetched by one request at a
//! time whose outcome every waiting caller shares.
//!
//! Every wait has a deadline. A token request, and each caller's wait for one, gets the
//! client's [timeout](crate::ClientBuilder::timeout), or [`DEFAULT_TOKEN_DEADLINE`] (30 s)
//! when none is set; so does [`revoke`](ServiceAccountAuth::revoke), which never waits for
//! a token request in flight. After a failed token request the next is held back (see
//! `flight.rs`), and at most [`DEFAULT_TOKEN_REQUESTS_PER_MINUTE`] go out a minute unless
//! configured otherwise: a failing token endpoint sees a trickle, not one request per call.
//!
//! Clients of one process built with the same service account share one token and one
//! flight (`shared.rs`), so a process holds one live token per service account however
//! many clients it builds; [`Client::revoke`](crate::Client::revoke) on shutdown retires it.
//!
//! The rooms: `token.rs` (what a token is, read from an untrusted reply), `endpoint.rs`
//! (the token and revoke exchanges), `flight.rs` (single flight, backoff, cap), `shared.rs`
//! (one flight per service account per process) and `failure.rs` (the failure every waiter
//! receives a copy of).

mod endpoint;
mod failure;
mod flight;
pub(crate) mod ledger;
mod shared;
mod token;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::StatusCode;
use http::header::{AUTHORIZATION, HeaderValue};
use secrecy::SecretString;
use tokio::time::Instant;

use super::{Failure, Recipe};
use crate::error::{AuthError, Error};
use endpoint::TokenEndpoint;
use flight::{TokenFlight, deadline_after};
use ledger::{AccountLedger, TokenLedger};
use token::Token;

/// Tokens are refreshed this long before they expire, unless told otherwise (and never
/// more than a quarter of their lifetime before).
pub(crate) const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The deadline of a token request, a wait for one, and a revocation, when the client has
/// no timeout.
pub(crate) const DEFAULT_TOKEN_DEADLINE: Duration = Duration::from_secs(30);

/// Token requests a client sends at most in any minute, unless configured otherwise.
pub(crate) const DEFAULT_TOKEN_REQUESTS_PER_MINUTE: u32 = 10;

/// The time allowed for token work when the client's timeout is `timeout`.
fn budget(timeout: Option<Duration>) -> Duration {
    timeout.unwrap_or(DEFAULT_TOKEN_DEADLINE)
}

pub(crate) struct ServiceAccountAuth {
    endpoint: Arc<TokenEndpoint>,
    flight: Arc<TokenFlight>,
    refresh_margin: Duration,
    /// Counts token requests with other processes, when the client has a ledger.
    ledger: Option<AccountLedger>,
}

impl ServiceAccountAuth {
    pub(crate) fn new(
        client_id: String,
        client_secret: SecretString,
        base_url: &reqwest::Url,
        user_agent: HeaderValue,
        refresh_margin: Duration,
        requests_per_minute: u32,
        ledger: Option<&TokenLedger>,
    ) -> Result<Self, Error> {
        let endpoint = TokenEndpoint::new(client_id, client_secret, base_url, user_agent)?;
        let flight = endpoint.shared_flight(requests_per_minute);
        let ledger = ledger.map(|l| {
            AccountLedger::new(l.clone(), endpoint.ledger_account(l), requests_per_minute)
        });
        Ok(Self {
            endpoint: Arc::new(endpoint),
            flight,
            refresh_margin,
            ledger,
        })
    }

    /// When the cached token expires, if one is cached.
    pub(crate) fn token_expiry(&self) -> Option<DateTime<Utc>> {
        self.flight.current().map(|t| t.expires_at)
    }

    /// A usable token within `budget` (and the caller's `deadline`, if sooner). `rejected`
    /// is a token the server just refused; it is replaced even if it looks fresh.
    async fn token(
        &self,
        http: &reqwest::Client,
        rejected: Option<&Arc<Token>>,
        budget: Duration,
        caller: Option<Instant>,
    ) -> Result<Arc<Token>, Failure> {
        let (endpoint, http, margin) = (self.endpoint.clone(), http.clone(), self.refresh_margin);
        let ledger = self.ledger.clone();
        // A waiter's own deadline (its `max_wait`), when sooner, bounds the wait too.
        let deadline = deadline_after(budget);
        let deadline = caller.map_or(deadline, |d| d.min(deadline));
        self.flight
            .get(rejected, deadline, budget, move || async move {
                let Some(ledger) = ledger else {
                    return endpoint.request_token(&http, margin, budget).await;
                };
                let entry = ledger.reserve().await?;
                let outcome = endpoint.request_token(&http, margin, budget).await;
                ledger.settle(entry, &outcome).await;
                outcome.map(|token| Token {
                    ledger_entry: Some(entry),
                    ..token
                })
            })
            .await
            .map_err(|failure| failure.into_failure())
    }

    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        recipe: &Recipe<'_>,
        deadline: Option<Instant>,
    ) -> Result<reqwest::Response, Failure> {
        let budget = budget(recipe.timeout);
        // A fetch is boxed: inline, its state would enlarge every call's future.
        let token = match self.flight.fresh() {
            Some(token) => token,
            None => Box::pin(self.token(http, None, budget, deadline)).await?,
        };
        let mut request = recipe.make();
        request
            .headers_mut()
            .insert(AUTHORIZATION, token.header.clone());
        let reply = http.execute(request).await.map_err(Failure::Transport)?;
        if reply.status() != StatusCode::UNAUTHORIZED {
            return Ok(reply);
        }
        tracing::debug!("bearer token refused; refreshing once");
        let token = Box::pin(self.token(http, Some(&token), budget, deadline)).await?;
        let mut again = recipe.make();
        again
            .headers_mut()
            .insert(AUTHORIZATION, token.header.clone());
        let reply = http.execute(again).await.map_err(Failure::Transport)?;
        if reply.status() == StatusCode::UNAUTHORIZED {
            return Err(refused(&reply));
        }
        Ok(reply)
    }

    /// Revokes the cached token (if any) and forgets it, within the client's `timeout` (or
    /// [`DEFAULT_TOKEN_DEADLINE`]). A token request in flight is not waited for: its token,
    /// if it comes, is the next one used.
    pub(crate) async fn revoke(
        &self,
        http: &reqwest::Client,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        let Some(token) = self.flight.current() else {
            return Ok(());
        };
        self.endpoint.revoke(http, &token, budget(timeout)).await?;
        self.flight.forget(&token);
        if let (Some(ledger), Some(entry)) = (&self.ledger, token.ledger_entry) {
            ledger.retire(entry).await;
        }
        Ok(())
    }
}

fn refused(reply: &reqwest::Response) -> Failure {
    Failure::Fatal(Error::from(AuthError::from_status(
        "the service account token was refused after a refresh",
        reply.status().as_u16(),
        None,
        reply.headers(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_work_without_a_client_timeout_still_has_a_deadline() {
        assert_eq!(budget(None), Duration::from_secs(30));
        assert_eq!(
            budget(Some(Duration::from_millis(300))),
            Duration::from_millis(300)
        );
    }
}
