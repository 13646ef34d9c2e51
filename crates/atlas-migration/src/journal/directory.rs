//! [`DirectoryJournal`]: one JSON file per workflow in a directory, written atomically
//! (temporary file, fsync, rename, fsync of the directory), with a lease file per record and
//! a file lock that says which process drives it.
//!
//! Three files per record `<key>`:
//! - `<key>.json`, the record;
//! - `<key>.lease`, the current lease (generation, owner, expiry, whether released), written
//!   atomically on every acquire, renewal and release, readable by an operator;
//! - `<key>.lock`, `flock`ed by the process whose lease is current, for as long as it is.
//!
//! The file lock decides between processes: a process takes a record only with the lock, so
//! a lease is never taken over from a live process (its lock says it lives, stopped or not),
//! and is taken over at once from a dead one (the kernel released its lock). Within a process,
//! which may run many workflows and open the directory more than once, a registry keyed by
//! the lock file's path keeps one lock and one view of the lease per record; there a lease
//! that ran out is taken over with the next generation, and a save or renewal under an older
//! generation is refused. Every save checks its lease while holding the record's lock, so
//! nothing is written under a lease that is not current.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lease::expiry;
use super::lock::{FileLock, try_acquire};
use super::record::FORMAT;
use super::{Journal, JournalError, JournalErrorKind, JournalFuture, Lease, WorkflowRecord};

/// Records larger than this are refused as corrupt (a real one is about a kilobyte).
const MAX_RECORD: u64 = 1024 * 1024;

/// Workflow records as files `<key>.json` in one directory, each taken by one workflow at a
/// time under a [`Lease`] (`<key>.lease`, with a file lock `<key>.lock` held by the process
/// that drives it). Needs no server; survives crashes (a save is complete or absent, never
/// half written, and a crashed process's records are free at once) and refuses a corrupt or
/// foreign file without touching it.
///
/// On one machine the file lock knows whether the holder lives, and it outranks the lease's
/// expiry: a lease of another live process is never taken over, even once it has run out
/// (the process may only be stopped); the error names the holder. Within one process, a lease
/// that ran out is taken over with a higher generation, as the [`Journal`] contract says.
/// Release leases you take by hand ([`Journal::release`]): the workflow does.
///
/// ```no_run
/// use std::sync::Arc;
/// use atlas_migration::journal::DirectoryJournal;
///
/// let journal = Arc::new(DirectoryJournal::open("/var/lib/my-service/migrations")?);
/// # Ok::<(), atlas_migration::journal::JournalError>(())
/// ```
#[derive(Debug, Clone)]
pub struct DirectoryJournal {
    dir: Arc<PathBuf>,
}

/// The lease file's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeaseFile {
    format: u32,
    key: String,
    generation: u64,
    owner: String,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    released: bool,
}

impl LeaseFile {
    fn lease(&self) -> Lease {
        Lease::new(
            self.key.clone(),
            self.generation,
            self.owner.clone(),
            self.expires_at,
        )
    }

    fn is_live(&self, now: DateTime<Utc>) -> bool {
        !self.released && self.expires_at > now
    }
}

/// What this process knows of one record: the file lock while one of its leases is current,
/// and that lease as last written.
#[derive(Debug, Default)]
struct Held {
    lock: Option<FileLock>,
    lease: Option<LeaseFile>,
}

/// One [`Held`] per lock file in this process, however many journals name the directory.
fn held(lock_path: &Path) -> Arc<Mutex<Held>> {
    static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<Held>>>>> = OnceLock::new();
    let registry = REGISTRY.get_or_init(Mutex::default);
    let mut registry = registry.lock().unwrap_or_else(|p| p.into_inner());
    registry.entry(lock_path.to_owned()).or_default().clone()
}

