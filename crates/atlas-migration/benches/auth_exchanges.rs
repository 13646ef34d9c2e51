//! What authentication costs on the wire, against the simulator on loopback (real digest
//! verification, real token endpoint). Prints each figure with its goal.
//!
//! * digest, for each nonce policy of the simulator (lenient like Atlas as far as we know,
//!   strict nonce counts like Apache httpd's `AuthDigestNcCheck On`, one-time nonces): HTTP
//!   exchanges and failed calls for 100 sequential calls, 50 concurrent calls on a cold
//!   client, and 1,000 calls from 50 concurrent tasks. Goals: no failures; at most 1.1
//!   exchanges a call past the cold start (one-time nonces: 2.1, since every nonce serves
//!   one request and a new one costs a 401);
//! * digest with a wrong key against a server that answers refusals after 2 s: refused
//!   attempts per call (goal 1) and seconds per call;
//! * digest connections: TCP connections 30 cold clients open when 401 bodies arrive after
//!   their headers (goal 1 per client: the challenge's connection carries the call);
//! * service account: token requests for 1,000 calls from 50 concurrent tasks (goal: 1).
//!
//! Run with `cargo bench -p atlas-migration --bench auth_exchanges`.

use std::time::{Duration, Instant};

use atlas_migration::{Client, OrgId, RateLimits};
use atlas_migration_sim::operations::LIST_SOURCE_PROJECTS;
use atlas_migration_sim::{NoncePolicy, Simulator, SimulatorBuilder};

/// A simulator from `builder` whose org already has a link token, with its request log
/// cleared.
async fn linked(builder: SimulatorBuilder) -> (Simulator, OrgId) {
    let sim = builder.start().await.expect("simulator starts");
    let org: OrgId = sim
        .org_id()
        .parse()
        .expect("the simulator's org id is valid");
    // One-time nonces or strict counts may refuse the linking client's first try; a few
    // tries make the setup independent of the client under test.
    for _ in 0..3 {
        if digest_client(&sim)
            .create_link_token(&org, Vec::<String>::new())
            .await
            .is_ok()
        {
            break;
        }
    }
    sim.clear_requests();
    (sim, org)
}

fn digest_client(sim: &Simulator) -> Client {
    digest_client_with_key(sim, sim.private_key())
}

fn digest_client_with_key(sim: &Simulator, private_key: &str) -> Client {
    Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.public_key(), private_key.to_owned())
        .rate_limits(RateLimits::learned_only())
        .build()
        .expect("valid configuration")
}

fn service_account_client(sim: &Simulator) -> Client {
    Client::builder()
        .base_url(sim.base_url())
        .service_account(sim.client_id(), sim.client_secret().to_owned())
        .rate_limits(RateLimits::learned_only())
        .build()
        .expect("valid configuration")
}

/// Runs `calls` calls split over `tasks` concurrent tasks on one client; returns how many
/// failed.
async fn concurrent_calls(client: &Client, org: &OrgId, tasks: usize, calls: usize) -> usize {
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let (client, org) = (client.clone(), org.clone());
            let share = calls / tasks + usize::from(task < calls % tasks);
            tokio::spawn(async move {
                let mut failed = 0;
                for _ in 0..share {
                    if client.list_source_projects(&org).await.is_err() {
                        failed += 1;
                    }
                }
                failed
            })
        })
        .collect();
    let mut failed = 0;
    for handle in handles {
        failed += handle.await.expect("task finishes");
    }
    failed
}

/// One row of the digest table.
struct Row {
    policy: &'static str,
    scenario: &'static str,
    calls: usize,
    exchanges: usize,
    failures: usize,
    /// Most exchanges a call may cost, or `None` when only failures are judged.
    goal_per_call: Option<f64>,
}

impl Row {
    fn print(&self) {
        let per_call = self.exchanges as f64 / self.calls as f64;
        let goal = match self.goal_per_call {
            Some(g) => format!("<= {g:.1}"),
            None => "-".to_owned(),
        };
        let met = self.failures == 0 && self.goal_per_call.is_none_or(|g| per_call <= g);
        println!(
            "| {:<13} | {:<26} | {:>5} | {:>9} | {:>8.3} | {:>6} | {:>8} | {:<6} |",
            self.policy,
            self.scenario,
            self.calls,
            self.exchanges,
            per_call,
            goal,
            self.failures,
            if met { "ok" } else { "MISSED" }
        );
    }
}

