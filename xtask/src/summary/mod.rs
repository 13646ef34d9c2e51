//! The change summary printed whenever a run changes the outputs. Changes that can make a
//! reply that used to decode fail come first, under "may break decoding"; then operations
//! (added, removed, renamed upstream, API versions and their deprecation, responses and
//! their headers, parameters) and schemas (added, removed, field by field).

mod operations;
mod schemas;

use std::fmt;

use serde_json::Value;

/// What changed between the committed normalized spec and the new one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Changes that can make a previously decodable reply fail: a reply field that became
    /// required or lost nullability, a changed type, a value removed from a closed enum.
    pub may_break_decoding: Vec<String>,
    /// `METHOD /path (name)` of operations that are new.
    pub operations_added: Vec<String>,
    /// `METHOD /path (name)` of operations that are gone.
    pub operations_removed: Vec<String>,
    /// `name: oldUpstreamId → newUpstreamId`.
    pub operations_renamed: Vec<String>,
    /// `name request|response: old → new` API versions.
    pub version_changes: Vec<String>,
    /// Versions left behind, or newly the one in use, that upstream marks deprecated or
    /// gives a sunset date.
    pub deprecations: Vec<String>,
    /// Response codes and response headers added or removed.
    pub responses_changed: Vec<String>,
    /// Parameters added or removed.
    pub parameters_changed: Vec<String>,
    /// Schema names that are new.
    pub schemas_added: Vec<String>,
    /// Schema names that are gone.
    pub schemas_removed: Vec<String>,
    /// Field-level changes: added, removed, required/optional, nullability, type, enum values.
    pub fields_changed: Vec<String>,
    /// Schema names whose definition changed in any way (descriptions included).
    pub schemas_changed: Vec<String>,
}

/// Compares `old` (absent on a first run) with `new`.
pub fn summarize(old: Option<&Value>, new: &Value) -> Summary {
    let empty = Value::Null;
    let old = old.unwrap_or(&empty);
    let mut summary = Summary::default();
    operations::compare(old, new, &mut summary);
    schemas::compare(old, new, &mut summary);
    summary
}

