//! The typed boundary between the generated wire types (`atlas_migration_sys::types`) and this
//! crate's own model. Every field this crate uses crosses here by name, so an upstream
//! rename or removal breaks the build instead of silently decoding a default; changes that
//! keep the wire compatible for a client do not: a field that turns required or optional
//! (read through [`Field`]), an enum that turns into a string (read as text, written as a
//! `String`), fields added. Replies are decoded once, straight into the generated type.

use std::time::Duration;

use atlas_migration_sys::operations::{CREATE_LINK_TOKEN, Operation};
use atlas_migration_sys::types;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use crate::error::{DecodeError, Error};
use crate::ids::{GroupId, LiveMigrationId, ValidationId};
use crate::model::{AvailableProject, Deployment, LiveMigration, Validation};
use crate::request::{
    Destination, HostnameSchema, MigrationRequest, ShardEntry, ShardKeyKind, Sharding, Source,
    SourceAuth,
};
use crate::secret::LinkToken;
use crate::status::{MigrationStatus, ValidationStatus};
use crate::transport::Reply;

/// A reply field read the same whether the spec marks it optional (`Option<T>`) or
/// required (`T`), so a regeneration that flips one does not break this crate.
trait Field<T> {
    fn value(self) -> Option<T>;
}

impl<T> Field<T> for Option<T> {
    fn value(self) -> Option<T> {
        self
    }
}

impl<T> Field<T> for T {
    fn value(self) -> Option<T> {
        Some(self)
    }
}

/// A text field that may be a string or a string enum, optional or required, read through
/// its serialized form (what went over the wire), since no one trait covers all four.
fn text(field: impl serde::Serialize) -> Option<String> {
    match serde_json::to_value(field).ok()? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Whether an operation's reply carries a secret, so no part of it may be quoted in errors.
fn reply_is_secret(operation: &Operation) -> bool {
    *operation == CREATE_LINK_TOKEN
}

/// Decodes a success reply of `operation` into its generated type `T`: the only JSON decode
/// on the reply path. Any 2xx decodes the same way.
pub(crate) fn decode<T: DeserializeOwned>(
    operation: &Operation,
    reply: &Reply,
) -> Result<T, Error> {
    serde_json::from_slice(&reply.body).map_err(|e| {
        let secret = reply_is_secret(operation);
        let message = if secret {
            format!(
                "the reply is not the expected JSON ({:?} error)",
                e.classify()
            )
        } else {
            e.to_string()
        };
        Error::from(DecodeError::new(
            operation.name,
            Some(reply.status.as_u16()),
            message,
            (!secret).then_some(&reply.body[..]),
        ))
    })
}

/// A reply field that broke a rule of this crate's model (a missing or malformed id).
fn invalid(operation: &Operation, field: &str, problem: impl std::fmt::Display) -> Error {
    Error::from(DecodeError::new(
        operation.name,
        None,
        format!("{field}: {problem}"),
        None,
    ))
}

fn required_id<T: std::str::FromStr<Err = Error>>(
    operation: &Operation,
    field: &str,
    value: impl Field<String>,
) -> Result<T, Error> {
    let value = value
        .value()
        .ok_or_else(|| invalid(operation, field, format!("missing field `{field}`")))?;
    value.parse().map_err(|e| invalid(operation, field, e))
}

fn optional_id<T: std::str::FromStr<Err = Error>>(
    operation: &Operation,
    field: &str,
    value: impl Field<String>,
) -> Result<Option<T>, Error> {
    value
        .value()
        .map(|v| v.parse().map_err(|e| invalid(operation, field, e)))
        .transpose()
}

/// `LiveMigrationResponse` → [`LiveMigration`].
pub(crate) fn live_migration(
    operation: &Operation,
    wire: types::LiveMigrationResponse,
) -> Result<LiveMigration, Error> {
    let lag_time_seconds: Option<i64> = wire.lag_time_seconds.value();
    let migration_hosts: Option<Vec<String>> = wire.migration_hosts.value();
    let ready_for_cutover: Option<bool> = wire.ready_for_cutover.value();
    Ok(LiveMigration {
        id: required_id::<LiveMigrationId>(operation, "_id", wire.id)?,
        status: MigrationStatus::from_wire(text(wire.status).as_deref().unwrap_or_default()),
        ready_for_cutover: ready_for_cutover.unwrap_or(false),
        // A negative lag is nonsense from the server; it reads as no lag.
        lag: lag_time_seconds.map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0))),
        migration_hosts: migration_hosts.unwrap_or_default(),
    })
}

