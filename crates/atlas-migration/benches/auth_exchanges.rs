//! What authentication costs on the wire, against the simulator on loopback (real digest
//! verification, real token endpoint). Prints each figure with its goal:
//!
//! * digest: HTTP exchanges for 100 sequential calls (goal <= 101) and 50 concurrent calls on
//!   a cold client (goal <= 51);
//! * service account: token requests for 1,000 calls from 50 concurrent tasks (goal: 1).
//!
//! Run with `cargo bench -p atlas-migration --bench auth_exchanges`.

use atlas_migration::{Client, OrgId};
use atlas_migration_sim::Simulator;

/// A simulator whose org already has a link token, with its request log cleared.
async fn linked() -> (Simulator, OrgId) {
    let sim = Simulator::builder()
        .start()
        .await
        .expect("simulator starts");
    let org: OrgId = sim
        .org_id()
        .parse()
        .expect("the simulator's org id is valid");
    digest_client(&sim)
        .create_link_token(&org, Vec::<String>::new())
        .await
        .expect("link token");
    sim.clear_requests();
    (sim, org)
}

fn digest_client(sim: &Simulator) -> Client {
    Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .build()
        .expect("valid configuration")
}

fn service_account_client(sim: &Simulator) -> Client {
    Client::builder()
        .base_url(sim.base_url())
        .service_account(sim.client_id(), sim.client_secret().to_owned())
        .build()
        .expect("valid configuration")
}

/// Runs `calls` calls split over `tasks` concurrent tasks on one (cold) client.
async fn concurrent_calls(client: &Client, org: &OrgId, tasks: usize, calls: usize) {
    let per_task = calls / tasks;
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (client, org) = (client.clone(), org.clone());
            tokio::spawn(async move {
                for _ in 0..per_task {
                    client
                        .list_source_projects(&org)
                        .await
                        .expect("call succeeds");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("task finishes");
    }
}

fn report(what: &str, measured: usize, calls: usize, goal: &str, met: bool) {
    println!(
        "{what}: {measured} ({:.3} per call; goal {goal}) {}",
        measured as f64 / calls as f64,
        if met { "ok" } else { "MISSED" }
    );
}

#[tokio::main]
async fn main() {
    let (sim, org) = linked().await;
    let client = digest_client(&sim);
    for _ in 0..100 {
        client
            .list_source_projects(&org)
            .await
            .expect("call succeeds");
    }
    let exchanges = sim.requests().len();
    report(
        "digest, 100 sequential calls, HTTP exchanges",
        exchanges,
        100,
        "<= 101",
        exchanges <= 101,
    );

    let (sim, org) = linked().await;
    concurrent_calls(&digest_client(&sim), &org, 50, 50).await;
    let exchanges = sim.requests().len();
    report(
        "digest, 50 concurrent calls (cold), HTTP exchanges",
        exchanges,
        50,
        "<= 51",
        exchanges <= 51,
    );

    let (sim, org) = linked().await;
    concurrent_calls(&service_account_client(&sim), &org, 50, 1000).await;
    let tokens = sim.token_requests();
    report(
        "service account, 1,000 calls from 50 tasks, token requests",
        tokens,
        1000,
        "= 1",
        tokens == 1,
    );
}
