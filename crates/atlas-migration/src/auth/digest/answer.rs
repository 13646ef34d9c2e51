//! Answering a digest challenge: the response hash and the `Authorization` value of RFC 7616
//! section 3.4, with `qop=auth` (or RFC 2069's answer to a challenge without `qop`).
//!
//! Written here rather than taken from `http-auth`'s `DigestClient`, whose client nonces come
//! from `rand` 0.8 and with it five more crates in every user's build (nearly a quarter of
//! the compile time this crate added to a cold build of a dependent); the hashes are those of
//! the TLS feature's crypto library ([`hash`]), the client nonce the operating system's
//! (`getrandom`), and the answers are checked against `DigestClient`'s in the tests.

use std::fmt::Write as _;

use http::HeaderValue;
use secrecy::ExposeSecret;

use super::challenge::{Algorithm, Challenge};
use super::hash;
use crate::error::Error;

/// The quality of protection answered: the request line is covered, the body is not.
const QOP: &str = "auth";

impl Algorithm {
    /// Lower-case hex of the hash of `parts` joined by `:` (RFC 7616 section 3.4.1).
    fn hash(self, parts: &[&[u8]]) -> Result<Hex, Error> {
        match hash::joined(self, parts) {
            Some(output) => Ok(Hex::of(output.as_ref())),
            // Challenges for it are refused when read; this is the same refusal, kept typed.
            None => Err(Error::auth(hash::unavailable(self.token(false)))),
        }
    }
}

/// Lower-case hex of up to 32 bytes (a hash, a client nonce, a nonce count), on the stack:
/// several are written per request, none needs an allocation of its own.
struct Hex {
    digits: [u8; 64],
    len: usize,
}

impl Hex {
    fn of(bytes: &[u8]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [0u8; 64];
        let bytes = &bytes[..bytes.len().min(32)];
        for (pair, byte) in digits.chunks_exact_mut(2).zip(bytes) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
        }
        Hex {
            digits,
            len: 2 * bytes.len(),
        }
    }

    fn as_str(&self) -> &str {
        // Hex digits only: always UTF-8.
        std::str::from_utf8(&self.digits[..self.len]).unwrap_or_default()
    }
}

/// Answers `challenge` for one request (its next nonce count) as a sensitive
/// `Authorization` value.
pub(crate) fn authorization_for(
    challenge: &mut Challenge,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
) -> Result<HeaderValue, Error> {
    let cnonce = client_nonce()?;
    let value = answer(challenge, username, password, method, uri, cnonce.as_str())?;
    // The answer's bytes become the header's, checked but not copied.
    let mut header = HeaderValue::from_maybe_shared(bytes::Bytes::from(value))
        .map_err(|_| Error::auth("the digest challenge produced an invalid header"))?;
    header.set_sensitive(true);
    Ok(header)
}

/// 128 bits from the operating system, in hex: unpredictable to the server, as RFC 7616
/// section 5.4 asks of a client nonce.
fn client_nonce() -> Result<Hex, Error> {
    let no_bytes = |why: &dyn std::fmt::Display| {
        Error::auth(format!(
            "no random bytes for the digest client nonce: {why}"
        ))
    };
    // `try_with`: a thread being torn down has no pool, and that is an error, not a panic.
    let bytes = NONCE_BYTES
        .try_with(|pool| pool.borrow_mut().take())
        .map_err(|e| no_bytes(&e))?
        .map_err(|e| no_bytes(&e))?;
    Ok(Hex::of(&bytes))
}

/// Client nonces drawn per call to the operating system: one system call serves this many
/// requests instead of one each (a system call per request was a measurable share of a
/// call's CPU under load).
const NONCES_PER_DRAW: usize = 64;

thread_local! {
    static NONCE_BYTES: std::cell::RefCell<NoncePool> = const {
        std::cell::RefCell::new(NoncePool { bytes: [0; 16 * NONCES_PER_DRAW], used: NONCES_PER_DRAW })
    };
}

/// Random bytes from the operating system, handed out 16 at a time, each once.
struct NoncePool {
    bytes: [u8; 16 * NONCES_PER_DRAW],
    /// Nonces already handed out of `bytes`.
    used: usize,
}

