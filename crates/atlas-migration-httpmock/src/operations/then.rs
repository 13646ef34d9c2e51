//! The reply side of each stub: `ok` with `atlas-migration`'s own models (which serialize in
//! Atlas's JSON shape), `error` with an [`ErrorReply`], and `rate_limited`.
//!
//! Successes carry the operation's documented status and, with a body, its versioned
//! `Content-Type`, as Atlas sends them; errors carry `application/json`.

use std::time::Duration;

use atlas_migration::secrecy::ExposeSecret;
use atlas_migration::{AvailableProject, LinkToken, LiveMigration, Validation};
use atlas_migration_sys::operations::{
    CREATE_LINK_TOKEN, CREATE_MIGRATION, GET_MIGRATION, GET_VALIDATION, LIST_SOURCE_PROJECTS,
    Operation, VALIDATE_MIGRATION,
};

use crate::ErrorReply;

/// `then` answers `op` with `status`, the versioned `Content-Type` and `value` as JSON.
fn success<S: serde::Serialize + ?Sized>(
    op: &Operation,
    then: httpmock::Then,
    status: u16,
    value: &S,
) -> httpmock::Then {
    then.status(status)
        .header("content-type", op.response_media_type)
        .json_body_obj(value)
}

macro_rules! then_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(httpmock::Then);

        impl $name {
            pub(crate) fn new(then: httpmock::Then) -> Self {
                Self(then)
            }

            /// Answers with `error`: its status, its headers and Atlas's JSON error body.
            pub fn error(self, error: &ErrorReply) -> Self {
                Self(error.answer(self.0))
            }

            /// Answers `429` with `Retry-After` (whole seconds, rounded up) and Atlas's
            /// `RATE_LIMITED` body: [`ErrorReply::rate_limited`].
            pub fn rate_limited(self, retry_after: Duration) -> Self {
                self.error(&ErrorReply::rate_limited(retry_after))
            }

            /// The underlying [`httpmock::Then`], e.g. for a `delay` or `up_to_n_times`.
            pub fn into_inner(self) -> httpmock::Then {
                self.0
            }
        }
    };
}

then_type!(
    /// The reply side of [`create_link_token`](crate::MockServerExt::create_link_token).
    CreateLinkTokenThen
);

impl CreateLinkTokenThen {
    /// Answers `200` with `token` as Atlas's `linkToken`.
    pub fn ok(self, token: &LinkToken) -> Self {
        let body = serde_json::json!({ "linkToken": token.expose_secret() });
        Self(success(&CREATE_LINK_TOKEN, self.0, 200, &body))
    }
}

then_type!(
    /// The reply side of [`delete_link_tokens`](crate::MockServerExt::delete_link_tokens).
    DeleteLinkTokensThen
);

impl DeleteLinkTokensThen {
    /// Answers `204 No Content`.
    pub fn ok(self) -> Self {
        Self(self.0.status(204))
    }
}

then_type!(
    /// The reply side of
    /// [`list_source_projects`](crate::MockServerExt::list_source_projects).
    ListSourceProjectsThen
);

impl ListSourceProjectsThen {
    /// Answers `200` with `projects`.
    pub fn ok(self, projects: &[AvailableProject]) -> Self {
        Self(success(&LIST_SOURCE_PROJECTS, self.0, 200, projects))
    }
}

then_type!(
    /// The reply side of [`validate_migration`](crate::MockServerExt::validate_migration).
    ValidateMigrationThen
);

impl ValidateMigrationThen {
    /// Answers `200` with `validation`.
    pub fn ok(self, validation: &Validation) -> Self {
        Self(success(&VALIDATE_MIGRATION, self.0, 200, validation))
    }
}

then_type!(
    /// The reply side of [`get_validation`](crate::MockServerExt::get_validation).
    GetValidationThen
);

impl GetValidationThen {
    /// Answers `200` with `validation`.
    pub fn ok(self, validation: &Validation) -> Self {
        Self(success(&GET_VALIDATION, self.0, 200, validation))
    }
}

then_type!(
    /// The reply side of [`create_migration`](crate::MockServerExt::create_migration).
    CreateMigrationThen
);

impl CreateMigrationThen {
    /// Answers `201 Created` with `migration`.
    pub fn ok(self, migration: &LiveMigration) -> Self {
        Self(success(&CREATE_MIGRATION, self.0, 201, migration))
    }
}

then_type!(
    /// The reply side of [`get_migration`](crate::MockServerExt::get_migration).
    GetMigrationThen
);

impl GetMigrationThen {
    /// Answers `200` with `migration`.
    pub fn ok(self, migration: &LiveMigration) -> Self {
        Self(success(&GET_MIGRATION, self.0, 200, migration))
    }
}

then_type!(
    /// The reply side of [`cutover`](crate::MockServerExt::cutover).
    CutoverThen
);

impl CutoverThen {
    /// Answers `202 Accepted`, without a body.
    pub fn ok(self) -> Self {
        Self(self.0.status(202))
    }
}
