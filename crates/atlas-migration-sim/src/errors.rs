//! Atlas-shaped error bodies (`ApiError` of the spec).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One rejected field of a request body (`FieldViolation` of the spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldViolation {
    /// Dotted path of the field, e.g. `source.clusterName`.
    pub field: String,
    /// Why it was rejected.
    pub description: String,
}

impl FieldViolation {
    pub(crate) fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

#[derive(Debug, Serialize)]
struct BadRequestDetail {
    fields: Vec<FieldViolation>,
}

/// An error response in the shape Atlas uses (boxed: it travels in `Result`s).
#[derive(Debug)]
pub(crate) struct ApiError(Box<ErrorBody>);

#[derive(Debug, Serialize)]
struct ErrorBody {
    #[serde(skip)]
    status: StatusCode,
    #[serde(skip)]
    headers: Vec<(header::HeaderName, HeaderValue)>,
    error: u16,
    #[serde(rename = "errorCode")]
    error_code: &'static str,
    detail: String,
    reason: &'static str,
    /// The spec: "array of objects" without a shape; each value is sent as `{"value": ..}`.
    parameters: Vec<serde_json::Value>,
    #[serde(rename = "badRequestDetail", skip_serializing_if = "Option::is_none")]
    bad_request_detail: Option<BadRequestDetail>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        error_code: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self(Box::new(ErrorBody {
            status,
            headers: Vec::new(),
            error: status.as_u16(),
            error_code,
            detail: detail.into(),
            reason: status.canonical_reason().unwrap_or("Error"),
            parameters: Vec::new(),
            bad_request_detail: None,
        }))
    }

    pub(crate) fn param(mut self, value: impl Into<String>) -> Self {
        self.0
            .parameters
            .push(serde_json::json!({ "value": value.into() }));
        self
    }

    pub(crate) fn header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }

    pub(crate) fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            format!("Cannot find resource {what} with id {id}."),
        )
        .param(id)
    }

    pub(crate) fn invalid_fields(fields: Vec<FieldViolation>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ATTRIBUTE",
            format!(
                "Invalid request body: {}.",
                fields
                    .iter()
                    .map(|f| format!("{} {}", f.field, f.description))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        );
        e.0.bad_request_detail = Some(BadRequestDetail { fields });
        e
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "You are not authorized for this resource.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&*self.0).unwrap_or_default();
        let mut resp = (self.0.status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in self.0.headers {
            headers.append(name, value);
        }
        resp
    }
}
