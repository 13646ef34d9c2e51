//! The `metrics` feature: a workflow against the simulator, with one 503 and one 429 on the
//! way, shows up in the counters and histograms a recorder receives.
#![cfg(feature = "metrics")]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlas_migration::workflow::PushMigration;
use atlas_migration::{Client, Destination, MigrationRequest, Source};
use atlas_migration_sim::operations::{GET_MIGRATION, LIST_SOURCE_PROJECTS};
use atlas_migration_sim::{Fault, Simulator, Timings};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// Counts per metric name and labels; histograms count their samples.
#[derive(Default, Clone)]
struct Counts(Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>);

struct Samples(Arc<AtomicU64>);

impl metrics::HistogramFn for Samples {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Counts {
    fn slot(&self, key: &Key) -> Arc<AtomicU64> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        self.0.lock().unwrap().entry(name).or_default().clone()
    }

    fn get(&self, name: &str) -> u64 {
        self.0
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

impl Recorder for Counts {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.slot(key))
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Samples(self.slot(key))))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn requests_retries_rate_limits_statuses_and_lag_are_counted() {
    let counts = Counts::default();
    metrics::set_global_recorder(counts.clone()).unwrap();
    let sim = Simulator::builder()
        .timings(Timings::fast())
        .fault(Fault::on(LIST_SOURCE_PROJECTS).status(503))
        .fault(Fault::on(GET_MIGRATION).too_many_requests(0))
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .retry_policy(
            atlas_migration::RetryPolicy::default().initial_backoff(Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let org = sim.org_id().parse().unwrap();
    client
        .create_link_token(&org, Vec::<String>::new())
        .await
        .unwrap();
    client.list_source_projects(&org).await.unwrap();
    let source = &sim.source_projects()[0];
    let request = MigrationRequest::builder()
        .source(
            Source::new(
                source.deployments[0].name.clone(),
                source.project_id.parse().unwrap(),
            )
            .managed_authentication(),
        )
        .destination(Destination::new("target", sim.group_id().parse().unwrap()))
        .migration_host(source.migration_hosts[0].clone())
        .build()
        .unwrap();
    PushMigration::new(&client, &sim.group_id().parse().unwrap(), request)
        .poll_delays(Duration::from_millis(5), Duration::from_millis(25))
        .auto_cutover(true)
        .await
        .unwrap();
    let listed = "operation=list_source_projects";
    assert_eq!(
        counts.get(&format!(
            "atlas_migration_requests_total{{{listed},outcome=503}}"
        )),
        1
    );
    assert_eq!(
        counts.get(&format!(
            "atlas_migration_requests_total{{{listed},outcome=ok}}"
        )),
        1
    );
    assert_eq!(
        counts.get(&format!("atlas_migration_retries_total{{{listed}}}")),
        1
    );
    assert_eq!(
        counts.get("atlas_migration_rate_limited_total{operation=get_migration}"),
        1
    );
    assert!(
        counts.get(&format!(
            "atlas_migration_request_duration_seconds{{{listed}}}"
        )) >= 2
    );
    assert!(counts.get("atlas_migration_migration_status_total{status=COMPLETE}") >= 1);
    assert!(counts.get("atlas_migration_lag_seconds{}") >= 1);
}
