//! Every operation of [`Client`]: the eight calls of the Cloud Migration Service, then the
//! waits, the watch and the preflight built on them (the client's construction and settings
//! are in `client.rs`).
//!
//! Each method checks its inputs, fills in its operation's path (the generated path
//! functions), builds the body from the generated request type, sends through the client's
//! [`Transport`](crate::transport::Transport) and decodes the reply once into the generated
//! type before converting it (`convert.rs`) into this crate's own model, so no generated type
//! reaches callers.

use atlas_migration_sys::operations::{
    CREATE_LINK_TOKEN, CREATE_MIGRATION, CUTOVER, DELETE_LINK_TOKENS, GET_MIGRATION,
    GET_VALIDATION, LIST_SOURCE_PROJECTS, VALIDATE_MIGRATION, paths,
};
use atlas_migration_sys::types;

use crate::client::Client;
use crate::convert;
use crate::error::Error;
use crate::identity;
use crate::ids::{GroupId, LiveMigrationId, OrgId, ValidationId};
use crate::model::{AvailableProject, LiveMigration, Validation};
use crate::preflight::PreflightReport;
use crate::request::MigrationRequest;
use crate::secret::LinkToken;
use crate::wait::poller as schedule;
use crate::wait::{MigrationWatch, Waiter, acceptors};

/// Whether `entry` is an IP address or a CIDR block (`address/prefix`, prefix within the
/// address family's length).
fn is_ip_or_cidr(entry: &str) -> bool {
    let (address, prefix) = match entry.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (entry, None),
    };
    let Ok(address) = address.parse::<std::net::IpAddr>() else {
        return false;
    };
    let bits = if address.is_ipv4() { 32 } else { 128 };
    prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|p| p <= bits))
}

/// The decoding of an operation whose success has no body worth reading (202, 204).
fn drop_reply(_: crate::transport::Reply) -> Result<(), Error> {
    Ok(())
}

