//! The whole migration lifecycle through plain HTTP calls.

mod common;

use std::time::{Duration, Instant};

use atlas_migration_sim::{MigrationStatus, Simulator, Timings};
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

async fn status_of(client: &DigestClient, group: &str, id: &str) -> Value {
    let resp = client.get_migration(group, id).await;
    assert_eq!(resp.status(), StatusCode::OK);
    json(resp).await
}

#[tokio::test]
async fn manual_clock_steps_through_every_phase_deterministically() {
    let sim = Simulator::builder()
        .timings(Timings::manual())
        .manual_clock()
        .seed(1)
        .start()
        .await
        .unwrap();
    let c = DigestClient::new(&sim);
    let (org, group) = (sim.org_id().to_string(), sim.group_id().to_string());

    let resp = c.create_link_token(&org).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], V2023);
    let token = json(resp).await["linkToken"].as_str().unwrap().to_string();
    assert!(!token.is_empty());
    assert_eq!(sim.link_tokens(&org), vec![token]);

    let projects = json(
        c.get(&format!(
            "/api/atlas/v2/orgs/{org}/liveMigrations/availableProjects"
        ))
        .await,
    )
    .await;
    let project = &projects[0];
    assert_eq!(
        project["projectId"].as_str().unwrap(),
        sim.source_projects()[0].project_id
    );
    assert_eq!(project["deployments"][0]["name"], "Cluster0");
    assert_eq!(project["deployments"][0]["sharded"], false);
    assert_eq!(project["migrationHosts"].as_array().unwrap().len(), 1);

    let v = json(c.validate(&group, migration_body(&group)).await).await;
    assert_eq!(v["status"], "PENDING");
    assert_eq!(v["groupId"].as_str().unwrap(), group);
    assert_eq!(v["sourceGroupId"], "5e2211c17a3e5a48f5497de3");
    assert!(v["errorMessage"].is_null());
    let vid = v["_id"].as_str().unwrap().to_string();
    assert_eq!(vid.len(), 24);
    let vpath = format!("/api/atlas/v2/groups/{group}/liveMigrations/validate/{vid}");
    assert_eq!(json(c.get(&vpath).await).await["status"], "PENDING");
    sim.advance(Duration::from_secs(10));
    assert_eq!(json(c.get(&vpath).await).await["status"], "SUCCESS");

    let resp = c
        .create_migration(&group, migration_body(&group))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["content-type"], V2024);
    let m = json(resp).await;
    assert_eq!(m["status"], "NEW");
    assert_eq!(m["readyForCutover"], false);
    assert!(m["lagTimeSeconds"].is_null());
    assert_eq!(m["migrationHosts"][0], "migration-host-0.example.net");
    let id = m["_id"].as_str().unwrap().to_string();

    // Nothing moves without advancing.
    assert_eq!(status_of(&c, &group, &id).await["status"], "NEW");
    sim.advance(Duration::from_secs(10));
    let w = status_of(&c, &group, &id).await;
    assert_eq!(
        (w["status"].as_str(), w["readyForCutover"].as_bool()),
        (Some("WORKING"), Some(false))
    );
    assert_eq!(
        c.cutover(&group, &id).await.status(),
        StatusCode::BAD_REQUEST
    );

    sim.advance(Duration::from_secs(10));
    let r = status_of(&c, &group, &id).await;
    assert_eq!(r["readyForCutover"], true);
    assert_eq!(r["lagTimeSeconds"], 60);
    sim.advance(Duration::from_secs(20));
    assert_eq!(status_of(&c, &group, &id).await["lagTimeSeconds"], 40);
    assert!(sim.add_lag(&id, 15));
    assert_eq!(status_of(&c, &group, &id).await["lagTimeSeconds"], 55);

    let resp = c.cutover(&group, &id).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert!(resp.bytes().await.unwrap().is_empty());
    let after = status_of(&c, &group, &id).await;
    assert_eq!(
        (after["status"].as_str(), after["readyForCutover"].as_bool()),
        (Some("WORKING"), Some(false))
    );
    sim.advance(Duration::from_secs(10));
    assert_eq!(status_of(&c, &group, &id).await["status"], "COMPLETE");
    assert_eq!(
        sim.migration(&id).unwrap().status,
        MigrationStatus::Complete
    );

    // Once the migration is terminal the link tokens can go.
    let del = c
        .send(
            reqwest::Method::DELETE,
            &format!("/api/atlas/v2/orgs/{org}/liveMigrations/linkTokens"),
            V2023,
            None,
        )
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    assert!(sim.link_tokens(&org).is_empty());

    assert_eq!(sim.migrations_created(), 1);
    assert_eq!(sim.bodies_sent_without_credentials(), 0);
    assert_eq!(sim.duplicate_creates(), 0);
}

