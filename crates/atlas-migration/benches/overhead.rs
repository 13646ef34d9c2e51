//! Per-call latency of this client against raw reqwest, both hitting the same loopback
//! server with the same bearer token; prints the median ratio (goal: at most 1.10).

use std::time::{Duration, Instant};

use atlas_migration::{Client, OrgId, RateLimits, RetryPolicy};
use criterion::{Criterion, criterion_group, criterion_main};
use httpmock::prelude::*;
use serde_json::json;

const ORG: &str = "4888442a3354817a7320eb61";

struct Setup {
    _server: MockServer,
    url: String,
    client: Client,
    raw: reqwest::Client,
    org: OrgId,
}

async fn setup() -> Setup {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method(POST).path("/api/oauth/token");
        then.status(200)
            .json_body(json!({"access_token": "bench-token", "expires_in": 3600}));
    });
    server.mock(|when, then| {
        when.method(GET).path_includes("/availableProjects");
        then.status(200)
            .header("content-type", "application/vnd.atlas.2023-01-01+json")
            .json_body(json!([{"name": "p", "projectId": "32b6e34b3d91647abb20e7b8",
                "deployments": [{"name": "rs0", "featureCompatibilityVersion": "7.0",
                "managed": true, "mongoDBVersion": "7.0.5", "sharded": false, "tlsEnabled": true}]}]));
    });
    let client = Client::builder()
        .base_url(server.base_url())
        .service_account("id", "secret".to_owned())
        .retry_policy(RetryPolicy::never())
        // Unmetered, as the raw client is: the bench measures the work per call, not the
        // pace of the documented organization set (250 requests a minute), which the
        // thousands of calls here would otherwise wait for.
        .rate_limits(RateLimits::learned_only())
        .build()
        .unwrap();
    let org: OrgId = ORG.parse().unwrap();
    client.list_source_projects(&org).await.unwrap(); // warm the token
    let url = format!(
        "{}/api/atlas/v2/orgs/{ORG}/liveMigrations/availableProjects",
        server.base_url()
    );
    Setup {
        _server: server,
        url,
        client,
        raw: reqwest::Client::new(),
        org,
    }
}

async fn raw_call(s: &Setup) {
    let r = s
        .raw
        .get(&s.url)
        .header("accept", "application/vnd.atlas.2023-01-01+json")
        .header("authorization", "Bearer bench-token")
        .send()
        .await
        .unwrap();
    let _: serde_json::Value = r.json().await.unwrap();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(setup());

    // Interleaved samples so that drift affects both sides alike.
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for _ in 0..2000 {
            let t = Instant::now();
            s.client.list_source_projects(&s.org).await.unwrap();
            ours.push(t.elapsed());
            let t = Instant::now();
            raw_call(&s).await;
            raw.push(t.elapsed());
        }
    });
    let (m_ours, m_raw) = (median(ours), median(raw));
    println!(
        "median per call: atlas-migration {m_ours:?}, raw reqwest {m_raw:?}, ratio {:.3} (goal <= 1.10)",
        m_ours.as_secs_f64() / m_raw.as_secs_f64()
    );

    let mut group = c.benchmark_group("list_source_projects");
    group.bench_function("atlas-migration", |b| {
        b.to_async(&rt)
            .iter(|| async { s.client.list_source_projects(&s.org).await.unwrap() })
    });
    group.bench_function("raw reqwest", |b| b.to_async(&rt).iter(|| raw_call(&s)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
