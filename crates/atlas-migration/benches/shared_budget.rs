//! Atlas's rate limits shared with strangers, against the simulator on loopback. Prints each
//! figure with its goal:
//!
//! 1. A limiter that explains nothing: a fixed window of 100 requests a second whose 429s
//!    carry the API spec's `RATE_LIMITED` example body (no numbers), with `RateLimit-*`
//!    headers on the 429s only, then with none at all; 1,000 concurrent `get_migration`
//!    calls from one default client. Goal: 429s ≤ 2 % of requests.
//! 2. Several processes, one organization: 1,000 push workflows over 10 projects metered
//!    50 + 50/s, split over 1, 2 and 4 child processes with a client each (none knows of the
//!    others). Goal at 4: 429s ≤ 3 %, time ≤ 1.3× the ideal for the combined budget, 0 failed
//!    workflows, 0 duplicate creates.
//! 3. A background consumer spends half of a project's refill (25 of 50/s): the client's
//!    accepted rate per 5 s, and its 429s. Goal: settles at the other half within 30 s and
//!    stays under 3 % 429s.
//! 4. 5,000 calls cancelled at random (0–50 ms, 100 tasks), then 100 concurrent calls.
//!    Goal: the 100 finish within 1 s.
//!
//! Run with `cargo bench -p atlas-migration --bench shared_budget` (add `-- 2` to run part 2
//! only). Part 2 runs this binary again as its child processes; `BENCH_PROCESSES=4` picks its
//! process counts. `BENCH_DEBUG=1` adds per-second request and 429 counts (parts 1 and 2) and
//! the client's pace every half second (part 3); `BENCH_DEBUG=2` adds, in part 2, each
//! child's pace and finish times and requests per project and operation.
//! `BENCH_NO_HEADERS=1` runs part 2 with no `RateLimit-*` headers in any reply.
//! `BENCH_SHARE=0.25` starts each child of part 2 at that share of each bucket
//! (`RateLimits::share`) instead of the whole.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use atlas_migration::workflow::{Fleet, FleetMember, PushMigration};
use atlas_migration::{
    Client, Destination, GroupId, LiveMigrationId, MigrationRequest, RateLimits, Source,
};
use atlas_migration_sim::{
    BackgroundConsumer, RateLimit, RateLimitBody, RateLimitHeaders, RateScope, RequestRecord,
    Simulator, Timings,
};

const PROJECTS: usize = 10;
const WORKFLOWS: usize = 1_000;
const CAPACITY: u32 = 50;
const REFILL_PER_SECOND: u32 = 50;
/// Set in a child process of part 2: what it is to run.
const CHILD: &str = "SHARED_BUDGET_CHILD";

/// The published sizes of the simulator's project buckets in part 2 and 3, as a user
/// configures them from Atlas's table.
fn test_server_limits() -> RateLimits {
    RateLimits::documented().project(CAPACITY, REFILL_PER_SECOND, Duration::from_secs(1))
}

/// The sizes a child of part 2 starts from: the whole bucket (it knows of no other
/// process), or, with `BENCH_SHARE=x`, that share of it (`RateLimits::share`, for a service
/// that knows how many replicas it runs).
fn child_limits() -> RateLimits {
    match bench_share() {
        Some(share) => test_server_limits().share(share),
        None => test_server_limits(),
    }
}

/// `BENCH_SHARE`, when set to a number.
fn bench_share() -> Option<f64> {
    std::env::var("BENCH_SHARE").ok()?.parse().ok()
}

/// The simulator's project set, with `capacity` requests refilled by `refill` a second.
fn project_set(capacity: u32, refill: u32) -> RateLimit {
    RateLimit::documented_project()
        .capacity(capacity)
        .refill(refill, Duration::from_secs(1))
}

fn client(base_url: &str, public: &str, private: &str, limits: RateLimits) -> Client {
    Client::builder()
        .base_url(base_url)
        .api_key(public, private.to_owned())
        .rate_limits(limits)
        .build()
        .expect("valid configuration")
}

fn sim_client(sim: &Simulator, limits: RateLimits) -> Client {
    client(&sim.base_url(), sim.public_key(), sim.private_key(), limits)
}

fn group_ids() -> Vec<GroupId> {
    (0..PROJECTS)
        .map(|p| format!("{:024x}", 0xb0_0000 + p).parse().expect("valid id"))
        .collect()
}

