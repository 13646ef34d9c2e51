//! The eight operations: path ids, body validation and lifecycle changes.

use std::collections::HashMap;

use atlas_migration_sys::operations::{
    CREATE_LINK_TOKEN, CREATE_MIGRATION, CUTOVER, DELETE_LINK_TOKENS, GET_MIGRATION,
    GET_VALIDATION, LIST_SOURCE_PROJECTS, Operation, VALIDATE_MIGRATION,
};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::pipeline::Incoming;
use crate::rng::is_object_id;
use crate::shared::{Inner, Shared};
use crate::state::{CutoverRefusal, MigrationRecord, MigrationView};
use crate::validate;

/// A success response with the operation's versioned media type.
/// A success reply. Bodiless ones (202, 204) still carry the operation's media type, as the
/// upstream spec declares it for them.
fn ok(op: &Operation, status: StatusCode, body: Option<Value>) -> Response {
    let body = body.map(|b| serde_json::to_vec(&b).unwrap_or_default());
    let mut resp = (status, body.unwrap_or_default()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(op.response_media_type),
    );
    resp
}

/// Reads a path id that must be an object id; malformed ids answer 400 `code`.
fn path_id<'a>(
    params: &'a HashMap<String, String>,
    name: &str,
    code: &'static str,
) -> Result<&'a str, ApiError> {
    let id = params.get(name).map(String::as_str).unwrap_or("");
    if is_object_id(id) {
        Ok(id)
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            code,
            format!("{name} {id:?} is not a valid 24-character hexadecimal id."),
        )
        .param(id))
    }
}

fn migration_json(v: &MigrationView) -> Value {
    json!({
        "_id": v.id,
        "status": v.status.as_str(),
        "readyForCutover": v.ready_for_cutover,
        "lagTimeSeconds": v.lag_time_seconds,
        "migrationHosts": v.migration_hosts,
    })
}

