//! Metering as Atlas's rate-limit page describes it: token buckets per endpoint set and
//! scope, 429 with `Retry-After` and a `RATE_LIMITED_TOKEN_BUCKET` body, `RateLimit-Limit` /
//! `RateLimit-Remaining` on replies unless omitted.

mod common;

use std::time::Duration;

use atlas_migration_sim::operations::GET_PUSH_MIGRATION;
use atlas_migration_sim::{RateLimit, RateScope, Simulator, Timings};
use common::*;
use reqwest::StatusCode;

async fn metered(omit_headers: bool) -> (Simulator, DigestClient, String) {
    let mut builder = Simulator::builder()
        .timings(Timings::manual())
        .manual_clock()
        .rate_limit(
            RateLimit::new("api/atlas/v2/groups", RateScope::Project)
                .endpoints([GET_PUSH_MIGRATION])
                .capacity(3)
                .refill(2, Duration::from_secs(10)),
        );
    if omit_headers {
        builder = builder.omit_rate_limit_headers();
    }
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