/// `LiveImportValidation` → [`Validation`].
pub(crate) fn validation(
    operation: &Operation,
    wire: types::LiveImportValidation,
) -> Result<Validation, Error> {
    Ok(Validation {
        id: required_id::<ValidationId>(operation, "_id", wire.id)?,
        group_id: optional_id::<GroupId>(operation, "groupId", wire.group_id)?,
        source_group_id: optional_id::<GroupId>(operation, "sourceGroupId", wire.source_group_id)?,
        status: text(wire.status)
            .as_deref()
            .map(ValidationStatus::from_wire),
        error_message: text(wire.error_message),
    })
}

/// `LiveImportAvailableProject` → [`AvailableProject`].
pub(crate) fn available_project(
    operation: &Operation,
    wire: types::LiveImportAvailableProject,
) -> Result<AvailableProject, Error> {
    let deployments: Option<Vec<types::AvailableClustersDeployment>> = wire.deployments.value();
    let migration_hosts: Option<Vec<String>> = wire.migration_hosts.value();
    Ok(AvailableProject {
        name: text(wire.name).unwrap_or_default(),
        project_id: required_id(operation, "projectId", wire.project_id)?,
        deployments: deployments
            .unwrap_or_default()
            .into_iter()
            .map(deployment)
            .collect(),
        migration_hosts: migration_hosts.unwrap_or_default(),
    })
}

fn deployment(wire: types::AvailableClustersDeployment) -> Deployment {
    let flag = |field: Option<bool>| field.unwrap_or(false);
    Deployment {
        name: text(wire.name).unwrap_or_default(),
        cluster_id: text(wire.cluster_id),
        agent_version: text(wire.agent_version),
        db_size_bytes: wire.db_size_bytes.value(),
        feature_compatibility_version: text(wire.feature_compatibility_version).unwrap_or_default(),
        managed: flag(wire.managed.value()),
        mongodb_version: text(wire.mongo_db_version).unwrap_or_default(),
        oplog_size_mb: wire.oplog_size_mb.value(),
        sharded: flag(wire.sharded.value()),
        shards_size: wire.shards_size.value(),
        tls_enabled: flag(wire.tls_enabled.value()),
    }
}

/// `TargetOrg` → [`LinkToken`].
pub(crate) fn link_token(wire: types::TargetOrg) -> LinkToken {
    LinkToken::from(text(wire.link_token).unwrap_or_default())
}

/// [`MigrationRequest`] → the request body validate and create share. It holds the source
/// password in the clear: it is serialized straight into the request body and dropped.
///
/// Bodies are built through the generated builders with plain values (a `String`, a `bool`,
/// a finished nested type), set only when there is a value. A later spec that makes a field
/// required or optional, or turns an enum into a string, still compiles: each setter accepts
/// anything convertible into its field's type, and `String` converts into `String`,
/// `Option<String>` and a string enum alike. A field that became required and that this
/// crate has no value for is a typed error before sending, naming the field.
pub(crate) fn migration_request(
    request: &MigrationRequest,
) -> Result<types::LiveMigrationRequest20240530, Error> {
    let mut body = types::LiveMigrationRequest20240530::builder()
        .destination(built::<_, types::Destination>(destination(
            &request.destination,
        ))?)
        .drop_destination_data(request.drop_destination_data)
        .migration_hosts([request.migration_host.clone()])
        .source(built::<_, types::Source>(source(&request.source))?);
    if let Some(sharding) = &request.sharding {
        body = body.sharding(built::<_, types::ShardingRequest>(sharding_request(
            sharding,
        )?)?);
    }
    built(body)
}

/// A generated builder's value, or the typed error naming what it lacks.
fn built<B, T>(builder: B) -> Result<T, Error>
where
    T: TryFrom<B, Error = types::error::ConversionError>,
{
    T::try_from(builder).map_err(|e| {
        Error::invalid_input(
            "request body",
            None,
            format!("the API's request shape needs what this request lacks: {e}"),
        )
    })
}

