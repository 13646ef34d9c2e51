//! [`MigrationRequest`]: what to migrate where, checked locally before it is sent.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;
use crate::ids::GroupId;

/// How Atlas reaches the destination cluster's hosts.
///
/// ```
/// use atlas_migration::HostnameSchema;
/// assert_eq!(HostnameSchema::default(), HostnameSchema::Public);
/// assert_eq!(HostnameSchema::PrivateLink.as_str(), "PRIVATE_LINK");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HostnameSchema {
    /// Public hostnames (the default).
    #[default]
    Public,
    /// A private endpoint; needs [`Destination::private_link_id`].
    PrivateLink,
    /// VPC peering.
    VpcPeering,
}

impl HostnameSchema {
    /// The value as the API spells it.
    ///
    /// ```
    /// assert_eq!(atlas_migration::HostnameSchema::VpcPeering.as_str(), "VPC_PEERING");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "PUBLIC",
            Self::PrivateLink => "PRIVATE_LINK",
            Self::VpcPeering => "VPC_PEERING",
        }
    }
}

impl fmt::Display for HostnameSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone)]
pub(crate) enum SourceAuth {
    None,
    Managed,
    Password {
        username: String,
        password: SecretString,
    },
}

/// The source cluster in Cloud or Ops Manager.
///
/// Choose at most one of [`managed_authentication`](Source::managed_authentication) and
/// [`credentials`](Source::credentials).
///
/// ```
/// use atlas_migration::{GroupId, Source};
///
/// let project: GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
/// let source = Source::new("legacy-rs", project)
///     .tls(true)
///     .ca_certificate_path("/etc/ssl/ca.pem")
///     .credentials("migrator", "s3cr3t".to_owned());
/// assert!(!format!("{source:?}").contains("s3cr3t"));
/// # Ok::<(), atlas_migration::Error>(())
/// ```
#[derive(Clone)]
pub struct Source {
    pub(crate) cluster_name: String,
    pub(crate) project: GroupId,
    pub(crate) tls: bool,
    pub(crate) ca_certificate_path: Option<String>,
    pub(crate) auth: SourceAuth,
    conflicting_auth: bool,
}

