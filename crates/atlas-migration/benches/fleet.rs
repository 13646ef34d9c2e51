//! A fleet under Atlas's rate limits, against the simulator on loopback with metering on.
//! Prints each figure with its goal:
//!
//! 1. 1,000 push migrations across 10 projects, each project's bucket small enough that the
//!    budget sets the pace: 429s as a share of all requests (goal ≤ 1 %), and completion
//!    time against the ideal the budget allows for the requests made (goal ≤ 1.2×).
//! 2. 1,000 concurrent reads all refused once with `Retry-After: 1` (no detail): the share
//!    of retries in the busiest 100 ms window (goal ≤ 10 %); and 1,000 concurrent reads of
//!    a metered project whose 429s name the refill rate: 429s, and the busiest 100 ms after
//!    the first one against the bucket's refill.
//! 3. 10,000 watched migrations on one client with default settings: peak RSS per
//!    migration (goal ≤ 40 KB) and open sockets (goal ≤ the in-flight cap, 64).
//!
//! Run with `cargo bench -p atlas-migration --bench fleet` (add `-- 1` to run part 1 only).

use std::time::{Duration, Instant};

use atlas_migration::workflow::{Fleet, FleetMember, PushMigration};
use atlas_migration::{
    Client, Destination, GroupId, LiveMigrationId, MigrationRequest, RateLimits, Source,
};
use atlas_migration_sim::operations::GET_MIGRATION;
use atlas_migration_sim::{Fault, RateLimit, RateScope, Simulator, Timings};

const PROJECTS: usize = 10;
const MIGRATIONS: usize = 1_000;
const CAPACITY: u32 = 50;
const REFILL_PER_SECOND: u32 = 50;

/// A client that starts from the published sizes of `sim`'s project buckets (`None`: learns
/// only from refusals).
fn client(sim: &Simulator, limits: RateLimits) -> Client {
    Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .rate_limits(limits)
        .build()
        .expect("valid configuration")
}

/// The sizes of the metered fleet's buckets, as a user configures them from Atlas's table.
fn fleet_limits() -> RateLimits {
    RateLimits::documented().project(CAPACITY, REFILL_PER_SECOND, Duration::from_secs(1))
}

/// Links `sim`'s organization, as migrations need.
async fn link(client: &Client, sim: &Simulator) {
    let org = sim.org_id().parse().expect("valid id");
    client
        .create_link_token(&org, Vec::<String>::new())
        .await
        .expect("link token");
}

fn request(sim: &Simulator, group: &GroupId, n: usize) -> MigrationRequest {
    let project = &sim.source_projects()[0];
    MigrationRequest::builder()
        .source(
            Source::new(
                project.deployments[0].name.clone(),
                project.project_id.parse().expect("valid id"),
            )
            .credentials("migrator", "bench-password".to_owned()),
        )
        .destination(Destination::new(format!("target-{n}"), group.clone()))
        .migration_host(project.migration_hosts[0].clone())
        .build()
        .expect("valid request")
}

fn group_ids() -> Vec<GroupId> {
    (0..PROJECTS)
        .map(|p| format!("{:024x}", 0xb0_0000 + p).parse().expect("valid id"))
        .collect()
}

async fn metered_fleet() {
    let sim = Simulator::builder()
        .timings(Timings::fast())
        .rate_limit(
            RateLimit::new("api/atlas/v2/groups", RateScope::Project)
                .capacity(CAPACITY)
                .refill(REFILL_PER_SECOND, Duration::from_secs(1)),
        )
        .start()
        .await
        .expect("simulator starts");
    let client = client(&sim, fleet_limits());
    link(&client, &sim).await;
    sim.clear_requests();
    let groups = group_ids();
    let mut fleet = Fleet::new().concurrency(MIGRATIONS);
    for n in 0..MIGRATIONS {
        let g = &groups[n % PROJECTS];
        let flow = PushMigration::new(&client, g, request(&sim, g, n))
            .poll_delays(Duration::from_millis(200), Duration::from_secs(2))
            .auto_cutover(true);
        fleet = fleet.member(FleetMember::new(format!("m{n}"), flow));
    }
    let started = Instant::now();
    let report = fleet.run().await;
    let took = started.elapsed();
    if std::env::var_os("FLEET_DEBUG").is_some() {
        println!("{:#?}", client.throttle_status());
        let reqs = sim.requests();
        let t0 = reqs[0].received_at;
        for r in reqs.iter().filter(|r| r.status == Some(429)).take(40) {
            println!("429 at {:?} {}", r.received_at - t0, r.path);
        }
    }
    let requests = sim.requests();
    let project_requests: Vec<_> = requests
        .iter()
        .filter(|r| r.path.contains("/groups/"))
        .collect();
    let refused = sim.rate_limited();
    let served = project_requests.len() - refused;
    // The least time the budget allows for the requests served: each project's burst, then
    // its refill rate.
    let per_project = served as f64 / PROJECTS as f64;
    let ideal =
        ((per_project - f64::from(CAPACITY)).max(0.0) / f64::from(REFILL_PER_SECOND)).max(0.001);
    println!(
        "1. metered fleet: {MIGRATIONS} migrations, {PROJECTS} projects, bucket {CAPACITY} + {REFILL_PER_SECOND}/s each"
    );
    println!(
        "   complete {} failed {}; {} requests to projects, {} answered 429 = {:.2} % (goal <= 1 %)",
        report.complete(),
        report.failed(),
        project_requests.len(),
        refused,
        100.0 * refused as f64 / project_requests.len().max(1) as f64
    );
    println!(
        "   took {:.1} s; ideal for {served} requests {:.1} s; ratio {:.2} (goal <= 1.2)",
        took.as_secs_f64(),
        ideal,
        took.as_secs_f64() / ideal
    );
}

