//! [`MockServerExt`]: one stub per `atlas_migration::Client` method, named like it.
//!
//! Written by hand over the operation table of `atlas-migration-sys` (method, path template,
//! versioned media types), so the names and types are the client's while the wire details
//! come from the same spec the client is generated from.

use httpmock::{Mock, MockServer};

use crate::operations::{
    CreateLinkTokenThen, CreateLinkTokenWhen, CreateMigrationThen, CreateMigrationWhen,
    CutoverThen, CutoverWhen, DeleteLinkTokensThen, DeleteLinkTokensWhen, GetMigrationThen,
    GetMigrationWhen, GetValidationThen, GetValidationWhen, ListSourceProjectsThen,
    ListSourceProjectsWhen, ValidateMigrationThen, ValidateMigrationWhen,
};

/// Stubs for the eight operations, as extension methods on [`MockServer`], each named after the
/// `atlas_migration::Client` method that calls it.
///
/// Each stub matches only requests with the operation's method, path and versioned `Accept`;
/// the closure narrows the match (`when`) and chooses the answer (`then`). The returned
/// [`Mock`] counts the requests it answered.
pub trait MockServerExt {
    /// Stubs `Client::create_link_token` (upstream `createLinkToken`,
    /// `POST /api/atlas/v2/orgs/{orgId}/liveMigrations/linkTokens`).
    ///
    /// ```
    /// use atlas_migration::{LinkToken, OrgId};
    /// use atlas_migration_httpmock::{MockServerExt, httpmock::MockServer};
    ///
    /// let server = MockServer::start();
    /// let org: OrgId = "4888442a3354817a7320eb61".parse()?;
    /// let stub = server.create_link_token(|when, then| {
    ///     when.org(&org).access_list_ips(["203.0.113.7"]);
    ///     then.ok(&LinkToken::from("bGluay10b2tlbg==".to_owned()));
    /// });
    /// stub.assert_calls(0);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    fn create_link_token<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(CreateLinkTokenWhen, CreateLinkTokenThen);

    /// Stubs `Client::delete_link_tokens` (upstream `deleteLinkToken`,
    /// `DELETE /api/atlas/v2/orgs/{orgId}/liveMigrations/linkTokens`).
    ///
    /// ```
    /// use atlas_migration::OrgId;
    /// use atlas_migration_httpmock::{MockServerExt, httpmock::MockServer};
    ///
    /// let server = MockServer::start();
    /// let org: OrgId = "4888442a3354817a7320eb61".parse()?;
    /// let stub = server.delete_link_tokens(|when, then| {
    ///     when.org(&org);
    ///     then.ok();
    /// });
    /// stub.assert_calls(0);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    fn delete_link_tokens<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(DeleteLinkTokensWhen, DeleteLinkTokensThen);

    /// Stubs `Client::list_source_projects` (upstream `listSourceProjects`,
    /// `GET /api/atlas/v2/orgs/{orgId}/liveMigrations/availableProjects`).
    ///
    /// ```
    /// use atlas_migration::{AvailableProject, OrgId};
    /// use atlas_migration_httpmock::{MockServerExt, httpmock::MockServer};
    ///
    /// let server = MockServer::start();
    /// let org: OrgId = "4888442a3354817a7320eb61".parse()?;
    /// let legacy = AvailableProject::new("legacy", "32b6e34b3d91647abb20e7b8".parse()?);
    /// let stub = server.list_source_projects(|when, then| {
    ///     when.org(&org);
    ///     then.ok(&[legacy]);
    /// });
    /// stub.assert_calls(0);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    fn list_source_projects<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(ListSourceProjectsWhen, ListSourceProjectsThen);

    /// Stubs `Client::validate_migration` (upstream `validateMigration`,
    /// `POST /api/atlas/v2/groups/{groupId}/liveMigrations/validate`).
    ///
    /// ```
    /// use atlas_migration::{Destination, GroupId, MigrationRequest, Source, Validation, ValidationStatus};
    /// use atlas_migration_httpmock::{MockServerExt, httpmock::MockServer};
    ///
    /// let server = MockServer::start();
    /// let group: GroupId = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let request = MigrationRequest::builder()
    ///     .source(Source::new("legacy-rs", "32b6e34b3d91647abb20e7b8".parse()?).managed_authentication())
    ///     .destination(Destination::new("atlas-target", group.clone()))
    ///     .migration_host("mongomirror-1.example.com")
    ///     .build()?;
    /// let pending = Validation::new("507f191e810c19729de860ea".parse()?, ValidationStatus::Pending);
    /// let stub = server.validate_migration(|when, then| {
    ///     when.group(&group).request(&request);
    ///     then.ok(&pending);
    /// });
    /// stub.assert_calls(0);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    fn validate_migration<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(ValidateMigrationWhen, ValidateMigrationThen);

