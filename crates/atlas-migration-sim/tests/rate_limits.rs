//! Metering as Atlas's rate-limit page describes it: token buckets per endpoint set and
//! scope, 429 with `Retry-After` and a `RATE_LIMITED_TOKEN_BUCKET` body, `RateLimit-Limit` /
//! `RateLimit-Remaining` on replies unless omitted; the documented sets on by default; and
//! the test modes: fixed windows, other bodies and header placements, background consumers,
//! and 503 faults with `Retry-After`.

mod common;

use std::time::Duration;

use atlas_migration_sim::operations::GET_MIGRATION;
use atlas_migration_sim::{
    BackgroundConsumer, Fault, FaultKind, RateLimit, RateLimitBody, RateLimitHeaders, RateScope,
    Simulator, SimulatorBuilder, Timings,
};
use common::*;
use reqwest::StatusCode;
use serde_json::json;

/// A project's reads: 3 tokens, 2 more every 10 s.
fn reads() -> RateLimit {
    RateLimit::new("api/atlas/v2/groups", RateScope::Project)
        .endpoints([GET_MIGRATION])
        .capacity(3)
        .refill(2, Duration::from_secs(10))
}

/// A manual-clock simulator with `limit` alone.
fn manual(limit: RateLimit) -> SimulatorBuilder {
    Simulator::builder()
        .timings(Timings::manual())
        .manual_clock()
        .rate_limit(limit)
}

async fn metered(omit_headers: bool) -> (Simulator, DigestClient, String) {
    let mut builder = manual(reads());
    if omit_headers {
        builder = builder.omit_rate_limit_headers();
    }
    with_migration(builder).await
}

/// Starts `builder` and creates one migration at time zero.
async fn with_migration(builder: SimulatorBuilder) -> (Simulator, DigestClient, String) {
    let sim = builder.start().await.unwrap();
    let c = DigestClient::new(&sim);
    let group = sim.group_id().to_owned();
    let id = json(
        c.create_migration(&group, migration_body(&group))
            .await
            .unwrap(),
    )
    .await["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (sim, c, id)
}

#[tokio::test]
async fn a_bucket_answers_its_capacity_then_429_until_the_next_refill() {
    let (sim, c, id) = metered(false).await;
    let group = sim.group_id().to_owned();
    for left in ["2", "1", "0"] {
        let resp = c.get_migration(&group, &id).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["ratelimit-limit"], "3");
        assert_eq!(resp.headers()["ratelimit-remaining"], left);
    }
    sim.advance(Duration::from_secs(4));
    let refused = c.get_migration(&group, &id).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "6");
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    let body = json(refused).await;
    assert_eq!(body["errorCode"], "RATE_LIMITED_TOKEN_BUCKET");
    assert_eq!(
        body["detail"],
        "Rate limit exceeded for api/atlas/v2/groups. Please retry after 6 seconds. \
         Request capacity: 3. Refill rate: 2 per 10 seconds."
    );
    assert_eq!(sim.rate_limited(), 1);
    sim.advance(Duration::from_secs(6));
    let resp = c.get_migration(&group, &id).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["ratelimit-remaining"],
        "1",
        "two tokens came back"
    );
    // Creating is in no endpoint set here: never metered, no headers.
    let other = c
        .create_migration(&group, migration_body(&group))
        .await
        .unwrap();
    assert!(other.headers().get("ratelimit-limit").is_none());
}

#[tokio::test]
async fn headers_can_be_omitted_as_atlas_may() {
    let (sim, c, id) = metered(true).await;
    let group = sim.group_id().to_owned();
    for _ in 0..3 {
        let resp = c.get_migration(&group, &id).await;
        assert!(resp.headers().get("ratelimit-remaining").is_none());
    }
    let refused = c.get_migration(&group, &id).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused.headers().get("retry-after").is_some(),
        "Retry-After stays"
    );
    assert!(refused.headers().get("ratelimit-limit").is_none());
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

