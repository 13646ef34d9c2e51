//! HTTP Digest (RFC 7616) for API keys: the math is `http-auth`'s; this file caches the
//! challenge so the steady state costs one exchange per call.
//!
//! * A request with a body is never sent without `Authorization`: a cold client first gets a
//!   challenge with a bodiless `GET {base}/api/atlas/v2` (the read-only API root), which
//!   cannot change anything and, unlike the operation's own path, exists for `GET`.
//! * Concurrent cold calls share one challenge round (single flight).
//! * Every later request carries `Authorization` preemptively, with the nonce count increasing
//!   under a lock.
//! * A 401 with `stale=true` means the key was right and the nonce retired: the fresh challenge
//!   is answered, up to [`MAX_STALE_RENEWALS`] times per attempt (concurrent calls sharing a
//!   nonce can see it retired more than once); past that the attempt fails as unprocessed, so
//!   the retry policy may send it again. A first 401 with a new nonce but no `stale` (an
//!   expired cached challenge) is answered once. Any other 401 is [`Error::Auth`], never a
//!   loop.

use std::sync::Mutex;

use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, StatusCode};
use http_auth::{DigestClient, PasswordParams};
use secrecy::{ExposeSecret, SecretString};

use super::Failure;
use crate::error::{AuthError, Error};

pub(crate) struct DigestAuth {
    username: String,
    password: SecretString,
    /// Where challenges are fetched: the read-only API root.
    probe_url: reqwest::Url,
    /// The challenge answered preemptively; its nonce count lives inside.
    cached: Mutex<Option<DigestClient>>,
    /// Held while fetching a challenge so that concurrent cold calls share one round.
    fetching: tokio::sync::Mutex<()>,
}

/// How many stale-nonce challenges one attempt answers before giving up.
pub(crate) const MAX_STALE_RENEWALS: usize = 3;

/// What a 401's challenge says about the one just answered.
struct Renewal {
    /// The nonce differs from the one answered.
    new_nonce: bool,
    /// The server says the answered nonce is stale (the credentials were right).
    stale: bool,
}

/// The `Authorization` value for one request and the nonce it answered.
struct Answer {
    header: HeaderValue,
    nonce: String,
}

