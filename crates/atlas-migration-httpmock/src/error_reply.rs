//! [`ErrorReply`]: an error answer in Atlas's shape, for any operation's stub.
//!
//! Atlas answers an error with its HTTP status and a JSON body naming the error
//! (`error`, `errorCode`, `detail`, `reason`, `parameters`, and for a rejected request
//! `badRequestDetail.fields`). The client reads that body into its `Error` (`status`,
//! `error_code`, `detail`, `field_violations`), so a stub built from this type exercises the
//! same decoding a real refusal does.

use std::time::Duration;

use serde_json::{Value, json};

/// An Atlas error reply: a status, the JSON body Atlas sends with it, and any extra headers.
///
/// Answer a stub with it through the `error` method every operation's `then` side has.
///
/// ```
/// use atlas_migration_httpmock::ErrorReply;
///
/// let conflict = ErrorReply::new(409, "CANNOT_CUTOVER")
///     .detail("The migration is not ready for cutover.")
///     .parameter("507f1f77bcf86cd799439011");
/// assert_eq!(conflict.status(), 409);
/// assert_eq!(conflict.body()["reason"], "Conflict");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReply {
    status: u16,
    error_code: String,
    detail: Option<String>,
    reason: Option<String>,
    parameters: Vec<Value>,
    field_violations: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl ErrorReply {
    /// An error with HTTP `status` and Atlas's `errorCode`, e.g. `404` and
    /// `"RESOURCE_NOT_FOUND"`. The `reason` is the status's standard phrase ("Not Found")
    /// unless [`reason`](Self::reason) sets another; `parameters` is empty and there is no
    /// `detail` until set.
    ///
    /// ```
    /// use atlas_migration_httpmock::ErrorReply;
    ///
    /// let missing = ErrorReply::new(404, "RESOURCE_NOT_FOUND");
    /// assert_eq!(missing.body()["errorCode"], "RESOURCE_NOT_FOUND");
    /// assert_eq!(missing.body()["error"], 404);
    /// ```
    pub fn new(status: u16, error_code: impl Into<String>) -> Self {
        Self {
            status,
            error_code: error_code.into(),
            detail: None,
            reason: None,
            parameters: Vec::new(),
            field_violations: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Atlas's rate-limit refusal: `429`, `errorCode` `RATE_LIMITED` (the example of Atlas's
    /// Admin API spec) and `Retry-After` of `retry_after` in whole seconds (rounded up).
    ///
    /// A client retries a 429 after `Retry-After`; give the client under test a retry policy
    /// that stops (`RetryPolicy::never()`), or let the stub answer only so many times
    /// (`into_inner().up_to_n_times(n)`) with a success stub behind it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use atlas_migration_httpmock::ErrorReply;
    ///
    /// let refused = ErrorReply::rate_limited(Duration::from_millis(1500));
    /// assert_eq!(refused.status(), 429);
    /// assert_eq!(refused.headers(), [("retry-after".to_owned(), "2".to_owned())]);
    /// ```
    pub fn rate_limited(retry_after: Duration) -> Self {
        Self::new(429, "RATE_LIMITED").retry_after(retry_after)
    }

    /// Sets `detail`, the human-readable explanation.
    ///
    /// ```
    /// # use atlas_migration_httpmock::ErrorReply;
    /// let e = ErrorReply::new(400, "INVALID_ATTRIBUTE").detail("Invalid attribute clusterName.");
    /// assert_eq!(e.body()["detail"], "Invalid attribute clusterName.");
    /// ```
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Sets `reason` instead of the status's standard phrase.
    ///
    /// ```
    /// # use atlas_migration_httpmock::ErrorReply;
    /// let e = ErrorReply::new(403, "ORG_REQUIRES_ACCESS_LIST").reason("Forbidden by policy");
    /// assert_eq!(e.body()["reason"], "Forbidden by policy");
    /// ```
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Appends a value to `parameters` (the values Atlas substituted into `detail`).
    ///
    /// ```
    /// # use atlas_migration_httpmock::ErrorReply;
    /// let e = ErrorReply::new(404, "GROUP_NOT_FOUND").parameter("32b6e34b3d91647abb20e7b8");
    /// assert_eq!(e.body()["parameters"][0], "32b6e34b3d91647abb20e7b8");
    /// ```
    pub fn parameter(mut self, value: impl Into<Value>) -> Self {
        self.parameters.push(value.into());
        self
    }

    /// Adds a rejected request field to `badRequestDetail.fields`, as Atlas reports each
    /// field a 400 objects to.
    ///
    /// ```
    /// # use atlas_migration_httpmock::ErrorReply;
    /// let e = ErrorReply::new(400, "VALIDATION_ERROR")
    ///     .field_violation("source.clusterName", "must not be blank");
    /// assert_eq!(e.body()["badRequestDetail"]["fields"][0]["field"], "source.clusterName");
    /// ```
    pub fn field_violation(
        mut self,
        field: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.field_violations
            .push((field.into(), description.into()));
        self
    }

    /// Sends `Retry-After` with `delay` in whole seconds, rounded up.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use atlas_migration_httpmock::ErrorReply;
    /// let busy = ErrorReply::new(503, "SERVICE_UNAVAILABLE").retry_after(Duration::from_secs(3));
    /// assert_eq!(busy.headers(), [("retry-after".to_owned(), "3".to_owned())]);
    /// ```
    pub fn retry_after(self, delay: Duration) -> Self {
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        self.header("retry-after", seconds.to_string())
    }

    /// Sends one more header, e.g. `RateLimit-Remaining`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use atlas_migration_httpmock::ErrorReply;
    /// let refused = ErrorReply::rate_limited(Duration::from_secs(1))
    ///     .header("ratelimit-limit", "100")
    ///     .header("ratelimit-remaining", "0");
    /// assert_eq!(refused.headers().len(), 3);
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The HTTP status.
    ///
    /// ```
    /// # use atlas_migration_httpmock::ErrorReply;
    /// assert_eq!(ErrorReply::new(500, "UNEXPECTED_ERROR").status(), 500);
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The JSON body, as Atlas would send it.
    ///
    /// ```
    /// # use atlas_migration_httpmock::ErrorReply;
    /// let body = ErrorReply::new(404, "RESOURCE_NOT_FOUND").body();
    /// assert_eq!(body["parameters"], serde_json::json!([]));
    /// ```
    pub fn body(&self) -> Value {
        let mut body = json!({
            "error": self.status,
            "errorCode": self.error_code,
            "reason": self.reason.as_deref().unwrap_or_else(|| standard_reason(self.status)),
            "parameters": self.parameters,
        });
        if let Some(detail) = &self.detail {
            body["detail"] = json!(detail);
        }
        if !self.field_violations.is_empty() {
            let fields: Vec<Value> = self
                .field_violations
                .iter()
                .map(|(field, description)| json!({"field": field, "description": description}))
                .collect();
            body["badRequestDetail"] = json!({ "fields": fields });
        }
        body
    }

    /// The headers sent besides `Content-Type`, in the order added.
    ///
    /// ```
    /// # use atlas_migration_httpmock::ErrorReply;
    /// assert!(ErrorReply::new(404, "RESOURCE_NOT_FOUND").headers().is_empty());
    /// ```
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Writes this reply into `then`.
    pub(crate) fn answer(&self, then: httpmock::Then) -> httpmock::Then {
        let mut then = then
            .status(self.status)
            .header("content-type", "application/json");
        for (name, value) in &self.headers {
            then = then.header(name.as_str(), value.as_str());
        }
        then.json_body(self.body())
    }
}

/// The standard reason phrase of `status` (RFC 9110), or "Error" for a status without one.
fn standard_reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}
