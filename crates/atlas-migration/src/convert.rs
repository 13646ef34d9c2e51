//! The typed boundary between the generated wire types (`atlas_migration_sys::types`) and this
//! crate's own model. Every field crosses here by name, so an upstream rename or retype of a
//! field breaks the build instead of silently decoding a default. Replies are decoded once,
//! straight into the generated type.

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
        Error::Decode(DecodeError::new(
            operation.name,
            Some(reply.status.as_u16()),
            message,
            (!secret).then_some(&reply.body[..]),
        ))
    })
}

/// A reply field that broke a rule of this crate's model (a missing or malformed id).
fn invalid(operation: &Operation, field: &str, problem: impl std::fmt::Display) -> Error {
    Error::Decode(DecodeError::new(
        operation.name,
        None,
        format!("{field}: {problem}"),
        None,
    ))
}

fn required_id<T: std::str::FromStr<Err = Error>>(
    operation: &Operation,
    field: &str,
    value: Option<String>,
) -> Result<T, Error> {
    let value = value.ok_or_else(|| invalid(operation, field, "missing field `_id`"))?;
    value.parse().map_err(|e| invalid(operation, field, e))
}

fn optional_id<T: std::str::FromStr<Err = Error>>(
    operation: &Operation,
    field: &str,
    value: Option<String>,
) -> Result<Option<T>, Error> {
    value
        .map(|v| v.parse().map_err(|e| invalid(operation, field, e)))
        .transpose()
}

/// `LiveMigrationResponse` → [`LiveMigration`].
pub(crate) fn live_migration(
    operation: &Operation,
    wire: types::LiveMigrationResponse,
) -> Result<LiveMigration, Error> {
    let types::LiveMigrationResponse {
        id,
        lag_time_seconds,
        migration_hosts,
        ready_for_cutover,
        status,
    } = wire;
    Ok(LiveMigration {
        id: required_id::<LiveMigrationId>(operation, "_id", id)?,
        status: MigrationStatus::from_wire(status.as_deref().unwrap_or_default()),
        ready_for_cutover: ready_for_cutover.unwrap_or(false),
        // A negative lag is nonsense from the server; it reads as no lag.
        lag: lag_time_seconds.map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0))),
        migration_hosts,
    })
}

/// `LiveImportValidation` → [`Validation`].
pub(crate) fn validation(
    operation: &Operation,
    wire: types::LiveImportValidation,
) -> Result<Validation, Error> {
    let types::LiveImportValidation {
        error_message,
        group_id,
        id,
        source_group_id,
        status,
    } = wire;
    Ok(Validation {
        id: required_id::<ValidationId>(operation, "_id", id)?,
        group_id: optional_id::<GroupId>(operation, "groupId", group_id)?,
        source_group_id: optional_id::<GroupId>(operation, "sourceGroupId", source_group_id)?,
        status: status.as_deref().map(ValidationStatus::from_wire),
        error_message,
    })
}

/// `LiveImportAvailableProject` → [`AvailableProject`].
pub(crate) fn available_project(
    operation: &Operation,
    wire: types::LiveImportAvailableProject,
) -> Result<AvailableProject, Error> {
    let types::LiveImportAvailableProject {
        deployments,
        migration_hosts,
        name,
        project_id,
    } = wire;
    Ok(AvailableProject {
        name,
        project_id: project_id
            .parse()
            .map_err(|e| invalid(operation, "projectId", e))?,
        deployments: deployments.into_iter().map(deployment).collect(),
        migration_hosts,
    })
}

fn deployment(wire: types::AvailableClustersDeployment) -> Deployment {
    let types::AvailableClustersDeployment {
        agent_version,
        cluster_id,
        db_size_bytes,
        feature_compatibility_version,
        managed,
        mongo_db_version,
        name,
        oplog_size_mb,
        sharded,
        shards_size,
        tls_enabled,
    } = wire;
    Deployment {
        name,
        cluster_id,
        agent_version,
        db_size_bytes,
        feature_compatibility_version,
        managed,
        mongodb_version: mongo_db_version,
        oplog_size_mb,
        sharded,
        shards_size,
        tls_enabled,
    }
}

