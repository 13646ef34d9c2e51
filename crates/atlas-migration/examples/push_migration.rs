//! A whole push migration: link token, source projects, validation, creation, progress while
//! waiting, cutover, completion.
//!
//! ```text
//! cargo run -p atlas-migration --example push_migration                 # against the simulator
//! cargo run -p atlas-migration --example push_migration -- --yes        # against Atlas, see below
//! cargo run -p atlas-migration --example push_migration -- --yes --cutover
//! ```
//!
//! Without credentials in the environment it starts the simulator in-process and runs the whole
//! lifecycle against it in a second or two.
//!
//! With credentials it runs against Atlas. It first prints what it would do and creates nothing
//! unless `--yes` is given; even then it stops when the migration is ready for cutover and
//! prints how to resume, unless `--cutover` is also given. Environment:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `MONGODB_ATLAS_PUBLIC_API_KEY` + `MONGODB_ATLAS_PRIVATE_API_KEY` (or `MONGODB_ATLAS_PUBLIC_KEY` + `MONGODB_ATLAS_PRIVATE_KEY`, or `MONGODB_ATLAS_CLIENT_ID` + `MONGODB_ATLAS_CLIENT_SECRET`) | credentials, as [`Client::from_env`] reads them; `MONGODB_ATLAS_BASE_URL` optionally |
//! | `ATLAS_ORG_ID` | the Atlas organization (for the link token and source projects) |
//! | `ATLAS_GROUP_ID` | the destination Atlas project |
//! | `ATLAS_SOURCE_PROJECT_ID` | the Cloud/Ops Manager project holding the source cluster |
//! | `ATLAS_SOURCE_CLUSTER` | the source cluster's name |
//! | `ATLAS_DESTINATION_CLUSTER` | the destination Atlas cluster's name |
//! | `ATLAS_MIGRATION_HOST` | the migration host (optional for some source setups) |
//! | `ATLAS_SOURCE_USERNAME` + `ATLAS_SOURCE_PASSWORD` | source credentials (optional; else managed authentication) |
//! | `ATLAS_SOURCE_TLS` | `true` if the source uses TLS (optional) |
//! | `ATLAS_MIGRATION_ID` | resume this migration instead of creating one (optional) |

use std::error::Error as StdError;
use std::time::{Duration, Instant};

use atlas_migration::workflow::{ProgressEvent, PushMigration, PushOutcome};
use atlas_migration::{
    Client, Destination, GroupId, LiveMigrationId, MigrationRequest, OrgId, RetryPolicy, Source,
};
use atlas_migration_sim::{Simulator, Timings};
use futures::StreamExt;

type Result<T> = std::result::Result<T, Box<dyn StdError>>;

const CREDENTIAL_VARS: [&str; 6] = [
    "MONGODB_ATLAS_PUBLIC_API_KEY",
    "MONGODB_ATLAS_PUBLIC_KEY",
    "MONGODB_ATLAS_CLIENT_ID",
    "MONGODB_ATLAS_PRIVATE_API_KEY",
    "MONGODB_ATLAS_PRIVATE_KEY",
    "MONGODB_ATLAS_CLIENT_SECRET",
];

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let yes = args.iter().any(|a| a == "--yes");
    let cutover = args.iter().any(|a| a == "--cutover");
    let has_credentials = CREDENTIAL_VARS
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()));
    let started = Instant::now();
    let result = if has_credentials {
        against_atlas(yes, cutover).await
    } else {
        against_simulator().await
    };
    match result {
        Ok(()) => println!("finished in {:.2?}", started.elapsed()),
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            std::process::exit(1);
        }
    }
}

