//! [`TokenLedger`]: the service account tokens requested from one directory's processes,
//! counted across them and across their restarts.
//!
//! A process holds one token per service account (`shared.rs`) and revokes it on an explicit
//! shutdown, but a process that crashes cannot revoke, and one that crash-loops requests a
//! token at every start. Atlas allows 100 live tokens per service account, each living an
//! hour, and refuses more with "Access Token limit reached" ("Service Account Access Token
//! Limits" in <https://www.mongodb.com/docs/mcp-server/remote-mcp/rate-limits/>;
//! <https://www.mongodb.com/docs/atlas/api/service-accounts-overview/>): one replica
//! restarting every half minute would lock every other user of the account out within the
//! hour. With a ledger, the processes that share its directory send at most `max_live`
//! token requests whose tokens may still live, and at most `per_minute` in any minute.
//!
//! The ledger keeps no secret: per service account (named by an MD5 of the token URL and
//! the client id), a text file of when requests were sent and until when the tokens they may
//! have produced live, rewritten whole under a lock file (`flock` on Unix, so a crash never
//! leaves it taken). A request whose outcome is unknown (no reply, a timeout, a process that
//! died) counts as a token for its whole documented hour; one the endpoint refused counts
//! for nothing; a revoked token stops counting.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::failure::TokenFailure;
use super::token::{DOCUMENTED_LIFETIME, Token};
use crate::error::{AuthCause, AuthError};
use crate::journal::lock::{FileLock, try_acquire};

/// The window of the per-minute cap, in milliseconds.
const WINDOW_MS: u64 = 60_000;
/// How long a token may live, in milliseconds.
const LIFETIME_MS: u64 = DOCUMENTED_LIFETIME.as_secs().saturating_mul(1000);
/// How long a process waits for another to finish with the ledger (each holds it for one
/// small read and write).
const LOCK_WAIT: Duration = Duration::from_secs(2);
/// The most of a ledger file read; a sound one is a few kilobytes at most.
const MAX_FILE: u64 = 256 * 1024;

/// Where the token requests of a directory's processes are counted.
#[derive(Debug, Clone)]
pub(crate) struct TokenLedger {
    dir: PathBuf,
    max_live: usize,
}

/// One service account's file in a ledger.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    data: PathBuf,
    lock: PathBuf,
}

/// A request written to the ledger before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry(u64);

/// Why a request may not be sent yet, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hold {
    /// `live` tokens may still live, the most allowed.
    Live { live: usize, until: SystemTime },
    /// `sent` requests went out in the last minute, the most allowed.
    Rate { sent: usize, until: SystemTime },
}

/// What became of a request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Settled {
    /// A token came, living until then.
    Issued(SystemTime),
    /// The endpoint answered without a token.
    Refused,
}