impl Client {
    /// Creates a link token for organization `org` (`createLinkToken`). Paste the token into
    /// Cloud/Ops Manager to link the source organization. `access_list_ips` restricts the
    /// addresses the link may be used from (may be empty).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// use atlas_migration::secrecy::ExposeSecret;
    ///
    /// let org = "4888442a3354817a7320eb61".parse()?;
    /// let token = client.create_link_token(&org, ["203.0.113.7"]).await?;
    /// let for_ops_manager: &str = token.expose_secret();
    /// # Ok(()) }
    /// ```
    pub async fn create_link_token<I, S>(
        &self,
        org: &OrgId,
        access_list_ips: I,
    ) -> Result<LinkToken, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ips: Vec<String> = access_list_ips.into_iter().map(Into::into).collect();
        if let Some(bad) = ips.iter().find(|ip| !is_ip_or_cidr(ip)) {
            return Err(Error::invalid_input(
                "accessListIps",
                Some(bad),
                "entries must be IPv4 or IPv6 addresses or CIDR blocks, e.g. 203.0.113.7 or 203.0.113.0/24",
            ));
        }
        let body = convert::body(&convert::link_token_request(ips)?)?;
        let op = &CREATE_LINK_TOKEN;
        let path = paths::create_link_token(org.as_str());
        self.call(op, &path, Some(body), |reply| {
            Ok(convert::link_token(convert::decode::<types::TargetOrg>(
                op, &reply,
            )?))
        })
        .await
    }

    /// Removes the organization's link tokens (`deleteLinkToken`), unlinking Cloud/Ops Manager.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// let org = "4888442a3354817a7320eb61".parse()?;
    /// client.delete_link_tokens(&org).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_link_tokens(&self, org: &OrgId) -> Result<(), Error> {
        let path = paths::delete_link_tokens(org.as_str());
        self.call(&DELETE_LINK_TOKENS, &path, None, drop_reply)
            .await
    }

    /// Lists the Cloud/Ops Manager projects that can be migrated into organization `org`
    /// (`listSourceProjects`).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// let org = "4888442a3354817a7320eb61".parse()?;
    /// for project in client.list_source_projects(&org).await? {
    ///     println!("{}: {:?}", project.name, project.deployments.iter().map(|d| &d.name).collect::<Vec<_>>());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_source_projects(&self, org: &OrgId) -> Result<Vec<AvailableProject>, Error> {
        let op = &LIST_SOURCE_PROJECTS;
        let path = paths::list_source_projects(org.as_str());
        self.call(op, &path, None, |reply| {
            convert::decode::<Vec<types::LiveImportAvailableProject>>(op, &reply)?
                .into_iter()
                .map(|project| convert::available_project(op, project))
                .collect()
        })
        .await
    }

    /// Starts validating `request` for a migration into project `group` (`validateMigration`).
    /// Poll the result with [`get_validation`](Self::get_validation).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, request: atlas_migration::MigrationRequest) -> Result<(), atlas_migration::Error> {
    /// let group = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let validation = client.validate_migration(&group, &request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn validate_migration(
        &self,
        group: &GroupId,
        request: &MigrationRequest,
    ) -> Result<Validation, Error> {
        let op = &VALIDATE_MIGRATION;
        request.require_secrets()?;
        let body = convert::body(&convert::migration_request(request)?)?;
        let path = paths::validate_migration(group.as_str());
        self.call(op, &path, Some(body), |reply| {
            let validation = convert::validation(op, convert::decode(op, &reply)?)?;
            identity::validation(op, group, None, validation)
        })
        .await
    }

    /// Reads a validation job (`getValidationStatus`).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// let group = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let id = "507f1f77bcf86cd799439011".parse()?;
    /// let validation = client.get_validation(&group, &id).await?;
    /// if validation.is_terminal() { println!("{:?}", validation.status); }
    /// # Ok(()) }
    /// ```
    pub async fn get_validation(
        &self,
        group: &GroupId,
        validation: &ValidationId,
    ) -> Result<Validation, Error> {
        let op = &GET_VALIDATION;
        let path = paths::get_validation(group.as_str(), validation.as_str());
        self.call(op, &path, None, |reply| {
            let reply = convert::validation(op, convert::decode(op, &reply)?)?;
            identity::validation(op, group, Some(validation), reply)
        })
        .await
    }

    /// Starts migrating per `request` into project `group` (`createPushMigration`). Validate
    /// first. Not retried on server errors: after a 5xx, check with
    /// [`get_migration`](Self::get_migration) before trying again.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, request: atlas_migration::MigrationRequest) -> Result<(), atlas_migration::Error> {
    /// let group = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let migration = client.create_migration(&group, &request).await?;
    /// println!("{:?} is {}", migration.id, migration.status);
    /// # Ok(()) }
    /// ```
    pub async fn create_migration(
        &self,
        group: &GroupId,
        request: &MigrationRequest,
    ) -> Result<LiveMigration, Error> {
        let op = &CREATE_MIGRATION;
        request.require_secrets()?;
        let body = convert::body(&convert::migration_request(request)?)?;
        let path = paths::create_migration(group.as_str());
        self.call(op, &path, Some(body), |reply| {
            convert::live_migration(op, convert::decode(op, &reply)?)
        })
        .await
    }

    /// Reads a live migration (`getPushMigration`).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// let group = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let id = "507f1f77bcf86cd799439011".parse()?;
    /// let migration = client.get_migration(&group, &id).await?;
    /// if migration.ready_for_cutover { client.cutover(&group, &id).await?; }
    /// # Ok(()) }
    /// ```
    pub async fn get_migration(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Result<LiveMigration, Error> {
        let op = &GET_MIGRATION;
        let path = paths::get_migration(group.as_str(), migration.as_str());
        self.call(op, &path, None, |reply| {
            let reply = convert::live_migration(op, convert::decode(op, &reply)?)?;
            identity::migration(op, migration, reply)
        })
        .await
    }

    /// Starts the cutover of a migration that is ready for it (`cutoverMigration`).
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client) -> Result<(), atlas_migration::Error> {
    /// let group = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let id = "507f1f77bcf86cd799439011".parse()?;
    /// client.cutover(&group, &id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn cutover(&self, group: &GroupId, migration: &LiveMigrationId) -> Result<(), Error> {
        let path = paths::cutover(group.as_str(), migration.as_str());
        self.call(&CUTOVER, &path, None, drop_reply).await
    }
}

