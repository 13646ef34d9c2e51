//! `PostgresFleet` on the simulator: one replica alone behaves like the core's `Fleet`;
//! three replicas share a fleet, one dies mid-run, and every member still ends, each
//! migration created once, never two members on one migration host.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_migration::Client;
use atlas_migration::workflow::{Exclusive, FleetEvent, PushMigration};
use atlas_migration_postgres::testkit::PgServer;
use atlas_migration_postgres::{Database, MemberOutcome, PostgresFleet, PostgresFleetMember};
use atlas_migration_sim::Simulator;

const MIN: Duration = Duration::from_millis(10);
const MAX: Duration = Duration::from_millis(40);

fn member(sim: &Simulator, client: &Client, label: &str, host: &str) -> PostgresFleetMember {
    let (client, group) = (client.clone(), sim.group_id().parse().unwrap());
    let request = common::request(sim, label);
    PostgresFleetMember::new(label, move || {
        PushMigration::new(&client, &group, request.clone())
            .poll_delays(MIN, MAX)
            .auto_cutover(true)
            .lease_ttl(Duration::from_millis(900))
    })
    .exclusive(Exclusive::migration_host(host))
}

#[tokio::test]
async fn one_replica_alone_behaves_like_the_core_fleet() {
    let Some(pg) = PgServer::start_or_skip("one_replica_alone_behaves_like_the_core_fleet") else {
        return;
    };
    let db = common::db(&pg).await;
    let (sim, client, _) = common::simulator().await;
    sim.fail_next_migration();
    let events: Arc<Mutex<Vec<FleetEvent>>> = Arc::default();
    let sink = events.clone();
    let mut fleet = PostgresFleet::new(&db, "alone")
        .concurrency(4)
        .poll_interval(Duration::from_millis(20))
        .on_event(move |e| sink.lock().unwrap().push(e));
    for i in 0..8 {
        // Members 0, 2, 4 and 6 share one migration host; the others have their own.
        let host = if i % 2 == 0 {
            "shared-host".to_owned()
        } else {
            format!("host-{i}")
        };
        fleet = fleet.member(member(&sim, &client, &format!("m{i}"), &host));
    }
    let report = tokio::time::timeout(Duration::from_secs(60), fleet.run())
        .await
        .expect("the fleet finishes")
        .unwrap();
    assert_eq!(report.members.len(), 8);
    assert_eq!(report.failed(), 1, "the one failed migration");
    assert_eq!(report.complete(), 7, "the others are not stopped by it");
    assert!(
        report
            .members
            .iter()
            .all(|m| m.result.is_some() && m.attempts == 1)
    );
    assert_eq!(sim.migrations_created(), 8);
    // Replay the events: never two members on the shared host, never more than 4 running.
    let events = events.lock().unwrap();
    let mut running = 0;
    let (mut on_shared, mut most) = (0, 0);
    let shared = |label: &str| label[1..].parse::<u32>().unwrap() % 2 == 0;
    for e in events.iter() {
        match e {
            FleetEvent::Started { label } => {
                running += 1;
                most = most.max(running);
                if shared(label) {
                    on_shared += 1;
                    assert_eq!(on_shared, 1, "two members on one migration host");
                }
            }
            FleetEvent::Finished { label, .. } => {
                running -= 1;
                if shared(label) {
                    on_shared -= 1;
                }
            }
            _ => {}
        }
    }
    assert!((2..=4).contains(&most), "{most}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FleetEvent::Waiting { .. }))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FleetEvent::Progress { .. }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_a_fleet_and_survive_one_dying() {
    let Some(pg) = PgServer::start_or_skip("three_replicas_share_a_fleet_and_survive_one_dying")
    else {
        return;
    };
    let (sim, client, _) = common::simulator().await;
    let n = 30;
    let host_of = |i: usize| format!("host-{}", i % 10);
    // Every replica's events in one log: (replica, event).
    let events: Arc<Mutex<Vec<(usize, FleetEvent)>>> = Arc::default();
    let mut replicas = Vec::new();
    for r in 0..3 {
        let db = Database::builder(pg.config())
            .max_connections(6)
            .retry_for(Duration::from_secs(15))
            .connect()
            .await
            .unwrap();
        let sink = events.clone();
        let mut fleet = PostgresFleet::new(&db, "shared")
            .owner(format!("replica-{r}"))
            .concurrency(4)
            .claim_ttl(Duration::from_millis(900))
            .poll_interval(Duration::from_millis(25))
            .on_event(move |e| sink.lock().unwrap().push((r, e)));
        for i in 0..n {
            fleet = fleet.member(member(&sim, &client, &format!("m{i:02}"), &host_of(i)));
        }
        replicas.push(tokio::spawn(fleet.run()));
    }
    // Replica 0 dies once it has started members (its claims and leases are left to expire).
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let started = events
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, e)| *r == 0 && matches!(e, FleetEvent::Started { .. }))
            .count();
        if started >= 2 {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    replicas[0].abort();
    let mut reports = Vec::new();
    for replica in replicas.drain(1..) {
        let report = tokio::time::timeout(Duration::from_secs(120), replica)
            .await
            .expect("the survivors finish")
            .unwrap()
            .unwrap();
        reports.push(report);
    }
    // Every member ended, each migration created once.
    let report = &reports[0];
    assert_eq!(report.members.len(), n);
    let unconfirmed = report
        .members
        .iter()
        .filter(|m| {
            // Whichever survivor finished the member holds its workflow's error.
            let cut_off = reports.iter().any(|r| {
                r.members.iter().any(|other| {
                    other.label == m.label
                        && matches!(&other.result, Some(Err(e))
                            if e.is_create_unconfirmed() || e.is_create_outcome_unknown())
                })
            });
            m.outcome == Some(MemberOutcome::Failed) && cut_off
        })
        .count();
    assert_eq!(
        report.complete() + unconfirmed,
        n,
        "every member complete, but those whose create was cut off: {:?}",
        report.members
    );
    let migrations = sim.migrations();
    let mut per_destination: BTreeMap<_, usize> = BTreeMap::new();
    for m in &migrations {
        *per_destination.entry(m.destination.clone()).or_default() += 1;
    }
    assert!(
        per_destination.values().all(|&c| c == 1),
        "a duplicate: {per_destination:?}"
    );
    assert!(migrations.len() >= report.complete());
    let taken_over = report.members.iter().filter(|m| m.attempts > 1).count();
    assert!(
        taken_over >= 1,
        "the dead replica's members were taken over"
    );
    eprintln!(
        "{n} members: {} complete, {unconfirmed} create-unconfirmed, {taken_over} taken over, \
         {} migrations",
        report.complete(),
        migrations.len()
    );
    // Never two members on one host: a host passes to another member only after a Finished.
    let events = events.lock().unwrap();
    let mut on_host: HashMap<String, String> = HashMap::new();
    for (_, e) in events.iter() {
        match e {
            FleetEvent::Started { label } => {
                let host = host_of(label[1..].parse().unwrap());
                if let Some(other) = on_host.insert(host.clone(), label.clone()) {
                    assert_eq!(&other, label, "{host} served {other} and {label} at once");
                }
            }
            FleetEvent::Finished { label, .. } => {
                let host = host_of(label[1..].parse().unwrap());
                if on_host.get(&host) == Some(label) {
                    on_host.remove(&host);
                }
            }
            _ => {}
        }
    }
}
