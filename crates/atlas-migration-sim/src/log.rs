//! The request log: one entry per HTTP exchange the simulator saw.

use std::collections::BTreeMap;

use crate::endpoint::Endpoint;

/// `POST /api/oauth/token`, as counted in the request log.
pub const OAUTH_TOKEN: Endpoint = Endpoint::OAUTH_TOKEN;
/// `POST /api/oauth/revoke`, as counted in the request log.
pub const OAUTH_REVOKE: Endpoint = Endpoint::OAUTH_REVOKE;

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestRecord {
    /// Position in the log, starting at 0.
    pub index: usize,
    /// HTTP method, upper case.
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// Stable operation name (from the operation table, or [`OAUTH_TOKEN`] /
    /// [`OAUTH_REVOKE`]); `None` for unknown paths.
    pub operation: Option<&'static str>,
    /// Status answered; `None` when the connection was dropped instead.
    pub status: Option<u16>,
    /// An `Authorization` header was sent.
    pub authorization_present: bool,
    /// The credentials were present and valid (digest verified or bearer token live).
    pub authenticated: bool,
    /// The request carried a non-empty body.
    pub had_body: bool,
    /// Name of the fault injected into this exchange, if any.
    pub fault: Option<&'static str>,
    /// Id of the migration or validation this request created, if any.
    pub created_id: Option<String>,
    /// When the request arrived (real time, whatever the simulator's clock).
    pub received_at: std::time::Instant,
}

/// Append-only request log.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    records: Vec<RequestRecord>,
}

impl RequestLog {
    pub(crate) fn push(&mut self, mut record: RequestRecord) -> usize {
        record.index = self.records.len();
        self.records.push(record);
        self.records.len() - 1
    }

    /// Index the next pushed record will get.
    pub(crate) fn next_index(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn all(&self) -> Vec<RequestRecord> {
        self.records.clone()
    }

    pub(crate) fn clear(&mut self) {
        self.records.clear();
    }

    pub(crate) fn count(&self, endpoint: Endpoint) -> usize {
        self.records
            .iter()
            .filter(|r| r.operation == Some(endpoint.name()))
            .count()
    }

    pub(crate) fn counts(&self) -> BTreeMap<String, usize> {
        let mut map = BTreeMap::new();
        for r in &self.records {
            let key = r.operation.unwrap_or("unknown").to_string();
            *map.entry(key).or_insert(0) += 1;
        }
        map
    }

    pub(crate) fn with_status(&self, status: u16) -> usize {
        self.records
            .iter()
            .filter(|r| r.status == Some(status))
            .count()
    }

    pub(crate) fn bodies_without_authorization(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.had_body && !r.authorization_present)
            .count()
    }

    pub(crate) fn bodies_unauthenticated(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.had_body && !r.authenticated)
            .count()
    }
}
