//! Link tokens, validations and migrations, with their status derived lazily from the
//! simulated time.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::config::Timings;

/// Status of a push migration (`LiveMigrationResponse.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MigrationStatus {
    /// Created, not started.
    New,
    /// Syncing, or cutting over.
    Working,
    /// Failed.
    Failed,
    /// Cut over and done.
    Complete,
    /// The cutover window passed without a cutover.
    Expired,
}

impl MigrationStatus {
    /// The wire value, e.g. `WORKING`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Working => "WORKING",
            Self::Failed => "FAILED",
            Self::Complete => "COMPLETE",
            Self::Expired => "EXPIRED",
        }
    }

    /// `FAILED`, `COMPLETE` or `EXPIRED`.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Failed | Self::Complete | Self::Expired)
    }
}

/// A migration as `get_migration` would show it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationView {
    /// 24-hex id.
    pub id: String,
    /// Destination project id (from the path).
    pub group_id: String,
    /// Current status.
    pub status: MigrationStatus,
    /// `readyForCutover`.
    pub ready_for_cutover: bool,
    /// `lagTimeSeconds`; `None` before readiness.
    pub lag_time_seconds: Option<i64>,
    /// Migration hosts.
    pub migration_hosts: Vec<String>,
    /// Whether a cutover was accepted.
    pub cutover_requested: bool,
}

/// Status of a validation (`LiveImportValidation.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationStatus {
    /// Still running.
    Pending,
    /// Passed.
    Success,
    /// Failed; see the error message.
    Failed,
}

impl ValidationStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
        }
    }
}

/// Which request created a migration, for duplicate detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationRecord {
    /// Migration id.
    pub id: String,
    /// Destination project id from the path.
    pub group_id: String,
    /// Index in the request log of the request that created it.
    pub request_index: usize,
    /// `source.groupId` / `source.clusterName` of the request.
    pub source: (String, String),
    /// `destination.groupId` / `destination.clusterName` of the request.
    pub destination: (String, String),
}

#[derive(Debug)]
pub(crate) struct Validation {
    pub(crate) id: String,
    pub(crate) group_id: String,
    pub(crate) source_group_id: String,
    created_at: Duration,
    failure: Option<String>,
}

impl Validation {
    pub(crate) fn status(&self, now: Duration, t: &Timings) -> (ValidationStatus, Option<String>) {
        if now.saturating_sub(self.created_at) < t.validation {
            return (ValidationStatus::Pending, None);
        }
        match &self.failure {
            Some(msg) => (ValidationStatus::Failed, Some(msg.clone())),
            None => (ValidationStatus::Success, None),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Migration {
    record: MigrationRecord,
    hosts: Vec<String>,
    created_at: Duration,
    fail_at: Option<Duration>,
    expired_at: Option<Duration>,
    cutover_at: Option<Duration>,
    /// Lag value at `lag_base_at` (absolute sim time); falls linearly afterwards.
    lag_base: f64,
    lag_base_at: Duration,
}

impl Migration {
    fn ready_at(&self, t: &Timings) -> Duration {
        self.created_at + t.to_working + t.to_ready
    }

    fn lag(&self, now: Duration, t: &Timings) -> f64 {
        let from = self.lag_base_at.max(self.ready_at(t));
        let elapsed = now.saturating_sub(from).as_secs_f64();
        (self.lag_base - t.lag_drop_per_second * elapsed).max(0.0)
    }

    pub(crate) fn view(&self, now: Duration, t: &Timings) -> MigrationView {
        let (status, ready, lag) = self.phase(now, t);
        MigrationView {
            id: self.record.id.clone(),
            group_id: self.record.group_id.clone(),
            status,
            ready_for_cutover: ready,
            lag_time_seconds: lag,
            migration_hosts: self.hosts.clone(),
            cutover_requested: self.cutover_at.is_some(),
        }
    }

    fn phase(&self, now: Duration, t: &Timings) -> (MigrationStatus, bool, Option<i64>) {
        use MigrationStatus::*;
        // Terminal events, earliest first.
        let ready_at = self.ready_at(t);
        let complete_at = self.cutover_at.map(|c| c + t.cutover);
        let expire_at = match self.cutover_at {
            Some(_) => self.expired_at,
            None => Some(self.expired_at.map_or(ready_at + t.cutover_window, |e| {
                e.min(ready_at + t.cutover_window)
            })),
        };
        let mut terminal: Option<(Duration, MigrationStatus)> = None;
        for (at, status) in [
            (self.fail_at, Failed),
            (expire_at, Expired),
            (complete_at, Complete),
        ] {
            let Some(at) = at else { continue };
            if now >= at && terminal.is_none_or(|(t0, _)| at < t0) {
                terminal = Some((at, status));
            }
        }
        // The spec returns lagTimeSeconds "only during an active migration, before the
        // cutover phase".
        if let Some((_, status)) = terminal {
            return (status, false, None);
        }
        if now < self.created_at + t.to_working {
            return (New, false, None);
        }
        if now < ready_at {
            return (Working, false, None);
        }
        if self.cutover_at.is_some() {
            return (Working, false, None);
        }
        (Working, true, Some(self.lag(now, t).ceil() as i64))
    }
}

/// Why a cutover was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CutoverRefusal {
    NotFound,
    NotReady,
    AlreadyRequested,
    Terminal(MigrationStatus),
}

/// All lifecycle state.
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    link_tokens: BTreeMap<String, Vec<String>>,
    validations: BTreeMap<String, Validation>,
    migrations: BTreeMap<String, Migration>,
    creation_order: Vec<String>,
    next_validation_failures: VecDeque<String>,
    next_migration_failures: usize,
}

impl Lifecycle {
    pub(crate) fn add_link_token(&mut self, org_id: &str, token: String) {
        self.link_tokens
            .entry(org_id.to_string())
            .or_default()
            .push(token);
    }