impl DirectoryJournal {
    /// A journal in `dir`, created if missing.
    ///
    /// ```no_run
    /// let journal = atlas_migration::journal::DirectoryJournal::open("migrations")?;
    /// # Ok::<(), atlas_migration::journal::JournalError>(())
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, JournalError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| {
            JournalError::new(
                JournalErrorKind::Io,
                "",
                "cannot create the journal directory",
            )
            .at(dir)
            .caused_by(e)
        })?;
        // One name per directory, so that every journal of this process on it shares its
        // record locks.
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
        Ok(Self { dir: Arc::new(dir) })
    }

    /// The file holding `key`'s record.
    ///
    /// ```no_run
    /// # let journal = atlas_migration::journal::DirectoryJournal::open("migrations").unwrap();
    /// println!("{}", journal.record_path("orders").display());
    /// ```
    pub fn record_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The file holding `key`'s lease.
    ///
    /// ```no_run
    /// # let journal = atlas_migration::journal::DirectoryJournal::open("migrations").unwrap();
    /// println!("{}", journal.lease_path("orders").display());
    /// ```
    pub fn lease_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.lease"))
    }

    /// The lease last granted on `key` (expired or released ones included: their
    /// `expires_at` is past), for an operator's view; `None` if the record was never taken.
    ///
    /// ```no_run
    /// # async fn f(journal: atlas_migration::journal::DirectoryJournal) -> Result<(), atlas_migration::journal::JournalError> {
    /// if let Some(lease) = journal.lease("orders").await? {
    ///     println!("{} (generation {}) until {}", lease.owner, lease.generation, lease.expires_at);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn lease(&self, key: &str) -> Result<Option<Lease>, JournalError> {
        let (this, key) = (self.clone(), key.to_owned());
        blocking(move || {
            checked(&key)?;
            Ok(this.read_lease(&key)?.map(|l| l.lease()))
        })
        .await
    }

    fn lock_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.lock"))
    }

    fn io(key: &str, path: &Path, what: &str, e: std::io::Error) -> JournalError {
        JournalError::new(JournalErrorKind::Io, key, what)
            .at(path)
            .caused_by(e)
    }

    fn load_now(&self, key: &str) -> Result<Option<WorkflowRecord>, JournalError> {
        let path = self.record_path(key);
        let Some(bytes) = read_capped(key, &path)? else {
            return Ok(None);
        };
        let corrupt =
            |why: String| JournalError::new(JournalErrorKind::Corrupt, key, why).at(&path);
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("not a JSON record ({e})")))?;
        let format = value.get("format").and_then(serde_json::Value::as_u64);
        let named = value.get("key").and_then(serde_json::Value::as_str);
        if format != Some(u64::from(FORMAT)) || named != Some(key) {
            return Err(JournalError::new(
                JournalErrorKind::Foreign,
                key,
                format!(
                    "not a format-{FORMAT} record of this key (format {format:?}, key {named:?})"
                ),
            )
            .at(&path));
        }
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| corrupt(format!("not a workflow record ({e})")))
    }

    fn read_lease(&self, key: &str) -> Result<Option<LeaseFile>, JournalError> {
        let path = self.lease_path(key);
        let Some(bytes) = read_capped(key, &path)? else {
            return Ok(None);
        };
        let lease: LeaseFile = serde_json::from_slice(&bytes).map_err(|e| {
            JournalError::new(
                JournalErrorKind::Corrupt,
                key,
                format!("not a lease file ({e}); remove it only once no process drives the record"),
            )
            .at(&path)
        })?;
        if lease.format != FORMAT || lease.key != key {
            return Err(JournalError::new(
                JournalErrorKind::Foreign,
                key,
                format!(
                    "not a format-{FORMAT} lease of this key (format {}, key {:?})",
                    lease.format, lease.key
                ),
            )
            .at(&path));
        }
        Ok(Some(lease))
    }

    fn write_lease(&self, lease: &LeaseFile) -> Result<(), JournalError> {
        let key = lease.key.as_str();
        let bytes = serde_json::to_vec_pretty(lease).map_err(|e| {
            JournalError::new(JournalErrorKind::Other, key, "cannot serialize the lease")
                .caused_by(e)
        })?;
        self.write_atomically(key, &self.lease_path(key), "lease", &bytes)
            .map_err(|e| Self::io(key, &self.lease_path(key), "cannot write the lease", e))
    }

    /// Writes `bytes` to `path` through a temporary file `.<key>.<kind>.<pid>.<n>.tmp`.
    fn write_atomically(
        &self,
        key: &str,
        path: &Path,
        kind: &str,
        bytes: &[u8],
    ) -> std::io::Result<()> {
        let temp = self.dir.join(format!(
            ".{key}.{kind}.{}.{}.tmp",
            std::process::id(),
            fastrand::u64(..)
        ));
        crate::files::replace(&temp, path, bytes)
    }

    /// Removes the temporary files of `key` that a process killed mid-write left behind.
    /// Called with the record's lock held, when no write of the record can be under way.
    fn remove_leftovers(&self, key: &str) {
        let Ok(entries) = std::fs::read_dir(&*self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if is_leftover_of(&name, key) {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => tracing::info!(key, file = %name, "removed a half-written file"),
                    Err(e) => {
                        tracing::warn!(key, file = %name, error = %e, "cannot remove a half-written file")
                    }
                }
            }
        }
    }

    fn acquire_now(&self, key: &str, owner: &str, ttl: Duration) -> Result<Lease, JournalError> {
        checked(key)?;
        let lock_path = self.lock_path(key);
        let held = held(&lock_path);
        let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
        let ours = held.lock.is_some();
        let current = if ours {
            held.lease.clone()
        } else {
            let Some(lock) = try_acquire(&lock_path)
                .map_err(|e| Self::io(key, &lock_path, "cannot lock the record", e))?
            else {
                return Err(self.held_elsewhere(key, &lock_path));
            };
            match self.read_lease(key) {
                Ok(current) => {
                    held.lock = Some(lock);
                    current
                }
                Err(e) => return Err(e),
            }
        };
        let now = Utc::now();
        if let Some(current) = current.as_ref().filter(|c| ours && c.is_live(now)) {
            return Err(JournalError::new(
                JournalErrorKind::Locked,
                key,
                "another workflow of this process holds the record",
            )
            .held_by(current.lease()));
        }
        if let Some(current) = current.as_ref().filter(|c| !ours && c.is_live(now)) {
            tracing::info!(
                key,
                previous = %current.owner,
                "taking over a record whose process is gone"
            );
        }
        let taken = LeaseFile {
            format: FORMAT,
            key: key.to_owned(),
            generation: current.map_or(0, |c| c.generation).saturating_add(1),
            owner: owner.to_owned(),
            expires_at: expiry(now, ttl),
            released: false,
        };
        self.remove_leftovers(key);
        if let Err(e) = self.write_lease(&taken) {
            if !ours {
                held.lock = None;
            }
            return Err(e);
        }
        held.lease = Some(taken.clone());
        Ok(taken.lease())
    }

    /// The error for a record whose lock another process holds, naming its lease.
    fn held_elsewhere(&self, key: &str, lock_path: &Path) -> JournalError {
        let lease = self.read_lease(key).ok().flatten();
        let live = lease.as_ref().is_some_and(|l| l.is_live(Utc::now()));
        let message = match (&lease, live) {
            (Some(_), true) => "another process holds the record".to_owned(),
            (Some(l), false) => format!(
                "another process holds the record's lock although its lease ran out at {}: \
                 it is alive (stopped or stuck?), so it is not taken over while it lives",
                l.expires_at
            ),
            (None, _) if cfg!(unix) => "another process holds the record".to_owned(),
            (None, _) => "the lock file exists: another process drives this record, or one \
                          crashed (then remove the file)"
                .to_owned(),
        };
        let error = JournalError::new(JournalErrorKind::Locked, key, message).at(lock_path);
        match lease {
            Some(l) => error.held_by(l.lease()),
            None => error,
        }
    }

    /// The record's current lease if it is `lease`'s and `lease` may still act: the lock is
    /// this process's, the generation is current, and it was not released.
    fn check_current<'h>(
        held: &'h Held,
        lease: &Lease,
        what: &str,
    ) -> Result<&'h LeaseFile, JournalError> {
        let lost = |why: String| JournalError::new(JournalErrorKind::LeaseLost, &lease.key, why);
        let current = match (&held.lock, &held.lease) {
            (Some(_), Some(current)) => current,
            _ => {
                return Err(lost(format!(
                    "{what} refused: this process no longer holds the record (lease generation \
                     {} released or taken elsewhere)",
                    lease.generation
                )));
            }
        };
        if current.generation != lease.generation {
            return Err(lost(format!(
                "{what} refused: lease generation {} was replaced by generation {}",
                lease.generation, current.generation
            ))
            .held_by(current.lease()));
        }
        if current.released {
            return Err(lost(format!(
                "{what} refused: lease generation {} was released",
                lease.generation
            )));
        }
        Ok(current)
    }

    fn renew_now(&self, lease: &Lease, ttl: Duration) -> Result<Lease, JournalError> {
        checked(&lease.key)?;
        let held = held(&self.lock_path(&lease.key));
        let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
        let current = Self::check_current(&held, lease, "renewal")?;
        let renewed = LeaseFile {
            expires_at: expiry(Utc::now(), ttl),
            ..current.clone()
        };
        self.write_lease(&renewed)?;
        held.lease = Some(renewed.clone());
        Ok(renewed.lease())
    }

    fn release_now(&self, lease: &Lease) -> Result<(), JournalError> {
        checked(&lease.key)?;
        let held = held(&self.lock_path(&lease.key));
        let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(current) = Self::check_current(&held, lease, "release") else {
            return Ok(());
        };
        let released = LeaseFile {
            expires_at: Utc::now(),
            released: true,
            ..current.clone()
        };
        let written = self.write_lease(&released);
        // Unlocked even if the lease file could not say so: the lock alone frees the record
        // for the next process.
        held.lock = None;
        held.lease = None;
        written
    }

    fn save_now(&self, lease: &Lease, record: &WorkflowRecord) -> Result<(), JournalError> {
        let key = record.key.as_str();
        checked(key)?;
        if lease.key != key {
            return Err(JournalError::new(
                JournalErrorKind::LeaseLost,
                key,
                format!("save refused: the lease is for record {:?}", lease.key),
            ));
        }
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| {
            JournalError::new(JournalErrorKind::Other, key, "cannot serialize the record")
                .caused_by(e)
        })?;
        let held = held(&self.lock_path(key));
        let held = held.lock().unwrap_or_else(|p| p.into_inner());
        let current = Self::check_current(&held, lease, "save")?;
        if !current.is_live(Utc::now()) {
            return Err(JournalError::new(
                JournalErrorKind::LeaseLost,
                key,
                format!(
                    "save refused: lease generation {} ran out at {} without renewal",
                    current.generation, current.expires_at
                ),
            ));
        }
        let path = self.record_path(key);
        self.write_atomically(key, &path, "json", &bytes)
            .map_err(|e| Self::io(key, &path, "cannot save the record", e))
    }

    fn keys_now(&self) -> Result<Vec<String>, JournalError> {
        let entries = std::fs::read_dir(&*self.dir)
            .map_err(|e| Self::io("", &self.dir, "cannot list the journal", e))?;
        let mut keys: Vec<String> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let key = name.strip_suffix(".json")?;
                super::check_key(key).ok().map(|()| key.to_owned())
            })
            .collect();
        keys.sort();
        Ok(keys)
    }
}

