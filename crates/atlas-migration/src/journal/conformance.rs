//! The checks of the [`Journal`] contract, for implementations' tests ([`ConformanceKit`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::{Journal, JournalError, JournalErrorKind, Lease, WorkflowRecord};

type Factory<J> = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = J> + Send>> + Send>;
type Corrupter<J> =
    Box<dyn Fn(Arc<J>, String) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A lease long enough never to run out during a check.
const LONG: Duration = Duration::from_secs(120);

/// A test kit for [`Journal`] implementations: the contract's checks, run against journals
/// your factory makes. Behind the `journal-conformance` feature; call it from your tests.
///
/// ```no_run
/// use std::time::Duration;
/// use atlas_migration::journal::{ConformanceKit, DirectoryJournal};
///
/// # let rt = tokio::runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// // Each check gets a journal of its own, over a store of its own that starts empty.
/// ConformanceKit::new(|| async {
///     let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
///     let dir = std::env::temp_dir().join(format!("journal-kit-{}", now.as_nanos()));
///     DirectoryJournal::open(dir).unwrap()
/// })
/// // How this store holds an unreadable record (optional; skipped without it).
/// .corrupt_with(|journal, key| async move {
///     std::fs::write(journal.record_path(&key), b"{\"format\": 1, \"ke").unwrap();
/// })
/// .short_ttl(Duration::from_millis(600))
/// .run()
/// .await; // panics naming every check that failed
/// # });
/// ```
///
/// What it checks:
/// - a missing record loads as `None`, and a new store has no keys;
/// - a live lease excludes every other taker, this owner included ([`JournalErrorKind::Locked`]
///   naming the holder), and only on its own key; of concurrent takers exactly one wins;
/// - a lease that ran out is taken over with a higher generation;
/// - a save under a lease that was taken over, ran out, was released or belongs to another
///   record is refused with [`JournalErrorKind::LeaseLost`], and writes nothing;
/// - a renewal keeps the generation and extends the lease past its first expiry; a renewal
///   after a takeover is refused;
/// - a release lets another take the record at once, with a higher generation; releasing a
///   lease that is no longer current changes nothing;
/// - records come back from `load` exactly as saved (compared as JSON), and `keys` lists
///   every saved record, and no record only taken;
/// - an unreadable record is an error ([`JournalErrorKind::Corrupt`] or
///   [`JournalErrorKind::Foreign`]), never `None` (with [`ConformanceKit::corrupt_with`]).
///
/// The checks wait for short leases to run out, on real time: run the kit on a runtime whose
/// clock is not paused, with a store whose clock is this machine's (or close to it).
#[must_use = "the kit checks nothing until run"]
pub struct ConformanceKit<J> {
    factory: Factory<J>,
    corrupt: Option<Corrupter<J>>,
    short_ttl: Duration,
}

impl<J> std::fmt::Debug for ConformanceKit<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConformanceKit")
            .field("corrupt", &self.corrupt.is_some())
            .field("short_ttl", &self.short_ttl)
            .finish_non_exhaustive()
    }
}