/// The path of `list_source_projects` for `org`.
fn available_projects(org: &str) -> String {
    format!("/api/atlas/v2/orgs/{org}/liveMigrations/availableProjects")
}

const OTHER_ORG: &str = "5e2211c17a3e5a48f5497de4";

#[tokio::test]
async fn the_documented_sets_meter_by_default() {
    let sim = Simulator::builder()
        .timings(Timings::manual())
        .manual_clock()
        .start()
        .await
        .unwrap();
    let c = DigestClient::new(&sim);
    let (group, org) = (sim.group_id().to_owned(), sim.org_id().to_owned());
    let created = c
        .create_migration(&group, migration_body(&group))
        .await
        .unwrap();
    assert_eq!(header(&created, "ratelimit-limit"), Some("1200"));
    assert_eq!(header(&created, "ratelimit-remaining"), Some("1199"));
    let id = json(created).await["_id"].as_str().unwrap().to_owned();
    // The five project operations share one bucket per project.
    let polled = c.get_migration(&group, &id).await;
    assert_eq!(header(&polled, "ratelimit-remaining"), Some("1198"));
    let cutover = c.cutover(&group, &id).await;
    assert_eq!(header(&cutover, "ratelimit-remaining"), Some("1197"));
    // The organization operations have theirs, one per `orgId` of the path.
    let link = c.create_link_token(&org).await;
    assert_eq!(link.status(), StatusCode::OK);
    assert_eq!(header(&link, "ratelimit-limit"), Some("500"));
    assert_eq!(header(&link, "ratelimit-remaining"), Some("499"));
    let other = c.get(&available_projects(OTHER_ORG)).await;
    assert_eq!(header(&other, "ratelimit-remaining"), Some("499"));
    let same = c.get(&available_projects(&org)).await;
    assert_eq!(header(&same, "ratelimit-remaining"), Some("498"));
    assert_eq!(sim.rate_limited(), 0);
}

#[tokio::test]
async fn a_refusal_from_the_documented_sets_names_their_numbers() {
    // Neighbours that spend all of the project's and the organization's tokens in a second.
    let (group, org) = ("5e2211c17a3e5a48f5497de5", "5e2211c17a3e5a48f5497de6");
    let sim = Simulator::builder()
        .timings(Timings::manual())
        .manual_clock()
        .group_id(group)
        .org_id(org)
        .background_consumer(BackgroundConsumer::per_second(1_200).project(group))
        .background_consumer(BackgroundConsumer::per_second(500).organization(org))
        .start()
        .await
        .unwrap();
    let c = DigestClient::new(&sim);
    let created = c
        .create_migration(group, migration_body(group))
        .await
        .unwrap();
    let id = json(created).await["_id"].as_str().unwrap().to_owned();
    assert_eq!(c.create_link_token(org).await.status(), StatusCode::OK);
    sim.advance(Duration::from_secs(1));
    let refused = c.get_migration(group, &id).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "retry-after"), Some("59"));
    let body = json(refused).await;
    assert_eq!(
        body["detail"],
        "Rate limit exceeded for api/atlas/v2/groups. Please retry after 59 seconds. \
         Request capacity: 1200. Refill rate: 500 per 60 seconds."
    );
    assert_eq!(
        body["parameters"],
        json!(["api/atlas/v2/groups", 59, 1200, 500, 60])
    );
    let refused = c.get(&available_projects(org)).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        json(refused).await["detail"],
        "Rate limit exceeded for api/atlas/v2/orgs. Please retry after 59 seconds. \
         Request capacity: 500. Refill rate: 250 per 60 seconds."
    );
    // The neighbours found 1,199 and 499 tokens for their 1,200 and 500 requests.
    assert_eq!(sim.background_served(), 1_199 + 499);
    assert_eq!(sim.background_refused(), 2);
    assert_eq!(sim.rate_limited(), 2, "only the client's refusals");
    assert_eq!(
        sim.requests().len(),
        5,
        "the log holds the client's probe, create, link and two refusals only"
    );
}