/// A ledger file, read leniently: a line that does not parse is dropped.
#[derive(Debug, Default, PartialEq, Eq)]
struct Book {
    /// When requests were sent (Unix milliseconds).
    sent: Vec<u64>,
    /// Requests whose tokens may live, and until when (Unix milliseconds).
    live: Vec<(u64, u64)>,
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn time_of(ms: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .unwrap_or(UNIX_EPOCH)
}

impl Book {
    fn parse(text: &str) -> Self {
        let mut book = Book::default();
        for line in text.lines() {
            let mut words = line.split_ascii_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some("sent"), Some(at), None) => {
                    if let Ok(at) = at.parse() {
                        book.sent.push(at);
                    }
                }
                (Some("live"), Some(id), Some(until)) => {
                    if let (Ok(id), Ok(until)) = (id.parse(), until.parse()) {
                        book.live.push((id, until));
                    }
                }
                _ => {}
            }
        }
        book
    }

    fn render(&self) -> String {
        let mut text =
            String::from("# atlas-migration token ledger: no secrets, times in Unix ms\n");
        for at in &self.sent {
            text.push_str(&format!("sent {at}\n"));
        }
        for (id, until) in &self.live {
            text.push_str(&format!("live {id} {until}\n"));
        }
        text
    }

    /// Drops what no longer counts at `now`; also what claims a time further ahead than
    /// anything this crate writes (a clock turned back, or a damaged file).
    fn prune(&mut self, now: u64) {
        self.sent.retain(|at| {
            now.saturating_sub(*at) < WINDOW_MS && *at <= now.saturating_add(WINDOW_MS)
        });
        self.live
            .retain(|(_, until)| *until > now && *until <= now.saturating_add(LIFETIME_MS));
    }

    /// Writes a request down, or says why it must wait.
    fn reserve(
        &mut self,
        now: u64,
        max_live: usize,
        per_minute: usize,
        id: u64,
    ) -> Result<(), Hold> {
        self.prune(now);
        if self.live.len() >= max_live {
            let until = self.live.iter().map(|(_, u)| *u).min().unwrap_or(now);
            return Err(Hold::Live {
                live: self.live.len(),
                until: time_of(until),
            });
        }
        if self.sent.len() >= per_minute {
            let oldest = self.sent.iter().copied().min().unwrap_or(now);
            return Err(Hold::Rate {
                sent: self.sent.len(),
                until: time_of(oldest.saturating_add(WINDOW_MS)),
            });
        }
        self.sent.push(now);
        self.live.push((id, now.saturating_add(LIFETIME_MS)));
        Ok(())
    }

    fn settle(&mut self, id: u64, settled: Settled) {
        match settled {
            Settled::Issued(until) => {
                let until = millis(until);
                for entry in self.live.iter_mut().filter(|(i, _)| *i == id) {
                    entry.1 = entry.1.min(until);
                }
            }
            Settled::Refused => self.retire(id),
        }
    }

    fn retire(&mut self, id: u64) {
        self.live.retain(|(i, _)| *i != id);
    }
}

impl TokenLedger {
    /// A ledger in `dir` (created if missing), allowing `max_live` tokens that may still
    /// live per service account.
    pub(crate) fn open(dir: &Path, max_live: u32) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            max_live: usize::try_from(max_live.max(1)).unwrap_or(usize::MAX),
        })
    }

    /// The directory, for messages.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of the service account `client_id` at `token_url`.
    pub(crate) fn account(&self, token_url: &str, client_id: &str) -> Account {
        let name = format!("{:x}", md5::compute(format!("{token_url}\n{client_id}")));
        Account {
            data: self.dir.join(format!("{name}.tokens")),
            lock: self.dir.join(format!("{name}.tokens.lock")),
        }
    }

    /// Writes down a request about to be sent, unless `max_live` tokens may still live or
    /// `per_minute` requests went out in the last minute.
    pub(crate) fn reserve(
        &self,
        account: &Account,
        per_minute: usize,
    ) -> std::io::Result<Result<Entry, Hold>> {
        let id = fastrand::u64(1..);
        let max_live = self.max_live;
        update(account, |book, now| {
            book.reserve(now, max_live, per_minute.max(1), id)
                .map(|()| Entry(id))
        })
    }

    /// Records what became of `entry`'s request.
    pub(crate) fn settle(
        &self,
        account: &Account,
        entry: Entry,
        settled: Settled,
    ) -> std::io::Result<()> {
        update(account, |book, _| book.settle(entry.0, settled))
    }

    /// `entry`'s token was revoked: it counts no more.
    pub(crate) fn retire(&self, account: &Account, entry: Entry) -> std::io::Result<()> {
        update(account, |book, _| book.retire(entry.0))
    }
}

/// A ledger and one service account's file in it, as a client uses them: off the runtime's
/// threads, with failures as token failures.
#[derive(Debug, Clone)]
pub(crate) struct AccountLedger {
    ledger: TokenLedger,
    account: Account,
    per_minute: usize,
}

impl AccountLedger {
    /// `account` of `ledger`, with at most `per_minute` requests a minute (at least 1, as
    /// [`TokenLedger::reserve`] counts it).
    pub(crate) fn new(ledger: TokenLedger, account: Account, per_minute: u32) -> Self {
        Self {
            ledger,
            account,
            per_minute: usize::try_from(per_minute).unwrap_or(usize::MAX),
        }
    }

