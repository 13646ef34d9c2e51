//! Metrics through the [`metrics`](https://docs.rs/metrics) facade, with the `metrics` feature
//! (without it every function here does nothing). The program installs a recorder (for
//! example a Prometheus exporter); this crate only counts and measures:
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | `atlas_migration_requests_total` | counter | `operation`, `outcome` (status code or error type) |
//! | `atlas_migration_request_duration_seconds` | histogram | `operation` |
//! | `atlas_migration_retries_total` | counter | `operation` |
//! | `atlas_migration_rate_limited_total` | counter | `operation` |
//! | `atlas_migration_token_requests_total` | counter | `outcome` (`ok`, or the failure) |
//! | `atlas_migration_migration_status_total` | counter | `status` (each status a workflow sees a migration enter) |
//! | `atlas_migration_lag_seconds` | histogram | none (each lag a workflow reports) |

use std::time::Duration;

/// One attempt of `operation` ended with `outcome` (a status code or an error type) after
/// `elapsed`; `attempt` counts from 1.
#[allow(unused_variables)]
pub(crate) fn attempt(operation: &'static str, attempt: u32, outcome: &str, elapsed: Duration) {
    #[cfg(feature = "metrics")]
    {
        let outcome = outcome.to_owned();
        metrics::counter!("atlas_migration_requests_total", "operation" => operation, "outcome" => outcome.clone())
            .increment(1);
        metrics::histogram!("atlas_migration_request_duration_seconds", "operation" => operation)
            .record(elapsed.as_secs_f64());
        if attempt > 1 {
            metrics::counter!("atlas_migration_retries_total", "operation" => operation)
                .increment(1);
        }
        if outcome == "429" {
            metrics::counter!("atlas_migration_rate_limited_total", "operation" => operation)
                .increment(1);
        }
    }
}

/// A service-account token request ended with `outcome`.
#[allow(unused_variables)]
pub(crate) fn token_request(outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("atlas_migration_token_requests_total", "outcome" => outcome).increment(1);
}

/// A workflow saw a migration enter `status`.
#[allow(unused_variables)]
pub(crate) fn migration_status(status: &str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("atlas_migration_migration_status_total", "status" => status.to_owned())
        .increment(1);
}

/// A workflow reported `lag`.
#[allow(unused_variables)]
pub(crate) fn lag(lag: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!("atlas_migration_lag_seconds").record(lag.as_secs_f64());
}
