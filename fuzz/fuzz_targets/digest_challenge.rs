//! A `WWW-Authenticate` value from a 401, answered the way the client answers it.
//!
//! Input: one byte picks the method; the bytes up to the first newline (at most 200) are the
//! request path, resolved against the API root as a URL (so it is encoded as on the wire); the
//! rest is the header value.

#![no_main]

use atlas_migration::fuzzing::{digest_authorization, successive_answers_agree};
use libfuzzer_sys::fuzz_target;

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(first) % METHODS.len()];
    let (path, header) = match rest.iter().take(200).position(|&b| b == b'\n') {
        Some(n) => (&rest[..n], &rest[n + 1..]),
        None => (&b""[..], rest),
    };
    let root = url::Url::parse("https://cloud.mongodb.com/api/atlas/v2/").unwrap();
    let Ok(url) = root.join(&String::from_utf8_lossy(path)) else {
        return;
    };
    let uri = match url.query() {
        Some(q) => format!("{}?{}", url.path(), q),
        None => url.path().to_owned(),
    };
    if let Some(answers) = digest_authorization(header, method, &uri) {
        for authorization in &answers {
            assert!(authorization.contains("Digest "), "{authorization}");
            assert!(authorization.contains("response=\""), "{authorization}");
        }
        assert!(successive_answers_agree(&answers), "{answers:?}");
    }
});
