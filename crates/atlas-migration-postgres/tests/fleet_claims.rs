//! The fleet store against a real PostgreSQL server: replicas (tasks with their own pools)
//! claim members exactly once, a migration host serves one member at a time across all of
//! them, and a replica that stops renewing loses its members to the others.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_migration_postgres::testkit::PgServer;
use atlas_migration_postgres::{Database, FleetStore, MemberOutcome, MemberSpec};

fn specs(n: usize, hosts: usize) -> Vec<MemberSpec> {
    (0..n)
        .map(|i| {
            MemberSpec::new(format!("m{i:03}")).exclusive(format!("migration host h{}", i % hosts))
        })
        .collect()
}

fn labels(specs: &[MemberSpec]) -> Vec<String> {
    specs.iter().map(|s| s.label().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_the_schema_once() {
    let Some(pg) = PgServer::start_or_skip("replicas_starting_together_migrate_the_schema_once")
    else {
        return;
    };
    let config = pg.config();
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let config = config.clone();
            tokio::spawn(async move { Database::builder(config).connect().await })
        })
        .collect();
    for start in starts {
        start.await.unwrap().unwrap();
    }
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM atlas_migration.schema_version ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1, 2]);
    // Without migrating, a migrated schema is accepted and a missing one refused.
    Database::builder(config.clone())
        .migrate(false)
        .connect()
        .await
        .unwrap();
    let e = Database::builder(config)
        .schema("elsewhere")
        .migrate(false)
        .connect()
        .await
        .unwrap_err();
    assert!(e.is_schema(), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_replicas_claim_each_member_once_and_a_host_never_twice() {
    let Some(pg) = PgServer::start_or_skip(
        "concurrent_replicas_claim_each_member_once_and_a_host_never_twice",
    ) else {
        return;
    };
    let members = specs(300, 40);
    let all = Arc::new(labels(&members));
    let claimed: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let busy: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let most_busy = Arc::new(Mutex::new(0usize));
    let mut replicas = Vec::new();
    for r in 0..4 {
        let db = Database::builder(pg.config())
            .max_connections(4)
            .connect()
            .await
            .unwrap();
        let store = FleetStore::new(&db);
        let (members, all) = (members.clone(), all.clone());
        let (claimed, busy, most_busy) = (claimed.clone(), busy.clone(), most_busy.clone());
        replicas.push(tokio::spawn(async move {
            // Every replica registers the same list, as each would at start-up.
            store.register("rollout", &members).await.unwrap();
            let owner = format!("replica-{r}");
            let mut running = tokio::task::JoinSet::new();
            loop {
                while running.len() < 8 {
                    let Some(claim) = store
                        .claim("rollout", &all, &owner, Duration::from_secs(60))
                        .await
                        .unwrap()
                    else {
                        break;
                    };
                    *claimed
                        .lock()
                        .unwrap()
                        .entry(claim.label.clone())
                        .or_default() += 1;
                    {
                        let mut busy = busy.lock().unwrap();
                        for host in &claim.exclusive {
                            assert!(busy.insert(host.clone()), "{host} claimed twice at once");
                        }
                        let mut most = most_busy.lock().unwrap();
                        *most = (*most).max(busy.len());
                    }
                    let (store, busy) = (store.clone(), busy.clone());
                    running.spawn(async move {
                        tokio::time::sleep(Duration::from_millis(fastrand::u64(1..10))).await;
                        // Off the books before the database frees the host.
                        for host in &claim.exclusive {
                            busy.lock().unwrap().remove(host);
                        }
                        store
                            .complete(&claim, MemberOutcome::Complete, "")
                            .await
                            .unwrap();
                    });
                }
                if running.is_empty() {
                    if store.unfinished("rollout", &all).await.unwrap() == 0 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                } else {
                    running.join_next().await.unwrap().unwrap();
                }
            }
        }));
    }
    for replica in replicas {
        tokio::time::timeout(Duration::from_secs(120), replica)
            .await
            .expect("the replicas finish")
            .unwrap();
    }
    let claimed = claimed.lock().unwrap().clone();
    assert_eq!(claimed.len(), 300, "every member claimed");
    assert!(claimed.values().all(|&n| n == 1), "each exactly once");
    assert!(
        *most_busy.lock().unwrap() > 1,
        "hosts were served in parallel"
    );
    let db = common::db(&pg).await;
    let status = FleetStore::new(&db).status("rollout").await.unwrap();
    assert!(
        status
            .iter()
            .all(|m| m.outcome == Some(MemberOutcome::Complete) && m.attempts == 1)
    );
}

#[tokio::test]
async fn a_replica_that_stops_renewing_loses_its_members_and_cannot_finish_them() {
    let Some(pg) = PgServer::start_or_skip(
        "a_replica_that_stops_renewing_loses_its_members_and_cannot_finish_them",
    ) else {
        return;
    };
    let (db_a, db_b) = (common::db(&pg).await, common::db(&pg).await);
    let (a, b) = (FleetStore::new(&db_a), FleetStore::new(&db_b));
    let members = specs(6, 3);
    let all = labels(&members);
    a.register("f", &members).await.unwrap();
    let ttl = Duration::from_millis(800);
    // A takes the three members that hold the three hosts, then goes quiet.
    let mut taken = Vec::new();
    for _ in 0..3 {
        taken.push(a.claim("f", &all, "a", ttl).await.unwrap().unwrap());
    }
    let renewed = a.renew(&taken[0], ttl).await.unwrap();
    assert!(renewed.expires_at >= taken[0].expires_at);
    // Meanwhile B finds nothing: the others need the hosts A's members hold.
    assert!(b.claim("f", &all, "b", ttl).await.unwrap().is_none());
    let blocked = b.blocked("f", &all).await.unwrap();
    assert_eq!(blocked.len(), 3, "{blocked:?}");
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    // B takes A's members over (they keep their hosts), with a higher generation.
    let mut over = Vec::new();
    while let Some(claim) = b
        .claim("f", &all, "b", Duration::from_secs(30))
        .await
        .unwrap()
    {
        over.push(claim);
    }
    let before: BTreeSet<_> = taken.iter().map(|c| c.label.clone()).collect();
    let after: BTreeSet<_> = over.iter().map(|c| c.label.clone()).collect();
    assert_eq!(before, after, "the orphans, and only they");
    for claim in &over {
        let old = taken.iter().find(|c| c.label == claim.label).unwrap();
        assert!(claim.generation > old.generation);
        assert_eq!(claim.attempts, 2);
        for host in &claim.exclusive {
            let holder = b.holder(host).await.unwrap().unwrap();
            assert_eq!(holder.1, claim.label);
        }
    }
    // A wakes up: every renewal, give-back and finish of its old claims is refused.
    for claim in &taken {
        assert!(a.renew(claim, ttl).await.unwrap_err().is_claim_lost());
        assert!(
            a.release(claim, Duration::ZERO)
                .await
                .unwrap_err()
                .is_claim_lost()
        );
        let e = a
            .complete(claim, MemberOutcome::Complete, "")
            .await
            .unwrap_err();
        assert!(e.is_claim_lost(), "{e}");
    }
    // B finishes one: its host goes to the member that waited for it.
    b.complete(&over[0], MemberOutcome::Failed, "boom")
        .await
        .unwrap();
    let next = b.claim("f", &all, "b", ttl).await.unwrap().unwrap();
    assert_eq!(next.exclusive, over[0].exclusive);
    let status = b.status("f").await.unwrap();
    let first = status.iter().find(|m| m.label == over[0].label).unwrap();
    assert_eq!(first.outcome, Some(MemberOutcome::Failed));
    assert_eq!(first.message.as_deref(), Some("boom"));
}

#[tokio::test]
async fn a_member_given_back_waits_and_keeps_its_host() {
    let Some(pg) = PgServer::start_or_skip("a_member_given_back_waits_and_keeps_its_host") else {
        return;
    };
    let store = FleetStore::new(&common::db(&pg).await);
    let members = specs(2, 1);
    let all = labels(&members);
    store.register("f", &members).await.unwrap();
    let claim = store
        .claim("f", &all, "a", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    store
        .release(&claim, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        store
            .claim("f", &all, "a", Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = store
        .claim("f", &all, "b", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.label, claim.label, "the host's holder comes first");
}

#[tokio::test]
async fn a_member_declared_with_other_resources_is_a_mismatch() {
    let Some(pg) = PgServer::start_or_skip("a_member_declared_with_other_resources_is_a_mismatch")
    else {
        return;
    };
    let store = FleetStore::new(&common::db(&pg).await);
    store
        .register("f", &[MemberSpec::new("a").exclusive("h1")])
        .await
        .unwrap();
    store
        .register("f", &[MemberSpec::new("a").exclusive("h1")])
        .await
        .unwrap();
    let e = store
        .register("f", &[MemberSpec::new("a").exclusive("h2")])
        .await
        .unwrap_err();
    assert!(e.is_mismatch(), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_taken_while_a_claim_chooses_undoes_that_claim_whole() {
    let Some(pg) =
        PgServer::start_or_skip("a_host_taken_while_a_claim_chooses_undoes_that_claim_whole")
    else {
        return;
    };
    let store = FleetStore::new(&common::db(&pg).await);
    // a and b share h1 (a comes first), c has h2.
    let members = [
        MemberSpec::new("a").exclusive("h1"),
        MemberSpec::new("b").exclusive("h1"),
        MemberSpec::new("c").exclusive("h2"),
    ];
    store.register("f", &members).await.unwrap();
    // Another replica's claim of b holds h1, not yet committed: invisible to the next claim's
    // choice, which picks a and then waits on h1.
    let (other, connection) = pg.config().connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    other
        .batch_execute(
            "BEGIN; \
             UPDATE atlas_migration.fleet_members SET generation = generation + 1, \
                 claim_owner = 'r2', claim_expires_at = now() + interval '30 s', \
                 attempts = attempts + 1 \
             WHERE fleet = 'f' AND label = 'b'; \
             INSERT INTO atlas_migration.exclusive_claims (resource, fleet, label) \
             VALUES ('h1', 'f', 'b')",
        )
        .await
        .unwrap();
    let claiming = {
        let (store, all) = (store.clone(), labels(&members));
        tokio::spawn(async move { store.claim("f", &all, "r1", Duration::from_secs(30)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!claiming.is_finished(), "the claim waits for h1");
    other.batch_execute("COMMIT").await.unwrap();
    let claim = tokio::time::timeout(Duration::from_secs(10), claiming)
        .await
        .expect("the claim ends")
        .unwrap()
        .unwrap()
        .expect("a member");
    // Its choice of a was undone whole; chosen again, it takes c.
    assert_eq!(claim.label, "c");
    assert_eq!(claim.attempts, 1);
    let status = store.status("f").await.unwrap();
    let a = status.iter().find(|m| m.label == "a").unwrap();
    assert_eq!((a.attempts, a.claimed_by.as_deref()), (0, None), "{a:?}");
    assert_eq!(
        store.holder("h1").await.unwrap(),
        Some(("f".to_owned(), "b".to_owned()))
    );
    assert_eq!(
        store.holder("h2").await.unwrap(),
        Some(("f".to_owned(), "c".to_owned()))
    );
}