    pub(crate) fn has_link_token(&self, org_id: &str) -> bool {
        self.link_tokens.get(org_id).is_some_and(|t| !t.is_empty())
    }

    pub(crate) fn link_tokens(&self, org_id: &str) -> Vec<String> {
        self.link_tokens.get(org_id).cloned().unwrap_or_default()
    }

    pub(crate) fn delete_link_tokens(&mut self, org_id: &str) {
        self.link_tokens.remove(org_id);
    }

    /// Ids of migrations that are not yet terminal.
    pub(crate) fn active_migrations(&self, now: Duration, t: &Timings) -> Vec<String> {
        self.migrations
            .values()
            .filter(|m| !m.view(now, t).status.is_terminal())
            .map(|m| m.record.id.clone())
            .collect()
    }

    pub(crate) fn fail_next_validation(&mut self, message: String) {
        self.next_validation_failures.push_back(message);
    }

    pub(crate) fn fail_next_migration(&mut self) {
        self.next_migration_failures += 1;
    }

    pub(crate) fn add_validation(
        &mut self,
        id: String,
        group_id: &str,
        source_group_id: &str,
        now: Duration,
    ) -> &Validation {
        let v = Validation {
            id: id.clone(),
            group_id: group_id.to_string(),
            source_group_id: source_group_id.to_string(),
            created_at: now,
            failure: self.next_validation_failures.pop_front(),
        };
        self.validations.entry(id).or_insert(v)
    }

    pub(crate) fn validation(&self, id: &str) -> Option<&Validation> {
        self.validations.get(id)
    }

    pub(crate) fn add_migration(
        &mut self,
        record: MigrationRecord,
        hosts: Vec<String>,
        now: Duration,
        t: &Timings,
    ) -> MigrationView {
        let id = record.id.clone();
        let scheduled_failure = if self.next_migration_failures > 0 {
            self.next_migration_failures -= 1;
            Some(now + t.to_working + t.to_ready)
        } else {
            None
        };
        let m = Migration {
            record,
            hosts,
            created_at: now,
            fail_at: scheduled_failure,
            expired_at: None,
            cutover_at: None,
            lag_base: t.lag_start_seconds as f64,
            lag_base_at: Duration::ZERO,
        };
        let view = m.view(now, t);
        self.creation_order.push(id.clone());
        self.migrations.insert(id, m);
        view
    }

    pub(crate) fn migration(&self, id: &str, now: Duration, t: &Timings) -> Option<MigrationView> {
        self.migrations.get(id).map(|m| m.view(now, t))
    }

    pub(crate) fn records(&self) -> Vec<MigrationRecord> {
        self.creation_order
            .iter()
            .filter_map(|id| self.migrations.get(id))
            .map(|m| m.record.clone())
            .collect()
    }

