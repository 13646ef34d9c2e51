//! The order every API request goes through: authenticate, inject faults, check media
//! types, then run the operation; and the log entry for each exchange.

use std::collections::HashMap;
use std::sync::Arc;

use atlas_migration_sys::operations::Operation;
use axum::extract::{FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::AuthResult;
use crate::errors::ApiError;
use crate::faults::FaultKind;
use crate::handlers;
use crate::hostile::{self, Spoil};
use crate::log::RequestRecord;
use crate::metering::{Metered, Subject};
use crate::server::ConnectionKill;
use crate::shared::{Inner, Shared, UnauthorizedPacing};
use crate::split_body;

/// Largest request body accepted.
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// A request split into what the pipeline needs.
pub(crate) struct Incoming {
    pub(crate) parts: Parts,
    pub(crate) body: axum::body::Bytes,
    pub(crate) record: RequestRecord,
}

impl Incoming {
    pub(crate) async fn read(req: Request, operation: Option<&'static str>) -> Self {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .unwrap_or_default();
        let record = RequestRecord {
            index: 0,
            method: parts.method.as_str().to_string(),
            path: path_and_query(&parts),
            operation,
            status: None,
            authorization_present: parts.headers.contains_key(header::AUTHORIZATION),
            authenticated: false,
            had_body: !body.is_empty(),
            fault: None,
            created_id: None,
            received_at: std::time::Instant::now(),
        };
        Self {
            parts,
            body,
            record,
        }
    }

    pub(crate) fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn kill(&self) -> Option<ConnectionKill> {
        self.parts.extensions.get::<ConnectionKill>().cloned()
    }
}

fn path_and_query(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string())
}

/// Logs `record` with the response status and returns the response.
pub(crate) fn finish(inner: &mut Inner, mut record: RequestRecord, resp: Response) -> Response {
    record.status = Some(resp.status().as_u16());
    inner.log.push(record);
    resp
}

/// The 401 answer for a failed authentication, with a fresh digest challenge.
pub(crate) fn unauthorized(inner: &mut Inner, auth: &AuthResult) -> Response {
    let now = inner.clock.now();
    let stale = matches!(auth, AuthResult::DigestFailed { stale: true });
    let challenge = inner.auth.digest.challenge(now, &mut inner.rng, stale);
    let mut err = ApiError::unauthorized().header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&challenge).expect("challenge is a valid header"),
    );
    if *auth == AuthResult::BearerFailed {
        err = err.header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"MMS Public API\", error=\"invalid_token\""),
        );
    }
    err.into_response()
}

/// A 401 answer, paced as the simulator is configured.
pub(crate) struct Refusal {
    response: Response,
    delay: Option<std::time::Duration>,
    body_pause: Option<std::time::Duration>,
}

impl Refusal {
    /// The 401 for `auth`, logged with `record`; only refused digest credentials (not
    /// missing, not stale ones) wait for the refusal delay.
    fn new(
        inner: &mut Inner,
        record: RequestRecord,
        auth: &AuthResult,
        pacing: UnauthorizedPacing,
    ) -> Self {
        let response = unauthorized(inner, auth);
        let refused = *auth == AuthResult::DigestFailed { stale: false };
        Self {
            response: finish(inner, record, response),
            delay: pacing.refusal_delay.filter(|_| refused),
            body_pause: pacing.body_pause,
        }
    }

    /// Sends the 401 after the delay (outside the state lock).
    async fn answer(self) -> Response {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        match self.body_pause {
            Some(pause) => split_body::split(self.response, pause).await,
            None => self.response,
        }
    }
}

/// Authenticates; on failure logs and returns the 401.
#[allow(clippy::result_large_err)]
fn authenticate(
    inner: &mut Inner,
    req: &mut Incoming,
    pacing: UnauthorizedPacing,
) -> Result<AuthResult, Refusal> {
    let now = inner.clock.now();
    let auth = inner.auth.check(
        req.header(header::AUTHORIZATION),
        req.parts.method.as_str(),
        &req.record.path,
        now,
    );
    if auth.is_ok() {
        req.record.authenticated = true;
        Ok(auth)
    } else {
        Err(Refusal::new(inner, req.record.clone(), &auth, pacing))
    }
}

