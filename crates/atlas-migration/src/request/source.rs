//! The source cluster in Cloud or Ops Manager and how the migration authenticates to it.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;
use crate::ids::GroupId;

#[derive(Clone)]
pub(crate) enum SourceAuth {
    None,
    Managed,
    Password {
        username: String,
        password: SecretString,
    },
    /// Read back from storage, where the password is never written: it must be given again.
    PasswordNotStored {
        username: String,
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

    pub(super) fn check(&self) -> Result<(), Error> {
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
            SourceAuth::PasswordNotStored { username } => {
                format!("user {username:?}, password not given yet")
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
