//! The crate docs' "Tracing" table names exactly the spans and fields the code records: a whole
//! workflow (validate, create, waits, cutover) runs against the simulator under a subscriber
//! that notes each span's name and declared fields, and the two lists must be equal.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use atlas_migration::workflow::{PushMigration, PushOutcome};
use atlas_migration::{Client, Destination, MigrationRequest, Source};
use atlas_migration_sim::{Simulator, Timings};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

type SpanFields = BTreeMap<String, BTreeSet<String>>;

/// Notes the name and declared fields of every span this crate opens.
#[derive(Default)]
struct SpanNames {
    seen: Mutex<SpanFields>,
    next_id: AtomicU64,
}

struct Recorder(Arc<SpanNames>);

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let meta = span.metadata();
        let target = meta.target();
        if target == "atlas_migration" || target.starts_with("atlas_migration::") {
            let fields = meta.fields().iter().map(|f| f.name().to_owned()).collect();
            self.0
                .seen
                .lock()
                .unwrap()
                .insert(meta.name().to_owned(), fields);
        }
        Id::from_u64(self.0.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// The spans and fields listed in the crate docs' "Tracing" table.
fn documented() -> SpanFields {
    let docs = include_str!("../docs/crate.md");
    let section = docs
        .split("\n# Tracing\n")
        .nth(1)
        .expect("the crate docs have a Tracing section");
    let section = section.split("\n# ").next().unwrap_or(section);
    let quoted = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|row| {
            let cells: Vec<&str> = row.split(" | ").collect();
            let name = quoted(cells[0]).remove(0);
            let fields = quoted(cells[cells.len() - 1]).into_iter().collect();
            (name, fields)
        })
        .collect()
}

#[tokio::test]
async fn the_documented_spans_and_fields_are_the_recorded_ones() {
    let names = Arc::new(SpanNames::default());
    let _guard = tracing::subscriber::set_default(Recorder(names.clone()));

    let sim = Simulator::builder()
        .timings(Timings::fast())
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .build()
        .unwrap();
    let org = sim.org_id().parse().unwrap();
    client
        .create_link_token(&org, Vec::<String>::new())
        .await
        .unwrap();
    let source = &sim.source_projects()[0];
    let group = sim.group_id().parse().unwrap();
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
    let outcome = PushMigration::new(&client, &group, request)
        .poll_delays(
            std::time::Duration::from_millis(5),
            std::time::Duration::from_millis(25),
        )
        .auto_cutover(true)
        .await
        .unwrap();
    assert!(matches!(outcome, PushOutcome::Complete(_)), "{outcome:?}");

    let recorded = names.seen.lock().unwrap().clone();
    assert_eq!(recorded, documented());
}
