//! The one error type of this crate, with query helpers instead of a deep enum to match on.

use std::fmt;
use std::time::Duration;

use atlas_migration_sys::operations::Operation;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::classify::{self, Attempt, is_transient_status};

/// Most characters of a body quoted in an error message.
const SNIPPET_CHARS: usize = 200;

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
    #[error("transport error: {0}")]
    Transport(#[source] TransportError),
    /// A success response could not be decoded.
    #[error(transparent)]
    Decode(DecodeError),
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
            Error::InvalidInput(_) => None,
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
        self.status() == Some(429)
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
            Error::Auth(e) => e.status.is_some_and(|s| s == 429 || s >= 500),
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
        let decision = match self {
            Error::Api(e) => classify::decide(
                e.inner.operation.is_some_and(|op| op.idempotent),
                Attempt::Replied {
                    status: e.status(),
                    headers: &http::HeaderMap::new(),
                },
            ),
            Error::Transport(e) => classify::decide(
                e.operation.is_some_and(|op| op.idempotent),
                if e.is_connect() {
                    Attempt::ConnectFailed
                } else {
                    Attempt::NoReply
                },
            ),
            // Token or challenge endpoints failing before the call itself was sent.
            Error::Auth(e) => {
                return e.status.is_some_and(|s| s == 429 || s >= 500);
            }
            Error::InvalidInput(_) | Error::Decode(_) => return false,
        };
        decision.repeats()
    }

    /// The stable name of the operation that failed (e.g. `"get_push_migration"`), when the
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
            Error::Auth(_) | Error::InvalidInput(_) => None,
        }
    }
}

/// The request could not be sent, or its reply not received.
///
/// ```
/// # fn check(err: atlas_migration::Error) {
/// if let atlas_migration::Error::Transport(t) = &err {
///     if t.is_timeout() { eprintln!("timed out"); }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct TransportError {
    source: reqwest::Error,
    operation: Option<&'static Operation>,
}

impl TransportError {
    /// A transport failure during `operation` (`None` outside a call, e.g. building the
    /// HTTP client).
    pub(crate) fn new(source: reqwest::Error, operation: Option<&'static Operation>) -> Self {
        Self { source, operation }
    }

    /// Whether the connection could not be opened (the request never left).
    ///
    /// ```
    /// # fn f(e: &atlas_migration::TransportError) -> bool {
    /// e.is_connect()
    /// # }
    /// ```
    pub fn is_connect(&self) -> bool {
        self.source.is_connect()
    }

    /// Whether the call ran out of time.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::TransportError) -> bool {
    /// e.is_timeout()
    /// # }
    /// ```
    pub fn is_timeout(&self) -> bool {
        self.source.is_timeout()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.source()
    }
}

/// A `Retry-After` value, resolved when the response arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryAfter {
    pub(crate) delay: Duration,
    pub(crate) at: DateTime<Utc>,
}

impl RetryAfter {
    /// Parses `Retry-After` as delay-seconds or an HTTP date, relative to `now`.
    pub(crate) fn parse(value: &str, now: DateTime<Utc>) -> Option<Self> {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            let delay = Duration::from_secs(seconds.min(86_400 * 365));
            let at = now + chrono::Duration::from_std(delay).ok()?;
            return Some(Self { delay, at });
        }
        let at = DateTime::parse_from_rfc2822(value)
            .ok()?
            .with_timezone(&Utc);
        let delay = (at - now).to_std().unwrap_or(Duration::ZERO);
        Some(Self { delay, at })
    }

    pub(crate) fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
        Self::parse(value, Utc::now())
    }
}

/// Atlas's error reply, with the HTTP status it came with.
///
/// Built from the JSON body Atlas sends (`error`, `errorCode`, `detail`, `reason`,
/// `parameters`, `badRequestDetail.fields`); when the body is not that JSON (e.g. an HTML page
/// from a proxy), [`body_snippet`](ApiError::body_snippet) holds its start.
///
/// ```
/// # fn check(err: atlas_migration::Error) {
/// if let atlas_migration::Error::Api(api) = &err {
///     for violation in api.field_violations() {
///         eprintln!("{}: {}", violation.field, violation.description);
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ApiError {
    inner: Box<ApiErrorInner>,
}

#[derive(Debug, Clone)]
struct ApiErrorInner {
    status: u16,
    error_code: Option<String>,
    detail: Option<String>,
    reason: Option<String>,
    parameters: Vec<serde_json::Value>,
    field_violations: Vec<FieldViolation>,
    retry_after: Option<RetryAfter>,
    body_snippet: Option<String>,
    content_type: Option<String>,
    operation: Option<&'static Operation>,
}