impl NoncePool {
    fn take(&mut self) -> Result<[u8; 16], getrandom::Error> {
        if self.used >= NONCES_PER_DRAW {
            getrandom::fill(&mut self.bytes)?;
            self.used = 0;
        }
        let start = 16 * self.used;
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&self.bytes[start..start + 16]);
        self.used += 1;
        Ok(nonce)
    }
}

/// The parameters every answer to one challenge writes alike, written (and checked) once:
/// the user and realm before the `uri`, the nonce and algorithm after it, the opaque value
/// last. Only the `uri`, counts, client nonce and response change from request to request.
#[derive(Debug, Clone)]
pub(crate) struct Fixed {
    before_uri: String,
    after_uri: String,
    last: String,
}

impl Fixed {
    fn of(challenge: &Challenge, username: &str) -> Result<Self, Error> {
        let mut before_uri = Params::opening(String::new());
        if challenge.userhash {
            let hashed = challenge
                .algorithm
                .hash(&[username.as_bytes(), challenge.realm.as_bytes()])?;
            before_uri.quoted("username", hashed.as_str())?;
            before_uri.bare("userhash", "true");
        } else if username
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        {
            before_uri.quoted("username", username)?;
        } else {
            before_uri.extended("username", username);
        }
        before_uri.quoted("realm", &challenge.realm)?;
        let mut after_uri = Params::continuing(String::new());
        after_uri.quoted("nonce", &challenge.nonce)?;
        if !challenge.rfc2069 {
            after_uri.bare("algorithm", challenge.algorithm.token(challenge.session));
        }
        let mut last = Params::continuing(String::new());
        if let Some(opaque) = &challenge.opaque {
            last.quoted("opaque", opaque)?;
        }
        Ok(Fixed {
            before_uri: before_uri.text,
            after_uri: after_uri.text,
            last: last.text,
        })
    }
}

/// The `Authorization` value answering `challenge` with `cnonce`; counts the nonce's use.
fn answer(
    challenge: &mut Challenge,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
) -> Result<String, Error> {
    let count = challenge
        .count
        .checked_add(1)
        .ok_or_else(|| Error::auth("the digest nonce count is exhausted"))?;
    let fixed = match challenge.fixed.take() {
        Some(kept) => kept,
        None => Fixed::of(challenge, username)?,
    };
    let nc = Hex::of(&count.to_be_bytes());
    let (h, nonce, realm) = (
        challenge.algorithm,
        challenge.nonce.as_bytes(),
        challenge.realm.as_bytes(),
    );
    let plain = match &challenge.ha1 {
        Some(kept) => kept.expose_secret(),
        None => challenge
            .ha1
            .insert(
                h.hash(&[username.as_bytes(), realm, password.as_bytes()])?
                    .as_str()
                    .into(),
            )
            .expose_secret(),
    };
    let session_ha1;
    let ha1 = if challenge.session {
        session_ha1 = h.hash(&[plain.as_bytes(), nonce, cnonce.as_bytes()])?;
        session_ha1.as_str()
    } else {
        plain
    };
    let ha2 = h.hash(&[method.as_bytes(), uri.as_bytes()])?;
    let response = if challenge.rfc2069 {
        h.hash(&[ha1.as_bytes(), nonce, ha2.as_str().as_bytes()])?
    } else {
        h.hash(&[
            ha1.as_bytes(),
            nonce,
            nc.as_str().as_bytes(),
            cnonce.as_bytes(),
            QOP.as_bytes(),
            ha2.as_str().as_bytes(),
        ])?
    };

    let mut text = String::with_capacity(
        fixed.before_uri.len() + fixed.after_uri.len() + fixed.last.len() + uri.len() + 160,
    );
    text.push_str(&fixed.before_uri);
    let mut out = Params::continuing(text);
    out.quoted("uri", uri)?;
    out.text.push_str(&fixed.after_uri);
    if !challenge.rfc2069 {
        out.bare("nc", nc.as_str());
        out.quoted("cnonce", cnonce)?;
        out.bare("qop", QOP);
    }
    out.quoted("response", response.as_str())?;
    out.text.push_str(&fixed.last);
    challenge.fixed = Some(fixed);
    challenge.count = count;
    Ok(out.text)
}