/// Answer for an injected status fault.
pub(crate) fn fault_status(status: u16, retry_after_secs: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let code = match status.as_u16() {
        429 => "RATE_LIMITED",
        500 => "UNEXPECTED_ERROR",
        503 => "SERVICE_UNAVAILABLE",
        _ => "SIMULATED_FAULT",
    };
    let mut err = ApiError::new(
        status,
        code,
        "Simulated fault; the request was not processed.",
    );
    if let Some(secs) = retry_after_secs {
        err = err.header(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    err.into_response()
}

/// What to do after the fault decision.
enum Next {
    Refused(Refusal),
    Proceed(After),
    Delay(std::time::Duration),
    /// Processed after the delay whether or not the client is still there.
    Detached(std::time::Duration),
    Answer(Response),
    Drop,
    Hang,
}

/// What happens to the reply once the request is processed.
enum After {
    Answer,
    Drop,
    Spoil(Spoil),
}

/// Runs one API operation through the whole pipeline.
pub(crate) async fn handle_operation(
    shared: Arc<Shared>,
    op: &'static Operation,
    req: Request,
) -> Response {
    let mut req = Incoming::read(req, Some(op.name)).await;
    let kill = req.kill();
    let params = path_params(&mut req.parts).await;
    let mut budget = None;
    let next = 'decide: {
        let mut inner = shared.inner.lock();
        let auth = match authenticate(&mut inner, &mut req, shared.pacing) {
            Ok(auth) => auth,
            Err(refusal) => break 'decide Next::Refused(refusal),
        };
        let digest_nonce = match &auth {
            AuthResult::Digest { nonce } => Some(nonce.clone()),
            _ => None,
        };
        // Atlas's rate limits, metered after authentication and before anything else.
        let subject = Subject {
            endpoint: op.name,
            org: params.get("orgId").map(String::as_str),
            group: params.get("groupId").map(String::as_str),
            user: if digest_nonce.is_some() {
                "api key"
            } else {
                "service account"
            },
        };
        let now = inner.clock.now();
        match inner.meter.take(&subject, now) {
            Metered::Free => {}
            Metered::Allowed { limit, remaining } => budget = Some((limit, remaining)),
            Metered::Refused(refusal) => {
                req.record.fault = Some("rate_limited");
                let resp = inner.meter.refuse(&refusal);
                break 'decide Next::Answer(finish(&mut inner, req.record.clone(), resp));
            }
        }
        let fault = inner.faults.pick(op.name, true, digest_nonce.is_some());
        req.record.fault = fault.as_ref().map(FaultKind::name);
        match fault {
            None => Next::Proceed(After::Answer),
            Some(FaultKind::Latency(delay)) => Next::Delay(delay),
            Some(FaultKind::LandLate(delay)) => Next::Detached(delay),
            Some(FaultKind::DropAfterProcessing) => Next::Proceed(After::Drop),
            Some(FaultKind::Drip(interval)) => Next::Proceed(After::Spoil(Spoil::Drip(interval))),
            Some(FaultKind::Oversize(bytes)) => Next::Proceed(After::Spoil(Spoil::Oversize(bytes))),
            Some(FaultKind::ForeignId) => Next::Proceed(After::Spoil(Spoil::ForeignId)),
            Some(FaultKind::ForeignProject) => Next::Proceed(After::Spoil(Spoil::ForeignProject)),
            Some(FaultKind::Redirect { status, location }) => Next::Answer(finish(
                &mut inner,
                req.record.clone(),
                hostile::redirect(status, &location),
            )),
            Some(FaultKind::Hang) => {
                inner.log.push(req.record.clone());
                Next::Hang
            }
            Some(FaultKind::Status {
                status,
                retry_after_secs,
            }) => Next::Answer(finish(
                &mut inner,
                req.record.clone(),
                fault_status(status, retry_after_secs),
            )),
            Some(FaultKind::StaleNonce) => {
                if let Some(nonce) = &digest_nonce {
                    inner.auth.digest.retire(nonce);
                }
                req.record.authenticated = false;
                let stale = AuthResult::DigestFailed { stale: true };
                Next::Refused(Refusal::new(
                    &mut inner,
                    req.record.clone(),
                    &stale,
                    shared.pacing,
                ))
            }
            Some(FaultKind::DropConnection) => {
                inner.log.push(req.record.clone());
                Next::Drop
            }
        }
    };
    let after = match next {
        Next::Refused(refusal) => return refusal.answer().await,
        Next::Answer(resp) => return resp,
        Next::Drop => return drop_or_fail(kill).await,
        Next::Hang => return std::future::pending().await,
        Next::Proceed(after) => after,
        Next::Delay(delay) => {
            tokio::time::sleep(delay).await;
            After::Answer
        }
        Next::Detached(delay) => {
            // A task of its own: a client that disconnects drops this handler, not the work.
            let work = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                process(&shared, op, &params, req, budget, After::Answer, kill).await
            });
            return work.await.unwrap_or_else(|_| fault_status(503, None));
        }
    };
    process(&shared, op, &params, req, budget, after, kill).await
}

