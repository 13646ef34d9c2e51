//! [`Client`]: cheap to clone, shares authentication state between clones.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::header::HeaderValue;

use crate::auth::digest::DigestAuth;
use crate::auth::provider::ProvidedAuth;
use crate::auth::service_account::ServiceAccountAuth;
use crate::auth::service_account::ledger::TokenLedger;
use crate::auth::{Auth, Credentials, Kind};
use crate::base_url::{self, BaseUrl};
use crate::config::ClientBuilder;
use crate::error::Error;
use crate::error::TransportError;
use crate::governor::{Governor, ThrottleStatus};
use crate::retry::RetryPolicy;
use crate::transport::Transport;

/// A client of the Atlas Cloud Migration Service.
///
/// Cloning is cheap and clones share the cached digest challenge or bearer token, so one
/// client (or its clones) should serve a whole program. The operations are listed in the
/// [crate documentation](crate#operations).
///
/// ```no_run
/// # async fn run() -> Result<(), atlas_migration::Error> {
/// let client = atlas_migration::Client::from_env()?;
/// let org = "4888442a3354817a7320eb61".parse()?;
/// for project in client.list_source_projects(&org).await? {
///     println!("{} ({} deployments)", project.name, project.deployments.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    /// This handle's own timeout and retry policy, if set (see [`Client::with_timeout`]).
    pub(crate) overrides: Option<Arc<CallOverrides>>,
}

/// A handle's own settings for its calls.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallOverrides {
    pub(crate) timeout: Option<Option<Duration>>,
    pub(crate) policy: Option<RetryPolicy>,
    /// The caller's deadline: waits inside a call end by then, failing at once with a
    /// budget error when they would not.
    pub(crate) deadline: Option<tokio::time::Instant>,
}

pub(crate) struct Inner {
    pub(crate) transport: Transport,
}

const _: () = {
    const fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<Client>();
};

impl Client {
    /// Atlas's commercial endpoint, the default.
    ///
    /// ```
    /// assert_eq!(atlas_migration::Client::DEFAULT_BASE_URL, "https://cloud.mongodb.com");
    /// ```
    pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com";

    /// The Atlas for Government endpoint, for [`ClientBuilder::base_url`].
    ///
    /// ```
    /// use atlas_migration::Client;
    ///
    /// let builder = Client::builder().base_url(Client::GOVERNMENT_BASE_URL);
    /// ```
    pub const GOVERNMENT_BASE_URL: &str = "https://cloud.mongodbgov.com";

