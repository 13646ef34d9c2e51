//! [`PostgresJournal`]: the workflow journal in one table, fenced by lease generations, shared
//! by every replica of a service.
//!
//! One row per key (`<schema>.records`). The lease columns (`generation`, `lease_owner`,
//! `lease_expires_at`) are written only with the server's `now()`, so replicas whose clocks
//! disagree still agree on who holds a record. Every statement decides in itself:
//! - take: `INSERT … ON CONFLICT DO UPDATE … WHERE the lease is free or ran out`, raising
//!   the generation (rows are never deleted, so a generation is never issued twice);
//! - save: `UPDATE … WHERE key = $1 AND generation = $2 AND lease_expires_at > now()`; no
//!   row updated is [`JournalErrorKind::LeaseLost`] and nothing was written;
//! - renew and release name the generation too.
//!
//! Each statement may be sent again when its connection broke (see
//! [`Database`]): a save or renewal repeated is the same write, and a take carries a random
//! nonce so that a take whose reply was lost is recognised as this caller's own.
//!
//! Besides the record as JSONB, each row keeps copies an operator can query with plain SQL:
//! the step (see [`record_step`]), outcome, project, migration id, destination cluster,
//! when the create was sent, and when the row was created and last saved.

use std::fmt;
use std::time::Duration;

use atlas_migration::journal::{
    Journal, JournalError, JournalErrorKind, JournalFuture, Lease, RecordedOutcome, WorkflowRecord,
};
use chrono::{DateTime, Utc};
use tokio_postgres::types::Json;

use crate::database::Database;
use crate::error::{Error, Kind};

/// The record format this release reads (the core's `WorkflowRecord::format`).
const RECORD_FORMAT: u64 = 1;

/// Where a workflow stands according to its record, as the `step` column and the operator's
/// tool show it: `new`, `validating`, `create_unconfirmed` (a create was sent and its reply
/// never arrived), `migrating`, `ready_for_cutover`, `cutover_requested`, `complete`,
/// `failed`.
///
/// ```
/// # fn f(record: &atlas_migration::journal::WorkflowRecord) {
/// println!("{}: {}", record.key, atlas_migration_postgres::record_step(record));
/// # }
/// ```
pub fn record_step(record: &WorkflowRecord) -> &'static str {
    match &record.outcome {
        Some(RecordedOutcome::Complete) => return "complete",
        Some(RecordedOutcome::Failed { .. }) => return "failed",
        Some(RecordedOutcome::ReadyForCutover) => return "ready_for_cutover",
        _ => {}
    }
    if record.cutover_requested_at.is_some() {
        "cutover_requested"
    } else if record.first_ready_at.is_some() {
        "ready_for_cutover"
    } else if record.migration_id.is_some() {
        "migrating"
    } else if record.create_may_have_happened() {
        "create_unconfirmed"
    } else if record.validation_id.is_some() {
        "validating"
    } else {
        "new"
    }
}

/// The outcome column: `complete`, `ready_for_cutover`, `failed`, or none.
fn outcome_text(record: &WorkflowRecord) -> Option<&'static str> {
    match record.outcome.as_ref()? {
        RecordedOutcome::Complete => Some("complete"),
        RecordedOutcome::ReadyForCutover => Some("ready_for_cutover"),
        RecordedOutcome::Failed { .. } => Some("failed"),
        _ => Some("other"),
    }
}

/// One record's row as an operator sees it (see [`PostgresJournal::summaries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordSummary {
    /// The record's key.
    pub key: String,
    /// Where the workflow stands (see [`record_step`]).
    pub step: String,
    /// The destination project.
    pub group_id: Option<String>,
    /// The migration, once known.
    pub migration_id: Option<String>,
    /// When the record was last saved (the server's clock).
    pub updated_at: Option<DateTime<Utc>>,
    /// The live lease on it, if any.
    pub lease: Option<Lease>,
}