impl<J: Journal> ConformanceKit<J> {
    /// The checks, against journals `factory` makes: one per check, each over an empty store
    /// of its own (a new directory, schema or table prefix).
    ///
    /// ```no_run
    /// # async fn f() {
    /// use atlas_migration::journal::{ConformanceKit, DirectoryJournal};
    /// ConformanceKit::new(|| async { DirectoryJournal::open("/tmp/scratch-journal").unwrap() }).run().await;
    /// # }
    /// ```
    pub fn new<F, Fut>(mut factory: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = J> + Send + 'static,
    {
        Self {
            factory: Box::new(move || Box::pin(factory())),
            corrupt: None,
            short_ttl: Duration::from_millis(600),
        }
    }

    /// How to make the record `key` of a journal unreadable in its store (truncated JSON, a
    /// row of the wrong shape), for the check that such a record is an error and not `None`.
    ///
    /// ```no_run
    /// # async fn f() {
    /// use atlas_migration::journal::{ConformanceKit, DirectoryJournal};
    /// ConformanceKit::new(|| async { DirectoryJournal::open("/tmp/scratch-journal").unwrap() })
    ///     .corrupt_with(|journal, key| async move {
    ///         std::fs::write(journal.record_path(&key), b"{").unwrap();
    ///     })
    ///     .run()
    ///     .await;
    /// # }
    /// ```
    pub fn corrupt_with<C, Fut>(mut self, corrupt: C) -> Self
    where
        C: Fn(Arc<J>, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.corrupt = Some(Box::new(move |journal, key| {
            Box::pin(corrupt(journal, key))
        }));
        self
    }

    /// The lease the checks wait out (default 600 ms): long enough for a few round trips to
    /// the store, short enough for a quick test.
    ///
    /// ```no_run
    /// # fn f(kit: atlas_migration::journal::ConformanceKit<atlas_migration::journal::DirectoryJournal>) {
    /// let kit = kit.short_ttl(std::time::Duration::from_secs(2));
    /// # }
    /// ```
    pub fn short_ttl(mut self, ttl: Duration) -> Self {
        self.short_ttl = ttl;
        self
    }

    /// Runs every check; panics naming each one that failed and why.
    ///
    /// ```no_run
    /// # async fn f(kit: atlas_migration::journal::ConformanceKit<atlas_migration::journal::DirectoryJournal>) {
    /// kit.run().await;
    /// # }
    /// ```
    pub async fn run(mut self) {
        let ttl = self.short_ttl;
        let mut failed = Vec::new();
        let mut total = 0;
        macro_rules! check {
            ($name:literal, $check:expr) => {{
                total += 1;
                let journal = Arc::new((self.factory)().await);
                if let Err(why) = $check(journal, ttl).await {
                    failed.push(format!("{}: {why}", $name));
                }
            }};
        }
        check!("empty store", empty_store);
        check!("acquire is exclusive", exclusive);
        check!("one of concurrent takers wins", concurrent_takers);
        check!("an expired lease is taken over", takeover_after_expiry);
        check!("a stale save is refused and writes nothing", stale_save);
        check!("an expired lease cannot save", expired_save);
        check!("a lease saves only its own record", other_records_lease);
        check!("renew extends the lease", renew_extends);
        check!("renew after a takeover is refused", renew_after_takeover);
        check!("release lets another take at once", release);
        check!("records round-trip", round_trip);
        if let Some(corrupt) = self.corrupt.take() {
            total += 1;
            let journal = Arc::new((self.factory)().await);
            if let Err(why) = unreadable(journal, corrupt).await {
                failed.push(format!("an unreadable record is an error: {why}"));
            }
        }
        assert!(
            failed.is_empty(),
            "{} of {total} journal contract checks failed:\n- {}",
            failed.len(),
            failed.join("\n- ")
        );
    }
}

type Outcome = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

/// `result`'s value, or why the step failed.
fn step<T>(what: &str, result: Result<T, JournalError>) -> Result<T, String> {
    result.map_err(|e| format!("{what} failed: {e} ({:?})", e.kind()))
}

/// Whether `result` is the error `kind`.
fn refused<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, JournalError>,
    kind: JournalErrorKind,
) -> Result<JournalError, String> {
    match result {
        Err(e) if e.kind() == kind => Ok(e),
        Err(e) => Err(format!(
            "{what}: expected {kind:?}, got {:?}: {e}",
            e.kind()
        )),
        Ok(v) => Err(format!("{what}: expected {kind:?}, got Ok({v:?})")),
    }
}

/// A record for `key` with a few fields set, `mark` telling versions apart.
fn record(key: &str, mark: u32) -> WorkflowRecord {
    let group = "32b6e34b3d91647abb20e7b8".parse().expect("a valid id");
    let mut record = WorkflowRecord::new(key, &group, None);
    let at = Utc
        .timestamp_opt(1_767_225_600 + i64::from(mark), 123_456_789)
        .single()
        .expect("a valid time");
    record.create_intent_at = Some(at);
    record.first_ready_at = Some(at);
    record.updated_at = at;
    record
}