    /// Starts configuring a client.
    ///
    /// ```
    /// let client = atlas_migration::Client::builder()
    ///     .service_account("mdb_sa_id_1", "mdb_sa_sk_2".to_owned())
    ///     .build()?;
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from the environment; see [`ClientBuilder::from_lookup`] for the
    /// variables read.
    ///
    /// ```no_run
    /// let client = atlas_migration::Client::from_env()?;
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env()?.build()
    }

    pub(crate) fn from_builder(b: ClientBuilder) -> Result<Self, Error> {
        let provider = b.credentials_provider.0.clone();
        let credentials = match (&provider, b.credentials.clone()) {
            (Some(_), _) => None,
            (None, Some(credentials)) => Some(credentials),
            (None, None) => {
                return Err(Error::invalid_input(
                    "credentials",
                    None,
                    "are missing; call .api_key(..), .service_account(..) or \
                     .credentials_provider(..), or use Client::from_env()",
                ));
            }
        };
        if let Some(credentials) = &credentials {
            credentials.check()?;
        }
        let BaseUrl {
            text: base_url,
            url: parsed,
        } = base_url::check(&b.base_url, b.allow_insecure_http)?;
        let mut agent = format!("atlas-migration/{}", env!("CARGO_PKG_VERSION"));
        if let Some(suffix) = b
            .user_agent_suffix
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            agent.push(' ');
            agent.push_str(suffix);
        }
        let user_agent = HeaderValue::from_str(&agent).map_err(|_| {
            Error::invalid_input(
                "user_agent",
                b.user_agent_suffix.as_deref(),
                "must be visible ASCII",
            )
        })?;
        install_tls_provider();
        let http = match b.http {
            Some(http) => http,
            // The Atlas Admin API does not redirect; following one would re-send bodies and
            // credentials to another host.
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(b.max_in_flight)
                .connect_timeout(b.connect_timeout)
                .build()
                .map_err(|e| Error::from(TransportError::new(e, None)))?,
        };
        let probe = parsed
            .join("api/atlas/v2")
            .map_err(|e| Error::invalid_input("base_url", None, e.to_string()))?;
        let (max_in_flight, margin, per_minute) = (
            b.max_in_flight,
            b.token_refresh_margin,
            b.token_requests_per_minute,
        );
        let ledger = match &b.token_ledger {
            None => None,
            Some((_, 0)) => {
                return Err(Error::invalid_input(
                    "token_ledger",
                    None,
                    "max_live_tokens must be at least 1",
                ));
            }
            Some((dir, max_live)) => Some(TokenLedger::open(dir, *max_live).map_err(|e| {
                Error::invalid_input(
                    "token_ledger",
                    dir.to_str(),
                    format!("the directory cannot be created: {e}"),
                )
            })?),
        };
        let (for_auth, agent_for_auth) = (parsed.clone(), user_agent.clone());
        let make_auth = move |credentials: Credentials| -> Result<Auth, Error> {
            Ok(match credentials.0 {
                Kind::ApiKey {
                    public_key,
                    private_key,
                } => Auth::Digest(DigestAuth::new(
                    public_key,
                    private_key,
                    probe.clone(),
                    max_in_flight,
                )),
                Kind::ServiceAccount {
                    client_id,
                    client_secret,
                } => Auth::ServiceAccount(ServiceAccountAuth::new(
                    client_id,
                    client_secret,
                    &for_auth,
                    agent_for_auth.clone(),
                    margin,
                    per_minute,
                    ledger.as_ref(),
                )?),
            })
        };
        let auth = match (provider, credentials) {
            (Some(provider), _) => Auth::Provided(ProvidedAuth::new(provider, Box::new(make_auth))),
            (None, Some(credentials)) => make_auth(credentials)?,
            (None, None) => unreachable!("checked above"),
        };
        Ok(Self {
            overrides: None,
            inner: Arc::new(Inner {
                transport: Transport {
                    http,
                    base_url,
                    base: parsed.clone(),
                    auth,
                    policy: b.retry,
                    user_agent,
                    timeout: b.timeout,
                    max_reply_size: b.max_reply_size,
                    governor: Governor::new(b.max_in_flight, b.rate_limits),
                    interceptors: b.interceptors.0,
                    server_address: parsed.host_str().unwrap_or_default().to_owned(),
                    server_port: parsed.port_or_known_default().unwrap_or(443),
                },
            }),
        })
    }

    /// The endpoint this client talks to, without a trailing slash.
    ///
    /// ```
    /// let client = atlas_migration::Client::builder().api_key("p", "s".to_owned()).build()?;
    /// assert_eq!(client.base_url(), "https://cloud.mongodb.com");
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn base_url(&self) -> &str {
        &self.inner.transport.base_url
    }

    /// What the client's rate governor knows now: per project or organization, the Atlas
    /// rate-limit budget it has learned and the 429s and waits seen there; requests in
    /// flight. Shared by all clones.
    ///
    /// ```
    /// let client = atlas_migration::Client::builder().api_key("p", "s".to_owned()).build()?;
    /// let status = client.throttle_status();
    /// assert_eq!((status.in_flight, status.refusals), (0, 0));
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn throttle_status(&self) -> ThrottleStatus {
        self.inner.transport.governor.status()
    }

    /// When the cached service account token expires; `None` before the first call, after
    /// [`revoke`](Self::revoke), and for API keys.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) {
    /// if let Some(expiry) = client.token_expiry() {
    ///     println!("token valid until {expiry}");
    /// }
    /// # }
    /// ```
    pub fn token_expiry(&self) -> Option<DateTime<Utc>> {
        fn of(auth: &Auth) -> Option<DateTime<Utc>> {
            match auth {
                Auth::ServiceAccount(s) => s.token_expiry(),
                Auth::Provided(p) => p.peek().and_then(|inner| of(&inner)),
                Auth::Digest(_) => None,
            }
        }
        of(&self.inner.transport.auth)
    }

    /// Revokes the cached service account token (`POST /api/oauth/revoke`) and forgets it;
    /// the next call fetches a new one. Does nothing for API keys or when no token is cached.
    ///
    /// Call it when the service shuts down. Atlas allows a service account 100 live tokens,
    /// each valid for an hour: a process that restarts often (a crash loop, a busy
    /// deployment) and leaves its token behind each time can reach that limit, after which
    /// Atlas refuses new tokens ("Access Token limit reached") until old ones expire. The
    /// token is shared by every client of this process built with the same service account,
    /// so revoking it affects them all (their next call fetches a new one).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// client.revoke().await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke(&self) -> Result<(), Error> {
        let transport = self.transport();
        let provided;
        let auth = match &transport.auth {
            Auth::Provided(p) => match p.peek() {
                Some(inner) => {
                    provided = inner;
                    provided.as_ref()
                }
                None => return Ok(()),
            },
            other => other,
        };
        match auth {
            Auth::ServiceAccount(s) => s.revoke(&transport.http, transport.timeout).await,
            Auth::Digest(_) | Auth::Provided(_) => Ok(()),
        }
    }
}

