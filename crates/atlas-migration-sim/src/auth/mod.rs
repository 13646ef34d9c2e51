//! Authentication: HTTP Digest with API keys, and OAuth bearer tokens for service accounts.

pub mod digest;
pub(crate) mod oauth;

use std::time::Duration;

use crate::rng::Rng;

/// The credentials the simulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// API key public key (digest username).
    pub public_key: String,
    /// API key private key (digest password).
    pub private_key: String,
    /// Service account client id.
    pub client_id: String,
    /// Service account client secret.
    pub client_secret: String,
}

impl Credentials {
    /// Random credentials in the shapes Atlas uses: an 8-letter public key, a UUID-like
    /// private key, `mdb_sa_id_<24 hex>` and `mdb_sa_sk_<random>`.
    pub(crate) fn random(rng: &mut Rng) -> Self {
        Self {
            public_key: rng.letters(8),
            private_key: rng.uuid_like(),
            client_id: format!("mdb_sa_id_{}", rng.object_id()),
            client_secret: format!("mdb_sa_sk_{}", rng.hex(40)),
        }
    }
}

/// How a request authenticated, or why it did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthResult {
    /// Valid digest using this nonce.
    Digest { nonce: String },
    /// Valid bearer token.
    Bearer,
    /// No `Authorization` header.
    Missing,
    /// Digest credentials that failed; `stale` when only the nonce was at fault.
    DigestFailed { stale: bool },
    /// Unknown, revoked or expired bearer token, or an unsupported scheme.
    BearerFailed,
}

impl AuthResult {
    pub(crate) fn is_ok(&self) -> bool {
        matches!(self, Self::Digest { .. } | Self::Bearer)
    }
}

/// Everything authentication needs, kept in the simulator state.
#[derive(Debug)]
pub(crate) struct Authenticator {
    pub(crate) credentials: Credentials,
    pub(crate) digest: digest::DigestAuth,
    pub(crate) tokens: oauth::TokenStore,
}

impl Authenticator {
    pub(crate) fn new(
        credentials: Credentials,
        algorithm: digest::DigestAlgorithm,
        nonce_lifetime: Duration,
        token_lifetime: Duration,
    ) -> Self {
        Self {
            credentials,
            digest: digest::DigestAuth::new(algorithm, nonce_lifetime),
            tokens: oauth::TokenStore::new(token_lifetime),
        }
    }

    /// Checks an `Authorization` header of a request `method uri`.
    pub(crate) fn check(
        &mut self,
        authorization: Option<&str>,
        method: &str,
        uri: &str,
        now: Duration,
    ) -> AuthResult {
        let Some(header) = authorization else {
            return AuthResult::Missing;
        };
        if let Some(token) = oauth::parse_bearer(header) {
            return if self.tokens.is_valid(token, now) {
                AuthResult::Bearer
            } else {
                AuthResult::BearerFailed
            };
        }
        let Some(params) = digest::parse_authorization(header) else {
            return AuthResult::BearerFailed;
        };
        let creds = &self.credentials;
        match self.digest.verify(
            &params,
            method,
            uri,
            &creds.public_key,
            &creds.private_key,
            now,
        ) {
            digest::DigestOutcome::Valid => AuthResult::Digest {
                nonce: params.nonce,
            },
            digest::DigestOutcome::Stale => AuthResult::DigestFailed { stale: true },
            digest::DigestOutcome::Rejected => AuthResult::DigestFailed { stale: false },
        }
    }
}
