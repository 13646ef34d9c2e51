//! [`ClientBuilder`]: credentials, endpoint, user agent, timeouts and retries; also reading
//! them from the environment.

use std::time::Duration;

use secrecy::SecretString;

use crate::auth::Credentials;
use crate::client::Client;
use crate::error::Error;
use crate::retry::RetryPolicy;

const PUBLIC_KEY_VARS: [&str; 2] = ["MONGODB_ATLAS_PUBLIC_API_KEY", "MONGODB_ATLAS_PUBLIC_KEY"];
const PRIVATE_KEY_VARS: [&str; 2] = ["MONGODB_ATLAS_PRIVATE_API_KEY", "MONGODB_ATLAS_PRIVATE_KEY"];
const CLIENT_ID_VARS: [&str; 1] = ["MONGODB_ATLAS_CLIENT_ID"];
const CLIENT_SECRET_VARS: [&str; 1] = ["MONGODB_ATLAS_CLIENT_SECRET"];
const BASE_URL_VAR: &str = "MONGODB_ATLAS_BASE_URL";

const ACCEPTED: &str = "set MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY \
    (or MONGODB_ATLAS_PUBLIC_KEY and MONGODB_ATLAS_PRIVATE_KEY) for an API key, or \
    MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET for a service account; \
    MONGODB_ATLAS_BASE_URL optionally overrides the endpoint";

/// Configures and builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use atlas_migration::{Client, RetryPolicy};
///
/// let client = Client::builder()
///     .api_key("abcdefgh", "d1c2b3a4-0000-1111-2222-333344445555".to_owned())
///     .base_url(Client::GOVERNMENT_BASE_URL)
///     .user_agent("my-tool/1.2")
///     .timeout(Duration::from_secs(30))
///     .retry_policy(RetryPolicy::default().max_attempts(5))
///     .build()?;
/// # Ok::<(), atlas_migration::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientBuilder {
    pub(crate) credentials: Option<Credentials>,
    pub(crate) base_url: String,
    pub(crate) user_agent_suffix: Option<String>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) token_refresh_margin: Duration,
    pub(crate) token_requests_per_minute: u32,
    /// The token ledger's directory and its cap on tokens that may still live.
    pub(crate) token_ledger: Option<(std::path::PathBuf, u32)>,
    pub(crate) max_reply_size: usize,
    pub(crate) allow_insecure_http: bool,
    pub(crate) max_in_flight: usize,
    pub(crate) rate_limits: crate::RateLimits,
    pub(crate) interceptors: crate::interceptor::Interceptors,
    pub(crate) credentials_provider: ProviderSlot,
}

/// The builder's credentials provider, if any.
#[derive(Clone, Default)]
pub(crate) struct ProviderSlot(
    pub(crate) Option<std::sync::Arc<dyn crate::auth::provider::SharedProvider>>,
);

impl std::fmt::Debug for ProviderSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(provider)"
        } else {
            "None"
        })
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            credentials: None,
            base_url: Client::DEFAULT_BASE_URL.to_owned(),
            user_agent_suffix: None,
            timeout: Some(Duration::from_secs(60)),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            http: None,
            token_refresh_margin: crate::auth::service_account::DEFAULT_REFRESH_MARGIN,
            token_requests_per_minute:
                crate::auth::service_account::DEFAULT_TOKEN_REQUESTS_PER_MINUTE,
            token_ledger: None,
            max_reply_size: crate::body::DEFAULT_MAX_REPLY_SIZE,
            allow_insecure_http: false,
            max_in_flight: crate::governor::DEFAULT_MAX_IN_FLIGHT,
            rate_limits: crate::RateLimits::documented(),
            interceptors: Default::default(),
            credentials_provider: ProviderSlot::default(),
        }
    }
}

