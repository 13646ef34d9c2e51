//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not a stable API).
//!
//! Each function is a thin wrapper that feeds in-memory input through the same internal code
//! the client runs on a real reply: digest challenge parsing and answering, the one decode of
//! a reply into the generated type and its conversion into this crate's types, capped
//! error-body reading and Atlas error parsing.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use atlas_migration_sys::operations::{
    self as operations, CREATE_LINK_TOKEN, CREATE_MIGRATION, CUTOVER, DELETE_LINK_TOKENS,
    GET_MIGRATION, GET_VALIDATION, LIST_SOURCE_PROJECTS, VALIDATE_MIGRATION,
};
use atlas_migration_sys::types;
use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderMap, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};

use crate::auth::digest::{authorization_for, parse_challenge};
use crate::body::read_capped;
use crate::convert;
use crate::error::{ApiError, Error};
use crate::transport::Reply;

/// Most bytes of an error body the client reads.
pub const MAX_ERROR_BODY: usize = crate::body::MAX_ERROR_BODY;

/// The operations [`decode_success`] knows, by their stable names.
pub const OPERATIONS: [&str; 8] = [
    CREATE_LINK_TOKEN.name,
    DELETE_LINK_TOKENS.name,
    LIST_SOURCE_PROJECTS.name,
    VALIDATE_MIGRATION.name,
    GET_VALIDATION.name,
    CREATE_MIGRATION.name,
    GET_MIGRATION.name,
    CUTOVER.name,
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
/// the digest challenge for two requests in a row with `method` and `uri` (the second from
/// what the first kept of the challenge). `None` when the client would refuse.
pub fn digest_authorization(
    www_authenticate: &[u8],
    method: &str,
    uri: &str,
) -> Option<[String; 2]> {
    let value = HeaderValue::from_bytes(www_authenticate).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(WWW_AUTHENTICATE, value);
    let mut challenge = parse_challenge(&headers).ok()?;
    let mut answer = || {
        let header =
            authorization_for(&mut challenge, "fuzzuser", "fuzz-private-key", method, uri).ok()?;
        header.to_str().ok().map(str::to_owned)
    };
    let first = answer()?;
    // A challenge answered once is answered again: a second answer may not be refused.
    let second = answer().unwrap_or_default();
    Some([first, second])
}

/// Whether two answers to one challenge (from [`digest_authorization`]) differ only where
/// answers to successive requests do: in the nonce count, client nonce and response, which
/// are hex of fixed length. So the two have the same length, the same text up to the `uri`,
/// and at most 104 bytes apart (8 of count, 32 of client nonce, 64 of response).
pub fn successive_answers_agree([first, second]: &[String; 2]) -> bool {
    let up_to_uri = first.find(", uri=\"").unwrap_or(first.len());
    let apart = first
        .bytes()
        .zip(second.bytes())
        .filter(|(a, b)| a != b)
        .count();
    first.len() == second.len() && first.get(..up_to_uri) == second.get(..up_to_uri) && apart <= 104
}

/// Decodes `body` as a 200 reply of `operation` (one of [`OPERATIONS`]) and converts it into
/// this crate's type, exactly as the client does.
pub fn decode_success(operation: &str, body: &[u8]) -> Result<(), String> {
    let Some(op) = operations::operation(operation) else {
        return Err(format!("unknown operation {operation:?}"));
    };
    let reply = Reply {
        status: StatusCode::OK,
        body: Bytes::copy_from_slice(body),
    };
    decode(op, &reply).map_err(|e| e.to_string())
}

fn decode(op: &'static operations::Operation, reply: &Reply) -> Result<(), Error> {
    match *op {
        CREATE_LINK_TOKEN => {
            convert::link_token(convert::decode::<types::TargetOrg>(op, reply)?);
        }
        LIST_SOURCE_PROJECTS => {
            for project in convert::decode::<Vec<types::LiveImportAvailableProject>>(op, reply)? {
                convert::available_project(op, project)?;
            }
        }
        VALIDATE_MIGRATION | GET_VALIDATION => {
            convert::validation(op, convert::decode(op, reply)?)?;
        }
        CREATE_MIGRATION | GET_MIGRATION => {
            convert::live_migration(op, convert::decode(op, reply)?)?;
        }
        // Operations without a reply body accept any body.
        _ => {}
    }
    Ok(())
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
    let capped = run_ready(read_capped(r, MAX_ERROR_BODY));
    assert!(
        capped.len() <= MAX_ERROR_BODY,
        "error body read past the cap"
    );
    let error = Error::from(ApiError::from_reply(status, &headers, &capped));
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
        let answers = digest_authorization(
            br#"Digest realm="MMS Public API", domain="", nonce="abc", algorithm=MD5, qop="auth", stale=false, opaque="o""#,
            "GET",
            "/api/atlas/v2",
        )
        .unwrap();
        for auth in &answers {
            assert!(
                auth.starts_with("Digest ") && auth.contains("response=\""),
                "{auth}"
            );
        }
        assert!(answers[1].contains("nc=00000002"), "{answers:?}");
        assert!(successive_answers_agree(&answers), "{answers:?}");
        let mut lost_realm = answers.clone();
        lost_realm[1] = lost_realm[1].replace("MMS Public API", "");
        assert!(!successive_answers_agree(&lost_realm));
        let body = br#"{"_id":"6296fb4c7c7aa997cf94e9a8","status":"WORKING","readyForCutover":true,"lagTimeSeconds":12,"migrationHosts":["m"]}"#;
        decode_success("get_migration", body).unwrap();
        decode_success("create_link_token", br#"{"linkToken":"t"}"#).unwrap();
        decode_success("list_source_projects", b"[]").unwrap();
        decode_success("cutover", b"").unwrap();
        let err = decode_success("get_migration", b"{").unwrap_err();
        assert!(err.contains("could not decode"), "{err}");
        for operation in OPERATIONS {
            assert!(atlas_migration_sys::operations::operation(operation).is_some());
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
