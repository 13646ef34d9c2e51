//! The destination cluster in Atlas and how Atlas reaches its hosts.

use std::fmt;

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

    pub(super) fn check(&self) -> Result<(), Error> {
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