    /// Writes down a request about to be sent; a failure says why it may not be, and until
    /// when. If the caller gives up meanwhile, the request counts as sent (for its hour).
    pub(crate) async fn reserve(&self) -> Result<Entry, TokenFailure> {
        let this = self.clone();
        let reserved = blocking(move || this.ledger.reserve(&this.account, this.per_minute)).await;
        let dir = self.ledger.dir().display();
        let (message, until) = match reserved.map_err(|e| self.unusable(&e))? {
            Ok(entry) => return Ok(entry),
            Err(Hold::Live { live, until }) => (
                format!(
                    "{live} service account tokens requested through the token ledger in {dir} \
                     may still be live, the most it allows (ClientBuilder::token_ledger)"
                ),
                until,
            ),
            Err(Hold::Rate { sent, until }) => (
                format!(
                    "{sent} service account token requests went out through the token ledger in \
                     {dir} in the last minute, the most allowed \
                     (ClientBuilder::max_token_requests_per_minute)"
                ),
                until,
            ),
        };
        let left = until
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .max(Duration::from_secs(1));
        tracing::warn!(
            wait_s = left.as_secs(),
            "token request held back by the token ledger"
        );
        Err(TokenFailure::Auth(AuthError::without_reply(
            format!("{message}; the next may go in {} s", left.as_secs()),
            AuthCause::HeldBack,
            Some(left),
        )))
    }

    /// Records what became of `entry`'s request: a token until its expiry; a refusal
    /// nothing; no answer (or one that could not be read) a token for its whole hour.
    pub(crate) async fn settle(&self, entry: Entry, outcome: &Result<Token, TokenFailure>) {
        let settled = match outcome {
            Ok(token) => Settled::Issued(SystemTime::from(token.expires_at)),
            Err(TokenFailure::Auth(e)) if e.refused_with_status() => Settled::Refused,
            Err(TokenFailure::Redirect(_)) => Settled::Refused,
            Err(_) => return,
        };
        let this = self.clone();
        if let Err(e) = blocking(move || this.ledger.settle(&this.account, entry, settled)).await {
            tracing::warn!(error = %e, "the token ledger could not record a token request's outcome");
        }
    }

    /// `entry`'s token was revoked.
    pub(crate) async fn retire(&self, entry: Entry) {
        let this = self.clone();
        if let Err(e) = blocking(move || this.ledger.retire(&this.account, entry)).await {
            tracing::warn!(error = %e, "the token ledger could not record a revoked token");
        }
    }

    fn unusable(&self, e: &std::io::Error) -> TokenFailure {
        TokenFailure::Auth(AuthError::without_reply(
            format!(
                "the token ledger in {} cannot be used: {e}",
                self.ledger.dir().display()
            ),
            AuthCause::Unreachable,
            None,
        ))
    }
}

/// Runs `work` off the runtime (file locks and writes would stall it).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    crate::tasks::blocking(work).await?
}