impl Summary {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.sections().iter().all(|(_, items)| items.is_empty())
    }

    fn sections(&self) -> [(&'static str, &Vec<String>); 12] {
        [
            ("MAY BREAK DECODING", &self.may_break_decoding),
            ("operations added", &self.operations_added),
            ("operations removed", &self.operations_removed),
            ("operations renamed upstream", &self.operations_renamed),
            ("API version changes", &self.version_changes),
            ("deprecated upstream", &self.deprecations),
            ("responses changed", &self.responses_changed),
            ("parameters changed", &self.parameters_changed),
            ("schemas added", &self.schemas_added),
            ("schemas removed", &self.schemas_removed),
            ("fields changed", &self.fields_changed),
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
    use crate::normalize::media_types::EXTENSION as MEDIA_TYPES;
    use crate::normalize::stable_names::UPSTREAM_ID;

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

    /// One reply schema and one request schema, both with an operation around them, so the
    /// fixtures below can change one thing at a time.
    fn api(reply: Value, request: Value, responses: Value, parameters: Value) -> Value {
        json!({
            "paths": {"/m/{id}": {"post": {
                "operationId": "create_push_migration",
                "parameters": parameters,
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}},
                "responses": responses
            }}},
            "components": {
                "schemas": {"Reply": reply, "Request": request},
                "parameters": {"id": {"in": "path", "name": "id"}},
                "responses": {"tooMany": {"headers": {"Retry-After": {}}}}
            }
        })
    }

    fn ok() -> Value {
        json!({"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Reply"}}}}})
    }

    fn base() -> Value {
        api(
            json!({"properties": {"id": {"type": "string"}, "lag": {"type": "integer", "nullable": true},
                                  "status": {"type": "string", "x-known-values": ["NEW", "WORKING"]}},
                   "required": ["id"]}),
            json!({"properties": {"kind": {"type": "string", "enum": ["A", "B"]}, "name": {"type": "string"}},
                   "required": ["name"]}),
            ok(),
            json!([{"$ref": "#/components/parameters/id"}]),
        )
    }

    #[test]
    fn a_reply_field_that_becomes_required_may_break_decoding() {
        let mut new = base();
        new["components"]["schemas"]["Reply"]["required"] = json!(["id", "lag"]);
        let summary = summarize(Some(&base()), &new);
        assert_eq!(
            summary.may_break_decoding,
            ["Reply.lag became required (a reply without it no longer decodes)"]
        );
        // The same change in a request schema breaks no reply.
        let mut new = base();
        new["components"]["schemas"]["Request"]["required"] = json!(["name", "kind"]);
        let summary = summarize(Some(&base()), &new);
        assert!(summary.may_break_decoding.is_empty(), "{summary}");
        assert_eq!(summary.fields_changed, ["Request.kind became required"]);
    }

    #[test]
    fn optional_nullable_type_and_field_changes_are_listed() {
        let mut new = base();
        let reply = &mut new["components"]["schemas"]["Reply"];
        reply["required"] = json!([]);
        reply["properties"]["lag"] = json!({"type": "string"});
        reply["properties"]["hosts"] = json!({"type": "array", "items": {"type": "string"}});
        reply["properties"]
            .as_object_mut()
            .unwrap()
            .remove("status");
        let summary = summarize(Some(&base()), &new);
        assert_eq!(
            summary.fields_changed,
            [
                "Reply.hosts added",
                "Reply.id became optional",
                "Reply.lag is no longer nullable",
                "Reply.lag changed type: integer → string",
                "Reply.status removed",
            ]
        );
        assert_eq!(
            summary.may_break_decoding,
            [
                "Reply.lag is no longer nullable",
                "Reply.lag changed type: integer → string",
            ]
        );
    }

    #[test]
    fn enum_values_added_and_removed_closed_ones_first() {
        let mut new = base();
        new["components"]["schemas"]["Reply"]["properties"]["status"]["x-known-values"] =
            json!(["NEW", "DONE"]);
        new["components"]["schemas"]["Request"]["properties"]["kind"]["enum"] = json!(["A"]);
        let summary = summarize(Some(&base()), &new);
        assert_eq!(
            summary.fields_changed,
            [
                "Reply.status enum value DONE added",
                "Reply.status enum value WORKING removed",
                "Request.kind enum value B removed",
            ]
        );
        assert!(
            summary.may_break_decoding.is_empty(),
            "open enums and request enums"
        );
        // A closed enum in a reply that loses a value may break decoding.
        let mut old = base();
        old["components"]["schemas"]["Reply"]["properties"]["status"] =
            json!({"type": "string", "enum": ["NEW", "WORKING"]});
        let mut new = old.clone();
        new["components"]["schemas"]["Reply"]["properties"]["status"]["enum"] = json!(["NEW"]);
        let summary = summarize(Some(&old), &new);
        assert_eq!(
            summary.may_break_decoding,
            ["Reply.status enum value WORKING removed"]
        );
    }

    #[test]
    fn inline_objects_array_items_and_integer_formats_are_followed() {
        let mut old = base();
        let reply = &mut old["components"]["schemas"]["Reply"]["properties"];
        reply["progress"] = json!({"type": "object", "properties": {
            "done": {"type": "integer", "format": "int32"}, "phase": {"type": "string"}}});
        reply["hosts"] = json!({"type": "array", "items": {"type": "string", "enum": ["A", "B"]}});
        let mut new = old.clone();
        let reply = &mut new["components"]["schemas"]["Reply"]["properties"];
        reply["progress"]["required"] = json!(["phase"]);
        reply["progress"]["properties"]["done"]["format"] = json!("int64");
        reply["hosts"]["items"]["enum"] = json!(["A"]);
        let summary = summarize(Some(&old), &new);
        assert_eq!(
            summary.may_break_decoding,
            [
                "Reply.hosts[] enum value B removed",
                "Reply.progress.done changed type: integer (int32) → integer (int64)",
                "Reply.progress.phase became required (a reply without it no longer decodes)",
            ]
        );
        assert_eq!(summary.fields_changed, summary.may_break_decoding);
    }

    #[test]
    fn response_codes_headers_and_parameters_added_and_removed() {
        let mut new = base();
        new["paths"]["/m/{id}"]["post"]["responses"]["429"] =
            json!({"$ref": "#/components/responses/tooMany"});
        new["paths"]["/m/{id}"]["post"]["responses"]["200"]["headers"] =
            json!({"RateLimit-Limit": {}, "RateLimit-Remaining": {}});
        new["paths"]["/m/{id}"]["post"]["parameters"] = json!([{"in": "query", "name": "pretty"}]);
        let summary = summarize(Some(&base()), &new);
        assert_eq!(
            summary.responses_changed,
            [
                "create_push_migration: response 429 added",
                "create_push_migration: response 200 header RateLimit-Limit added",
                "create_push_migration: response 200 header RateLimit-Remaining added",
            ]
        );
        assert_eq!(
            summary.parameters_changed,
            [
                "create_push_migration: query parameter `pretty` added",
                "create_push_migration: path parameter `id` removed",
            ]
        );
        let back = summarize(Some(&new), &base());
        assert!(
            back.responses_changed
                .contains(&"create_push_migration: response 429 removed".to_string())
        );
    }

    #[test]
    fn a_version_left_behind_that_upstream_retires_is_reported() {
        let old = doc("createPushMigration", "2023-01-01", json!({}));
        let mut new = doc("createPushMigration", "2024-05-30", json!({}));
        new["paths"]["/m"]["post"][crate::normalize::media_types::VERSIONS] = json!({"offered": ["2024-05-30"], "deprecated": [], "sunset": {"2023-01-01": "2026-03-01"}});
        let summary = summarize(Some(&old), &new);
        assert_eq!(
            summary.deprecations,
            [
                "create_push_migration: the previous version 2023-01-01 has a sunset date of 2026-03-01 upstream"
            ]
        );
    }

    #[test]
    fn a_version_in_use_that_upstream_starts_to_retire_is_reported_once() {
        let old = doc("createPushMigration", "2024-05-30", json!({}));
        let mut new = old.clone();
        new["paths"]["/m"]["post"][crate::normalize::media_types::VERSIONS] = json!({"offered": ["2024-05-30"], "deprecated": [], "sunset": {"2024-05-30": "2027-01-01"}});
        let summary = summarize(Some(&old), &new);
        assert_eq!(
            summary.deprecations,
            [
                "create_push_migration: the version in use 2024-05-30 has a sunset date of 2027-01-01 upstream"
            ]
        );
        assert!(summarize(Some(&new), &new).deprecations.is_empty());
    }
}
