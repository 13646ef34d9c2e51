//! Fault injection: rules and seeded random plans.
//!
//! Faults are decided after authentication and **before** the request is processed: a
//! request answered with an injected 429/500/503, a stale-nonce 401 or a dropped connection
//! changed nothing (a faulted create created nothing), so clients may safely retry those.
//! The one exception is [`FaultKind::DropAfterProcessing`], which processes the request and
//! then drops the connection without answering, to check that clients do not blindly retry
//! non-idempotent calls.

use std::time::Duration;

use crate::endpoint::Endpoint;
use crate::rng::Rng;

/// What an injected fault does.
///
/// The kinds after [`DropAfterProcessing`](Self::DropAfterProcessing) model servers and
/// networks that are not Atlas (a misconfigured proxy, a hostile peer, a dead link): Atlas
/// documents none of them, and a client must survive each without harm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer with this status and an Atlas error body (and `Retry-After` when set).
    Status {
        /// HTTP status, e.g. 429, 500 or 503.
        status: u16,
        /// `Retry-After` value in seconds.
        retry_after_secs: Option<u64>,
    },
    /// Answer 401 with `stale=true` even though the digest was valid, and retire the nonce.
    /// Applies to digest-authenticated requests only.
    StaleNonce,
    /// Wait this long (real time) before processing the request normally.
    Latency(Duration),
    /// Wait this long (real time), then process the request even if the client has gone
    /// meanwhile, and answer if it is still there: a load balancer or proxy that keeps a
    /// request going after its client gave up, so that what it creates appears late.
    LandLate(Duration),
    /// Close the connection before sending any byte of a response; nothing is processed.
    DropConnection,
    /// Process the request, then close the connection without answering.
    DropAfterProcessing,
    /// Answer with a redirect (`status` 301, 302, 303, 307 or 308) to `location` without
    /// processing the request, as a misconfigured proxy or an attacker would. The Atlas Admin
    /// API does not redirect.
    Redirect {
        /// The 3xx status.
        status: u16,
        /// The `Location` header.
        location: String,
    },
    /// Accept the request and never answer (the connection stays open); nothing is processed.
    Hang,
    /// Process the request, then send the reply's body one byte per interval.
    Drip(Duration),
    /// Process the request, then pad the reply's JSON body with whitespace to this many bytes
    /// (still valid JSON), streamed without being held in memory.
    Oversize(u64),
    /// Process the request, then answer with another resource's `_id` in the reply.
    ForeignId,
    /// Process the request, then answer with another project's `groupId` in the reply (when
    /// the reply carries one).
    ForeignProject,
}

impl FaultKind {
    /// 429 Too Many Requests with `Retry-After: retry_after_secs`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::Status {
            status: 429,
            retry_after_secs: Some(retry_after_secs),
        }
    }

    /// 503 Service Unavailable with `Retry-After: retry_after_secs`, as a server that is
    /// down for a known while (or a proxy in front of it) answers.
    ///
    /// ```
    /// use atlas_migration_sim::FaultKind;
    ///
    /// assert_eq!(
    ///     FaultKind::service_unavailable(30),
    ///     FaultKind::Status { status: 503, retry_after_secs: Some(30) }
    /// );
    /// ```
    pub fn service_unavailable(retry_after_secs: u64) -> Self {
        Self::Status {
            status: 503,
            retry_after_secs: Some(retry_after_secs),
        }
    }

    /// A plain error status (429 gets `Retry-After: 1`).
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            retry_after_secs: (status == 429).then_some(1),
        }
    }

    /// Short name used in the request log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Status { status: 429, .. } => "status_429",
            Self::Status { status: 500, .. } => "status_500",
            Self::Status { status: 503, .. } => "status_503",
            Self::Status { .. } => "status",
            Self::StaleNonce => "stale_nonce",
            Self::Latency(_) => "latency",
            Self::LandLate(_) => "land_late",
            Self::DropConnection => "drop_connection",
            Self::DropAfterProcessing => "drop_after_processing",
            Self::Redirect { .. } => "redirect",
            Self::Hang => "hang",
            Self::Drip(_) => "drip",
            Self::Oversize(_) => "oversize",
            Self::ForeignId => "foreign_id",
            Self::ForeignProject => "foreign_project",
        }
    }
}

/// A fault rule: which operations it hits, what it does, and how often.
///
/// ```
/// use atlas_migration_sim::Fault;
/// use atlas_migration_sim::operations::GET_MIGRATION;
/// // The next two polls of a migration answer 503.
/// let rule = Fault::on(GET_MIGRATION).status(503).times(2);
/// # let _ = rule;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    endpoints: Option<Vec<Endpoint>>,
    kind: FaultKind,
    remaining: Option<u32>,
    skip: u32,
}

