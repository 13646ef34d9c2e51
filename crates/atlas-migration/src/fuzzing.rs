//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not a stable API).
//!
//! Each function is a thin wrapper that feeds in-memory input through the same internal code
//! the client runs on a real reply: digest challenge parsing and answering, the generated
//! client's JSON decoding, the conversion into this crate's types, capped error-body reading
//! and Atlas error parsing.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use atlas_migration_sys::types;
use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderMap, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use progenitor_client::{Error as SysError, ResponseValue};

use crate::auth::digest::{authorization_for, parse_challenge};
use crate::error::{ApiError, Error};
use crate::executor::read_capped;
use crate::model::{AvailableProject, LiveMigration, Validation};
use crate::ops::{LinkTokenReply, call, call_empty, own};

/// Most bytes of an error body the client reads.
pub const MAX_ERROR_BODY: usize = crate::error::MAX_ERROR_BODY;

/// The operations [`decode_success`] knows, by the names the client reports.
pub const OPERATIONS: [&str; 8] = [
    "create_link_token",
    "delete_link_tokens",
    "list_source_projects",
    "validate_migration",
    "get_validation_status",
    "create_push_migration",
    "get_push_migration",
    "cutover_migration",
];

/// Drives a future that only touches in-memory bodies to completion.
fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("an in-memory reply did not complete");
}

fn reply(status: StatusCode, headers: HeaderMap, body: Bytes) -> reqwest::Response {
    let mut r = http::Response::new(body);
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    reqwest::Response::from(r)
}

/// Parses `www_authenticate` as the value of a 401's `WWW-Authenticate` header and answers
/// the digest challenge for `method` and `uri`. `None` when the client would refuse.
pub fn digest_authorization(www_authenticate: &[u8], method: &str, uri: &str) -> Option<String> {
    let value = HeaderValue::from_bytes(www_authenticate).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(WWW_AUTHENTICATE, value);
    let mut client = parse_challenge(&headers).ok()?;
    let header =
        authorization_for(&mut client, "fuzzuser", "fuzz-private-key", method, uri).ok()?;
    header.to_str().ok().map(str::to_owned)
}

/// Decodes `body` as the success reply of `operation` (one of [`OPERATIONS`]) and converts it
/// into this crate's type, as the client does. `documented` picks the documented success status
/// (decoded by the generated client) or another 2xx (decoded by this crate).
pub fn decode_success(operation: &str, documented: bool, body: &[u8]) -> Result<(), String> {
    let Some(&op) = OPERATIONS.iter().find(|&&o| o == operation) else {
        return Err(format!("unknown operation {operation:?}"));
    };
    run_ready(decode(op, documented, Bytes::copy_from_slice(body))).map_err(|e| e.to_string())
}

async fn decode(op: &'static str, documented: bool, body: Bytes) -> Result<(), Error> {
    match op {
        "create_link_token" => {
            let r: types::TargetOrg = call(op, generated(documented, 200, body)).await?;
            own::<_, LinkTokenReply>(op, &r).map(drop)
        }
        "list_source_projects" => {
            let r: Vec<types::LiveImportAvailableProject> =
                call(op, generated(documented, 200, body)).await?;
            own::<_, Vec<AvailableProject>>(op, &r).map(drop)
        }
        "validate_migration" | "get_validation_status" => {
            let r: types::LiveImportValidation = call(op, generated(documented, 200, body)).await?;
            own::<_, Validation>(op, &r).map(drop)
        }
        "create_push_migration" | "get_push_migration" => {
            let status = if op == "create_push_migration" {
                201
            } else {
                200
            };
            let r: types::LiveMigrationResponse =
                call(op, generated(documented, status, body)).await?;
            own::<_, LiveMigration>(op, &r).map(drop)
        }
        "delete_link_tokens" => call_empty(op, empty(documented, 204, body)).await,
        _ => call_empty(op, empty(documented, 202, body)).await,
    }
}

/// What the generated client returns for a JSON reply: the documented status is decoded by
/// `ResponseValue::from_response`, any other 2xx is handed back as unexpected.
async fn generated<T: serde::de::DeserializeOwned>(
    documented: bool,
    status: u16,
    body: Bytes,
) -> Result<ResponseValue<T>, SysError<types::ApiError>> {
    let status = if documented { status } else { 203 };
    let r = reply(
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        HeaderMap::new(),
        body,
    );
    if documented {
        ResponseValue::from_response(r).await
    } else {
        Err(SysError::UnexpectedResponse(r))
    }
}

/// The same for an operation whose success has no body.
async fn empty(
    documented: bool,
    status: u16,
    body: Bytes,
) -> Result<ResponseValue<()>, SysError<types::ApiError>> {
    let status = if documented { status } else { 200 };
    let r = reply(
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        HeaderMap::new(),
        body,
    );
    if documented {
        Ok(ResponseValue::empty(r))
    } else {
        Err(SysError::UnexpectedResponse(r))
    }
}

/// Reads an error reply (capped) and parses it as the client does; returns the error's
/// message. `retry_after` is the raw `Retry-After` header value, if any.
pub fn decode_error(status: u16, retry_after: Option<&[u8]>, body: &[u8]) -> String {
    let mut headers = HeaderMap::new();
    if let Some(v) = retry_after.and_then(|v| HeaderValue::from_bytes(v).ok()) {
        headers.insert(RETRY_AFTER, v);
    }
    let wire_status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let r = reply(wire_status, headers.clone(), Bytes::copy_from_slice(body));
    let capped = run_ready(read_capped(r));
    assert!(
        capped.len() <= MAX_ERROR_BODY,
        "error body read past the cap"
    );
    let error = Error::Api(ApiError::from_reply(status, &headers, &capped));
    let _ = (
        error.retry_after(),
        error.retry_at(),
        error.is_transient(),
        error.error_code(),
    );
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_reach_the_success_paths() {
        let auth = digest_authorization(
            br#"Digest realm="MMS Public API", domain="", nonce="abc", algorithm=MD5, qop="auth", stale=false"#,
            "GET",
            "/api/atlas/v2",
        )
        .unwrap();
        assert!(
            auth.starts_with("Digest ") && auth.contains("response=\""),
            "{auth}"
        );
        for documented in [true, false] {
            let body = br#"{"_id":"6296fb4c7c7aa997cf94e9a8","status":"WORKING","readyForCutover":true,"lagTimeSeconds":12,"migrationHosts":["m"]}"#;
            decode_success("get_push_migration", documented, body).unwrap();
            decode_success("create_link_token", documented, br#"{"linkToken":"t"}"#).unwrap();
            decode_success("list_source_projects", documented, b"[]").unwrap();
            decode_success("cutover_migration", documented, b"").unwrap();
            let err = decode_success("get_push_migration", documented, b"{").unwrap_err();
            assert!(err.contains("could not decode"), "{err}");
        }
        let message = decode_error(429, Some(b"7"), br#"{"errorCode":"RATE_LIMITED"}"#);
        assert!(
            message.contains("RATE_LIMITED") && message.contains("retry after 7s"),
            "{message}"
        );
        let message = decode_error(502, None, &vec![b'<'; 3 * MAX_ERROR_BODY]);
        assert!(message.ends_with("…\")"), "{message}");
    }
}
