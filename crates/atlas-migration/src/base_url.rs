//! Checking the endpoint a client talks to before any request is sent: an http(s) URL with
//! a host, no query, no credentials in it, and `https` unless the host is this machine or
//! the caller opted in to plain http.

use std::net::IpAddr;

use crate::error::Error;

/// A checked base URL.
pub(crate) struct BaseUrl {
    /// Without a trailing slash, e.g. `https://cloud.mongodb.com`.
    pub(crate) text: String,
    /// With a trailing slash, to join paths onto.
    pub(crate) url: reqwest::Url,
}

/// Checks `raw`. Errors never echo a value that may hold a password (anything with `@`).
pub(crate) fn check(raw: &str, allow_insecure_http: bool) -> Result<BaseUrl, Error> {
    let shown = (!raw.contains('@')).then_some(raw);
    let fail = |reason: &str| Error::invalid_input("base_url", shown, reason);
    let text = raw.trim().trim_end_matches('/').to_owned();
    let url = reqwest::Url::parse(&format!("{text}/"))
        .map_err(|e| fail(&format!("{e}, e.g. https://cloud.mongodb.com")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail(
            "must not contain a user name or password; pass credentials with .api_key(..) or \
             .service_account(..)",
        ));
    }
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(fail(
            "must be an http(s) URL without query, e.g. https://cloud.mongodb.com",
        ));
    }
    if url.scheme() == "http" && !allow_insecure_http && !is_loopback(&url) {
        return Err(fail(
            "uses plain http, which would expose the digest exchange or bearer token, and the \
             source cluster's password, to the network; use https, or \
             .allow_insecure_http(true) for a network you trust",
        ));
    }
    Ok(BaseUrl { text, url })
}

/// Whether `url`'s host is this machine (`localhost`, 127.0.0.0/8 or `::1`).
fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_https_and_loopback_http() {
        for ok in [
            "https://cloud.mongodb.com",
            "https://cloud.mongodbgov.com/",
            " https://proxy.internal:8443/atlas ",
            "http://127.0.0.1:8080",
            "http://127.8.9.10",
            "http://localhost:9000",
            "http://[::1]:9000",
        ] {
            let checked = check(ok, false).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(!checked.text.ends_with('/'), "{ok}");
            assert!(checked.url.as_str().ends_with('/'), "{ok}");
        }
    }

    #[test]
    fn refuses_plain_http_to_other_hosts_unless_allowed() {
        for raw in [
            "http://cloud.mongodb.com",
            "http://10.0.0.8:8080",
            "http://[2001:db8::1]",
        ] {
            let e = check(raw, false).err().expect(raw);
            assert!(
                e.is_invalid_input() && e.to_string().contains("plain http"),
                "{e}"
            );
            assert!(check(raw, true).is_ok(), "{raw} with the opt-in");
        }
    }

    #[test]
    fn refuses_credentials_in_the_url_without_echoing_them() {
        for raw in [
            "https://user:hunter2@cloud.mongodb.com",
            "https://user@cloud.mongodb.com",
            "https://:hunter2@cloud.mongodb.com",
            "https://user:hunter2@cloud.mongodb.com:badport",
        ] {
            let e = check(raw, true).err().expect(raw);
            let text = format!("{e} {e:?}");
            assert!(
                !text.contains("hunter2") && !text.contains("user@") && !text.contains("user:"),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_an_endpoint() {
        for raw in [
            "",
            "cloud.mongodb.com",
            "ftp://x",
            "https://x?a=b",
            "https://x/#f",
            "file:///etc",
        ] {
            assert!(
                check(raw, true).err().expect(raw).is_invalid_input(),
                "{raw:?}"
            );
        }
    }
}
