//! Service-account (OAuth2 client credentials) behaviour against the simulator's token
//! endpoint and httpmock.

use atlas_migration_tests as support;

use atlas_migration_sim::operations::LIST_SOURCE_PROJECTS;
use std::time::{Duration, Instant};

use atlas_migration::{Client, Error, OrgId, RetryPolicy};
use atlas_migration_sim::{Fault, OAUTH_REVOKE, OAUTH_TOKEN, Simulator, TokenReply};
use chrono::Utc;
use futures::future::join_all;
use httpmock::prelude::*;

async fn linked_sim(builder: atlas_migration_sim::SimulatorBuilder) -> Simulator {
    let sim = builder.start().await.unwrap();
    support::link(&sim, &support::digest_client(&sim)).await;
    sim.clear_requests();
    sim
}

#[tokio::test]
async fn token_is_cached_and_its_expiry_visible() {
    let sim = linked_sim(Simulator::builder()).await;
    let client = support::account_client(&sim);
    assert_eq!(client.token_expiry(), None);
    for _ in 0..10 {
        client
            .list_source_projects(&support::org(&sim))
            .await
            .unwrap();
    }
    assert_eq!(sim.token_requests(), 1);
    assert_eq!(sim.requests().len(), 11);
    let left = client.token_expiry().unwrap() - Utc::now();
    assert!(
        left > chrono::Duration::minutes(59) && left <= chrono::Duration::minutes(60),
        "{left}"
    );
}

#[tokio::test]
async fn fifty_concurrent_cold_calls_fetch_one_token() {
    let sim = linked_sim(Simulator::builder()).await;
    let client = support::account_client(&sim);
    let org = support::org(&sim);
    let calls = (0..50).map(|_| {
        let (client, org) = (client.clone(), org.clone());
        tokio::spawn(async move { client.list_source_projects(&org).await })
    });
    for r in join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(sim.token_requests(), 1);
}