/// `key`, if it can name a record.
fn checked(key: &str) -> Result<(), JournalError> {
    super::check_key(key)
        .map_err(|e| JournalError::new(JournalErrorKind::Other, key, e.to_string()))
}

/// The file at `path` (at most [`MAX_RECORD`] bytes plus one, so that a larger one is seen),
/// or `None` if it does not exist.
fn read_capped(key: &str, path: &Path) -> Result<Option<Vec<u8>>, JournalError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DirectoryJournal::io(key, path, "cannot open the file", e)),
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_RECORD + 1), &mut bytes)
        .map_err(|e| DirectoryJournal::io(key, path, "cannot read the file", e))?;
    if bytes.len() as u64 > MAX_RECORD {
        return Err(JournalError::new(
            JournalErrorKind::Corrupt,
            key,
            format!("larger than {MAX_RECORD} bytes"),
        )
        .at(path));
    }
    Ok(Some(bytes))
}

/// Whether `name` is a temporary file of `key`'s record or lease: `.<key>.json.<pid>.<n>.tmp`
/// or `.<key>.lease.<pid>.<n>.tmp` (and not another key's whose name starts alike).
fn is_leftover_of(name: &str, key: &str) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let mut parts = inner.rsplitn(3, '.');
    let (Some(n), Some(pid), Some(stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(n)
        && digits(pid)
        && stem
            .strip_prefix(key)
            .is_some_and(|kind| kind == ".json" || kind == ".lease")
}

/// An acquire in progress: whether its caller went away, and the lease once granted.
type Taking = Arc<Mutex<TakingState>>;

#[derive(Debug, Default)]
struct TakingState {
    abandoned: bool,
    granted: Option<Lease>,
}

/// Gives back a lease granted to an acquire whose caller dropped it.
struct GiveBackIfDropped {
    taking: Taking,
    journal: DirectoryJournal,
}

impl GiveBackIfDropped {
    fn disarm(self) {
        self.taking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .granted = None;
    }
}

impl Drop for GiveBackIfDropped {
    fn drop(&mut self) {
        let mut taking = self.taking.lock().unwrap_or_else(|p| p.into_inner());
        taking.abandoned = true;
        if let Some(lease) = taking.granted.take() {
            let journal = self.journal.clone();
            // Off the runtime's threads: a release writes the lease file.
            std::thread::spawn(move || {
                let _ = journal.release_now(&lease);
            });
        }
    }
}

/// Runs blocking file work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, JournalError> + Send + 'static,
) -> Result<T, JournalError> {
    crate::tasks::blocking(work).await.unwrap_or_else(|e| {
        Err(JournalError::new(
            JournalErrorKind::Other,
            "",
            format!("journal task failed: {e}"),
        ))
    })
}

