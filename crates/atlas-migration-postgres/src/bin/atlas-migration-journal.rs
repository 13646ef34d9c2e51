//! `atlas-migration-journal`: an operator's view of a push-migration journal, PostgreSQL or
//! directory: list the records with their step and age, show one, and confirm what Atlas
//! has for a record whose create request's reply never arrived; for a PostgreSQL journal,
//! also where each member of a fleet stands (which are held, and whom they block).
//!
//! A confirmation takes the record's lease like a workflow would, so it is refused while a
//! workflow drives the record, and `--no-migration` is refused while the create request may
//! still reach Atlas (the record says until when): looking before then proves nothing.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use atlas_migration::LiveMigrationId;
use atlas_migration::journal::{DirectoryJournal, Journal, Lease, WorkflowRecord};
use atlas_migration_postgres::{
    Database, FleetStore, MemberOutcome, MemberStatus, PostgresJournal, record_step,
};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};

/// The environment variable read for the PostgreSQL URL when `--postgres` is not given
/// (a URL on the command line, password included, is visible to every user of the machine).
const URL_ENV: &str = "ATLAS_MIGRATION_POSTGRES_URL";

/// Lists, shows and confirms push-migration journal records.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    journal: JournalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct JournalArgs {
    /// The PostgreSQL journal's connection URL (or set ATLAS_MIGRATION_POSTGRES_URL).
    #[arg(long, value_name = "URL", conflicts_with = "directory")]
    postgres: Option<String>,
    /// The schema of the PostgreSQL journal.
    #[arg(long, default_value = atlas_migration_postgres::DEFAULT_SCHEMA)]
    schema: String,
    /// The directory journal's directory.
    #[arg(long, value_name = "PATH")]
    directory: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every record with its step, age and holder.
    List,
    /// One record in full, and what to do about it.
    Show {
        /// The record's key.
        key: String,
    },
    /// Says what Atlas has for a record whose create request's reply never arrived.
    Confirm {
        /// The record's key.
        key: String,
        /// Atlas has this migration for the record: the next run resumes it.
        #[arg(
            long,
            value_name = "ID",
            conflicts_with = "no_migration",
            required_unless_present = "no_migration"
        )]
        migration: Option<LiveMigrationId>,
        /// Atlas has no migration for the record (you looked, after the time the record
        /// names): the next run creates it.
        #[arg(long)]
        no_migration: bool,
    },
    /// Every member of a fleet (PostgreSQL only): how it ended, who runs it, and which
    /// members a held one keeps from starting.
    Fleet {
        /// The fleet's name.
        name: String,
    },
}

/// Either journal, with what an operator's view needs beyond the trait.
enum Store {
    Postgres(Arc<PostgresJournal>, Database),
    Directory(Arc<DirectoryJournal>),
}

impl Store {
    async fn open(args: &JournalArgs) -> Result<Self, String> {
        if let Some(dir) = &args.directory {
            if !dir.is_dir() {
                return Err(format!("{} is not a directory", dir.display()));
            }
            let journal = DirectoryJournal::open(dir).map_err(|e| e.to_string())?;
            return Ok(Self::Directory(Arc::new(journal)));
        }
        let url = match &args.postgres {
            Some(url) => url.clone(),
            None => std::env::var(URL_ENV).map_err(|_| {
                format!("name a journal: --postgres URL (or {URL_ENV}), or --directory PATH")
            })?,
        };
        let config = url.parse().map_err(|_| {
            "not a PostgreSQL connection URL (not repeated here: it may hold a password)".to_owned()
        })?;
        let db = Database::builder(config)
            .schema(args.schema.clone())
            .migrate(false)
            .retry_for(Duration::from_secs(3))
            .connect()
            .await
            .map_err(|e| chain(&e))?;
        Ok(Self::Postgres(Arc::new(PostgresJournal::new(&db)), db))
    }