/// The waits and the watch on validations and migrations, and the preflight checks: what a
/// client does beyond single calls, built on them.
impl Client {
    /// Waits until a validation is done: its `SUCCESS` reply, or
    /// [`WaiterError::FailureState`](crate::wait::WaiterError::FailureState) on `FAILED` (the reply carries the server's
    /// `errorMessage`). At most 30 minutes unless configured.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #              request: atlas_migration::MigrationRequest) -> Result<(), Box<dyn std::error::Error>> {
    /// let started = client.validate_migration(&g, &request).await?;
    /// let passed = client.wait_until_validation_done(&g, &started.id).await?;
    /// # Ok(()) }
    /// ```
    pub fn wait_until_validation_done(
        &self,
        group: &GroupId,
        validation: &ValidationId,
    ) -> Waiter<Validation> {
        Waiter::new(
            self,
            group,
            validation,
            "validation_done",
            acceptors::validation_done,
            schedule::VALIDATION,
        )
    }

    /// Waits until a migration is ready for cutover. `FAILED`, `EXPIRED` and `COMPLETE` are
    /// failure states. At most 7 days unless configured.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #              id: atlas_migration::LiveMigrationId) -> Result<(), Box<dyn std::error::Error>> {
    /// let ready = client.wait_until_ready_for_cutover(&g, &id).await?;
    /// println!("ready; lag {:?}", ready.lag);
    /// # Ok(()) }
    /// ```
    pub fn wait_until_ready_for_cutover(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Waiter<LiveMigration> {
        Waiter::new(
            self,
            group,
            migration,
            "ready_for_cutover",
            acceptors::ready_for_cutover,
            schedule::READY,
        )
    }

    /// Waits until a migration is `COMPLETE`; `FAILED` and `EXPIRED` are failure states. At
    /// most 12 days unless configured.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #              id: atlas_migration::LiveMigrationId) -> Result<(), Box<dyn std::error::Error>> {
    /// let done = client.wait_until_complete(&g, &id).await?;
    /// # Ok(()) }
    /// ```
    pub fn wait_until_complete(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Waiter<LiveMigration> {
        Waiter::new(
            self,
            group,
            migration,
            "complete",
            acceptors::complete,
            schedule::COMPLETE,
        )
    }

    /// Requests the cutover, then waits until the migration is `COMPLETE`. A failed cutover
    /// request ends the wait with [`WaiterError::OperationFailed`](crate::wait::WaiterError::OperationFailed); an answer saying the
    /// cutover was already requested does not. At most 12 days unless
    /// configured.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #              id: atlas_migration::LiveMigrationId) -> Result<(), Box<dyn std::error::Error>> {
    /// let done = client.cutover_and_wait(&g, &id).await?;
    /// assert!(done.status.is_success());
    /// # Ok(()) }
    /// ```
    pub fn cutover_and_wait(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Waiter<LiveMigration> {
        let (client, group_id, id) = (self.clone(), group.clone(), migration.clone());
        Waiter::new(
            self,
            group,
            migration,
            "cutover_and_wait",
            acceptors::complete,
            schedule::COMPLETE,
        )
        .starting_with(async move { client.ensure_cutover_requested(&group_id, &id).await })
    }

    /// Waits until a migration is ready for cutover or already complete, for callers that do
    /// not know whether a cutover was requested (e.g. when resuming); `FAILED` and `EXPIRED`
    /// are failure states. At most 7 days unless configured.
    pub(crate) fn wait_until_ready_or_complete(
        &self,
        group: &GroupId,
        migration: &LiveMigrationId,
    ) -> Waiter<LiveMigration> {
        Waiter::new(
            self,
            group,
            migration,
            "ready_or_complete",
            acceptors::ready_or_complete,
            schedule::READY,
        )
    }

    /// Watches a migration: a [`Stream`](futures_util::Stream) of snapshots emitted whenever its status, readiness
    /// or lag changes, ending at a terminal state. See [`MigrationWatch`].
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    ///
    /// # async fn run(client: atlas_migration::Client, g: atlas_migration::GroupId,
    /// #              id: atlas_migration::LiveMigrationId) {
    /// let mut watch = client.watch_migration(&g, &id);
    /// while let Some(Ok(m)) = watch.next().await {
    ///     println!("{} ready={} lag={:?}", m.status, m.ready_for_cutover, m.lag);
    /// }
    /// # }
    /// ```
    pub fn watch_migration(&self, group: &GroupId, migration: &LiveMigrationId) -> MigrationWatch {
        MigrationWatch::new(self, group, migration)
    }

    /// Lists the source projects of `org` (one
    /// [`list_source_projects`](Self::list_source_projects) call) and checks `request`
    /// against them; see the [`preflight`](crate::preflight) module for the rules.
    ///
    /// The error is that call's; the findings are in the report.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, request: atlas_migration::MigrationRequest) -> Result<(), atlas_migration::Error> {
    /// let org = "4888442a3354817a7320eb61".parse()?;
    /// let report = client.preflight(&org, &request).await?;
    /// if report.is_ok() {
    ///     client.validate_migration(request.destination_project(), &request).await?;
    /// } else {
    ///     eprintln!("{report}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn preflight(
        &self,
        org: &OrgId,
        request: &MigrationRequest,
    ) -> Result<PreflightReport, Error> {
        let projects = self.list_source_projects(org).await?;
        Ok(PreflightReport::check(&projects, request))
    }

    /// Lists the source projects of `org` once and checks every request of a fleet against
    /// them, as [`PreflightReport::check_fleet`] does.
    ///
    /// ```no_run
    /// # async fn run(client: atlas_migration::Client, requests: Vec<atlas_migration::MigrationRequest>) -> Result<(), atlas_migration::Error> {
    /// let org = "4888442a3354817a7320eb61".parse()?;
    /// let reports = client.preflight_fleet(&org, &requests).await?;
    /// let blocked = reports.iter().filter(|r| !r.is_ok()).count();
    /// println!("{blocked} of {} requests blocked", requests.len());
    /// # Ok(()) }
    /// ```
    pub async fn preflight_fleet(
        &self,
        org: &OrgId,
        requests: &[MigrationRequest],
    ) -> Result<Vec<PreflightReport>, Error> {
        let projects = self.list_source_projects(org).await?;
        Ok(PreflightReport::check_fleet(&projects, requests))
    }
}

#[cfg(test)]
mod tests {
    use super::is_ip_or_cidr;

    #[test]
    fn access_list_entries_are_addresses_or_cidr_blocks() {
        for good in [
            "203.0.113.7",
            "203.0.113.0/24",
            "0.0.0.0/0",
            "2001:db8::1",
            "2001:db8::/32",
        ] {
            assert!(is_ip_or_cidr(good), "{good}");
        }
        for bad in [
            "",
            "not an ip",
            "203.0.113.7/33",
            "2001:db8::/129",
            "203.0.113",
            "1.2.3.4/",
            " 1.2.3.4",
        ] {
            assert!(!is_ip_or_cidr(bad), "{bad:?}");
        }
    }
}