/// With the `rustls-ring` feature (and not `rustls-aws-lc`), makes ring rustls's provider
/// for this process unless the program installed one already.
fn install_tls_provider() {
    #[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc")))]
    {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

impl Client {
    /// The same client (sharing its authentication, rate governor and connections) whose
    /// calls use `timeout` for each attempt instead of the configured one (`None`: no limit).
    ///
    /// ```no_run
    /// # async fn f(client: atlas_migration::Client, g: atlas_migration::GroupId, id: atlas_migration::LiveMigrationId) -> Result<(), atlas_migration::Error> {
    /// let quick = client.with_timeout(std::time::Duration::from_secs(5));
    /// let migration = quick.get_migration(&g, &id).await?;
    /// # Ok(()) }
    /// ```
    pub fn with_timeout(&self, timeout: impl Into<Option<Duration>>) -> Client {
        let mut overrides = self.overrides.as_deref().cloned().unwrap_or_default();
        overrides.timeout = Some(timeout.into());
        self.with_overrides(overrides)
    }

    /// The same client whose calls retry under `policy` instead of the configured one.
    ///
    /// ```no_run
    /// # async fn f(client: atlas_migration::Client, g: atlas_migration::GroupId, id: atlas_migration::LiveMigrationId) -> Result<(), atlas_migration::Error> {
    /// let once = client.with_retry_policy(atlas_migration::RetryPolicy::never());
    /// once.cutover(&g, &id).await?;
    /// # Ok(()) }
    /// ```
    pub fn with_retry_policy(&self, policy: RetryPolicy) -> Client {
        let mut overrides = self.overrides.as_deref().cloned().unwrap_or_default();
        overrides.policy = Some(policy);
        self.with_overrides(overrides)
    }

    /// How long one attempt of this handle's calls may take (`None`: no limit).
    pub(crate) fn attempt_timeout(&self) -> Option<Duration> {
        self.overrides
            .as_deref()
            .and_then(|o| o.timeout)
            .unwrap_or(self.inner.transport.timeout)
    }

    /// A handle whose calls must end by `deadline` (or an earlier one it already has): a
    /// waiter's poll, a workflow step. Each call waits for budget, a connection slot, a digest
    /// challenge or a token only while it can still finish in time, and a refusal (429)
    /// spends no attempt of the retry policy, since it is ridden out only until then.
    pub(crate) fn until(&self, deadline: tokio::time::Instant) -> Client {
        let mut overrides = self.overrides.as_deref().cloned().unwrap_or_default();
        overrides.deadline = Some(overrides.deadline.map_or(deadline, |d| d.min(deadline)));
        self.with_overrides(overrides)
    }

    fn with_overrides(&self, overrides: CallOverrides) -> Client {
        Client {
            inner: self.inner.clone(),
            overrides: Some(Arc::new(overrides)),
        }
    }

    /// Sends one operation with this handle's settings and turns its reply into `T` with
    /// `decode`, in the call's span.
    pub(crate) async fn call<T>(
        &self,
        operation: &'static atlas_migration_sys::operations::Operation,
        path: &str,
        body: Option<bytes::Bytes>,
        decode: impl FnOnce(crate::transport::Reply) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.inner
            .transport
            .call(operation, path, body, self.overrides.as_deref(), decode)
            .await
    }

    /// The transport every operation sends through.
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.inner.transport.auth {
            Auth::Digest(_) => "api key (digest)",
            Auth::ServiceAccount(_) => "service account (bearer)",
            Auth::Provided(_) => "from a credentials provider",
        };
        f.debug_struct("Client")
            .field("base_url", &self.inner.transport.base_url)
            .field("auth", &auth)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    /// Building a client builds its TLS backend: with `rustls-ring` this is where a missing
    /// crypto provider would panic.
    #[test]
    fn builds_an_https_client_with_the_selected_tls_backend() {
        let client = super::Client::builder()
            .api_key("pub", "priv".to_owned())
            .base_url("https://cloud.mongodb.com")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "https://cloud.mongodb.com");
    }

    #[test]
    fn an_operation_path_goes_under_the_base_url_and_its_own_path() {
        let url_of = |base: &str, path: &str| {
            let client = super::Client::builder()
                .api_key("pub", "priv".to_owned())
                .base_url(base)
                .build()
                .unwrap();
            client.inner.transport.url_of(path).to_string()
        };
        let path = "/api/atlas/v2/groups/6296fb4c7c7aa997cf94e9a8/liveMigrations";
        assert_eq!(
            url_of("https://cloud.mongodb.com", path),
            format!("https://cloud.mongodb.com{path}")
        );
        assert_eq!(
            url_of("https://proxy.example.com:8443/atlas/", path),
            format!("https://proxy.example.com:8443/atlas{path}")
        );
        // Percent-encoded parameters stay as the path function encoded them.
        assert_eq!(
            url_of(
                "https://cloud.mongodb.com",
                "/api/atlas/v2/orgs/a%2Fb/liveMigrations"
            ),
            "https://cloud.mongodb.com/api/atlas/v2/orgs/a%2Fb/liveMigrations"
        );
    }
}