/// Runs `op`; the caller has authenticated, applied faults and checked media types.
pub(crate) fn execute(
    shared: &Shared,
    inner: &mut Inner,
    op: &'static Operation,
    params: &HashMap<String, String>,
    req: &mut Incoming,
) -> Response {
    match run(shared, inner, op, params, req) {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

fn run(
    shared: &Shared,
    inner: &mut Inner,
    op: &'static Operation,
    params: &HashMap<String, String>,
    req: &mut Incoming,
) -> Result<Response, ApiError> {
    let now = inner.clock.now();
    let t = &shared.timings;
    match *op {
        CREATE_LINK_TOKEN => {
            let org = path_id(params, "orgId", "INVALID_ORG_ID")?;
            let _access_list = validate::link_token_request(&req.body)?;
            let raw = format!("{org}:{}", inner.rng.hex(48));
            let token = base64::engine::general_purpose::STANDARD.encode(raw);
            inner.lifecycle.add_link_token(org, token.clone());
            Ok(ok(op, StatusCode::OK, Some(json!({ "linkToken": token }))))
        }
        DELETE_LINK_TOKENS => {
            let org = path_id(params, "orgId", "INVALID_ORG_ID")?;
            let active = inner.lifecycle.active_migrations(now, t);
            if !active.is_empty() {
                // The spec's shared `conflict` response example is this very case, though
                // the operation lists no 409 (see the crate's assumptions).
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "CANNOT_DELETE_ORG_ACTIVE_LIVE_MIGRATION_ATLAS_ORG_LINK",
                    format!(
                        "Cannot delete organization link while there is active migration {}.",
                        active[0]
                    ),
                )
                .param(org));
            }
            inner.lifecycle.delete_link_tokens(org);
            Ok(ok(op, StatusCode::NO_CONTENT, None))
        }
        LIST_SOURCE_PROJECTS => {
            let org = path_id(params, "orgId", "INVALID_ORG_ID")?;
            if !inner.lifecycle.has_link_token(org) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "LINK_TOKEN_NOT_FOUND",
                    format!("Organization {org} has no link token; create one first."),
                )
                .param(org));
            }
            let projects = serde_json::to_value(&shared.source_projects).unwrap_or_default();
            Ok(ok(op, StatusCode::OK, Some(projects)))
        }
        VALIDATE_MIGRATION => {
            let group = path_id(params, "groupId", "INVALID_GROUP_ID")?;
            let body = validate::migration_request(&req.body)?;
            let id = inner.rng.object_id();
            req.record.created_id = Some(id.clone());
            let v = inner
                .lifecycle
                .add_validation(id, group, &body.source_group_id, now);
            let (status, error) = v.status(now, t);
            Ok(ok(
                op,
                StatusCode::OK,
                Some(json!({
                    "_id": v.id,
                    "groupId": v.group_id,
                    "sourceGroupId": v.source_group_id,
                    "status": status.as_str(),
                    "errorMessage": error,
                })),
            ))
        }
        GET_VALIDATION => {
            let group = path_id(params, "groupId", "INVALID_GROUP_ID")?;
            let id = params.get("validationId").map(String::as_str).unwrap_or("");
            let v = inner
                .lifecycle
                .validation(id)
                .filter(|v| v.group_id == group)
                .ok_or_else(|| ApiError::not_found("validation", id))?;
            let (status, error) = v.status(now, t);
            Ok(ok(
                op,
                StatusCode::OK,
                Some(json!({
                    "_id": v.id,
                    "groupId": v.group_id,
                    "sourceGroupId": v.source_group_id,
                    "status": status.as_str(),
                    "errorMessage": error,
                })),
            ))
        }
        CREATE_MIGRATION => {
            let group = path_id(params, "groupId", "INVALID_GROUP_ID")?;
            let body = validate::migration_request(&req.body)?;
            let id = inner.rng.object_id();
            let hosts = if body.migration_hosts.is_empty() {
                shared
                    .source_projects
                    .iter()
                    .find(|p| p.project_id == body.source_group_id)
                    .or(shared.source_projects.first())
                    .map(|p| p.migration_hosts.clone())
                    .unwrap_or_default()
            } else {
                body.migration_hosts.clone()
            };
            let record = MigrationRecord {
                id: id.clone(),
                group_id: group.to_string(),
                request_index: inner.log.next_index(),
                source: (body.source_group_id, body.source_cluster),
                destination: (body.destination_group_id, body.destination_cluster),
            };
            req.record.created_id = Some(id);
            let view = inner.lifecycle.add_migration(record, hosts, now, t);
            Ok(ok(op, StatusCode::CREATED, Some(migration_json(&view))))
        }
        GET_MIGRATION => {
            let group = path_id(params, "groupId", "INVALID_GROUP_ID")?;
            let id = params
                .get("liveMigrationId")
                .map(String::as_str)
                .unwrap_or("");
            let view = inner
                .lifecycle
                .migration(id, now, t)
                .filter(|m| m.group_id == group)
                .ok_or_else(|| ApiError::not_found("live migration", id))?;
            Ok(ok(op, StatusCode::OK, Some(migration_json(&view))))
        }
        CUTOVER => {
            let group = path_id(params, "groupId", "INVALID_GROUP_ID")?;
            let id = params
                .get("liveMigrationId")
                .map(String::as_str)
                .unwrap_or("");
            let belongs = inner
                .lifecycle
                .migration(id, now, t)
                .is_some_and(|m| m.group_id == group);
            if !belongs {
                return Err(ApiError::not_found("live migration", id));
            }
            match inner.lifecycle.cutover(id, now, t) {
                Ok(()) => Ok(ok(op, StatusCode::ACCEPTED, None)),
                Err(CutoverRefusal::NotFound) => Err(ApiError::not_found("live migration", id)),
                Err(CutoverRefusal::NotReady) => Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "MIGRATION_NOT_READY_FOR_CUTOVER",
                    format!("Live migration {id} is not ready for cutover yet."),
                )
                .param(id)),
                Err(CutoverRefusal::AlreadyRequested) => Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "CUTOVER_ALREADY_REQUESTED",
                    format!("Cutover of live migration {id} was already requested."),
                )
                .param(id)),
                Err(CutoverRefusal::Terminal(status)) => Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "MIGRATION_ALREADY_TERMINATED",
                    format!("Live migration {id} is {}.", status.as_str()),
                )
                .param(id)),
            }
        }
        other => Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NOT_IMPLEMENTED",
            format!("The simulator does not implement {}.", other.name),
        )),
    }
}
