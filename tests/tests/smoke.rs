use atlas_migration_tests as support;

use atlas_migration_sim::Simulator;

#[tokio::test]
async fn full_flow_against_the_simulator() {
    let sim = Simulator::builder().start().await.unwrap();
    let client = support::digest_client(&sim);
    support::link(&sim, &client).await;
    let projects = client
        .list_source_projects(&support::org(&sim))
        .await
        .unwrap();
    assert!(!projects.is_empty());
    let g = support::group(&sim);
    let v = client
        .validate_migration(&g, &support::request(&sim, &g))
        .await
        .unwrap();
    let id = v.id.clone();
    let v2 = client.get_validation(&g, &id).await.unwrap();
    assert_eq!(v2.id, id);
    let m = client
        .create_migration(&g, &support::request(&sim, &g))
        .await
        .unwrap();
    let m2 = client.get_migration(&g, &m.id).await.unwrap();
    assert_eq!(m.id, m2.id);
    println!("{:?}", sim.counts());
}
