//! The one error type of this crate: an opaque [`Error`] with a [`kind`](Error::kind) and
//! predicates, as reqwest's.
//!
//! What each kind carries is private, one file per kind: an error reply (`api.rs`),
//! authentication (`auth.rs`), an input refused locally (`input.rs`), a transport failure
//! (`transport.rs`), a reply that does not decode (`decode.rs`), a redirect (`redirect.rs`),
//! a budget wait past the deadline (`budget.rs`); `retry_after.rs` and `snippet.rs` hold what
//! they share. Every question about an error ([`Error::is_retryable`], whether it may have
//! been processed) goes through [`classify`](crate::classify).

mod api;
mod auth;
mod budget;
mod decode;
mod input;
mod redirect;
mod retry_after;
mod snippet;
mod transport;

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub(crate) use api::ApiError;
pub use api::FieldViolation;
pub(crate) use auth::{AuthCause, AuthError};
pub(crate) use budget::BudgetError;
pub(crate) use decode::{DecodeError, DecodeKind};
pub(crate) use input::InvalidInput;
pub(crate) use redirect::{RedirectError, refuse_redirect};
pub(crate) use retry_after::RetryAfter;
pub(crate) use snippet::snippet;
pub(crate) use transport::TransportError;

use crate::classify::{self, Attempt, is_transient_status};

/// Everything that can go wrong when calling the Cloud Migration Service.
///
/// Ask it questions rather than matching on it: [`kind`](Error::kind) says what failed, and
/// predicates and accessors ([`status`](Error::status), [`error_code`](Error::error_code),
/// [`is_not_found`](Error::is_not_found), [`is_retryable`](Error::is_retryable), ...) answer
/// the rest. No error ever carries a credential, token or password.
///
/// ```
/// use atlas_migration::{ErrorKind, GroupId};
///
/// let err = "oops".parse::<GroupId>().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// assert_eq!(err.input_field(), Some("groupId"));
/// assert_eq!(err.status(), None);
/// assert_eq!(err.to_string(), r#"invalid groupId "oops": must be 24 lowercase hexadecimal digits"#);
/// ```
pub struct Error(Repr);

/// What an [`Error`] holds: one of the private kinds.
#[derive(Debug)]
pub(crate) enum Repr {
    Api(ApiError),
    Auth(AuthError),
    InvalidInput(InvalidInput),
    Transport(TransportError),
    Decode(DecodeError),
    Redirect(RedirectError),
    Budget(BudgetError),
}

impl Repr {
    /// The kind's own error, which says everything (message and source).
    fn inner(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        match self {
            Repr::Api(e) => e,
            Repr::Auth(e) => e,
            Repr::InvalidInput(e) => e,
            Repr::Transport(e) => e,
            Repr::Decode(e) => e,
            Repr::Redirect(e) => e,
            Repr::Budget(e) => e,
        }
    }
}

/// What kind of failure an [`Error`] is ([`Error::kind`]). More kinds may be added.
///
/// ```
/// # fn check(err: atlas_migration::Error) {
/// use atlas_migration::ErrorKind;
///
/// match err.kind() {
///     ErrorKind::Api => eprintln!("Atlas refused: {err}"),
///     ErrorKind::Transport => eprintln!("no reply: {err}"),
///     _ => eprintln!("{err}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Atlas answered with an error status (4xx or 5xx) after any retries:
    /// [`status`](Error::status), [`error_code`](Error::error_code),
    /// [`detail`](Error::detail), [`field_violations`](Error::field_violations).
    Api,
    /// Authentication failed: credentials refused, a token endpoint's error, or a broken
    /// challenge.
    Auth,
    /// An input was rejected locally; no request was sent ([`input_field`](Error::input_field)).
    InvalidInput,
    /// The request could not be sent or its reply not received (connect, timeout, I/O).
    Transport,
    /// A success reply could not be used: it does not decode, is over
    /// [`ClientBuilder::max_reply_size`](crate::ClientBuilder::max_reply_size), or names
    /// another resource than the one asked for.
    Decode,
    /// A reply redirected the request; redirects are never followed
    /// ([`redirect_target`](Error::redirect_target)).
    Redirect,
    /// The request was not sent: waiting for rate-limit budget (or a request slot) would have
    /// run past the caller's deadline ([`refusals`](Error::refusals)).
    Budget,
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

