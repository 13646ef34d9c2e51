//! The two OAuth exchanges of a service account: `POST /api/oauth/token` (client
//! credentials grant) and `POST /api/oauth/revoke`, documented at
//! <https://www.mongodb.com/docs/atlas/api/service-accounts/generate-oauth2-token/> and
//! <https://www.mongodb.com/docs/atlas/api/service-accounts/revoke-oauth2-token/>.
//!
//! Each exchange has a deadline, the body included: a server that accepts the connection
//! and never answers, or answers a byte at a time, costs at most `budget`.

use std::error::Error as _;
use std::time::Duration;

use http::StatusCode;
use http::header::{ACCEPT, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::failure::TokenFailure;
use super::flight::deadline_after;
use super::token::{Token, TokenReply};
use crate::body::{self, BodyError, MAX_ERROR_BODY};
use crate::error::{AuthCause, AuthError, Error, TransportError, refuse_redirect};

/// The largest token reply read; a real one is about a kilobyte.
const MAX_TOKEN_REPLY: usize = 64 * 1024;

/// Where and as whom a service account asks for tokens.
pub(crate) struct TokenEndpoint {
    client_id: String,
    client_secret: SecretString,
    token_url: reqwest::Url,
    revoke_url: reqwest::Url,
    user_agent: HeaderValue,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
}

impl TokenEndpoint {
    pub(crate) fn new(
        client_id: String,
        client_secret: SecretString,
        base_url: &reqwest::Url,
        user_agent: HeaderValue,
    ) -> Result<Self, Error> {
        let join = |path: &str| {
            base_url.join(path).map_err(|e| {
                Error::invalid_input("base_url", Some(base_url.as_str()), e.to_string())
            })
        };
        Ok(Self {
            client_id,
            client_secret,
            token_url: join("api/oauth/token")?,
            revoke_url: join("api/oauth/revoke")?,
            user_agent,
        })
    }

    /// The token flight this service account shares with the process's other clients of
    /// the same endpoint and credentials.
    pub(crate) fn shared_flight(&self, per_minute: u32) -> std::sync::Arc<super::TokenFlight> {
        super::shared::flight(
            self.token_url.as_str(),
            &self.client_id,
            &self.client_secret,
            per_minute,
        )
    }

    /// This service account's file in `ledger`.
    pub(crate) fn ledger_account(
        &self,
        ledger: &super::ledger::TokenLedger,
    ) -> super::ledger::Account {
        ledger.account(self.token_url.as_str(), &self.client_id)
    }

    fn post(&self, http: &reqwest::Client, url: &reqwest::Url) -> reqwest::RequestBuilder {
        http.post(url.clone())
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, self.user_agent.clone())
    }

    /// A new token, refreshed `margin` before it expires; the whole exchange within
    /// `budget` (the caller's flight enforces it too).
    pub(crate) async fn request_token(
        &self,
        http: &reqwest::Client,
        margin: Duration,
        budget: Duration,
    ) -> Result<Token, TokenFailure> {
        tracing::debug!("requesting a service account token");
        let lost = |e: reqwest::Error| no_reply("the token endpoint", &e, budget);
        let reply = self
            .post(http, &self.token_url)
            .form(&[("grant_type", "client_credentials")])
            .timeout(budget)
            .send()
            .await
            .inspect_err(|_| crate::telemetry::token_request("no_reply"))
            .map_err(lost)?;
        let reply = refuse_redirect(&self.token_url, reply, "oauth_token")
            .map_err(TokenFailure::Redirect)?;
        let status = reply.status();
        let headers = reply.headers().clone();
        crate::telemetry::token_request(if status.is_success() { "ok" } else { "refused" });
        if !status.is_success() {
            let body = body::read_capped(reply, MAX_ERROR_BODY).await;
            return Err(TokenFailure::Auth(refusal(
                "the token endpoint refused the service account",
                status,
                &headers,
                &body,
            )));
        }
        let unusable = |why: String| {
            TokenFailure::Auth(AuthError::from_status(
                format!("the token endpoint sent {why}"),
                status.as_u16(),
                None,
                &headers,
            ))
        };
        let body = match body::read_whole(reply, MAX_TOKEN_REPLY).await {
            Ok(body) => body,
            Err(BodyError::Transport(e)) => return Err(lost(e)),
            Err(BodyError::TooLarge) => {
                return Err(unusable(format!(
                    "a reply larger than {} KiB",
                    MAX_TOKEN_REPLY / 1024
                )));
            }
        };
        let reply: TokenReply = serde_json::from_slice(&body)
            .map_err(|e| unusable(format!("an unreadable reply ({:?})", e.classify())))?;
        reply.into_token(margin).map_err(|why| unusable(why.into()))
    }

    /// Revokes `token`; the whole exchange within `budget`.
    pub(crate) async fn revoke(
        &self,
        http: &reqwest::Client,
        token: &Token,
        budget: Duration,
    ) -> Result<(), Error> {
        let exchange = async {
            let reply = self
                .post(http, &self.revoke_url)
                .form(&[("token", token.value.expose_secret())])
                .timeout(budget)
                .send()
                .await
                .map_err(|e| Error::from(TransportError::new(e, None)))?;
            let reply =
                refuse_redirect(&self.revoke_url, reply, "oauth_revoke").map_err(Error::from)?;
            let status = reply.status();
            let headers = reply.headers().clone();
            let body = body::read_capped(reply, MAX_ERROR_BODY).await;
            if !status.is_success() {
                return Err(Error::from(refusal(
                    "the revoke endpoint refused the request",
                    status,
                    &headers,
                    &body,
                )));
            }
            Ok(())
        };
        tokio::time::timeout_at(deadline_after(budget), exchange)
            .await
            .unwrap_or_else(|_| {
                Err(
                    TokenFailure::timed_out("the revoke endpoint did not answer", budget)
                        .into_error(),
                )
            })
    }
}

/// No (complete) reply from `endpoint`: a timeout, or a failure described with its causes.
fn no_reply(endpoint: &str, e: &reqwest::Error, budget: Duration) -> TokenFailure {
    if e.is_timeout() {
        return TokenFailure::timed_out(&format!("{endpoint} did not answer"), budget);
    }
    let mut message = format!("{endpoint} could not be reached: {e}");
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    TokenFailure::Auth(AuthError::without_reply(
        message,
        AuthCause::Unreachable,
        None,
    ))
}

/// A refusal by the token or revoke endpoint, with the OAuth `error` code when it is a
/// plain identifier (never free text from the server).
fn refusal(what: &str, status: StatusCode, headers: &http::HeaderMap, body: &[u8]) -> AuthError {
    let code = serde_json::from_slice::<OAuthError>(body)
        .ok()
        .and_then(|e| e.error)
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    let hint = match status.as_u16() {
        429 => "; the token endpoint allows about 10 requests a minute",
        400 | 401 => "; check the client id and secret",
        _ => "",
    };
    AuthError::from_status(format!("{what}{hint}"), status.as_u16(), code, headers)
}