impl Journal for DirectoryJournal {
    fn acquire<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> JournalFuture<'a, Lease> {
        let (this, key, owner) = (self.clone(), key.to_owned(), owner.to_owned());
        Box::pin(async move {
            // The file work runs on even if the caller goes away; a lease it grants then is
            // given back instead of keeping the record (and its lock) from everyone else.
            let taking = Taking::default();
            let guard = GiveBackIfDropped {
                taking: taking.clone(),
                journal: this.clone(),
            };
            let granted = blocking(move || {
                let lease = this.acquire_now(&key, &owner, ttl)?;
                let mut taking = taking.lock().unwrap_or_else(|p| p.into_inner());
                if taking.abandoned {
                    drop(taking);
                    let _ = this.release_now(&lease);
                } else {
                    taking.granted = Some(lease.clone());
                }
                Ok(lease)
            })
            .await;
            guard.disarm();
            granted
        })
    }

    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> JournalFuture<'a, Lease> {
        let (this, lease) = (self.clone(), lease.clone());
        Box::pin(blocking(move || this.renew_now(&lease, ttl)))
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> JournalFuture<'a, ()> {
        let (this, lease) = (self.clone(), lease.clone());
        Box::pin(blocking(move || this.release_now(&lease)))
    }

    fn load<'a>(&'a self, key: &'a str) -> JournalFuture<'a, Option<WorkflowRecord>> {
        let (this, key) = (self.clone(), key.to_owned());
        Box::pin(blocking(move || this.load_now(&key)))
    }

    fn save<'a>(&'a self, lease: &'a Lease, record: &'a WorkflowRecord) -> JournalFuture<'a, ()> {
        let (this, lease, record) = (self.clone(), lease.clone(), record.clone());
        Box::pin(blocking(move || this.save_now(&lease, &record)))
    }

    fn keys(&self) -> JournalFuture<'_, Vec<String>> {
        let this = self.clone();
        Box::pin(blocking(move || this.keys_now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::GroupId;

    const TTL: Duration = Duration::from_secs(60);

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "journal-test-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn group() -> GroupId {
        "32b6e34b3d91647abb20e7b8".parse().unwrap()
    }

    #[tokio::test]
    async fn meets_the_journal_contract() {
        let dirs: Arc<Mutex<Vec<PathBuf>>> = Arc::default();
        let made = dirs.clone();
        super::super::ConformanceKit::new(move || {
            let dir = scratch();
            made.lock().unwrap().push(dir.clone());
            async move { DirectoryJournal::open(&dir).unwrap() }
        })
        .corrupt_with(|journal: Arc<DirectoryJournal>, key: String| async move {
            std::fs::write(journal.record_path(&key), b"{\"format\": 1, \"key\": \"tr").unwrap();
        })
        .run()
        .await;
        for dir in dirs.lock().unwrap().iter() {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[tokio::test]
    async fn saves_atomically_and_loads_back() {
        let dir = scratch();
        let j = DirectoryJournal::open(&dir).unwrap();
        assert!(j.load("orders").await.unwrap().is_none());
        let lease = j.acquire("orders", "me", TTL).await.unwrap();
        let mut record = WorkflowRecord::new("orders", &group(), None);
        record.create_intent_at = Some(chrono::Utc::now());
        j.save(&lease, &record).await.unwrap();
        let back = j.load("orders").await.unwrap().unwrap();
        assert!(back.create_may_have_happened());
        assert_eq!(j.keys().await.unwrap(), ["orders"]);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn corrupt_truncated_and_foreign_files_are_typed_errors_naming_the_file() {
        let dir = scratch();
        let j = DirectoryJournal::open(&dir).unwrap();
        let good = WorkflowRecord::new("good", &group(), None);
        let lease = j.acquire("good", "me", TTL).await.unwrap();
        j.save(&lease, &good).await.unwrap();
        let full = std::fs::read(j.record_path("good")).unwrap();
        let cases: [(&str, Vec<u8>, JournalErrorKind); 4] = [
            (
                "truncated",
                full[..full.len() / 2].to_vec(),
                JournalErrorKind::Corrupt,
            ),
            (
                "garbage",
                b"\x00\xffnot json".to_vec(),
                JournalErrorKind::Corrupt,
            ),
            ("other-key", full.clone(), JournalErrorKind::Foreign),
            (
                "future",
                br#"{"format": 9, "key": "future"}"#.to_vec(),
                JournalErrorKind::Foreign,
            ),
        ];
        for (key, bytes, kind) in cases {
            std::fs::write(j.record_path(key), &bytes).unwrap();
            let e = j.load(key).await.unwrap_err();
            assert_eq!(e.kind(), kind, "{key}: {e}");
            assert!(e.to_string().contains(&format!("{key}.json")), "{e}");
            assert_eq!(
                std::fs::read(j.record_path(key)).unwrap(),
                bytes,
                "untouched"
            );
        }
        assert!(
            j.load("good").await.unwrap().is_some(),
            "the others keep working"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn journals_on_one_directory_share_its_leases() {
        let dir = scratch();
        let (a, b) = (
            DirectoryJournal::open(&dir).unwrap(),
            DirectoryJournal::open(dir.join(".")).unwrap(),
        );
        let held = a.acquire("orders", "first", TTL).await.unwrap();
        let e = b.acquire("orders", "second", TTL).await.unwrap_err();
        assert_eq!(e.kind(), JournalErrorKind::Locked, "{e}");
        assert!(e.to_string().contains("first"), "{e}");
        b.release(&held).await.unwrap();
        let next = b.acquire("orders", "second", TTL).await.unwrap();
        assert_eq!(next.generation, held.generation + 1);
        let shown = a.lease("orders").await.unwrap().unwrap();
        assert_eq!(
            (shown.owner.as_str(), shown.generation),
            ("second", next.generation)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_lease_file_of_a_process_that_died_is_taken_over_at_once() {
        let dir = scratch();
        let j = DirectoryJournal::open(&dir).unwrap();
        // What a killed process leaves: a live lease, and no lock held (the kernel let go).
        let until = Utc::now() + chrono::Duration::hours(1);
        let lease = serde_json::json!({
            "format": 1, "key": "orders", "generation": 41, "owner": "gone/1/0",
            "expiresAt": until,
        });
        std::fs::write(j.lease_path("orders"), lease.to_string()).unwrap();
        let taken = j.acquire("orders", "me", TTL).await.unwrap();
        assert_eq!(taken.generation, 42);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_lease_granted_to_a_caller_that_went_away_is_given_back() {
        let dir = scratch();
        let j = DirectoryJournal::open(&dir).unwrap();
        // Dropped at its first await, while the file work goes on. The work may win the race
        // and finish within that first poll; then the next key is tried.
        let mut cut = None;
        // (Under load the work won 20 races in a row once; 500 keys make that unlikely.)
        for n in 0..500 {
            let key = format!("orders-{n}");
            if tokio::time::timeout(Duration::ZERO, j.acquire(&key, "gone", TTL))
                .await
                .is_err()
            {
                cut = Some(key);
                break;
            }
        }
        let key = cut.expect("an acquire still under way when its caller went away");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let taken = loop {
            match j.acquire(&key, "me", TTL).await {
                Ok(lease) => break lease,
                Err(e) if e.kind() == JournalErrorKind::Locked => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "never given back: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(
            taken.generation, 2,
            "the abandoned lease was granted, then given back"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_this_keys_temporary_files_are_leftovers() {
        assert!(is_leftover_of(".orders.json.4242.17.tmp", "orders"));
        assert!(is_leftover_of(".orders.lease.4242.17.tmp", "orders"));
        assert!(!is_leftover_of(".orders.json.x.json.4242.18.tmp", "orders"));
        assert!(!is_leftover_of(".orders.x.json.4242.18.tmp", "orders"));
        assert!(!is_leftover_of(".orders.json.tmp", "orders"));
        assert!(!is_leftover_of("orders.json", "orders"));
        assert!(!is_leftover_of(".orders.json.12.ab.tmp", "orders"));
    }
}