/// Workflow records in PostgreSQL, each taken under a fenced [`Lease`]: many replicas can
/// share it, a rescheduled pod finds its records, and a replica paused past its lease cannot
/// overwrite its successor's record.
///
/// ```no_run
/// use std::sync::Arc;
/// use atlas_migration::workflow::PushMigration;
/// use atlas_migration_postgres::{Database, PostgresJournal};
///
/// # async fn f(client: atlas_migration::Client, g: atlas_migration::GroupId,
/// #            request: atlas_migration::MigrationRequest) -> Result<(), Box<dyn std::error::Error>> {
/// let db = Database::connect("postgres://migrator@db.internal/service").await?;
/// let journal = Arc::new(PostgresJournal::new(&db));
/// let outcome = PushMigration::new(&client, &g, request)
///     .journal(journal, "orders-cluster")
///     .auto_cutover(true)
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresJournal {
    db: Database,
    table: String,
}

impl fmt::Debug for PostgresJournal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresJournal")
            .field("db", &self.db)
            .field("table", &self.table)
            .finish()
    }
}

fn secs(d: Duration) -> f64 {
    // Far beyond any lease; keeps `make_interval` in range.
    d.as_secs_f64().min(1.0e9)
}

fn generation(lease: &Lease) -> i64 {
    i64::try_from(lease.generation).unwrap_or(i64::MAX)
}

fn lease_from(key: &str, generation: i64, owner: Option<String>, until: DateTime<Utc>) -> Lease {
    Lease::new(
        key,
        u64::try_from(generation).unwrap_or(0),
        owner.unwrap_or_default(),
        until,
    )
}

impl PostgresJournal {
    /// The journal in `db`'s schema (table `records`).
    ///
    /// ```no_run
    /// # fn f(db: &atlas_migration_postgres::Database) {
    /// let journal = atlas_migration_postgres::PostgresJournal::new(db);
    /// # }
    /// ```
    pub fn new(db: &Database) -> Self {
        Self {
            db: db.clone(),
            table: db.table("records"),
        }
    }