/// `TargetOrg` → [`LinkToken`].
pub(crate) fn link_token(wire: types::TargetOrg) -> LinkToken {
    LinkToken::from(wire.link_token)
}

/// [`MigrationRequest`] → the request body validate and create share. It holds the source
/// password in the clear: it is serialized straight into the request body and dropped.
impl From<&MigrationRequest> for types::LiveMigrationRequest20240530 {
    fn from(request: &MigrationRequest) -> Self {
        Self {
            destination: (&request.destination).into(),
            drop_destination_data: request.drop_destination_data,
            id: None,
            links: Vec::new(),
            migration_hosts: Some([request.migration_host.clone()]),
            sharding: request.sharding.as_ref().map(Into::into),
            source: (&request.source).into(),
        }
    }
}

impl From<&Source> for types::Source {
    fn from(source: &Source) -> Self {
        let (username, password) = match &source.auth {
            SourceAuth::Password { username, password } => (
                Some(username.clone()),
                Some(password.expose_secret().to_owned()),
            ),
            // Refused before sending (`MigrationRequest::require_secrets`).
            SourceAuth::PasswordNotStored { username } => (Some(username.clone()), None),
            SourceAuth::None | SourceAuth::Managed => (None, None),
        };
        Self {
            ca_certificate_path: source.ca_certificate_path.clone(),
            cluster_name: source.cluster_name.clone(),
            group_id: source.project.as_str().to_owned(),
            managed_authentication: matches!(source.auth, SourceAuth::Managed),
            password,
            ssl: source.tls,
            username,
        }
    }
}

impl From<&Destination> for types::Destination {
    fn from(destination: &Destination) -> Self {
        Self {
            cluster_name: destination.cluster_name.clone(),
            group_id: destination.project.as_str().to_owned(),
            hostname_schema_type: match destination.hostname_schema {
                HostnameSchema::Public => types::DestinationHostnameSchemaType::Public,
                HostnameSchema::PrivateLink => types::DestinationHostnameSchemaType::PrivateLink,
                HostnameSchema::VpcPeering => types::DestinationHostnameSchemaType::VpcPeering,
            },
            private_link_id: destination.private_link_id.clone(),
        }
    }
}

impl From<&Sharding> for types::ShardingRequest {
    fn from(sharding: &Sharding) -> Self {
        Self {
            create_supporting_indexes: sharding.create_supporting_indexes,
            sharding_entries: sharding.entries.iter().map(Into::into).collect(),
        }
    }
}

impl From<&ShardEntry> for types::ShardEntry {
    fn from(entry: &ShardEntry) -> Self {
        // The spec types a key as a one-entry map from field name to `1` or `"hashed"`.
        let key = entry
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
        Self {
            collection: entry.collection.clone(),
            database: entry.database.clone(),
            shard_collection: types::ShardKeys { key },
        }
    }
}

/// The access list of a link-token request.
pub(crate) fn link_token_request(access_list_ips: Vec<String>) -> types::TargetOrgRequest {
    types::TargetOrgRequest { access_list_ips }
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
    serde_json::to_value(types::LiveMigrationRequest20240530::from(request)).unwrap()
}

#[cfg(test)]
mod tests {
    use atlas_migration_sys::operations::GET_PUSH_MIGRATION;

    use super::*;

    fn migration(json: &str) -> Result<LiveMigration, Error> {
        let wire: types::LiveMigrationResponse = serde_json::from_str(json).unwrap();
        live_migration(&GET_PUSH_MIGRATION, wire)
    }

    #[test]
    fn a_missing_or_malformed_id_is_a_decode_error_and_negative_lag_is_none() {
        let e = migration(r#"{"status":"WORKING"}"#).unwrap_err();
        assert!(e.to_string().contains("_id"), "{e}");
        let e = migration(r#"{"_id":"nope"}"#).unwrap_err();
        assert!(matches!(e, Error::Decode(_)), "{e}");
        let m = migration(r#"{"_id":"6296fb4c7c7aa997cf94e9a8","lagTimeSeconds":-5}"#).unwrap();
        assert_eq!(m.lag, Some(Duration::ZERO));
        assert_eq!(m.status, MigrationStatus::Unknown(String::new()));
    }
}
