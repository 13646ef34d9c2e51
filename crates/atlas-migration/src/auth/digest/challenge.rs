//! Reading a digest challenge out of `WWW-Authenticate` and answering it; the math is
//! `http-auth`'s.
//!
//! `http-auth` only knows the algorithm tokens spelled exactly as registered (`MD5`,
//! `SHA-256`, ...), but servers spell them otherwise: Twisted sends `algorithm="md5"`. The
//! token is matched without regard to case and rewritten to its registered spelling before
//! the challenge is handed over. A token read wrongly could only make the server refuse
//! the answer, which is reported as a refusal.

use http::HeaderMap;
use http::header::{HeaderValue, WWW_AUTHENTICATE};
use http_auth::{ChallengeRef, DigestClient, ParamValue, PasswordParams};

use crate::error::Error;

/// The algorithm tokens of the IANA "HTTP Digest Algorithm Values" registry, spelled as
/// registered.
const ALGORITHMS: [&str; 6] = [
    "MD5",
    "MD5-sess",
    "SHA-256",
    "SHA-256-sess",
    "SHA-512-256",
    "SHA-512-256-sess",
];

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
                    match DigestClient::try_from(&registered_spelling(c)) {
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

/// `challenge` with its algorithm token spelled as registered (`md5` becomes `MD5`); a
/// token that is not registered is left for `http-auth` to refuse.
fn registered_spelling<'a>(challenge: &ChallengeRef<'a>) -> ChallengeRef<'a> {
    let mut normalized = challenge.clone();
    for (name, value) in &mut normalized.params {
        if !name.eq_ignore_ascii_case("algorithm") {
            continue;
        }
        let token = value.to_unescaped();
        let spelled = ALGORITHMS
            .iter()
            .find(|known| known.eq_ignore_ascii_case(&token));
        if let Some(known) = spelled
            && let Ok(registered) = ParamValue::try_from_escaped(known)
        {
            *value = registered;
        }
    }
    normalized
}

#[cfg(test)]
mod tests {
    use http_auth::digest::Algorithm;

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
    fn algorithm_tokens_are_read_whatever_their_case_or_quotes() {
        for (token, algorithm, session) in [
            ("md5", Algorithm::Md5, false),
            ("\"md5\"", Algorithm::Md5, false),
            ("Md5-Sess", Algorithm::Md5, true),
            ("sha-256", Algorithm::Sha256, false),
            ("sha-512-256", Algorithm::Sha512Trunc256, false),
        ] {
            let h = headers(&[&format!(
                r#"Digest realm="r", nonce="n", qop="auth", algorithm={token}"#
            )]);
            let c = parse_challenge(&h).unwrap_or_else(|e| panic!("{token}: {e}"));
            assert_eq!(
                (c.algorithm(), c.session()),
                (algorithm, session),
                "{token}"
            );
        }
        let unknown = headers(&[r#"Digest realm="r", nonce="n", algorithm=sha-1"#]);
        assert!(parse_challenge(&unknown).unwrap_err().contains("unusable"));
    }

    #[test]
    fn a_lower_case_challenge_is_answered_with_the_registered_token() {
        let h = headers(&[r#"Digest realm="r", nonce="n", qop="auth", algorithm=md5"#]);
        let mut c = parse_challenge(&h).unwrap();
        let answer = authorization_for(&mut c, "u", "p", "GET", "/x").unwrap();
        assert!(answer.to_str().unwrap().contains("algorithm=MD5"));
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
