//! [`Database`]: a connection pool to one PostgreSQL database and the crate's schema in it,
//! created and migrated on connect. Shared by the journal and the fleet store.
//!
//! Every operation runs on a pooled connection, bounded by an operation timeout; one that
//! fails because the connection broke (the server restarted, an administrator ended the
//! backend, a failover) is tried again on a fresh connection until the retry window closes.
//! Every statement is written to be repeated safely: a save is conditional on the lease's
//! generation, a lease take carries a nonce that recognises its own earlier attempt.
//!
//! [`Database::run`] is that loop, for the journal, the fleet store and the schema alike;
//! [`Database::query`] and its siblings run one statement through it, prepared once per
//! connection.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, NoTls, Row, Socket, Statement};

use crate::error::{Error, Kind};
use crate::schema;

/// The schema the crate's tables live in unless told otherwise.
pub const DEFAULT_SCHEMA: &str = "atlas_migration";

/// A pool of connections to the database holding the journal and the fleets.
///
/// ```no_run
/// use atlas_migration_postgres::{Database, FleetStore};
///
/// # async fn f() -> Result<(), atlas_migration_postgres::Error> {
/// let db = Database::connect("postgres://migrator@db.internal/service").await?;
/// let fleets = FleetStore::new(&db);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    schema: String,
    target: String,
    retry_for: Duration,
    operation_timeout: Duration,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("target", &self.inner.target)
            .field("schema", &self.inner.schema)
            .finish_non_exhaustive()
    }
}

type MakeManager = Box<dyn FnOnce(Config, ManagerConfig) -> Manager + Send>;

/// Settings for [`Database`]; see [`Database::builder`].
#[must_use]
pub struct DatabaseBuilder {
    config: Config,
    schema: String,
    max_connections: usize,
    retry_for: Duration,
    operation_timeout: Duration,
    migrate: bool,
    manager: MakeManager,
}

