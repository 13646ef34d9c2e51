//! [`Simulator`]: the running server's handle, for inspection and control.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::Credentials;
use crate::builder::SimulatorBuilder;
use crate::config::SourceProject;
use crate::faults::{Fault, FaultPlan};
use crate::log::{OAUTH_TOKEN, RequestRecord};
use crate::shared::Shared;
use crate::state::{MigrationRecord, MigrationView};
use crate::token_reply::TokenReply;

/// Stops the server when the last handle clone goes away.
#[derive(Debug)]
pub(crate) struct ServerGuard {
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    task: JoinHandle<()>,
}

impl ServerGuard {
    pub(crate) fn new(shutdown: oneshot::Sender<()>, task: JoinHandle<()>) -> Self {
        Self {
            shutdown: Mutex::new(Some(shutdown)),
            task,
        }
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.lock().take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}

/// A running simulator. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Simulator {
    shared: Arc<Shared>,
    _server: Arc<ServerGuard>,
    addr: SocketAddr,
    credentials: Credentials,
    org_id: String,
    group_id: String,
}

impl Simulator {
    /// A builder with all defaults.
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    pub(crate) fn new(
        shared: Arc<Shared>,
        server: ServerGuard,
        addr: SocketAddr,
        credentials: Credentials,
        org_id: String,
        group_id: String,
    ) -> Self {
        Self {
            shared,
            _server: Arc::new(server),
            addr,
            credentials,
            org_id,
            group_id,
        }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash; API paths start with
    /// `/api/atlas/v2`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The credentials accepted.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Digest username.
    pub fn public_key(&self) -> &str {
        &self.credentials.public_key
    }

    /// Digest password.
    pub fn private_key(&self) -> &str {
        &self.credentials.private_key
    }

    /// Service account client id.
    pub fn client_id(&self) -> &str {
        &self.credentials.client_id
    }

    /// Service account client secret.
    pub fn client_secret(&self) -> &str {
        &self.credentials.client_secret
    }

    /// A convenience organization id (any 24-hex id is accepted).
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// A convenience project id (any 24-hex id is accepted).
    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// The configured source projects.
    pub fn source_projects(&self) -> &[SourceProject] {
        &self.shared.source_projects
    }

    // --- clock ---

    /// Current simulated time since start.
    pub fn now(&self) -> Duration {
        self.shared.inner.lock().clock.now()
    }

    /// Moves simulated time forward (with a real clock, on top of real time).
    pub fn advance(&self, by: Duration) {
        self.shared.inner.lock().clock.advance(by);
    }

    /// Whether time moves only through [`Simulator::advance`].
    pub fn is_manual_clock(&self) -> bool {
        self.shared.inner.lock().clock.is_manual()
    }

    // --- request log ---

    /// Every request seen, in arrival order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.inner.lock().log.all()
    }

    /// Forgets the request log (migrations and tokens are kept).
    pub fn clear_requests(&self) {
        self.shared.inner.lock().log.clear();
    }

    /// Requests for one endpoint, whatever their outcome (401s included).
    ///
    /// ```no_run
    /// # async fn demo(sim: atlas_migration_sim::Simulator) {
    /// use atlas_migration_sim::operations::CREATE_MIGRATION;
    /// assert!(sim.count(CREATE_MIGRATION) <= 1, "a migration was created twice");
    /// # }
    /// ```
    pub fn count(&self, endpoint: impl Into<crate::Endpoint>) -> usize {
        self.shared.inner.lock().log.count(endpoint.into())
    }