// Transparent, as each kind's message is complete: its text, and its source's.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0.inner(), f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.inner().source()
    }
}

/// `Error::from` each kind, as its variant of [`Repr`].
macro_rules! from_kind {
    ($($kind:ident => $variant:ident),* $(,)?) => {$(
        impl From<$kind> for Error {
            fn from(e: $kind) -> Self {
                Error(Repr::$variant(e))
            }
        }
    )*};
}
from_kind!(
    ApiError => Api,
    AuthError => Auth,
    InvalidInput => InvalidInput,
    TransportError => Transport,
    DecodeError => Decode,
    RedirectError => Redirect,
    BudgetError => Budget,
);

impl Error {
    pub(crate) fn invalid_input(
        field: impl Into<String>,
        value: Option<&str>,
        reason: impl Into<String>,
    ) -> Self {
        Error::from(InvalidInput {
            field: field.into(),
            value: value.map(str::to_owned),
            reason: reason.into(),
        })
    }

    pub(crate) fn auth(message: impl Into<String>) -> Self {
        Error::from(AuthError {
            message: message.into(),
            status: None,
            code: None,
            retry_after: None,
            cause: AuthCause::default(),
        })
    }

    /// What this error holds, for the crate's own decisions.
    pub(crate) fn repr(&self) -> &Repr {
        &self.0
    }

    /// The same error with what it holds changed by `f`.
    pub(crate) fn map_repr(self, f: impl FnOnce(Repr) -> Repr) -> Self {
        Error(f(self.0))
    }