/// Reads `account`'s book, applies `change` and writes the book back, under its lock.
fn update<T>(account: &Account, change: impl FnOnce(&mut Book, u64) -> T) -> std::io::Result<T> {
    let _lock = lock(&account.lock)?;
    let mut text = String::new();
    match fs::File::open(&account.data) {
        Ok(file) => {
            // Not UTF-8: damaged, read as empty (its requests are forgotten, not trusted).
            let _ = file.take(MAX_FILE).read_to_string(&mut text);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut book = Book::parse(&text);
    let now = millis(SystemTime::now());
    let out = change(&mut book, now);
    book.prune(now);
    // Replaced whole, so that a crash mid-write leaves the old file, not half of one. Under
    // the lock no other write is under way: a temporary file there is a crashed one's.
    let fresh = account.data.with_extension("tokens.new");
    let _ = fs::remove_file(&fresh);
    crate::files::replace(&fresh, &account.data, book.render().as_bytes())?;
    Ok(out)
}

/// The ledger's lock, waited for up to [`LOCK_WAIT`].
fn lock(path: &Path) -> std::io::Result<FileLock> {
    let started = std::time::Instant::now();
    loop {
        if let Some(lock) = try_acquire(path)? {
            return Ok(lock);
        }
        if started.elapsed() >= LOCK_WAIT {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{} stayed locked for {LOCK_WAIT:?}", path.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;

    #[test]
    fn live_tokens_are_capped_until_the_oldest_expires() {
        let mut book = Book::default();
        for (i, now) in [1_000_000u64, 1_000_100, 1_000_200].into_iter().enumerate() {
            book.reserve(now, 3, 10, i as u64 + 1).unwrap();
        }
        let held = book.reserve(1_000_300, 3, 10, 9).unwrap_err();
        assert_eq!(
            held,
            Hold::Live {
                live: 3,
                until: time_of(1_000_000 + HOUR)
            }
        );
        // The first expires: room for one.
        book.reserve(1_000_000 + HOUR, 3, 10, 4).unwrap();
    }

    #[test]
    fn refused_and_revoked_requests_stop_counting_issued_ones_live_as_told() {
        let mut book = Book::default();
        book.reserve(0, 2, 10, 1).unwrap();
        book.reserve(0, 2, 10, 2).unwrap();
        book.settle(1, Settled::Refused);
        book.reserve(10, 2, 10, 3).unwrap();
        book.retire(2);
        book.settle(3, Settled::Issued(time_of(600_000)));
        assert_eq!(book.live, vec![(3, 600_000)]);
        // A lifetime longer than the reservation's is not believed.
        book.settle(3, Settled::Issued(time_of(10 * HOUR)));
        assert_eq!(book.live, vec![(3, 600_000)]);
    }

    #[test]
    fn requests_are_capped_per_minute_whatever_became_of_them() {
        let mut book = Book::default();
        for (id, now) in [(1, 5_000u64), (2, 6_000)] {
            book.reserve(now, 100, 2, id).unwrap();
            book.settle(id, Settled::Refused);
        }
        assert_eq!(
            book.reserve(7_000, 100, 2, 3).unwrap_err(),
            Hold::Rate {
                sent: 2,
                until: time_of(65_000)
            }
        );
        book.reserve(65_000, 100, 2, 3).unwrap();
    }

    #[test]
    fn a_damaged_file_is_read_for_what_parses_and_times_from_the_future_are_dropped() {
        let mut book = Book::parse(
            "# header\nsent 100\nsent x\nlive 1 200\nlive 2\nlive 3 99999999999999\n\u{0}junk\nsent 18446744073709551615\n",
        );
        assert_eq!(book.sent, vec![100, u64::MAX]);
        book.prune(150);
        assert_eq!(book.sent, vec![100]);
        assert_eq!(book.live, vec![(1, 200)]);
        assert_eq!(Book::parse(&book.render()), book);
    }

    #[test]
    fn processes_sharing_a_directory_share_the_count() {
        let dir = std::env::temp_dir().join(format!(
            "atlas-migration-ledger-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let (a, b) = (
            TokenLedger::open(&dir, 2).unwrap(),
            TokenLedger::open(&dir, 2).unwrap(),
        );
        let url = "https://cloud.example/api/oauth/token";
        let (mine, other) = (a.account(url, "mdb_sa_id_1"), a.account(url, "mdb_sa_id_2"));
        let first = a.reserve(&mine, 10).unwrap().unwrap();
        b.reserve(&b.account(url, "mdb_sa_id_1"), 10)
            .unwrap()
            .unwrap();
        assert!(matches!(
            a.reserve(&mine, 10).unwrap(),
            Err(Hold::Live { live: 2, .. })
        ));
        // Another service account has its own count.
        a.reserve(&other, 10).unwrap().unwrap();
        a.retire(&mine, first).unwrap();
        b.reserve(&b.account(url, "mdb_sa_id_1"), 10)
            .unwrap()
            .unwrap();
        let text = fs::read_to_string(&mine.data).unwrap();
        assert!(!text.contains("mdb_sa_id"), "{text}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
