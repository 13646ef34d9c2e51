//! Checking that a reply describes what was asked for. A reply about another migration
//! (a misrouting proxy, a cache keyed wrongly, a hostile peer) would otherwise end a wait on
//! someone else's `COMPLETE`; such a reply is refused, never returned.

use atlas_migration_sys::operations::Operation;

use crate::error::{DecodeError, DecodeKind, Error};
use crate::ids::{GroupId, LiveMigrationId, ValidationId};
use crate::model::{LiveMigration, Validation};

/// `reply` unless it names another migration than `asked`.
pub(crate) fn migration(
    op: &Operation,
    asked: &LiveMigrationId,
    reply: LiveMigration,
) -> Result<LiveMigration, Error> {
    if reply.id != *asked {
        return Err(mismatch(op, "migration", reply.id.as_str(), asked.as_str()));
    }
    Ok(reply)
}

/// `reply` unless it names another validation than `asked` (when one was asked for) or
/// another project than `group` (when it names one).
pub(crate) fn validation(
    op: &Operation,
    group: &GroupId,
    asked: Option<&ValidationId>,
    reply: Validation,
) -> Result<Validation, Error> {
    if let Some(asked) = asked.filter(|a| **a != reply.id) {
        return Err(mismatch(
            op,
            "validation",
            reply.id.as_str(),
            asked.as_str(),
        ));
    }
    if let Some(other) = reply.group_id.as_ref().filter(|g| *g != group) {
        return Err(mismatch(op, "project", other.as_str(), group.as_str()));
    }
    Ok(reply)
}

fn mismatch(op: &Operation, what: &str, got: &str, asked: &str) -> Error {
    Error::from(
        DecodeError::new(
            op.name,
            None,
            format!("the reply describes {what} {got}, not {asked} (the one asked for)"),
            None,
        )
        .of_kind(DecodeKind::Mismatched),
    )
}
