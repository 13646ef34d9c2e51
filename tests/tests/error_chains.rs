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
