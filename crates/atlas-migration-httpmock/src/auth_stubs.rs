//! Stubs for what surrounds the operations: the digest challenge an API-key client fetches
//! first, and the OAuth token endpoint a service-account client gets its bearer token from.
//! Written by hand (the spec describes neither), in the shapes Atlas uses.

use httpmock::{Mock, MockServer};

/// The realm Atlas announces in its digest challenges.
pub const DIGEST_REALM: &str = "MMS Public API";

/// Stubs for authentication, as extension methods on [`MockServer`].
pub trait AuthStubsExt {
    /// Answers the API root (`/api/atlas/v2`, which an API-key client probes for a digest
    /// challenge) with `401` and an MD5 `qop="auth"` challenge carrying `nonce`. With it in
    /// place, an API-key client authenticates against the stubs; they do not check the
    /// digest itself (use the simulator for that).
    ///
    /// ```
    /// use atlas_migration_httpmock::{AuthStubsExt, httpmock::MockServer};
    /// let server = MockServer::start();
    /// let challenge = server.digest_challenge("nonce-1");
    /// # let _ = challenge;
    /// ```
    fn digest_challenge(&self, nonce: &str) -> Mock<'_>;

    /// Answers `POST /api/oauth/token` with `access_token` valid for `expires_in` seconds, as
    /// Atlas's token endpoint does for a service account's client credentials.
    ///
    /// ```
    /// use atlas_migration_httpmock::{AuthStubsExt, httpmock::MockServer};
    /// let server = MockServer::start();
    /// let token = server.oauth_token("test-token", 3600);
    /// // ... run the code under test against `server.base_url()` ...
    /// token.assert_calls(0);
    /// ```
    fn oauth_token(&self, access_token: &str, expires_in: u64) -> Mock<'_>;

    /// Answers `POST /api/oauth/token` with `status` and an OAuth error body (`error`), e.g.
    /// 401 `invalid_client` for a wrong secret.
    ///
    /// ```
    /// use atlas_migration_httpmock::{AuthStubsExt, httpmock::MockServer};
    /// let server = MockServer::start();
    /// let refused = server.oauth_token_error(401, "invalid_client");
    /// # let _ = refused;
    /// ```
    fn oauth_token_error(&self, status: u16, error: &str) -> Mock<'_>;
}

impl AuthStubsExt for MockServer {
    fn digest_challenge(&self, nonce: &str) -> Mock<'_> {
        let challenge = format!(
            r#"Digest realm="{DIGEST_REALM}", domain="", nonce="{nonce}", algorithm=MD5, qop="auth", stale=false"#
        );
        self.mock(|when, then| {
            when.path("/api/atlas/v2");
            then.status(401)
                .header("www-authenticate", challenge.as_str())
                .header("content-type", "application/json")
                .json_body(serde_json::json!({
                    "error": 401, "errorCode": "UNAUTHORIZED", "reason": "Unauthorized"
                }));
        })
    }

    fn oauth_token(&self, access_token: &str, expires_in: u64) -> Mock<'_> {
        let body = serde_json::json!({
            "access_token": access_token, "token_type": "Bearer", "expires_in": expires_in
        });
        self.mock(|when, then| {
            when.method(httpmock::Method::POST).path("/api/oauth/token");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(body);
        })
    }

    fn oauth_token_error(&self, status: u16, error: &str) -> Mock<'_> {
        let body = serde_json::json!({ "error": error });
        self.mock(|when, then| {
            when.method(httpmock::Method::POST).path("/api/oauth/token");
            then.status(status)
                .header("content-type", "application/json")
                .json_body(body);
        })
    }
}