impl Source {
    /// The source cluster `cluster_name` in Cloud/Ops Manager project `project`.
    ///
    /// ```
    /// # let project: atlas_migration::GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
    /// let source = atlas_migration::Source::new("legacy-rs", project);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn new(cluster_name: impl Into<String>, project: GroupId) -> Self {
        Self {
            cluster_name: cluster_name.into(),
            project,
            tls: false,
            ca_certificate_path: None,
            auth: SourceAuth::None,
            conflicting_auth: false,
        }
    }

    /// Whether the source cluster uses TLS (`ssl`).
    ///
    /// ```
    /// # let project: atlas_migration::GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
    /// let source = atlas_migration::Source::new("rs0", project).tls(true);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn tls(mut self, enabled: bool) -> Self {
        self.tls = enabled;
        self
    }

    /// Path of the CA certificate on the migration host (`caCertificatePath`).
    ///
    /// ```
    /// # let project: atlas_migration::GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
    /// let source = atlas_migration::Source::new("rs0", project).ca_certificate_path("/etc/ca.pem");
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn ca_certificate_path(mut self, path: impl Into<String>) -> Self {
        self.ca_certificate_path = Some(path.into());
        self
    }

    /// Let Cloud/Ops Manager authenticate to the source (`managedAuthentication`).
    ///
    /// ```
    /// # let project: atlas_migration::GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
    /// let source = atlas_migration::Source::new("rs0", project).managed_authentication();
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn managed_authentication(mut self) -> Self {
        self.conflicting_auth |= matches!(self.auth, SourceAuth::Password { .. });
        self.auth = SourceAuth::Managed;
        self
    }

    /// Authenticate to the source with a database user. The password is kept secret.
    ///
    /// ```
    /// # let project: atlas_migration::GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
    /// let source = atlas_migration::Source::new("rs0", project).credentials("migrator", "pw".to_owned());
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.conflicting_auth |= matches!(self.auth, SourceAuth::Managed);
        self.auth = SourceAuth::Password {
            username: username.into(),
            password: password.into(),
        };
        self
    }

    fn check(&self) -> Result<(), Error> {
        if self.cluster_name.trim().is_empty() {
            return Err(Error::invalid_input(
                "source.clusterName",
                Some(&self.cluster_name),
                "is empty; give the name of the source cluster in Cloud/Ops Manager",
            ));
        }
        if self.conflicting_auth {
            return Err(Error::invalid_input(
                "source.managedAuthentication",
                None,
                "choose either managed authentication or a username and password, not both",
            ));
        }
        if let SourceAuth::Password { username, password } = &self.auth {
            if username.trim().is_empty() {
                return Err(Error::invalid_input(
                    "source.username",
                    None,
                    "is empty but a password was given; set the username of the source database user",
                ));
            }
            if password.expose_secret().is_empty() {
                return Err(Error::invalid_input(
                    "source.password",
                    None,
                    "is empty; give the password of the source database user, or use managed authentication",
                ));
            }
        }
        if self
            .ca_certificate_path
            .as_deref()
            .is_some_and(|p| p.trim().is_empty())
        {
            return Err(Error::invalid_input(
                "source.caCertificatePath",
                Some(""),
                "is empty; give the path of the CA file or leave it unset",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.auth {
            SourceAuth::None => "none".to_owned(),
            SourceAuth::Managed => "managed".to_owned(),
            SourceAuth::Password { username, .. } => {
                format!("user {username:?}, password [REDACTED]")
            }
        };
        f.debug_struct("Source")
            .field("cluster_name", &self.cluster_name)
            .field("project", &self.project)
            .field("tls", &self.tls)
            .field("ca_certificate_path", &self.ca_certificate_path)
            .field("auth", &auth)
            .finish()
    }
}

/// The destination cluster in Atlas.
///
/// ```
/// use atlas_migration::{Destination, GroupId, HostnameSchema};
///
/// let project: GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
/// let destination = Destination::new("atlas-target", project)
///     .hostname_schema(HostnameSchema::PrivateLink)
///     .private_link_id("pl-123");
/// # Ok::<(), atlas_migration::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Destination {
    pub(crate) cluster_name: String,
    pub(crate) project: GroupId,
    pub(crate) hostname_schema: HostnameSchema,
    pub(crate) private_link_id: Option<String>,
}

impl Destination {
    /// The Atlas cluster `cluster_name` in project `project`, reached by public hostnames.
    ///
    /// ```
    /// # let project: atlas_migration::GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
    /// let destination = atlas_migration::Destination::new("target", project);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn new(cluster_name: impl Into<String>, project: GroupId) -> Self {
        Self {
            cluster_name: cluster_name.into(),
            project,
            hostname_schema: HostnameSchema::Public,
            private_link_id: None,
        }
    }

    /// How Atlas reaches the destination (`hostnameSchemaType`).
    ///
    /// ```
    /// # let project: atlas_migration::GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
    /// let destination = atlas_migration::Destination::new("target", project)
    ///     .hostname_schema(atlas_migration::HostnameSchema::VpcPeering);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn hostname_schema(mut self, schema: HostnameSchema) -> Self {
        self.hostname_schema = schema;
        self
    }

    /// The private endpoint to use; only with [`HostnameSchema::PrivateLink`].
    ///
    /// ```
    /// # let project: atlas_migration::GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
    /// let destination = atlas_migration::Destination::new("target", project)
    ///     .hostname_schema(atlas_migration::HostnameSchema::PrivateLink)
    ///     .private_link_id("pl-123");
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn private_link_id(mut self, id: impl Into<String>) -> Self {
        self.private_link_id = Some(id.into());
        self
    }

    fn check(&self) -> Result<(), Error> {
        if self.cluster_name.trim().is_empty() {
            return Err(Error::invalid_input(
                "destination.clusterName",
                Some(&self.cluster_name),
                "is empty; give the name of the Atlas cluster to migrate into",
            ));
        }
        match (&self.hostname_schema, self.private_link_id.as_deref()) {
            (HostnameSchema::PrivateLink, None) => Err(Error::invalid_input(
                "destination.privateLinkId",
                None,
                "is required with hostname schema PRIVATE_LINK; set Destination::private_link_id",
            )),
            (HostnameSchema::PrivateLink, Some(id)) if id.trim().is_empty() => {
                Err(Error::invalid_input(
                    "destination.privateLinkId",
                    Some(id),
                    "is empty; give the id of the private endpoint",
                ))
            }
            (schema, Some(id)) if *schema != HostnameSchema::PrivateLink => {
                Err(Error::invalid_input(
                    "destination.privateLinkId",
                    Some(id),
                    format!(
                        "is only used with hostname schema PRIVATE_LINK, not {schema}; \
                         remove it or set HostnameSchema::PrivateLink"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// How one shard key field is indexed.
///
/// ```
/// use atlas_migration::ShardKeyKind;
/// let kind = ShardKeyKind::Hashed;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShardKeyKind {
    /// Ranged, ascending (`1`).
    Ascending,
    /// Hashed (`"hashed"`).
    Hashed,
}

/// One collection to shard on the destination, with its shard key.
///
/// ```
/// use atlas_migration::{ShardEntry, ShardKeyKind};
///
/// let entry = ShardEntry::new("shop", "orders")
///     .key("customerId", ShardKeyKind::Hashed)
///     .key("createdAt", ShardKeyKind::Ascending);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardEntry {
    pub(crate) database: String,
    pub(crate) collection: String,
    pub(crate) keys: Vec<(String, ShardKeyKind)>,
}

impl ShardEntry {
    /// The collection `database.collection`; add key fields with [`key`](ShardEntry::key).
    ///
    /// ```
    /// let entry = atlas_migration::ShardEntry::new("db", "coll")
    ///     .key("a", atlas_migration::ShardKeyKind::Ascending);
    /// ```
    pub fn new(database: impl Into<String>, collection: impl Into<String>) -> Self {
        Self {
            database: database.into(),
            collection: collection.into(),
            keys: Vec::new(),
        }
    }

    /// Appends a field to the shard key (order matters).
    ///
    /// ```
    /// let entry = atlas_migration::ShardEntry::new("db", "coll")
    ///     .key("b", atlas_migration::ShardKeyKind::Hashed);
    /// ```
    pub fn key(mut self, field: impl Into<String>, kind: ShardKeyKind) -> Self {
        self.keys.push((field.into(), kind));
        self
    }

    fn check(&self) -> Result<(), Error> {
        if self.database.trim().is_empty() {
            return Err(Error::invalid_input(
                "sharding.shardingEntries.database",
                Some(&self.database),
                "is empty; name the database of the collection to shard",
            ));
        }
        if self.collection.trim().is_empty() {
            return Err(Error::invalid_input(
                "sharding.shardingEntries.collection",
                Some(&self.collection),
                "is empty; name the collection to shard",
            ));
        }
        if self.keys.is_empty() {
            return Err(Error::invalid_input(
                "sharding.shardingEntries.shardCollection.key",
                None,
                format!(
                    "{}.{} has no shard key; add at least one field with ShardEntry::key",
                    self.database, self.collection
                ),
            ));
        }
        if let Some((field, _)) = self.keys.iter().find(|(f, _)| f.trim().is_empty()) {
            return Err(Error::invalid_input(
                "sharding.shardingEntries.shardCollection.key",
                Some(field),
                "a shard key field name is empty",
            ));
        }
        Ok(())
    }
}

/// Sharding of the destination: which collections to shard and whether Atlas may create the
/// indexes the shard keys need.
///
/// ```
/// use atlas_migration::{ShardEntry, ShardKeyKind, Sharding};
///
/// let sharding = Sharding::new(true)
///     .entry(ShardEntry::new("shop", "orders").key("a", ShardKeyKind::Ascending));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharding {
    pub(crate) create_supporting_indexes: bool,
    pub(crate) entries: Vec<ShardEntry>,
}

impl Sharding {
    /// Sharding with no entries yet; `create_supporting_indexes` lets Atlas create the
    /// indexes the shard keys need.
    ///
    /// ```
    /// let sharding = atlas_migration::Sharding::new(false);
    /// ```
    pub fn new(create_supporting_indexes: bool) -> Self {
        Self {
            create_supporting_indexes,
            entries: Vec::new(),
        }
    }

    /// Adds a collection to shard.
    ///
    /// ```
    /// let sharding = atlas_migration::Sharding::new(true)
    ///     .entry(atlas_migration::ShardEntry::new("db", "c").key("a", atlas_migration::ShardKeyKind::Hashed));
    /// ```
    pub fn entry(mut self, entry: ShardEntry) -> Self {
        self.entries.push(entry);
        self
    }

    fn check(&self) -> Result<(), Error> {
        for (n, e) in self.entries.iter().enumerate() {
            e.check()?;
            if self.entries[..n]
                .iter()
                .any(|o| o.database == e.database && o.collection == e.collection)
            {
                return Err(Error::invalid_input(
                    "sharding.shardingEntries",
                    Some(&format!("{}.{}", e.database, e.collection)),
                    "appears twice; give each collection one shard key",
                ));
            }
        }
        Ok(())
    }
}

/// A checked migration request, used by both
/// [`validate_migration`](crate::Client::validate_migration) and
/// [`create_migration`](crate::Client::create_migration).
///
/// Build it with [`MigrationRequest::builder`]; [`build`](MigrationRequestBuilder::build)
/// rejects invalid combinations with a message saying what to change.
///
/// ```
/// use atlas_migration::{Destination, GroupId, MigrationRequest, Source};
///
/// let source_project: GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
/// let target_project: GroupId = "6296fb4c7c7aa997cf94e9a8".parse()?;
/// let request = MigrationRequest::builder()
///     .source(Source::new("legacy-rs", source_project).managed_authentication())
///     .destination(Destination::new("atlas-target", target_project))
///     .migration_host("mongomirror-1.example.com")
///     .build()?;
/// assert!(!request.drops_destination_data());
/// # Ok::<(), atlas_migration::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MigrationRequest {
    pub(crate) source: Source,
    pub(crate) destination: Destination,
    pub(crate) migration_host: String,
    pub(crate) drop_destination_data: bool,
    pub(crate) sharding: Option<Sharding>,
}

impl MigrationRequest {
    /// Starts a request; see [`MigrationRequestBuilder`].
    ///
    /// ```
    /// let builder = atlas_migration::MigrationRequest::builder();
    /// ```
    pub fn builder() -> MigrationRequestBuilder {
        MigrationRequestBuilder::default()
    }

    /// Whether the request asks Atlas to drop the destination's data first.
    ///
    /// ```
    /// # fn f(r: &atlas_migration::MigrationRequest) -> bool {
    /// r.drops_destination_data()
    /// # }
    /// ```
    pub fn drops_destination_data(&self) -> bool {
        self.drop_destination_data
    }

    /// The source project.
    ///
    /// ```
    /// # fn f(r: &atlas_migration::MigrationRequest) { println!("{}", r.source_project()); }
    /// ```
    pub fn source_project(&self) -> &GroupId {
        &self.source.project
    }

    /// The destination project.
    ///
    /// ```
    /// # fn f(r: &atlas_migration::MigrationRequest) { println!("{}", r.destination_project()); }
    /// ```
    pub fn destination_project(&self) -> &GroupId {
        &self.destination.project
    }
}

/// Builder of [`MigrationRequest`].
///
/// ```
/// # use atlas_migration::*;
/// # let p: GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
/// let err = MigrationRequest::builder()
///     .source(Source::new("rs0", p.clone()))
///     .destination(Destination::new("target", p).private_link_id("pl-1"))
///     .migration_host("host-1")
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("PRIVATE_LINK"));
/// # Ok::<(), atlas_migration::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MigrationRequestBuilder {
    source: Option<Source>,
    destination: Option<Destination>,
    migration_host: Option<String>,
    drop_destination_data: bool,
    sharding: Option<Sharding>,
}

