//! Three replicas as three processes share one fleet of 300 members spread over 30 migration
//! hosts; the first is killed with SIGKILL once it has started members. The two survivors
//! take its members over and finish the fleet: every destination ends with one `COMPLETE`
//! migration (a member whose create the kill cut off keeps its host until an operator
//! confirms it with the journal command and runs the fleet again), no migration is created
//! twice, and no migration host ever serves two migrations at once, orphans included.
//!
//! The replicas are this test binary run again as child processes (the ignored test
//! `replica_process`, told what to do through the environment); the parent holds the
//! PostgreSQL server and the simulator, whose request log is the one clock every replica's
//! requests are ordered by.
#![cfg(unix)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atlas_migration::journal::Journal;
use atlas_migration::workflow::{Exclusive, FleetEvent, PushMigration};
use atlas_migration::{Client, Destination, GroupId, MigrationRequest, Source};
use atlas_migration_postgres::testkit::PgServer;
use atlas_migration_postgres::{
    Database, FleetStore, MemberOutcome, PostgresFleet, PostgresFleetMember, PostgresJournal,
};
use atlas_migration_sim::operations::{CREATE_MIGRATION, GET_MIGRATION};
use atlas_migration_sim::{MigrationStatus, Simulator};

const FLEET: &str = "processes";
const MEMBERS: usize = 300;
const HOSTS: usize = 30;
const REPLICAS: usize = 3;
/// Members each replica runs at once: two survivors can still keep every host busy.
const CONCURRENCY: usize = 15;
const CLAIM_TTL: Duration = Duration::from_millis(1500);
const LEASE_TTL: Duration = Duration::from_millis(1500);
/// A replica's create attempts time out after this, and its calls ride out no longer: a
/// create cut off by the kill has landed, if at all, within these and the margin.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
const CALL_MAX_WAIT: Duration = Duration::from_secs(1);
const LANDING_MARGIN: Duration = Duration::from_millis(200);
const MIN: Duration = Duration::from_millis(10);
const MAX: Duration = Duration::from_millis(40);
/// The whole test, children included, ends by then or fails.
const DEADLINE: Duration = Duration::from_secs(120);

fn label(i: usize) -> String {
    format!("m{i:03}")
}

fn host(i: usize) -> String {
    format!("host-{:02}.example.net", i % HOSTS)
}

/// Where every member migrates from, and into which project.
#[derive(Clone)]
struct Target {
    source_project: String,
    source_cluster: String,
    group: GroupId,
}

impl Target {
    /// Member `i`'s request: into cluster `label(i)`, on migration host `host(i)`.
    fn request(&self, i: usize) -> MigrationRequest {
        MigrationRequest::builder()
            .source(
                Source::new(
                    self.source_cluster.clone(),
                    self.source_project.parse().unwrap(),
                )
                .tls(true)
                .credentials("migrator", common::SOURCE_PASSWORD.to_owned()),
            )
            .destination(Destination::new(label(i), self.group.clone()))
            .migration_host(host(i))
            .build()
            .unwrap()
    }
}

/// Member `i`'s workflow as every replica (and the operator) builds it.
fn workflow(client: &Client, target: &Target, i: usize) -> PushMigration {
    PushMigration::new(client, &target.group, target.request(i))
        .poll_delays(MIN, MAX)
        .auto_cutover(true)
        .lease_ttl(LEASE_TTL)
        .call_max_wait(CALL_MAX_WAIT)
        .create_landing_margin(LANDING_MARGIN)
}

