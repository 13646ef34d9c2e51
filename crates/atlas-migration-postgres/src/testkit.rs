//! A throwaway PostgreSQL server for tests (feature `testkit`): the machine's own `initdb`
//! and `pg_ctl`, run as an unprivileged user, trust authentication, listening on
//! `127.0.0.1` on a free port and on a private socket directory; stopped and removed when
//! the [`PgServer`] drops (also while a test panics).
//!
//! Why like this: `initdb` refuses to run as root, and CI runs as root, so when the tests
//! run as root the data directory is handed to `nobody` and the binaries run as that user
//! (`setpriv`, else `runuser`). One `initdb` per test process makes a template that each
//! server copies (an `initdb` takes seconds, a copy a tenth of one). A process killed
//! before it could stop its servers leaves them behind: the next [`PgServer::start`] on the
//! machine stops and removes those whose owning process is gone.
//!
//! Without PostgreSQL on the machine [`PgServer::start_or_skip`] prints one line and
//! returns `None`, so the test passes; with `ATLAS_REQUIRE_POSTGRES=1` it panics instead.
//!
//! ```no_run
//! use atlas_migration_postgres::testkit::PgServer;
//!
//! # async fn t() {
//! let Some(pg) = PgServer::start_or_skip("my_test") else { return };
//! let db = atlas_migration_postgres::Database::connect(&pg.url()).await.unwrap();
//! # }
//! ```

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The environment variable that turns a skip into a failure (CI sets it).
pub const REQUIRE_ENV: &str = "ATLAS_REQUIRE_POSTGRES";

/// The environment variable naming the directory of `initdb` and `pg_ctl`, when the
/// machine's are not the ones to use (a path without them makes PostgreSQL missing).
pub const BIN_ENV: &str = "ATLAS_POSTGRES_BIN";

/// Longest wait for a server to start or stop.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Prefix of every directory this kit makes under the temporary directory.
const PREFIX: &str = "atlas-pg-";

/// The PostgreSQL binaries found on this machine.
#[derive(Debug, Clone)]
struct Binaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

/// Runs a command as the unprivileged user that owns the server's files.
#[derive(Debug, Clone)]
enum RunAs {
    /// Not root: as ourselves.
    Me,
    /// Root: through `setpriv` as this uid and gid.
    Setpriv { uid: u32, gid: u32 },
    /// Root without `setpriv`: through `runuser -u nobody --`.
    Runuser { user: String, uid: u32, gid: u32 },
}

impl RunAs {
    fn detect() -> Result<Self, String> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Ok(Self::Me);
        }
        let (user, uid, gid) = unprivileged_user()?;
        if find_on_path("setpriv").is_some() {
            Ok(Self::Setpriv { uid, gid })
        } else if find_on_path("runuser").is_some() {
            Ok(Self::Runuser { user, uid, gid })
        } else {
            Err("running as root, and neither setpriv nor runuser is installed".into())
        }
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = match self {
            Self::Me => Command::new(program),
            Self::Setpriv { uid, gid } => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(program);
                c
            }
            Self::Runuser { user, .. } => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
        };
        command
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST")
            .stdin(Stdio::null());
        command
    }

    /// Makes `path` belong to the user the server runs as.
    fn hand_over(&self, path: &Path) -> std::io::Result<()> {
        match self {
            Self::Me => Ok(()),
            Self::Setpriv { uid, gid } | Self::Runuser { uid, gid, .. } => {
                std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
            }
        }
    }
}

/// `nobody` (or, failing that, `postgres`) from `/etc/passwd`: name, uid, gid.
fn unprivileged_user() -> Result<(String, u32, u32), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    for wanted in ["nobody", "postgres"] {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() >= 4
                && fields[0] == wanted
                && let (Ok(uid), Ok(gid)) = (fields[2].parse(), fields[3].parse())
            {
                return Ok((wanted.to_owned(), uid, gid));
            }
        }
    }
    Err("running as root, and /etc/passwd has no nobody or postgres user".into())
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `initdb` and `pg_ctl` from one directory: [`BIN_ENV`] when set (and only there), else
/// `PATH` first, then the newest `/usr/lib/postgresql/*/bin` (where Debian's package puts
/// them, off the `PATH`).
fn find_binaries() -> Option<Binaries> {
    let pair = |dir: &Path| {
        let (initdb, pg_ctl) = (dir.join("initdb"), dir.join("pg_ctl"));
        (initdb.is_file() && pg_ctl.is_file()).then_some(Binaries { initdb, pg_ctl })
    };
    if let Some(dir) = std::env::var_os(BIN_ENV) {
        return pair(Path::new(&dir));
    }
    if let Some(initdb) = find_on_path("initdb") {
        // Follow a symbolic link so that pg_ctl comes from the same installation.
        let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        if let Some(found) = real.parent().and_then(pair) {
            return Some(found);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions.into_iter().rev().find_map(|(_, dir)| pair(&dir))
}

/// What every server of this process shares: the binaries, the user, a template cluster.
struct Kit {
    binaries: Binaries,
    run_as: RunAs,
    template: PathBuf,
}

/// Servers still running in this process, stopped at exit if a test leaked one.
static RUNNING: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());

fn kit() -> Result<Option<&'static Kit>, String> {
    static KIT: OnceLock<Result<Option<Kit>, String>> = OnceLock::new();
    KIT.get_or_init(|| {
        let Some(binaries) = find_binaries() else {
            return Ok(None);
        };
        let run_as = RunAs::detect()?;
        sweep_leftovers(&binaries, &run_as);
        let template = make_template(&binaries, &run_as)?;
        // SAFETY: registering a plain `extern "C" fn` is always sound.
        unsafe { libc::atexit(at_exit) };
        Ok(Some(Kit {
            binaries,
            run_as,
            template,
        }))
    })
    .as_ref()
    .map(Option::as_ref)
    .map_err(Clone::clone)
}

