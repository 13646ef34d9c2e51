//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use atlas_migration::{Client, ClientBuilder, GroupId, MigrationRequest, OrgId, RetryPolicy};
use atlas_migration::{Destination, Source};
use atlas_migration_sim::Simulator;

/// A builder pointed at `base_url` with fast, jitter-free retries.
pub fn builder(base_url: &str) -> ClientBuilder {
    Client::builder()
        .base_url(base_url)
        .timeout(Duration::from_secs(10))
        .retry_policy(
            RetryPolicy::default()
                .with_initial_backoff(Duration::from_millis(10))
                .with_max_backoff(Duration::from_millis(200))
                .with_jitter(false),
        )
}

/// A digest client for `sim`.
pub fn digest_client(sim: &Simulator) -> Client {
    builder(&sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .build()
        .unwrap()
}

/// A service-account client for `sim`.
pub fn account_client(sim: &Simulator) -> Client {
    builder(&sim.base_url())
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

pub const SOURCE_PASSWORD: &str = "Src-P4ssw0rd-7f3a9c!";

/// A valid request (for `sim`'s first source project) with a source password.
pub fn request(sim: &Simulator, group: &GroupId) -> MigrationRequest {
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
        .destination(Destination::new("atlas-target", group.clone()))
        .migration_host(project.migration_hosts[0].clone())
        .build()
        .unwrap()
}

/// Links the simulator's organization so that validations and migrations are accepted.
pub async fn link(sim: &Simulator, client: &Client) {
    client
        .create_link_token(&org(sim), Vec::<String>::new())
        .await
        .unwrap();
}

/// Starts `sim`, links its organization with a throwaway client, then forgets those requests,
/// so that the caller's fresh client starts cold on a clean log.
pub async fn linked(builder: atlas_migration_sim::SimulatorBuilder) -> Simulator {
    let sim = builder.start().await.unwrap();
    link(&sim, &digest_client(&sim)).await;
    sim.clear_requests();
    sim
}