impl DigestAuth {
    pub(crate) fn new(username: String, password: SecretString, probe_url: reqwest::Url) -> Self {
        Self {
            username,
            password,
            probe_url,
            cached: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<DigestClient>> {
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn has_challenge(&self) -> bool {
        self.lock().is_some()
    }

    /// Answers the cached challenge for `request`, if there is one.
    fn answer(&self, request: &reqwest::Request) -> Result<Option<Answer>, Error> {
        let url = request.url();
        let uri = match url.query() {
            Some(q) => format!("{}?{}", url.path(), q),
            None => url.path().to_owned(),
        };
        let mut cached = self.lock();
        let Some(client) = cached.as_mut() else {
            return Ok(None);
        };
        let header = authorization_for(
            client,
            &self.username,
            self.password.expose_secret(),
            request.method().as_str(),
            &uri,
        )?;
        Ok(Some(Answer {
            header,
            nonce: client.nonce().to_owned(),
        }))
    }

    /// Parses the digest challenge in `headers` and caches it when it differs from the one
    /// answered with `used_nonce`.
    fn learn(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        used_nonce: Option<&str>,
    ) -> Result<Renewal, Error> {
        let fresh = parse_challenge(headers).map_err(|why| {
            Error::Auth(AuthError::from_status(why, status.as_u16(), None, headers))
        })?;
        let renewal = Renewal {
            new_nonce: used_nonce != Some(fresh.nonce()),
            stale: fresh.stale(),
        };
        if renewal.new_nonce || renewal.stale {
            *self.lock() = Some(fresh);
        }
        Ok(renewal)
    }

    /// Makes sure a challenge is cached, fetching one with a bodiless GET if needed.
    async fn ensure_challenge(
        &self,
        http: &reqwest::Client,
        request: &reqwest::Request,
    ) -> Result<(), Failure> {
        if self.has_challenge() {
            return Ok(());
        }
        let _flight = self.fetching.lock().await;
        if self.has_challenge() {
            return Ok(());
        }
        let mut probe = reqwest::Request::new(Method::GET, self.probe_url.clone());
        *probe.timeout_mut() = request.timeout().copied();
        for name in [http::header::ACCEPT, http::header::USER_AGENT] {
            if let Some(v) = request.headers().get(&name) {
                probe.headers_mut().insert(name, v.clone());
            }
        }
        tracing::debug!("fetching a digest challenge");
        let reply = http.execute(probe).await.map_err(Failure::Transport)?;
        let status = reply.status();
        if status != StatusCode::UNAUTHORIZED {
            return Err(Failure::Fatal(Error::Auth(AuthError::from_status(
                "expected a digest challenge (HTTP 401) from a bodiless GET",
                status.as_u16(),
                None,
                reply.headers(),
            ))));
        }
        self.learn(status, reply.headers(), None)?;
        Ok(())
    }

    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        request: reqwest::Request,
    ) -> Result<reqwest::Response, Failure> {
        self.ensure_challenge(http, &request).await?;
        let mut pending = request;
        let mut stale_renewals = 0;
        for answered in 0.. {
            let spare = pending.try_clone();
            let answer = self
                .answer(&pending)?
                .ok_or_else(|| Error::auth("no digest challenge available"))?;
            pending.headers_mut().insert(AUTHORIZATION, answer.header);
            let reply = http.execute(pending).await.map_err(Failure::Transport)?;
            if reply.status() != StatusCode::UNAUTHORIZED {
                return Ok(reply);
            }
            let status = reply.status().as_u16();
            let renewal = self.learn(reply.status(), reply.headers(), Some(&answer.nonce))?;
            let refused = |message: &str| {
                Error::Auth(AuthError::from_status(
                    message,
                    status,
                    None,
                    reply.headers(),
                ))
            };
            let renew = renewal.stale || (answered == 0 && renewal.new_nonce);
            let Some(again) = spare.filter(|_| renew) else {
                return Err(Failure::Fatal(refused(
                    "the API key was refused (check the public and private key and the IP access list)",
                )));
            };
            if renewal.stale {
                stale_renewals += 1;
                if stale_renewals > MAX_STALE_RENEWALS {
                    return Err(Failure::Unprocessed(refused(
                        "the server kept declaring the digest nonce stale",
                    )));
                }
            }
            tracing::debug!(
                stale = renewal.stale,
                "digest challenge renewed; answering again"
            );
            pending = again;
        }
        unreachable!("the loop only ends by returning")
    }
}

/// Answers `client`'s challenge for one request (next nonce count) as a sensitive
/// `Authorization` value.
pub(crate) fn authorization_for(
    client: &mut DigestClient,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
) -> Result<HeaderValue, Error> {
    let value = client
        .respond(&PasswordParams {
            username,
            password,
            uri,
            method,
            body: None,
        })
        .map_err(|e| Error::auth(format!("cannot answer the digest challenge: {e}")))?;
    let mut header = HeaderValue::from_str(&value)
        .map_err(|_| Error::auth("the digest challenge produced an invalid header"))?;
    header.set_sensitive(true);
    Ok(header)
}

/// Finds the first usable Digest challenge among all `WWW-Authenticate` headers.
pub(crate) fn parse_challenge(headers: &HeaderMap) -> Result<DigestClient, String> {
    let mut why = String::from("the 401 reply carried no WWW-Authenticate header");
    for value in headers.get_all(WWW_AUTHENTICATE) {
        let Ok(text) = value.to_str() else {
            why = "the WWW-Authenticate header is not ASCII".into();
            continue;
        };
        match http_auth::parse_challenges(text) {
            Ok(challenges) => {
                for c in challenges
                    .iter()
                    .filter(|c| c.scheme.eq_ignore_ascii_case("Digest"))
                {
                    match DigestClient::try_from(c) {
                        Ok(client) => return Ok(client),
                        Err(e) => why = format!("unusable digest challenge: {e}"),
                    }
                }
                if !challenges.is_empty() && !why.starts_with("unusable") {
                    why = "the 401 reply offered no Digest challenge".into();
                }
            }
            Err(e) => why = format!("garbled WWW-Authenticate header: {e}"),
        }
    }
    Err(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(WWW_AUTHENTICATE, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn picks_digest_among_several_challenges() {
        let h = headers(&[
            r#"Bearer realm="x", Digest realm="MMS Public API", nonce="abc", qop="auth", algorithm=SHA-256"#,
        ]);
        let c = parse_challenge(&h).unwrap();
        assert_eq!(c.nonce(), "abc");
    }

    #[test]
    fn explains_missing_or_garbled_challenges() {
        assert!(
            parse_challenge(&headers(&[]))
                .unwrap_err()
                .contains("no WWW-Authenticate")
        );
        assert!(
            parse_challenge(&headers(&["Digest realm=\"x"]))
                .unwrap_err()
                .contains("garbled")
        );
        assert!(
            parse_challenge(&headers(&["Basic realm=\"x\""]))
                .unwrap_err()
                .contains("no Digest")
        );
    }
}
