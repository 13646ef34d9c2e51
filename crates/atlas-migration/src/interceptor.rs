//! [`Interceptor`]: a seam that sees each attempt of each call, for tracing headers
//! (`traceparent`), metrics and logs. It may add headers but never touch the ones the client
//! owns (credentials, content negotiation, framing).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::Error;

/// Sees every attempt: [`on_request`](Self::on_request) before it is sent (it may add
/// headers), [`on_response`](Self::on_response) once it is answered or has failed. Retries
/// are separate attempts. Both run on the calling task and should be quick.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use atlas_migration::{AttemptRequest, AttemptResponse, Interceptor};
///
/// #[derive(Default)]
/// struct Attempts(AtomicU64);
///
/// impl Interceptor for Attempts {
///     fn on_request(&self, request: &mut AttemptRequest<'_>) {
///         let _ = request.insert_header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
///     }
///     fn on_response(&self, response: &AttemptResponse<'_>) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         println!("{} attempt {}: {:?} in {:?}", response.operation(), response.attempt(), response.status(), response.elapsed());
///     }
/// }
///
/// let client = atlas_migration::Client::builder()
///     .api_key("pub", "priv".to_owned())
///     .interceptor(Attempts::default())
///     .build()?;
/// # Ok::<(), atlas_migration::Error>(())
/// ```
pub trait Interceptor: Send + Sync + 'static {
    /// Called before each attempt is sent.
    fn on_request(&self, request: &mut AttemptRequest<'_>) {
        let _ = request;
    }

    /// Called after each attempt, answered or failed.
    fn on_response(&self, response: &AttemptResponse<'_>) {
        let _ = response;
    }
}

/// A client's interceptors, in the order added.
#[derive(Clone, Default)]
pub(crate) struct Interceptors(pub(crate) Vec<Arc<dyn Interceptor>>);

impl fmt::Debug for Interceptors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} interceptor(s)", self.0.len())
    }
}

/// Headers an interceptor may not set: the client's credentials and content negotiation,
/// and the framing of the request.
const PROTECTED: [HeaderName; 8] = [
    http::header::AUTHORIZATION,
    http::header::PROXY_AUTHORIZATION,
    http::header::COOKIE,
    http::header::ACCEPT,
    http::header::CONTENT_TYPE,
    http::header::CONTENT_LENGTH,
    http::header::HOST,
    http::header::TRANSFER_ENCODING,
];

/// One attempt about to be sent, as an [`Interceptor`] sees it.
pub struct AttemptRequest<'a> {
    pub(crate) operation: &'static str,
    pub(crate) attempt: u32,
    pub(crate) method: &'static str,
    pub(crate) url_template: &'static str,
    pub(crate) headers: &'a mut HeaderMap,
}

impl fmt::Debug for AttemptRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttemptRequest")
            .field("operation", &self.operation)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl AttemptRequest<'_> {
    /// The operation's stable name, e.g. `get_migration`.
    ///
    /// ```
    /// # fn f(r: &atlas_migration::AttemptRequest<'_>) -> &'static str { r.operation() }
    /// ```
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The attempt's number, from 1.
    ///
    /// ```
    /// # fn f(r: &atlas_migration::AttemptRequest<'_>) -> u32 { r.attempt() }
    /// ```
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The HTTP method.
    ///
    /// ```
    /// # fn f(r: &atlas_migration::AttemptRequest<'_>) -> &'static str { r.method() }
    /// ```
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// The path template, e.g. `/api/atlas/v2/groups/{groupId}/liveMigrations/{liveMigrationId}`.
    ///
    /// ```
    /// # fn f(r: &atlas_migration::AttemptRequest<'_>) -> &'static str { r.url_template() }
    /// ```
    pub fn url_template(&self) -> &'static str {
        self.url_template
    }

    /// Adds (or replaces) a header on this attempt. `Authorization`, `Proxy-Authorization`,
    /// `Cookie`, `Accept`, `Content-Type`, `Content-Length`, `Host` and `Transfer-Encoding`
    /// belong to the client and are refused, as are invalid names and values: an error of
    /// kind [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the header
    /// (never its value, which may be a secret).
    ///
    /// ```
    /// # fn f(r: &mut atlas_migration::AttemptRequest<'_>) {
    /// assert!(r.insert_header("x-request-source", "billing-service").is_ok());
    /// assert!(r.insert_header("authorization", "Bearer stolen").is_err());
    /// # }
    /// ```
    pub fn insert_header(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let refused = |reason: &str| Error::invalid_input("header", Some(name), reason);
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| refused("not a valid header name"))?;
        if PROTECTED.contains(&name) {
            return Err(refused(
                "it belongs to the client and cannot be set by an interceptor",
            ));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| refused("its value is not a valid header value"))?;
        self.headers.insert(name, value);
        Ok(())
    }
}

/// One attempt's result, as an [`Interceptor`] sees it.
#[derive(Debug)]
pub struct AttemptResponse<'a> {
    pub(crate) operation: &'static str,
    pub(crate) attempt: u32,
    pub(crate) status: Option<u16>,
    pub(crate) elapsed: Duration,
    pub(crate) error_type: Option<&'a str>,
}

impl AttemptResponse<'_> {
    /// The operation's stable name.
    ///
    /// ```
    /// # fn f(r: &atlas_migration::AttemptResponse<'_>) -> &'static str { r.operation() }
    /// ```
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The attempt's number, from 1.
    ///
    /// ```
    /// # fn f(r: &atlas_migration::AttemptResponse<'_>) -> u32 { r.attempt() }
    /// ```
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The reply's status, if one arrived.
    ///
    /// ```
    /// # fn f(r: &atlas_migration::AttemptResponse<'_>) -> Option<u16> { r.status() }
    /// ```
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// From sending to the reply's headers (or the failure).
    ///
    /// ```
    /// # fn f(r: &atlas_migration::AttemptResponse<'_>) -> std::time::Duration { r.elapsed() }
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// What went wrong, in OpenTelemetry's `error.type` terms (the status code for an error
    /// status, else `timeout`, `connect`, `transport`, `auth`, `redirect`, ...); `None` for a
    /// success.
    ///
    /// ```
    /// # fn f<'a>(r: &'a atlas_migration::AttemptResponse<'_>) -> Option<&'a str> { r.error_type() }
    /// ```
    pub fn error_type(&self) -> Option<&str> {
        self.error_type
    }
}