    /// What kind of failure this is.
    ///
    /// ```
    /// let err = "x".parse::<atlas_migration::OrgId>().unwrap_err();
    /// assert_eq!(err.kind(), atlas_migration::ErrorKind::InvalidInput);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match &self.0 {
            Repr::Api(_) => ErrorKind::Api,
            Repr::Auth(_) => ErrorKind::Auth,
            Repr::InvalidInput(_) => ErrorKind::InvalidInput,
            Repr::Transport(_) => ErrorKind::Transport,
            Repr::Decode(_) => ErrorKind::Decode,
            Repr::Redirect(_) => ErrorKind::Redirect,
            Repr::Budget(_) => ErrorKind::Budget,
        }
    }

    /// The HTTP status of the response behind this error, if there was one.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.status() == Some(409) { /* conflict: e.g. a migration already exists */ }
    /// # }
    /// ```
    pub fn status(&self) -> Option<u16> {
        match &self.0 {
            Repr::Api(e) => Some(e.status()),
            Repr::Auth(e) => e.status,
            Repr::Decode(e) => e.status,
            Repr::Transport(e) => e.source.status().map(|s| s.as_u16()),
            Repr::Redirect(e) => Some(e.status),
            Repr::InvalidInput(_) | Repr::Budget(_) => None,
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
        match &self.0 {
            Repr::Api(e) => e.error_code(),
            Repr::Auth(e) => e.code.as_deref(),
            _ => None,
        }
    }

    /// Atlas's `detail`, the human explanation of an error reply.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if let Some(detail) = err.detail() { eprintln!("Atlas says: {detail}"); }
    /// # }
    /// ```
    pub fn detail(&self) -> Option<&str> {
        match &self.0 {
            Repr::Api(e) => e.detail(),
            _ => None,
        }
    }

    /// The request fields a 400 reply rejected (`badRequestDetail.fields`); empty for
    /// other errors.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// for violation in err.field_violations() {
    ///     eprintln!("{}: {}", violation.field, violation.description);
    /// }
    /// # }
    /// ```
    pub fn field_violations(&self) -> &[FieldViolation] {
        match &self.0 {
            Repr::Api(e) => e.field_violations(),
            _ => &[],
        }
    }

    /// The `parameters` of an error reply (the values its detail names); empty for other
    /// errors.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// println!("{} parameters", err.parameters().len());
    /// # }
    /// ```
    pub fn parameters(&self) -> &[serde_json::Value] {
        match &self.0 {
            Repr::Api(e) => e.parameters(),
            _ => &[],
        }
    }

    /// The start of a reply's body (at most 200 characters) when it was not what the spec
    /// describes: an error reply that is not Atlas's JSON (e.g. a proxy's HTML page), or a
    /// success reply that did not decode (not kept for replies that carry secrets).
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if let Some(body) = err.body_snippet() { eprintln!("the reply began: {body}"); }
    /// # }
    /// ```
    pub fn body_snippet(&self) -> Option<&str> {
        match &self.0 {
            Repr::Api(e) => e.body_snippet(),
            Repr::Decode(e) => e.snippet(),
            _ => None,
        }
    }

    /// The input a [`ErrorKind::InvalidInput`] error rejected: its field's name as the API
    /// spells it (e.g. `groupId`, `source.clusterName`).
    ///
    /// ```
    /// let err = "x".parse::<atlas_migration::OrgId>().unwrap_err();
    /// assert_eq!(err.input_field(), Some("orgId"));
    /// ```
    pub fn input_field(&self) -> Option<&str> {
        match &self.0 {
            Repr::InvalidInput(e) => Some(e.field()),
            _ => None,
        }
    }

    /// The rejected value of an [`ErrorKind::InvalidInput`] error, when it is safe to show
    /// (never a secret).
    ///
    /// ```
    /// let err = "x".parse::<atlas_migration::OrgId>().unwrap_err();
    /// assert_eq!(err.input_value(), Some("x"));
    /// ```
    pub fn input_value(&self) -> Option<&str> {
        match &self.0 {
            Repr::InvalidInput(e) => e.value(),
            _ => None,
        }
    }

    /// Where a refused redirect pointed (its `Location`), when it said.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if let Some(target) = err.redirect_target() { eprintln!("check the base URL: {target}"); }
    /// # }
    /// ```
    pub fn redirect_target(&self) -> Option<&str> {
        match &self.0 {
            Repr::Redirect(e) => e.target(),
            _ => None,
        }
    }

    /// How many times Atlas's rate limit refused a call (429) before the client gave up
    /// waiting for budget ([`ErrorKind::Budget`]); 0 for other errors.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.refusals() > 0 { eprintln!("others are spending this organization's budget"); }
    /// # }
    /// ```
    pub fn refusals(&self) -> u32 {
        match &self.0 {
            Repr::Budget(e) => e.refusals(),
            _ => 0,
        }
    }

    /// Whether Atlas (or its token endpoint) answered 429 Too Many Requests, or the client
    /// did not send the call because Atlas's rate limit would have held it past its deadline.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_rate_limited() {
    ///     let wait = err.retry_after();
    /// }
    /// # }
    /// ```
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429) || matches!(&self.0, Repr::Budget(b) if b.wait().is_some())
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

    /// Whether this is an authentication failure ([`ErrorKind::Auth`]).
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_auth() { eprintln!("check the API key or service account: {err}"); }
    /// # }
    /// ```
    pub fn is_auth(&self) -> bool {
        self.kind() == ErrorKind::Auth
    }

    /// Whether a reply redirected the request ([`ErrorKind::Redirect`]; never followed).
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_redirect() { eprintln!("check the base URL: {err}"); }
    /// # }
    /// ```
    pub fn is_redirect(&self) -> bool {
        self.kind() == ErrorKind::Redirect
    }

    /// Whether an input was rejected before any request was sent
    /// ([`ErrorKind::InvalidInput`]).
    ///
    /// ```
    /// assert!("x".parse::<atlas_migration::OrgId>().unwrap_err().is_invalid_input());
    /// ```
    pub fn is_invalid_input(&self) -> bool {
        self.kind() == ErrorKind::InvalidInput
    }

    /// Whether Atlas could not be reached (the connection failed, so the call was not sent),
    /// or a service account's token endpoint could not be reached.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_connect() { eprintln!("is Atlas reachable from here? {err}"); }
    /// # }
    /// ```
    pub fn is_connect(&self) -> bool {
        matches!(&self.0, Repr::Transport(e) if e.is_connect())
            || matches!(&self.0, Repr::Auth(e) if e.cause == AuthCause::Unreachable)
    }

    /// Whether a success reply was refused for being longer than
    /// [`ClientBuilder::max_reply_size`](crate::ClientBuilder::max_reply_size) allows (it
    /// was not read further).
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_reply_too_large() { eprintln!("raise ClientBuilder::max_reply_size? {err}"); }
    /// # }
    /// ```
    pub fn is_reply_too_large(&self) -> bool {
        matches!(&self.0, Repr::Decode(e) if e.is_too_large())
    }

    /// Whether a success reply described another resource than the one asked for (another
    /// `_id` or project): it was not returned, as it may be another migration's state.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.is_identity_mismatch() {
    ///     eprintln!("a proxy or cache answered for another resource: {err}");
    /// }
    /// # }
    /// ```
    pub fn is_identity_mismatch(&self) -> bool {
        matches!(&self.0, Repr::Decode(e) if e.is_mismatched())
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
        match &self.0 {
            Repr::Api(e) => e.inner.retry_after.as_ref(),
            Repr::Auth(e) => e.retry_after.as_ref(),
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
        match &self.0 {
            Repr::Transport(e) => e.is_connect() || e.is_timeout(),
            Repr::Api(e) => is_transient_status(e.status()),
            Repr::Auth(e) => e.is_transient(),
            // Nothing was sent; budget comes back with time.
            Repr::Budget(_) => true,
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
        match &self.0 {
            Repr::Transport(e) => e.is_timeout(),
            Repr::Auth(e) => e.is_timeout(),
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
        let idempotent = match &self.0 {
            Repr::Api(e) => e.inner.operation.is_some_and(|op| op.idempotent),
            Repr::Transport(e) => e.operation.is_some_and(|op| op.idempotent),
            _ => false,
        };
        self.may_repeat(idempotent)
    }

    /// Whether a call that failed with this error may be sent again, for a call that is
    /// (`idempotent`) or is not safe to repeat; decided by [`classify::decide`].
    pub(crate) fn may_repeat(&self, idempotent: bool) -> bool {
        let attempt = match &self.0 {
            Repr::Api(e) => Attempt::Replied {
                status: e.status(),
                headers: &http::HeaderMap::new(),
            },
            Repr::Transport(e) if e.is_connect() => Attempt::ConnectFailed,
            Repr::Transport(_) => Attempt::NoReply,
            // Token or challenge endpoints failing before the call itself was sent.
            Repr::Auth(e) => return e.is_transient(),
            Repr::InvalidInput(_) | Repr::Decode(_) | Repr::Redirect(_) => return false,
            // Nothing was sent.
            Repr::Budget(_) => Attempt::NotProcessed,
        };
        classify::decide(idempotent, attempt).repeats()
    }

    /// Whether Atlas may have acted on the failed call: no reply, a 5xx, a redirect after a
    /// `POST`, or a success reply that could not be used. `false` when the connection was
    /// refused, the call was rate limited or refused with another 4xx, or nothing was sent.
    /// After a create, `true` means: look before creating again.
    ///
    /// ```
    /// # fn check(err: atlas_migration::Error) {
    /// if err.may_have_been_processed() { /* list or get before sending the create again */ }
    /// # }
    /// ```
    pub fn may_have_been_processed(&self) -> bool {
        match &self.0 {
            Repr::Api(e) => classify::may_have_acted(Attempt::Replied {
                status: e.status(),
                headers: &http::HeaderMap::new(),
            }),
            Repr::Transport(e) => classify::may_have_acted(if e.is_connect() {
                Attempt::ConnectFailed
            } else {
                Attempt::NoReply
            }),
            // A 2xx arrived: the server acted.
            Repr::Decode(_) => true,
            // A 303 is what a server sends after acting on a POST.
            Repr::Redirect(_) => true,
            Repr::Auth(_) | Repr::InvalidInput(_) | Repr::Budget(_) => false,
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
        match &self.0 {
            Repr::Api(e) => e.inner.operation.map(|op| op.name),
            Repr::Transport(e) => e.operation.map(|op| op.name),
            Repr::Decode(e) => Some(e.operation),
            Repr::Redirect(e) => Some(e.during),
            Repr::Budget(e) => Some(e.operation),
            Repr::Auth(_) | Repr::InvalidInput(_) => None,
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
        let e = Error::from(ApiError::from_reply(
            429,
            &headers(&[("retry-after", "3")]),
            br#"{"error":429,"errorCode":"RATE_LIMITED"}"#,
        ));
        assert!(e.is_rate_limited() && e.is_transient() && e.is_retryable());
        let during = |op| Error::from(ApiError::from_reply(503, &headers(&[]), b"{}").during(op));
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
        let e = Error::from(ApiError::from_reply(404, &headers(&[]), b"{}"));
        assert!(e.is_not_found() && !e.is_transient());
    }

    #[test]
    fn each_kind_answers_its_own_questions_and_no_others() {
        use atlas_migration_sys::operations::GET_MIGRATION;
        let input = Error::invalid_input("groupId", Some("oops"), "must be 24 hex digits");
        assert_eq!(input.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            (input.input_field(), input.input_value()),
            (Some("groupId"), Some("oops"))
        );
        assert!(!input.may_have_been_processed() && !input.is_retryable());

        let sent = reqwest::Url::parse("https://cloud.mongodb.com/api/atlas/v2").unwrap();
        let location = http::HeaderValue::from_static("https://user:pw@elsewhere.example:8443/x?y");
        let redirect = Error::from(RedirectError::new(
            302,
            &sent,
            Some(&location),
            "get_migration",
        ));
        assert_eq!(redirect.kind(), ErrorKind::Redirect);
        assert_eq!(
            redirect.redirect_target(),
            Some("https://elsewhere.example:8443")
        );
        assert_eq!(
            (redirect.status(), redirect.operation()),
            (Some(302), Some("get_migration"))
        );
        assert_eq!(redirect.input_field(), None);

        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let budget = Error::from(
            BudgetError::new("get_migration", Some(Duration::from_secs(9)), deadline)
                .after_refusals(3),
        );
        assert_eq!(budget.kind(), ErrorKind::Budget);
        assert_eq!(budget.refusals(), 3);
        assert!(budget.is_rate_limited() && budget.is_transient());
        assert!(!budget.may_have_been_processed(), "nothing was sent");
        assert_eq!(redirect.refusals(), 0);

        let large = Error::from(
            DecodeError::new("get_migration", Some(200), "too long", Some(b"{\"_id\":"))
                .of_kind(DecodeKind::TooLarge),
        );
        assert_eq!(large.kind(), ErrorKind::Decode);
        assert!(large.is_reply_too_large() && !large.is_identity_mismatch());
        assert_eq!(large.body_snippet(), Some("{\"_id\":"));
        assert!(large.may_have_been_processed(), "a 2xx arrived");
        let mismatch = Error::from(
            DecodeError::new("get_migration", Some(200), "another _id", None)
                .of_kind(DecodeKind::Mismatched),
        );
        assert!(mismatch.is_identity_mismatch() && mismatch.body_snippet().is_none());

        let body = br#"{"error":400,"errorCode":"INVALID_ATTRIBUTE","detail":"Bad.","parameters":["x"],"badRequestDetail":{"fields":[{"field":"x","description":"blank"}]}}"#;
        let api =
            Error::from(ApiError::from_reply(400, &headers(&[]), body).during(&GET_MIGRATION));
        assert_eq!(api.kind(), ErrorKind::Api);
        assert_eq!((api.detail(), api.parameters().len()), (Some("Bad."), 1));
        assert_eq!(api.field_violations()[0].description, "blank");
        assert!(
            !api.may_have_been_processed(),
            "a 4xx other than 429 changed nothing"
        );
        assert_eq!(api.redirect_target(), None);
        assert!(!api.is_connect() && !api.is_reply_too_large());
    }
}