impl ClientBuilder {
    /// A builder with the defaults: no credentials yet, [`Client::DEFAULT_BASE_URL`], 60 s request
    /// timeout, 10 s connect timeout, [`RetryPolicy::default`].
    ///
    /// ```
    /// let builder = atlas_migration::ClientBuilder::new();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder filled from the process environment; see [`from_lookup`](Self::from_lookup).
    ///
    /// ```no_run
    /// let client = atlas_migration::ClientBuilder::from_env()?.user_agent("my-tool/1.0").build()?;
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// A builder filled from variables found by `lookup`.
    ///
    /// Accepts the Atlas CLI names (`MONGODB_ATLAS_PUBLIC_API_KEY`,
    /// `MONGODB_ATLAS_PRIVATE_API_KEY`), the Terraform names (`MONGODB_ATLAS_PUBLIC_KEY`,
    /// `MONGODB_ATLAS_PRIVATE_KEY`), a service account (`MONGODB_ATLAS_CLIENT_ID`,
    /// `MONGODB_ATLAS_CLIENT_SECRET`) and `MONGODB_ATLAS_BASE_URL`. Empty values count as
    /// unset. Missing, partial or conflicting variables are an error listing the accepted names.
    ///
    /// ```
    /// use std::collections::HashMap;
    ///
    /// let env = HashMap::from([
    ///     ("MONGODB_ATLAS_CLIENT_ID", "mdb_sa_id_1"),
    ///     ("MONGODB_ATLAS_CLIENT_SECRET", "mdb_sa_sk_2"),
    /// ]);
    /// let builder = atlas_migration::ClientBuilder::from_lookup(|k| env.get(k).map(|v| v.to_string()))?;
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let public = pick(&get, &PUBLIC_KEY_VARS)?;
        let private = pick(&get, &PRIVATE_KEY_VARS)?;
        let id = pick(&get, &CLIENT_ID_VARS)?;
        let secret = pick(&get, &CLIENT_SECRET_VARS)?;
        let key = pair(public, private, &PUBLIC_KEY_VARS, &PRIVATE_KEY_VARS)?;
        let account = pair(id, secret, &CLIENT_ID_VARS, &CLIENT_SECRET_VARS)?;
        let credentials = match (key, account) {
            (Some((p, s)), None) => Credentials::api_key(p, SecretString::from(s)),
            (None, Some((i, s))) => Credentials::service_account(i, SecretString::from(s)),
            (Some(_), Some(_)) => {
                return Err(env_error(
                    "both an API key and a service account are set; unset one of them",
                ));
            }
            (None, None) => return Err(env_error("no Atlas credentials are set")),
        };
        let mut builder = Self::new().credentials(credentials);
        if let Some(url) = get(BASE_URL_VAR) {
            builder = builder.base_url(url);
        }
        Ok(builder)
    }

    /// The credentials to authenticate with (required).
    ///
    /// ```
    /// let b = atlas_migration::Client::builder()
    ///     .credentials(atlas_migration::Credentials::api_key("pub", "priv".to_owned()));
    /// ```
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Gets the credentials from `provider`, when first needed and again whenever the
    /// current ones are refused (see [`CredentialsProvider`](crate::CredentialsProvider));
    /// replaces [`credentials`](Self::credentials).
    ///
    /// ```
    /// let b = atlas_migration::Client::builder()
    ///     .credentials_provider(|| async { atlas_migration::Credentials::from_env() });
    /// ```
    pub fn credentials_provider(mut self, provider: impl crate::CredentialsProvider) -> Self {
        self.credentials_provider = ProviderSlot(Some(std::sync::Arc::new(provider)));
        self
    }

    /// Shorthand for [`Credentials::api_key`].
    ///
    /// ```
    /// let b = atlas_migration::Client::builder().api_key("pub", "priv".to_owned());
    /// ```
    pub fn api_key(
        self,
        public_key: impl Into<String>,
        private_key: impl Into<SecretString>,
    ) -> Self {
        self.credentials(Credentials::api_key(public_key, private_key))
    }

    /// Shorthand for [`Credentials::service_account`].
    ///
    /// ```
    /// let b = atlas_migration::Client::builder().service_account("mdb_sa_id_1", "mdb_sa_sk_2".to_owned());
    /// ```
    pub fn service_account(
        self,
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        self.credentials(Credentials::service_account(client_id, client_secret))
    }

    /// The Atlas endpoint, e.g. [`Client::GOVERNMENT_BASE_URL`]; default [`Client::DEFAULT_BASE_URL`].
    ///
    /// [`build`](Self::build) refuses a URL with a user name or password in it (without
    /// repeating it in the error), and a plain `http://` URL unless its host is this machine
    /// (`localhost`, `127.0.0.0/8`, `::1`) or [`allow_insecure_http`](Self::allow_insecure_http)
    /// is set. The same rules apply to `MONGODB_ATLAS_BASE_URL`.
    ///
    /// ```
    /// let b = atlas_migration::Client::builder().base_url(atlas_migration::Client::GOVERNMENT_BASE_URL);
    /// ```
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Allows a plain `http://` base URL to a host other than this machine (default: refused).
    /// Over plain http the digest exchange or the bearer token, and the source cluster's
    /// password in migration requests, cross the network readable by anyone on the path:
    /// only for a network you trust, such as a test environment behind a local proxy.
    ///
    /// ```
    /// let client = atlas_migration::Client::builder()
    ///     .api_key("pub", "priv".to_owned())
    ///     .base_url("http://atlas-proxy.test.internal:8080")
    ///     .allow_insecure_http(true)
    ///     .build()?;
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Appended to the `User-Agent` (`atlas-migration/<version> <yours>`).
    ///
    /// ```
    /// let b = atlas_migration::Client::builder().user_agent("my-tool/1.2");
    /// ```
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(product.into());
        self
    }

    /// Time limit for each attempt, applied even to a caller-supplied HTTP client (default
    /// 60 s; `None` for no limit).
    ///
    /// ```
    /// let b = atlas_migration::Client::builder().timeout(std::time::Duration::from_secs(20));
    /// ```
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// Time limit for establishing a connection (default 10 s); ignored when a client is
    /// supplied with [`http_client`](Self::http_client).
    ///
    /// ```
    /// let b = atlas_migration::Client::builder().connect_timeout(std::time::Duration::from_secs(3));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How failed calls are retried.
    ///
    /// ```
    /// let b = atlas_migration::Client::builder().retry_policy(atlas_migration::RetryPolicy::never());
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Send with this HTTP client (proxies, TLS roots, connection pool of your choice).
    ///
    /// Build it with `redirect(reqwest::redirect::Policy::none())`: the client this crate
    /// builds never follows redirects (the Atlas Admin API does not redirect), but a supplied
    /// client that follows one has already re-sent the request elsewhere by the time this
    /// crate sees the reply. Such a reply is still refused, as an error of kind
    /// [`ErrorKind::Redirect`](crate::ErrorKind::Redirect).
    ///
    /// ```
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()
    ///     .unwrap();
    /// let b = atlas_migration::Client::builder().http_client(http);
    /// ```
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Refresh a service account token this long before it expires (default 60 s), or a
    /// quarter of its lifetime before if that is sooner.
    ///
    /// ```
    /// let b = atlas_migration::Client::builder()
    ///     .token_refresh_margin(std::time::Duration::from_secs(120));
    /// ```
    pub fn token_refresh_margin(mut self, margin: Duration) -> Self {
        self.token_refresh_margin = margin;
        self
    }

    /// The most service account token requests sent in any minute (default 10, at least 1),
    /// however many calls need a token. A call that needs one beyond the cap waits for the
    /// next allowed request if that comes within its [`timeout`](Self::timeout), and
    /// otherwise fails at once with an [authentication error](crate::Error::is_auth) whose
    /// [`retry_at`](crate::Error::retry_at) says when. Failed token requests also hold the
    /// next one back (1 s doubling to 60 s, never sooner than the server's `Retry-After`).
    ///
    /// ```
    /// let b = atlas_migration::Client::builder().max_token_requests_per_minute(4);
    /// ```
    pub fn max_token_requests_per_minute(mut self, requests: u32) -> Self {
        self.token_requests_per_minute = requests;
        self
    }

    /// Counts service account token requests in `dir` (created if missing) with every other
    /// process that uses the same directory, including this process's own earlier runs: at
    /// most `max_live_tokens` requests (at least 1) whose tokens may still live, and at most
    /// [`max_token_requests_per_minute`](Self::max_token_requests_per_minute) in any minute,
    /// per service account. Without it the caps hold per process only.
    ///
    /// Atlas allows 100 live tokens per service account, each living an hour. A process that
    /// exits through [`Client::revoke`] gives its token back, but one that crashes cannot, and
    /// one that crash-loops asks for a token at every start; with no ledger it can use up the
    /// account's tokens for every other user within the hour. Put the directory where a
    /// restarted process finds it again (a volume that outlives a container, shared by the
    /// replicas of one machine or pod), and give each group of processes its share of the 100:
    /// at least twice the processes that share the directory, since each running one holds a
    /// token, a token is refreshed shortly before its hour ends while the old one still
    /// counts, and a restart needs one more.
    ///
    /// A request whose reply never came counts for the hour a token would live; one the
    /// token endpoint refused does not count; a revoked token stops counting. A call that
    /// needs a token beyond the caps waits if one is allowed within its timeout, and
    /// otherwise fails at once with an [authentication error](crate::Error::is_auth) whose
    /// [`retry_at`](crate::Error::retry_at) says when. The files hold times and random
    /// numbers only, never a credential or a token. API keys need no ledger; it is ignored
    /// for them. Processes take turns at a ledger file under an `flock` on Unix, which a
    /// crash releases; elsewhere under a lock file that a crash can leave behind, to be
    /// removed by hand (the error names it).
    ///
    /// ```
    /// let dir = std::env::temp_dir().join("my-service-token-ledger");
    /// let client = atlas_migration::Client::builder()
    ///     .service_account("mdb_sa_id_1234", "mdb_sa_sk_secret".to_owned())
    ///     .token_ledger(dir, 20)
    ///     .build()?;
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn token_ledger(
        mut self,
        dir: impl Into<std::path::PathBuf>,
        max_live_tokens: u32,
    ) -> Self {
        self.token_ledger = Some((dir.into(), max_live_tokens));
        self
    }

    /// The largest success reply accepted, in bytes (default 4 MiB; real replies of this API
    /// are a few kilobytes). Replies are read as a stream and refused as soon as they pass
    /// the limit (or declare a longer `Content-Length`), so memory stays bounded whatever a
    /// server sends; the error's [`Error::is_reply_too_large`](crate::Error::is_reply_too_large)
    /// is true. Error replies are read up to 64 KiB and the rest is ignored.
    ///
    /// ```
    /// let b = atlas_migration::Client::builder().max_reply_size(1024 * 1024);
    /// ```
    pub fn max_reply_size(mut self, bytes: usize) -> Self {
        self.max_reply_size = bytes;
        self
    }

    /// The most requests the client (all its clones together) keeps in flight (default 64;
    /// at least 1). Calls beyond it wait for a slot, so a service watching thousands of
    /// migrations holds a bounded number of connections; idle connections are kept up to the
    /// same number and reused.
    ///
    /// ```
    /// let b = atlas_migration::Client::builder().max_in_flight(16);
    /// ```
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = requests.max(1);
        self
    }

    /// How the client paces itself against Atlas's rate limits (default
    /// [`RateLimits::documented`](crate::RateLimits::documented): Atlas's published bucket
    /// sizes, adapted to what Atlas actually gives this client). Set a
    /// [`share`](crate::RateLimits::share) when several replicas spend one organization's
    /// budget, or other bucket sizes for a test server.
    ///
    /// ```
    /// let b = atlas_migration::Client::builder()
    ///     .rate_limits(atlas_migration::RateLimits::documented().share(0.25));
    /// ```
    pub fn rate_limits(mut self, limits: crate::RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Adds an interceptor that sees every attempt of every call (add a `traceparent`,
    /// count attempts, time them); several run in the order added. See [`Interceptor`](crate::Interceptor).
    ///
    /// ```
    /// struct Tag;
    /// impl atlas_migration::Interceptor for Tag {
    ///     fn on_request(&self, r: &mut atlas_migration::AttemptRequest<'_>) {
    ///         let _ = r.insert_header("x-caller", "billing");
    ///     }
    /// }
    /// let b = atlas_migration::Client::builder().interceptor(Tag);
    /// ```
    pub fn interceptor(mut self, interceptor: impl crate::Interceptor) -> Self {
        self.interceptors.0.push(std::sync::Arc::new(interceptor));
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// ```
    /// let err = atlas_migration::Client::builder().build().unwrap_err();
    /// assert!(err.is_invalid_input());
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        Client::from_builder(self)
    }
}

fn env_error(what: &str) -> Error {
    Error::invalid_input("environment", None, format!("{what}; {ACCEPTED}"))
}

/// The value of the first set variable among `names`; an error if two are set differently.
fn pick(
    get: &impl Fn(&str) -> Option<String>,
    names: &[&'static str],
) -> Result<Option<(&'static str, String)>, Error> {
    let mut found: Option<(&'static str, String)> = None;
    for name in names {
        if let Some(value) = get(name) {
            match &found {
                Some((first, v)) if *v != value => {
                    return Err(env_error(&format!(
                        "{first} and {name} are both set, to different values; unset one"
                    )));
                }
                Some(_) => {}
                None => found = Some((name, value)),
            }
        }
    }
    Ok(found)
}

/// Both halves of a credential, or neither; one half alone is an error naming the other.
fn pair(
    a: Option<(&'static str, String)>,
    b: Option<(&'static str, String)>,
    a_names: &[&str],
    b_names: &[&str],
) -> Result<Option<(String, String)>, Error> {
    match (a, b) {
        (Some((_, a)), Some((_, b))) => Ok(Some((a, b))),
        (None, None) => Ok(None),
        (Some((name, _)), None) => Err(env_error(&format!(
            "{name} is set but {} is not",
            b_names.join(" / ")
        ))),
        (None, Some((name, _))) => Err(env_error(&format!(
            "{name} is set but {} is not",
            a_names.join(" / ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Kind;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<ClientBuilder, Error> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ClientBuilder::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn accepts_cli_and_terraform_names() {
        for (p, s) in [
            (
                "MONGODB_ATLAS_PUBLIC_API_KEY",
                "MONGODB_ATLAS_PRIVATE_API_KEY",
            ),
            ("MONGODB_ATLAS_PUBLIC_KEY", "MONGODB_ATLAS_PRIVATE_KEY"),
            ("MONGODB_ATLAS_PUBLIC_API_KEY", "MONGODB_ATLAS_PRIVATE_KEY"),
        ] {
            let b = from(&[(p, "pub"), (s, "priv-secret")]).unwrap();
            assert!(
                matches!(b.credentials.unwrap().0, Kind::ApiKey { public_key, .. } if public_key == "pub")
            );
        }
        let b = from(&[
            ("MONGODB_ATLAS_CLIENT_ID", "id"),
            ("MONGODB_ATLAS_CLIENT_SECRET", "secret"),
            ("MONGODB_ATLAS_BASE_URL", Client::GOVERNMENT_BASE_URL),
        ])
        .unwrap();
        assert!(matches!(
            b.credentials.unwrap().0,
            Kind::ServiceAccount { .. }
        ));
        assert_eq!(b.base_url, Client::GOVERNMENT_BASE_URL);
    }

    #[test]
    fn an_insecure_or_credentialed_base_url_from_the_environment_is_refused() {
        for url in [
            "http://cloud.mongodb.com",
            "https://me:hunter2@cloud.mongodb.com",
        ] {
            let error = from(&[
                ("MONGODB_ATLAS_CLIENT_ID", "id"),
                ("MONGODB_ATLAS_CLIENT_SECRET", "secret"),
                ("MONGODB_ATLAS_BASE_URL", url),
            ])
            .unwrap()
            .build()
            .unwrap_err();
            assert!(error.is_invalid_input(), "{error}");
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn same_value_under_both_names_is_fine() {
        let _ = from(&[
            ("MONGODB_ATLAS_PUBLIC_API_KEY", "pub"),
            ("MONGODB_ATLAS_PUBLIC_KEY", "pub"),
            ("MONGODB_ATLAS_PRIVATE_KEY", "priv"),
        ])
        .unwrap();
    }

    #[test]
    fn missing_partial_and_conflicting_variables_list_accepted_names() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "no Atlas credentials"),
            (
                &[("MONGODB_ATLAS_PUBLIC_KEY", "pub")],
                "MONGODB_ATLAS_PUBLIC_KEY is set but",
            ),
            (
                &[("MONGODB_ATLAS_CLIENT_SECRET", "s")],
                "MONGODB_ATLAS_CLIENT_SECRET is set but MONGODB_ATLAS_CLIENT_ID",
            ),
            (
                &[
                    ("MONGODB_ATLAS_PUBLIC_API_KEY", "a"),
                    ("MONGODB_ATLAS_PUBLIC_KEY", "b"),
                    ("MONGODB_ATLAS_PRIVATE_KEY", "p"),
                ],
                "different values",
            ),
            (
                &[
                    ("MONGODB_ATLAS_PUBLIC_KEY", "a"),
                    ("MONGODB_ATLAS_PRIVATE_KEY", "p"),
                    ("MONGODB_ATLAS_CLIENT_ID", "i"),
                    ("MONGODB_ATLAS_CLIENT_SECRET", "s"),
                ],
                "both an API key and a service account",
            ),
            (
                &[
                    ("MONGODB_ATLAS_PUBLIC_KEY", ""),
                    ("MONGODB_ATLAS_PRIVATE_KEY", ""),
                ],
                "no Atlas credentials",
            ),
        ];
        for (vars, expected) in cases {
            let text = from(vars).unwrap_err().to_string();
            assert!(text.contains(expected), "{text}");
            assert!(
                text.contains("MONGODB_ATLAS_PRIVATE_API_KEY")
                    && text.contains("MONGODB_ATLAS_CLIENT_SECRET"),
                "{text}"
            );
            for (_, v) in vars.iter() {
                assert!(v.len() < 2 || !text.contains(v), "{text}");
            }
        }
    }
}
