//! Credentials and the two ways Atlas authenticates API calls: HTTP Digest with a
//! programmatic API key, and OAuth2 client credentials with a service account.

#[cfg(feature = "atlas-cli")]
pub(crate) mod cli_profile;
pub(crate) mod digest;
pub(crate) mod provider;
pub(crate) mod service_account;

use std::fmt;

use secrecy::SecretString;
use tokio::time::Instant;

use crate::error::{Error, refuse_redirect};

/// How the client proves who it is.
///
/// `Debug` never shows the private key or client secret.
///
/// ```
/// use atlas_migration::Credentials;
///
/// let key = Credentials::api_key("abcdefgh", "d1c2b3a4-0000-1111-2222-333344445555".to_owned());
/// assert!(!format!("{key:?}").contains("d1c2b3a4"));
/// let account = Credentials::service_account("mdb_sa_id_1234", "mdb_sa_sk_secret".to_owned());
/// ```
#[derive(Clone)]
pub struct Credentials(pub(crate) Kind);

#[derive(Clone)]
pub(crate) enum Kind {
    ApiKey {
        public_key: String,
        private_key: SecretString,
    },
    ServiceAccount {
        client_id: String,
        client_secret: SecretString,
    },
}

impl Credentials {
    /// A programmatic API key (HTTP Digest authentication).
    ///
    /// ```
    /// let c = atlas_migration::Credentials::api_key("public", "private".to_owned());
    /// ```
    pub fn api_key(public_key: impl Into<String>, private_key: impl Into<SecretString>) -> Self {
        Self(Kind::ApiKey {
            public_key: public_key.into(),
            private_key: private_key.into(),
        })
    }

    /// A service account (OAuth2 client credentials; bearer tokens).
    ///
    /// ```
    /// let c = atlas_migration::Credentials::service_account("mdb_sa_id_1", "mdb_sa_sk_2".to_owned());
    /// ```
    pub fn service_account(
        client_id: impl Into<String>,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        Self(Kind::ServiceAccount {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        })
    }

    /// The credentials in the process environment, read now: the variables of
    /// [`ClientBuilder::from_lookup`](crate::ClientBuilder::from_lookup). As a provider,
    /// `|| async { Credentials::from_env() }` picks up a key rotated in the environment.
    ///
    /// ```no_run
    /// let credentials = atlas_migration::Credentials::from_env()?;
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        crate::ClientBuilder::from_env()?
            .credentials
            .ok_or_else(|| Error::invalid_input("environment", None, "holds no credentials"))
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        use secrecy::ExposeSecret;
        let (id_field, id, secret_field, secret) = match &self.0 {
            Kind::ApiKey {
                public_key,
                private_key,
            } => ("public API key", public_key, "private API key", private_key),
            Kind::ServiceAccount {
                client_id,
                client_secret,
            } => ("client id", client_id, "client secret", client_secret),
        };
        if id.trim().is_empty() {
            return Err(Error::invalid_input(id_field, None, "is empty"));
        }
        if secret.expose_secret().trim().is_empty() {
            return Err(Error::invalid_input(secret_field, None, "is empty"));
        }
        Ok(())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::ApiKey { public_key, .. } => f
                .debug_struct("ApiKey")
                .field("public_key", public_key)
                .field("private_key", &"[REDACTED]")
                .finish(),
            Kind::ServiceAccount { client_id, .. } => f
                .debug_struct("ServiceAccount")
                .field("client_id", client_id)
                .field("client_secret", &"[REDACTED]")
                .finish(),
        }
    }
}

/// Why one authenticated exchange failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Sending or receiving failed; may be retried.
    Transport(reqwest::Error),
    /// A final error to hand to the caller as it is.
    Fatal(Error),
    /// An error the server provably did not act on (it refused to authenticate the request),
    /// so the request may be sent again whatever its method.
    Unprocessed(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Fatal(e)
    }
}

/// How to make one attempt's request, each time it is sent: the first time, and again when
/// the server renews a digest challenge or refuses a token. Made afresh rather than copied
/// ahead in case a renewal comes (a copy per request was a measurable share of its cost).
pub(crate) struct Recipe<'a> {
    /// Where the request goes.
    pub(crate) url: &'a reqwest::Url,
    /// The request's own timeout.
    pub(crate) timeout: Option<std::time::Duration>,
    /// Makes the request, unauthenticated.
    pub(crate) make: &'a (dyn Fn() -> reqwest::Request + Send + Sync),
}

impl Recipe<'_> {
    pub(crate) fn make(&self) -> reqwest::Request {
        (self.make)()
    }
}

/// The authentication state shared by all clones of a client.
pub(crate) enum Auth {
    Digest(digest::DigestAuth),
    ServiceAccount(service_account::ServiceAccountAuth),
    /// Credentials from a provider: one of the above, rebuilt when they change.
    Provided(provider::ProvidedAuth),
}

impl Auth {
    /// Sends the request of `recipe` (for the operation `during`) authenticated,
    /// re-authenticating once if the server asks to. A wait for a digest challenge or a token
    /// ends by the caller's `deadline`, when it has one. A redirect is a final error, never
    /// followed.
    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        recipe: &Recipe<'_>,
        during: &'static str,
        deadline: Option<Instant>,
    ) -> Result<reqwest::Response, Failure> {
        let reply = match self {
            Auth::Digest(d) => d.send(http, recipe, during, deadline).await,
            Auth::ServiceAccount(s) => s.send(http, recipe, deadline).await,
            // The inner authentication's own `send` has checked the reply already.
            Auth::Provided(p) => return p.send(http, recipe, during, deadline).await,
        }?;
        refuse_redirect(recipe.url, reply, during).map_err(|e| Failure::Fatal(Error::from(e)))
    }
}
