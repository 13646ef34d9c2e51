//! `MigrationRequest` as callers may store and log it: serde without the secret. The source
//! password is never serialized; a request read back from storage needs it again
//! ([`MigrationRequest::source_password`]) before it can be sent, and says so with a typed
//! error instead of sending a request without it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Destination, HostnameSchema, MigrationRequest, ShardEntry, ShardKeyKind, Sharding};
use super::{Source, SourceAuth};
use crate::ids::GroupId;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredRequest {
    source: StoredSource,
    destination: StoredDestination,
    migration_host: String,
    drop_destination_data: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sharding: Option<StoredSharding>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredSource {
    cluster_name: String,
    project: GroupId,
    tls: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ca_certificate_path: Option<String>,
    authentication: StoredAuth,
}

/// How the migration authenticates to the source; a password is never stored.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum StoredAuth {
    None,
    Managed,
    Password { username: String },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredDestination {
    cluster_name: String,
    project: GroupId,
    hostname_schema: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private_link_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredSharding {
    create_supporting_indexes: bool,
    entries: Vec<StoredShardEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredShardEntry {
    database: String,
    collection: String,
    /// `[field, "ascending" | "hashed"]` pairs, in order.
    keys: Vec<(String, String)>,
}

impl From<&MigrationRequest> for StoredRequest {
    fn from(r: &MigrationRequest) -> Self {
        let s = &r.source;
        let d = &r.destination;
        Self {
            source: StoredSource {
                cluster_name: s.cluster_name.clone(),
                project: s.project.clone(),
                tls: s.tls,
                ca_certificate_path: s.ca_certificate_path.clone(),
                authentication: match &s.auth {
                    SourceAuth::None => StoredAuth::None,
                    SourceAuth::Managed => StoredAuth::Managed,
                    SourceAuth::Password { username, .. }
                    | SourceAuth::PasswordNotStored { username } => StoredAuth::Password {
                        username: username.clone(),
                    },
                },
            },
            destination: StoredDestination {
                cluster_name: d.cluster_name.clone(),
                project: d.project.clone(),
                hostname_schema: d.hostname_schema.as_str().to_owned(),
                private_link_id: d.private_link_id.clone(),
            },
            migration_host: r.migration_host.clone(),
            drop_destination_data: r.drop_destination_data,
            sharding: r.sharding.as_ref().map(|sh| StoredSharding {
                create_supporting_indexes: sh.create_supporting_indexes,
                entries: sh
                    .entries
                    .iter()
                    .map(|e| StoredShardEntry {
                        database: e.database.clone(),
                        collection: e.collection.clone(),
                        keys: e
                            .keys
                            .iter()
                            .map(|(field, kind)| (field.clone(), kind_name(*kind).to_owned()))
                            .collect(),
                    })
                    .collect(),
            }),
        }
    }
}

fn kind_name(kind: ShardKeyKind) -> &'static str {
    match kind {
        ShardKeyKind::Ascending => "ascending",
        ShardKeyKind::Hashed => "hashed",
    }
}

impl StoredRequest {
    /// The request, checked like one built by hand (except for the missing password).
    fn into_request(self) -> Result<MigrationRequest, String> {
        let s = self.source;
        let mut source = Source::new(s.cluster_name, s.project).tls(s.tls);
        if let Some(path) = s.ca_certificate_path {
            source = source.ca_certificate_path(path);
        }
        source.auth = match s.authentication {
            StoredAuth::None => SourceAuth::None,
            StoredAuth::Managed => SourceAuth::Managed,
            StoredAuth::Password { username } => SourceAuth::PasswordNotStored { username },
        };
        let d = self.destination;
        let schema = match d.hostname_schema.as_str() {
            "PUBLIC" => HostnameSchema::Public,
            "PRIVATE_LINK" => HostnameSchema::PrivateLink,
            "VPC_PEERING" => HostnameSchema::VpcPeering,
            other => return Err(format!("unknown hostnameSchema {other:?}")),
        };
        let mut destination = Destination::new(d.cluster_name, d.project).hostname_schema(schema);
        if let Some(id) = d.private_link_id {
            destination = destination.private_link_id(id);
        }
        let mut builder = MigrationRequest::builder()
            .source(source)
            .destination(destination)
            .migration_host(self.migration_host)
            .drop_destination_data(self.drop_destination_data);
        if let Some(sh) = self.sharding {
            let mut sharding = Sharding::new(sh.create_supporting_indexes);
            for e in sh.entries {
                let mut entry = ShardEntry::new(e.database, e.collection);
                for (field, kind) in e.keys {
                    let kind = match kind.as_str() {
                        "ascending" => ShardKeyKind::Ascending,
                        "hashed" => ShardKeyKind::Hashed,
                        other => return Err(format!("unknown shard key kind {other:?}")),
                    };
                    entry = entry.key(field, kind);
                }
                sharding = sharding.entry(entry);
            }
            builder = builder.sharding(sharding);
        }
        builder.build().map_err(|e| e.to_string())
    }
}

/// Serialized without the source password (see the module docs).
impl Serialize for MigrationRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredRequest::from(self).serialize(serializer)
    }
}

/// Read back checked, like a request built by hand; a source user's password must be given
/// again with [`MigrationRequest::source_password`].
impl<'de> Deserialize<'de> for MigrationRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        StoredRequest::deserialize(deserializer)?
            .into_request()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gid(n: u8) -> GroupId {
        format!("{:024x}", n).parse().unwrap()
    }

    fn request() -> MigrationRequest {
        MigrationRequest::builder()
            .source(
                Source::new("src", gid(1))
                    .tls(true)
                    .ca_certificate_path("/ca.pem")
                    .credentials("migrator", "Sup3r-Secret!".to_owned()),
            )
            .destination(
                Destination::new("dst", gid(2))
                    .hostname_schema(HostnameSchema::PrivateLink)
                    .private_link_id("pl-1"),
            )
            .migration_host("mirror-1")
            .sharding(
                Sharding::new(true).entry(
                    ShardEntry::new("db", "coll")
                        .key("a", ShardKeyKind::Hashed)
                        .key("b", ShardKeyKind::Ascending),
                ),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn round_trips_everything_but_the_password() {
        let original = request();
        let text = serde_json::to_string(&original).unwrap();
        assert!(!text.contains("Sup3r-Secret!"), "{text}");
        assert!(text.contains("\"username\":\"migrator\""), "{text}");
        let back: MigrationRequest = serde_json::from_str(&text).unwrap();
        assert!(back.needs_source_password());
        assert_eq!(serde_json::to_string(&back).unwrap(), text, "stable");
        let complete = back.source_password("Sup3r-Secret!".to_owned());
        assert!(!complete.needs_source_password());
        assert_eq!(
            format!("{:?}", complete.source),
            format!("{:?}", original.source)
        );
    }

    #[test]
    fn stored_requests_are_checked_like_built_ones() {
        let mut value = serde_json::to_value(request()).unwrap();
        value["migrationHost"] = "has a space".into();
        let err = serde_json::from_value::<MigrationRequest>(value).unwrap_err();
        assert!(err.to_string().contains("migrationHosts"), "{err}");
        let mut value = serde_json::to_value(request()).unwrap();
        value["destination"]["project"] = "nope".into();
        assert!(serde_json::from_value::<MigrationRequest>(value).is_err());
    }
}