    /// Requests per operation name (`unknown` for paths outside the table).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.shared.inner.lock().log.counts()
    }

    /// TCP connections the server has accepted, e.g. to check that a client reuses the
    /// connection that carried a challenge instead of opening another one.
    ///
    /// ```no_run
    /// # async fn demo(sim: atlas_migration_sim::Simulator) {
    /// assert!(sim.connections_accepted() <= sim.requests().len());
    /// # }
    /// ```
    pub fn connections_accepted(&self) -> usize {
        self.shared
            .connections_accepted
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Requests refused with 429 by the simulator's rate limits (not by injected faults).
    pub fn rate_limited(&self) -> usize {
        self.shared.inner.lock().meter.refused()
    }

    /// Requests of [background consumers](crate::BackgroundConsumer) that found a token,
    /// up to now. Never in the request log.
    ///
    /// ```no_run
    /// # async fn demo(sim: atlas_migration_sim::Simulator) {
    /// let spent = sim.background_served() + sim.background_refused();
    /// # let _ = spent;
    /// # }
    /// ```
    pub fn background_served(&self) -> u64 {
        self.background().served
    }

    /// Requests of [background consumers](crate::BackgroundConsumer) refused because the
    /// bucket was empty, up to now. Not counted by [`Simulator::rate_limited`].
    ///
    /// ```no_run
    /// # async fn demo(sim: atlas_migration_sim::Simulator) {
    /// assert_eq!(sim.background_refused(), 0, "the client left the neighbour nothing");
    /// # }
    /// ```
    pub fn background_refused(&self) -> u64 {
        self.background().refused
    }

    fn background(&self) -> crate::metering::Tally {
        let mut inner = self.shared.inner.lock();
        let now = inner.clock.now();
        inner.meter.background(now)
    }

    /// Requests answered 401.
    pub fn unauthorized_count(&self) -> usize {
        self.shared.inner.lock().log.with_status(401)
    }

    /// Requests to `POST /api/oauth/token`, successful or not.
    pub fn token_requests(&self) -> usize {
        self.count(OAUTH_TOKEN)
    }

    /// Access tokens issued.
    pub fn tokens_issued(&self) -> usize {
        self.shared.inner.lock().auth.tokens.issued()
    }

    /// Every access token issued so far, revoked and expired ones included, e.g. to check
    /// that none of them shows up in a client's logs or errors.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.inner.lock().auth.tokens.all()
    }

    /// Changes what the token endpoint answers to valid client credentials from now on.
    ///
    /// ```no_run
    /// # async fn demo(sim: atlas_migration_sim::Simulator) {
    /// use atlas_migration_sim::TokenReply;
    /// sim.set_token_reply(TokenReply::AccessToken("line\nbreak".into()));
    /// # }
    /// ```
    pub fn set_token_reply(&self, reply: TokenReply) {
        self.shared.inner.lock().auth.tokens.reply = reply;
    }

    /// Requests that carried a body but no `Authorization` header at all.
    pub fn bodies_sent_without_credentials(&self) -> usize {
        self.shared.inner.lock().log.bodies_without_authorization()
    }

    /// Requests that carried a body but were not authenticated (no, wrong or stale
    /// credentials).
    pub fn bodies_sent_unauthenticated(&self) -> usize {
        self.shared.inner.lock().log.bodies_unauthenticated()
    }

    // --- lifecycle inspection ---

    /// Migrations created so far (successful `create_migration` calls).
    pub fn migrations_created(&self) -> usize {
        self.shared.inner.lock().lifecycle.records().len()
    }

    /// Which request created which migration, in creation order.
    pub fn migrations(&self) -> Vec<MigrationRecord> {
        self.shared.inner.lock().lifecycle.records()
    }

    /// Migrations whose source and destination equal those of an earlier one: duplicates
    /// a client created, e.g. by retrying a create whose answer it lost.
    pub fn duplicate_creates(&self) -> usize {
        let records = self.migrations();
        records
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                records[..*i]
                    .iter()
                    .any(|e| e.source == r.source && e.destination == r.destination)
            })
            .count()
    }

    /// The migration as `get_migration` would show it now.
    pub fn migration(&self, id: &str) -> Option<MigrationView> {
        let inner = self.shared.inner.lock();
        let now = inner.clock.now();
        inner.lifecycle.migration(id, now, &self.shared.timings)
    }

    /// Link tokens currently held by an organization.
    pub fn link_tokens(&self, org_id: &str) -> Vec<String> {
        self.shared.inner.lock().lifecycle.link_tokens(org_id)
    }

    // --- scripted outcomes ---

    /// The next validation created ends `FAILED` with this message.
    pub fn fail_next_validation(&self, message: impl Into<String>) {
        self.shared
            .inner
            .lock()
            .lifecycle
            .fail_next_validation(message.into());
    }

    /// The next migration created turns `FAILED` when it would have become ready.
    pub fn fail_next_migration(&self) {
        self.shared.inner.lock().lifecycle.fail_next_migration();
    }

    /// Makes a migration `FAILED` now; false if unknown or already terminal.
    pub fn fail_migration(&self, id: &str) -> bool {
        let mut inner = self.shared.inner.lock();
        let now = inner.clock.now();
        inner
            .lifecycle
            .fail_migration(id, now, &self.shared.timings)
    }

    /// Makes a migration `EXPIRED` now; false if unknown or already terminal.
    pub fn expire_migration(&self, id: &str) -> bool {
        let mut inner = self.shared.inner.lock();
        let now = inner.clock.now();
        inner
            .lifecycle
            .expire_migration(id, now, &self.shared.timings)
    }

    /// Adds `secs` to a migration's current lag; false if unknown.
    pub fn add_lag(&self, id: &str, secs: u64) -> bool {
        let mut inner = self.shared.inner.lock();
        let now = inner.clock.now();
        inner.lifecycle.add_lag(id, secs, now, &self.shared.timings)
    }

    // --- faults ---

    /// Installs a fault rule.
    pub fn inject(&self, fault: Fault) {
        self.shared.inner.lock().faults.add(fault);
    }

    /// Installs (or with `None` removes) the random fault plan.
    pub fn set_fault_plan(&self, plan: Option<FaultPlan>) {
        self.shared.inner.lock().faults.set_plan(plan);
    }

    /// Removes all fault rules and the plan.
    pub fn clear_faults(&self) {
        self.shared.inner.lock().faults.clear();
    }

    /// Faults injected so far.
    pub fn faults_injected(&self) -> usize {
        self.shared.inner.lock().faults.injected()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_is_send_sync_and_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Simulator>();
    }
}
