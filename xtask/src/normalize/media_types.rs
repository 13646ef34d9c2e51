//! Step 1: versioned media types (`application/vnd.atlas.<date>+json`) become
//! `application/json`, and the versioned type of each operation is recorded in the
//! operation as `x-atlas-media-types: {request, response}`. The chosen version is the newest
//! upstream offers, or the one `spec/version-pins.json` holds the operation at.
//!
//! What upstream says of the versions is recorded as `x-atlas-versions: {offered,
//! deprecated, sunset}` for the change summary: `deprecated` from the description's
//! "Deprecated versions: v2-{YYYY-MM-DD}" and from `deprecated: true` on a versioned content
//! entry (or on the operation, for every version it offers), `sunset` from `x-sunset` on a
//! versioned content entry (or on the operation, likewise).
//!
//! progenitor 0.15 aborts on a `vnd…+json` request body and leaves `vnd` responses untyped;
//! the recorded versions are what the sys crate sends as `Accept` / `Content-Type`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::pins::{PINS_FILE, Pins};
use crate::walk;
use crate::{Error, Result};

/// The extension that records an operation's versioned media types.
pub const EXTENSION: &str = "x-atlas-media-types";

/// The extension that records the versions upstream offers, deprecates and sunsets.
pub const VERSIONS: &str = "x-atlas-versions";

/// Rewrites every operation's request and response content and records the versions; returns
/// a warning for each pinned version upstream deprecates or sunsets.
pub fn to_plain_json(doc: &mut Value, pins: &Pins) -> Result<Vec<String>> {
    let mut failure = None;
    let mut warnings = Vec::new();
    let mut pinned_operations = BTreeSet::new();
    walk::for_each_operation_mut(doc, |method, path, operation| {
        let key = walk::operation_key(method, path);
        let pin = pins.get(&key).map(String::as_str);
        if pin.is_some() {
            pinned_operations.insert(key.clone());
        }
        match record_versions(operation, pin) {
            Ok(Some(warning)) => warnings.push(format!("{key} {warning}")),
            Ok(None) => {}
            Err(why) => {
                failure.get_or_insert_with(|| Error::new(format!("{key} {why}")));
            }
        }
    });
    if let Some(error) = failure {
        return Err(error);
    }
    if let Some(unknown) = pins.keys().find(|key| !pinned_operations.contains(*key)) {
        return Err(Error::new(format!(
            "{PINS_FILE} pins {unknown}, which is not an operation of the trimmed spec"
        )));
    }
    Ok(warnings)
}

