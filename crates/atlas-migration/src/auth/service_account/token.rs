//! A bearer token as the client keeps it, and how the token endpoint's reply becomes one.
//!
//! The reply comes from the network, so nothing in it is trusted: the token must be usable
//! as a header value before it is kept, and `expires_in` may be any JSON at all. Atlas
//! documents the reply as `access_token` (string), `token_type` and `expires_in` (integer
//! seconds), and its tokens as valid for one hour:
//! <https://www.mongodb.com/docs/atlas/api/service-accounts/generate-oauth2-token/>,
//! <https://www.mongodb.com/docs/atlas/api/api-authentication/>.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::header::HeaderValue;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

/// How long Atlas documents its service account tokens to last; also the longest lifetime
/// believed, whatever `expires_in` says, and the lifetime assumed when it says nothing
/// readable. A token that dies sooner is refused with 401, and refreshed once then.
pub(crate) const DOCUMENTED_LIFETIME: Duration = Duration::from_secs(3600);

/// The longest token kept. Atlas's are JWTs of about a kilobyte; a header this long is
/// already refused by many servers.
pub(crate) const MAX_TOKEN_LEN: usize = 8 * 1024;

/// A bearer token ready to send. No `Debug`: it holds the secret.
pub(crate) struct Token {
    /// The token itself, for revocation.
    pub(crate) value: SecretString,
    /// `Bearer <token>`, checked on receipt and marked sensitive.
    pub(crate) header: HeaderValue,
    /// When the token endpoint said it expires (at most [`DOCUMENTED_LIFETIME`] away).
    pub(crate) expires_at: DateTime<Utc>,
    /// From when on the next caller fetches a new one.
    pub(crate) refresh_at: Instant,
    /// Its request in the client's token ledger, if it has one.
    pub(crate) ledger_entry: Option<super::ledger::Entry>,
}

impl Token {
    /// A token of `value`, living `lifetime` from now, refreshed `margin` before it expires
    /// — or a quarter of its lifetime before, if that is sooner, so that a short-lived token
    /// still serves three quarters of its life instead of one call.
    pub(crate) fn new(
        value: String,
        lifetime: Duration,
        margin: Duration,
    ) -> Result<Self, &'static str> {
        let header = bearer_header(&value)?;
        let lifetime = lifetime.min(DOCUMENTED_LIFETIME);
        let margin = margin.min(lifetime / 4);
        let now = Instant::now();
        let expires_at = chrono::Duration::from_std(lifetime)
            .ok()
            .and_then(|d| Utc::now().checked_add_signed(d))
            .unwrap_or_else(Utc::now);
        Ok(Self {
            value: SecretString::from(value),
            header,
            expires_at,
            refresh_at: now.checked_add(lifetime - margin).unwrap_or(now),
            ledger_entry: None,
        })
    }

    /// Whether the token is still good for a new call.
    pub(crate) fn is_fresh(&self) -> bool {
        Instant::now() < self.refresh_at
    }
}

/// `Bearer <token>` for a token of visible ASCII (RFC 6750's token characters are a subset)
/// no longer than [`MAX_TOKEN_LEN`]; why not, otherwise (never quoting the token).
fn bearer_header(token: &str) -> Result<HeaderValue, &'static str> {
    if token.is_empty() {
        return Err("an empty access token");
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err("an access token longer than 8 KiB");
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("an access token that is not a valid header value");
    }
    let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "an access token that is not a valid header value")?;
    header.set_sensitive(true);
    Ok(header)
}

/// The token endpoint's success reply. `expires_in` is read as any JSON value, so that no
/// number or type a server sends can fail the reply or overflow a clock.
#[derive(Deserialize)]
pub(crate) struct TokenReply {
    access_token: String,
    #[serde(default)]
    expires_in: Value,
}

impl TokenReply {
    /// The token this reply grants, refreshed `margin` before it expires; why it cannot be
    /// used otherwise.
    pub(crate) fn into_token(self, margin: Duration) -> Result<Token, &'static str> {
        let lifetime = lifetime(&self.expires_in);
        Token::new(self.access_token, lifetime, margin)
    }
}

/// The lifetime `expires_in` grants, within `[0, DOCUMENTED_LIFETIME]`: whole or fractional
/// seconds, as a number or a numeric string; negative means already expired. Anything else
/// (absent, `null`, text, a non-finite number) is taken as the documented hour.
pub(crate) fn lifetime(expires_in: &Value) -> Duration {
    let seconds = match expires_in {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if s.is_finite() => {
            let capped = s.clamp(0.0, DOCUMENTED_LIFETIME.as_secs_f64());
            Duration::try_from_secs_f64(capped).unwrap_or(DOCUMENTED_LIFETIME)
        }
        _ => DOCUMENTED_LIFETIME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn any_expires_in_gives_a_lifetime_within_the_documented_hour() {
        let hour = DOCUMENTED_LIFETIME;
        let cases = [
            (json!(3600), hour),
            (json!(600), Duration::from_secs(600)),
            (json!(1e13), hour),
            (json!(i64::MAX), hour),
            (json!(u64::MAX), hour),
            (json!(-5), Duration::ZERO),
            (json!(i64::MIN), Duration::ZERO),
            (json!(0.5), Duration::from_millis(500)),
            (json!(-0.0), Duration::ZERO),
            (json!("120"), Duration::from_secs(120)),
            (json!(" 7 "), Duration::from_secs(7)),
            (json!("inf"), hour),
            (json!("NaN"), hour),
            (json!("soon"), hour),
            (json!(null), hour),
            (json!(true), hour),
            (json!([60]), hour),
            (json!({"s": 60}), hour),
        ];
        for (value, expected) in cases {
            assert_eq!(lifetime(&value), expected, "{value}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_refresh_margin_shrinks_for_short_lived_tokens() {
        let margin = Duration::from_secs(60);
        for (lifetime, usable) in [(3600, 3540), (60, 45), (10, 7), (0, 0)] {
            let token = Token::new("t".into(), Duration::from_secs(lifetime), margin).unwrap();
            let usable_for = token.refresh_at - Instant::now();
            let expected =
                Duration::from_secs_f64(f64::from(usable) + if lifetime == 10 { 0.5 } else { 0.0 });
            assert_eq!(usable_for, expected, "lifetime {lifetime}");
        }
        let token = Token::new("t".into(), Duration::MAX, Duration::MAX).unwrap();
        assert!(token.expires_at <= Utc::now() + chrono::Duration::hours(1));
    }

    #[test]
    fn unusable_tokens_are_refused_without_being_quoted() {
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        for bad in ["", "line\nbreak", "with space", "tab\t", "é", long.as_str()] {
            let why = Token::new(bad.into(), DOCUMENTED_LIFETIME, Duration::ZERO)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(bad.len() < 2 || !why.contains(bad), "{why}");
        }
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZGJfc2EifQ.c2ln-_~+/=";
        let token = Token::new(jwt.into(), DOCUMENTED_LIFETIME, Duration::ZERO).unwrap();
        assert!(token.header.is_sensitive());
        assert_eq!(token.header.to_str().unwrap(), format!("Bearer {jwt}"));
    }
}