impl MigrationRequestBuilder {
    /// The source cluster (required).
    ///
    /// ```
    /// # let p: atlas_migration::GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
    /// let b = atlas_migration::MigrationRequest::builder().source(atlas_migration::Source::new("rs0", p));
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn source(mut self, source: Source) -> Self {
        self.source = Some(source);
        self
    }

    /// The destination cluster (required).
    ///
    /// ```
    /// # let p: atlas_migration::GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
    /// let b = atlas_migration::MigrationRequest::builder()
    ///     .destination(atlas_migration::Destination::new("target", p));
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    pub fn destination(mut self, destination: Destination) -> Self {
        self.destination = Some(destination);
        self
    }

    /// The migration host (required; the API takes exactly one). Calling again replaces it.
    ///
    /// ```
    /// let b = atlas_migration::MigrationRequest::builder().migration_host("mirror-1.example.com");
    /// ```
    pub fn migration_host(mut self, host: impl Into<String>) -> Self {
        self.migration_host = Some(host.into());
        self
    }

    /// Drop all data on the destination cluster before migrating. Off unless asked for.
    ///
    /// ```
    /// let b = atlas_migration::MigrationRequest::builder().drop_destination_data(true);
    /// ```
    pub fn drop_destination_data(mut self, drop: bool) -> Self {
        self.drop_destination_data = drop;
        self
    }

