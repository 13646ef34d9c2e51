//! Step 4: string enums the server sends become open. typify generates closed enums, and an
//! unknown value (a `PAUSED` status added upstream) would fail the whole call; such schemas
//! become plain strings whose known values are listed in the description, and the ergonomic
//! crate maps them onto its own open enums. Enums only used in requests stay typed.

use serde_json::{Map, Value};

use crate::walk;

/// Opens every string enum reachable from a response.
pub fn open_response_enums(doc: &mut Value) {
    let mut response_parts: Vec<Value> = Vec::new();
    for (_, _, operation) in walk::operations(doc) {
        if let Some(responses) = operation.get("responses") {
            response_parts.push(responses.clone());
        }
    }
    let schemas = walk::schemas_reachable_from(doc, &response_parts);
    for name in schemas {
        if let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{name}")) {
            walk::for_each_object_mut(schema, &mut open_enum);
        }
    }
    walk::for_each_operation_mut(doc, |_, _, operation| {
        if let Some(responses) = operation.get_mut("responses") {
            walk::for_each_object_mut(responses, &mut open_enum);
        }
    });
}

/// Turns one string enum into a plain string that documents its known values.
fn open_enum(schema: &mut Map<String, Value>) {
    if schema.get("type").and_then(Value::as_str) != Some("string") {
        return;
    }
    let Some(Value::Array(values)) = schema.remove("enum") else {
        return;
    };
    let known: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
    let note = format!(
        "Known values: {}. The server may add others.",
        known
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let description = match schema.get("description").and_then(Value::as_str) {
        Some(text) if !text.is_empty() => format!("{text}\n\n{note}"),
        _ => note,
    };
    schema.insert("description".into(), Value::String(description));
    schema.insert(
        "x-known-values".into(),
        Value::Array(known.iter().map(|v| Value::String(v.to_string())).collect()),
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fixture() -> Value {
        json!({
            "paths": {"/m": {
                "get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Migration"}}}}}},
                "post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}},
                         "responses": {"201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Migration"}}}}}}
            }},
            "components": {"schemas": {
                "Migration": {"properties": {"status": {"type": "string", "enum": ["NEW", "WORKING"], "description": "Progress."}}},
                "Request": {"properties": {"hostnameSchemaType": {"type": "string", "enum": ["PUBLIC", "PRIVATE_LINK"]}}}
            }}
        })
    }

    #[test]
    fn response_enums_become_documented_strings() {
        let mut doc = fixture();
        open_response_enums(&mut doc);
        let status = &doc["components"]["schemas"]["Migration"]["properties"]["status"];
        assert!(status.get("enum").is_none());
        assert_eq!(status["type"], "string");
        assert_eq!(
            status["description"],
            "Progress.\n\nKnown values: `NEW`, `WORKING`. The server may add others."
        );
        assert_eq!(status["x-known-values"], json!(["NEW", "WORKING"]));
    }

    #[test]
    fn request_only_enums_stay_typed() {
        let mut doc = fixture();
        open_response_enums(&mut doc);
        let kind = &doc["components"]["schemas"]["Request"]["properties"]["hostnameSchemaType"];
        assert_eq!(kind["enum"], json!(["PUBLIC", "PRIVATE_LINK"]));
    }
}