fn json(record: &WorkflowRecord) -> serde_json::Value {
    serde_json::to_value(record).expect("a record serializes")
}

/// Whether `key` loads as `expected` (`None`: no record).
async fn loads_as<J: Journal>(
    journal: &J,
    key: &str,
    expected: Option<&WorkflowRecord>,
) -> Outcome {
    let loaded = step("load", journal.load(key).await)?;
    let (loaded, expected) = (loaded.as_ref().map(json), expected.map(json));
    ensure!(
        loaded == expected,
        "record {key} loads as {loaded:?}, expected {expected:?}"
    );
    Ok(())
}

async fn after(lease: Duration, extra: Duration) {
    tokio::time::sleep(lease + extra).await;
}

async fn empty_store<J: Journal>(journal: Arc<J>, _: Duration) -> Outcome {
    let keys = step("keys", journal.keys().await)?;
    ensure!(keys.is_empty(), "a new store lists keys {keys:?}");
    loads_as(&*journal, "kit-missing", None).await
}

async fn exclusive<J: Journal>(journal: Arc<J>, _: Duration) -> Outcome {
    let held = step(
        "acquire",
        journal.acquire("kit-x", "owner-alpha", LONG).await,
    )?;
    ensure!(
        held.key == "kit-x" && held.owner == "owner-alpha",
        "the lease names key {:?} and owner {:?}",
        held.key,
        held.owner
    );
    let now = Utc::now();
    ensure!(
        held.expires_at > now - chrono::Duration::seconds(5)
            && held.expires_at < now + chrono::Duration::seconds(125),
        "a {LONG:?} lease taken at {now} expires at {}",
        held.expires_at
    );
    let e = refused(
        "another owner's acquire of a held record",
        journal.acquire("kit-x", "owner-beta", LONG).await,
        JournalErrorKind::Locked,
    )?;
    ensure!(
        e.to_string().contains("owner-alpha"),
        "the refusal does not name the holder: {e}"
    );
    refused(
        "the same owner's second acquire (another workflow of one process)",
        journal.acquire("kit-x", "owner-alpha", LONG).await,
        JournalErrorKind::Locked,
    )?;
    step(
        "acquire of another key",
        journal.acquire("kit-y", "owner-beta", LONG).await,
    )?;
    Ok(())
}

async fn concurrent_takers<J: Journal>(journal: Arc<J>, _: Duration) -> Outcome {
    let owners: Vec<String> = (0..8).map(|i| format!("owner-{i}")).collect();
    let results = futures_util::future::join_all(
        owners
            .iter()
            .map(|owner| journal.acquire("kit-race", owner, LONG)),
    )
    .await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    ensure!(won == 1, "{won} of 8 concurrent acquires succeeded");
    for r in results {
        if let Err(e) = r {
            ensure!(
                e.kind() == JournalErrorKind::Locked,
                "a losing acquire failed with {:?}: {e}",
                e.kind()
            );
        }
    }
    Ok(())
}

/// Takes `key` under a short lease, waits it out, and takes it over.
async fn taken_over<J: Journal>(
    journal: &J,
    key: &str,
    ttl: Duration,
) -> Result<(Lease, Lease), String> {
    let first = step("acquire", journal.acquire(key, "owner-alpha", ttl).await)?;
    after(ttl, Duration::from_millis(250)).await;
    let second = step(
        "acquire after the first lease ran out",
        journal.acquire(key, "owner-beta", LONG).await,
    )?;
    Ok((first, second))
}