/// One rejected field of a 400 reply.
///
/// ```
/// # fn show(v: &atlas_migration::FieldViolation) {
/// println!("{} is wrong: {}", v.field, v.description);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct FieldViolation {
    /// The request field Atlas objected to.
    pub field: String,
    /// Why it objected.
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AtlasErrorBody {
    error_code: Option<String>,
    detail: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    parameters: Option<Vec<serde_json::Value>>,
    bad_request_detail: Option<BadRequestDetail>,
}

#[derive(Deserialize)]
struct BadRequestDetail {
    #[serde(default)]
    fields: Option<Vec<FieldViolation>>,
}

impl ApiError {
    /// Builds the error from a (capped) error reply.
    pub(crate) fn from_reply(status: u16, headers: &http::HeaderMap, body: &[u8]) -> Self {
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut inner = ApiErrorInner {
            status,
            error_code: None,
            detail: None,
            reason: None,
            parameters: Vec::new(),
            field_violations: Vec::new(),
            retry_after: RetryAfter::from_headers(headers),
            body_snippet: None,
            content_type,
            operation: None,
        };
        match serde_json::from_slice::<AtlasErrorBody>(body) {
            Ok(parsed) if parsed.error_code.is_some() || parsed.detail.is_some() => {
                inner.error_code = parsed.error_code;
                inner.detail = parsed.detail;
                inner.reason = parsed.reason;
                inner.parameters = parsed.parameters.unwrap_or_default();
                inner.field_violations = parsed
                    .bad_request_detail
                    .and_then(|d| d.fields)
                    .unwrap_or_default();
            }
            _ => inner.body_snippet = Some(snippet(body)),
        }
        Self {
            inner: Box::new(inner),
        }
    }

    /// The same error, recorded as the reply of `operation`.
    pub(crate) fn during(mut self, operation: &'static Operation) -> Self {
        self.inner.operation = Some(operation);
        self
    }

    /// The HTTP status code.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::ApiError) -> bool {
    /// e.status() == 404
    /// # }
    /// ```
    pub fn status(&self) -> u16 {
        self.inner.status
    }

    /// Atlas's `errorCode`, e.g. `RESOURCE_NOT_FOUND`; `None` when the body was not Atlas JSON.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::ApiError) -> bool {
    /// e.error_code() == Some("RESOURCE_NOT_FOUND")
    /// # }
    /// ```
    pub fn error_code(&self) -> Option<&str> {
        self.inner.error_code.as_deref()
    }

    /// Atlas's human-readable `detail`.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::ApiError) { println!("{:?}", e.detail()); }
    /// ```
    pub fn detail(&self) -> Option<&str> {
        self.inner.detail.as_deref()
    }

    /// Atlas's `reason` (the HTTP reason phrase it chose).
    ///
    /// ```
    /// # fn f(e: &atlas_migration::ApiError) { println!("{:?}", e.reason()); }
    /// ```
    pub fn reason(&self) -> Option<&str> {
        self.inner.reason.as_deref()
    }

    /// Atlas's `parameters`, the values substituted into `detail`.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::ApiError) { println!("{} parameters", e.parameters().len()); }
    /// ```
    pub fn parameters(&self) -> &[serde_json::Value] {
        &self.inner.parameters
    }

    /// The fields a 400 reply rejected (`badRequestDetail.fields`).
    ///
    /// ```
    /// # fn f(e: &atlas_migration::ApiError) { for v in e.field_violations() { println!("{}", v.field); } }
    /// ```
    pub fn field_violations(&self) -> &[FieldViolation] {
        &self.inner.field_violations
    }