/// Prints one progress event.
fn show(event: &ProgressEvent) {
    let line = match event {
        ProgressEvent::Validated { validation_id, .. } => {
            format!("validation {validation_id} passed")
        }
        ProgressEvent::Created { migration_id, .. } => {
            format!("created migration {migration_id} (store this id to resume after a restart)")
        }
        ProgressEvent::Resumed {
            migration_id,
            status,
            ..
        } => format!("resumed migration {migration_id} ({status})"),
        ProgressEvent::StatusChanged {
            status,
            ready_for_cutover,
            ..
        } => format!("status {status}, ready for cutover: {ready_for_cutover}"),
        ProgressEvent::Lag { lag, .. } => format!("lag {}s", lag.as_secs()),
        ProgressEvent::ReadyForCutover { lag: Some(lag), .. } => {
            format!("ready for cutover (lag {}s)", lag.as_secs())
        }
        ProgressEvent::ReadyForCutover { lag: None, .. } => "ready for cutover".to_owned(),
        ProgressEvent::CutoverStarted { .. } => "cutover started".to_owned(),
        ProgressEvent::Complete { .. } => "complete".to_owned(),
        other => format!("{other:?}"),
    };
    let at = match event {
        ProgressEvent::Validated { at, .. }
        | ProgressEvent::Created { at, .. }
        | ProgressEvent::Resumed { at, .. }
        | ProgressEvent::StatusChanged { at, .. }
        | ProgressEvent::Lag { at, .. }
        | ProgressEvent::ReadyForCutover { at, .. }
        | ProgressEvent::CutoverStarted { at, .. }
        | ProgressEvent::Complete { at, .. } => at.format("%H:%M:%S%.3f").to_string(),
        _ => String::new(),
    };
    println!("  [{at}] {line}");
}

async fn against_simulator() -> Result<()> {
    println!("no Atlas credentials in the environment: running against the in-process simulator");
    let sim = Simulator::builder()
        .timings(Timings {
            // Slower catch-up than the test default, so that lag is visible while waiting.
            lag_drop_per_second: 60.0,
            ..Timings::fast()
        })
        .start()
        .await?;
    let client = Client::builder()
        .base_url(sim.base_url())
        .api_key(sim.public_key(), sim.private_key().to_owned())
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(20))
                .max_backoff(Duration::from_millis(200)),
        )
        .build()?;
    let org: OrgId = sim.org_id().parse()?;
    let group: GroupId = sim.group_id().parse()?;

    let _token = client.create_link_token(&org, Vec::<String>::new()).await?;
    println!("1. created a link token for organization {org} (not shown: it is a secret)");

    let projects = client.list_source_projects(&org).await?;
    println!("2. source projects available:");
    for p in &projects {
        let clusters: Vec<&str> = p.deployments.iter().map(|d| d.name.as_str()).collect();
        println!(
            "   - {} ({}): {}",
            p.name,
            p.project_id,
            clusters.join(", ")
        );
    }
    let project = projects.first().ok_or("the simulator offers no project")?;
    let deployment = project
        .deployments
        .first()
        .ok_or("the project has no cluster")?;
    let mut source = Source::new(deployment.name.clone(), project.project_id.clone());
    source = source
        .tls(deployment.tls_enabled)
        .credentials("migrator", "Src-P4ssw0rd-7f3a9c!".to_owned());
    let mut request = MigrationRequest::builder()
        .source(source)
        .destination(Destination::new("atlas-target", group.clone()));
    if let Some(host) = project.migration_hosts.first() {
        request = request.migration_host(host.clone());
    }
    let request = request.build()?;

    println!("3. validate, create, and wait until ready for cutover:");
    let outcome = PushMigration::new(&client, &group, request)
        .poll_delays(Duration::from_millis(20), Duration::from_millis(100))
        .on_progress(|e| show(&e))
        .await?;
    let PushOutcome::ReadyForCutover(ready) = outcome else {
        return Err("expected the migration to wait for our cutover".into());
    };
    let id = ready.id().clone();
    println!(
        "4. {}; watching the lag until it is at most 2s:",
        ready.migration()
    );
    let mut watch = client
        .watch_migration(&group, &id)
        .interval(Duration::from_millis(50));
    while let Some(snapshot) = watch.next().await {
        let m = snapshot?;
        match m.lag {
            Some(lag) => println!("  {} lag {}s", m.status, lag.as_secs()),
            None => println!("  {} lag unknown", m.status),
        }
        if m.lag.is_some_and(|l| l <= Duration::from_secs(2)) || m.status.is_terminal() {
            break;
        }
    }
    println!("5. cutting over and waiting until complete:");
    let done = ready.cutover_and_wait().await?;
    println!("6. summary:");
    println!("   migration {id}: final status {}", done.status);
    println!(
        "   requests to the simulator: {:?}",
        sim.counts()
            .into_iter()
            .filter(|(op, _)| op != "unknown")
            .collect::<Vec<_>>()
    );
    println!("   migrations created: {}", sim.migrations_created());
    if !done.status.is_success() {
        return Err(format!("migration ended {}", done.status).into());
    }
    Ok(())
}

