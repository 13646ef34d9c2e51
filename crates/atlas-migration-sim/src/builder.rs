//! [`SimulatorBuilder`]: configuration and start-up.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::auth::digest::{ChallengeStyle, DigestAlgorithm, NoncePolicy};
use crate::auth::{Authenticator, Credentials};
use crate::clock::Clock;
use crate::config::{Deployment, SourceProject, Timings};
use crate::faults::{Fault, FaultPlan, Faults};
use crate::handle::{ServerGuard, Simulator};
use crate::log::RequestLog;
use crate::metering::{
    BackgroundConsumer, Meter, RateLimit, RateLimitBody, RateLimitHeaders, Replies,
};
use crate::rng::Rng;
use crate::server;
use crate::shared::{Inner, Shared, UnauthorizedPacing};
use crate::state::Lifecycle;
use crate::token_reply::TokenReply;

/// Configures and starts a [`Simulator`]. Every setting has a default.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct SimulatorBuilder {
    public_key: Option<String>,
    private_key: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    algorithm: DigestAlgorithm,
    nonce_lifetime: Option<Duration>,
    nonce_policy: NoncePolicy,
    lowercase_algorithm: bool,
    pacing: UnauthorizedPacing,
    token_lifetime: Option<Duration>,
    max_live_tokens: Option<usize>,
    token_reply: TokenReply,
    timings: Timings,
    manual_clock: bool,
    source_projects: Option<Vec<SourceProject>>,
    seed: Option<u64>,
    org_id: Option<String>,
    group_id: Option<String>,
    faults: Vec<Fault>,
    plan: Option<FaultPlan>,
    /// `None`: Atlas's documented sets.
    rate_limits: Option<Vec<RateLimit>>,
    background: Vec<BackgroundConsumer>,
    replies: Replies,
    port: u16,
}

impl SimulatorBuilder {
    /// Digest username accepted (default: 8 random lowercase letters).
    pub fn public_key(mut self, key: impl Into<String>) -> Self {
        self.public_key = Some(key.into());
        self
    }

    /// Digest password accepted (default: a random UUID-like string).
    pub fn private_key(mut self, key: impl Into<String>) -> Self {
        self.private_key = Some(key.into());
        self
    }

    /// Service account client id accepted (default: `mdb_sa_id_<24 hex>`).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// Service account client secret accepted (default: `mdb_sa_sk_<random>`).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Sets all four credentials at once.
    pub fn credentials(self, c: Credentials) -> Self {
        self.public_key(c.public_key)
            .private_key(c.private_key)
            .client_id(c.client_id)
            .client_secret(c.client_secret)
    }

    /// Digest algorithm announced and verified (default MD5, like Atlas).
    pub fn digest_algorithm(mut self, algorithm: DigestAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Simulated time after which a nonce is stale (default 300 s).
    pub fn nonce_lifetime(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = Some(lifetime);
        self
    }

    /// How the uses of a digest nonce are counted (default [`NoncePolicy::Lenient`]). With
    /// [`NoncePolicy::StrictCounts`] a nonce count that arrives out of order is answered 401
    /// with a fresh nonce and no `stale=true`, as Apache httpd does with
    /// `AuthDigestNcCheck On`; with [`NoncePolicy::OneTime`] every nonce is accepted once and
    /// the next use is answered the same way.
    ///
    /// ```
    /// use atlas_migration_sim::{NoncePolicy, Simulator};
    ///
    /// let one_time = Simulator::builder().nonce_policy(NoncePolicy::OneTime);
    /// ```
    pub fn nonce_policy(mut self, policy: NoncePolicy) -> Self {
        self.nonce_policy = policy;
        self
    }

    /// Writes the digest challenge's algorithm token in lower case (`algorithm=md5`), as
    /// Twisted's digest support does. RFC 7616 tokens are case-insensitive; Atlas sends
    /// `MD5` (default: off).
    ///
    /// ```
    /// let twisted_like = atlas_migration_sim::Simulator::builder().lowercase_algorithm_token();
    /// ```
    pub fn lowercase_algorithm_token(mut self) -> Self {
        self.lowercase_algorithm = true;
        self
    }

    /// Answers refused digest credentials (a 401 without `stale=true`) only after `delay`, as
    /// servers that slow down password guessing do (default: at once). Missing credentials
    /// and stale nonces are answered at once.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let slow = atlas_migration_sim::Simulator::builder().refusal_delay(Duration::from_secs(2));
    /// ```
    pub fn refusal_delay(mut self, delay: Duration) -> Self {
        self.pacing.refusal_delay = Some(delay);
        self
    }

    /// Sends the body of every 401 chunked in two parts, the rest `pause` after the first
    /// byte, as a server that flushes a reply's headers before its body does (a proxy in
    /// between may split a reply so too). A client that drops such a body unread loses the
    /// connection; count them with [`Simulator::connections_accepted`] (default: each 401
    /// is sent whole, at once).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let split = atlas_migration_sim::Simulator::builder()
    ///     .split_unauthorized_bodies(Duration::from_millis(20));
    /// ```
    pub fn split_unauthorized_bodies(mut self, pause: Duration) -> Self {
        self.pacing.body_pause = Some(pause);
        self
    }

    /// Lifetime of issued access tokens, also reported as `expires_in` (default 3600 s).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = Some(lifetime);
        self
    }