    /// The start of the body, when it was not an Atlas error document (HTML, empty, garbled).
    ///
    /// ```
    /// # fn f(e: &atlas_migration::ApiError) { if let Some(s) = e.body_snippet() { println!("{s}"); } }
    /// ```
    pub fn body_snippet(&self) -> Option<&str> {
        self.inner.body_snippet.as_deref()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        write!(f, "Atlas API error: HTTP {}", i.status)?;
        if let Some(code) = &i.error_code {
            write!(f, " {code}")?;
        } else if let Some(reason) = http::StatusCode::from_u16(i.status)
            .ok()
            .and_then(|s| s.canonical_reason())
        {
            write!(f, " {reason}")?;
        }
        if let Some(detail) = &i.detail {
            write!(f, ": {detail}")?;
        }
        for (n, v) in i.field_violations.iter().enumerate() {
            let sep = if n == 0 { " (" } else { "; " };
            write!(f, "{sep}{}: {}", v.field, v.description)?;
        }
        if !i.field_violations.is_empty() {
            f.write_str(")")?;
        }
        if let Some(s) = &i.body_snippet {
            let ct = i.content_type.as_deref().unwrap_or("no content type");
            if s.is_empty() {
                write!(f, " (empty body, {ct})")?;
            } else {
                write!(f, " (not an Atlas error body, {ct}: {s:?})")?;
            }
        }
        if let Some(r) = &i.retry_after {
            write!(f, "; retry after {}s", r.delay.as_secs())?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Authentication failed.
///
/// ```
/// # fn check(err: atlas_migration::Error) {
/// if let atlas_migration::Error::Auth(auth) = &err {
///     eprintln!("authentication failed: {auth}");
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AuthError {
    message: String,
    status: Option<u16>,
    code: Option<String>,
    retry_after: Option<RetryAfter>,
}

impl AuthError {
    pub(crate) fn from_status(
        message: impl Into<String>,
        status: u16,
        code: Option<String>,
        headers: &http::HeaderMap,
    ) -> Self {
        Self {
            message: message.into(),
            status: Some(status),
            code,
            retry_after: RetryAfter::from_headers(headers),
        }
    }

    /// What went wrong, free of secrets.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::AuthError) { println!("{}", e.message()); }
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status of the refusal, if a response carried it.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::AuthError) { println!("{:?}", e.status()); }
    /// ```
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "authentication failed: {}", self.message)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status}")?;
            if let Some(code) = &self.code {
                write!(f, ", {code}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for AuthError {}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::Auth(e)
    }
}

/// An input rejected locally, naming the field and what to change.
///
/// ```
/// let err = "x".parse::<atlas_migration::GroupId>().unwrap_err();
/// if let atlas_migration::Error::InvalidInput(input) = &err {
///     assert_eq!(input.field(), "groupId");
///     assert_eq!(input.value(), Some("x"));
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    field: String,
    value: Option<String>,
    reason: String,
}

impl InvalidInput {
    /// The field (API name) that was rejected.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::InvalidInput) { println!("{}", e.field()); }
    /// ```
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The rejected value, unless it is secret.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::InvalidInput) { println!("{:?}", e.value()); }
    /// ```
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// Why it was rejected and what to change.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::InvalidInput) { println!("{}", e.reason()); }
    /// ```
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "invalid {} {:?}: {}", self.field, v, self.reason),
            None => write!(f, "invalid {}: {}", self.field, self.reason),
        }
    }
}

impl std::error::Error for InvalidInput {}

/// A success response whose body could not be decoded.
///
/// ```
/// # fn check(err: atlas_migration::Error) {
/// if let atlas_migration::Error::Decode(d) = &err {
///     eprintln!("{}: {}", d.operation(), d.message());
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DecodeError {
    operation: &'static str,
    status: Option<u16>,
    message: String,
    snippet: Option<String>,
}

impl DecodeError {
    /// `snippet_of` is `None` for operations whose replies carry secrets.
    pub(crate) fn new(
        operation: &'static str,
        status: Option<u16>,
        message: impl Into<String>,
        snippet_of: Option<&[u8]>,
    ) -> Self {
        Self {
            operation,
            status,
            message: message.into(),
            snippet: snippet_of.map(snippet),
        }
    }

    /// The operation whose reply failed to decode.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::DecodeError) { println!("{}", e.operation()); }
    /// ```
    pub fn operation(&self) -> &str {
        self.operation
    }

    /// The decoder's complaint.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::DecodeError) { println!("{}", e.message()); }
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The start of the body (at most 200 characters), when it is safe to show.
    ///
    /// ```
    /// # fn f(e: &atlas_migration::DecodeError) { println!("{:?}", e.snippet()); }
    /// ```
    pub fn snippet(&self) -> Option<&str> {
        self.snippet.as_deref()
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not decode the {} reply", self.operation)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(s) = &self.snippet {
            write!(f, "; body starts {s:?}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}

/// The start of `body` as text: lossy UTF-8, control characters replaced, capped.
pub(crate) fn snippet(body: &[u8]) -> String {
    let head = &body[..body.len().min(SNIPPET_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    let mut out: String = text
        .chars()
        .take(SNIPPET_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > SNIPPET_CHARS || body.len() > head.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
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
        use atlas_migration_sys::operations::{CREATE_PUSH_MIGRATION, GET_PUSH_MIGRATION};
        let read = during(&GET_PUSH_MIGRATION);
        assert!(read.is_transient() && read.is_retryable());
        assert_eq!(read.operation(), Some("get_push_migration"));
        let create = during(&CREATE_PUSH_MIGRATION);
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
