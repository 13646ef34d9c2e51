//! Helpers shared by this crate's tests.

#![allow(dead_code)]

use std::time::Duration;

use atlas_migration_postgres::Database;
use atlas_migration_postgres::testkit::PgServer;

/// A database on `pg` with short retry windows for tests.
pub async fn db(pg: &PgServer) -> Database {
    Database::builder(pg.config())
        .retry_for(Duration::from_secs(15))
        .operation_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connect: {e:?}\n{}", pg.log_tail()))
}
