//! Step 1: versioned media types (`application/vnd.atlas.<date>+json`) become
//! `application/json`, and the versioned type of each operation is recorded in the
//! operation as `x-atlas-media-types: {request, response}`.
//!
//! progenitor 0.15 aborts on a `vnd…+json` request body and leaves `vnd` responses untyped;
//! the recorded versions are what the sys crate sends as `Accept` / `Content-Type`.

use serde_json::{Map, Value, json};

use crate::walk;
use crate::{Error, Result};

/// The extension that records an operation's versioned media types.
pub const EXTENSION: &str = "x-atlas-media-types";

/// Rewrites every operation's request and response content and records the versions.
pub fn to_plain_json(doc: &mut Value) -> Result<()> {
    let mut failure = None;
    walk::for_each_operation_mut(doc, |method, path, operation| {
        let request = operation
            .pointer_mut("/requestBody/content")
            .and_then(rewrite_content);
        let mut response = None;
        if let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        {
            let mut codes: Vec<String> = responses.keys().cloned().collect();
            codes.sort();
            for code in codes {
                let chosen = responses
                    .get_mut(&code)
                    .and_then(|r| r.get_mut("content"))
                    .and_then(rewrite_content);
                if code.starts_with('2') && response.is_none() {
                    response = chosen;
                }
            }
        }
        let Some(response) = response else {
            if operation.get(EXTENSION).is_some() {
                // Already normalized (regen --offline): the recorded versions stand.
                return;
            }
            failure.get_or_insert_with(|| {
                Error::new(format!(
                    "{method} {path} has no versioned (application/vnd.atlas.<date>+json) success response"
                ))
            });
            return;
        };
        let mut recorded = Map::new();
        if let Some(request) = request {
            recorded.insert("request".into(), json!(request));
        }
        recorded.insert("response".into(), json!(response));
        if let Some(fields) = operation.as_object_mut() {
            fields.insert(EXTENSION.into(), Value::Object(recorded));
        }
    });
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Replaces a content map by one `application/json` entry built from its newest versioned
/// JSON entry, and returns that entry's media type. Content without a versioned JSON entry is
/// left as it is.
fn rewrite_content(content: &mut Value) -> Option<String> {
    let entries = content.as_object_mut()?;
    let newest = entries
        .keys()
        .filter(|media_type| version_of(media_type).is_some())
        .max_by_key(|media_type| version_of(media_type))?
        .clone();
    let mut chosen = entries.remove(&newest).unwrap_or_else(|| json!({}));
    if let Some(fields) = chosen.as_object_mut() {
        fields.remove("x-xgen-version");
    }
    entries.clear();
    entries.insert("application/json".into(), chosen);
    Some(newest)
}

/// `application/vnd.atlas.2024-05-30+json` → `2024-05-30`.
pub fn version_of(media_type: &str) -> Option<&str> {
    media_type
        .strip_prefix("application/vnd.atlas.")?
        .strip_suffix("+json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Value {
        json!({"paths": {"/m": {
            "post": {
                "requestBody": {"content": {
                    "application/vnd.atlas.2023-01-01+json": {"schema": {"$ref": "#/old"}},
                    "application/vnd.atlas.2024-05-30+json": {"schema": {"$ref": "#/new"}, "x-xgen-version": "2024-05-30"}
                }},
                "responses": {
                    "201": {"content": {"application/vnd.atlas.2024-05-30+json": {"schema": {"$ref": "#/resp"}}}},
                    "400": {"$ref": "#/components/responses/badRequest"}
                }
            },
            "put": {"responses": {"202": {"content": {"application/vnd.atlas.2023-01-01+json": {"x-xgen-version": "2023-01-01"}}}}}
        }}})
    }

    #[test]
    fn newest_versioned_entry_becomes_application_json() {
        let mut doc = fixture();
        to_plain_json(&mut doc).unwrap();
        let post = &doc["paths"]["/m"]["post"];
        assert_eq!(
            post["requestBody"]["content"],
            json!({"application/json": {"schema": {"$ref": "#/new"}}})
        );
        assert_eq!(
            post["responses"]["201"]["content"],
            json!({"application/json": {"schema": {"$ref": "#/resp"}}})
        );
        assert_eq!(
            post["responses"]["400"],
            json!({"$ref": "#/components/responses/badRequest"})
        );
    }

    #[test]
    fn versions_are_recorded_per_operation() {
        let mut doc = fixture();
        to_plain_json(&mut doc).unwrap();
        assert_eq!(
            doc["paths"]["/m"]["post"][EXTENSION],
            json!({"request": "application/vnd.atlas.2024-05-30+json",
                   "response": "application/vnd.atlas.2024-05-30+json"})
        );
        assert_eq!(
            doc["paths"]["/m"]["put"][EXTENSION],
            json!({"response": "application/vnd.atlas.2023-01-01+json"})
        );
    }

    #[test]
    fn an_operation_without_a_versioned_success_response_is_an_error() {
        let mut doc = json!({"paths": {"/x": {"get": {"responses": {"200": {"content": {"text/plain": {}}}}}}}});
        let error = to_plain_json(&mut doc).unwrap_err();
        assert!(
            error.message().starts_with("GET /x has no versioned"),
            "{error}"
        );
    }

    #[test]
    fn version_of_reads_the_date() {
        assert_eq!(
            version_of("application/vnd.atlas.2023-01-01+json"),
            Some("2023-01-01")
        );
        assert_eq!(version_of("application/vnd.atlas.2023-01-01+csv"), None);
        assert_eq!(version_of("application/json"), None);
    }
}
