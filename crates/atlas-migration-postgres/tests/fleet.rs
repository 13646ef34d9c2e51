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
            // A create cut off by a dying replica may land until these and the client's
            // timeout have passed: the replica taking it over waits that long.
            .call_max_wait(Duration::from_secs(5))
            .create_landing_margin(Duration::from_secs(1))
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
            m.outcome == Some(MemberOutcome::Held) && cut_off
        })
        .count();
    assert_eq!(
        report.complete() + unconfirmed + report.blocked(),
        n,
        "every member complete, but those whose create was cut off and those waiting for \
         their hosts: {:?}",
        report.members
    );
    assert_eq!(report.held(), unconfirmed);
    for m in report.members.iter().filter(|m| m.blocked_by.is_some()) {
        let holder = m.blocked_by.as_deref().unwrap();
        let host = |label: &str| host_of(label[1..].parse().unwrap());
        assert_eq!(
            host(&m.label),
            host(holder),
            "{} blocked by {holder}",
            m.label
        );
    }
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
        "{n} members: {} complete, {unconfirmed} create-unconfirmed, {} blocked, {taken_over} \
         taken over, {} migrations",
        report.complete(),
        report.blocked(),
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

/// A member whose create was processed but never answered keeps its migration host: the
/// members needing that host stay unstarted, the run ends, and once an operator confirms the
/// migration with the journal command, the next run drives it on and then the others.
#[tokio::test]
async fn a_held_member_keeps_its_host_until_an_operator_resolves_it() {
    use atlas_migration_sim::Fault;
    use atlas_migration_sim::operations::CREATE_MIGRATION;

    let Some(pg) =
        PgServer::start_or_skip("a_held_member_keeps_its_host_until_an_operator_resolves_it")
    else {
        return;
    };
    let db = common::db(&pg).await;
    let (sim, _, _) = common::unmetered_simulator().await;
    // A short request timeout: the workflow waits it out before saying the create is unconfirmed.
    let client = common::unpaced_client(
        &sim.base_url(),
        sim.public_key(),
        sim.private_key(),
        Duration::from_secs(1),
    );
    sim.inject(Fault::on(CREATE_MIGRATION).drop_after_processing().times(1));
    let events: Arc<Mutex<Vec<FleetEvent>>> = Arc::default();
    let fleet = |events: &Arc<Mutex<Vec<FleetEvent>>>| {
        let sink = events.clone();
        let mut fleet = PostgresFleet::new(&db, "held")
            .concurrency(1)
            .poll_interval(Duration::from_millis(20))
            .on_event(move |e| sink.lock().unwrap().push(e));
        for (i, host) in ["shared", "shared", "shared", "own"].iter().enumerate() {
            fleet = fleet.member(member(&sim, &client, &format!("m{i}"), host));
        }
        fleet
    };
    let report = tokio::time::timeout(Duration::from_secs(60), fleet(&events).run())
        .await
        .expect("the run ends though two members wait")
        .unwrap();
    let by = |report: &atlas_migration_postgres::PostgresFleetReport, i: usize| {
        report.members[i].outcome
    };
    assert_eq!(by(&report, 0), Some(MemberOutcome::Held));
    let held = report.members[0]
        .result
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap_err();
    assert!(held.is_create_outcome_unknown(), "{held}");
    assert!(held.migration_may_still_run());
    for i in [1, 2] {
        assert_eq!(by(&report, i), None, "m{i} never started");
        assert_eq!(report.members[i].blocked_by.as_deref(), Some("m0"));
    }
    assert_eq!(by(&report, 3), Some(MemberOutcome::Complete));
    assert_eq!(
        (report.held(), report.blocked(), report.complete()),
        (1, 2, 1)
    );
    assert_eq!(sim.migrations_created(), 2, "m0's orphan and m3's");

    // The operator's view of the fleet says who is held and whom it blocks.
    let journal_command = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_atlas-migration-journal"))
            .args(["--postgres", &pg.url()])
            .args(args)
            .env_remove("ATLAS_MIGRATION_POSTGRES_URL")
            .output()
            .unwrap()
    };
    let view = journal_command(&["fleet", "held"]);
    assert!(
        view.status.success(),
        "{}",
        String::from_utf8_lossy(&view.stderr)
    );
    let view = String::from_utf8_lossy(&view.stdout).into_owned();
    let line = |label: &str| {
        view.lines()
            .find(|l| l.starts_with(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no {label} in {view}"))
            .to_owned()
    };
    assert!(line("m0").contains("HELD"), "{view}");
    for m in ["m1", "m2"] {
        assert!(line(m).contains("blocked by m0"), "{view}");
    }
    assert!(line("m3").contains("complete"), "{view}");
    assert!(view.contains("to do:") && view.contains("m0"), "{view}");

    // The operator finds m0's migration in Atlas and confirms it.
    let orphan = sim
        .migrations()
        .into_iter()
        .find(|m| m.destination.1 == "m0")
        .expect("m0's create was processed");
    let out = journal_command(&["confirm", "m0", "--migration", &orphan.id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let report = tokio::time::timeout(Duration::from_secs(60), fleet(&events).run())
        .await
        .expect("the second run finishes")
        .unwrap();
    assert_eq!(report.complete(), 4, "{report:?}");
    assert_eq!(sim.migrations_created(), 4, "m0 resumed, not created again");
    // Over both runs, the shared host never served two members at once.
    let shared = |label: &str| label != "m3";
    let mut on_shared = 0;
    for e in events.lock().unwrap().iter() {
        match e {
            FleetEvent::Started { label } if shared(label) => {
                on_shared += 1;
                assert_eq!(on_shared, 1, "two members on one migration host");
            }
            FleetEvent::Finished { label, .. } if shared(label) => on_shared -= 1,
            _ => {}
        }
    }
}
