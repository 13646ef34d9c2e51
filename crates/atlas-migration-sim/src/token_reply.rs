//! [`TokenReply`]: what the token endpoint answers to valid client credentials, Atlas's reply
//! or one a hostile or broken token server would send.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The reply of `POST /api/oauth/token` to valid client credentials.
///
/// [`Atlas`](Self::Atlas) is the documented reply (`access_token`, `token_type`,
/// `expires_in` in seconds). Every other variant is a test mode modelling a server that is
/// not Atlas; clients must survive each without panicking, hanging, or caching a token they
/// cannot use. Set with [`SimulatorBuilder::token_reply`](crate::SimulatorBuilder::token_reply)
/// or, while running, [`Simulator::set_token_reply`](crate::Simulator::set_token_reply).
/// Failing statuses, hangs and slow bodies are [faults](crate::Fault) on
/// [`Endpoint::OAUTH_TOKEN`](crate::Endpoint::OAUTH_TOKEN).
///
/// ```
/// use atlas_migration_sim::{Simulator, TokenReply};
///
/// // A token whose lifetime overflows a 64-bit nanosecond clock.
/// let builder = Simulator::builder().token_reply(TokenReply::ExpiresIn(Some("1e13".into())));
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenReply {
    /// A fresh token valid for the configured lifetime, reported as `expires_in`.
    #[default]
    Atlas,
    /// A fresh token valid for the configured lifetime, but `expires_in` written as this raw
    /// JSON text: e.g. `1e13`, `9223372036854775807`, `18446744073709551615`, `-5`, `0.5`
    /// or `"3600"`. `None` leaves the field out.
    ExpiresIn(Option<String>),
    /// `access_token` set to this string instead of an issued token (the API refuses it):
    /// e.g. one with a line break (not a valid header value), an empty one, or one of
    /// megabytes. `expires_in` is the configured lifetime.
    AccessToken(String),
    /// 200 `application/json` with this body verbatim (an HTML page, truncated JSON, a JSON
    /// array...); no token is issued.
    Garbage(String),
}

impl TokenReply {
    /// The reply for a token request that passed the credential checks. `issue` issues a
    /// real token valid for `lifetime_secs`; only the modes that hand one out call it.
    pub(crate) fn answer(&self, lifetime_secs: u64, issue: impl FnOnce() -> String) -> Response {
        match self {
            TokenReply::Atlas => {
                let token = issue();
                axum::Json(json!({
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": lifetime_secs,
                }))
                .into_response()
            }
            TokenReply::ExpiresIn(raw) => {
                // Tokens are URL-safe base64: nothing to escape.
                let token = issue();
                let body = match raw {
                    Some(raw) => format!(
                        r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{raw}}}"#
                    ),
                    None => format!(r#"{{"access_token":"{token}","token_type":"Bearer"}}"#),
                };
                json_body(body)
            }
            TokenReply::AccessToken(value) => axum::Json(json!({
                "access_token": value,
                "token_type": "Bearer",
                "expires_in": lifetime_secs,
            }))
            .into_response(),
            TokenReply::Garbage(body) => json_body(body.clone()),
        }
    }
}

fn json_body(body: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