    /// The most access tokens that may live at once (default 100, as Atlas allows a
    /// service account); beyond, the token endpoint answers 403 `access_denied`, "Access
    /// Token limit reached", until one expires or is revoked.
    ///
    /// ```
    /// let sim = atlas_migration_sim::Simulator::builder().max_live_tokens(5);
    /// ```
    pub fn max_live_tokens(mut self, tokens: usize) -> Self {
        self.max_live_tokens = Some(tokens);
        self
    }

    /// What the token endpoint answers to valid client credentials (default
    /// [`TokenReply::Atlas`]); the other modes model hostile or broken token servers.
    ///
    /// ```
    /// use atlas_migration_sim::{Simulator, TokenReply};
    /// let builder = Simulator::builder().token_reply(TokenReply::Garbage("<html>".into()));
    /// # let _ = builder;
    /// ```
    pub fn token_reply(mut self, reply: TokenReply) -> Self {
        self.token_reply = reply;
        self
    }

    /// Lifecycle timings (default [`Timings::fast`]).
    pub fn timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    /// Simulated time moves only through [`Simulator::advance`], making lifecycle, nonce
    /// and token expiry deterministic. Pair with [`Timings::manual`] for round numbers.
    pub fn manual_clock(mut self) -> Self {
        self.manual_clock = true;
        self
    }

    /// Projects returned by `list_source_projects` (default: one project with one
    /// replica-set deployment and one migration host).
    pub fn source_projects(mut self, projects: Vec<SourceProject>) -> Self {
        self.source_projects = Some(projects);
        self
    }

