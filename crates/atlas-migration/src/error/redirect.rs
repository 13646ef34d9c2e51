//! [`RedirectError`]: a reply that tried to send the client elsewhere.

use std::fmt;

/// A reply redirected the request (HTTP 3xx), and the client refused to follow.
///
/// The Atlas Admin API does not redirect: a redirect comes from a misconfigured base URL or
/// proxy, or from an attacker. Following it would re-send the request's body (which may hold
/// the source cluster's password) and its credentials to another host, or turn a `POST` into
/// a `GET` and return another server's reply as Atlas's answer, so the client never does.
#[derive(Debug, Clone)]
pub(crate) struct RedirectError {
    pub(super) status: u16,
    pub(super) target: Option<String>,
    pub(super) during: &'static str,
}

impl RedirectError {
    /// A redirect with `status` towards `location` (resolved against `sent`), met during
    /// `during` (an operation or endpoint name). Only the target's scheme, host and port
    /// are kept: a location's user, password, path and query are never stored.
    pub(crate) fn new(
        status: u16,
        sent: &reqwest::Url,
        location: Option<&http::HeaderValue>,
        during: &'static str,
    ) -> Self {
        let target = location
            .and_then(|v| v.to_str().ok())
            .and_then(|l| sent.join(l).ok())
            .and_then(|url| {
                let host = url.host_str()?;
                Some(match url.port() {
                    Some(port) => format!("{}://{host}:{port}", url.scheme()),
                    None => format!("{}://{host}", url.scheme()),
                })
            });
        Self {
            status,
            target,
            during,
        }
    }

    /// Where the redirect pointed (scheme, host and port only), if its `Location` was
    /// readable.
    pub(crate) fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} answered HTTP {} redirecting ",
            self.during, self.status
        )?;
        match &self.target {
            Some(target) => write!(f, "to {target}")?,
            None => f.write_str("to an unreadable location")?,
        }
        f.write_str(
            "; not followed: the Atlas Admin API does not redirect, so check the base URL \
             and any proxy in between",
        )
    }
}

impl std::error::Error for RedirectError {}

/// The reply to a request sent to `sent`, unless it is a redirect, or the HTTP client
/// followed one (a caller-supplied client may be configured to).
pub(crate) fn refuse_redirect(
    sent: &reqwest::Url,
    reply: reqwest::Response,
    during: &'static str,
) -> Result<reqwest::Response, RedirectError> {
    if reply.status().is_redirection() {
        return Err(RedirectError::new(
            reply.status().as_u16(),
            sent,
            reply.headers().get(http::header::LOCATION),
            during,
        ));
    }
    if reply.url() != sent {
        let location = http::HeaderValue::from_str(reply.url().as_str()).ok();
        return Err(RedirectError::new(
            reply.status().as_u16(),
            sent,
            location.as_ref(),
            during,
        ));
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_scheme_host_and_port_of_the_target() {
        let sent = reqwest::Url::parse("https://cloud.mongodb.com/api/atlas/v2/x").unwrap();
        let location =
            http::HeaderValue::from_static("http://user:hunter2@evil.example:8080/steal?k=v");
        let e = RedirectError::new(307, &sent, Some(&location), "validate_migration");
        assert_eq!(e.target(), Some("http://evil.example:8080"));
        let text = e.to_string();
        assert!(
            text.starts_with(
                "validate_migration answered HTTP 307 redirecting to http://evil.example:8080;"
            ),
            "{text}"
        );
        assert!(
            !text.contains("hunter2") && !text.contains("steal"),
            "{text}"
        );
        let relative = http::HeaderValue::from_static("/elsewhere");
        let e = RedirectError::new(301, &sent, Some(&relative), "get_migration");
        assert_eq!(e.target(), Some("https://cloud.mongodb.com"));
        let e = RedirectError::new(302, &sent, None, "get_migration");
        assert!(e.to_string().contains("an unreadable location"));
    }
}