fn request(source: &SourceSpec, group: &GroupId, name: &str) -> MigrationRequest {
    MigrationRequest::builder()
        .source(
            Source::new(
                source.cluster.clone(),
                source.project.parse().expect("valid id"),
            )
            .credentials("migrator", "bench-password".to_owned()),
        )
        .destination(Destination::new(name, group.clone()))
        .migration_host(source.host.clone())
        .build()
        .expect("valid request")
}

/// Where migrations come from (the simulator's first source project).
#[derive(Clone)]
struct SourceSpec {
    project: String,
    cluster: String,
    host: String,
}

impl SourceSpec {
    fn of(sim: &Simulator) -> Self {
        let p = &sim.source_projects()[0];
        Self {
            project: p.project_id.clone(),
            cluster: p.deployments[0].name.clone(),
            host: p.migration_hosts[0].clone(),
        }
    }
}

async fn link(sim: &Simulator) {
    let org = sim.org_id().parse().expect("valid id");
    sim_client(sim, RateLimits::documented())
        .create_link_token(&org, Vec::<String>::new())
        .await
        .expect("link token");
}

/// A migration in `sim`'s project, for reads.
async fn one_migration(sim: &Simulator, client: &Client) -> (GroupId, LiveMigrationId) {
    let g: GroupId = sim.group_id().parse().expect("valid id");
    let id = client
        .create_migration(&g, &request(&SourceSpec::of(sim), &g, "target"))
        .await
        .expect("created")
        .id;
    (g, id)
}

/// Part 1: 1,000 concurrent reads behind a fixed window that explains nothing.
async fn silent_limiter(headers: RateLimitHeaders, label: &str) {
    let sim = Simulator::builder()
        .timings(Timings::manual())
        .rate_limit(
            RateLimit::new("fixed window", RateScope::Project)
                .fixed_window(100, Duration::from_secs(1)),
        )
        .rate_limit_body(RateLimitBody::SpecExample)
        .rate_limit_headers(headers)
        .start()
        .await
        .expect("simulator starts");
    link(&sim).await;
    let client = sim_client(&sim, RateLimits::documented());
    let (g, id) = one_migration(&sim, &client).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.clear_requests();
    let started = Instant::now();
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
    let took = started.elapsed();
    if std::env::var_os("BENCH_DEBUG").is_some() {
        println!("{:#?}", client.throttle_status());
        let log = sim.requests();
        let t0 = log[0].received_at;
        for r in log.iter().filter(|r| r.status == Some(429)) {
            println!("429 at {:?}", r.received_at - t0);
        }
        let mut per_second = vec![0; 30];
        for r in &log {
            if let Some(s) = per_second.get_mut((r.received_at - t0).as_secs() as usize) {
                *s += 1;
            }
        }
        println!("per second: {per_second:?}");
    }
    let requests = sim.requests().len();
    let refused = sim.rate_limited();
    println!(
        "1. fixed window 100/s, spec body, {label}: {ok} of 1000 succeeded in {:.1} s; {requests} requests, {refused} answered 429 = {:.2} % (goal <= 2 %)",
        took.as_secs_f64(),
        100.0 * refused as f64 / requests.max(1) as f64
    );
}

/// Part 2, in a child process: `count` workflows from `first`, each into project
/// `n % PROJECTS`; prints `RESULT <complete> <failed>`.
async fn child(spec: &str) {
    let fields: Vec<&str> = spec.split('|').collect();
    let [base, public, private, project, cluster, host, first, count] = fields[..] else {
        panic!("bad child spec");
    };
    let source = SourceSpec {
        project: project.to_owned(),
        cluster: cluster.to_owned(),
        host: host.to_owned(),
    };
    let first: usize = first.parse().expect("number");
    let count: usize = count.parse().expect("number");
    let client = client(base, public, private, child_limits());
    let groups = group_ids();
    let mut fleet = Fleet::new().concurrency(count);
    for n in first..first + count {
        let g = &groups[n % PROJECTS];
        let flow = PushMigration::new(&client, g, request(&source, g, &format!("target-{n}")))
            .poll_delays(Duration::from_millis(200), Duration::from_secs(2))
            .auto_cutover(true);
        fleet = fleet.member(FleetMember::new(format!("m{n}"), flow));
    }
    let began = Instant::now();
    let finished = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    if detailed_debug() {
        log_pace(&client, &groups[0], first);
        let finished = finished.clone();
        fleet = fleet.on_event(move |e| {
            if let atlas_migration::workflow::FleetEvent::Finished { .. } = e {
                finished.lock().unwrap().push(began.elapsed());
            }
        });
    }
    let report = fleet.run().await;
    if detailed_debug() {
        log_finish(&client, first, &finished.lock().unwrap(), began.elapsed());
    }
    for failure in report
        .results
        .iter()
        .filter_map(|(_, r)| r.as_ref().err())
        .take(3)
    {
        eprintln!("child failure: {failure}");
    }
    println!("RESULT {} {}", report.complete(), report.failed());
}

