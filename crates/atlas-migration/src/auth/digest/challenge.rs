//! Reading a digest challenge out of `WWW-Authenticate` (RFC 7616 section 3.3). The header's
//! grammar is `http-auth`'s parser; which parameters count and what they mean is here.
//!
//! Tokens are read without regard to case, quoted or not: servers spell them otherwise than
//! the registry (Twisted sends `algorithm="md5"`). A token read wrongly could only make the
//! server refuse the answer, which is reported as a refusal.

use http::HeaderMap;
use http::header::WWW_AUTHENTICATE;
use http_auth::ChallengeRef;

/// The hash functions of the IANA "HTTP Digest Algorithm Values" registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Md5,
    Sha256,
    Sha512Trunc256,
}

impl Algorithm {
    const ALL: [Self; 3] = [Self::Md5, Self::Sha256, Self::Sha512Trunc256];

    /// The registry's tokens, without and with `-sess`.
    fn tokens(self) -> [&'static str; 2] {
        match self {
            Self::Md5 => ["MD5", "MD5-sess"],
            Self::Sha256 => ["SHA-256", "SHA-256-sess"],
            Self::Sha512Trunc256 => ["SHA-512-256", "SHA-512-256-sess"],
        }
    }

    /// The algorithm and whether it is the session variant, from a token in any case.
    fn read(token: &str) -> Option<(Self, bool)> {
        Self::ALL.into_iter().find_map(|algorithm| {
            let [plain, session] = algorithm.tokens();
            if token.eq_ignore_ascii_case(plain) {
                Some((algorithm, false))
            } else if token.eq_ignore_ascii_case(session) {
                Some((algorithm, true))
            } else {
                None
            }
        })
    }

    /// The token as registered (what the answer sends back).
    pub(crate) fn token(self, session: bool) -> &'static str {
        let [plain, sess] = self.tokens();
        if session { sess } else { plain }
    }
}

/// A server's digest challenge and how many requests have answered it.
#[derive(Debug, Clone)]
pub(crate) struct Challenge {
    pub(crate) realm: String,
    pub(crate) nonce: String,
    pub(crate) opaque: Option<String>,
    pub(crate) algorithm: Algorithm,
    /// `-sess`: the first hash also covers the nonce and the client's nonce.
    pub(crate) session: bool,
    /// The challenge named no `qop`: an RFC 2069 answer, without count or client nonce.
    pub(crate) rfc2069: bool,
    /// `userhash=true`: the answer names the user by a hash.
    pub(crate) userhash: bool,
    /// `stale=true`: the previous answer was right, its nonce no longer is.
    pub(crate) stale: bool,
    /// Requests that have answered this nonce (the last nonce count sent).
    pub(crate) count: u32,
    /// The first hash of the answer (user, realm, password), kept from the first answer: a
    /// challenge is answered with one client's credentials only (its pool is that client's),
    /// and the realm does not change. As good as the password for this realm, so secret.
    pub(crate) ha1: Option<secrecy::SecretString>,
    /// What every answer to this challenge writes the same way, kept from the first answer
    /// for the same reason as `ha1`.
    pub(crate) fixed: Option<super::answer::Fixed>,
}

impl Challenge {
    /// Reads a `Digest` challenge's parameters; the error says why it cannot be answered.
    fn read(challenge: &ChallengeRef<'_>) -> Result<Self, String> {
        let mut realm = None;
        let mut nonce = None;
        let mut opaque = None;
        let mut algorithm = (Algorithm::Md5, false);
        let mut qop = None;
        let mut userhash = false;
        let mut stale = false;
        for (name, value) in &challenge.params {
            let value = value.to_unescaped();
            let is = |known: &str| name.eq_ignore_ascii_case(known);
            if is("realm") {
                realm = Some(value);
            } else if is("nonce") {
                nonce = Some(value);
            } else if is("opaque") {
                opaque = Some(value);
            } else if is("algorithm") {
                algorithm = Algorithm::read(&value)
                    .ok_or_else(|| format!("unsupported digest algorithm {value:?}"))?;
                if !super::hash::available(algorithm.0) {
                    return Err(super::hash::unavailable(&value));
                }
            } else if is("qop") {
                qop = Some(value);
            } else if is("userhash") {
                userhash = value.eq_ignore_ascii_case("true");
            } else if is("stale") {
                stale = value.eq_ignore_ascii_case("true");
            }
        }
        let offers_auth = qop.as_deref().map(|offered| {
            offered
                .split(',')
                .any(|option| option.trim().eq_ignore_ascii_case("auth"))
        });
        let rfc2069 = match offers_auth {
            Some(true) => false,
            Some(false) => return Err("the challenge offers no qop=auth (only auth-int?)".into()),
            None if algorithm.1 => return Err("a -sess algorithm without qop".into()),
            None => true,
        };
        Ok(Self {
            realm: realm.ok_or("the challenge has no realm")?,
            nonce: nonce.ok_or("the challenge has no nonce")?,
            opaque,
            algorithm: algorithm.0,
            session: algorithm.1,
            rfc2069,
            userhash,
            stale,
            count: 0,
            ha1: None,
            fixed: None,
        })
    }
}

