//! [`CutoverPolicy`]: when an automatic cutover may happen, and what runs around it.
//!
//! Atlas's procedure for a push live migration has writes to the source stopped and
//! applications re-pointed around the cutover, and readiness starts a 120-hour timer after
//! which the migration is `EXPIRED` (spec, `LiveMigrationResponse.status`: "this
//! synchronization starts a timer of 120 hours … If the timer expires, MongoDB Atlas returns
//! this status").

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, Timelike, Utc};

/// What a hook returns when it fails: any error (`?` converts it).
pub(super) type HookError = Box<dyn StdError + Send + Sync>;

type Hook =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), HookError>> + Send>> + Send + Sync>;

/// A daily span of UTC time in which a cutover may start; it may wrap past midnight.
///
/// ```
/// use atlas_migration::chrono::NaiveTime;
/// use atlas_migration::workflow::CutoverWindow;
/// // 01:00 to 04:30 UTC every day.
/// let nightly = CutoverWindow::daily_utc(
///     NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
///     NaiveTime::from_hms_opt(4, 30, 0).unwrap(),
/// );
/// # let _ = nightly;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutoverWindow {
    start: NaiveTime,
    end: NaiveTime,
}

impl CutoverWindow {
    /// From `start` to `end` (UTC) every day; `end` before `start` wraps past midnight.
    pub fn daily_utc(start: NaiveTime, end: NaiveTime) -> Self {
        Self { start, end }
    }

    /// Whether `at` falls inside the window.
    ///
    /// ```
    /// # use atlas_migration::chrono::{NaiveTime, TimeZone, Utc};
    /// # use atlas_migration::workflow::CutoverWindow;
    /// let w = CutoverWindow::daily_utc(NaiveTime::from_hms_opt(22, 0, 0).unwrap(), NaiveTime::from_hms_opt(2, 0, 0).unwrap());
    /// assert!(w.contains(Utc.with_ymd_and_hms(2026, 1, 1, 23, 30, 0).unwrap()));
    /// assert!(!w.contains(Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()));
    /// ```
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let t = at.time().with_nanosecond(0).unwrap_or(at.time());
        if self.start <= self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

/// When the workflow cuts over on its own, and what runs around the cutover. Setting one with
/// [`PushMigration::cutover_policy`](crate::workflow::PushMigration::cutover_policy) turns on
/// the automatic cutover.
///
/// The cutover starts only when the migration is ready, its lag has stayed at or below
/// [`max_lag`](Self::max_lag) for [`stable_for`](Self::stable_for), the time is inside the
/// [`window`](Self::window) (if any), and the [`before_cutover`](Self::before_cutover) hook
/// succeeded (if it fails, nothing is cut over and the migration keeps syncing). After
/// completion the [`after_complete`](Self::after_complete) hook runs. While it waits the
/// workflow reports [`ProgressEvent::CutoverDeadline`](crate::workflow::ProgressEvent::CutoverDeadline)
/// at each warning point before Atlas's 120-hour window closes.
///
/// ```no_run
/// use std::time::Duration;
/// use atlas_migration::workflow::{CutoverPolicy, PushMigration};
///
/// # async fn f(flow: PushMigration) -> Result<(), Box<dyn std::error::Error>> {
/// let policy = CutoverPolicy::new()
///     .max_lag(Duration::from_secs(5))
///     .stable_for(Duration::from_secs(300))
///     .before_cutover(|| async { /* stop writes to the source */ Ok(()) })
///     .after_complete(|| async { /* re-point applications */ Ok(()) });
/// let outcome = flow.cutover_policy(policy).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CutoverPolicy {
    pub(super) max_lag: Option<Duration>,
    pub(super) stable_for: Duration,
    pub(super) window: Option<CutoverWindow>,
    pub(super) warn_before: Vec<Duration>,
    pub(super) before: Option<Hook>,
    pub(super) after: Option<Hook>,
}

impl fmt::Debug for CutoverPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CutoverPolicy")
            .field("max_lag", &self.max_lag)
            .field("stable_for", &self.stable_for)
            .field("window", &self.window)
            .field("warn_before", &self.warn_before)
            .field("before_cutover", &self.before.is_some())
            .field("after_complete", &self.after.is_some())
            .finish()
    }
}

