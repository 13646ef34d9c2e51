//! HTTP Digest authentication (RFC 7616) as Atlas does it: realm `MMS Public API`,
//! `qop="auth"`, MD5 by default or SHA-256; and, on request, as stricter servers do it (see
//! [`NoncePolicy`]).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use md5::Md5;
use sha2::{Digest as _, Sha256};

use crate::rng::Rng;

/// The realm Atlas announces.
pub const REALM: &str = "MMS Public API";

/// Digest hash algorithm the simulator announces and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DigestAlgorithm {
    /// `algorithm=MD5` (what Atlas uses).
    #[default]
    Md5,
    /// `algorithm=SHA-256`.
    Sha256,
}

impl DigestAlgorithm {
    /// The token used in the `algorithm` parameter.
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha256 => "SHA-256",
        }
    }

    /// The token in lower case (`md5`, `sha-256`), as some servers send it; RFC 7616 tokens
    /// are case-insensitive.
    pub fn lowercase_name(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha256 => "sha-256",
        }
    }

    /// Lowercase hex of the hash of `data`.
    pub fn hex_hash(self, data: &str) -> String {
        match self {
            Self::Md5 => to_hex(&Md5::digest(data.as_bytes())),
            Self::Sha256 => to_hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

/// Two digits a byte, from a table: formatting each byte took most of an answer's time, in
/// the server and in clients (benches) that answer with [`digest_response`].
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// The `response` value of RFC 7616 with `qop=auth`:
/// `H(H(user:realm:pass):nonce:nc:cnonce:qop:H(method:uri))`.
#[allow(clippy::too_many_arguments)]
pub fn digest_response(
    algorithm: DigestAlgorithm,
    username: &str,
    realm: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
    qop: &str,
) -> String {
    let ha1 = algorithm.hex_hash(&format!("{username}:{realm}:{password}"));
    let ha2 = algorithm.hex_hash(&format!("{method}:{uri}"));
    algorithm.hex_hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}"))
}

/// How the simulator counts the uses of a nonce. In every policy a refused use is answered
/// 401 with a fresh nonce and `stale=false`, like a wrong key: the server cannot tell them
/// apart.
///
/// ```
/// use atlas_migration_sim::{NoncePolicy, Simulator};
///
/// let strict = Simulator::builder().nonce_policy(NoncePolicy::StrictCounts);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum NoncePolicy {
    /// Each nonce count (`nc`) is accepted once per nonce, in any order, for the nonce's
    /// lifetime (the default). *Assumption*: this is how Atlas behaves as far as we know; its
    /// documentation does not say how it checks nonce counts.
    #[default]
    Lenient,
    /// Each `nc` must be greater than the last one accepted for its nonce; an `nc` that
    /// arrives out of order is refused. Apache httpd with `AuthDigestNcCheck On` behaves so
    /// (it is stricter still: it expects exactly the next count).
    StrictCounts,
    /// Each nonce is accepted once; any later use is refused. RFC 7616 section 5.5 describes
    /// such single-use nonces as the strongest protection against replay.
    OneTime,
}

/// Parameters of a `Digest` credentials header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DigestParams {
    pub(crate) username: String,
    pub(crate) realm: String,
    pub(crate) nonce: String,
    pub(crate) uri: String,
    pub(crate) response: String,
    pub(crate) qop: String,
    pub(crate) nc: String,
    pub(crate) cnonce: String,
    pub(crate) algorithm: Option<String>,
}

/// Parses `Digest k=v, k="v", ...`; `None` if it is not a digest header.
pub(crate) fn parse_authorization(header: &str) -> Option<DigestParams> {
    let header = header.trim_start();
    let (scheme, rest) = header.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("digest") {
        return None;
    }
    let mut params = DigestParams::default();
    for (key, value) in auth_params(rest)? {
        let slot = match key.to_ascii_lowercase().as_str() {
            "username" => &mut params.username,
            "realm" => &mut params.realm,
            "nonce" => &mut params.nonce,
            "uri" => &mut params.uri,
            "response" => &mut params.response,
            "qop" => &mut params.qop,
            "nc" => &mut params.nc,
            "cnonce" => &mut params.cnonce,
            "algorithm" => {
                params.algorithm = Some(value);
                continue;
            }
            _ => continue,
        };
        *slot = value;
    }
    Some(params)
}