    fn journal(&self) -> &dyn Journal {
        match self {
            Self::Postgres(j, _) => j.as_ref(),
            Self::Directory(j) => j.as_ref(),
        }
    }

    /// The live lease on `key`, if any.
    async fn live_lease(&self, key: &str) -> Result<Option<Lease>, String> {
        let lease = match self {
            Self::Postgres(j, _) => j.lease(key).await,
            Self::Directory(j) => j.lease(key).await,
        }
        .map_err(|e| chain(&e))?;
        Ok(lease.filter(|l| !l.is_expired_at(Utc::now())))
    }
}

/// An error with its causes, each once.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// `3d4h`, `2h5m`, `7m12s`, `40s`.
fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - since).num_seconds().max(0);
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}

fn holder(lease: Option<&Lease>) -> String {
    lease.map_or_else(
        || "-".to_owned(),
        |l| {
            format!(
                "{} (generation {}, until {})",
                l.owner, l.generation, l.expires_at
            )
        },
    )
}

async fn list(store: &Store) -> Result<(), String> {
    let journal = store.journal();
    let now = Utc::now();
    let keys = journal.keys().await.map_err(|e| chain(&e))?;
    println!("{:<32} {:<20} {:>8}  HELD BY", "KEY", "STEP", "AGE");
    for key in keys {
        let (step, updated) = match journal.load(&key).await {
            Ok(Some(record)) => (record_step(&record).to_owned(), age(record.updated_at, now)),
            Ok(None) => continue,
            Err(e) => (format!("unreadable ({:?})", e.kind()), "-".to_owned()),
        };
        let lease = store.live_lease(&key).await?;
        println!(
            "{key:<32} {step:<20} {updated:>8}  {}",
            holder(lease.as_ref())
        );
    }
    Ok(())
}

async fn load(store: &Store, key: &str) -> Result<WorkflowRecord, String> {
    store
        .journal()
        .load(key)
        .await
        .map_err(|e| chain(&e))?
        .ok_or_else(|| format!("there is no record {key}"))
}

/// What an operator should do about `record`, if anything.
fn advice(record: &WorkflowRecord, now: DateTime<Utc>) -> Option<String> {
    if !record.create_may_have_happened() {
        return None;
    }
    let cluster = record.destination_cluster().unwrap_or("(not recorded)");
    let look = format!(
        "look in Atlas for a live migration into cluster {cluster} of project {}",
        record.group
    );
    Some(match record.create_may_still_land(now) {
        Some(until) => format!(
            "a create request may still reach Atlas until {until}; after then, {look}, and \
             confirm with --migration ID or --no-migration"
        ),
        None => format!(
            "the create request's reply never arrived: {look}, and confirm with --migration ID \
             or --no-migration"
        ),
    })
}

async fn show(store: &Store, key: &str) -> Result<(), String> {
    let record = load(store, key).await?;
    let now = Utc::now();
    let json = serde_json::to_string_pretty(&record).map_err(|e| e.to_string())?;
    println!("{json}");
    println!("step: {}", record_step(&record));
    println!("age: {}", age(record.updated_at, now));
    println!("held by: {}", holder(store.live_lease(key).await?.as_ref()));
    if let Some(advice) = advice(&record, now) {
        println!("to do: {advice}");
    }
    Ok(())
}

fn owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".to_owned());
    format!("atlas-migration-journal/{host}/{}", std::process::id())
}

async fn confirm(
    store: &Store,
    key: &str,
    migration: Option<LiveMigrationId>,
) -> Result<(), String> {
    let journal = store.journal();
    let lease = journal
        .acquire(key, &owner(), Duration::from_secs(60))
        .await
        .map_err(|e| format!("{}; confirm once the workflow has stopped", chain(&e)))?;
    let result = confirm_under(journal, &lease, key, migration).await;
    if let Err(e) = journal.release(&lease).await {
        eprintln!("warning: could not release the record: {}", chain(&e));
    }
    let message = result?;
    println!("{message}");
    Ok(())
}

