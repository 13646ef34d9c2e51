//! The hash functions of a digest answer, taken from the crypto library the chosen TLS
//! feature compiles anyway: aws-lc-rs (`rustls-aws-lc`) or ring (`rustls-ring`) for SHA-256
//! and SHA-512/256; with `native-tls` alone, OpenSSL where native-tls uses it (SHA-512/256
//! looked up by name: the Rust binding has no constant for it) and RustCrypto's `sha2` on
//! Windows and Apple platforms. MD5, which neither rustls library offers, comes from `md5`,
//! which has no dependencies. A second crypto stack (RustCrypto's `sha2` with `digest`,
//! `generic-array` and `typenum`) was seven to nine crates and about two seconds of CPU in a
//! user's cold build.
//!
//! A build with no TLS feature cannot reach Atlas (HTTPS only) and answers MD5 alone, the
//! algorithm Atlas's challenges name today; a challenge for another is refused, saying why.

use super::challenge::Algorithm;

#[cfg(feature = "rustls-aws-lc")]
use aws_lc_rs::digest as tls_digest;
#[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc")))]
use ring::digest as tls_digest;

/// The longest output of these functions (SHA-256 and SHA-512/256: 32 bytes).
const MAX_LEN: usize = 32;

/// A hash value, on the stack.
pub(super) struct Output {
    bytes: [u8; MAX_LEN],
    len: usize,
}

impl Output {
    fn new(value: &[u8]) -> Self {
        let mut bytes = [0; MAX_LEN];
        let len = value.len().min(MAX_LEN);
        bytes[..len].copy_from_slice(&value[..len]);
        Output { bytes, len }
    }
}

impl AsRef<[u8]> for Output {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Whether this build can answer a challenge for `algorithm`.
pub(super) fn available(algorithm: Algorithm) -> bool {
    matches!(algorithm, Algorithm::Md5) || SHA_AVAILABLE
}

/// Why this build refuses a challenge for `algorithm` (named by its `token`).
pub(super) fn unavailable(token: &str) -> String {
    if SHA_AVAILABLE {
        format!("digest algorithm {token:?} is missing from this system's OpenSSL")
    } else {
        format!(
            "digest algorithm {token:?} needs a TLS feature of atlas-migration \
             (rustls-aws-lc, rustls-ring or native-tls); this build has none"
        )
    }
}

const SHA_AVAILABLE: bool = cfg!(any(
    feature = "rustls-aws-lc",
    feature = "rustls-ring",
    feature = "native-tls"
));

/// The hash of `parts` joined by `:` (RFC 7616 section 3.4.1); `None` when this build has no
/// such function (see [`available`]).
pub(super) fn joined(algorithm: Algorithm, parts: &[&[u8]]) -> Option<Output> {
    match algorithm {
        Algorithm::Md5 => {
            let mut context = md5::Context::new();
            for_each_joined(parts, |bytes| context.consume(bytes));
            Some(Output::new(&context.finalize().0))
        }
        Algorithm::Sha256 | Algorithm::Sha512Trunc256 => sha(algorithm, parts),
    }
}

/// Feeds `parts` with a `:` between each two.
fn for_each_joined(parts: &[&[u8]], mut feed: impl FnMut(&[u8])) {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            feed(b":");
        }
        feed(part);
    }
}

#[cfg(any(feature = "rustls-aws-lc", feature = "rustls-ring"))]
fn sha(algorithm: Algorithm, parts: &[&[u8]]) -> Option<Output> {
    let function = match algorithm {
        Algorithm::Sha512Trunc256 => &tls_digest::SHA512_256,
        _ => &tls_digest::SHA256,
    };
    let mut context = tls_digest::Context::new(function);
    for_each_joined(parts, |bytes| context.update(bytes));
    Some(Output::new(context.finish().as_ref()))
}

/// `None` only from an OpenSSL without SHA-512/256 (before 1.1.1).
#[cfg(all(
    feature = "native-tls",
    not(any(feature = "rustls-aws-lc", feature = "rustls-ring")),
    not(any(target_os = "windows", target_vendor = "apple"))
))]
fn sha(algorithm: Algorithm, parts: &[&[u8]]) -> Option<Output> {
    use openssl::hash::{Hasher, MessageDigest};
    let function = match algorithm {
        Algorithm::Sha512Trunc256 => MessageDigest::from_name("SHA512-256")?,
        _ => MessageDigest::sha256(),
    };
    let mut hasher = Hasher::new(function).ok()?;
    let mut fed = Ok(());
    for_each_joined(parts, |bytes| {
        if fed.is_ok() {
            fed = hasher.update(bytes);
        }
    });
    fed.ok()?;
    Some(Output::new(&hasher.finish().ok()?))
}

#[cfg(all(
    feature = "native-tls",
    not(any(feature = "rustls-aws-lc", feature = "rustls-ring")),
    any(target_os = "windows", target_vendor = "apple")
))]
fn sha(algorithm: Algorithm, parts: &[&[u8]]) -> Option<Output> {
    use sha2::Digest;
    fn with<D: Digest>(parts: &[&[u8]]) -> Output {
        let mut hasher = D::new();
        for_each_joined(parts, |bytes| hasher.update(bytes));
        Output::new(&hasher.finalize())
    }
    Some(match algorithm {
        Algorithm::Sha512Trunc256 => with::<sha2::Sha512_256>(parts),
        _ => with::<sha2::Sha256>(parts),
    })
}

#[cfg(not(any(
    feature = "rustls-aws-lc",
    feature = "rustls-ring",
    feature = "native-tls"
)))]
fn sha(_: Algorithm, _: &[&[u8]]) -> Option<Output> {
    None
}

/// For tests that run in every build: whether `text` (a challenge or a token) names a SHA
/// algorithm this build cannot answer, so that the test skips it here.
#[cfg(test)]
pub(super) fn unanswerable_here(text: &str) -> bool {
    !SHA_AVAILABLE && text.to_ascii_uppercase().contains("SHA-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(output: &Output) -> String {
        output.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The published values for "abc" (RFC 1321 for MD5; the NIST examples of FIPS 180-4 for
    /// SHA-256 and SHA-512/256).
    #[test]
    fn each_function_gives_the_published_value_for_this_build() {
        let md5 = joined(Algorithm::Md5, &[b"abc"]).expect("MD5 is in every build");
        assert_eq!(hex(&md5), "900150983cd24fb0d6963f7d28e17f72");
        let sha256 = joined(Algorithm::Sha256, &[b"abc"]);
        let sha512_256 = joined(Algorithm::Sha512Trunc256, &[b"abc"]);
        assert_eq!(available(Algorithm::Sha256), sha256.is_some());
        if SHA_AVAILABLE {
            assert_eq!(
                hex(&sha256.unwrap()),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            );
            assert_eq!(
                hex(&sha512_256.unwrap()),
                "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
            );
        } else {
            assert!(sha512_256.is_none());
        }
    }

    #[test]
    fn parts_are_joined_by_colons() {
        for algorithm in [Algorithm::Md5, Algorithm::Sha256, Algorithm::Sha512Trunc256] {
            let (Some(split), Some(whole)) = (
                joined(algorithm, &[b"user", b"realm", b"pass"]),
                joined(algorithm, &[b"user:realm:pass"]),
            ) else {
                assert!(!available(algorithm));
                continue;
            };
            assert_eq!(split.as_ref(), whole.as_ref(), "{algorithm:?}");
            let other = joined(algorithm, &[b"userrealm", b"pass"]).unwrap();
            assert_ne!(split.as_ref(), other.as_ref(), "{algorithm:?}");
        }
    }
}
