//! Digest authentication against servers that really verify digests.

use atlas_migration_tests as support;

use atlas_migration_sim::operations::{CREATE_MIGRATION, LIST_SOURCE_PROJECTS};
use std::time::Duration;

use atlas_migration::{Client, Error, OrgId};
use atlas_migration_sim::{DigestAlgorithm, Fault, NoncePolicy, Simulator};
use futures::future::join_all;
use httpmock::prelude::*;

/// Makes `calls` calls on `client` from `tasks` concurrent tasks (each making its share one
/// after another) and returns the errors.
async fn calls_from_tasks(client: &Client, org: &OrgId, calls: usize, tasks: usize) -> Vec<Error> {
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let (client, org) = (client.clone(), org.clone());
            let share = calls / tasks + usize::from(task < calls % tasks);
            tokio::spawn(async move {
                let mut errors = Vec::new();
                for _ in 0..share {
                    if let Err(e) = client.list_source_projects(&org).await {
                        errors.push(e);
                    }
                }
                errors
            })
        })
        .collect();
    let mut errors = Vec::new();
    for handle in join_all(handles).await {
        errors.extend(handle.unwrap());
    }
    errors
}

/// Failures of 200 calls from `tasks` tasks on one cold client against a simulator with
/// `policy`, and the simulator.
async fn two_hundred_calls(policy: NoncePolicy, tasks: usize) -> (Vec<Error>, Simulator) {
    let sim = support::linked(Simulator::builder().nonce_policy(policy)).await;
    let client = support::digest_client(&sim);
    let errors = calls_from_tasks(&client, &support::org(&sim), 200, tasks).await;
    (errors, sim)
}

/// Requests sent without `Authorization`: the challenge probes.
fn probes(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| !r.authorization_present)
        .count()
}