/// `BENCH_DEBUG=2`: also each child's pace and finish times, and requests per project and
/// operation.
fn detailed_debug() -> bool {
    std::env::var("BENCH_DEBUG").as_deref() == Ok("2")
}

/// Prints what `client` knows of `group`'s bucket every 250 ms.
fn log_pace(client: &Client, group: &GroupId, child: usize) {
    let (client, group) = (client.clone(), group.to_string());
    tokio::spawn(async move {
        let t0 = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let status = client.throttle_status();
            if let Some(b) = status.buckets.iter().find(|b| b.scope.contains(&group)) {
                eprintln!(
                    "child {child} t={:.2} pace={:?} blocked={:?} refusals={} remaining={:?}",
                    t0.elapsed().as_secs_f64(),
                    b.pace_per_second.map(f64::round),
                    b.blocked_for,
                    b.refusals,
                    b.remaining,
                );
            }
        }
    });
}

/// Prints when a child's workflows finished (deciles) and what its client counted.
fn log_finish(client: &Client, child: usize, finished: &[Duration], took: Duration) {
    let deciles: Vec<String> = (1..=10)
        .filter_map(|d| {
            finished.get((finished.len() * d / 10).min(finished.len().saturating_sub(1)))
        })
        .map(|t| format!("{:.1}", t.as_secs_f64()))
        .collect();
    let status = client.throttle_status();
    eprintln!(
        "child {child} done after {:.2} s (finish deciles {}): refusals {} waits {} waited {:?}",
        took.as_secs_f64(),
        deciles.join(" "),
        status.refusals,
        status.waits,
        status.waited
    );
}

/// (requests, 429s) in each of the first `seconds` seconds after `t0`.
fn per_second<'r>(
    requests: impl Iterator<Item = &'r RequestRecord>,
    t0: Instant,
    seconds: usize,
) -> Vec<(usize, usize)> {
    let mut counts = vec![(0, 0); seconds];
    for r in requests {
        let second = r.received_at.saturating_duration_since(t0).as_secs() as usize;
        if let Some(c) = counts.get_mut(second) {
            c.0 += 1;
            c.1 += usize::from(r.status == Some(429));
        }
    }
    counts
}

/// Prints (requests, 429s) per second for each project, and requests per second for each
/// operation.
fn print_by_project_and_operation(requests: &[RequestRecord], t0: Instant) {
    for (i, g) in group_ids().iter().enumerate() {
        let of_project = requests.iter().filter(|r| r.path.contains(g.as_str()));
        println!("project {i}: {:?}", per_second(of_project, t0, 25));
    }
    let operations: std::collections::BTreeSet<_> = requests
        .iter()
        .map(|r| r.operation.unwrap_or("?"))
        .collect();
    for operation in operations {
        let of_operation = requests
            .iter()
            .filter(|r| r.operation.unwrap_or("?") == operation);
        let counts: Vec<usize> = per_second(of_operation, t0, 25)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        println!("{operation:>20}: {counts:?}");
    }
}

