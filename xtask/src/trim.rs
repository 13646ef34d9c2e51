//! Trimming: keep the operations of one tag and exactly the components they reach.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::walk::{self, HTTP_METHODS};
use crate::{Error, Result};

/// The tag whose operations this SDK covers.
pub const TAG: &str = "Cloud Migration Service";

/// Operation fields that carry nothing the generator uses (long multi-language samples).
const DROPPED_OPERATION_FIELDS: [&str; 1] = ["x-codeSamples"];

/// Returns a document with only the operations tagged `tag`, the transitive closure of the
/// components they reference, and all security schemes.
pub fn trim(doc: &Value, tag: &str) -> Result<Value> {
    let paths = keep_tagged_paths(doc, tag)?;
    let mut trimmed = Map::new();
    for key in ["openapi", "info", "servers", "security"] {
        if let Some(value) = doc.get(key) {
            trimmed.insert(key.to_string(), value.clone());
        }
    }
    let components = referenced_components(doc, &paths)?;
    trimmed.insert("paths".to_string(), paths);
    trimmed.insert("components".to_string(), components);
    let tags = doc
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter(|t| t.get("name").and_then(Value::as_str) == Some(tag))
                .cloned()
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    trimmed.insert("tags".to_string(), Value::Array(tags));
    Ok(Value::Object(trimmed))
}

fn keep_tagged_paths(doc: &Value, tag: &str) -> Result<Value> {
    let mut kept = Map::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        let mut kept_item = Map::new();
        for method in HTTP_METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            if has_tag(operation, tag) {
                let mut operation = operation.clone();
                if let Some(fields) = operation.as_object_mut() {
                    DROPPED_OPERATION_FIELDS.iter().for_each(|f| {
                        fields.remove(*f);
                    });
                }
                kept_item.insert(method.to_string(), operation);
            }
        }
        if !kept_item.is_empty() {
            if let Some(parameters) = item.get("parameters") {
                kept_item.insert("parameters".to_string(), parameters.clone());
            }
            kept.insert(path.clone(), Value::Object(kept_item));
        }
    }
    if kept.is_empty() {
        return Err(Error::new(format!(
            "the spec has no operation tagged '{tag}'"
        )));
    }
    Ok(Value::Object(kept))
}

fn has_tag(operation: &Value, tag: &str) -> bool {
    operation
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(tag)))
}

/// Follows `$ref`s from `paths` until no new component is reached.
fn referenced_components(doc: &Value, paths: &Value) -> Result<Value> {
    let mut components = Map::new();
    let mut seen = BTreeSet::new();
    let mut pending: Vec<(String, String)> = walk::refs_in(paths)
        .into_iter()
        .map(|r| (r, "the kept operations".to_string()))
        .collect();
    while let Some((reference, referrer)) = pending.pop() {
        if !seen.insert(reference.clone()) {
            continue;
        }
        let (kind, name) = walk::split_component_ref(&reference).ok_or_else(|| {
            Error::new(format!(
                "unsupported $ref '{reference}' in {referrer}: only local #/components/<kind>/<name> references are supported"
            ))
        })?;
        let target = doc
            .pointer(&format!("/components/{kind}/{}", escape_pointer(name)))
            .ok_or_else(|| Error::new(format!("dangling $ref '{reference}' in {referrer}")))?;
        for next in walk::refs_in(target) {
            pending.push((next, reference.clone()));
        }
        components
            .entry(kind.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("component kinds are objects")
            .insert(name.to_string(), target.clone());
    }
    if let Some(schemes) = doc.pointer("/components/securitySchemes") {
        components.insert("securitySchemes".to_string(), schemes.clone());
    }
    Ok(Value::Object(components))
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Value {
        json!({
            "openapi": "3.0.1",
            "info": {"title": "t", "version": "2.0"},
            "paths": {
                "/a": {
                    "get": {"tags": ["Mine"], "operationId": "getA", "x-codeSamples": [1],
                            "responses": {"200": {"$ref": "#/components/responses/okA"}}},
                    "delete": {"tags": ["Other"], "operationId": "deleteA"}
                },
                "/b": {"get": {"tags": ["Other"], "operationId": "getB",
                               "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}}}}}}
            },
            "components": {
                "responses": {"okA": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}},
                "schemas": {
                    "A": {"properties": {"child": {"$ref": "#/components/schemas/Child"}}},
                    "Child": {"type": "string"},
                    "B": {"type": "string"},
                    "Unused": {"type": "string"}
                },
                "securitySchemes": {"DigestAuth": {"type": "http", "scheme": "digest"}}
            },
            "tags": [{"name": "Mine"}, {"name": "Other"}]
        })
    }

    #[test]
    fn keeps_only_tagged_operations_and_their_closure() {
        let trimmed = trim(&fixture(), "Mine").unwrap();
        let ops: Vec<_> = walk::operations(&trimmed)
            .into_iter()
            .map(|(m, p, _)| format!("{m} {p}"))
            .collect();
        assert_eq!(ops, ["GET /a"]);
        let schemas: Vec<_> = trimmed["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(schemas, ["A", "Child"]);
        assert!(trimmed["components"]["responses"]["okA"].is_object());
        assert!(trimmed["components"]["securitySchemes"]["DigestAuth"].is_object());
        assert_eq!(trimmed["tags"], json!([{"name": "Mine"}]));
        assert!(trimmed["paths"]["/a"]["get"].get("x-codeSamples").is_none());
    }

    #[test]
    fn a_spec_without_the_tag_is_an_error() {
        let error = trim(&fixture(), "Cloud Migration Service").unwrap_err();
        assert_eq!(
            error.message(),
            "the spec has no operation tagged 'Cloud Migration Service'"
        );
    }

    #[test]
    fn a_dangling_ref_is_an_error_naming_it() {
        let mut doc = fixture();
        doc["components"]["schemas"]
            .as_object_mut()
            .unwrap()
            .remove("Child");
        let error = trim(&doc, "Mine").unwrap_err();
        assert_eq!(
            error.message(),
            "dangling $ref '#/components/schemas/Child' in #/components/schemas/A"
        );
    }

    #[test]
    fn a_remote_ref_is_an_error() {
        let mut doc = fixture();
        doc["components"]["schemas"]["Child"] = json!({"$ref": "other.yaml#/S"});
        let error = trim(&doc, "Mine").unwrap_err();
        assert!(
            error
                .message()
                .starts_with("unsupported $ref 'other.yaml#/S'"),
            "{error}"
        );
    }
}
