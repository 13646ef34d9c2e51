//! Helpers shared by the workspace-level tests that drive the simulator.
#![allow(dead_code)]

use std::time::Duration;

use atlas_migration::{
    Client, ClientBuilder, Destination, GroupId, MigrationRequest, OrgId, RetryPolicy, Source,
};
use atlas_migration_sim::Simulator;

/// The source cluster password every request carries; never to be seen in any output.
pub const SOURCE_PASSWORD: &str = "Src-P4ssw0rd-7f3a9c!";

/// A builder pointed at `base_url` with a 10 s per-attempt timeout and `retry`.
pub fn builder(base_url: &str, retry: RetryPolicy) -> ClientBuilder {
    Client::builder()
        .base_url(base_url)
        .timeout(Duration::from_secs(10))
        .retry_policy(retry)
}

/// Quick retries: 1 ms doubling up to 20 ms (also the cap on `Retry-After`), `attempts` in
/// all.
pub fn quick_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(20))
}

/// A digest (API key) client for `sim`.
pub fn digest_client(sim: &Simulator, retry: RetryPolicy) -> Client {
    builder(&sim.base_url(), retry)
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .build()
        .unwrap()
}

/// A service-account client for `sim`.
pub fn account_client(sim: &Simulator, retry: RetryPolicy) -> Client {
    builder(&sim.base_url(), retry)
        .service_account(sim.client_id(), sim.client_secret().to_owned())
        .build()
        .unwrap()
}

pub fn org(sim: &Simulator) -> OrgId {
    sim.org_id().parse().unwrap()
}

pub fn group(sim: &Simulator) -> GroupId {
    sim.group_id().parse().unwrap()
}

/// A valid request from `sim`'s first source project into the destination cluster
/// `destination`, authenticating to the source with [`SOURCE_PASSWORD`].
pub fn request(sim: &Simulator, destination: &str) -> MigrationRequest {
    let project = &sim.source_projects()[0];
    MigrationRequest::builder()
        .source(
            Source::new(
                project.deployments[0].name.clone(),
                project.project_id.parse().unwrap(),
            )
            .tls(true)
            .credentials("migrator", SOURCE_PASSWORD.to_owned()),
        )
        .destination(Destination::new(destination, group(sim)))
        .migration_host(project.migration_hosts[0].clone())
        .build()
        .unwrap()
}