impl Fault {
    /// A rule for one endpoint: an operation constant of [`crate::operations`], or
    /// [`Endpoint::OAUTH_TOKEN`] / [`Endpoint::OAUTH_REVOKE`]. Defaults to answering 503
    /// once. On the OAuth endpoints only status, latency, dropped-connection, hang and drip
    /// faults act; the others answer normally.
    pub fn on(endpoint: impl Into<Endpoint>) -> Self {
        Self {
            endpoints: Some(vec![endpoint.into()]),
            ..Self::any()
        }
    }

    /// A rule for every API operation (not the OAuth endpoints). Defaults to 503 once.
    pub fn any() -> Self {
        Self {
            endpoints: None,
            kind: FaultKind::status(503),
            remaining: Some(1),
            skip: 0,
        }
    }

    /// Answer with this status (429 gets `Retry-After: 1`).
    pub fn status(mut self, status: u16) -> Self {
        self.kind = FaultKind::status(status);
        self
    }

    /// Answer 429 with `Retry-After: secs`.
    pub fn too_many_requests(mut self, retry_after_secs: u64) -> Self {
        self.kind = FaultKind::too_many_requests(retry_after_secs);
        self
    }

    /// Answer 503 with `Retry-After: secs`.
    ///
    /// ```
    /// use atlas_migration_sim::Fault;
    /// use atlas_migration_sim::operations::CREATE_MIGRATION;
    ///
    /// // Down for maintenance for the next two minutes; nothing is created.
    /// let rule = Fault::on(CREATE_MIGRATION).service_unavailable(120);
    /// # let _ = rule;
    /// ```
    pub fn service_unavailable(mut self, retry_after_secs: u64) -> Self {
        self.kind = FaultKind::service_unavailable(retry_after_secs);
        self
    }

    /// Answer 401 `stale=true` to a valid digest.
    pub fn stale_nonce(mut self) -> Self {
        self.kind = FaultKind::StaleNonce;
        self
    }

    /// Delay processing by `delay`.
    pub fn latency(mut self, delay: Duration) -> Self {
        self.kind = FaultKind::Latency(delay);
        self
    }

    /// Process after `delay` even if the client has gone by then (see
    /// [`FaultKind::LandLate`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use atlas_migration_sim::Fault;
    /// use atlas_migration_sim::operations::CREATE_MIGRATION;
    /// // The create is processed 2 s after it arrives, whether the client waited or not.
    /// let rule = Fault::on(CREATE_MIGRATION).land_late(Duration::from_secs(2));
    /// # let _ = rule;
    /// ```
    pub fn land_late(mut self, delay: Duration) -> Self {
        self.kind = FaultKind::LandLate(delay);
        self
    }

    /// Drop the connection before processing.
    pub fn drop_connection(mut self) -> Self {
        self.kind = FaultKind::DropConnection;
        self
    }

    /// Process, then drop the connection without answering.
    pub fn drop_after_processing(mut self) -> Self {
        self.kind = FaultKind::DropAfterProcessing;
        self
    }

    /// Redirect with `status` to `location` instead of processing.
    ///
    /// ```
    /// use atlas_migration_sim::Fault;
    /// use atlas_migration_sim::operations::VALIDATE_MIGRATION;
    /// let rule = Fault::on(VALIDATE_MIGRATION).redirect(307, "http://127.0.0.1:9/elsewhere");
    /// # let _ = rule;
    /// ```
    pub fn redirect(mut self, status: u16, location: impl Into<String>) -> Self {
        self.kind = FaultKind::Redirect {
            status,
            location: location.into(),
        };
        self
    }

    /// Never answer.
    pub fn hang(mut self) -> Self {
        self.kind = FaultKind::Hang;
        self
    }

    /// Send the reply's body one byte per `interval`.
    pub fn drip(mut self, interval: Duration) -> Self {
        self.kind = FaultKind::Drip(interval);
        self
    }

    /// Pad the reply's body to `bytes`.
    pub fn oversize(mut self, bytes: u64) -> Self {
        self.kind = FaultKind::Oversize(bytes);
        self
    }

    /// Answer with another resource's `_id`.
    pub fn foreign_id(mut self) -> Self {
        self.kind = FaultKind::ForeignId;
        self
    }

    /// Answer with another project's `groupId`.
    pub fn foreign_project(mut self) -> Self {
        self.kind = FaultKind::ForeignProject;
        self
    }

    /// Use this fault kind.
    pub fn kind(mut self, kind: FaultKind) -> Self {
        self.kind = kind;
        self
    }

    /// Fire this many times (default 1).
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }

    /// Fire on every matching request.
    pub fn always(mut self) -> Self {
        self.remaining = None;
        self
    }

    /// Let the first `n` matching requests through before firing.
    pub fn after(mut self, n: u32) -> Self {
        self.skip = n;
        self
    }

    fn matches(&self, operation: &str, is_api: bool, digest: bool) -> bool {
        let op_ok = matches_endpoint(self.endpoints.as_deref(), operation, is_api);
        op_ok && (digest || self.kind != FaultKind::StaleNonce)
    }
}