fn summary(errors: &[Error]) -> String {
    let first = errors.first().map(ToString::to_string).unwrap_or_default();
    format!("{} of 200 calls failed; first: {first}", errors.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_nonce_counts_hold_for_200_calls_at_concurrency_16() {
    let (errors, sim) = two_hundred_calls(NoncePolicy::StrictCounts, 16).await;
    assert!(errors.is_empty(), "{}", summary(&errors));
    // Every 401 answered a probe: no request was refused for its nonce count.
    assert_eq!(sim.unauthorized_count(), probes(&sim));
    assert!(
        probes(&sim) <= 16,
        "{} challenges for 16 tasks",
        probes(&sim)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_nonce_counts_hold_for_200_calls_at_concurrency_50() {
    let (errors, sim) = two_hundred_calls(NoncePolicy::StrictCounts, 50).await;
    assert!(errors.is_empty(), "{}", summary(&errors));
    assert_eq!(sim.unauthorized_count(), probes(&sim));
    assert!(
        probes(&sim) <= 50,
        "{} challenges for 50 tasks",
        probes(&sim)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_nonces_hold_for_200_calls_at_concurrency_16() {
    let (errors, sim) = two_hundred_calls(NoncePolicy::OneTime, 16).await;
    assert!(errors.is_empty(), "{}", summary(&errors));
    // Each call answers a used nonce once and the fresh one from its 401 once.
    let exchanges = sim.requests().len();
    assert!(
        exchanges <= 400 + probes(&sim),
        "{exchanges} exchanges for 200 calls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_nonces_hold_for_200_calls_at_concurrency_50() {
    let (errors, sim) = two_hundred_calls(NoncePolicy::OneTime, 50).await;
    assert!(errors.is_empty(), "{}", summary(&errors));
    let exchanges = sim.requests().len();
    assert!(
        exchanges <= 400 + probes(&sim),
        "{exchanges} exchanges for 200 calls"
    );
}

#[tokio::test]
async fn lower_case_algorithm_token_is_understood() {
    let sim = support::linked(Simulator::builder().lowercase_algorithm_token()).await;
    let client = support::digest_client(&sim);
    for _ in 0..3 {
        client
            .list_source_projects(&support::org(&sim))
            .await
            .unwrap();
    }
    assert_eq!(
        sim.requests().len(),
        4,
        "one probe, then one exchange a call"
    );
}

#[tokio::test]
async fn a_wrong_key_costs_one_refused_attempt_per_call() {
    let sim = Simulator::builder().start().await.unwrap();
    let client = support::builder(&sim.base_url())
        .api_key(sim.public_key(), "wrong-private-key-0000".to_owned())
        .build()
        .unwrap();
    for call in 1..=3 {
        let err = client
            .list_source_projects(&support::org(&sim))
            .await
            .unwrap_err();
        assert!(err.is_auth(), "{err}");
        assert_eq!(err.status(), Some(401));
        assert!(err.to_string().contains("API key was refused"), "{err}");
        assert!(!err.to_string().contains("wrong-private-key"), "{err}");
        // No loop and no retries of a refusal: one refused attempt per call.
        assert_eq!(sim.count(LIST_SOURCE_PROJECTS), call, "refused attempts");
    }
    assert_eq!(probes(&sim), 1);
}

#[tokio::test]
async fn a_refused_key_and_rejected_nonces_read_differently() {
    let sim = support::linked(
        Simulator::builder().fault(Fault::on(LIST_SOURCE_PROJECTS).stale_nonce().always()),
    )
    .await;
    let rejected = support::digest_client(&sim)
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap_err()
        .to_string();
    assert!(rejected.contains("kept rejecting"), "{rejected}");
    assert!(!rejected.contains("refused"), "{rejected}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_authenticated_request_reuses_the_challenge_connection() {
    // The rest of each 401 body comes 20 ms after its headers, as from a server that
    // flushes headers first: only a client that reads it can reuse the connection.
    let sim =
        support::linked(Simulator::builder().split_unauthorized_bodies(Duration::from_millis(20)))
            .await;
    let before = sim.connections_accepted();
    for _ in 0..30 {
        let client = support::digest_client(&sim);
        client
            .list_source_projects(&support::org(&sim))
            .await
            .unwrap();
    }
    // One connection per client carries its probe and its call. The connection goes back
    // to the HTTP client's pool from a task of its own, so on a loaded machine a client may
    // still lose that race now and then; dropping 401 bodies unread costs every client two.
    let opened = sim.connections_accepted() - before;
    assert!(opened <= 33, "{opened} connections for 30 cold clients");
}

#[tokio::test]
async fn challenge_is_cached_across_100_sequential_calls() {
    let sim = support::linked(Simulator::builder()).await;
    let client = support::digest_client(&sim);
    let org = support::org(&sim);
    for _ in 0..100 {
        client.list_source_projects(&org).await.unwrap();
    }
    let exchanges = sim.requests().len();
    assert!(exchanges <= 101, "{exchanges} exchanges for 100 calls");
    assert_eq!(sim.unauthorized_count(), 1);
}

#[tokio::test]
async fn fifty_concurrent_cold_calls_cost_at_most_two_exchanges_each() {
    let sim = support::linked(Simulator::builder()).await;
    let client = support::digest_client(&sim);
    let org = support::org(&sim);
    let calls = (0..50).map(|_| {
        let client = client.clone();
        let org = org.clone();
        tokio::spawn(async move { client.list_source_projects(&org).await })
    });
    for r in join_all(calls).await {
        r.unwrap().unwrap();
    }
    // Requests in flight at once never share a nonce: each cold call may fetch its own
    // challenge, but none is refused.
    let exchanges = sim.requests().len();
    assert!(exchanges <= 100, "{exchanges} exchanges for 50 calls");
    assert_eq!(sim.unauthorized_count(), probes(&sim));
    // The rate governor lets a few calls out before a cold scope's first reply, so fewer
    // than 50 may have been in flight at once: one more round of 50 fills the pool. After
    // it, 50 concurrent calls cost one exchange each.
    let errors = calls_from_tasks(&client, &org, 50, 50).await;
    assert!(errors.is_empty(), "{errors:?}");
    sim.clear_requests();
    let errors = calls_from_tasks(&client, &org, 50, 50).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(sim.requests().len(), 50);
}

#[tokio::test]
async fn stale_nonce_is_answered_once_and_the_call_succeeds() {
    let sim = support::linked(
        Simulator::builder().fault(Fault::on(LIST_SOURCE_PROJECTS).stale_nonce().times(1)),
    )
    .await;
    let client = support::digest_client(&sim);
    client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap();
    assert_eq!(sim.count(LIST_SOURCE_PROJECTS), 2);
    assert_eq!(sim.unauthorized_count(), 2, "probe + stale");
    // The renewed challenge is cached: the next call costs one exchange.
    let before = sim.requests().len();
    client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap();
    assert_eq!(sim.requests().len(), before + 1);
}

#[tokio::test]
async fn repeated_stale_nonces_are_answered_not_taken_for_a_wrong_key() {
    let sim = support::linked(
        Simulator::builder().fault(Fault::on(CREATE_MIGRATION).stale_nonce().times(3)),
    )
    .await;
    let client = support::digest_client(&sim);
    let group = support::group(&sim);
    client
        .create_migration(&group, &support::request(&sim, &group))
        .await
        .unwrap();
    assert_eq!(
        sim.count(CREATE_MIGRATION),
        4,
        "three stale answers, then success"
    );
    assert_eq!(sim.migrations_created(), 1);
}

#[tokio::test]
async fn endless_stale_nonces_end_as_an_auth_error_after_bounded_retries() {
    let sim = support::linked(
        Simulator::builder().fault(Fault::on(LIST_SOURCE_PROJECTS).stale_nonce().always()),
    )
    .await;
    let client = support::digest_client(&sim);
    let err = client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    // Each of the default 3 attempts answers at most 1 + 3 stale challenges.
    assert_eq!(sim.count(LIST_SOURCE_PROJECTS), 12);
}

#[tokio::test]
async fn expired_nonce_mid_stream_is_renewed() {
    let sim = support::linked(
        Simulator::builder()
            .manual_clock()
            .nonce_lifetime(Duration::from_secs(10)),
    )
    .await;
    let client = support::digest_client(&sim);
    let org = support::org(&sim);
    client.list_source_projects(&org).await.unwrap();
    sim.advance(Duration::from_secs(11));
    client.list_source_projects(&org).await.unwrap();
    client.list_source_projects(&org).await.unwrap();
    assert_eq!(sim.unauthorized_count(), 2, "probe + one renewal");
    assert_eq!(sim.requests().len(), 5);
}

#[tokio::test]
async fn sha256_challenges_are_answered() {
    let sim = support::linked(Simulator::builder().digest_algorithm(DigestAlgorithm::Sha256)).await;
    let client = support::digest_client(&sim);
    for _ in 0..3 {
        client
            .list_source_projects(&support::org(&sim))
            .await
            .unwrap();
    }
    assert_eq!(sim.requests().len(), 4);
}

#[tokio::test]
async fn body_is_never_sent_without_credentials() {
    let sim = Simulator::builder()
        .fault(Fault::on(CREATE_MIGRATION).stale_nonce().times(1))
        .start()
        .await
        .unwrap();
    let client = support::digest_client(&sim);
    let group = support::group(&sim);
    // Cold client: the very first call carries a body.
    client
        .validate_migration(&group, &support::request(&sim, &group))
        .await
        .unwrap();
    support::link(&sim, &client).await;
    client
        .create_migration(&group, &support::request(&sim, &group))
        .await
        .unwrap();
    assert_eq!(sim.bodies_sent_without_credentials(), 0);
    let probes: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| !r.authorization_present)
        .collect();
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].method, "GET");
    assert!(!probes[0].had_body);
}

fn challenge(nonce: &str) -> String {
    format!(
        r#"Digest realm="MMS Public API", nonce="{nonce}", algorithm=MD5, qop="auth", stale=false"#
    )
}

#[tokio::test]
async fn a_cached_nonce_refused_with_a_new_one_and_no_stale_flag_is_answered_once() {
    let server = MockServer::start_async().await;
    let probe = server.mock(|when, then| {
        when.method(GET)
            .path("/api/atlas/v2")
            .header_missing("authorization");
        then.status(401).header("www-authenticate", challenge("n1"));
    });
    let first = server.mock(|when, then| {
        when.path_includes("/availableProjects")
            .header_includes("authorization", "nonce=\"n1\"")
            .header_includes("authorization", "nc=00000001");
        then.status(200)
            .header("content-type", "application/json")
            .body("[]");
    });
    // The server forgets n1 after one use and offers n2, without saying `stale`.
    let rotated = server.mock(|when, then| {
        when.path_includes("/availableProjects")
            .header_includes("authorization", "nonce=\"n1\"")
            .header_includes("authorization", "nc=00000002");
        then.status(401).header("www-authenticate", challenge("n2"));
    });
    let renewed = server.mock(|when, then| {
        when.path_includes("/availableProjects")
            .header_includes("authorization", "nonce=\"n2\"");
        then.status(200)
            .header("content-type", "application/json")
            .body("[]");
    });
    let client = support::builder(&server.base_url())
        .api_key("pub", "priv".to_owned())
        .build()
        .unwrap();
    let org = "4888442a3354817a7320eb61".parse().unwrap();
    for _ in 0..3 {
        assert!(client.list_source_projects(&org).await.unwrap().is_empty());
    }
    probe.assert_calls(1);
    first.assert_calls(1);
    rotated.assert_calls(1);
    renewed.assert_calls(2);
}

#[tokio::test]
async fn a_fresh_challenge_refused_with_another_is_a_refused_key() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(GET)
            .path("/api/atlas/v2")
            .header_missing("authorization");
        then.status(401).header("www-authenticate", challenge("n1"));
    });
    let refused = server.mock(|when, then| {
        when.path_includes("/availableProjects");
        then.status(401).header("www-authenticate", challenge("n2"));
    });
    let client = support::builder(&server.base_url())
        .api_key("pub", "priv".to_owned())
        .build()
        .unwrap();
    let org = "4888442a3354817a7320eb61".parse().unwrap();
    let err = client.list_source_projects(&org).await.unwrap_err();
    assert!(err.to_string().contains("API key was refused"), "{err}");
    refused.assert_calls(1);
}

#[tokio::test]
async fn missing_or_garbled_challenges_are_clear_auth_errors() {
    for header in [None, Some("Digest realm=\"x"), Some("Basic realm=\"x\"")] {
        let server = MockServer::start_async().await;
        server.mock(|when, then| {
            when.method(GET).path("/api/atlas/v2");
            let then = then.status(401).body("<html>nope</html>");
            if let Some(h) = header {
                then.header("www-authenticate", h);
            }
        });
        let client = support::builder(&server.base_url())
            .api_key("pub", "priv".to_owned())
            .build()
            .unwrap();
        let org = "4888442a3354817a7320eb61".parse().unwrap();
        let err = client.list_source_projects(&org).await.unwrap_err();
        assert!(err.is_auth(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("no WWW-Authenticate")
                || text.contains("garbled")
                || text.contains("no Digest"),
            "{text}"
        );
    }
}
