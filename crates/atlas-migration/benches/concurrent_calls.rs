//! `get_migration` at concurrency against a minimal digest client on raw reqwest.
//!
//! 10,000 calls per round from 64 tasks with HTTP Digest, against one simulator on loopback,
//! interleaved with the same load from a floor client in blocks of 1,000 calls (so that both
//! see the same moments of a noisy machine): raw reqwest, one cached challenge, an
//! atomically increasing nonce count and nothing else (no retries, no checks, no decoding into
//! typed models beyond `serde_json::Value`). The server runs on its own runtime thread; client
//! CPU is read per thread from `/proc/self/task/*/schedstat` (nanoseconds on a CPU), so the
//! server's work is not counted.
//! Prints p50, p99 and client CPU per call for both, and the ratios (goal: p50 ≤ 1.05, CPU
//! ≤ 1.10, median of 7 interleaved rounds after one uncounted warm-up round, which fills both
//! clients' connection pools and the client's digest challenges). Each round also prints
//! what the server saw of each client (requests, 401s, new connections), which must match.
//! Run with `cargo bench --bench concurrent_calls`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use atlas_migration::{
    Client, Destination, GroupId, LiveMigrationId, MigrationRequest, RateLimits, Source,
};
use atlas_migration_sim::{DigestAlgorithm, Simulator, digest_response};

const CALLS: usize = 10_000;
/// Each round alternates the two clients this many times.
const BLOCKS: usize = 10;
const TASKS: usize = 64;
const ROUNDS: usize = 7;
/// Thread names are cut to 15 bytes by Linux; this one fits.
const CLIENT_THREAD: &str = "bench-client";

/// One measured run: per-call latencies and the client threads' CPU time.
struct Run {
    latencies: Vec<Duration>,
    cpu: Duration,
}

impl Run {
    fn empty() -> Self {
        Run {
            latencies: Vec::with_capacity(CALLS),
            cpu: Duration::ZERO,
        }
    }

    fn add(&mut self, block: Run) {
        self.latencies.extend(block.latencies);
        self.cpu += block.cpu;
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index]
    }

    fn cpu_per_call(&self) -> Duration {
        self.cpu / self.latencies.len().max(1) as u32
    }
}

/// CPU time of this process's threads named [`CLIENT_THREAD`], in nanoseconds from each
/// thread's `schedstat` (time spent running on a CPU).
fn client_cpu() -> Duration {
    let mut nanos = 0u64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    for task in tasks.flatten() {
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !name.trim_end().starts_with(CLIENT_THREAD) {
            continue;
        }
        let schedstat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        let running: u64 = schedstat
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        nanos = nanos.saturating_add(running);
    }
    Duration::from_nanos(nanos)
}

/// The floor: a digest client with one cached challenge and nothing else.
struct RawDigest {
    http: reqwest::Client,
    url: String,
    uri: String,
    user: String,
    password: String,
    realm: String,
    nonce: String,
    qop: String,
    nc: AtomicU32,
    refused: AtomicU32,
}

fn param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let end = challenge[start..].find('"')? + start;
    Some(&challenge[start..end])
}

impl RawDigest {
    async fn new(sim: &Simulator, path: &str) -> Self {
        let http = reqwest::Client::new();
        let url = format!("{}{path}", sim.base_url());
        let reply = http.get(&url).send().await.unwrap();
        let challenge = reply.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        Self {
            http,
            url,
            uri: path.to_owned(),
            user: sim.public_key().to_owned(),
            password: sim.private_key().to_owned(),
            realm: param(&challenge, "realm").unwrap().to_owned(),
            nonce: param(&challenge, "nonce").unwrap().to_owned(),
            qop: "auth".to_owned(),
            nc: AtomicU32::new(0),
            refused: AtomicU32::new(0),
        }
    }

    async fn call(&self) {
        let nc = format!("{:08x}", self.nc.fetch_add(1, Ordering::Relaxed) + 1);
        let cnonce = format!("{:016x}", fastrand::u64(..));
        let response = digest_response(
            DigestAlgorithm::Md5,
            &self.user,
            &self.realm,
            &self.password,
            "GET",
            &self.uri,
            &self.nonce,
            &nc,
            &cnonce,
            &self.qop,
        );
        let header = format!(
            r#"Digest username="{}", realm="{}", nonce="{}", uri="{}", algorithm=MD5, qop={}, nc={nc}, cnonce="{cnonce}", response="{response}""#,
            self.user, self.realm, self.nonce, self.uri, self.qop
        );
        let reply = self
            .http
            .get(&self.url)
            .header("authorization", header)
            .header("accept", "application/vnd.atlas.2023-01-01+json")
            .send()
            .await
            .unwrap();
        if !reply.status().is_success() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        let body = reply.bytes().await.unwrap();
        let _: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    }
}