/// Faults drawn at random with a seed: each API request is faulted with `probability`,
/// with a kind chosen uniformly from `kinds`.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    seed: u64,
    probability: f64,
    kinds: Vec<FaultKind>,
    endpoints: Option<Vec<Endpoint>>,
}

/// Whether a request to `operation` is one a rule or plan for `endpoints` covers (all API
/// operations when no endpoints are named).
fn matches_endpoint(endpoints: Option<&[Endpoint]>, operation: &str, is_api: bool) -> bool {
    match endpoints {
        Some(endpoints) => endpoints.iter().any(|e| e.name() == operation),
        None => is_api,
    }
}

impl FaultPlan {
    /// A random plan; the same seed and request sequence give the same faults.
    pub fn random(seed: u64, probability: f64, kinds: impl Into<Vec<FaultKind>>) -> Self {
        Self {
            seed,
            probability,
            kinds: kinds.into(),
            endpoints: None,
        }
    }

    /// Only fault these endpoints.
    ///
    /// ```
    /// use atlas_migration_sim::{FaultKind, FaultPlan};
    /// use atlas_migration_sim::operations::{GET_MIGRATION, GET_VALIDATION};
    /// let plan = FaultPlan::random(7, 0.3, [FaultKind::status(503)])
    ///     .only([GET_VALIDATION, GET_MIGRATION]);
    /// # let _ = plan;
    /// ```
    pub fn only<E: Into<Endpoint>>(mut self, endpoints: impl IntoIterator<Item = E>) -> Self {
        self.endpoints = Some(endpoints.into_iter().map(Into::into).collect());
        self
    }
}

/// The installed rules and plan.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<Fault>,
    plan: Option<(FaultPlan, Rng)>,
    injected: usize,
}

impl Faults {
    pub(crate) fn add(&mut self, fault: Fault) {
        self.rules.push(fault);
    }

    pub(crate) fn set_plan(&mut self, plan: Option<FaultPlan>) {
        self.plan = plan.map(|p| {
            let rng = Rng::new(p.seed);
            (p, rng)
        });
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
        self.plan = None;
    }

    pub(crate) fn injected(&self) -> usize {
        self.injected
    }

    /// Decides the fault for one request, consuming a rule firing when one applies.
    pub(crate) fn pick(
        &mut self,
        operation: &str,
        is_api: bool,
        digest: bool,
    ) -> Option<FaultKind> {
        let picked = self.pick_rule(operation, is_api, digest).or_else(|| {
            let (plan, rng) = self.plan.as_mut()?;
            let op_ok = matches_endpoint(plan.endpoints.as_deref(), operation, is_api);
            if !op_ok || plan.kinds.is_empty() || rng.next_f64() >= plan.probability {
                return None;
            }
            let kind = plan.kinds[rng.below(plan.kinds.len())].clone();
            (digest || kind != FaultKind::StaleNonce).then_some(kind)
        });
        if picked.is_some() {
            self.injected += 1;
        }
        picked
    }

    fn pick_rule(&mut self, operation: &str, is_api: bool, digest: bool) -> Option<FaultKind> {
        let mut fired = None;
        for (i, rule) in self.rules.iter_mut().enumerate() {
            if !rule.matches(operation, is_api, digest) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                continue;
            }
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            fired = Some((i, rule.kind.clone()));
            break;
        }
        let (i, kind) = fired?;
        if self.rules[i].remaining == Some(0) {
            self.rules.remove(i);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use atlas_migration_sys::operations::GET_MIGRATION;

    use super::*;

    #[test]
    fn rule_fires_only_on_its_operation_and_only_n_times() {
        let mut f = Faults::default();
        f.add(Fault::on(GET_MIGRATION).status(503).times(2));
        assert_eq!(f.pick("create_migration", true, true), None);
        assert_eq!(
            f.pick("get_migration", true, true),
            Some(FaultKind::status(503))
        );
        assert_eq!(
            f.pick("get_migration", true, true),
            Some(FaultKind::status(503))
        );
        assert_eq!(f.pick("get_migration", true, true), None);
        assert_eq!(f.injected(), 2);
    }

    #[test]
    fn after_skips_the_first_matches() {
        let mut f = Faults::default();
        f.add(Fault::any().drop_connection().after(1));
        assert_eq!(f.pick("x", true, true), None);
        assert_eq!(f.pick("x", true, true), Some(FaultKind::DropConnection));
        assert_eq!(f.pick("oauth_token", false, false), None);
    }

    #[test]
    fn random_plan_is_reproducible_with_a_seed() {
        let draw = || {
            let mut f = Faults::default();
            f.set_plan(Some(FaultPlan::random(
                42,
                0.5,
                vec![FaultKind::status(500), FaultKind::status(503)],
            )));
            (0..50)
                .map(|_| f.pick("get_migration", true, true))
                .collect::<Vec<_>>()
        };
        let a = draw();
        assert_eq!(a, draw());
        let hits = a.iter().filter(|k| k.is_some()).count();
        assert!(hits > 5 && hits < 45, "{hits}");
    }
}