    /// The database it keeps its records in.
    ///
    /// ```no_run
    /// # fn f(journal: &atlas_migration_postgres::PostgresJournal) {
    /// println!("records in {} (schema {})", journal.database().target(), journal.database().schema());
    /// # }
    /// ```
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The live lease on `key`, if any: who drives the record and until when.
    ///
    /// # Errors
    /// The database failed.
    ///
    /// ```no_run
    /// # async fn f(journal: atlas_migration_postgres::PostgresJournal) -> Result<(), atlas_migration::journal::JournalError> {
    /// if let Some(lease) = journal.lease("orders").await? {
    ///     println!("{} drives it until {}", lease.owner, lease.expires_at);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn lease(&self, key: &str) -> Result<Option<Lease>, JournalError> {
        self.holder(key).await.map_err(|e| e.into_journal(key))
    }

    /// Every record with its step, age and live lease, in key order, for an operator.
    ///
    /// # Errors
    /// The database failed.
    ///
    /// ```no_run
    /// # async fn f(journal: atlas_migration_postgres::PostgresJournal) -> Result<(), atlas_migration::journal::JournalError> {
    /// for r in journal.summaries().await? {
    ///     println!("{} {} {:?}", r.key, r.step, r.updated_at);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn summaries(&self) -> Result<Vec<RecordSummary>, JournalError> {
        let sql = format!(
            "SELECT key, step, group_id, migration_id, updated_at, generation, lease_owner,
                    CASE WHEN lease_expires_at > now() THEN lease_expires_at END
             FROM {} WHERE record IS NOT NULL ORDER BY key",
            self.table
        );
        let rows = self
            .db
            .query("listing the records", "cannot list the records", &sql, &[])
            .await
            .map_err(|e| e.into_journal(""))?;
        Ok(rows
            .iter()
            .map(|r| {
                let key: String = r.get(0);
                let until: Option<DateTime<Utc>> = r.get(7);
                let lease = until.map(|until| lease_from(&key, r.get(5), r.get(6), until));
                RecordSummary {
                    step: r.get::<_, Option<String>>(1).unwrap_or_default(),
                    group_id: r.get(2),
                    migration_id: r.get(3),
                    updated_at: r.get(4),
                    lease,
                    key,
                }
            })
            .collect())
    }

    /// The live lease on `key`, if any.
    async fn holder(&self, key: &str) -> Result<Option<Lease>, Error> {
        let sql = format!(
            "SELECT generation, lease_owner, lease_expires_at FROM {}
             WHERE key = $1 AND lease_expires_at > now()",
            self.table
        );
        let row = self
            .db
            .query_opt("reading the lease", "cannot read the lease", &sql, &[&key])
            .await?;
        Ok(row.map(|r| lease_from(key, r.get(0), r.get(1), r.get(2))))
    }

    /// A refusal of `kind` naming the lease that holds `key` now, if any.
    async fn refused(&self, kind: JournalErrorKind, key: &str, message: &str) -> JournalError {
        let e = JournalError::new(kind, key, message);
        match self.holder(key).await {
            Ok(Some(holder)) => e.held_by(holder),
            _ => e,
        }
    }

    async fn acquire_now(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, JournalError> {
        if key.is_empty() {
            return Err(JournalError::new(
                JournalErrorKind::Other,
                key,
                "an empty key",
            ));
        }
        let sql = format!(
            "INSERT INTO {t} AS r (key, generation, lease_owner, lease_expires_at, lease_nonce)
             VALUES ($1, 1, $2, now() + make_interval(secs => $3), $4)
             ON CONFLICT (key) DO UPDATE
             SET generation = r.generation + 1, lease_owner = EXCLUDED.lease_owner,
                 lease_expires_at = EXCLUDED.lease_expires_at, lease_nonce = EXCLUDED.lease_nonce
             WHERE r.lease_expires_at IS NULL OR r.lease_expires_at <= now()
                OR r.lease_nonce = EXCLUDED.lease_nonce
             RETURNING generation, lease_expires_at",
            t = self.table
        );
        // Recognises this call's own take when a retry follows a lost reply.
        let nonce = fastrand::i64(..);
        let row = self
            .db
            .query_opt(
                "taking the record",
                "cannot take the record",
                &sql,
                &[&key, &owner, &secs(ttl), &nonce],
            )
            .await
            .map_err(|e| e.into_journal(key))?;
        match row {
            Some(row) => {
                let lease = lease_from(key, row.get(0), Some(owner.to_owned()), row.get(1));
                tracing::debug!(
                    key,
                    generation = lease.generation,
                    owner,
                    "journal lease taken"
                );
                Ok(lease)
            }
            None => Err(self
                .refused(
                    JournalErrorKind::Locked,
                    key,
                    "another workflow holds a live lease on the record",
                )
                .await),
        }
    }

    async fn renew_now(&self, lease: &Lease, ttl: Duration) -> Result<Lease, JournalError> {
        let sql = format!(
            "UPDATE {} SET lease_expires_at = now() + make_interval(secs => $3)
             WHERE key = $1 AND generation = $2 AND lease_expires_at IS NOT NULL
             RETURNING lease_expires_at",
            self.table
        );
        let key = lease.key.as_str();
        let row = self
            .db
            .query_opt(
                "renewing the lease",
                "cannot renew the lease",
                &sql,
                &[&key, &generation(lease), &secs(ttl)],
            )
            .await
            .map_err(|e| e.into_journal(key))?;
        match row {
            Some(row) => Ok(Lease::new(
                key,
                lease.generation,
                lease.owner.clone(),
                row.get::<_, DateTime<Utc>>(0),
            )),
            None => Err(self
                .refused(
                    JournalErrorKind::LeaseLost,
                    key,
                    &format!(
                        "lease generation {} is no longer current (released, or taken over)",
                        lease.generation
                    ),
                )
                .await),
        }
    }

    async fn release_now(&self, lease: &Lease) -> Result<(), JournalError> {
        let sql = format!(
            "UPDATE {} SET lease_expires_at = NULL, lease_owner = NULL, lease_nonce = NULL
             WHERE key = $1 AND generation = $2",
            self.table
        );
        let key = lease.key.as_str();
        self.db
            .execute(
                "releasing the lease",
                "cannot release the lease",
                &sql,
                &[&key, &generation(lease)],
            )
            .await
            .map_err(|e| e.into_journal(key))?;
        tracing::debug!(key, generation = lease.generation, "journal lease released");
        Ok(())
    }

    async fn save_now(&self, lease: &Lease, record: &WorkflowRecord) -> Result<(), JournalError> {
        let key = record.key.as_str();
        if lease.key != record.key {
            return Err(JournalError::new(
                JournalErrorKind::LeaseLost,
                key,
                format!("the lease is for record {}, not this one", lease.key),
            ));
        }
        let value = serde_json::to_value(record).map_err(|e| {
            JournalError::new(JournalErrorKind::Other, key, "cannot serialize the record")
                .caused_by(e)
        })?;
        let sql = format!(
            "UPDATE {} SET record = $3, step = $4, outcome = $5, group_id = $6,
                 migration_id = $7, destination_cluster = $8, create_intent_at = $9,
                 updated_at = now()
             WHERE key = $1 AND generation = $2 AND lease_expires_at > now()",
            self.table
        );
        let step = record_step(record);
        let outcome = outcome_text(record);
        let group = record.group.to_string();
        let migration = record.migration_id.as_ref().map(ToString::to_string);
        let cluster = record.destination_cluster();
        let saved = self
            .db
            .execute(
                "saving the record",
                "cannot save the record",
                &sql,
                &[
                    &key,
                    &generation(lease),
                    &Json(&value),
                    &step,
                    &outcome,
                    &group,
                    &migration,
                    &cluster,
                    &record.create_intent_at,
                ],
            )
            .await
            .map_err(|e| e.into_journal(key))?;
        if saved == 1 {
            tracing::debug!(
                key,
                generation = lease.generation,
                step,
                "journal record saved"
            );
            return Ok(());
        }
        tracing::warn!(
            key,
            generation = lease.generation,
            "journal save refused: the lease is no longer current"
        );
        Err(self
            .refused(
                JournalErrorKind::LeaseLost,
                key,
                &format!(
                    "lease generation {} is no longer current (it ran out, was released, or \
                     was taken over); nothing was written",
                    lease.generation
                ),
            )
            .await)
    }

    async fn load_now(&self, key: &str) -> Result<Option<WorkflowRecord>, JournalError> {
        let sql = format!("SELECT record FROM {} WHERE key = $1", self.table);
        let row = self
            .db
            .query_opt(
                "loading the record",
                "cannot load the record",
                &sql,
                &[&key],
            )
            .await
            .map_err(|e| e.into_journal(key))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let value: Option<serde_json::Value> = row.try_get(0).map_err(|e| {
            Error::new(Kind::Corrupt, "the record column is not JSON")
                .caused_by(e)
                .into_journal(key)
        })?;
        let Some(value) = value else {
            return Ok(None);
        };
        let format = value.get("format").and_then(serde_json::Value::as_u64);
        let named = value.get("key").and_then(serde_json::Value::as_str);
        if format != Some(RECORD_FORMAT) || named != Some(key) {
            return Err(JournalError::new(
                JournalErrorKind::Foreign,
                key,
                format!(
                    "not a format-{RECORD_FORMAT} record of this key (format {format:?}, key {named:?})"
                ),
            ));
        }
        serde_json::from_value(value).map(Some).map_err(|e| {
            JournalError::new(
                JournalErrorKind::Corrupt,
                key,
                format!("not a workflow record ({e})"),
            )
        })
    }

    async fn keys_now(&self) -> Result<Vec<String>, JournalError> {
        let sql = format!(
            "SELECT key FROM {} WHERE record IS NOT NULL ORDER BY key",
            self.table
        );
        let rows = self
            .db
            .query("listing the keys", "cannot list the keys", &sql, &[])
            .await
            .map_err(|e| e.into_journal(""))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

impl Journal for PostgresJournal {
    fn acquire<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Lease> {
        Box::pin(self.acquire_now(key, owner, ttl))
    }

    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> JournalFuture<'a, Lease> {
        Box::pin(self.renew_now(lease, ttl))
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> JournalFuture<'a, ()> {
        Box::pin(self.release_now(lease))
    }

    fn load<'a>(&'a self, key: &'a str) -> JournalFuture<'a, Option<WorkflowRecord>> {
        Box::pin(self.load_now(key))
    }

    fn save<'a>(&'a self, lease: &'a Lease, record: &'a WorkflowRecord) -> JournalFuture<'a, ()> {
        Box::pin(self.save_now(lease, record))
    }

    fn keys(&self) -> JournalFuture<'_, Vec<String>> {
        Box::pin(self.keys_now())
    }
}