async fn digest_rows(policy: NoncePolicy, name: &'static str) {
    // One nonce serves one request: every call needs a new one.
    let steady_goal = if policy == NoncePolicy::OneTime {
        2.1
    } else {
        1.1
    };
    let builder = || Simulator::builder().unmetered().nonce_policy(policy);

    let (sim, org) = linked(builder()).await;
    let failures = concurrent_calls(&digest_client(&sim), &org, 1, 100).await;
    Row {
        policy: name,
        scenario: "100 sequential calls",
        calls: 100,
        exchanges: sim.requests().len(),
        failures,
        goal_per_call: Some(steady_goal),
    }
    .print();

    let (sim, org) = linked(builder()).await;
    let failures = concurrent_calls(&digest_client(&sim), &org, 50, 50).await;
    Row {
        policy: name,
        scenario: "50 concurrent calls (cold)",
        calls: 50,
        exchanges: sim.requests().len(),
        failures,
        goal_per_call: None,
    }
    .print();

    let (sim, org) = linked(builder()).await;
    let failures = concurrent_calls(&digest_client(&sim), &org, 50, 1000).await;
    Row {
        policy: name,
        scenario: "1,000 calls from 50 tasks",
        calls: 1000,
        exchanges: sim.requests().len(),
        failures,
        goal_per_call: Some(steady_goal),
    }
    .print();
}

/// A wrong key against a server that answers refusals after 2 s.
async fn wrong_key() {
    const CALLS: usize = 3;
    let sim = Simulator::builder()
        .unmetered()
        .refusal_delay(Duration::from_secs(2))
        .start()
        .await
        .expect("simulator starts");
    let org: OrgId = sim.org_id().parse().expect("valid org id");
    let client = digest_client_with_key(&sim, "wrong-private-key-0000");
    let started = Instant::now();
    for _ in 0..CALLS {
        let refused = client.list_source_projects(&org).await.is_err();
        assert!(refused, "a wrong key is refused");
    }
    let seconds = started.elapsed().as_secs_f64() / CALLS as f64;
    let refused = sim.count(LIST_SOURCE_PROJECTS);
    println!(
        "digest, wrong key, {CALLS} calls, 2 s refusals: {refused} refused attempts \
         ({:.2} per call; goal 1), {seconds:.1} s per call {}",
        refused as f64 / CALLS as f64,
        if refused <= CALLS { "ok" } else { "MISSED" }
    );
}

/// TCP connections opened by cold clients when 401 bodies arrive after their headers.
async fn connections() {
    const CLIENTS: usize = 30;
    let (sim, org) = linked(
        Simulator::builder()
            .unmetered()
            .split_unauthorized_bodies(Duration::from_millis(20)),
    )
    .await;
    let before = sim.connections_accepted();
    for _ in 0..CLIENTS {
        let failed = concurrent_calls(&digest_client(&sim), &org, 1, 1).await;
        assert_eq!(failed, 0, "the call succeeds");
    }
    let opened = sim.connections_accepted() - before;
    println!(
        "digest, {CLIENTS} cold clients, one call each, 401 bodies split: {opened} connections \
         ({:.2} per client; goal 1) {}",
        opened as f64 / CLIENTS as f64,
        if opened <= CLIENTS { "ok" } else { "MISSED" }
    );
}

#[tokio::main]
async fn main() {
    println!(
        "| nonce policy  | scenario                   | calls | exchanges | per call | goal   | failures | result |"
    );
    println!(
        "|---------------|----------------------------|-------|-----------|----------|--------|----------|--------|"
    );
    for (policy, name) in [
        (NoncePolicy::Lenient, "lenient"),
        (NoncePolicy::StrictCounts, "strict counts"),
        (NoncePolicy::OneTime, "one-time"),
    ] {
        digest_rows(policy, name).await;
    }
    println!();
    wrong_key().await;
    connections().await;

    let (sim, org) = linked(Simulator::builder().unmetered()).await;
    let failures = concurrent_calls(&service_account_client(&sim), &org, 50, 1000).await;
    let tokens = sim.token_requests();
    println!(
        "service account, 1,000 calls from 50 tasks: {tokens} token requests (goal 1), \
         {failures} failures {}",
        if tokens == 1 && failures == 0 {
            "ok"
        } else {
            "MISSED"
        }
    );
}
