//! The fleet runner against the simulator: many push migrations on one client, a
//! concurrency limit, migration-host exclusivity, one member's failure leaving the others
//! alone, and one event stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_migration::workflow::{Exclusive, Fleet, FleetEvent, FleetMember, PushMigration};
use atlas_migration_sim::{Simulator, Timings};
use atlas_migration_tests::{digest_client, group, linked, request_named};

const MIN: Duration = Duration::from_millis(10);
const MAX: Duration = Duration::from_millis(40);

/// Member `m{i}`: a push migration into `target-{i}` on migration host `host`.
fn member(sim: &Simulator, client: &atlas_migration::Client, i: usize, host: &str) -> FleetMember {
    let request = request_named(sim, &format!("target-{i}"));
    let flow = PushMigration::new(client, &group(sim), request)
        .poll_delays(MIN, MAX)
        .auto_cutover(true);
    FleetMember::new(format!("m{i}"), flow).exclusive(Exclusive::migration_host(host))
}

#[tokio::test]
async fn a_fleet_runs_every_member_with_its_exclusivity_and_reports_each() {
    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    sim.fail_next_migration();
    let events: Arc<Mutex<Vec<FleetEvent>>> = Arc::default();
    let sink = events.clone();
    let mut fleet = Fleet::new()
        .concurrency(4)
        .on_event(move |e| sink.lock().unwrap().push(e));
    for i in 0..8 {
        // Members 0, 2, 4 and 6 share one migration host; the others have their own.
        let host = if i % 2 == 0 {
            "shared-host".to_owned()
        } else {
            format!("host-{i}")
        };
        fleet = fleet.member(member(&sim, &client, i, &host));
    }
    let report = tokio::time::timeout(Duration::from_secs(60), fleet.run())
        .await
        .expect("the fleet finishes");
    assert_eq!(report.results.len(), 8);
    assert_eq!(report.failed(), 1, "the one failed migration");
    assert_eq!(report.complete(), 7, "the others are not stopped by it");
    assert_eq!(sim.migrations_created(), 8);

    // Replay the events: never two members on the shared host, never more than 4 running.
    let events = events.lock().unwrap();
    let mut running: HashMap<String, ()> = HashMap::new();
    let (mut on_shared, mut most) = (0, 0);
    let shared = |label: &str| label[1..].parse::<u32>().unwrap() % 2 == 0;
    for e in events.iter() {
        match e {
            FleetEvent::Started { label } => {
                running.insert(label.clone(), ());
                most = most.max(running.len());
                if shared(label) {
                    on_shared += 1;
                    assert_eq!(on_shared, 1, "two members on one migration host");
                }
            }
            FleetEvent::Finished { label, .. } => {
                running.remove(label);
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

/// A member whose create was processed but never answered may have a migration running on
/// its host: the members waiting for that host must not start another one there.
#[tokio::test]
async fn a_member_whose_migration_may_still_run_keeps_its_host() {
    use atlas_migration::workflow::WorkflowFailure;
    use atlas_migration_sim::Fault;
    use atlas_migration_sim::operations::CREATE_MIGRATION;

    let sim = linked(Simulator::builder().timings(Timings::fast())).await;
    let client = digest_client(&sim);
    sim.inject(Fault::on(CREATE_MIGRATION).drop_after_processing().times(1));
    let events: Arc<Mutex<Vec<FleetEvent>>> = Arc::default();
    let sink = events.clone();
    // One at a time, so m0's create is the first one and meets the fault.
    let mut fleet = Fleet::new()
        .concurrency(1)
        .on_event(move |e| sink.lock().unwrap().push(e));
    for (i, host) in ["shared", "shared", "shared", "own"].iter().enumerate() {
        fleet = fleet.member(member(&sim, &client, i, host));
    }
    let report = tokio::time::timeout(Duration::from_secs(60), fleet.run())
        .await
        .expect("the fleet finishes");
    let outcome = |i: usize| &report.results[i].1;
    let first = outcome(0).as_ref().expect_err("m0's create reply was lost");
    assert!(first.is_create_outcome_unknown(), "{first}");
    assert!(first.migration_may_still_run());
    for i in [1, 2] {
        let e = outcome(i).as_ref().expect_err("blocked");
        match &e.source {
            WorkflowFailure::ExclusiveStillInUse {
                exclusive,
                held_by,
                migration,
            } => {
                assert_eq!(*exclusive, Exclusive::migration_host("shared"));
                assert_eq!(held_by, "m0");
                assert!(migration.is_none());
            }
            other => panic!("m{i}: {other}"),
        }
        assert!(!e.migration_may_still_run());
        assert!(e.to_string().contains("resolve that member"), "{e}");
    }
    assert!(
        outcome(3).is_ok(),
        "the member on its own host is not held up"
    );
    assert_eq!((report.failed(), report.blocked()), (3, 2));
    // m0's orphan and m3's: never a second one on the shared host.
    assert_eq!(sim.migrations_created(), 2);
    let events = events.lock().unwrap();
    let started: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            FleetEvent::Started { label } => Some(label.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(started, ["m0", "m3"]);
    let blocked = events
        .iter()
        .filter(|e| matches!(e, FleetEvent::Blocked { held_by, .. } if held_by == "m0"))
        .count();
    assert_eq!(blocked, 2);
}
