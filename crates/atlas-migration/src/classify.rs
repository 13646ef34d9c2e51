//! The one place that decides whether a request may be sent again.
//!
//! Every retry decision of the crate comes from [`decide`]: the transport's retry loop, the
//! waiters' "keep polling?", the workflow's "did create maybe happen?" and
//! [`Error::is_retryable`](crate::Error::is_retryable). The rule: repeat only what the server
//! provably did not act on, or what is harmless to repeat (an idempotent operation, RFC 9110
//! section 9.2.2).

use std::time::Duration;

use http::HeaderMap;

use crate::error::RetryAfter;

/// What happened to one attempt.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Attempt<'a> {
    /// The connection could not be opened: the request never left.
    ConnectFailed,
    /// The request may have reached the server but no complete reply came back (timeout,
    /// connection reset, a body cut short).
    NoReply,
    /// The server answered.
    Replied {
        /// The HTTP status.
        status: u16,
        /// The reply's headers (for `Retry-After`).
        headers: &'a HeaderMap,
    },
    /// Authentication stopped the request before the server acted on it (a nonce the server
    /// kept declaring stale, a token endpoint that failed before the call was sent).
    NotProcessed,
    /// A final answer: refused credentials, a local error.
    Final,
}

/// What to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Send again, no sooner than the server's hint when it gave one.
    Repeat {
        /// The server's `Retry-After`, if any.
        after: Option<Duration>,
        /// Whether the server refused the request for want of rate-limit budget (a 429):
        /// documented as not processed, so repeating it costs no attempt while the caller
        /// has a deadline.
        refused: bool,
    },
    /// Do not send again.
    Stop,
}

impl Decision {
    /// Whether this decision allows another attempt.
    pub(crate) fn repeats(self) -> bool {
        matches!(self, Decision::Repeat { .. })
    }
}

/// Statuses that usually go away on their own. 429 is Atlas's rate limit, answered before
/// the request is processed ("Rate Limiting" in the Atlas Administration API docs); 500,
/// 502, 503 and 504 are server or gateway trouble, after which the request may or may not
/// have been processed.
pub(crate) fn is_transient_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// Whether an attempt of an operation (`idempotent` per its HTTP method) may be repeated.
pub(crate) fn decide(idempotent: bool, attempt: Attempt<'_>) -> Decision {
    let repeat = |headers: Option<&HeaderMap>, refused| Decision::Repeat {
        after: headers
            .and_then(RetryAfter::from_headers)
            .map(|hint| hint.delay),
        refused,
    };
    match attempt {
        Attempt::ConnectFailed | Attempt::NotProcessed => repeat(None, false),
        Attempt::NoReply if idempotent => repeat(None, false),
        Attempt::Replied {
            status: 429,
            headers,
        } => repeat(Some(headers), true),
        Attempt::Replied { status, headers } if idempotent && is_transient_status(status) => {
            repeat(Some(headers), false)
        }
        Attempt::NoReply | Attempt::Replied { .. } | Attempt::Final => Decision::Stop,
    }
}

/// Whether the server may have acted on a request after `attempt`: the question to ask
/// before sending a non-idempotent request again (did `create` perhaps create?). A refused
/// connection, an unprocessed authentication failure, a 429 or another 4xx mean it did
/// not; no reply, a 5xx or a success mean it may have.
pub(crate) fn may_have_acted(attempt: Attempt<'_>) -> bool {
    match attempt {
        Attempt::ConnectFailed | Attempt::NotProcessed | Attempt::Final => false,
        Attempt::NoReply => true,
        Attempt::Replied { status, .. } => !(400..500).contains(&status),
    }
}

#[cfg(test)]
mod tests {
    use http::header::{HeaderValue, RETRY_AFTER};

    use super::*;

    /// The whole rule as a table: (idempotent, attempt, repeat?).
    #[test]
    fn the_decision_table() {
        let none = HeaderMap::new();
        let replied = |status| Attempt::Replied {
            status,
            headers: &none,
        };
        let table: Vec<(bool, Attempt<'_>, bool)> = vec![
            (true, Attempt::ConnectFailed, true),
            (false, Attempt::ConnectFailed, true),
            (true, Attempt::NotProcessed, true),
            (false, Attempt::NotProcessed, true),
            (true, Attempt::NoReply, true),
            (false, Attempt::NoReply, false),
            (true, Attempt::Final, false),
            (false, Attempt::Final, false),
            (true, replied(429), true),
            (false, replied(429), true),
            (true, replied(500), true),
            (false, replied(500), false),
            (true, replied(502), true),
            (true, replied(503), true),
            (false, replied(503), false),
            (true, replied(504), true),
            (true, replied(501), false),
            (true, replied(400), false),
            (true, replied(401), false),
            (true, replied(404), false),
            (false, replied(409), false),
            (true, replied(200), false),
        ];
        for (idempotent, attempt, expected) in table {
            assert_eq!(
                decide(idempotent, attempt).repeats(),
                expected,
                "idempotent={idempotent} {attempt:?}"
            );
        }
    }

    #[test]
    fn what_the_server_may_have_acted_on() {
        let none = HeaderMap::new();
        let replied = |status| Attempt::Replied {
            status,
            headers: &none,
        };
        for (attempt, acted) in [
            (Attempt::ConnectFailed, false),
            (Attempt::NotProcessed, false),
            (Attempt::Final, false),
            (Attempt::NoReply, true),
            (replied(429), false),
            (replied(400), false),
            (replied(409), false),
            (replied(500), true),
            (replied(503), true),
            (replied(201), true),
        ] {
            assert_eq!(may_have_acted(attempt), acted, "{attempt:?}");
        }
    }

    #[test]
    fn a_retry_after_hint_travels_with_the_decision() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let decision = decide(
            false,
            Attempt::Replied {
                status: 429,
                headers: &headers,
            },
        );
        assert_eq!(
            decision,
            Decision::Repeat {
                after: Some(Duration::from_secs(7)),
                refused: true,
            }
        );
    }
}