async fn confirm_under(
    journal: &dyn Journal,
    lease: &Lease,
    key: &str,
    migration: Option<LiveMigrationId>,
) -> Result<String, String> {
    let mut record = journal
        .load(key)
        .await
        .map_err(|e| chain(&e))?
        .ok_or_else(|| format!("there is no record {key}"))?;
    let now = Utc::now();
    if !record.create_may_have_happened() {
        return Err(format!(
            "record {key} has nothing to confirm: its step is {}",
            record_step(&record)
        ));
    }
    let message = match migration {
        Some(id) => {
            let message = format!("record {key}: migration {id} recorded; the next run resumes it");
            record.migration_id = Some(id);
            message
        }
        None => {
            if let Some(until) = record.create_may_still_land(now) {
                return Err(format!(
                    "record {key}: the create request may still reach Atlas until {until}; \
                     look for the migration after then (refused: confirming now could create \
                     a second migration)"
                ));
            }
            record.create_intent_at = None;
            record.create_may_land_until = None;
            format!("record {key}: no migration recorded; the next run creates it")
        }
    };
    record.updated_at = now;
    journal.save(lease, &record).await.map_err(|e| chain(&e))?;
    Ok(message)
}

/// One member's state in words: how it ended, or why it has not.
fn member_state(member: &MemberStatus, blocked_by: Option<&String>) -> String {
    match (member.outcome, &member.claimed_by, blocked_by) {
        (Some(MemberOutcome::Complete), ..) => "complete".to_owned(),
        (Some(MemberOutcome::ReadyForCutover), ..) => "ready for cutover".to_owned(),
        (Some(MemberOutcome::Failed), ..) => "failed".to_owned(),
        (Some(MemberOutcome::Held), ..) => "HELD: keeps its resources".to_owned(),
        (Some(_), ..) => "finished".to_owned(),
        (None, Some(owner), _) => format!("running on {owner}"),
        (None, None, Some(holder)) => format!("blocked by {holder}"),
        (None, None, None) => "waiting".to_owned(),
    }
}

async fn fleet(store: &Store, name: &str) -> Result<(), String> {
    let Store::Postgres(_, db) = store else {
        return Err("fleets live in a PostgreSQL journal: give --postgres".to_owned());
    };
    let fleets = FleetStore::new(db);
    let members = fleets.status(name).await.map_err(|e| chain(&e))?;
    if members.is_empty() {
        return Err(format!("there is no fleet {name}"));
    }
    let labels: Vec<String> = members.iter().map(|m| m.label.clone()).collect();
    let mut blocked_by = std::collections::HashMap::new();
    for b in fleets.blocked(name, &labels).await.map_err(|e| chain(&e))? {
        blocked_by.entry(b.label).or_insert(b.held_by);
    }
    println!(
        "{:<32} {:<40} {:>8}  MESSAGE",
        "MEMBER", "STATE", "ATTEMPTS"
    );
    let mut held = Vec::new();
    for m in &members {
        let state = member_state(m, blocked_by.get(&m.label));
        if m.outcome == Some(MemberOutcome::Held) {
            held.push(m.label.as_str());
        }
        let message = m.message.as_deref().unwrap_or("");
        let message: String = message.chars().take(100).collect();
        println!("{:<32} {state:<40} {:>8}  {message}", m.label, m.attempts);
    }
    if !held.is_empty() {
        println!(
            "to do: a held member's migration may still run on its resources. Show and confirm \
             each ({}), then run the fleet again: it drives them on, then the members they block",
            held.join(", ")
        );
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = async {
        let store = Store::open(&cli.journal).await?;
        match cli.command {
            Command::List => list(&store).await,
            Command::Show { key } => show(&store, &key).await,
            Command::Confirm { key, migration, .. } => confirm(&store, &key, migration).await,
            Command::Fleet { name } => fleet(&store, &name).await,
        }
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