#[tokio::test]
async fn fast_tests_keep_the_documented_set_with_smaller_numbers() {
    let fast = RateLimit::documented_project()
        .capacity(50)
        .refill(50, Duration::from_secs(1));
    let (sim, c, id) = with_migration(manual(fast)).await;
    let group = sim.group_id().to_owned();
    for _ in 1..50 {
        assert_eq!(c.get_migration(&group, &id).await.status(), StatusCode::OK);
    }
    let refused = c.get_migration(&group, &id).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "retry-after"), Some("1"));
    assert_eq!(
        json(refused).await["detail"],
        "Rate limit exceeded for api/atlas/v2/groups. Please retry after 1 seconds. \
         Request capacity: 50. Refill rate: 50 per 1 seconds."
    );
    sim.advance(Duration::from_secs(1));
    let again = c.get_migration(&group, &id).await;
    assert_eq!(header(&again, "ratelimit-remaining"), Some("49"));
    // `rate_limit` replaced the defaults: the organization's operations are not metered.
    let link = c.create_link_token(sim.org_id()).await;
    assert_eq!(header(&link, "ratelimit-limit"), None);
}

#[tokio::test]
async fn unmetered_meters_nothing() {
    let sim = Simulator::builder()
        .timings(Timings::manual())
        .manual_clock()
        .background_consumer(BackgroundConsumer::per_second(10_000))
        .unmetered()
        .start()
        .await
        .unwrap();
    let c = DigestClient::new(&sim);
    let group = sim.group_id().to_owned();
    let created = c
        .create_migration(&group, migration_body(&group))
        .await
        .unwrap();
    let id = json(created).await["_id"].as_str().unwrap().to_owned();
    sim.advance(Duration::from_secs(60));
    for _ in 0..20 {
        let resp = c.get_migration(&group, &id).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header(&resp, "ratelimit-limit"), None);
    }
    assert_eq!(sim.rate_limited(), 0);
    assert_eq!((sim.background_served(), sim.background_refused()), (0, 0));
}

#[tokio::test]
async fn a_fixed_window_allows_its_requests_per_window_aligned_to_the_start() {
    let window = RateLimit::new("gateway", RateScope::Project)
        .endpoints([GET_MIGRATION])
        .fixed_window(3, Duration::from_secs(10));
    let (sim, c, id) = with_migration(manual(window)).await;
    let group = sim.group_id().to_owned();
    sim.advance(Duration::from_secs(4));
    for left in ["2", "1", "0"] {
        let resp = c.get_migration(&group, &id).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header(&resp, "ratelimit-limit"), Some("3"));
        assert_eq!(header(&resp, "ratelimit-remaining"), Some(left));
    }
    let refused = c.get_migration(&group, &id).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&refused, "retry-after"),
        Some("6"),
        "the window ends at 10 s, not 10 s after the first request"
    );
    assert_eq!(
        json(refused).await["detail"],
        "Rate limit exceeded for gateway. Please retry after 6 seconds. \
         Request capacity: 3. Refill rate: 3 per 10 seconds."
    );
    sim.advance(Duration::from_millis(5_500));
    let refused = c.get_migration(&group, &id).await;
    assert_eq!(
        header(&refused, "retry-after"),
        Some("1"),
        "half a second, rounded up"
    );
    sim.advance(Duration::from_millis(500));
    for left in ["2", "1", "0"] {
        let resp = c.get_migration(&group, &id).await;
        assert_eq!(
            header(&resp, "ratelimit-remaining"),
            Some(left),
            "a whole new window"
        );
    }
    assert_eq!(sim.rate_limited(), 2);
}

#[tokio::test]
async fn the_spec_example_body_says_nothing_about_the_bucket() {
    let builder = manual(reads().capacity(1)).rate_limit_body(RateLimitBody::SpecExample);
    let (sim, c, id) = with_migration(builder).await;
    let group = sim.group_id().to_owned();
    assert_eq!(c.get_migration(&group, &id).await.status(), StatusCode::OK);
    let refused = c.get_migration(&group, &id).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&refused, "retry-after"),
        Some("10"),
        "Retry-After stays"
    );
    assert_eq!(
        json(refused).await,
        json!({
            "detail": "(This is just an example, the exception may not be related to this endpoint)",
            "error": 429,
            "errorCode": "RATE_LIMITED",
            "reason": "Too Many Requests"
        })
    );
}