    pub(crate) fn cutover(
        &mut self,
        id: &str,
        now: Duration,
        t: &Timings,
    ) -> Result<(), CutoverRefusal> {
        let m = self
            .migrations
            .get_mut(id)
            .ok_or(CutoverRefusal::NotFound)?;
        let view = m.view(now, t);
        if view.status.is_terminal() {
            return Err(CutoverRefusal::Terminal(view.status));
        }
        if m.cutover_at.is_some() {
            return Err(CutoverRefusal::AlreadyRequested);
        }
        if !view.ready_for_cutover {
            return Err(CutoverRefusal::NotReady);
        }
        m.cutover_at = Some(now);
        Ok(())
    }

    /// Makes the migration `FAILED` from now on; false if unknown or already terminal.
    pub(crate) fn fail_migration(&mut self, id: &str, now: Duration, t: &Timings) -> bool {
        self.terminate(id, now, t, |m| m.fail_at = Some(now))
    }

    /// Makes the migration `EXPIRED` from now on; false if unknown or already terminal.
    pub(crate) fn expire_migration(&mut self, id: &str, now: Duration, t: &Timings) -> bool {
        self.terminate(id, now, t, |m| m.expired_at = Some(now))
    }

    fn terminate(
        &mut self,
        id: &str,
        now: Duration,
        t: &Timings,
        f: impl FnOnce(&mut Migration),
    ) -> bool {
        match self.migrations.get_mut(id) {
            Some(m) if !m.view(now, t).status.is_terminal() => {
                f(m);
                true
            }
            _ => false,
        }
    }

    /// Adds `secs` to the current lag; it keeps falling at the configured rate.
    pub(crate) fn add_lag(&mut self, id: &str, secs: u64, now: Duration, t: &Timings) -> bool {
        let Some(m) = self.migrations.get_mut(id) else {
            return false;
        };
        if now < m.ready_at(t) {
            m.lag_base += secs as f64;
        } else {
            m.lag_base = m.lag(now, t) + secs as f64;
            m.lag_base_at = now;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> MigrationRecord {
        MigrationRecord {
            id: id.to_string(),
            group_id: "g".into(),
            request_index: 0,
            source: ("s".into(), "c".into()),
            destination: ("d".into(), "c".into()),
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn migration_walks_new_working_ready_cutover_complete() {
        let t = Timings::manual();
        let mut l = Lifecycle::default();
        l.add_migration(record("m"), vec![], secs(0), &t);
        let at = |l: &Lifecycle, s| l.migration("m", secs(s), &t).unwrap();
        assert_eq!(at(&l, 0).status, MigrationStatus::New);
        assert_eq!(at(&l, 10).status, MigrationStatus::Working);
        assert!(!at(&l, 10).ready_for_cutover);
        assert_eq!(l.cutover("m", secs(15), &t), Err(CutoverRefusal::NotReady));
        let ready = at(&l, 20);
        assert!(ready.ready_for_cutover);
        assert_eq!(ready.lag_time_seconds, Some(60));
        assert_eq!(at(&l, 50).lag_time_seconds, Some(30));
        assert!(l.add_lag("m", 5, secs(50), &t));
        assert_eq!(at(&l, 50).lag_time_seconds, Some(35));
        assert_eq!(l.cutover("m", secs(50), &t), Ok(()));
        assert_eq!(
            l.cutover("m", secs(51), &t),
            Err(CutoverRefusal::AlreadyRequested)
        );
        assert_eq!(at(&l, 55).status, MigrationStatus::Working);
        assert_eq!(at(&l, 60).status, MigrationStatus::Complete);
        assert_eq!(
            l.cutover("m", secs(61), &t),
            Err(CutoverRefusal::Terminal(MigrationStatus::Complete))
        );
    }

    #[test]
    fn migration_expires_after_the_cutover_window() {
        let t = Timings::manual();
        let mut l = Lifecycle::default();
        l.add_migration(record("m"), vec![], secs(0), &t);
        assert_eq!(
            l.migration("m", secs(3619), &t).unwrap().status,
            MigrationStatus::Working
        );
        assert_eq!(
            l.migration("m", secs(3620), &t).unwrap().status,
            MigrationStatus::Expired
        );
    }

    #[test]
    fn scheduled_failure_hits_when_the_migration_would_become_ready() {
        let t = Timings::manual();
        let mut l = Lifecycle::default();
        l.fail_next_migration();
        l.add_migration(record("m"), vec![], secs(0), &t);
        assert_eq!(
            l.migration("m", secs(10), &t).unwrap().status,
            MigrationStatus::Working
        );
        assert_eq!(
            l.migration("m", secs(20), &t).unwrap().status,
            MigrationStatus::Failed
        );
    }
}