    /// Shard collections on the destination.
    ///
    /// ```
    /// let b = atlas_migration::MigrationRequest::builder().sharding(atlas_migration::Sharding::new(true));
    /// ```
    pub fn sharding(mut self, sharding: Sharding) -> Self {
        self.sharding = Some(sharding);
        self
    }

    /// Checks the request and builds it.
    ///
    /// ```
    /// let err = atlas_migration::MigrationRequest::builder().build().unwrap_err();
    /// assert!(err.is_invalid_input());
    /// ```
    pub fn build(self) -> Result<MigrationRequest, Error> {
        let source = self.source.ok_or_else(|| {
            Error::invalid_input(
                "source",
                None,
                "is missing; set it with .source(Source::new(..))",
            )
        })?;
        let destination = self.destination.ok_or_else(|| {
            Error::invalid_input(
                "destination",
                None,
                "is missing; set it with .destination(Destination::new(..))",
            )
        })?;
        let migration_host = self.migration_host.ok_or_else(|| {
            Error::invalid_input(
                "migrationHosts",
                None,
                "is missing; name the migration host with .migration_host(..)",
            )
        })?;
        if migration_host.trim().is_empty() || migration_host.chars().any(char::is_whitespace) {
            return Err(Error::invalid_input(
                "migrationHosts",
                Some(&migration_host),
                "must be a hostname or IP address without spaces",
            ));
        }
        source.check()?;
        destination.check()?;
        if let Some(s) = &self.sharding {
            s.check()?;
        }
        Ok(MigrationRequest {
            source,
            destination,
            migration_host,
            drop_destination_data: self.drop_destination_data,
            sharding: self.sharding,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gid(n: u8) -> GroupId {
        format!("{:024x}", n).parse().unwrap()
    }

    fn base() -> MigrationRequestBuilder {
        MigrationRequest::builder()
            .source(Source::new("src", gid(1)))
            .destination(Destination::new("dst", gid(2)))
            .migration_host("mirror-1")
    }

    fn err_of(b: MigrationRequestBuilder) -> String {
        b.build().unwrap_err().to_string()
    }

    #[test]
    fn serializes_the_wire_shape() {
        let req = base()
            .source(
                Source::new("src", gid(1))
                    .tls(true)
                    .ca_certificate_path("/ca.pem")
                    .credentials("u", "p".to_owned()),
            )
            .sharding(
                Sharding::new(true).entry(
                    ShardEntry::new("db", "c")
                        .key("a", ShardKeyKind::Ascending)
                        .key("b", ShardKeyKind::Hashed),
                ),
            )
            .build()
            .unwrap();
        let v = crate::convert::wire_json(&req);
        assert_eq!(
            v,
            json!({
                "source": {"clusterName": "src", "groupId": gid(1), "ssl": true,
                    "managedAuthentication": false, "caCertificatePath": "/ca.pem",
                    "username": "u", "password": "p"},
                "destination": {"clusterName": "dst", "groupId": gid(2), "hostnameSchemaType": "PUBLIC"},
                "migrationHosts": ["mirror-1"],
                "dropDestinationData": false,
                "sharding": {"createSupportingIndexes": true, "shardingEntries": [
                    {"database": "db", "collection": "c", "shardCollection": {"key": [{"a": 1}, {"b": "hashed"}]}}
                ]}
            })
        );
    }

    #[test]
    fn rejects_invalid_combinations_saying_what_to_change() {
        let both = Source::new("src", gid(1))
            .managed_authentication()
            .credentials("u", "p".to_owned());
        assert!(err_of(base().source(both)).contains("not both"));
        let no_user = Source::new("src", gid(1)).credentials("", "p".to_owned());
        assert!(err_of(base().source(no_user)).contains("source.username"));
        assert!(err_of(base().source(Source::new(" ", gid(1)))).contains("source.clusterName"));
        assert!(
            err_of(base().destination(Destination::new("", gid(2))))
                .contains("destination.clusterName")
        );
        let pl = Destination::new("dst", gid(2)).hostname_schema(HostnameSchema::PrivateLink);
        assert!(
            err_of(base().destination(pl)).contains("required with hostname schema PRIVATE_LINK")
        );
        let stray = Destination::new("dst", gid(2)).private_link_id("pl-1");
        assert!(
            err_of(base().destination(stray))
                .contains("only used with hostname schema PRIVATE_LINK")
        );
        assert!(err_of(base().migration_host("")).contains("migrationHosts"));
        let keyless = Sharding::new(true).entry(ShardEntry::new("db", "c"));
        assert!(err_of(base().sharding(keyless)).contains("no shard key"));
        assert!(err_of(MigrationRequest::builder()).contains("source"));
    }

    #[test]
    fn private_link_with_id_is_accepted() {
        let pl = Destination::new("dst", gid(2))
            .hostname_schema(HostnameSchema::PrivateLink)
            .private_link_id("pl-1");
        let v = crate::convert::wire_json(&base().destination(pl).build().unwrap());
        assert_eq!(v["destination"]["privateLinkId"], "pl-1");
    }

    #[test]
    fn password_never_in_debug_or_errors() {
        let src = Source::new("src", gid(1)).credentials("u", "hunter2-secret".to_owned());
        let req = base().source(src.clone()).build().unwrap();
        assert!(!format!("{req:?}").contains("hunter2-secret"));
        let err = base()
            .source(src.managed_authentication())
            .build()
            .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("hunter2-secret"));
    }
}