/// Runs the operation and answers (or drops, or spoils the reply) as decided.
async fn process(
    shared: &Shared,
    op: &'static Operation,
    params: &HashMap<String, String>,
    mut req: Incoming,
    budget: Option<(u32, u32)>,
    after: After,
    kill: Option<ConnectionKill>,
) -> Response {
    let answered = {
        let mut inner = shared.inner.lock();
        let mut resp = match check_media_types(op, &req) {
            Err(e) => e.into_response(),
            Ok(()) => handlers::execute(shared, &mut inner, op, params, &mut req),
        };
        if let Some((limit, remaining)) = budget {
            inner.meter.annotate(resp.headers_mut(), limit, remaining);
        }
        if let After::Drop = after {
            inner.log.push(req.record);
            None
        } else {
            Some(finish(&mut inner, req.record, resp))
        }
    };
    match (answered, after) {
        (Some(resp), After::Spoil(how)) => hostile::spoil(resp, how).await,
        (Some(resp), _) => resp,
        (None, _) => drop_or_fail(kill).await,
    }
}

async fn drop_or_fail(kill: Option<ConnectionKill>) -> Response {
    match kill {
        Some(kill) => kill.drop_connection().await,
        None => fault_status(503, None),
    }
}

async fn path_params(parts: &mut Parts) -> HashMap<String, String> {
    Path::<HashMap<String, String>>::from_request_parts(parts, &())
        .await
        .map(|Path(p)| p)
        .unwrap_or_default()
}

/// The media type of a header value without parameters, lowercased.
fn essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn check_media_types(op: &Operation, req: &Incoming) -> Result<(), ApiError> {
    let accept = req.header(header::ACCEPT).unwrap_or("");
    if !accept
        .split(',')
        .any(|a| essence(a) == op.response_media_type)
    {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "INVALID_MEDIA_TYPE",
            format!(
                "Invalid Accept header {accept:?}; {} requires {}.",
                op.name, op.response_media_type
            ),
        )
        .param(accept));
    }
    if let Some(expected) = op.request_media_type {
        let content_type = req.header(header::CONTENT_TYPE).unwrap_or("");
        if req.record.had_body && essence(content_type) != expected {
            return Err(ApiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "INVALID_MEDIA_TYPE",
                format!(
                    "Invalid Content-Type {content_type:?}; {} requires {expected}.",
                    op.name
                ),
            )
            .param(content_type));
        }
    }
    Ok(())
}

/// Requests to paths that are not in the table: 401 without credentials, else 404.
pub(crate) async fn handle_unknown(shared: Arc<Shared>, req: Request) -> Response {
    let mut req = Incoming::read(req, None).await;
    let refusal = {
        let mut inner = shared.inner.lock();
        match authenticate(&mut inner, &mut req, shared.pacing) {
            Err(refusal) => refusal,
            Ok(_) => {
                let resp = ApiError::new(
                    StatusCode::NOT_FOUND,
                    "RESOURCE_NOT_FOUND",
                    format!("Cannot find resource {}.", req.parts.uri.path()),
                )
                .into_response();
                return finish(&mut inner, req.record, resp);
            }
        }
    };
    refusal.answer().await
}
