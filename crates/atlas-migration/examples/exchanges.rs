//! Prints HTTP exchanges per call for digest authentication against the simulator:
//! 100 sequential calls and 50 concurrent calls, each on a cold client.
//!
//! Run with `cargo run -p atlas-migration --example exchanges`.

use atlas_migration::{Client, OrgId};
use atlas_migration_sim::Simulator;

async fn linked() -> (Simulator, OrgId) {
    let sim = Simulator::builder().start().await.unwrap();
    let org: OrgId = sim.org_id().parse().unwrap();
    client(&sim)
        .create_link_token(&org, Vec::<String>::new())
        .await
        .unwrap();
    sim.clear_requests();
    (sim, org)
}

fn client(sim: &Simulator) -> Client {
    Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .build()
        .unwrap()
}

#[tokio::main]
async fn main() {
    let (sim, org) = linked().await;
    let c = client(&sim);
    for _ in 0..100 {
        c.list_source_projects(&org).await.unwrap();
    }
    let n = sim.requests().len();
    println!(
        "100 sequential calls: {n} exchanges ({:.2} per call)",
        n as f64 / 100.0
    );

    let (sim, org) = linked().await;
    let c = client(&sim);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (c, org) = (c.clone(), org.clone());
            tokio::spawn(async move { c.list_source_projects(&org).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let n = sim.requests().len();
    println!(
        "50 concurrent calls: {n} exchanges ({:.2} per call)",
        n as f64 / 50.0
    );
}