/// Part 2: `processes` children share the simulator's buckets.
async fn processes_sharing(processes: usize) {
    let sim = Simulator::builder()
        .timings(Timings::fast())
        .rate_limit(project_set(CAPACITY, REFILL_PER_SECOND))
        .rate_limit_headers(if std::env::var_os("BENCH_NO_HEADERS").is_some() {
            RateLimitHeaders::Never
        } else {
            RateLimitHeaders::Always
        })
        .start()
        .await
        .expect("simulator starts");
    link(&sim).await;
    sim.clear_requests();
    let source = SourceSpec::of(&sim);
    let exe = std::env::current_exe().expect("this binary");
    let per = WORKFLOWS / processes;
    let started = Instant::now();
    let children: Vec<_> = (0..processes)
        .map(|p| {
            let spec = [
                sim.base_url(),
                sim.public_key().to_owned(),
                sim.private_key().to_owned(),
                source.project.clone(),
                source.cluster.clone(),
                source.host.clone(),
                (p * per).to_string(),
                per.to_string(),
            ]
            .join("|");
            Command::new(&exe)
                .env(CHILD, spec)
                .stdout(Stdio::piped())
                .spawn()
                .expect("child starts")
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().expect("child ends"))
            .collect::<Vec<_>>()
    })
    .await
    .expect("joined");
    let took = started.elapsed();
    let (mut complete, mut failed) = (0usize, 0usize);
    for out in &outputs {
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.starts_with("RESULT")).unwrap_or("");
        let nums: Vec<usize> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|n| n.parse().ok())
            .collect();
        complete += nums.first().copied().unwrap_or(0);
        failed += nums.get(1).copied().unwrap_or(per);
    }
    let requests = sim.requests();
    if std::env::var_os("BENCH_DEBUG").is_some() {
        let t0 = started;
        let per_second = per_second(requests.iter(), t0, 30);
        println!("(requests, 429s) per second: {per_second:?}");
        let mut by_op = std::collections::BTreeMap::new();
        for r in requests.iter().filter(|r| r.status == Some(429)) {
            *by_op.entry(r.operation).or_insert(0) += 1;
        }
        println!("429s by operation: {by_op:?}");
        if detailed_debug() {
            print_by_project_and_operation(&requests, t0);
        }
    }
    let project_requests = requests
        .iter()
        .filter(|r| r.path.contains("/groups/"))
        .count();
    let refused = sim.rate_limited();
    let served = project_requests - refused;
    let per_project = served as f64 / PROJECTS as f64;
    let ideal =
        ((per_project - f64::from(CAPACITY)).max(0.0) / f64::from(REFILL_PER_SECOND)).max(0.001);
    println!(
        "2. {processes} process(es) x {per} workflows{}, {PROJECTS} projects metered {CAPACITY} + {REFILL_PER_SECOND}/s: complete {complete} failed {failed} (goal 0); duplicates {} (goal 0); {project_requests} requests, {refused} answered 429 = {:.2} % (goal <= 3 %); took {:.1} s, ideal {:.1} s, ratio {:.2} (goal <= 1.3)",
        bench_share().map_or(String::new(), |s| format!(
            " (each client starting at a {s} share)"
        )),
        sim.duplicate_creates(),
        100.0 * refused as f64 / project_requests.max(1) as f64,
        took.as_secs_f64(),
        ideal,
        took.as_secs_f64() / ideal
    );
}

/// Part 3: a neighbour spends half of the project's refill; the client reads flat out.
async fn background_half() {
    const SECONDS: u64 = 60;
    const PROJECT: &str = "b0000000000000000000000b";
    let sim = Simulator::builder()
        .timings(Timings::manual())
        .group_id(PROJECT)
        .background_consumer(BackgroundConsumer::per_second(REFILL_PER_SECOND / 2).project(PROJECT))
        .rate_limit(project_set(CAPACITY, REFILL_PER_SECOND))
        .start()
        .await
        .expect("simulator starts");
    link(&sim).await;
    let client = sim_client(&sim, test_server_limits());
    let (g, id) = one_migration(&sim, &client).await;
    sim.clear_requests();
    let started = Instant::now();
    let stop = started + Duration::from_secs(SECONDS);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (client, g, id) = (client.clone(), g.clone(), id.clone());
            tokio::spawn(async move {
                while Instant::now() < stop {
                    let _ = client.get_migration(&g, &id).await;
                }
            })
        })
        .collect();
    if std::env::var_os("BENCH_DEBUG").is_some() {
        let client = client.clone();
        tokio::spawn(async move {
            while Instant::now() < stop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let s = client.throttle_status();
                let b = s.buckets.iter().find(|b| b.scope.starts_with("groups/"));
                println!(
                    "t={:.1} pace={:?} blocked={:?} refusals={}",
                    started.elapsed().as_secs_f64(),
                    b.and_then(|b| b.pace_per_second)
                        .map(|p| (p * 10.0).round() / 10.0),
                    b.and_then(|b| b.blocked_for),
                    s.refusals
                );
            }
        });
    }
    for t in tasks {
        let _ = t.await;
    }
    let log = sim.requests();
    let mut per_window = vec![(0usize, 0usize); SECONDS as usize / 5 + 1];
    for r in &log {
        let w = r.received_at.saturating_duration_since(started).as_secs() as usize / 5;
        if let Some(slot) = per_window.get_mut(w) {
            if r.status == Some(429) {
                slot.1 += 1;
            } else {
                slot.0 += 1;
            }
        }
    }
    let rates: Vec<String> = per_window
        .iter()
        .take(SECONDS as usize / 5)
        .map(|(ok, _)| format!("{:.0}", *ok as f64 / 5.0))
        .collect();
    let settled_after = per_window
        .iter()
        .take(SECONDS as usize / 5)
        .enumerate()
        .rev()
        .find(|(_, (ok, _))| {
            let rate = *ok as f64 / 5.0;
            !(20.0..=30.0).contains(&rate)
        })
        .map_or(0, |(w, _)| (w + 1) * 5);
    let after_30: (usize, usize) = per_window[6..]
        .iter()
        .fold((0, 0), |acc, w| (acc.0 + w.0, acc.1 + w.1));
    let refused = sim.rate_limited();
    println!(
        "3. background consumer at 25/s of 50/s: client accepted per second, by 5 s: [{}]; settled within 20-30/s from {settled_after} s on (goal <= 30 s); 429s {} of {} = {:.2} % in all, {:.2} % after 30 s (goal < 3 %); neighbour served {} refused {}",
        rates.join(" "),
        refused,
        log.len(),
        100.0 * refused as f64 / log.len().max(1) as f64,
        100.0 * after_30.1 as f64 / (after_30.0 + after_30.1).max(1) as f64,
        sim.background_served(),
        sim.background_refused()
    );
}

