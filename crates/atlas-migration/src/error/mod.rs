//! The one error type of this crate, with query helpers instead of a deep enum to match on.
//!
//! One file per error kind: [`ApiError`] (`api.rs`), [`AuthError`] (`auth.rs`),
//! [`InvalidInput`] (`input.rs`), [`DecodeError`] (`decode.rs`), [`TransportError`]
//! (`transport.rs`); `retry_after.rs` and `snippet.rs` hold what they share.

mod api;
mod auth;
mod budget;
mod decode;
mod input;
mod redirect;
mod retry_after;
mod snippet;
mod transport;

use std::time::Duration;

use chrono::{DateTime, Utc};

pub use api::{ApiError, FieldViolation};
pub(crate) use auth::AuthCause;
pub use auth::AuthError;
pub use budget::BudgetError;
pub use decode::DecodeError;
pub(crate) use decode::DecodeKind;
pub use input::InvalidInput;
pub use redirect::RedirectError;
pub(crate) use redirect::refuse_redirect;
pub(crate) use retry_after::RetryAfter;
pub(crate) use snippet::snippet;
pub use transport::TransportError;

use crate::classify::{self, Attempt, is_transient_status};

/// Everything that can go wrong when calling the Cloud Migration Service.
///
/// Prefer the query methods ([`status`](Error::status), [`error_code`](Error::error_code),
/// [`is_not_found`](Error::is_not_found), [`is_transient`](Error::is_transient), ...) to matching:
/// new variants may be added. No variant ever carries a credential, token or password.
///
/// ```
/// use atlas_migration::{Error, GroupId};
///
/// let err = "oops".parse::<GroupId>().unwrap_err();
/// assert!(err.is_invalid_input());
/// assert_eq!(err.status(), None);
/// assert_eq!(err.to_string(), r#"invalid groupId "oops": must be 24 lowercase hexadecimal digits"#);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Atlas answered with an error status (4xx or 5xx) after any retries.
    #[error(transparent)]
    Api(ApiError),
    /// Authentication failed: credentials refused, token endpoint error, or a broken challenge.
    #[error(transparent)]
    Auth(AuthError),
    /// An input was rejected locally; no request was sent.
    #[error(transparent)]
    InvalidInput(InvalidInput),
    /// The request could not be sent or the response not received (connect, timeout, I/O).
    #[error(transparent)]
    Transport(TransportError),
    /// A success response could not be decoded.
    #[error(transparent)]
    Decode(DecodeError),
    /// A reply redirected the request; redirects are never followed.
    #[error(transparent)]
    Redirect(RedirectError),
    /// The request was not sent: waiting for rate-limit budget (or a request slot) would
    /// have run past the caller's deadline.
    #[error(transparent)]
    Budget(BudgetError),
}

impl Error {
    pub(crate) fn invalid_input(
        field: impl Into<String>,
        value: Option<&str>,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidInput(InvalidInput {
            field: field.into(),
            value: value.map(str::to_owned),
            reason: reason.into(),
        })
    }

    pub(crate) fn auth(message: impl Into<String>) -> Self {
        Error::Auth(AuthError {
            message: message.into(),
            status: None,
            code: None,
            retry_after: None,
            cause: AuthCause::default(),
        })
    }

