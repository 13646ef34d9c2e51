//! A stateful fake of the MongoDB Atlas Admin API v2 Cloud Migration Service, served over
//! real HTTP on `127.0.0.1`.
//!
//! Routes and required media types come from
//! [`atlas_migration_sys::operations::OPERATIONS`], so the simulator always agrees with the
//! pinned spec. Requests are answered in this order: authentication (HTTP Digest with the
//! API key, or an OAuth bearer token of the service account; failures answer 401), then
//! Atlas's [rate limits](RateLimit) (429 from an empty bucket; on by default), then
//! injected [faults](Fault) (decided **before** processing: a 429/500/503, stale-nonce 401
//! or dropped connection means nothing was processed, except for
//! [`FaultKind::DropAfterProcessing`]), then the versioned `Accept` / `Content-Type`
//! check (406), then the operation itself.
//!
//! Lifecycle state is derived from the simulator's own clock: by default real time with
//! [`Timings::fast`] (a whole migration in about 300 ms); with
//! [`SimulatorBuilder::manual_clock`] time moves only through [`Simulator::advance`].
//!
//! # Assumptions: what Atlas does not document
//!
//! The simulator is a model, not Atlas. Where the spec or the Atlas documentation speaks, it
//! follows them (routes, media types, schemas, `ApiError` bodies, `lagTimeSeconds` only
//! before the cutover phase, `EXPIRED` after the 120-hour window, the media type on the
//! bodiless 202 and 204 replies). Everything below is invented or inferred, and a client
//! must not rely on any of it:
//!
//! * **Error codes and statuses of refusals.** The spec documents statuses per operation
//!   and a few example bodies, not which refusal gets which code. Invented here:
//!   `INVALID_ORG_ID` / `INVALID_GROUP_ID` (400, malformed path ids), `INVALID_JSON` and
//!   `INVALID_ATTRIBUTE` (400, bad bodies, with `badRequestDetail.fields`),
//!   `LINK_TOKEN_NOT_FOUND` (400, listing source projects before linking),
//!   `MIGRATION_NOT_READY_FOR_CUTOVER`, `CUTOVER_ALREADY_REQUESTED` and
//!   `MIGRATION_ALREADY_TERMINATED` (400, refused cutovers), `METHOD_NOT_ALLOWED` (405) and
//!   `NOT_IMPLEMENTED` (501). Deleting link tokens during an active migration answers 409
//!   `CANNOT_DELETE_ORG_ACTIVE_LIVE_MIGRATION_ATLAS_ORG_LINK`, the spec's shared `conflict`
//!   example, although the operation lists no 409. `RESOURCE_NOT_FOUND` (404),
//!   `UNAUTHORIZED` (401), `RATE_LIMITED` (429) and `UNEXPECTED_ERROR` (500) are the spec's
//!   example codes.
//! * **`parameters`** of an error are objects (the spec says "array of objects" without a
//!   shape); each is `{"value": ...}`.
//! * **406 `INVALID_MEDIA_TYPE`** for a missing or wrong versioned `Accept` (or
//!   `Content-Type`): Atlas's versioning guide asks for the header, the spec lists no 406.
//! * **Lifecycle timing**: phase lengths, how lag falls, and a cutover answered 202 while
//!   the migration stays `WORKING` (not ready, no lag) until `COMPLETE`.
//! * **Digest**: nonces live [`SimulatorBuilder::nonce_lifetime`]; by default each nonce
//!   count is accepted once per nonce, in any order; every 401 carries a fresh nonce, with
//!   `stale=true` only when the answer was right and the nonce expired or was retired. Atlas
//!   documents only that a nonce "is only valid for a short amount of time". The stricter
//!   modes below model other real servers.
//! * **Service accounts**: the token lifetime ([`SimulatorBuilder::token_lifetime`]; Atlas
//!   documents one hour) and the OAuth error bodies (`invalid_client`,
//!   `unsupported_grant_type`). The token endpoint's test modes model token servers that
//!   are not Atlas: [`TokenReply::ExpiresIn`] (a hostile `expires_in` such as `1e13`,
//!   `18446744073709551615`, `-5`, `0.5`, `"3600"` or none), [`TokenReply::AccessToken`]
//!   (a token that is not a valid header value, empty, or huge) and [`TokenReply::Garbage`]
//!   (a 200 whose body is not a token reply); and the faults on
//!   [`Endpoint::OAUTH_TOKEN`] / [`Endpoint::OAUTH_REVOKE`]: a failing status with
//!   `Retry-After` ([`Fault::status`], [`Fault::too_many_requests`]), a hang that accepts
//!   and never answers ([`Fault::hang`]), and a body dripped one byte per interval
//!   ([`Fault::drip`]). Every request to either endpoint is counted
//!   ([`Simulator::token_requests`], [`Simulator::count`]).
//! * **Rate limits** follow Atlas's rate-limit page ("Atlas Administration API Rate
//!   Limits", <https://www.mongodb.com/docs/atlas/api/api-rate-limit/>): token buckets per
//!   endpoint set and scope, refilled by `refillRate` every period, 429 with `Retry-After`,
//!   the page's example body, `RateLimit-Limit` / `RateLimit-Remaining` that may be omitted.
//!   By default the simulator meters with the two sets the page's table gives this API
//!   ([`RateLimit::documented_project`]: the five project operations, 1,200 tokens, 500 per
//!   60 s per project; [`RateLimit::documented_organization`]: the three organization
//!   operations, 500 tokens, 250 per 60 s per `orgId`); [`SimulatorBuilder::rate_limit`]
//!   replaces them and [`SimulatorBuilder::unmetered`] turns metering off. Invented: that a
//!   bucket comes into being full at its first request and refills in whole periods counted
//!   from then, that a 401 costs no token, that a request takes one token from every set it
//!   belongs to, and that `RateLimit-Remaining` reports the emptiest of them. Test modes,
//!   not Atlas: fixed windows ([`RateLimit::fixed_window`]), other clients spending the same
//!   buckets ([`BackgroundConsumer`]), the spec's example 429 body
//!   ([`RateLimitBody::SpecExample`]) and headers on refusals only
//!   ([`RateLimitHeaders::OnRefusals`]).
//! * **Faults** model other servers and networks, not Atlas: every [`FaultKind`] is a test
//!   mode. A status fault carries `Retry-After` when asked to ([`Fault::too_many_requests`],
//!   [`Fault::service_unavailable`] for a 503 with a known wait). Status faults are
//!   decided before processing, so a faulted request changed nothing;
//!   [`FaultKind::DropAfterProcessing`] and the reply-spoiling kinds process first.
//!
//! # Digest modes: how other real servers behave
//!
//! The lenient digest check above is the default (an assumption about Atlas, as listed).
//! The builder can make the simulator behave as stricter or different real servers do, so
//! that a client is tested against them too:
//!
//! | setting | what the simulator does | real servers that behave so |
//! | --- | --- | --- |
//! | [`NoncePolicy::StrictCounts`] | refuses a nonce count not greater than the last one accepted for its nonce: 401, fresh nonce, no `stale` | Apache httpd with `AuthDigestNcCheck On` (stricter still: exactly the next count) |
//! | [`NoncePolicy::OneTime`] | accepts each nonce once; a later use gets 401, fresh nonce, no `stale` | servers with single-use nonces (RFC 7616 section 5.5) |
//! | [`SimulatorBuilder::lowercase_algorithm_token`] | announces `algorithm=md5` | Twisted (`algorithm="md5"`) |
//! | [`SimulatorBuilder::refusal_delay`] | answers refused digest credentials only after a delay | servers that slow down password guessing |
//! | [`SimulatorBuilder::split_unauthorized_bodies`] | sends a 401's body chunked, the rest after a pause | servers (or proxies) that flush headers before the body |
//!
//! [`Simulator::connections_accepted`] counts the TCP connections the server accepted.
//!
//! ```no_run
//! use std::time::Duration;
//! use atlas_migration_sim::{Fault, Simulator, Timings};
//! use atlas_migration_sim::operations::GET_PUSH_MIGRATION;
//!
//! # async fn demo() -> std::io::Result<()> {
//! let sim = Simulator::builder()
//!     .timings(Timings::manual())
//!     .manual_clock()
//!     .fault(Fault::on(GET_PUSH_MIGRATION).status(503).times(2))
//!     .start()
//!     .await?;
//! let url = format!(
//!     "{}/api/atlas/v2/groups/{}/liveMigrations",
//!     sim.base_url(),
//!     sim.group_id()
//! );
//! // ... call `url` with digest credentials `sim.public_key()` / `sim.private_key()` ...
//! sim.advance(Duration::from_secs(20));
//! assert_eq!(sim.bodies_sent_without_credentials(), 0);
//! # let _ = url;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod auth;
mod builder;
mod clock;
mod config;
mod endpoint;
mod errors;
mod faults;
mod handle;
mod handlers;
mod hostile;
mod log;
mod metering;
mod pipeline;
mod rng;
mod server;
mod shared;
mod split_body;
mod state;
mod token_endpoint;
mod token_reply;
mod validate;

/// The operation table of the pinned spec (re-exported from `atlas-migration-sys`): name
/// operations for [`Fault::on`] and [`Simulator::count`] by these constants.
pub use atlas_migration_sys::operations;
pub use auth::Credentials;
pub use auth::digest::{DigestAlgorithm, NoncePolicy, REALM, digest_response};
pub use builder::SimulatorBuilder;
pub use config::{Deployment, SourceProject, Timings};
pub use endpoint::Endpoint;
pub use errors::FieldViolation;
pub use faults::{Fault, FaultKind, FaultPlan};
pub use handle::Simulator;
pub use log::{OAUTH_REVOKE, OAUTH_TOKEN, RequestRecord};
pub use metering::{BackgroundConsumer, RateLimit, RateLimitBody, RateLimitHeaders, RateScope};
pub use state::{MigrationRecord, MigrationStatus, MigrationView, ValidationStatus};
pub use token_reply::TokenReply;