    /// Seed for ids, nonces, tokens and default credentials (default: random).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Meters requests with this bucket (repeat for several endpoint sets), instead of the
    /// defaults. Without any, the simulator meters with Atlas's documented sets for this
    /// API, [`RateLimit::documented_project`] and [`RateLimit::documented_organization`];
    /// the first `rate_limit` replaces both. See [`RateLimit`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use atlas_migration_sim::{RateLimit, RateScope, Simulator};
    /// let builder = Simulator::builder()
    ///     .rate_limit(RateLimit::new("project", RateScope::Project).capacity(20).refill(10, Duration::from_secs(1)));
    /// ```
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limits.get_or_insert_with(Vec::new).push(limit);
        self
    }

    /// Meters nothing: no 429 from the simulator's rate limits, no `RateLimit-*` headers.
    /// Drops the defaults and every [`rate_limit`](Self::rate_limit) given so far (a later
    /// one meters again, alone).
    ///
    /// ```
    /// let free = atlas_migration_sim::Simulator::builder().unmetered();
    /// # let _ = free;
    /// ```
    pub fn unmetered(mut self) -> Self {
        self.rate_limits = Some(Vec::new());
        self
    }

    /// Another client spends the same buckets at a steady rate (repeat for several); its
    /// requests are not logged and not counted by [`Simulator::rate_limited`], but by
    /// [`Simulator::background_served`] and [`Simulator::background_refused`]. See
    /// [`BackgroundConsumer`].
    ///
    /// ```
    /// use atlas_migration_sim::{BackgroundConsumer, Simulator};
    ///
    /// let shared = Simulator::builder().background_consumer(BackgroundConsumer::per_second(4));
    /// # let _ = shared;
    /// ```
    pub fn background_consumer(mut self, consumer: BackgroundConsumer) -> Self {
        self.background.push(consumer);
        self
    }

    /// The body of a 429 from the rate limits (default [`RateLimitBody::TokenBucket`], the
    /// shape on Atlas's rate-limit page).
    ///
    /// ```
    /// use atlas_migration_sim::{RateLimitBody, Simulator};
    ///
    /// let terse = Simulator::builder().rate_limit_body(RateLimitBody::SpecExample);
    /// # let _ = terse;
    /// ```
    pub fn rate_limit_body(mut self, body: RateLimitBody) -> Self {
        self.replies.body = body;
        self
    }

    /// Which replies carry `RateLimit-Limit` / `RateLimit-Remaining` (default
    /// [`RateLimitHeaders::Always`]); `Retry-After` on a 429 stays in every mode.
    ///
    /// ```
    /// use atlas_migration_sim::{RateLimitHeaders, Simulator};
    ///
    /// let only_on_429 = Simulator::builder().rate_limit_headers(RateLimitHeaders::OnRefusals);
    /// # let _ = only_on_429;
    /// ```
    pub fn rate_limit_headers(mut self, headers: RateLimitHeaders) -> Self {
        self.replies.headers = headers;
        self
    }

    /// Leaves `RateLimit-Limit` / `RateLimit-Remaining` off every reply (Atlas "may not
    /// always return" them); `Retry-After` on a 429 stays. The same as
    /// [`rate_limit_headers`](Self::rate_limit_headers)`(`[`RateLimitHeaders::Never`]`)`.
    ///
    /// ```
    /// let bare = atlas_migration_sim::Simulator::builder().omit_rate_limit_headers();
    /// # let _ = bare;
    /// ```
    pub fn omit_rate_limit_headers(self) -> Self {
        self.rate_limit_headers(RateLimitHeaders::Never)
    }

    /// The convenience organization id [`Simulator::org_id`] returns. Any 24-hex id works
    /// in requests; this only picks the one handed out.
    pub fn org_id(mut self, id: impl Into<String>) -> Self {
        self.org_id = Some(id.into());
        self
    }

    /// The convenience project id [`Simulator::group_id`] returns.
    pub fn group_id(mut self, id: impl Into<String>) -> Self {
        self.group_id = Some(id.into());
        self
    }

    /// Installs a fault rule (see [`Fault`]); rules are tried in order.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Installs a random fault plan, consulted when no rule fires.
    pub fn faults(mut self, plan: FaultPlan) -> Self {
        self.plan = Some(plan);
        self
    }

    /// Port on 127.0.0.1 to listen on (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds the listener and starts serving on the current Tokio runtime.
    pub async fn start(self) -> std::io::Result<Simulator> {
        let mut rng = Rng::new(self.seed.unwrap_or_else(Rng::entropy_seed));
        let mut credentials = Credentials::random(&mut rng);
        let set = |slot: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut credentials.public_key, self.public_key);
        set(&mut credentials.private_key, self.private_key);
        set(&mut credentials.client_id, self.client_id);
        set(&mut credentials.client_secret, self.client_secret);
        let org_id = self.org_id.unwrap_or_else(|| rng.object_id());
        let group_id = self.group_id.unwrap_or_else(|| rng.object_id());
        let source_projects = self
            .source_projects
            .unwrap_or_else(|| default_source_projects(&mut rng));
        let mut faults = Faults::default();
        for f in self.faults {
            faults.add(f);
        }
        faults.set_plan(self.plan);
        let mut auth = Authenticator::new(
            credentials.clone(),
            self.algorithm,
            self.nonce_lifetime.unwrap_or(Duration::from_secs(300)),
            self.token_lifetime.unwrap_or(Duration::from_secs(3600)),
        );
        auth.digest.configure(
            self.nonce_policy,
            ChallengeStyle {
                lowercase_algorithm: self.lowercase_algorithm,
            },
        );
        auth.tokens.reply = self.token_reply;
        if let Some(max) = self.max_live_tokens {
            auth.tokens.max_live = max;
        }
        let inner = Inner {
            clock: Clock::new(self.manual_clock),
            rng,
            auth,
            faults,
            log: RequestLog::default(),
            lifecycle: Lifecycle::default(),
            meter: Meter::new(
                org_id.clone(),
                self.rate_limits.unwrap_or_else(|| {
                    vec![
                        RateLimit::documented_project(),
                        RateLimit::documented_organization(),
                    ]
                }),
                self.background,
                self.replies,
            ),
        };
        let shared = Arc::new(Shared {
            inner: Mutex::new(inner),
            timings: self.timings,
            source_projects,
            pacing: self.pacing,
            connections_accepted: AtomicUsize::new(0),
        });
        let (listener, addr) = server::bind(self.port).await?;
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(server::serve(
            listener,
            server::router(shared.clone()),
            shared.clone(),
            rx,
        ));
        Ok(Simulator::new(
            shared,
            ServerGuard::new(tx, task),
            addr,
            credentials,
            org_id,
            group_id,
        ))
    }
}

fn default_source_projects(rng: &mut Rng) -> Vec<SourceProject> {
    vec![SourceProject {
        name: "Source Project".to_string(),
        project_id: rng.object_id(),
        migration_hosts: vec!["migration-host-0.example.net".to_string()],
        deployments: vec![Deployment::replica_set("Cluster0", rng.object_id())],
    }]
}
