//! Step 3: `ShardKeys.key` becomes expressible. Upstream declares each key document as a map
//! of objects, so `{"a": 1}` and `{"b": "hashed"}` (the only real shard keys) could not be
//! built; each value becomes any JSON value.

use serde_json::{Value, json};

/// Rewrites `ShardKeys.key` items to maps of any JSON value. Returns whether it found them.
pub fn accept_any_key_values(doc: &mut Value) -> bool {
    let Some(key) = doc.pointer_mut("/components/schemas/ShardKeys/properties/key") else {
        return false;
    };
    let Some(fields) = key.as_object_mut() else {
        return false;
    };
    // A set of maps cannot be hashed or ordered; the server checks uniqueness itself.
    fields.remove("uniqueItems");
    fields.insert(
        "items".into(),
        json!({
            "type": "object",
            "description": "One shard key field and its kind: `1` (ranged) or `\"hashed\"`.",
            "additionalProperties": {}
        }),
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_items_accept_numbers_and_strings() {
        let mut doc = json!({"components": {"schemas": {"ShardKeys": {"properties": {"key": {
            "type": "array", "uniqueItems": true,
            "items": {"type": "object", "additionalProperties": {"type": "object"}}
        }}}}}});
        assert!(accept_any_key_values(&mut doc));
        let key = &doc["components"]["schemas"]["ShardKeys"]["properties"]["key"];
        assert_eq!(key["items"]["additionalProperties"], json!({}));
        assert!(key.get("uniqueItems").is_none());
    }

    #[test]
    fn a_spec_without_shard_keys_is_left_alone() {
        let mut doc = json!({"components": {"schemas": {}}});
        assert!(!accept_any_key_values(&mut doc));
        assert_eq!(doc, json!({"components": {"schemas": {}}}));
    }
}
