//! Small helpers to walk an OpenAPI document held as a JSON value.

use std::collections::BTreeSet;

use serde_json::Value;

/// The keys of a path item that hold operations.
pub const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The component schemas reachable from any operation's responses: what a reply can hold.
pub fn reply_schemas(doc: &Value) -> BTreeSet<String> {
    let roots: Vec<Value> = operations(doc)
        .into_iter()
        .filter_map(|(_, _, operation)| operation.get("responses").cloned())
        .collect();
    schemas_reachable_from(doc, &roots)
}

/// Every operation of `doc` as `(METHOD, path, operation)`, in path then method order.
pub fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (path, item) in paths {
        for method in HTTP_METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_uppercase(), path.clone(), operation));
            }
        }
    }
    found
}

/// Calls `f(METHOD, path, operation)` for every operation of `doc`, mutably.
pub fn for_each_operation_mut(doc: &mut Value, mut f: impl FnMut(&str, &str, &mut Value)) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for method in HTTP_METHODS {
            if let Some(operation) = item.get_mut(method) {
                f(&method.to_uppercase(), path, operation);
            }
        }
    }
}

/// The key used for an operation everywhere in the xtask: `METHOD /path/template`.
pub fn operation_key(method: &str, path: &str) -> String {
    format!("{method} {path}")
}

/// Every `$ref` string found anywhere inside `value`.
pub fn refs_in(value: &Value) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    collect_refs(value, &mut refs);
    refs
}

fn collect_refs(value: &Value, refs: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => {
                        refs.insert(target.clone());
                    }
                    _ => collect_refs(child, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

/// Splits a local reference `#/components/<kind>/<name>` into `(kind, name)`.
pub fn split_component_ref(reference: &str) -> Option<(&str, &str)> {
    let rest = reference.strip_prefix("#/components/")?;
    let (kind, name) = rest.split_once('/')?;
    (!name.is_empty() && !name.contains('/')).then_some((kind, name))
}

/// Names of the component schemas reachable (through any component kind) from `roots`.
pub fn schemas_reachable_from(doc: &Value, roots: &[Value]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut pending: Vec<String> = roots.iter().flat_map(refs_in).collect();
    let mut schemas = BTreeSet::new();
    while let Some(reference) = pending.pop() {
        if !seen.insert(reference.clone()) {
            continue;
        }
        let Some((kind, name)) = split_component_ref(&reference) else {
            continue;
        };
        if kind == "schemas" {
            schemas.insert(name.to_string());
        }
        if let Some(target) = doc.pointer(&format!("/components/{kind}/{name}")) {
            pending.extend(refs_in(target));
        }
    }
    schemas
}

/// Calls `f` on every JSON object inside `value` (including `value` itself), depth first.
pub fn for_each_object_mut(
    value: &mut Value,
    f: &mut impl FnMut(&mut serde_json::Map<String, Value>),
) {
    match value {
        Value::Object(map) => {
            f(map);
            for child in map.values_mut() {
                for_each_object_mut(child, f);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| for_each_object_mut(item, f)),
        _ => {}
    }
}

/// `value` with every object's keys in sorted order, so the output never depends on
/// whether `serde_json` keeps insertion order.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn refs_are_found_at_any_depth() {
        let value = json!({"a": [{"$ref": "#/components/schemas/A"}], "b": {"c": {"$ref": "#/x"}}});
        let refs: Vec<_> = refs_in(&value).into_iter().collect();
        assert_eq!(refs, ["#/components/schemas/A", "#/x"]);
    }

    #[test]
    fn component_refs_split_into_kind_and_name() {
        assert_eq!(
            split_component_ref("#/components/schemas/Source"),
            Some(("schemas", "Source"))
        );
        assert_eq!(
            split_component_ref("other.yaml#/components/schemas/S"),
            None
        );
        assert_eq!(split_component_ref("#/components/schemas/"), None);
    }

    #[test]
    fn canonical_sorts_keys_recursively() {
        let value = json!({"b": 1, "a": {"d": 2, "c": 3}});
        let text = serde_json::to_string(&canonical(&value)).unwrap();
        assert_eq!(text, r#"{"a":{"c":3,"d":2},"b":1}"#);
    }
}