    /// Stubs `Client::get_validation` (upstream `getValidationStatus`,
    /// `GET /api/atlas/v2/groups/{groupId}/liveMigrations/validate/{validationId}`).
    ///
    /// ```
    /// use atlas_migration::{GroupId, Validation, ValidationId, ValidationStatus};
    /// use atlas_migration_httpmock::{MockServerExt, httpmock::MockServer};
    ///
    /// let server = MockServer::start();
    /// let group: GroupId = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let id: ValidationId = "507f191e810c19729de860ea".parse()?;
    /// let stub = server.get_validation(|when, then| {
    ///     when.group(&group).validation(&id);
    ///     then.ok(&Validation::new(id.clone(), ValidationStatus::Success));
    /// });
    /// stub.assert_calls(0);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    fn get_validation<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(GetValidationWhen, GetValidationThen);

    /// Stubs `Client::create_migration` (upstream `createPushMigration`,
    /// `POST /api/atlas/v2/groups/{groupId}/liveMigrations`).
    ///
    /// ```
    /// use atlas_migration::{GroupId, LiveMigration, MigrationStatus};
    /// use atlas_migration_httpmock::{ErrorReply, MockServerExt, httpmock::MockServer};
    ///
    /// let server = MockServer::start();
    /// let group: GroupId = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let elsewhere: GroupId = "32b6e34b3d91647abb20e7b8".parse()?;
    /// let created = LiveMigration::new("507f1f77bcf86cd799439011".parse()?, MigrationStatus::New);
    /// let stub = server.create_migration(|when, then| {
    ///     when.group(&group);
    ///     then.ok(&created);
    /// });
    /// let refused = server.create_migration(|when, then| {
    ///     when.group(&elsewhere);
    ///     then.error(&ErrorReply::new(403, "ORG_REQUIRES_ACCESS_LIST"));
    /// });
    /// stub.assert_calls(0);
    /// refused.assert_calls(0);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    fn create_migration<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(CreateMigrationWhen, CreateMigrationThen);

    /// Stubs `Client::get_migration` (upstream `getPushMigration`,
    /// `GET /api/atlas/v2/groups/{groupId}/liveMigrations/{liveMigrationId}`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use atlas_migration::{GroupId, LiveMigration, LiveMigrationId, MigrationStatus};
    /// use atlas_migration_httpmock::{MockServerExt, httpmock::MockServer};
    ///
    /// let server = MockServer::start();
    /// let group: GroupId = "6296fb4c7c7aa997cf94e9a8".parse()?;
    /// let id: LiveMigrationId = "507f1f77bcf86cd799439011".parse()?;
    /// let mut ready = LiveMigration::new(id.clone(), MigrationStatus::Working);
    /// ready.ready_for_cutover = true;
    /// ready.lag = Some(Duration::from_secs(2));
    /// let stub = server.get_migration(|when, then| {
    ///     when.group(&group).migration(&id);
    ///     then.ok(&ready);
    /// });
    /// stub.assert_calls(0);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    fn get_migration<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(GetMigrationWhen, GetMigrationThen);

    /// Stubs `Client::cutover` (upstream `cutoverMigration`,
    /// `PUT /api/atlas/v2/groups/{groupId}/liveMigrations/{liveMigrationId}/cutover`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use atlas_migration::LiveMigrationId;
    /// use atlas_migration_httpmock::{MockServerExt, httpmock::MockServer};
    ///
    /// let server = MockServer::start();
    /// let id: LiveMigrationId = "507f1f77bcf86cd799439011".parse()?;
    /// let throttled = server.cutover(|when, then| {
    ///     when.migration(&id);
    ///     then.rate_limited(Duration::from_secs(1));
    /// });
    /// throttled.assert_calls(0);
    /// # Ok::<(), atlas_migration::Error>(())
    /// ```
    fn cutover<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(CutoverWhen, CutoverThen);
}

macro_rules! stub {
    ($self:ident, $stub:ident, $when:ident, $then:ident) => {
        $self.mock(|when, then| $stub($when::new(when), $then::new(then)))
    };
}

impl MockServerExt for MockServer {
    fn create_link_token<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(CreateLinkTokenWhen, CreateLinkTokenThen),
    {
        stub!(self, stub, CreateLinkTokenWhen, CreateLinkTokenThen)
    }

    fn delete_link_tokens<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(DeleteLinkTokensWhen, DeleteLinkTokensThen),
    {
        stub!(self, stub, DeleteLinkTokensWhen, DeleteLinkTokensThen)
    }

    fn list_source_projects<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(ListSourceProjectsWhen, ListSourceProjectsThen),
    {
        stub!(self, stub, ListSourceProjectsWhen, ListSourceProjectsThen)
    }

    fn validate_migration<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(ValidateMigrationWhen, ValidateMigrationThen),
    {
        stub!(self, stub, ValidateMigrationWhen, ValidateMigrationThen)
    }

    fn get_validation<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(GetValidationWhen, GetValidationThen),
    {
        stub!(self, stub, GetValidationWhen, GetValidationThen)
    }

    fn create_migration<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(CreateMigrationWhen, CreateMigrationThen),
    {
        stub!(self, stub, CreateMigrationWhen, CreateMigrationThen)
    }

    fn get_migration<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(GetMigrationWhen, GetMigrationThen),
    {
        stub!(self, stub, GetMigrationWhen, GetMigrationThen)
    }

    fn cutover<F>(&self, stub: F) -> Mock<'_>
    where
        F: FnOnce(CutoverWhen, CutoverThen),
    {
        stub!(self, stub, CutoverWhen, CutoverThen)
    }
}