fn control_character(name: &str) -> Error {
    Error::auth(format!("the digest {name} holds a control character"))
}

/// `Digest name=value, ...` as it is written.
struct Params {
    text: String,
    /// Whether `Digest ` is written already (each parameter after it needs a `, `).
    opened: bool,
}

impl Params {
    /// The start of a header: the first parameter follows `Digest `.
    fn opening(text: String) -> Self {
        Params {
            text,
            opened: false,
        }
    }

    /// Parameters that follow others: each one after `, `.
    fn continuing(text: String) -> Self {
        Params { text, opened: true }
    }

    fn separator(&mut self) {
        self.text
            .push_str(if self.opened { ", " } else { "Digest " });
        self.opened = true;
    }

    fn bare(&mut self, name: &str, value: &str) {
        self.separator();
        self.text.push_str(name);
        self.text.push('=');
        self.text.push_str(value);
    }

    /// A quoted string (RFC 9110 section 5.6.4): `"` and `\` escaped, control characters
    /// refused (they cannot be written in a header).
    fn quoted(&mut self, name: &str, value: &str) -> Result<(), Error> {
        // The common case, visible ASCII without a quote or backslash, is written as it is.
        // Checked without an early exit, which lets the compiler check many bytes at once.
        let plain = value.bytes().fold(true, |plain, b| {
            plain & (b' '..=b'~').contains(&b) & (b != b'"') & (b != b'\\')
        });
        if !plain {
            for byte in value.bytes() {
                if (byte < b' ' && byte != b'\t') || byte == 0x7f {
                    return Err(control_character(name));
                }
            }
            // Only text beyond ASCII can hold C1 controls.
            if !value.is_ascii() && value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(control_character(name));
            }
        }
        self.separator();
        self.text.push_str(name);
        self.text.push_str("=\"");
        if plain {
            self.text.push_str(value);
        } else {
            for c in value.chars() {
                if c == '"' || c == '\\' {
                    self.text.push('\\');
                }
                self.text.push(c);
            }
        }
        self.text.push('"');
        Ok(())
    }

    /// `name*=UTF-8''...` (RFC 8187), for a value a quoted string cannot carry (RFC 7616
    /// section 3.4.4).
    fn extended(&mut self, name: &str, value: &str) {
        self.separator();
        let _ = write!(self.text, "{name}*=UTF-8''");
        for byte in value.bytes() {
            let attr_char = byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte);
            if attr_char {
                self.text.push(char::from(byte));
            } else {
                let _ = write!(self.text, "%{byte:02X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderMap;
    use http::header::WWW_AUTHENTICATE;

    use super::super::challenge::parse_challenge;
    use super::*;

    /// RFC 7616 section 3.9.1.
    const RFC_CHALLENGE: &str = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=ALGORITHM, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    const RFC_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn challenge(header: &str) -> Challenge {
        let mut headers = HeaderMap::new();
        headers.insert(WWW_AUTHENTICATE, header.parse().unwrap());
        parse_challenge(&headers).unwrap()
    }

    fn response_of(answer: &str) -> &str {
        let start = answer.find("response=\"").unwrap() + "response=\"".len();
        &answer[start..start + answer[start..].find('"').unwrap()]
    }

    #[test]
    fn the_rfc_examples_are_answered_as_published() {
        for (algorithm, response) in [
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            if hash::unanswerable_here(algorithm) {
                continue;
            }
            let mut c = challenge(&RFC_CHALLENGE.replace("ALGORITHM", algorithm));
            let answer = answer(
                &mut c,
                "Mufasa",
                "Circle of Life",
                "GET",
                "/dir/index.html",
                RFC_CNONCE,
            )
            .unwrap();
            assert_eq!(response_of(&answer), response, "{algorithm}");
            assert!(answer.starts_with("Digest username=\"Mufasa\", realm="));
            assert!(answer.contains(&format!("algorithm={algorithm}, nc=00000001, ")));
            assert!(answer.contains(", qop=auth, "));
            assert_eq!(c.count, 1);
        }
    }

    #[test]
    fn each_answer_counts_the_nonce_and_a_spent_count_is_refused() {
        let mut c = challenge(r#"Digest realm="r", nonce="n", qop="auth""#);
        answer(&mut c, "u", "p", "GET", "/", "c").unwrap();
        let second = answer(&mut c, "u", "p", "GET", "/", "c").unwrap();
        assert!(second.contains("nc=00000002"));
        c.count = u32::MAX;
        assert!(answer(&mut c, "u", "p", "GET", "/", "c").is_err());
        assert_eq!(c.count, u32::MAX);
    }

    #[test]
    fn a_control_character_from_the_server_is_refused_not_sent() {
        let mut c = challenge(r#"Digest realm="r", nonce="n", qop="auth""#);
        for control in ["r\nX-Injected: 1", "r\u{7f}", "r\u{85}", "\u{0}"] {
            c.realm = control.into();
            assert!(
                answer(&mut c, "u", "p", "GET", "/", "c").is_err(),
                "{control:?}"
            );
            assert_eq!(c.count, 0, "a refused answer spends no count");
        }
        let mut c = challenge(r#"Digest realm="r", nonce="n", qop="auth""#);
        c.realm = "a\trealm \u{e4} \"quoted\"".into();
        let answered = answer(&mut c, "u", "p", "GET", "/", "c").unwrap();
        assert!(
            answered.contains("realm=\"a\trealm \u{e4} \\\"quoted\\\"\""),
            "{answered}"
        );
    }

    #[test]
    fn client_nonces_differ() {
        let mut c = challenge(r#"Digest realm="r", nonce="n", qop="auth""#);
        let a = authorization_for(&mut c, "u", "p", "GET", "/").unwrap();
        let b = authorization_for(&mut c, "u", "p", "GET", "/").unwrap();
        assert!(a.is_sensitive());
        assert_ne!(a, b);
    }

    #[test]
    fn client_nonces_stay_distinct_across_draws_from_the_system() {
        let nonces: std::collections::HashSet<String> = (0..3 * NONCES_PER_DRAW + 1)
            .map(|_| client_nonce().unwrap().as_str().to_owned())
            .collect();
        assert_eq!(nonces.len(), 3 * NONCES_PER_DRAW + 1);
        assert!(nonces.iter().all(|n| n.len() == 32 && n != &"0".repeat(32)));
    }

    /// Every kind of challenge, answered as `http-auth`'s `DigestClient` answers it.
    #[test]
    fn answers_match_http_auth() {
        let challenges = [
            r#"Digest realm="MMS Public API", nonce="abc", qop="auth", algorithm=MD5"#,
            r#"Digest realm="r", nonce="n", qop="auth", algorithm=MD5-sess"#,
            r#"Digest realm="r", nonce="n", qop="auth,auth-int", algorithm=SHA-256, opaque="o\"q""#,
            r#"Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256-sess"#,
            r#"Digest realm="api@example.org", nonce="n", qop="auth", algorithm=SHA-512-256, userhash=true"#,
            r#"Digest realm="r", nonce="n", qop="auth", algorithm=SHA-512-256-sess"#,
            r#"Digest realm="a \"quoted\" realm", nonce="n""#,
        ];
        for header in challenges {
            if hash::unanswerable_here(header) {
                continue;
            }
            for (username, uri) in [
                ("abcdefgh", "/api/atlas/v2/groups/g/liveMigrations?x=1"),
                ("J\u{e4}s\u{f8}n Doe", "/doe.json"),
                ("with \"quotes\"", "/"),
            ] {
                let mut ours = challenge(header);
                let parsed = http_auth::parse_challenges(header).unwrap();
                let mut theirs = http_auth::DigestClient::try_from(&parsed[0]).unwrap();
                for _ in 0..2 {
                    let params = http_auth::PasswordParams {
                        username,
                        password: "Secret, or not?",
                        uri,
                        method: "POST",
                        body: None,
                    };
                    let expected = theirs
                        .respond_with_testing_cnonce(&params, RFC_CNONCE)
                        .unwrap();
                    let got = answer(
                        &mut ours,
                        username,
                        "Secret, or not?",
                        "POST",
                        uri,
                        RFC_CNONCE,
                    )
                    .unwrap();
                    assert_eq!(got, expected, "{header} as {username}");
                }
            }
        }
    }
}
