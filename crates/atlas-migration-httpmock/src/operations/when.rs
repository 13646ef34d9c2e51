//! The request side of each stub: the operation's method, path and versioned `Accept`, and
//! matchers taking `atlas-migration`'s ids and request types.
//!
//! A matcher fixes one path parameter and leaves the others free, so `group` and `migration`
//! can be set in either order, or only one of them. Bodies are matched whole, as the client
//! writes them (a source password aside).

use atlas_migration::{GroupId, LiveMigrationId, MigrationRequest, OrgId, ValidationId};
use atlas_migration_sys::operations::{
    CREATE_LINK_TOKEN, CREATE_MIGRATION, CUTOVER, DELETE_LINK_TOKENS, GET_MIGRATION,
    GET_VALIDATION, LIST_SOURCE_PROJECTS, Operation, VALIDATE_MIGRATION,
};

/// A regex for `op`'s path with the parameters in `fixed` filled in and every other parameter
/// any one segment.
fn path_regex(op: &Operation, fixed: &[(&str, &str)]) -> String {
    let mut re = String::from("^");
    for segment in op.path.split('/').skip(1) {
        re.push('/');
        let parameter = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
        match parameter {
            Some(name) => match fixed.iter().find(|(n, _)| *n == name) {
                Some((_, value)) => re.push_str(&regex::escape(value)),
                None => re.push_str("[^/]+"),
            },
            None => re.push_str(&regex::escape(segment)),
        }
    }
    re.push('$');
    re
}

/// What every stub of `op` matches: its method, its path template and its versioned
/// `Accept` (a request Atlas would answer 406 does not match).
fn base(op: &Operation, when: httpmock::When) -> httpmock::When {
    when.method(op.method)
        .header("accept", op.response_media_type)
        .path_matches(path_regex(op, &[]))
}

/// `when` also requires path parameter `name` of `op` to be `value`.
fn fixed(op: &Operation, when: httpmock::When, name: &str, value: &str) -> httpmock::When {
    when.path_matches(path_regex(op, &[(name, value)]))
}

macro_rules! when_type {
    ($(#[$doc:meta])* $name:ident, $op:ident) => {
        $(#[$doc])*
        pub struct $name(httpmock::When);

        impl $name {
            pub(crate) fn new(when: httpmock::When) -> Self {
                Self(base(&$op, when))
            }

            /// The underlying [`httpmock::When`], to add matchers of your own.
            pub fn into_inner(self) -> httpmock::When {
                self.0
            }
        }
    };
}

macro_rules! org {
    ($name:ident, $op:ident) => {
        impl $name {
            /// Matches only requests for organization `org`.
            pub fn org(self, org: &OrgId) -> Self {
                Self(fixed(&$op, self.0, "orgId", org.as_str()))
            }
        }
    };
}

macro_rules! group {
    ($name:ident, $op:ident) => {
        impl $name {
            /// Matches only requests for project `group`.
            pub fn group(self, group: &GroupId) -> Self {
                Self(fixed(&$op, self.0, "groupId", group.as_str()))
            }
        }
    };
}

macro_rules! migration {
    ($name:ident, $op:ident) => {
        impl $name {
            /// Matches only requests for live migration `migration`.
            pub fn migration(self, migration: &LiveMigrationId) -> Self {
                Self(fixed(&$op, self.0, "liveMigrationId", migration.as_str()))
            }
        }
    };
}

macro_rules! request {
    ($name:ident) => {
        impl $name {
            /// Matches only the body the client sends for `request`. Its source password,
            /// which a `MigrationRequest` never reveals, is not compared.
            pub fn request(self, request: &MigrationRequest) -> Self {
                Self(self.0.is_true(super::request_body::matcher(request)))
            }
        }
    };
}

when_type!(
    /// The request side of [`create_link_token`](crate::MockServerExt::create_link_token).
    CreateLinkTokenWhen,
    CREATE_LINK_TOKEN
);
org!(CreateLinkTokenWhen, CREATE_LINK_TOKEN);

impl CreateLinkTokenWhen {
    /// Matches only a request whose access list is `access_list_ips`, in that order (the
    /// client sends them as given).
    pub fn access_list_ips<I, S>(self, access_list_ips: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let ips: Vec<String> = access_list_ips.into_iter().map(Into::into).collect();
        Self(
            self.0
                .json_body(serde_json::json!({ "accessListIps": ips })),
        )
    }
}

when_type!(
    /// The request side of [`delete_link_tokens`](crate::MockServerExt::delete_link_tokens).
    DeleteLinkTokensWhen,
    DELETE_LINK_TOKENS
);
org!(DeleteLinkTokensWhen, DELETE_LINK_TOKENS);

when_type!(
    /// The request side of
    /// [`list_source_projects`](crate::MockServerExt::list_source_projects).
    ListSourceProjectsWhen,
    LIST_SOURCE_PROJECTS
);
org!(ListSourceProjectsWhen, LIST_SOURCE_PROJECTS);

when_type!(
    /// The request side of [`validate_migration`](crate::MockServerExt::validate_migration).
    ValidateMigrationWhen,
    VALIDATE_MIGRATION
);
group!(ValidateMigrationWhen, VALIDATE_MIGRATION);
request!(ValidateMigrationWhen);

when_type!(
    /// The request side of [`get_validation`](crate::MockServerExt::get_validation).
    GetValidationWhen,
    GET_VALIDATION
);
group!(GetValidationWhen, GET_VALIDATION);

impl GetValidationWhen {
    /// Matches only requests for validation `validation`.
    pub fn validation(self, validation: &ValidationId) -> Self {
        Self(fixed(
            &GET_VALIDATION,
            self.0,
            "validationId",
            validation.as_str(),
        ))
    }
}

when_type!(
    /// The request side of [`create_migration`](crate::MockServerExt::create_migration).
    CreateMigrationWhen,
    CREATE_MIGRATION
);
group!(CreateMigrationWhen, CREATE_MIGRATION);
request!(CreateMigrationWhen);

when_type!(
    /// The request side of [`get_migration`](crate::MockServerExt::get_migration).
    GetMigrationWhen,
    GET_MIGRATION
);
group!(GetMigrationWhen, GET_MIGRATION);
migration!(GetMigrationWhen, GET_MIGRATION);

when_type!(
    /// The request side of [`cutover`](crate::MockServerExt::cutover).
    CutoverWhen,
    CUTOVER
);
group!(CutoverWhen, CUTOVER);
migration!(CutoverWhen, CUTOVER);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_regexes_fix_only_the_named_parameters() {
        assert_eq!(
            path_regex(&GET_MIGRATION, &[]),
            "^/api/atlas/v2/groups/[^/]+/liveMigrations/[^/]+$"
        );
        assert_eq!(
            path_regex(&GET_MIGRATION, &[("liveMigrationId", "abc")]),
            "^/api/atlas/v2/groups/[^/]+/liveMigrations/abc$"
        );
        assert_eq!(
            path_regex(&VALIDATE_MIGRATION, &[("groupId", "g")]),
            "^/api/atlas/v2/groups/g/liveMigrations/validate$"
        );
    }
}