/// Part 4: a storm of cancelled calls, then 100 calls. The project is metered, with a budget
/// the storm's sent requests fit in, so the 100 calls measure what cancelled callers left
/// behind in the client, not an empty bucket.
async fn cancellation_storm() {
    let (capacity, refill) = (20_000, 10_000);
    let sim = Simulator::builder()
        .timings(Timings::manual())
        .rate_limit(project_set(capacity, refill))
        .start()
        .await
        .expect("simulator starts");
    link(&sim).await;
    let limits = RateLimits::documented().project(capacity, refill, Duration::from_secs(1));
    let client = sim_client(&sim, limits);
    let (g, id) = one_migration(&sim, &client).await;
    let hundred = |client: Client| {
        let (g, id) = (g.clone(), id.clone());
        async move {
            let started = Instant::now();
            let calls: Vec<_> = (0..100)
                .map(|_| {
                    let (client, g, id) = (client.clone(), g.clone(), id.clone());
                    tokio::spawn(async move { client.get_migration(&g, &id).await.is_ok() })
                })
                .collect();
            let mut ok = 0;
            for c in calls {
                ok += usize::from(c.await.unwrap_or(false));
            }
            (ok, started.elapsed())
        }
    };
    let (_, baseline) = hundred(client.clone()).await;
    let storm_started = Instant::now();
    let tasks: Vec<_> = (0..100u64)
        .map(|t| {
            let (client, g, id) = (client.clone(), g.clone(), id.clone());
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(t);
                let mut completed = 0;
                for _ in 0..50 {
                    let patience = Duration::from_millis(rng.u64(0..=50));
                    let call = client.get_migration(&g, &id);
                    completed += usize::from(tokio::time::timeout(patience, call).await.is_ok());
                }
                completed
            })
        })
        .collect();
    let mut completed = 0;
    for t in tasks {
        completed += t.await.unwrap_or(0);
    }
    let storm = storm_started.elapsed();
    let status = client.throttle_status();
    let (ok, after) = hundred(client.clone()).await;
    println!(
        "4. 5000 calls cancelled at random over {:.1} s ({completed} completed; counters: {} waits, {:.1} s waited, {} in flight); then 100 calls: {ok} ok in {:.3} s (goal <= 1 s; {:.3} s before the storm); {} answered 429",
        storm.as_secs_f64(),
        status.waits,
        status.waited.as_secs_f64(),
        status.in_flight,
        after.as_secs_f64(),
        baseline.as_secs_f64(),
        sim.rate_limited()
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(spec) = std::env::var(CHILD) {
        runtime.block_on(child(&spec));
        return;
    }
    let parts: Vec<String> = std::env::args().skip(1).filter(|a| a.len() == 1).collect();
    let run = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    if run("1") {
        runtime.block_on(silent_limiter(
            RateLimitHeaders::OnRefusals,
            "RateLimit-* on 429s only",
        ));
        runtime.block_on(silent_limiter(
            RateLimitHeaders::Never,
            "no RateLimit-* headers",
        ));
    }
    if run("2") {
        let counts: Vec<usize> = std::env::var("BENCH_PROCESSES")
            .ok()
            .map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect())
            .unwrap_or_else(|| vec![1, 2, 4]);
        for processes in counts {
            runtime.block_on(processes_sharing(processes));
        }
    }
    if run("3") {
        runtime.block_on(background_half());
    }
    if run("4") {
        runtime.block_on(cancellation_storm());
    }
}
