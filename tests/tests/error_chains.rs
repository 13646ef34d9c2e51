//! Errors read once: a wrapping error's message includes what it wraps, and its `source()`
//! continues below that, so printing the whole chain never repeats a message.

use std::time::Duration;

use atlas_migration::workflow::PushMigration;
use atlas_migration::{Client, RetryPolicy};
use atlas_migration_sim::Simulator;
use atlas_migration_tests::{group, request};

/// Each message of the chain, outermost first.
fn chain(e: &dyn std::error::Error) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        out.push(s.to_string());
        next = s.source();
    }
    out
}

/// Fails if a message of the chain already appears inside an outer one.
fn assert_reads_once(e: &dyn std::error::Error) {
    let messages = chain(e);
    for (i, inner) in messages.iter().enumerate().skip(1) {
        for outer in &messages[..i] {
            assert!(
                !outer.contains(inner.as_str()),
                "{inner:?} repeated in {outer:?}; chain {messages:#?}"
            );
        }
    }
}

#[tokio::test]
async fn a_refused_connection_reads_once_through_every_layer() {
    // A port nothing listens on: bind, note it, close.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let sim = Simulator::builder().start().await.unwrap();
    let client = Client::builder()
        .base_url(&base)
        .api_key("pub", "priv".to_owned())
        .retry_policy(RetryPolicy::never())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let g = group(&sim);
    let call = client
        .validate_migration(&g, &request(&sim, &g))
        .await
        .unwrap_err();
    assert_reads_once(&call);
    let flow = PushMigration::new(&client, &g, request(&sim, &g))
        .await
        .unwrap_err();
    assert_reads_once(&flow);
    assert!(chain(&flow).len() >= 2, "{:#?}", chain(&flow));
}

/// An error names the operation and its path template, not a concrete URL: with digest
/// authentication the connection that failed may be the exchange's first leg.
#[tokio::test]
async fn errors_name_the_operation_and_its_path_template() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .api_key("public", "private".to_owned())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let refused = client
        .get_migration(
            &"32b6e34b3d91647abb20e7b8".parse().unwrap(),
            &"507f1f77bcf86cd799439011".parse().unwrap(),
        )
        .await
        .unwrap_err();
    let text = refused.to_string();
    let operation = refused.operation().expect("the call's operation");
    assert!(
        text.contains(&format!(
            "during {operation} (GET /api/atlas/v2/groups/{{groupId}}/liveMigrations/{{liveMigrationId}})"
        )),
        "{text}"
    );
    assert!(!text.contains(&port.to_string()), "no concrete URL: {text}");

    let sim = Simulator::builder().start().await.unwrap();
    let client = atlas_migration_tests::digest_client(&sim);
    let missing = client
        .get_migration(&group(&sim), &"507f1f77bcf86cd799439011".parse().unwrap())
        .await
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .ends_with("GET /api/atlas/v2/groups/{groupId}/liveMigrations/{liveMigrationId}]"),
        "{missing}"
    );
}