#[tokio::test]
async fn same_seed_and_steps_give_identical_answers() {
    async fn run() -> Vec<Value> {
        let sim = Simulator::builder()
            .timings(Timings::manual())
            .manual_clock()
            .seed(99)
            .start()
            .await
            .unwrap();
        let c = DigestClient::new(&sim);
        let group = sim.group_id().to_string();
        let m = json(
            c.create_migration(&group, migration_body(&group))
                .await
                .unwrap(),
        )
        .await;
        let id = m["_id"].as_str().unwrap().to_string();
        let mut seen = vec![m];
        for _ in 0..5 {
            sim.advance(Duration::from_secs(7));
            seen.push(status_of(&c, &group, &id).await);
        }
        seen
    }
    assert_eq!(run().await, run().await);
}

#[tokio::test]
async fn fast_timings_complete_a_migration_well_under_a_second() {
    let sim = Simulator::builder().start().await.unwrap();
    let c = DigestClient::new(&sim);
    let group = sim.group_id().to_string();
    let started = Instant::now();
    let v = json(c.validate(&group, migration_body(&group)).await).await;
    let vpath = format!(
        "/api/atlas/v2/groups/{group}/liveMigrations/validate/{}",
        v["_id"].as_str().unwrap()
    );
    loop {
        let s = json(c.get(&vpath).await).await;
        if s["status"] != "PENDING" {
            assert_eq!(s["status"], "SUCCESS");
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let id = json(
        c.create_migration(&group, migration_body(&group))
            .await
            .unwrap(),
    )
    .await["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut statuses = vec![];
    let mut cut = false;
    loop {
        let m = status_of(&c, &group, &id).await;
        let status = m["status"].as_str().unwrap().to_string();
        if statuses.last() != Some(&status) {
            statuses.push(status.clone());
        }
        if status == "COMPLETE" {
            break;
        }
        if m["readyForCutover"] == true && !cut {
            assert_eq!(c.cutover(&group, &id).await.status(), StatusCode::ACCEPTED);
            cut = true;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "lifecycle too slow: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(statuses.last().unwrap(), "COMPLETE");
    assert!(statuses.contains(&"WORKING".to_string()));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn scripted_failures_and_expiry_show_up_in_the_api() {
    let sim = Simulator::builder()
        .timings(Timings::manual())
        .manual_clock()
        .start()
        .await
        .unwrap();
    let c = DigestClient::new(&sim);
    let group = sim.group_id().to_string();

    sim.fail_next_validation("source cluster unreachable");
    let v = json(c.validate(&group, migration_body(&group)).await).await;
    sim.advance(Duration::from_secs(10));
    let s = json(
        c.get(&format!(
            "/api/atlas/v2/groups/{group}/liveMigrations/validate/{}",
            v["_id"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert_eq!(s["status"], "FAILED");
    assert_eq!(s["errorMessage"], "source cluster unreachable");

    sim.fail_next_migration();
    let doomed = create(&c, &group).await;
    let expiring = create(&c, &group).await;
    let killed = create(&c, &group).await;
    let windowed = create(&c, &group).await;
    assert!(sim.expire_migration(&expiring));
    assert!(sim.fail_migration(&killed));
    assert!(!sim.fail_migration(&killed), "already terminal");
    assert_eq!(status_of(&c, &group, &expiring).await["status"], "EXPIRED");
    assert_eq!(status_of(&c, &group, &killed).await["status"], "FAILED");
    sim.advance(Duration::from_secs(10));
    assert_eq!(status_of(&c, &group, &doomed).await["status"], "WORKING");
    sim.advance(Duration::from_secs(10));
    assert_eq!(status_of(&c, &group, &doomed).await["status"], "FAILED");
    assert_eq!(status_of(&c, &group, &windowed).await["status"], "WORKING");
    sim.advance(Duration::from_secs(3600));
    assert_eq!(status_of(&c, &group, &windowed).await["status"], "EXPIRED");
    assert_eq!(
        c.cutover(&group, &windowed).await.status(),
        StatusCode::BAD_REQUEST
    );
}

async fn create(c: &DigestClient, group: &str) -> String {
    json(
        c.create_migration(group, migration_body(group))
            .await
            .unwrap(),
    )
    .await["_id"]
        .as_str()
        .unwrap()
        .to_string()
}
