//! An error reply from Atlas: its status and what its JSON body said.

use std::fmt;

use atlas_migration_sys::operations::Operation;
use serde::Deserialize;

use super::{RetryAfter, snippet};

/// Atlas's error reply, with the HTTP status it came with.
///
/// Built from the JSON body Atlas sends (`error`, `errorCode`, `detail`, `reason`,
/// `parameters`, `badRequestDetail.fields`); when the body is not that JSON (e.g. an HTML page
/// from a proxy), [`body_snippet`](ApiError::body_snippet) holds its start.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(super) inner: Box<ApiErrorInner>,
}

#[derive(Debug, Clone)]
pub(super) struct ApiErrorInner {
    pub(super) status: u16,
    pub(super) error_code: Option<String>,
    pub(super) detail: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) parameters: Vec<serde_json::Value>,
    pub(super) field_violations: Vec<FieldViolation>,
    pub(super) retry_after: Option<RetryAfter>,
    pub(super) body_snippet: Option<String>,
    pub(super) content_type: Option<String>,
    pub(super) operation: Option<&'static Operation>,
}

/// One rejected field of a 400 reply ([`Error::field_violations`](crate::Error::field_violations)).
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
    pub(super) error_code: Option<String>,
    pub(super) detail: Option<String>,
    pub(super) reason: Option<String>,
    #[serde(default)]
    pub(super) parameters: Option<Vec<serde_json::Value>>,
    pub(super) bad_request_detail: Option<BadRequestDetail>,
}

#[derive(Deserialize)]
struct BadRequestDetail {
    #[serde(default)]
    pub(super) fields: Option<Vec<FieldViolation>>,
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
    pub(crate) fn status(&self) -> u16 {
        self.inner.status
    }

    /// Atlas's `errorCode`, e.g. `RESOURCE_NOT_FOUND`; `None` when the body was not Atlas JSON.
    pub(crate) fn error_code(&self) -> Option<&str> {
        self.inner.error_code.as_deref()
    }

    /// Atlas's human-readable `detail`.
    pub(crate) fn detail(&self) -> Option<&str> {
        self.inner.detail.as_deref()
    }

    /// Atlas's `parameters`, the values substituted into `detail`.
    pub(crate) fn parameters(&self) -> &[serde_json::Value] {
        &self.inner.parameters
    }

    /// The fields a 400 reply rejected (`badRequestDetail.fields`).
    pub(crate) fn field_violations(&self) -> &[FieldViolation] {
        &self.inner.field_violations
    }

    /// The start of the body, when it was not an Atlas error document (HTML, empty, garbled).
    pub(crate) fn body_snippet(&self) -> Option<&str> {
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
        if let Some(op) = i.operation {
            write!(f, " [{} {} {}]", op.name, op.method, op.path)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