/// Share of the retries (requests after each caller's first) in the busiest 100 ms window.
async fn retry_burst(with_detail: bool) {
    let mut builder = Simulator::builder().unmetered().timings(Timings::manual());
    if with_detail {
        // Atlas's own refusals: a bucket of 100 refilled by 100 a second, whose 429s name
        // the refill rate.
        builder = builder.rate_limit(
            RateLimit::new("api/atlas/v2/groups", RateScope::Project)
                .capacity(100)
                .refill(100, Duration::from_secs(1)),
        );
    }
    let sim = builder.start().await.expect("simulator starts");
    let client = client(&sim, RateLimits::documented());
    let g: GroupId = sim.group_id().parse().expect("valid id");
    link(&client, &sim).await;
    let id: LiveMigrationId = client
        .create_migration(&g, &request(&sim, &g, 0))
        .await
        .expect("created")
        .id;
    // Let the bucket fill up again after the set-up calls.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.clear_requests();
    if !with_detail {
        // Every first attempt refused, by a server that says nothing of its refill rate.
        sim.inject(Fault::on(GET_MIGRATION).too_many_requests(1).times(1_000));
    }
    let calls: Vec<_> = (0..1_000)
        .map(|_| {
            let (client, g, id) = (client.clone(), g.clone(), id.clone());
            tokio::spawn(async move { client.get_migration(&g, &id).await.is_ok() })
        })
        .collect();
    let mut ok = 0;
    for call in calls {
        ok += usize::from(call.await.unwrap_or(false));
    }
    let log = sim.requests();
    if with_detail {
        // Atlas's own 429s: how many, and how fast requests came after the first one,
        // against the bucket's 10 per 100 ms.
        let after: Vec<Instant> = log
            .iter()
            .skip_while(|r| r.status != Some(429))
            .map(|r| r.received_at)
            .collect();
        println!(
            "2. 1000 calls on a metered project (100 + 100/s; 429s name the refill rate): {ok} of 1000 succeeded; {} answered 429 = {:.2} %; after the first 429, at most {} requests in 100 ms (bucket refills 10)",
            sim.rate_limited(),
            100.0 * sim.rate_limited() as f64 / log.len().max(1) as f64,
            busiest_window(&after, Duration::from_millis(100)),
        );
        return;
    }
    // Retries: every request after the first 1,000 (each call's first attempt, all refused).
    let times: Vec<Instant> = log.iter().skip(1_000).map(|r| r.received_at).collect();
    let busiest = busiest_window(&times, Duration::from_millis(100));
    println!(
        "2. Retry-After burst (1000 calls all refused once, Retry-After 1, no detail): {ok} of 1000 succeeded; {} retries; busiest 100 ms window {} = {:.1} % (goal <= 10 %)",
        times.len(),
        busiest,
        100.0 * busiest as f64 / times.len().max(1) as f64
    );
}

fn busiest_window(times: &[Instant], width: Duration) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end] - sorted[start] > width {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

fn rss_kib() -> u64 {
    read_status("VmRSS")
}

fn hwm_kib() -> u64 {
    read_status("VmHWM")
}

fn read_status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn open_sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|fds| {
            fds.flatten()
                .filter(|fd| {
                    std::fs::read_link(fd.path())
                        .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

async fn watched(sim: &Simulator) {
    const WATCHED: usize = 10_000;
    // Memory and sockets, not pacing: neither side meters.
    let client = client(sim, RateLimits::learned_only());
    let g: GroupId = sim.group_id().parse().expect("valid id");
    link(&client, sim).await;
    let mut ids = Vec::with_capacity(WATCHED);
    for n in 0..WATCHED {
        ids.push(
            client
                .create_migration(&g, &request(sim, &g, n))
                .await
                .expect("created")
                .id,
        );
    }
    let sockets_before = open_sockets();
    let before = rss_kib();
    let waits: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let (client, g) = (client.clone(), g.clone());
            tokio::spawn(async move { client.wait_until_complete(&g, &id).await.is_ok() })
        })
        .collect();
    let mut peak_sockets = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        peak_sockets = peak_sockets.max(open_sockets().saturating_sub(sockets_before));
    }
    let peak = hwm_kib().max(rss_kib());
    println!(
        "3. {WATCHED} watched migrations: RSS +{} KiB = {:.1} KB per migration (goal <= 40 KB); client sockets at most {peak_sockets} (goal <= 64 plus the simulator's side)",
        peak.saturating_sub(before),
        peak.saturating_sub(before) as f64 * 1.024 / WATCHED as f64
    );
    for w in waits {
        w.abort();
    }
}

fn main() {
    // In part 3 the simulator runs on its own runtime thread; its sockets and memory are
    // still this process's, so the socket count includes the server's side.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    // `cargo bench --bench fleet -- 2 3` runs only those parts.
    let parts: Vec<String> = std::env::args().skip(1).filter(|a| a.len() == 1).collect();
    let run = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    if run("1") {
        client.block_on(metered_fleet());
    }
    if run("2") {
        client.block_on(retry_burst(true));
        client.block_on(retry_burst(false));
    }
    if !run("3") {
        return;
    }
    let sim = server.block_on(async {
        Simulator::builder()
            .unmetered()
            .timings(Timings::manual())
            .manual_clock()
            .start()
            .await
            .expect("simulator starts")
    });
    client.block_on(watched(&sim));
}
