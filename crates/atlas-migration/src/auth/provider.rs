//! [`CredentialsProvider`]: credentials that can change while a service runs (a rotated API
//! key, a service account secret kept in a secrets manager), consulted when the client first
//! needs them and again whenever the current ones are refused.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use secrecy::ExposeSecret;
use tokio::time::Instant;

use super::{Auth, Credentials, Failure, Kind, Recipe};
use crate::error::Error;

/// Where the client gets its credentials. It asks when it first needs them and again when
/// Atlas (or the token endpoint) refuses the current ones with 401; if the answer differs,
/// the refused request is sent once more with the new credentials (it was not processed).
///
/// [`Credentials`] (fixed) implements it, and so does any closure returning a future of
/// credentials, such as one reading the environment anew each time with
/// [`Credentials::from_env`]:
///
/// ```no_run
/// use atlas_migration::Credentials;
///
/// let client = atlas_migration::Client::builder()
///     .credentials_provider(|| async { Credentials::from_env() })
///     .build()?;
/// # Ok::<(), atlas_migration::Error>(())
/// ```
///
/// Or implement it over your secrets manager:
///
/// ```
/// use atlas_migration::{Credentials, CredentialsProvider, Error};
///
/// struct Vault;
/// impl CredentialsProvider for Vault {
///     async fn credentials(&self) -> Result<Credentials, Error> {
///         // ... read the current secret from your vault ...
///         Ok(Credentials::service_account("mdb_sa_id_1", "mdb_sa_sk_current".to_owned()))
///     }
/// }
/// let client = atlas_migration::Client::builder().credentials_provider(Vault).build()?;
/// # Ok::<(), atlas_migration::Error>(())
/// ```
pub trait CredentialsProvider: Send + Sync + 'static {
    /// The credentials to use now.
    fn credentials(&self) -> impl Future<Output = Result<Credentials, Error>> + Send;
}

impl CredentialsProvider for Credentials {
    async fn credentials(&self) -> Result<Credentials, Error> {
        Ok(self.clone())
    }
}

impl<F, Fut> CredentialsProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Credentials, Error>> + Send,
{
    fn credentials(&self) -> impl Future<Output = Result<Credentials, Error>> + Send {
        self()
    }
}

/// A provider behind a pointer: [`CredentialsProvider`] with its future boxed.
pub(crate) trait SharedProvider: Send + Sync + 'static {
    fn credentials(&self) -> Pin<Box<dyn Future<Output = Result<Credentials, Error>> + Send + '_>>;
}

impl<P: CredentialsProvider> SharedProvider for P {
    fn credentials(&self) -> Pin<Box<dyn Future<Output = Result<Credentials, Error>> + Send + '_>> {
        Box::pin(CredentialsProvider::credentials(self))
    }
}

/// Builds the authentication for one set of credentials.
pub(crate) type AuthFactory = Box<dyn Fn(Credentials) -> Result<Auth, Error> + Send + Sync>;

/// Authentication whose credentials come from a provider.
pub(crate) struct ProvidedAuth {
    provider: Arc<dyn SharedProvider>,
    factory: AuthFactory,
    current: tokio::sync::Mutex<Option<(Credentials, Arc<Auth>)>>,
}

impl ProvidedAuth {
    pub(crate) fn new(provider: Arc<dyn SharedProvider>, factory: AuthFactory) -> Self {
        Self {
            provider,
            factory,
            current: tokio::sync::Mutex::new(None),
        }
    }

    async fn fetch(&self) -> Result<Credentials, Failure> {
        let credentials = self.provider.credentials().await.map_err(Failure::Fatal)?;
        credentials.check().map_err(Failure::Fatal)?;
        Ok(credentials)
    }

    /// The authentication for the current credentials, asking the provider the first time.
    pub(crate) async fn current(&self) -> Result<Arc<Auth>, Failure> {
        let mut current = self.current.lock().await;
        if let Some((_, auth)) = current.as_ref() {
            return Ok(auth.clone());
        }
        let credentials = self.fetch().await?;
        let auth = Arc::new((self.factory)(credentials.clone()).map_err(Failure::Fatal)?);
        *current = Some((credentials, auth.clone()));
        Ok(auth)
    }

    /// The already-built authentication, if any (for queries that must not wait).
    pub(crate) fn peek(&self) -> Option<Arc<Auth>> {
        self.current
            .try_lock()
            .ok()
            .and_then(|c| c.as_ref().map(|(_, auth)| auth.clone()))
    }

    /// After `refused` was refused: the authentication for the provider's answer now, if it
    /// differs (or another caller already replaced it); `None` when the provider still gives
    /// the refused credentials.
    async fn replacement(&self, refused: &Arc<Auth>) -> Result<Option<Arc<Auth>>, Failure> {
        let mut current = self.current.lock().await;
        if let Some((_, auth)) = current.as_ref()
            && !Arc::ptr_eq(auth, refused)
        {
            return Ok(Some(auth.clone()));
        }
        let credentials = self.fetch().await?;
        if current
            .as_ref()
            .is_some_and(|(old, _)| same(old, &credentials))
        {
            return Ok(None);
        }
        tracing::info!("the credentials provider gave new credentials; using them");
        let auth = Arc::new((self.factory)(credentials.clone()).map_err(Failure::Fatal)?);
        *current = Some((credentials, auth.clone()));
        Ok(Some(auth))
    }

    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        recipe: &Recipe<'_>,
        during: &'static str,
        deadline: Option<Instant>,
    ) -> Result<reqwest::Response, Failure> {
        let auth = self.current().await?;
        match Box::pin(auth.send(http, recipe, during, deadline)).await {
            Err(Failure::Fatal(e)) if refused_credentials(&e) => {
                match self.replacement(&auth).await? {
                    Some(next) => Box::pin(next.send(http, recipe, during, deadline)).await,
                    None => Err(Failure::Fatal(e)),
                }
            }
            other => other,
        }
    }
}

/// Whether `e` says the credentials themselves were refused (not a stale nonce, not a
/// token endpoint that is down).
fn refused_credentials(e: &Error) -> bool {
    e.is_auth() && matches!(e.status(), Some(400 | 401))
}

/// Whether two credentials are the same, secrets included.
fn same(a: &Credentials, b: &Credentials) -> bool {
    match (&a.0, &b.0) {
        (
            Kind::ApiKey {
                public_key: p1,
                private_key: s1,
            },
            Kind::ApiKey {
                public_key: p2,
                private_key: s2,
            },
        ) => p1 == p2 && s1.expose_secret() == s2.expose_secret(),
        (
            Kind::ServiceAccount {
                client_id: i1,
                client_secret: s1,
            },
            Kind::ServiceAccount {
                client_id: i2,
                client_secret: s2,
            },
        ) => i1 == i2 && s1.expose_secret() == s2.expose_secret(),
        _ => false,
    }
}