/// Normalizes one operation; `Ok(Some(warning))` when its pinned version is retiring.
fn record_versions(
    operation: &mut Value,
    pin: Option<&str>,
) -> std::result::Result<Option<String>, String> {
    let upstream = Versions::of(operation);
    if let Some(pin) = pin {
        if upstream.offered.is_empty() {
            // Already normalized (regen --offline): the recorded choice must be the pin.
            let recorded = operation
                .pointer(&format!("/{EXTENSION}/response"))
                .and_then(Value::as_str)
                .and_then(version_of);
            if recorded != Some(pin) {
                return Err(format!(
                    "is pinned to {pin} in {PINS_FILE}, but the committed spec holds {}; regenerate from the upstream spec",
                    recorded.unwrap_or("no version")
                ));
            }
        } else if !upstream.offered.contains(pin) {
            return Err(format!(
                "is pinned to {pin} in {PINS_FILE}, but upstream no longer offers it (offered: {})",
                upstream
                    .offered
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let request = operation
        .pointer_mut("/requestBody/content")
        .and_then(|content| rewrite_content(content, pin));
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
                .and_then(|content| rewrite_content(content, pin));
            if code.starts_with('2') && response.is_none() {
                response = chosen;
            }
        }
    }
    let Some(response) = response else {
        if operation.get(EXTENSION).is_some() {
            // Already normalized (regen --offline): the recorded versions stand, and what
            // upstream said of them when they were recorded still deserves the warning.
            return Ok(pin.and_then(|pin| pin_warning(pin, &Versions::recorded(operation))));
        }
        return Err(
            "has no versioned (application/vnd.atlas.<date>+json) success response".to_string(),
        );
    };
    let mut recorded = Map::new();
    if let Some(request) = request {
        recorded.insert("request".into(), json!(request));
    }
    recorded.insert("response".into(), json!(response));
    let warning = pin.and_then(|pin| pin_warning(pin, &upstream));
    if let Some(fields) = operation.as_object_mut() {
        fields.insert(EXTENSION.into(), Value::Object(recorded));
        fields.insert(VERSIONS.into(), upstream.to_json());
    }
    Ok(warning)
}

/// "is pinned to … which upstream …" when upstream deprecates or sunsets the pinned version.
fn pin_warning(pin: &str, versions: &Versions) -> Option<String> {
    versions
        .retirement(pin)
        .map(|state| format!("is pinned to {pin} in {PINS_FILE}, which upstream {state}"))
}

/// What upstream says of an operation's versions.
#[derive(Debug, Default)]
struct Versions {
    offered: BTreeSet<String>,
    deprecated: BTreeSet<String>,
    sunset: BTreeMap<String, String>,
}

impl Versions {
    fn of(operation: &Value) -> Self {
        let mut versions = Versions::default();
        let mut contents: Vec<&Value> = Vec::new();
        contents.extend(operation.pointer("/requestBody/content"));
        if let Some(responses) = operation.get("responses").and_then(Value::as_object) {
            contents.extend(responses.values().filter_map(|r| r.get("content")));
        }
        let operation_sunset = operation.get("x-sunset").and_then(Value::as_str);
        let operation_deprecated = is_marked_deprecated(operation);
        for content in contents.iter().filter_map(|c| c.as_object()) {
            for (media_type, entry) in content {
                let Some(version) = version_of(media_type) else {
                    continue;
                };
                versions.offered.insert(version.to_string());
                let sunset = entry
                    .get("x-sunset")
                    .and_then(Value::as_str)
                    .or(operation_sunset);
                if let Some(date) = sunset {
                    versions
                        .sunset
                        .insert(version.to_string(), date.to_string());
                }
                if operation_deprecated || is_marked_deprecated(entry) {
                    versions.deprecated.insert(version.to_string());
                }
            }
        }
        if let Some(description) = operation.get("description").and_then(Value::as_str) {
            versions.deprecated.extend(deprecated_versions(description));
        }
        versions
    }

    /// What an earlier run recorded in `x-atlas-versions` of an already-normalized operation.
    fn recorded(operation: &Value) -> Self {
        let recorded = operation.get(VERSIONS);
        let dates = |key: &str| -> BTreeSet<String> {
            recorded
                .and_then(|r| r.get(key))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let sunset = recorded
            .and_then(|r| r.get("sunset"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(version, date)| Some((version.clone(), date.as_str()?.into())))
                    .collect()
            })
            .unwrap_or_default();
        Versions {
            offered: dates("offered"),
            deprecated: dates("deprecated"),
            sunset,
        }
    }

    /// "is marked deprecated" / "gives a sunset date of …" for `version`, if either.
    fn retirement(&self, version: &str) -> Option<String> {
        match (self.sunset.get(version), self.deprecated.contains(version)) {
            (Some(date), _) => Some(format!("gives a sunset date of {date}")),
            (None, true) => Some("marks deprecated".to_string()),
            (None, false) => None,
        }
    }

    fn to_json(&self) -> Value {
        json!({"offered": self.offered, "deprecated": self.deprecated, "sunset": self.sunset})
    }
}

/// Whether an operation or content entry carries `deprecated: true`.
fn is_marked_deprecated(value: &Value) -> bool {
    value.get("deprecated").and_then(Value::as_bool) == Some(true)
}

/// The dates listed after "Deprecated versions:" in an operation description, e.g.
/// `Deprecated versions: v2-{2023-01-01}, v2-{2023-02-01}`.
fn deprecated_versions(description: &str) -> BTreeSet<String> {
    let Some((_, rest)) = description.split_once("Deprecated versions:") else {
        return BTreeSet::new();
    };
    let line = rest.lines().next().unwrap_or("");
    line.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(date, _)| date))
        .filter(|date| crate::source::is_date(date))
        .map(str::to_string)
        .collect()
}