/// Runs `calls` calls of `call` from `TASKS` tasks on the client runtime.
fn measure<F, Fut>(client_rt: &tokio::runtime::Runtime, calls: usize, call: F) -> Run
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let cpu_before = client_cpu();
    let latencies = client_rt.block_on(async {
        let per_task = calls / TASKS;
        let mut handles = Vec::with_capacity(TASKS);
        for _ in 0..TASKS {
            let call = call.clone();
            handles.push(tokio::spawn(async move {
                let mut seen = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let started = Instant::now();
                    call().await;
                    seen.push(started.elapsed());
                }
                seen
            }));
        }
        let mut all = Vec::with_capacity(calls);
        for handle in handles {
            all.extend(handle.await.unwrap());
        }
        all
    });
    Run {
        latencies,
        cpu: client_cpu().saturating_sub(cpu_before),
    }
}

/// Requests the simulator served, 401s it answered and connections it accepted so far.
fn server_counts(sim: &Simulator) -> (usize, usize, usize) {
    (
        sim.requests().len(),
        sim.unauthorized_count(),
        sim.connections_accepted(),
    )
}

fn counts_between(from: (usize, usize, usize), to: (usize, usize, usize)) -> (usize, usize, usize) {
    (
        to.0.saturating_sub(from.0),
        to.1.saturating_sub(from.1),
        to.2.saturating_sub(from.2),
    )
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-server")
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()
        .unwrap();
    // Neither side meters: the bench measures the client's work per call, not pacing.
    let sim = server_rt
        .block_on(Simulator::builder().unmetered().start())
        .unwrap();
    let group: GroupId = sim.group_id().parse().unwrap();
    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .rate_limits(RateLimits::learned_only())
        .build()
        .unwrap();
    let project = sim.source_projects()[0].clone();
    let request = MigrationRequest::builder()
        .source(
            Source::new(
                project.deployments[0].name.clone(),
                project.project_id.parse().unwrap(),
            )
            .managed_authentication(),
        )
        .destination(Destination::new("atlas-target", group.clone()))
        .migration_host(project.migration_hosts[0].clone())
        .build()
        .unwrap();
    let id: LiveMigrationId = client_rt.block_on(async {
        client
            .create_link_token(&sim.org_id().parse().unwrap(), Vec::<String>::new())
            .await
            .unwrap();
        client.create_migration(&group, &request).await.unwrap().id
    });
    let path = format!(
        "/api/atlas/v2/groups/{}/liveMigrations/{}",
        group.as_str(),
        id.as_str()
    );
    let raw = Arc::new(client_rt.block_on(RawDigest::new(&sim, &path)));
    let (mut p50, mut p99, mut cpu) = (Vec::new(), Vec::new(), Vec::new());
    println!(
        "{CALLS} get_migration calls per client and round from {TASKS} tasks, in {BLOCKS} alternating blocks, digest auth, loopback simulator"
    );
    let ours_call = {
        let (client, group, id) = (client.clone(), group.clone(), id.clone());
        move || {
            let (client, group, id) = (client.clone(), group.clone(), id.clone());
            async move {
                client.get_migration(&group, &id).await.unwrap();
            }
        }
    };
    let floor_call = {
        let raw = raw.clone();
        move || {
            let raw = raw.clone();
            async move { raw.call().await }
        }
    };
    // Warm-up: connections opened, challenges fetched; not counted.
    measure(&client_rt, CALLS, ours_call.clone());
    measure(&client_rt, CALLS, floor_call.clone());
    let add =
        |a: (usize, usize, usize), b: (usize, usize, usize)| (a.0 + b.0, a.1 + b.1, a.2 + b.2);
    for round in 1..=ROUNDS {
        let (mut ours, mut floor) = (Run::empty(), Run::empty());
        let (mut ours_seen, mut floor_seen) = ((0, 0, 0), (0, 0, 0));
        for _ in 0..BLOCKS {
            let before = server_counts(&sim);
            ours.add(measure(&client_rt, CALLS / BLOCKS, ours_call.clone()));
            let middle = server_counts(&sim);
            floor.add(measure(&client_rt, CALLS / BLOCKS, floor_call.clone()));
            let after = server_counts(&sim);
            ours_seen = add(ours_seen, counts_between(before, middle));
            floor_seen = add(floor_seen, counts_between(middle, after));
        }
        // The same work on the wire, or the ratios compare different things.
        println!("  requests, 401s, new connections: ours {ours_seen:?}, floor {floor_seen:?}");
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        let (o50, f50) = (ours.percentile(0.5), floor.percentile(0.5));
        let (o99, f99) = (ours.percentile(0.99), floor.percentile(0.99));
        let (ocpu, fcpu) = (ours.cpu_per_call(), floor.cpu_per_call());
        println!(
            "round {round}: p50 {o50:?} vs {f50:?} ({:.3}x), p99 {o99:?} vs {f99:?} ({:.3}x), client CPU/call {ocpu:?} vs {fcpu:?} ({:.3}x)",
            ratio(o50, f50),
            ratio(o99, f99),
            ratio(ocpu, fcpu)
        );
        p50.push(ratio(o50, f50));
        p99.push(ratio(o99, f99));
        cpu.push(ratio(ocpu, fcpu));
    }
    println!(
        "median of {ROUNDS}: p50 ratio {:.3} (goal ≤ 1.05), p99 ratio {:.3}, CPU ratio {:.3} (goal ≤ 1.10); floor refusals: {}",
        median(&mut p50),
        median(&mut p99),
        median(&mut cpu),
        raw.refused.load(Ordering::Relaxed)
    );
}
