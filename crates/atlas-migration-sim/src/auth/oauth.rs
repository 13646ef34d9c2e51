//! OAuth 2.0 client-credentials tokens for Atlas service accounts.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::rng::Rng;
use crate::token_reply::TokenReply;

/// Decodes `Basic base64(id:secret)`.
pub(crate) fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Extracts the token of `Bearer <token>`.
pub(crate) fn parse_bearer(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

#[derive(Debug)]
struct TokenState {
    expires_at: Duration,
    revoked: bool,
}

/// Live tokens Atlas allows a service account.
pub(crate) const DEFAULT_MAX_LIVE: usize = 100;

/// Issued access tokens.
#[derive(Debug)]
pub(crate) struct TokenStore {
    pub(crate) lifetime: Duration,
    /// What the token endpoint answers to valid credentials.
    pub(crate) reply: TokenReply,
    tokens: HashMap<String, TokenState>,
    issued: usize,
    /// Tokens that may live at once; beyond, the endpoint refuses (Atlas: 100 per service
    /// account, "Service Account Access Token Limits" in
    /// <https://www.mongodb.com/docs/mcp-server/remote-mcp/rate-limits/>).
    pub(crate) max_live: usize,
}

impl TokenStore {
    pub(crate) fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            reply: TokenReply::default(),
            tokens: HashMap::new(),
            issued: 0,
            max_live: DEFAULT_MAX_LIVE,
        }
    }

    /// Issues a new opaque token valid for the configured lifetime.
    pub(crate) fn issue(&mut self, now: Duration, rng: &mut Rng) -> String {
        let token = URL_SAFE_NO_PAD.encode(rng.bytes(48));
        self.tokens.insert(
            token.clone(),
            TokenState {
                expires_at: now + self.lifetime,
                revoked: false,
            },
        );
        self.issued += 1;
        token
    }

    /// Tokens neither revoked nor expired at `now`.
    pub(crate) fn live(&self, now: Duration) -> usize {
        self.tokens
            .values()
            .filter(|t| !t.revoked && now < t.expires_at)
            .count()
    }

    pub(crate) fn issued(&self) -> usize {
        self.issued
    }

    /// Every token issued, revoked and expired ones included.
    pub(crate) fn all(&self) -> Vec<String> {
        self.tokens.keys().cloned().collect()
    }

    /// Whether `token` was issued, is not revoked and has not expired.
    pub(crate) fn is_valid(&self, token: &str, now: Duration) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|t| !t.revoked && now < t.expires_at)
    }

    pub(crate) fn revoke(&mut self, token: &str) {
        if let Some(t) = self.tokens.get_mut(token) {
            t.revoked = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_can_be_revoked() {
        let mut rng = Rng::new(3);
        let mut store = TokenStore::new(Duration::from_secs(10));
        let a = store.issue(Duration::ZERO, &mut rng);
        let b = store.issue(Duration::ZERO, &mut rng);
        assert!(store.is_valid(&a, Duration::from_secs(9)));
        assert!(!store.is_valid(&a, Duration::from_secs(10)));
        store.revoke(&b);
        assert!(!store.is_valid(&b, Duration::ZERO));
        assert!(!store.is_valid("nope", Duration::ZERO));
    }

    #[test]
    fn basic_credentials_decode() {
        let h = format!("Basic {}", STANDARD.encode("id:sec:ret"));
        assert_eq!(parse_basic(&h), Some(("id".into(), "sec:ret".into())));
        assert_eq!(parse_bearer("Bearer abc"), Some("abc"));
    }
}
