//! Step 5: string constraints (`pattern`, `minLength`, `maxLength`) and `uniqueItems` are
//! removed. With them the generated client rejects valid server data (a pattern that does
//! not match what Atlas really sends fails the whole call) and emits a newtype per
//! constrained path parameter; input validation lives in the ergonomic crate instead.

use serde_json::Value;

use crate::walk;

/// Removes the constraints from every schema and parameter of `doc`.
pub fn drop_string_constraints(doc: &mut Value) {
    walk::for_each_object_mut(doc, &mut |object| {
        // Only remove keywords whose value has the keyword's type, so a property that happens
        // to be called `pattern` (its value is a schema object) survives.
        object.retain(|key, value| {
            !matches!(
                (key.as_str(), &*value),
                ("pattern", Value::String(_))
                    | ("minLength" | "maxLength", Value::Number(_))
                    | ("uniqueItems", Value::Bool(_))
            )
        });
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn constraints_go_and_properties_named_like_them_stay() {
        let mut doc = json!({
            "parameters": [{"name": "groupId", "schema": {"type": "string", "pattern": "^([a-f0-9]{24})$"}}],
            "schema": {"type": "object", "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 64},
                "pattern": {"type": "string"},
                "hosts": {"type": "array", "uniqueItems": true, "maxItems": 1}
            }}
        });
        drop_string_constraints(&mut doc);
        assert_eq!(doc["parameters"][0]["schema"], json!({"type": "string"}));
        assert_eq!(
            doc["schema"]["properties"]["name"],
            json!({"type": "string"})
        );
        assert_eq!(
            doc["schema"]["properties"]["pattern"],
            json!({"type": "string"})
        );
        assert_eq!(
            doc["schema"]["properties"]["hosts"],
            json!({"type": "array", "maxItems": 1})
        );
    }
}