async fn takeover_after_expiry<J: Journal>(journal: Arc<J>, ttl: Duration) -> Outcome {
    let (first, second) = taken_over(&*journal, "kit-expiry", ttl).await?;
    ensure!(
        second.generation > first.generation,
        "the takeover's generation {} is not above {}",
        second.generation,
        first.generation
    );
    ensure!(
        second.owner == "owner-beta",
        "the new lease names {:?}",
        second.owner
    );
    Ok(())
}

async fn stale_save<J: Journal>(journal: Arc<J>, ttl: Duration) -> Outcome {
    // Taken over before either saved: the stale save must not create the record.
    let (stale, _current) = taken_over(&*journal, "kit-stale-a", ttl).await?;
    refused(
        "a save under a lease taken over",
        journal.save(&stale, &record("kit-stale-a", 1)).await,
        JournalErrorKind::LeaseLost,
    )?;
    loads_as(&*journal, "kit-stale-a", None).await?;
    // Taken over after the first saved, and the successor saved: it must stay the successor's.
    let first = step(
        "acquire",
        journal.acquire("kit-stale-b", "owner-alpha", ttl).await,
    )?;
    step(
        "save",
        journal.save(&first, &record("kit-stale-b", 1)).await,
    )?;
    after(ttl, Duration::from_millis(250)).await;
    let second = step(
        "acquire after the first lease ran out",
        journal.acquire("kit-stale-b", "owner-beta", LONG).await,
    )?;
    let successors = record("kit-stale-b", 2);
    step(
        "the successor's save",
        journal.save(&second, &successors).await,
    )?;
    refused(
        "a save under a lease taken over",
        journal.save(&first, &record("kit-stale-b", 3)).await,
        JournalErrorKind::LeaseLost,
    )?;
    loads_as(&*journal, "kit-stale-b", Some(&successors)).await
}

async fn expired_save<J: Journal>(journal: Arc<J>, ttl: Duration) -> Outcome {
    let lease = step(
        "acquire",
        journal.acquire("kit-expired", "owner-alpha", ttl).await,
    )?;
    after(ttl, Duration::from_millis(250)).await;
    refused(
        "a save under a lease that ran out",
        journal.save(&lease, &record("kit-expired", 1)).await,
        JournalErrorKind::LeaseLost,
    )?;
    loads_as(&*journal, "kit-expired", None).await
}

async fn other_records_lease<J: Journal>(journal: Arc<J>, _: Duration) -> Outcome {
    let lease = step(
        "acquire",
        journal.acquire("kit-mine", "owner-alpha", LONG).await,
    )?;
    refused(
        "a save of another record under this lease",
        journal.save(&lease, &record("kit-theirs", 1)).await,
        JournalErrorKind::LeaseLost,
    )?;
    loads_as(&*journal, "kit-theirs", None).await
}

async fn renew_extends<J: Journal>(journal: Arc<J>, ttl: Duration) -> Outcome {
    let lease = step(
        "acquire",
        journal.acquire("kit-renew", "owner-alpha", ttl).await,
    )?;
    // On this process's clock, not the journal's (a database's may differ): the first
    // lease ends by `acquired + ttl`, the renewed one no sooner than a ttl after the renew
    // is sent, two thirds of a ttl later.
    let acquired = tokio::time::Instant::now();
    tokio::time::sleep(ttl * 2 / 3).await;
    let renewed = step("renew", journal.renew(&lease, ttl).await)?;
    ensure!(
        renewed.generation == lease.generation,
        "renewal changed the generation from {} to {}",
        lease.generation,
        renewed.generation
    );
    ensure!(
        renewed.expires_at > lease.expires_at,
        "renewal did not move the expiry ({} then {})",
        lease.expires_at,
        renewed.expires_at
    );
    // Just past the first expiry, as far from the renewed one as can be (at least two
    // thirds of a ttl less a little), however long the renew took.
    let past_first = acquired + ttl + Duration::from_millis(50).min(ttl / 8);
    tokio::time::sleep_until(past_first).await;
    refused(
        "an acquire after the first expiry of a renewed lease",
        journal.acquire("kit-renew", "owner-beta", LONG).await,
        JournalErrorKind::Locked,
    )?;
    step(
        "a save under the renewed lease",
        journal.save(&renewed, &record("kit-renew", 1)).await,
    )?;
    Ok(())
}