    /// The HTTP status of the response behind this error, if there was one.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.status() == Some(409) { /* conflict: e.g. a migration already exists */ }
    /// # }
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status()),
            Error::Auth(e) => e.status,
            Error::Decode(e) => e.status,
            Error::Transport(e) => e.source.status().map(|s| s.as_u16()),
            Error::Redirect(e) => Some(e.status),
            Error::InvalidInput(_) | Error::Budget(_) => None,
        }
    }

    /// The Atlas `errorCode` (e.g. `RESOURCE_NOT_FOUND`), or the OAuth `error` of a token
    /// endpoint refusal (e.g. `invalid_client`).
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.error_code() == Some("DUPLICATE_CLUSTER_NAME") { /* ... */ }
    /// # }
    /// ```
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.error_code(),
            Error::Auth(e) => e.code.as_deref(),
            _ => None,
        }
    }

    /// Whether Atlas (or its token endpoint) answered 429 Too Many Requests.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_rate_limited() {
    ///     let wait = err.retry_after();
    /// }
    /// # }
    /// ```
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429) || matches!(self, Error::Budget(b) if b.wait().is_some())
    }

    /// Whether Atlas answered 404 Not Found.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_not_found() { /* the migration or project does not exist (any more) */ }
    /// # }
    /// ```
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether this is an authentication failure.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_auth() { eprintln!("check the API key or service account: {err}"); }
    /// # }
    /// ```
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Auth(_))
    }

    /// Whether a reply redirected the request (never followed; see [`RedirectError`]).
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_redirect() { eprintln!("check the base URL: {err}"); }
    /// # }
    /// ```
    pub fn is_redirect(&self) -> bool {
        matches!(self, Error::Redirect(_))
    }

    /// Whether an input was rejected before any request was sent.
    ///
    /// ```
    /// assert!("x".parse::<atlas_migration::OrgId>().unwrap_err().is_invalid_input());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Error::InvalidInput(_))
    }

    /// How long the server asked to wait (`Retry-After`, seconds or HTTP date), measured from
    /// when the response arrived.
    ///
    /// ```
    /// # async fn wait(err: atlas_migration::Error) {
    /// if let Some(delay) = err.retry_after() {
    ///     tokio::time::sleep(delay).await;
    /// }
    /// # }
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_value().map(|r| r.delay)
    }

    /// The instant before which the server asked not to retry (`Retry-After`), if it said so.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if let Some(at) = err.retry_at() { println!("retry after {at}"); }
    /// # }
    /// ```
    pub fn retry_at(&self) -> Option<DateTime<Utc>> {
        self.retry_after_value().map(|r| r.at)
    }

    fn retry_after_value(&self) -> Option<&RetryAfter> {
        match self {
            Error::Api(e) => e.inner.retry_after.as_ref(),
            Error::Auth(e) => e.retry_after.as_ref(),
            _ => None,
        }
    }

    /// Whether the failure is likely to go away on its own: 429, 500, 502, 503, 504, a
    /// connection failure or a timeout.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_transient() { /* try again later */ }
    /// # }
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_connect() || e.is_timeout(),
            Error::Api(e) => is_transient_status(e.status()),
            Error::Auth(e) => e.is_transient(),
            // Nothing was sent; budget comes back with time.
            Error::Budget(_) => true,
            _ => false,
        }
    }

    /// Whether the call ran out of time: no reply within the client's timeout, or no service
    /// account token within it.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_timeout() { eprintln!("consider a longer ClientBuilder::timeout: {err}"); }
    /// # }
    /// ```
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_timeout(),
            Error::Auth(e) => e.is_timeout(),
            _ => false,
        }
    }

    /// Whether the call that failed may safely be sent again, for the operation that failed:
    /// a rate limit or a refused connection always (the server did nothing); a 5xx, timeout or
    /// dropped connection only for idempotent operations (reads, cutover, delete). For a
    /// `POST` that may have created something (`create_migration`, `validate_migration`,
    /// `create_link_token`) after a 5xx or timeout it is `false`: check first, then decide.
    /// An error whose operation is unknown is answered as for a `POST`.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_retryable() { /* the client already retried; consider a longer pause */ }
    /// # }
    /// ```
    pub fn is_retryable(&self) -> bool {
        let idempotent = match self {
            Error::Api(e) => e.inner.operation.is_some_and(|op| op.idempotent),
            Error::Transport(e) => e.operation.is_some_and(|op| op.idempotent),
            _ => false,
        };
        self.may_repeat(idempotent)
    }

    /// Whether a call that failed with this error may be sent again, for a call that is
    /// (`idempotent`) or is not safe to repeat; decided by [`classify::decide`].
    pub(crate) fn may_repeat(&self, idempotent: bool) -> bool {
        let attempt = match self {
            Error::Api(e) => Attempt::Replied {
                status: e.status(),
                headers: &http::HeaderMap::new(),
            },
            Error::Transport(e) if e.is_connect() => Attempt::ConnectFailed,
            Error::Transport(_) => Attempt::NoReply,
            // Token or challenge endpoints failing before the call itself was sent.
            Error::Auth(e) => return e.is_transient(),
            Error::InvalidInput(_) | Error::Decode(_) | Error::Redirect(_) => return false,
            // Nothing was sent.
            Error::Budget(_) => Attempt::NotProcessed,
        };
        classify::decide(idempotent, attempt).repeats()
    }

    /// Whether the server may have acted on the failed call: no reply, a 5xx, or a success
    /// reply that did not decode. `false` when the connection was refused, the call was
    /// rate limited or refused with another 4xx, or nothing was sent.
    pub(crate) fn may_have_been_processed(&self) -> bool {
        match self {
            Error::Api(e) => classify::may_have_acted(Attempt::Replied {
                status: e.status(),
                headers: &http::HeaderMap::new(),
            }),
            Error::Transport(e) => classify::may_have_acted(if e.is_connect() {
                Attempt::ConnectFailed
            } else {
                Attempt::NoReply
            }),
            // A 2xx arrived: the server acted.
            Error::Decode(_) => true,
            // A 303 is what a server sends after acting on a POST.
            Error::Redirect(_) => true,
            Error::Auth(_) | Error::InvalidInput(_) | Error::Budget(_) => false,
        }
    }

    /// The stable name of the operation that failed (e.g. `"get_migration"`), when the
    /// error came from a call.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if let Some(operation) = err.operation() { eprintln!("{operation} failed: {err}"); }
    /// # }
    /// ```
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Error::Api(e) => e.inner.operation.map(|op| op.name),
            Error::Transport(e) => e.operation.map(|op| op.name),
            Error::Decode(e) => Some(e.operation),
            Error::Redirect(e) => Some(e.during),
            Error::Budget(e) => Some(e.operation),
            Error::Auth(_) | Error::InvalidInput(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::snippet::SNIPPET_CHARS;
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn atlas_body_is_parsed_with_field_violations() {
        let body = br#"{"error":400,"errorCode":"INVALID_ATTRIBUTE","detail":"Invalid attribute clusterName.","reason":"Bad Request","parameters":["clusterName"],"badRequestDetail":{"fields":[{"field":"source.clusterName","description":"must not be blank"}]}}"#;
        let e = ApiError::from_reply(400, &headers(&[]), body);
        assert_eq!(e.error_code(), Some("INVALID_ATTRIBUTE"));
        assert_eq!(e.parameters().len(), 1);
        assert_eq!(e.field_violations()[0].field, "source.clusterName");
        assert_eq!(
            e.to_string(),
            "Atlas API error: HTTP 400 INVALID_ATTRIBUTE: Invalid attribute clusterName. (source.clusterName: must not be blank)"
        );
    }

    #[test]
    fn html_and_empty_bodies_become_snippets() {
        let e = ApiError::from_reply(
            502,
            &headers(&[("content-type", "text/html")]),
            b"<html><body>Bad\ngateway</body></html>",
        );
        assert_eq!(e.error_code(), None);
        assert_eq!(
            e.body_snippet(),
            Some("<html><body>Bad gateway</body></html>")
        );
        assert!(e.to_string().contains("HTTP 502 Bad Gateway"), "{e}");
        let e = ApiError::from_reply(500, &headers(&[]), b"");
        assert!(e.to_string().contains("empty body"), "{e}");
        let e = ApiError::from_reply(500, &headers(&[]), &[0xff, 0xfe, b'{']);
        assert!(e.body_snippet().is_some());
    }

    #[test]
    fn snippet_is_capped() {
        let body = vec![b'a'; crate::body::MAX_ERROR_BODY];
        let s = snippet(&body);
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2024-05-30T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let r = RetryAfter::parse("7", now).unwrap();
        assert_eq!(r.delay, Duration::from_secs(7));
        let r = RetryAfter::parse("Thu, 30 May 2024 10:00:30 GMT", now).unwrap();
        assert_eq!(r.delay, Duration::from_secs(30));
        let r = RetryAfter::parse("Thu, 30 May 2024 09:00:00 GMT", now).unwrap();
        assert_eq!(r.delay, Duration::ZERO);
        assert!(RetryAfter::parse("soon", now).is_none());
    }

    #[test]
    fn query_helpers_follow_status() {
        let e = Error::Api(ApiError::from_reply(
            429,
            &headers(&[("retry-after", "3")]),
            br#"{"error":429,"errorCode":"RATE_LIMITED"}"#,
        ));
        assert!(e.is_rate_limited() && e.is_transient() && e.is_retryable());
        let during = |op| Error::Api(ApiError::from_reply(503, &headers(&[]), b"{}").during(op));
        use atlas_migration_sys::operations::{CREATE_MIGRATION, GET_MIGRATION};
        let read = during(&GET_MIGRATION);
        assert!(read.is_transient() && read.is_retryable());
        assert_eq!(read.operation(), Some("get_migration"));
        let create = during(&CREATE_MIGRATION);
        assert!(
            create.is_transient() && !create.is_retryable(),
            "a 503 on create may have created the migration"
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(e.error_code(), Some("RATE_LIMITED"));
        let e = Error::Api(ApiError::from_reply(404, &headers(&[]), b"{}"));
        assert!(e.is_not_found() && !e.is_transient());
    }
}
