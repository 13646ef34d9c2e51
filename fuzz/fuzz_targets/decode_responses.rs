//! Reply bodies decoded the way the client decodes them.
//!
//! Input: the first byte modulo 9 picks one of the 8 operations (success reply) or an error
//! reply. For a success the rest is the body, decoded and converted as the client does; it
//! must not panic. For an error, two bytes give the status, one byte flags
//! (bit 0: a `Retry-After` header follows, up to a newline; bit 1: repeat the body past the
//! read cap), and the rest is the body.

#![no_main]

use atlas_migration::fuzzing::{MAX_ERROR_BODY, OPERATIONS, decode_error, decode_success};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let pick = usize::from(selector) % (OPERATIONS.len() + 1);
    if let Some(&operation) = OPERATIONS.get(pick) {
        let _ = decode_success(operation, rest);
        return;
    }
    let [hi, lo, flags, rest @ ..] = rest else {
        return;
    };
    let status = u16::from_be_bytes([*hi, *lo]);
    let (retry_after, body) = if flags & 1 == 1 {
        match rest.iter().position(|&b| b == b'\n') {
            Some(n) => (Some(&rest[..n]), &rest[n + 1..]),
            None => (Some(rest), &b""[..]),
        }
    } else {
        (None, rest)
    };
    let long;
    let body = if flags & 2 == 2 && !body.is_empty() {
        long = body.repeat(MAX_ERROR_BODY / body.len() + 2);
        &long[..]
    } else {
        body
    };
    let message = decode_error(status, retry_after, body);
    assert!(
        message.len() <= 2 * MAX_ERROR_BODY + 4096,
        "message of {} bytes",
        message.len()
    );
});
