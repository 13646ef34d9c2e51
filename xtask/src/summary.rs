//! The change summary printed whenever a run changes the outputs: operations added, removed
//! and renamed upstream, API version changes per operation, schemas added, removed, changed.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::normalize::media_types::EXTENSION as MEDIA_TYPES;
use crate::normalize::stable_names::UPSTREAM_ID;
use crate::walk;

/// What changed between the committed normalized spec and the new one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `METHOD /path (name)` of operations that are new.
    pub operations_added: Vec<String>,
    /// `METHOD /path (name)` of operations that are gone.
    pub operations_removed: Vec<String>,
    /// `name: oldUpstreamId → newUpstreamId`.
    pub operations_renamed: Vec<String>,
    /// `name request|response: old → new` media types.
    pub version_changes: Vec<String>,
    /// Schema names that are new.
    pub schemas_added: Vec<String>,
    /// Schema names that are gone.
    pub schemas_removed: Vec<String>,
    /// Schema names whose definition changed.
    pub schemas_changed: Vec<String>,
}

struct OperationFacts {
    name: String,
    upstream: String,
    request: Option<String>,
    response: Option<String>,
}

fn operation_facts(doc: &Value) -> BTreeMap<String, OperationFacts> {
    walk::operations(doc)
        .into_iter()
        .map(|(method, path, operation)| {
            let text = |pointer: &str| {
                operation
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            let name = text("/operationId").unwrap_or_default();
            let facts = OperationFacts {
                upstream: text(&format!("/{UPSTREAM_ID}")).unwrap_or_else(|| name.clone()),
                request: text(&format!("/{MEDIA_TYPES}/request")),
                response: text(&format!("/{MEDIA_TYPES}/response")),
                name,
            };
            (walk::operation_key(&method, &path), facts)
        })
        .collect()
}

fn schemas(doc: &Value) -> BTreeMap<String, Value> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn show(media_type: &Option<String>) -> &str {
    media_type
        .as_deref()
        .map(|m| crate::normalize::media_types::version_of(m).unwrap_or(m))
        .unwrap_or("none")
}

/// Compares `old` (absent on a first run) with `new`.
pub fn summarize(old: Option<&Value>, new: &Value) -> Summary {
    let empty = Value::Null;
    let old = old.unwrap_or(&empty);
    let (old_ops, new_ops) = (operation_facts(old), operation_facts(new));
    let mut summary = Summary::default();
    for (key, facts) in &new_ops {
        let Some(before) = old_ops.get(key) else {
            summary
                .operations_added
                .push(format!("{key} ({})", facts.name));
            continue;
        };
        if before.upstream != facts.upstream {
            summary.operations_renamed.push(format!(
                "{}: {} → {}",
                facts.name, before.upstream, facts.upstream
            ));
        }
        for (part, was, now) in [
            ("request", &before.request, &facts.request),
            ("response", &before.response, &facts.response),
        ] {
            if was != now {
                summary.version_changes.push(format!(
                    "{} {part}: {} → {}",
                    facts.name,
                    show(was),
                    show(now)
                ));
            }
        }
    }
    for (key, facts) in &old_ops {
        if !new_ops.contains_key(key) {
            summary
                .operations_removed
                .push(format!("{key} ({})", facts.name));
        }
    }
    let (old_schemas, new_schemas) = (schemas(old), schemas(new));
    for (name, schema) in &new_schemas {
        match old_schemas.get(name) {
            None => summary.schemas_added.push(name.clone()),
            Some(before) if before != schema => summary.schemas_changed.push(name.clone()),
            Some(_) => {}
        }
    }
    for name in old_schemas.keys() {
        if !new_schemas.contains_key(name) {
            summary.schemas_removed.push(name.clone());
        }
    }
    summary
}

impl Summary {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.sections().iter().all(|(_, items)| items.is_empty())
    }

    fn sections(&self) -> [(&'static str, &Vec<String>); 7] {
        [
            ("operations added", &self.operations_added),
            ("operations removed", &self.operations_removed),
            ("operations renamed upstream", &self.operations_renamed),
            ("API version changes", &self.version_changes),
            ("schemas added", &self.schemas_added),
            ("schemas removed", &self.schemas_removed),
            ("schemas changed", &self.schemas_changed),
        ]
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "spec changes: none");
        }
        writeln!(f, "spec changes:")?;
        for (title, items) in self.sections() {
            if !items.is_empty() {
                writeln!(f, "  {title}:")?;
                for item in items {
                    writeln!(f, "    {item}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(upstream: &str, version: &str, schema: Value) -> Value {
        json!({
            "paths": {"/m": {"post": {"operationId": "create_push_migration", UPSTREAM_ID: upstream,
                MEDIA_TYPES: {"request": format!("application/vnd.atlas.{version}+json"),
                              "response": format!("application/vnd.atlas.{version}+json")}}}},
            "components": {"schemas": {"Request": schema}}
        })
    }

    #[test]
    fn reports_renames_version_changes_and_schema_changes() {
        let old = doc(
            "createPushMigration",
            "2023-01-01",
            json!({"type": "object"}),
        );
        let new = doc(
            "createPushMigrationV2",
            "2024-05-30",
            json!({"type": "string"}),
        );
        let summary = summarize(Some(&old), &new);
        assert_eq!(
            summary.operations_renamed,
            ["create_push_migration: createPushMigration → createPushMigrationV2"]
        );
        assert_eq!(
            summary.version_changes,
            [
                "create_push_migration request: 2023-01-01 → 2024-05-30",
                "create_push_migration response: 2023-01-01 → 2024-05-30"
            ]
        );
        assert_eq!(summary.schemas_changed, ["Request"]);
        assert!(summary.to_string().contains("API version changes:"));
    }

    #[test]
    fn a_first_run_reports_everything_added() {
        let new = doc("createPushMigration", "2023-01-01", json!({}));
        let summary = summarize(None, &new);
        assert_eq!(
            summary.operations_added,
            ["POST /m (create_push_migration)"]
        );
        assert_eq!(summary.schemas_added, ["Request"]);
    }

    #[test]
    fn identical_documents_have_an_empty_summary() {
        let same = doc("x", "2023-01-01", json!({}));
        assert!(summarize(Some(&same), &same).is_empty());
    }
}
