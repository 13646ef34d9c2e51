//! OAuth2 client credentials for service accounts: one cached bearer token shared by all
//! clones of a client, refreshed shortly before it expires, fetched by one caller at a time
//! (the token endpoint allows only a few requests a minute).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::StatusCode;
use http::header::{ACCEPT, AUTHORIZATION, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::time::Instant;

use super::Failure;
use crate::error::{AuthError, Error, refuse_redirect};

/// Tokens are refreshed this long before they expire, unless told otherwise.
pub(crate) const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

struct Token {
    value: SecretString,
    expires_at: DateTime<Utc>,
    refresh_at: Instant,
}

pub(crate) struct ServiceAccountAuth {
    client_id: String,
    client_secret: SecretString,
    token_url: reqwest::Url,
    revoke_url: reqwest::Url,
    user_agent: HeaderValue,
    refresh_margin: Duration,
    cached: RwLock<Option<Arc<Token>>>,
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
}

impl ServiceAccountAuth {
    pub(crate) fn new(
        client_id: String,
        client_secret: SecretString,
        base_url: &reqwest::Url,
        user_agent: HeaderValue,
        refresh_margin: Duration,
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
            refresh_margin,
            cached: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    fn current(&self) -> Option<Arc<Token>> {
        self.cached
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn fresh(&self) -> Option<Arc<Token>> {
        self.current().filter(|t| Instant::now() < t.refresh_at)
    }

    /// When the cached token expires, if one is cached.
    pub(crate) fn token_expiry(&self) -> Option<DateTime<Utc>> {
        self.current().map(|t| t.expires_at)
    }

    /// A usable token: the cached one, or a new one. `rejected` is a token the server just
    /// refused; it is replaced even if it looks fresh.
    async fn token(
        &self,
        http: &reqwest::Client,
        rejected: Option<&Arc<Token>>,
    ) -> Result<Arc<Token>, Failure> {
        let usable = |t: Arc<Token>| rejected.is_none_or(|r| !Arc::ptr_eq(r, &t)).then_some(t);
        if let Some(t) = self.fresh().and_then(usable) {
            return Ok(t);
        }
        let _flight = self.fetching.lock().await;
        if let Some(t) = self.fresh().and_then(usable) {
            return Ok(t);
        }
        let token = Arc::new(self.fetch(http).await?);
        *self.cached.write().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        Ok(token)
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Token, Failure> {
        tracing::debug!("requesting a service account token");
        let reply = http
            .post(self.token_url.clone())
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, self.user_agent.clone())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(Failure::Transport)?;
        let reply = refuse_redirect(&self.token_url, reply, "oauth_token")
            .map_err(|e| Failure::Fatal(Error::Redirect(e)))?;
        let status = reply.status();
        let headers = reply.headers().clone();
        let body = crate::body::read_capped(reply, crate::body::MAX_ERROR_BODY).await;
        if !status.is_success() {
            return Err(token_endpoint_error(
                "the token endpoint refused the service account",
                status,
                &headers,
                &body,
            ));
        }
        let parsed: TokenReply = serde_json::from_slice(&body).map_err(|e| {
            Error::Auth(AuthError::from_status(
                format!(
                    "the token endpoint sent an unreadable reply ({:?})",
                    e.classify()
                ),
                status.as_u16(),
                None,
                &headers,
            ))
        })?;
        if parsed.access_token.is_empty() {
            return Err(Error::auth("the token endpoint sent an empty access token").into());
        }
        let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(3600));
        let usable_for = lifetime.saturating_sub(self.refresh_margin.min(lifetime));
        let expires_at =
            Utc::now() + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::zero());
        tracing::debug!(%expires_at, "service account token received");
        Ok(Token {
            value: SecretString::from(parsed.access_token),
            expires_at,
            refresh_at: Instant::now() + usable_for,
        })
    }

    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        mut request: reqwest::Request,
    ) -> Result<reqwest::Response, Failure> {
        let spare = request.try_clone();
        let token = self.token(http, None).await?;
        request.headers_mut().insert(AUTHORIZATION, bearer(&token)?);
        let reply = http.execute(request).await.map_err(Failure::Transport)?;
        if reply.status() != StatusCode::UNAUTHORIZED {
            return Ok(reply);
        }
        let Some(mut again) = spare else {
            return Err(refused(&reply));
        };
        tracing::debug!("bearer token refused; refreshing once");
        let token = self.token(http, Some(&token)).await?;
        again.headers_mut().insert(AUTHORIZATION, bearer(&token)?);
        let reply = http.execute(again).await.map_err(Failure::Transport)?;
        if reply.status() == StatusCode::UNAUTHORIZED {
            return Err(refused(&reply));
        }
        Ok(reply)
    }

    /// Revokes the cached token (if any) and forgets it.
    pub(crate) async fn revoke(&self, http: &reqwest::Client) -> Result<(), Error> {
        let _flight = self.fetching.lock().await;
        let Some(token) = self.current() else {
            return Ok(());
        };
        let reply = http
            .post(self.revoke_url.clone())
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, self.user_agent.clone())
            .form(&[("token", token.value.expose_secret())])
            .send()
            .await
            .map_err(|e| Error::Transport(crate::error::TransportError::new(e, None)))?;
        let reply =
            refuse_redirect(&self.revoke_url, reply, "oauth_revoke").map_err(Error::Redirect)?;
        let status = reply.status();
        let headers = reply.headers().clone();
        let body = crate::body::read_capped(reply, crate::body::MAX_ERROR_BODY).await;
        if !status.is_success() {
            return match token_endpoint_error(
                "the revoke endpoint refused the request",
                status,
                &headers,
                &body,
            ) {
                Failure::Fatal(e) | Failure::Unprocessed(e) => Err(e),
                Failure::Transport(e) => {
                    Err(Error::Transport(crate::error::TransportError::new(e, None)))
                }
            };
        }
        *self.cached.write().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }
}

fn bearer(token: &Token) -> Result<HeaderValue, Error> {
    let mut v = HeaderValue::from_str(&format!("Bearer {}", token.value.expose_secret()))
        .map_err(|_| Error::auth("the token endpoint sent a token that is not a valid header"))?;
    v.set_sensitive(true);
    Ok(v)
}

fn refused(reply: &reqwest::Response) -> Failure {
    Failure::Fatal(Error::Auth(AuthError::from_status(
        "the service account token was refused after a refresh",
        reply.status().as_u16(),
        None,
        reply.headers(),
    )))
}

fn token_endpoint_error(
    what: &str,
    status: StatusCode,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Failure {
    let code = serde_json::from_slice::<OAuthError>(body)
        .ok()
        .and_then(|e| e.error)
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    let hint = match status.as_u16() {
        429 => "; the token endpoint allows about 10 requests a minute",
        400 | 401 => "; check the client id and secret",
        _ => "",
    };
    Failure::Fatal(Error::Auth(AuthError::from_status(
        format!("{what}{hint}"),
        status.as_u16(),
        code,
        headers,
    )))
}