/// Replaces a content map by one `application/json` entry built from its versioned JSON
/// entry — the `pin`ned one when given and present, else the newest — and returns that
/// entry's media type. Content without a versioned JSON entry is left as it is.
fn rewrite_content(content: &mut Value, pin: Option<&str>) -> Option<String> {
    let entries = content.as_object_mut()?;
    let versioned = || {
        entries
            .keys()
            .filter(|media_type| version_of(media_type).is_some())
    };
    let pinned = pin.and_then(|pin| versioned().find(|m| version_of(m) == Some(pin)));
    let chosen_type = pinned
        .or_else(|| versioned().max_by_key(|media_type| version_of(media_type)))?
        .clone();
    let mut chosen = entries.remove(&chosen_type).unwrap_or_else(|| json!({}));
    if let Some(fields) = chosen.as_object_mut() {
        // What these said is recorded in `x-atlas-versions`; `deprecated` is not a field of
        // an OpenAPI media type object.
        for recorded in ["x-xgen-version", "x-sunset", "deprecated"] {
            fields.remove(recorded);
        }
    }
    entries.clear();
    entries.insert("application/json".into(), chosen);
    Some(chosen_type)
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
        to_plain_json(&mut doc, &Pins::new()).unwrap();
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
        to_plain_json(&mut doc, &Pins::new()).unwrap();
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
        let error = to_plain_json(&mut doc, &Pins::new()).unwrap_err();
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

    fn offered_twice() -> Value {
        json!({"paths": {"/m": {"post": {
            "description": "Creates. Deprecated versions: v2-{2023-01-01}",
            "requestBody": {"content": {
                "application/vnd.atlas.2023-01-01+json": {"schema": {"$ref": "#/old"}},
                "application/vnd.atlas.2024-05-30+json": {"schema": {"$ref": "#/new"}, "x-sunset": "2027-01-01"}
            }},
            "responses": {"201": {"content": {
                "application/vnd.atlas.2023-01-01+json": {"schema": {"$ref": "#/old-reply"}},
                "application/vnd.atlas.2024-05-30+json": {"schema": {"$ref": "#/new-reply"}}
            }}}
        }}}})
    }

    fn pins(version: &str) -> Pins {
        [("POST /m".to_string(), version.to_string())].into()
    }

    #[test]
    fn a_pinned_version_is_kept_while_offered_and_warned_about_when_deprecated() {
        let mut doc = offered_twice();
        let warnings = to_plain_json(&mut doc, &pins("2023-01-01")).unwrap();
        let post = &doc["paths"]["/m"]["post"];
        assert_eq!(
            post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/old"
        );
        assert_eq!(
            post[EXTENSION]["response"],
            "application/vnd.atlas.2023-01-01+json"
        );
        assert_eq!(
            warnings,
            [
                "POST /m is pinned to 2023-01-01 in spec/version-pins.json, which upstream marks deprecated"
            ]
        );
        assert_eq!(
            post[VERSIONS],
            json!({"offered": ["2023-01-01", "2024-05-30"], "deprecated": ["2023-01-01"],
                   "sunset": {"2024-05-30": "2027-01-01"}})
        );
        let mut doc = offered_twice();
        let warnings = to_plain_json(&mut doc, &pins("2024-05-30")).unwrap();
        assert_eq!(
            warnings,
            [
                "POST /m is pinned to 2024-05-30 in spec/version-pins.json, which upstream gives a sunset date of 2027-01-01"
            ]
        );
    }

    #[test]
    fn a_pin_upstream_no_longer_offers_or_that_names_no_operation_is_an_error() {
        let error = to_plain_json(&mut offered_twice(), &pins("2022-01-01")).unwrap_err();
        assert_eq!(
            error.message(),
            "POST /m is pinned to 2022-01-01 in spec/version-pins.json, but upstream no longer offers it (offered: 2023-01-01, 2024-05-30)"
        );
        let stray: Pins = [("GET /nope".to_string(), "2023-01-01".to_string())].into();
        let error = to_plain_json(&mut offered_twice(), &stray).unwrap_err();
        assert!(
            error
                .message()
                .contains("pins GET /nope, which is not an operation"),
            "{error}"
        );
    }

    #[test]
    fn a_normalized_operation_keeps_its_versions_and_checks_its_pin() {
        let mut doc = offered_twice();
        to_plain_json(&mut doc, &pins("2023-01-01")).unwrap();
        let once = doc.clone();
        let warnings = to_plain_json(&mut doc, &pins("2023-01-01")).unwrap();
        assert_eq!(doc, once, "a second pass changes nothing");
        assert_eq!(
            warnings,
            [
                "POST /m is pinned to 2023-01-01 in spec/version-pins.json, which upstream marks deprecated"
            ],
            "the recorded deprecation still warns"
        );
        let error = to_plain_json(&mut doc, &pins("2024-05-30")).unwrap_err();
        assert!(
            error
                .message()
                .contains("regenerate from the upstream spec"),
            "{error}"
        );
    }

    #[test]
    fn deprecated_true_marks_a_content_entry_or_every_version_of_the_operation() {
        let mut doc = offered_twice();
        let post = &mut doc["paths"]["/m"]["post"];
        post["description"] = json!("Creates.");
        post["responses"]["201"]["content"]["application/vnd.atlas.2023-01-01+json"]["deprecated"] =
            json!(true);
        let warnings = to_plain_json(&mut doc, &pins("2023-01-01")).unwrap();
        assert_eq!(
            warnings,
            [
                "POST /m is pinned to 2023-01-01 in spec/version-pins.json, which upstream marks deprecated"
            ]
        );
        let post = &doc["paths"]["/m"]["post"];
        assert_eq!(post[VERSIONS]["deprecated"], json!(["2023-01-01"]));
        assert!(
            post["responses"]["201"]["content"]["application/json"]
                .get("deprecated")
                .is_none(),
            "recorded, then dropped from the media type object"
        );

        let mut doc = offered_twice();
        doc["paths"]["/m"]["post"]["deprecated"] = json!(true);
        to_plain_json(&mut doc, &Pins::new()).unwrap();
        assert_eq!(
            doc["paths"]["/m"]["post"][VERSIONS]["deprecated"],
            json!(["2023-01-01", "2024-05-30"])
        );
    }
}