/// Finds the first usable Digest challenge among all `WWW-Authenticate` headers.
pub(crate) fn parse_challenge(headers: &HeaderMap) -> Result<Challenge, String> {
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
                    match Challenge::read(c) {
                        Ok(challenge) => return Ok(challenge),
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
    fn a_challenge_this_build_cannot_hash_is_refused_saying_why() {
        let h = headers(&[r#"Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256"#]);
        match parse_challenge(&h) {
            Ok(challenge) => {
                assert!(super::super::hash::available(Algorithm::Sha256));
                assert_eq!(challenge.algorithm, Algorithm::Sha256);
            }
            Err(why) => {
                assert!(!super::super::hash::available(Algorithm::Sha256));
                assert!(why.contains("needs a TLS feature"), "{why}");
            }
        }
    }

    #[test]
    fn picks_digest_among_several_challenges() {
        let h = headers(&[
            r#"Bearer realm="x", Digest realm="MMS Public API", nonce="abc", qop="auth", algorithm=MD5, opaque="o", stale=TRUE"#,
        ]);
        let c = parse_challenge(&h).unwrap();
        assert_eq!(
            (c.realm.as_str(), c.nonce.as_str(), c.opaque.as_deref()),
            ("MMS Public API", "abc", Some("o"))
        );
        assert_eq!(
            (c.algorithm, c.session, c.rfc2069),
            (Algorithm::Md5, false, false)
        );
        assert!(c.stale && !c.userhash);
        assert_eq!(c.count, 0);
    }

    #[test]
    fn algorithm_tokens_are_read_whatever_their_case_or_quotes() {
        for (token, algorithm, session) in [
            ("md5", Algorithm::Md5, false),
            ("\"md5\"", Algorithm::Md5, false),
            ("Md5-Sess", Algorithm::Md5, true),
            ("sha-256", Algorithm::Sha256, false),
            ("SHA-256-sess", Algorithm::Sha256, true),
            ("sha-512-256", Algorithm::Sha512Trunc256, false),
        ] {
            if super::super::hash::unanswerable_here(token) {
                continue;
            }
            let h = headers(&[&format!(
                r#"Digest realm="r", nonce="n", qop="auth", algorithm={token}"#
            )]);
            let c = parse_challenge(&h).unwrap_or_else(|e| panic!("{token}: {e}"));
            assert_eq!((c.algorithm, c.session), (algorithm, session), "{token}");
        }
        let unknown = headers(&[r#"Digest realm="r", nonce="n", algorithm=sha-1"#]);
        assert!(parse_challenge(&unknown).unwrap_err().contains("unusable"));
    }

    #[test]
    fn reads_the_quality_of_protection_offered() {
        let both = headers(&[r#"Digest realm="r", nonce="n", qop="auth-int, auth""#]);
        assert!(!parse_challenge(&both).unwrap().rfc2069);
        let none = headers(&[r#"Digest realm="r", nonce="n""#]);
        assert!(parse_challenge(&none).unwrap().rfc2069);
        for refused in [
            r#"Digest realm="r", nonce="n", qop="auth-int""#,
            r#"Digest realm="r", nonce="n", algorithm=MD5-sess"#,
            r#"Digest nonce="n", qop="auth""#,
            r#"Digest realm="r", qop="auth""#,
        ] {
            let why = parse_challenge(&headers(&[refused])).unwrap_err();
            assert!(
                why.starts_with("unusable digest challenge"),
                "{refused}: {why}"
            );
        }
    }

    #[test]
    fn the_registered_spelling_is_sent_back() {
        assert_eq!(Algorithm::Md5.token(false), "MD5");
        assert_eq!(Algorithm::Sha256.token(true), "SHA-256-sess");
        assert_eq!(Algorithm::Sha512Trunc256.token(false), "SHA-512-256");
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