impl fmt::Debug for DatabaseBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseBuilder")
            .field("target", &describe(&self.config))
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Connects to the database named by `url` (`postgres://user:password@host:port/db`
    /// or libpq's `key=value` form) with the default settings, and creates or migrates the
    /// schema.
    ///
    /// # Errors
    /// A malformed URL ([`Error::is_config`]), an unreachable server
    /// ([`Error::is_connection`]), or a schema that cannot be migrated.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), atlas_migration_postgres::Error> {
    /// let db = atlas_migration_postgres::Database::connect("postgres://app@127.0.0.1/app").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder(parse_url(url)?).connect().await
    }

    /// A builder from a connection configuration.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), atlas_migration_postgres::Error> {
    /// let mut config = tokio_postgres::Config::new();
    /// config.host("db.internal").user("migrator").password("from-the-vault").dbname("service");
    /// let db = atlas_migration_postgres::Database::builder(config)
    ///     .schema("migrations")
    ///     .max_connections(8)
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(config: Config) -> DatabaseBuilder {
        DatabaseBuilder {
            config,
            schema: DEFAULT_SCHEMA.to_owned(),
            max_connections: 16,
            retry_for: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(10),
            migrate: true,
            manager: Box::new(|config, manager_config| {
                Manager::from_config(config, NoTls, manager_config)
            }),
        }
    }

    /// The schema holding the crate's tables.
    ///
    /// ```no_run
    /// # fn f(db: &atlas_migration_postgres::Database) { assert_eq!(db.schema(), "atlas_migration"); }
    /// ```
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The server and database, as `user@host:port/dbname` (never the password).
    ///
    /// ```no_run
    /// # fn f(db: &atlas_migration_postgres::Database) { println!("journal in {}", db.target()); }
    /// ```
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// `name` qualified by the crate's schema.
    pub(crate) fn table(&self, name: &str) -> String {
        format!("{}.{name}", self.inner.schema)
    }

    /// A pooled connection.
    pub(crate) async fn client(&self) -> Result<Object, Error> {
        self.inner.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => {
                Error::postgres(format!("cannot connect to {}", self.inner.target), e)
            }
            PoolError::Timeout(_) => Error::new(
                Kind::Connection,
                format!("no connection to {} in time", self.inner.target),
            ),
            PoolError::Closed => Error::new(Kind::Connection, "the connection pool is closed"),
            other => Error::new(
                Kind::Connection,
                format!("cannot connect to {}: {other}", self.inner.target),
            ),
        })
    }

    /// Runs `op` on a pooled connection, again on a fresh one while it fails with a
    /// connection error and the retry window is open; each attempt is bounded by the
    /// operation timeout. `op` must be safe to repeat.
    pub(crate) async fn run<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, Error>
    where
        F: FnMut(Object) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let deadline = Instant::now() + self.inner.retry_for;
        let mut delay = Duration::from_millis(20);
        let mut attempt = 1u32;
        loop {
            let timeout = self.inner.operation_timeout;
            let result = match tokio::time::timeout(timeout, async {
                let client = self.client().await?;
                op(client).await
            })
            .await
            {
                Ok(result) => result,
                Err(_) => Err(Error::new(
                    Kind::Connection,
                    format!("no answer from {} within {timeout:?}", self.inner.target),
                )),
            };
            match result {
                Err(e) if e.is_connection() && Instant::now() + delay < deadline => {
                    tracing::debug!(what, attempt, error = %e, "database operation retried");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                    attempt += 1;
                }
                Err(e) => return Err(e.context(what)),
                Ok(value) => return Ok(value),
            }
        }
    }

    /// The rows of `sql` run with `params`, through [`run`](Self::run): `what` names the
    /// operation, `failed` the statement's failure.
    pub(crate) async fn query(
        &self,
        what: &str,
        failed: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        self.run(what, |client| async move {
            let statement = prepare(&client, sql).await?;
            client
                .query(&statement, params)
                .await
                .map_err(|e| Error::postgres(failed, e))
        })
        .await
    }

    /// The row of `sql`, if any (an error if several), as [`query`](Self::query) runs it.
    pub(crate) async fn query_opt(
        &self,
        what: &str,
        failed: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        self.run(what, |client| async move {
            let statement = prepare(&client, sql).await?;
            client
                .query_opt(&statement, params)
                .await
                .map_err(|e| Error::postgres(failed, e))
        })
        .await
    }

    /// The one row of `sql` (an error if none or several), as [`query`](Self::query) runs it.
    pub(crate) async fn query_one(
        &self,
        what: &str,
        failed: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, Error> {
        self.run(what, |client| async move {
            let statement = prepare(&client, sql).await?;
            client
                .query_one(&statement, params)
                .await
                .map_err(|e| Error::postgres(failed, e))
        })
        .await
    }

    /// How many rows `sql` changed, as [`query`](Self::query) runs it.
    pub(crate) async fn execute(
        &self,
        what: &str,
        failed: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error> {
        self.run(what, |client| async move {
            let statement = prepare(&client, sql).await?;
            client
                .execute(&statement, params)
                .await
                .map_err(|e| Error::postgres(failed, e))
        })
        .await
    }
}

/// `sql` prepared on `client`, from the connection's cache after its first time.
pub(crate) async fn prepare(client: &Object, sql: &str) -> Result<Statement, Error> {
    client
        .prepare_cached(sql)
        .await
        .map_err(|e| Error::postgres("cannot prepare", e))
}

impl DatabaseBuilder {
    /// The schema for the crate's tables (default `atlas_migration`): 1 to 63 of `a-z`,
    /// `0-9`, `_`, not starting with a digit.
    ///
    /// ```
    /// # let config = tokio_postgres::Config::new();
    /// let builder = atlas_migration_postgres::Database::builder(config).schema("migrations_eu");
    /// ```
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Connections in the pool, at most (default 16; at least 1).
    ///
    /// ```
    /// # let config = tokio_postgres::Config::new();
    /// let builder = atlas_migration_postgres::Database::builder(config).max_connections(4);
    /// ```
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long an operation whose connection broke is tried again on fresh connections
    /// (default 10 s): long enough to ride out a restart or a failover of the server.
    ///
    /// ```
    /// # let config = tokio_postgres::Config::new();
    /// # use std::time::Duration;
    /// let builder = atlas_migration_postgres::Database::builder(config).retry_for(Duration::from_secs(30));
    /// ```
    pub fn retry_for(mut self, window: Duration) -> Self {
        self.retry_for = window;
        self
    }

    /// Longest one attempt of an operation may take, waiting for a connection included
    /// (default 10 s).
    ///
    /// ```
    /// # let config = tokio_postgres::Config::new();
    /// # use std::time::Duration;
    /// let builder = atlas_migration_postgres::Database::builder(config).operation_timeout(Duration::from_secs(3));
    /// ```
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Whether [`connect`](Self::connect) creates and migrates the schema (default `true`).
    /// Without it the schema must already be at this crate's version, migrated by a
    /// replica or a deployment step that has the rights to.
    ///
    /// ```
    /// # let config = tokio_postgres::Config::new();
    /// let builder = atlas_migration_postgres::Database::builder(config).migrate(false);
    /// ```
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Connects through TLS with `tls` (for example `tokio-postgres-rustls`'s or
    /// `postgres-native-tls`'s connector); by default connections are plain.
    ///
    /// ```
    /// # let config = tokio_postgres::Config::new();
    /// let builder = atlas_migration_postgres::Database::builder(config).tls(tokio_postgres::NoTls);
    /// ```
    pub fn tls<T>(mut self, tls: T) -> Self
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        self.manager = Box::new(move |config, manager_config| {
            Manager::from_config(config, tls, manager_config)
        });
        self
    }

    /// Builds the pool, checks that the server answers, and creates or migrates the schema
    /// (several replicas starting at once take turns under an advisory lock).
    ///
    /// # Errors
    /// An invalid schema name or configuration, an unreachable server, a failed migration.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), atlas_migration_postgres::Error> {
    /// let db = atlas_migration_postgres::Database::builder("host=/run/postgresql dbname=app".parse().unwrap())
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(self) -> Result<Database, Error> {
        let Self {
            mut config,
            schema,
            max_connections,
            retry_for,
            operation_timeout,
            migrate,
            manager,
        } = self;
        check_schema_name(&schema)?;
        if config.get_hosts().is_empty() {
            return Err(Error::new(
                Kind::Config,
                "the connection configuration names no host",
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(operation_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("atlas-migration");
        }
        let target = describe(&config);
        let manager = manager(
            config,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections)
            .wait_timeout(Some(operation_timeout))
            .create_timeout(Some(operation_timeout))
            .recycle_timeout(Some(operation_timeout))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::new(Kind::Config, format!("cannot build the pool: {e}")))?;
        let db = Database {
            inner: Arc::new(Inner {
                pool,
                schema,
                target,
                retry_for,
                operation_timeout,
            }),
        };
        if migrate {
            schema::migrate(&db).await?;
        } else {
            schema::check(&db).await?;
        }
        Ok(db)
    }
}

/// Parses a connection URL or `key=value` string without ever repeating it (it may hold a
/// password).
pub(crate) fn parse_url(url: &str) -> Result<Config, Error> {
    url.parse::<Config>().map_err(|_| {
        Error::new(
            Kind::Config,
            "not a PostgreSQL connection URL or key=value string (not repeated here: it may \
             hold a password)",
        )
    })
}

/// `user@host:port/dbname`, never the password.
pub(crate) fn describe(config: &Config) -> String {
    use tokio_postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = config
                .get_ports()
                .get(i)
                .or(config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect();
    let user = config.get_user().unwrap_or("(default user)");
    let dbname = config.get_dbname().unwrap_or(user);
    format!("{user}@{}/{dbname}", hosts.join(","))
}

fn check_schema_name(schema: &str) -> Result<(), Error> {
    let ok = (1..=63).contains(&schema.len())
        && !schema.as_bytes()[0].is_ascii_digit()
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            Kind::Config,
            format!("schema name {schema:?}: use 1 to 63 of a-z 0-9 _, not starting with a digit"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_that_cannot_be_parsed_is_not_repeated() {
        let e = parse_url("postgres://app:hunter2-secret@db:notaport/app").unwrap_err();
        assert!(e.is_config());
        assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");
    }

    #[test]
    fn targets_name_user_host_port_and_database_only() {
        let config = parse_url("postgres://app:hunter2-secret@db.internal:6432/service").unwrap();
        assert_eq!(describe(&config), "app@db.internal:6432/service");
        let builder = Database::builder(config);
        assert!(!format!("{builder:?}").contains("hunter2"));
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["atlas_migration", "m2", "_x"] {
            assert!(check_schema_name(good).is_ok(), "{good}");
        }
        for bad in ["", "2m", "Upper", "a-b", "a;drop", &"x".repeat(64)] {
            assert!(check_schema_name(bad).is_err(), "{bad}");
        }
    }
}