#[tokio::test]
async fn token_is_refreshed_shortly_before_it_expires() {
    let sim = linked_sim(Simulator::builder().token_lifetime(Duration::from_secs(2))).await;
    let client = support::builder(&sim.base_url())
        .service_account(sim.client_id(), sim.client_secret().to_owned())
        .token_refresh_margin(Duration::from_secs(2))
        .build()
        .unwrap();
    let org = support::org(&sim);
    client.list_source_projects(&org).await.unwrap();
    let first_expiry = client.token_expiry().unwrap();
    // The margin shrinks to a quarter of the 2 s lifetime: the token serves 1.5 s.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    client.list_source_projects(&org).await.unwrap();
    assert_eq!(sim.token_requests(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The token still has ~0.4 s to live, but is inside the margin: refreshed early.
    client.list_source_projects(&org).await.unwrap();
    assert_eq!(sim.token_requests(), 2);
    assert!(client.token_expiry().unwrap() > first_expiry);
    assert_eq!(
        sim.unauthorized_count(),
        0,
        "no call was sent with an expiring token"
    );
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once() {
    let sim = linked_sim(
        Simulator::builder()
            .manual_clock()
            .token_lifetime(Duration::from_secs(60)),
    )
    .await;
    let client = support::builder(&sim.base_url())
        .service_account(sim.client_id(), sim.client_secret().to_owned())
        .token_refresh_margin(Duration::ZERO)
        .build()
        .unwrap();
    let org = support::org(&sim);
    client.list_source_projects(&org).await.unwrap();
    sim.advance(Duration::from_secs(61)); // the server now refuses the cached token
    client.list_source_projects(&org).await.unwrap();
    assert_eq!(sim.token_requests(), 2);
    assert_eq!(sim.unauthorized_count(), 1);
}

#[tokio::test]
async fn wrong_client_secret_is_a_clear_auth_error() {
    let sim = linked_sim(Simulator::builder()).await;
    let client = support::builder(&sim.base_url())
        .service_account(sim.client_id(), "mdb_sa_sk_wrong_wrong_wrong".to_owned())
        .build()
        .unwrap();
    let err = client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    let text = err.to_string();
    assert!(text.contains("token endpoint refused"), "{text}");
    assert!(!text.contains("wrong_wrong"), "{text}");
    assert_eq!(
        sim.count(LIST_SOURCE_PROJECTS),
        0,
        "no call without a token"
    );
}

#[tokio::test]
async fn rate_limited_token_endpoint_reports_retry_after() {
    let server = MockServer::start_async().await;
    let token = server.mock(|when, then| {
        when.method(POST)
            .path("/api/oauth/token")
            .header_includes("authorization", "Basic ")
            .body_includes("grant_type=client_credentials");
        then.status(429)
            .header("retry-after", "42")
            .header("content-type", "application/json")
            .body(r#"{"error":"rate_limited"}"#);
    });
    let client = support::builder(&server.base_url())
        .service_account("id", "secret".to_owned())
        .build()
        .unwrap();
    let org = "4888442a3354817a7320eb61".parse().unwrap();
    let err = client.list_source_projects(&org).await.unwrap_err();
    assert!(err.is_auth() && err.is_rate_limited(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(42)));
    assert_eq!(err.error_code(), Some("rate_limited"));
    assert!(err.to_string().contains("10 requests a minute"), "{err}");
    token.assert_calls(1);
}

#[tokio::test]
async fn revoke_forgets_the_token() {
    let sim = linked_sim(Simulator::builder()).await;
    let client = support::account_client(&sim);
    let org = support::org(&sim);
    client.revoke().await.unwrap(); // nothing cached: no request
    assert_eq!(sim.count(OAUTH_REVOKE), 0);
    client.list_source_projects(&org).await.unwrap();
    client.revoke().await.unwrap();
    assert_eq!(sim.count(OAUTH_REVOKE), 1);
    assert_eq!(client.token_expiry(), None);
    client.list_source_projects(&org).await.unwrap();
    assert_eq!(sim.token_requests(), 2);
    assert_eq!(sim.unauthorized_count(), 0);
}

// --- Hardening: deadlines, hostile replies, failures shared by the single flight ---

/// No token wait may keep a call this long; far above every deadline the tests set.
const NO_HANG: Duration = Duration::from_secs(10);

/// A service-account client for `sim` with a per-attempt `timeout` and `retry`.
fn account(sim: &Simulator, timeout: Duration, retry: RetryPolicy) -> Client {
    support::builder(&sim.base_url())
        .timeout(timeout)
        .retry_policy(retry)
        .service_account(sim.client_id(), sim.client_secret().to_owned())
        .build()
        .unwrap()
}

/// Runs `calls` concurrent `list_source_projects` calls; each one's outcome (`None` if it
/// was still pending after [`NO_HANG`]) and how long it took.
async fn concurrent_calls(
    client: &Client,
    org: &OrgId,
    calls: usize,
) -> Vec<(Option<Result<(), Error>>, Duration)> {
    let tasks = (0..calls).map(|_| {
        let (client, org) = (client.clone(), org.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let out = tokio::time::timeout(NO_HANG, client.list_source_projects(&org)).await;
            (out.ok().map(|r| r.map(drop)), started.elapsed())
        })
    });
    join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("a call panicked"))
        .collect()
}

#[tokio::test]
async fn a_hung_token_endpoint_fails_every_caller_and_revoke_within_their_deadline() {
    let sim = linked_sim(Simulator::builder().fault(Fault::on(OAUTH_TOKEN).hang().always())).await;
    let deadline = Duration::from_millis(300);
    let client = account(&sim, deadline, RetryPolicy::never());
    let org = support::org(&sim);
    let calls = {
        let client = client.clone();
        tokio::spawn(async move { concurrent_calls(&client, &org, 5).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let revoke = tokio::time::timeout(NO_HANG, client.revoke()).await;
    let revoke_took = started.elapsed();
    let calls = calls.await.unwrap();
    let slowest = calls.iter().map(|(_, took)| *took).max().unwrap();
    let pending = calls.iter().filter(|(out, _)| out.is_none()).count();
    println!(
        "hung token endpoint, timeout {deadline:?}: {pending}/5 calls pending after {NO_HANG:?}, \
         slowest {slowest:?}; revoke {} after {revoke_took:?}",
        if revoke.is_ok() {
            "returned"
        } else {
            "pending"
        }
    );
    assert_eq!(pending, 0, "every caller must return");
    assert!(slowest < deadline * 3, "{slowest:?}");
    for (out, _) in &calls {
        let err = out.as_ref().unwrap().as_ref().unwrap_err();
        assert!(
            err.is_auth() && err.is_timeout() && err.is_transient(),
            "{err}"
        );
    }
    revoke
        .expect("revoke must not wait for the hung token request")
        .unwrap();
    assert!(revoke_took < deadline, "{revoke_took:?}");
    assert_eq!(
        sim.token_requests(),
        1,
        "the waiters shared the one request"
    );
}

#[tokio::test]
async fn a_dripping_token_endpoint_is_cut_off_at_the_deadline() {
    let sim = linked_sim(
        Simulator::builder().fault(Fault::on(OAUTH_TOKEN).drip(Duration::from_secs(1)).always()),
    )
    .await;
    let deadline = Duration::from_millis(300);
    let client = account(&sim, deadline, RetryPolicy::never());
    let calls = concurrent_calls(&client, &support::org(&sim), 1).await;
    let (out, took) = &calls[0];
    println!(
        "dripping token endpoint, timeout {deadline:?}: returned={} after {took:?}",
        out.is_some()
    );
    let err = out.as_ref().expect("must return").as_ref().unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(*took < deadline * 3, "{took:?}");
}

#[tokio::test]
async fn a_hung_revoke_endpoint_returns_a_timeout_within_the_deadline() {
    let sim = linked_sim(Simulator::builder().fault(Fault::on(OAUTH_REVOKE).hang().always())).await;
    let deadline = Duration::from_millis(300);
    let client = account(&sim, deadline, RetryPolicy::never());
    client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap();
    let started = Instant::now();
    let revoke = tokio::time::timeout(NO_HANG, client.revoke()).await;
    let took = started.elapsed();
    println!(
        "hung revoke endpoint, timeout {deadline:?}: returned={} after {took:?}",
        revoke.is_ok()
    );
    let err = revoke.expect("revoke must return").unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(took < deadline * 3, "{took:?}");
    assert!(
        client.token_expiry().is_some(),
        "a token that was not revoked stays cached"
    );
}

#[tokio::test]
async fn hostile_expires_in_never_panics_and_gives_a_sane_expiry() {
    let cases = [
        Some("1e13"),
        Some("9223372036854775807"),
        Some("18446744073709551615"),
        Some("-5"),
        Some("0.5"),
        Some("1e400"),
        Some(r#""3600""#),
        Some(r#""soon""#),
        Some("null"),
        None,
    ];
    // Out of the range of a double: the reply is unreadable, a clear error.
    let unreadable = [Some("1e400")];
    let mut panics = 0;
    let mut failures = 0;
    for raw in cases {
        let sim = linked_sim(
            Simulator::builder().token_reply(TokenReply::ExpiresIn(raw.map(str::to_owned))),
        )
        .await;
        let client = account(&sim, Duration::from_secs(5), RetryPolicy::never());
        let org = support::org(&sim);
        let call = {
            let client = client.clone();
            tokio::spawn(async move { client.list_source_projects(&org).await })
        };
        match call.await {
            Err(e) if e.is_panic() => {
                panics += 1;
                println!("expires_in {raw:?}: panic");
                continue;
            }
            Err(e) => panic!("{e}"),
            Ok(Err(e)) => {
                failures += 1;
                println!("expires_in {raw:?}: {e}");
                assert!(unreadable.contains(&raw), "{raw:?}: {e}");
                assert!(e.is_auth() && client.token_expiry().is_none(), "{e}");
                continue;
            }
            Ok(Ok(_)) => {}
        }
        let expiry = client.token_expiry().expect("a cached token");
        let left = expiry - Utc::now();
        println!("expires_in {raw:?}: expires in {left}");
        assert!(left <= chrono::Duration::hours(1), "{raw:?}: {left}");
        assert!(left > chrono::Duration::seconds(-1), "{raw:?}: {left}");
    }
    println!(
        "hostile expires_in: {panics} panics, {failures} failed calls of {}",
        cases.len()
    );
    assert_eq!((panics, failures), (0, unreadable.len()));
}

#[tokio::test]
async fn unusable_tokens_are_refused_on_receipt_and_never_cached() {
    let mut outcomes = Vec::new();
    for token in ["line\nbreak", "", &"a".repeat(20_000)] {
        let sim =
            linked_sim(Simulator::builder().token_reply(TokenReply::AccessToken(token.to_owned())))
                .await;
        let client = account(&sim, Duration::from_secs(5), RetryPolicy::never());
        let org = support::org(&sim);
        let err = client.list_source_projects(&org).await.unwrap_err();
        assert!(err.is_auth(), "{err}");
        assert!(token.len() < 8 || !err.to_string().contains(token), "{err}");
        let cached = client.token_expiry().is_some();
        sim.set_token_reply(TokenReply::Atlas);
        let next = client.list_source_projects(&org).await;
        println!(
            "token of {} bytes: cached={cached}, next call after the server recovered: {}; \
             token requests {}, API calls {}",
            token.len(),
            match &next {
                Ok(_) => "ok".to_owned(),
                Err(e) => e.to_string(),
            },
            sim.token_requests(),
            sim.count(LIST_SOURCE_PROJECTS)
        );
        outcomes.push((cached, next.is_ok(), sim.token_requests()));
    }
    assert_eq!(
        outcomes,
        [(false, true, 2); 3],
        "(cached, recovered, token requests)"
    );
}

/// 200 cold callers against a token endpoint that always fails (with `fault`, or with a
/// `reply` that is no token): the token requests made, the time taken, the errors.
async fn cold_callers_against(
    fault: Option<Fault>,
    reply: TokenReply,
) -> (usize, Duration, Vec<Error>) {
    let mut builder = Simulator::builder().token_reply(reply);
    if let Some(fault) = fault {
        builder = builder.fault(fault);
    }
    let sim = linked_sim(builder).await;
    // Shorter than the first hold (1 s): callers arriving after the failure fail at once
    // instead of waiting to try again.
    let client = account(&sim, Duration::from_millis(500), RetryPolicy::never());
    let started = Instant::now();
    let calls = concurrent_calls(&client, &support::org(&sim), 200).await;
    let took = started.elapsed();
    let errors = calls
        .into_iter()
        .map(|(out, _)| out.expect("no call may hang").unwrap_err())
        .collect();
    (sim.token_requests(), took, errors)
}

#[tokio::test]
async fn two_hundred_cold_callers_share_one_failing_token_request() {
    let failing = |fault: Fault| Some(fault.always());
    let cases = [
        (
            "500",
            failing(Fault::on(OAUTH_TOKEN).status(500)),
            TokenReply::Atlas,
        ),
        (
            "503",
            failing(Fault::on(OAUTH_TOKEN).status(503)),
            TokenReply::Atlas,
        ),
        (
            "429 Retry-After 30",
            failing(Fault::on(OAUTH_TOKEN).too_many_requests(30)),
            TokenReply::Atlas,
        ),
        (
            "garbage",
            None,
            TokenReply::Garbage("<html>busy</html>".into()),
        ),
    ];
    let mut requests = Vec::new();
    for (name, fault, reply) in cases {
        let (made, took, errors) = cold_callers_against(fault, reply).await;
        println!("200 cold callers vs token endpoint {name}: {made} token requests in {took:?}");
        assert!(errors.iter().all(Error::is_auth), "{name}");
        requests.push(made);
    }
    assert_eq!(
        requests,
        [1, 1, 1, 1],
        "one request each, its failure shared"
    );
}

#[tokio::test]
async fn a_token_living_no_longer_than_the_refresh_margin_is_still_reused() {
    let mut requests = Vec::new();
    for lifetime in [60, 10] {
        let sim =
            linked_sim(Simulator::builder().token_lifetime(Duration::from_secs(lifetime))).await;
        let client = account(&sim, Duration::from_secs(5), RetryPolicy::never());
        let org = support::org(&sim);
        for _ in 0..20 {
            client.list_source_projects(&org).await.unwrap();
        }
        println!(
            "expires_in {lifetime} s (refresh margin 60 s): {} token requests for 20 calls",
            sim.token_requests()
        );
        requests.push(sim.token_requests());
    }
    assert_eq!(requests, [1, 1]);
}

#[tokio::test]
async fn token_requests_are_capped_at_ten_a_minute() {
    // `expires_in: 0`: no token outlives its call, so every call asks for a new one.
    let sim =
        linked_sim(Simulator::builder().token_reply(TokenReply::ExpiresIn(Some("0".to_owned()))))
            .await;
    let client = account(&sim, Duration::from_millis(200), RetryPolicy::never());
    let org = support::org(&sim);
    let mut refused = Vec::new();
    for _ in 0..20 {
        if let Err(e) = client.list_source_projects(&org).await {
            refused.push(e);
        }
    }
    println!(
        "expires_in 0, 20 calls: {} token requests, {} calls refused",
        sim.token_requests(),
        refused.len()
    );
    assert_eq!(sim.token_requests(), 10);
    assert_eq!(refused.len(), 10);
    for e in &refused {
        assert!(
            e.is_auth() && e.is_transient() && e.retry_at().is_some(),
            "{e}"
        );
        assert!(e.to_string().contains("10 token requests a minute"), "{e}");
    }
}

#[tokio::test]
async fn a_caller_held_back_past_its_deadline_fails_at_once_saying_until_when() {
    let sim =
        linked_sim(Simulator::builder().fault(Fault::on(OAUTH_TOKEN).too_many_requests(30))).await;
    let client = account(&sim, Duration::from_millis(300), RetryPolicy::never());
    let org = support::org(&sim);
    let first = client.list_source_projects(&org).await.unwrap_err();
    assert!(first.is_rate_limited(), "{first}");
    let started = Instant::now();
    let held = client.list_source_projects(&org).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "failed at once"
    );
    assert!(
        held.is_auth() && held.is_rate_limited() && held.is_transient(),
        "{held}"
    );
    assert!(
        held.to_string().contains("no token request for another"),
        "{held}"
    );
    let wait = held.retry_at().unwrap() - Utc::now();
    assert!(
        wait > chrono::Duration::seconds(25) && wait <= chrono::Duration::seconds(30),
        "{wait}"
    );
    assert_eq!(sim.token_requests(), 1, "held back: nothing sent");
}

#[tokio::test]
async fn a_caller_held_back_within_its_deadline_waits_and_succeeds() {
    let sim = linked_sim(Simulator::builder().fault(Fault::on(OAUTH_TOKEN).status(503))).await;
    let client = account(&sim, Duration::from_secs(5), RetryPolicy::never());
    let org = support::org(&sim);
    assert_eq!(
        client
            .list_source_projects(&org)
            .await
            .unwrap_err()
            .status(),
        Some(503)
    );
    let started = Instant::now();
    client.list_source_projects(&org).await.unwrap();
    let waited = started.elapsed();
    // The first hold is 1 s plus up to 25 % jitter.
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(sim.token_requests(), 2);
}

#[tokio::test]
async fn retried_calls_against_a_failing_token_endpoint_stay_a_trickle() {
    let sim =
        linked_sim(Simulator::builder().fault(Fault::on(OAUTH_TOKEN).status(503).always())).await;
    // Three attempts each, 1.5 s per attempt: the first request fails at once; callers then
    // wait out the first hold (1 to 1.25 s) and share a second request; after it the hold
    // (2 to 2.5 s) ends past every attempt's deadline, so the rest fail at once.
    let client = account(&sim, Duration::from_millis(1500), support::fast_retries());
    let calls = concurrent_calls(&client, &support::org(&sim), 200).await;
    for (out, _) in &calls {
        let err = out
            .as_ref()
            .expect("no call may hang")
            .as_ref()
            .unwrap_err();
        assert!(err.is_auth() && err.is_transient(), "{err}");
    }
    println!(
        "200 callers x 3 attempts vs token endpoint 503: {} token requests",
        sim.token_requests()
    );
    assert_eq!(
        sim.token_requests(),
        2,
        "one per hold, not per caller or attempt"
    );
}

#[tokio::test]
async fn the_token_request_cap_is_configurable() {
    let sim =
        linked_sim(Simulator::builder().token_reply(TokenReply::ExpiresIn(Some("0".to_owned()))))
            .await;
    let client = support::builder(&sim.base_url())
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::never())
        .max_token_requests_per_minute(3)
        .service_account(sim.client_id(), sim.client_secret().to_owned())
        .build()
        .unwrap();
    let org = support::org(&sim);
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        outcomes.push(client.list_source_projects(&org).await.is_ok());
    }
    assert_eq!(outcomes, [true, true, true, false, false]);
    assert_eq!(sim.token_requests(), 3);
}