/// Splits `k=v, k="quoted \" value"` into pairs; `None` on malformed input.
fn auth_params(input: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') || key.is_empty() {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => value.push(chars.next()?),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value));
    }
}

/// Checks the `response` of `params` for `method` and the given secret (pure, no nonce
/// bookkeeping). The algorithm parameter must match `algorithm` (absent means MD5).
pub(crate) fn verify_response(
    algorithm: DigestAlgorithm,
    params: &DigestParams,
    method: &str,
    password: &str,
) -> bool {
    let announced = params.algorithm.as_deref().unwrap_or("MD5");
    if !announced.eq_ignore_ascii_case(algorithm.name()) || params.qop != "auth" {
        return false;
    }
    let expected = digest_response(
        algorithm,
        &params.username,
        &params.realm,
        password,
        method,
        &params.uri,
        &params.nonce,
        &params.nc,
        &params.cnonce,
        &params.qop,
    );
    constant_time_eq(
        expected.as_bytes(),
        params.response.to_ascii_lowercase().as_bytes(),
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Result of checking digest credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigestOutcome {
    /// Valid; the nonce count was fresh.
    Valid,
    /// The digest was right but the nonce is expired, retired or unknown.
    Stale,
    /// Wrong user, password, realm, uri or algorithm, or a nonce count the [`NoncePolicy`]
    /// refuses.
    Rejected,
}

#[derive(Debug)]
struct NonceState {
    issued_at: Duration,
    retired: bool,
    /// Counts accepted so far (lenient policy).
    seen_nc: HashSet<u32>,
    /// Highest count accepted so far (strict and one-time policies).
    last_nc: Option<u32>,
}

impl NonceState {
    /// Records a use with count `nc`; false if `policy` refuses it.
    fn accept(&mut self, policy: NoncePolicy, nc: u32) -> bool {
        let accepted = match policy {
            NoncePolicy::Lenient => self.seen_nc.insert(nc),
            NoncePolicy::StrictCounts => self.last_nc.is_none_or(|last| nc > last),
            NoncePolicy::OneTime => self.last_nc.is_none(),
        };
        if accepted {
            self.last_nc = Some(self.last_nc.map_or(nc, |last| last.max(nc)));
        }
        accepted
    }
}

/// How the digest challenge is written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ChallengeStyle {
    /// `algorithm=md5` instead of `algorithm=MD5`.
    pub(crate) lowercase_algorithm: bool,
}

/// Digest verifier with its nonce bookkeeping.
#[derive(Debug)]
pub(crate) struct DigestAuth {
    pub(crate) algorithm: DigestAlgorithm,
    pub(crate) nonce_lifetime: Duration,
    policy: NoncePolicy,
    style: ChallengeStyle,
    nonces: HashMap<String, NonceState>,
}

impl DigestAuth {
    pub(crate) fn new(algorithm: DigestAlgorithm, nonce_lifetime: Duration) -> Self {
        Self {
            algorithm,
            nonce_lifetime,
            policy: NoncePolicy::default(),
            style: ChallengeStyle::default(),
            nonces: HashMap::new(),
        }
    }

    /// Sets how nonce uses are counted and how the challenge is written.
    pub(crate) fn configure(&mut self, policy: NoncePolicy, style: ChallengeStyle) {
        self.policy = policy;
        self.style = style;
    }

    /// Issues a nonce and returns the `WWW-Authenticate` value.
    pub(crate) fn challenge(&mut self, now: Duration, rng: &mut Rng, stale: bool) -> String {
        let keep = self.nonce_lifetime.saturating_mul(4);
        self.nonces
            .retain(|_, n| now.saturating_sub(n.issued_at) < keep);
        let nonce =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, rng.bytes(36));
        self.nonces.insert(
            nonce.clone(),
            NonceState {
                issued_at: now,
                retired: false,
                seen_nc: HashSet::new(),
                last_nc: None,
            },
        );
        let algorithm = if self.style.lowercase_algorithm {
            self.algorithm.lowercase_name()
        } else {
            self.algorithm.name()
        };
        format!(
            "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{nonce}\", algorithm={algorithm}, qop=\"auth\", stale={stale}"
        )
    }

    /// Verifies credentials for a request to `uri` (path and query) with `method`.
    pub(crate) fn verify(
        &mut self,
        params: &DigestParams,
        method: &str,
        uri: &str,
        username: &str,
        password: &str,
        now: Duration,
    ) -> DigestOutcome {
        if params.username != username || params.realm != REALM || params.uri != uri {
            return DigestOutcome::Rejected;
        }
        let Ok(nc) = u32::from_str_radix(&params.nc, 16) else {
            return DigestOutcome::Rejected;
        };
        if params.nc.len() != 8 || !verify_response(self.algorithm, params, method, password) {
            return DigestOutcome::Rejected;
        }
        let Some(state) = self.nonces.get_mut(&params.nonce) else {
            return DigestOutcome::Stale;
        };
        if state.retired || now.saturating_sub(state.issued_at) >= self.nonce_lifetime {
            return DigestOutcome::Stale;
        }
        if !state.accept(self.policy, nc) {
            return DigestOutcome::Rejected;
        }
        DigestOutcome::Valid
    }

    /// Makes a nonce stale from now on.
    pub(crate) fn retire(&mut self, nonce: &str) {
        if let Some(n) = self.nonces.get_mut(nonce) {
            n.retired = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The nonce of RFC 7616 section 3.9.1 (the published responses are computed with it).
    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc_params(algorithm: &str, response: &str) -> DigestParams {
        let header = format!(
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", \
             algorithm={algorithm}, nonce=\"{NONCE}\", nc=00000001, cnonce=\"{CNONCE}\", \
             qop=auth, response=\"{response}\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
        parse_authorization(&header).expect("parses")
    }

    #[test]
    fn rfc7616_md5_example_verifies() {
        let p = rfc_params("MD5", "8ca523f5e9506fed4657c9700eebdbec");
        assert_eq!(p.nonce, NONCE);
        assert!(verify_response(
            DigestAlgorithm::Md5,
            &p,
            "GET",
            "Circle of Life"
        ));
        assert!(!verify_response(
            DigestAlgorithm::Md5,
            &p,
            "GET",
            "circle of life"
        ));
        assert!(!verify_response(
            DigestAlgorithm::Md5,
            &p,
            "POST",
            "Circle of Life"
        ));
        assert!(!verify_response(
            DigestAlgorithm::Sha256,
            &p,
            "GET",
            "Circle of Life"
        ));
    }

    #[test]
    fn rfc7616_sha256_example_verifies() {
        let p = rfc_params(
            "SHA-256",
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        );
        assert!(verify_response(
            DigestAlgorithm::Sha256,
            &p,
            "GET",
            "Circle of Life"
        ));
        assert!(!verify_response(
            DigestAlgorithm::Sha256,
            &p,
            "GET",
            "Circle of life"
        ));
    }

    #[test]
    fn quoted_values_may_contain_commas_and_escapes() {
        let p = parse_authorization(r#"Digest username="a,b\"c", nc=00000002"#).unwrap();
        assert_eq!(p.username, "a,b\"c");
        assert_eq!(p.nc, "00000002");
        assert!(parse_authorization("Basic abc").is_none());
    }

    /// Issues a challenge from `auth` and returns its nonce.
    fn issue(auth: &mut DigestAuth) -> String {
        let challenge = auth.challenge(Duration::ZERO, &mut Rng::new(1), false);
        challenge
            .split("nonce=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    }

    /// Checks a right answer to `nonce` with count `nc` at 1 s.
    fn check(auth: &mut DigestAuth, nonce: &str, nc: &str) -> DigestOutcome {
        let mut p = DigestParams {
            username: "u".into(),
            realm: REALM.into(),
            nonce: nonce.into(),
            uri: "/x".into(),
            qop: "auth".into(),
            nc: nc.into(),
            cnonce: "c".into(),
            ..Default::default()
        };
        p.response = digest_response(
            DigestAlgorithm::Md5,
            "u",
            REALM,
            "p",
            "GET",
            "/x",
            nonce,
            nc,
            "c",
            "auth",
        );
        auth.verify(&p, "GET", "/x", "u", "p", Duration::from_secs(1))
    }

    #[test]
    fn strict_counts_refuse_a_count_that_arrives_out_of_order() {
        let mut auth = DigestAuth::new(DigestAlgorithm::Md5, Duration::from_secs(60));
        auth.configure(NoncePolicy::StrictCounts, ChallengeStyle::default());
        let nonce = issue(&mut auth);
        assert_eq!(check(&mut auth, &nonce, "00000001"), DigestOutcome::Valid);
        assert_eq!(check(&mut auth, &nonce, "00000003"), DigestOutcome::Valid);
        assert_eq!(
            check(&mut auth, &nonce, "00000002"),
            DigestOutcome::Rejected
        );
        assert_eq!(
            check(&mut auth, &nonce, "00000003"),
            DigestOutcome::Rejected
        );
        assert_eq!(check(&mut auth, &nonce, "00000004"), DigestOutcome::Valid);
    }

    #[test]
    fn one_time_nonces_are_accepted_once() {
        let mut auth = DigestAuth::new(DigestAlgorithm::Md5, Duration::from_secs(60));
        auth.configure(NoncePolicy::OneTime, ChallengeStyle::default());
        let nonce = issue(&mut auth);
        assert_eq!(check(&mut auth, &nonce, "00000001"), DigestOutcome::Valid);
        assert_eq!(
            check(&mut auth, &nonce, "00000002"),
            DigestOutcome::Rejected
        );
    }

    #[test]
    fn the_algorithm_token_can_be_written_in_lower_case() {
        let mut auth = DigestAuth::new(DigestAlgorithm::Sha256, Duration::from_secs(60));
        auth.configure(
            NoncePolicy::default(),
            ChallengeStyle {
                lowercase_algorithm: true,
            },
        );
        let challenge = auth.challenge(Duration::ZERO, &mut Rng::new(1), false);
        assert!(challenge.contains("algorithm=sha-256,"), "{challenge}");
    }

    #[test]
    fn nonce_counts_are_single_use_but_may_arrive_out_of_order() {
        let mut auth = DigestAuth::new(DigestAlgorithm::Md5, Duration::from_secs(60));
        let nonce = issue(&mut auth);
        let nonce = nonce.as_str();
        let params = |nc: &str| {
            let mut p = DigestParams {
                username: "u".into(),
                realm: REALM.into(),
                nonce: nonce.into(),
                uri: "/x".into(),
                qop: "auth".into(),
                nc: nc.into(),
                cnonce: "c".into(),
                ..Default::default()
            };
            p.response = digest_response(
                DigestAlgorithm::Md5,
                "u",
                REALM,
                "p",
                "GET",
                "/x",
                nonce,
                nc,
                "c",
                "auth",
            );
            p
        };
        let now = Duration::from_secs(1);
        let check = |a: &mut DigestAuth, nc| a.verify(&params(nc), "GET", "/x", "u", "p", now);
        assert_eq!(check(&mut auth, "00000002"), DigestOutcome::Valid);
        assert_eq!(check(&mut auth, "00000001"), DigestOutcome::Valid);
        assert_eq!(check(&mut auth, "00000002"), DigestOutcome::Rejected);
        let late = Duration::from_secs(61);
        assert_eq!(
            auth.verify(&params("00000003"), "GET", "/x", "u", "p", late),
            DigestOutcome::Stale
        );
    }
}
