//! Success replies from any value that serializes to the operation's reply: in particular the
//! models of `atlas-migration` (which serialize in Atlas's own JSON shape), so a test builds
//! its replies with the same types its code uses instead of the generated wire types.

use serde::Serialize;

use crate::operations::{
    CreateLinkTokenThen, CreatePushMigrationThen, GetPushMigrationThen, GetValidationStatusThen,
    ListSourceProjectsThen, ValidateMigrationThen,
};
use atlas_migration_sys::operations::{
    CREATE_LINK_TOKEN, CREATE_PUSH_MIGRATION, GET_PUSH_MIGRATION, GET_VALIDATION_STATUS,
    LIST_SOURCE_PROJECTS, Operation, VALIDATE_MIGRATION,
};

/// A success reply with any serializable body, with the operation's success status and
/// versioned `Content-Type`.
///
/// ```
/// use atlas_migration_httpmock::{AnyReply, MockServerExt};
///
/// let server = httpmock::MockServer::start();
/// // Any `Serialize` value in the reply's shape: a `LiveMigration` of `atlas-migration`,
/// // or plain JSON as here.
/// let reply = serde_json::json!({"_id": "507f1f77bcf86cd799439011", "status": "COMPLETE"});
/// server.get_push_migration(|when, then| {
///     when.group_id("32b6e34b3d91647abb20e7b8");
///     then.ok_with(&reply);
/// });
/// ```
pub trait AnyReply: Sized {
    /// Answers with the operation's success status and `value` as the JSON body.
    fn ok_with<S: Serialize + ?Sized>(self, value: &S) -> Self;
}

fn success(
    op: &Operation,
    then: httpmock::Then,
    status: u16,
    value: &impl Serialize,
) -> httpmock::Then {
    then.status(status)
        .header("content-type", op.response_media_type)
        .json_body_obj(value)
}

macro_rules! any_reply {
    ($($then:ident => $op:ident, $status:literal;)*) => {$(
        impl AnyReply for $then {
            fn ok_with<S: Serialize + ?Sized>(self, value: &S) -> Self {
                Self::new(success(&$op, self.into_inner(), $status, &value))
            }
        }
    )*};
}

// Each operation's documented success status (cutover and link-token deletion have no body).
any_reply! {
    CreatePushMigrationThen => CREATE_PUSH_MIGRATION, 201;
    ValidateMigrationThen => VALIDATE_MIGRATION, 200;
    GetValidationStatusThen => GET_VALIDATION_STATUS, 200;
    GetPushMigrationThen => GET_PUSH_MIGRATION, 200;
    ListSourceProjectsThen => LIST_SOURCE_PROJECTS, 200;
    CreateLinkTokenThen => CREATE_LINK_TOKEN, 200;
}
