//! The crate's tables, created and migrated by numbered SQL files (`migrations/NNNN_*.sql`)
//! recorded in `<schema>.schema_version`. A migration runs in one transaction under a
//! transaction-level advisory lock keyed by the schema's name, so replicas that start
//! together take turns and each sees the others' work; DDL in PostgreSQL is transactional,
//! so a migration is applied whole or not at all.
//!
//! Migrations only ever add (tables, columns, indexes), so a replica of an older release
//! keeps working against a schema a newer one migrated: it logs a warning and goes on.

use crate::database::Database;
use crate::error::{Error, Kind};

/// `(version, name, SQL)`, in order; `__SCHEMA__` stands for the schema's name.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "records", include_str!("../migrations/0001_records.sql")),
    (2, "fleet", include_str!("../migrations/0002_fleet.sql")),
];

/// The schema version this release writes.
pub(crate) fn current_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// The advisory-lock key for migrating `schema` (FNV-1a of a fixed prefix and the name).
fn lock_key(schema: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in "atlas-migration-postgres schema "
        .bytes()
        .chain(schema.bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

fn failed(what: &str, e: tokio_postgres::Error) -> Error {
    let e = Error::postgres(what, e);
    if e.is_connection() {
        e
    } else {
        Error::new(Kind::Schema, e.to_string()).caused_by(e)
    }
}

/// Creates the schema or brings it to [`current_version`]; returns the version found.
pub(crate) async fn migrate(db: &Database) -> Result<i32, Error> {
    let schema = db.schema().to_owned();
    db.run("migrating the schema", |mut client| {
        let schema = schema.clone();
        async move {
            let tx = client
                .transaction()
                .await
                .map_err(|e| failed("cannot begin", e))?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(&schema)])
                .await
                .map_err(|e| failed("cannot take the migration lock", e))?;
            let exists = tx
                .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
                .await
                .map_err(|e| failed("cannot look for the schema", e))?
                .is_some();
            if !exists {
                tx.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .await
                    .map_err(|e| failed(&format!("cannot create schema {schema}"), e))?;
            }
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {schema}.schema_version (
                     version    integer PRIMARY KEY,
                     name       text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 )"
            ))
            .await
            .map_err(|e| failed("cannot create the schema_version table", e))?;
            let found: i32 = tx
                .query_one(
                    &format!("SELECT coalesce(max(version), 0) FROM {schema}.schema_version"),
                    &[],
                )
                .await
                .map_err(|e| failed("cannot read the schema version", e))?
                .get(0);
            if found > current_version() {
                tracing::warn!(
                    schema,
                    found,
                    known = current_version(),
                    "the schema is newer than this release knows; going on (migrations only add)"
                );
            }
            for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
                tx.batch_execute(&sql.replace("__SCHEMA__", &schema))
                    .await
                    .map_err(|e| failed(&format!("migration {version} ({name}) failed"), e))?;
                tx.execute(
                    &format!("INSERT INTO {schema}.schema_version (version, name) VALUES ($1, $2)"),
                    &[version, name],
                )
                .await
                .map_err(|e| failed("cannot record the migration", e))?;
                tracing::info!(schema, version, name, "schema migrated");
            }
            tx.commit()
                .await
                .map_err(|e| failed("cannot commit the migration", e))?;
            Ok(found)
        }
    })
    .await
}

/// Checks that the schema is at least at [`current_version`], without changing it.
pub(crate) async fn check(db: &Database) -> Result<i32, Error> {
    let table = db.table("schema_version");
    let found = db
        .run("checking the schema", |client| {
            let table = table.clone();
            async move {
                let exists: bool = client
                    .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
                    .await
                    .map_err(|e| failed("cannot look for the schema", e))?
                    .get(0);
                if !exists {
                    return Ok(0);
                }
                let row = client
                    .query_one(
                        &format!("SELECT coalesce(max(version), 0) FROM {table}"),
                        &[],
                    )
                    .await
                    .map_err(|e| failed("cannot read the schema version", e))?;
                Ok(row.get::<_, i32>(0))
            }
        })
        .await?;
    if found < current_version() {
        return Err(Error::new(
            Kind::Schema,
            format!(
                "schema {} is at version {found}, this release needs {}: connect once with \
                 migrate(true) (the default) as a user that may change it",
                db.schema(),
                current_version()
            ),
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_from_one() {
        for (i, (version, _, sql)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i32 + 1);
            assert!(
                sql.contains("__SCHEMA__."),
                "migration {version} names its schema"
            );
        }
    }

    #[test]
    fn lock_keys_differ_by_schema() {
        assert_ne!(lock_key("a"), lock_key("b"));
        assert_eq!(lock_key("a"), lock_key("a"));
    }
}