fn var(name: &str) -> Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{name} is not set").into())
}

async fn against_atlas(yes: bool, cutover: bool) -> Result<()> {
    let client = Client::from_env()?;
    let org: OrgId = var("ATLAS_ORG_ID")?.parse()?;
    let group: GroupId = var("ATLAS_GROUP_ID")?.parse()?;
    let resume: Option<LiveMigrationId> = match std::env::var("ATLAS_MIGRATION_ID") {
        Ok(id) if !id.trim().is_empty() => Some(id.trim().parse()?),
        _ => None,
    };
    println!(
        "Atlas at {}, organization {org}, destination project {group}",
        client.base_url()
    );

    let flow = match &resume {
        Some(id) => {
            println!("plan: resume migration {id}");
            PushMigration::resume(&client, &group, id)
        }
        None => {
            let source_project: GroupId = var("ATLAS_SOURCE_PROJECT_ID")?.parse()?;
            let source_cluster = var("ATLAS_SOURCE_CLUSTER")?;
            let destination_cluster = var("ATLAS_DESTINATION_CLUSTER")?;
            let mut source = Source::new(source_cluster.clone(), source_project.clone())
                .tls(std::env::var("ATLAS_SOURCE_TLS").is_ok_and(|v| v == "true"));
            source = match (var("ATLAS_SOURCE_USERNAME"), var("ATLAS_SOURCE_PASSWORD")) {
                (Ok(user), Ok(password)) => source.credentials(user, password),
                _ => source.managed_authentication(),
            };
            let mut request = MigrationRequest::builder()
                .source(source)
                .destination(Destination::new(destination_cluster.clone(), group.clone()));
            if let Ok(host) = var("ATLAS_MIGRATION_HOST") {
                request = request.migration_host(host);
            }
            let request = request.build()?;
            println!(
                "plan: validate, then create a push migration of {source_project}/{source_cluster} \
                 into {group}/{destination_cluster}"
            );
            if request.drops_destination_data() {
                println!("      (this drops existing data in the destination cluster)");
            }
            PushMigration::new(&client, &group, request)
        }
    };
    println!(
        "      then wait until ready for cutover{}",
        if cutover {
            ", cut over, and wait until complete"
        } else {
            " and stop (add --cutover to cut over)"
        }
    );
    if !yes {
        println!("nothing was created; run again with --yes to do this");
        return Ok(());
    }
    let outcome = flow.auto_cutover(cutover).on_progress(|e| show(&e)).await?;
    match outcome {
        PushOutcome::Complete(done) => {
            println!(
                "summary: migration {}: final status {}",
                done.id, done.status
            )
        }
        PushOutcome::ReadyForCutover(ready) => println!(
            "summary: migration {} is ready for cutover ({}); to cut over, run again with \
             ATLAS_MIGRATION_ID={} --yes --cutover",
            ready.id(),
            ready.migration(),
            ready.id()
        ),
        other => println!("summary: {other:?}"),
    }
    Ok(())
}
