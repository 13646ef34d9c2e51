//! The migration request that validate and create share, checked before anything is sent.
//! One file per part: [`Source`] (`source.rs`), [`Destination`] (`destination.rs`),
//! [`Sharding`] (`sharding.rs`); the whole request and its builder live here.

mod destination;
mod sharding;
mod source;
mod stored;

pub use destination::{Destination, HostnameSchema};
pub use sharding::{ShardEntry, ShardKeyKind, Sharding};
pub use source::Source;
pub(crate) use source::SourceAuth;

use secrecy::SecretString;

use crate::error::Error;
use crate::ids::GroupId;

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

    /// Whether the source user's password is missing: a request read back from storage
    /// (serde never writes the password) needs it again before it can be sent.
    ///
    /// ```
    /// # fn f(stored: atlas_migration::MigrationRequest) {
    /// let request = if stored.needs_source_password() {
    ///     stored.source_password(std::env::var("SOURCE_PASSWORD").unwrap_or_default())
    /// } else {
    ///     stored
    /// };
    /// # }
    /// ```
    pub fn needs_source_password(&self) -> bool {
        matches!(self.source.auth, SourceAuth::PasswordNotStored { .. })
    }

    /// Gives the source user's password again (for a request read back from storage); does
    /// nothing when the request authenticates otherwise or already has it.
    ///
    /// ```
    /// # fn f(stored: atlas_migration::MigrationRequest) {
    /// let request = stored.source_password("s3cr3t".to_owned());
    /// # }
    /// ```
    pub fn source_password(mut self, password: impl Into<SecretString>) -> Self {
        if let SourceAuth::PasswordNotStored { username } = &self.source.auth {
            self.source.auth = SourceAuth::Password {
                username: username.clone(),
                password: password.into(),
            };
        }
        self
    }

    /// The typed error for a request that cannot be sent as it is (its password was not
    /// stored), before any request.
    pub(crate) fn require_secrets(&self) -> Result<(), Error> {
        if self.needs_source_password() {
            return Err(Error::invalid_input(
                "source.password",
                None,
                "was not stored with the request; give it again with MigrationRequest::source_password",
            ));
        }
        Ok(())
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