async fn renew_after_takeover<J: Journal>(journal: Arc<J>, ttl: Duration) -> Outcome {
    let (stale, current) = taken_over(&*journal, "kit-renew-late", ttl).await?;
    refused(
        "a renewal of a lease taken over",
        journal.renew(&stale, LONG).await,
        JournalErrorKind::LeaseLost,
    )?;
    step(
        "the successor's save after the stale renewal",
        journal.save(&current, &record("kit-renew-late", 1)).await,
    )?;
    Ok(())
}

async fn release<J: Journal>(journal: Arc<J>, _: Duration) -> Outcome {
    let first = step(
        "acquire",
        journal.acquire("kit-release", "owner-alpha", LONG).await,
    )?;
    step("release", journal.release(&first).await)?;
    let second = step(
        "acquire right after a release",
        journal.acquire("kit-release", "owner-beta", LONG).await,
    )?;
    ensure!(
        second.generation > first.generation,
        "the generation after a release is {}, not above {}",
        second.generation,
        first.generation
    );
    refused(
        "a save under a released lease",
        journal.save(&first, &record("kit-release", 1)).await,
        JournalErrorKind::LeaseLost,
    )?;
    step(
        "a second release of a lease no longer current",
        journal.release(&first).await,
    )?;
    refused(
        "an acquire after a stale release",
        journal.acquire("kit-release", "owner-gamma", LONG).await,
        JournalErrorKind::Locked,
    )?;
    step(
        "a save under the current lease after a stale release",
        journal.save(&second, &record("kit-release", 2)).await,
    )?;
    Ok(())
}

async fn round_trip<J: Journal>(journal: Arc<J>, _: Duration) -> Outcome {
    let mut saved = Vec::new();
    for (i, key) in ["kit-b", "kit-a", "kit-c.2026_v-1"].into_iter().enumerate() {
        let lease = step("acquire", journal.acquire(key, "owner-alpha", LONG).await)?;
        let first = record(key, 10);
        step("save", journal.save(&lease, &first).await)?;
        let mut second = record(key, 20 + i as u32);
        second.migration_id = Some("6296fb4c7c7aa997cf94e9a8".parse().expect("a valid id"));
        second.outcome = Some(super::RecordedOutcome::Failed {
            step: "create".to_owned(),
            message: "quotes \" and ünïcödé".to_owned(),
        });
        step("a second save", journal.save(&lease, &second).await)?;
        loads_as(&*journal, key, Some(&second)).await?;
        saved.push(key.to_owned());
    }
    step(
        "acquire of a record never saved",
        journal.acquire("kit-only-taken", "owner-alpha", LONG).await,
    )?;
    let mut keys = step("keys", journal.keys().await)?;
    keys.sort();
    saved.sort();
    ensure!(keys == saved, "keys lists {keys:?}, expected {saved:?}");
    Ok(())
}

async fn unreadable<J: Journal>(journal: Arc<J>, corrupt: Corrupter<J>) -> Outcome {
    let lease = step(
        "acquire",
        journal.acquire("kit-bad", "owner-alpha", LONG).await,
    )?;
    step("save", journal.save(&lease, &record("kit-bad", 1)).await)?;
    corrupt(journal.clone(), "kit-bad".to_owned()).await;
    match journal.load("kit-bad").await {
        Err(e)
            if matches!(
                e.kind(),
                JournalErrorKind::Corrupt | JournalErrorKind::Foreign
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(format!(
            "expected Corrupt or Foreign, got {:?}: {e}",
            e.kind()
        )),
        Ok(None) => Err("an unreadable record loads as None".to_owned()),
        Ok(Some(_)) => Err("the corrupted record still loads".to_owned()),
    }
}
