//! `POST /api/oauth/token` and `POST /api/oauth/revoke` for service accounts.
//!
//! Both act on status, latency, dropped-connection, hang and drip [faults](crate::Fault);
//! the token endpoint's reply to valid credentials follows the [`TokenReply`] mode.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::oauth::parse_basic;
use crate::faults::FaultKind;
use crate::hostile::{self, Spoil};
use crate::log::{OAUTH_REVOKE, OAUTH_TOKEN};
use crate::pipeline::{Incoming, fault_status, finish};
use crate::shared::{Inner, Shared};

fn oauth_error(status: StatusCode, error: &str) -> Response {
    let mut resp = (status, axum::Json(json!({ "error": error }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"MMS Public API\""),
        );
    }
    resp
}

fn client_ok(inner: &Inner, req: &Incoming) -> bool {
    let creds = &inner.auth.credentials;
    req.header(header::AUTHORIZATION)
        .and_then(parse_basic)
        .is_some_and(|(id, secret)| id == creds.client_id && secret == creds.client_secret)
}

fn form(req: &Incoming) -> HashMap<String, String> {
    serde_urlencoded::from_bytes(&req.body).unwrap_or_default()
}

/// Runs the checks shared by both endpoints; `Err` is the final response, `Ok(Some(..))`
/// how to spoil the reply once it is made.
async fn prelude(
    shared: &Shared,
    req: &mut Incoming,
    name: &'static str,
) -> Result<Option<Spoil>, Response> {
    let fault = {
        let mut inner = shared.inner.lock();
        req.record.authenticated = client_ok(&inner, req);
        let fault = inner.faults.pick(name, false, false);
        req.record.fault = fault.as_ref().map(FaultKind::name);
        match fault {
            Some(FaultKind::Status {
                status,
                retry_after_secs,
            }) => {
                return Err(finish(
                    &mut inner,
                    req.record.clone(),
                    fault_status(status, retry_after_secs),
                ));
            }
            Some(FaultKind::DropConnection | FaultKind::Hang) => {
                inner.log.push(req.record.clone());
                None
            }
            other => other,
        }
    };
    match fault {
        Some(FaultKind::Latency(delay) | FaultKind::LandLate(delay)) => {
            tokio::time::sleep(delay).await
        }
        Some(FaultKind::Drip(interval)) => return Ok(Some(Spoil::Drip(interval))),
        None if req.record.fault == Some("drop_connection") => {
            return Err(match req.kill() {
                Some(kill) => kill.drop_connection().await,
                None => fault_status(503, None),
            });
        }
        // Accepted, logged, never answered: the connection stays open.
        None if req.record.fault == Some("hang") => return Err(std::future::pending().await),
        _ => {}
    }
    Ok(None)
}

/// `resp`, spoiled as the prelude decided.
async fn deliver(resp: Response, spoil: Option<Spoil>) -> Response {
    match spoil {
        Some(how) => hostile::spoil(resp, how).await,
        None => resp,
    }
}

/// Issues an access token for valid client credentials.
pub(crate) async fn token(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let mut req = Incoming::read(req, Some(OAUTH_TOKEN.name())).await;
    let spoil = match prelude(&shared, &mut req, OAUTH_TOKEN.name()).await {
        Ok(spoil) => spoil,
        Err(resp) => return resp,
    };
    let resp = {
        let mut inner = shared.inner.lock();
        let resp = if !req.record.authenticated {
            oauth_error(StatusCode::UNAUTHORIZED, "invalid_client")
        } else if form(&req).get("grant_type").map(String::as_str) != Some("client_credentials") {
            oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type")
        } else if inner.auth.tokens.live(inner.clock.now()) >= inner.auth.tokens.max_live {
            // What Atlas answers beyond a service account's live tokens.
            (
                StatusCode::FORBIDDEN,
                axum::Json(json!({
                    "error": "access_denied",
                    "error_description": "Access Token limit reached"
                })),
            )
                .into_response()
        } else {
            let now = inner.clock.now();
            let inner = &mut *inner;
            let tokens = &mut inner.auth.tokens;
            let lifetime = tokens.lifetime.as_secs();
            let reply = tokens.reply.clone();
            reply.answer(lifetime, || tokens.issue(now, &mut inner.rng))
        };
        finish(&mut inner, req.record, resp)
    };
    deliver(resp, spoil).await
}

/// Revokes a token (RFC 7009: unknown tokens also answer 200).
pub(crate) async fn revoke(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let mut req = Incoming::read(req, Some(OAUTH_REVOKE.name())).await;
    let spoil = match prelude(&shared, &mut req, OAUTH_REVOKE.name()).await {
        Ok(spoil) => spoil,
        Err(resp) => return resp,
    };
    let resp = {
        let mut inner = shared.inner.lock();
        let resp = if !req.record.authenticated {
            oauth_error(StatusCode::UNAUTHORIZED, "invalid_client")
        } else {
            if let Some(token) = form(&req).get("token") {
                inner.auth.tokens.revoke(token);
            }
            StatusCode::OK.into_response()
        };
        finish(&mut inner, req.record, resp)
    };
    deliver(resp, spoil).await
}
