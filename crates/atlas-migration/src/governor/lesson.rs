//! Reading what a reply says about its rate-limit bucket.
//!
//! The one signal relied on is a refusal: a 429 (Atlas's rate-limit page: "not processed",
//! whatever its `errorCode` says: the page shows `RATE_LIMITED_TOKEN_BUCKET`, the API spec's
//! example `RATE_LIMITED`), a reply of any status carrying one of those codes, or a 503 with
//! `Retry-After` (a server shedding load). Everything else is a hint that speeds learning
//! when present: `RateLimit-Limit` (capacity), `RateLimit-Remaining` (tokens left),
//! `Retry-After`, and a refusal's detail, which on the rate-limit page reads "… Please retry
//! after 55 seconds. Request capacity: 10. Refill rate: 5 per 60 seconds." Atlas may omit any
//! of these and may word the detail otherwise: each is optional, and a value that does not
//! parse is ignored, never trusted.

use std::time::Duration;

use http::{HeaderMap, HeaderName};

use super::bucket::Lesson;
use crate::error::RetryAfter;

/// Error codes that say a request was refused for want of budget.
const RATE_LIMIT_CODES: [&str; 2] = ["RATE_LIMITED", "RATE_LIMITED_TOKEN_BUCKET"];

/// Names made once, not parsed from text on every reply.
static RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
static RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");

/// What a reply's error body says, when it was read.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ErrorBody<'a> {
    pub(crate) error_code: Option<&'a str>,
    pub(crate) detail: Option<&'a str>,
}

/// What `headers` (and, for an error, its body's code and `detail`) teach about the bucket.
pub(crate) fn read(status: u16, headers: &HeaderMap, body: ErrorBody<'_>) -> Lesson {
    let detail = body.detail;
    let number = |name: &HeaderName| {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    let from_detail = detail.map(parse_detail).unwrap_or_default();
    let retry_after = RetryAfter::from_headers(headers).map(|r| r.delay);
    let coded = body
        .error_code
        .is_some_and(|code| RATE_LIMIT_CODES.contains(&code));
    Lesson {
        capacity: number(&RATELIMIT_LIMIT).or(from_detail.capacity),
        remaining: number(&RATELIMIT_REMAINING),
        rate: from_detail.rate,
        retry_after,
        refused: status == 429 || coded || (status == 503 && retry_after.is_some()),
    }
}

/// Capacity and refill rate from a detail like "Request capacity: 10. Refill rate: 5 per 60
/// seconds."
fn parse_detail(detail: &str) -> Lesson {
    let after = |label: &str| {
        let start = detail.find(label)? + label.len();
        Some(detail[start..].trim_start())
    };
    let leading_number = |text: &str| -> Option<u64> {
        let digits: String = text
            .chars()
            .take_while(char::is_ascii_digit)
            .take(12)
            .collect();
        digits.parse().ok()
    };
    let capacity = after("Request capacity:")
        .and_then(leading_number)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let rate = after("Refill rate:").and_then(|text| {
        let tokens = leading_number(text)?;
        let period = leading_number(text.split_once(" per ")?.1.trim_start())?;
        (tokens > 0 && period > 0)
            .then(|| tokens as f64 / Duration::from_secs(period).as_secs_f64())
    });
    Lesson {
        capacity,
        rate,
        ..Lesson::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HeaderValue, RETRY_AFTER};

    #[test]
    fn reads_the_documented_headers_and_detail() {
        let mut h = HeaderMap::new();
        h.insert("ratelimit-limit", HeaderValue::from_static("10"));
        h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert(RETRY_AFTER, HeaderValue::from_static("55"));
        let detail = "Rate limit exceeded for api/atlas/v2/orgs. Please retry after 55 seconds. \
                      Request capacity: 10. Refill rate: 5 per 60 seconds.";
        let l = read(
            429,
            &h,
            ErrorBody {
                error_code: Some("RATE_LIMITED_TOKEN_BUCKET"),
                detail: Some(detail),
            },
        );
        assert_eq!(l.capacity, Some(10));
        assert_eq!(l.remaining, Some(0));
        assert_eq!(l.retry_after, Some(Duration::from_secs(55)));
        assert!((l.rate.unwrap() - 5.0 / 60.0).abs() < 1e-12);
        assert!(l.refused);
    }

    #[test]
    fn missing_or_garbled_values_are_ignored() {
        let mut h = HeaderMap::new();
        h.insert("ratelimit-limit", HeaderValue::from_static("-3"));
        h.insert(
            "ratelimit-remaining",
            HeaderValue::from_static("99999999999999"),
        );
        let l = read(
            200,
            &h,
            ErrorBody {
                error_code: None,
                detail: Some("Refill rate: 0 per 60 seconds. Request capacity: x"),
            },
        );
        assert_eq!(l.capacity, None);
        assert_eq!(l.remaining, Some(u32::MAX));
        assert_eq!(l.rate, None);
        assert!(!l.refused);
        assert_eq!(
            read(200, &HeaderMap::new(), ErrorBody::default()),
            Lesson::default()
        );
    }

    #[test]
    fn refusals_are_any_429_a_rate_limit_code_or_a_503_with_retry_after() {
        let none = HeaderMap::new();
        let mut retry = HeaderMap::new();
        retry.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        let coded = |code| ErrorBody {
            error_code: Some(code),
            detail: None,
        };
        assert!(read(429, &none, ErrorBody::default()).refused, "any 429");
        assert!(read(429, &none, coded("SOMETHING_ELSE")).refused);
        assert!(read(403, &none, coded("RATE_LIMITED")).refused);
        assert!(read(400, &none, coded("RATE_LIMITED_TOKEN_BUCKET")).refused);
        assert!(read(503, &retry, ErrorBody::default()).refused);
        assert!(!read(503, &none, ErrorBody::default()).refused);
        assert!(!read(500, &retry, ErrorBody::default()).refused);
        assert!(!read(404, &none, coded("NOT_FOUND")).refused);
    }
}