#[tokio::test]
async fn headers_can_come_on_refusals_only() {
    let builder = manual(reads().capacity(1)).rate_limit_headers(RateLimitHeaders::OnRefusals);
    let (sim, c, id) = with_migration(builder).await;
    let group = sim.group_id().to_owned();
    let allowed = c.get_migration(&group, &id).await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(header(&allowed, "ratelimit-limit"), None);
    assert_eq!(header(&allowed, "ratelimit-remaining"), None);
    let refused = c.get_migration(&group, &id).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "ratelimit-limit"), Some("1"));
    assert_eq!(header(&refused, "ratelimit-remaining"), Some("0"));
    assert_eq!(header(&refused, "retry-after"), Some("10"));
}

/// Sends `rate` reads evenly over each second from `from` for `seconds`, moving the manual
/// clock to each send; returns the reads answered per second.
async fn paced(
    sim: &Simulator,
    c: &DigestClient,
    id: &str,
    from: u64,
    seconds: u64,
    rate: u64,
) -> Vec<u64> {
    let group = sim.group_id().to_owned();
    let mut answered = Vec::new();
    for s in from..from + seconds {
        let mut ok = 0;
        for j in 0..rate {
            let at = Duration::from_nanos(s * 1_000_000_000 + (2 * j + 1) * 500_000_000 / rate);
            sim.advance(at - sim.now());
            let status = c.get_migration(&group, id).await.status();
            assert!(matches!(
                status,
                StatusCode::OK | StatusCode::TOO_MANY_REQUESTS
            ));
            ok += u64::from(status == StatusCode::OK);
        }
        answered.push(ok);
    }
    answered
}

#[tokio::test]
async fn a_neighbour_spending_half_the_refill_leaves_the_client_the_other_half() {
    let fast = RateLimit::documented_project()
        .capacity(50)
        .refill(50, Duration::from_secs(1));
    let builder = manual(fast).background_consumer(BackgroundConsumer::per_second(25));
    let (sim, c, id) = with_migration(builder).await;
    // 25 reads a second fit next to the neighbour's 25: nobody is refused.
    assert_eq!(paced(&sim, &c, &id, 0, 10, 25).await, vec![25; 10]);
    assert_eq!(sim.rate_limited(), 0);
    // One more a second is one too many, every second, once the burst is spent.
    assert_eq!(paced(&sim, &c, &id, 10, 10, 26).await, vec![25; 10]);
    assert_eq!(sim.rate_limited(), 10);
    // The neighbour, sending at 40 ms, 80 ms, ..., lost nothing.
    assert_eq!(sim.background_served(), 499);
    assert_eq!(sim.background_refused(), 0);
    assert_eq!(sim.count(GET_MIGRATION), 510, "its requests are not logged");
}

#[tokio::test]
async fn a_503_fault_carries_retry_after() {
    let (sim, c, id) =
        with_migration(manual(reads()).fault(Fault::on(GET_MIGRATION).service_unavailable(42)))
            .await;
    let group = sim.group_id().to_owned();
    let down = c.get_migration(&group, &id).await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&down, "retry-after"), Some("42"));
    let body = json(down).await;
    assert_eq!(
        (body["error"].clone(), body["errorCode"].clone()),
        (json!(503), json!("SERVICE_UNAVAILABLE"))
    );
    assert_eq!(c.get_migration(&group, &id).await.status(), StatusCode::OK);
    sim.inject(Fault::any().kind(FaultKind::service_unavailable(7)));
    let down = c.cutover(&group, &id).await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&down, "retry-after"), Some("7"));
    assert!(sim.requests().iter().any(|r| r.fault == Some("status_503")));
}