fn source(source: &Source) -> types::builder::Source {
    let mut body = types::Source::builder()
        .cluster_name(source.cluster_name.clone())
        .group_id(source.project.as_str().to_owned())
        .managed_authentication(matches!(source.auth, SourceAuth::Managed))
        .ssl(source.tls);
    if let Some(path) = &source.ca_certificate_path {
        body = body.ca_certificate_path(path.clone());
    }
    match &source.auth {
        SourceAuth::Password { username, password } => {
            body = body
                .username(username.clone())
                .password(password.expose_secret().to_owned());
        }
        // Refused before sending (`MigrationRequest::require_secrets`).
        SourceAuth::PasswordNotStored { username } => body = body.username(username.clone()),
        SourceAuth::None | SourceAuth::Managed => {}
    }
    body
}

fn destination(destination: &Destination) -> types::builder::Destination {
    let mut body = types::Destination::builder()
        .cluster_name(destination.cluster_name.clone())
        .group_id(destination.project.as_str().to_owned())
        .hostname_schema_type(hostname_schema(destination.hostname_schema));
    if let Some(id) = &destination.private_link_id {
        body = body.private_link_id(id.clone());
    }
    body
}

/// The wire name, as a `String` so it fits the field whether it is an enum or a string.
fn hostname_schema(schema: HostnameSchema) -> String {
    schema.as_str().to_owned()
}

fn sharding_request(sharding: &Sharding) -> Result<types::builder::ShardingRequest, Error> {
    let entries = sharding
        .entries
        .iter()
        .map(|entry| built::<_, types::ShardEntry>(shard_entry(entry)?))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(types::ShardingRequest::builder()
        .create_supporting_indexes(sharding.create_supporting_indexes)
        .sharding_entries(entries))
}

fn shard_entry(entry: &ShardEntry) -> Result<types::builder::ShardEntry, Error> {
    // The spec types a key as a one-entry map from field name to `1` or `"hashed"`.
    let key: Vec<serde_json::Map<String, serde_json::Value>> = entry
        .keys
        .iter()
        .map(|(field, kind)| {
            let value = match kind {
                ShardKeyKind::Ascending => serde_json::Value::from(1),
                ShardKeyKind::Hashed => serde_json::Value::from("hashed"),
            };
            std::iter::once((field.clone(), value)).collect()
        })
        .collect();
    Ok(types::ShardEntry::builder()
        .collection(entry.collection.clone())
        .database(entry.database.clone())
        .shard_collection(built::<_, types::ShardKeys>(
            types::ShardKeys::builder().key(key),
        )?))
}

/// The access list of a link-token request.
pub(crate) fn link_token_request(
    access_list_ips: Vec<String>,
) -> Result<types::TargetOrgRequest, Error> {
    built(types::TargetOrgRequest::builder().access_list_ips(access_list_ips))
}

/// Serializes a generated request body. Its types hold only strings, numbers and maps with
/// string keys, so this cannot fail; should it ever, the error names no value (the body may
/// hold a password).
pub(crate) fn body<T: serde::Serialize>(value: &T) -> Result<bytes::Bytes, Error> {
    serde_json::to_vec(value).map(Into::into).map_err(|e| {
        Error::invalid_input(
            "request",
            None,
            format!("could not be encoded ({:?} error)", e.classify()),
        )
    })
}

/// The wire JSON of a request, for tests.
#[cfg(test)]
pub(crate) fn wire_json(request: &MigrationRequest) -> serde_json::Value {
    serde_json::to_value(migration_request(request).unwrap()).unwrap()
}

#[cfg(test)]
mod tests {
    use atlas_migration_sys::operations::GET_MIGRATION;

    use super::*;

    fn migration(json: &str) -> Result<LiveMigration, Error> {
        let wire: types::LiveMigrationResponse = serde_json::from_str(json).unwrap();
        live_migration(&GET_MIGRATION, wire)
    }

    #[test]
    fn a_missing_or_malformed_id_is_a_decode_error_and_negative_lag_is_none() {
        let e = migration(r#"{"status":"WORKING"}"#).unwrap_err();
        assert!(e.to_string().contains("_id"), "{e}");
        let e = migration(r#"{"_id":"nope"}"#).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Decode, "{e}");
        let m = migration(r#"{"_id":"6296fb4c7c7aa997cf94e9a8","lagTimeSeconds":-5}"#).unwrap();
        assert_eq!(m.lag, Some(Duration::ZERO));
        assert_eq!(m.status, MigrationStatus::Unknown(String::new()));
    }
}
