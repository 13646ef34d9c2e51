//! The `when` and `then` sides of each stub of [`MockServerExt`](crate::MockServerExt), one
//! pair per `atlas_migration::Client` method and named after it (`GetMigrationWhen`,
//! `GetMigrationThen`, …).
//!
//! The `when` side already matches the operation's method, path template and versioned
//! `Accept`; its methods narrow the match with `atlas-migration`'s ids (`group`, `migration`,
//! `validation`, `org`) and request types (`request`, `access_list_ips`). The `then` side
//! answers with `ok` (the operation's success status and `atlas-migration`'s model),
//! `error` (an [`ErrorReply`](crate::ErrorReply)) or `rate_limited`. Both convert to
//! httpmock's own types with `into_inner` for anything else.

mod request_body;
mod then;
mod when;

pub use then::{
    CreateLinkTokenThen, CreateMigrationThen, CutoverThen, DeleteLinkTokensThen, GetMigrationThen,
    GetValidationThen, ListSourceProjectsThen, ValidateMigrationThen,
};
pub use when::{
    CreateLinkTokenWhen, CreateMigrationWhen, CutoverWhen, DeleteLinkTokensWhen, GetMigrationWhen,
    GetValidationWhen, ListSourceProjectsWhen, ValidateMigrationWhen,
};
