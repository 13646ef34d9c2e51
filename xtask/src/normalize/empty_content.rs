//! Step 2: response content entries without a schema (cutover's 202, delete link tokens'
//! 204) are dropped; progenitor 0.15.1 panics on them. A 204 never has a body, so its
//! content goes too (older specs gave it a `NoBody` object schema the client would try to
//! decode).

use serde_json::Value;

use crate::walk;

/// Removes schemaless content entries from every inline response.
pub fn drop_schemaless_content(doc: &mut Value) {
    walk::for_each_operation_mut(doc, |_, _, operation| {
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        for (code, response) in responses.iter_mut() {
            let Some(fields) = response.as_object_mut() else {
                continue;
            };
            if code == "204" {
                fields.remove("content");
                continue;
            }
            let Some(content) = fields.get_mut("content").and_then(Value::as_object_mut) else {
                continue;
            };
            content.retain(|_, media| media.get("schema").is_some());
            if content.is_empty() {
                fields.remove("content");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schemaless_entries_go_and_typed_ones_stay() {
        let mut doc = json!({"paths": {"/c": {
            "put": {"responses": {"202": {"description": "Accepted.", "content": {"application/json": {}}}}},
            "delete": {"responses": {"204": {"description": "None.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NoBody"}}}}}},
            "get": {"responses": {"200": {"content": {"application/json": {"schema": {"type": "string"}}}}}}
        }}});
        drop_schemaless_content(&mut doc);
        assert_eq!(
            doc["paths"]["/c"]["put"]["responses"]["202"],
            json!({"description": "Accepted."})
        );
        assert_eq!(
            doc["paths"]["/c"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
            json!({"type": "string"})
        );
    }
}