/// The child's side: one replica running the whole fleet, printing its members' starts and
/// ends line by line, then how the fleet ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by three_replica_processes_finish_a_fleet_when_one_is_killed as a child process"]
async fn replica_process() {
    let Ok(url) = std::env::var("REPLICA_DATABASE_URL") else {
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let client = common::unpaced_client(
        &var("REPLICA_SIM_URL"),
        &var("REPLICA_SIM_PUBLIC"),
        &var("REPLICA_SIM_PRIVATE"),
        ATTEMPT_TIMEOUT,
    );
    let target = Target {
        source_project: var("REPLICA_SOURCE_PROJECT"),
        source_cluster: var("REPLICA_SOURCE_CLUSTER"),
        group: var("REPLICA_GROUP").parse().unwrap(),
    };
    let db = Database::builder(url.parse().unwrap())
        .max_connections(6)
        .retry_for(Duration::from_secs(15))
        .operation_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let mut fleet = PostgresFleet::new(&db, FLEET)
        .owner(var("REPLICA_NAME"))
        .concurrency(CONCURRENCY)
        .claim_ttl(CLAIM_TTL)
        .poll_interval(Duration::from_millis(25))
        .on_event(|event| match event {
            FleetEvent::Started { label } => println!("REPLICA-EVENT started {label}"),
            FleetEvent::Finished { label, ok } => {
                println!("REPLICA-EVENT finished {label} {ok}");
            }
            _ => {}
        });
    for i in 0..MEMBERS {
        let (client, target) = (client.clone(), target.clone());
        fleet = fleet.member(
            PostgresFleetMember::new(label(i), move || workflow(&client, &target, i))
                .exclusive(Exclusive::migration_host(host(i))),
        );
    }
    match fleet.run().await {
        Ok(report) => println!(
            "REPLICA-END ok complete {} failed {} finished-here {}",
            report.complete(),
            report.failed(),
            report.members.iter().filter(|m| m.result.is_some()).count()
        ),
        Err(e) => println!("REPLICA-END error {e}"),
    }
}

/// A replica process, killed and reaped when dropped (also when the test panics).
struct Replica(std::process::Child);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A line a replica printed: `(replica, line from its marker on)`.
type Line = (usize, String);

fn spawn_replica(
    n: usize,
    pg: &PgServer,
    sim: &Simulator,
    target: &Target,
    lines: tokio::sync::mpsc::UnboundedSender<Line>,
) -> Replica {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "replica_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("REPLICA_NAME", format!("replica-{n}"))
        .env("REPLICA_DATABASE_URL", pg.url())
        .env("REPLICA_SIM_URL", sim.base_url())
        .env("REPLICA_SIM_PUBLIC", sim.public_key())
        .env("REPLICA_SIM_PRIVATE", sim.private_key())
        .env("REPLICA_SOURCE_PROJECT", &target.source_project)
        .env("REPLICA_SOURCE_CLUSTER", &target.source_cluster)
        .env("REPLICA_GROUP", target.group.as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // The harness may print its own text on the same line first.
            if let Some(at) = line.find("REPLICA-") {
                let _ = lines.send((n, line[at..].to_owned()));
            }
        }
    });
    Replica(child)
}

/// Waits until `until` says the lines seen so far are enough; panics at `deadline`.
async fn wait_for(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<Line>,
    seen: &mut Vec<Line>,
    deadline: tokio::time::Instant,
    what: &str,
    until: impl Fn(&[Line]) -> bool,
) {
    while !until(seen) {
        match tokio::time::timeout_at(deadline, lines.recv()).await {
            Ok(Some(line)) => seen.push(line),
            Ok(None) => panic!("every replica's output ended before {what}"),
            Err(_) => panic!("no {what} in time; replicas said: {:?}", tail(seen)),
        }
    }
}

fn tail(seen: &[Line]) -> &[Line] {
    &seen[seen.len().saturating_sub(20)..]
}

/// Confirms what Atlas has for held member `i` as an operator would: looks for its migration
/// in Atlas (here, the simulator) and tells the journal command what it found. Returns the
/// migration found, if any.
async fn confirm_held(sim: &Simulator, pg: &PgServer, i: usize) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let found = sim
        .migrations()
        .into_iter()
        .find(|m| m.destination.1 == label(i))
        .map(|m| m.id);
    let mut args = vec![
        "--postgres".to_owned(),
        pg.url(),
        "confirm".to_owned(),
        label(i),
    ];
    match &found {
        Some(id) => args.extend(["--migration".to_owned(), id.clone()]),
        None => args.push("--no-migration".to_owned()),
    }
    loop {
        let out = Command::new(env!("CARGO_BIN_EXE_atlas-migration-journal"))
            .args(&args)
            .env_remove("ATLAS_MIGRATION_POSTGRES_URL")
            .output()
            .unwrap();
        if out.status.success() {
            return found;
        }
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        // A dead replica's lease on the record, not yet run out; anything else is a failure.
        assert!(
            err.contains("held by") && Instant::now() < deadline,
            "{}: confirming failed: {err}",
            label(i)
        );
        tokio::time::sleep(LEASE_TTL / 4).await;
    }
}