/// Stops servers that were never dropped and removes the template.
extern "C" fn at_exit() {
    let running = std::mem::take(&mut *RUNNING.lock().unwrap_or_else(|p| p.into_inner()));
    if let Ok(Some(kit)) = kit() {
        for (dir, data) in running {
            let _ = stop_cluster(kit, &data);
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(parent) = kit.template.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
}

/// A directory of ours, owned by this process (its pid in `owner`), handed to the server user.
fn own_dir(run_as: &RunAs, what: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "{PREFIX}{what}-{}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(dir.join("owner"), std::process::id().to_string())
        .map_err(|e| format!("cannot write to {}: {e}", dir.display()))?;
    run_as
        .hand_over(&dir)
        .map_err(|e| format!("cannot hand {} over: {e}", dir.display()))?;
    Ok(dir)
}

/// Stops and removes servers and templates whose owning process is gone.
fn sweep_leftovers(binaries: &Binaries, run_as: &RunAs) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let dir = entry.path();
        let owner: Option<u32> = std::fs::read_to_string(dir.join("owner"))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        let alive = owner.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if alive {
            continue;
        }
        let data = dir.join("data");
        if data.join("postmaster.pid").exists() {
            let _ = run_as
                .command(&binaries.pg_ctl)
                .arg("stop")
                .args(["-m", "immediate", "-w", "-t", "10", "-D"])
                .arg(&data)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .current_dir(&dir)
                .status();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn run(mut command: Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

fn make_template(binaries: &Binaries, run_as: &RunAs) -> Result<PathBuf, String> {
    let dir = own_dir(run_as, "template")?;
    let data = dir.join("data");
    let mut initdb = run_as.command(&binaries.initdb);
    initdb
        .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
        .args(["--locale=C", "-D"])
        .arg(&data)
        .current_dir(&dir);
    run(initdb, "initdb")?;
    Ok(data)
}

fn stop_cluster(kit: &Kit, data: &Path) -> Result<(), String> {
    let mut stop = kit.run_as.command(&kit.binaries.pg_ctl);
    stop.arg("stop")
        .args(["-m", "immediate", "-w", "-t"])
        .arg(START_TIMEOUT.as_secs().to_string())
        .arg("-D")
        .arg(data)
        .current_dir(data.parent().unwrap_or(data));
    run(stop, "pg_ctl stop").or_else(|e| {
        // The last resort: the postmaster's pid, killed outright.
        let pid = std::fs::read_to_string(data.join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<i32>().ok()));
        match pid {
            // SAFETY: kill has no memory-safety preconditions.
            Some(pid) if pid > 0 => unsafe {
                libc::kill(pid, libc::SIGKILL);
                Ok(())
            },
            _ => Err(e),
        }
    })
}

fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Copies a directory tree (the template cluster) preserving permissions.
fn copy_tree(from: &Path, to: &Path, run_as: &RunAs) -> std::io::Result<()> {
    std::fs::create_dir(to)?;
    std::fs::set_permissions(to, std::fs::metadata(from)?.permissions())?;
    run_as.hand_over(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&source, &target, run_as)?;
        } else if kind.is_file() {
            std::fs::copy(&source, &target)?;
            run_as.hand_over(&target)?;
        }
    }
    Ok(())
}

/// A running throwaway PostgreSQL server; stopped and removed on drop.
///
/// ```no_run
/// # use atlas_migration_postgres::testkit::PgServer;
/// let Some(pg) = PgServer::start_or_skip("restarts_are_survived") else { return };
/// pg.restart();
/// ```
#[derive(Debug)]
pub struct PgServer {
    dir: PathBuf,
    data: PathBuf,
    port: u16,
}

impl PgServer {
    /// Starts a server; `None` (after printing one line naming `test`) when this machine has
    /// no PostgreSQL and `ATLAS_REQUIRE_POSTGRES` is not `1`.
    ///
    /// # Panics
    /// When the server cannot start, or PostgreSQL is missing and required.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        match Self::start() {
            Ok(Some(server)) => Some(server),
            Ok(None) if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") => panic!(
                "{test}: PostgreSQL (initdb, pg_ctl) not found on PATH or under \
                 /usr/lib/postgresql, and {REQUIRE_ENV}=1"
            ),
            Ok(None) => {
                eprintln!(
                    "skipped {test}: PostgreSQL (initdb, pg_ctl) not found; \
                     set {REQUIRE_ENV}=1 to fail instead"
                );
                None
            }
            Err(e) => panic!("{test}: cannot start PostgreSQL: {e}"),
        }
    }

    /// Starts a server; `Ok(None)` when this machine has no PostgreSQL.
    ///
    /// # Errors
    /// Why the server could not start (with the end of its log).
    pub fn start() -> Result<Option<Self>, String> {
        let Some(kit) = kit()? else {
            return Ok(None);
        };
        let dir = own_dir(&kit.run_as, "server")?;
        let data = dir.join("data");
        copy_tree(&kit.template, &data, &kit.run_as)
            .map_err(|e| format!("cannot copy the template cluster: {e}"))?;
        RUNNING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((dir.clone(), data.clone()));
        let mut server = Self { dir, data, port: 0 };
        let mut last = String::new();
        // A port picked free can be taken before the server binds it: try a few.
        for _ in 0..5 {
            server.port = free_port()?;
            server.write_settings()?;
            match server.pg_ctl_start(kit) {
                Ok(()) => return Ok(Some(server)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn write_settings(&self) -> Result<(), String> {
        let settings = format!(
            "listen_addresses = '127.0.0.1'\n\
             port = {}\n\
             unix_socket_directories = '{}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             max_connections = 200\n\
             shared_buffers = 32MB\n\
             log_min_messages = warning\n",
            self.port,
            self.dir.display()
        );
        std::fs::write(self.data.join("postgresql.auto.conf"), settings)
            .map_err(|e| format!("cannot write the settings: {e}"))
    }

    fn pg_ctl(&self, kit: &Kit, verb: &str, extra: &[&str]) -> Result<(), String> {
        let mut command = kit.run_as.command(&kit.binaries.pg_ctl);
        command
            .arg(verb)
            .args(["-w", "-t"])
            .arg(START_TIMEOUT.as_secs().to_string())
            .args(extra)
            .arg("-D")
            .arg(&self.data)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let result = run(command, &format!("pg_ctl {verb}"));
        result.map_err(|e| {
            format!(
                "{e} after {:?}; server log:\n{}",
                started.elapsed(),
                self.log_tail()
            )
        })
    }

    fn pg_ctl_start(&self, kit: &Kit) -> Result<(), String> {
        let log = self.dir.join("server.log");
        let log = log.to_string_lossy().into_owned();
        self.pg_ctl(kit, "start", &["-l", &log])
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.dir.join("server.log")) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The TCP port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the server's unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// A connection URL for the superuser `postgres` and database `dbname` (no password:
    /// trust authentication).
    pub fn url_for(&self, dbname: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{dbname}", self.port)
    }

    /// A connection URL for the database `postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// A connection configuration for the database `postgres`.
    pub fn config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(5));
        config
    }

    /// Stops the server quickly and starts it again on the same port and data (an outage
    /// of about a tenth of a second; every connection is closed).
    ///
    /// # Panics
    /// When it does not come back.
    pub fn restart(&self) {
        self.stop();
        self.start_again();
    }

    /// Stops the server (`-m fast`); [`start_again`](Self::start_again) brings it back.
    ///
    /// # Panics
    /// When it does not stop.
    pub fn stop(&self) {
        let kit = kit().ok().flatten().expect("a running server has a kit");
        self.pg_ctl(kit, "stop", &["-m", "fast"])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Starts a stopped server again.
    ///
    /// # Panics
    /// When it does not start.
    pub fn start_again(&self) {
        let kit = kit().ok().flatten().expect("a running server has a kit");
        self.pg_ctl_start(kit).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Ends every client backend's connection (`pg_terminate_backend`), as an
    /// administrator or a failover would; returns how many were ended.
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub async fn terminate_backends(&self) -> u64 {
        let (client, connection) = self
            .config()
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
        let task = tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("pg_terminate_backend: {e}"));
        drop(client);
        let _ = task.await;
        u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)
    }

    /// Runs `sql` (one or more statements) as the superuser; panics on an error.
    ///
    /// # Panics
    /// When the statements fail.
    pub async fn execute(&self, sql: &str) {
        let (client, connection) = self
            .config()
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"));
        let task = tokio::spawn(connection);
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = task.await;
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Ok(Some(kit)) = kit()
            && let Err(e) = stop_cluster(kit, &self.data)
        {
            eprintln!("testkit: {e}");
        }
        RUNNING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(dir, _)| dir != &self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