impl Default for CutoverPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl CutoverPolicy {
    /// Cut over as soon as Atlas says ready; warnings 24 h, 6 h and 1 h before the window
    /// closes; no hooks.
    ///
    /// ```
    /// let policy = atlas_migration::workflow::CutoverPolicy::new();
    /// ```
    pub fn new() -> Self {
        Self {
            max_lag: None,
            stable_for: Duration::ZERO,
            window: None,
            warn_before: [24, 6, 1].map(|h| Duration::from_secs(h * 3600)).to_vec(),
            before: None,
            after: None,
        }
    }

    /// The most lag (`lagTimeSeconds`) the cutover tolerates; a ready migration that reports
    /// no lag does not qualify.
    ///
    /// ```
    /// let p = atlas_migration::workflow::CutoverPolicy::new().max_lag(std::time::Duration::from_secs(10));
    /// ```
    pub fn max_lag(mut self, lag: Duration) -> Self {
        self.max_lag = Some(lag);
        self
    }

    /// How long the lag must have stayed at or below [`max_lag`](Self::max_lag) (as seen by
    /// the polls) before the cutover.
    ///
    /// ```
    /// let p = atlas_migration::workflow::CutoverPolicy::new().stable_for(std::time::Duration::from_secs(600));
    /// ```
    pub fn stable_for(mut self, duration: Duration) -> Self {
        self.stable_for = duration;
        self
    }

    /// Cut over only inside this daily window.
    ///
    /// ```
    /// # use atlas_migration::chrono::NaiveTime;
    /// use atlas_migration::workflow::{CutoverPolicy, CutoverWindow};
    /// let p = CutoverPolicy::new().window(CutoverWindow::daily_utc(
    ///     NaiveTime::from_hms_opt(2, 0, 0).unwrap(),
    ///     NaiveTime::from_hms_opt(5, 0, 0).unwrap(),
    /// ));
    /// ```
    pub fn window(mut self, window: CutoverWindow) -> Self {
        self.window = Some(window);
        self
    }

    /// How long before the 120-hour window closes to warn (replacing the defaults).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = atlas_migration::workflow::CutoverPolicy::new()
    ///     .warn_before([Duration::from_secs(48 * 3600), Duration::from_secs(3600)]);
    /// ```
    pub fn warn_before(mut self, points: impl IntoIterator<Item = Duration>) -> Self {
        self.warn_before = points.into_iter().collect();
        self.warn_before.sort_by(|a, b| b.cmp(a));
        self
    }

    /// Runs `hook` right before the cutover (stop writes to the source); if it fails, nothing
    /// is cut over and the workflow ends with the hook's error while the migration keeps
    /// syncing.
    ///
    /// ```
    /// let p = atlas_migration::workflow::CutoverPolicy::new().before_cutover(|| async { Ok(()) });
    /// ```
    pub fn before_cutover<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Box<dyn StdError + Send + Sync>>> + Send + 'static,
    {
        self.before = Some(Arc::new(move || Box::pin(hook())));
        self
    }

    /// Runs `hook` once the migration is complete (re-point applications to Atlas); its
    /// failure is reported as the workflow's error, the migration being complete.
    ///
    /// ```
    /// let p = atlas_migration::workflow::CutoverPolicy::new().after_complete(|| async { Ok(()) });
    /// ```
    pub fn after_complete<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Box<dyn StdError + Send + Sync>>> + Send + 'static,
    {
        self.after = Some(Arc::new(move || Box::pin(hook())));
        self
    }

    /// Whether a migration whose lag has been within bounds since `lag_ok_since` (if it is)
    /// may be cut over at `now`.
    pub(super) fn allows(
        &self,
        lag_ok_since: Option<tokio::time::Instant>,
        now: tokio::time::Instant,
        wall: DateTime<Utc>,
    ) -> bool {
        let lag_ok = match self.max_lag {
            None => true,
            Some(_) => {
                lag_ok_since.is_some_and(|since| now.duration_since(since) >= self.stable_for)
            }
        };
        lag_ok && self.window.is_none_or(|w| w.contains(wall))
    }

    pub(super) fn lag_within(&self, lag: Option<Duration>) -> bool {
        match self.max_lag {
            None => true,
            Some(max) => lag.is_some_and(|l| l <= max),
        }
    }

    pub(super) async fn run_before(&self) -> Result<(), HookError> {
        match &self.before {
            Some(hook) => hook().await,
            None => Ok(()),
        }
    }

    pub(super) async fn run_after(&self) -> Result<(), HookError> {
        match &self.after {
            Some(hook) => hook().await,
            None => Ok(()),
        }
    }
}