/// The whole fleet as one replica in this process: the run after the operator's confirmations.
fn fleet(db: &Database, client: &Client, target: &Target) -> PostgresFleet {
    let mut fleet = PostgresFleet::new(db, FLEET)
        .owner("operator-rerun")
        .concurrency(CONCURRENCY)
        .claim_ttl(CLAIM_TTL)
        .poll_interval(Duration::from_millis(25));
    for i in 0..MEMBERS {
        let (client, target) = (client.clone(), target.clone());
        fleet = fleet.member(
            PostgresFleetMember::new(label(i), move || workflow(&client, &target, i))
                .exclusive(Exclusive::migration_host(host(i))),
        );
    }
    fleet
}

/// A migration's life as the simulator's request log orders it: from the request that
/// created it to the last request naming it, by position in the log.
#[derive(Debug)]
struct Life {
    id: String,
    created: usize,
    last: usize,
}

/// Each host's migrations in the order they were created, with their lives.
///
/// Why this is sound: the simulator appends a request to its log under the same lock in
/// which it processes it, so positions in the log order the processing of every replica's
/// requests on one clock. A workflow stops asking about its migration only once it has seen
/// it terminal, and every migration here ends `COMPLETE` through a workflow, so the last
/// request naming a migration saw it terminal: it was no longer running from that point of
/// the log on. A migration created after that point therefore never ran beside it. (The
/// converse need not hold: a host passed on later than necessary would still pass.)
fn lives_by_host(sim: &Simulator) -> BTreeMap<String, Vec<Life>> {
    let hosts: HashMap<String, String> = sim
        .migrations()
        .into_iter()
        .map(|m| {
            let view = sim.migration(&m.id).unwrap();
            assert_eq!(view.migration_hosts.len(), 1, "{view:?}");
            (m.id, view.migration_hosts[0].clone())
        })
        .collect();
    let mut lives: HashMap<&str, Life> = HashMap::new();
    for r in sim.requests() {
        if r.operation == Some(CREATE_MIGRATION.name)
            && let Some(id) = &r.created_id
        {
            let (id, _) = hosts.get_key_value(id.as_str()).unwrap();
            lives.insert(
                id,
                Life {
                    id: id.clone(),
                    created: r.index,
                    last: r.index,
                },
            );
            continue;
        }
        for segment in r.path.split(['/', '?']) {
            if let Some(life) = lives.get_mut(segment) {
                life.last = r.index;
            }
        }
    }
    let mut by_host: BTreeMap<String, Vec<Life>> = BTreeMap::new();
    for (id, life) in lives {
        by_host.entry(hosts[id].clone()).or_default().push(life);
    }
    for lives in by_host.values_mut() {
        lives.sort_by_key(|l| l.created);
    }
    by_host
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replica_processes_finish_a_fleet_when_one_is_killed() {
    let Some(pg) =
        PgServer::start_or_skip("three_replica_processes_finish_a_fleet_when_one_is_killed")
    else {
        return;
    };
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    // The schema is made once here, before the replicas connect.
    let db = common::db(&pg).await;
    let (sim, client, group) = common::unmetered_simulator().await;
    let project = &sim.source_projects()[0];
    let target = Target {
        source_project: project.project_id.clone(),
        source_cluster: project.deployments[0].name.clone(),
        group,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut replicas: Vec<Replica> = (0..REPLICAS)
        .map(|n| spawn_replica(n, &pg, &sim, &target, tx.clone()))
        .collect();
    drop(tx);
    let mut seen: Vec<Line> = Vec::new();
    let started_by = |seen: &[Line], n: usize| {
        seen.iter()
            .filter(|(r, l)| *r == n && l.starts_with("REPLICA-EVENT started"))
            .count()
    };
    // Replica 0 is killed once it runs members, at a random moment a little later.
    wait_for(&mut rx, &mut seen, deadline, "start on replica 0", |s| {
        started_by(s, 0) >= 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(fastrand::u64(0..300))).await;
    let pid = i32::try_from(replicas[0].0.id()).unwrap();
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let status = replicas[0].0.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    let killed_at = started.elapsed();
    let ended = |seen: &[Line], n: usize| {
        seen.iter()
            .find(|(r, l)| *r == n && l.starts_with("REPLICA-END"))
            .map(|(_, l)| l.clone())
    };
    wait_for(&mut rx, &mut seen, deadline, "end of the survivors", |s| {
        (1..REPLICAS).all(|n| ended(s, n).is_some())
    })
    .await;
    let fleet_done = started.elapsed();
    for n in 1..REPLICAS {
        let end = ended(&seen, n).unwrap();
        assert!(end.starts_with("REPLICA-END ok"), "replica {n}: {end}");
    }
    // Every member finished but those whose create the kill cut off (held: the journal says
    // so) and those waiting for a held member's host.
    let status = FleetStore::new(&db).status(FLEET).await.unwrap();
    assert_eq!(status.len(), MEMBERS);
    let journal = Arc::new(PostgresJournal::new(&db));
    let mut held = Vec::new();
    for (i, member) in status.iter().enumerate() {
        assert_eq!(member.label, label(i));
        match member.outcome {
            Some(MemberOutcome::Complete) => {}
            Some(MemberOutcome::Held) => {
                let record = journal.load(&member.label).await.unwrap().unwrap();
                assert!(
                    record.migration_id.is_none() && record.create_may_have_happened(),
                    "{} held, not for a create cut off: {:?}",
                    member.label,
                    member.message
                );
                held.push(i);
            }
            None => {
                let waits_for_held = status.iter().any(|h| {
                    h.outcome == Some(MemberOutcome::Held) && h.exclusive == member.exclusive
                });
                assert!(waits_for_held, "{} unfinished, not blocked", member.label);
            }
            other => panic!("{} ended {other:?}: {:?}", member.label, member.message),
        }
    }
    let blocked = status.iter().filter(|m| m.outcome.is_none()).count();
    // The operator confirms each held member, then runs the fleet again: it drives the held
    // members on, and the members waiting for their hosts after them.
    let mut orphans = Vec::new();
    for &i in &held {
        if let Some(id) = confirm_held(&sim, &pg, i).await {
            orphans.push(id);
        }
    }
    let rerun = tokio::time::timeout_at(deadline, fleet(&db, &client, &target).run())
        .await
        .expect("the run after the confirmations ends in time")
        .unwrap();
    assert_eq!(rerun.complete(), MEMBERS, "{:?}", rerun.members);
    // One migration per destination, each COMPLETE.
    let migrations = sim.migrations();
    let mut per_destination: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &migrations {
        *per_destination.entry(m.destination.1.as_str()).or_default() += 1;
        let view = sim.migration(&m.id).unwrap();
        assert_eq!(view.status, MigrationStatus::Complete, "{view:?}");
    }
    assert_eq!(sim.duplicate_creates(), 0, "a duplicate migration");
    assert_eq!(
        per_destination.len(),
        MEMBERS,
        "a destination without migration"
    );
    assert!(
        per_destination.values().all(|&c| c == 1),
        "a destination with two migrations: {per_destination:?}"
    );
    // The dead replica's members were taken over by the survivors.
    let taken_over = status.iter().filter(|m| m.attempts > 1).count();
    assert!(taken_over >= 1, "nothing was taken over");
    // Never two migrations on one host at once (see `lives_by_host`), orphans of the kill
    // included: a held member keeps its host until it is resolved and driven on.
    let by_host = lives_by_host(&sim);
    assert_eq!(by_host.len(), HOSTS);
    for (host, lives) in &by_host {
        for (i, life) in lives.iter().enumerate() {
            for later in &lives[i + 1..] {
                assert!(
                    later.created > life.last,
                    "{host} served {} and {} at once: {life:?} {later:?}",
                    life.id,
                    later.id
                );
            }
        }
    }
    let gets = sim.count(GET_MIGRATION);
    eprintln!(
        "{MEMBERS} members on {HOSTS} hosts, {REPLICAS} replica processes: replica 0 killed \
         after {killed_at:?}, fleet finished after {fleet_done:?}; {taken_over} members \
         claimed more than once; {} held with their create unconfirmed, confirmed by the \
         operator ({} had landed), {blocked} waiting for their hosts; {} migrations, {gets} \
         polls; {:?} in all",
        held.len(),
        orphans.len(),
        migrations.len(),
        started.elapsed()
    );
    drop(replicas);
}
