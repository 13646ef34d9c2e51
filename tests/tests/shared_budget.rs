//! Atlas's rate limits are shared with strangers: a 429 never ends a workflow step that still
//! has time, a step that runs out of time says it was the rate limit, a 503 with
//! `Retry-After` holds the next request, clients of one process share one service-account
//! token, and a client never has more requests in flight than its cap. Real HTTP against the
//! simulator on loopback.

use atlas_migration_tests as support;

use std::time::Duration;

use atlas_migration::workflow::{PushMigration, PushOutcome, Step, WorkflowFailure};
use atlas_migration::{Client, ErrorKind, LiveMigrationId, RetryPolicy};
use atlas_migration_sim::operations::{
    CREATE_MIGRATION, GET_MIGRATION, LIST_SOURCE_PROJECTS, VALIDATE_MIGRATION,
};
use atlas_migration_sim::{Fault, Simulator, Timings};
use support::group;

/// A client that tries each call twice at most.
fn two_attempts(sim: &Simulator) -> Client {
    support::digest_client_with(sim, support::quick_retries(2))
}

async fn linked_sim() -> Simulator {
    support::linked(Simulator::builder().timings(Timings::fast())).await
}

#[tokio::test]
async fn a_workflow_rides_out_more_429s_than_its_retry_policy_allows() {
    let sim = linked_sim().await;
    // Four refusals each for validate and create (`Retry-After: 0`), against a policy of two
    // attempts: a 429 was not processed, so each step waits its turn and tries again.
    sim.inject(Fault::on(VALIDATE_MIGRATION).too_many_requests(0).times(4));
    sim.inject(Fault::on(CREATE_MIGRATION).too_many_requests(0).times(4));
    let client = two_attempts(&sim);
    let outcome = PushMigration::new(&client, &group(&sim), support::request(&sim, &group(&sim)))
        .poll_delays(Duration::from_millis(5), Duration::from_millis(25))
        .auto_cutover(true)
        .run()
        .await
        .expect("429s do not end a step that has time left");
    assert!(matches!(outcome, PushOutcome::Complete(_)));
    assert_eq!(sim.count(VALIDATE_MIGRATION), 5);
    assert_eq!(sim.count(CREATE_MIGRATION), 5);
    assert_eq!(sim.migrations_created(), 1);
    assert_eq!(sim.duplicate_creates(), 0);
}

#[tokio::test]
async fn a_step_out_of_time_says_it_was_the_rate_limit() {
    let sim = linked_sim().await;
    sim.inject(Fault::on(VALIDATE_MIGRATION).too_many_requests(0).always());
    let client = two_attempts(&sim);
    let err = PushMigration::new(&client, &group(&sim), support::request(&sim, &group(&sim)))
        .poll_delays(Duration::from_millis(5), Duration::from_millis(25))
        .call_max_wait(Duration::from_secs(1))
        .run()
        .await
        .expect_err("refused until the deadline");
    assert_eq!(err.step, Step::Validate);
    let WorkflowFailure::Call(budget) = &err.source else {
        panic!("not a call error: {err}");
    };
    assert_eq!(budget.kind(), ErrorKind::Budget, "{budget}");
    assert!(budget.refusals() >= 2, "{budget}");
    let text = err.to_string();
    assert!(
        text.contains("rate limit") && text.contains("429"),
        "{text}"
    );
    assert_eq!(sim.migrations_created(), 0);
}

#[tokio::test]
async fn a_plain_call_without_a_deadline_keeps_its_retry_policy() {
    let sim = linked_sim().await;
    let client = two_attempts(&sim);
    let id: LiveMigrationId = client
        .create_migration(&group(&sim), &support::request(&sim, &group(&sim)))
        .await
        .unwrap()
        .id;
    sim.inject(Fault::on(GET_MIGRATION).too_many_requests(0).always());
    let err = client.get_migration(&group(&sim), &id).await.unwrap_err();
    assert!(err.is_rate_limited(), "{err}");
    assert_eq!(sim.count(GET_MIGRATION), 2);
}

#[tokio::test]
async fn a_503_with_retry_after_holds_the_next_request() {
    let sim = linked_sim().await;
    let client = support::digest_client_with(&sim, RetryPolicy::default().max_attempts(2));
    let id: LiveMigrationId = client
        .create_migration(&group(&sim), &support::request(&sim, &group(&sim)))
        .await
        .unwrap()
        .id;
    sim.clear_requests();
    sim.inject(Fault::on(GET_MIGRATION).service_unavailable(1).times(1));
    client.get_migration(&group(&sim), &id).await.unwrap();
    let log = sim.requests();
    assert_eq!(log.len(), 2, "{log:?}");
    let gap = log[1].received_at - log[0].received_at;
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert_eq!(client.throttle_status().refusals, 1);
}

#[tokio::test]
async fn clients_of_one_process_share_one_service_account_token() {
    let sim = linked_sim().await;
    let clients: Vec<Client> = (0..5).map(|_| support::account_client(&sim)).collect();
    for client in &clients {
        client
            .list_source_projects(&support::org(&sim))
            .await
            .unwrap();
    }
    assert_eq!(sim.token_requests(), 1, "one token for five clients");
    assert_eq!(sim.tokens_issued(), 1);
    // Revoked on shutdown: the next client of the process fetches a fresh one.
    clients[0].revoke().await.unwrap();
    drop(clients);
    let fresh = support::account_client(&sim);
    fresh
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap();
    assert_eq!(sim.tokens_issued(), 2);
}

#[tokio::test]
async fn a_client_never_has_more_requests_in_flight_than_its_cap() {
    // Each reply takes this long; a request can only wait for a slot as long as one is busy.
    const LATENCY: Duration = Duration::from_millis(150);
    const CALLS: usize = 6;
    let sim = linked_sim().await;
    sim.inject(Fault::on(LIST_SOURCE_PROJECTS).latency(LATENCY).always());
    let client = support::builder(&sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .max_in_flight(2)
        .build()
        .unwrap();
    let org = support::org(&sim);
    let calls = (0..CALLS).map(|_| client.list_source_projects(&org));
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    let mut arrivals: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.operation == Some(LIST_SOURCE_PROJECTS.name) && r.authenticated)
        .map(|r| r.received_at)
        .collect();
    arrivals.sort();
    assert_eq!(arrivals.len(), CALLS);
    // With two slots, every third request left only after a reply, LATENCY after the request
    // two places before it arrived (less a little for the two clocks' reading order).
    for three in arrivals.windows(3) {
        let gap = three[2] - three[0];
        assert!(
            gap >= LATENCY - Duration::from_millis(5),
            "three requests in flight at once: {:?}",
            arrivals.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
        );
    }
}
