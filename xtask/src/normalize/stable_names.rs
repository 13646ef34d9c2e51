//! Step 7: stable names. Each operation's operationId is replaced by our stable snake_case
//! name from `spec/operation-names.json` (keyed by `METHOD /path`), so an upstream rename
//! never renames a generated method. The upstream id is kept as `x-upstream-operation-id`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::names::{NameMap, snake_case};
use crate::walk;
use crate::{Error, Result};

/// The extension that keeps the upstream operationId.
pub const UPSTREAM_ID: &str = "x-upstream-operation-id";

/// Renames every operation; returns a note for each one missing from `names`.
pub fn apply(doc: &mut Value, names: &NameMap) -> Result<Vec<String>> {
    let mut unmapped = Vec::new();
    let mut used: BTreeMap<String, String> = BTreeMap::new();
    let mut failure = None;
    walk::for_each_operation_mut(doc, |method, path, operation| {
        let key = walk::operation_key(method, path);
        // An already normalized document (regen --offline) keeps its recorded upstream id.
        let upstream = operation
            .get(UPSTREAM_ID)
            .or_else(|| operation.get("operationId"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let stable = match (names.get(&key), &upstream) {
            (Some(stable), _) => stable.clone(),
            (None, Some(upstream)) => {
                let derived = snake_case(upstream);
                unmapped.push(format!(
                    "{key} ({upstream}) has no stable name in spec/operation-names.json; using `{derived}`"
                ));
                derived
            }
            (None, None) => {
                failure.get_or_insert_with(|| {
                    Error::new(format!("{key} has no operationId and no stable name"))
                });
                return;
            }
        };
        if let Some(other) = used.insert(stable.clone(), key.clone()) {
            failure.get_or_insert_with(|| {
                Error::new(format!("{key} and {other} would both be named `{stable}`"))
            });
        }
        if let Some(fields) = operation.as_object_mut() {
            if let Some(upstream) = upstream {
                fields.insert(UPSTREAM_ID.into(), Value::String(upstream));
            }
            fields.insert("operationId".into(), Value::String(stable));
        }
    });
    match failure {
        Some(error) => Err(error),
        None => Ok(unmapped),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn names() -> NameMap {
        [("POST /m".to_string(), "create_push_migration".to_string())].into()
    }

    #[test]
    fn a_renamed_upstream_operation_keeps_its_stable_name() {
        let mut doc = json!({"paths": {"/m": {"post": {"operationId": "createPushMigrationV2"}}}});
        let unmapped = apply(&mut doc, &names()).unwrap();
        assert!(unmapped.is_empty());
        assert_eq!(
            doc["paths"]["/m"]["post"]["operationId"],
            "create_push_migration"
        );
        assert_eq!(
            doc["paths"]["/m"]["post"][UPSTREAM_ID],
            "createPushMigrationV2"
        );
    }

    #[test]
    fn an_unmapped_operation_gets_a_derived_name_and_is_reported() {
        let mut doc = json!({"paths": {"/p": {"get": {"operationId": "pauseMigration"}}}});
        let unmapped = apply(&mut doc, &names()).unwrap();
        assert_eq!(doc["paths"]["/p"]["get"]["operationId"], "pause_migration");
        assert_eq!(unmapped.len(), 1);
        assert!(unmapped[0].starts_with("GET /p (pauseMigration) has no stable name"));
    }

    #[test]
    fn two_operations_with_one_name_are_an_error() {
        let mut doc = json!({"paths": {"/m": {"post": {"operationId": "a"}, "get": {"operationId": "createPushMigration"}}}});
        let error = apply(&mut doc, &names()).unwrap_err();
        assert!(
            error
                .message()
                .contains("would both be named `create_push_migration`"),
            "{error}"
        );
    }
}
